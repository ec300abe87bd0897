#!/bin/sh
# pebble-challtestsrv answers Pebble's DNS questions (A: $RESOLVE_TO, nothing else); Pebble's
# config, listener certificate and key are copied to /etc/pebble by the test before the start.
set -eu
pebble-challtestsrv -defaultIPv4 "$RESOLVE_TO" -defaultIPv6 "" -dns01 127.0.0.1:8053 \
  -http01 "" -https01 "" -tlsalpn01 "" -doh "" -management 127.0.0.1:8055 &
exec pebble -config /etc/pebble/config.json -dnsserver 127.0.0.1:8053
