#!/usr/bin/env bash
# `npm test`: lint, then all five suites — unit, integration (real etcd), extension host (real VS Code server),
# E2E (Chromium driving the real UI) and the demo (`npm run demo` as the README runs it, opened in Chromium).
# Suites that spawn servers run inside a loopback-only network namespace when
# possible (scripts/isolated.sh), so no test traffic can leave the machine. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir="test-artifacts/logs"
mkdir -p "$log_dir"
passed=0
failed=0
status=0

run_suite() {
  local name="$1"; shift
  echo "=== $name ==="
  "$@" 2>&1 | tee "$log_dir/$name.log"
  local rc=${PIPESTATUS[0]}
  local p f
  # mocha's summary; ANSI colours stripped.
  p=$(sed 's/\x1b\[[0-9;]*m//g' "$log_dir/$name.log" | grep -Eo '^ *[0-9]+ passing' | tail -1 | grep -Eo '[0-9]+' || true)
  f=$(sed 's/\x1b\[[0-9;]*m//g' "$log_dir/$name.log" | grep -Eo '^ *[0-9]+ failing' | tail -1 | grep -Eo '[0-9]+' || true)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [[ $rc -ne 0 ]]; then
    echo "=== $name: exit code $rc ==="
    status=1
    [[ -z "$f" || "$f" == 0 ]] && failed=$((failed + 1))
  fi
}

# A check without a mocha summary (lint) counts as one passed or one failed test.
run_check() {
  local name="$1"; shift
  echo "=== $name ==="
  "$@" 2>&1 | tee "$log_dir/$name.log"
  if [[ ${PIPESTATUS[0]} -eq 0 ]]; then
    passed=$((passed + 1))
  else
    echo "=== $name: failed ==="
    failed=$((failed + 1))
    status=1
  fi
}

run_check lint npm run --silent lint
run_suite unit npx mocha --config test/.mocharc.unit.json
run_suite integration bash scripts/isolated.sh npx mocha --config test/.mocharc.integration.json
if [[ "${ETCD_EXPLORER_SKIP_VSCODE:-}" == 1 ]]; then
  echo "=== extension host and E2E suites skipped (ETCD_EXPLORER_SKIP_VSCODE=1) ==="
else
  bash scripts/setup-vscode-server.sh >/dev/null || { echo "VS Code server setup failed"; exit 1; }
  run_suite extension-host bash scripts/isolated.sh node out/test/rig/runExtensionHost.js
  run_suite e2e bash scripts/isolated.sh node out/test/rig/runE2e.js
  run_suite demo bash scripts/isolated.sh npx mocha --config test/.mocharc.demo.json
fi

echo "$passed passed, $failed failed"
exit $status
