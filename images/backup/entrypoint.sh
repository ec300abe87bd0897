#!/bin/sh
# The backup container's start: cron as PID 1 (or log-to-file's child when the container logs to
# a file), running the uploaded /etc/cron.d/mail-platform. With other arguments it runs them
# instead (a restore by hand, checks, tests).
set -eu
if [ "$#" -gt 0 ] && [ "$*" != "cron -f" ]; then
  exec "$@"
fi
# cron ignores a file in /etc/cron.d that others can write.
if [ -f /etc/cron.d/mail-platform ]; then
  chmod 0644 /etc/cron.d/mail-platform
fi
exec cron -f
