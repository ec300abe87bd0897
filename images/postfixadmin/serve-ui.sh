#!/bin/sh
# PostfixAdmin's web UI: checks what the deployment uploaded, fixes its permissions, then hands
# PID 1 to Apache (mod_php). The provisioning run of the same image never calls this.
set -eu

config=/etc/postfixadmin/config.local.php
# The package ships an empty placeholder; without the uploaded file every page would die with
# "Please edit config.local.php".
if [ ! -s "$config" ]; then
  echo "serve-ui: $config is missing or empty (it is uploaded by the deployment)" >&2
  exit 1
fi
# It carries the database password: readable by Apache's www-data children, nobody else.
chown root:www-data "$config"
chmod 0640 "$config"

# Smarty's compiled templates (/usr/share/postfixadmin/templates_c links here), and the PHP
# sessions (session.save_path in the uploaded PHP settings), both www-data's alone.
install -d -o www-data -g root -m 0700 /var/cache/postfixadmin/templates_c
install -d -o www-data -g www-data -m 0700 /var/lib/postfixadmin/sessions

# envvars reads unset variables, so not under `set -u`.
set +u
# shellcheck source=/dev/null # a file of the Debian package, present only inside the image
. /etc/apache2/envvars
set -u
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR"
# Refuse to start on a config Apache does not accept, with its message on stderr.
apache2 -t

# `exec apache2` (not apache2ctl): Apache itself is PID 1 and stops at once on SIGTERM.
exec apache2 -D FOREGROUND
