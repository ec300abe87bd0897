// Pure renderer of MariaDB's files: its config and the provisioning SQL that creates one
// least-privilege account per consumer. Plain values in, file contents out; the component lifts
// it over Pulumi outputs so the passwords stay secret.
import { Tuning } from "../../config/platform";
import { withNetmask } from "../../config/network";
import { sqlString } from "../../render/literals";
import { RenderedFiles, renderTemplates } from "../../render/template";
import { MARIADB_PORTS, MARIADB_PROVISION_FILE } from "./constants";

export const DATABASE_NAMES = {
  /** PostfixAdmin's schema: domains, mailboxes, aliases. */
  postfixadmin: "postfixadmin",
  /** SpamAssassin's Bayes (and later TxRep) store. */
  spamassassin: "spamassassin",
  /** Roundcube's users, identities, contacts and session data. */
  roundcube: "roundcube",
  /** The built-in Piler's metadata (its search index lives in Manticore). */
  piler: "piler",
} as const;

/** One account per consumer, each with only the rights provision.sql grants it. */
export const DATABASE_USERS = {
  postfix: "postfix",
  dovecot: "dovecot",
  postfixadmin: "postfixadmin",
  spamassassin: "spamassassin",
  roundcube: "roundcube",
  /** Roundcube's password plugin: may change a mailbox's password and nothing else. */
  passwordChange: "password_change",
  piler: "piler",
  /** The monitoring's MariaDB exporter: server status and process list, no table data. */
  monitoring: "monitoring",
  /** The backup job's dumps: reads every database, writes none. */
  backup: "backup",
} as const;
export type DatabaseUser = keyof typeof DATABASE_USERS;

/** The backup's restore drill loads its dumps into databases named so (and may write nowhere else). */
export const RESTORE_DRILL_DATABASE_PREFIX = "restore_drill_";

/** Upload modes: provision.sql holds every account's password, root only. */
export const MARIADB_FILE_MODES: Record<string, string> = { [MARIADB_PROVISION_FILE]: "0600" };

export interface MariadbRenderInput {
  /** The internal network's subnet; every account may log in from there only. */
  internalSubnet: string;
  tuning: Pick<Tuning, "hostCpus" | "postfixProcessLimit" | "amavisChildren" | "lmtpConcurrency">;
  rootPassword: string;
  passwords: Record<DatabaseUser, string>;
}

export interface MariadbSizing {
  innodbBufferPoolMb: number;
  maxConnections: number;
}

/**
 * Buffer pool: 128 MiB per core, at least 256 MiB (the tables plus a company's Bayes tokens fit)
 * and at most 2 GiB (beyond that the data set is smaller than the pool). Connections: one per
 * Postfix process (each may hold a lookup connection), Dovecot's auth and LMTP workers, the Amavis
 * children (Bayes), plus 50 for admin tools and PostfixAdmin.
 */
export function mariadbSizing(tuning: MariadbRenderInput["tuning"]): MariadbSizing {
  return {
    innodbBufferPoolMb: Math.min(2048, Math.max(256, 128 * tuning.hostCpus)),
    maxConnections: tuning.postfixProcessLimit + 2 * tuning.lmtpConcurrency + tuning.amavisChildren + 50,
  };
}

/** MariaDB's account host for an IPv4 subnet: `172.30.0.0/255.255.255.0` (it takes a netmask, not a prefix length). */
export function accountHost(subnet: string): string {
  return withNetmask(subnet);
}

/**
 * What the password-change account may do: read the two columns its WHERE clause tests and write
 * the password and its timestamp, on PostfixAdmin's mailbox table only. A column grant needs the
 * table to exist, so it is applied twice: by provision.sql on every MariaDB start once the table
 * is there, and by PostfixAdmin's provisioning run right after it creates the table.
 */
export function passwordChangeGrant(internalSubnet: string): string {
  return (
    `GRANT SELECT (username, active), UPDATE (password, modified) ON \`${DATABASE_NAMES.postfixadmin}\`.\`mailbox\` ` +
    `TO '${DATABASE_USERS.passwordChange}'@'${accountHost(internalSubnet)}'`
  );
}

export function renderMariadbFiles(input: MariadbRenderInput): RenderedFiles {
  const sizing = mariadbSizing(input.tuning);
  return renderTemplates("mariadb", {
    "/etc/mysql/mariadb.conf.d/99-container.cnf": {
      port: MARIADB_PORTS.sql,
      innodbBufferPoolMb: sizing.innodbBufferPoolMb,
      maxConnections: sizing.maxConnections,
    },
    [MARIADB_PROVISION_FILE]: {
      accountHost: accountHost(input.internalSubnet),
      postfixadminDatabase: DATABASE_NAMES.postfixadmin,
      spamassassinDatabase: DATABASE_NAMES.spamassassin,
      rootPassword: sqlString(input.rootPassword),
      postfixUser: DATABASE_USERS.postfix,
      postfixPassword: sqlString(input.passwords.postfix),
      dovecotUser: DATABASE_USERS.dovecot,
      dovecotPassword: sqlString(input.passwords.dovecot),
      postfixadminUser: DATABASE_USERS.postfixadmin,
      postfixadminPassword: sqlString(input.passwords.postfixadmin),
      spamassassinUser: DATABASE_USERS.spamassassin,
      spamassassinPassword: sqlString(input.passwords.spamassassin),
      roundcubeDatabase: DATABASE_NAMES.roundcube,
      roundcubeUser: DATABASE_USERS.roundcube,
      roundcubePassword: sqlString(input.passwords.roundcube),
      passwordChangeUser: DATABASE_USERS.passwordChange,
      passwordChangePassword: sqlString(input.passwords.passwordChange),
      passwordChangeGrant: passwordChangeGrant(input.internalSubnet),
      pilerDatabase: DATABASE_NAMES.piler,
      pilerUser: DATABASE_USERS.piler,
      pilerPassword: sqlString(input.passwords.piler),
      monitoringUser: DATABASE_USERS.monitoring,
      monitoringPassword: sqlString(input.passwords.monitoring),
      backupUser: DATABASE_USERS.backup,
      backupPassword: sqlString(input.passwords.backup),
      // A LIKE pattern: `_` is a wildcard unless escaped.
      drillDatabases: `${RESTORE_DRILL_DATABASE_PREFIX.replace(/_/g, "\\_")}%`,
    },
  });
}
