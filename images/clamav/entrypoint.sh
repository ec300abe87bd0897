#!/bin/sh
# clamd as PID 1 in the foreground (it logs to stdout), freshclam beside it as a background
# daemon. freshclam failing (no route to its mirror, rate limits) only costs signature updates:
# it is not clamd's parent, so clamd keeps serving with the databases it has, and freshclam
# retries at its next check. clamd's SelfCheck picks up what freshclam downloads.
set -eu
install -d -o clamav -g clamav -m 0755 /run/clamav /var/lib/clamav
# The signature directory is a host path that outlives the container (freshclam's downloads are
# kept); the image's own EICAR database is refreshed in it on every start.
install -o clamav -g clamav -m 0644 /usr/local/share/mail-platform/mail-platform-eicar.ndb /var/lib/clamav/
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
if [ -s /etc/clamav/freshclam.conf ]; then
  freshclam --daemon --foreground --stdout --config-file=/etc/clamav/freshclam.conf &
fi
exec clamd --foreground --config-file=/etc/clamav/clamd.conf
