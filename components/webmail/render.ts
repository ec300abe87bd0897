// Pure renderer of the Webmail's configuration (Roundcube 1.6, Apache, PHP): plain values in,
// container path -> file content out. The component lifts it over Pulumi outputs; tests call it directly.
import { PlatformConfig } from "../../config/platform";
import { platformPeers } from "../../config/network";
import { phpList, phpString } from "../../render/literals";
import { RenderedFiles, renderTemplates } from "../../render/template";
import { pemFile } from "../pki/pem";
import { MAILBOX_PASSWORD_SCHEME } from "../postfixadmin/constants";
import { Endpoint, SqlEndpoint } from "../types";
import { WEBMAIL_CA_FILE, WEBMAIL_CONFIG_FILE, WEBMAIL_PASSWORD_CONFIG_FILE } from "./constants";

/** Upload modes: the files with database passwords and the des_key root-only (the entrypoint hands them to www-data). */
export const WEBMAIL_FILE_MODES: Record<string, string> = { [WEBMAIL_CONFIG_FILE]: "0600", [WEBMAIL_PASSWORD_CONFIG_FILE]: "0600" };
/** Roundcube's failed logins allowed per account and minute (its own default, stated explicitly). */
const LOGIN_RATE_LIMIT = 3;
/** Shortest new password the password plugin accepts; PostfixAdmin's own rule is 12 characters. */
const PASSWORD_MINIMUM_LENGTH = 12;
/** Roundcube plugins enabled, in load order. */
const WEBMAIL_PLUGINS = ["managesieve", "password", "markasjunk", "forward_client_ip"];

export interface WebmailRenderInput {
  platform: PlatformConfig;
  /** Dovecot's IMAP (STARTTLS). */
  imap: Endpoint;
  /** Postfix's submission (STARTTLS, SASL). */
  submission: Endpoint;
  /** Dovecot's ManageSieve (STARTTLS). */
  managesieve: Endpoint;
  /** Roundcube's own database account (password in clear: the output is secret). */
  sql: SqlEndpoint;
  /** The account allowed to UPDATE PostfixAdmin's mailbox.password. */
  passwordSql: SqlEndpoint;
  /** PEM of the stack's CA; empty when the mail services' certificates are publicly trusted. */
  caCertPem: string;
  /** Roundcube's des_key (at least 24 characters; AES-256-CBC uses up to 32). */
  desKey: string;
}

class WebmailRenderError extends Error {}

/** Roundcube's DSN, `mysql://user:pass@host:port/db`; user and password URL-encoded (rcube_db::parse_dsn decodes them). */
export function mysqlDsn(sql: SqlEndpoint): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `mysql://${enc(sql.user)}:${enc(sql.password)}@${sql.host}:${sql.port}/${enc(sql.database)}`;
}

/** A Roundcube host with STARTTLS: `tls://host:port`. */
function startTlsHost(e: Endpoint): string {
  return `tls://${e.host}:${e.port}`;
}

/**
 * PHP stream SSL options for IMAP, SMTP and ManageSieve: verify the peer as the primary hostname
 * (the certificate Dovecot and Postfix serve by default: components/pki/hostnames.ts puts it on
 * the first domain's certificate), against the stack's CA when there is one.
 */
function tlsOptions(platform: PlatformConfig, caCertPem: string): string {
  const ssl = [
    `'verify_peer' => true`,
    `'verify_peer_name' => true`,
    `'peer_name' => ${phpString(platform.hostname)}`,
    `'allow_self_signed' => false`,
    ...(caCertPem.trim() ? [`'cafile' => ${phpString(WEBMAIL_CA_FILE)}`] : []),
  ];
  return `['ssl' => [${ssl.join(", ")}]]`;
}

/**
 * The password plugin's UPDATE of PostfixAdmin's mailbox row (only active mailboxes; `modified`
 * like PostfixAdmin does). The plugin requires exactly one affected row for success.
 */
const PASSWORD_QUERY = "UPDATE mailbox SET password = %P, modified = NOW() WHERE username = %u AND active = 1";

/** Roundcube's password_algorithm for a Dovecot scheme name PostfixAdmin stores. */
export function passwordAlgorithm(scheme: string): string {
  const known: Record<string, string> = { "SHA512-CRYPT": "sha512-crypt", "SHA256-CRYPT": "sha256-crypt", "BLF-CRYPT": "blowfish-crypt" };
  const algorithm = known[scheme.toUpperCase()];
  if (!algorithm)
    throw new WebmailRenderError(
      `mailbox password scheme ${scheme}: no Roundcube password_algorithm maps to it (known: ${Object.keys(known).join(", ")})`,
    );
  return algorithm;
}

export function renderWebmailFiles(input: WebmailRenderInput): RenderedFiles {
  const { platform, imap, submission, managesieve, sql, passwordSql, caCertPem, desKey } = input;
  if (desKey.length < 24) throw new WebmailRenderError(`desKey: Roundcube needs at least 24 characters, got ${desKey.length}`);
  const tls = tlsOptions(platform, caCertPem);
  const messageMb = platform.limits.messageSizeMb;

  const files = renderTemplates("roundcube", {
    [WEBMAIL_CONFIG_FILE]: {
      dbDsn: phpString(mysqlDsn(sql)),
      imapHost: phpString(startTlsHost(imap)),
      smtpHost: phpString(startTlsHost(submission)),
      tlsOptions: tls,
      loginRateLimit: LOGIN_RATE_LIMIT,
      desKey: phpString(desKey),
      plugins: phpList(WEBMAIL_PLUGINS),
      productName: phpString(`Webmail ${platform.domains[0].name}`),
    },
    [WEBMAIL_PASSWORD_CONFIG_FILE]: {
      passwordDsn: phpString(mysqlDsn(passwordSql)),
      passwordQuery: phpString(PASSWORD_QUERY),
      passwordScheme: MAILBOX_PASSWORD_SCHEME,
      passwordAlgorithm: phpString(passwordAlgorithm(MAILBOX_PASSWORD_SCHEME)),
      passwordMinimumLength: PASSWORD_MINIMUM_LENGTH,
    },
    "/etc/roundcube/plugins/managesieve/config.inc.php": {
      managesieveHost: phpString(startTlsHost(managesieve)),
      tlsOptions: tls,
    },
    "/etc/apache2/sites-enabled/roundcube.conf": {
      serverName: platform.hostname,
      trustedProxies: platformPeers(platform.internalSubnet).join(" "),
    },
    "/etc/php/8.4/apache2/conf.d/90-mail-platform.ini": {
      uploadMaxMb: messageMb,
      // Base64 in the form grows the upload by a third; leave room for it and the other fields.
      postMaxMb: Math.ceil(messageMb * 1.4) + 1,
      memoryLimitMb: Math.max(256, Math.ceil(messageMb * 4)),
    },
  });
  if (caCertPem.trim()) files[WEBMAIL_CA_FILE] = pemFile(caCertPem);
  return files;
}
