<?php
// Run by the entrypoint before Apache starts: waits for Roundcube's database (bounded, so a broken
// deployment fails visibly instead of hanging), creates Roundcube's schema when its `users` table
// is missing (Debian ships the DDL but no bin/initdb.sh), then applies the package's schema
// upgrades (what bin/updatedb.sh does), so a newer Debian package works on an older database.
define('INSTALL_PATH', '/var/lib/roundcube/');
require_once INSTALL_PATH . 'program/include/clisetup.php';

$waitSeconds = (int) (getenv('ROUNDCUBE_DB_WAIT_SECONDS') ?: 120);
$sqlDir = INSTALL_PATH . 'SQL';

$dsn = rcube_db::parse_dsn(rcube::get_instance()->config->get('db_dsnw'));
$pdoDsn = sprintf('mysql:host=%s;port=%d;dbname=%s', $dsn['hostspec'], $dsn['port'] ?? 3306, $dsn['database']);

$deadline = time() + $waitSeconds;
while (true) {
    try {
        new PDO($pdoDsn, $dsn['username'], $dsn['password'], [PDO::ATTR_TIMEOUT => 3, PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
        break;
    } catch (PDOException $e) {
        if (time() >= $deadline) {
            fwrite(STDERR, "roundcube: database {$dsn['hostspec']}/{$dsn['database']} not reachable after {$waitSeconds}s: {$e->getMessage()}\n");
            exit(1);
        }
        fwrite(STDERR, "roundcube: waiting for database {$dsn['hostspec']}: {$e->getMessage()}\n");
        sleep(2);
    }
}

$db = rcmail_utils::db();
if (!in_array($db->table_name('users'), (array) $db->list_tables())) {
    // A fresh schema is already at the package's version (its DDL records it in `system`).
    rcmail_utils::db_init($sqlDir);
} elseif (!rcmail_utils::db_update($sqlDir, 'roundcube', null, ['errors' => true, 'quiet' => true])) {
    fwrite(STDERR, "roundcube: schema update failed\n");
    exit(1);
}
