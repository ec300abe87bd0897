<?php
// PostfixAdmin settings for the one-shot provisioning run (no web UI is served). Read after
// Debian's /etc/postfixadmin/config.inc.php, whose values these override.
// Rendered by components/database/render.ts. SECRET: it holds the database password.
// Reference: /etc/postfixadmin/config.inc.php in the image, and
// https://github.com/postfixadmin/postfixadmin/blob/postfixadmin-3.3/config.inc.php

$CONF['configured'] = true;
// bcrypt hash of a random password nobody needs day to day; set so setup.php can never be
// "claimed" by whoever reaches it first if a web UI is added later.
$CONF['setup_password'] = '{{ setupPasswordHash }}';

$CONF['database_type'] = 'mysqli';
$CONF['database_host'] = '{{ databaseHost }}';
$CONF['database_port'] = '{{ databasePort }}';
$CONF['database_user'] = '{{ databaseUser }}';
$CONF['database_password'] = '{{ databasePassword }}';
$CONF['database_name'] = '{{ databaseName }}';

// crypt(3) SHA-512: stored as "$6$<salt>$<hash>" without a {SCHEME} prefix, which Dovecot reads
// with default_pass_scheme = SHA512-CRYPT (components/database exports MAILBOX_PASSWORD_SCHEME).
// 'dovecot:SHA512-CRYPT' would need doveadm in this image.
$CONF['encrypt'] = 'php_crypt:SHA512';
// Generated initial passwords are long random strings; the default rules (3 letters, 2 digits)
// would reject some of them for no security gain.
$CONF['password_validation'] = array(
    '/.{12}/' => 'password_too_short 12',
);

// The default looks every new domain and alias target up in DNS; the platform's domains need not
// resolve (example.test) and the containers have no route out.
$CONF['emailcheck_resolve_domain'] = 'NO';

// maildir = "<domain>/<local part>/", relative to Dovecot's mail root.
$CONF['domain_path'] = 'YES';
$CONF['domain_in_mailbox'] = 'NO';

// Quotas are MiB in the stack config; a multiplier of 1 MiB stores bytes Dovecot can use as-is.
$CONF['quota'] = 'YES';
$CONF['quota_multiplier'] = '1048576';
$CONF['domain_quota'] = 'YES';

// Nothing but the stack config creates addresses: no abuse@/hostmaster@... pointing at
// change-this-to-your.domain.tld, no welcome mail through an SMTP server on localhost.
$CONF['default_aliases'] = array();
$CONF['sendmail'] = 'NO';
$CONF['vacation'] = 'NO';
$CONF['fetchmail'] = 'NO';
