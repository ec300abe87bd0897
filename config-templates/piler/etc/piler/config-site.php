<?php
// Piler's web UI, rendered by components/archive/render.ts. The image's start script writes its
// own config-site.php only when none exists, and adds nothing to this one: every key it would
// append (RT, SPHINX_MAIN_INDEX, SPHINX_HOSTNAME, SPHINX_HOSTNAME_READONLY) is here.

define('SITE_NAME_CONST', 'SITE_NAME');

// Served by the ReverseProxy on web.archiveHostname; TLS ends there, so links are https.
$config[SITE_NAME_CONST] = {{ siteName }};
$config['SITE_URL'] = {{ siteUrl }};

$config['SMTP_DOMAIN'] = {{ smtpDomain }};
$config['SMTP_FROMADDR'] = {{ smtpFromAddress }};
$config['ADMIN_EMAIL'] = {{ adminEmail }};

$config['DECRYPT_BINARY'] = '/usr/bin/pilerget';
$config['DECRYPT_ATTACHMENT_BINARY'] = '/usr/bin/pileraget';
$config['PILER_BINARY'] = '/usr/sbin/piler';

// The platform's MariaDB, Piler's own database and account.
$config['DB_HOSTNAME'] = {{ dbHostname }};
$config['DB_DATABASE'] = {{ dbDatabase }};
$config['DB_USERNAME'] = {{ dbUsername }};
$config['DB_PASSWORD'] = {{ dbPassword }};

// No memcached in this platform.
$config['MEMCACHED_ENABLED'] = 0;

// The SearchIndex (Manticore), real-time tables. Reads go to the same listener as writes: the
// UI writes tags, notes and its audit trail there too.
$config['RT'] = 1;
$config['SPHINX_MAIN_INDEX'] = 'piler1';
$config['SPHINX_HOSTNAME'] = {{ sphinxHostname }};
$config['SPHINX_HOSTNAME_READONLY'] = {{ sphinxHostname }};
