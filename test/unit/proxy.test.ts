// ReverseProxy: MTA-STS/TLS-RPT texts, the pure renderer (tables of cases), and the component's
// container under mocks.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { stackPlatform } from "../support/platforms";
import { installMocks, onlyContainer, RecordedResource, valueOf } from "../support/mocks";
import { uploadModes } from "../support/registrations";
import { fakePem, PRIVATE_KEY } from "../support/pem";

installMocks();
import { DomainCertificate, WebApp } from "../../components/types";
import { mailClientHostnames } from "../../components/pki/hostnames";
import { mtaStsDnsRecords, mtaStsPolicies, mtaStsPolicy, mtaStsPolicyId, tlsRptDnsRecords } from "../../components/proxy/mta-sts";
import { appCsp, proxyFileModes, ProxyRenderInput, renderProxyFiles } from "../../components/proxy/render";
import { ReverseProxy } from "../../components/proxy/reverse-proxy";
import { literal } from "../support/regex";

const CRLF = "\r\n";

const cert = (domain: string, extra: string[] = []): DomainCertificate => ({
  domain,
  hostnames: [`mail.${domain}`, ...mailClientHostnames(domain), ...extra],
  certChainPem: `-----BEGIN CERTIFICATE-----\nCERT-OF-${domain}\n-----END CERTIFICATE-----\n`,
  privateKeyPem: fakePem(PRIVATE_KEY, `KEY-OF-${domain}`),
});

const webmail = (hostname: string): WebApp => ({ hostname, upstream: { host: "webmail", port: 80 }, csp: "default-src 'self'" });

function devInput(over: Partial<ProxyRenderInput> = {}): ProxyRenderInput {
  return {
    platform: stackPlatform("Pulumi.dev.yaml"),
    certificates: [cert("example.test", ["webmail.example.test"])],
    apps: [webmail("webmail.example.test")],
    ...over,
  };
}

function prodInput(): ProxyRenderInput {
  return {
    platform: stackPlatform("Pulumi.prod.yaml"),
    certificates: [
      cert("acme-corp.com", ["webmail.acme-corp.com"]),
      { ...cert("acme-labs.io"), hostnames: [...cert("acme-labs.io").hostnames, "*.apps.acme-labs.io"] },
    ],
    apps: [
      webmail("webmail.acme-corp.com"),
      {
        hostname: "archive.apps.acme-labs.io",
        upstream: { host: "piler", port: 8080 },
        csp: "default-src 'self'; frame-ancestors 'none';",
      },
    ],
    // acme-labs.io orders its certificate with HTTP-01.
    acmeChallenge: { host: "acme", port: 80 },
  };
}

/** The `server { ... }` blocks of an nginx file (top-level braces only). */
function serverBlocks(text: string): string[] {
  const blocks: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^server \{$/.test(lines[i])) continue;
    const end = lines.indexOf("}", i);
    blocks.push(lines.slice(i, end + 1).join("\n"));
    i = end;
  }
  return blocks;
}

describe("mtaStsPolicy (RFC 8461 §3.2)", () => {
  const cases: [string, string[], "enforce" | "testing", number, string][] = [
    [
      "one MX, enforce",
      ["mail.example.com"],
      "enforce",
      604800,
      `version: STSv1${CRLF}mode: enforce${CRLF}mx: mail.example.com${CRLF}max_age: 604800${CRLF}`,
    ],
    [
      "two MX in order, testing",
      ["mail.acme-corp.com", "mail.acme-labs.io"],
      "testing",
      86400,
      `version: STSv1${CRLF}mode: testing${CRLF}mx: mail.acme-corp.com${CRLF}mx: mail.acme-labs.io${CRLF}max_age: 86400${CRLF}`,
    ],
    [
      "duplicates and case folded",
      ["Mail.Example.com", "mail.example.com"],
      "enforce",
      604800,
      `version: STSv1${CRLF}mode: enforce${CRLF}mx: mail.example.com${CRLF}max_age: 604800${CRLF}`,
    ],
  ];
  for (const [what, mx, mode, maxAge, expected] of cases) {
    it(what, () => assert.equal(mtaStsPolicy(mx, mode, maxAge), expected));
  }
  it("refuses no MX, a negative max_age and one above a year", () => {
    assert.throws(() => mtaStsPolicy([], "enforce", 604800), /at least one MX/);
    assert.throws(() => mtaStsPolicy(["mx.example.com"], "enforce", -1), /max_age/);
    assert.throws(() => mtaStsPolicy(["mx.example.com"], "enforce", 31557601), /max_age/);
  });
});

describe("mtaStsPolicies of the stacks: mx = the platform's hostname and mail.<domain>, one week; enforce only with a publicly valid certificate", () => {
  const cases: [string, string, string[], "enforce" | "testing"][] = [
    // The dev stack's certificates come from its own CA: senders could not validate them.
    ["Pulumi.dev.yaml", "example.test", ["mail.example.test"], "testing"],
    ["Pulumi.prod.yaml", "acme-corp.com", ["mail.acme-corp.com"], "enforce"],
    ["Pulumi.prod.yaml", "acme-labs.io", ["mail.acme-corp.com", "mail.acme-labs.io"], "enforce"],
  ];
  for (const [stack, domain, mx, mode] of cases) {
    it(`${stack} ${domain}: mx ${mx.join(", ")}, ${mode}`, () => {
      assert.equal(mtaStsPolicies(stackPlatform(stack))[domain], mtaStsPolicy(mx, mode, 604800));
    });
  }
});

describe("MTA-STS and TLS-RPT DNS records", () => {
  const prod = stackPlatform("Pulumi.prod.yaml");
  const policies = mtaStsPolicies(prod);

  it("_mta-sts.<domain> TXT v=STSv1 with the policy's hash as id (1-32 alphanumerics)", () => {
    const records = mtaStsDnsRecords(policies);
    assert.deepEqual(
      records.map((r) => [r.domain, r.name, r.type]),
      [
        ["acme-corp.com", "_mta-sts.acme-corp.com.", "TXT"],
        ["acme-labs.io", "_mta-sts.acme-labs.io.", "TXT"],
      ],
    );
    for (const r of records) {
      assert.match(r.value, /^v=STSv1; id=[A-Za-z0-9]{1,32}$/);
      assert.equal(r.value, `v=STSv1; id=${mtaStsPolicyId(policies[r.domain])}`);
    }
  });

  it("the id changes exactly when the policy does", () => {
    const a = mtaStsPolicy(["mail.example.com"], "enforce", 604800);
    assert.equal(mtaStsPolicyId(a), mtaStsPolicyId(`${a}`));
    assert.notEqual(mtaStsPolicyId(a), mtaStsPolicyId(mtaStsPolicy(["mail.example.com"], "testing", 604800)));
  });

  it("_smtp._tls.<domain> TXT v=TLSRPTv1 to the DMARC report address, else postmaster@<domain>", () => {
    assert.deepEqual(
      tlsRptDnsRecords(prod.domains).map((r) => [r.name, r.type, r.value]),
      [
        ["_smtp._tls.acme-corp.com.", "TXT", "v=TLSRPTv1; rua=mailto:dmarc-reports@acme-corp.com"],
        ["_smtp._tls.acme-labs.io.", "TXT", "v=TLSRPTv1; rua=mailto:dmarc-reports@acme-corp.com"],
      ],
    );
    assert.deepEqual(
      tlsRptDnsRecords(stackPlatform("Pulumi.dev.yaml").domains).map((r) => r.value),
      ["v=TLSRPTv1; rua=mailto:postmaster@example.test"],
    );
  });
});

describe("renderProxyFiles", () => {
  const dev = renderProxyFiles(devInput());
  const prod = renderProxyFiles(prodInput());

  it("renders nginx.conf, the header snippet, one site per domain and per app, the documents and the TLS files", () => {
    assert.deepEqual(Object.keys(prod).sort(), [
      "/etc/mail-platform/tls-watch.conf",
      "/etc/nginx/nginx.conf",
      "/etc/nginx/private/acme-corp.com.key",
      "/etc/nginx/private/acme-labs.io.key",
      "/etc/nginx/sites/00-default.conf",
      "/etc/nginx/sites/mail-domain.acme-corp.com.conf",
      "/etc/nginx/sites/mail-domain.acme-labs.io.conf",
      "/etc/nginx/sites/web-app.archive.apps.acme-labs.io.conf",
      "/etc/nginx/sites/web-app.webmail.acme-corp.com.conf",
      "/etc/nginx/snippets/acme-challenge.conf",
      "/etc/nginx/snippets/security-headers.conf",
      "/etc/nginx/tls/acme-corp.com.crt",
      "/etc/nginx/tls/acme-labs.io.crt",
      "/var/www/mail-platform/acme-corp.com/autodiscover.xml",
      "/var/www/mail-platform/acme-corp.com/config-v1.1.xml",
      "/var/www/mail-platform/acme-corp.com/mta-sts.txt",
      "/var/www/mail-platform/acme-labs.io/autodiscover.xml",
      "/var/www/mail-platform/acme-labs.io/config-v1.1.xml",
      "/var/www/mail-platform/acme-labs.io/mta-sts.txt",
    ]);
  });

  it("puts an app with basicAuth behind nginx's password file, and the others not", () => {
    const monitor: WebApp = {
      hostname: "monitor.example.test",
      upstream: { host: "monitoring", port: 9090 },
      csp: "default-src 'self'",
      basicAuth: { realm: "mail-platform monitoring", user: "monitoring", passwordHash: "{SSHA}c2FsdGVkaGFzaA==" },
    };
    const files = renderProxyFiles(
      devInput({
        certificates: [cert("example.test", ["webmail.example.test", "monitor.example.test"])],
        apps: [webmail("webmail.example.test"), monitor],
      }),
    );
    const site = files["/etc/nginx/sites/web-app.monitor.example.test.conf"];
    assert.match(site, /^\s+auth_basic "mail-platform monitoring";$/m);
    assert.match(site, /^\s+auth_basic_user_file \/etc\/nginx\/users\/monitor\.example\.test\.htpasswd;$/m);
    assert.equal(files["/etc/nginx/users/monitor.example.test.htpasswd"], "monitoring:{SSHA}c2FsdGVkaGFzaA==\n");
    assert.doesNotMatch(files["/etc/nginx/sites/web-app.webmail.example.test.conf"], /auth_basic/);
    assert.throws(
      () =>
        renderProxyFiles(
          devInput({
            certificates: [cert("example.test", ["monitor.example.test"])],
            apps: [{ ...monitor, basicAuth: { ...monitor.basicAuth!, realm: 'a"b' } }],
          }),
        ),
      /basic auth realm/,
    );
  });

  it("renders with no apps: only the mail domains' names are served", () => {
    const files = renderProxyFiles(devInput({ apps: [] }));
    assert.ok(!Object.keys(files).some((f) => f.includes("web-app.")), Object.keys(files).join(", "));
    assert.match(
      files["/etc/nginx/sites/00-default.conf"],
      /server_name mta-sts\.example\.test autoconfig\.example\.test autodiscover\.example\.test;/,
    );
  });

  const nginxSettings: [string, RegExp][] = [
    ["TLS 1.2 and 1.3 only", /^\s+ssl_protocols TLSv1\.2 TLSv1\.3;$/m],
    [
      "AEAD ECDHE ciphers only",
      /^\s+ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;$/m,
    ],
    ["HTTP/2", /^\s+http2 on;$/m],
    ["Docker's DNS, looked up per request", /^\s+resolver 127\.0\.0\.11 valid=10s ipv6=off;$/m],
    ["access log to stdout", /^\s+access_log \/dev\/stdout platform;$/m],
    ["error log to stderr", /^error_log stderr warn;$/m],
    ["no version banner", /^\s+server_tokens off;$/m],
    ["every site included", /^\s+include \/etc\/nginx\/sites\/\*\.conf;$/m],
  ];
  for (const [what, re] of nginxSettings) it(`nginx.conf: ${what}`, () => assert.match(dev["/etc/nginx/nginx.conf"], re));

  const headerSettings: [string, RegExp][] = [
    ["HSTS for two years with subdomains", /^add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;$/m],
    ["nosniff", /^add_header X-Content-Type-Options "nosniff" always;$/m],
    ["Referrer-Policy", /^add_header Referrer-Policy "same-origin" always;$/m],
    ["Permissions-Policy", /^add_header Permissions-Policy "accelerometer=\(\), camera=\(\), geolocation=\(\), [^"]*" always;$/m],
  ];
  for (const [what, re] of headerSettings)
    it(`security headers: ${what}`, () => assert.match(dev["/etc/nginx/snippets/security-headers.conf"], re));

  it("every HTTPS server block of a site carries the security headers, its CSP and X-Frame-Options", () => {
    const expected: [string, number, string, string][] = [
      [
        "/etc/nginx/sites/mail-domain.acme-corp.com.conf",
        0,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        "DENY",
      ],
      [
        "/etc/nginx/sites/mail-domain.acme-corp.com.conf",
        1,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        "DENY",
      ],
      [
        "/etc/nginx/sites/mail-domain.acme-labs.io.conf",
        0,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        "DENY",
      ],
      [
        "/etc/nginx/sites/mail-domain.acme-labs.io.conf",
        1,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        "DENY",
      ],
      ["/etc/nginx/sites/web-app.webmail.acme-corp.com.conf", 0, "default-src 'self'; frame-ancestors 'self'", "SAMEORIGIN"],
      ["/etc/nginx/sites/web-app.archive.apps.acme-labs.io.conf", 0, "default-src 'self'; frame-ancestors 'none'", "SAMEORIGIN"],
    ];
    for (const [file, index, csp, xfo] of expected) {
      const block = serverBlocks(prod[file])[index];
      assert.ok(block, `${file}: no server block #${index}`);
      assert.match(block, /^ {4}listen 443 ssl;$/m, `${file}#${index}`);
      assert.match(block, /^ {4}include \/etc\/nginx\/snippets\/security-headers\.conf;$/m, `${file}#${index}: headers snippet`);
      assert.match(block, new RegExp(`^    add_header Content-Security-Policy "${literal(csp)}" always;$`, "m"), `${file}#${index}: CSP`);
      assert.match(block, new RegExp(`^    add_header X-Frame-Options "${xfo}" always;$`, "m"), `${file}#${index}: X-Frame-Options`);
    }
  });

  it("no location sets its own header (which would drop the server's security headers)", () => {
    for (const [file, text] of Object.entries(prod).filter(([f]) => f.startsWith("/etc/nginx/sites/"))) {
      assert.doesNotMatch(text, /^ {8,}add_header/m, `${file} has add_header inside a location`);
    }
  });

  const redirects: [string, () => string, string][] = [
    ["dev (public HTTPS port 2443)", () => dev["/etc/nginx/sites/00-default.conf"], "return 301 https://$host:2443$request_uri;"],
    ["prod (443)", () => prod["/etc/nginx/sites/00-default.conf"], "return 301 https://$host$request_uri;"],
  ];
  for (const [what, text, line] of redirects) {
    it(`port 80 redirects the served names to the public HTTPS port: ${what}`, () => {
      const blocks = serverBlocks(text());
      assert.match(blocks[0], /^ {4}listen 80;$/m);
      assert.match(blocks[0], new RegExp(`^ {4}location / \\{\n {8}${literal(line)}$`, "m"));
      // Nothing but the ACME challenge path, which prod's acme-labs.io needs and dev has no use for.
      assert.doesNotMatch(
        text().replaceAll("include /etc/nginx/snippets/acme-challenge.conf;", ""),
        /proxy_pass|include|root |alias /,
        "port 80 must serve nothing",
      );
    });
  }

  it("port 80 knows every served name; other names are closed (444); unknown SNI names get no certificate", () => {
    const text = prod["/etc/nginx/sites/00-default.conf"];
    assert.match(
      text,
      /server_name mta-sts\.acme-corp\.com autoconfig\.acme-corp\.com autodiscover\.acme-corp\.com mta-sts\.acme-labs\.io autoconfig\.acme-labs\.io autodiscover\.acme-labs\.io webmail\.acme-corp\.com archive\.apps\.acme-labs\.io;/,
    );
    assert.match(
      text,
      /listen 80 default_server;\n {4}server_name _;\n {4}include \/etc\/nginx\/snippets\/acme-challenge\.conf;\n {4}location \/ \{\n {8}return 444;/,
    );
    assert.match(text, /listen 443 ssl default_server;\n {4}ssl_reject_handshake on;/);
  });

  it("each name is served with its own domain's certificate (SNI)", () => {
    const cases: [string, number, string, string][] = [
      ["/etc/nginx/sites/mail-domain.acme-corp.com.conf", 0, "mta-sts.acme-corp.com", "acme-corp.com"],
      ["/etc/nginx/sites/mail-domain.acme-corp.com.conf", 1, "autoconfig.acme-corp.com autodiscover.acme-corp.com", "acme-corp.com"],
      ["/etc/nginx/sites/mail-domain.acme-labs.io.conf", 0, "mta-sts.acme-labs.io", "acme-labs.io"],
      ["/etc/nginx/sites/mail-domain.acme-labs.io.conf", 1, "autoconfig.acme-labs.io autodiscover.acme-labs.io", "acme-labs.io"],
      ["/etc/nginx/sites/web-app.webmail.acme-corp.com.conf", 0, "webmail.acme-corp.com", "acme-corp.com"],
      // Covered by the wildcard *.apps.acme-labs.io.
      ["/etc/nginx/sites/web-app.archive.apps.acme-labs.io.conf", 0, "archive.apps.acme-labs.io", "acme-labs.io"],
    ];
    for (const [file, index, names, domain] of cases) {
      const block = serverBlocks(prod[file])[index];
      assert.match(block, new RegExp(`^    server_name ${literal(names)};$`, "m"), `${file}#${index}`);
      assert.match(
        block,
        new RegExp(`^    ssl_certificate /etc/nginx/tls/${literal(domain)}\\.crt;$`, "m"),
        `${names}: certificate of ${domain}`,
      );
      assert.match(
        block,
        new RegExp(`^    ssl_certificate_key /etc/nginx/private/${literal(domain)}\\.key;$`, "m"),
        `${names}: key of ${domain}`,
      );
    }
    assert.match(prod["/etc/nginx/tls/acme-labs.io.crt"], /CERT-OF-acme-labs\.io/);
    assert.match(prod["/etc/nginx/private/acme-labs.io.key"], /KEY-OF-acme-labs\.io/);
  });

  it("serves each domain's policy as text/plain at /.well-known/mta-sts.txt, byte for byte", () => {
    const policies = mtaStsPolicies(prodInput().platform);
    for (const d of ["acme-corp.com", "acme-labs.io"]) {
      assert.equal(prod[`/var/www/mail-platform/${d}/mta-sts.txt`], policies[d]);
      assert.match(
        prod[`/etc/nginx/sites/mail-domain.${d}.conf`],
        new RegExp(
          `location = /\\.well-known/mta-sts\\.txt \\{\\n\\s+alias /var/www/mail-platform/${literal(d)}/mta-sts\\.txt;\\n[^}]*types \\{ \\}\\n\\s+default_type text/plain;`,
        ),
      );
    }
  });

  it("serves autoconfig at both paths and autodiscover for POST and GET in either case", () => {
    const site = prod["/etc/nginx/sites/mail-domain.acme-corp.com.conf"];
    assert.match(site, /location = \/mail\/config-v1\.1\.xml \{\n\s+alias \/var\/www\/mail-platform\/acme-corp\.com\/config-v1\.1\.xml;/);
    assert.match(
      site,
      /location = \/\.well-known\/autoconfig\/mail\/config-v1\.1\.xml \{\n\s+alias \/var\/www\/mail-platform\/acme-corp\.com\/config-v1\.1\.xml;/,
    );
    assert.match(
      site,
      /location ~\* \^\/autodiscover\/autodiscover\\\.xml\$ \{\n\s+root \/var\/www\/mail-platform\/acme-corp\.com;\n\s+try_files \/autodiscover\.xml =404;\n\s+error_page 405 =200 \/autodiscover\/autodiscover\.xml;/,
    );
  });

  // The documents point at the platform's hostname and the stack's PUBLIC ports.
  const documents: [string, () => string, RegExp][] = [
    [
      "dev autoconfig: IMAP on 2993 SSL",
      () => dev["/var/www/mail-platform/example.test/config-v1.1.xml"],
      /<incomingServer type="imap">\n\s+<hostname>mail\.example\.test<\/hostname>\n\s+<port>2993<\/port>\n\s+<socketType>SSL<\/socketType>\n\s+<authentication>password-cleartext<\/authentication>\n\s+<username>%EMAILADDRESS%<\/username>/,
    ],
    [
      "dev autoconfig: SMTP on 2465 SSL",
      () => dev["/var/www/mail-platform/example.test/config-v1.1.xml"],
      /<outgoingServer type="smtp">\n\s+<hostname>mail\.example\.test<\/hostname>\n\s+<port>2465<\/port>\n\s+<socketType>SSL<\/socketType>[\s\S]*?<username>%EMAILADDRESS%<\/username>/,
    ],
    [
      "dev autoconfig: SMTP on 2587 STARTTLS",
      () => dev["/var/www/mail-platform/example.test/config-v1.1.xml"],
      /<outgoingServer type="smtp">\n\s+<hostname>mail\.example\.test<\/hostname>\n\s+<port>2587<\/port>\n\s+<socketType>STARTTLS<\/socketType>[\s\S]*?<username>%EMAILADDRESS%<\/username>/,
    ],
    [
      "dev autoconfig: the domain",
      () => dev["/var/www/mail-platform/example.test/config-v1.1.xml"],
      /<emailProvider id="example\.test">\n\s+<domain>example\.test<\/domain>/,
    ],
    [
      "prod autoconfig of acme-labs.io: the primary hostname, 993",
      () => prod["/var/www/mail-platform/acme-labs.io/config-v1.1.xml"],
      /<domain>acme-labs\.io<\/domain>[\s\S]*<hostname>mail\.acme-corp\.com<\/hostname>\n\s+<port>993<\/port>/,
    ],
    [
      "prod autoconfig: 465 SSL and 587 STARTTLS",
      () => prod["/var/www/mail-platform/acme-labs.io/config-v1.1.xml"],
      /<port>465<\/port>\n\s+<socketType>SSL<\/socketType>[\s\S]*<port>587<\/port>\n\s+<socketType>STARTTLS<\/socketType>/,
    ],
    [
      "dev autodiscover: IMAP 2993 SSL",
      () => dev["/var/www/mail-platform/example.test/autodiscover.xml"],
      /<Type>IMAP<\/Type>\n\s+<Server>mail\.example\.test<\/Server>\n\s+<Port>2993<\/Port>[\s\S]*?<SSL>on<\/SSL>/,
    ],
    [
      "dev autodiscover: SMTP 2465 SSL",
      () => dev["/var/www/mail-platform/example.test/autodiscover.xml"],
      /<Type>SMTP<\/Type>\n\s+<Server>mail\.example\.test<\/Server>\n\s+<Port>2465<\/Port>[\s\S]*?<SSL>on<\/SSL>/,
    ],
    [
      "autodiscover: POX response schema",
      () => dev["/var/www/mail-platform/example.test/autodiscover.xml"],
      /<Response xmlns="http:\/\/schemas\.microsoft\.com\/exchange\/autodiscover\/outlook\/responseschema\/2006a">/,
    ],
  ];
  for (const [what, text, re] of documents) it(what, () => assert.match(text(), re));

  it("proxies an app to its upstream through a per-request variable, with forwarded headers replaced", () => {
    const site = prod["/etc/nginx/sites/web-app.archive.apps.acme-labs.io.conf"];
    const expected: RegExp[] = [
      /set \$upstream_app http:\/\/piler:8080;\n\s+proxy_pass \$upstream_app;/,
      /proxy_set_header X-Forwarded-For \$remote_addr;/,
      /proxy_set_header X-Forwarded-Proto https;/,
      /proxy_set_header X-Forwarded-Port 443;/,
      /proxy_hide_header Content-Security-Policy;/,
      /proxy_cookie_flags ~ secure;/,
      /client_max_body_size 40m;/,
    ];
    for (const re of expected) assert.match(site, re);
    assert.match(dev["/etc/nginx/sites/web-app.webmail.example.test.conf"], /proxy_set_header X-Forwarded-Port 2443;/);
  });

  it("never leaves a placeholder unrendered", () => {
    for (const [file, text] of Object.entries({ ...dev, ...prod })) assert.doesNotMatch(text, /\{\{|\}\}/, file);
  });

  it("marks every domain's key 0600", () => {
    assert.deepEqual(proxyFileModes(prodInput().platform), {
      "/etc/nginx/private/acme-corp.com.key": "0600",
      "/etc/nginx/private/acme-labs.io.key": "0600",
    });
  });
});

describe("appCsp", () => {
  const cases: [string, string][] = [
    ["default-src 'self'", "default-src 'self'; frame-ancestors 'self'"],
    ["default-src 'self';", "default-src 'self'; frame-ancestors 'self'"],
    ["default-src 'self'; frame-ancestors 'none'", "default-src 'self'; frame-ancestors 'none'"],
  ];
  for (const [csp, expected] of cases)
    it(`${JSON.stringify(csp)} -> ${JSON.stringify(expected)}`, () =>
      assert.equal(appCsp({ ...webmail("w.example.test"), csp }), expected));
});

describe("renderer refuses what nginx or a client would get wrong", () => {
  const cases: [string, Partial<ProxyRenderInput>, RegExp][] = [
    ["no certificate for a domain", { certificates: [] }, /no certificate for example\.test/],
    [
      "a certificate for a domain the stack does not have",
      { certificates: [cert("example.test", ["webmail.example.test"]), cert("other.test")] },
      /other\.test is not one of the stack's domains/,
    ],
    [
      "two certificates for one domain",
      { certificates: [cert("example.test", ["webmail.example.test"]), cert("example.test")] },
      /more than one certificate for example\.test/,
    ],
    [
      "a certificate without the mta-sts name",
      { certificates: [{ ...cert("example.test"), hostnames: ["mail.example.test"] }], apps: [] },
      /no certificate covers mta-sts\.example\.test; add it to the names of its domain's certificate \(components\/pki\/hostnames\.ts\)/,
    ],
    ["an app name no certificate covers", { apps: [webmail("webmail.elsewhere.test")] }, /no certificate covers webmail\.elsewhere\.test/],
    [
      "two apps on one name",
      { apps: [webmail("webmail.example.test"), webmail("WEBMAIL.example.test")] },
      /webmail\.example\.test is served twice/,
    ],
    ["an app on the mta-sts name", { apps: [webmail("mta-sts.example.test")] }, /mta-sts\.example\.test is served twice/],
    ["an app name that is not a host name", { apps: [webmail("webmail example.test")] }, /is not a fully qualified domain name/],
    ["a CSP with a double quote", { apps: [{ ...webmail("webmail.example.test"), csp: `default-src "self"` }] }, /double quote/],
    ["a CSP with a variable", { apps: [{ ...webmail("webmail.example.test"), csp: "default-src $host" }] }, /'\$'/],
    [
      "an upstream port out of range",
      { apps: [{ ...webmail("webmail.example.test"), upstream: { host: "webmail", port: 0 } }] },
      /upstream of webmail\.example\.test/,
    ],
  ];
  for (const [what, over, error] of cases) it(what, () => assert.throws(() => renderProxyFiles(devInput(over)), error));
});

describe("ReverseProxy under mocks", () => {
  let proxy: ReverseProxy;
  let container: RecordedResource;
  const input = devInput();
  const platform = input.platform;
  before(async () => {
    proxy = new ReverseProxy("proxy", {
      platform,
      image: "sha256:proxy-image",
      networks: { internal: { name: "mp-dev-internal" }, edge: { name: "mp-dev-edge" } },
      // Plain certificates on purpose: the component must make the files secret by itself.
      certificates: input.certificates,
      apps: pulumi.output(input.apps),
    });
    container = await onlyContainer();
  });

  it("names the container after the instance and runs the proxy image", () => {
    assert.equal(container.name, "proxy-container");
    assert.equal(container.inputs.name, "mp-dev-proxy");
    assert.equal(container.inputs.image, "sha256:proxy-image");
  });

  it("publishes ports.http -> 80 and ports.https -> 443 on the bind address, and nothing else", () => {
    const seen = (container.inputs.ports as { ip: string; external: number; internal: number }[])
      .map((p) => `${p.ip}:${p.external}->${p.internal}`)
      .sort();
    assert.deepEqual(seen, ["127.0.0.1:2080->80", "127.0.0.1:2443->443"]);
  });

  it("answers to `proxy` on the internal network, and joins the edge network", () => {
    assert.deepEqual(container.inputs.networksAdvanced, [
      { name: "mp-dev-internal", aliases: ["proxy"] },
      { name: "mp-dev-edge", aliases: [] },
    ]);
  });

  it("keeps the files secret (private keys), in the output and in the container's uploads", async () => {
    assert.equal(await pulumi.isSecret(proxy.files), true, "proxy.files must be secret");
    assert.ok(container.secretInputs.includes("uploads"), `uploads must be secret; secret inputs: ${container.secretInputs.join(", ")}`);
    const files = await valueOf(proxy.files);
    assert.match(files["/etc/nginx/private/example.test.key"], /KEY-OF-example\.test/);
  });

  it("uploads the rendered files, keys with mode 0600", () => {
    const uploads = uploadModes(container);
    const cases: [string, string][] = [
      ["/etc/nginx/private/example.test.key", "0600"],
      ["/etc/nginx/tls/example.test.crt", "0644"],
      ["/etc/nginx/nginx.conf", "0644"],
      ["/etc/nginx/sites/web-app.webmail.example.test.conf", "0644"],
      ["/var/www/mail-platform/example.test/mta-sts.txt", "0644"],
    ];
    for (const [file, mode] of cases) assert.equal(uploads[file], mode, `${file}: expected ${mode}, seen ${uploads[file]}`);
  });

  it("is gated on a healthcheck that fetches the first domain's MTA-STS policy", () => {
    assert.deepEqual(container.inputs.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck", "mta-sts.example.test"]);
    assert.equal(container.inputs.wait, true);
  });

  it("exposes HTTPS as proxy:443 and every domain's MTA-STS policy", async () => {
    assert.deepEqual(await valueOf(proxy.httpsEndpoint), { host: "proxy", port: 443 });
    assert.deepEqual(await valueOf(proxy.mtaStsPolicies), { "example.test": mtaStsPolicy(["mail.example.test"], "testing", 604800) });
  });
});
