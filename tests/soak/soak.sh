#!/usr/bin/env bash
# soak.sh: runs the soak program (tests/soak/soak.c) for longer than CTest
# does, keeps its full output, and writes the RSS samples as CSV.
#
#   tests/soak/soak.sh [SECONDS [SLOTS [ROUND_SECONDS [HOLD_MS]]]]
#
# Defaults: 600 s, 1000 session slots, rounds of 20 s, sessions held 3 s.
# BUILD=dir picks the build directory (default build). Output goes to
# soak-YYYYmmdd-HHMMSS.log and .csv (t_seconds,rss_kib,heap_kib,live_sessions,
# connections) in the current directory; the exit status is soak's --check.
set -euo pipefail
seconds=${1:-600}
slots=${2:-1000}
round=${3:-20}
hold=${4:-3000}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BUILD:-$root/build}/tests/soak/soak
[ -x "$bin" ] || { echo "soak.sh: $bin not built (cmake --build ${BUILD:-build} --target soak)" >&2; exit 2; }
stamp=$(date +%Y%m%d-%H%M%S)
log=soak-$stamp.log
csv=soak-$stamp.csv
rc=0
"$bin" --sessions "$slots" --seconds "$seconds" --round-seconds "$round" --hold-ms "$hold" --check 2>&1 | tee "$log" ||
  rc=${PIPESTATUS[0]}
echo "t_seconds,rss_kib,heap_kib,live_sessions,connections" >"$csv"
sed -n 's/^soak: t=\([0-9.]*\) churn rss_kib=\([0-9]*\) heap_kib=\([0-9]*\) live_sessions=\([0-9]*\) connections=\([0-9]*\).*/\1,\2,\3,\4,\5/p' \
  "$log" >>"$csv"
echo "soak.sh: log $log, RSS over time in $csv, exit $rc"
exit "$rc"
