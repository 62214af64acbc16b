#!/usr/bin/env bash
# netns_loss.sh: a transfer through real kernel packet loss. In a network
# namespace of its own (loopback only), an nftables rule on the input hook
# drops 5% of UDP packets at random; test_lossy --direct moves 32 MiB over 4
# streams with SHA-256 checked at the far end, plus datagrams. The rule's
# counter must show drops, so the loss really happened.
#
# The namespace comes from `unshare --net`: it belongs to this one process
# tree and the kernel removes it when the tree exits, however it exits
# (failure, timeout, SIGKILL), so there is nothing to clean up by hand.
#
#   netns_loss.sh TEST_LOSSY_BINARY
#
# Without root, unshare or nft the test is skipped (exit 77), unless
# WT_NETNS_REQUIRED=1 (CI), which turns a skip into a failure.
set -euo pipefail
bin=$1

skip() {
  echo "SKIP: $*"
  [ "${WT_NETNS_REQUIRED:-0}" = 1 ] && { echo "WT_NETNS_REQUIRED=1: failing instead"; exit 1; }
  exit 77
}

command -v unshare >/dev/null || skip "unshare not found (util-linux)"
command -v nft >/dev/null || skip "nft not found (apt-get install nftables)"
command -v ip >/dev/null || skip "ip not found (apt-get install iproute2)"
unshare --net true 2>/dev/null || skip "cannot create a network namespace (needs root or CAP_SYS_ADMIN)"

# Everything below runs inside the new namespace.
rc=0
unshare --net bash -s "$bin" <<'INNER' || rc=$?
set -euo pipefail
bin=$1
ip link set lo up
nft -f - <<'RULES' || exit 77
table inet wtloss {
  chain input {
    type filter hook input priority 0; policy accept;
    meta l4proto udp numgen random mod 100 < 5 counter drop
  }
}
RULES
rc=0
timeout 240 "$bin" --direct --mib 32 --timeout 200 || rc=$?
dropped=$(nft list chain inet wtloss input | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
echo "netns-result: kernel_dropped_packets=${dropped:-0} transfer_rc=$rc"
[ "$rc" -eq 0 ] || { echo "FAIL: transfer through kernel loss failed (rc $rc)"; exit 1; }
[ "${dropped:-0}" -gt 0 ] || { echo "FAIL: the nftables rule dropped nothing"; exit 1; }
INNER
[ "$rc" -eq 77 ] && skip "nftables rules cannot be loaded in the namespace"
exit "$rc"
