import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { before, describe, it } from "node:test";
import { installMocks, isSecret, ofType, valueOf } from "../support/mocks";

installMocks();
import { DomainConfig } from "../../config/schema";
import { Certificates } from "../../components/pki/certificates";
import { DkimKeys, dkimPublicKeyValue } from "../../components/pki/dkim";
import { dnsRecords, txtStrings, zoneSnippet } from "../../components/pki/dns-records";
import { certificateHostnames } from "../../components/pki/hostnames";

const selfSigned = (name: string): DomainConfig => ({ name, dkimSelector: "s1", tls: { source: "self-signed" }, dmarcPolicy: "quarantine" });

describe("certificate host names", () => {
  it("covers the primary hostname on the first domain only", () => {
    const front = (d: string) => [`mta-sts.${d}`, `autoconfig.${d}`, `autodiscover.${d}`];
    assert.deepEqual(certificateHostnames(selfSigned("example.com"), 0, "mx.example.com"), ["mx.example.com", "mail.example.com", "example.com", ...front("example.com")]);
    assert.deepEqual(certificateHostnames(selfSigned("example.org"), 1, "mx.example.com"), ["mail.example.org", "example.org", ...front("example.org")]);
  });
  it("does not list the primary hostname twice", () => {
    assert.deepEqual(certificateHostnames(selfSigned("example.com"), 0, "mail.example.com").slice(0, 3), ["mail.example.com", "example.com", "mta-sts.example.com"]);
  });
  it("adds the web apps' names under the domain", () => {
    assert.ok(certificateHostnames(selfSigned("example.com"), 1, "mx.example.com", ["webmail.example.com"]).includes("webmail.example.com"));
  });
});

describe("Certificates", () => {
  let certs: Certificates;
  let pemDir: string;
  before(() => {
    pemDir = fs.mkdtempSync(path.join(os.tmpdir(), "pki-test-"));
    fs.writeFileSync(path.join(pemDir, "c.pem"), "CHAIN-FROM-FILE\n");
    fs.writeFileSync(path.join(pemDir, "k.pem"), "KEY-FROM-FILE\n");
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
    assert.deepEqual(csr?.inputs.dnsNames, ["mail.example.com", "example.com", "mta-sts.example.com", "autoconfig.example.com", "autodiscover.example.com"]);
    const leaf = ofType("tls:index/locallySignedCert:LocallySignedCert")[0];
    assert.deepEqual(leaf.inputs.allowedUses, ["digital_signature", "key_encipherment", "server_auth"]);
    assert.match(first.certChainPem, /MOCK CERTIFICATE tls-example.com-cert[\s\S]*MOCK CERTIFICATE tls-ca/, "chain = leaf then CA");
  });

  it("takes a bought certificate from its PEM files and keeps the key secret", async () => {
    const all = await valueOf(certs.certificates);
    assert.equal(all[1].certChainPem, "CHAIN-FROM-FILE\n");
    assert.equal(all[1].privateKeyPem, "KEY-FROM-FILE\n");
    assert.equal(await isSecret(certs.certificates), true, "the certificate list carries private keys and must be secret");
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
      [["example.com", "s1"], ["example.org", "s1"]],
    );
    const rsa = ofType("tls:index/privateKey:PrivateKey").filter((k) => k.name.startsWith("dkim-"));
    assert.deepEqual(rsa.map((k) => [k.inputs.algorithm, k.inputs.rsaBits]), [["RSA", 2048], ["RSA", 2048]]);
    assert.equal(await isSecret(dkim.keys), true);
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
