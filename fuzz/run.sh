#!/usr/bin/env bash
# fuzz/run.sh: runs every libFuzzer target (or the ones named) for SECONDS
# each, starting from the checked-in seed corpus fuzz/corpus/<target>/.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      default 20 s, all targets
#   fuzz/run.sh --merge [TARGET...]        fold what runs found into the
#                                          checked-in corpus, minimized
#
# Builds the targets first (clang, or $FUZZ_CC; ASan + UBSan + libFuzzer) in
# $WT_FUZZ_BUILD (default build-fuzz). New inputs go to a scratch corpus in
# that build directory, never into fuzz/corpus/; crashes, leaks and
# sanitizer reports are saved there under artifacts/ and make the script
# fail. FUZZ_JOBS=N runs N targets at a time (default 1). At the end it
# prints the executions and execution rate of each target.
set -euo pipefail
cd "$(dirname "$0")/.."
merge=0
if [ "${1:-}" = "--merge" ]; then
  merge=1
  shift
  secs=0
else
  secs=${1:-20}
  shift || true
fi
build=${WT_FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}

CC=${FUZZ_CC:-clang} cmake -S . -B "$build" -DWT_FUZZ=ON -DWT_BROWSER_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ $# -eq 0 ]; then
  set -- $(sed -n 's/^set(WT_FUZZ_TARGETS\(.*\)/\1/p; /^ *fuzz_.*)$/p' fuzz/CMakeLists.txt | tr -d ')')
fi
cmake --build "$build" -j2 --target "$@" -- --no-print-directory >/dev/null

mkdir -p "$build/artifacts" "$build/logs"

# -merge=1 keeps the smallest inputs that together reach all the coverage
# of the checked-in corpus plus the scratch one.
if [ "$merge" = 1 ]; then
  for t in "$@"; do
    new=$(mktemp -d)
    mkdir -p "$build/corpus/$t"
    "$build/fuzz/$t" -merge=1 "$new" "fuzz/corpus/$t" "$build/corpus/$t" >"$build/logs/$t.merge.log" 2>&1
    rm -rf "fuzz/corpus/$t"
    mv "$new" "fuzz/corpus/$t"
    chmod 755 "fuzz/corpus/$t"
    echo "$t: $(ls "fuzz/corpus/$t" | wc -l) inputs, $(du -sk "fuzz/corpus/$t" | cut -f1) KiB"
  done
  exit 0
fi
run_one() {
  local t=$1 work="$build/corpus/$1"
  mkdir -p "$work"
  # -rss_limit_mb: a target that needs more is itself a finding (unbounded memory).
  if "$build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t-" "$work" "fuzz/corpus/$t" >"$build/logs/$t.log" 2>&1; then
    echo "ok"
  else
    echo "FAILED"
  fi >"$build/logs/$t.result"
}

running=0
for t in "$@"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-22s %12s %10s  %s\n' target executions exec/s result
for t in "$@"; do
  log="$build/logs/$t.log"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  res=$(cat "$build/logs/$t.result")
  printf '%-22s %12s %10s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$res"
  if [ "$res" != ok ]; then
    status=1
    grep -E -A30 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error' "$log" | head -60 || true
  fi
done
exit $status
