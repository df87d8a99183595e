#!/usr/bin/env bash
# tests/system/retention_up_test.sh - an old spool is never a silently empty UI.
#
# The query tests' nfcapd files (two exporters, five blocks over two days, written by
# Debian's nfcapd) are made 981 days back, in March 2024, older than the default
# retention of 180 days.  `portevo up` on them (two spools, two shards, the gateway):
# every part is refused as too old, and `portevo status` (table and --json) and
# /api/status count it per ingestor (files_too_old) and per shard (old_parts), each
# ingestor logs one line per file, and the UI has no day.  The same `portevo up` on the
# same data directory with --retention-days 4000 then answers in full: every day, top and
# series equal oracle_days.py over nfdump's own CSV (api_check.py).  Also: `portevo up`
# takes the options of its processes (--grace-secs, --mapsize-mb, --deadline-msecs) into
# the config file it writes, and refuses a bad value naming the option.
source "$(dirname "$0")/../lib/common.sh"
QUERY_SHIFT_DAYS=981
source "$(dirname "$0")/../lib/query_files.sh"
[ -x "$BIN/portevo-gateway" ] || { fail "missing $BIN/portevo-gateway (run make)"; finish; }
query_setup
FILES=$(( ${#FILES_a[@]} + ${#FILES_b[@]} ))
DATA=$WORK/data
SPOOL_A=$(dirname "${FILES_a[0]}") SPOOL_B=$(dirname "${FILES_b[0]}")

"$BIN/portevo" up --retention-days 0 --data "$DATA" > /dev/null 2> "$WORK/bad.err"
check "portevo up --retention-days 0: exit 2" test $? -eq 2
check "portevo up --retention-days 0: the error names the option and the range" \
  grep -q -- "--retention-days: '0' is not a number from 1 to 36500" "$WORK/bad.err"

# up_start LOG [options...]: portevo up on both spools; waits for /health.  Sets URL, UP_PID.
up_start () {
  local log=$1; shift
  local port; port=$(free_port)
  URL=http://127.0.0.1:$port
  spawn "$BIN/portevo" up --spool "$SPOOL_A" --spool "$SPOOL_B" --local-as 64500 --shards 2 \
    --data "$DATA" --http "127.0.0.1:$port" "$@" > "$log" 2>&1
  UP_PID=$SPAWNED_PID
  for _ in $(seq 1 150); do
    kill -0 "$UP_PID" 2> /dev/null || break
    curl -fsS -m 2 "$URL/health" > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "portevo up $* serves $URL/health"; cat "$log"; tail -n 20 "$DATA"/logs/*.log; finish
}

up_stop () {
  kill -TERM "$UP_PID" 2> /dev/null
  wait "$UP_PID" 2> /dev/null
}

# stat_sum ROLE KEY [FILE]: the sum of a stat over the peers of a role in a status JSON
# (FILE, or `portevo status --json` now).
stat_sum () {
  local json=${3:-}
  [ -n "$json" ] || { json=$WORK/status.json;
    "$BIN/portevo" status --json --config "$DATA/portevo.cfg" > "$json" 2> /dev/null || return 1; }
  python3 - "$json" "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
peers = doc["shards" if sys.argv[2] == "shard" else "ingestors"]
print(sum(p.get(sys.argv[3]) or 0 for p in peers))
PY
}

wait_stat () {  # wait_stat ROLE KEY VALUE: up to 60 s
  for _ in $(seq 1 120); do
    [ "$(stat_sum "$1" "$2")" = "$3" ] && return 0
    sleep 0.5
  done
  return 1
}

# ---------------------------------------------------------------------------------------
# Default retention (180 days): everything refused, and said so
up_start "$WORK/up1.log" --grace-secs 30 --mapsize-mb 512 --deadline-msecs 800
check "the config has --grace-secs, --mapsize-mb, --deadline-msecs" \
  grep -Pzq 'shard\n(.*\n)*\s+grace_secs = "30"\n\s+mapsize_mb = "512"\n' "$DATA/portevo.cfg"
check "the config has the gateway's deadline_msecs" grep -q 'deadline_msecs = "800"' \
  "$DATA/portevo.cfg"
check "ingestors count the $FILES files refused as too old (files_too_old)" \
  wait_stat ingestor files_too_old "$FILES"
check "shards count $((FILES * 2)) parts refused as too old (old_parts)" \
  wait_stat shard old_parts $((FILES * 2))
check "no file was marked done" test "$(stat_sum ingestor files_done)" = 0
curl -fsS -m 5 "$URL/api/status" > "$WORK/api-status.json"
check "/api/status: files_too_old $FILES" \
  test "$(stat_sum ingestor files_too_old "$WORK/api-status.json")" = "$FILES"
check "/api/status: old_parts $((FILES * 2))" \
  test "$(stat_sum shard old_parts "$WORK/api-status.json")" = $((FILES * 2))
"$BIN/portevo" status --config "$DATA/portevo.cfg" > "$WORK/status.txt" 2>&1
check "portevo status: a TOO OLD column for shards and ingestors" \
  test "$(grep -c 'TOO OLD' "$WORK/status.txt")" = 2
check "portevo status: ingestor a shows ${#FILES_a[@]} files too old" \
  grep -qE "^a +up +[^ ]+ +0 +0 +0 +${#FILES_a[@]} " "$WORK/status.txt"
for name in a b; do
  eval "count=\${#FILES_$name[@]}"
  check "ingestor $name logged one line per refused file ($count)" \
    test "$(grep -c "is older than the shards' retention" "$DATA/logs/$name.log")" = "$count"
done
check "the UI has no day (nothing was stored)" \
  test "$(curl -fsS -m 5 "$URL/api/days")" = '{"days":[]}'
up_stop

# ---------------------------------------------------------------------------------------
# The same data directory with a retention that covers March 2024: answered in full
up_start "$WORK/up2.log" --retention-days 4000
check "with --retention-days 4000 every file is delivered" wait_stat ingestor files_done "$FILES"
check "with --retention-days 4000 no file is too old" \
  test "$(stat_sum ingestor files_too_old)" = 0
check "the config has retention_days 4000" grep -q 'retention_days = "4000"' "$DATA/portevo.cfg"
if python3 "$LIB/api_check.py" --url "$URL" --expected "$EXPECTED" \
     --label "March 2024, --retention-days 4000" > "$WORK/api-check.log" 2>&1; then
  pass "every answer equals nfdump's ($(grep -c . "$WORK/api-check.log") checks)"
else
  fail "answers differ from nfdump's"
  grep -v '^PASS' "$WORK/api-check.log" | head -n 20 | cut -c1-400 | sed 's/^/  /'
fi
up_stop
check "no unexpected error in the logs" \
  test -z "$(grep -h '^E:' "$DATA"/logs/*.log | head -n 3)"
finish
