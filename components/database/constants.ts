// What the Database's renderer, component, image and tests agree on.

/** Network alias of MariaDB on the internal network; consumers get it only through the component's outputs. */
export const MARIADB_ALIAS = "mariadb";

/** Ports inside the MariaDB container. */
export const MARIADB_PORTS = { sql: 3306 } as const;

/** MariaDB's datadir inside the container; the host path `volumePaths.database` is mounted here. */
export const MARIADB_DATADIR = "/var/lib/mysql";
/** The accounts and rights the image's entrypoint applies on every start; it holds every password. */
export const MARIADB_PROVISION_FILE = "/etc/mysql/provision.sql";
