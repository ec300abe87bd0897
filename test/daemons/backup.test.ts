// Backups that are proved by a restore, in the real images (images/backup, images/mariadb with its
// rendered config): the backup job dumps the databases and backs them up with the mailboxes into a
// restic repository, twice; the restore drill restores the newest snapshot and finds it complete;
// a repository that fails (a wrong password, a read-only target) fails the job and its metric, never
// the other repositories, and never shows a secret; one mailbox restores file for file. The
// repository is a host directory here; test/e2e/backup.test.ts runs the jobs in the deployed stack.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import {
  DATABASE_NAMES,
  DATABASE_USERS,
  DatabaseUser,
  renderMariadbFiles,
  RESTORE_DRILL_DATABASE_PREFIX,
} from "../../components/database/render";
import { MARIADB_ALIAS, MARIADB_PORTS } from "../../components/database/constants";
import {
  buildImage,
  containerLog,
  copyInto,
  createInternalNetwork,
  docker,
  dockerExec,
  explain,
  removeTestContainers,
  RunResult,
  startTestContainer,
} from "../support/docker";
import { createMariadb, rootQuery, startMariadb } from "../support/mariadb";
import { stackPlatform } from "../support/platforms";

const PREFIX = `mp-bk-daemons-${process.pid}`;
const NETWORK = `${PREFIX}-net`;
const MARIADB = `${PREFIX}-mariadb`;
const BACKUP = `${PREFIX}-backup`;

const secret = () => crypto.randomBytes(12).toString("hex");
const REPOSITORY_PASSWORD = `repo-${secret()}`;
/** The provisioned backup account (provision.sql): reads every database, writes only restore_drill_*. */
const DUMP_USER = DATABASE_USERS.backup;
const PASSWORDS = Object.fromEntries(Object.keys(DATABASE_USERS).map((u) => [u, secret()])) as Record<DatabaseUser, string>;
const DUMP_PASSWORD = PASSWORDS.backup;
const DATABASES = [DATABASE_NAMES.postfixadmin, DATABASE_NAMES.roundcube];

/** The container paths the image's scripts expect (backup.conf's defaults and the deployment's mounts). */
const PATHS = {
  conf: "/etc/mail-platform/backup.conf",
  password: "/etc/mail-platform/backup-password",
  myCnf: "/etc/mail-platform/backup-my.cnf",
  repository: "/srv/backup/repository",
  mailboxes: "/srv/backup/data/mailboxes",
  acme: "/srv/backup/data/acme",
  restore: "/srv/backup/restore",
  metrics: "/var/lib/mail-platform/metrics",
  staging: "/var/lib/mail-platform/backup-staging",
};

/** The mailboxes the test backs up: Dovecot's layout, <domain>/<local part>/Maildir, maildir++ folders. */
const MAILBOX_FILES: Record<string, string> = {
  "example.org/anna/Maildir/cur/1796000000.M1P1.host,S=40:2,S": "From: a@example.net\r\nSubject: first\r\n\r\nhello\r\n",
  "example.org/anna/Maildir/.Sent/cur/1796000001.M2P1.host,S=30:2,S": "Subject: sent\r\n\r\nsent mail\r\n",
  "example.org/anna/sieve/filters.sieve": 'require "fileinto";\n',
  "example.org/bob/Maildir/cur/1796000002.M3P1.host,S=20:2,S": "Subject: for bob\r\n\r\nbody\r\n",
  "example.org/bob/Maildir/.Archive.2024/cur/1796000003.M4P1.host,S=25:2,RS": "Subject: old\r\n\r\narchived\r\n",
  "example.org/bob/Maildir/new/1796000004.M5P1.host": "Subject: unread\r\n\r\nnew mail\r\n",
};
const CANARY = "example.org/anna/Maildir/cur/1796000000.M1P1.host,S=40:2,S";

function backupConf(extra: Record<string, string> = {}): string {
  const values: Record<string, string> = {
    BACKUP_REPOSITORIES: "local",
    REPO_LOCAL: PATHS.repository,
    RESTIC_PASSWORD_FILE: PATHS.password,
    BACKUP_HOST: "mail-platform",
    BACKUP_DATABASES: DATABASES.join(" "),
    MYSQL_DEFAULTS_FILE: PATHS.myCnf,
    BACKUP_PATHS: `${PATHS.mailboxes} ${PATHS.acme}`,
    MAILBOXES_PATH: PATHS.mailboxes,
    BACKUP_STAGING: PATHS.staging,
    RESTORE_DIR: PATHS.restore,
    KEEP_DAILY: "7",
    KEEP_WEEKLY: "4",
    KEEP_MONTHLY: "12",
    DRILL_CANARY: CANARY,
    DRILL_DATABASE_PREFIX: RESTORE_DRILL_DATABASE_PREFIX,
    DRILL_EXPECT_ROWS: "postfixadmin.probe",
    ...extra,
  };
  return Object.entries(values)
    .map(([k, v]) => `${k}="${v}"\n`)
    .join("");
}

/** Every file below `dir`, relative path -> content. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

/** The value of `metric{labels}` in a textfile, or undefined. */
function metricValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("backups in images/backup, proved by a restore", () => {
  let root = "";
  let backupImage = "";
  const dir = (name: string) => path.join(root, name);
  const metrics = (name: string) => fs.readFileSync(path.join(dir("metrics"), `${name}.prom`), "utf8");
  const run = (command: string[]): RunResult => dockerExec(BACKUP, command);
  const noSecret = (text: string) => {
    for (const s of [REPOSITORY_PASSWORD, DUMP_PASSWORD, "wrong-" + REPOSITORY_PASSWORD])
      assert.ok(!text.includes(s), `a secret appears in the output:\n${text}`);
  };
  /** restic in the backup container against the local repository, with the deployment's password file. */
  const restic = (args: string[]): RunResult =>
    run(["env", `RESTIC_REPOSITORY=${PATHS.repository}`, `RESTIC_PASSWORD_FILE=${PATHS.password}`, "restic", ...args]);

  before(async () => {
    const t0 = Date.now();
    const [mariadbImage, image] = [await buildImage("mariadb"), await buildImage("backup")];
    backupImage = image;
    console.log(`# images built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
    for (const d of ["mailboxes", "acme", "repository", "restore", "metrics"]) fs.mkdirSync(dir(d), { recursive: true });
    for (const [file, content] of Object.entries(MAILBOX_FILES)) {
      fs.mkdirSync(path.dirname(path.join(dir("mailboxes"), file)), { recursive: true });
      fs.writeFileSync(path.join(dir("mailboxes"), file), content);
    }
    fs.writeFileSync(path.join(dir("acme"), "account.json"), '{"status":"valid"}\n');

    // MariaDB with its rendered config (the backup account and its rights from provision.sql) on
    // a network of the test's own.
    const subnet = createInternalNetwork(NETWORK, "backup");
    const passwords = PASSWORDS;
    const tuning = stackPlatform("Pulumi.dev.yaml").tuning;
    createMariadb(
      MARIADB,
      NETWORK,
      mariadbImage,
      renderMariadbFiles({ internalSubnet: subnet, tuning, rootPassword: secret(), passwords }),
    );
    startMariadb(MARIADB);
    rootQuery(MARIADB, DATABASE_NAMES.postfixadmin, "CREATE TABLE probe (id INT PRIMARY KEY, note VARCHAR(40)) CHARACTER SET utf8mb4");
    rootQuery(MARIADB, DATABASE_NAMES.postfixadmin, "SET NAMES utf8mb4; INSERT INTO probe VALUES (1, 'first row, één')");

    await startTestContainer({
      name: BACKUP,
      image: backupImage,
      network: NETWORK,
      mounts: [
        `${dir("mailboxes")}:${PATHS.mailboxes}:ro`,
        `${dir("acme")}:${PATHS.acme}:ro`,
        `${dir("repository")}:${PATHS.repository}`,
        `${dir("restore")}:${PATHS.restore}`,
        `${dir("metrics")}:${PATHS.metrics}`,
      ],
      files: {
        [PATHS.conf]: backupConf(),
        [PATHS.password]: `${REPOSITORY_PASSWORD}\n`,
        [PATHS.myCnf]: `[client]\nhost=${MARIADB_ALIAS}\nport=${MARIADB_PORTS.sql}\nuser=${DUMP_USER}\npassword=${DUMP_PASSWORD}\n`,
      },
    });
  });

  after(() => {
    removeTestContainers(PREFIX, NETWORK);
    if (!root) return;
    // The containers wrote as root: remove their files from inside one.
    if (backupImage)
      docker(["run", "--rm", "--network", "none", "-v", `${root}:/x`, "--entrypoint", "sh", backupImage, "-c", "rm -rf /x/*"]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("with cron as PID 1: backs up the dumps and the mailboxes twice, creating the repository once, and writes its metrics", () => {
    assert.equal(run(["cat", "/proc/1/comm"]).stdout.trim(), "cron");
    const first = run(["run-job", "backup", "backup-run"]);
    assert.equal(first.code, 0, explain(first));
    assert.match(first.stdout, /mail-platform backup event=init repository=local result=ok/, explain(first));
    for (const db of DATABASES) assert.match(first.stdout, new RegExp(`event=dump database=${db} result=ok`), explain(first));

    rootQuery(MARIADB, DATABASE_NAMES.postfixadmin, "INSERT INTO probe VALUES (2, 'second row')");
    const added = "example.org/bob/Maildir/cur/1796000005.M6P1.host,S=22:2,S";
    MAILBOX_FILES[added] = "Subject: later\r\n\r\narrived between the runs\r\n";
    fs.writeFileSync(path.join(dir("mailboxes"), added), MAILBOX_FILES[added]);

    const second = run(["run-job", "backup", "backup-run"]);
    assert.equal(second.code, 0, explain(second));
    assert.doesNotMatch(second.stdout, /event=init/, "an existing repository is not created again");
    assert.match(second.stdout, /event=backup repository=local result=ok snapshot=[0-9a-f]{8} added_bytes=[1-9]\d*/, explain(second));
    noSecret(first.stdout + first.stderr + second.stdout + second.stderr);

    const snapshots = restic(["snapshots", "--json"]);
    assert.equal(snapshots.code, 0, explain(snapshots));
    assert.equal((JSON.parse(snapshots.stdout) as unknown[]).length, 2, snapshots.stdout);
    const m = metrics("backup");
    assert.equal(metricValue(m, 'mailplatform_backup_repository_ok{repository="local"}'), 1, m);
    assert.equal(metricValue(m, 'mailplatform_backup_snapshots{repository="local"}'), 2, m);
    assert.ok((metricValue(m, 'mailplatform_backup_added_bytes{repository="local"}') ?? 0) > 0, m);
    const newest = metricValue(m, 'mailplatform_backup_last_snapshot_timestamp_seconds{repository="local"}') ?? 0;
    assert.ok(Math.abs(Date.now() / 1000 - newest) < 300, `the newest snapshot's time is now:\n${m}`);
    for (const db of DATABASES) assert.equal(metricValue(m, `mailplatform_backup_database_dump_ok{database="${db}"}`), 1, m);
    assert.match(metrics("job-backup"), /^mailplatform_job_exit_code\{job="backup"\} 0$/m);

    // The newest snapshot holds the dump as it was at the second run.
    const dump = restic(["dump", "latest", `${PATHS.staging}/databases/${DATABASE_NAMES.postfixadmin}.sql`]);
    assert.equal(dump.code, 0, explain(dump, 2000));
    // One row per line (MariaDB 11.8's mariadb-dump), the text in UTF-8 as it was written.
    assert.match(dump.stdout, /INSERT INTO `probe` VALUES\s*\(1,'first row, één'\),\s*\(2,'second row'\);/, dump.stdout.slice(-1500));
    assert.match(dump.stdout, /^-- Dump completed on .*\n?$/m);
  });

  it("the restore drill restores the newest snapshot and finds every dump, path and the canary", () => {
    const r = run(["run-job", "restore-drill", "restore-drill"]);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /event=drill repository=local result=ok/, explain(r));
    // Each dump loaded into a scratch database and checked there; none is left behind.
    assert.match(r.stdout, /event=drill-load repository=local database=postfixadmin result=ok tables=1/, explain(r));
    assert.match(r.stdout, /event=drill-load repository=local database=roundcube result=ok tables=0/, explain(r));
    assert.deepEqual(rootQuery(MARIADB, "mysql", "SHOW DATABASES LIKE 'restore\\_drill\\_%'"), [], "the scratch databases are dropped");
    const m = metrics("restore-drill");
    assert.equal(metricValue(m, 'mailplatform_backup_restore_drill_ok{repository="local"}'), 1, m);
    // The mailboxes' files and the ACME account.
    assert.equal(metricValue(m, 'mailplatform_backup_restore_drill_files{repository="local"}'), Object.keys(MAILBOX_FILES).length + 1, m);
    assert.equal(run(["sh", "-c", "ls -A /var/lib/mail-platform/restore-drill"]).stdout.trim(), "", "the scratch restore is removed");

    const check = run(["run-job", "backup-check", "backup-check"]);
    assert.equal(check.code, 0, explain(check));
    assert.equal(metricValue(metrics("backup-check"), 'mailplatform_backup_check_ok{repository="local"}'), 1);
  });

  it("restores one mailbox, file for file, beside the live one, and prints the doveadm import", () => {
    const r = run(["restore-mailbox", "Bob@Example.org"]);
    assert.equal(r.code, 0, explain(r));
    const m =
      /^ {2}doveadm import -u 'bob@example\.org' (.*) maildir:(\/srv\/backup\/restore\/bob@example\.org\/[0-9a-f]{8}\/Maildir) '(Restored-[0-9a-f]{8})' all$/m.exec(
        r.stdout,
      );
    assert.ok(m, `the doveadm command:\n${r.stdout}`);
    const restored = tree(path.join(dir("restore"), path.relative(PATHS.restore, m[2])));
    const expected = Object.fromEntries(
      Object.entries(MAILBOX_FILES)
        .filter(([f]) => f.startsWith("example.org/bob/Maildir/"))
        .map(([f, c]) => [path.relative("example.org/bob/Maildir", f), c]),
    );
    assert.deepEqual(restored, expected);

    const folder = run(["restore-mailbox", "bob@example.org", "Archive/2024"]);
    assert.equal(folder.code, 0, explain(folder));
    const only = /maildir:(\S+) /.exec(folder.stdout)?.[1] ?? "";
    assert.deepEqual(Object.keys(tree(path.join(dir("restore"), path.relative(PATHS.restore, only)))), [
      ".Archive.2024/cur/1796000003.M4P1.host,S=25:2,RS",
    ]);
    const missing = run(["restore-mailbox", "nobody@example.org"]);
    assert.notEqual(missing.code, 0, explain(missing));
    assert.match(missing.stdout, /result=failed reason="no \/srv\/backup\/data\/mailboxes\/example.org\/nobody\/Maildir in the snapshot"/);
  });

  it("a repository that fails fails the job and its metric, never another repository, and never shows a secret", () => {
    // A second repository on a read-only mount: it cannot be created, the local one is still
    // backed up. A database that cannot be dumped fails the job and leaves no half file.
    copyInto(BACKUP, {
      [PATHS.conf]: backupConf({
        BACKUP_REPOSITORIES: "readonly local",
        REPO_READONLY: `${PATHS.acme}/repository`,
        BACKUP_DATABASES: `${DATABASES.join(" ")} mp_no_such_database`,
      }),
    });
    const partial = run(["run-job", "backup", "backup-run"]);
    assert.notEqual(partial.code, 0, explain(partial));
    assert.match(partial.stdout, /event=dump database=mp_no_such_database result=failed reason="[^"]+"/, explain(partial));
    assert.deepEqual(
      run(["ls", `${PATHS.staging}/databases`])
        .stdout.trim()
        .split("\n"),
      DATABASES.map((db) => `${db}.sql`).sort(),
      "only complete dumps in the staging directory",
    );
    assert.match(partial.stdout, /event=init repository=readonly result=failed/, explain(partial));
    assert.match(partial.stdout, /event=backup repository=local result=ok/, explain(partial));
    let m = metrics("backup");
    assert.equal(metricValue(m, 'mailplatform_backup_repository_ok{repository="readonly"}'), 0, m);
    assert.equal(metricValue(m, 'mailplatform_backup_repository_ok{repository="local"}'), 1, m);
    assert.equal(metricValue(m, 'mailplatform_backup_database_dump_ok{database="mp_no_such_database"}'), 0, m);

    // A wrong password: restic cannot open the repository, and it is never created again over it.
    copyInto(BACKUP, { [PATHS.conf]: backupConf(), [PATHS.password]: `wrong-${REPOSITORY_PASSWORD}\n` }, 0o600);
    const wrong = run(["run-job", "backup", "backup-run"]);
    assert.notEqual(wrong.code, 0, explain(wrong));
    assert.match(
      wrong.stdout,
      /event=open repository=local result=failed exit=12 reason="Fatal: wrong password or no key found"/,
      explain(wrong),
    );
    assert.doesNotMatch(wrong.stdout, /event=init/, explain(wrong));
    assert.match(wrong.stdout, /job=backup event=end result=failed/, explain(wrong));
    m = metrics("backup");
    assert.equal(metricValue(m, 'mailplatform_backup_repository_ok{repository="local"}'), 0, m);
    const drill = run(["run-job", "restore-drill", "restore-drill"]);
    assert.notEqual(drill.code, 0, explain(drill));
    assert.match(
      drill.stdout,
      /event=drill-check repository=local result=failed check="restic restore latest: Fatal: wrong password/,
      explain(drill),
    );
    assert.equal(metricValue(metrics("restore-drill"), 'mailplatform_backup_restore_drill_ok{repository="local"}'), 0);
    noSecret(partial.stdout + partial.stderr + wrong.stdout + wrong.stderr + drill.stdout + drill.stderr + containerLog(BACKUP));
    for (const name of ["backup", "restore-drill", "backup-check", "job-backup"]) noSecret(metrics(name));
  });
});
