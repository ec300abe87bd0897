#!/bin/sh
# clamd as PID 1 in the foreground (it logs to stdout); cron beside it runs the scheduled
# `freshclam` job (images/lib/start-jobs, the uploaded /etc/cron.d/mail-platform), which updates
# the signatures and has clamd reload them. A failed update only costs signature updates: clamd
# keeps serving with the databases it has, and the next run tries again.
set -eu
install -d -o clamav -g clamav -m 0755 /run/clamav /var/lib/clamav
# The signature directory is a host path that outlives the container (freshclam's downloads are
# kept); the image's own EICAR database is refreshed in it on every start.
install -o clamav -g clamav -m 0644 /usr/local/share/mail-platform/mail-platform-eicar.ndb /var/lib/clamav/
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
start-jobs
exec clamd --foreground --config-file=/etc/clamav/clamd.conf
