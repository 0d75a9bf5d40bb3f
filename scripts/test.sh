#!/usr/bin/env bash
# The README's test command: installs what is needed, then runs every test tier (npm test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The universal sandbox image's root file system (Debian packages, ~5.5 min once, cached in
# ~/.cache/delegate): the environment tests run repositories' own test suites in it. Only the test
# run needs it, so the dev set-up does not pay for it.
ROOTFS_ONLY=1 sh scripts/build-sandbox-image.sh --universal
# Types and lint first: both take under a minute and fail fast, before the 10-minute suite.
npm run --silent typecheck
npm run --silent lint
npm test
