// PostfixAdmin: the pure renderers (config.local.php and the desired state of the provisioning
// run, the web UI's Apache site and PHP settings), the provisioning run's verdict, and the UI's
// container under mocks.
import { platformPeers } from "../../config/network";
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { before, describe, it } from "node:test";
import { stackPlatform } from "../support/platforms";
import { installMocks, onlyContainer, RecordedResource, valueOf } from "../support/mocks";
import { uploadModes, uploadOf } from "../support/registrations";

installMocks();
import { PlatformConfig } from "../../config/platform";
import { POSTFIXADMIN_CSP, PostfixAdminUi } from "../../components/postfixadmin/admin-ui";
import { MAILBOX_PASSWORD_SCHEME, POSTFIXADMIN_CONFIG_FILE, SERVE_UI_ENTRYPOINT } from "../../components/postfixadmin/constants";
import { LOG_TO_FILE } from "../../components/host/component-logs";
import { provisioningFailure } from "../../components/postfixadmin/provisioning";
import {
  desiredState,
  renderPostfixadminUiFiles,
  renderProvisioningFiles,
  SESSION_LIFETIME_SECONDS,
} from "../../components/postfixadmin/render";
import { PostfixadminAccess, SqlEndpoint } from "../../components/types";

const SITE = "/etc/apache2/sites-enabled/postfixadmin.conf";
const PHP_INI = "/etc/php/8.4/apache2/conf.d/90-mail-platform.ini";
const CONFIG_LOCAL = "/etc/postfixadmin/config.local.php";
const DESIRED_STATE = "/etc/postfixadmin/desired-state.json";
const ACCESS: PostfixadminAccess = {
  sql: { host: "mariadb", port: 3306, database: "postfixadmin", user: "postfixadmin", password: "db-Secret-pw" },
  setupPasswordHash: "$2y$10$setup-hash",
};

function assertHas(text: string, needle: string | RegExp, what: string): void {
  if (typeof needle === "string") assert.ok(text.includes(needle), `${what}: expected ${JSON.stringify(needle)} in\n${text}`);
  else assert.match(text, needle, `${what}: expected ${needle} in\n${text}`);
}

const dev = stackPlatform("Pulumi.dev.yaml");
const prod = stackPlatform("Pulumi.prod.yaml");
const render = (platform: PlatformConfig = dev) => renderPostfixadminUiFiles({ platform, access: ACCESS });

describe("PostfixAdmin's provisioning files", () => {
  it("builds the desired state: per-domain quota cap, sorted alias targets, the removal switch", () => {
    const state = desiredState(prod, Object.fromEntries(prod.mailboxes.map((m) => [m.address, `pw-${m.address}`])));
    assert.deepEqual(
      state.domains.map((d) => [d.domain, d.maxquotaMb, d.aliases, d.mailboxes, d.quotaMb]),
      [
        ["acme-corp.com", 20480, 0, 0, 0],
        ["acme-labs.io", 10240, 0, 0, 0],
      ],
    );
    assert.deepEqual(
      state.mailboxes.map((m) => m.username),
      prod.mailboxes.map((m) => m.address),
    );
    assert.equal(state.mailboxes[0].password, "pw-ceo@acme-corp.com");
    assert.deepEqual(state.aliases.find((a) => a.address === "info@acme-corp.com")?.goto, ["ceo@acme-corp.com", "sales@acme-corp.com"]);
    assert.equal(state.deleteRemovedMailboxes, false);
    assert.equal(
      desiredState({ ...prod, deleteRemovedMailboxes: true }, Object.fromEntries(prod.mailboxes.map((m) => [m.address, "x"])))
        .deleteRemovedMailboxes,
      true,
    );
    assert.throws(() => desiredState(prod, {}), /no initial password for ceo@acme-corp.com/);
  });

  it("renders PostfixAdmin's config with the database account, SHA512 crypt, no DNS checks and nothing sent by mail", () => {
    const sql: SqlEndpoint = { host: "mariadb", port: 3306, database: "postfixadmin", user: "postfixadmin", password: "it's" };
    const files = renderProvisioningFiles({
      mail: dev,
      access: { sql, setupPasswordHash: "$2a$10$hash" },
      mailboxPasswords: { "alice@example.test": "a-pw", "bob@example.test": "b-pw" },
    });
    assert.deepEqual(Object.keys(files).sort(), [CONFIG_LOCAL, DESIRED_STATE], "the provisioning run gets none of the UI's files");
    const php = files["/etc/postfixadmin/config.local.php"];
    const expectations: [RegExp, string][] = [
      [/^\$CONF\['configured'\] = true;$/m, "configured"],
      [/^\$CONF\['database_type'\] = 'mysqli';$/m, "mysqli"],
      [/^\$CONF\['database_host'\] = 'mariadb';$/m, "host"],
      [/^\$CONF\['database_port'\] = '3306';$/m, "port"],
      [/^\$CONF\['database_password'\] = 'it\\'s';$/m, "escaped password"],
      [/^\$CONF\['encrypt'\] = 'php_crypt:SHA512';$/m, "encrypt"],
      [/^\$CONF\['emailcheck_resolve_domain'\] = 'NO';$/m, "no DNS check"],
      [/^\$CONF\['domain_path'\] = 'YES';$/m, "domain_path"],
      [/^\$CONF\['domain_in_mailbox'\] = 'NO';$/m, "domain_in_mailbox"],
      [/^\$CONF\['setup_password'\] = '\$2a\$10\$hash';$/m, "setup password hash"],
      // The web UI (components/postfixadmin) reads the same file: nothing it would send by mail.
      [/^\$CONF\['mailbox_struct_hook'\] = 'x_mail_platform_mailbox_struct';$/m, "no welcome mail (struct hook)"],
      [/^\$CONF\['forgotten_user_password_reset'\] = false;$/m, "no password reset for users"],
      [/^\$CONF\['forgotten_admin_password_reset'\] = false;$/m, "no password reset for admins"],
      [/^\$CONF\['show_footer_text'\] = 'NO';$/m, "no placeholder footer link"],
      [/^\$CONF\['footer_link'\] = '';$/m, "no placeholder footer link"],
    ];
    for (const [re, what] of expectations) assert.match(php, re, what);
    const state = JSON.parse(files[DESIRED_STATE]);
    assert.deepEqual(
      state.mailboxes.map((m: { username: string; password: string }) => [m.username, m.password]),
      [
        ["alice@example.test", "a-pw"],
        ["bob@example.test", "b-pw"],
      ],
    );
    assert.equal(MAILBOX_PASSWORD_SCHEME, "SHA512-CRYPT");
  });
});

describe("renderPostfixadminUiFiles", () => {
  const files = render();

  it("renders the provisioning run's config.local.php, the Apache site and the PHP settings, and never the desired state", () => {
    assert.deepEqual(Object.keys(files).sort(), [CONFIG_LOCAL, PHP_INI, SITE].sort());
    const provisioning = renderProvisioningFiles({
      mail: dev,
      access: ACCESS,
      mailboxPasswords: Object.fromEntries(dev.mailboxes.map((m) => [m.address, "pw"])),
    });
    assert.equal(files[CONFIG_LOCAL], provisioning[CONFIG_LOCAL], "the UI and the provisioning run read the same settings");
    assert.match(files[CONFIG_LOCAL], /^\$CONF\['database_password'\] = 'db-Secret-pw';$/m);
    // The desired state carries every initial password; the UI has no use for it.
    assert.equal(files[DESIRED_STATE], undefined);
  });

  const hostCases: [string, (p: PlatformConfig) => PlatformConfig, string][] = [
    ["the default postfixadmin.<first domain>", (p) => p, "ServerName postfixadmin.example.test"],
    [
      "an explicit web.adminHostname",
      (p) => ({ ...p, webHostnames: { ...p.webHostnames, admin: "admin.corp.example" } }),
      "ServerName admin.corp.example",
    ],
  ];
  for (const [name, edit, expected] of hostCases) {
    it(`names the site after the admin host name (${name})`, () => {
      assertHas(render(edit(dev))[SITE], `${expected}\n`, "ServerName");
    });
  }

  it("serves only PostfixAdmin's public/ on plain HTTP port 80, logging to stdout/stderr", () => {
    const site = files[SITE];
    assertHas(site, "<VirtualHost *:80>", "port 80");
    assertHas(site, "DocumentRoot /usr/share/postfixadmin/public\n", "document root");
    assertHas(site, "ErrorLog /dev/stderr", "error log");
    assertHas(site, /CustomLog \/dev\/stdout \w+/, "access log");
    assert.ok(!/SSLEngine/i.test(site), "TLS ends at the ReverseProxy");
  });

  it("trusts X-Forwarded-For from the internal subnet minus its gateway", () => {
    assert.deepEqual(platformPeers(dev.internalSubnet), [
      "172.30.0.0/32",
      "172.30.0.2/31",
      "172.30.0.4/30",
      "172.30.0.8/29",
      "172.30.0.16/28",
      "172.30.0.32/27",
      "172.30.0.64/26",
      "172.30.0.128/25",
    ]);
    assertHas(files[SITE], "RemoteIPHeader X-Forwarded-For", "remoteip header");
    assertHas(files[SITE], `RemoteIPInternalProxy ${platformPeers(dev.internalSubnet).join(" ")}\n`, "remoteip proxies");
    assert.ok(!/RemoteIPInternalProxy.*172\.30\.0\.1[ /\n]/.test(files[SITE]), "the gateway must not be trusted");
    const other = render({ ...dev, internalSubnet: "10.9.8.0/24" })[SITE];
    assertHas(other, "RemoteIPInternalProxy 10.9.8.0/32 10.9.8.2/31", "follows internalSubnet");
  });

  it("tells PHP the page is HTTPS when the ReverseProxy says so", () => {
    assertHas(files[SITE], 'SetEnvIf X-Forwarded-Proto "^https$" HTTPS=on', "HTTPS from X-Forwarded-Proto");
  });

  it("never serves the web installer or the web schema upgrade", () => {
    assertHas(files[SITE], /<FilesMatch "\^\(setup\|upgrade\)\\\.php\$">\s*Require all denied/, "setup.php and upgrade.php denied");
  });

  it("makes the session cookie Secure, HttpOnly and SameSite=Strict and hides PHP", () => {
    const ini = files[PHP_INI];
    for (const line of [
      "session.cookie_secure = On",
      "session.cookie_httponly = On",
      "session.cookie_samesite = Strict",
      "session.use_strict_mode = On",
      `session.gc_maxlifetime = ${SESSION_LIFETIME_SECONDS}`,
      "session.gc_probability = 1",
      'session.save_path = "/var/lib/postfixadmin/sessions"',
      "expose_php = Off",
      "display_errors = Off",
    ])
      assertHas(ini, `${line}\n`, "PHP setting");
  });
});

describe("PostfixAdminUi under mocks", () => {
  let ui: PostfixAdminUi;
  let container: RecordedResource;
  before(async () => {
    ui = new PostfixAdminUi("postfixadmin-ui", {
      platform: prod,
      image: "sha256:postfixadmin-image",
      networks: { internal: { name: "acme-internal" }, edge: { name: "acme-edge" } },
      // A plain input on purpose: the component must make the files secret by itself.
      access: ACCESS,
    });
    container = await onlyContainer();
  });

  it("names the container after the instance and runs the PostfixAdmin image with the UI entrypoint", () => {
    assert.equal(container.name, "postfixadmin-ui-container");
    assert.equal(container.inputs.name, "acme-postfixadmin");
    assert.equal(container.inputs.image, "sha256:postfixadmin-image");
    assert.deepEqual(
      container.inputs.entrypoints,
      [LOG_TO_FILE, SERVE_UI_ENTRYPOINT],
      "the image's default entrypoint is the provisioning run; log-to-file stays in front",
    );
    assert.equal(container.inputs.command, undefined, "no command: Docker drops the image's CMD with the entrypoint");
  });

  it("answers to `postfixadmin` on the internal network only and publishes no port", () => {
    assert.deepEqual(container.inputs.networksAdvanced, [{ name: "acme-internal", aliases: ["postfixadmin"] }]);
    assert.deepEqual(container.inputs.ports ?? [], []);
  });

  it("offers the ReverseProxy its admin host name, postfixadmin:80 and its CSP", async () => {
    assert.deepEqual(await valueOf(ui.webApp), {
      hostname: "mailadmin.acme-corp.com",
      upstream: { host: "postfixadmin", port: 80 },
      csp: POSTFIXADMIN_CSP,
    });
  });

  it("keeps the files secret and uploads config.local.php root-only (the entrypoint hands it to www-data)", async () => {
    assert.equal(await pulumi.isSecret(ui.files), true, "ui.files must be secret");
    assert.ok(
      container.secretInputs.some((p) => p.startsWith("uploads")),
      `expected the uploads to be secret inputs, saw ${container.secretInputs.join(", ")}`,
    );
    const uploads = uploadModes(container);
    assert.deepEqual(uploads, { [POSTFIXADMIN_CONFIG_FILE]: "0600", [SITE]: "0644", [PHP_INI]: "0644" });
    const site = uploadOf(container, SITE);
    assertHas(site, "ServerName mailadmin.acme-corp.com", "the prod stack's admin host name (web.adminHostname)");
  });

  it("is health-checked by the login page", () => {
    assert.deepEqual(container.inputs.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck"]);
  });
});

describe("provisioning result", () => {
  it("fails on a non-zero exit code with the run's output, passes otherwise", () => {
    const table: [number | undefined, string | undefined, RegExp | undefined][] = [
      [0, "provision: done", undefined],
      [undefined, undefined, undefined],
      [1, "provision: FAILED: domain example.test: boom\n", /exited 1\. Fix the cause[\s\S]*provision: FAILED: domain example\.test: boom/],
      [137, undefined, /exited 137[\s\S]*\(no output\)/],
    ];
    for (const [code, logs, expected] of table) {
      const seen = provisioningFailure("mp-dev-postfixadmin-provision", code, logs);
      if (expected) assert.match(seen ?? "(passed)", expected, `exit ${code}`);
      else assert.equal(seen, undefined, `exit ${code}`);
    }
  });
});
