#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io if missing and
# starts dockerd when nothing runs it (our CI machines have no init system). Idempotent.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if ! pgrep -x dockerd >/dev/null; then
  mkdir -p /var/log
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not answer within 60 s; its log:" >&2
tail -n 40 /var/log/dockerd.log >&2
exit 1
