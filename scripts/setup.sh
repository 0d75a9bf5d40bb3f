#!/usr/bin/env bash
# Installs everything Delegate needs on a fresh Debian 12 machine (run as root, or with sudo):
# system packages, the npm workspace (which also builds the bundles), and a real VS Code
# (code-server on its own Node 24) for the extension tests and the dev session. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

PACKAGES=(bubblewrap git chromium docker.io libkrb5-dev pkg-config debootstrap ca-certificates
          procps iproute2 util-linux python3 make g++ fonts-dejavu-core postgresql)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file (it also runs `prepare`: the build).
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi

bash scripts/install-vscode.sh >/dev/null
echo "setup: done"
