#!/usr/bin/env bash
# Everything the test suite needs on a fresh Debian machine, as root: the Docker engine,
# debootstrap for the base image, openssl for test key material, shellcheck for `npm run lint`,
# Prometheus's promtool for the alert rules' unit tests,
# Debian's Chromium for the e2e
# browser tests (playwright-core drives /usr/bin/chromium; it never downloads a browser of its own).
# Idempotent and quick when warm. Our CI machines' setup, never a user's: with ensure-docker.sh,
# which it runs, the only script that installs system packages (base-image.sh and deploy-dev.sh
# say what is missing instead).
set -euo pipefail
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash "$(dirname "$0")/ensure-docker.sh"
bash "$(dirname "$0")/base-image.sh"
