<?php
// One provisioning round of PostfixAdmin, run as a one-shot container at deploy time:
//   1. install or upgrade PostfixAdmin's schema (its own upgrade.php),
//   2. apply the state's GRANTs (column rights of other accounts on PostfixAdmin's tables, which
//      only exist from step 1 on); every run, they are idempotent,
//   3. converge domains, mailboxes, aliases and super-administrators to the uploaded desired state
//      (JSON rendered by components/database/render.ts) through PostfixAdmin's own CLI, postfixadmin-cli.
// Idempotent: a second run with the same state changes nothing. Rules:
//   - existing domains and mailboxes are updated (description, limits, name, quota), never re-created;
//   - a mailbox's or an admin's password is set once, at creation, and NEVER reset afterwards (the
//     user may have changed it);
//   - the state's admins are active super-administrators (all domains); admins created by hand in
//     the UI are left alone;
//   - the run only ever removes what the stack config itself manages. Administrators also create
//     mailboxes and aliases in PostfixAdmin's web UI (components/postfixadmin); those are none of
//     the stack config's business and are never deactivated or deleted, only listed once per run
//     as "not managed by the stack config, left alone". Which addresses the config manages is
//     recorded in the table mail_platform_managed of PostfixAdmin's database (see
//     MANAGED_TABLE_SQL): an address enters it when the config declares it (created by the run,
//     or adopted when it already exists), and leaves it when the config drops it and the run
//     deactivates (active = 0) or, with deleteRemovedMailboxes, deletes it. After that it is
//     left alone like any other: an administrator may re-activate it in the UI (and turning
//     deleteRemovedMailboxes on later does not delete it: the UI can). A deployment
//     older than the record gets it on its next run, holding the addresses of that run's desired
//     state and the active ones earlier runs created (PostfixAdmin's log says who created what):
//     what was deactivated earlier, or made by hand, is not touched.
//     Deleting keeps the Maildir files on disk: PostfixAdmin only removes database rows, and no
//     postdeletion script is configured;
//   - domains are never deactivated or deleted (a domain missing from the state is left alone),
//     so they need no record.
// The database is read directly (PDO, PostfixAdmin's own credentials) only to decide what to do;
// every PostfixAdmin row is written through postfixadmin-cli (only the GRANTs of step 2 and the
// record of managed addresses go through PDO). Exits non-zero with a message naming what failed.
declare(strict_types=1);

const PFA_DIR = '/usr/share/postfixadmin';
const PFA_CLI = '/usr/bin/postfixadmin-cli';
const DB_WAIT_SECONDS = 120;

/**
 * The record of the addresses the stack config manages. Not a PostfixAdmin table: upgrade.php
 * ignores it, and the "mail_platform_" prefix keeps it clear of PostfixAdmin's own names.
 * Addresses are stored lower-case, as everything here compares them.
 */
const MANAGED_TABLE = 'mail_platform_managed';
const MANAGED_TABLE_SQL = <<<'SQL'
CREATE TABLE IF NOT EXISTS mail_platform_managed (
    kind ENUM('mailbox', 'alias') NOT NULL,
    address VARCHAR(255) NOT NULL,
    since DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (kind, address)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci
  COMMENT = 'mail-platform: mailboxes and aliases its provisioning run manages; others are left alone'
SQL;

function say(string $message): void
{
    fwrite(STDOUT, "provision: $message\n");
}

function fail(string $message): never
{
    fwrite(STDERR, "provision: FAILED: $message\n");
    exit(1);
}

/** Runs a command without a shell; returns [exit code, combined output]. */
function run(array $argv, ?string $cwd = null): array
{
    $proc = proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes, $cwd);
    if (!is_resource($proc)) {
        fail('cannot start ' . $argv[0]);
    }
    $output = stream_get_contents($pipes[1]);
    fclose($pipes[1]);
    return [proc_close($proc), trim((string) $output)];
}

/** postfixadmin-cli <args>; fails the run when the CLI reports an error. $secret values are masked in messages. */
function cli(array $args, array $secrets = []): void
{
    [$code, $output] = run(array_merge([PFA_CLI], $args));
    $shown = str_replace($secrets, '********', implode(' ', $args));
    // Step 8 re-reads the tables as well, in case a CLI path reports success without writing.
    if ($code !== 0) {
        fail("postfixadmin-cli $shown exited $code:\n" . str_replace($secrets, '********', $output));
    }
}

function check_state(mixed $state): array
{
    $problems = [];
    if (!is_array($state)) {
        fail('desired state is not a JSON object');
    }
    foreach (['domains', 'mailboxes', 'aliases'] as $key) {
        if (!isset($state[$key]) || !is_array($state[$key]) || !array_is_list($state[$key])) {
            $problems[] = "'$key' must be a list";
        }
    }
    // Added later: a state without them (an older deployment's) means none.
    foreach (['admins', 'grants'] as $key) {
        $state[$key] ??= [];
        if (!is_array($state[$key]) || !array_is_list($state[$key])) {
            $problems[] = "'$key' must be a list";
            $state[$key] = [];
        }
    }
    if (!isset($state['deleteRemovedMailboxes']) || !is_bool($state['deleteRemovedMailboxes'])) {
        $problems[] = "'deleteRemovedMailboxes' must be true or false";
    }
    foreach ($state['domains'] ?? [] as $i => $d) {
        foreach (['domain' => 'string', 'description' => 'string', 'aliases' => 'integer', 'mailboxes' => 'integer', 'maxquotaMb' => 'integer', 'quotaMb' => 'integer'] as $f => $t) {
            if (gettype($d[$f] ?? null) !== $t) {
                $problems[] = "domains[$i].$f must be a $t";
            }
        }
    }
    foreach ($state['mailboxes'] ?? [] as $i => $m) {
        foreach (['username' => 'string', 'name' => 'string', 'quotaMb' => 'integer', 'password' => 'string'] as $f => $t) {
            if (gettype($m[$f] ?? null) !== $t) {
                $problems[] = "mailboxes[$i].$f must be a $t";
            }
        }
    }
    foreach ($state['aliases'] ?? [] as $i => $a) {
        if (!is_string($a['address'] ?? null) || !is_array($a['goto'] ?? null) || $a['goto'] === []) {
            $problems[] = "aliases[$i] needs an address and a non-empty goto list";
        }
    }
    foreach ($state['admins'] as $i => $a) {
        foreach (['username' => 'string', 'password' => 'string'] as $f => $t) {
            if (gettype($a[$f] ?? null) !== $t) {
                $problems[] = "admins[$i].$f must be a $t";
            }
        }
    }
    foreach ($state['grants'] as $i => $g) {
        if (!is_string($g) || trim($g) === '') {
            $problems[] = "grants[$i] must be a non-empty SQL statement";
        }
    }
    if ($problems) {
        fail("desired state is malformed:\n  " . implode("\n  ", $problems));
    }
    return $state;
}

function connect(array $conf): PDO
{
    $dsn = sprintf('mysql:host=%s;port=%s;dbname=%s;charset=utf8mb4', $conf['database_host'], $conf['database_port'] ?? '3306', $conf['database_name']);
    $deadline = time() + DB_WAIT_SECONDS;
    while (true) {
        try {
            return new PDO($dsn, $conf['database_user'], $conf['database_password'], [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
        } catch (PDOException $e) {
            if (time() >= $deadline) {
                fail(sprintf('cannot connect to %s:%s as %s within %d s: %s', $conf['database_host'], $conf['database_port'] ?? '3306', $conf['database_user'], DB_WAIT_SECONDS, $e->getMessage()));
            }
            usleep(500000);
        }
    }
}

/** @return array<string, array> rows keyed by their first column */
function rows_by_key(PDO $db, string $sql): array
{
    $out = [];
    foreach ($db->query($sql)->fetchAll(PDO::FETCH_ASSOC) as $row) {
        $out[strtolower((string) reset($row))] = $row;
    }
    return $out;
}

function goto_list(string $goto): array
{
    $list = array_values(array_filter(array_map('trim', explode(',', strtolower($goto))), 'strlen'));
    sort($list);
    return $list;
}

// ---------------------------------------------------------------------------------------------

$stateFile = $argv[1] ?? '/etc/postfixadmin/desired-state.json';
$raw = @file_get_contents($stateFile);
if ($raw === false) {
    fail("cannot read the desired state $stateFile (it is uploaded by the deployment)");
}
try {
    $state = check_state(json_decode($raw, true, 64, JSON_THROW_ON_ERROR));
} catch (JsonException $e) {
    fail("$stateFile is not valid JSON: " . $e->getMessage());
}

// PostfixAdmin's own configuration (Debian's config.inc.php + the uploaded config.local.php).
define('POSTFIXADMIN_CLI', 1);
require PFA_DIR . '/common.php';
/** @var array $CONF */
if (($CONF['configured'] ?? false) !== true || ($CONF['database_user'] ?? '') === '') {
    fail('/etc/postfixadmin/config.local.php is missing or incomplete (it is uploaded by the deployment)');
}
$db = connect($CONF);
say("connected to {$CONF['database_host']}:{$CONF['database_port']} database {$CONF['database_name']} as {$CONF['database_user']}");

// 1. Schema. upgrade.php is idempotent: it records the last applied step in config.version.
[$code, $output] = run(['php', 'public/upgrade.php'], PFA_DIR);
$version = (int) ($db->query("SELECT value FROM config WHERE name = 'version'")->fetchColumn() ?: 0);
if ($code !== 0 || $version < $GLOBALS['min_db_version']) {
    fail("schema upgrade (php public/upgrade.php) exited $code, schema version $version, need {$GLOBALS['min_db_version']}:\n$output");
}
say("schema at version $version");

// 2. Grants to other accounts on PostfixAdmin's tables (e.g. the webmail's password-change
// account). Column grants need the tables, so MariaDB's own start-up SQL cannot apply them on a
// first start; re-applying an existing grant is harmless. An IDENTIFIED BY clause, if a statement
// ever had one, is masked in the message.
foreach ($state['grants'] as $i => $grant) {
    try {
        $db->exec($grant);
    } catch (PDOException $e) {
        $shown = preg_replace('/\bIDENTIFIED\b.*/is', 'IDENTIFIED ********', $grant);
        fail("grants[$i] was refused by the database (does the PostfixAdmin account hold these rights WITH GRANT OPTION?):\n  $shown\n  " . $e->getMessage());
    }
}
if ($state['grants']) {
    say(sprintf('%d grant(s) applied', count($state['grants'])));
}

$changes = 0;

// 3. Domains: created with the desired limits, updated when they drift. Domains missing from the
// state are left alone (their mailboxes and aliases are handled below).
$domains = rows_by_key($db, 'SELECT domain, description, aliases, mailboxes, maxquota, quota, active FROM domain');
foreach ($state['domains'] as $d) {
    $name = strtolower($d['domain']);
    $limits = ['--description', $d['description'], '--aliases', (string) $d['aliases'], '--mailboxes', (string) $d['mailboxes'],
        '--maxquota', (string) $d['maxquotaMb'], '--quota', (string) $d['quotaMb'], '--active', '1'];
    if (!isset($domains[$name])) {
        cli(array_merge(['domain', 'add', $name], $limits, ['--default-aliases', '0']));
        say("domain $name: created");
        $changes++;
        continue;
    }
    $have = $domains[$name];
    if ($have['description'] !== $d['description'] || (int) $have['aliases'] !== $d['aliases'] || (int) $have['mailboxes'] !== $d['mailboxes']
        || (int) $have['maxquota'] !== $d['maxquotaMb'] || (int) $have['quota'] !== $d['quotaMb'] || (int) $have['active'] !== 1) {
        cli(array_merge(['domain', 'update', $name], $limits));
        say("domain $name: updated");
        $changes++;
    }
}

// 4. The record of managed addresses (see MANAGED_TABLE_SQL).
$recordExisted = (int) $db->query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" . MANAGED_TABLE . "'")->fetchColumn() > 0;
try {
    $db->exec(MANAGED_TABLE_SQL);
} catch (PDOException $e) {
    fail('cannot create the record of managed addresses (' . MANAGED_TABLE . '): ' . $e->getMessage());
}
if (!$recordExisted) {
    // A deployment older than the record: besides this state's addresses (adopted below), the
    // active ones earlier runs created are the config's too, so one the config dropped in this
    // same deploy is still deactivated. PostfixAdmin's log names who created each row; only this
    // run uses postfixadmin-cli ("CLI (...)"), the UI logs the administrator's address.
    try {
        $adopted = $db->exec(
            'INSERT IGNORE INTO ' . MANAGED_TABLE . " (kind, address)
             SELECT 'mailbox', LOWER(m.username) FROM mailbox m
              WHERE m.active = 1 AND EXISTS (SELECT 1 FROM log l WHERE l.action = 'create_mailbox' AND l.data = m.username AND l.username LIKE 'CLI%')
             UNION
             SELECT 'alias', LOWER(a.address) FROM alias a
              WHERE a.active = 1 AND NOT EXISTS (SELECT 1 FROM mailbox m WHERE m.username = a.address)
                AND EXISTS (SELECT 1 FROM log l WHERE l.action = 'create_alias' AND l.data = a.address AND l.username LIKE 'CLI%')"
        );
    } catch (PDOException $e) {
        fail('cannot adopt the addresses earlier runs created into ' . MANAGED_TABLE . ': ' . $e->getMessage());
    }
    say('record of managed addresses (' . MANAGED_TABLE . ") created: it adopts the $adopted active addresses earlier provisioning runs created (PostfixAdmin's log) and those of this desired state; every other existing one is left alone");
}
$managed = ['mailbox' => [], 'alias' => []];
foreach ($db->query('SELECT kind, address FROM ' . MANAGED_TABLE)->fetchAll(PDO::FETCH_ASSOC) as $row) {
    $managed[$row['kind']][strtolower($row['address'])] = true;
}
$recordAdd = $db->prepare('INSERT IGNORE INTO ' . MANAGED_TABLE . ' (kind, address) VALUES (?, ?)');
$recordRemove = $db->prepare('DELETE FROM ' . MANAGED_TABLE . ' WHERE kind = ? AND address = ?');
/** Records $address as managed before the CLI creates or updates it: a run that fails half-way still knows it is the config's. */
$manage = function (string $kind, string $address) use (&$managed, $recordAdd): void {
    if (!isset($managed[$kind][$address])) {
        try {
            $recordAdd->execute([$kind, $address]);
        } catch (PDOException $e) {
            fail("cannot record $kind $address in " . MANAGED_TABLE . ': ' . $e->getMessage());
        }
        $managed[$kind][$address] = true;
    }
};
/** Drops $address from the record, after the CLI deactivated or deleted it (a failed CLI call keeps it for the next run). */
$release = function (string $kind, string $address) use (&$managed, $recordRemove): void {
    try {
        $recordRemove->execute([$kind, $address]);
    } catch (PDOException $e) {
        fail("cannot drop $kind $address from " . MANAGED_TABLE . ': ' . $e->getMessage());
    }
    unset($managed[$kind][$address]);
};
// What this run deactivated or deleted because the config dropped it (checked in step 8), and
// what it left alone because the config does not manage it.
$dropped = ['mailbox' => [], 'alias' => []];
$unmanaged = ['mailbox' => [], 'alias' => []];

// 5. Mailboxes.
$multiplier = (int) $CONF['quota_multiplier'];
$mailboxes = rows_by_key($db, 'SELECT username, name, quota, active FROM mailbox');
$desiredMailboxes = [];
foreach ($state['mailboxes'] as $m) {
    $user = strtolower($m['username']);
    $desiredMailboxes[$user] = true;
    if (isset($mailboxes[$user]) && !isset($managed['mailbox'][$user])) {
        say("mailbox $user: already in the database, now managed by the stack config");
    }
    $manage('mailbox', $user);
    if (!isset($mailboxes[$user])) {
        // No --welcome-mail: config.local.php's mailbox_struct_hook removes that option and makes
        // "no welcome mail" the only value.
        cli(['mailbox', 'add', $user, '--password', $m['password'], '--password2', $m['password'], '--name', $m['name'],
            '--quota', (string) $m['quotaMb'], '--active', '1'], [$m['password']]);
        say("mailbox $user: created with its initial password");
        $changes++;
        continue;
    }
    $have = $mailboxes[$user];
    // No --password here, ever: the password belongs to the user once the mailbox exists.
    if ($have['name'] !== $m['name'] || (int) $have['quota'] !== $m['quotaMb'] * $multiplier || (int) $have['active'] !== 1) {
        cli(['mailbox', 'update', $user, '--name', $m['name'], '--quota', (string) $m['quotaMb'], '--active', '1']);
        say("mailbox $user: updated (name, quota, active; password untouched)");
        $changes++;
    }
}
// Removal, of managed mailboxes only. PostfixAdmin deactivates or deletes the mailbox's own alias
// row (address = goto = the mailbox) along with it.
foreach ($mailboxes as $user => $have) {
    if (isset($desiredMailboxes[$user])) {
        continue;
    }
    if (!isset($managed['mailbox'][$user])) {
        $unmanaged['mailbox'][$user] = (int) $have['active'];
        continue;
    }
    if ($state['deleteRemovedMailboxes']) {
        cli(['mailbox', 'delete', $user]);
        say("mailbox $user: deleted from the database (deleteRemovedMailboxes); its Maildir stays on disk");
        $changes++;
    } elseif ((int) $have['active'] !== 0) {
        cli(['mailbox', 'update', $user, '--active', '0']);
        say("mailbox $user: no longer configured, deactivated (its mail is kept)");
        $changes++;
    } else {
        say("mailbox $user: no longer configured and already inactive");
    }
    $release('mailbox', $user);
    $dropped['mailbox'][$user] = true;
    say("mailbox $user: no longer managed by the stack config");
}
// A managed mailbox that is gone (deleted in the UI) and no longer configured: forgotten, so that
// one re-created later by hand is not taken for the stack config's.
foreach (array_keys($managed['mailbox']) as $user) {
    if (!isset($desiredMailboxes[$user]) && !isset($mailboxes[$user])) {
        $release('mailbox', $user);
        say("mailbox $user: no longer configured and no longer in the database, dropped from the record");
    }
}

// 6. Aliases. A mailbox's own alias row (address = goto = the mailbox) is PostfixAdmin's business:
// it follows its mailbox, managed or not, and is never touched here.
$aliases = rows_by_key($db, 'SELECT address, goto, active FROM alias WHERE address NOT IN (SELECT username FROM mailbox)');
$desiredAliases = [];
foreach ($state['aliases'] as $a) {
    $address = strtolower($a['address']);
    $goto = array_map('strtolower', $a['goto']);
    sort($goto);
    $desiredAliases[$address] = true;
    if (isset($aliases[$address]) && !isset($managed['alias'][$address])) {
        say("alias $address: already in the database, now managed by the stack config");
    }
    $manage('alias', $address);
    if (!isset($aliases[$address])) {
        cli(['alias', 'add', $address, '--goto', implode(',', $goto), '--active', '1']);
        say("alias $address: created -> " . implode(', ', $goto));
        $changes++;
    } elseif (goto_list($aliases[$address]['goto']) !== $goto || (int) $aliases[$address]['active'] !== 1) {
        cli(['alias', 'update', $address, '--goto', implode(',', $goto), '--active', '1']);
        say("alias $address: updated -> " . implode(', ', $goto));
        $changes++;
    }
}
foreach ($aliases as $address => $have) {
    if (isset($desiredAliases[$address])) {
        continue;
    }
    if (!isset($managed['alias'][$address])) {
        $unmanaged['alias'][$address] = (int) $have['active'];
        continue;
    }
    if ($state['deleteRemovedMailboxes']) {
        cli(['alias', 'delete', $address]);
        say("alias $address: deleted (deleteRemovedMailboxes)");
        $changes++;
    } elseif ((int) $have['active'] !== 0) {
        cli(['alias', 'update', $address, '--active', '0']);
        say("alias $address: no longer configured, deactivated");
        $changes++;
    } else {
        say("alias $address: no longer configured and already inactive");
    }
    $release('alias', $address);
    $dropped['alias'][$address] = true;
    say("alias $address: no longer managed by the stack config");
}
// Gone, or now a mailbox's own alias (an administrator made a mailbox of that address): forgotten.
foreach (array_keys($managed['alias']) as $address) {
    if (!isset($desiredAliases[$address]) && !isset($aliases[$address])) {
        $release('alias', $address);
        say("alias $address: no longer configured and no longer an alias in the database, dropped from the record");
    }
}

// Everything else was made outside the stack config (the web UI, by hand): listed, never touched.
foreach ($unmanaged as $kind => $addresses) {
    foreach ($addresses as $address => $active) {
        say("$kind $address" . ($active ? '' : ' (inactive)') . ': not managed by the stack config, left alone');
    }
}

// 7. Super-administrators: created with their initial password, kept active and superadmin (all
// domains: PostfixAdmin also records that as a domain_admins row for the pseudo-domain ALL).
// The password is never touched again. Admins not in the state were made by hand: left alone.
$admins = rows_by_key($db, 'SELECT username, superadmin, active FROM admin');
$allDomains = rows_by_key($db, "SELECT username FROM domain_admins WHERE domain = 'ALL'");
$desiredAdmins = [];
foreach ($state['admins'] as $a) {
    $user = strtolower($a['username']);
    $desiredAdmins[$user] = true;
    if (!isset($admins[$user])) {
        cli(['admin', 'add', $user, '--password', $a['password'], '--password2', $a['password'], '--superadmin', '1', '--active', '1'], [$a['password']]);
        say("admin $user: created as super-administrator with its initial password");
        $changes++;
    } elseif ((int) $admins[$user]['superadmin'] !== 1 || (int) $admins[$user]['active'] !== 1 || !isset($allDomains[$user])) {
        // No --password here, ever: the password belongs to the admin once the account exists.
        cli(['admin', 'update', $user, '--superadmin', '1', '--active', '1']);
        say("admin $user: made an active super-administrator again (password untouched)");
        $changes++;
    }
}
foreach ($admins as $user => $have) {
    if (!isset($desiredAdmins[$user])) {
        say("admin $user: not in the stack config, left as it is");
    }
}

// 8. Verify: whatever the CLI printed, the tables must now hold the desired state.
$problems = [];
$domains = rows_by_key($db, 'SELECT domain, active FROM domain');
foreach ($state['domains'] as $d) {
    if ((int) ($domains[strtolower($d['domain'])]['active'] ?? 0) !== 1) {
        $problems[] = "domain {$d['domain']} is missing or inactive";
    }
}
$mailboxes = rows_by_key($db, "SELECT username, active, password, maildir FROM mailbox");
foreach ($state['mailboxes'] as $m) {
    $row = $mailboxes[strtolower($m['username'])] ?? null;
    [$local, $domain] = explode('@', strtolower($m['username']), 2);
    if ($row === null || (int) $row['active'] !== 1) {
        $problems[] = "mailbox {$m['username']} is missing or inactive";
    } elseif (!str_starts_with($row['password'], '$6$')) {
        $problems[] = "mailbox {$m['username']} has a password hash that is not SHA512-CRYPT";
    } elseif ($row['maildir'] !== "$domain/$local/") {
        $problems[] = "mailbox {$m['username']} has maildir '{$row['maildir']}', expected '$domain/$local/'";
    }
}
$aliases = rows_by_key($db, 'SELECT address, goto, active FROM alias');
foreach ($state['aliases'] as $a) {
    $goto = array_map('strtolower', $a['goto']);
    sort($goto);
    $row = $aliases[strtolower($a['address'])] ?? null;
    if ($row === null || (int) $row['active'] !== 1 || goto_list($row['goto']) !== $goto) {
        $problems[] = "alias {$a['address']} does not deliver to " . implode(', ', $goto);
    }
}
foreach (array_keys($dropped['mailbox']) as $user) {
    if (isset($mailboxes[$user]) && ($state['deleteRemovedMailboxes'] || (int) $mailboxes[$user]['active'] !== 0)) {
        $problems[] = "mailbox $user is no longer configured but still " . ($state['deleteRemovedMailboxes'] ? 'in the database' : 'active');
    }
}
foreach (array_keys($dropped['alias']) as $address) {
    if (isset($aliases[$address]) && ($state['deleteRemovedMailboxes'] || (int) $aliases[$address]['active'] !== 0)) {
        $problems[] = "alias $address is no longer configured but still " . ($state['deleteRemovedMailboxes'] ? 'in the database' : 'active');
    }
}
// What the config does not manage must be exactly as it was.
foreach (['mailbox' => $mailboxes, 'alias' => $aliases] as $kind => $rows) {
    foreach ($unmanaged[$kind] as $address => $active) {
        if (!isset($rows[$address]) || (int) $rows[$address]['active'] !== $active) {
            $problems[] = "$kind $address is not managed by the stack config but was " . (isset($rows[$address]) ? ($active ? 'deactivated' : 'activated') : 'deleted');
        }
    }
}
$record = ['mailbox' => [], 'alias' => []];
foreach ($db->query('SELECT kind, address FROM ' . MANAGED_TABLE)->fetchAll(PDO::FETCH_ASSOC) as $row) {
    $record[$row['kind']][strtolower($row['address'])] = true;
}
foreach (['mailbox' => $desiredMailboxes, 'alias' => $desiredAliases] as $kind => $desired) {
    foreach (array_keys($desired) as $address) {
        if (!isset($record[$kind][$address])) {
            $problems[] = "$kind $address is configured but missing from " . MANAGED_TABLE;
        }
    }
    foreach (array_keys($record[$kind]) as $address) {
        if (!isset($desired[$address])) {
            $problems[] = "$kind $address is no longer configured but still in " . MANAGED_TABLE;
        }
    }
}
$admins = rows_by_key($db, 'SELECT username, superadmin, active, password FROM admin');
$allDomains = rows_by_key($db, "SELECT username FROM domain_admins WHERE domain = 'ALL'");
foreach ($state['admins'] as $a) {
    $user = strtolower($a['username']);
    $row = $admins[$user] ?? null;
    if ($row === null || (int) $row['active'] !== 1 || (int) $row['superadmin'] !== 1 || !isset($allDomains[$user])) {
        $problems[] = "admin {$a['username']} is missing, inactive or not a super-administrator";
    } elseif ($row['password'] === '') {
        $problems[] = "admin {$a['username']} has no password";
    }
}
if ($problems) {
    fail("after provisioning the database does not match the desired state:\n  " . implode("\n  ", $problems));
}
say(sprintf('done: %d domain(s), %d mailbox(es), %d alias(es), %d admin(s) as configured; %d change(s) made; %d mailbox(es) and %d alias(es) not managed by the stack config left alone',
    count($state['domains']), count($state['mailboxes']), count($state['aliases']), count($state['admins']), $changes, count($unmanaged['mailbox']), count($unmanaged['alias'])));
exit(0);
