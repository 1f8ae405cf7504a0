#!/usr/bin/env bash
# README quick start (1): installs, builds and runs the main job. Until the gateway
# app exists that is the VRRP demo: three proxyha-vrrpd routers on loopback (no root)
# elect a master that holds the VIP 127.0.0.74, hand over on SIGTERM, preempt, and
# fail over on SIGKILL. Extra arguments go to the demo (e.g. --interval 100ms).
set -euo pipefail
cd "$(dirname "$0")/.."
# the pnpm scripts/bootstrap.sh installs when there is none (no root needed)
export PATH="$PWD/.tools/bin:$PATH"
bash scripts/bootstrap.sh
TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --filter @proxyha/vrrpd... --output-logs=errors-only
exec node packages/vrrpd/examples/loopback-cluster.mjs "$@"
