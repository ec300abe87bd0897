// The S3 repository path of images/backup, offline: the backup job backs up the dumps and the
// mailboxes into a restic repository on an S3 service (a test double: Debian's moto_server,
// test/e2e/internet/s3) as it backs up to a local one (test/daemons/backup.test.ts); the objects
// are really in the bucket (which the first run creates) and a file restores from them. When the
// S3 service cannot be reached the job fails visibly, naming the repository, within
// RESTIC_OPEN_TIMEOUT (not after restic's own 15 minutes of retries); once it can be reached again
// the next run works, and a blip shorter than that bound is waited out.
// moto keeps its objects in memory only, so "unreachable" is the backup container leaving the
// network it shares with moto (the link to the S3 service down), never moto stopping.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { DATABASE_NAMES, DATABASE_USERS, DatabaseUser, renderMariadbFiles } from "../../components/database/render";
import { MARIADB_ALIAS, MARIADB_PORTS } from "../../components/database/constants";
import {
  BASE_IMAGE,
  buildImage,
  createInternalNetwork,
  docker,
  dockerExec,
  dockerExecAsync,
  explain,
  inspect,
  mustDocker,
  removeTestContainers,
  RunResult,
  startTestContainer,
  waitHealthy,
} from "../support/docker";
import { createMariadb, rootQuery, startMariadb } from "../support/mariadb";
import { stackPlatform } from "../support/platforms";

// MP_DAEMON_TEST_PREFIX: another name for this file's containers and networks, e.g. beside a run that owns mp-bk-*.
const PREFIX = `${process.env.MP_DAEMON_TEST_PREFIX ?? "mp-bk-s3-daemons"}-${process.pid}`;
const NETWORK = `${PREFIX}-net`;
/** The network only the backup container and the S3 test double share: its link to the S3 service. */
const S3_NETWORK = `${PREFIX}-s3-net`;
const MARIADB = `${PREFIX}-mariadb`;
const BACKUP = `${PREFIX}-backup`;
const S3 = `${PREFIX}-s3-test-double`;
const S3_IMAGE = "mail-platform-test/internet-s3:latest";
const S3_PORT = 5000;
const BUCKET = "mail-platform-backup";

const secret = () => crypto.randomBytes(12).toString("hex");
const REPOSITORY_PASSWORD = `repo-${secret()}`;
/** moto accepts any key pair; the job must still pass them to restic (and show neither). */
const ACCESS_KEY = `AKIA${crypto.randomBytes(8).toString("hex").toUpperCase()}`;
const SECRET_KEY = `s3-${secret()}`;
const PASSWORDS = Object.fromEntries(Object.keys(DATABASE_USERS).map((u) => [u, secret()])) as Record<DatabaseUser, string>;
const DATABASES = [DATABASE_NAMES.postfixadmin, DATABASE_NAMES.roundcube];
/** What the job may take to open a repository it cannot reach (backup.conf's RESTIC_OPEN_TIMEOUT, seconds). */
const OPEN_TIMEOUT_S = 60;

const PATHS = {
  conf: "/etc/mail-platform/backup.conf",
  password: "/etc/mail-platform/backup-password",
  s3Env: "/etc/mail-platform/backup-s3.env",
  myCnf: "/etc/mail-platform/backup-my.cnf",
  mailboxes: "/srv/backup/data/mailboxes",
  restore: "/srv/backup/restore",
  metrics: "/var/lib/mail-platform/metrics",
  staging: "/var/lib/mail-platform/backup-staging",
};

const CANARY = "example.org/anna/Maildir/cur/1796000000.M1P1.host,S=40:2,S";
const MAILBOX_FILES: Record<string, string> = {
  [CANARY]: "From: a@example.net\r\nSubject: first\r\n\r\nhello over S3\r\n",
  "example.org/bob/Maildir/new/1796000004.M5P1.host": "Subject: unread\r\n\r\nnew mail\r\n",
};

function backupConf(repository: string): string {
  const values: Record<string, string> = {
    BACKUP_REPOSITORIES: "s3",
    REPO_S3: repository,
    REPO_S3_ENV: PATHS.s3Env,
    RESTIC_PASSWORD_FILE: PATHS.password,
    BACKUP_HOST: "mail-platform",
    BACKUP_DATABASES: DATABASES.join(" "),
    MYSQL_DEFAULTS_FILE: PATHS.myCnf,
    BACKUP_PATHS: PATHS.mailboxes,
    MAILBOXES_PATH: PATHS.mailboxes,
    BACKUP_STAGING: PATHS.staging,
    RESTORE_DIR: PATHS.restore,
    RESTIC_OPEN_TIMEOUT: String(OPEN_TIMEOUT_S),
  };
  return Object.entries(values)
    .map(([k, v]) => `${k}="${v}"\n`)
    .join("");
}

/** The value of `metric{labels}` in a textfile, or undefined. */
function metricValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("backups to an S3 repository (moto_server, the test double) in images/backup", () => {
  let root = "";
  let backupImage = "";
  let repository = "";
  const dir = (name: string) => path.join(root, name);
  const metrics = () => fs.readFileSync(path.join(dir("metrics"), "backup.prom"), "utf8");
  const job = (): Promise<RunResult> => dockerExecAsync(BACKUP, ["run-job", "backup", "backup-run"]);
  /** restic against the S3 repository with the job's own configuration and environment (backup-lib.sh). */
  const restic = (args: string[]): RunResult =>
    dockerExec(BACKUP, [
      "sh",
      "-c",
      '. /usr/local/lib/mail-platform/backup-lib.sh && load_config && use_repository s3 && exec restic "$@"',
      "restic",
      ...args,
    ]);
  /** The bucket's keys, listed through moto's S3 API (ListObjectsV2) from inside the test double. */
  const bucketKeys = (): string[] => {
    const r = dockerExec(S3, ["curl", "-fsS", `http://127.0.0.1:${S3_PORT}/${BUCKET}?list-type=2&max-keys=1000`]);
    assert.equal(r.code, 0, explain(r));
    assert.doesNotMatch(r.stdout, /<IsTruncated>true<\/IsTruncated>/, "one page lists the whole bucket");
    return [...r.stdout.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
  };
  const noSecret = (text: string) => {
    for (const s of [REPOSITORY_PASSWORD, SECRET_KEY, PASSWORDS.backup]) assert.ok(!text.includes(s), `a secret appears in:\n${text}`);
  };

  before(async () => {
    const t0 = Date.now();
    const [mariadbImage, image] = [await buildImage("mariadb"), await buildImage("backup")];
    backupImage = image;
    const build = docker([
      "build",
      "-q",
      "--build-arg",
      `BASE_IMAGE=${BASE_IMAGE}`,
      "-t",
      S3_IMAGE,
      path.join(__dirname, "..", "e2e", "internet", "s3"),
    ]);
    assert.equal(build.code, 0, `building test/e2e/internet/s3: ${explain(build)}`);
    console.log(`# images built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
    for (const d of ["mailboxes", "restore", "metrics"]) fs.mkdirSync(dir(d), { recursive: true });
    for (const [file, content] of Object.entries(MAILBOX_FILES)) {
      fs.mkdirSync(path.dirname(path.join(dir("mailboxes"), file)), { recursive: true });
      fs.writeFileSync(path.join(dir("mailboxes"), file), content);
    }

    const subnet = createInternalNetwork(NETWORK, "backup-s3");
    createInternalNetwork(S3_NETWORK, "backup-s3");
    // An empty S3 service: nobody made the bucket, the first run must (as restic init does).
    mustDocker(["run", "-d", "--name", S3, "--network", S3_NETWORK, S3_IMAGE]);
    const tuning = stackPlatform("Pulumi.dev.yaml").tuning;
    createMariadb(
      MARIADB,
      NETWORK,
      mariadbImage,
      renderMariadbFiles({ internalSubnet: subnet, tuning, rootPassword: secret(), passwords: PASSWORDS }),
    );
    startMariadb(MARIADB);
    rootQuery(MARIADB, DATABASE_NAMES.postfixadmin, "CREATE TABLE probe (id INT PRIMARY KEY, note VARCHAR(40))");
    rootQuery(MARIADB, DATABASE_NAMES.postfixadmin, "INSERT INTO probe VALUES (1, 'stored in S3')");
    await waitHealthy(S3, 60_000);
    const s3Ip = inspect(S3, `{{(index .NetworkSettings.Networks "${S3_NETWORK}").IPAddress}}`);
    assert.match(s3Ip, /^\d+\.\d+\.\d+\.\d+$/, "the test double's address");
    repository = `s3:http://${s3Ip}:${S3_PORT}/${BUCKET}`;

    await startTestContainer({
      name: BACKUP,
      image: backupImage,
      network: NETWORK,
      moreNetworks: [S3_NETWORK],
      mounts: [`${dir("mailboxes")}:${PATHS.mailboxes}:ro`, `${dir("restore")}:${PATHS.restore}`, `${dir("metrics")}:${PATHS.metrics}`],
      files: {
        [PATHS.conf]: backupConf(repository),
        [PATHS.password]: `${REPOSITORY_PASSWORD}\n`,
        [PATHS.s3Env]: `# moto accepts any key pair\nAWS_ACCESS_KEY_ID=${ACCESS_KEY}\nAWS_SECRET_ACCESS_KEY=${SECRET_KEY}\n`,
        [PATHS.myCnf]: `[client]\nhost=${MARIADB_ALIAS}\nport=${MARIADB_PORTS.sql}\nuser=${DATABASE_USERS.backup}\npassword=${PASSWORDS.backup}\n`,
      },
    });
    const version = dockerExec(BACKUP, ["restic", "version"]).stdout.trim();
    console.log(`# ${version}; repository ${repository}`);
  });

  after(() => {
    removeTestContainers(PREFIX, NETWORK);
    docker(["network", "rm", S3_NETWORK]);
    if (!root) return;
    if (backupImage)
      docker(["run", "--rm", "--network", "none", "-v", `${root}:/x`, "--entrypoint", "sh", backupImage, "-c", "rm -rf /x/*"]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("creates the bucket and the repository in it, backs up into it, and a file restores from it", async () => {
    assert.equal(
      dockerExec(S3, ["curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${S3_PORT}/${BUCKET}`]).code === 0,
      false,
      "no bucket yet",
    );
    const r = await job();
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /event=init repository=s3 result=ok/, explain(r));
    assert.match(r.stdout, /event=backup repository=s3 result=ok snapshot=[0-9a-f]{8} added_bytes=[1-9]\d*/, explain(r));
    noSecret(r.stdout + r.stderr);
    const m = metrics();
    assert.equal(metricValue(m, 'mailplatform_backup_repository_ok{repository="s3"}'), 1, `expected the metric 1, seen:\n${m}`);
    assert.equal(metricValue(m, 'mailplatform_backup_snapshots{repository="s3"}'), 1, m);

    // The repository is really in the bucket: its config, a key, a snapshot and data packs.
    const keys = bucketKeys();
    assert.ok(keys.includes("config"), `expected a "config" object in the bucket, seen: ${keys.join(" ")}`);
    const count = (prefix: string) => keys.filter((k) => k.startsWith(prefix)).length;
    assert.ok(count("data/") >= 1, `expected objects under data/, seen: ${keys.join(" ")}`);
    assert.equal(count("snapshots/"), 1, `expected one object under snapshots/, seen: ${keys.join(" ")}`);
    assert.ok(count("keys/") >= 1, `expected a key under keys/, seen: ${keys.join(" ")}`);
    console.log(`# bucket ${BUCKET}: ${keys.length} objects, ${count("data/")} under data/`);

    // A file restored from the S3 repository is the file backed up.
    const target = `${PATHS.restore}/drill`;
    const restore = restic([
      "restore",
      "latest",
      "--host",
      "mail-platform",
      "--target",
      target,
      "--include",
      `${PATHS.mailboxes}/${CANARY}`,
    ]);
    assert.equal(restore.code, 0, explain(restore));
    const restored = path.join(dir("restore"), "drill", PATHS.mailboxes, CANARY);
    assert.equal(fs.readFileSync(restored, "utf8"), MAILBOX_FILES[CANARY], `the restored ${restored}`);
    const dump = restic(["dump", "latest", `${PATHS.staging}/databases/${DATABASE_NAMES.postfixadmin}.sql`]);
    assert.equal(dump.code, 0, explain(dump, 2000));
    assert.match(dump.stdout, /INSERT INTO `probe` VALUES\s*\(1,'stored in S3'\);/, dump.stdout.slice(-1500));
  });

  it("fails visibly, naming the repository, when the S3 service cannot be reached, and works again once it can", async () => {
    const snapshotsBefore = bucketKeys().filter((k) => k.startsWith("snapshots/")).length;
    mustDocker(["network", "disconnect", S3_NETWORK, BACKUP]);
    const bound = (OPEN_TIMEOUT_S + 30) * 1000;
    const t0 = Date.now();
    const down = await job();
    const took = Date.now() - t0;
    console.log(`# with the S3 service unreachable the job ended after ${(took / 1000).toFixed(1)} s with exit ${down.code}`);
    assert.notEqual(down.code, 0, `expected the job to fail, seen:\n${explain(down)}`);
    assert.ok(took < bound, `expected the job to end within ${bound / 1000} s, seen ${(took / 1000).toFixed(1)} s`);
    assert.match(down.stdout, /event=open repository=s3 result=failed exit=124 reason="no answer within 60 s[^"]*"/, explain(down));
    assert.doesNotMatch(down.stdout, /event=init/, `an unreachable repository is never created again:\n${down.stdout}`);
    assert.match(down.stdout, /job=backup event=end result=failed/, explain(down));
    noSecret(down.stdout + down.stderr);
    let m = metrics();
    assert.equal(metricValue(m, 'mailplatform_backup_repository_ok{repository="s3"}'), 0, `expected the metric 0, seen:\n${m}`);
    assert.match(
      fs.readFileSync(path.join(dir("metrics"), "job-backup.prom"), "utf8"),
      /^mailplatform_job_exit_code\{job="backup"\} [1-9]\d*$/m,
    );

    // The link is back: the next run backs up into the same repository (no init), a second snapshot.
    mustDocker(["network", "connect", S3_NETWORK, BACKUP]);
    const up = await job();
    assert.equal(up.code, 0, explain(up));
    assert.doesNotMatch(up.stdout, /event=init/, `the repository is the one made before:\n${up.stdout}`);
    assert.match(up.stdout, /event=backup repository=s3 result=ok/, explain(up));
    m = metrics();
    assert.equal(metricValue(m, 'mailplatform_backup_repository_ok{repository="s3"}'), 1, `expected the metric 1, seen:\n${m}`);
    assert.equal(metricValue(m, 'mailplatform_backup_snapshots{repository="s3"}'), 2, m);
    const snapshotsAfter = bucketKeys().filter((k) => k.startsWith("snapshots/")).length;
    assert.equal(
      snapshotsAfter,
      snapshotsBefore + 1,
      `expected ${snapshotsBefore + 1} snapshot objects in the bucket, seen ${snapshotsAfter}`,
    );
  });

  it("a blip shorter than the bound: the run waits it out and backs up", async () => {
    mustDocker(["network", "disconnect", S3_NETWORK, BACKUP]);
    const running = job();
    // The blip itself: the link is down for a while, well under the bound, then back.
    await new Promise((r) => setTimeout(r, 10_000));
    mustDocker(["network", "connect", S3_NETWORK, BACKUP]);
    const r = await running;
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /event=backup repository=s3 result=ok/, explain(r));
    assert.equal(metricValue(metrics(), 'mailplatform_backup_repository_ok{repository="s3"}'), 1, metrics());
  });
});
