#!/usr/bin/env bash
# README quick start (1): installs, builds and runs the main job, without root: the demo cluster of
# apps/gateway/examples/demo-cluster.mjs. Three proxyha gateway nodes on loopback (VRRP over the loopback
# transport, the relay data plane on the VIP 127.0.0.74:9090, central management over mutual TLS, a small
# demo proxy per node); a client sends requests through the VIP and prints which node served each; then
# the director is killed and another takes over, one node's proxy stops and it is drained, and a policy
# saved on one node reaches every node. It prints the status page's address and runs until Ctrl-C, then
# removes everything it started. `--once` exits after the steps; `--verbose` shows every log line.
set -euo pipefail
cd "$(dirname "$0")/.."
# the pnpm scripts/bootstrap.sh installs when there is none (into .tools/ of the checkout: no root needed)
export PATH="$PWD/.tools/bin:$PATH"
bash scripts/bootstrap.sh
TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --filter @proxyha/gateway... --output-logs=errors-only
exec node apps/gateway/examples/demo-cluster.mjs "$@"
