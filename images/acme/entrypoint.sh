#!/bin/sh
# Prepares the ACME client's state on its host path, starts a first renewal run in the background
# (a new stack gets its certificates at once, not at the next scheduled run), then runs cron.
set -eu
install -d -m 0700 /var/lib/acme /var/lib/acme/lego /var/lib/acme/state
# The chains are public; the daemons read them through a read-only mount of this directory.
install -d -m 0755 /var/lib/acme/certificates
# Uploaded secrets (EAB MAC key, TSIG secret) stay root's.
find /etc/mail-platform/acme -name '*.secret' -exec chmod 0600 {} +
chmod 0644 /etc/cron.d/mail-platform
if [ "$1" = cron ]; then
  run-job acme-renew acme-renew &
fi
exec "$@"
