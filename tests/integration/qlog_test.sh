#!/usr/bin/env bash
# qlog_test.sh: --qlog-dir in wt-server and wt-client writes one qlog file
# per connection, each a valid JSON-SEQ stream (RFC 7464: RS, JSON text,
# LF) holding ngtcp2's QUIC events and our HTTP/3 and WebTransport events,
# including the one-line cause of a refused session.
# usage: qlog_test.sh WT_SERVER WT_CLIENT
set -u
server=$1
client=$2
work=$(mktemp -d)
. "$(dirname "$0")/server_lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
mkdir "$work/s" "$work/c"
start_server --qlog-dir "$work/s" || exit 1
"$client" "https://localhost:$port/echo" --cert-hash "$hash" --message hi --qlog-dir "$work/c" >"$work/c1.out" 2>&1
"$client" "https://localhost:$port/nope" --cert-hash "$hash" --message hi --qlog-dir "$work/c" >"$work/c2.out" 2>&1
sleep 0.3
stop_server
if "$client" "https://localhost:$port/echo" --qlog-dir "$work/missing" --insecure >"$work/c3.out" 2>&1; then
  echo "FAIL a missing qlog directory was accepted"; exit 1
fi
grep -q "qlog_dir $work/missing is not an existing directory" "$work/c3.out" || { echo "FAIL no error line:"; cat "$work/c3.out"; exit 1; }
python3 - "$work" <<'PY'
import glob, json, sys
work = sys.argv[1]
def records(path):
    data = open(path, 'rb').read()
    assert data.startswith(b'\x1e'), path + ': does not start with RS'
    out = []
    for chunk in data.split(b'\x1e')[1:]:
        assert chunk.endswith(b'\n'), path + ': record without LF'
        out.append(json.loads(chunk))   # raises on invalid JSON
    return out
ok = True
for side in ('s', 'c'):
    files = sorted(glob.glob(f'{work}/{side}/*.sqlog'))
    if len(files) != 2:
        print(f'FAIL {side}: {len(files)} qlog files, want 2 (one per connection)'); ok = False; continue
    for f in files:
        recs = records(f)
        names = [r.get('name') for r in recs[1:]]
        head = recs[0]
        checks = [
            ('header is qlog JSON-SEQ', head.get('qlog_format') == 'JSON-SEQ'),
            ('ngtcp2 packet events', 'transport:packet_sent' in names and 'transport:packet_received' in names),
            ('peer SETTINGS', 'http3:parameters_set' in names),
            ('session closed', 'webtransport:session_closed' in names),
        ]
        closed = [r for r in recs if r.get('name') == 'webtransport:session_closed'][-1:]
        if closed and closed[0]['data']['path'] == '/nope':
            checks.append(('refusal cause', closed[0]['data']['http_status'] == 404 and '404' in closed[0]['data']['detail']))
        else:
            checks.append(('session established', 'webtransport:session_established' in names))
        for what, good in checks:
            print(('ok   ' if good else 'FAIL ') + f'{f.split("/")[-1]}: {what} ({len(recs)} records)')
            ok = ok and good
sys.exit(0 if ok else 1)
PY
