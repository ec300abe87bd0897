// The built-in Piler: the pure renderer (piler.conf, smtp.acl, config-site.php, the key, the
// start script) and the Archive component's children under mocks, built-in and external.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { stackPlatform } from "../support/platforms";
import { installMocks, ofType, recorded, RecordedResource, registered, valueOf } from "../support/mocks";
import { dataVolumes, ownEnvs, uploadModes } from "../support/registrations";
import { imageId } from "../../tools/mock-run/material";

installMocks();
import { cidrsWithout, contains, gatewayOf } from "../../config/network";
import { PlatformConfig } from "../../config/platform";
import { Archive, PILER_CSP } from "../../components/archive/archive";
import { PILER_DATA_DIRS, PILER_START_SCRIPT } from "../../components/archive/constants";
import { LOG_TO_FILE } from "../../components/host/component-logs";
import {
  archiveIntake,
  ArchiveRenderError,
  PilerRenderInput,
  pilerAccessList,
  pilerMaxMessageSize,
  pilerMemoryMb,
  renderPilerFiles,
} from "../../components/archive/render";
import { SearchIndex } from "../../components/search/search-index";
import { Endpoint, SqlEndpoint } from "../../components/types";

const CONF = "/etc/piler/piler.conf";
const ACL = "/etc/piler/smtp.acl";
const SITE = "/etc/piler/config-site.php";
const KEY = "/etc/piler/piler.key";
const HASH = "/etc/piler/admin-password.hash";
const RSYSLOG = "/etc/rsyslog.d/10-mail-platform.conf";

/** Every key Piler 1.4's config parser knows (src/cfg.c config_parse_rules); others are only logged as unknown. */
const PILER_KEYS = new Set(
  (
    "archive_address archive_emails_not_having_message_id archive_only_mydomains backlog check_for_client_timeout_interval " +
    "cipher_list debug default_retention_days enable_chunking enable_cjk enable_folders encrypt_messages extra_to_field " +
    "extract_attachments helper_timeout hostid iv listen_addr listen_port locale max_connections max_header_size " +
    "max_message_size max_requests_per_child max_smtp_memory memcached_servers memcached_to_db_interval memcached_ttl " +
    "min_message_size min_word_len mmap_dedup_test mysqlcharset mysqlhost mysqlport mysqlsocket mysqluser mysqlpwd mysqldb " +
    "mysql_connect_timeout number_of_worker_processes pemfile pidfile piler_header_field process_rcpt_to_addresses queuedir " +
    "rtindex security_header server_id sphxdb sphxhost sphxport smtp_access_list smtp_timeout spam_header_line " +
    "syslog_recipients tls_enable tls_min_version tweak_sent_time_offset update_counters_to_memcached username verbosity " +
    "verifyssl workdir recipient_delimiter"
  ).split(" "),
);

const sql: SqlEndpoint = { host: "mariadb", port: 3306, database: "piler", user: "piler", password: "db-PASS'with\\quote" };
const search: Endpoint = { host: "idx-7f3a.search.test", port: 19306 };
const KEY_TEXT = "k".repeat(56);
const networks = { internal: { name: "dev-internal" }, edge: { name: "dev-edge" } };
const BCRYPT = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

function builtinPlatform(over: Partial<PlatformConfig> = {}): PlatformConfig {
  const p = stackPlatform("Pulumi.dev.yaml");
  return { ...p, features: { ...p.features, archive: true, search: true }, ...over };
}

function input(over: Partial<PilerRenderInput> = {}): PilerRenderInput {
  return { platform: builtinPlatform(), sql, search, pilerKey: KEY_TEXT, adminPasswordHash: BCRYPT, ...over };
}

/** piler.conf as key -> value, failing on any line Piler's parser would misread. */
function parsePilerConf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    const m = /^([a-z_]+)=(.*)$/.exec(line);
    assert.ok(m, `a piler.conf line Piler's parser would misread (key=value, no spaces around '='): ${JSON.stringify(line)}`);
    assert.ok(!out.has(m[1]), `${m[1]} set twice`);
    out.set(m[1], m[2]);
  }
  return out;
}

describe("renderPilerFiles", () => {
  const files = renderPilerFiles(input());
  const conf = parsePilerConf(files[CONF]);
  const get = (key: string) => {
    assert.ok(conf.has(key), `piler.conf has no ${key}`);
    return conf.get(key);
  };

  it("renders piler.conf, smtp.acl, config-site.php, the key, the admin hash, the start script and the syslog copy", () => {
    assert.deepEqual(Object.keys(files).sort(), [HASH, SITE, CONF, KEY, ACL, PILER_START_SCRIPT, RSYSLOG].sort());
    // Piler's daemons log to rsyslogd in the image; facility mail goes on to the container's output.
    assert.match(files[RSYSLOG], /^mail\.\* action\(type="omfile" file="\/dev\/stdout"\)$/m);
    for (const [path, text] of Object.entries(files)) assert.ok(!text.includes("{{"), `${path}: a placeholder is left`);
  });

  it("uses only keys Piler knows", () => {
    const unknown = [...conf.keys()].filter((k) => !PILER_KEYS.has(k));
    assert.deepEqual(unknown, []);
  });

  const confCases: [string, string, string][] = [
    ["sphxhost", "idx-7f3a.search.test", "the SearchIndex endpoint's host"],
    ["sphxport", "19306", "the SearchIndex endpoint's port"],
    ["sphxdb", "piler1", "Piler's main real-time table"],
    ["rtindex", "1", "writes straight into Manticore"],
    ["mysqlhost", "mariadb", "the Database input's host"],
    ["mysqlport", "3306", "the Database input's port"],
    ["mysqluser", "piler", "the Database input's account"],
    ["mysqlpwd", "db-PASS'with\\quote", "the Database input's password, verbatim"],
    ["mysqldb", "piler", "the Database input's database"],
    ["mysqlsocket", "", "TCP, not Piler's default local socket"],
    ["mysqlcharset", "utf8mb4", "the database's charset"],
    ["archive_address", "archive@mail.example.test", "archive@<hostname> by default"],
    ["hostid", "mail.example.test", "the domain of the archive address"],
    ["extra_to_field", "X-Envelope-To:", "Amavis's header listing every envelope recipient"],
    ["enable_cjk", "1", "long CJK runs are kept"],
    ["smtp_access_list", "1", "smtp.acl applies"],
    ["default_retention_days", "2557", "archive.retentionDays"],
    ["max_message_size", String(Math.ceil(50 * 1024 * 1024 * 1.1)), "messageSizeMb plus room for Amavis's headers"],
    ["encrypt_messages", "1", "the store is encrypted with piler.key"],
    ["archive_emails_not_having_message_id", "1", "nothing is silently left out"],
    ["queuedir", PILER_DATA_DIRS.store, "the store on its host path"],
    ["workdir", PILER_DATA_DIRS.spool, "the spool on its host path"],
  ];
  for (const [key, value, why] of confCases) {
    it(`sets ${key}=${value} (${why})`, () => assert.equal(get(key), value));
  }

  it("takes the retention, the size limit and the intake address from the stack config", () => {
    const p = builtinPlatform();
    const other = parsePilerConf(
      renderPilerFiles(
        input({
          platform: {
            ...p,
            archive: { ...p.archive, retentionDays: 3650, address: "journal@vault.example.test" },
            limits: { ...p.limits, messageSizeMb: 10 },
          },
        }),
      )[CONF],
    );
    assert.deepEqual(
      [other.get("default_retention_days"), other.get("max_message_size"), other.get("archive_address"), other.get("hostid")],
      ["3650", String(pilerMaxMessageSize({ ...p.limits, messageSizeMb: 10 })), "journal@vault.example.test", "vault.example.test"],
    );
  });

  it("permits the internal subnet minus its gateway in smtp.acl, and nothing else", () => {
    const p = builtinPlatform();
    const gateway = gatewayOf(p.internalSubnet);
    const rules = files[ACL].split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(rules, pilerAccessList(p.internalSubnet));
    assert.deepEqual(
      rules,
      cidrsWithout(p.internalSubnet, gateway).map((c) => `${c} permit`),
    );
    const cidrs = rules.map((r) => r.split(" ")[0]);
    assert.ok(!cidrs.some((c) => contains(c, gateway)), `the gateway ${gateway} must not be permitted: ${cidrs.join(", ")}`);
    for (const probe of ["172.30.0.2", "172.30.0.7", "172.30.0.200", "172.30.0.255"]) {
      assert.ok(
        cidrs.some((c) => contains(c, probe)),
        `${probe} (a container) must be permitted`,
      );
    }
    // Piler's own syntax check (src/screen.c is_valid_line): digits, dots, a slash, a blank and the action.
    for (const r of rules) assert.match(r, /^[0-9.]+\/[0-9]+ permit$/);
  });

  it("points the web UI at the Database input and the SearchIndex, served over https on web.archiveHostname", () => {
    const site = files[SITE];
    for (const line of [
      "$config['DB_HOSTNAME'] = 'mariadb';",
      "$config['DB_DATABASE'] = 'piler';",
      "$config['DB_USERNAME'] = 'piler';",
      "$config['DB_PASSWORD'] = 'db-PASS\\'with\\\\quote';",
      "$config['RT'] = 1;",
      "$config['SPHINX_MAIN_INDEX'] = 'piler1';",
      "$config['SPHINX_HOSTNAME'] = 'idx-7f3a.search.test:19306';",
      "$config['SPHINX_HOSTNAME_READONLY'] = 'idx-7f3a.search.test:19306';",
      "$config['SITE_URL'] = 'https://archive.example.test/';",
      "$config['MEMCACHED_ENABLED'] = 0;",
    ]) {
      assert.ok(site.includes(line), `config-site.php: expected ${JSON.stringify(line)} in\n${site}`);
    }
  });

  it("writes the key and the admin hash exactly, without a trailing newline", () => {
    assert.equal(files[KEY], KEY_TEXT);
    assert.equal(files[HASH], BCRYPT);
  });

  it("hands the data directories and the uploaded files to piler, then runs the image's start script", () => {
    const script = files[PILER_START_SCRIPT];
    assert.ok(script.startsWith("#!/bin/bash\n"));
    assert.match(script, /^chown piler:piler \/var\/piler\/store \/var\/piler\/tmp \/var\/piler\/error$/m);
    assert.match(script, /^chmod 0600 \/etc\/piler\/piler\.conf \/etc\/piler\/piler\.key$/m);
    assert.match(script, /^MYSQL_PASSWORD="\$\(sed -n 's\/\^mysqlpwd=\/\/p' \/etc\/piler\/piler\.conf\)"$/m);
    assert.match(script, /^exec \/start\.sh$/m);
    assert.ok(!script.includes(sql.password), "the password is read at start, not written into the script");
  });

  const errorCases: [string, Partial<PilerRenderInput>, RegExp][] = [
    ["a database on another port (the image's start script cannot reach it)", { sql: { ...sql, port: 3307 } }, /sql\.port 3307/],
    [
      "a password with a line break (it would end the piler.conf line)",
      { sql: { ...sql, password: "a\nrtindex=0" } },
      /mysqlpwd: a value cannot contain a line break/,
    ],
    ["a key Piler refuses (5 bytes or less)", { pilerKey: "short" }, /more than 5 bytes/],
    ["an admin hash with a quote (it goes into an SQL string)", { adminPasswordHash: "$2a$10$it'sbroken" }, /adminPasswordHash/],
  ];
  for (const [name, over, message] of errorCases) {
    it(`refuses ${name}`, () =>
      assert.throws(
        () => renderPilerFiles(input(over)),
        (e: Error) => e instanceof ArchiveRenderError && message.test(e.message),
      ));
  }
});

/** Every string leaf of `inputs` with its dotted path. */
function leaves(v: unknown, path = ""): [string, string][] {
  if (typeof v === "string") return [[path, v]];
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${path}[${i}]`));
  if (typeof v === "object" && v !== null) return Object.entries(v).flatMap(([k, x]) => leaves(x, path ? `${path}.${k}` : k));
  return [];
}

describe("Archive component, built-in Piler", () => {
  const platform = builtinPlatform();
  let archive: Archive;
  let index: SearchIndex;
  let wiredToIndex: Archive;
  let container: RecordedResource;
  const mine = (r: RecordedResource) => r.name.startsWith("arc-");

  before(async () => {
    archive = new Archive("arc", {
      platform,
      builtin: { networks, sql: pulumi.secret(sql), search: pulumi.output(search) },
    });
    index = new SearchIndex("idx", { platform, networks });
    wiredToIndex = new Archive("wired", {
      platform: { ...platform, instanceName: "wired" },
      builtin: { networks, sql, search: index.sqlEndpoint },
    });
    await registered();
    const containers = ofType("docker:index/container:Container").filter(mine);
    assert.equal(containers.length, 1, `expected one Piler container, saw ${containers.map((c) => c.name).join(", ")}`);
    container = containers[0];
  });

  it("pulls the pinned upstream Piler image and keeps it locally", () => {
    const images = ofType("docker:index/remoteImage:RemoteImage").filter(mine);
    assert.deepEqual(
      images.map((i) => [i.inputs.name, i.inputs.keepLocally]),
      [["sutoj/piler:1.4.8", true]],
    );
    assert.equal(container.inputs.image, imageId("image sutoj/piler:1.4.8"));
  });

  it("answers to `piler` on the internal network only and publishes no port", () => {
    assert.equal(container.inputs.name, `${platform.instanceName}-piler`);
    assert.deepEqual(container.inputs.networksAdvanced, [{ name: "dev-internal", aliases: ["piler"] }]);
    assert.deepEqual(container.inputs.ports ?? [], []);
  });

  it("keeps the store, the spool and failed messages on host paths under volumePaths.archive (bulk)", () => {
    assert.equal(platform.volumePaths.archive, "/var/lib/mail-platform/dev/bulk/archive");
    assert.deepEqual(dataVolumes(container.inputs), [
      { hostPath: "/var/lib/mail-platform/dev/bulk/archive/store", containerPath: "/var/piler/store" },
      { hostPath: "/var/lib/mail-platform/dev/bulk/archive/spool", containerPath: "/var/piler/tmp" },
      { hostPath: "/var/lib/mail-platform/dev/bulk/archive/error", containerPath: "/var/piler/error" },
    ]);
  });

  it("runs the rendered start script, which the upload makes executable", () => {
    // Behind log-to-file, uploaded too: the upstream image does not have it.
    assert.deepEqual(container.inputs.command, [LOG_TO_FILE, PILER_START_SCRIPT]);
    const modes = uploadModes(container);
    assert.deepEqual(modes, {
      [HASH]: "0600",
      [SITE]: "0600",
      [CONF]: "0600",
      [KEY]: "0600",
      [ACL]: "0644",
      [PILER_START_SCRIPT]: "0755",
      [LOG_TO_FILE]: "0755",
      [RSYSLOG]: "0644",
    });
  });

  it("feeds the given SearchIndex endpoint and Database account into piler.conf and config-site.php", async () => {
    const files = await valueOf(archive.files!);
    const conf = parsePilerConf(files[CONF]);
    assert.deepEqual(
      [conf.get("sphxhost"), conf.get("sphxport"), conf.get("mysqlhost"), conf.get("mysqluser"), conf.get("mysqlpwd"), conf.get("mysqldb")],
      ["idx-7f3a.search.test", "19306", "mariadb", "piler", sql.password, "piler"],
    );
    assert.ok(files[SITE].includes("$config['SPHINX_HOSTNAME'] = 'idx-7f3a.search.test:19306';"));
  });

  it("follows SearchIndex.sqlEndpoint when wired to the component", async () => {
    const conf = parsePilerConf((await valueOf(wiredToIndex.files!))[CONF]);
    assert.deepEqual([conf.get("sphxhost"), conf.get("sphxport")], ["manticore", "9306"]);
  });

  it("sets the start script's non-secret environment; the password and the admin hash stay in files", () => {
    assert.deepEqual(ownEnvs(container.inputs), [
      "PILER_HOSTNAME=archive.example.test",
      "MYSQL_HOSTNAME=mariadb",
      "MYSQL_DATABASE=piler",
      "MYSQL_USER=piler",
      "MANTICORE_HOSTNAME=idx-7f3a.search.test",
      "RT=1",
    ]);
    assert.deepEqual(
      container.secretInputs.filter((p) => p.startsWith("envs")),
      [],
      "nothing secret in the environment",
    );
  });

  it("makes a 56-character key, keeps it secret and in no non-secret input or output", async () => {
    const keys = ofType("random:index/randomPassword:RandomPassword").filter(mine);
    assert.deepEqual(
      keys.map((k) => [k.name, k.inputs.length]),
      [
        ["arc-key", 56],
        ["arc-admin", 24],
      ],
    );
    const key = "<masked:password_arc-key>";
    assert.equal(await pulumi.isSecret(archive.files!), true, "Archive.files must be secret");
    assert.equal((await valueOf(archive.files!))[KEY], key);
    assert.ok(container.secretInputs.includes("uploads"), `the uploads must be a secret input, saw ${container.secretInputs.join(", ")}`);
    for (const r of recorded) {
      for (const [path, value] of leaves(r.inputs)) {
        const secret = r.secretInputs.some((s) => path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`));
        assert.ok(secret || !value.includes(key), `${r.type} ${r.name}: the key appears in the non-secret input ${path}`);
      }
    }
    for (const out of [archive.intake, archive.webApp!]) {
      assert.equal(await pulumi.isSecret(out as pulumi.Output<unknown>), false);
      assert.ok(!JSON.stringify(await valueOf(out as pulumi.Output<unknown>)).includes(key));
    }
  });

  it("replaces the published default admin password with a random one, kept secret", async () => {
    assert.equal(await pulumi.isSecret(archive.adminPassword!), true);
    assert.equal(await valueOf(archive.adminPassword!), "<masked:password_arc-admin>");
    assert.equal((await valueOf(archive.files!))[HASH], "<masked:bcrypt_hash_of_password_arc-admin>");
  });

  it("offers piler:25 as the intake for Amavis and its UI on web.archiveHostname, piler:80, for the ReverseProxy", async () => {
    assert.deepEqual(await valueOf(archive.intake), { endpoint: { host: "piler", port: 25 }, address: "archive@mail.example.test" });
    assert.deepEqual(await valueOf(archive.intake), archiveIntake(platform), "the one rule for where copies go");
    assert.deepEqual(await valueOf(archive.webApp!), {
      hostname: "archive.example.test",
      upstream: { host: "piler", port: 80 },
      csp: PILER_CSP,
    });
  });

  it("is health-checked over SMTP on 127.0.0.1 and may buffer one copy per Amavis child", () => {
    assert.deepEqual(container.inputs.healthcheck.tests, ["CMD", "curl", "-s", "smtp://127.0.0.1:25/"]);
    assert.equal(container.inputs.memory, pilerMemoryMb(platform));
    assert.equal(
      pilerMemoryMb(platform),
      Math.ceil((platform.tuning.amavisChildren * pilerMaxMessageSize(platform.limits)) / 2 ** 20) + 512,
    );
  });
});

describe("Archive component, external archive", () => {
  const p = builtinPlatform();
  const platform: PlatformConfig = {
    ...p,
    features: { ...p.features, search: false },
    archive: { ...p.archive, intake: { host: "piler.example.com", port: 2525 } },
  };
  let archive: Archive;
  const mine = (r: RecordedResource) => r.name.startsWith("ext-");

  before(async () => {
    archive = new Archive("ext", { platform });
    await registered();
  });

  it("creates no container, no image and no key", () => {
    const children = recorded.filter(mine);
    assert.deepEqual(
      children.map((r) => r.type),
      [],
    );
  });

  it("sends the copies to archive.intake, as before", async () => {
    assert.deepEqual(await valueOf(archive.intake), archiveIntake(platform));
    assert.deepEqual(await valueOf(archive.intake), {
      endpoint: { host: "piler.example.com", port: 2525 },
      address: "archive@mail.example.test",
    });
    assert.equal(archive.webApp, undefined);
    assert.equal(archive.container, undefined);
  });

  it("refuses built-in wiring next to an external intake, and a built-in archive without it", () => {
    assert.throws(() => new Archive("ext-both", { platform, builtin: { networks, sql, search } }), /archive\.intake is set/);
    assert.throws(() => new Archive("ext-none", { platform: builtinPlatform() }), /needs builtin/);
  });
});
