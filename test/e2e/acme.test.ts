// Certificates from an ACME CA, renewed by the platform itself: the e2e stack with corp.test on
// `tls.source: acme`, ordering from Pebble (Let's Encrypt's test CA, a test double for the
// public CA) on the simulated Internet. The CA validates HTTP-01 the way it would in production:
// it resolves every name to the company's public address and connects to port 80 there, which
// forwards to the platform's published HTTP port, i.e. through the HTTPS front's port 80.
// The file puts the usual e2e stack back when it ends.
import { strict as assert } from "assert";
import { execFile, execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { after, before, describe, it } from "node:test";
import { containerLog, docker, dockerExec, inspect } from "../support/docker";
import { buildInternetImage, ensureTestHost, TestHostSpec, waitUntilReady } from "./internet/internet";
import { SmtpSession } from "./support/line-client";
import { imapClient, normalHeaders, sendInbound, waitForMessage } from "./support/mail";
import { INTERNET, logs, platform, unique } from "./support/platform";
import { deploy, e2eWith } from "./support/stack-variants";
import { DEFAULT_STACK } from "./up";
import { readStackFile } from "../../config/stack-file";

const execFileAsync = promisify(execFile);

const DOMAIN = "corp.test";
const ACME = "mp-e2e-acme";
const PEBBLE: TestHostSpec & { ip: string } = {
  name: "mp-e2e-internet-pebble-acme-ca-test-double",
  image: "",
  network: INTERNET.network,
  ip: "172.31.1.40",
  hostname: "pebble.test",
  ready: ["curl", "-sfk", "-o", "/dev/null", "https://127.0.0.1:14000/dir"],
};
/** The company's public address: the Docker host's side of the edge network. */
const PUBLIC_IP = "172.31.1.1";
/** What forwards the public address's port 80 to the published HTTP port, as the company's router would. */
const FORWARDER = "mp-e2e-internet-port-80-forward-test-double";

/** Every TLS port, as the host reaches it, with the STARTTLS dialect and the name a client of corp.test sends. */
function tlsPorts(): { port: number; starttls?: string; sni: string; what: string }[] {
  const p = platform().ports;
  const mail = `mail.${DOMAIN}`;
  return [
    { port: p.smtp, starttls: "smtp", sni: mail, what: "25 (SMTP, STARTTLS)" },
    { port: p.submissions, sni: mail, what: "465 (submissions)" },
    { port: p.submission, starttls: "smtp", sni: mail, what: "587 (submission, STARTTLS)" },
    { port: p.imap, starttls: "imap", sni: mail, what: "143 (IMAP, STARTTLS)" },
    { port: p.imaps, sni: mail, what: "993 (IMAPS)" },
    { port: p.pop3, starttls: "pop3", sni: mail, what: "110 (POP3, STARTTLS)" },
    { port: p.pop3s, sni: mail, what: "995 (POP3S)" },
    { port: p.managesieve, starttls: "sieve", sni: mail, what: "4190 (ManageSieve, STARTTLS)" },
    { port: p.https, sni: `mta-sts.${DOMAIN}`, what: "443 (HTTPS)" },
  ];
}

/** The leaf certificate a port serves for `sni`, PEM (openssl s_client, a real TLS client). */
async function servedLeaf(port: number, sni: string, starttls?: string): Promise<string> {
  const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", sni, ...(starttls ? ["-starttls", starttls] : [])];
  const { stdout } = await execFileAsync("sh", ["-c", `openssl "$@" </dev/null 2>/dev/null | openssl x509`, "sh", ...args], {
    timeout: 20_000,
  }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
  return stdout;
}

const fingerprint = (pem: string) => (pem.includes("BEGIN CERTIFICATE") ? new crypto.X509Certificate(pem).fingerprint256 : "none");
const spki = (pem: string) =>
  crypto
    .createHash("sha256")
    .update(new crypto.X509Certificate(pem).publicKey.export({ type: "spki", format: "der" }))
    .digest("hex");

/** What every TLS port serves for corp.test now: port description -> leaf PEM. */
async function servedEverywhere(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of tlsPorts()) out.set(t.what, await servedLeaf(t.port, t.sni, t.starttls));
  return out;
}

/** Waits until every port serves a leaf `accept` likes; fails listing each port's certificate. */
async function untilServed(accept: (leaf: string) => boolean, what: string, timeoutMs: number): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const served = await servedEverywhere();
    if ([...served.values()].every(accept)) return served;
    if (Date.now() > deadline) {
      const seen = [...served.entries()].map(([port, leaf]) => `  ${port}: ${fingerprint(leaf)}${accept(leaf) ? "" : "  <- not yet"}`);
      assert.fail(`${what}: not on every port within ${timeoutMs / 1000} s:\n${seen.join("\n")}\n${containerLog(ACME, ["--tail", "40"])}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The e2e stack's SSD root, where the ACME client's state lives (volumePaths.acme). */
function storageRoot(): string {
  return (readStackFile(DEFAULT_STACK).values as { storage: { ssdRoot: string } }).storage.ssdRoot;
}
const chainFile = () => path.join(storageRoot(), "acme", "certificates", DOMAIN, "fullchain.pem");
/** The first certificate of the chain the ACME client wrote. */
const leafOnDisk = () => new crypto.X509Certificate(fs.readFileSync(chainFile(), "utf8")).toString();
/** Pebble's root, which signs its intermediate, which signs the leaves it issues. */
const pebbleRoot = () => dockerExec(PEBBLE.name, ["curl", "-sfk", "https://127.0.0.1:15000/roots/0"]).stdout;

function metrics(): string {
  return dockerExec(ACME, ["sh", "-c", "cat /var/lib/mail-platform/metrics/*.prom"]).stdout;
}

/** Waits for the first acme-renew run's end: run-job holds its lock for as long as a run goes. */
async function untilFirstRunEnded(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (dockerExec(ACME, ["flock", "-n", "/run/lock/mail-platform-job-acme-renew.lock", "true"]).code !== 0) {
    if (Date.now() > deadline)
      assert.fail(`the first acme-renew run did not end within ${timeoutMs / 1000} s:\n${containerLog(ACME, ["--tail", "40"])}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("certificates from an ACME CA (Pebble), renewed by the platform", () => {
  let bootstrapLeaf = "";
  let issuedAfterSeconds = 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-acme-e2e-"));

  before(async () => {
    platform();
    // The key Pulumi keeps for corp.test, as the usual stack serves it.
    bootstrapLeaf = await servedLeaf(platform().ports.imaps, `mail.${DOMAIN}`);
    assert.ok(bootstrapLeaf, `no certificate on IMAPS for mail.${DOMAIN} before the switch`);

    // Pebble's own HTTPS listener: a certificate for its address, which the stack trusts by caFile.
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "key.pem")]
        .concat(["-out", path.join(dir, "cert.pem"), "-days", "2", "-subj", "/CN=pebble.test"])
        .concat(["-addext", `subjectAltName=IP:${PEBBLE.ip},DNS:pebble.test`]),
      { stdio: "pipe" },
    );
    const config = {
      pebble: {
        listenAddress: "0.0.0.0:14000",
        managementListenAddress: "0.0.0.0:15000",
        certificate: "/etc/pebble/cert.pem",
        privateKey: "/etc/pebble/key.pem",
        // Where a real CA validates: port 80 of the name's address.
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        // 90 days, Let's Encrypt's lifetime today.
        certificateValidityPeriod: 90 * 86400,
      },
    };
    const pebble: TestHostSpec = {
      ...PEBBLE,
      image: buildInternetImage("pebble"),
      env: { RESOLVE_TO: PUBLIC_IP, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
      files: {
        "/etc/pebble/config.json": JSON.stringify(config),
        "/etc/pebble/cert.pem": fs.readFileSync(path.join(dir, "cert.pem"), "utf8"),
        "/etc/pebble/key.pem": fs.readFileSync(path.join(dir, "key.pem"), "utf8"),
      },
    };
    ensureTestHost(pebble, true);
    waitUntilReady([pebble]);
    docker(["rm", "-f", FORWARDER]);
    const fwd = docker(
      ["run", "-d", "--name", FORWARDER, "--network", "host", "--entrypoint", "socat", pebble.image].concat([
        `TCP-LISTEN:80,bind=${PUBLIC_IP},fork,reuseaddr`,
        `TCP:127.0.0.1:${platform().ports.http}`,
      ]),
    );
    assert.equal(fwd.code, 0, `starting the port-80 forwarder: ${fwd.stderr}`);

    // Chains of an earlier run come from another Pebble (a new root at every start).
    // Its content only: the directory itself is mounted in the backup container, whose mount
    // would be left pointing at a deleted directory (restic: "could not be read").
    const acmeDir = path.join(storageRoot(), "acme");
    for (const entry of fs.existsSync(acmeDir) ? fs.readdirSync(acmeDir) : [])
      fs.rmSync(path.join(acmeDir, entry), { recursive: true, force: true });
    const started = Date.now();
    deploy(
      e2eWith((c) => {
        const domains = c["mail-platform:domains"] as { name: string; tls?: unknown }[];
        domains.find((d) => d.name === DOMAIN)!.tls = {
          source: "acme",
          email: `postmaster@${DOMAIN}`,
          directoryUrl: `https://${PEBBLE.ip}:14000/dir`,
          caFile: path.join(dir, "cert.pem"),
        };
      }),
    );
    const deployed = Date.now();
    // The first order runs when the ACME client's container starts, at the end of the deploy.
    await untilServed(
      (leaf) => fs.existsSync(chainFile()) && fingerprint(leaf) === fingerprint(leafOnDisk()),
      "the first ACME certificate",
      120_000,
    );
    issuedAfterSeconds = (Date.now() - deployed) / 1000;
    // acme-renew returns after its own check of every port, a moment after the chain is served
    // here; the first run must have ended before the tests read its result or force another.
    await untilFirstRunEnded(60_000);
    console.log(
      `deploy with ACME: ${((deployed - started) / 1000).toFixed(1)} s; served from Pebble ${issuedAfterSeconds.toFixed(1)} s after`,
    );
  });

  after(() => {
    docker(["rm", "-f", FORWARDER]);
    deploy();
    docker(["rm", "-f", "-v", PEBBLE.name]);
  });

  it("gets corp.test's certificate from the CA through the proxy's port 80, and serves it on every TLS port with the key Pulumi keeps", async () => {
    const served = await servedEverywhere();
    const onDisk = leafOnDisk();
    for (const [port, leaf] of served) {
      assert.equal(fingerprint(leaf), fingerprint(onDisk), `${port} serves another certificate than the ACME client wrote`);
    }
    const leaf = new crypto.X509Certificate(onDisk);
    assert.equal(spki(onDisk), spki(bootstrapLeaf), "the ACME certificate must certify the key the bootstrap one did (DANE)");
    // Pebble's chain: leaf, then its intermediate, which its root signs.
    fs.writeFileSync(path.join(dir, "root.pem"), pebbleRoot());
    fs.writeFileSync(path.join(dir, "chain.pem"), fs.readFileSync(chainFile(), "utf8"));
    const verify = docker(
      ["run", "--rm", "-v", `${dir}:/c:ro`, "--entrypoint", "sh", buildInternetImage("pebble")].concat([
        "-c",
        "openssl verify -CAfile /c/root.pem -untrusted /c/chain.pem /c/chain.pem",
      ]),
    );
    assert.equal(verify.code, 0, `the chain does not verify against Pebble's root:\n${verify.stdout}${verify.stderr}`);
    assert.deepEqual(leaf.subjectAltName?.split(", ").sort(), [
      "DNS:autoconfig.corp.test",
      "DNS:autodiscover.corp.test",
      "DNS:mail.corp.test",
      "DNS:mta-sts.corp.test",
    ]);
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86400_000;
    assert.ok(Math.abs(days - 90) < 1, `a 90-day certificate, got ${days} days`);
    assert.match(metrics(), /^mailplatform_job_exit_code\{job="acme-renew"\} 0$/m);
    assert.match(containerLog(ACME), /domain=corp\.test event=issued/);
    console.log(`first issuance: served on all ${served.size} ports ${issuedAfterSeconds.toFixed(1)} s after the deploy`);
  });

  it("a forced renewal changes the certificate on every port, keeps the key, and keeps open sessions and mail flowing", async () => {
    const before = fingerprint(leafOnDisk());
    const user = "carol@corp.test";
    const held = imapClient(user);
    await held.connect();
    await held.mailboxOpen("INBOX");
    // An SMTP session on port 25, over TLS with corp.test's certificate, in the middle of a transaction.
    const smtp = await SmtpSession.open(platform().ports.smtp);
    await smtp.ehlo("mx.remote.test");
    await smtp.starttls({ servername: `mail.${DOMAIN}`, rejectUnauthorized: false });
    await smtp.ehlo("mx.remote.test");
    const inFlight = unique("acme-in-flight");
    assert.equal((await smtp.command("MAIL FROM:<partner@remote.test>")).code, 250);
    assert.equal((await smtp.command(`RCPT TO:<${user}>`)).code, 250);

    const token = unique("acme-renewal");
    const sends: Promise<unknown>[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 20; i++) {
        sends.push(
          sendInbound({
            from: "partner@remote.test",
            to: [user],
            subject: `${token} ${i}`,
            text: "sent while the certificate is renewed",
            headers: normalHeaders("remote.test"),
          }),
        );
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    const started = Date.now();
    const run = await execFileAsync("docker", ["exec", ACME, "run-job", "acme-renew", "acme-renew", "--force", DOMAIN], {
      timeout: 240_000,
    }).catch((e: { code?: number; stdout?: string; stderr?: string }) => ({
      stdout: `${e.stdout}${e.stderr}\nexit ${e.code}`,
      stderr: "",
    }));
    const renewedAfter = (Date.now() - started) / 1000;
    assert.match(run.stdout, /result=ok/, `the forced renewal failed:\n${run.stdout}`);
    // acme-renew returns once tls-check saw the new chain on every port.
    const after = fingerprint(leafOnDisk());
    assert.notEqual(after, before, "the renewal wrote the same certificate");
    const served = await servedEverywhere();
    for (const [port, leaf] of served) assert.equal(fingerprint(leaf), after, `${port} still serves the old certificate`);
    assert.equal(spki(leafOnDisk()), spki(bootstrapLeaf), "a renewal must not change the key");

    // The sessions opened before the reloads still work: the SMTP transaction completes, IMAP answers.
    assert.equal((await smtp.command("DATA")).code, 354);
    const data = await smtp.command(
      [
        `From: partner@remote.test`,
        `To: ${user}`,
        `Subject: ${inFlight}`,
        `Message-ID: <${inFlight}@remote.test>`,
        `Date: ${new Date().toUTCString()}`,
        "",
        "begun before the renewal",
        ".",
      ].join("\r\n"),
    );
    assert.equal(data.code, 250, `the SMTP transaction begun before the renewal failed: ${data.text}`);
    smtp.close();
    await held.noop();
    const status = await held.status("INBOX", { messages: true });
    assert.ok(status && typeof status.messages === "number", "the IMAP session opened before the renewal no longer answers");
    await held.logout();

    sending = false;
    await sender;
    const results = await Promise.allSettled(sends);
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(
      refused.length,
      0,
      `messages refused during the renewal: ${refused.map((r) => String((r as PromiseRejectedResult).reason)).join("; ")}`,
    );
    for (let i = 0; i < sends.length; i++) await waitForMessage(user, `${token} ${i}`, ["INBOX", "Junk"], 60_000);
    await waitForMessage(user, inFlight, ["INBOX", "Junk"], 60_000);
    console.log(
      `forced renewal: ${renewedAfter.toFixed(1)} s until served on every port; ${sends.length} messages sent meanwhile, all delivered`,
    );
  });

  it("with the CA unreachable, the renewal fails visibly and every port keeps serving the current certificate", async () => {
    const current = fingerprint(leafOnDisk());
    docker(["stop", PEBBLE.name]);
    try {
      const r = dockerExec(ACME, ["run-job", "acme-renew", "acme-renew", "--force", DOMAIN]);
      assert.notEqual(r.code, 0, `the renewal claims success with the CA down:\n${r.stdout}`);
      assert.match(r.stdout, /domain=corp\.test event=failed failures=1 next_attempt_in=1800s/);
      assert.match(containerLog(ACME, ["--tail", "40"]) + r.stdout, /result=failed/);
      const m = metrics();
      assert.match(m, /^mailplatform_job_exit_code\{job="acme-renew"\} [1-9]/m, m);
      assert.match(m, /^mailplatform_acme_consecutive_failures\{domain="corp\.test"\} 1$/m, m);
      // A scheduled run asks the CA nothing (the chain is not due; the back-off is the line above).
      const scheduled = dockerExec(ACME, ["acme-renew"]);
      assert.doesNotMatch(scheduled.stdout, /event=ordering/, `a scheduled run asked the CA:\n${scheduled.stdout}`);
      const served = await servedEverywhere();
      for (const [port, leaf] of served) assert.equal(fingerprint(leaf), current, `${port} changed its certificate after a failed renewal`);
    } finally {
      docker(["start", PEBBLE.name]);
    }
    assert.equal(inspect(ACME, "{{.State.Running}}"), "true", logs("acme"));
  });
});
