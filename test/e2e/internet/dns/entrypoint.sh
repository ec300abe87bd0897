#!/bin/sh
# Serves every zone file found in /etc/nsd/zones (copied in before start), named <zone>.zone, as
# primary. Writes nsd.conf for them, checks config and zones (a bad zone fails the start with
# nsd-checkzone's message), then runs nsd in the foreground as PID 1, logging to stderr.
set -eu

ZONES_DIR=/etc/nsd/zones
CONF=/etc/nsd/nsd.conf

{
  echo "server:"
  echo "  ip-address: 0.0.0.0"
  # IPv6 is disabled in the containers here; binding :: would fail.
  echo "  do-ip6: no"
  echo "  port: 53"
  echo "  server-count: 1"
  echo "  zonesdir: \"$ZONES_DIR\""
  echo "  pidfile: \"/run/nsd/nsd.pid\""
  echo "  hide-version: yes"
  echo "  verbosity: 1"
  echo "remote-control:"
  echo "  control-enable: no"
} > "$CONF"

count=0
for f in "$ZONES_DIR"/*.zone; do
  [ -e "$f" ] || continue
  zone=$(basename "$f" .zone)
  nsd-checkzone "$zone" "$f"
  printf 'zone:\n  name: "%s"\n  zonefile: "%s"\n' "$zone" "$(basename "$f")" >> "$CONF"
  count=$((count + 1))
done
if [ "$count" -eq 0 ]; then
  echo "dns-entrypoint: no zone files in $ZONES_DIR (expected <zone>.zone files copied in before start)" >&2
  exit 1
fi
nsd-checkconf "$CONF"

mkdir -p /run/nsd
chown nsd:nsd /run/nsd /var/lib/nsd
echo "dns-entrypoint: serving $count zone(s)" >&2
exec nsd -d -c "$CONF" "$@"
