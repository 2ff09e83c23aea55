#!/usr/bin/env bash
# isolated.sh <command...>: runs the command in a new network namespace where only loopback exists, so no
# test traffic (etcd, the VS Code server, Chromium) can leave the machine. Needs root, unshare and ip; without
# them it runs the command directly (the rig's settings still turn telemetry and update checks off).
set -euo pipefail
if [[ $# -eq 0 ]]; then
  echo "usage: $0 <command...>" >&2
  exit 2
fi
if [[ $(id -u) -eq 0 ]] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 \
  && unshare -n -- true 2>/dev/null; then
  exec unshare -n -- bash -c 'ip link set lo up && exec "$@"' isolated "$@"
fi
echo "[isolated] no network namespace available (needs root, unshare and ip): running without isolation" >&2
exec "$@"
