#!/usr/bin/env bash
# The whole test suite (npm test): the linters (prettier, eslint, knip, shellcheck), type check, unit tests under mocks, the rendered config of the
# dev and prod stacks checked by the real daemons inside the project's images, then the live
# end-to-end suite: the real program deployed onto this machine's Docker engine (test/e2e/up.ts)
# and used by real mail clients from the host and from a simulated Internet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-machine.sh
npm run --silent lint
npx tsc --noEmit -p .
# One runner invocation, so one summary counts every test. Files run one at a time: the daemon
# tests build images and 2 cores are better spent on one build than split over several.
node --import tsx --test --test-concurrency=1 --test-reporter=spec test/unit/*.test.ts test/daemons/*.test.ts test/e2e/*.test.ts
