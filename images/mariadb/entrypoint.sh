#!/bin/sh
# MariaDB as PID 1: initialise an empty datadir, apply the uploaded provisioning SQL through a
# server that listens on no network, then exec the real server. Running the SQL on EVERY start
# (not only the first) is what lets a rotated password or a new grant reach an existing datadir.
set -eu

DATADIR=/var/lib/mysql
# Rendered by components/database (secret: it holds the accounts' passwords), uploaded at deploy.
PROVISION_SQL=${PROVISION_SQL:-/etc/mysql/provision.sql}
# A socket of its own, so the healthcheck (default socket) only passes once the real server runs.
INIT_SOCKET=/run/mysqld/provision.sock

log() { echo "mariadb-entrypoint: $*" >&2; }

if [ "${1:-mariadbd}" != "mariadbd" ]; then
  exec "$@"   # e.g. `mariadbd --help --verbose` or a client tool in a test
fi
[ $# -gt 0 ] && shift

mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld
# The datadir is a host path: own its top level only, never recurse into existing data.
chown mysql:mysql "$DATADIR"

if [ ! -d "$DATADIR/mysql" ]; then
  log "empty datadir: initialising $DATADIR"
  # root@localhost authenticates by unix socket (uid 0 in this container only); the provisioning
  # SQL adds a password for it as a second method.
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=socket >/dev/null
fi

if [ -f "$PROVISION_SQL" ]; then
  log "applying $PROVISION_SQL with networking off"
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$INIT_SOCKET" &
  pid=$!
  i=0
  until mariadb-admin --socket="$INIT_SOCKET" --user=root ping >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then log "the temporary server exited during start-up"; exit 1; fi
    i=$((i + 1))
    if [ "$i" -gt 120 ]; then log "the temporary server did not answer within 60 s"; kill "$pid"; exit 1; fi
    sleep 0.5
  done
  # A datadir written by an older MariaDB (image update) gets its system tables upgraded; on an
  # up-to-date one this is a no-op.
  mariadb-upgrade --socket="$INIT_SOCKET" --user=root --silent >&2 || { log "mariadb-upgrade failed"; kill "$pid"; wait "$pid" || true; exit 1; }
  if ! mariadb --socket="$INIT_SOCKET" --user=root --batch < "$PROVISION_SQL"; then
    log "$PROVISION_SQL failed; stopping"
    mariadb-admin --socket="$INIT_SOCKET" --user=root shutdown || kill "$pid"
    wait "$pid" || true
    exit 1
  fi
  mariadb-admin --socket="$INIT_SOCKET" --user=root shutdown
  wait "$pid"
  log "provisioning SQL applied"
else
  log "no $PROVISION_SQL: starting without applying accounts"
fi

exec mariadbd --user=mysql --datadir="$DATADIR" "$@"
