// What PostfixAdmin's renderer, its provisioning run, its web UI, its image and the tests agree on.

/** Network alias of the web UI on the internal network. */
export const POSTFIXADMIN_ALIAS = "postfixadmin";

/** Ports inside the UI's container: plain HTTP, TLS ends at the ReverseProxy. */
export const POSTFIXADMIN_PORTS = { http: 80 } as const;

/** The settings the provisioning run and the UI share; it holds the database password. */
export const POSTFIXADMIN_CONFIG_FILE = "/etc/postfixadmin/config.local.php";
/** Where the provisioning image's entrypoint reads the desired state (its default argument). */
export const DESIRED_STATE_PATH = "/etc/postfixadmin/desired-state.json";
/** The image's UI entrypoint; its default entrypoint is the one-shot provisioning run. */
export const SERVE_UI_ENTRYPOINT = "/usr/local/bin/serve-ui.sh";

/**
 * The Dovecot password scheme of what PostfixAdmin stores (`$CONF['encrypt'] = 'php_crypt:SHA512'`):
 * a bare `$6$salt$hash` crypt string with no `{SCHEME}` prefix, so Dovecot's passdb needs
 * `default_password_scheme = SHA512-CRYPT`, and Roundcube's password plugin writes the same.
 */
export const MAILBOX_PASSWORD_SCHEME = "SHA512-CRYPT";
