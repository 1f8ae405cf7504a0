#!/usr/bin/env bash
# README quick start (1): installs, builds and runs the main job, without root. Until the gateway app
# exists that is two loopback demos:
#   - VRRP: three proxyha-vrrpd routers elect a master that holds the VIP 127.0.0.74, hand over on
#     SIGTERM, preempt, and fail over on SIGKILL (extra arguments go to this one, e.g. --interval 100ms);
#   - the director: three proxyha-lb nodes form group 51 (discovery and load reports), a node whose proxy
#     stops is drained and returns, a node that dies is declared failed ("Scanning partner has failed").
set -euo pipefail
cd "$(dirname "$0")/.."
# the pnpm scripts/bootstrap.sh installs when there is none (no root needed)
export PATH="$PWD/.tools/bin:$PATH"
bash scripts/bootstrap.sh
TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --filter @proxyha/vrrpd... --filter @proxyha/lb-director... --output-logs=errors-only
node packages/vrrpd/examples/loopback-cluster.mjs "$@"
exec node packages/lb-director/examples/loopback-group.mjs
