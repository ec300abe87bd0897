// nginx itself reads the configuration we render for the dev and prod stacks, inside the project's
// image: `nginx -t` must accept it, and a started nginx, asked over its own loopback with each
// served name (curl --resolve), must redirect port 80, serve every domain's MTA-STS policy and
// client set-up documents with the security headers, proxy a web app, and refuse TLS 1.1.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { certificateHostnames, mailClientHostnames } from "../../components/pki/hostnames";
import { certFile } from "../../components/proxy/constants";
import { mtaStsPolicies } from "../../components/proxy/mta-sts";
import { appCsp, ProxyRenderInput, renderProxyFiles } from "../../components/proxy/render";
import { WebApp } from "../../components/types";
import { buildImage, explain, runWithFiles } from "../support/docker";
import { makeCertificate } from "../support/pem";
import { stackPlatform } from "../support/platforms";

/**
 * Two apps on the first domain: `webmail.` proxied to a stand-in backend on the container's own
 * loopback, `admin.` to a container name that does not resolve here (nginx must start anyway).
 */
function stackInput(stackFile: string): ProxyRenderInput {
  const platform = stackPlatform(stackFile);
  const first = platform.domains[0].name;
  const apps: WebApp[] = [
    { hostname: `webmail.${first}`, upstream: { host: "127.0.0.1", port: 8081 }, csp: "default-src 'self'; img-src 'self' data:" },
    { hostname: `admin.${first}`, upstream: { host: "postfixadmin", port: 80 }, csp: "default-src 'self'; frame-ancestors 'none'" },
  ];
  const certificates = platform.domains.map((d, i) =>
    makeCertificate(
      d.name,
      [
        ...certificateHostnames(d, i, platform.hostname),
        ...mailClientHostnames(d.name),
        ...apps.map((a) => a.hostname).filter((h) => h.endsWith(`.${d.name}`)),
      ],
      "ec",
    ),
  );
  // A stack with an HTTP-01 domain (prod) forwards the challenge path to the ACME client.
  const http01 = platform.domains.some((d) => d.tls.source === "acme" && d.tls.challenge.type === "http-01");
  return { platform, certificates, apps, ...(http01 ? { acmeChallenge: { host: "127.0.0.1", port: 8082 } } : {}) };
}

/** A plain HTTP backend on 127.0.0.1:8081 that sets the headers the proxy must replace and echoes what it was told. */
const TEST_BACKEND = `server {
    listen 127.0.0.1:8081;
    location / {
        add_header X-Frame-Options "ALLOWALL";
        add_header Content-Security-Policy "default-src *";
        add_header Set-Cookie "roundcube_sessid=abc; path=/; HttpOnly";
        return 200 "backend proto=$http_x_forwarded_proto for=$http_x_forwarded_for host=$http_host port=$http_x_forwarded_port\\n";
    }
}
`;

interface Probe {
  label: string;
  /** curl arguments after the common ones. */
  curl: string[];
}

/** One response as curl saw it. */
interface Seen {
  status: string;
  headers: [string, string][];
  body: string;
  raw: string;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function probeScript(healthName: string, probes: Probe[], sni: { label: string; name: string; args: string }[]): string {
  const lines = [
    "set -u",
    // nginx's access log (/dev/stdout) goes to a file, so it cannot interleave with the probes' output.
    `nginx >/tmp/nginx.log 2>&1 || { cat /tmp/nginx.log; echo "NGINX DID NOT START"; exit 1; }`,
    `for i in $(seq 1 50); do /usr/local/bin/healthcheck ${healthName} 2>/dev/null && break; sleep 0.1; done`,
    `/usr/local/bin/healthcheck ${healthName} && echo "HEALTHY" || echo "UNHEALTHY"`,
  ];
  for (const p of probes) {
    lines.push(`echo "=== ${p.label}"`);
    lines.push(`curl -s --max-time 5 -D - -o /tmp/body -w '--- curl-exit-code-follows\\n' ${p.curl.map(q).join(" ")}; echo "CURL $?"`);
    lines.push(`echo "--- body"; cat /tmp/body 2>/dev/null; rm -f /tmp/body; echo; echo "=== end"`);
  }
  for (const s of sni) {
    lines.push(
      `echo "TLS ${s.label} $(echo | timeout 5 openssl s_client -connect 127.0.0.1:443 -servername ${s.name} ${s.args} 2>&1 | grep -cE 'alert protocol version|BEGIN CERTIFICATE' ) $(echo | timeout 5 openssl s_client -connect 127.0.0.1:443 -servername ${s.name} ${s.args} 2>&1 | grep -oE 'alert [a-z0-9 ]+' | head -1)"`,
    );
  }
  lines.push("nginx -s quit >/dev/null 2>&1 || true", `echo "--- nginx log"`, "cat /tmp/nginx.log");
  return lines.join("\n");
}

function parseProbes(out: string): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  const re = /^=== (.+)\n([\s\S]*?)^=== end$/gm;
  for (const m of out.matchAll(re)) {
    const raw = m[2];
    const [head, body] = raw.split(/^--- body\n/m);
    const headerLines = head.split(/\r?\n/).filter((l) => l.trim() !== "");
    const status = headerLines.find((l) => l.startsWith("HTTP/")) ?? "";
    const headers = headerLines
      .filter((l) => /^[A-Za-z0-9-]+: /.test(l))
      .map((l): [string, string] => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]);
    seen.set(m[1], { status, headers, body: (body ?? "").replace(/\n$/, ""), raw });
  }
  return seen;
}

const header = (s: Seen, name: string): string[] => s.headers.filter(([k]) => k === name).map(([, v]) => v);

let image: string;
before(async () => {
  image = await buildImage("proxy");
});

for (const stackFile of ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]) {
  describe(`nginx config of ${stackFile}`, () => {
    const input = stackInput(stackFile);
    const files = renderProxyFiles(input);
    const { platform } = input;
    const domains = platform.domains.map((d) => d.name);
    const first = domains[0];
    const httpsSuffix = platform.ports.https === 443 ? "" : `:${platform.ports.https}`;

    it("nginx -t accepts every rendered file, without warnings", () => {
      const r = runWithFiles(image, files, ["nginx", "-t"]);
      assert.equal(r.code, 0, `nginx rejected the config:\n${explain(r)}`);
      assert.match(r.stderr, /syntax is ok/, explain(r));
      assert.match(r.stderr, /test is successful/, explain(r));
      assert.doesNotMatch(r.stderr, /\[(warn|emerg|alert)\]/, `nginx warned:\n${explain(r)}`);
    });

    it("a started nginx redirects, serves each domain's documents with the security headers, proxies the apps and refuses TLS 1.1", () => {
      const ca = (d: string) => ["--cacert", certFile(d)];
      const https = (name: string, domain: string, p: string, extra: string[] = []) => [
        ...ca(domain),
        "--resolve",
        `${name}:443:127.0.0.1`,
        ...extra,
        `https://${name}${p}`,
      ];
      const probes: Probe[] = [
        { label: "http-unknown", curl: ["--resolve", "unknown.invalid:80:127.0.0.1", "http://unknown.invalid/"] },
        { label: "app", curl: https(`webmail.${first}`, first, "/?_task=login", ["-H", "X-Forwarded-For: 203.0.113.66"]) },
        // Without a network the resolver times out (5 s) where Docker's DNS would answer NXDOMAIN at once.
        { label: "app-down", curl: https(`admin.${first}`, first, "/", ["--max-time", "9"]) },
        { label: "http-app", curl: ["--resolve", `webmail.${first}:80:127.0.0.1`, `http://webmail.${first}/?_task=mail`] },
        { label: "tls12", curl: https(`mta-sts.${first}`, first, "/.well-known/mta-sts.txt", ["--tlsv1.2", "--tls-max", "1.2"]) },
      ];
      for (const d of domains) {
        probes.push(
          {
            label: `http-mta-sts ${d}`,
            curl: ["--resolve", `mta-sts.${d}:80:127.0.0.1`, `http://mta-sts.${d}/.well-known/mta-sts.txt?x=1`],
          },
          { label: `mta-sts ${d}`, curl: https(`mta-sts.${d}`, d, "/.well-known/mta-sts.txt") },
          { label: `mta-sts-other ${d}`, curl: https(`mta-sts.${d}`, d, "/index.html") },
          { label: `autoconfig ${d}`, curl: https(`autoconfig.${d}`, d, `/mail/config-v1.1.xml?emailaddress=alice%40${d}`) },
          { label: `autoconfig-wk ${d}`, curl: https(`autoconfig.${d}`, d, "/.well-known/autoconfig/mail/config-v1.1.xml") },
          {
            label: `autodiscover-post ${d}`,
            curl: https(`autodiscover.${d}`, d, "/autodiscover/autodiscover.xml", [
              "-X",
              "POST",
              "-H",
              "Content-Type: text/xml",
              "--data",
              `<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@${d}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`,
            ]),
          },
          { label: `autodiscover-get ${d}`, curl: https(`autodiscover.${d}`, d, "/Autodiscover/Autodiscover.xml") },
        );
      }
      const sni = [
        { label: "tls1.1", name: `mta-sts.${first}`, args: "-tls1_1 -cipher DEFAULT@SECLEVEL=0" },
        { label: "tls1.2", name: `mta-sts.${first}`, args: "-tls1_2" },
        { label: "unknown-sni", name: "unknown.invalid", args: "" },
      ];
      const r = runWithFiles(image, { ...files, "/etc/nginx/sites/zz-test-backend.conf": TEST_BACKEND }, [
        "bash",
        "-c",
        probeScript(`mta-sts.${first}`, probes, sni),
      ]);
      const why = explain(r);
      if (process.env.PROXY_TEST_VERBOSE) console.log(why);
      assert.match(r.stdout, /^HEALTHY$/m, `healthcheck never passed:\n${why}`);
      const seen = parseProbes(r.stdout);
      const get = (label: string): Seen => {
        const s = seen.get(label);
        assert.ok(s, `no output for probe ${label}:\n${why}`);
        return s;
      };
      const expectHeaders = (label: string, csp: string, frameOptions: string) => {
        const s = get(label);
        const cases: [string, RegExp][] = [
          ["strict-transport-security", /^max-age=(\d+); includeSubDomains$/],
          ["x-content-type-options", /^nosniff$/],
          ["referrer-policy", /^same-origin$/],
          ["permissions-policy", /camera=\(\)/],
          ["x-frame-options", new RegExp(`^${frameOptions}$`)],
        ];
        for (const [name, re] of cases) {
          const v = header(s, name);
          assert.equal(v.length, 1, `${label}: expected one ${name} header, saw ${JSON.stringify(v)}:\n${s.raw}`);
          assert.match(v[0], re, `${label}: ${name}`);
        }
        assert.ok(
          Number(/max-age=(\d+)/.exec(header(s, "strict-transport-security")[0])![1]) >= 31536000,
          `${label}: HSTS max-age below one year`,
        );
        assert.deepEqual(header(s, "content-security-policy"), [csp], `${label}: CSP`);
      };
      const documentCsp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
      const policies = mtaStsPolicies(platform);

      // Port 80: only redirects, to the public HTTPS port, keeping path and query; unknown names get nothing.
      assert.match(get("http-unknown").raw, /CURL 52/, `an unknown name on port 80 must be closed unanswered:\n${get("http-unknown").raw}`);
      const appRedirect = get("http-app");
      assert.match(appRedirect.status, /^HTTP\/1\.1 301/, appRedirect.raw);
      assert.deepEqual(header(appRedirect, "location"), [`https://webmail.${first}${httpsSuffix}/?_task=mail`]);

      for (const d of domains) {
        const redirect = get(`http-mta-sts ${d}`);
        assert.match(redirect.status, /^HTTP\/1\.1 301/, redirect.raw);
        assert.deepEqual(header(redirect, "location"), [`https://mta-sts.${d}${httpsSuffix}/.well-known/mta-sts.txt?x=1`], redirect.raw);

        const policy = get(`mta-sts ${d}`);
        assert.match(policy.status, /^HTTP\/2 200/, `mta-sts ${d} over HTTP/2 with its own certificate:\n${policy.raw}`);
        assert.deepEqual(header(policy, "content-type"), ["text/plain"], policy.raw);
        assert.equal(policy.body, policies[d], `mta-sts ${d}: served policy`);
        assert.match(policy.body, new RegExp(`^mx: ${platform.hostname.replace(/\./g, "\\.")}\r$`, "m"));
        expectHeaders(`mta-sts ${d}`, documentCsp, "DENY");
        assert.match(get(`mta-sts-other ${d}`).status, /^HTTP\/2 404/, get(`mta-sts-other ${d}`).raw);
        expectHeaders(`mta-sts-other ${d}`, documentCsp, "DENY");

        for (const label of [`autoconfig ${d}`, `autoconfig-wk ${d}`]) {
          const s = get(label);
          assert.match(s.status, /^HTTP\/2 200/, s.raw);
          assert.deepEqual(header(s, "content-type"), ["application/xml"], s.raw);
          assert.match(
            s.body,
            new RegExp(
              `<incomingServer type="imap">\\s*<hostname>${platform.hostname.replace(/\./g, "\\.")}</hostname>\\s*<port>${platform.ports.imaps}</port>\\s*<socketType>SSL</socketType>`,
            ),
            s.body,
          );
          assert.match(s.body, new RegExp(`<port>${platform.ports.submissions}</port>\\s*<socketType>SSL</socketType>`), s.body);
          assert.match(s.body, new RegExp(`<port>${platform.ports.submission}</port>\\s*<socketType>STARTTLS</socketType>`), s.body);
          assert.match(s.body, /<username>%EMAILADDRESS%<\/username>/);
          assert.match(s.body, new RegExp(`<domain>${d.replace(/\./g, "\\.")}</domain>`));
          expectHeaders(label, documentCsp, "DENY");
        }
        for (const label of [`autodiscover-post ${d}`, `autodiscover-get ${d}`]) {
          const s = get(label);
          assert.match(s.status, /^HTTP\/2 200/, s.raw);
          assert.deepEqual(header(s, "content-type"), ["application/xml"], s.raw);
          assert.match(
            s.body,
            new RegExp(
              `<Type>IMAP</Type>\\s*<Server>${platform.hostname.replace(/\./g, "\\.")}</Server>\\s*<Port>${platform.ports.imaps}</Port>`,
            ),
            s.body,
          );
          assert.match(
            s.body,
            new RegExp(
              `<Type>SMTP</Type>\\s*<Server>${platform.hostname.replace(/\./g, "\\.")}</Server>\\s*<Port>${platform.ports.submissions}</Port>`,
            ),
            s.body,
          );
        }
      }

      // The app: proxied with the proxy's headers replacing the backend's, a client's forged
      // X-Forwarded-For replaced, the session cookie made Secure.
      const app = get("app");
      assert.match(app.status, /^HTTP\/2 200/, app.raw);
      assert.equal(app.body.trimEnd(), `backend proto=https for=127.0.0.1 host=webmail.${first} port=${platform.ports.https}`);
      expectHeaders("app", appCsp(input.apps[0]), "SAMEORIGIN");
      assert.match(header(app, "set-cookie").join("|"), /roundcube_sessid=abc; path=\/; HttpOnly; secure/i, app.raw);
      const down = get("app-down");
      assert.match(down.status, /^HTTP\/2 502/, `an app whose container is missing answers 502, nginx keeps running:\n${down.raw}`);
      expectHeaders("app-down", "default-src 'self'; frame-ancestors 'none'", "SAMEORIGIN");

      assert.match(get("tls12").status, /^HTTP\/2 200/, get("tls12").raw);
      assert.match(r.stdout, /^TLS tls1\.1 1 alert protocol version$/m, `TLS 1.1 must be refused with a protocol version alert:\n${why}`);
      assert.match(r.stdout, /^TLS tls1\.2 1 *$/m, `TLS 1.2 must work:\n${why}`);
      assert.match(
        r.stdout,
        /^TLS unknown-sni 0 alert (unrecognized name|number 112)$/m,
        `an unknown SNI name gets no certificate:\n${why}`,
      );
    });
  });
}
