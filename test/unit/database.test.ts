import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { stackPlatform } from "../support/platforms";
import { installMocks, ofType, registered, valueOf } from "../support/mocks";
import { dataVolumes } from "../support/registrations";

// The provisioning run reports its exit code and output, as the provider does for an attached container.
installMocks({}, "unit", (type, name) =>
  type === "docker:index/container:Container" && name.endsWith("-provision") ? { exitCode: 0, containerLogs: "provision: done\n" } : {},
);

import { Database } from "../../components/database/database";
import { DATABASE_USERS, accountHost, mariadbSizing, renderMariadbFiles } from "../../components/database/render";
import { SqlEndpoint } from "../../components/types";
import { sqlString } from "../../render/literals";

const CONTAINER = "docker:index/container:Container";

const passwords = {
  postfix: "pf-secret-1",
  dovecot: "dc-secret-2",
  postfixadmin: "pa-secret-3",
  spamassassin: "sa-secret-4",
  roundcube: "rc-secret-5",
  passwordChange: "pc-secret-6",
  piler: "pl-secret-7",
  monitoring: "mo-secret-8",
  backup: "bk-secret-9",
};

/** GRANT lines of the rendered SQL as user -> ["PRIVS ON db.*"]. */
function grantsOf(sql: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of sql.matchAll(/^\s*GRANT (.+?) ON (\S+) TO '([^']+)'@'([^']+)'( WITH GRANT OPTION)?;$/gm)) {
    (out[m[3]] ??= []).push(`${m[1]} ON ${m[2]}`);
  }
  return out;
}

describe("database renderers (pure)", () => {
  it("turns the internal subnet into MariaDB's ip/netmask account host", () => {
    const table: [string, string][] = [
      ["172.30.0.0/24", "172.30.0.0/255.255.255.0"],
      ["10.8.0.0/16", "10.8.0.0/255.255.0.0"],
      ["192.168.7.128/25", "192.168.7.128/255.255.255.128"],
      ["10.0.0.0/8", "10.0.0.0/255.0.0.0"],
    ];
    for (const [subnet, expected] of table) assert.equal(accountHost(subnet), expected, `accountHost(${subnet})`);
  });

  it("sizes InnoDB and connections from the tuning", () => {
    const table: [number, number, number, number, number, number][] = [
      // cpus, postfix procs, lmtp, amavis -> buffer pool MiB, max connections
      [1, 25, 2, 2, 256, 81],
      [2, 50, 4, 3, 256, 111],
      [8, 200, 16, 8, 1024, 290],
      [32, 800, 64, 33, 2048, 1011],
    ];
    for (const [hostCpus, postfixProcessLimit, lmtpConcurrency, amavisChildren, pool, conns] of table) {
      const seen = mariadbSizing({ hostCpus, postfixProcessLimit, lmtpConcurrency, amavisChildren });
      assert.deepEqual(seen, { innodbBufferPoolMb: pool, maxConnections: conns }, `sizing for ${hostCpus} cpus`);
    }
  });

  it("escapes quotes and backslashes in SQL literals", () => {
    assert.equal(sqlString(`a'b\\c`), `a\\'b\\\\c`);
  });

  const dev = stackPlatform("Pulumi.dev.yaml");
  const prod = stackPlatform("Pulumi.prod.yaml");

  for (const [stack, platform] of [
    ["dev", dev],
    ["prod", prod],
  ] as const) {
    const files = renderMariadbFiles({
      internalSubnet: platform.internalSubnet,
      tuning: platform.tuning,
      rootPassword: "root'pw",
      passwords,
    });
    const sql = files["/etc/mysql/provision.sql"];
    const cnf = files["/etc/mysql/mariadb.conf.d/99-container.cnf"];

    it(`${stack}: gives Postfix and Dovecot SELECT only, on the PostfixAdmin database only`, () => {
      const grants = grantsOf(sql);
      assert.deepEqual(grants.postfix, ["SELECT ON `postfixadmin`.*"], "postfix grants");
      assert.deepEqual(grants.dovecot, ["SELECT ON `postfixadmin`.*"], "dovecot grants");
      assert.deepEqual(grants.postfixadmin, ["ALL PRIVILEGES ON `postfixadmin`.*"], "postfixadmin grants");
      assert.match(
        sql,
        /GRANT ALL PRIVILEGES ON `postfixadmin`\.\* TO 'postfixadmin'@'[^']+' WITH GRANT OPTION;/,
        "postfixadmin may hand on rights on its own database",
      );
      assert.deepEqual(
        grants.spamassassin,
        ["SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON `spamassassin`.*"],
        "spamassassin grants",
      );
      assert.deepEqual(grants.roundcube, ["ALL PRIVILEGES ON `roundcube`.*"], "roundcube grants");
      assert.deepEqual(grants.piler, ["ALL PRIVILEGES ON `piler`.*"], "piler grants");
      assert.deepEqual(
        grants.password_change,
        ["SELECT (username, active), UPDATE (password, modified) ON `postfixadmin`.`mailbox`"],
        "password change: two columns read, two written",
      );
      assert.deepEqual(grants.monitoring, ["PROCESS, REPLICATION CLIENT ON *.*"], "monitoring: server status, no table data");
      assert.ok(sql.includes("ALTER USER 'monitoring'@"), "monitoring's connections are capped");
      assert.deepEqual(
        grants.backup,
        ["SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON *.*", "ALL PRIVILEGES ON `restore\\_drill\\_%`.*"],
        "backup: reads every database, writes only its restore drill's scratch ones",
      );
      assert.ok(sql.includes("ALTER USER 'backup'@"), "the backup's connections are capped");
      assert.deepEqual(
        Object.keys(grants).sort(),
        ["backup", "dovecot", "monitoring", "password_change", "piler", "postfix", "postfixadmin", "roundcube", "spamassassin"],
        "no other account gets rights",
      );
    });

    it(`${stack}: limits every account to the internal subnet and resets its rights and password on each start`, () => {
      const host = accountHost(platform.internalSubnet);
      for (const [key, user] of Object.entries(DATABASE_USERS)) {
        const pw = passwords[key as keyof typeof passwords];
        assert.ok(sql.includes(`CREATE USER IF NOT EXISTS '${user}'@'${host}' IDENTIFIED BY '${pw}';`), `CREATE USER for ${user}@${host}`);
        assert.ok(sql.includes(`ALTER USER '${user}'@'${host}' IDENTIFIED BY '${pw}';`), `ALTER USER for ${user} (password rotation)`);
        assert.ok(sql.includes(`REVOKE ALL PRIVILEGES, GRANT OPTION FROM '${user}'@'${host}';`), `REVOKE for ${user}`);
      }
      assert.ok(sql.includes("USING PASSWORD('root\\'pw')"), "root's password is escaped");
      assert.ok(/CREATE DATABASE IF NOT EXISTS `postfixadmin` CHARACTER SET utf8mb4/.test(sql));
      assert.ok(/CREATE DATABASE IF NOT EXISTS `spamassassin` CHARACTER SET utf8mb4/.test(sql));
    });

    it(`${stack}: listens on all addresses with utf8mb4 and the computed sizing`, () => {
      const sizing = mariadbSizing(platform.tuning);
      assert.match(cnf, /^bind-address = 0\.0\.0\.0$/m);
      assert.match(cnf, /^skip-name-resolve$/m);
      assert.match(cnf, /^character-set-server = utf8mb4$/m);
      assert.match(cnf, new RegExp(`^innodb_buffer_pool_size = ${sizing.innodbBufferPoolMb}M$`, "m"));
      assert.match(cnf, new RegExp(`^max_connections = ${sizing.maxConnections}$`, "m"));
    });
  }
});

describe("Database component (mocks)", () => {
  const platform = stackPlatform("Pulumi.dev.yaml");
  let db: Database;
  const networks = { internal: { name: "mp-dev-internal" }, edge: { name: "mp-dev-edge" } };
  // Resource options are not visible to mocks; a transformation on the component sees each child's.
  const seen: Record<string, pulumi.ResourceTransformationArgs> = {};
  before(async () => {
    db = new Database(
      "db",
      { platform, image: "sha256:mariadb", postfixadminImage: "sha256:postfixadmin", networks },
      { transformations: [(a) => ((seen[a.name] = a), undefined)] },
    );
    await registered();
  });

  const containers = () => Object.fromEntries(ofType(CONTAINER).map((c) => [c.name, c.inputs]));
  const secretInputsOf = (name: string) => ofType(CONTAINER).find((c) => c.name === name)?.secretInputs ?? [];

  it("gives every consumer its own account on the right database", async () => {
    const table: [string, pulumi.Output<SqlEndpoint>, string][] = [
      ["postfixSql", db.postfixSql, "postfixadmin"],
      ["dovecotSql", db.dovecotSql, "postfixadmin"],
      ["postfixadminSql", db.postfixadminSql, "postfixadmin"],
      ["bayesSql", db.bayesSql, "spamassassin"],
    ];
    const users = new Set<string>();
    for (const [output, value, database] of table) {
      const sql = await valueOf(value);
      assert.equal(sql.database, database, `${output}.database`);
      assert.equal(sql.host, "mariadb", `${output}.host`);
      assert.equal(sql.port, 3306, `${output}.port`);
      assert.ok(sql.password.length > 0, `${output}.password`);
      users.add(sql.user);
      assert.equal(await pulumi.isSecret(value), true, `${output} must be secret`);
    }
    assert.equal(users.size, 4, `distinct users, saw ${[...users].join(", ")}`);
    assert.deepEqual(await valueOf(db.endpoint), { host: "mariadb", port: 3306 });
  });

  it("hands PostfixAdmin's UI its own account and the setup password's hash, secret", async () => {
    assert.deepEqual(await valueOf(db.postfixadmin), {
      sql: await valueOf(db.postfixadminSql),
      setupPasswordHash: "<masked:bcrypt_hash_of_password_db-password-postfixadmin-setup>",
    });
    assert.equal(await pulumi.isSecret(db.postfixadmin), true);
  });

  it("makes one stable password per configured mailbox, secret", async () => {
    const pw = await valueOf(db.mailboxPasswords);
    assert.deepEqual(Object.keys(pw).sort(), platform.mailboxes.map((m) => m.address).sort());
    assert.equal(await pulumi.isSecret(db.mailboxPasswords), true);
    const names = ofType("random:index/randomPassword:RandomPassword").map((r) => r.name);
    for (const m of platform.mailboxes)
      assert.ok(names.includes(`db-mailbox-${m.address}`), `RandomPassword db-mailbox-${m.address} in ${names.join(", ")}`);
    for (const role of ["root", "postfix", "dovecot", "postfixadmin", "spamassassin"])
      assert.ok(names.includes(`db-password-${role}`), `db-password-${role}`);
  });

  it("runs MariaDB on the internal network only, as `mariadb`, with its data on the database host path", () => {
    const mariadb = containers()["db-mariadb"];
    assert.equal(mariadb.name, "mp-dev-mariadb");
    assert.deepEqual(mariadb.networksAdvanced, [{ name: "mp-dev-internal", aliases: ["mariadb"] }]);
    assert.deepEqual(mariadb.ports ?? [], [], "no published port");
    assert.deepEqual(dataVolumes(mariadb), [{ hostPath: platform.volumePaths.database, containerPath: "/var/lib/mysql" }]);
    assert.equal(mariadb.restart, "unless-stopped");
    assert.deepEqual(mariadb.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck"]);
    assert.match(
      fs.readFileSync(path.join(__dirname, "..", "..", "images", "mariadb", "healthcheck"), "utf8"),
      /^exec mariadb-admin ping --silent$/m,
    );
  });

  it("uploads the rendered MariaDB files as a secret, the SQL readable by root only", () => {
    const uploads = containers()["db-mariadb"].uploads;
    assert.ok(
      secretInputsOf("db-mariadb").includes("uploads"),
      `MariaDB uploads must be secret; secret inputs: ${secretInputsOf("db-mariadb").join(", ")}`,
    );
    const files = Object.fromEntries((uploads as { file: string; permissions: string }[]).map((u) => [u.file, u.permissions]));
    assert.deepEqual(files, { "/etc/mysql/mariadb.conf.d/99-container.cnf": "0644", "/etc/mysql/provision.sql": "0600" });
  });

  it("runs the provisioning once, after MariaDB, attached, not as a service", () => {
    const run = containers()["db-provision"];
    assert.equal(run.image, "sha256:postfixadmin");
    assert.equal(run.mustRun, false);
    assert.equal(run.attach, true);
    assert.equal(run.logs, true);
    assert.equal(run.restart, "no");
    assert.deepEqual(run.networksAdvanced, [{ name: "mp-dev-internal" }]);
    assert.ok(
      secretInputsOf("db-provision").includes("uploads"),
      `provisioning uploads must be secret; secret inputs: ${secretInputsOf("db-provision").join(", ")}`,
    );
    assert.deepEqual(
      (run.uploads as { file: string }[]).map((u) => u.file),
      ["/etc/postfixadmin/config.local.php", "/etc/postfixadmin/desired-state.json"],
    );
    const labels = Object.fromEntries((run.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
    assert.match(labels["mail-platform.desired-state-hash"], /^[0-9a-f]{16}$/);
    assert.equal(labels["mail-platform.mariadb-container"], "db-mariadb-id", "a new MariaDB container re-runs provisioning");
  });

  it("starts the provisioning run only after MariaDB is healthy (dependsOn)", () => {
    const run = seen["db-provision"];
    const deps = ([] as unknown[]).concat(run.opts.dependsOn ?? []);
    assert.ok(deps.includes(seen["db-mariadb"].resource), `db-provision dependsOn: ${deps.length} resource(s), none is db-mariadb`);
    assert.equal(seen["db-mariadb"].props.wait, true, "MariaDB is only created once its healthcheck passes");
    assert.equal(
      (seen["db-mariadb"].opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
      true,
      "two servers must never share the datadir",
    );
  });
});
