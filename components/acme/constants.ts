// What the AcmeClient's renderer, component, image and the daemons that serve its chains agree on.

/** Network alias of the ACME client; the proxy reaches its HTTP-01 responder through AcmeClient.challengeEndpoint. */
export const ACME_ALIAS = "acme";

/** The ACME client's scheduled jobs: the renewal, and the check that every port serves what is on disk. */
export const ACME_JOBS = { renew: "acme-renew", tlsCheck: "tls-check" } as const;

/** lego's HTTP-01 responder inside the container (only while it orders). */
export const ACME_CHALLENGE_PORT = 80;

/** The ACME client's state (account, back-off, chains): the host path `volumePaths.acme` is mounted here. */
export const ACME_STATE_DIR = "/var/lib/acme";

/** Per-domain order files: order.conf, request.csr, bootstrap.pem and the optional ca.pem and *.secret. */
export const ACME_DOMAINS_DIR = "/etc/mail-platform/acme/domains";

/** Where a daemon's container mounts the ACME client's chains, read-only: one `<domain>/fullchain.pem` each. */
export const LIVE_CHAIN_DIR = "/var/lib/mail-platform/certificates";

/** tls-watch's list of the chains a daemon serves from LIVE_CHAIN_DIR (images/lib/tls-watch). */
export const TLS_WATCH_FILE = "/etc/mail-platform/tls-watch.conf";
