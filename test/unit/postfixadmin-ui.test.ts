// PostfixAdmin's web UI: the pure renderer (Apache site, PHP settings) and the component's
// container under mocks.
import { platformPeers } from "../../config/network";
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { stackPlatform } from "../support/platforms";
import { installMocks, isSecret, ofType, RecordedResource, settle, valueOf } from "../support/mocks";

installMocks();
import { PlatformConfig } from "../../config/platform";
import { PostfixAdminUi, SERVE_UI_ENTRYPOINT } from "../../components/postfixadmin/admin-ui";
import {
  POSTFIXADMIN_CONFIG_FILE,
  PostfixadminUiRenderInput,
  renderPostfixadminUiFiles,
  SESSION_LIFETIME_SECONDS,
} from "../../components/postfixadmin/render";

const SITE = "/etc/apache2/sites-enabled/postfixadmin.conf";
const PHP_INI = "/etc/php/8.4/apache2/conf.d/90-mail-platform.ini";
const CONFIG_LOCAL = "/etc/postfixadmin/config.local.php";
const DESIRED_STATE = "/etc/postfixadmin/desired-state.json";
const CONFIG_TEXT = "<?php\n$CONF['configured'] = true;\n$CONF['database_password'] = 'db-Secret-pw';\n";

function assertHas(text: string, needle: string | RegExp, what: string): void {
  if (typeof needle === "string") assert.ok(text.includes(needle), `${what}: expected ${JSON.stringify(needle)} in\n${text}`);
  else assert.match(text, needle, `${what}: expected ${needle} in\n${text}`);
}

const dev = stackPlatform("Pulumi.dev.yaml");
const render = (platform: PlatformConfig = dev, config: PostfixadminUiRenderInput["config"] = { [CONFIG_LOCAL]: CONFIG_TEXT }) =>
  renderPostfixadminUiFiles({ platform, config });

describe("renderPostfixadminUiFiles", () => {
  const files = render();

  it("adds the Apache site and the PHP settings to the Database's config.local.php, unchanged", () => {
    assert.deepEqual(Object.keys(files).sort(), [CONFIG_LOCAL, PHP_INI, SITE].sort());
    assert.equal(files[CONFIG_LOCAL], CONFIG_TEXT);
  });

  const refusals: [string, Record<string, string>, RegExp][] = [
    ["no config.local.php", {}, /expected \/etc\/postfixadmin\/config\.local\.php .*got nothing/],
    ["the provisioning run's desired state", { [CONFIG_LOCAL]: CONFIG_TEXT, [DESIRED_STATE]: "{}" }, /desired-state\.json is for the provisioning run only/],
  ];
  for (const [name, config, message] of refusals) {
    it(`refuses ${name}`, () => assert.throws(() => render(dev, config), message));
  }

  const hostCases: [string, (p: PlatformConfig) => PlatformConfig, string][] = [
    ["the default postfixadmin.<first domain>", (p) => p, "ServerName postfixadmin.example.test"],
    ["an explicit web.adminHostname", (p) => ({ ...p, webHostnames: { ...p.webHostnames, admin: "admin.corp.example" } }), "ServerName admin.corp.example"],
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
      "172.30.0.0/32", "172.30.0.2/31", "172.30.0.4/30", "172.30.0.8/29", "172.30.0.16/28", "172.30.0.32/27", "172.30.0.64/26", "172.30.0.128/25",
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
    ]) assertHas(ini, `${line}\n`, "PHP setting");
  });
});

describe("PostfixAdminUi under mocks", () => {
  let ui: PostfixAdminUi;
  let container: RecordedResource;
  before(async () => {
    ui = new PostfixAdminUi("postfixadmin-ui", {
      platform: stackPlatform("Pulumi.prod.yaml"),
      image: "sha256:postfixadmin-image",
      internalNetwork: { name: "acme-internal" },
      // A plain input on purpose: the component must make the files secret by itself.
      config: { [CONFIG_LOCAL]: CONFIG_TEXT },
    });
    await valueOf(ui.files);
    await settle();
    const containers = ofType("docker:index/container:Container");
    assert.equal(containers.length, 1, `expected one container, saw ${containers.map((c) => c.name).join(", ")}`);
    container = containers[0];
  });

  it("names the container after the instance and runs the PostfixAdmin image with the UI entrypoint", () => {
    assert.equal(container.name, "postfixadmin-ui-container");
    assert.equal(container.inputs.name, "acme-postfixadmin");
    assert.equal(container.inputs.image, "sha256:postfixadmin-image");
    assert.deepEqual(container.inputs.entrypoints, [SERVE_UI_ENTRYPOINT], "the image's default entrypoint is the provisioning run");
    assert.equal(container.inputs.command, undefined, "no command: Docker drops the image's CMD with the entrypoint");
  });

  it("answers to `postfixadmin` on the internal network only and publishes no port", () => {
    assert.deepEqual(container.inputs.networksAdvanced, [{ name: "acme-internal", aliases: ["postfixadmin"] }]);
    assert.deepEqual(container.inputs.ports ?? [], []);
  });

  it("exposes postfixadmin:80 for the ReverseProxy", async () => {
    assert.deepEqual(await valueOf(ui.httpEndpoint), { host: "postfixadmin", port: 80 });
  });

  it("keeps the files secret and uploads config.local.php root-only (the entrypoint hands it to www-data)", async () => {
    assert.equal(await isSecret(ui.files), true, "ui.files must be secret");
    assert.ok(container.secretInputs.some((p) => p.startsWith("uploads")), `expected the uploads to be secret inputs, saw ${container.secretInputs.join(", ")}`);
    const uploads = Object.fromEntries((container.inputs.uploads as any[]).map((u) => [u.file, u.permissions]));
    assert.deepEqual(uploads, { [POSTFIXADMIN_CONFIG_FILE]: "0600", [SITE]: "0644", [PHP_INI]: "0644" });
    const site = (container.inputs.uploads as any[]).find((u) => u.file === SITE).content as string;
    assertHas(site, "ServerName mailadmin.acme-corp.com", "the prod stack's admin host name (web.adminHostname)");
  });

  it("is health-checked by the login page", () => {
    assert.deepEqual(container.inputs.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck.sh"]);
  });
});
