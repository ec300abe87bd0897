#!/usr/bin/env bash
# Builds the Debian 13 (trixie) base image every project image starts FROM.
# No registry is reachable from our machines, so the image comes from debootstrap + docker import.
# The mirror is whatever this machine's apt already uses, so nothing here names a host.
# Idempotent: exits at once when the image exists.
set -euo pipefail
IMAGE="${1:-mail-platform/debian:trixie}"
SUITE=trixie

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE present"
  exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }

mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
  | grep -v -- '-security' | head -n1)
mirror="${mirror%/}"
[ -n "$mirror" ] || { echo "cannot find this machine's Debian mirror in apt's sources" >&2; exit 1; }

root=$(mktemp -d /tmp/trixie-root.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >/tmp/debootstrap.log 2>&1 \
  || { tail -n 30 /tmp/debootstrap.log >&2; exit 1; }
# The image's apt must reach the same mirror; security updates come from the same host's -security path
# when it has one, which is how the machine itself is set up.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
SOURCES
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "base image $IMAGE built"
