#!/bin/sh
# spamd as PID 1. Before it starts: the Bayes SQL credentials become readable by spamd's user
# only, and the Bayes tables are created in MariaDB when they are missing. With arguments the
# entrypoint runs them instead (config checks such as `spamassassin --lint`).
set -eu
for f in /etc/spamassassin/*-secret.cf; do
  [ -e "$f" ] || continue
  chown root:debian-spamd "$f"
  chmod 0640 "$f"
done
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
/usr/local/bin/bayes-schema.pl
# SpamAssassin's rules come from the rule updater (images/sa-update) on a read-only host path at
# /var/lib/spamassassin; spamd (PID 1 below) re-reads them on SIGHUP when it publishes new ones.
if [ -f /var/lib/spamassassin/stamp ]; then
  reload-on-stamp /var/lib/spamassassin/stamp kill -HUP 1 &
fi
# The Bayes report job, when the deployment uploaded a schedule.
start-jobs
# OPTIONS comes from the rendered /etc/default/spamd (listen address, allowed clients, children).
# shellcheck source=/dev/null # a file of the Debian package, present only inside the image
. /etc/default/spamd
# shellcheck disable=SC2086 # OPTIONS is a list of words on purpose
exec /usr/sbin/spamd $OPTIONS
