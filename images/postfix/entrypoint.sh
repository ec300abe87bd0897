#!/bin/sh
# Prepares the uploaded configuration, then runs the command (by default `postfix start-fg`, which
# makes Postfix's master PID 1 so `docker stop` reaches it directly).
set -eu

# The queue directory is a host path (platform.volumePaths.queue) that may arrive empty or owned by
# the host's idea of the postfix uid. Postfix wants its top directory root-owned;
# `postfix check` (also run by `postfix start-fg`) creates the missing queue subdirectories, and
# `set-permissions` repairs the owners of existing ones when the image's uid/gid changed.
chown root:root /var/spool/postfix
chmod 0755 /var/spool/postfix
postfix set-permissions >/dev/null 2>&1 || true

# SQL lookup files carry the read-only DB password: readable by root and the postfix group only
# (uploads arrive root-owned). Private keys stay root-only; Postfix reads them before dropping
# privileges.
for f in /etc/postfix/sql/*.cf; do
  [ -e "$f" ] || continue
  chown root:postfix "$f"
  chmod 0640 "$f"
done
for f in /etc/postfix/tls/*.pem; do
  [ -e "$f" ] || continue
  chown root:root "$f"
  chmod 0600 "$f"
done

# ACME domains: serve the client's latest chain from the start (a restarted container must not
# fall back to the bootstrap chain), then keep watching it. tls-watch rebuilds the SNI table,
# which holds the files' contents, before the reload.
RELOAD_TLS="postmap -F lmdb:/etc/postfix/tls/sni && chmod 0600 /etc/postfix/tls/sni.lmdb && postfix reload"
if [ -f /etc/mail-platform/tls-watch.conf ]; then tls-watch --once "$RELOAD_TLS"; fi

# SNI: the source lists host name -> key/chain file; `postmap -F` stores each file's content in
# the table, so the files are loaded here, at start (https://www.postfix.org/postmap.1.html).
if [ -f /etc/postfix/tls/sni ]; then
  postmap -F lmdb:/etc/postfix/tls/sni
  chmod 0600 /etc/postfix/tls/sni.lmdb
fi

# Fail here, with the daemon's own words, rather than half-start.
postfix check

# Only for the daemon itself: a one-off command (a config check) gets neither.
if [ "$*" = "postfix start-fg" ]; then
  if [ -f /etc/mail-platform/tls-watch.conf ]; then tls-watch "$RELOAD_TLS" & fi
  start-jobs
fi

exec "$@"
