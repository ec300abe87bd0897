// What the ContentFilter's renderers, component, images and tests agree on.

/** Network aliases on the internal network; others get them only through the component's outputs. */
export const AMAVIS_ALIAS = "amavis";
export const SPAMD_ALIAS = "spamd";
export const CLAMAV_ALIAS = "clamav";
export const SA_UPDATE_ALIAS = "sa-update";

/** Ports inside the containers. */
export const AMAVIS_PORTS = { inbound: 10024, originating: 10026 } as const;
export const SPAMD_PORTS = { spamd: 783 } as const;
export const CLAMAV_PORTS = { clamd: 3310 } as const;

/** Where Amavis's DKIM keys are uploaded (the entrypoint makes them readable by amavis only). */
const DKIM_DIR = "/etc/amavis/dkim";
/** The file with the Bayes SQL account; the entrypoints restrict it to the daemon's group. */
export const BAYES_SECRET_FILE = "/etc/spamassassin/bayes-sql-secret.cf";
/** Amavis's $TEMPBASE, a tmpfs in the container. */
export const AMAVIS_TEMP_DIR = "/var/lib/amavis/tmp";
/** Amavis's $QUARANTINEDIR, a host directory in the container. */
export const AMAVIS_QUARANTINE_DIR = "/var/lib/amavis/virusmails";
/** ClamAV's signature databases, a host directory in the container. */
export const CLAMAV_DATABASE_DIR = "/var/lib/clamav";

/** The scheduled jobs' names (in their log lines and metrics, and for `docker exec <container> run-job <name> ...`). */
export const SA_UPDATE_JOB = "sa-update";
export const FRESHCLAM_JOB = "freshclam";
export const BAYES_REPORT_JOB = "bayes-report";
/** The published rules (host path `sarules`): where the updater writes them (images/sa-update/sa-rules)... */
export const SA_RULES_PUBLISH_DIR = "/var/lib/mail-platform/sa-rules";
/** ...and where Amavis and spamd read them, read-only: SpamAssassin's own state directory, whose layout the updater keeps. */
export const SA_RULES_DIR = "/var/lib/spamassassin";
/** The updater's channel list and the channels' public keys. */
export const SA_UPDATE_CHANNELS_FILE = "/etc/mail-platform/sa-update/channels";
export const SA_UPDATE_KEYS_DIR = "/etc/mail-platform/sa-update/keys";

/** Path of a domain's DKIM key inside the Amavis container. */
export function dkimKeyPath(domain: string, selector: string): string {
  return `${DKIM_DIR}/${domain}.${selector}.pem`;
}
