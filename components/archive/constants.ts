// What the Archive's renderer, component, the upstream Piler image and the tests agree on.

/** Network alias of the built-in Piler on the internal network. */
export const PILER_ALIAS = "piler";

/** Ports inside the Piler container: piler-smtp, the intake, and the web UI (nginx in the image, plain HTTP: TLS ends at the ReverseProxy). */
export const PILER_PORTS = { smtp: 25, http: 80 } as const;

/** MariaDB's port as the image expects it: its start script (.my.cnf) and its UI (DB_HOSTNAME) take no other. */
export const PILER_MYSQL_PORT = 3306;

/** Files carrying secrets (database password, encryption key, admin hash): uploaded 0600. */
export const PILER_SECRET_FILES = [
  "/etc/piler/piler.conf",
  "/etc/piler/piler.key",
  "/etc/piler/config-site.php",
  "/etc/piler/admin-password.hash",
];
/** The container's command: prepares ownership and environment, then runs the image's start script. */
export const PILER_START_SCRIPT = "/usr/local/sbin/mail-platform-piler-start";
/** The image's own start script (its Dockerfile's CMD). */
export const PILER_IMAGE_START_SCRIPT = "/start.sh";
/**
 * Piler's data directories inside the container, each on a host path: the store (the archived
 * messages, encrypted), the spool piler-smtp writes accepted copies to before the daemon
 * stores them (a copy Amavis already handed over must survive a container replacement), and the
 * directory newer releases move messages they could not process to.
 */
export const PILER_DATA_DIRS = { store: "/var/piler/store", spool: "/var/piler/tmp", error: "/var/piler/error" } as const;
