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
security=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
  | grep -- '-security' | head -n1)
security="${security%/}"
[ -n "$mirror" ] || { echo "cannot find this machine's Debian mirror in apt's sources" >&2; exit 1; }

root=$(mktemp -d /tmp/trixie-root.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >/tmp/debootstrap.log 2>&1 \
  || { tail -n 30 /tmp/debootstrap.log >&2; exit 1; }
# The image's apt reaches the same mirrors as this machine, security archive included when the
# machine has one, so every image build installs the current point release and security fixes.
{
  echo "deb $mirror $SUITE main"
  echo "deb $mirror $SUITE-updates main"
  [ -z "$security" ] || echo "deb $security $SUITE-security main"
} >"$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "base image $IMAGE built"
