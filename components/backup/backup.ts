// Backup: one container (images/backup, restic and mariadb-client from Debian) whose cron runs the
// daily backup (every database dumped consistently, then the mailboxes, TLS state, quarantine and
// the built-in archive's store, to every repository of `backup.repositories`), the weekly
// integrity check and the weekly restore drill; `restore-mailbox` is run by hand (README). It reads
// the data through read-only mounts and writes only its own volume (local repositories, restores)
// and the jobs' metrics; no container gets the Docker socket.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { secretFromFile } from "../host/secret-file";
import { jobMetricsMount } from "../host/scheduled-jobs";
import { serviceContainer } from "../host/service-container";
import { PlatformNetworks, SqlEndpoint } from "../types";
import { BACKUP_DATA_ROOT, BACKUP_JOBS, BACKUP_ROOT } from "./constants";
import { backedUpVolumes, backupFileModes, renderBackupFiles, RepositoryKeys } from "./render";

const BACKUP_TYPE = "mail-platform:backup:Backup";

export interface BackupArgs {
  platform: PlatformConfig;
  /** Image id built from images/backup. */
  image: pulumi.Input<string>;
  /** The internal network for MariaDB; the edge only when a repository is elsewhere. */
  networks: PlatformNetworks;
  /** Database.backupSql. */
  mysql: pulumi.Input<SqlEndpoint>;
  /** Ordering only: MariaDB and provisioning, so the first dump finds the databases. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export class Backup extends pulumi.ComponentResource {
  /** The repositories' encryption password (secret): without it no snapshot can be read. */
  public readonly password: pulumi.Output<string>;
  /** The jobs the monitoring expects to succeed. */
  public readonly jobs: string[] = Object.values(BACKUP_JOBS);
  /** Every file the container receives (secret). */
  public readonly files: pulumi.Output<RenderedFiles>;

  constructor(name: string, args: BackupArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(BACKUP_TYPE, name, {}, opts);
    const p = args.platform;
    // Protected: a new password would leave every existing snapshot unreadable.
    this.password = p.backup.passwordFile
      ? secretFromFile(p.backup.passwordFile)
      : pulumi.secret(
          new random.RandomPassword(`${name}-password`, { length: 40, special: false }, { parent: this, protect: true }).result,
        );
    const keys: Record<string, pulumi.Output<RepositoryKeys>> = {};
    for (const r of p.backup.repositories) {
      if (r.accessKeyIdFile && r.secretAccessKeyFile)
        keys[r.name] = pulumi
          .all([secretFromFile(r.accessKeyIdFile), secretFromFile(r.secretAccessKeyFile)])
          .apply(([accessKeyId, secretAccessKey]) => ({
            accessKeyId,
            secretAccessKey,
          }));
    }

    this.files = containerFiles(this, { password: this.password, mysql: args.mysql, keys }, (v) =>
      renderBackupFiles({ platform: p, ...v }),
    );
    const remote = p.backup.repositories.some((r) => r.url);

    serviceContainer(
      `${name}-container`,
      {
        service: "backup",
        platform: p,
        image: args.image,
        networks: args.networks,
        alias: "backup",
        // Only to reach a repository elsewhere (S3, a REST server); local ones need no way out.
        edge: remote,
        files: this.files,
        fileModes: backupFileModes(p),
        mounts: [
          { hostPath: p.volumePaths.backups, containerPath: BACKUP_ROOT },
          ...backedUpVolumes(p).map((v) => ({
            hostPath: p.volumePaths[v],
            containerPath: path.posix.join(BACKUP_DATA_ROOT, v),
            readOnly: true,
          })),
          jobMetricsMount(p),
        ],
        startPeriodSeconds: 30,
        startAfter: args.startAfter,
      },
      { parent: this },
    );
    this.registerOutputs({ password: this.password, files: this.files });
  }
}
