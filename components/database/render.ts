// Pure renderers of the database tier: MariaDB's config and provisioning SQL, PostfixAdmin's
// config.local.php and the desired-state JSON its provisioning run converges to. Plain values in,
// file contents out; the component lifts them over Pulumi outputs so secrets stay secret.
import { AliasConfig, DomainConfig, MailboxConfig, parseCidr } from "../../config/schema";
import { Tuning } from "../../config/platform";
import { containerPath, RenderedFiles, renderTemplate } from "../../render/template";
import { phpString } from "../../render/php";
import { SqlEndpoint } from "../types";

/** Network alias of the MariaDB container; consumers get it through the component's outputs. */
export const MARIADB_HOST = "mariadb";
export const MARIADB_PORT = 3306;

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
} as const;
export type DatabaseUser = keyof typeof DATABASE_USERS;

export const MARIADB_CONFIG_TEMPLATE = "mariadb/etc/mysql/mariadb.conf.d/99-container.cnf";
export const MARIADB_PROVISION_TEMPLATE = "mariadb/etc/mysql/provision.sql";
export const POSTFIXADMIN_CONFIG_TEMPLATE = "postfixadmin/etc/postfixadmin/config.local.php";
/** Where the provisioning image's entrypoint reads the desired state (its default argument). */
export const DESIRED_STATE_PATH = "/etc/postfixadmin/desired-state.json";
/** MariaDB's datadir inside the container; the host path `volumePaths.database` is mounted here. */
export const MARIADB_DATADIR = "/var/lib/mysql";

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
  const { base, bits } = parseCidr(subnet);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
  return `${dotted(base)}/${dotted(mask)}`;
}

/** Escapes a value for a single-quoted SQL string literal. */
export function sqlString(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\0/g, "\\0");
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
  const host = accountHost(input.internalSubnet);
  const config = renderTemplate(MARIADB_CONFIG_TEMPLATE, {
    port: MARIADB_PORT,
    innodbBufferPoolMb: sizing.innodbBufferPoolMb,
    maxConnections: sizing.maxConnections,
  });
  const provision = renderTemplate(MARIADB_PROVISION_TEMPLATE, {
    accountHost: host,
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
  });
  return {
    [containerPath(MARIADB_CONFIG_TEMPLATE)]: config,
    [containerPath(MARIADB_PROVISION_TEMPLATE)]: provision,
  };
}

// ---- PostfixAdmin -------------------------------------------------------------------------------

export interface DesiredDomain {
  domain: string;
  description: string;
  /** Alias count limit; 0 = unlimited. */
  aliases: number;
  /** Mailbox count limit; 0 = unlimited. */
  mailboxes: number;
  /** Largest quota one mailbox of the domain may get, MiB; 0 = unlimited. */
  maxquotaMb: number;
  /** Total quota of the domain, MiB; 0 = unlimited. */
  quotaMb: number;
}

export interface DesiredMailbox {
  username: string;
  name: string;
  quotaMb: number;
  /** Used only when the mailbox is created; never to reset an existing one. Secret. */
  password: string;
}

/** A PostfixAdmin super-administrator (all domains). */
export interface DesiredAdmin {
  username: string;
  /** Used only when the admin is created; never to reset an existing one. Secret. */
  password: string;
}

export interface DesiredAlias {
  address: string;
  goto: string[];
}

/** What images/postfixadmin/provision.php converges the PostfixAdmin tables to. */
export interface DesiredState {
  domains: DesiredDomain[];
  mailboxes: DesiredMailbox[];
  aliases: DesiredAlias[];
  admins: DesiredAdmin[];
  /** SQL GRANTs on PostfixAdmin's tables to other accounts, applied after the schema upgrade. */
  grants: string[];
  /** Delete the rows of mailboxes and aliases the config managed and no longer declares, instead of deactivating them (others are never touched). */
  deleteRemovedMailboxes: boolean;
}

export interface MailConfig {
  domains: DomainConfig[];
  mailboxes: MailboxConfig[];
  aliases: AliasConfig[];
  deleteRemovedMailboxes: boolean;
}

/**
 * The desired state from the stack config. Domains are unlimited in counts and total size; the
 * per-mailbox cap is the largest quota configured in the domain, so a quota raised by hand in a UI
 * later cannot exceed what the stack config allows.
 */
export function desiredState(
  config: MailConfig,
  mailboxPasswords: Record<string, string>,
  adminPasswords: Record<string, string> = {},
  grants: string[] = [],
): DesiredState {
  const missing = config.mailboxes.filter((m) => mailboxPasswords[m.address] === undefined).map((m) => m.address);
  if (missing.length) throw new Error(`desiredState: no initial password for ${missing.join(", ")}`);
  return {
    domains: config.domains.map((d) => ({
      domain: d.name,
      description: `${d.name} (managed by mail-platform)`,
      aliases: 0,
      mailboxes: 0,
      maxquotaMb: Math.max(0, ...config.mailboxes.filter((m) => domainOf(m.address) === d.name).map((m) => m.quotaMb)),
      quotaMb: 0,
    })),
    mailboxes: config.mailboxes.map((m) => ({ username: m.address, name: m.name, quotaMb: m.quotaMb, password: mailboxPasswords[m.address] })),
    aliases: config.aliases.map((a) => ({ address: a.address, goto: [...a.goto].sort() })),
    admins: Object.keys(adminPasswords)
      .sort()
      .map((username) => ({ username, password: adminPasswords[username] })),
    grants,
    deleteRemovedMailboxes: config.deleteRemovedMailboxes,
  };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

export interface PostfixadminRenderInput {
  config: MailConfig;
  /** PostfixAdmin's own read-write account. */
  sql: SqlEndpoint;
  /** bcrypt hash of the setup password (PHP's password_verify accepts `$2a$`/`$2y$`). Secret. */
  setupPasswordHash: string;
  /** Initial password per configured mailbox address. Secret. */
  mailboxPasswords: Record<string, string>;
  /** Initial password per super-administrator address. Secret. */
  adminPasswords?: Record<string, string>;
  /** GRANTs the provisioning run applies once PostfixAdmin's tables exist. */
  grants?: string[];
}

/** config.local.php: the provisioning run and the web UI read the same settings. */
export function renderPostfixadminConfig(input: Pick<PostfixadminRenderInput, "sql" | "setupPasswordHash">): RenderedFiles {
  const config = renderTemplate(POSTFIXADMIN_CONFIG_TEMPLATE, {
    setupPasswordHash: phpString(input.setupPasswordHash),
    databaseHost: phpString(input.sql.host),
    databasePort: input.sql.port,
    databaseUser: phpString(input.sql.user),
    databasePassword: phpString(input.sql.password),
    databaseName: phpString(input.sql.database),
  });
  return { [containerPath(POSTFIXADMIN_CONFIG_TEMPLATE)]: config };
}

export function renderPostfixadminFiles(input: PostfixadminRenderInput): RenderedFiles {
  const state = desiredState(input.config, input.mailboxPasswords, input.adminPasswords ?? {}, input.grants ?? []);
  return {
    ...renderPostfixadminConfig(input),
    [DESIRED_STATE_PATH]: JSON.stringify(state, null, 2) + "\n",
  };
}
