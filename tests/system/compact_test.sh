#!/usr/bin/env bash
# tests/system/compact_test.sh - the series tier end to end: days compacted into
# `series` answer what nfdump says they should, and so does a late file for one of them.
#
# The query tests' nfcapd files (query_files.sh: two exporters, five blocks over two
# days, Debian's nfcapd) are moved back in time (QUERY_SHIFT_DAYS) so that their first
# day is 7 or 8 days ago and even: both days fall in one segment of 2 days (day / 2),
# which ended more than SHARD_SEGMENT_LAG_DAYS (2) ago.  A broker, two shards
# (retention_days 30) and two ingestors run as real processes.
#  1. The shards start with segment_days 0 (the tier off: rows stay in days and chunks,
#     as a store written before the tier).  Every file done: `portevo top/series/days/
#     host --json` equal oracle_days.py (query_check.py); the stores (shards stopped,
#     tests/tools/store_dump) hold no series rows.
#  2. The shards restarted with --segment-days 2 -v: maintenance at start archives and
#     compacts.  Stopped, each store holds every row of its hosts in series, as many as
#     the oracle's rows of the hosts whose slot maps to it.  Restarted
#     (the config still says 0: the store keeps 2): every answer equals the oracle again.
#  3. A late file of each exporter for a new block of the first (compacted) day, with
#     rows the day had not (query_data.py --late): every answer equals the oracle
#     recomputed with them, and the stores hold their rows in series.
#  4. Retention inside a segment: restarted with --retention-days that expires the
#     first day only, every answer (but host records, which keep the ports of expired
#     days) equals the oracle of the second day's files; then
#     with both days expired, the stores hold no rows (the records deleted).
source "$(dirname "$0")/../lib/common.sh"
SEGMENT_DAYS=2
# The first day of the data (2026-11-20 unshifted): today - 7, or - 8 to make it even
TODAY=$(( $(date +%s) / 86400 ))
FIRST_DAY=$(( TODAY - 7 - (TODAY - 7) % 2 ))
QUERY_SHIFT_DAYS=$(python3 -c '
import datetime, sys
print((datetime.date(2026, 11, 20) - datetime.date(1970, 1, 1)).days - int(sys.argv[1]))' $FIRST_DAY)
source "$(dirname "$0")/../lib/query_files.sh"
SHARDS=2
QUERY_LATE_HOST=10.1.0.30  # query_data.py's LATE_HOST
# The queries go through the tools' portevo (not sanitized: tests/run.sh's TOOLS): the
# shards are under test here, and a sanitized CLI takes 0.3 s a query (query_test.sh
# covers it)
PORTEVO=$TOOLS/portevo
query_setup
FILES=$(( ${#FILES_a[@]} + ${#FILES_b[@]} ))

# Made while the cluster runs (nfcapd and nfdump take a while): the late files and their
# oracle, the oracle of the incoming direction, the oracle of the second day's files
(
  trap - EXIT  # the test's cleanup is not this subshell's
  query_make_late || exit 1
  python3 "$LIB/oracle_days.py" --local-as "$CL_LOCAL_AS" --direction in "${FILES_a[@]}" \
    "${FILES_b[@]}" "${LATE_a[@]}" "${LATE_b[@]}" > "$WORK/in.json" || exit 1
  python3 "$LIB/oracle_days.py" --local-as "$CL_LOCAL_AS" "${FILES_a[@]:3}" "${FILES_b[@]:3}" \
    > "$WORK/expected-second.json" || exit 1
  declare -p LATE_a LATE_b > "$WORK/late.sh"
) > "$WORK/late.log" 2>&1 &
LATE_JOB=$!

# rows_per_shard ORACLE: the (day, port, host) rows per shard (slot of the host mod
# SHARDS: the first map), from oracle_days.py's rankings (every host of a (day, port)
# is ranked)
rows_per_shard () {
  (cd "$LIB" && python3 - "$1" $SHARDS <<'PY'
import json, sys
import query_check
counts = [0] * int(sys.argv[2])
for day, ops in json.load(open(sys.argv[1]))["ranking"].items():
    for port, features in ops.get("sum", {}).items():
        for host in {entry[0] for entries in features.values() for entry in entries}:
            counts[query_check.slot_of(host) % len(counts)] += 1
print(" ".join(map(str, counts)))
PY
  )
}
ROWS=($(rows_per_shard "$EXPECTED"))
echo "rows per shard: ${ROWS[*]}"
check "the oracle gives rows to each shard" test "${ROWS[0]:-0}" -gt 0 -a "${ROWS[1]:-0}" -gt 0

# stores_hold WHAT SERIES-0 SERIES-1 ROWS-0 ROWS-1: the shards stopped, each store's
# series and daily rows (store_dump) are as given
stores_hold () {
  local what=$1 i line ok=1 got=""
  for ((i = 0; i < SHARDS; i++)); do cluster_kill "SHARD_PID_$i" TERM; done
  for ((i = 0; i < SHARDS; i++)); do
    line=$("$TOOLS/store_dump" "$CL_DIR/shard-$i" 0 2>> "$WORK/store_dump.log")
    got+=" shard-$i: $line;"
    local series=${2} rows=${4}
    [ "$i" = 1 ] && series=$3 rows=$5
    [ "$(word_after series "$line")" = "$series" ] && [ "$(word_after rows "$line")" = "$rows" ] || ok=0
  done
  if [ $ok = 1 ]; then pass "$what"; else fail "$what:$got"; fi
}

CL_SHARD_SETTINGS="segment_days=0 retention_days=30"
cluster_init main $SHARDS a b
cluster_start_all
if cluster_wait_up; then pass "broker, $SHARDS shards and 2 ingestors are up"; else
  fail "cluster did not come up: $(cat "$CL_DIR/status.json")"; cat "$CL_DIR"/logs/*.log; finish
fi
cluster_feed a "${FILES_a[@]}" && cluster_feed b "${FILES_b[@]}"
if cluster_wait_done $FILES; then pass "every file delivered and every block final"; else
  fail "delivery did not finish: $(cat "$CL_DIR/status.json")"; tail -n 20 "$CL_DIR"/logs/*.log
  finish
fi
python3 "$LIB/query_check.py" --portevo "$PORTEVO" --broker "$CL_BROKER" --expected "$EXPECTED" \
  --label "fed, not compacted" --hosts "10.1.0.1,2001:db8:1::2,$QUERY_SCANNER" --quick --jobs 3 ||
  TEST_FAILED=1
stores_hold "before compaction: no series rows, every row in days (${ROWS[*]})" \
  0 0 "${ROWS[0]}" "${ROWS[1]}"

# ----------------------------------------------------------------------------------
# Maintenance at start compacts: -v logs each batch ("store: compacted N ...")
for ((i = 0; i < SHARDS; i++)); do cluster_start_shard "$i" --segment-days $SEGMENT_DAYS -v; done
check "the restarted shards compact (log: store: compacted ...)" \
  wait_for 60 logs_settled 'store: compacted ' "$CL_DIR"/logs/shard-*.log
stores_hold "compacted: every row in series (${ROWS[*]})" \
  "${ROWS[0]}" "${ROWS[1]}" "${ROWS[0]}" "${ROWS[1]}"

for ((i = 0; i < SHARDS; i++)); do cluster_start_shard "$i"; done
if cluster_wait_up; then pass "the shards are up again on the compacted stores"; else
  fail "the shards did not come up again: $(cat "$CL_DIR/status.json")"; finish
fi
check "the stores keep their $SEGMENT_DAYS-day segments (segment_days 0 in the config)" \
  grep -q "store: segments of $SEGMENT_DAYS days" "$CL_DIR/logs/shard-0.log"
python3 "$LIB/query_check.py" --portevo "$PORTEVO" --broker "$CL_BROKER" --expected "$EXPECTED" \
  --label "compacted" --hosts "$QUERY_HOSTS" --quick --jobs 3 || TEST_FAILED=1

# ----------------------------------------------------------------------------------
# A late file for the compacted first day
if wait $LATE_JOB && [ -f "$WORK/late.sh" ]; then
  source "$WORK/late.sh"
  pass "nfcapd wrote a late file of each exporter; oracles computed"
else
  fail "making the late files or the oracles: $(tail -n 5 "$WORK/late.log")"; finish
fi
# The stores count rows of both directions; these data have none incoming (no local
# destination AS), which the oracle confirms, so the rows are the outgoing ones.
check "the data have no incoming rows (oracle_days.py --direction in)" python3 -c '
import json, sys
sys.exit(0 if not json.load(open(sys.argv[1]))["ranking"] else 1)' "$WORK/in.json"
ROWS_LATE=($(rows_per_shard "$EXPECTED_LATE"))
echo "rows per shard with the late files: ${ROWS_LATE[*]}"
check "the late files add rows the first day had not" \
  test $((ROWS_LATE[0] + ROWS_LATE[1])) -gt $((ROWS[0] + ROWS[1]))
cluster_feed a "${LATE_a[@]}" && cluster_feed b "${LATE_b[@]}"
if cluster_wait_done $((FILES + 2)); then pass "the late files delivered and their block final"; else
  fail "the late files: $(cat "$CL_DIR/status.json")"; tail -n 20 "$CL_DIR"/logs/*.log; finish
fi
python3 "$LIB/query_check.py" --portevo "$PORTEVO" --broker "$CL_BROKER" \
  --expected "$EXPECTED_LATE" --label "compacted, then a late file" --quick --jobs 3 \
  --hosts "$QUERY_HOSTS,$QUERY_LATE_HOST" ||
  TEST_FAILED=1
errors=$(cluster_errors)
check "no error lines in the logs" test -z "$errors"
[ -z "$errors" ] || echo "$errors" | head -n 20
stores_hold "the late rows are in series too (${ROWS_LATE[*]})" \
  "${ROWS_LATE[0]}" "${ROWS_LATE[1]}" "${ROWS_LATE[0]}" "${ROWS_LATE[1]}"

# ----------------------------------------------------------------------------------
# Retention: a day is expired when before today - retention days (shard_fold.c)
check "the oracle of the second day's files has that day only" python3 -c '
import json, sys
sys.exit(0 if len(json.load(open(sys.argv[1]))["days"]) == 1 else 1)' "$WORK/expected-second.json"
for ((i = 0; i < SHARDS; i++)); do
  cluster_start_shard "$i" --retention-days $((TODAY - FIRST_DAY - 1))
done
if cluster_wait_up; then pass "the shards are up with the first day expired"; else
  fail "the shards did not come up: $(cat "$CL_DIR/status.json")"; finish
fi
python3 "$LIB/query_check.py" --portevo "$PORTEVO" --broker "$CL_BROKER" \
  --expected "$WORK/expected-second.json" --label "first day expired" --quick --no-host --jobs 3 \
  --hosts "10.1.0.1,2001:db8:1::2,$QUERY_SCANNER,$QUERY_LATE_HOST" || TEST_FAILED=1
for ((i = 0; i < SHARDS; i++)); do cluster_kill "SHARD_PID_$i" TERM; done
for ((i = 0; i < SHARDS; i++)); do
  cluster_start_shard "$i" --retention-days $((TODAY - FIRST_DAY - 2)) -v
done
check "with both days expired, retention deletes (log: store: retention deleted ...)" \
  wait_for 30 logs_settled 'store: retention deleted ' "$CL_DIR"/logs/shard-*.log
stores_hold "with both days expired, the stores hold no rows" 0 0 0 0
finish
