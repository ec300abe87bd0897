#!/usr/bin/env bash
# Checks that a stack can be deployed onto the Docker engine at $DOCKER_HOST (default: this
# machine's socket), e.g. `DOCKER_HOST=ssh://deploy@mailhost01 bash scripts/check-deploy-host.sh`
# before a prod `pulumi up`. It changes nothing: each problem is printed with how to fix it.
#   usage: [DOCKER_HOST=unix://...|ssh://...] bash scripts/check-deploy-host.sh [BASE_IMAGE]
#   exit 0: ready; 1: something is missing (said on stderr); 2: ready except the base image,
#   which this machine can make (`bash scripts/base-image.sh`: root, debootstrap, Debian).
set -euo pipefail
host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
base="${1:-mail-platform/debian:trixie}"

problems=0
ok() { echo "ok: $*"; }
missing() { echo "missing: $*" >&2; problems=$((problems + 1)); }

# The docker provider reads these from the environment, and they win over the stack's config.
if [ -n "${DOCKER_CONTEXT:-}" ]; then
  missing "DOCKER_CONTEXT is set ($DOCKER_CONTEXT): the docker provider would use that context's engine instead of the stack's dockerHost ($host); unset DOCKER_CONTEXT"
fi
for v in DOCKER_CERT_PATH DOCKER_CA_MATERIAL DOCKER_CERT_MATERIAL DOCKER_KEY_MATERIAL; do
  if [ -n "${!v:-}" ]; then
    missing "$v is set: the docker provider would then speak TLS to the engine, even to an ssh:// host, and fail; unset $v"
  fi
done

# One call to the engine's API, by curl on a local socket (no Docker CLI needed there), else by
# the Docker CLI (ssh:// and tcp:// hosts). The variables above would redirect the CLI, so the
# probe runs without them. Prints the answer; fails when the engine does not answer.
engine() { # engine ping | info | image NAME
  if [[ $host == unix://* ]] && command -v curl >/dev/null; then
    local path
    case $1 in ping) path=/_ping ;; info) path=/info ;; image) path="/images/$2/json" ;; esac
    curl -fsS --max-time 20 --unix-socket "${host#unix://}" "http://localhost$path" 2>/dev/null
  elif command -v docker >/dev/null; then
    local cli=(env -u DOCKER_CONTEXT -u DOCKER_CERT_PATH timeout 60 docker -H "$host")
    case $1 in
      ping) "${cli[@]}" version --format '{{.Server.Version}}' 2>/dev/null ;;
      info) "${cli[@]}" info --format '{{json .DriverStatus}}' 2>/dev/null ;;
      image) "${cli[@]}" image inspect --format '{{.Id}}' "$2" 2>/dev/null ;;
    esac
  else
    return 1
  fi
}

if ! engine ping >/dev/null; then
  if [[ $host != unix://* ]] && ! command -v docker >/dev/null; then
    missing "the Docker CLI, to reach $host (install Docker's docker-ce-cli, or Debian's docker.io)"
  elif [[ $host == unix://* ]] && ! command -v curl >/dev/null && ! command -v docker >/dev/null; then
    missing "curl or the Docker CLI, to reach $host (apt-get install curl)"
  elif [[ $host == unix://* ]] && [ -S "${host#unix://}" ] && [ ! -w "${host#unix://}" ]; then
    missing "permission to use ${host#unix://}: add yourself to its group (sudo usermod -aG docker \"\$USER\", then log in again) or run as root"
  else
    missing "no Docker engine answers at $host: start it (sudo systemctl start docker, or Docker Desktop), or install one (https://docs.docker.com/engine/install/)"
  fi
  echo "cannot check the engine further until it answers" >&2
  exit 1
fi
ok "Docker engine answers at $host"

# With the containerd image store, the provider's image build fails
# (kreuzwerker/terraform-provider-docker#534).
if engine info | grep -q 'io.containerd.snapshotter.v1'; then
  missing "the classic image store: the engine at $host stores images in containerd (io.containerd.snapshotter.v1), where the docker provider's image builds fail (kreuzwerker/terraform-provider-docker#534). Turn it off: '\"features\": {\"containerd-snapshotter\": false}' in /etc/docker/daemon.json and restart dockerd, or in Docker Desktop untick \"Use containerd for pulling and storing images\"; then make the base image again"
else
  ok "the engine uses the classic image store (no containerd snapshotter)"
fi

if engine image "$base" >/dev/null; then
  ok "base image $base present"
  base_rc=0
else
  # Who can make it: root on a Debian machine with debootstrap and the Docker CLI (docker import).
  why=()
  [ "$(id -u)" = 0 ] || why+=("root")
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || why+=("debootstrap (sudo apt-get install debootstrap)")
  command -v apt-get >/dev/null || why+=("a Debian machine (its apt mirror)")
  command -v docker >/dev/null || why+=("the Docker CLI")
  if [ ${#why[@]} -eq 0 ]; then
    echo "note: base image $base is absent; this machine can make it: bash scripts/base-image.sh $base"
    base_rc=2
  else
    missing "base image $base on the engine at $host. Making it here needs: $(printf '%s; ' "${why[@]}")Make it once as root on a Debian machine: sudo bash scripts/base-image.sh (for a remote engine: sudo DOCKER_HOST=$host bash scripts/base-image.sh)"
    base_rc=1
  fi
fi

[ "$problems" -eq 0 ] || exit 1
exit "$base_rc"
