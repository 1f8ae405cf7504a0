#!/usr/bin/env bash
# README quick start (2): installs everything and runs the whole test suite.
#  - pnpm and node_modules (scripts/bootstrap.sh)
#  - as root: the Debian peers the namespace tests use (scripts/install-test-peers.sh)
#  - build, typecheck, lint, API docs, then unit/property/simulation tests (on this
#    Node and again on Node 24, fetched from the npm registry by scripts/node24.sh) and
#    the namespace tests against real peers (these need root; under CI=true a network
#    test that cannot run fails instead of skipping).
set -euo pipefail
cd "$(dirname "$0")/.."
# the pnpm scripts/bootstrap.sh installs when there is none (no root needed)
export PATH="$PWD/.tools/bin:$PATH"
export TURBO_TELEMETRY_DISABLED=1

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-test-peers.sh
else
  echo "test: not root, the namespace tests will be skipped (CI=true makes that a failure)"
fi
bash scripts/bootstrap.sh

step() { printf '\n=== %s\n' "$*"; }
step build;      pnpm build
step typecheck;  pnpm typecheck
step lint;       pnpm lint
step docs;       pnpm run docs >/dev/null

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
step "unit, property and simulation tests"
pnpm exec vitest run --project '!*:net' --reporter=default --reporter=json --outputFile.json="$results/unit.json" || status=1
step "unit, property and simulation tests on Node 24"
node24=$(bash scripts/node24.sh)
"$node24" node_modules/vitest/vitest.mjs run --project '!*:net' --reporter=dot --reporter=json --outputFile.json="$results/unit24.json" || status=1
step "network namespace tests against real peers"
pnpm exec vitest run --project '*:net' --no-file-parallelism --reporter=default --reporter=json --outputFile.json="$results/net.json" || status=1

node -e '
  const fs = require("fs");
  let p = 0, f = 0, s = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) { f++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    p += r.numPassedTests;
    // failed tests, plus each test file that failed before running any test (import error)
    f += r.numFailedTests + r.testResults.filter((t) => t.status === "failed" && t.assertionResults.length === 0).length;
    s += r.numPendingTests + r.numTodoTests;
  }
  console.log(`\ntests: ${p} passed, ${f} failed, ${s} skipped`);
' "$results/unit.json" "$results/unit24.json" "$results/net.json"
exit $status
