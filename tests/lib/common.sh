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

# wait_for SECS command...: poll (every 0.1 s) until the command succeeds; 1 on timeout.
wait_for () {
  local secs=$1 i; shift
  for i in $(seq 1 $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  return 1
}

# spawn command...: start a background process that cleanup kills; sets SPAWNED_PID.
spawn () {
  "$@" &
  SPAWNED_PID=$!
  TEST_PIDS+=("$SPAWNED_PID")
}

# free_port: a port free for TCP and UDP on loopback, drawn below the kernel's ephemeral
# range (ip_local_port_range, 32768-60999 by default): a port the kernel handed out with
# bind(0) can be taken, before our process binds it, by the local end of some other
# outgoing connection (ZeroMQ peers connect all the time), and the bind then fails.
# tests/run.sh gives each lane of suites running at once its own range
# (PORTEVO_PORT_LOW..PORTEVO_PORT_HIGH).
free_port () {
  python3 - <<'PY'
import random, socket
import os
low = int(os.environ.get("PORTEVO_PORT_LOW", "20000"))
high = int(os.environ.get("PORTEVO_PORT_HIGH", "32000"))
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        first = int(f.read().split()[0])
    high = min(high, first)
except OSError:
    pass
for _ in range(1000):
    port = random.randrange(low, high)
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", port))
            s.close()
    except OSError:
        continue
    print(port)
    break
PY
}

finish () { exit "$TEST_FAILED"; }

# logs_settled PATTERN FILE...: every file has a line matching PATTERN (grep -E) and
# no new one comes for 2 s (e.g. the last batch of some background work was logged).
logs_settled () {
  local pattern=$1 file before; shift
  for file in "$@"; do grep -qE "$pattern" "$file" || return 1; done
  before=$(cat "$@" | grep -cE "$pattern")
  sleep 2
  [ "$(cat "$@" | grep -cE "$pattern")" = "$before" ]
}

# word_after NAME LINE: the word after the word NAME in LINE (e.g. a store_dump line
# "answers H entries N rows N archived N series N")
word_after () { echo "$2" | awk -v name="$1" '{ for (i = 1; i < NF; i++) if ($i == name) print $(i + 1) }'; }

# browser_ready: node, Debian's chromium, npm's playwright-core and the built web UI
# (made here if missing) are there; otherwise says which is missing as a FAIL and returns 1.
browser_ready () {
  command -v node > /dev/null || { fail "node missing (make deps)"; return 1; }
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] ||
    { fail "chromium missing (make deps: scripts/packages.txt)"; return 1; }
  [ -d "$ROOT/node_modules/playwright-core" ] ||
    { fail "node_modules/playwright-core missing (npm ci)"; return 1; }
  [ -f "$ROOT/web/vendor/uPlot.iife.min.js" ] || "$ROOT/scripts/build-web.sh" > /dev/null ||
    { fail "make web failed"; return 1; }
}
