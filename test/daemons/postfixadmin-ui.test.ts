// PostfixAdmin's web UI for real, on a private internal network this test creates (and always
// removes): MariaDB with the rendered SQL, the provisioning run with a super-administrator and the
// password-change grant, then the UI container (same image, UI entrypoint) with the rendered site,
// PHP settings and config.local.php. A client container on the network drives the login form the
// way the ReverseProxy forwards a browser (X-Forwarded-For, X-Forwarded-Proto), with curl.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import { after, before, describe, it } from "node:test";
import { PlatformConfig } from "../../config/platform";
import { MARIADB_ALIAS } from "../../components/database/constants";
import { accountHost, DATABASE_USERS, DatabaseUser, passwordChangeGrant, renderMariadbFiles } from "../../components/database/render";
import { DESIRED_STATE_PATH, POSTFIXADMIN_ALIAS, SERVE_UI_ENTRYPOINT } from "../../components/postfixadmin/constants";
import { renderPostfixadminUiFiles, renderProvisioningFiles } from "../../components/postfixadmin/render";
import { SqlEndpoint } from "../../components/types";
import {
  buildImage,
  containerLog,
  copyInto,
  createInternalNetwork,
  docker,
  dockerExec,
  inspect,
  mustDocker,
  removeTestContainers,
  RunResult,
  runWithFiles,
} from "../support/docker";
import { createMariadb, rootQuery, startMariadb } from "../support/mariadb";
import { stackPlatform } from "../support/platforms";
import type { PropertyMap } from "../../tools/mock-run/property-map";

const PREFIX = `mp-test-pfa-ui-${process.pid}`;
const NETWORK = `${PREFIX}-net`;
const MARIADB = `${PREFIX}-mariadb`;
const UI = `${PREFIX}-ui`;
const CLIENT = `${PREFIX}-client`;
const ADMIN = "admin@example.test";
const SETUP_HASH = "$2y$10$abcdefghijklmnopqrstuu5kLu4yhUeF3yS9n3fAT6QGYbx4.D7kW";
/** What the ReverseProxy puts in front of every request it forwards. */
const BROWSER = "203.0.113.7";
const PROXIED = ["X-Forwarded-Proto: https", `X-Forwarded-For: ${BROWSER}`];

type Result = RunResult;

const randomSecret = () => crypto.randomBytes(12).toString("hex");

interface HttpResponse {
  status: number;
  headers: Record<string, string[]>;
  body: string;
}

/** One HTTP request from the client container to the UI, as the ReverseProxy would send it. */
function http(urlPath: string, opts: { cookie?: string; form?: Record<string, string>; headers?: string[] } = {}): HttpResponse {
  const args = ["exec", CLIENT, "curl", "--silent", "--show-error", "--max-time", "10", "--dump-header", "-"];
  for (const h of opts.headers ?? PROXIED) args.push("--header", h);
  if (opts.cookie) args.push("--header", `Cookie: ${opts.cookie}`);
  for (const [k, v] of Object.entries(opts.form ?? {})) args.push("--data-urlencode", `${k}=${v}`);
  args.push(`http://${POSTFIXADMIN_ALIAS}${urlPath}`);
  const raw = mustDocker(args);
  const split = raw.indexOf("\r\n\r\n");
  const [head, body] = split < 0 ? [raw, ""] : [raw.slice(0, split), raw.slice(split + 4)];
  const [statusLine, ...lines] = head.split("\r\n");
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    const key = line.slice(0, i).trim().toLowerCase();
    (headers[key] ??= []).push(line.slice(i + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

/** The session cookie a response sets last (login.php destroys and restarts the session, so it may set two). */
function sessionCookie(r: HttpResponse): { pair: string; attributes: string } {
  const cookies = (r.headers["set-cookie"] ?? []).filter((c) => c.startsWith("postfixadmin_session="));
  assert.ok(cookies.length, `expected a postfixadmin_session cookie; headers seen: ${JSON.stringify(r.headers)}`);
  const last = cookies[cookies.length - 1];
  return { pair: last.split(";")[0], attributes: last };
}

/** The CSRF token of PostfixAdmin's forms: `<input type="hidden" name="token" value="...">`. */
function formToken(body: string): string {
  const m = /name="token" value="([^"]+)"/.exec(body);
  assert.ok(m, `expected a token field in the form; page:\n${body.slice(0, 3000)}`);
  return m[1];
}

/** The login form: GET login.php for its token and session, POST the credentials. */
function login(username: string, password: string): { response: HttpResponse; cookie: string } {
  const page = http("/login.php");
  assert.equal(page.status, 200, `GET /login.php: expected 200, seen ${page.status}\n${page.body.slice(0, 2000)}`);
  const cookie = sessionCookie(page).pair;
  const response = http("/login.php", {
    cookie,
    form: { fUsername: username, fPassword: password, token: formToken(page.body), lang: "en" },
  });
  return { response, cookie: response.headers["set-cookie"] ? sessionCookie(response).pair : cookie };
}

describe("PostfixAdmin web UI", () => {
  let postfixadminImage = "";
  let platform: PlatformConfig;
  let sql: SqlEndpoint;
  const passwords = Object.fromEntries(Object.keys(DATABASE_USERS).map((u) => [u, randomSecret()])) as Record<DatabaseUser, string>;
  const adminPassword = `Adm-${randomSecret()}`;
  const mailboxPasswords: Record<string, string> = {};
  let runCount = 0;
  let firstRun: Result;

  const query = (q: string): string[][] => rootQuery(MARIADB, "postfixadmin", q);

  /** One provisioning run (the image's default entrypoint); `edit` changes the desired state's JSON. */
  const provision = (admins: Record<string, string>, grants: string[], edit: (state: PropertyMap) => PropertyMap = (s) => s): Result => {
    const name = `${PREFIX}-provision-${++runCount}`;
    const files = renderProvisioningFiles({
      mail: platform,
      access: { sql, setupPasswordHash: SETUP_HASH },
      mailboxPasswords,
      adminPasswords: admins,
      grants,
    });
    files[DESIRED_STATE_PATH] = JSON.stringify(edit(JSON.parse(files[DESIRED_STATE_PATH])));
    return runWithFiles(postfixadminImage, files, [], { name, network: NETWORK, fileMode: 0o600 });
  };

  const adminHash = () => query(`SELECT password FROM admin WHERE username = '${ADMIN}'`)[0]?.[0];

  before(async () => {
    const t0 = Date.now();
    const mariadbImage = await buildImage("mariadb");
    postfixadminImage = await buildImage("postfixadmin");
    console.log(`# images built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Internal: nothing in this test may reach beyond its own containers.
    const subnet = createInternalNetwork(NETWORK, "postfixadmin-ui");
    // The private network's subnet stands in for the internal network's: the database accounts
    // and the trusted proxies are derived from it.
    platform = { ...stackPlatform("Pulumi.dev.yaml"), internalSubnet: subnet };
    for (const m of platform.mailboxes) mailboxPasswords[m.address] = randomSecret();
    sql = {
      host: MARIADB_ALIAS,
      port: 3306,
      database: "postfixadmin",
      user: DATABASE_USERS.postfixadmin,
      password: passwords.postfixadmin,
    };

    createMariadb(
      MARIADB,
      NETWORK,
      mariadbImage,
      renderMariadbFiles({ internalSubnet: subnet, tuning: platform.tuning, rootPassword: randomSecret(), passwords }),
    );
    startMariadb(MARIADB);

    firstRun = provision({ [ADMIN]: adminPassword }, [passwordChangeGrant(subnet)]);

    // The UI the way the component runs it: the image's UI entrypoint, the provisioning run's config.local.php.
    mustDocker([
      "create",
      "--name",
      UI,
      "--network",
      NETWORK,
      "--network-alias",
      POSTFIXADMIN_ALIAS,
      "--entrypoint",
      SERVE_UI_ENTRYPOINT,
      postfixadminImage,
    ]);
    copyInto(UI, renderPostfixadminUiFiles({ platform, access: { sql, setupPasswordHash: SETUP_HASH } }));
    mustDocker(["start", UI]);
    mustDocker(["run", "-d", "--name", CLIENT, "--network", NETWORK, "--entrypoint", "sleep", postfixadminImage, "infinity"]);
    // Readiness: the image's own healthcheck (the login form renders), bounded.
    const deadline = Date.now() + 30_000;
    while (dockerExec(UI, ["/usr/local/bin/healthcheck"]).code !== 0) {
      const state = inspect(UI, "{{.State.Running}}");
      if (state !== "true" || Date.now() > deadline) {
        throw new Error(`the UI did not become healthy (running: ${state}):\n${containerLog(UI)}`);
      }
      spawnSync("sleep", ["0.2"]);
    }
  });

  after(() => {
    removeTestContainers(PREFIX, NETWORK);
  });

  it("provisioning creates the admin as an active super-administrator and grants the password-change account its columns", () => {
    assert.equal(firstRun.code, 0, `first provisioning run failed:\n${firstRun.stdout}${firstRun.stderr}`);
    assert.match(firstRun.stdout, /provision: 1 grant\(s\) applied/, `expected the grant to be applied:\n${firstRun.stdout}`);
    assert.match(
      firstRun.stdout,
      new RegExp(`admin ${ADMIN}: created as super-administrator`),
      `expected the admin to be created:\n${firstRun.stdout}`,
    );
    assert.deepEqual(query(`SELECT username, superadmin, active FROM admin`), [[ADMIN, "1", "1"]]);
    assert.deepEqual(
      query(`SELECT username, domain, active FROM domain_admins`),
      [[ADMIN, "ALL", "1"]],
      "super-administrator = a domain_admins row for ALL",
    );
    const [[matches]] = query(`SELECT ENCRYPT('${adminPassword}', password) = password FROM admin WHERE username = '${ADMIN}'`);
    assert.equal(matches, "1", "the stored hash must verify the initial password");
    const grants = query(`SHOW GRANTS FOR '${DATABASE_USERS.passwordChange}'@'${accountHost(platform.internalSubnet)}'`)
      .flat()
      .join("\n");
    assert.match(
      grants,
      /GRANT SELECT \(`username`, `active`\), UPDATE \(`modified`, `password`\) ON `postfixadmin`\.`mailbox`/,
      `expected the column grant; seen:\n${grants}`,
    );
  });

  it("runs Apache as PID 1 with config.local.php readable by www-data only, Smarty's cache and the sessions www-data's", () => {
    const sessions = "/var/lib/postfixadmin/sessions";
    const seen = mustDocker([
      "exec",
      UI,
      "sh",
      "-c",
      `cat /proc/1/comm; stat -c '%U:%G %a' /etc/postfixadmin/config.local.php; stat -c '%U %a' /var/cache/postfixadmin/templates_c; ls /var/cache/postfixadmin/templates_c | wc -l; stat -c '%U %a' ${sessions}; ls ${sessions} | wc -l`,
    ]);
    const [pid1, config, cache, compiled, sessionDir, sessionFiles] = seen.split("\n");
    assert.equal(pid1, "apache2", "PID 1");
    assert.equal(config, "root:www-data 640", "config.local.php owner and mode");
    assert.equal(cache, "www-data 700", "templates_c owner and mode");
    assert.ok(Number(compiled) > 0, "Smarty compiled the login page's templates into templates_c");
    assert.equal(sessionDir, "www-data 700", "session directory owner and mode");
    assert.ok(Number(sessionFiles) > 0, "the healthcheck's session is stored there");
    // PHP's own clean-up (as www-data, the way Apache's children run it) may remove expired sessions there.
    mustDocker(["exec", UI, "sh", "-c", `touch -d '2 hours ago' ${sessions}/sess_expired && chown www-data ${sessions}/sess_expired`]);
    const gc = docker([
      "exec",
      "-u",
      "www-data",
      UI,
      "php",
      "-d",
      `session.save_path=${sessions}`,
      "-d",
      "session.gc_maxlifetime=3600",
      "-r",
      "session_start(); echo session_gc();",
    ]);
    assert.equal(gc.code, 0, `session_gc failed:\n${gc.stdout}${gc.stderr}`);
    assert.equal(
      docker(["exec", UI, "test", "-e", `${sessions}/sess_expired`]).code,
      1,
      `the expired session must be collected; php said: ${gc.stdout}${gc.stderr}`,
    );
  });

  let session = "";
  it("logs the admin in through the login form: a Secure session cookie, then the admin's pages with the domain", () => {
    const { response, cookie } = login(ADMIN, adminPassword);
    assert.equal(response.status, 302, `POST /login.php: expected 302, seen ${response.status}\n${response.body.slice(0, 3000)}`);
    assert.deepEqual(response.headers["location"], ["main.php"]);
    const attributes = sessionCookie(response).attributes.toLowerCase();
    for (const flag of ["secure", "httponly", "samesite=strict"])
      assert.ok(attributes.split(/;\s*/).includes(flag), `session cookie lacks ${flag}: ${attributes}`);
    session = cookie;

    const main = http("/main.php", { cookie: session });
    assert.equal(main.status, 200, `GET /main.php: ${main.status}`);
    assert.match(
      main.body,
      new RegExp(`Logged in as ${ADMIN.replace(".", "\\.")}`),
      `expected "Logged in as ${ADMIN}" on main.php:\n${main.body.slice(-3000)}`,
    );
    assert.ok(main.body.includes('href="list.php?table=admin"'), "a super-administrator's menu has the admin list");

    const domains = http("/list.php?table=domain", { cookie: session });
    assert.equal(domains.status, 200);
    assert.ok(
      domains.body.includes("<a href='list-virtual.php?domain=example.test'>example.test</a>"),
      `expected example.test in the domain list:\n${domains.body.slice(0, 6000)}`,
    );
  });

  it("creates a mailbox through the UI's form (edit.php?table=mailbox), without offering or sending a welcome mail", () => {
    assert.ok(session, "needs the logged-in session of the previous test");
    const form = http("/edit.php?table=mailbox&domain=example.test", { cookie: session });
    assert.equal(form.status, 200);
    for (const field of ["local_part", "domain", "password", "password2", "name", "quota", "active"]) {
      assert.ok(form.body.includes(`name="value[${field}]"`), `expected form field value[${field}]`);
    }
    // config.local.php: no welcome mail (nothing to send it through), no address for password reset mails.
    for (const field of ["welcome_mail", "email_other", "phone"]) {
      assert.ok(!form.body.includes(`name="value[${field}]"`), `form field value[${field}] must not be offered`);
    }
    const password = `Carol-${randomSecret()}`;
    const created = http("/edit.php?table=mailbox", {
      cookie: session,
      form: {
        table: "mailbox",
        token: formToken(form.body),
        "value[local_part]": "carol",
        "value[domain]": "example.test",
        "value[password]": password,
        "value[password2]": password,
        "value[name]": "Carol Example",
        "value[quota]": "100",
        "value[active]": "1",
        // Posted anyway, as by a crafted request or an old cached form: the UI must not try to send.
        "value[welcome_mail]": "1",
      },
    });
    assert.equal(created.status, 302, `POST edit.php?table=mailbox: expected 302, seen ${created.status}\n${created.body.slice(0, 4000)}`);
    const next = http("/edit.php?table=mailbox", { cookie: session });
    assert.ok(next.body.includes("The mailbox carol@example.test has been added to the mailbox table."), "expected the success message");
    assert.ok(!next.body.includes("Unable to send email"), `no welcome mail may be attempted:\n${next.body.slice(0, 4000)}`);
    assert.deepEqual(query("SELECT username, name, quota, active, maildir FROM mailbox WHERE username = 'carol@example.test'"), [
      ["carol@example.test", "Carol Example", String(100 * 1024 * 1024), "1", "example.test/carol/"],
    ]);
    const [[matches]] = query(`SELECT ENCRYPT('${password}', password) = password FROM mailbox WHERE username = 'carol@example.test'`);
    assert.equal(matches, "1", "the UI stores a SHA512-CRYPT hash of the password");
  });

  it("creates an alias through the UI's form (edit.php?table=alias)", () => {
    assert.ok(session, "needs the logged-in session of the previous tests");
    const form = http("/edit.php?table=alias&domain=example.test", { cookie: session });
    assert.equal(form.status, 200);
    const created = http("/edit.php?table=alias", {
      cookie: session,
      form: {
        table: "alias",
        token: formToken(form.body),
        "value[localpart]": "sales",
        "value[domain]": "example.test",
        "value[goto]": "carol@example.test",
        "value[active]": "1",
      },
    });
    assert.equal(created.status, 302, `POST edit.php?table=alias: expected 302, seen ${created.status}\n${created.body.slice(0, 4000)}`);
    assert.deepEqual(query("SELECT address, goto, active FROM alias WHERE address = 'sales@example.test'"), [
      ["sales@example.test", "carol@example.test", "1"],
    ]);
  });

  it("offers no password reset by mail and no footer link to change-this-to-your.domain.tld", () => {
    // The administrators' and the mailbox users' login pages, and a page after login.
    const pages: [string, HttpResponse][] = [
      ["/login.php", http("/login.php")],
      ["/users/login.php", http("/users/login.php")],
      ["/main.php", http("/main.php", { cookie: session })],
    ];
    for (const [page, r] of pages) {
      assert.equal(r.status, 200, `GET ${page}: ${r.status}`);
      assert.ok(r.body.includes("</footer>"), `${page}: expected the page with its footer:\n${r.body.slice(-2000)}`);
      assert.ok(!r.body.includes("change-this-to-your.domain.tld"), `${page} links to the placeholder domain:\n${r.body.slice(-2000)}`);
      assert.ok(!r.body.includes("password-recover.php"), `${page} offers a password reset:\n${r.body.slice(0, 4000)}`);
    }
    for (const page of ["/users/password-recover.php", "/password-recover.php"]) {
      const r = http(page);
      assert.match(r.body, /Password reset is disabled by configuration/, `${page} must refuse: ${r.status}\n${r.body.slice(0, 2000)}`);
    }
  });

  it("refuses a wrong password and logs the failure with the browser's forwarded address", () => {
    const { response } = login(ADMIN, "not-the-password-at-all");
    assert.equal(response.status, 200, "a failed login shows the form again");
    assert.ok(response.body.includes("Your email address or password is not correct."), "expected the failure message");
    const logs = docker(["logs", UI]);
    assert.match(
      logs.stderr,
      new RegExp(`admin login failed \\(username: ${ADMIN.replace(".", "\\.")}, ip_address: ${BROWSER.replace(/\./g, "\\.")}\\)`),
      `expected the failure in the error log:\n${logs.stderr.slice(-3000)}`,
    );
  });

  it("believes X-Forwarded-For only from the internal subnet, and X-Forwarded-Proto https as HTTPS", () => {
    // A probe page in this test's container only: what PHP sees of the client and the scheme.
    mustDocker([
      "exec",
      UI,
      "sh",
      "-c",
      `echo '<?php echo ($_SERVER["HTTPS"] ?? "off"), " ", $_SERVER["REMOTE_ADDR"];' > /usr/share/postfixadmin/public/probe.php`,
    ]);
    const clientIp = mustDocker(["inspect", "-f", `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, CLIENT]);
    const cases: [string, string[], string][] = [
      ["through the proxy", PROXIED, `on ${BROWSER}`],
      ["without forwarding headers", [], `off ${clientIp}`],
    ];
    for (const [name, headers, expected] of cases) {
      const seen = http("/probe.php", { headers }).body.trim();
      assert.equal(seen, expected, `${name}: expected "${expected}", seen "${seen}"`);
    }
    // From loopback (not a trusted proxy) a forged header is ignored.
    const local = mustDocker(["exec", UI, "curl", "-s", "-H", "X-Forwarded-For: 198.51.100.9", "http://127.0.0.1/probe.php"]).trim();
    assert.equal(local, "off 127.0.0.1", `an untrusted peer's X-Forwarded-For must be ignored; seen "${local}"`);
  });

  it("refuses the web installer and the web schema upgrade, and hides the PHP version", () => {
    for (const page of ["/setup.php", "/upgrade.php"]) assert.equal(http(page).status, 403, `${page} must be refused`);
    const page = http("/login.php");
    assert.equal(page.headers["x-powered-by"], undefined, "no X-Powered-By header");
    assert.deepEqual(page.headers["server"], ["Apache"], "ServerTokens Prod");
  });

  it("a later run leaves the mailbox and the alias made in the UI alone, even with deleteRemovedMailboxes", () => {
    for (const deleteRemovedMailboxes of [false, true]) {
      const run = provision({ [ADMIN]: adminPassword }, [passwordChangeGrant(platform.internalSubnet)], (state) => ({
        ...state,
        deleteRemovedMailboxes,
      }));
      assert.equal(run.code, 0, `provisioning run (deleteRemovedMailboxes ${deleteRemovedMailboxes}) failed:\n${run.stdout}${run.stderr}`);
      for (const line of [
        "mailbox carol@example.test: not managed by the stack config, left alone",
        "alias sales@example.test: not managed by the stack config, left alone",
      ]) {
        assert.ok(
          run.stdout.split("\n").includes(`provision: ${line}`),
          `expected "${line}" (deleteRemovedMailboxes ${deleteRemovedMailboxes}):\n${run.stdout}`,
        );
      }
      assert.match(run.stdout, /0 change\(s\) made/, `nothing configured changed:\n${run.stdout}`);
      assert.deepEqual(
        query("SELECT username, active FROM mailbox WHERE username = 'carol@example.test'"),
        [["carol@example.test", "1"]],
        `the UI's mailbox (deleteRemovedMailboxes ${deleteRemovedMailboxes})`,
      );
      assert.deepEqual(
        query("SELECT address, goto, active FROM alias WHERE address IN ('carol@example.test', 'sales@example.test') ORDER BY address"),
        [
          ["carol@example.test", "carol@example.test", "1"],
          ["sales@example.test", "carol@example.test", "1"],
        ],
        `the UI's alias and the mailbox's own alias row (deleteRemovedMailboxes ${deleteRemovedMailboxes})`,
      );
    }
    assert.equal(login(ADMIN, adminPassword).response.status, 302, "the admin still logs in");
  });

  it("a later run never resets the admin's password, re-promotes a demoted admin and leaves hand-made admins alone", () => {
    const hash = adminHash();
    const again = provision({ [ADMIN]: `Other-${randomSecret()}` }, [passwordChangeGrant(platform.internalSubnet)]);
    assert.equal(again.code, 0, `second provisioning run failed:\n${again.stdout}${again.stderr}`);
    // Only the admin matters here (the UI's own mailbox and alias are the previous test's).
    assert.ok(!/^provision: admin /m.test(again.stdout), `a repeated run must leave the admin alone:\n${again.stdout}`);
    assert.match(again.stdout, /1 grant\(s\) applied/, "grants are applied on every run");
    assert.equal(adminHash(), hash, "the admin's password hash changed on a later run");
    assert.equal(login(ADMIN, adminPassword).response.status, 302, "the initial password must still log in");

    // An admin made by hand (here through the CLI in the UI container), and the configured admin demoted.
    mustDocker([
      "exec",
      UI,
      "postfixadmin-cli",
      "admin",
      "add",
      "helper@example.test",
      "--password",
      "Helper-pass-123",
      "--password2",
      "Helper-pass-123",
      "--superadmin",
      "0",
      "--active",
      "1",
    ]);
    query(`UPDATE admin SET superadmin = 0, active = 0 WHERE username = '${ADMIN}'; DELETE FROM domain_admins WHERE username = '${ADMIN}'`);
    const third = provision({ [ADMIN]: `Other-${randomSecret()}` }, []);
    assert.equal(third.code, 0, `third provisioning run failed:\n${third.stdout}${third.stderr}`);
    assert.match(
      third.stdout,
      new RegExp(`admin ${ADMIN}: made an active super-administrator again \\(password untouched\\)`),
      third.stdout,
    );
    assert.match(third.stdout, /admin helper@example\.test: not in the stack config, left as it is/, third.stdout);
    assert.deepEqual(query("SELECT username, superadmin, active FROM admin ORDER BY username"), [
      [ADMIN, "1", "1"],
      ["helper@example.test", "0", "1"],
    ]);
    assert.deepEqual(query(`SELECT domain FROM domain_admins WHERE username = '${ADMIN}'`), [["ALL"]]);
    assert.equal(adminHash(), hash, "re-promoting must not touch the password");
  });

  it("accepts an older desired state without admins and grants", () => {
    const r = provision({}, [], (state) => {
      delete state.admins;
      delete state.grants;
      return state;
    });
    assert.equal(r.code, 0, `a state without admins/grants must still provision:\n${r.stdout}${r.stderr}`);
    assert.ok(!/grant\(s\) applied/.test(r.stdout), "no grants to apply");
  });

  it("fails with the statement when the database refuses a grant, and on a malformed admin", () => {
    const refused = provision({}, ["GRANT SELECT ON `mysql`.`user` TO 'password_change'@'%'"]);
    assert.notEqual(refused.code, 0, `a refused grant must fail the run:\n${refused.stdout}`);
    assert.match(
      refused.stderr,
      /provision: FAILED: grants\[0\] was refused by the database .*\n\s+GRANT SELECT ON `mysql`\.`user`/,
      refused.stderr,
    );
    const malformed = provision({}, [], (state) => ({ ...state, admins: [{ username: ADMIN }] }));
    assert.notEqual(malformed.code, 0);
    assert.match(malformed.stderr, /admins\[0\]\.password must be a string/, malformed.stderr);
  });

  it("stops at once on docker stop (Apache is PID 1 and handles SIGTERM)", () => {
    const t0 = Date.now();
    mustDocker(["stop", "--time", "20", UI]);
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds < 5, `docker stop took ${seconds.toFixed(1)} s (a shell as PID 1 would wait for the 20 s timeout)`);
  });
});
