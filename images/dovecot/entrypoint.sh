#!/bin/sh
# Prepares what the uploaded config needs at run time, then hands PID 1 to dovecot.
set -eu

# The Maildir root is a host path that survives the container; make sure vmail owns its top (not
# recursively: a large mail store would take minutes, and its contents are vmail's already).
mkdir -p /var/vmail
chown vmail:vmail /var/vmail
chmod 0770 /var/vmail

# Uploaded private keys stay readable by root only (dovecot reads them before dropping privileges).
if [ -d /etc/dovecot/private ]; then
  chown -R root:root /etc/dovecot/private
  chmod 0700 /etc/dovecot/private
  find /etc/dovecot/private -type f -exec chmod 0600 {} +
fi

# Secret-bearing SQL config: readable by root only; the auth process reads it as root.
if [ -f /etc/dovecot/dovecot-sql.conf ]; then chmod 0600 /etc/dovecot/dovecot-sql.conf; fi

# Compile the global sieve scripts so the imapsieve/lmtp processes (running as vmail) need not
# write next to them.
for s in /etc/dovecot/sieve/*.sieve; do
  [ -e "$s" ] || continue
  sievec "$s"
done

# ACME domains: the client's latest chain from the start, then watched. `doveadm reload` makes
# new logins use it; sessions already open keep theirs.
RELOAD_TLS="doveadm reload"
if [ -f /etc/mail-platform/tls-watch.conf ]; then tls-watch --once "$RELOAD_TLS"; fi

# Refuse to start on a config dovecot does not accept, with its message on stderr.
doveconf -n >/dev/null

if [ -f /etc/mail-platform/tls-watch.conf ] && [ "$1" = dovecot ]; then tls-watch "$RELOAD_TLS" & fi

exec "$@"
