// The Backup: its pure renderer (backup.conf as images/backup/backup-lib.sh reads it, the secret
// files, the schedule), the stack rules for repositories, and the container the prod stack gets
// under mocks (what it reads read-only, what it writes, where the restores show up).
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { before, describe, it } from "node:test";
import { BACKUP_CONF_FILE, BACKUP_MYSQL_FILE, BACKUP_PASSWORD_FILE } from "../../components/backup/constants";
import { backupFileModes, renderBackupFiles } from "../../components/backup/render";
import { validateStack } from "../../config/validate";
import { readStackFile } from "../../config/stack-file";
import { ProgramRun, runProgram } from "../../tools/mock-run/run-program";
import { stackPlatform } from "../support/platforms";
import { containerNamed, dataVolumes, uploadModes, uploadOf } from "../support/registrations";

const ROOT = path.resolve(__dirname, "..", "..");
const MYSQL = { host: "mariadb", port: 3306, database: "", user: "backup", password: "db'secret" };

/** backup.conf as the jobs see it: sourced by sh, every variable printed back. */
function sourced(conf: string): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-conf-"));
  fs.writeFileSync(path.join(dir, "backup.conf"), conf);
  const out = execFileSync("sh", ["-c", `set -a; . "$1"; env`, "sh", path.join(dir, "backup.conf")], { encoding: "utf8", env: {} });
  return Object.fromEntries(
    out
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

describe("renderBackupFiles", () => {
  const prod = stackPlatform("Pulumi.prod.yaml");
  const withS3 = {
    ...prod,
    backup: {
      ...prod.backup,
      repositories: [...prod.backup.repositories, { name: "cold", url: "s3:https://s3.example.net/mail-backups/acme" }],
    },
  };
  const files = renderBackupFiles({
    platform: withS3,
    password: "repo-password",
    mysql: MYSQL,
    keys: { cold: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s3cr3t/key" } },
  });
  const vars = sourced(files[BACKUP_CONF_FILE]);

  it("names every repository: local ones under the backups volume, remote ones by their URL, S3 with its own keys' file", () => {
    assert.equal(vars.BACKUP_REPOSITORIES, "local nas cold");
    assert.equal(vars.REPO_LOCAL, "/srv/backup/repositories/local");
    assert.equal(vars.REPO_NAS, "rest:https://nas.acme-corp.com:8000/mail-platform");
    assert.equal(vars.REPO_COLD, "s3:https://s3.example.net/mail-backups/acme");
    assert.equal(vars.REPO_COLD_ENV, "/etc/mail-platform/backup-cold.env");
    assert.equal(vars.REPO_NAS_ENV, undefined, "a REST server takes no S3 keys");
    assert.equal(
      files["/etc/mail-platform/backup-cold.env"]
        .split("\n")
        .filter((l) => /^AWS_/.test(l))
        .join("\n"),
      "AWS_ACCESS_KEY_ID=AKIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=s3cr3t/key",
    );
  });

  it("dumps every database and backs up the mailboxes, TLS state, quarantine (and the built-in archive when there is one)", () => {
    assert.equal(vars.BACKUP_DATABASES, "postfixadmin spamassassin roundcube piler");
    assert.equal(vars.BACKUP_PATHS, "/srv/backup/data/mailboxes /srv/backup/data/acme /srv/backup/data/quarantine");
    assert.equal(vars.MAILBOXES_PATH, "/srv/backup/data/mailboxes");
    const builtin = renderBackupFiles({
      platform: { ...prod, archive: { ...prod.archive, intake: undefined } },
      password: "p",
      mysql: MYSQL,
      keys: {},
    });
    assert.match(sourced(builtin[BACKUP_CONF_FILE]).BACKUP_PATHS, / \/srv\/backup\/data\/archive$/);
  });

  it("keeps the stack's retention and check share, and the stack's instance as the snapshots' host", () => {
    assert.deepEqual([vars.KEEP_DAILY, vars.KEEP_WEEKLY, vars.KEEP_MONTHLY], ["14", "8", "24"]);
    assert.equal(vars.CHECK_READ_DATA_SUBSET, "5%");
    assert.equal(vars.BACKUP_HOST, prod.instanceName);
    assert.equal(vars.RESTORE_DIR, "/srv/backup/restore");
    // The drill loads every dump into restore_drill_<db> and looks for rows the stack must have.
    assert.equal(vars.DRILL_DATABASE_PREFIX, "restore_drill_");
    assert.equal(vars.DRILL_EXPECT_ROWS, "postfixadmin.domain postfixadmin.mailbox");
  });

  it("puts the password and the database account in files of their own, root only, and schedules the three jobs", () => {
    assert.equal(files[BACKUP_PASSWORD_FILE], "repo-password\n");
    assert.match(files[BACKUP_MYSQL_FILE], /^password = db'secret$/m);
    assert.doesNotMatch(files[BACKUP_CONF_FILE], /repo-password|db'secret|s3cr3t/, "backup.conf holds no secret");
    assert.deepEqual(Object.values(backupFileModes(withS3)), ["0600", "0600", "0600", "0600"]);
    const cron = files["/etc/cron.d/mail-platform"];
    assert.match(cron, /^17 2 \* \* \* root run-job backup backup-run /m);
    assert.match(cron, /^37 3 \* \* 0 root run-job backup-check backup-check /m);
    assert.match(cron, /^57 3 \* \* 0 root run-job restore-drill restore-drill /m);
  });
});

describe("backup.repositories rules", () => {
  const prod = readStackFile(path.join(ROOT, "Pulumi.prod.yaml")).values as Record<string, unknown>;
  const problems = (backup: unknown) => {
    const r = validateStack({ ...prod, backup }, { checkFiles: false });
    return r.ok ? [] : r.problems.map((p) => `${p.key}: ${p.expected}`);
  };

  it("wants each name once, S3's two key files, and keys only for S3", () => {
    const seen = problems({
      repositories: [
        { name: "local" },
        { name: "local" },
        { name: "cold", url: "s3:https://s3.example.net/b" },
        { name: "nas", url: "rest:https://nas:8000/x", accessKeyIdFile: "/k" },
      ],
    });
    assert.ok(
      seen.some((p) => /repositories\[1\]\.name: each repository name once/.test(p)),
      seen.join("\n"),
    );
    assert.ok(
      seen.some((p) => /repositories\[2\]\.accessKeyIdFile: set/.test(p)),
      seen.join("\n"),
    );
    assert.ok(
      seen.some((p) => /repositories\[2\]\.secretAccessKeyFile: set/.test(p)),
      seen.join("\n"),
    );
    assert.ok(
      seen.some((p) => /repositories\[3\]\.accessKeyIdFile: absent/.test(p)),
      seen.join("\n"),
    );
  });

  it("refuses a repository URL restic would read as a local path", () => {
    const seen = problems({ repositories: [{ name: "nas", url: "/mnt/nas" }] });
    assert.ok(
      seen.some((p) => /repositories\[0\]\.url/.test(p)),
      seen.join("\n"),
    );
  });
});

describe("Backup in the prod stack", () => {
  let run: ProgramRun;
  const backup = () => containerNamed(run.resources, "backup");

  before(async () => {
    run = await runProgram(path.join(ROOT, "Pulumi.prod.yaml"), "masked");
  });

  it("reads the data read-only and writes only its own volume and the job metrics", () => {
    const volumes = dataVolumes(backup().inputs).map((v) => `${v.hostPath} -> ${v.containerPath}${v.readOnly ? " (ro)" : ""}`);
    assert.deepEqual(volumes, [
      "/srv/raid/mail/backups -> /srv/backup",
      "/srv/nvme2/mailboxes -> /srv/backup/data/mailboxes (ro)",
      "/srv/nvme/mail/acme -> /srv/backup/data/acme (ro)",
      "/srv/nvme/mail/quarantine -> /srv/backup/data/quarantine (ro)",
      "/srv/nvme/mail/metrics -> /var/lib/mail-platform/metrics",
    ]);
  });

  it("joins the edge network for the NAS, and uploads its secrets root only", () => {
    const nets = (backup().inputs.networksAdvanced as { name: string }[]).map((n) => n.name);
    assert.deepEqual(nets, ["acme-internal", "acme-edge"]);
    const modes = uploadModes(backup());
    for (const f of [BACKUP_CONF_FILE, BACKUP_PASSWORD_FILE, BACKUP_MYSQL_FILE]) assert.equal(modes[f], "0600", f);
    assert.match(uploadOf(backup(), BACKUP_PASSWORD_FILE), /stand-in backup password/, "the password file's content, a secret");
  });

  it("is watched by the monitoring: each of its jobs must report a success", () => {
    const rules = uploadOf(containerNamed(run.resources, "monitoring"), "/etc/prometheus/rules/alerts.yml");
    for (const job of ["backup", "backup-check", "restore-drill"]) assert.match(rules, new RegExp(`"${job}"|\\b${job}\\b`), job);
  });
});
