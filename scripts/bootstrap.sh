#!/usr/bin/env bash
# Installs the JavaScript toolchain and the workspace's dependencies on a fresh
# Debian 12 + Node 20 machine: pnpm 10 (through npm, not corepack, whose signature
# check fails offline) into .tools/ inside the checkout, so that no root is needed,
# then `pnpm install` (@proxyha/netio loads its prebuilt addon, or builds it with
# node-gyp when python3, make and g++ are present). Callers put .tools/bin on PATH
# first (scripts/demo.sh, scripts/test.sh do) to use the pnpm it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "proxyha needs Node.js 20 or later (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
export PATH="$PWD/.tools/bin:$PATH"
if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version | grep -q '^10\.'; then
  echo "bootstrap: installing pnpm 10 with npm into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools pnpm@10 >/dev/null
  mkdir -p .tools/bin
  ln -sf ../node_modules/.bin/pnpm .tools/bin/pnpm
fi
export TURBO_TELEMETRY_DISABLED=1
# pnpm's "update available" box points at a major this repo does not use
export npm_config_update_notifier=false
pnpm install --frozen-lockfile
