#!/usr/bin/env bash
# Side-by-side benchmark of flux-lsp and yaml-language-server (issue #7).
#
#   bash .ci/bench.sh            # ~10 minutes; report in target/bench-report.md and on stdout
#   BENCH_QUICK=1 bash .ci/bench.sh   # smaller time budgets, to try it out
#
# Installs yaml-language-server@1.25.0 with npm into a cache directory when
# missing (BENCH_CACHE, default ~/.cache/flux-lsp-bench; needs node >= 18),
# builds the release server and runs the driver (benches/lsp, `cargo bench
# --bench lsp`). Reads the Flux CRDs and the two corpora from ../shared
# (BENCH_SHARED). Without node/npm it benchmarks flux-lsp alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
YLS_VERSION=1.25.0
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-lsp-bench}
yls_dir="$cache/yaml-language-server-$YLS_VERSION"
yls_js="$yls_dir/node_modules/yaml-language-server/bin/yaml-language-server"

if [ ! -f "$yls_js" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "bench: installing yaml-language-server@$YLS_VERSION into $yls_dir" >&2
    mkdir -p "$yls_dir"
    [ -f "$yls_dir/package.json" ] || echo '{"name":"flux-lsp-bench-yls","private":true}' >"$yls_dir/package.json"
    timeout 300 npm install --prefix "$yls_dir" --no-audit --no-fund --save-exact "yaml-language-server@$YLS_VERSION" >&2 \
      || echo "bench: npm install failed; benchmarking flux-lsp alone" >&2
  else
    echo "bench: npm not found; benchmarking flux-lsp alone" >&2
  fi
fi
[ -f "$yls_js" ] && export YLS_JS="$yls_js"

target=${CARGO_TARGET_DIR:-$root/target}
timeout 1800 cargo build --release --bin flux-lsp
export FLUX_LSP_BIN="$target/release/flux-lsp"
export BENCH_REPORT=${BENCH_REPORT:-$root/target/bench-report.md}
# the whole run is bounded; the driver kills the servers it started
timeout 1200 cargo bench --bench lsp -- --bench
