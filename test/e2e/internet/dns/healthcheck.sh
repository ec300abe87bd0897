#!/bin/sh
# Ready when NSD answers an SOA query for each served zone authoritatively (status NOERROR, aa flag).
set -eu
for f in /etc/nsd/zones/*.zone; do
  zone=$(basename "$f" .zone)
  out=$(dig @127.0.0.1 +norec +time=1 +tries=1 "$zone" SOA) || { echo "no answer for $zone SOA"; exit 1; }
  echo "$out" | grep -q 'status: NOERROR' || { echo "$out"; exit 1; }
  echo "$out" | grep -q 'flags:.* aa' || { echo "not authoritative for $zone: $out"; exit 1; }
done
