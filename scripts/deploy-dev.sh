#!/usr/bin/env bash
# Deploys the dev stack (Pulumi.dev.yaml) onto this machine's Docker engine with a local state
# backend in .pulumi/, so nothing leaves the machine.
#   usage: bash scripts/deploy-dev.sh [--check | pulumi up arguments...]
# It checks everything first and installs nothing: each missing thing is named with how to get
# it, and the script exits before Pulumi runs. The one thing it may create is the base image, on
# the engine, when it is absent and this machine can make it (root, debootstrap).
# --check runs only the checks (exit 0 when all pass). Exit 1: something is missing; exit 3: no
# Pulumi CLI on the PATH and the pinned one could not be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

check_only=false
if [ "${1:-}" = --check ]; then check_only=true; shift; fi

# A scalar of the dev stack's config, else the default given (Pulumi.yaml's for that key).
stack_value() {
  local v
  v=$(sed -n "s/^  mail-platform:$1: *//p" Pulumi.dev.yaml | sed 's/ \+#.*//; s/^"\(.*\)"$/\1/')
  echo "${v:-$2}"
}
host=$(stack_value dockerHost unix:///var/run/docker.sock)
base=$(stack_value baseImage mail-platform/debian:trixie)
if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$host" ]; then
  echo "note: ignoring DOCKER_HOST=$DOCKER_HOST: the dev stack deploys onto $host (Pulumi.dev.yaml)"
fi
# Tests point the checks at another socket. Pulumi would still deploy onto $host, so with this
# override the script never goes past the checks.
checked="$host"
[ -z "${MAIL_PLATFORM_DOCKER_SOCKET:-}" ] || checked="unix://$MAIL_PLATFORM_DOCKER_SOCKET"

problems=0
host_rc=0
DOCKER_HOST="$checked" bash scripts/check-deploy-host.sh "$base" || host_rc=$?
[ "$host_rc" = 0 ] || [ "$host_rc" = 2 ] || problems=1

if [ -f node_modules/pulumi/package.json ] && [ -f node_modules/@pulumi/pulumi/package.json ]; then
  echo "ok: node_modules present"
else
  echo "missing: node_modules: run npm ci" >&2
  problems=1
fi
if ! command -v node >/dev/null; then
  echo "missing: Node.js 22 or newer (https://nodejs.org/ or your distribution's nodejs)" >&2
  problems=1
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
  echo "warning: Node.js $(node --version): the Pulumi SDK asks for 22 or newer (it works on 20; upgrade when you can)"
fi
[ "$problems" = 0 ] || { echo "not deploying: fix what is missing above, then run this again" >&2; exit 1; }

# The Pulumi CLI: one on the PATH when it is at least the pinned version, else the pinned npm
# package's, which downloads the CLI from get.pulumi.com on first use. node_modules/.bin is
# skipped: npm puts that shim first on the PATH of `npm run`.
# The update check asks api.pulumi.com, which our machines cannot reach.
export PULUMI_SKIP_UPDATE_CHECK=true
pinned=$(node -p 'require("./node_modules/pulumi/package.json").version')
cached="${PULUMI_HOME:-$HOME/.pulumi}/versions/$pinned/bin/pulumi"
cli=""
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
  if [[ $d == */node_modules/.bin ]] || [ ! -x "$d/pulumi" ]; then continue; fi
  v=$(timeout 30 "$d/pulumi" version 2>/dev/null | grep -Eom1 '[0-9]+\.[0-9]+\.[0-9]+[-+.0-9A-Za-z]*') || v=""
  if [ -n "$v" ] && [ "$(printf '%s\n' "$pinned" "$v" | sort -V | head -n1)" = "$pinned" ]; then
    cli="$d/pulumi"
    echo "ok: Pulumi CLI $v on the PATH: $cli"
  else
    echo "note: $d/pulumi (${v:-version unknown}) is older than $pinned or does not run; using the pinned CLI $pinned"
  fi
  break
done
if [ -z "$cli" ]; then
  if [ -x "$cached" ]; then
    echo "ok: the pinned Pulumi CLI $pinned: $cached"
  else
    echo "note: the pinned Pulumi CLI $pinned is not downloaded yet: node_modules/.bin/pulumi fetches it from get.pulumi.com on first use (or put a pulumi >= $pinned on the PATH)"
  fi
fi
# pulumi up downloads the providers' plugins it does not find, from get.pulumi.com or GitHub.
# shellcheck disable=SC2016 # a JavaScript program: its ${...} are JavaScript's
absent=$(node -e '
  const fs = require("fs"), home = process.env.PULUMI_HOME || require("os").homedir() + "/.pulumi";
  for (const p of ["docker", "random", "tls"]) {
    const v = require(`./node_modules/@pulumi/${p}/package.json`).version;
    if (!fs.existsSync(`${home}/plugins/resource-${p}-v${v}`)) console.log(`${p} ${v}`);
  }' | paste -sd, - | sed 's/,/, /g')
[ -z "$absent" ] || echo "note: the resource plugins $absent are not installed yet: pulumi up downloads them on first use (pulumi plugin install resource NAME VERSION --file TARBALL without Internet access)"

if $check_only; then
  [ "$host_rc" = 0 ] || echo "note: a deploy would first make the base image $base on the engine at $host"
  echo "all checks passed"
  exit 0
fi
if [ -n "${MAIL_PLATFORM_DOCKER_SOCKET:-}" ]; then
  echo "not deploying: MAIL_PLATFORM_DOCKER_SOCKET only redirects the checks; the dev stack deploys onto $host" >&2
  exit 1
fi

if [ -z "$cli" ]; then
  [ -x "$cached" ] || echo "fetching the Pulumi CLI $pinned from get.pulumi.com (npm's pulumi package does it on first use)..."
  # PULUMI_VERSION would make the npm package fetch another version than the pinned one. The
  # timeout bounds a download that stalls instead of failing.
  if ! env -u PULUMI_VERSION timeout 300 node_modules/.bin/pulumi version >/dev/null || [ ! -x "$cached" ]; then
    echo "the Pulumi CLI $pinned could not be fetched from get.pulumi.com. Install it from https://www.pulumi.com/docs/install/ or put a pulumi >= $pinned on the PATH, then run this again." >&2
    exit 3
  fi
  cli="$cached"
fi
# The CLI finds its language hosts (pulumi-language-nodejs) next to itself.
PATH="$(dirname "$cli"):$PATH"

if [ "$host_rc" = 2 ]; then
  echo "making the base image $base on the engine at $host, as it is absent (nothing else is created outside .pulumi/ and the stack)"
  DOCKER_HOST="$host" bash scripts/base-image.sh "$base"
fi

mkdir -p .pulumi
export PULUMI_BACKEND_URL="file://$PWD/.pulumi"
export DOCKER_HOST="$host"
# The dev stack's secrets (its TLS and DKIM private keys, passwords) are encrypted in .pulumi/
# with this passphrase: `dev` unless you set your own; set your own for anything shared.
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "note: the dev state in .pulumi/ holds private keys and passwords, encrypted with the passphrase 'dev' (set PULUMI_CONFIG_PASSPHRASE for your own)"
  export PULUMI_CONFIG_PASSPHRASE=dev
fi
"$cli" stack select dev 2>/dev/null || "$cli" stack init dev
"$cli" up --stack dev --yes "$@"
