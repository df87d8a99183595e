#!/usr/bin/env bash
# tests/fuzz/run-fuzz.sh - a bounded libFuzzer run of one fuzz target.
#
#   tests/fuzz/run-fuzz.sh FUZZER      build/fuzz/fuzz_reader or build/fuzz/fuzz_msg (make fuzz)
#
# Copies the committed seeds (fuzz_reader: tests/fuzz/corpus/reader/, small real nfcapd
# files of every compression, see make-seeds.sh and README.md; fuzz_msg:
# tests/fuzz/corpus_msg/, valid encodings written by the proto_msg selftest) into a
# scratch corpus, so that the inputs
# the fuzzer adds never land in the source tree, and runs the fuzzer for FUZZ_SECONDS
# (default 60) with a 2 GiB RSS limit, a 10 s per-input timeout and UBSan made fatal (the
# fuzz build does not pass -fno-sanitize-recover, so without halt_on_error a UBSan report
# would scroll by and the run would pass).  Prints one line, `PASS: fuzz_reader N runs,
# no crash` or `FAIL: ...` with the path of the input that crashed (kept under
# build/test-out/fuzz/, or FUZZ_ARTIFACTS), and exits 0 or 1.  The whole log is in
# build/test-out/fuzz/fuzz_reader.log.
#
# Environment: FUZZ_SECONDS, FUZZ_ARTIFACTS (crash directory), FUZZ_JOBS (parallel
# workers, default 1), FUZZ_KEEP_CORPUS=DIR (also keep the grown corpus there).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZER=${1:-}
SECONDS_MAX=${FUZZ_SECONDS:-60}
ARTIFACTS=${FUZZ_ARTIFACTS:-$ROOT/build/test-out/fuzz}
NAME=$(basename "${FUZZER:-fuzz_reader}")
case "$NAME" in
  fuzz_msg) SEEDS=$ROOT/tests/fuzz/corpus_msg ;;
  *) SEEDS=$ROOT/tests/fuzz/corpus/reader ;;
esac

if [ -z "$FUZZER" ] || [ ! -x "$FUZZER" ]; then
  echo "FAIL: $NAME: no fuzzer binary '${FUZZER}' (make fuzz)"
  exit 1
fi
if ! ls "$SEEDS"/* > /dev/null 2>&1; then
  echo "FAIL: $NAME: no seeds in $SEEDS (tests/fuzz/make-seeds.sh)"
  exit 1
fi
FUZZER=$(realpath "$FUZZER")
mkdir -p "$ARTIFACTS"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/portevo-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/corpus"
cp "$SEEDS"/* "$SCRATCH/corpus/"
LOG=$ARTIFACTS/$NAME.log

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
jobs=()
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi
(cd "$SCRATCH" && timeout $((SECONDS_MAX + 120)) "$FUZZER" \
    -max_total_time="$SECONDS_MAX" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$ARTIFACTS/$NAME-" "${jobs[@]}" "$SCRATCH/corpus") > "$LOG" 2>&1
rc=$?
if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
  mkdir -p "$FUZZ_KEEP_CORPUS" && cp -n "$SCRATCH/corpus"/* "$FUZZ_KEEP_CORPUS/"
fi

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | awk '{ n += $1 } END { print n + 0 }')
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOG" | tail -n 1)
crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$LOG" | head -n 1)
why=$(grep -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$LOG")
if [ $rc -eq 0 ] && [ -z "$crash" ] && [ "$runs" -gt 0 ]; then
  echo "PASS: $NAME $runs runs, no crash (${speed:-?} runs/s, $(find "$SCRATCH/corpus" -type f | wc -l) corpus inputs after ${SECONDS_MAX} s)"
  exit 0
fi
if [ -n "$crash" ]; then
  echo "FAIL: $NAME crashed after $runs runs: ${why:-see $LOG}; input kept at $crash;" \
       "reproduce: $FUZZER $crash"
elif [ $rc -eq 124 ]; then
  echo "FAIL: $NAME did not stop after ${SECONDS_MAX} s (+120 s); log: $LOG"
else
  echo "FAIL: $NAME exited with $rc after $runs runs: ${why:-$(tail -n 3 "$LOG" | tr '\n' ' ')}; log: $LOG"
fi
exit 1
