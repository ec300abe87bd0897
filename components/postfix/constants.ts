// What the PostfixGateway's renderer, component, image and tests agree on.

/** Network alias on the internal network; others get it only through the component's outputs. */
export const POSTFIX_ALIAS = "postfix";

/** Ports Postfix listens on inside its container. */
/** The deferred-queue report's job name (its log lines, its metrics). */
export const QUEUE_REPORT_JOB = "queue-report";

export const POSTFIX_PORTS = { smtp: 25, submissions: 465, submission: 587, reinjection: 10025 } as const;

/** Where the queue lives inside the container (a host path is mounted here). */
export const POSTFIX_QUEUE_DIR = "/var/spool/postfix";

/** The lookup tables on PostfixAdmin's database, one query each. */
export const POSTFIX_SQL_FILES = ["virtual-domains.cf", "virtual-mailboxes.cf", "virtual-aliases.cf", "sender-login.cf"].map(
  (f) => `/etc/postfix/sql/${f}`,
);

/** Container path of one domain's key + chain file (private key first, as Postfix reads it). */
export function certificateFile(domain: string): string {
  return `/etc/postfix/tls/${domain}.pem`;
}
