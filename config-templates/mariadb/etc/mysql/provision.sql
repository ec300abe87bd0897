-- Applied by the image's entrypoint on EVERY start through a temporary server with networking
-- off, so nothing can connect half-way through. Every statement is idempotent: CREATE ... IF NOT
-- EXISTS for first start, ALTER USER so a rotated password reaches an existing datadir, REVOKE then
-- GRANT so each account has exactly the rights listed here (least privilege), even if someone
-- granted more by hand.
-- Rendered by components/database/render.ts. SECRET: it holds every account's password.
-- Accounts are limited to the platform's internal network: {{ accountHost }}.

CREATE DATABASE IF NOT EXISTS `{{ postfixadminDatabase }}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS `{{ spamassassinDatabase }}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- root: the unix socket (uid 0 inside this container) keeps working for the entrypoint and the
-- healthcheck; the password is for an administrator on the host (`docker exec ... mariadb -p`).
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('{{ rootPassword }}');

-- PostfixAdmin owns its schema: upgrade.php creates and alters the tables, the CLI writes rows.
CREATE USER IF NOT EXISTS '{{ postfixadminUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ postfixadminPassword }}';
ALTER USER '{{ postfixadminUser }}'@'{{ accountHost }}' IDENTIFIED BY '{{ postfixadminPassword }}';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{ postfixadminUser }}'@'{{ accountHost }}';
GRANT ALL PRIVILEGES ON `{{ postfixadminDatabase }}`.* TO '{{ postfixadminUser }}'@'{{ accountHost }}';

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
