// What the ContentFilter's renderers, component, images and tests agree on.

/** Network aliases on the internal network; others get them only through the component's outputs. */
export const AMAVIS_ALIAS = "amavis";
export const SPAMD_ALIAS = "spamd";
export const CLAMAV_ALIAS = "clamav";

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

/** Path of a domain's DKIM key inside the Amavis container. */
export function dkimKeyPath(domain: string, selector: string): string {
  return `${DKIM_DIR}/${domain}.${selector}.pem`;
}
