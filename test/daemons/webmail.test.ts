// Roundcube, PHP and Apache themselves read the configuration we render for the dev and prod
// stacks, inside the project's image: every PHP file must parse, Apache must accept its site, and
// Roundcube must load the whole configuration (with its plugins) and answer HTTP on loopback. Without
// MariaDB (network none) the login page is Roundcube's error page; logins, mail and Sieve are
// left to the end-to-end tests.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { renderWebmailFiles, WebmailRenderInput } from "../../components/webmail/render";
import { RenderedFiles } from "../../render/template";
import { buildImage, explain, runWithFiles } from "../support/docker";
import { stackPlatform } from "../support/platforms";

/** Passwords with every character that needs escaping in a PHP string or a DSN. */
const AWKWARD_PASSWORD = "p'a\"s\\s@w:o/r%d$x";

/** A syntactically plausible CA: PHP only reads the file when it opens a TLS connection. */
const FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

function stackInput(stackFile: string): WebmailRenderInput {
  const platform = stackPlatform(stackFile);
  return {
    platform,
    imap: { host: "dovecot", port: 143 },
    submission: { host: "postfix", port: 587 },
    managesieve: { host: "dovecot", port: 4190 },
    sql: { host: "mariadb", port: 3306, database: "roundcube", user: "roundcube", password: AWKWARD_PASSWORD },
    passwordSql: { host: "mariadb", port: 3306, database: "postfixadmin", user: "roundcube_password", password: AWKWARD_PASSWORD },
    caCertPem: FAKE_CA,
    desKey: "abcdefghijklmnopqrstuvwx",
  };
}

/** Checks run inside the container: each line `NAME result` so the assertions can pick them out. */
function checks(files: RenderedFiles): string {
  const php = Object.keys(files)
    .filter((f) => f.endsWith(".php"))
    .map((f) => `php -l ${f} >/dev/null 2>/tmp/lint && echo "LINT-OK ${f}" || { echo "LINT-FAIL ${f}"; cat /tmp/lint; }`)
    .join("\n");
  return `
set -u
${php}
# Roundcube itself loads the main config and each plugin's; prints what it resolved.
php -r '
define("INSTALL_PATH", "/var/lib/roundcube/");
require_once INSTALL_PATH . "program/include/clisetup.php";
$c = rcube::get_instance()->config;
foreach (["imap_host", "smtp_host", "login_rate_limit", "use_https", "des_key"] as $k) echo "CONFIG $k ", json_encode($c->get($k)), "\\n";
foreach (["password", "managesieve"] as $p) { $c->load_from_file(INSTALL_PATH . "plugins/$p/config.inc.php"); }
foreach (["password_algorithm", "password_driver", "managesieve_host"] as $k) echo "CONFIG $k ", json_encode($c->get($k)), "\\n";
echo "CONFIG plugins ", json_encode($c->get("plugins")), "\\n";
' 2>&1
set +u
. /etc/apache2/envvars
set -u
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR"
apache2 -t 2>&1 && echo "APACHE-CONFIG-OK" || echo "APACHE-CONFIG-FAIL"
# In the foreground as in the image, its stdout/stderr (and so Roundcube's log) captured.
apache2 -D FOREGROUND >/tmp/apache.log 2>&1 &
for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1/ && break; sleep 0.1; done
echo "HTTP $(curl -s -o /tmp/page -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.9' http://127.0.0.1/)"
grep -q 'rcmloginuser' /tmp/page && echo "PAGE login-form"
grep -q "<title>Internal Error</title>" /tmp/page && echo "PAGE internal-error"
echo "CONFIG-FILE $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/plugins/password/config.inc.php)"
sed "s/^/LOG /" /tmp/apache.log
echo "PHP-POWERED $(curl -s -D - -o /dev/null http://127.0.0.1/ | grep -ci '^x-powered-by')"
`;
}

for (const stackFile of ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]) {
  describe(`webmail config for ${stackFile}, checked by PHP, Roundcube and Apache`, () => {
    let image = "";
    let files: RenderedFiles = {};
    let out = "";
    before(async () => {
      image = await buildImage("webmail");
      files = renderWebmailFiles(stackInput(stackFile));
      const r = runWithFiles(image, files, ["-c", checks(files)], { entrypoint: "/bin/bash" });
      out = explain(r);
    });

    it("every rendered PHP file parses", () => {
      const php = Object.keys(files).filter((f) => f.endsWith(".php"));
      assert.ok(php.length >= 3, `expected at least 3 PHP files, rendered: ${Object.keys(files).join(", ")}`);
      for (const f of php) assert.ok(out.includes(`LINT-OK ${f}`), `expected php -l to accept ${f}; saw:\n${out}`);
    });

    it("Roundcube loads the configuration with the intended values", () => {
      const expected = [
        `CONFIG imap_host "tls:\\/\\/dovecot:143"`,
        `CONFIG smtp_host "tls:\\/\\/postfix:587"`,
        `CONFIG login_rate_limit 3`,
        `CONFIG use_https true`,
        `CONFIG des_key "abcdefghijklmnopqrstuvwx"`,
        `CONFIG password_algorithm "sha512-crypt"`,
        `CONFIG password_driver "sql"`,
        `CONFIG managesieve_host "tls:\\/\\/dovecot:4190"`,
        `CONFIG plugins ["managesieve","password","markasjunk","forward_client_ip"]`,
      ];
      for (const line of expected) assert.ok(out.includes(line), `expected "${line}"; saw:\n${out}`);
    });

    it("Apache accepts the site and serves Roundcube through PHP, logging to stdout", () => {
      assert.ok(out.includes("APACHE-CONFIG-OK"), `expected apache2 -t to pass; saw:\n${out}`);
      // No MariaDB here: Roundcube answers with its own error page and logs the database error to
      // stdout, which proves Apache ran PHP with the rendered config and Roundcube used the DSN.
      assert.ok(out.includes("HTTP 200"), `expected Roundcube to answer; saw:\n${out}`);
      assert.ok(out.includes("PAGE internal-error"), `expected Roundcube's "Internal Error" page (database absent); saw:\n${out}`);
      assert.match(
        out,
        /LOG errors: .*DB Error: .*getaddrinfo for mariadb failed/,
        `expected Roundcube's DB error for host mariadb on stdout; saw:\n${out}`,
      );
    });

    it("ignores X-Forwarded-For from outside the internal subnet", () => {
      // The request came from 127.0.0.1 with a forged header; the access log names the real peer.
      assert.match(out, /LOG 127\.0\.0\.1 - - .*"GET \/ HTTP/, `expected the access log to show 127.0.0.1; saw:\n${out}`);
      assert.ok(!out.includes("LOG 203.0.113.9"), `expected the forged 203.0.113.9 to be ignored; saw:\n${out}`);
    });

    it("never serves a plugin's config or the PHP version", () => {
      assert.ok(out.includes("CONFIG-FILE 403"), `expected 403 for plugins/password/config.inc.php; saw:\n${out}`);
      assert.ok(out.includes("PHP-POWERED 0"), `expected no X-Powered-By header; saw:\n${out}`);
    });
  });
}
