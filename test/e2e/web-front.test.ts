// The HTTPS front in a real browser (Debian's Chromium): what a person who opens the MTA-STS
// policy or the Thunderbird autoconfig document sees, the security headers the browser received,
// and plain HTTP ending at the HTTPS page. Screenshots: test-output/screenshots/web-front/.
import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import { after, before, describe, it } from "node:test";
import type { Response } from "playwright-core";
import { DOCUMENT_CSP, REFERRER_POLICY } from "../../components/proxy/render";
import { WebBrowser } from "./support/browser";
import { ca, logs, platform } from "./support/platform";

const DOMAINS = ["example.test", "corp.test"];
const HOSTNAMES = DOMAINS.flatMap((d) => [`mta-sts.${d}`, `autoconfig.${d}`]);

/** The headers every page of the front carries, as the browser received them. */
async function assertSecurityHeaders(response: Response): Promise<void> {
  const h = await response.allHeaders();
  const seen = JSON.stringify(h, null, 2);
  const hsts = /^max-age=(\d+); includeSubDomains$/.exec(h["strict-transport-security"] ?? "");
  assert.ok(
    hsts && Number(hsts[1]) >= 31_536_000,
    `Strict-Transport-Security: expected max-age of a year or more with includeSubDomains; headers seen: ${seen}`,
  );
  assert.equal(h["content-security-policy"], DOCUMENT_CSP, `Content-Security-Policy; headers seen: ${seen}`);
  assert.equal(h["x-content-type-options"], "nosniff", `X-Content-Type-Options; headers seen: ${seen}`);
  assert.equal(h["referrer-policy"], REFERRER_POLICY, `Referrer-Policy; headers seen: ${seen}`);
  assert.equal(h["x-frame-options"], "DENY", `X-Frame-Options; headers seen: ${seen}`);
}

/** The certificate the browser accepted is the stack's, for the name asked. */
async function assertStackCertificate(response: Response, host: string): Promise<void> {
  const details = await response.securityDetails();
  const caName = /CN=([^\n]+)/.exec(new X509Certificate(ca()).subject)?.[1];
  assert.ok(details, `no TLS details for ${response.url()}`);
  assert.equal(details.issuer, caName, `certificate issuer: expected the stack's CA ${caName}, saw ${JSON.stringify(details)}`);
  assert.match(details.protocol ?? "", /^TLS 1\.[23]$/, `TLS protocol: ${JSON.stringify(details)}`);
  assert.ok(details.subjectName, `certificate for ${host} has no subject: ${JSON.stringify(details)}`);
}

describe("HTTPS front in a browser", () => {
  let web: WebBrowser;

  before(async () => {
    const p = platform();
    web = await WebBrowser.launch({ testFile: __filename, hostnames: HOSTNAMES, httpsPort: p.ports.https, ca: ca() });
  });

  after(async () => {
    await web?.close();
  });

  for (const domain of DOMAINS) {
    it(`shows ${domain}'s MTA-STS policy with the security headers`, () =>
      web.withPage(`mta-sts-${domain}`, async (page) => {
        const url = web.url(`mta-sts.${domain}`, "/.well-known/mta-sts.txt");
        const response = await web.goto(page, url);
        await web.screenshot(page, `mta-sts-${domain}`);
        assert.equal(response.status(), 200, `GET ${url}: HTTP ${response.status()}\n${logs("proxy")}`);
        assert.equal(page.url(), url, "the policy must be served without a redirect (RFC 8461 §3.3)");
        const shown = (await page.locator("body").innerText()).trim().split("\n");
        // testing: the stack's own CA signs the certificates, which senders cannot validate.
        const mx = [...new Set(["mail.example.test", `mail.${domain}`])].map((h) => `mx: ${h}`);
        assert.deepEqual(shown, ["version: STSv1", "mode: testing", ...mx, "max_age: 604800"], `policy as shown: ${JSON.stringify(shown)}`);
        assert.match((await response.headerValue("content-type")) ?? "", /^text\/plain/);
        await assertSecurityHeaders(response);
        await assertStackCertificate(response, `mta-sts.${domain}`);
      }));
  }

  it("shows the Thunderbird autoconfig document with the public IMAP and SMTP servers", () =>
    web.withPage("autoconfig", async (page) => {
      const url = web.url("autoconfig.example.test", "/mail/config-v1.1.xml?emailaddress=alice%40example.test");
      const response = await web.goto(page, url);
      await web.screenshot(page, "autoconfig-example.test");
      assert.equal(response.status(), 200, `GET ${url}: HTTP ${response.status()}\n${logs("proxy")}`);
      assert.match((await response.headerValue("content-type")) ?? "", /^application\/xml/);
      // Chromium shows an XML document as its source tree (.pretty-print). The document's CSP
      // (default-src 'none': these documents are data, never pages) blocks the viewer's inline
      // styles, so the tree shows unstyled; its text is what a person reads.
      const tree = (await page.locator(".pretty-print").innerText()).replace(/\s+/g, " ");
      const ports = platform().ports;
      const server = (type: string, port: number, socket: string) =>
        new RegExp(
          `<(incoming|outgoing)Server type="${type}"> <hostname>mail\\.example\\.test</hostname> <port>${port}</port> <socketType>${socket}</socketType> <authentication>password-cleartext</authentication> <username>%EMAILADDRESS%</username>`,
        );
      assert.match(tree, /<domain>example\.test<\/domain>/, `document as shown: ${tree}`);
      assert.match(tree, server("imap", ports.imaps, "SSL"), `IMAP server entry as shown: ${tree}`);
      assert.match(tree, server("smtp", ports.submissions, "SSL"), `SMTP (implicit TLS) server entry as shown: ${tree}`);
      assert.match(tree, server("smtp", ports.submission, "STARTTLS"), `SMTP (STARTTLS) server entry as shown: ${tree}`);
      await assertSecurityHeaders(response);
      await assertStackCertificate(response, "autoconfig.example.test");
    }));

  it("trusts only the certificates it was given, not every certificate", async () => {
    // A second, short-lived browser that reaches corp.test's name but trusts only example.test's
    // certificate (a different key): the page must fail as an untrusted certificate would.
    const narrow = await WebBrowser.launch({
      testFile: __filename,
      hostnames: ["mta-sts.example.test", "mta-sts.corp.test"],
      trust: ["mta-sts.example.test"],
      httpsPort: platform().ports.https,
      ca: ca(),
    });
    try {
      await narrow.withPage("untrusted-certificate", async (page) => {
        const trusted = await narrow.goto(page, narrow.url("mta-sts.example.test", "/.well-known/mta-sts.txt"));
        assert.equal(trusted.status(), 200, "the trusted name does not open");
        const refused = await narrow.goto(page, narrow.url("mta-sts.corp.test", "/.well-known/mta-sts.txt")).then(
          (r) => `HTTP ${r.status()}`,
          (e: Error) => e.message,
        );
        await narrow.screenshot(page, "untrusted-certificate");
        assert.match(refused, /net::ERR_CERT_AUTHORITY_INVALID/, `opening a name whose certificate is not on the list: ${refused}`);
      });
    } finally {
      await narrow.close();
    }
  });

  for (const [host, pathname] of [
    ["mta-sts.example.test", "/.well-known/mta-sts.txt"],
    ["autoconfig.corp.test", "/mail/config-v1.1.xml"],
  ]) {
    it(`takes http://${host} to the same page over HTTPS`, () =>
      web.withPage(`redirect-${host}`, async (page) => {
        const httpPort = platform().ports.http;
        const start = `http://${host}:${httpPort}${pathname}`;
        const target = web.url(host, pathname);
        const response = await web.goto(page, start);
        await web.screenshot(page, `redirect-${host}`);
        assert.equal(page.url(), target, `opening ${start} ended at ${page.url()}`);
        assert.equal(response.status(), 200);
        // One hop: the proxy's own 301, not a chain through anything else.
        const first = response.request().redirectedFrom();
        assert.equal(first?.url(), start, `redirected from ${first?.url()}`);
        assert.equal(first?.redirectedFrom(), null, "more than one redirect");
        const redirect = await first?.response();
        assert.equal(redirect?.status(), 301, `first response: HTTP ${redirect?.status()}`);
        assert.equal(await redirect?.headerValue("location"), target);
        assert.ok((await page.locator("body").innerText()).length > 0, "the HTTPS page shows nothing");
      }));
  }
});
