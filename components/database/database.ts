// The database tier: MariaDB (data on the SSD host path) with one least-privilege account per
// consumer, and PostfixAdmin's one-shot provisioning run (components/postfixadmin/provisioning.ts),
// which installs PostfixAdmin's schema and provisions the stack's domains, mailboxes and aliases.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PlatformConfig } from "../../config/platform";
import { containerFiles } from "../host/container-files";
import { serviceContainer } from "../host/service-container";
import { provisioningRun } from "../postfixadmin/provisioning";
import { Endpoint, PlatformNetworks, PostfixadminAccess, SqlEndpoint } from "../types";
import { MARIADB_ALIAS, MARIADB_DATADIR, MARIADB_PORTS } from "./constants";
import {
  DATABASE_NAMES,
  DATABASE_USERS,
  DatabaseUser,
  MARIADB_FILE_MODES,
  mariadbSizing,
  passwordChangeGrant,
  renderMariadbFiles,
} from "./render";

const DATABASE_TYPE = "mail-platform:database:Database";

export interface DatabaseArgs {
  platform: PlatformConfig;
  /** Image id of images/mariadb. */
  image: pulumi.Input<string>;
  /** Image id of images/postfixadmin (the provisioning run). */
  postfixadminImage: pulumi.Input<string>;
  /** MariaDB joins the internal network only. */
  networks: PlatformNetworks;
}

export class Database extends pulumi.ComponentResource {
  /** MariaDB on the internal network (alias `mariadb`, port 3306). */
  public readonly endpoint: pulumi.Output<Endpoint>;
  /** Postfix's read-only account on the PostfixAdmin database (start after `ready.provisioned`). Secret. */
  public readonly postfixSql: pulumi.Output<SqlEndpoint>;
  /** Dovecot's read-only account on the PostfixAdmin database (start after `ready.provisioned`). Secret. */
  public readonly dovecotSql: pulumi.Output<SqlEndpoint>;
  /** PostfixAdmin's read-write account on its database. Secret. */
  public readonly postfixadminSql: pulumi.Output<SqlEndpoint>;
  /** SpamAssassin's read-write account on the Bayes database. Secret. */
  public readonly bayesSql: pulumi.Output<SqlEndpoint>;
  /** Initial password per configured mailbox address; a mailbox keeps whatever its user set since. Secret. */
  public readonly mailboxPasswords: pulumi.Output<Record<string, string>>;
  /** Roundcube's own database and account. Secret. */
  public readonly roundcubeSql: pulumi.Output<SqlEndpoint>;
  /** The account that may change a mailbox's password in PostfixAdmin's tables, and nothing else (start after `ready.provisioned`). Secret. */
  public readonly passwordChangeSql: pulumi.Output<SqlEndpoint>;
  /** The built-in Piler's database and account. Secret. */
  public readonly pilerSql: pulumi.Output<SqlEndpoint>;
  /** The monitoring's exporter account (server status only, no database of its own). Secret. */
  public readonly monitoringSql: pulumi.Output<SqlEndpoint>;
  /** The backup job's account (reads every database for its dumps). Secret. */
  public readonly backupSql: pulumi.Output<SqlEndpoint>;
  /** What PostfixAdmin's web UI configures itself with, as the provisioning run does (start after `ready.provisioned`). Secret. */
  public readonly postfixadmin: pulumi.Output<PostfixadminAccess>;
  /** Initial password per PostfixAdmin super-administrator (`web.admins`); never reset later. Secret. */
  public readonly adminPasswords: pulumi.Output<Record<string, string>>;
  /**
   * What a consumer starts after (`startAfter`, i.e. dependsOn: ordering without re-creating it):
   * `server` once MariaDB is healthy (its own databases and accounts exist), `provisioned` once
   * the provisioning run has succeeded (PostfixAdmin's tables, mailboxes and grants exist); the
   * latter fails the deployment, with the run's output, when provisioning failed.
   */
  public readonly ready: { server: pulumi.Resource; provisioned: pulumi.Output<pulumi.Resource> };

  constructor(name: string, args: DatabaseArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(DATABASE_TYPE, name, {}, opts);
    const platform = args.platform;

    // Alphanumeric only: these passwords end up in SQL, PHP, Postfix and Dovecot config syntax,
    // where 32 random alphanumerics (~190 bits) are as strong as anything with quoting hazards.
    const newPassword = (resourceName: string, length: number) =>
      new random.RandomPassword(resourceName, { length, special: false, minLower: 2, minUpper: 2, minNumeric: 2 }, { parent: this });
    const rootPassword = newPassword(`${name}-password-root`, 32);
    const accountPasswords = Object.fromEntries(
      (Object.keys(DATABASE_USERS) as DatabaseUser[]).map((user) => [user, newPassword(`${name}-password-${user}`, 32)]),
    ) as Record<DatabaseUser, random.RandomPassword>;
    const setupPassword = newPassword(`${name}-password-postfixadmin-setup`, 32);
    // One per mailbox, named by its address: it is created with the mailbox and no later update
    // regenerates it (no keepers), matching provision.php, which never resets a password.
    const mailboxPasswords = Object.fromEntries(
      platform.mailboxes.map((m) => [m.address, newPassword(`${name}-mailbox-${m.address}`, 20).result]),
    );
    const adminPasswords = Object.fromEntries(platform.web.admins.map((a) => [a, newPassword(`${name}-admin-${a}`, 20).result]));

    // Not protected and not retained: the datadir is the host path volumePaths.database, so this
    // container can be replaced (new image, rotated password, changed config) without touching
    // data, and a replacement re-applies provision.sql on start.
    const mariadb = serviceContainer(
      `${name}-mariadb`,
      {
        service: "mariadb",
        platform,
        image: args.image,
        networks: args.networks,
        alias: MARIADB_ALIAS,
        files: containerFiles(
          this,
          {
            root: rootPassword.result,
            passwords: Object.fromEntries(Object.entries(accountPasswords).map(([u, p]) => [u, p.result])) as Record<
              DatabaseUser,
              pulumi.Output<string>
            >,
          },
          ({ root, passwords }) =>
            renderMariadbFiles({ internalSubnet: platform.internalSubnet, tuning: platform.tuning, rootPassword: root, passwords }),
        ),
        fileModes: MARIADB_FILE_MODES,
        mounts: [{ hostPath: platform.volumePaths.database, containerPath: MARIADB_DATADIR }],
        // The image's check answers only once the real server runs: the entrypoint's provisioning server uses another socket.
        startPeriodSeconds: 90,
        memoryMb: mariadbSizing(platform.tuning).innodbBufferPoolMb + 512,
        // InnoDB flushes on a clean shutdown; give it time rather than a SIGKILL.
        stopTimeoutSeconds: 60,
      },
      // Never two servers on one datadir, even for a moment: the old one goes before the new starts.
      { parent: this, deleteBeforeReplace: true },
    );

    // The endpoints carry the account, not the containers' outputs: a consumer that took
    // mariadb.id (or the provisioning run's exit code) into its config would be re-created by the
    // engine whenever MariaDB is replaced (or provisioning re-runs). Ordering is `ready`'s job.
    const account = (user: DatabaseUser, database: string): pulumi.Output<SqlEndpoint> =>
      pulumi.secret(
        accountPasswords[user].result.apply((password) => ({
          host: MARIADB_ALIAS,
          port: MARIADB_PORTS.sql,
          database,
          user: DATABASE_USERS[user],
          password,
        })),
      );
    this.postfixadminSql = account("postfixadmin", DATABASE_NAMES.postfixadmin);
    this.bayesSql = account("spamassassin", DATABASE_NAMES.spamassassin);
    this.roundcubeSql = account("roundcube", DATABASE_NAMES.roundcube);
    this.pilerSql = account("piler", DATABASE_NAMES.piler);
    this.monitoringSql = account("monitoring", "");
    this.backupSql = account("backup", "");
    this.postfixadmin = pulumi.secret(
      // bcryptHash is always set by the provider; mocks and the render harness report none, and
      // "*" then matches no password at all (PHP's password_verify fails closed).
      pulumi
        .all([this.postfixadminSql, setupPassword.bcryptHash])
        .apply(([sql, hash]): PostfixadminAccess => ({ sql, setupPasswordHash: hash ?? "*" })),
    );

    const provisioned = provisioningRun(name, this, {
      platform,
      image: args.postfixadminImage,
      networks: args.networks,
      access: this.postfixadmin,
      mailboxPasswords,
      adminPasswords,
      grants: [passwordChangeGrant(platform.internalSubnet)],
      mariadb,
    });
    this.ready = { server: mariadb, provisioned };

    this.postfixSql = account("postfix", DATABASE_NAMES.postfixadmin);
    this.dovecotSql = account("dovecot", DATABASE_NAMES.postfixadmin);
    this.passwordChangeSql = account("passwordChange", DATABASE_NAMES.postfixadmin);
    this.adminPasswords = pulumi.secret(pulumi.all(adminPasswords));
    this.endpoint = pulumi.output<Endpoint>({ host: MARIADB_ALIAS, port: MARIADB_PORTS.sql });
    this.mailboxPasswords = pulumi.secret(pulumi.all(mailboxPasswords));

    this.registerOutputs({
      endpoint: this.endpoint,
      postfixSql: this.postfixSql,
      dovecotSql: this.dovecotSql,
      postfixadminSql: this.postfixadminSql,
      bayesSql: this.bayesSql,
      mailboxPasswords: this.mailboxPasswords,
      roundcubeSql: this.roundcubeSql,
      passwordChangeSql: this.passwordChangeSql,
      pilerSql: this.pilerSql,
      monitoringSql: this.monitoringSql,
      backupSql: this.backupSql,
      postfixadmin: this.postfixadmin,
      adminPasswords: this.adminPasswords,
    });
  }
}
