#!/usr/bin/env bash
# Prints the path of a Node.js 24 binary, installing it first if needed: the npm registry's `node`
# package (node@24) brings the binary for this platform, so nothing but the registry is reached.
# Kept in node_modules/.cache/node24; the unit tests also run on it (users run Node 22 and 24).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=node_modules/.cache/node24
bin="$dir/node_modules/.bin/node"
if ! [ -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q '^v24\.'; then
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --no-save --prefix "$dir" node@24 >&2
fi
"$bin" --version >&2
echo "$PWD/$bin"
