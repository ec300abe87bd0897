#!/bin/sh
# Prepares what Amavis reads after it drops root, then runs the given command (amavisd in the
# foreground by default) as PID 1.
set -eu
# Uploaded files arrive root-owned. The DKIM keys and SpamAssassin's Bayes SQL credentials must
# be readable by the amavis user and by nobody else.
for f in /etc/amavis/dkim/*.pem /etc/spamassassin/*-secret.cf; do
  [ -e "$f" ] || continue
  chown root:amavis "$f"
  chmod 0640 "$f"
done
# $TEMPBASE (a tmpfs) and $QUARANTINEDIR (a host directory) arrive root-owned when Docker mounts
# them; only their top directories are handed to amavis.
for d in /var/lib/amavis/tmp /var/lib/amavis/virusmails /run/amavis; do
  mkdir -p "$d"
  chown amavis:amavis "$d"
  chmod 0750 "$d"
done
# A container killed without a clean shutdown (host crash, dockerd restart, OOM) keeps its PID
# file across the restart; it names PID 1, which is then the new amavisd itself, so amavisd would
# refuse to start ("already running") forever. This script runs only at container start, when no
# amavisd can be running: any PID file here is stale.
rm -f /run/amavis/amavisd.pid /var/run/amavis/amavisd.pid
# SpamAssassin's rules come from the rule updater (images/sa-update) on a read-only host path at
# /var/lib/spamassassin; when it publishes new ones (after its lint), Amavis reloads: its parent
# re-executes itself on SIGHUP and keeps its listening sockets, so no connection is refused. A
# child in the middle of a message when the signal comes answers 421: Postfix keeps that message
# queued and retries it (deferred, never lost).
if [ -f /var/lib/spamassassin/stamp ]; then
  reload-on-stamp /var/lib/spamassassin/stamp /usr/sbin/amavisd reload &
fi
exec "$@"
