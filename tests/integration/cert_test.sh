#!/usr/bin/env bash
# cert_test.sh: certificate tooling end to end: wt-cert writes a
# browser-ready certificate and prints its hash in every form; wt-server
# serves it; wt-server rotates its certificate (generated, or re-read from
# files wt-cert replaced) and new connections need the new hash while the
# old one is refused.
# usage: cert_test.sh WT_CERT WT_SERVER WT_CLIENT
set -u
wtcert=$(realpath "$1")
server=$(realpath "$2")
client=$(realpath "$3")
work=$(mktemp -d)
. "$(dirname "$0")/server_lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; shift; for f in "$@"; do sed 's/^/     /' "$f"; done; failed=$((failed + 1)); }

# connects WANT_EXIT HASH PATTERN NAME
connects() {
  check "$4" "$1" "$3" -- "https://localhost:$port/echo" --cert-hash "$2" --message hi --timeout 10
}

cd "$work"
"$wtcert" >gen.out 2>&1
hex=$(sed -n 's/^sha256 hex: \([0-9a-f]*\)$/\1/p' gen.out)
b64=$(sed -n 's/^sha256 base64: \(.*\)$/\1/p' gen.out)
if [ ${#hex} -eq 64 ] && [ ${#b64} -eq 44 ] && [ -s cert.pem ] && [ "$(stat -c %a key.pem)" = 600 ] &&
   grep -q "^javascript: serverCertificateHashes: \[{algorithm: 'sha-256', value: Uint8Array.from(atob('$b64')" gen.out &&
   grep -q '^valid until: .* (13.0 days from now)$' gen.out; then
  ok "wt-cert writes cert.pem and key.pem (0600) and prints hex, base64, JavaScript"
else
  bad "wt-cert output" gen.out
fi
# The base64 form is the same 32 bytes as the hex form.
if [ -n "$hex" ] && [ "$(echo "$b64" | base64 -d | od -An -tx1 | tr -d ' \n')" = "$hex" ]; then ok "base64 and hex agree"; else bad "base64 $b64 is not hex $hex"; fi
"$wtcert" --show cert.pem >show.out 2>&1
if grep -q "^sha256 hex: $hex$" show.out && grep -q "browsers accept it" show.out; then ok "wt-cert --show"; else bad "wt-cert --show" show.out; fi
if ! "$wtcert" >again.out 2>&1 && grep -q "exists (use --force" again.out; then ok "wt-cert keeps existing files"; else bad "wt-cert overwrote without --force" again.out; fi

start_server --cert cert.pem --key key.pem --rotate-after 1
if [ ${#hash} -eq 64 ] && [ "$hash" = "$hex" ]; then ok "wt-server serves the wt-cert certificate"; else bad "server hash $hash, wt-cert $hex" "$work/server.out"; fi
connects 0 "$hex" "all checks passed" "client pins the wt-cert hash"
"$wtcert" --force >gen2.out 2>&1
hex2=$(sed -n 's/^sha256 hex: \([0-9a-f]*\)$/\1/p' gen2.out)
for _ in $(seq 50); do grep -q "certificate rotated: sha256 $hex2" "$work/server.out" && break; sleep 0.1; done
if [ ${#hex2} -eq 64 ] && [ "$hex2" != "$hex" ] && grep -q "certificate rotated: sha256 $hex2" "$work/server.out"; then
  ok "--rotate-after re-reads replaced files"
else
  bad "no rotation to $hex2" "$work/server.out" "$work/server.err"
fi
stop_server

# A generated certificate, rotated after 2 s.
start_server --rotate-after 2
old=$hash
connects 0 "$old" "all checks passed" "generated certificate before rotation"
for _ in $(seq 80); do grep -q '^certificate rotated:' "$work/server.out" && break; sleep 0.1; done
new=$(sed -n 's/^certificate rotated: sha256 \([0-9a-f]*\) .*/\1/p' "$work/server.out" | tail -1)
if [ ${#new} -eq 64 ] && [ "$new" != "$old" ]; then ok "rotation prints a new hash"; else bad "no new hash" "$work/server.out"; fi
connects 0 "$new" "all checks passed" "new connections get the new certificate"
connects 1 "$old" "certificate hash mismatch" "the old hash no longer matches"
stop_server

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
