#!/usr/bin/env bash
# Lints every shell script the repository tracks (found by its #! line, whatever its name:
# images/*/healthcheck has none) with Debian's shellcheck. Part of `npm run lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "shellcheck is missing: apt-get install shellcheck (scripts/setup-machine.sh installs it)" >&2; exit 1; }
# config-templates/ holds templates with {{ placeholders }}, not scripts yet.
mapfile -t scripts < <(git ls-files -z -- . ':!config-templates' | xargs -0 grep -lIE '^#!\s*/(usr/)?bin/(env )?(ba|da)?sh' 2>/dev/null | sort)
shellcheck --external-sources "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
