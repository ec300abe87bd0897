// DovecotStore: the pure renderer (tables of cases) and the component's children under mocks.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { before, describe, it } from "node:test";
import { stackPlatform } from "../support/platforms";
import { installMocks, onlyContainer, RecordedResource, valueOf } from "../support/mocks";
import { dataVolumes, uploadModes } from "../support/registrations";
import { fakePem, PRIVATE_KEY } from "../support/pem";

installMocks();
import { platformPeers } from "../../config/network";
import { DomainCertificate, SqlEndpoint } from "../../components/types";
import { MAILBOX_PASSWORD_SCHEME } from "../../components/postfixadmin/constants";
import { DOVECOT_PORTS } from "../../components/dovecot/constants";
import { DovecotStore } from "../../components/dovecot/dovecot-store";
import { dovecotFileModes, DovecotRenderInput, renderDovecotFiles, sniBlocks } from "../../components/dovecot/render";
import { dovecotValue } from "../../render/literals";

const cert = (domain: string, hostnames: string[]): DomainCertificate => ({
  domain,
  hostnames,
  certChainPem: `-----BEGIN CERTIFICATE-----\n${domain}\n-----END CERTIFICATE-----\n`,
  privateKeyPem: fakePem(PRIVATE_KEY, `KEY-OF-${domain}`),
});

const sql: SqlEndpoint = { host: "mariadb", port: 3306, database: "postfixadmin", user: "dovecot", password: "s3cret-PW" };

function devInput(over: Partial<DovecotRenderInput> = {}): DovecotRenderInput {
  return {
    platform: stackPlatform("Pulumi.dev.yaml"),
    sql,
    certificates: [cert("example.test", ["mail.example.test"])],
    spamd: { host: "spamd", port: 783 },
    loginForwarders: platformPeers("172.30.0.0/24"),
    ...over,
  };
}

function prodInput(): DovecotRenderInput {
  return {
    platform: stackPlatform("Pulumi.prod.yaml"),
    sql,
    certificates: [cert("acme-corp.com", ["mail.acme-corp.com"]), cert("acme-labs.io", ["mail.acme-labs.io", "imap.acme-labs.io"])],
    spamd: { host: "spamd", port: 783 },
    loginForwarders: [],
  };
}

/** Asserts `text` matches, printing what was expected and the text seen. */
function assertHas(text: string, pattern: RegExp, what: string): void {
  assert.match(text, pattern, `${what}: expected ${pattern} in\n${text}`);
}

describe("renderDovecotFiles", () => {
  const dev = renderDovecotFiles(devInput());
  const prod = renderDovecotFiles(prodInput());

  it("renders every template and the certificate files, at container paths", () => {
    for (const f of [
      "/etc/dovecot/dovecot.conf",
      "/etc/dovecot/conf.d/10-auth.conf",
      "/etc/dovecot/conf.d/10-master.conf",
      "/etc/dovecot/conf.d/10-ssl.conf",
      "/etc/dovecot/conf.d/90-imapsieve.conf",
      "/etc/dovecot/private/sql.conf.ext",
      "/etc/dovecot/sieve/learn-spam.sieve",
      "/etc/dovecot/sieve/learn-ham.sieve",
      "/etc/dovecot/tls/example.test.crt",
      "/etc/dovecot/private/example.test.key",
    ]) {
      assert.ok(f in dev, `expected ${f} among ${Object.keys(dev).join(", ")}`);
    }
  });

  const settings: [string, string, RegExp][] = [
    ["2.4 config version pinned", "/etc/dovecot/dovecot.conf", /^dovecot_config_version = 2\.4\.0$/m],
    ["storage version pinned", "/etc/dovecot/dovecot.conf", /^dovecot_storage_version = 2\.4\.0$/m],
    ["protocols", "/etc/dovecot/dovecot.conf", /^protocols = imap pop3 lmtp sieve$/m],
    ["hostname", "/etc/dovecot/dovecot.conf", /^hostname = mail\.example\.test$/m],
    ["postmaster of the first domain", "/etc/dovecot/dovecot.conf", /^postmaster_address = postmaster@example\.test$/m],
    ["no cleartext auth outside TLS", "/etc/dovecot/conf.d/10-auth.conf", /^auth_allow_cleartext = no$/m],
    ["auth failure delay", "/etc/dovecot/conf.d/10-auth.conf", /^auth_failure_delay = 2 secs$/m],
    [
      "password scheme from the database module",
      "/etc/dovecot/conf.d/10-auth.conf",
      new RegExp(`^\\s*default_password_scheme = ${MAILBOX_PASSWORD_SCHEME}$`, "m"),
    ],
    [
      "passdb on PostfixAdmin's mailbox table, active only",
      "/etc/dovecot/conf.d/10-auth.conf",
      /FROM mailbox m JOIN domain d[\s\S]*m\.active = '1' AND d\.active = '1'/,
    ],
    [
      "home from the maildir column under /var/vmail",
      "/etc/dovecot/conf.d/10-auth.conf",
      /CONCAT\('\/var\/vmail\/', TRIM\(TRAILING '\/' FROM m\.maildir\)\) AS home/,
    ],
    [
      "quota from the quota column (bytes)",
      "/etc/dovecot/conf.d/10-auth.conf",
      /IF\(m\.quota > 0, CONCAT\(m\.quota, 'B'\), 'unlimited'\) AS quota_storage_size/,
    ],
    [
      "SQL host, port, database and user",
      "/etc/dovecot/private/sql.conf.ext",
      /^mysql mariadb \{\n {2}port = 3306\n {2}dbname = postfixadmin\n {2}user = dovecot\n {2}password = s3cret-PW\n\}$/m,
    ],
    ["maildir", "/etc/dovecot/conf.d/10-mail.conf", /^mail_driver = maildir$/m],
    ["vmail owns the mail", "/etc/dovecot/conf.d/10-mail.conf", /^mail_uid = vmail$/m],
    ["TLS 1.2 minimum", "/etc/dovecot/conf.d/10-ssl.conf", /^ssl_min_protocol = TLSv1\.2$/m],
    ["default certificate", "/etc/dovecot/conf.d/10-ssl.conf", /^ssl_server_cert_file = \/etc\/dovecot\/tls\/example\.test\.crt$/m],
    ["SNI block", "/etc/dovecot/conf.d/10-ssl.conf", /^local_name mail\.example\.test \{$/m],
    ["LMTP on 24", "/etc/dovecot/conf.d/10-master.conf", /inet_listener lmtp \{\n\s+port = 24\n/],
    ["LMTP processes from tuning (dev: 2 cores x 2)", "/etc/dovecot/conf.d/10-master.conf", /^\s+process_limit = 4$/m],
    ["one LMTP client per process", "/etc/dovecot/conf.d/10-master.conf", /^\s+client_limit = 1$/m],
    [
      "SASL for Postfix on TCP",
      "/etc/dovecot/conf.d/10-master.conf",
      new RegExp(`inet_listener auth-postfix \\{\\n\\s+port = ${DOVECOT_PORTS.sasl}\\n\\s+type = auth\\n`),
    ],
    ["logs to stderr", "/etc/dovecot/conf.d/10-logging.conf", /^log_path = \/dev\/stderr$/m],
    [
      "Junk autocreated and subscribed",
      "/etc/dovecot/conf.d/15-mailboxes.conf",
      /mailbox Junk \{\n\s+special_use = \\Junk\n\s+auto = subscribe\n/,
    ],
    [
      "learn spam on copy into Junk",
      "/etc/dovecot/conf.d/90-imapsieve.conf",
      /mailbox Junk \{\n\s+sieve_script learn-spam \{\n\s+type = before\n\s+cause = copy\n/,
    ],
    [
      "learn ham on copy out of Junk",
      "/etc/dovecot/conf.d/90-imapsieve.conf",
      /imapsieve_from Junk \{\n\s+sieve_script learn-ham \{\n\s+type = before\n\s+cause = copy\n/,
    ],
    ["spam learning goes to spamd", "/etc/dovecot/sieve/learn-spam.sieve", /pipe :copy "learn" \["spam", "spamd", "783"\];/],
    ["ham learning goes to spamd", "/etc/dovecot/sieve/learn-ham.sieve", /pipe :copy "learn" \["ham", "spamd", "783"\];/],
    ["Junk to Trash is not ham", "/etc/dovecot/sieve/learn-ham.sieve", /if environment :is "imap\.mailbox" "Trash" \{\n\s+stop;/],
  ];
  for (const [what, file, pattern] of settings) {
    it(`dev: ${what}`, () => assertHas(dev[file], pattern, what));
  }

  it("trusts exactly the forwarders it is given with a client's address, and none by default", () => {
    assertHas(
      dev["/etc/dovecot/conf.d/10-auth.conf"],
      new RegExp(`^login_trusted_networks = ${platformPeers("172.30.0.0/24").join(" ")}$`, "m"),
      "the webmail's networks",
    );
    assertHas(prod["/etc/dovecot/conf.d/10-auth.conf"], /^login_trusted_networks = $/m, "nobody");
  });

  it("prod: LMTP process limit follows tuning.lmtpConcurrency (16)", () => {
    assertHas(prod["/etc/dovecot/conf.d/10-master.conf"], /^\s+process_limit = 16$/m, "lmtp process limit");
  });

  it("prod: one local_name block per certificate host name, each with its own domain's files", () => {
    const ssl = prod["/etc/dovecot/conf.d/10-ssl.conf"];
    const cases: [string, string][] = [
      ["mail.acme-corp.com", "acme-corp.com"],
      ["mail.acme-labs.io", "acme-labs.io"],
      ["imap.acme-labs.io", "acme-labs.io"],
    ];
    for (const [host, domain] of cases) {
      const re = new RegExp(
        `local_name ${host.replace(/\./g, "\\.")} \\{\\n  ssl_server_cert_file = /etc/dovecot/tls/${domain}\\.crt\\n  ssl_server_key_file = /etc/dovecot/private/${domain}\\.key\\n\\}`,
      );
      assertHas(ssl, re, `SNI for ${host}`);
    }
    assertHas(ssl, /^ssl_server_cert_file = \/etc\/dovecot\/tls\/acme-corp\.com\.crt$/m, "default = first domain");
  });

  it("never leaves a placeholder unrendered", () => {
    for (const [file, text] of Object.entries(prod)) assert.doesNotMatch(text, /\{\{|\}\}/, file);
  });

  it("marks the SQL file and every domain's key 0600", () => {
    assert.deepEqual(dovecotFileModes(prodInput().platform), {
      "/etc/dovecot/private/sql.conf.ext": "0600",
      "/etc/dovecot/private/acme-corp.com.key": "0600",
      "/etc/dovecot/private/acme-labs.io.key": "0600",
    });
  });
});

describe("dovecotValue", () => {
  const cases: [string, string][] = [
    ["plain-Token_1.2", "plain-Token_1.2"],
    ["with space", '"with space"'],
    ['q"uote', '"q\\"uote"'],
    ["back\\slash", '"back\\\\slash"'],
    ["100%{user}", '"100%%{user}"'],
    ["#comment", '"#comment"'],
    ["$ENV:HOME", '"$ENV:HOME"'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${expected}`, () => assert.equal(dovecotValue(input), expected));
  }
  it("refuses a line break", () => assert.throws(() => dovecotValue("a\nb"), /line break/));
});

describe("renderer refuses inconsistent certificates", () => {
  const cases: [string, DomainCertificate[], RegExp][] = [
    ["no certificate at all", [], /no certificate for example\.test/],
    [
      "a certificate for a domain the stack does not have",
      [cert("example.test", ["mail.example.test"]), cert("other.test", ["mail.other.test"])],
      /other\.test is not one of the stack's domains/,
    ],
  ];
  for (const [what, certificates, error] of cases) {
    it(what, () => assert.throws(() => renderDovecotFiles(devInput({ certificates })), error));
  }
  it("two certificates for one domain", () => {
    assert.throws(
      () =>
        renderDovecotFiles(
          devInput({ certificates: [cert("example.test", ["mail.example.test"]), cert("example.test", ["imap.example.test"])] }),
        ),
      /more than one certificate for example\.test/,
    );
  });
  it("a host name on two certificates goes to the first one (the SNI rule Postfix and nginx follow too)", () => {
    assert.equal(
      sniBlocks([cert("a.test", ["mail.a.test"]), cert("b.test", ["MAIL.a.test", "b.test"])]),
      [
        "local_name mail.a.test {",
        "  ssl_server_cert_file = /etc/dovecot/tls/a.test.crt",
        "  ssl_server_key_file = /etc/dovecot/private/a.test.key",
        "}",
        "local_name b.test {",
        "  ssl_server_cert_file = /etc/dovecot/tls/b.test.crt",
        "  ssl_server_key_file = /etc/dovecot/private/b.test.key",
        "}",
      ].join("\n"),
    );
  });
});

describe("DovecotStore under mocks", () => {
  let store: DovecotStore;
  let container: RecordedResource;
  const platform = stackPlatform("Pulumi.prod.yaml");
  before(async () => {
    store = new DovecotStore("store", {
      platform,
      image: "sha256:dovecot-image",
      networks: { internal: { name: "acme-internal" }, edge: { name: "acme-edge" } },
      // Plain inputs on purpose: the component must make the files secret by itself.
      sql: { ...sql, password: "db-password-123" },
      certificates: prodInput().certificates,
      spamd: { host: "spamd", port: 783 },
    });
    container = await onlyContainer();
  });

  it("names the container after the instance and runs the dovecot image", () => {
    assert.equal(container.name, "store-container");
    assert.equal(container.inputs.name, "acme-dovecot");
    assert.equal(container.inputs.image, "sha256:dovecot-image");
  });

  it("publishes imap, imaps, pop3, pop3s and managesieve on the bind address, and nothing else", () => {
    const seen = (container.inputs.ports as { ip: string; external: number; internal: number }[])
      .map((p) => `${p.ip}:${p.external}->${p.internal}`)
      .sort();
    const expected = [
      `0.0.0.0:${platform.ports.imap}->143`,
      `0.0.0.0:${platform.ports.imaps}->993`,
      `0.0.0.0:${platform.ports.pop3}->110`,
      `0.0.0.0:${platform.ports.pop3s}->995`,
      `0.0.0.0:${platform.ports.managesieve}->4190`,
    ].sort();
    assert.deepEqual(seen, expected);
  });

  it("answers to `dovecot` on the internal network only, and joins the edge network", () => {
    assert.deepEqual(container.inputs.networksAdvanced, [
      { name: "acme-internal", aliases: ["dovecot"] },
      { name: "acme-edge", aliases: [] },
    ]);
  });

  it("mounts the mailboxes host path at /var/vmail, the ACME client's chains (acme-labs.io orders one) and the backup's restores read-only", () => {
    assert.deepEqual(dataVolumes(container.inputs), [
      { hostPath: "/srv/nvme2/mailboxes", containerPath: "/var/vmail" },
      { hostPath: "/srv/nvme/mail/acme/certificates", containerPath: "/var/lib/mail-platform/certificates", readOnly: true },
      // doveadm import reads a restored mailbox there (features.backup is on in prod).
      { hostPath: "/srv/raid/mail/backups/restore", containerPath: "/srv/backup/restore", readOnly: true },
    ]);
  });

  it("watches the ACME domain's chain, and only that one", async () => {
    const files = await valueOf(store.files);
    assert.equal(
      files["/etc/mail-platform/tls-watch.conf"]
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .join("\n"),
      "/var/lib/mail-platform/certificates/acme-labs.io/fullchain.pem /etc/dovecot/tls/acme-labs.io.crt /etc/dovecot/private/acme-labs.io.key",
    );
  });

  it("keeps the files secret (SQL password, private keys)", async () => {
    assert.equal(await pulumi.isSecret(store.files), true, "store.files must be secret");
    const files = await valueOf(store.files);
    assert.match(files["/etc/dovecot/private/sql.conf.ext"], /password = db-password-123/);
    assert.match(files["/etc/dovecot/private/acme-labs.io.key"], /KEY-OF-acme-labs\.io/);
  });

  it("trusts no forwarded client address unless it is told whose (loginForwarders)", async () => {
    assert.match((await valueOf(store.files))["/etc/dovecot/conf.d/10-auth.conf"], /^login_trusted_networks = $/m);
  });

  it("uploads the key files and the SQL credentials with mode 0600", () => {
    const uploads = uploadModes(container);
    const cases: [string, string][] = [
      ["/etc/dovecot/private/sql.conf.ext", "0600"],
      ["/etc/dovecot/private/acme-corp.com.key", "0600"],
      ["/etc/dovecot/private/acme-labs.io.key", "0600"],
      ["/etc/dovecot/tls/acme-corp.com.crt", "0644"],
      ["/etc/dovecot/dovecot.conf", "0644"],
    ];
    for (const [file, mode] of cases) assert.equal(uploads[file], mode, `${file}: expected ${mode}, seen ${uploads[file]}`);
  });

  it("is gated on the healthcheck", () => {
    assert.deepEqual(container.inputs.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck"]);
    assert.equal(container.inputs.wait, true);
  });

  const endpoints: [string, keyof DovecotStore, number][] = [
    ["LMTP for Postfix", "lmtpEndpoint", 24],
    ["SASL for Postfix", "saslEndpoint", DOVECOT_PORTS.sasl],
    ["IMAP", "imapEndpoint", 143],
    ["ManageSieve", "managesieveEndpoint", 4190],
  ];
  for (const [what, output, port] of endpoints) {
    it(`exposes ${what} as dovecot:${port}`, async () => {
      assert.deepEqual(await valueOf(store[output] as pulumi.Output<unknown>), { host: "dovecot", port });
    });
  }
});
