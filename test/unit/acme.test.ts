// Certificates that renew themselves: the renewal decision, the TLSA values, the schedules, the
// ACME client's files, the proxy's challenge path, tls-watch's install-or-refuse, and the keys
// Pulumi keeps across a switch to ACME and a rollover.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { before, describe, it } from "node:test";
import { installMocks, ofType, registered, valueOf } from "../support/mocks";

installMocks();
import { acmeFileModes, renderAcmeFiles } from "../../components/acme/render";
import { renderSchedule } from "../../components/host/scheduled-jobs";
import { Certificates } from "../../components/pki/certificates";
import { certificateHostnames } from "../../components/pki/hostnames";
import { spkiSha256, tlsaRecords } from "../../components/pki/tlsa";
import { renderProxyFiles } from "../../components/proxy/render";
import { AcmeOrder, TlsEndpoint } from "../../components/types";
import { PlatformConfig, resolvePlatform } from "../../config/platform";
import { DomainConfig } from "../../config/schema";
import { validateStack } from "../../config/validate";
import { makeCertificate, makePrivateKey } from "../support/pem";

const ROOT = path.resolve(__dirname, "..", "..");
const DAY = 86400;

const acmeTls = (extra: Record<string, unknown> = {}) => ({ source: "acme", email: "hostmaster@example.com", ...extra });

/** A minimal stack around `raw`: its domains each get the postmaster alias RFC 5321 asks for. */
function stackOf(raw: Record<string, unknown>): Record<string, unknown> {
  const domains = (raw.domains ?? []) as { name: string }[];
  const aliases = domains.map((d) => ({ address: `postmaster@${d.name}`, goto: ["hostmaster@elsewhere.test"] }));
  return { hostname: "mail.example.com", storage: { ssdRoot: "/ssd", bulkRoot: "/bulk" }, aliases, ...raw };
}

/** A parsed platform from raw stack values (with the file checks off: no files here). */
function platformOf(raw: Record<string, unknown>): PlatformConfig {
  const r = validateStack(stackOf(raw), { checkFiles: false });
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.problems, null, 2));
  return resolvePlatform(r.value, "unit", 2);
}

function problemsOf(raw: Record<string, unknown>): string[] {
  const r = validateStack(stackOf(raw), { checkFiles: false });
  return r.ok ? [] : r.problems.map((p) => `${p.key}: ${p.expected}`);
}

describe("the renewal decision (images/acme/renewal-due)", () => {
  const due = (notBefore: number, notAfter: number, now: number) =>
    spawnSync("sh", [path.join(ROOT, "images", "acme", "renewal-due"), String(notBefore), String(notAfter), String(now)]).status === 0;

  for (const days of [90, 64, 45, 6]) {
    it(`renews a ${days}-day certificate once a third of its lifetime is left, not a second before`, () => {
      const start = 1_800_000_000;
      const end = start + days * DAY;
      const threshold = end - (days * DAY) / 3;
      assert.equal(due(start, end, Math.ceil(threshold) - 1), false, `${days} days: one second before two thirds`);
      assert.equal(due(start, end, Math.ceil(threshold)), true, `${days} days: at two thirds`);
      assert.equal(due(start, end, start + DAY / 2), false, `${days} days: just issued`);
      assert.equal(due(start, end, end + 1), true, `${days} days: expired`);
    });
  }

  it("gives a 90-day certificate 30 days and a 6-day one 2 days", () => {
    const start = 1_800_000_000;
    assert.equal(due(start, start + 90 * DAY, start + 60 * DAY), true);
    assert.equal(due(start, start + 90 * DAY, start + 59 * DAY), false);
    assert.equal(due(start, start + 6 * DAY, start + 4 * DAY), true);
    assert.equal(due(start, start + 6 * DAY, start + 3 * DAY), false);
  });
});

describe("TLSA records (DANE 3 1 1)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-tlsa-"));
  /** What openssl says: SHA-256 of the DER SubjectPublicKeyInfo. */
  const opensslSpki = (pemFile: string, fromCert: boolean) => {
    const pub = fromCert
      ? execFileSync("openssl", ["x509", "-in", pemFile, "-noout", "-pubkey"])
      : execFileSync("openssl", ["pkey", "-in", pemFile, "-pubout"]);
    const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "DER"], { input: pub });
    return execFileSync("openssl", ["dgst", "-sha256", "-r"], { input: der }).toString().split(" ")[0];
  };

  for (const algorithm of ["ec", "rsa"] as const) {
    it(`hashes a ${algorithm} key as openssl does, from the key and from a certificate of it`, () => {
      const cert = makeCertificate("example.com", ["mail.example.com"], algorithm);
      fs.writeFileSync(path.join(dir, "key.pem"), cert.privateKeyPem);
      fs.writeFileSync(path.join(dir, "cert.pem"), cert.certChainPem);
      const publicKeyPem = crypto.createPublicKey(cert.privateKeyPem).export({ type: "spki", format: "pem" }).toString();
      const want = opensslSpki(path.join(dir, "key.pem"), false);
      assert.equal(spkiSha256(publicKeyPem), want);
      assert.equal(opensslSpki(path.join(dir, "cert.pem"), true), want, "the certificate carries the same key");
    });
  }

  it("publishes 25, 465 and 587 for the host name, and the next key beside the current one during a rollover", () => {
    const current = crypto.createPublicKey(makePrivateKey("ec")).export({ type: "spki", format: "pem" }).toString();
    const next = crypto.createPublicKey(makePrivateKey("ec")).export({ type: "spki", format: "pem" }).toString();
    const alone = tlsaRecords("example.com", "mail.example.com", { domain: "example.com", publicKeyPem: current });
    assert.deepEqual(
      alone.map((r) => `${r.name} ${r.type} ${r.value}`),
      [25, 465, 587].map((p) => `_${p}._tcp.mail.example.com. TLSA 3 1 1 ${spkiSha256(current)}`),
    );
    const both = tlsaRecords("example.com", "mail.example.com", { domain: "example.com", publicKeyPem: current, nextPublicKeyPem: next });
    assert.equal(both.length, 6);
    assert.deepEqual(
      both.filter((r) => r.name === "_25._tcp.mail.example.com.").map((r) => r.value),
      [`3 1 1 ${spkiSha256(current)}`, `3 1 1 ${spkiSha256(next)}`],
    );
  });
});

describe("schedules", () => {
  it("renders one cron line per job through run-job, output to the container's log", () => {
    const files = renderSchedule([
      { name: "acme-renew", schedule: "23 */6 * * *", command: "acme-renew" },
      { name: "tls-check", schedule: "*/10 * * * *", command: "tls-check" },
    ]);
    const lines = files["/etc/cron.d/mail-platform"].split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(lines, [
      "SHELL=/bin/sh",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "23 */6 * * * root run-job acme-renew acme-renew >/proc/$(cat /run/crond.pid)/fd/1 2>&1",
      "*/10 * * * * root run-job tls-check tls-check >/proc/$(cat /run/crond.pid)/fd/1 2>&1",
    ]);
    assert.ok(files["/etc/cron.d/mail-platform"].endsWith("\n"), "cron ignores a last line without a newline");
    assert.deepEqual(renderSchedule([]), {});
  });

  it("refuses what cron would mangle: %, a second job of one name", () => {
    assert.throws(() => renderSchedule([{ name: "x", schedule: "* * * * *", command: "date +%s" }]), /%/);
    assert.throws(
      () =>
        renderSchedule([
          { name: "x", schedule: "* * * * *", command: "a" },
          { name: "x", schedule: "* * * * *", command: "b" },
        ]),
      /twice/,
    );
  });

  it("takes the schedules from the stack config, with defaults, and refuses a bad or too frequent one", () => {
    const p = platformOf({ domains: [{ name: "example.com" }], schedules: { queueReport: " 5   *  * * * " } });
    assert.equal(p.schedules.queueReport, "5 * * * *");
    assert.equal(p.schedules.acmeRenewal, "23 */6 * * *");
    assert.deepEqual(problemsOf({ domains: [{ name: "example.com" }], schedules: { tlsCheck: "every 10 minutes" } }).length, 1);
    const tooOften = problemsOf({ domains: [{ name: "example.com" }], schedules: { clamavSignatures: "*/30 * * * *" } });
    assert.match(tooOften.join("\n"), /schedules\.clamavSignatures.*at most once an hour|schedules\.clamavSignatures.*mirrors/);
  });
});

describe("ACME config", () => {
  it("defaults to Let's Encrypt with HTTP-01 and keeps the key's generation", () => {
    const p = platformOf({ domains: [{ name: "example.com", tls: acmeTls() }] });
    assert.deepEqual(p.domains[0].tls, {
      source: "acme",
      email: "hostmaster@example.com",
      directoryUrl: "https://acme-v02.api.letsencrypt.org/directory",
      challenge: { type: "http-01" },
      keyGeneration: 1,
      publishNextKey: false,
    });
  });

  it("refuses a plain-HTTP directory, a DNS-01 challenge without its server, and unreadable files", () => {
    const problems = problemsOf({
      domains: [
        {
          name: "example.com",
          tls: acmeTls({ directoryUrl: "http://ca.example/dir", challenge: { type: "dns-01", provider: "rfc2136" } }),
        },
      ],
    });
    assert.ok(
      problems.some((p) => p.includes("directoryUrl")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.includes("nameserver")),
      problems.join("\n"),
    );
    const files = validateStack(stackOf({ domains: [{ name: "example.com", tls: acmeTls({ caFile: "/nonexistent/ca.pem" }) }] }), {
      checkFiles: true,
    });
    assert.ok(!files.ok && files.problems.some((p) => p.key.endsWith("tls.caFile")));
  });

  it("leaves the bare domain off an ACME certificate (usually the web site, which the CA would find elsewhere)", () => {
    const d = (tls: DomainConfig["tls"]): DomainConfig => ({ name: "example.org", dkimSelector: "mail", dmarcPolicy: "none", tls });
    const acme = platformOf({ domains: [{ name: "example.org", tls: acmeTls() }] }).domains[0].tls;
    assert.deepEqual(certificateHostnames(d(acme), 1, "mail.example.com"), [
      "mail.example.org",
      "mta-sts.example.org",
      "autoconfig.example.org",
      "autodiscover.example.org",
    ]);
  });
});

const ENDPOINTS: TlsEndpoint[] = [
  { service: "postfix", host: "postfix", port: 25, starttls: "smtp" },
  { service: "postfix", host: "postfix", port: 465 },
  { service: "dovecot", host: "dovecot", port: 4190, starttls: "sieve" },
  { service: "proxy", host: "proxy", port: 443 },
];

describe("the ACME client's files", () => {
  const platform = platformOf({
    domains: [
      { name: "example.com" },
      { name: "example.org", tls: acmeTls({ externalAccountBinding: { keyId: "kid-1", hmacKeyFile: "/x" } }) },
    ],
  });
  const certificates = platform.domains.map((d, i) => ({
    domain: d.name,
    hostnames: certificateHostnames(d, i, platform.hostname),
    certChainPem: `BOOTSTRAP ${d.name}\n`,
    privateKeyPem: "KEY",
  }));
  const order: AcmeOrder = {
    domain: "example.org",
    hostnames: certificates[1].hostnames,
    csrPem: "CSR\n",
    email: "o'brien@example.org",
    directoryUrl: "https://acme.example/dir",
    caPem: "",
    externalAccountBinding: { keyId: "kid-1", hmacKey: "c2VjcmV0" },
    challenge: { type: "http-01" },
  };
  const files = renderAcmeFiles({ platform, orders: [order], certificates, tlsEndpoints: ENDPOINTS });

  it("writes each order as shell words acme-renew sources, with the CSR and the bootstrap chain", () => {
    const conf = files["/etc/mail-platform/acme/domains/example.org/order.conf"];
    assert.match(conf, /^EMAIL='o'\\''brien@example\.org'$/m);
    assert.match(conf, /^COMMON_NAME='mail\.example\.org'$/m);
    assert.match(conf, /^EAB_KEY_ID='kid-1'$/m);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mp-order-")), "order.conf");
    fs.writeFileSync(file, conf);
    const sourced = spawnSync("sh", ["-c", `. "$1"; printf '%s|%s' "$EMAIL" "$SERVER"`, "sh", file], { encoding: "utf8" });
    assert.equal(sourced.stdout, "o'brien@example.org|https://acme.example/dir");
    assert.equal(files["/etc/mail-platform/acme/domains/example.org/request.csr"], "CSR\n");
    assert.equal(files["/etc/mail-platform/acme/domains/example.org/bootstrap.pem"], "BOOTSTRAP example.org\n");
    assert.equal(files["/etc/mail-platform/acme/domains/example.org/eab-hmac.secret"], "c2VjcmV0\n");
    assert.ok(!("/etc/mail-platform/acme/domains/example.com/order.conf" in files), "a self-signed domain is not ordered");
  });

  it("checks every TLS port with a name of the domain's own certificate", () => {
    const targets = files["/etc/mail-platform/acme/tls-check.conf"].split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(targets, [
      "example.org postfix postfix 25 smtp mail.example.org",
      "example.org postfix postfix 465 - mail.example.org",
      "example.org dovecot dovecot 4190 sieve mail.example.org",
      "example.org proxy proxy 443 - mta-sts.example.org",
    ]);
  });

  it("schedules the renewal and the check from the stack config", () => {
    assert.match(files["/etc/cron.d/mail-platform"], /^23 \*\/6 \* \* \* root run-job acme-renew acme-renew /m);
    assert.match(files["/etc/cron.d/mail-platform"], /^\*\/10 \* \* \* \* root run-job tls-check tls-check /m);
  });

  it("writes a DNS-01 order's name server and TSIG key name, and its secret to a root-only file", () => {
    const dns: AcmeOrder = {
      ...order,
      externalAccountBinding: undefined,
      challenge: {
        type: "dns-01",
        provider: "rfc2136",
        nameserver: "ns1.example.org:53",
        tsigKeyName: "acme.",
        tsigAlgorithm: "hmac-sha256.",
        tsigSecret: "dHNpZw==",
      },
    };
    const f = renderAcmeFiles({ platform, orders: [dns], certificates, tlsEndpoints: ENDPOINTS });
    const conf = f["/etc/mail-platform/acme/domains/example.org/order.conf"];
    assert.match(conf, /^CHALLENGE='dns-01'$/m);
    assert.match(conf, /^DNS_NAMESERVER='ns1\.example\.org:53'$/m);
    assert.match(conf, /^TSIG_KEY_NAME='acme\.'$/m);
    assert.doesNotMatch(conf, /dHNpZw/, "the TSIG secret stays out of the sourced file");
    assert.equal(f["/etc/mail-platform/acme/domains/example.org/tsig.secret"], "dHNpZw==\n");
    assert.equal(acmeFileModes([dns])["/etc/mail-platform/acme/domains/example.org/tsig.secret"], "0600");
  });

  it("refuses orders that do not match the ACME domains", () => {
    assert.throws(() => renderAcmeFiles({ platform, orders: [], certificates, tlsEndpoints: ENDPOINTS }), /one per ACME domain/);
  });
});

describe("the proxy's ACME challenge path", () => {
  const platform = platformOf({ domains: [{ name: "example.com", tls: acmeTls() }] });
  const cert = makeCertificate("example.com", certificateHostnames(platform.domains[0], 0, platform.hostname), "ec");

  it("forwards /.well-known/acme-challenge/ on both port-80 servers, before the redirect and the refusal", () => {
    const files = renderProxyFiles({ platform, certificates: [cert], apps: [], acmeChallenge: { host: "acme", port: 80 } });
    const site = files["/etc/nginx/sites/00-default.conf"];
    const servers = site.split(/^server \{$/m).slice(1, 3);
    for (const s of servers) {
      const include = s.indexOf("include /etc/nginx/snippets/acme-challenge.conf;");
      assert.ok(include > 0, `a port-80 server without the challenge path:\n${s}`);
      assert.ok(include < s.indexOf("location / {"), "the challenge path comes before the catch-all location");
    }
    const snippet = files["/etc/nginx/snippets/acme-challenge.conf"];
    assert.match(snippet, /location \^~ \/\.well-known\/acme-challenge\/ \{/);
    assert.match(snippet, /set \$acme_client http:\/\/acme:80;/);
    assert.match(snippet, /proxy_set_header Host \$host;/, "lego answers only for the name it is ordering");
  });

  it("is refused without the client's endpoint, and absent for a stack without HTTP-01", () => {
    assert.throws(() => renderProxyFiles({ platform, certificates: [cert], apps: [] }), /acmeChallenge/);
    const plain = platformOf({ domains: [{ name: "example.com" }] });
    const files = renderProxyFiles({ platform: plain, certificates: [cert], apps: [] });
    assert.ok(!("/etc/nginx/snippets/acme-challenge.conf" in files));
    assert.doesNotMatch(files["/etc/nginx/sites/00-default.conf"], /acme/);
  });
});

describe("tls-watch (images/lib/tls-watch)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-tls-watch-"));
  const run = () =>
    spawnSync("sh", [path.join(ROOT, "images", "lib", "tls-watch"), "--once", "true"], {
      env: { ...process.env, TLS_WATCH_CONF: path.join(dir, "watch.conf"), TLS_WATCH_STATE: path.join(dir, "state") },
      encoding: "utf8",
    });
  const bootstrap = makeCertificate("example.com", ["mail.example.com"], "ec");
  const key = path.join(dir, "key.pem");
  const served = path.join(dir, "served.pem");
  const combined = path.join(dir, "combined.pem");
  const live = path.join(dir, "live.pem");
  /** A new certificate for the same key (what an ACME renewal with Pulumi's CSR gives). */
  const renewed = () => {
    const out = path.join(dir, "renewed.pem");
    execFileSync("openssl", ["req", "-x509", "-key", key, "-out", out, "-days", "3", "-subj", "/CN=mail.example.com"], { stdio: "pipe" });
    return fs.readFileSync(out, "utf8");
  };

  before(() => {
    fs.writeFileSync(key, bootstrap.privateKeyPem, { mode: 0o600 });
    fs.writeFileSync(served, bootstrap.certChainPem);
    fs.writeFileSync(combined, bootstrap.privateKeyPem + bootstrap.certChainPem, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "watch.conf"), `# comment\n${live} ${served} ${key}\n${live} ${combined} ${combined}\n`);
  });

  it("keeps the bootstrap chain while the ACME client has written none", () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(served, "utf8"), bootstrap.certChainPem);
  });

  it("installs a renewed chain for the same key, whole, and keeps the key first in a key-and-chain file", () => {
    const chain = renewed();
    fs.writeFileSync(live, chain);
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(served, "utf8"), chain);
    assert.equal(fs.readFileSync(combined, "utf8"), bootstrap.privateKeyPem + chain);
    assert.equal((fs.statSync(combined).mode & 0o777).toString(8), "600", "the key file stays root-only");
    assert.match(r.stdout, /event=installed/);
  });

  it("refuses a chain for another key, once in the log, and serves what it served", () => {
    const before = fs.readFileSync(served, "utf8");
    fs.writeFileSync(live, makeCertificate("example.com", ["mail.example.com"], "ec").certChainPem);
    const first = run();
    assert.match(first.stdout, /event=refused .*does not certify this domain's key/);
    assert.equal(fs.readFileSync(served, "utf8"), before);
    assert.doesNotMatch(run().stdout, /event=refused/, "said once per chain");
  });
});

describe("the keys Pulumi keeps", () => {
  let certs: Certificates;
  before(async () => {
    const platform = platformOf({
      domains: [
        { name: "example.com", tls: { source: "self-signed", publishNextKey: true } },
        { name: "example.org", tls: acmeTls({ keyGeneration: 2 }) },
      ],
    });
    certs = new Certificates("tls", { hostname: platform.hostname, domains: platform.domains });
    await registered();
  });

  it("names generation 1 as before rollovers existed, so switching a domain to ACME keeps its key", () => {
    const keys = ofType("tls:index/privateKey:PrivateKey").map((r) => r.name);
    assert.deepEqual(keys.sort(), ["tls-ca-key", "tls-example.com-key", "tls-example.com-key-2", "tls-example.org-key-2"]);
  });

  it("orders the ACME domain's certificate with the CSR of its current key, and still signs a bootstrap certificate", async () => {
    const orders = await valueOf(certs.acmeOrders);
    assert.deepEqual(
      orders.map((o) => o.domain),
      ["example.org"],
    );
    const csr = ofType("tls:index/certRequest:CertRequest").find((r) => r.name === "tls-example.org-csr");
    assert.match(String(csr?.inputs.privateKeyPem), /private_key_tls-example\.org-key-2/);
    assert.equal(orders[0].csrPem, `stand-in CSR tls-example.org-csr for ${orders[0].hostnames.join(",")}\n`);
    assert.ok(ofType("tls:index/locallySignedCert:LocallySignedCert").some((r) => r.name === "tls-example.org-cert"));
  });

  it("hands out the public keys, the next one while it is announced, without making them secret", async () => {
    const keys = await valueOf(certs.publicKeys);
    assert.ok(keys[0].nextPublicKeyPem && keys[0].nextPublicKeyPem !== keys[0].publicKeyPem);
    assert.equal(keys[1].nextPublicKeyPem, undefined);
    const { isSecret } = await import("@pulumi/pulumi");
    assert.equal(await isSecret(certs.publicKeys), false, "TLSA records are published: they must not print as [secret]");
  });
});
