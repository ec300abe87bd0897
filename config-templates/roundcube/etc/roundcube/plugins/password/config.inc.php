<?php
// Password change, written straight into PostfixAdmin's `mailbox` table, which Dovecot
// authenticates against. Options: plugins/password/config.inc.php.dist of Roundcube 1.6.
$config = [];
$config['password_driver'] = 'sql';
// An account allowed to UPDATE mailbox.password only (not Roundcube's own database account).
$config['password_db_dsn'] = {{ passwordDsn }};
// %P is the new password hashed by password_algorithm, %u the logged-in user; the plugin escapes both.
$config['password_query'] = {{ passwordQuery }};
// The format PostfixAdmin stores and Dovecot verifies ({{ passwordScheme }}): glibc crypt `$6$...`,
// without a `{SCHEME}` prefix.
$config['password_algorithm'] = {{ passwordAlgorithm }};
$config['password_algorithm_prefix'] = '';
// The user proves they know the current password before changing it.
$config['password_confirm_current'] = true;
$config['password_minimum_length'] = {{ passwordMinimumLength }};
$config['password_force_save'] = false;
$config['password_log'] = true;
