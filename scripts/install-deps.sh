#!/usr/bin/env bash
# install-deps.sh: installs, with apt-get, what a fresh Debian bookworm needs
# to build libwebtransport and run its tests. Only missing packages are
# installed (nftables, iproute2 and valgrind are for tests). --browser adds
# what the browser tests need, --fuzz clang and its libFuzzer runtime
# (libclang-rt-14-dev, only recommended by clang).
set -euo pipefail
pkgs=(gcc make cmake pkg-config libc6-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev ca-certificates
  nftables iproute2 valgrind)
case "${1:-}" in
  --browser) pkgs+=(chromium firefox-esr python3 openssl) ;;
  --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
