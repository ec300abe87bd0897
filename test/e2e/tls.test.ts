// TLS as clients meet it on every encrypted port: the certificate served for each domain's host
// name (SNI) and without SNI, verified against the stack's CA, and the old protocols refused.
//
// The refusal of TLS 1.0/1.1 is tested with Node's own TLS client, told to offer only that version
// with `DEFAULT@SECLEVEL=0` (Node 20 / OpenSSL 3.0 can then send TLS 1.0 and 1.1 ClientHellos). The
// server's answer is a "protocol version" alert (SSL alert 70), which only the server sends; a
// client unable to offer the version would fail before sending anything ("no protocols available").
// The same options with maxVersion TLSv1.2 complete, and the same TLS 1.0/1.1-only options
// complete on port 25 (opportunistic TLS accepts any protocol by design, main.cf
// smtpd_tls_protocols = >=TLSv1), so this client can offer them and the refusal is the server's.
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { before, describe, it } from "node:test";
import { ca, internet, logs, platform } from "./support/platform";

type Mode = "implicit" | "smtp-starttls" | "imap-starttls";

interface TlsPort {
  name: string;
  port: () => number;
  mode: Mode;
  service: string;
}

const PORTS: TlsPort[] = [
  { name: "465 (SMTP submissions, implicit TLS)", port: () => platform().ports.submissions, mode: "implicit", service: "postfix" },
  { name: "587 (SMTP submission, STARTTLS)", port: () => platform().ports.submission, mode: "smtp-starttls", service: "postfix" },
  { name: "993 (IMAPS, implicit TLS)", port: () => platform().ports.imaps, mode: "implicit", service: "dovecot" },
  { name: "995 (POP3S, implicit TLS)", port: () => platform().ports.pop3s, mode: "implicit", service: "dovecot" },
  { name: "143 (IMAP, STARTTLS)", port: () => platform().ports.imap, mode: "imap-starttls", service: "dovecot" },
];

/** Which certificate each SNI name must get; `undefined` = no SNI, the default (first domain's). */
const NAMES: { sni: string | undefined; expect: string }[] = [
  { sni: "mail.example.test", expect: "mail.example.test" },
  { sni: "mail.corp.test", expect: "mail.corp.test" },
  { sni: "corp.test", expect: "corp.test" },
  { sni: undefined, expect: "mail.example.test" },
];

interface Handshake {
  protocol: string | null;
  cert: tls.PeerCertificate;
  authorized: boolean;
  authorizationError?: string;
}

/** Fails with what was expected, what was seen, and the logs of the daemon behind the port. */
function expectThat(ok: boolean, what: string, expected: string, seen: string, service: string): void {
  if (!ok) assert.fail(`${what}\nexpected: ${expected}\nseen:     ${seen}\n${logs(service)}`);
}

/** Reads from a plain socket until `done` holds for what arrived (bounded). */
function readUntil(socket: net.Socket, done: (text: string) => boolean, timeoutMs = 15000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (d: Buffer): void => {
      text += d.toString("latin1");
      if (done(text)) finish();
    };
    const onClose = (): void => finish(new Error(`connection closed; received: ${JSON.stringify(text)}`));
    const timer = setTimeout(
      () => finish(new Error(`no complete reply within ${timeoutMs} ms; received: ${JSON.stringify(text)}`)),
      timeoutMs,
    );
    socket.on("data", onData);
    socket.on("close", onClose);
  });
}

/** Opens the port's plain-text leg and issues STARTTLS; resolves with the socket ready for the handshake. */
async function startTls(port: number, mode: "smtp-starttls" | "imap-starttls"): Promise<net.Socket> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
  try {
    if (mode === "smtp-starttls") {
      const done = (t: string): boolean => /(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(t);
      await readUntil(socket, done);
      socket.write("EHLO tls-check.example.test\r\n");
      await readUntil(socket, done);
      socket.write("STARTTLS\r\n");
      const reply = await readUntil(socket, done);
      if (!reply.startsWith("220")) throw new Error(`STARTTLS refused: ${reply.trim()}`);
    } else {
      await readUntil(socket, (t) => t.includes("\r\n"));
      socket.write("a1 STARTTLS\r\n");
      const reply = await readUntil(socket, (t) => /(^|\r\n)a1 [^\r\n]*\r\n$/.test(t));
      if (!/(^|\r\n)a1 OK/.test(reply)) throw new Error(`STARTTLS refused: ${reply.trim()}`);
    }
  } catch (e) {
    socket.destroy();
    throw e;
  }
  return socket;
}

/**
 * Completes a TLS handshake on the port (after STARTTLS where the port needs it) and reports what
 * the server presented. The chain is checked against the stack's CA (`authorized`); the name is
 * left to the caller, so a wrong certificate is reported rather than aborting the handshake.
 */
async function handshake(p: TlsPort, options: tls.ConnectionOptions): Promise<Handshake> {
  const plain = p.mode === "implicit" ? undefined : await startTls(p.port(), p.mode);
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      ...(plain ? { socket: plain } : { host: "127.0.0.1", port: p.port() }),
      ca: ca(),
      rejectUnauthorized: false,
      // `authorized` then means the chain alone; the caller checks the name (without SNI Node
      // would check 127.0.0.1).
      checkServerIdentity: () => undefined,
      ...options,
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error("no TLS handshake within 15 s"));
    }, 15000);
    s.once("secureConnect", () => {
      clearTimeout(timer);
      const result: Handshake = {
        protocol: s.getProtocol(),
        cert: s.getPeerCertificate(),
        authorized: s.authorized,
        authorizationError: s.authorizationError ? String(s.authorizationError) : undefined,
      };
      s.destroy();
      resolve(result);
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    });
  });
}

describe("TLS on every encrypted port", () => {
  before(() => {
    platform();
  });

  describe("the TLS 1.0/1.1 client itself (control)", () => {
    const port25: TlsPort = {
      name: "25 (SMTP, opportunistic STARTTLS)",
      port: () => platform().ports.smtp,
      mode: "smtp-starttls",
      service: "postfix",
    };
    for (const version of ["TLSv1", "TLSv1.1"] as const) {
      it(`completes ${version} with port 25, which accepts any protocol a sending MTA offers`, async () => {
        let outcome: string;
        try {
          const h = await handshake(port25, {
            servername: "mail.example.test",
            minVersion: version,
            maxVersion: version,
            ciphers: "DEFAULT@SECLEVEL=0",
          });
          outcome = String(h.protocol);
        } catch (e) {
          outcome = `handshake failed: ${(e as Error).message.split("\n")[0]}`;
        }
        expectThat(
          outcome === version,
          `a client offering only ${version} completes the handshake on port 25`,
          version,
          outcome,
          "postfix",
        );
      });
    }
  });

  for (const p of PORTS) {
    describe(p.name, () => {
      const fingerprints = new Map<string, string>();

      for (const n of NAMES) {
        const label = n.sni ? `SNI ${n.sni}` : "no SNI";
        it(`presents a CA-signed certificate for ${n.expect} (${label})`, async () => {
          const h = await handshake(p, n.sni ? { servername: n.sni } : {});
          const san = h.cert.subjectaltname ?? "";
          const names = san.split(/,\s*/).map((x) => x.replace(/^DNS:/, "").toLowerCase());
          expectThat(
            names.includes(n.expect),
            `the certificate served for ${label} names ${n.expect}`,
            `subjectaltname containing DNS:${n.expect}`,
            san || "(none)",
            p.service,
          );
          expectThat(
            tls.checkServerIdentity(n.expect, h.cert) === undefined,
            `the certificate is valid for ${n.expect}`,
            "checkServerIdentity passes",
            String(tls.checkServerIdentity(n.expect, h.cert)),
            p.service,
          );
          expectThat(
            h.authorized,
            "the certificate chain verifies against the stack's CA",
            "authorized",
            `not authorized: ${h.authorizationError} (issuer ${JSON.stringify(h.cert.issuer)})`,
            p.service,
          );
          if (n.sni) fingerprints.set(n.sni, h.cert.fingerprint256);
        });
      }

      it("serves different certificates for the two domains (SNI really selects)", async () => {
        // Reuses the handshakes above; makes its own when run alone (--test-name-pattern).
        const example =
          fingerprints.get("mail.example.test") ?? (await handshake(p, { servername: "mail.example.test" })).cert.fingerprint256;
        const corp = fingerprints.get("mail.corp.test") ?? (await handshake(p, { servername: "mail.corp.test" })).cert.fingerprint256;
        expectThat(
          example !== corp,
          "mail.example.test and mail.corp.test get their own domain's certificate",
          "two different certificates",
          `both ${example}`,
          p.service,
        );
      });

      // The issue requires TLS 1.0/1.1 refused on 465, 587 and 993; the design refuses them on
      // every port here (master.cf `encrypt` -> smtpd_tls_mandatory_protocols = >=TLSv1.2;
      // Dovecot's 10-ssl.conf ssl_min_protocol = TLSv1.2 covers 993, 995 and 143 alike).
      for (const version of ["TLSv1", "TLSv1.1"] as const) {
        it(`refuses ${version}`, async () => {
          const offer: tls.ConnectionOptions = {
            servername: "mail.example.test",
            minVersion: version,
            maxVersion: version,
            ciphers: "DEFAULT@SECLEVEL=0",
          };
          let outcome: string;
          let serverRefused = false;
          try {
            const h = await handshake(p, offer);
            outcome = `handshake completed with ${h.protocol}`;
          } catch (e) {
            const err = e as Error & { code?: string };
            outcome = `${err.code ?? "error"}: ${err.message.split("\n")[0]}`;
            // SSL alert 70 from the peer; a client-side inability would be ERR_SSL_NO_PROTOCOLS_AVAILABLE.
            serverRefused = err.code === "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" || /alert protocol version/i.test(err.message);
          }
          expectThat(
            serverRefused,
            `the server refuses a client offering only ${version}`,
            "a 'protocol version' alert from the server",
            outcome,
            p.service,
          );
        });
      }

      it("accepts TLSv1.2 from the same client (so the refusals above are the server's)", async () => {
        const h = await handshake(p, {
          servername: "mail.example.test",
          minVersion: "TLSv1",
          maxVersion: "TLSv1.2",
          ciphers: "DEFAULT@SECLEVEL=0",
        });
        expectThat(
          h.protocol === "TLSv1.2" && h.authorized,
          "a client offering TLS 1.0 up to 1.2 gets TLS 1.2",
          "TLSv1.2, authorized",
          `${h.protocol}, authorized=${h.authorized}`,
          p.service,
        );
      });
    });
  }

  describe("DANE", () => {
    const submission: TlsPort[] = [
      { name: "25", port: () => platform().ports.smtp, mode: "smtp-starttls", service: "postfix" },
      PORTS.find((p) => p.name.startsWith("465"))!,
      PORTS.find((p) => p.name.startsWith("587"))!,
    ];
    for (const p of submission) {
      const port = p.name.slice(0, 3).trim();
      it(`publishes a TLSA 3 1 1 record for port ${port} that matches the key the MX host serves there`, async () => {
        const h = await handshake(p, { servername: platform().hostname });
        const spki = crypto
          .createHash("sha256")
          .update(new crypto.X509Certificate(h.cert.raw).publicKey.export({ type: "spki", format: "der" }));
        const want = `3 1 1 ${spki.digest("hex")}`;
        // What a DANE verifier would look up, from the simulated Internet's DNS serving the dnsZone output.
        const got = internet()
          .dig(`_${port}._tcp.${platform().hostname}`, "TLSA")
          .answers.map((a) => a.replace(/\s+/g, "").toLowerCase());
        expectThat(
          got.includes(want.replace(/\s+/g, "")),
          `the TLSA record of _${port}._tcp.${platform().hostname}`,
          want,
          got.join(", ") || "(none)",
          "postfix",
        );
      });
    }
  });
});
