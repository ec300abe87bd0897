// What the DovecotStore's renderer, component, image and tests agree on.

/** Network alias on the internal network; others get it only through the component's outputs. */
export const DOVECOT_ALIAS = "dovecot";

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

/** Dovecot's OpenMetrics page (the stats process's `http` listener): internal network only, never published. */
export const DOVECOT_METRICS_PORT = 9900;

/** Where the mailboxes volume is mounted; PostfixAdmin's maildir column is relative to it. */
export const MAIL_ROOT = "/var/vmail";

const TLS_DIR = "/etc/dovecot/tls";
/** Root-only folder: private keys and the SQL credentials. */
const PRIVATE_DIR = "/etc/dovecot/private";
export const SQL_CONFIG_FILE = `${PRIVATE_DIR}/sql.conf.ext`;

export const certFile = (domain: string): string => `${TLS_DIR}/${domain}.crt`;
export const keyFile = (domain: string): string => `${PRIVATE_DIR}/${domain}.key`;
