#!/usr/bin/env bash
# The README's test command: installs what is needed, then runs every test tier (npm test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
