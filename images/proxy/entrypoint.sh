#!/bin/sh
# Locks down the uploaded private keys, refuses a config nginx does not accept, then hands PID 1
# to the command (nginx in the foreground).
set -eu

# Keys are read by the master process (root) only; workers run as www-data and never need them.
if [ -d /etc/nginx/private ]; then
  chown -R root:root /etc/nginx/private
  chmod 0700 /etc/nginx/private
  find /etc/nginx/private -type f -exec chmod 0600 {} +
fi

# ACME domains: the client's latest chain from the start, then watched; a reload lets requests in
# flight finish on the old workers.
RELOAD_TLS="nginx -t -q && nginx -s reload"
if [ -f /etc/mail-platform/tls-watch.conf ]; then tls-watch --once "$RELOAD_TLS"; fi

# A broken config fails here with nginx's own message on stderr, not as a restart loop later.
nginx -t -q

if [ -f /etc/mail-platform/tls-watch.conf ] && [ "$1" = nginx ]; then tls-watch "$RELOAD_TLS" & fi

exec "$@"
