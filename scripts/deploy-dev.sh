#!/usr/bin/env bash
# Deploys the dev stack (Pulumi.dev.yaml) onto this machine's Docker engine with a local state
# backend in .pulumi/, so nothing leaves the machine. Needs the Pulumi CLI 3.x.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pulumi >/dev/null || { echo "the Pulumi CLI 3.x is required: https://www.pulumi.com/docs/install/" >&2; exit 1; }
bash scripts/setup-machine.sh
[ -d node_modules ] || npm ci
mkdir -p .pulumi
export PULUMI_BACKEND_URL="file://$PWD/.pulumi"
# The dev stack's secrets are encrypted with this passphrase; set your own for anything shared.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-dev}"
pulumi stack select dev 2>/dev/null || pulumi stack init dev
pulumi up --stack dev --yes "$@"
