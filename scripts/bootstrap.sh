#!/usr/bin/env bash
# Installs the JavaScript toolchain and the workspace's dependencies on a fresh
# Debian 12 + Node 20 machine: pnpm 10 (through npm, not corepack, whose signature
# check fails offline), then `pnpm install` (which also builds @proxyha/netio's
# native addon with node-gyp when python3, make and g++ are present).
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "proxyha needs Node.js 20 or later (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version | grep -q '^10\.'; then
  echo "bootstrap: installing pnpm 10 with npm"
  npm install -g pnpm@10 >/dev/null
fi
export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile
