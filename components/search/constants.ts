// What the SearchIndex's renderer, component, the upstream Manticore image and the tests agree on.

/** Network alias of Manticore on the internal network. */
export const MANTICORE_ALIAS = "manticore";

/** Ports inside the container: Manticore's MySQL protocol, where Piler writes (rtindex=1) and its UI searches. */
export const MANTICORE_PORTS = { sql: 9306 } as const;

/** Where the image's searchd reads its config; the component names it on the command line too. */
export const MANTICORE_CONFIG_FILE = "/etc/manticoresearch/manticore.conf";
/** The image's data directory (its entrypoint chowns it to the manticore user). */
export const MANTICORE_DATA_DIR = "/var/lib/manticore";
