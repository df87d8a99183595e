#!/usr/bin/env bash
# tests/run.sh - runs every suite and prints the one summary line CI reads.
#
#   tests/run.sh --bin DIR [--san-bin DIR] [--fuzz PATH]... [--only PATTERN]
#
# Suites: the selftest of each build flavour (one result per module), then every
# tests/system/*_test.sh (each prints "PASS: what" / "FAIL: what" lines) run against the
# sanitizer build when there is one, else the normal build, then a short run of each
# fuzz target given (FUZZ_SECONDS each, default 60).
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
for t in tests/system/*_test.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  [ -n "$ONLY" ] && [[ "$name" != *$ONLY* ]] && continue
  log="$OUT/$name.log"
  start=$SECONDS
  PORTEVO_BIN=$(realpath "$SYS_BIN") PORTEVO_TOOLS=$(realpath "$BIN") \
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    timeout 900 bash "$t" > "$log" 2>&1
  count "$log" "$name" $? $((SECONDS - start))
done

if [ -z "$ONLY" ]; then
  for fuzzer in "${FUZZ[@]}"; do
    name=$(basename "$fuzzer")
    log="$OUT/$name.log.results"
    tests/fuzz/run-fuzz.sh "$fuzzer" > "$log" 2>&1
    count "$log" "$name" $?
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
