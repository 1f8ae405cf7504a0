#!/usr/bin/env bash
# Installs the proxyha gateway node from this checkout where a Debian admin expects it:
#   /usr/lib/proxyha/          the app with its production dependencies (pnpm deploy); what runs is its
#                              one-file build dist/proxyha.mjs (and the native addons beside it)
#   /usr/bin/proxyha           the command (apps/gateway/bin/proxyha)
#   /lib/systemd/system/proxyha.service
#   /etc/proxyha/proxyha.yaml  the example configuration, only when there is none yet (mode 0600)
#   /var/lib/proxyha/          the data directory (mode 0700)
# Needs Node.js 20 or later at /usr/bin/node (Debian's nodejs package, or NodeSource). Run as root; then
# edit /etc/proxyha/proxyha.yaml, `proxyha check`, and `systemctl enable --now proxyha`.
# DESTDIR=/some/dir installs below that directory instead (packaging, tests); PROXYHA_SKIP_BUILD=1 uses
# the packages as already built (the test suite, which builds first).
set -euo pipefail
cd "$(dirname "$0")/.."
DESTDIR="${DESTDIR:-}"
NODE="${NODE:-/usr/bin/node}"
export PATH="$PWD/.tools/bin:$PATH"
if [ "${PROXYHA_SKIP_BUILD:-}" != 1 ]; then
  bash scripts/bootstrap.sh >/dev/null
  TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --filter @proxyha/gateway... --output-logs=errors-only
fi
lib="$DESTDIR/usr/lib/proxyha"
rm -rf "$lib.new"
# the app and its production dependencies, the workspace packages copied in (no links into this checkout)
pnpm --filter @proxyha/gateway deploy --prod --legacy "$lib.new" >/dev/null
rm -rf "$lib.old"
if [ -e "$lib" ]; then mv "$lib" "$lib.old"; fi
mv "$lib.new" "$lib"
rm -rf "$lib.old"
install -d "$DESTDIR/usr/bin" "$DESTDIR/lib/systemd/system"
# the launcher (apps/gateway/bin/proxyha: the one-file build with the node's memory options), on this Node
sed "s|\${PROXYHA_NODE:-/usr/bin/node}|\${PROXYHA_NODE:-$NODE}|" apps/gateway/bin/proxyha >"$DESTDIR/usr/bin/proxyha"
chmod 0755 "$DESTDIR/usr/bin/proxyha"
install -m 0644 apps/gateway/systemd/proxyha.service "$DESTDIR/lib/systemd/system/proxyha.service"
install -d -m 0755 "$DESTDIR/etc/proxyha"
install -d -m 0700 "$DESTDIR/var/lib/proxyha"
if [ ! -e "$DESTDIR/etc/proxyha/proxyha.yaml" ]; then
  install -m 0600 apps/gateway/examples/proxyha.yaml "$DESTDIR/etc/proxyha/proxyha.yaml"
fi
echo "installed: $DESTDIR/usr/bin/proxyha ($(PROXYHA_HOME="$lib" "$DESTDIR/usr/bin/proxyha" --version)), $DESTDIR/lib/systemd/system/proxyha.service"
if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
echo "next: edit /etc/proxyha/proxyha.yaml, run 'proxyha check', then 'systemctl enable --now proxyha'"
