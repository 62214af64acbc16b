#!/usr/bin/env bash
# baton_test.sh: Devious Baton (draft-frindell-webtrans-devious-baton-00)
# between our wt-client and our wt-server: whole games with 1, 16 and 256
# parallel batons on both paths, every starting value class (the datagram
# rule fires on both sides), and the draft's 4xx answers for bad queries.
# The server's summary line must agree with the client's verdict.
# usage: baton_test.sh WT_SERVER WT_CLIENT
set -u
server=$1
client=$2
work=$(mktemp -d)
. "$(dirname "$0")/server_lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
passed=0
failed=0

# 256 batons: the client answers each of the server's uni streams with a
# bidi stream, so the server must allow more than the default 128 at once.
start_server --max-streams 300 || { echo "0 passed, 1 failed"; exit 1; }
base="https://localhost:$port"

# baton NAME EXPECTED_EXIT GREP_PATTERN PATH_AND_QUERY
baton() {
  check "$1" "$2" "$3" -- --baton "$base$4" --cert-hash "$hash" --timeout 60
}

for n in 1 16 256; do
  baton "count $n" 0 "all $n batons finished and the session closed cleanly" "/webtransport/devious-baton?count=$n"
done
baton "path /baton, protocol negotiated" 0 "protocol devious-baton-00" "/baton?version=0&baton=251&count=1"
# 251: the client gets 251, 253, 255 and sends 252, 254, 0; the server
# receives 252 (= 0 mod 7) and so sends a datagram; the client sends one for
# 253 (= 1 mod 7). The server's datagram for the final 0 may race the close.
baton "datagram rule" 0 "1 datagrams sent, [12] received" "/baton?baton=251"
baton "baton 255 ends at once" 0 "1 messages received, 1 sent" "/baton?baton=255"
baton "random initial baton" 0 "all 4 batons finished" "/webtransport/devious-baton?count=4"
baton "unsupported version" 1 "refused the session with HTTP 400" "/webtransport/devious-baton?version=1"
baton "baton 0" 1 "refused the session with HTTP 400" "/webtransport/devious-baton?baton=0"
baton "too many batons" 1 "refused the session with HTTP 400" "/webtransport/devious-baton?count=100000"

sleep 0.2
done_lines=$(grep -c 'baton done' "$work/server.out")
if [ "$done_lines" -eq 7 ] && ! grep -q 'baton FAILED' "$work/server.out"; then
  echo "ok   server finished 7 games"; passed=$((passed + 1))
else
  echo "FAIL server summary lines:"; grep 'baton' "$work/server.out" "$work/server.err"; failed=$((failed + 1))
fi
if grep -q 'refusing /webtransport/devious-baton?version=1 with 400: unsupported version' "$work/server.err"; then
  echo "ok   server logged why it refused"; passed=$((passed + 1))
else
  echo "FAIL no refusal line:"; cat "$work/server.err"; failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
