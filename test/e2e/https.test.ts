// The HTTPS front as a mail client and a sending MTA meet it: the MTA-STS policy and the
// autoconfig document served for each domain over verified TLS, with the security headers, and
// plain HTTP redirected.
import { strict as assert } from "assert";
import * as https from "https";
import * as http from "http";
import { before, describe, it } from "node:test";
import { ca, logs, platform } from "./support/platform";

function get(
  port: number,
  host: string,
  path: string,
  secure = true,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      { host: "127.0.0.1", port, path, method: "GET", headers: { Host: host }, ...(secure ? { servername: host, ca: ca() } : {}) },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("HTTPS front", () => {
  before(() => {
    platform();
  });

  for (const domain of ["example.test", "corp.test"]) {
    it(`serves ${domain}'s MTA-STS policy over TLS that verifies against the stack's CA, with security headers`, async () => {
      const r = await get(platform().ports.https, `mta-sts.${domain}`, "/.well-known/mta-sts.txt").catch((e) =>
        assert.fail(`${e.message}\n${logs("proxy")}`),
      );
      assert.equal(r.status, 200, `expected 200, got ${r.status}: ${r.body}\n${logs("proxy")}`);
      assert.match(String(r.headers["content-type"]), /^text\/plain/);
      assert.match(r.body, /^version: STSv1\r\nmode: testing\r\nmx: mail\.example\.test\r\n/, `policy served: ${JSON.stringify(r.body)}`);
      assert.match(String(r.headers["strict-transport-security"]), /max-age=\d{8,}; includeSubDomains/);
      assert.equal(r.headers["x-content-type-options"], "nosniff");
      assert.ok(r.headers["content-security-policy"], "no Content-Security-Policy");
    });
  }

  it("serves Thunderbird's autoconfig document with the stack's public ports", async () => {
    const r = await get(platform().ports.https, "autoconfig.corp.test", "/mail/config-v1.1.xml");
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /<incomingServer type="imap">[\s\S]*<hostname>mail\.example\.test<\/hostname>[\s\S]*<port>3993<\/port>/);
    assert.match(r.body, /<outgoingServer type="smtp">[\s\S]*<port>3465<\/port>/);
  });

  it("redirects plain HTTP to HTTPS", async () => {
    const r = await get(platform().ports.http, "mta-sts.example.test", "/.well-known/mta-sts.txt", false);
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, `https://mta-sts.example.test:${platform().ports.https}/.well-known/mta-sts.txt`);
  });
});
