// The database tier: MariaDB (data on the SSD host path) with one least-privilege account per
// consumer, and a one-shot PostfixAdmin run that installs its schema and provisions the stack's
// domains, mailboxes and aliases through PostfixAdmin's own CLI.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PlatformConfig } from "../../config/platform";
import { filesHash, serviceContainer } from "../host/service-container";
import { Endpoint, NetworkRef, SqlEndpoint } from "../types";
import {
  DATABASE_NAMES,
  DATABASE_USERS,
  DatabaseUser,
  MARIADB_DATADIR,
  MARIADB_HOST,
  MARIADB_PORT,
  MARIADB_PROVISION_TEMPLATE,
  mariadbSizing,
  passwordChangeGrant,
  renderMariadbFiles,
  renderPostfixadminConfig,
  renderPostfixadminFiles,
} from "./render";
import { containerPath, RenderedFiles } from "../../render/template";

export const DATABASE_TYPE = "mail-platform:database:Database";

/**
 * The Dovecot password scheme of what PostfixAdmin stores (`$CONF['encrypt'] = 'php_crypt:SHA512'`):
 * a bare `$6$salt$hash` crypt string with no `{SCHEME}` prefix, so Dovecot's passdb needs
 * `default_password_scheme = SHA512-CRYPT`.
 */
export const MAILBOX_PASSWORD_SCHEME = "SHA512-CRYPT";

/**
 * The error message for a finished provisioning run, or undefined when it succeeded. A missing
 * exit code is not a failure: the provider reports one whenever `attach` is set, and only unit-test
 * mocks report none.
 */
export function provisioningFailure(containerName: string, exitCode: number | undefined | null, logs: string | undefined): string | undefined {
  if (exitCode === undefined || exitCode === null || exitCode === 0) return undefined;
  return (
    `PostfixAdmin provisioning (container ${containerName}) exited ${exitCode}. Fix the cause and run \`pulumi up\` again ` +
    `(add \`--replace\` on this container if nothing else changed). Its output:\n${logs ?? "(no output)"}`
  );
}

export interface DatabaseArgs {
  platform: PlatformConfig;
  /** Image id of images/mariadb. */
  image: pulumi.Input<string>;
  /** Image id of images/postfixadmin (the provisioning run). */
  postfixadminImage: pulumi.Input<string>;
  /** The platform's internal network; MariaDB joins nothing else. */
  network: NetworkRef;
}

export class Database extends pulumi.ComponentResource {
  /** MariaDB on the internal network (alias `mariadb`, port 3306). */
  public readonly endpoint: pulumi.Output<Endpoint>;
  /** Postfix's read-only account on the PostfixAdmin database (start after `ready.provisioned`). Secret. */
  public readonly postfixSql: pulumi.Output<SqlEndpoint>;
  /** Dovecot's read-only account on the PostfixAdmin database (start after `ready.provisioned`). Secret. */
  public readonly dovecotSql: pulumi.Output<SqlEndpoint>;
  /** PostfixAdmin's read-write account on its database (for a later web UI). Secret. */
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
  /** PostfixAdmin's config.local.php for its web UI (start after `ready.provisioned`). Secret. */
  public readonly postfixadminConfig: pulumi.Output<RenderedFiles>;
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

    const mariadbFiles = pulumi.secret(
      pulumi
        .output({
          root: rootPassword.result,
          passwords: Object.fromEntries(Object.entries(accountPasswords).map(([u, p]) => [u, p.result])) as Record<DatabaseUser, pulumi.Output<string>>,
        })
        .apply(({ root, passwords }) =>
          renderMariadbFiles({
            internalSubnet: platform.internalSubnet,
            tuning: platform.tuning,
            rootPassword: root,
            passwords,
          }),
        ),
    );

    // Not protected and not retained: the datadir is the host path volumePaths.database, so this
    // container can be replaced (new image, rotated password, changed config) without touching
    // data, and a replacement re-applies provision.sql on start.
    const mariadb = serviceContainer(
      `${name}-mariadb`,
      {
        dnsResolvers: platform.dnsResolvers,
        service: "mariadb",
        containerName: `${platform.instanceName}-mariadb`,
        image: args.image,
        networks: [{ network: args.network, aliases: [MARIADB_HOST] }],
        files: mariadbFiles,
        fileModes: { [containerPath(MARIADB_PROVISION_TEMPLATE)]: "0600" },
        mounts: [{ hostPath: platform.volumePaths.database, containerPath: MARIADB_DATADIR }],
        // Answers only once the real server runs: the entrypoint's provisioning server uses another socket.
        healthcheck: ["mariadb-admin", "ping", "--silent"],
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
          host: MARIADB_HOST,
          port: MARIADB_PORT,
          database,
          user: DATABASE_USERS[user],
          password,
        })),
      );
    this.postfixadminSql = account("postfixadmin", DATABASE_NAMES.postfixadmin);
    this.bayesSql = account("spamassassin", DATABASE_NAMES.spamassassin);
    this.roundcubeSql = account("roundcube", DATABASE_NAMES.roundcube);
    this.pilerSql = account("piler", DATABASE_NAMES.piler);
    const setupHash = setupPassword.bcryptHash.apply((h) => h ?? "*");

    const provisionFiles = pulumi.secret(
      pulumi
        // bcryptHash is always set by the provider; mocks and the render harness report none, and
        // "*" then matches no password at all (PHP's password_verify fails closed).
        .output({ sql: this.postfixadminSql, setupHash, passwords: mailboxPasswords, admins: adminPasswords })
        .apply(({ sql, setupHash, passwords, admins }) =>
          renderPostfixadminFiles({
            config: platform,
            sql,
            setupPasswordHash: setupHash,
            mailboxPasswords: passwords,
            adminPasswords: admins,
            grants: [passwordChangeGrant(platform.internalSubnet)],
          }),
        ),
    );

    // A one-shot run, not a service: the provider waits for it to exit (attach) and records the
    // exit code and output. Any change of the rendered files (the label shows it in a preview), of
    // the image or of the MariaDB container replaces it, which runs it again; the run is idempotent.
    const provision = new docker.Container(
      `${name}-provision`,
      {
        name: `${platform.instanceName}-postfixadmin-provision`,
        image: args.postfixadminImage,
        mustRun: false,
        attach: true,
        logs: true,
        restart: "no",
        networksAdvanced: [{ name: args.network.name }],
        uploads: provisionFiles.apply((files) =>
          Object.keys(files)
            .sort()
            .map((file) => ({ file, content: files[file], permissions: "0600" })),
        ),
        labels: [
          { label: "mail-platform.service", value: "postfixadmin-provision" },
          // A hash reveals nothing about the secrets in the files, and makes a change reviewable.
          { label: "mail-platform.desired-state-hash", value: pulumi.unsecret(provisionFiles.apply(filesHash)) },
          { label: "mail-platform.mariadb-container", value: mariadb.id },
        ],
        logDriver: "json-file",
      },
      { parent: this, dependsOn: [mariadb], deleteBeforeReplace: true },
    );

    // Whether or not the provider itself objects to a non-zero exit, this fails the deployment with
    // the run's output before any service that reads PostfixAdmin's tables is created.
    const provisioned = pulumi.all([provision.exitCode, provision.containerLogs]).apply(([exitCode, logs]) => {
      const problem = provisioningFailure(`${platform.instanceName}-postfixadmin-provision`, exitCode, logs);
      if (problem) throw new pulumi.ResourceError(problem, this);
      return provision as pulumi.Resource;
    });
    this.ready = { server: mariadb, provisioned };

    this.postfixSql = account("postfix", DATABASE_NAMES.postfixadmin);
    this.dovecotSql = account("dovecot", DATABASE_NAMES.postfixadmin);
    this.passwordChangeSql = account("passwordChange", DATABASE_NAMES.postfixadmin);
    this.postfixadminConfig = pulumi.secret(
      pulumi.all([this.postfixadminSql, setupHash]).apply(([sql, hash]) => renderPostfixadminConfig({ sql, setupPasswordHash: hash })),
    );
    this.adminPasswords = pulumi.secret(pulumi.all(adminPasswords));
    this.endpoint = pulumi.output<Endpoint>({ host: MARIADB_HOST, port: MARIADB_PORT });
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
      postfixadminConfig: this.postfixadminConfig,
      adminPasswords: this.adminPasswords,
    });
  }
}
