// The simulated Internet on its own: the DNS container serves the zones built from the platform's
// real `dnsZone` format (authoritatively, refusing the rest at once), and the remote MX offers
// STARTTLS and stores a message byte-exact with its envelope, client IP and HELO. Everything runs
// on a bridge network this test creates and removes.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { DomainConfig } from "../../config/schema";
import { dnsRecords, zoneSnippet } from "../../components/pki/dns-records";
import { docker, Internet, remoteMxRecords, runOnNetwork, startInternet, zoneFiles } from "./internet/internet";

const NETWORK = `mp-e2e-internet-test-${process.pid}`;
const SUBNET = "172.29.250.0/24";
const DNS_IP = "172.29.250.53";
const MX_IP = "172.29.250.26";
const PLATFORM_IP = "172.29.250.25"; // what the platform's host name points at (nothing listens here)
const CLIENT_IP = "172.29.250.100";
const HOSTNAME = "mail.example.test";

const dkimPublicKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .publicKey.export({ type: "spki", format: "der" })
  .toString("base64");
const domains: DomainConfig[] = [
  {
    name: "example.test",
    dkimSelector: "dev",
    tls: { source: "self-signed", keyGeneration: 1, publishNextKey: false },
    dmarcPolicy: "quarantine",
  },
  {
    name: "example.org",
    dkimSelector: "mail",
    tls: { source: "self-signed", keyGeneration: 1, publishNextKey: false },
    dmarcPolicy: "reject",
    dmarcReportAddress: "dmarc@example.test",
  },
];
const records = dnsRecords(domains, HOSTNAME, { "example.test": dkimPublicKey, "example.org": dkimPublicKey });
const snippet = zoneSnippet(records, HOSTNAME);
const dkimValue = `v=DKIM1; k=rsa; p=${dkimPublicKey}`;

let internet: Internet | undefined;

/** Fails with what was expected, what was seen, and both containers' logs. */
function expectEqual<T>(seen: T, expected: T, what: string): void {
  try {
    assert.deepEqual(seen, expected);
  } catch {
    assert.fail(`${what}\nexpected: ${JSON.stringify(expected)}\nseen:     ${JSON.stringify(seen)}\n${internet?.logs() ?? ""}`);
  }
}

/** Removes networks (and their containers) left by earlier runs of this test whose process is gone. */
function removeStaleNetworks(): void {
  const nets = docker(["network", "ls", "--format", "{{.Name}}", "--filter", "name=mp-e2e-internet-test-"])
    .stdout.split("\n")
    .filter(Boolean);
  for (const net of nets) {
    const pid = Number(/-(\d+)$/.exec(net)?.[1]);
    let alive: boolean;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (alive) continue;
    const attached = docker(["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", net])
      .stdout.split(/\s+/)
      .filter(Boolean);
    for (const c of attached) if (c.startsWith("mp-e2e-internet-")) docker(["rm", "-f", c]);
    docker(["network", "rm", net]);
  }
}

describe("the simulated Internet", () => {
  before(() => {
    removeStaleNetworks();
    const net = docker(["network", "create", "--driver", "bridge", "--subnet", SUBNET, NETWORK]);
    if (net.code !== 0) throw new Error(`creating network ${NETWORK} (${SUBNET}) failed: ${net.stderr}`);
    const zones = zoneFiles(snippet, [{ name: HOSTNAME, type: "A", value: PLATFORM_IP }, ...remoteMxRecords(["remote.test"], MX_IP)], {
      nameserverIp: DNS_IP,
    });
    internet = startInternet({
      network: NETWORK,
      dnsIp: DNS_IP,
      mxIp: MX_IP,
      zones,
      remoteDomains: ["remote.test"],
      name: `test-${process.pid}`,
    });
  });

  after(() => {
    internet?.stop();
    docker(["network", "rm", NETWORK]);
  });

  test("zoneFiles puts each record of the platform's snippet into its domain's zone, with SOA and NS", () => {
    const zones = zoneFiles(snippet, [{ name: HOSTNAME, type: "A", value: PLATFORM_IP }, ...remoteMxRecords(["remote.test"], MX_IP)]);
    expectEqual(Object.keys(zones).sort(), ["example.org", "example.test", "remote.test"], "zones");
    assert.match(zones["example.test"], /^example\.test\.\t300\tIN\tSOA\tns\.example\.test\. /m);
    assert.match(zones["example.test"], /^mail\.example\.test\.\t300\tIN\tA\t172\.29\.250\.25$/m);
    assert.match(
      zones["example.org"],
      /^_dmarc\.example\.org\.\t3600\tIN\tTXT\t"v=DMARC1; p=reject; rua=mailto:dmarc@example\.test; fo=1"$/m,
    );
    assert.doesNotMatch(zones["example.org"], /example\.test\.\t/);
    assert.match(zones["remote.test"], /^remote\.test\.\t300\tIN\tMX\t10 mx\.remote\.test\.$/m);
  });

  test("a client on the network gets MX, TXT (SPF, DKIM, DMARC) and A answers, authoritative", () => {
    const it = internet!;
    const ask = (name: string, type: string) => {
      const r = it.dig(name, type);
      expectEqual(r.status, "NOERROR", `${name} ${type} status`);
      assert.ok(r.authoritative, `${name} ${type}: expected the aa flag\n${r.output}`);
      return r.answers;
    };
    expectEqual(ask("example.test", "MX"), [`10 ${HOSTNAME}.`], "example.test MX");
    expectEqual(ask("example.test", "TXT"), ["v=spf1 mx -all"], "example.test TXT (SPF)");
    const dkim = ask("dev._domainkey.example.test", "TXT");
    expectEqual(dkim, [dkimValue], "DKIM TXT joined back into one string");
    assert.ok(/" "/.test(it.dig("dev._domainkey.example.test", "TXT").output), "the DKIM TXT should be served as more than one string");
    expectEqual(ask("_dmarc.example.test", "TXT"), ["v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test; fo=1"], "DMARC TXT");
    expectEqual(ask(HOSTNAME, "A"), [PLATFORM_IP], `${HOSTNAME} A`);
    expectEqual(it.query("remote.test", "MX"), ["10 mx.remote.test."], "remote.test MX");
    expectEqual(it.query("mx.remote.test", "A"), [MX_IP], "mx.remote.test A");
  });

  test("a container using the DNS through Docker's resolver (--dns) resolves names like a stub resolver", () => {
    const it = internet!;
    const viaDocker = it.dig("dev._domainkey.example.test", "TXT", "client");
    expectEqual(viaDocker.status, "NOERROR", "status via 127.0.0.11");
    expectEqual(viaDocker.answers, [dkimValue], "DKIM TXT via 127.0.0.11");
    // glibc's resolver, as Postfix's smtp client uses it (RD set, no recursion offered back).
    const r = runOnNetwork(NETWORK, it.images.dns, ["-c", `getent ahostsv4 ${HOSTNAME} mx.remote.test | awk '{print $1}' | sort -u`], {
      dnsIp: DNS_IP,
      entrypoint: "sh",
    });
    expectEqual(
      r.stdout.split("\n").filter(Boolean).sort(),
      [MX_IP, PLATFORM_IP].sort(),
      `getent for ${HOSTNAME} and mx.remote.test (${r.stderr})`,
    );
  });

  test("names outside the zones are refused and unknown names in them are NXDOMAIN, quickly", () => {
    const it = internet!;
    const outside = it.dig("www.example.com", "A");
    expectEqual(outside.status, "REFUSED", "www.example.com A status");
    const missing = it.dig("nobody.example.test", "A");
    expectEqual(missing.status, "NXDOMAIN", "nobody.example.test A status");
    assert.ok(missing.authoritative, `NXDOMAIN should be authoritative\n${missing.output}`);
    const viaDocker = it.dig("www.example.com", "A", "client");
    assert.ok(
      ["REFUSED", "SERVFAIL", "NXDOMAIN"].includes(viaDocker.status),
      `via 127.0.0.11: expected a quick failure, saw ${viaDocker.status}\n${viaDocker.output}`,
    );
    for (const r of [outside, missing, viaDocker])
      assert.ok(r.ms < 5000, `a failing lookup took ${r.ms} ms (expected well under the 2 s dig timeout plus docker overhead)`);
  });

  test("the remote MX offers STARTTLS, refuses foreign recipients and stores a message byte-exact", async () => {
    const it = internet!;
    const marker = `e2e-internet-${Date.now()}`;
    const message =
      `From: Alice <alice@example.test>\r\nTo: someone@remote.test\r\nSubject: ${marker}\r\n` +
      `Message-ID: <${marker}@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Transfer-Encoding: 8bit\r\n\r\nGrüße aus dem Test.\r\n.A line starting with a dot (dot-stuffed on the wire).\r\n` +
      `  trailing spaces kept   \r\n` +
      `${"x".repeat(1200)}\r\n`; // longer than RFC 5321's 998: real MXes accept it, so this one does
    // The client speaks SMTP with python3's smtplib in a throwaway container of the MX image.
    const client = [
      "import base64, json, os, smtplib, ssl",
      `s = smtplib.SMTP("${MX_IP}", 25, local_hostname="client.example.test", timeout=20)`,
      "s.ehlo()",
      "offered = s.has_extn('starttls')",
      "s.starttls(context=ssl._create_unverified_context())",
      "s.ehlo()",
      "refused = s.sendmail('alice@example.test', ['someone@remote.test', 'x@elsewhere.test'], base64.b64decode(os.environ['MSG']))",
      "s.quit()",
      "print(json.dumps({'starttls': offered, 'refused': {k: v[0] for k, v in refused.items()}}))",
    ].join("\n");
    const sent = runOnNetwork(NETWORK, it.images.mx, [`MSG=${Buffer.from(message, "utf8").toString("base64")}`, "python3", "-c", client], {
      ip: CLIENT_IP,
      dnsIp: DNS_IP,
      entrypoint: "env",
    });
    expectEqual(sent.code, 0, `SMTP client exit code (stdout: ${sent.stdout} stderr: ${sent.stderr})`);
    const outcome = JSON.parse(sent.stdout.trim()) as { starttls: boolean; refused: Record<string, number> };
    expectEqual(outcome.starttls, true, "STARTTLS offered in EHLO");
    expectEqual(outcome.refused, { "x@elsewhere.test": 554 }, "recipients refused by the remote MX");

    const got = await it.waitForMessage((m) => m.raw.includes(marker), 10_000);
    expectEqual(got.mailFrom, "alice@example.test", "envelope MAIL FROM");
    expectEqual(got.rcptTo, ["someone@remote.test"], "envelope RCPT TO");
    expectEqual(got.clientIp, CLIENT_IP, "client IP");
    expectEqual(got.helo, "client.example.test", "HELO name");
    expectEqual(got.tls, "TLSv1.3", "TLS version of the session");
    expectEqual(
      got.rawBytes.equals(Buffer.from(message, "utf8")),
      true,
      `message octets\n--- sent ---\n${message}\n--- stored ---\n${got.raw}`,
    );
    expectEqual(got.raw, message, "message text");
  });
});
