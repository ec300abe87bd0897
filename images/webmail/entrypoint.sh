#!/bin/sh
# Prepares what the uploaded config needs at run time (file permissions, Roundcube's schema in its
# database), then hands PID 1 to Apache.
set -eu

# The configs carry the database passwords and the des_key: readable by Apache's www-data
# children, not by anyone else.
for f in /etc/roundcube/config.inc.php /etc/roundcube/plugins/password/config.inc.php; do
  if [ -f "$f" ]; then chown root:www-data "$f"; chmod 0640 "$f"; fi
done

# Attachments being composed live here until sent.
mkdir -p /var/lib/roundcube/temp
chown www-data:www-data /var/lib/roundcube/temp
chmod 0700 /var/lib/roundcube/temp

# Waits (bounded) for the database, creates the schema when missing, applies package upgrades.
php /usr/local/lib/roundcube/initdb.php

# envvars reads unset variables, so not under `set -u`.
set +u
# shellcheck source=/dev/null # a file of the Debian package, present only inside the image
. /etc/apache2/envvars
set -u
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR"
# Refuse to start on a config Apache does not accept, with its message on stderr.
apache2 -t

# `exec apache2` (not apache2ctl): Apache itself is PID 1 and stops at once on SIGTERM.
exec "$@"
