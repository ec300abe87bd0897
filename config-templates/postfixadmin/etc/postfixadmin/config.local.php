<?php
// PostfixAdmin settings, read by both uses of the image: the one-shot provisioning run
// (images/postfixadmin/provision.php, through postfixadmin-cli) and the web UI the administrators
// use (components/postfixadmin, Apache + mod_php). Read after Debian's
// /etc/postfixadmin/config.inc.php, whose values these override.
// Rendered by components/database/render.ts. SECRET: it holds the database password.
// Reference: /etc/postfixadmin/config.inc.php in the image, and
// https://github.com/postfixadmin/postfixadmin/blob/postfixadmin-3.3/config.inc.php

$CONF['configured'] = true;
// bcrypt hash of a random password nobody needs day to day; set so setup.php can never be
// "claimed" by whoever reaches it first (the UI's site refuses setup.php as well).
$CONF['setup_password'] = {{ setupPasswordHash }};

$CONF['database_type'] = 'mysqli';
$CONF['database_host'] = {{ databaseHost }};
$CONF['database_port'] = '{{ databasePort }}';
$CONF['database_user'] = {{ databaseUser }};
$CONF['database_password'] = {{ databasePassword }};
$CONF['database_name'] = {{ databaseName }};

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

// A new domain gets no abuse@/hostmaster@/postmaster@... aliases pointing at
// change-this-to-your.domain.tld: addresses come from the stack config or an administrator.
$CONF['default_aliases'] = array();
// No "Send email" tab: PostfixAdmin would talk SMTP to localhost:25, and there is no mail server
// in this container (smtp_server is left at its default on purpose, nothing may use it).
$CONF['sendmail'] = 'NO';
$CONF['vacation'] = 'NO';
$CONF['fetchmail'] = 'NO';

// No welcome mail on mailbox creation. PostfixAdmin offers a "Send welcome mail" checkbox, ticked
// by default, in the UI's new-mailbox form (MailboxHandler's welcome_mail field) and sends it
// through smtp_server: here localhost:25, where nothing listens, so an administrator would get
// an error after every creation. No setting turns the field off, so this hook (PostfixAdmin's
// documented $CONF['mailbox_struct_hook'], see config.inc.php) makes it non-editable and hidden
// with the default "no": the form does not show it, and a crafted request that posts it anyway
// is overridden (PFAHandler::set() puts a non-editable field's default on creation).
// postfixadmin-cli follows the same struct: `--welcome-mail` is no longer a valid option there.
if (!function_exists('x_mail_platform_mailbox_struct')) {
    function x_mail_platform_mailbox_struct(array $struct): array
    {
        $struct['welcome_mail']['editable'] = 0;
        $struct['welcome_mail']['display_in_form'] = 0;
        $struct['welcome_mail']['default'] = 0;
        return $struct;
    }
}
$CONF['mailbox_struct_hook'] = 'x_mail_platform_mailbox_struct';

// No password reset by mail (or SMS). Debian's default lets a mailbox user request a reset code
// sent to an "other e-mail" address from users/password-recover.php: it would be sent through
// the same absent localhost:25, and the login pages would offer a link that cannot work. Users
// change their password in the webmail; an administrator sets a forgotten one in this UI. Off
// for administrators as well (already Debian's default), so neither login page shows the link
// and the mailbox form does not ask for the reset address.
$CONF['forgotten_user_password_reset'] = false;
$CONF['forgotten_admin_password_reset'] = false;

// Debian's footer links every page to "Return to change-this-to-your.domain.tld", a placeholder
// that leads nowhere (and out of the company's network): no footer link at all.
$CONF['show_footer_text'] = 'NO';
$CONF['footer_text'] = '';
$CONF['footer_link'] = '';
