#!/usr/bin/env bash
# Runs both fuzz targets for N seconds each (default 60), seeded from ../shared/corpora.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
mkdir -p corpus/syntax corpus/edits
if [ -d ../../shared/corpora ]; then
  find ../../shared/corpora -name '*.yaml' -exec cp {} corpus/syntax/ \; 2>/dev/null || true
fi
# the toolchain here is stable: let cargo-fuzz use the nightly-only sanitizer flags
export RUSTC_BOOTSTRAP=1
for t in syntax edits; do
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=4096
done
