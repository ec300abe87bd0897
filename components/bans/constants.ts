// What the Bans renderer, component, image (images/bans) and tests agree on.

/** The jails, as fail2ban, the logs and the metrics' `jail` label name them. */
export const BAN_JAILS = {
  smtp: "smtp",
  imap: "imap",
  webmail: "webmail",
  admin: "admin",
  recidive: "recidive",
} as const;
export type BanJail = (typeof BAN_JAILS)[keyof typeof BAN_JAILS];

/** fail2ban's database directory inside the container (`volumePaths.bans`). */
export const BANS_DB_DIR = "/var/lib/fail2ban";

/** The environment variable that names this stack's chains for the image's start (stale ones are removed). */
export const BAN_CHAIN_ID_ENV = "MAIL_PLATFORM_BAN_CHAIN_ID";
