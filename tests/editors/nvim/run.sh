#!/usr/bin/env bash
# Runs the Neovim end-to-end test: tests/editors/nvim/run.sh NVIM FLUX_LSP_BIN
# Prints PASS/FAIL lines and exits non-zero when a check failed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
nvim="${1:?usage: run.sh NVIM FLUX_LSP_BIN}"
bin="${2:?usage: run.sh NVIM FLUX_LSP_BIN}"
# a copy of the fixture workspace with an empty .git/, the root marker
ws="$(mktemp -d "${TMPDIR:-/tmp}/flux-lsp-editors.XXXXXX")"
cp -R "$here/../workspace/." "$ws/"
rm -f "$ws/README.md"
mkdir -p "$ws/.git"
ws="$(cd "$ws" && pwd -P)"
state="$(mktemp -d "${TMPDIR:-/tmp}/flux-lsp-nvim-state.XXXXXX")"
trap 'rm -rf "$ws" "$state"' EXIT

case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
status=0
FLUX_LSP_BIN="$bin" E2E_WORKSPACE="$ws" E2E_PLUGIN="$repo/editors/nvim" \
  XDG_STATE_HOME="$state" XDG_CONFIG_HOME="$state/config" XDG_DATA_HOME="$state/data" \
  HOME="$state" KUBECONFIG="$state/no-kubeconfig" E2E_KUBECONFIG="$here/../kubeconfig-refused.yaml" \
  timeout 120 "$nvim" --headless --clean -l "$here/e2e.lua" </dev/null >"$state/out" 2>&1 || status=$?
cat "$state/out"
if [ "$status" -ne 0 ]; then
  # a crash or timeout before any check reported counts as one failure
  grep -q '^FAIL ' "$state/out" || echo "FAIL nvim/run: exit status $status"
  log="$state/nvim/lsp.log"
  if [ -s "$log" ]; then
    echo "--- last lines of $log"
    tail -n 40 "$log"
  fi
fi
exit "$status"
