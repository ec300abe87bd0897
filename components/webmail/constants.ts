// What the Webmail's renderer, component, image and tests agree on.

/** Network alias on the internal network. */
export const WEBMAIL_ALIAS = "webmail";

/** Ports inside the container: plain HTTP, TLS ends at the ReverseProxy. */
export const WEBMAIL_PORTS = { http: 80 } as const;

/** Roundcube's main config; it holds its database password and the des_key. */
export const WEBMAIL_CONFIG_FILE = "/etc/roundcube/config.inc.php";
/** The password plugin's config; it holds the password-change account's password. */
export const WEBMAIL_PASSWORD_CONFIG_FILE = "/etc/roundcube/plugins/password/config.inc.php";
/** Where the stack's CA certificate is uploaded, when the platform issued the certificates. */
export const WEBMAIL_CA_FILE = "/etc/roundcube/platform-ca.pem";
