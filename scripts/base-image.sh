#!/usr/bin/env bash
# Builds the Debian 13 (trixie) base image every project image starts FROM, on the engine at
# $DOCKER_HOST (default: this machine's), e.g. DOCKER_HOST=ssh://user@host for a remote one.
# No registry is reachable from our machines, so the image comes from debootstrap + docker import.
# The mirror is whatever this machine's apt already uses, so nothing here names a host.
#   usage: bash scripts/base-image.sh [--refresh] [IMAGE]
# Idempotent: exits at once when the image exists. --refresh builds it again anyway, with
# today's packages and Debian security updates.
# It installs nothing on this machine (scripts/setup-machine.sh does, on our CI machines): it
# needs root, debootstrap, apt (a Debian machine) and the Docker CLI, and says which is missing.
set -euo pipefail
refresh=false
if [ "${1:-}" = --refresh ]; then refresh=true; shift; fi
IMAGE="${1:-mail-platform/debian:trixie}"
SUITE=trixie

if ! $refresh && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE present"
  exit 0
fi

missing=()
[ "$(id -u)" = 0 ] || missing+=("root (debootstrap needs it: sudo bash $0)")
command -v debootstrap >/dev/null || missing+=("debootstrap (sudo apt-get install debootstrap)")
command -v apt-get >/dev/null || missing+=("apt (a Debian machine: its mirror is the image's)")
command -v docker >/dev/null || missing+=("the Docker CLI (docker import)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "cannot build the base image $IMAGE; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

# shellcheck disable=SC2016 # $(REPO_URI) is apt's own format placeholder, not the shell's
mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
  | grep -v -- '-security' | head -n1)
mirror="${mirror%/}"
# shellcheck disable=SC2016 # $(REPO_URI) is apt's own format placeholder, not the shell's
security=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
  | grep -- '-security' | head -n1)
security="${security%/}"
[ -n "$mirror" ] || { echo "cannot find this machine's Debian mirror in apt's sources" >&2; exit 1; }

root=$(mktemp -d /tmp/trixie-root.XXXXXX)
log=$(mktemp /tmp/base-image.XXXXXX.log)
trap 'rm -rf "$root" "$log"' EXIT
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$log" 2>&1 \
  || { tail -n 30 "$log" >&2; exit 1; }
# The image's apt reaches the same mirrors as this machine, security archive included when the
# machine has one, so every image build installs the current point release and security fixes.
{
  echo "deb $mirror $SUITE main"
  echo "deb $mirror $SUITE-updates main"
  [ -z "$security" ] || echo "deb $security $SUITE-security main"
} >"$root/etc/apt/sources.list"
# debootstrap takes the suite as released; the packages already in it only get their security
# and point-release fixes from an upgrade, which the project images' apt-get install never does.
chroot "$root" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq' >"$log" 2>&1 \
  || { tail -n 30 "$log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "base image $IMAGE built"
