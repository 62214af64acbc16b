#!/usr/bin/env bash
# demo.sh: the main job. Starts wt-server on localhost with a freshly
# generated certificate, runs wt-client against it (a message, a 1 MiB bidi
# echo, a uni stream, 100 datagrams, a close with code 7 "bye"), shows what
# both sides said, and prints how to open the same session from a browser.
# usage: demo.sh BUILD_DIR
set -u
build=${1:-build}
work=$(mktemp -d)
"$build/wt-server" --port 4433 >"$work/server.out" 2>"$work/server.err" &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q '^client:' "$work/server.out" && break; sleep 0.1; done
if ! grep -q '^client:' "$work/server.out"; then
  echo "wt-server did not start (is port 4433 in use?):"; cat "$work/server.err"; exit 1
fi
hash=$(sed -n 's/^certificate sha256: \([0-9a-f]*\)$/\1/p' "$work/server.out")
b64=$(sed -n 's/^certificate sha256 base64: \(.*\)$/\1/p' "$work/server.out")

echo "== wt-server (certificate generated for localhost, valid 13 days)"
sed -n '1,3p' "$work/server.out" | sed 's/^/   /'
echo
echo "== wt-client https://localhost:4433/echo --cert-hash $hash --close-code 7 --close-reason bye"
"$build/wt-client" https://localhost:4433/echo --cert-hash "$hash" --message "hello from wt-client" \
  --echo-bytes 1M --uni-bytes 64k --datagrams 100 --close-code 7 --close-reason bye | sed 's/^/   /'
rc=${PIPESTATUS[0]}
sleep 0.2
echo
echo "== what wt-server saw"
grep '^session' "$work/server.out" | sed 's/^/   /'
echo
cat <<EOT
== open the same session from a browser
   Keep a server running:  $build/wt-server
   It prints a fresh certificate hash each start; with it, in Chromium or Firefox open
   any page served over https or from http://localhost, open the DevTools console and run:

   const wt = new WebTransport('https://localhost:4433/echo', {serverCertificateHashes:
       [{algorithm: 'sha-256', value: Uint8Array.from(atob('<base64 hash>'), c => c.charCodeAt(0))}]});
   await wt.ready;
   const s = await wt.createBidirectionalStream();
   const w = s.writable.getWriter(); await w.write(new TextEncoder().encode('hi')); await w.close();
   console.log(new TextDecoder().decode((await s.readable.getReader().read()).value));
   wt.close({closeCode: 7, reason: 'bye'});

   (for the server started above the base64 hash was $b64)
EOT
exit "$rc"
