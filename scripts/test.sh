#!/usr/bin/env bash
# The README's test command: installs what is needed, then runs every test tier (npm test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Types and lint first: both take under a minute and fail fast, before the 10-minute suite.
npm run --silent typecheck
npm run --silent lint
npm test
