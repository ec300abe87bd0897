// Pure renderer of the Backup's files: plain values in, container path -> content out. The
// component lifts it over Pulumi outputs so the passwords and keys stay secret; tests call it
// directly.
import * as path from "path";
import { PlatformConfig } from "../../config/platform";
import { StorageVolume } from "../../config/schema";
import { shellWord } from "../../render/literals";
import { RenderedFiles, renderTemplates } from "../../render/template";
import { DATABASE_NAMES, RESTORE_DRILL_DATABASE_PREFIX } from "../database/render";
import { renderSchedule } from "../host/scheduled-jobs";
import { SqlEndpoint } from "../types";
import {
  BACKUP_CONF_FILE,
  BACKUP_DATA_ROOT,
  BACKUP_JOBS,
  BACKUP_MYSQL_FILE,
  BACKUP_PASSWORD_FILE,
  BACKUP_ROOT,
  backupEnvFile,
  RESTORE_DIR,
} from "./constants";

type BackupPlatform = Pick<PlatformConfig, "instanceName" | "backup" | "schedules" | "features" | "archive" | "mailboxes">;

/** One S3 repository's keys, read from the files the stack names (secret). */
export interface RepositoryKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface BackupRenderInput {
  platform: BackupPlatform;
  /** The repositories' password (secret). */
  password: string;
  /** Database.backupSql (secret). */
  mysql: SqlEndpoint;
  /** Keys of each S3 repository, by name (secret). */
  keys: Record<string, RepositoryKeys>;
}

/**
 * The volumes backed up, each mounted read-only at BACKUP_DATA_ROOT/<volume>: the mailboxes, the
 * TLS state (ACME account and chains), the quarantine, and the built-in archive's store. Not the
 * queue (mail in transit, resent from an old copy it would be delivered twice), nor what is
 * rebuilt or fetched again (search index, rules, signatures, metrics).
 */
export function backedUpVolumes(p: Pick<PlatformConfig, "features" | "archive">): StorageVolume[] {
  const builtinArchive = p.features.archive && !p.archive.intake;
  return ["mailboxes", "acme", "quarantine", ...(builtinArchive ? (["archive"] as const) : [])];
}

/** Where restore-mailbox writes, as Dovecot's container sees it: the same path, read-only. */
export function restoreMount(p: Pick<PlatformConfig, "volumePaths">): { hostPath: string; containerPath: string; readOnly: true } {
  return { hostPath: path.posix.join(p.volumePaths.backups, "restore"), containerPath: RESTORE_DIR, readOnly: true };
}

/** A local repository's directory inside the container (under volumePaths.backups). */
function localRepository(name: string): string {
  return path.posix.join(BACKUP_ROOT, "repositories", name);
}

export function renderBackupFiles(input: BackupRenderInput): RenderedFiles {
  const p = input.platform;
  const repos = p.backup.repositories;
  const repositoryLines = [
    `BACKUP_REPOSITORIES=${shellWord(repos.map((r) => r.name).join(" "))}`,
    ...repos.flatMap((r) => {
      const key = `REPO_${r.name.toUpperCase()}`;
      return [
        `${key}=${shellWord(r.url ?? localRepository(r.name))}`,
        ...(r.url?.startsWith("s3:") ? [`${key}_ENV=${shellWord(backupEnvFile(r.name))}`] : []),
      ];
    }),
  ];
  const s3 = repos.filter((r) => r.url?.startsWith("s3:"));
  const keys = (name: string): RepositoryKeys => {
    const k = input.keys[name];
    if (!k) throw new Error(`backup.repositories ${name}: an S3 repository without its keys`);
    // One KEY=VALUE line each, read without a shell: no quoting, so no line break either.
    for (const v of [k.accessKeyId, k.secretAccessKey])
      if (/[\r\n\0]/.test(v)) throw new Error(`backup.repositories ${name}: a key holds a line break`);
    return k;
  };
  const files = renderTemplates("backup", {
    [BACKUP_CONF_FILE]: {
      host: shellWord(p.instanceName),
      repositories: repositoryLines.join("\n"),
      passwordFile: shellWord(BACKUP_PASSWORD_FILE),
      databases: shellWord(Object.values(DATABASE_NAMES).join(" ")),
      mysqlFile: shellWord(BACKUP_MYSQL_FILE),
      paths: shellWord(
        backedUpVolumes(p)
          .map((v) => path.posix.join(BACKUP_DATA_ROOT, v))
          .join(" "),
      ),
      mailboxesPath: shellWord(path.posix.join(BACKUP_DATA_ROOT, "mailboxes")),
      keepDaily: p.backup.keep.daily,
      keepWeekly: p.backup.keep.weekly,
      keepMonthly: p.backup.keep.monthly,
      checkReadData: shellWord(`${p.backup.checkReadDataPercent}%`),
      restoreDir: shellWord(RESTORE_DIR),
      drillPrefix: shellWord(RESTORE_DRILL_DATABASE_PREFIX),
      // Known content: every stack has a domain; one that declares mailboxes has their rows.
      drillExpectRows: shellWord(["postfixadmin.domain", ...(p.mailboxes.length ? ["postfixadmin.mailbox"] : [])].join(" ")),
    },
    [BACKUP_MYSQL_FILE]: { host: input.mysql.host, port: input.mysql.port, user: input.mysql.user, password: input.mysql.password },
    "/etc/mail-platform/backup-repository.env": s3.map((r) => ({ path: backupEnvFile(r.name), values: { ...keys(r.name) } })),
  });
  files[BACKUP_PASSWORD_FILE] = `${input.password}\n`;
  Object.assign(
    files,
    renderSchedule([
      { name: BACKUP_JOBS.backup, schedule: p.schedules.backup, command: "backup-run" },
      { name: BACKUP_JOBS.check, schedule: p.schedules.backupCheck, command: "backup-check" },
      { name: BACKUP_JOBS.drill, schedule: p.schedules.restoreDrill, command: "restore-drill" },
    ]),
  );
  return files;
}

/** Upload modes: the password, the database account and the S3 keys, root only (the jobs run as root). */
export function backupFileModes(p: Pick<PlatformConfig, "backup">): Record<string, string> {
  const s3 = p.backup.repositories.filter((r) => r.url?.startsWith("s3:")).map((r) => backupEnvFile(r.name));
  return Object.fromEntries([BACKUP_CONF_FILE, BACKUP_PASSWORD_FILE, BACKUP_MYSQL_FILE, ...s3].map((f) => [f, "0600"]));
}
