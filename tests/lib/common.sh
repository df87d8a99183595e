# tests/lib/common.sh - sourced by every tests/system/*_test.sh.
#
# Gives: $BIN (binaries under test, sanitized when run by `make test`), $TOOLS (test
# tools: nf_send, nf_zstd, nf_mutate), $WORK (a fresh temporary directory removed at
# exit), pass/fail/check helpers printing the "PASS: " / "FAIL: " lines tests/run.sh
# counts, and cleanup of every process started with `spawn`.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${PORTEVO_BIN:-$ROOT/bin}
TOOLS=${PORTEVO_TOOLS:-$ROOT/bin}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/portevo-test.XXXXXX")
export TZ=UTC
TEST_PIDS=()
TEST_FAILED=0

cleanup () {
  local pid
  for pid in "${TEST_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${TEST_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

pass () { echo "PASS: $*"; }
fail () { echo "FAIL: $*"; TEST_FAILED=1; }

# check "what" command...: PASS if the command succeeds, FAIL otherwise.
check () {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# spawn command...: start a background process that cleanup kills; sets SPAWNED_PID.
spawn () {
  "$@" &
  SPAWNED_PID=$!
  TEST_PIDS+=("$SPAWNED_PID")
}

# free_port: a free TCP/UDP port on loopback.
free_port () {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

finish () { exit "$TEST_FAILED"; }
