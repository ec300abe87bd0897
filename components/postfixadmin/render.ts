// Pure renderers of PostfixAdmin's files: config.local.php, which its provisioning run and its web
// UI share, the desired state the provisioning run converges PostfixAdmin's tables to, and the
// UI's Apache site and PHP settings. Plain values in, container path -> file content out.
import { platformPeers } from "../../config/network";
import { PlatformConfig } from "../../config/platform";
import { AliasConfig, DomainConfig, MailboxConfig } from "../../config/schema";
import { phpString } from "../../render/literals";
import { RenderedFiles, renderTemplates, TemplateValues } from "../../render/template";
import { PostfixadminAccess } from "../types";
import { DESIRED_STATE_PATH, POSTFIXADMIN_CONFIG_FILE } from "./constants";

/** The UI's upload modes: config.local.php root-only; the UI entrypoint hands it to www-data (0640). */
export const POSTFIXADMIN_UI_FILE_MODES: Record<string, string> = { [POSTFIXADMIN_CONFIG_FILE]: "0600" };
/** Seconds an idle admin session is kept before PHP may discard it. */
export const SESSION_LIFETIME_SECONDS = 3600;

interface DesiredDomain {
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

interface DesiredMailbox {
  username: string;
  name: string;
  quotaMb: number;
  /** Used only when the mailbox is created; never to reset an existing one. Secret. */
  password: string;
}

/** A PostfixAdmin super-administrator (all domains). */
interface DesiredAdmin {
  username: string;
  /** Used only when the admin is created; never to reset an existing one. Secret. */
  password: string;
}

interface DesiredAlias {
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

/** The stack settings the desired state comes from. */
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
    mailboxes: config.mailboxes.map((m) => ({
      username: m.address,
      name: m.name,
      quotaMb: m.quotaMb,
      password: mailboxPasswords[m.address],
    })),
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

/** config.local.php's values: the provisioning run and the web UI read the same settings. */
function configValues(access: PostfixadminAccess): TemplateValues {
  return {
    setupPasswordHash: phpString(access.setupPasswordHash),
    databaseHost: phpString(access.sql.host),
    databasePort: access.sql.port,
    databaseUser: phpString(access.sql.user),
    databasePassword: phpString(access.sql.password),
    databaseName: phpString(access.sql.database),
  };
}

export interface ProvisioningRenderInput {
  /** The domains, mailboxes and aliases to provision. */
  mail: MailConfig;
  access: PostfixadminAccess;
  /** Initial password per configured mailbox address. Secret. */
  mailboxPasswords: Record<string, string>;
  /** Initial password per super-administrator address. Secret. */
  adminPasswords?: Record<string, string>;
  /** GRANTs the provisioning run applies once PostfixAdmin's tables exist. */
  grants?: string[];
}

/** The provisioning run's files: config.local.php and the desired state; none of the UI's. */
export function renderProvisioningFiles(input: ProvisioningRenderInput): RenderedFiles {
  const state = desiredState(input.mail, input.mailboxPasswords, input.adminPasswords ?? {}, input.grants ?? []);
  return {
    ...renderTemplates("postfixadmin/etc/postfixadmin", { [POSTFIXADMIN_CONFIG_FILE]: configValues(input.access) }),
    [DESIRED_STATE_PATH]: JSON.stringify(state, null, 2) + "\n",
  };
}

export interface PostfixadminUiRenderInput {
  platform: Pick<PlatformConfig, "webHostnames" | "internalSubnet">;
  access: PostfixadminAccess;
}

/** The web UI's files: the same config.local.php as the provisioning run's, its Apache site and PHP settings. */
export function renderPostfixadminUiFiles(input: PostfixadminUiRenderInput): RenderedFiles {
  const { platform, access } = input;
  return renderTemplates("postfixadmin", {
    [POSTFIXADMIN_CONFIG_FILE]: configValues(access),
    "/etc/apache2/sites-enabled/postfixadmin.conf": {
      serverName: platform.webHostnames.admin,
      trustedProxies: platformPeers(platform.internalSubnet).join(" "),
    },
    "/etc/php/8.4/apache2/conf.d/90-mail-platform.ini": { sessionLifetimeSeconds: SESSION_LIFETIME_SECONDS },
  });
}
