# server_lib.sh: sourced by the integration scripts that drive wt-server and
# wt-client as a user would (tools_test.sh, baton_test.sh, cert_test.sh,
# qlog_test.sh). Expects $server and $client (the binaries), $work (a
# scratch directory) and the counters $passed and $failed.

# start_server ARGS...: starts wt-server on an ephemeral port with ARGS and
# sets spid, port and hash (hex SHA-256) from its banner. Returns 1, after
# printing its output, if it did not start.
start_server() {
  "$server" --port 0 "$@" >"$work/server.out" 2>"$work/server.err" &
  spid=$!
  for _ in $(seq 50); do grep -q '^certificate sha256:' "$work/server.out" && break; sleep 0.1; done
  port=$(sed -n 's/^wt-server listening on .* port \([0-9]*\)$/\1/p' "$work/server.out")
  hash=$(sed -n 's/^certificate sha256: \([0-9a-f]*\)$/\1/p' "$work/server.out")
  if [ -z "$port" ] || [ ${#hash} -ne 64 ]; then
    echo "wt-server did not start:"; cat "$work/server.out" "$work/server.err"
    return 1
  fi
}

# check NAME EXPECTED_EXIT GREP_PATTERN -- CLIENT_ARGS...: runs wt-client and
# counts a pass when it exits as expected and its output matches.
check() {
  local name=$1 want=$2 pattern=$3
  shift 4
  "$client" "$@" >"$work/client.out" 2>&1
  local rc=$?
  if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$work/client.out"; then
    echo "ok   $name"; passed=$((passed + 1))
  else
    echo "FAIL $name (exit $rc, wanted $want and /$pattern/):"; sed 's/^/     /' "$work/client.out"
    failed=$((failed + 1))
  fi
}

# stop_server: SIGTERM and wait (files such as qlogs are complete after it).
stop_server() {
  if [ -n "${spid:-}" ]; then kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; fi
  spid=
}
