// Webmail: the pure renderer (tables of cases) and the component's children under mocks.
import { platformPeers } from "../../config/network";
import { phpString } from "../../render/literals";
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { before, describe, it } from "node:test";
import { stackPlatform } from "../support/platforms";
import { installMocks, ofType, onlyContainer, RecordedResource, valueOf } from "../support/mocks";
import { uploadModes } from "../support/registrations";

installMocks();
import { SqlEndpoint } from "../../components/types";
import { WEBMAIL_CA_FILE } from "../../components/webmail/constants";
import { mysqlDsn, passwordAlgorithm, renderWebmailFiles, WebmailRenderInput } from "../../components/webmail/render";
import { Webmail, WEBMAIL_CSP } from "../../components/webmail/webmail";

const CONFIG = "/etc/roundcube/config.inc.php";
const PASSWORD = "/etc/roundcube/plugins/password/config.inc.php";
const SIEVE = "/etc/roundcube/plugins/managesieve/config.inc.php";
const SITE = "/etc/apache2/sites-enabled/roundcube.conf";
const PHP_INI = "/etc/php/8.4/apache2/conf.d/90-mail-platform.ini";

const sql: SqlEndpoint = { host: "mariadb", port: 3306, database: "roundcube", user: "roundcube", password: "rc-DB-pass" };
const passwordSql: SqlEndpoint = { host: "mariadb", port: 3306, database: "postfixadmin", user: "roundcube_pw", password: "pw-DB-pass" };
const DES_KEY = "0123456789abcdefghijklmn";
const CA = "-----BEGIN CERTIFICATE-----\nTESTCA\n-----END CERTIFICATE-----\n";

function input(over: Partial<WebmailRenderInput> = {}): WebmailRenderInput {
  return {
    platform: stackPlatform("Pulumi.dev.yaml"),
    imap: { host: "dovecot", port: 143 },
    submission: { host: "postfix", port: 587 },
    managesieve: { host: "dovecot", port: 4190 },
    sql,
    passwordSql,
    caCertPem: CA,
    desKey: DES_KEY,
    ...over,
  };
}

function assertHas(text: string, needle: string | RegExp, what: string): void {
  if (typeof needle === "string") assert.ok(text.includes(needle), `${what}: expected ${JSON.stringify(needle)} in\n${text}`);
  else assert.match(text, needle, `${what}: expected ${needle} in\n${text}`);
}

describe("renderWebmailFiles", () => {
  const files = renderWebmailFiles(input());

  it("renders exactly the Roundcube, plugin, Apache, PHP and CA files", () => {
    assert.deepEqual(Object.keys(files).sort(), [PHP_INI, SITE, WEBMAIL_CA_FILE, SIEVE, PASSWORD, CONFIG].sort());
  });

  const hostCases: [string, Partial<WebmailRenderInput>, string, string][] = [
    ["the default endpoints", {}, "'imap_host'] = 'tls://dovecot:143'", "'smtp_host'] = 'tls://postfix:587'"],
    [
      "other endpoints",
      { imap: { host: "imap-x", port: 1143 }, submission: { host: "mta-y", port: 2587 } },
      "'imap_host'] = 'tls://imap-x:1143'",
      "'smtp_host'] = 'tls://mta-y:2587'",
    ],
  ];
  for (const [name, over, imap, smtp] of hostCases) {
    it(`takes IMAP and SMTP hosts and ports from the endpoint inputs (${name})`, () => {
      const c = renderWebmailFiles(input(over))[CONFIG];
      assertHas(c, imap, "imap_host");
      assertHas(c, smtp, "smtp_host");
      assertHas(c, "$config['smtp_user'] = '%u';", "smtp_user");
      assertHas(c, "$config['smtp_pass'] = '%p';", "smtp_pass");
    });
  }

  it("verifies IMAP, SMTP and ManageSieve certificates as the primary hostname against the uploaded CA", () => {
    const opts = `['ssl' => ['verify_peer' => true, 'verify_peer_name' => true, 'peer_name' => 'mail.example.test', 'allow_self_signed' => false, 'cafile' => '${WEBMAIL_CA_FILE}']]`;
    assertHas(files[CONFIG], `$config['imap_conn_options'] = ${opts};`, "imap_conn_options");
    assertHas(files[CONFIG], `$config['smtp_conn_options'] = ${opts};`, "smtp_conn_options");
    assertHas(files[SIEVE], `$config['managesieve_conn_options'] = ${opts};`, "managesieve_conn_options");
    assert.equal(files[WEBMAIL_CA_FILE], CA);
  });

  it("uses the system CAs (no cafile, no CA file) when the CA is empty", () => {
    const f = renderWebmailFiles(input({ caCertPem: "" }));
    assert.equal(f[WEBMAIL_CA_FILE], undefined, "no CA file expected");
    assert.ok(!f[CONFIG].includes("cafile"), `expected no cafile in\n${f[CONFIG]}`);
    assertHas(f[CONFIG], "'verify_peer' => true", "verification stays on");
  });

  it("configures ManageSieve over STARTTLS from its endpoint", () => {
    assertHas(files[SIEVE], "$config['managesieve_host'] = 'tls://dovecot:4190';", "managesieve_host");
    assertHas(renderWebmailFiles(input({ managesieve: { host: "sieve", port: 14190 } }))[SIEVE], "'tls://sieve:14190'", "other endpoint");
  });

  it("enables managesieve, password, markasjunk and the client-address plugin", () => {
    assertHas(files[CONFIG], "$config['plugins'] = ['managesieve', 'password', 'markasjunk', 'forward_client_ip'];", "plugins");
  });

  it("puts the des_key and Roundcube's DB password only in config.inc.php", () => {
    assertHas(files[CONFIG], `$config['des_key'] = '${DES_KEY}';`, "des_key");
    assertHas(files[CONFIG], "$config['db_dsnw'] = 'mysql://roundcube:rc-DB-pass@mariadb:3306/roundcube';", "db_dsnw");
    for (const [file, text] of Object.entries(files)) {
      if (file === CONFIG) continue;
      assert.ok(!text.includes(DES_KEY) && !text.includes("rc-DB-pass"), `${file} must not carry the des_key or Roundcube's DB password`);
    }
  });

  it("changes passwords in PostfixAdmin's mailbox table as SHA512-CRYPT through the password account", () => {
    const p = files[PASSWORD];
    assertHas(p, "$config['password_driver'] = 'sql';", "driver");
    assertHas(p, "$config['password_db_dsn'] = 'mysql://roundcube_pw:pw-DB-pass@mariadb:3306/postfixadmin';", "password DSN");
    assertHas(
      p,
      "$config['password_query'] = 'UPDATE mailbox SET password = %P, modified = NOW() WHERE username = %u AND active = 1';",
      "query",
    );
    assertHas(p, "$config['password_algorithm'] = 'sha512-crypt';", "algorithm");
    assertHas(p, "$config['password_algorithm_prefix'] = '';", "no {SCHEME} prefix");
    assertHas(p, "$config['password_confirm_current'] = true;", "current password required");
    for (const [file, text] of Object.entries(files)) {
      if (file !== PASSWORD) assert.ok(!text.includes("pw-DB-pass"), `${file} must not carry the password account's DB password`);
    }
  });

  const algorithmCases: [string, string][] = [
    ["SHA512-CRYPT", "sha512-crypt"],
    ["SHA256-CRYPT", "sha256-crypt"],
    ["BLF-CRYPT", "blowfish-crypt"],
  ];
  for (const [scheme, algorithm] of algorithmCases) {
    it(`maps Dovecot scheme ${scheme} to Roundcube's ${algorithm}`, () => assert.equal(passwordAlgorithm(scheme), algorithm));
  }
  it("refuses a scheme Roundcube cannot produce", () =>
    assert.throws(() => passwordAlgorithm("ARGON2ID"), /ARGON2ID.*known: SHA512-CRYPT/));

  it("rate-limits failed logins and serves behind the HTTPS proxy with secure cookies", () => {
    assertHas(files[CONFIG], "$config['login_rate_limit'] = 3;", "login_rate_limit");
    assertHas(files[CONFIG], "$config['use_https'] = true;", "use_https");
    assertHas(files[CONFIG], "$config['force_https'] = false;", "force_https");
    assertHas(files[PHP_INI], "session.cookie_secure = On", "secure cookies");
  });

  it("trusts X-Forwarded-For from the internal subnet minus its gateway", () => {
    assert.deepEqual(platformPeers(input().platform.internalSubnet), [
      "172.30.0.0/32",
      "172.30.0.2/31",
      "172.30.0.4/30",
      "172.30.0.8/29",
      "172.30.0.16/28",
      "172.30.0.32/27",
      "172.30.0.64/26",
      "172.30.0.128/25",
    ]);
    assertHas(files[SITE], "RemoteIPInternalProxy 172.30.0.0/32 172.30.0.2/31", "remoteip");
    assert.ok(!/RemoteIPInternalProxy.*172\.30\.0\.1[ /\n]/.test(files[SITE]), "the gateway must not be trusted");
  });

  it("sizes PHP uploads from the message size limit", () => {
    const p = input().platform;
    assertHas(files[PHP_INI], `upload_max_filesize = ${p.limits.messageSizeMb}M`, "upload size");
  });

  const escapes: [string, string, string][] = [
    ["a quote and a backslash", "it's\\x", "'it\\'s\\\\x'"],
    ["plain", "abc", "'abc'"],
  ];
  for (const [name, value, literal] of escapes)
    it(`writes PHP string literals safely (${name})`, () => assert.equal(phpString(value), literal));
  it("refuses a PHP string value with NUL, which would end the literal early", () => assert.throws(() => phpString("a\0b"), /NUL/));

  it("URL-encodes DSN credentials", () => {
    assert.equal(mysqlDsn({ ...sql, user: "u@x", password: "p:a/s@s%'" }), "mysql://u%40x:p%3Aa%2Fs%40s%25'@mariadb:3306/roundcube");
  });

  it("refuses a des_key shorter than 24 characters", () => {
    assert.throws(() => renderWebmailFiles(input({ desKey: "short" })), /desKey: .*at least 24/);
  });
});

describe("Webmail under mocks", () => {
  let webmail: Webmail;
  let container: RecordedResource;
  before(async () => {
    webmail = new Webmail("webmail", {
      platform: stackPlatform("Pulumi.prod.yaml"),
      image: "sha256:webmail-image",
      networks: { internal: { name: "acme-internal" }, edge: { name: "acme-edge" } },
      imap: { host: "dovecot", port: 143 },
      submission: { host: "postfix", port: 587 },
      managesieve: { host: "dovecot", port: 4190 },
      // Plain inputs on purpose: the component must make the files secret by itself.
      sql,
      passwordSql,
      caCertPem: "",
    });
    container = await onlyContainer();
  });

  it("names the container after the instance and runs the webmail image", () => {
    assert.equal(container.name, "webmail-container");
    assert.equal(container.inputs.name, "acme-webmail");
    assert.equal(container.inputs.image, "sha256:webmail-image");
  });

  it("answers to `webmail` on the internal network only and publishes no port", () => {
    assert.deepEqual(container.inputs.networksAdvanced, [{ name: "acme-internal", aliases: ["webmail"] }]);
    assert.deepEqual(container.inputs.ports ?? [], []);
  });

  it("offers the ReverseProxy its host name, webmail:80 and its CSP", async () => {
    assert.deepEqual(await valueOf(webmail.webApp), {
      hostname: "webmail.acme-corp.com",
      upstream: { host: "webmail", port: 80 },
      csp: WEBMAIL_CSP,
    });
  });

  it("tells Dovecot to trust the internal subnet minus its gateway to forward a user's address", async () => {
    assert.deepEqual(await valueOf(webmail.loginForwarders), platformPeers(stackPlatform("Pulumi.prod.yaml").internalSubnet));
    assert.ok(
      !(await valueOf(webmail.loginForwarders)).some((n) => n === "172.30.0.1/32" || n.startsWith("172.30.0.0/24")),
      "never the Docker host",
    );
  });

  it("creates a 24-character des_key and keeps it and the DB passwords secret", async () => {
    const keys = ofType("random:index/randomPassword:RandomPassword");
    assert.deepEqual(
      keys.map((k) => [k.name, k.inputs.length]),
      [["webmail-des-key", 24]],
    );
    assert.equal(await pulumi.isSecret(webmail.files), true, "webmail.files must be secret");
    const files = await valueOf(webmail.files);
    assertHas(files[CONFIG], "$config['des_key'] = '<masked:password_webmail-des-key>';", "des_key from the RandomPassword");
    assert.ok(
      container.secretInputs.some((p) => p.startsWith("uploads")),
      `expected the uploads to be secret inputs, saw ${container.secretInputs.join(", ")}`,
    );
  });

  it("uploads the secret-bearing configs with mode 0600 (the entrypoint hands them to www-data)", () => {
    const uploads = uploadModes(container);
    assert.equal(uploads[CONFIG], "0600");
    assert.equal(uploads[PASSWORD], "0600");
    assert.equal(uploads[SITE], "0644");
  });

  it("is health-checked by the login page", () => {
    assert.deepEqual(container.inputs.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck"]);
  });
});
