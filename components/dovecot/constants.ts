// Fixed facts about the Dovecot container that the renderer, the component and the tests share.

/** Ports inside the container (standard ones; the published host ports come from the stack config). */
export const DOVECOT_PORTS = {
  imap: 143,
  imaps: 993,
  pop3: 110,
  pop3s: 995,
  managesieve: 4190,
  lmtp: 24,
  /** Dovecot's auth service for Postfix's SASL, over TCP on the internal network. */
  sasl: 12345,
} as const;

/** Network alias on the internal network; only this module types it. */
export const DOVECOT_ALIAS = "dovecot";

/** Where the mailboxes volume is mounted; PostfixAdmin's maildir column is relative to it. */
export const MAIL_ROOT = "/var/vmail";

/** uid/gid of `vmail`, which owns every Maildir (created with this id in images/dovecot). */
export const VMAIL_ID = 5000;

export const TLS_DIR = "/etc/dovecot/tls";
/** Root-only folder: private keys and the SQL credentials. */
export const PRIVATE_DIR = "/etc/dovecot/private";
export const SQL_CONFIG_FILE = `${PRIVATE_DIR}/sql.conf.ext`;

export const certFile = (domain: string): string => `${TLS_DIR}/${domain}.crt`;
export const keyFile = (domain: string): string => `${PRIVATE_DIR}/${domain}.key`;
