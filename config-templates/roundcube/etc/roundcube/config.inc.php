<?php
// Roundcube 1.6 configuration of the mail platform's webmail. Everything not set here keeps
// Roundcube's default (/etc/roundcube/defaults.inc.php):
// https://github.com/roundcube/roundcubemail/blob/release-1.6/config/defaults.inc.php
// Values are PHP literals rendered by components/webmail/render.ts.
$config = [];

// Roundcube's own database in the platform's MariaDB (sessions, users, preferences, contacts).
// The entrypoint creates the schema when it is missing.
$config['db_dsnw'] = {{ dbDsn }};

// IMAP to Dovecot with STARTTLS: Dovecot refuses plaintext authentication on an unencrypted
// connection, and the password must not cross the network in clear anyway.
$config['imap_host'] = {{ imapHost }};
// Submission to Postfix with STARTTLS, authenticated as the logged-in user: Postfix then applies
// the same sender checks, rate limits and DKIM signing as for any mail client.
$config['smtp_host'] = {{ smtpHost }};
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';

// Verify Dovecot's and Postfix's certificates: against the platform's CA when it issued them,
// else against the system's public CAs. Both serve the primary hostname's certificate when the
// client sends no SNI name, so that is the name checked.
$config['imap_conn_options'] = {{ tlsOptions }};
$config['smtp_conn_options'] = {{ tlsOptions }};

// Logins are full addresses, as in PostfixAdmin; no domain is appended.
$config['username_domain'] = '';
$config['login_lc'] = 2;
// Failed logins allowed per account and minute before Roundcube refuses further attempts.
$config['login_rate_limit'] = {{ loginRateLimit }};

// TLS ends at the ReverseProxy, which only serves HTTPS: generate https URLs and mark cookies
// Secure (use_https makes rcube_utils::https_check() true). force_https would redirect the plain
// HTTP the proxy and the healthcheck use, and is mutually exclusive with use_https.
$config['use_https'] = true;
$config['force_https'] = false;
$config['session_samesite'] = 'Lax';
$config['x_frame_options'] = 'sameorigin';
// Roundcube compares proxy_whitelist entries as exact addresses (in_array), so it cannot express
// "the internal subnet". Apache's mod_remoteip does that instead (see the site config) and
// hands PHP the client's address as REMOTE_ADDR, so Roundcube must not re-read the header.
$config['proxy_whitelist'] = [];

// Encrypts the IMAP password kept in the session. A random secret per deployment.
$config['des_key'] = {{ desKey }};
$config['cipher_method'] = 'AES-256-CBC';

$config['plugins'] = {{ plugins }};

// Logs to the container's stdout, like every other service of the platform.
$config['log_driver'] = 'stdout';
$config['log_logins'] = true;

$config['product_name'] = {{ productName }};
$config['support_url'] = '';
$config['display_product_info'] = 0;
$config['skin'] = 'elastic';
$config['enable_spellcheck'] = false;
$config['enable_installer'] = false;
