// MariaDB and PostfixAdmin for real: the server's own option check on the rendered config, then a
// provisioning round on a private network this test creates (and always removes): MariaDB applies
// the rendered SQL, the PostfixAdmin image provisions the dev stack's domains, mailboxes and
// aliases, and the tables and account rights are checked the way Postfix and Dovecot will see them.
// Mailboxes and aliases made outside the stack config (as an administrator does in the web UI)
// must survive every provisioning run.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { readStackFile } from "../../config/stack-file";
import { validateStack } from "../../config/validate";
import { PlatformConfig, resolvePlatform } from "../../config/platform";
import { MARIADB_ALIAS } from "../../components/database/constants";
import { DATABASE_USERS, DatabaseUser, passwordChangeGrant, renderMariadbFiles } from "../../components/database/render";
import { POSTFIXADMIN_CONFIG_FILE } from "../../components/postfixadmin/constants";
import { renderPostfixadminUiFiles, renderProvisioningFiles } from "../../components/postfixadmin/render";
import {
  buildImage,
  copyInto,
  createInternalNetwork,
  docker,
  mustDocker,
  removeTestContainers,
  RunResult,
  runWithFiles,
} from "../support/docker";
import { createMariadb, rootQuery, startMariadb } from "../support/mariadb";

const ROOT = path.resolve(__dirname, "..", "..");
const PREFIX = `mp-test-db-${process.pid}`;
const NETWORK = `${PREFIX}-net`;
const MARIADB = `${PREFIX}-mariadb`;

type Result = RunResult;

const randomSecret = () => crypto.randomBytes(12).toString("hex");

function devPlatform(internalSubnet: string): PlatformConfig {
  const sf = readStackFile(path.join(ROOT, "Pulumi.dev.yaml"));
  const r = validateStack(sf.values, { checkFiles: false });
  if (!r.ok) throw new Error(`Pulumi.dev.yaml is invalid: ${JSON.stringify(r.problems)}`);
  // The private test network's subnet stands in for the internal network's, so the accounts
  // (limited to that subnet) accept the test's clients.
  return resolvePlatform({ ...r.value, internalSubnet }, sf.stack);
}

describe("database daemons", () => {
  let mariadbImage = "";
  let postfixadminImage = "";
  let platform: PlatformConfig;
  const passwords = Object.fromEntries(Object.keys(DATABASE_USERS).map((u) => [u, randomSecret()])) as Record<DatabaseUser, string>;
  const rootPassword = randomSecret();
  const initialPasswords: Record<string, string> = {};
  let mariadbFiles: Record<string, string> = {};
  let runCount = 0;

  before(async () => {
    const t0 = Date.now();
    mariadbImage = await buildImage("mariadb");
    postfixadminImage = await buildImage("postfixadmin");
    console.log(`# images built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Internal: nothing in this test may reach beyond its own containers.
    const subnet = createInternalNetwork(NETWORK, "database");
    platform = devPlatform(subnet);
    for (const m of platform.mailboxes) initialPasswords[m.address] = randomSecret();
    mariadbFiles = renderMariadbFiles({ internalSubnet: platform.internalSubnet, tuning: platform.tuning, rootPassword, passwords });
  });

  after(() => {
    removeTestContainers(PREFIX, NETWORK);
  });

  it("MariaDB accepts the rendered config (mariadbd --help --verbose reads every option file)", () => {
    const r = runWithFiles(mariadbImage, mariadbFiles, ["mariadbd", "--help", "--verbose", "--user=mysql"]);
    assert.equal(r.code, 0, `mariadbd rejected the config:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
    const effective = (option: string) => new RegExp(`^${option}\\s+(\\S+)$`, "m").exec(r.stdout)?.[1];
    const table: [string, string][] = [
      ["bind-address", "0.0.0.0"],
      ["skip-name-resolve", "TRUE"],
      ["character-set-server", "utf8mb4"],
      ["collation-server", "utf8mb4_unicode_ci"],
      ["innodb-buffer-pool-size", String(256 * 1024 * 1024)],
      ["port", "3306"],
    ];
    for (const [option, expected] of table)
      assert.equal(effective(option), expected, `${option}: expected ${expected}, seen ${effective(option)}`);
  });

  const query = (sql: string): string[][] => rootQuery(MARIADB, "postfixadmin", sql);

  /** PostfixAdmin's account and setup password hash, as the Database hands them over. */
  const access = () => ({
    sql: { host: MARIADB_ALIAS, port: 3306, database: "postfixadmin", user: DATABASE_USERS.postfixadmin, password: passwords.postfixadmin },
    setupPasswordHash: "$2y$10$abcdefghijklmnopqrstuu5kLu4yhUeF3yS9n3fAT6QGYbx4.D7kW",
  });

  /** One provisioning run with the dev stack's config changed by `edit`; returns its exit code and output. */
  const provision = (edit: (p: PlatformConfig) => PlatformConfig = (p) => p, mailboxPasswords = initialPasswords): Result => {
    const name = `${PREFIX}-provision-${++runCount}`;
    const config = edit(platform);
    const files = renderProvisioningFiles({
      mail: config,
      access: access(),
      mailboxPasswords,
      grants: [passwordChangeGrant(platform.internalSubnet)],
    });
    return runWithFiles(postfixadminImage, files, [], { name, network: NETWORK, fileMode: 0o600 });
  };

  const mailboxRows = () =>
    Object.fromEntries(query("SELECT username, password, active, maildir, quota FROM mailbox").map(([u, ...rest]) => [u, rest]));

  /** postfixadmin-cli in a run of the image, with the deployment's config.local.php: what an administrator's UI form does. */
  const pfaCli = (args: string[]): void => {
    const name = `${PREFIX}-cli-${++runCount}`;
    const files = { [POSTFIXADMIN_CONFIG_FILE]: renderPostfixadminUiFiles({ platform, access: access() })[POSTFIXADMIN_CONFIG_FILE] };
    const r = runWithFiles(postfixadminImage, files, args, { name, network: NETWORK, entrypoint: "postfixadmin-cli", fileMode: 0o600 });
    assert.equal(r.code, 0, `postfixadmin-cli ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
  };

  /** The record of managed addresses, as "kind address" lines. */
  const managed = () => query("SELECT kind, address FROM mail_platform_managed ORDER BY kind, address").map(([k, a]) => `${k} ${a}`);
  /** address -> "active modified" of the given mailbox and alias rows (modified shows whether a run touched a row). */
  const rowStates = (addresses: string[]) =>
    Object.fromEntries(
      query(
        `SELECT username, active, modified FROM mailbox WHERE username IN ('${addresses.join("','")}') ` +
          `UNION ALL SELECT CONCAT('alias:', address), active, modified FROM alias WHERE address IN ('${addresses.join("','")}')`,
      ).map(([a, active, modified]) => [a, `${active} ${modified}`]),
    );
  /** The administrator's own addresses, dave@ (a mailbox, with PostfixAdmin's own alias row) and sales@ (an alias): untouched by `run`. */
  const assertOutsideIntact = (run: Result, when: string) => {
    assert.deepEqual(
      query(
        "SELECT username, active FROM mailbox WHERE username = 'dave@example.test' UNION ALL SELECT address, active FROM alias WHERE address IN ('dave@example.test', 'sales@example.test') ORDER BY 1",
      ),
      [
        ["dave@example.test", "1"],
        ["dave@example.test", "1"],
        ["sales@example.test", "1"],
      ],
      `${when}: the mailbox and the alias made outside the stack config must stay, active`,
    );
    for (const [kind, address] of [
      ["mailbox", "dave@example.test"],
      ["alias", "sales@example.test"],
    ]) {
      assert.match(
        run.stdout,
        new RegExp(`^provision: ${kind} ${address.replace(/\./g, "\\.")}: not managed by the stack config, left alone$`, "m"),
        `${when}: expected the ${kind} listed as left alone:\n${run.stdout}`,
      );
    }
    assert.ok(
      !/^provision: alias dave@example\.test/m.test(run.stdout),
      `${when}: the mailbox's own alias row is PostfixAdmin's, not listed:\n${run.stdout}`,
    );
  };

  it("provisions the dev stack through PostfixAdmin, idempotently, without ever resetting a password", () => {
    createMariadb(MARIADB, NETWORK, mariadbImage, mariadbFiles);
    startMariadb(MARIADB);

    // Round 1: schema, domain, mailboxes, alias.
    const first = provision();
    assert.equal(first.code, 0, `first provisioning run failed:\n${first.stdout}${first.stderr}`);
    assert.deepEqual(query("SELECT domain, active FROM domain WHERE domain <> 'ALL'"), [["example.test", "1"]]);
    const rows1 = mailboxRows();
    assert.deepEqual(Object.keys(rows1).sort(), ["alice@example.test", "bob@example.test"]);
    for (const m of platform.mailboxes) {
      const [hash, active, maildir, quota] = rows1[m.address];
      const [local, domain] = m.address.split("@");
      assert.match(hash, /^\$6\$/, `${m.address}: SHA512-CRYPT hash expected, seen ${hash.slice(0, 6)}...`);
      assert.equal(active, "1");
      assert.equal(maildir, `${domain}/${local}/`, `${m.address} maildir`);
      assert.equal(quota, String(m.quotaMb * 1024 * 1024), `${m.address} quota in bytes`);
      // The stored hash is of the initial password (crypt() in the server, the system's crypt(3)).
      const [[matches]] = query(
        `SELECT ENCRYPT('${initialPasswords[m.address]}', password) = password FROM mailbox WHERE username = '${m.address}'`,
      );
      assert.equal(matches, "1", `${m.address}: the stored hash must verify the initial password`);
    }
    assert.deepEqual(query("SELECT address, goto, active FROM alias WHERE address = 'postmaster@example.test'"), [
      ["postmaster@example.test", "alice@example.test", "1"],
    ]);
    assert.match(first.stdout, /record of managed addresses \(mail_platform_managed\) created/, first.stdout);
    assert.deepEqual(
      managed(),
      ["mailbox alice@example.test", "mailbox bob@example.test", "alias postmaster@example.test"],
      "the record holds what the config declares",
    );

    // Round 2: same state, but "regenerated" initial passwords: nothing may change.
    const other = Object.fromEntries(Object.keys(initialPasswords).map((a) => [a, randomSecret()]));
    const second = provision((p) => p, other);
    assert.equal(second.code, 0, `second provisioning run failed:\n${second.stdout}${second.stderr}`);
    assert.match(second.stdout, /0 change\(s\) made/, `a repeated run must change nothing:\n${second.stdout}`);
    const rows2 = mailboxRows();
    for (const m of platform.mailboxes)
      assert.equal(rows2[m.address][0], rows1[m.address][0], `${m.address}: password hash changed on a later run`);

    // An administrator adds a mailbox and an alias in the UI (here: postfixadmin-cli, the same handlers).
    pfaCli([
      "mailbox",
      "add",
      "dave@example.test",
      "--password",
      "Dave-password-1",
      "--password2",
      "Dave-password-1",
      "--name",
      "Dave",
      "--quota",
      "100",
      "--active",
      "1",
    ]);
    pfaCli(["alias", "add", "sales@example.test", "--goto", "alice@example.test", "--active", "1"]);
    // The UI logs the administrator who made a row; the CLI logs "CLI (localhost)", which only
    // the provisioning run uses. Make the log say what the UI would have written.
    query("UPDATE log SET username = 'admin@example.test' WHERE data IN ('dave@example.test', 'sales@example.test')");

    // Round 3: bob and the postmaster alias removed from the config, a new alias added.
    const withoutBob = (p: PlatformConfig): PlatformConfig => ({
      ...p,
      mailboxes: p.mailboxes.filter((m) => m.address !== "bob@example.test"),
      aliases: [{ address: "abuse@example.test", goto: ["alice@example.test"] }],
    });
    const third = provision(withoutBob);
    assert.equal(third.code, 0, `third provisioning run failed:\n${third.stdout}${third.stderr}`);
    const rows3 = mailboxRows();
    assert.ok(rows3["bob@example.test"], "a removed mailbox must not be deleted by default");
    assert.equal(rows3["bob@example.test"][1], "0", "a removed mailbox is deactivated");
    assert.equal(rows3["bob@example.test"][0], rows1["bob@example.test"][0], "the removed mailbox keeps its password hash");
    assert.equal(rows3["alice@example.test"][1], "1");
    assert.deepEqual(
      query(
        "SELECT address, active FROM alias WHERE address IN ('postmaster@example.test', 'abuse@example.test', 'bob@example.test') ORDER BY address",
      ),
      [
        ["abuse@example.test", "1"],
        ["bob@example.test", "0"],
        ["postmaster@example.test", "0"],
      ],
    );
    assertOutsideIntact(third, "deactivating run");
    assert.deepEqual(managed(), ["mailbox alice@example.test", "alias abuse@example.test"], "what the run deactivated leaves the record");

    // Round 4: the same config with deleteRemovedMailboxes. bob and postmaster left the record when
    // they were deactivated (an administrator may have taken them over since): nothing is deleted.
    const deactivated = rowStates(["bob@example.test", "postmaster@example.test"]);
    const fourth = provision((p) => ({ ...withoutBob(p), deleteRemovedMailboxes: true }));
    assert.equal(fourth.code, 0, `fourth provisioning run failed:\n${fourth.stdout}${fourth.stderr}`);
    assert.match(fourth.stdout, /0 change\(s\) made/, `nothing the config manages is to be removed:\n${fourth.stdout}`);
    assert.deepEqual(rowStates(["bob@example.test", "postmaster@example.test"]), deactivated, "released addresses are not touched again");
    assertOutsideIntact(fourth, "deleting run");

    // Round 5: an existing deployment from before the record (its table dropped), whose config
    // also drops abuse@ in the same deploy: the first run adopts the configured addresses and the
    // active ones earlier runs created (PostfixAdmin's log), so abuse@ is still deactivated; what
    // was deactivated earlier is not touched again, what was made outside the config is left alone.
    query("DROP TABLE mail_platform_managed");
    const withoutAbuse = (p: PlatformConfig): PlatformConfig => ({ ...withoutBob(p), aliases: [] });
    const fifth = provision(withoutAbuse);
    assert.equal(fifth.code, 0, `provisioning run on a database without the record failed:\n${fifth.stdout}${fifth.stderr}`);
    assert.match(
      fifth.stdout,
      /record of managed addresses \(mail_platform_managed\) created: it adopts the 2 active addresses earlier provisioning runs created/,
      fifth.stdout,
    );
    assert.deepEqual(
      query("SELECT address, active FROM alias WHERE address = 'abuse@example.test'"),
      [["abuse@example.test", "0"]],
      "the alias dropped in the same deploy is deactivated",
    );
    assert.deepEqual(managed(), ["mailbox alice@example.test"], "adopted: the configured addresses; the dropped one released again");
    assert.deepEqual(
      rowStates(["bob@example.test", "postmaster@example.test"]),
      deactivated,
      "rows deactivated earlier are not re-touched",
    );
    assertOutsideIntact(fifth, "adopting run");

    // Round 6: the dev config again (bob and postmaster back, abuse dropped): bob and postmaster
    // adopted and re-activated, bob's password untouched.
    const sixth = provision();
    assert.equal(sixth.code, 0, `sixth provisioning run failed:\n${sixth.stdout}${sixth.stderr}`);
    assert.match(
      sixth.stdout,
      /^provision: mailbox bob@example\.test: already in the database, now managed by the stack config$/m,
      sixth.stdout,
    );
    assert.deepEqual(managed(), ["mailbox alice@example.test", "mailbox bob@example.test", "alias postmaster@example.test"]);
    const rows6 = mailboxRows();
    assert.equal(rows6["bob@example.test"][1], "1", "a mailbox configured again is active again");
    assert.equal(rows6["bob@example.test"][0], rows1["bob@example.test"][0], "and keeps its password hash");

    // Round 7: removed again, now with deleteRemovedMailboxes: the managed rows go (the Maildir
    // would stay), the administrator's stay.
    const seventh = provision((p) => ({ ...withoutBob(p), deleteRemovedMailboxes: true }));
    assert.equal(seventh.code, 0, `seventh provisioning run failed:\n${seventh.stdout}${seventh.stderr}`);
    assert.deepEqual(Object.keys(mailboxRows()).sort(), ["alice@example.test", "dave@example.test"]);
    assert.deepEqual(query("SELECT address FROM alias WHERE address IN ('postmaster@example.test', 'bob@example.test')"), []);
    assertOutsideIntact(seventh, "deleting run");
    assert.deepEqual(managed(), ["mailbox alice@example.test", "alias abuse@example.test"]);

    // A failure is reported with a non-zero exit and a message naming it.
    const bad = provision(
      (p) => ({ ...withoutBob(p), mailboxes: [...withoutBob(p).mailboxes, { address: "carol@example.test", name: "Carol", quotaMb: 10 }] }),
      { ...initialPasswords, "carol@example.test": "pw9x" },
    );
    assert.notEqual(bad.code, 0, `a rejected mailbox must fail the run:\n${bad.stdout}`);
    assert.match(bad.stderr, /provision: FAILED: postfixadmin-cli mailbox add carol@example\.test .*exited 1/);
    assert.ok(!`${bad.stdout}${bad.stderr}`.includes("pw9x"), "the initial password must not appear in the output");
  });

  /** Runs SQL as `user` from another container on the network, the way Postfix and Dovecot connect. */
  const asUser = (user: string, password: string, database: string, sql: string): Result =>
    docker([
      "run",
      "--rm",
      "--name",
      `${PREFIX}-client-${++runCount}`,
      "--network",
      NETWORK,
      "--entrypoint",
      "mariadb",
      postfixadminImage,
      `--host=${MARIADB_ALIAS}`,
      `--user=${user}`,
      `--password=${password}`,
      "--batch",
      "--skip-column-names",
      database,
      "-e",
      sql,
    ]);

  it("gives Postfix and Dovecot read-only accounts and each account its own database", () => {
    for (const user of ["postfix", "dovecot"] as const) {
      const read = asUser(user, passwords[user], "postfixadmin", "SELECT username FROM mailbox WHERE active = 1 ORDER BY username");
      assert.equal(read.code, 0, `${user} must be able to read mailboxes:\n${read.stderr}`);
      assert.deepEqual(read.stdout.trim().split("\n"), ["alice@example.test", "dave@example.test"]);
      const write = asUser(user, passwords[user], "postfixadmin", "INSERT INTO domain (domain, description) VALUES ('evil.test', 'x')");
      assert.notEqual(write.code, 0, `${user} could INSERT into postfixadmin.domain`);
      assert.match(write.stderr, /INSERT command denied/, `${user}: expected 'INSERT command denied', seen:\n${write.stderr}`);
      const other = asUser(user, passwords[user], "spamassassin", "SELECT 1");
      assert.match(other.stderr, /Access denied/, `${user} must not reach the spamassassin database:\n${other.stderr}`);
    }
    const bayes = asUser(
      "spamassassin",
      passwords.spamassassin,
      "spamassassin",
      "CREATE TABLE IF NOT EXISTS probe (id INT); INSERT INTO probe VALUES (1); DELETE FROM probe",
    );
    assert.equal(bayes.code, 0, `spamassassin must manage its own tables:\n${bayes.stderr}`);
    assert.match(
      asUser("spamassassin", passwords.spamassassin, "spamassassin", "DROP TABLE probe").stderr,
      /DROP command denied/,
      "spamassassin may not drop tables",
    );
    assert.match(
      asUser("spamassassin", passwords.spamassassin, "postfixadmin", "SELECT 1").stderr,
      /Access denied/,
      "spamassassin must not reach the postfixadmin database",
    );
    const wrong = asUser("postfix", "not-the-password", "postfixadmin", "SELECT 1");
    assert.match(wrong.stderr, /Access denied/);
  });

  /** What the webmail's password plugin may do, checked after provisioning and again after a restart. */
  const assertPasswordChangeRights = (when: string) => {
    const pc = (sql: string) => asUser(DATABASE_USERS.passwordChange, passwords.passwordChange, "postfixadmin", sql);
    const before = mailboxRows()["alice@example.test"][0];
    // The plugin writes a new hash; writing back the current one keeps alice's password as it is.
    const change = pc(`UPDATE mailbox SET password = '${before}', modified = NOW() WHERE username = 'alice@example.test' AND active = 1`);
    assert.equal(change.code, 0, `${when}: the password-change account cannot update a password:\n${change.stderr}`);
    assert.match(change.stdout + change.stderr, /^$/, `${when}: unexpected output from the update`);
    assert.match(pc("SELECT password FROM mailbox").stderr, /SELECT command denied|denied/, `${when}: it may not read password hashes`);
    assert.match(
      pc("UPDATE mailbox SET quota = 0 WHERE username = 'alice@example.test'").stderr,
      /denied/,
      `${when}: it may not change quotas`,
    );
    assert.match(pc("SELECT * FROM alias").stderr, /denied/, `${when}: it may not read aliases`);
  };

  it("lets the webmail's password-change account write passwords and nothing else", () => {
    assertPasswordChangeRights("after provisioning");
  });

  it("applies a rotated password to the existing datadir on restart", () => {
    const rotated = randomSecret();
    mustDocker(["stop", "--time", "30", MARIADB]);
    copyInto(
      MARIADB,
      renderMariadbFiles({
        internalSubnet: platform.internalSubnet,
        tuning: platform.tuning,
        rootPassword,
        passwords: { ...passwords, dovecot: rotated },
      }),
    );
    startMariadb(MARIADB);
    assert.equal(asUser("dovecot", rotated, "postfixadmin", "SELECT 1").code, 0, "the rotated password must work");
    assert.match(
      asUser("dovecot", passwords.dovecot, "postfixadmin", "SELECT 1").stderr,
      /Access denied/,
      "the old password must stop working",
    );
    assert.deepEqual(Object.keys(mailboxRows()).sort(), ["alice@example.test", "dave@example.test"], "the data survived the restart");
    // provision.sql revokes every right on start and grants this one again once the table exists.
    assertPasswordChangeRights("after a restart");
  });
});
