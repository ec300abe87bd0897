<?php
// One provisioning round of PostfixAdmin, run as a one-shot container at deploy time:
//   1. install or upgrade PostfixAdmin's schema (its own upgrade.php),
//   2. converge domains, mailboxes and aliases to the uploaded desired state (JSON rendered by
//      components/database/render.ts) through PostfixAdmin's own CLI, postfixadmin-cli.
// Idempotent: a second run with the same state changes nothing. Rules:
//   - existing domains and mailboxes are updated (description, limits, name, quota), never re-created;
//   - a mailbox's password is set once, at creation, and NEVER reset afterwards (the user may have
//     changed it);
//   - mailboxes and aliases that are no longer desired are deactivated (active = 0), or deleted when
//     the state says deleteRemovedMailboxes. Either way the Maildir files stay on disk: PostfixAdmin
//     only removes database rows, and no postdeletion script is configured.
// The database is read directly (PDO, PostfixAdmin's own credentials) only to decide what to do;
// every write goes through postfixadmin-cli. Exits non-zero with a message naming what failed.
declare(strict_types=1);

const PFA_DIR = '/usr/share/postfixadmin';
const PFA_CLI = '/usr/bin/postfixadmin-cli';
const DB_WAIT_SECONDS = 120;

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
    // Step 5 re-reads the tables as well, in case a CLI path reports success without writing.
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

$changes = 0;

// 2. Domains: created with the desired limits, updated when they drift. Domains missing from the
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

// 3. Mailboxes.
$multiplier = (int) $CONF['quota_multiplier'];
$mailboxes = rows_by_key($db, 'SELECT username, name, quota, active FROM mailbox');
$desiredMailboxes = [];
foreach ($state['mailboxes'] as $m) {
    $user = strtolower($m['username']);
    $desiredMailboxes[$user] = true;
    if (!isset($mailboxes[$user])) {
        cli(['mailbox', 'add', $user, '--password', $m['password'], '--password2', $m['password'], '--name', $m['name'],
            '--quota', (string) $m['quotaMb'], '--active', '1', '--welcome-mail', '0'], [$m['password']]);
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
foreach ($mailboxes as $user => $have) {
    if (isset($desiredMailboxes[$user])) {
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
    }
}

// 4. Aliases. A mailbox's own alias row (address = goto = the mailbox) is PostfixAdmin's business.
$aliases = rows_by_key($db, 'SELECT address, goto, active FROM alias WHERE address NOT IN (SELECT username FROM mailbox)');
$desiredAliases = [];
foreach ($state['aliases'] as $a) {
    $address = strtolower($a['address']);
    $goto = array_map('strtolower', $a['goto']);
    sort($goto);
    $desiredAliases[$address] = true;
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
    if ($state['deleteRemovedMailboxes']) {
        cli(['alias', 'delete', $address]);
        say("alias $address: deleted (deleteRemovedMailboxes)");
        $changes++;
    } elseif ((int) $have['active'] !== 0) {
        cli(['alias', 'update', $address, '--active', '0']);
        say("alias $address: no longer configured, deactivated");
        $changes++;
    }
}

// 5. Verify: whatever the CLI printed, the tables must now hold the desired state.
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
foreach ($mailboxes as $user => $row) {
    if (!isset($desiredMailboxes[$user]) && (int) $row['active'] !== 0) {
        $problems[] = "mailbox $user is no longer configured but still active";
    }
}
foreach ($aliases as $address => $row) {
    if (!isset($desiredAliases[$address]) && !isset($mailboxes[$address]) && (int) $row['active'] !== 0) {
        $problems[] = "alias $address is no longer configured but still active";
    }
}
if ($problems) {
    fail("after provisioning the database does not match the desired state:\n  " . implode("\n  ", $problems));
}
say(sprintf('done: %d domain(s), %d mailbox(es), %d alias(es) as configured; %d change(s) made', count($state['domains']), count($state['mailboxes']), count($state['aliases']), $changes));
exit(0);
