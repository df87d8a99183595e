#!/usr/bin/env bash
# tests/run.sh - runs every suite and prints the one summary line CI reads.
#
#   tests/run.sh --bin DIR [--san-bin DIR] [--fuzz PATH]... [--only PATTERN]
#
# Suites: the selftest of each build flavour (one result per module), then every
# tests/system/*_test.sh (each prints "PASS: what" / "FAIL: what" lines) run against the
# sanitizer build when there is one, else the normal build, in TEST_LANES lanes at once
# (default 2, below), then a short run of each fuzz target given (FUZZ_SECONDS each,
# default 60; the targets at once).
# The last line is "N passed, N failed"; the exit code is 0 only if nothing failed.
set -u
cd "$(dirname "$0")/.."
BIN=bin SAN_BIN= FUZZ=() ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --san-bin) SAN_BIN=$2; shift 2 ;;
    --fuzz) FUZZ+=("$2"); shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: tests/run.sh --bin DIR [--san-bin DIR] [--fuzz PATH] [--only PATTERN]" >&2; exit 2 ;;
  esac
done
OUT=build/test-out
mkdir -p "$OUT"

# What the suites write into the checkout: only under the ignored bin/, build/ and
# portevo-data/ (plus what the build and install put in node_modules/ and web/vendor/).
# The paths outside them are listed before and after, and any new one fails the run.
checkout_paths () {
  git status --porcelain --ignored --untracked-files=all 2>/dev/null | cut -c4- |
    grep -vE '^(bin|build|portevo-data|node_modules|web/vendor)(/|$)' | sort
}
PATHS_BEFORE=$(checkout_paths)
passed=0 failed=0
failures=()

count () {  # count LOGFILE SUITE-NAME EXIT-CODE [SECONDS]
  local log=$1 suite=$2 rc=$3 secs=${4:-} p f
  p=$(grep -c '^PASS: ' "$log" || true)
  f=$(grep -c '^FAIL: ' "$log" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL: $suite exited with $rc" >> "$log"; fi
  passed=$((passed + p)); failed=$((failed + f))
  grep '^FAIL: ' "$log" | while read -r line; do echo "  $suite: $line"; done
  [ "$f" -eq 0 ] || failures+=("$suite (log: $log)")
  printf '%-40s %3d passed, %d failed%s\n' "$suite" "$p" "$f" "${secs:+ (${secs} s)}"
}

run_selftest () {  # run_selftest BINDIR FLAVOUR
  local log="$OUT/selftest-$2.log"
  ASAN_OPTIONS=halt_on_error=1 "$1/selftest" > "$log" 2>&1
  local rc=$?
  # Each " * module: " line is one test; a module asserts on failure, which aborts the
  # run: with exit 0 every module started passed, else the last one started failed.
  sed -n 's/^ \* \([a-z_0-9]*\): .*/PASS: \1/p' "$log" > "$log.results"
  if [ $rc -ne 0 ]; then
    sed -i '$ s/^PASS: /FAIL: /' "$log.results"
    echo "FAIL: selftest-$2 aborted (exit $rc): $(tail -n 3 "$log" | tr '\n' ' ')" >> "$log.results"
  fi
  count "$log.results" "selftest ($2)" 0
}

if [ -z "$ONLY" ]; then
  # Formatting is checked like a test (STYLE.md §2: the committed .clang-format rules)
  log="$OUT/format.log"
  if command -v clang-format >/dev/null; then
    bad=$(git ls-files '*.c' '*.h' 2>/dev/null | while read -r f; do
            clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
    if [ -z "$bad" ]; then echo "PASS: clang-format" > "$log"
    else echo "FAIL: clang-format: not formatted (make format): $(echo $bad)" > "$log"; fi
    count "$log" "format-check" 0
  fi
  run_selftest "$BIN" normal
  [ -n "$SAN_BIN" ] && run_selftest "$SAN_BIN" sanitized
fi

SYS_BIN=${SAN_BIN:-$BIN}
# The system suites run in TEST_LANES lanes at once (default 2: most of a suite's time
# is waiting on nfcapd, timers and sockets, not CPU).  Each lane runs its suites one
# after the other with its own range of free_port ports (common.sh), so that two suites
# never draw the same port; the suites that start `portevo up` (which takes consecutive
# ports from 5570) share lane 0.  Suites are dealt longest first to the lane that ends
# soonest, by the seconds they took last time here (build/test-out/seconds), else by
# the estimates below (measured on the 2-core CI machine).
LANES=${TEST_LANES:-2}
declare -A ESTIMATE=([slots_test]=200 [soak_test]=120 [slots_kill_test]=140 [retention_up_test]=150
  [reader_badinput_test]=140 [query_test]=95 [query_crash_test]=76 [changes_test]=66
  [ingest_delivery_test]=60 [ingestor_remove_test]=52 [ingest_append_test]=52
  [browser_test]=47 [api_test]=43 [browser_changes_test]=42 [others_test]=40
  [direction_test]=40 [reader_test]=34 [reader_v1_test]=32 [shard_map_keep_test]=31
  [upgrade_test]=30 [compact_test]=50)
[ -f "$OUT/seconds" ] && while read -r name secs; do ESTIMATE[$name]=$secs; done < "$OUT/seconds"
suites=()
for t in tests/system/*_test.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  [ -n "$ONLY" ] && [[ "$name" != *$ONLY* ]] && continue
  suites+=("$name")
done
declare -A LANE_OF=()
lane_load=()
for ((lane = 0; lane < LANES; lane++)); do lane_load[lane]=0; done
while read -r secs name; do
  best=0
  if grep -q 'portevo" up\|portevo up' "tests/system/$name.sh"; then best=0
  else for ((lane = 1; lane < LANES; lane++)); do
         [ "${lane_load[lane]}" -lt "${lane_load[best]}" ] && best=$lane; done; fi
  LANE_OF[$name]=$best
  lane_load[best]=$((lane_load[best] + secs))
done < <(for name in "${suites[@]}"; do echo "${ESTIMATE[$name]:-30} $name"; done | sort -rn)

run_lane () {  # run_lane LANE: its suites, in the order dealt; each leaves LOG.rc, LOG.secs
  local lane=$1 name log start span=$(( 12000 / LANES ))
  for name in "${suites[@]}"; do
    [ "${LANE_OF[$name]}" = "$lane" ] || continue
    log="$OUT/$name.log"
    start=$SECONDS
    PORTEVO_BIN=$(realpath "$SYS_BIN") PORTEVO_TOOLS=$(realpath "$BIN") \
      PORTEVO_PORT_LOW=$((20000 + lane * span)) PORTEVO_PORT_HIGH=$((20000 + (lane + 1) * span)) \
      ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      timeout 900 bash "tests/system/$name.sh" > "$log" 2>&1
    echo $? > "$log.rc"
    echo $((SECONDS - start)) > "$log.secs"
  done
}
rm -f "$OUT"/*.log.rc "$OUT"/*.log.secs
for ((lane = 0; lane < LANES; lane++)); do run_lane "$lane" & done
wait
: > "$OUT/seconds.new"
for name in "${suites[@]}"; do
  log="$OUT/$name.log"
  count "$log" "$name" "$(cat "$log.rc" 2>/dev/null || echo 1)" "$(cat "$log.secs" 2>/dev/null)"
  echo "$name $(cat "$log.secs" 2>/dev/null || echo 30)" >> "$OUT/seconds.new"
done
[ -z "$ONLY" ] && mv "$OUT/seconds.new" "$OUT/seconds"

if [ -z "$ONLY" ]; then
  #  The fuzz targets at once, one a core
  for fuzzer in "${FUZZ[@]}"; do
    log="$OUT/$(basename "$fuzzer").log.results"
    (tests/fuzz/run-fuzz.sh "$fuzzer" > "$log" 2>&1; echo $? > "$log.rc") &
  done
  wait
  for fuzzer in "${FUZZ[@]}"; do
    name=$(basename "$fuzzer")
    log="$OUT/$name.log.results"
    count "$log" "$name" "$(cat "$log.rc" 2>/dev/null || echo 1)"
  done
fi

if [ -z "$ONLY" ] && git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  log="$OUT/checkout.log"
  stray=$(comm -13 <(echo "$PATHS_BEFORE") <(checkout_paths) | tr '\n' ' ')
  if [ -z "$stray" ]; then echo "PASS: the suites wrote nothing into the checkout" > "$log"
  else echo "FAIL: the suites wrote into the checkout outside bin/ build/ portevo-data/: $stray" > "$log"; fi
  count "$log" "checkout-clean" 0
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo "failed suites:"; printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
