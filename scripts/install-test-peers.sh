#!/usr/bin/env bash
# Installs the Debian packages that the namespace tests run against (real peers,
# capture and traffic-shaping tools; python3 as the independent CLOCK_REALTIME
# reference of common's clock test; g++ and make to build better-sqlite3 from source on Node 20
# when no prebuilt binary can be downloaded; faketime to start a node with a shifted clock; chromium
# for the gateway's status-page test, driven by playwright-core at /usr/bin/chromium; systemd for
# systemd-analyze, which checks the gateway's unit). Idempotent: installs only what is missing.
# Needs root (or sudo). Safe to run on every CI run.
set -euo pipefail

PKGS=(keepalived frr tshark tcpdump iputils-arping iputils-ping iproute2 nftables
      chrony tinyproxy squid haproxy conntrack conntrackd socat util-linux procps psmisc
      g++-aarch64-linux-gnu qemu-user python3 g++ make faketime chromium systemd)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-test-peers: not root and no sudo; skipping (namespace tests will be skipped)" >&2
    exit 0
  fi
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-peers: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-test-peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer it up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# 'arping' (Thomas Habets) conflicts with iputils-arping: make sure it is not requested.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Peers must not run as system services: tests start their own instances.
for svc in keepalived frr chrony tinyproxy squid haproxy conntrackd; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  $SUDO pkill -x "$svc" >/dev/null 2>&1 || true
done
$SUDO pkill -x chronyd >/dev/null 2>&1 || true
echo "install-test-peers: done"
