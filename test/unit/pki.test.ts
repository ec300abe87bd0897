import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { before, describe, it } from "node:test";
import { installMocks, ofType, valueOf } from "../support/mocks";

installMocks();
import { DomainConfig } from "../../config/schema";
import { certificateFor, defaultCertificate, oneCertificatePerDomain, sniNames } from "../../components/pki/certificate-choice";
import { Certificates } from "../../components/pki/certificates";
import { DkimKeys, dkimPublicKeyValue } from "../../components/pki/dkim";
import { dnsRecords, txtStrings, zoneSnippet } from "../../components/pki/dns-records";
import { certificateHostnames, isFqdn, mailClientHostnames, webHostnamesByDomain } from "../../components/pki/hostnames";
import { pemFile } from "../../components/pki/pem";
import { DomainCertificate } from "../../components/types";
import { makeCertificate } from "../support/pem";

const selfSigned = (name: string): DomainConfig => ({
  name,
  dkimSelector: "s1",
  tls: { source: "self-signed", keyGeneration: 1, publishNextKey: false },
  dmarcPolicy: "quarantine",
});

describe("certificate host names", () => {
  it("covers the primary hostname on the first domain only", () => {
    const front = (d: string) => [`mta-sts.${d}`, `autoconfig.${d}`, `autodiscover.${d}`];
    assert.deepEqual(certificateHostnames(selfSigned("example.com"), 0, "mx.example.com"), [
      "mx.example.com",
      "mail.example.com",
      "example.com",
      ...front("example.com"),
    ]);
    assert.deepEqual(certificateHostnames(selfSigned("example.org"), 1, "mx.example.com"), [
      "mail.example.org",
      "example.org",
      ...front("example.org"),
    ]);
  });
  it("does not list the primary hostname twice", () => {
    assert.deepEqual(certificateHostnames(selfSigned("example.com"), 0, "mail.example.com").slice(0, 3), [
      "mail.example.com",
      "example.com",
      "mta-sts.example.com",
    ]);
  });
  it("adds the web apps' names under the domain", () => {
    assert.ok(
      certificateHostnames(selfSigned("example.com"), 1, "mx.example.com", ["webmail.example.com"]).includes("webmail.example.com"),
    );
  });
});

describe("host names for the certificates", () => {
  it("mta-sts., autoconfig. and autodiscover. of each domain", () => {
    assert.deepEqual(mailClientHostnames("acme-labs.io"), ["mta-sts.acme-labs.io", "autoconfig.acme-labs.io", "autodiscover.acme-labs.io"]);
  });
  it("a web app's name goes to the domain it is under (the longest), else to the first domain", () => {
    assert.deepEqual(
      webHostnamesByDomain(
        ["acme-corp.com", "acme-labs.io", "eu.acme-corp.com"],
        ["webmail.acme-corp.com", "Archive.acme-labs.io", "admin.eu.acme-corp.com", "mail-admin.example.net"],
      ),
      {
        "acme-corp.com": ["webmail.acme-corp.com", "mail-admin.example.net"],
        "acme-labs.io": ["archive.acme-labs.io"],
        "eu.acme-corp.com": ["admin.eu.acme-corp.com"],
      },
    );
  });
});

const cert = (domain: string, hostnames: string[] = [`mail.${domain}`]): DomainCertificate => ({
  domain,
  hostnames,
  certChainPem: `CHAIN ${domain}`,
  privateKeyPem: `KEY ${domain}`,
});

describe("certificate choice, one rule for Postfix, Dovecot and nginx", () => {
  const two = [cert("example.com", ["mail.example.com", "example.com"]), cert("example.org", ["mail.example.org", "example.org"])];
  const cases: { name: string; got: () => unknown; want: unknown }[] = [
    {
      name: "default certificate: the one naming the primary hostname",
      got: () => defaultCertificate("mail.example.org", ["example.com", "example.org"], two).domain,
      want: "example.org",
    },
    {
      name: "default certificate: else the first domain's",
      got: () => defaultCertificate("mx.other.net", ["example.com", "example.org"], two).domain,
      want: "example.com",
    },
    {
      name: "SNI: every name once, lower-cased; a name on two certificates goes to the first",
      got: () =>
        sniNames([cert("a.test", ["mail.a.test", "Shared.test"]), cert("b.test", ["shared.test", "b.test"])]).map(
          (e) => `${e.name} ${e.certificate.domain}`,
        ),
      want: ["mail.a.test a.test", "shared.test a.test", "b.test b.test"],
    },
    {
      name: "certificates come back in the stack's domain order",
      got: () => oneCertificatePerDomain(["example.com", "example.org"], [...two].reverse()).map((c) => c.domain),
      want: ["example.com", "example.org"],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(c.got(), c.want));

  const refusals: [string, DomainCertificate[], RegExp][] = [
    ["a domain without certificate", [two[0]], /^certificates: no certificate for example\.org; every domain is served by SNI$/],
    [
      "a certificate for another domain",
      [...two, cert("evil.test")],
      /^certificates: evil\.test is not one of the stack's domains \(example\.com, example\.org\)$/,
    ],
    [
      "two certificates for one domain",
      [...two, cert("example.org", ["www.example.org"])],
      /^certificates: more than one certificate for example\.org; each domain has exactly one$/,
    ],
    ["every problem at once", [cert("evil.test")], /evil\.test is not one of[\s\S]*no certificate for example\.com, example\.org/],
  ];
  for (const [what, certificates, error] of refusals)
    it(`refuses ${what}`, () =>
      assert.throws(
        () => oneCertificatePerDomain(["example.com", "example.org"], certificates),
        (e: Error) => error.test(e.message),
      ));

  it("certificateFor prefers an exact name over a wildcard and does not stretch a wildcard over two labels", () => {
    const a = { ...cert("a.test"), hostnames: ["*.a.test"] };
    const b = { ...cert("b.test"), hostnames: ["x.a.test"] };
    assert.equal(certificateFor("x.a.test", [a, b]).domain, "b.test");
    assert.equal(certificateFor("y.a.test", [a, b]).domain, "a.test");
    assert.throws(() => certificateFor("z.y.a.test", [a, b]), /no certificate covers z\.y\.a\.test/);
  });
});

describe("PEM files and host names", () => {
  it("ends PEM text with exactly one newline of its own", () => {
    assert.equal(pemFile("-----END X-----"), "-----END X-----\n");
    assert.equal(pemFile("-----END X-----\n"), "-----END X-----\n");
  });
  it("takes the stack config's rule for a fully qualified name", () => {
    for (const [name, ok] of [
      ["webmail.example.com", true],
      ["WEBMAIL.example.com", true],
      ["webmail example.com", false],
      ["localhost", false],
      ["-x.example.com", false],
    ] as const) {
      assert.equal(isFqdn(name), ok, name);
    }
  });
});

describe("Certificates", () => {
  let certs: Certificates;
  let pemDir: string;
  let bought: DomainCertificate;
  before(() => {
    pemDir = fs.mkdtempSync(path.join(os.tmpdir(), "pki-test-"));
    bought = makeCertificate("bought.org", ["mail.bought.org"], "ec");
    fs.writeFileSync(path.join(pemDir, "c.pem"), bought.certChainPem);
    fs.writeFileSync(path.join(pemDir, "k.pem"), bought.privateKeyPem);
    certs = new Certificates("tls", {
      hostname: "mail.example.com",
      domains: [
        selfSigned("example.com"),
        { ...selfSigned("bought.org"), tls: { source: "pem", certFile: path.join(pemDir, "c.pem"), keyFile: path.join(pemDir, "k.pem") } },
      ],
    });
  });

  it("issues a CA-signed certificate for a self-signed domain with its SNI names", async () => {
    const [first] = await valueOf(certs.certificates);
    assert.equal(first.domain, "example.com");
    const csr = ofType("tls:index/certRequest:CertRequest").find((r) => r.name === "tls-example.com-csr");
    assert.deepEqual(csr?.inputs.dnsNames, [
      "mail.example.com",
      "example.com",
      "mta-sts.example.com",
      "autoconfig.example.com",
      "autodiscover.example.com",
    ]);
    const leaf = ofType("tls:index/locallySignedCert:LocallySignedCert")[0];
    assert.deepEqual(leaf.inputs.allowedUses, ["digital_signature", "key_encipherment", "server_auth"]);
    assert.match(
      first.certChainPem,
      /stand-in certificate tls-example.com-cert\n[\s\S]*stand-in certificate tls-ca\n/,
      "chain = leaf then CA",
    );
  });

  it("takes a bought certificate from its PEM files and keeps the key secret", async () => {
    const all = await valueOf(certs.certificates);
    assert.equal(all[1].certChainPem, bought.certChainPem);
    assert.equal(all[1].privateKeyPem, bought.privateKeyPem);
    assert.equal(await pulumi.isSecret(certs.certificates), true, "the certificate list carries private keys and must be secret");
  });

  it("makes a CA that can only sign", () => {
    const [ca] = ofType("tls:index/selfSignedCert:SelfSignedCert");
    assert.equal(ca.inputs.isCaCertificate, true);
    assert.deepEqual(ca.inputs.allowedUses, ["cert_signing", "crl_signing"]);
  });
});

describe("DkimKeys", () => {
  it("makes an RSA-2048 key per domain, private half secret", async () => {
    const dkim = new DkimKeys("dkim", { domains: [selfSigned("example.com"), selfSigned("example.org")] });
    const keys = await valueOf(dkim.keys);
    assert.deepEqual(
      keys.map((k) => [k.domain, k.selector]),
      [
        ["example.com", "s1"],
        ["example.org", "s1"],
      ],
    );
    const rsa = ofType("tls:index/privateKey:PrivateKey").filter((k) => k.name.startsWith("dkim-"));
    assert.deepEqual(
      rsa.map((k) => [k.inputs.algorithm, k.inputs.rsaBits]),
      [
        ["RSA", 2048],
        ["RSA", 2048],
      ],
    );
    assert.equal(await pulumi.isSecret(dkim.keys), true);
  });
  it("publishes the key without PEM armour", () => {
    assert.equal(dkimPublicKeyValue("-----BEGIN PUBLIC KEY-----\nAAAA\nBBBB\n-----END PUBLIC KEY-----\n"), "AAAABBBB");
  });
});

describe("DNS records", () => {
  const domains: DomainConfig[] = [{ ...selfSigned("example.com"), dmarcPolicy: "reject", dmarcReportAddress: "dmarc@example.com" }];
  const records = dnsRecords(domains, "mail.example.com", { "example.com": "PUBKEY" });

  it("has MX, SPF, DKIM, DMARC and the HTTPS front's names for each domain", () => {
    assert.deepEqual(
      records.map((r) => [r.type, r.name, r.value]),
      [
        ["MX", "example.com.", "10 mail.example.com."],
        ["TXT", "example.com.", "v=spf1 mx -all"],
        ["TXT", "s1._domainkey.example.com.", "v=DKIM1; k=rsa; p=PUBKEY"],
        ["TXT", "_dmarc.example.com.", "v=DMARC1; p=reject; rua=mailto:dmarc@example.com; fo=1"],
        ["CNAME", "mta-sts.example.com.", "mail.example.com."],
        ["CNAME", "autoconfig.example.com.", "mail.example.com."],
        ["CNAME", "autodiscover.example.com.", "mail.example.com."],
      ],
    );
  });
  it("splits long TXT data into 255-octet strings for the zone file", () => {
    const long = "x".repeat(300);
    assert.equal(txtStrings(long), `"${"x".repeat(255)}" "${"x".repeat(45)}"`);
  });
  it("writes a zone snippet with one line per record", () => {
    const zone = zoneSnippet(records, "mail.example.com");
    assert.match(zone, /^example\.com\.\t3600\tIN\tMX\t10 mail\.example\.com\.$/m);
    assert.match(zone, /^_dmarc\.example\.com\.\t3600\tIN\tTXT\t"v=DMARC1; p=reject;/m);
  });
});
