-- Applied by the image's entrypoint on EVERY start through a temporary server with networking
-- off, so nothing can connect half-way through. Every statement is idempotent: CREATE ... IF NOT
-- EXISTS for first start, ALTER USER so a rotated password reaches an existing datadir, REVOKE then
-- GRANT so each account has exactly the rights listed here (least privilege), even if someone
-- granted more by hand.
-- Rendered by components/database/render.ts. SECRET: it holds every account's password.
-- Accounts are limited to the platform's internal network: {{ accountHost }}.

CREATE DATABASE IF NOT EXISTS `{{ postfixadminDatabase }}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS `{{ spamassassinDatabase }}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
-- The web apps' databases exist whether or not their feature is on, so switching one on later
-- needs no step in a particular order; an unused account can only reach its own empty database.
CREATE DATABASE IF NOT EXISTS `{{ roundcubeDatabase }}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS `{{ pilerDatabase }}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- root: the unix socket (uid 0 inside this container) keeps working for the entrypoint and the
-- healthcheck; the password is for an administrator on the host (`docker exec ... mariadb -p`).
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('{{ rootPassword }}');

-- PostfixAdmin owns its schema: upgrade.php creates and alters the tables, the CLI writes rows.
CREATE USER IF NOT EXISTS '{{ postfixadminUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ postfixadminPassword }}';
ALTER USER '{{ postfixadminUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ postfixadminPassword }}';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ postfixadminUser }}'@'{{ accountHost }}';
-- GRANT OPTION: its provisioning run hands the password-change account its column rights right
-- after creating the tables (see below). It can only pass on rights it holds, on its own database.
GRANT ALL PRIVILEGES ON `{{ postfixadminDatabase }}`.* TO '{{ postfixadminUser }}'@'{{ accountHost }}' WITH GRANT OPTION;

-- Postfix and Dovecot only look up domains, mailboxes and aliases: SELECT, nothing else. The grant
-- is on the database, not per table, because on a first start the tables do not exist yet
-- (PostfixAdmin creates them after this server is up) and MariaDB refuses table grants on
-- missing tables.
CREATE USER IF NOT EXISTS '{{ postfixUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ postfixPassword }}';
ALTER USER '{{ postfixUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ postfixPassword }}';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ postfixUser }}'@'{{ accountHost }}';
GRANT SELECT ON `{{ postfixadminDatabase }}`.* TO '{{ postfixUser }}'@'{{ accountHost }}';

CREATE USER IF NOT EXISTS '{{ dovecotUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ dovecotPassword }}';
ALTER USER '{{ dovecotUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ dovecotPassword }}';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ dovecotUser }}'@'{{ accountHost }}';
GRANT SELECT ON `{{ postfixadminDatabase }}`.* TO '{{ dovecotUser }}'@'{{ accountHost }}';

-- SpamAssassin's Bayes store: reads and writes tokens, and creates its tables (bayes_mysql.sql)
-- on first use, hence CREATE/ALTER/INDEX on its own database only.
CREATE USER IF NOT EXISTS '{{ spamassassinUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ spamassassinPassword }}';
ALTER USER '{{ spamassassinUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ spamassassinPassword }}';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ spamassassinUser }}'@'{{ accountHost }}';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON `{{ spamassassinDatabase }}`.* TO '{{ spamassassinUser }}'@'{{ accountHost }}';

-- Roundcube owns its schema (its entrypoint loads mysql.initial.sql into the empty database).
CREATE USER IF NOT EXISTS '{{ roundcubeUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ roundcubePassword }}';
ALTER USER '{{ roundcubeUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ roundcubePassword }}';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ roundcubeUser }}'@'{{ accountHost }}';
GRANT ALL PRIVILEGES ON `{{ roundcubeDatabase }}`.* TO '{{ roundcubeUser }}'@'{{ accountHost }}';

-- Roundcube's password plugin: a separate account so that the webmail's own account cannot read
-- PostfixAdmin's tables. Column rights only (see components/database/render.ts, which also hands
-- this statement to the provisioning run): on a first start the mailbox table does not exist yet.
CREATE USER IF NOT EXISTS '{{ passwordChangeUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ passwordChangePassword }}';
ALTER USER '{{ passwordChangeUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ passwordChangePassword }}';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ passwordChangeUser }}'@'{{ accountHost }}';
DELIMITER //
BEGIN NOT ATOMIC
  IF EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = '{{ postfixadminDatabase }}' AND table_name = 'mailbox') THEN
    {{ passwordChangeGrant }};
  END IF;
END//
DELIMITER ;

-- The built-in Piler creates its tables on first start and writes one row per archived message.
CREATE USER IF NOT EXISTS '{{ pilerUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ pilerPassword }}';
ALTER USER '{{ pilerUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ pilerPassword }}';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ pilerUser }}'@'{{ accountHost }}';
GRANT ALL PRIVILEGES ON `{{ pilerDatabase }}`.* TO '{{ pilerUser }}'@'{{ accountHost }}';

-- The monitoring's exporter reads server status, InnoDB and process-list counters, and no table
-- data; a few connections at most, so a stuck scraper cannot take the mail's connections.
CREATE USER IF NOT EXISTS '{{ monitoringUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ monitoringPassword }}';
ALTER USER '{{ monitoringUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ monitoringPassword }}';
ALTER USER '{{ monitoringUser }}'@'{{ accountHost }}' WITH MAX_USER_CONNECTIONS 3;
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ monitoringUser }}'@'{{ accountHost }}';
GRANT PROCESS, REPLICATION CLIENT ON *.* TO '{{ monitoringUser }}'@'{{ accountHost }}';

-- The backup job dumps every database consistently (mariadb-dump --single-transaction, with
-- routines, triggers and events) and writes none of them: read rights only, a few connections.
CREATE USER IF NOT EXISTS '{{ backupUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ backupPassword }}';
ALTER USER '{{ backupUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ backupPassword }}';
ALTER USER '{{ backupUser }}'@'{{ accountHost }}' WITH MAX_USER_CONNECTIONS 3;
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ backupUser }}'@'{{ accountHost }}';
GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON *.* TO '{{ backupUser }}'@'{{ accountHost }}';
-- Its weekly restore drill loads each dump into a scratch database of its own, and drops it.
GRANT ALL PRIVILEGES ON `{{ drillDatabases }}`.* TO '{{ backupUser }}'@'{{ accountHost }}';
