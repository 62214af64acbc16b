#!/usr/bin/env bash
# bench/run.sh: builds wt-bench in Release (build-bench/), runs every
# benchmark case RUNS times, interleaving our runs with the baseline
# (Debian's ngtcp2 example HTTP/3 server and client, same file size), and
# writes bench/report.md (medians, min-max, ratios against the baseline).
#
#   bench/run.sh                 full run: 1 GiB transfers, 5 runs
#   BENCH_QUICK=1 bench/run.sh   64 MiB, 3 runs, fewer sessions
#   BENCH_SMOKE=1 bench/run.sh   tiny sizes, 1 run, no baseline, no report:
#                                checks only that every case completes
#                                correctly (the CTest "bench" test)
# Environment: BENCH_RUNS, BENCH_BYTES, BENCH_OUT (report path; raw lines next to it),
# BENCH_BUILD (build dir), BENCH_BIN (a built wt-bench: skip the build),
# BENCH_CC (congestion control for ours: cubic, reno, bbr, bbr2).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
OUT=${BENCH_OUT:-$ROOT/bench/report.md}
CC_ALGO=${BENCH_CC:-cubic}

if [[ -n ${BENCH_SMOKE:-} ]]; then
  RUNS=1 BYTES=$((4 << 20)) SESSIONS=20 STREAMS=500 IDLE="50" DGRAM_S=0.5 SAMPLES=100 BATONS=16
elif [[ -n ${BENCH_QUICK:-} ]]; then
  RUNS=3 BYTES=$((64 << 20)) SESSIONS=200 STREAMS=5000 IDLE="1000" DGRAM_S=1 SAMPLES=1000 BATONS=256
else
  RUNS=5 BYTES=$((1 << 30)) SESSIONS=500 STREAMS=10000 IDLE="1000 10000" DGRAM_S=2 SAMPLES=2000 BATONS=256
fi
RUNS=${BENCH_RUNS:-$RUNS}
BYTES=${BENCH_BYTES:-$BYTES}

if [[ -n ${BENCH_BIN:-} ]]; then
  BENCH=$BENCH_BIN
  TOOLS=$(dirname "$BENCH_BIN")
else
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWT_BUILD_TESTS=OFF -DWT_BROWSER_TESTS=OFF >/dev/null
  cmake --build "$BUILD" -j2 --target wt-bench wt-server wt-client >/dev/null
  BENCH=$BUILD/wt-bench
  TOOLS=$BUILD
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wt-bench.XXXXXX")
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
RESULTS=$WORK/results.txt
: >"$RESULTS"

# A free UDP port per server start, so a lingering socket cannot collide.
PORT=$((20000 + RANDOM % 20000))
next_port() { PORT=$((PORT + 1)); }

# start_server NAME CMD...: runs CMD under `wt-bench rusage`.
start_server() {
  local name=$1
  shift
  "$BENCH" rusage "$WORK/$name.server" -- "$@" >/dev/null 2>"$WORK/server.log" &
  SERVER_PID=$!
  sleep 0.4
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# record CASE RUN: appends the client's RESULT line and both rusage files.
record() {
  local c=$1 r=$2
  echo "case=$c run=$r side=client $(cat "$WORK/$c.client") $(grep -h '^RESULT' "$WORK/$c.out" | sed 's/^RESULT //' || true)" >>"$RESULTS"
  [[ -f $WORK/$c.server ]] && echo "case=$c run=$r side=server $(cat "$WORK/$c.server")" >>"$RESULTS"
  rm -f "$WORK/$c.server" "$WORK/$c.client"
}

# ours CASE RUN [server options] -- CLIENT-MODE ARGS...
ours() {
  local c=$1 r=$2
  shift 2
  local sopts=()
  while [[ $1 != -- ]]; do sopts+=("$1"); shift; done
  shift
  next_port
  rm -f "$WORK/pid"
  start_server "$c" "$BENCH" server --addr 127.0.0.1 --port "$PORT" --cc "$CC_ALGO" --pid-file "$WORK/pid" "${sopts[@]}"
  local mode=$1
  shift
  if ! "$BENCH" rusage "$WORK/$c.client" -- "$BENCH" "$mode" "https://127.0.0.1:$PORT" --cc "$CC_ALGO" "$@" \
    --server-pid-file "$WORK/pid" >"$WORK/$c.out" 2>"$WORK/$c.err"; then
    echo "bench: case $c run $r FAILED:" >&2
    cat "$WORK/$c.out" "$WORK/$c.err" "$WORK/server.log" >&2
    stop_server
    exit 1
  fi
  stop_server
  record "$c" "$r"
}

baseline() {
  local r=$1
  next_port
  start_server baseline /usr/sbin/gtlsserver -q -d "$WORK/www" 127.0.0.1 "$PORT" "$WORK/key.pem" "$WORK/cert.pem"
  if ! "$BENCH" rusage "$WORK/baseline.client" -- /usr/bin/gtlsclient -q --exit-on-all-streams-close 127.0.0.1 "$PORT" \
    "https://127.0.0.1:$PORT/file" >"$WORK/baseline.out" 2>&1; then
    echo "bench: baseline run $r FAILED" >&2
    cat "$WORK/baseline.out" >&2
    stop_server
    exit 1
  fi
  stop_server
  record baseline "$r"
}

# baton RUN: Devious Baton with BATONS parallel batons (starting value 1, so
# each baton makes 255 messages), wt-client against wt-server; the client's
# time from READY to the clean close of the finished game is the figure.
baton() {
  local r=$1
  next_port
  "$TOOLS/wt-server" --addr 127.0.0.1 --port "$PORT" --max-streams $((BATONS + 16)) -q >"$WORK/baton.srv" 2>&1 &
  SERVER_PID=$!
  local hash=
  for _ in $(seq 50); do
    hash=$(sed -n 's/^certificate sha256: \([0-9a-f]*\)$/\1/p' "$WORK/baton.srv")
    [[ -n $hash ]] && break
    sleep 0.1
  done
  if ! "$BENCH" rusage "$WORK/baton.client" -- "$TOOLS/wt-client" --baton \
    "https://127.0.0.1:$PORT/webtransport/devious-baton?count=$BATONS&baton=1" --cert-hash "$hash" --timeout 120 \
    >"$WORK/baton.out" 2>&1; then
    echo "bench: baton run $r FAILED" >&2
    cat "$WORK/baton.out" "$WORK/baton.srv" >&2
    stop_server
    exit 1
  fi
  stop_server
  local ms
  ms=$(sed -n 's/.*all [0-9]* batons finished and the session closed cleanly (\([0-9.]*\) ms after ready).*/\1/p' \
    "$WORK/baton.out")
  echo "RESULT batons=$BATONS game_ms=$ms" >"$WORK/baton_game.out"
  mv "$WORK/baton.client" "$WORK/baton_game.client"
  record baton_game "$r"
}

HAVE_BASELINE=
if [[ -z ${BENCH_SMOKE:-} && -x /usr/sbin/gtlsserver && -x /usr/bin/gtlsclient ]]; then
  HAVE_BASELINE=1
  mkdir -p "$WORK/www"
  "$BENCH" certgen "$WORK/cert.pem" "$WORK/key.pem"
  truncate -s "$BYTES" "$WORK/www/file" # sparse: served from the page cache, no disk
elif [[ -z ${BENCH_SMOKE:-} ]]; then
  echo "bench: no baseline: install Debian's ngtcp2-server and ngtcp2-client (apt-get install ngtcp2-server ngtcp2-client)" >&2
fi

echo "bench: $RUNS runs, $BYTES bytes per transfer, work dir $WORK" >&2
for r in $(seq 1 "$RUNS"); do
  echo "bench: run $r/$RUNS" >&2
  ours bulk_uni "$r" -- bulk --bytes "$BYTES" ${BENCH_SMOKE:+--verify}
  [[ -n $HAVE_BASELINE ]] && baseline "$r"
  ours bulk_uni_zc "$r" -- bulk --bytes "$BYTES" --zero-copy ${BENCH_SMOKE:+--verify}
  ours bulk_bidi "$r" -- bulk --bytes "$BYTES" --bidi ${BENCH_SMOKE:+--verify}
  ours bulk_16 "$r" -- bulk --bytes "$BYTES" --streams 16 ${BENCH_SMOKE:+--verify}
  ours dgram "$r" -- dgram --seconds "$DGRAM_S" --rtt-samples "$SAMPLES" --rate 1000
  ours setup "$r" -- setup --sessions "$SESSIONS" --concurrency 8
  ours churn "$r" -- churn --streams "$STREAMS" --concurrency 16
  for n in $IDLE; do
    ours "idle_$n" "$r" --idle-timeout 600000 -- idle --sessions "$n" --concurrency 64
  done
  baton "$r"
done

if [[ -n ${BENCH_SMOKE:-} ]]; then
  echo "bench: smoke run complete, every case correct" >&2
  exit 0
fi

cp "$RESULTS" "${OUT%.md}.raw.txt"
python3 "$ROOT/bench/report.py" "$RESULTS" "$BYTES" "$RUNS" "$CC_ALGO" >"$OUT"
echo "bench: wrote $OUT" >&2
