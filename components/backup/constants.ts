// What the Backup's renderer, component, image (images/backup) and tests agree on.

/** The jobs, as run-job names them in logs and metrics (the monitoring's JobNeverRan watches each). */
export const BACKUP_JOBS = { backup: "backup", check: "backup-check", drill: "restore-drill" } as const;

/** The configuration images/backup/backup-lib.sh reads, and its secret files. */
export const BACKUP_CONF_FILE = "/etc/mail-platform/backup.conf";
export const BACKUP_PASSWORD_FILE = "/etc/mail-platform/backup-password";
export const BACKUP_MYSQL_FILE = "/etc/mail-platform/backup-my.cnf";
/** A repository's own environment (S3 keys), exported for that repository only. */
export const backupEnvFile = (repository: string) => `/etc/mail-platform/backup-${repository}.env`;

/** `volumePaths.backups` inside the backup container: local repositories and restores. */
export const BACKUP_ROOT = "/srv/backup";
/** Where a mailbox is restored to: also mounted, read-only and at the same path, in Dovecot's container for `doveadm import`. */
export const RESTORE_DIR = "/srv/backup/restore";
/** The data backed up, each volume mounted read-only under here by its name. */
export const BACKUP_DATA_ROOT = "/srv/backup/data";
