#!/usr/bin/env bash
# tools_test.sh: wt-server and wt-client end to end, as a user or a test
# harness runs them: start the server with a generated certificate on an
# ephemeral port, run the client's checks against it, and check both the
# client's verdicts and the server's log lines.
# usage: tools_test.sh WT_SERVER WT_CLIENT
set -u
server=$1
client=$2
work=$(mktemp -d)
. "$(dirname "$0")/server_lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
passed=0
failed=0

start_server || { echo "0 passed, 1 failed"; exit 1; }
url="https://localhost:$port/echo"

check "default checks" 0 "all checks passed" -- "$url" --cert-hash "$hash"
check "4 MiB bidi echo" 0 "bidi echo: sent 4194304 bytes, received 4194304 bytes, verified" -- "$url" --cert-hash "$hash" --echo-bytes 4M
check "file echo" 0 "file echo: sent" -- "$url" --cert-hash "$hash" --echo-file "$server"
check "100 concurrent streams" 0 "all checks passed" -- "$url" --cert-hash "$hash" --streams 100
check "uni echo" 0 "uni echo: sent 1048576 bytes, received 1048576 bytes, verified" -- "$url" --cert-hash "$hash" --uni-bytes 1M
check "1000 datagrams" 0 "datagrams: sent 1000, echoed" -- "$url" --cert-hash "$hash" --datagrams 1000 --min-datagram-ratio 0.9
check "close code and reason" 0 'closed the session with code 7 reason "bye"' -- "$url" --cert-hash "$hash" --message hi --close-code 7 --close-reason bye
sleep 0.2
if grep -q 'closed by client: code 7 reason "bye"' "$work/server.out"; then
  echo "ok   server logged the close"; passed=$((passed + 1))
else
  echo "FAIL server did not log the close code and reason"; failed=$((failed + 1))
fi
for d in 2 7 13 15; do
  check "draft $d" 0 "draft $d," -- "$url" --cert-hash "$hash" --draft "$d" --message "d$d"
done
check "wrong certificate hash" 1 "certificate hash mismatch" -- "$url" --cert-hash "$(printf '%064d' 0)" --message x
check "CA verification of a self-signed certificate" 1 "not trusted" -- "$url" --message x
check "insecure mode" 0 "all checks passed" -- "$url" --insecure --message x
check "unknown path" 1 "refused the session with HTTP 404" -- "https://localhost:$port/nope" --cert-hash "$hash" --message x
check "nothing listening" 1 "FAILED" -- "https://localhost:1/echo" --cert-hash "$hash" --message x --timeout 2


# Plain HTTP/3: wt-server --root serves files, wt-client --get/--post.
root="$work/root"
mkdir -p "$root/sub"
echo '<h1>hi</h1>' >"$root/index.html"
head -c 3145728 /dev/urandom >"$root/sub/big.bin"
echo secret >"$work/secret.txt"
"$server" --port 0 --root "$root" >"$work/files.out" 2>"$work/files.err" &
fpid=$!
trap 'kill $spid $fpid 2>/dev/null; wait $spid $fpid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q '^serving files' "$work/files.out" && break; sleep 0.1; done
fport=$(sed -n 's/^wt-server listening on .* port \([0-9]*\)$/\1/p' "$work/files.out")
fhash=$(sed -n 's/^certificate sha256: \([0-9a-f]*\)$/\1/p' "$work/files.out")
furl="https://localhost:$fport"
check "GET index.html" 0 "-> 200" -- --get "$furl/" --cert-hash "$fhash" -o "$work/index.got"
check "GET 3 MiB file" 0 "received 3145728 bytes" -- --get "$furl/sub/big.bin" --cert-hash "$fhash" -o "$work/big.got"
if cmp -s "$root/sub/big.bin" "$work/big.got" && cmp -s "$root/index.html" "$work/index.got"; then
  echo "ok   downloaded files are identical"; passed=$((passed + 1))
else
  echo "FAIL downloaded files differ"; failed=$((failed + 1))
fi
check "GET missing file" 1 "-> 404" -- --get "$furl/nope.html" --cert-hash "$fhash"
check "POST to static files" 1 "-> 405" -- --post "$work/secret.txt" "$furl/index.html" --cert-hash "$fhash"
for p in '/../secret.txt' '/%2e%2e/secret.txt' '/%2E%2e/secret.txt' '/..%2fsecret.txt' '/sub/%2e%2e/%2e%2e/secret.txt' \
         '/%252e%252e/secret.txt' '/..%5csecret.txt' '/x%00.html'; do
  check "traversal $p refused" 1 "-> 404" -- --get "$furl$p" --cert-hash "$fhash"
done
check "WebTransport still served beside --root" 0 "all checks passed" -- "$furl/echo" --cert-hash "$fhash" --message hi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
