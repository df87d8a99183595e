#!/usr/bin/env bash
# tests/system/ingestor_remove_test.sh - `portevo ingestor remove`: a retired ingestor no
# longer holds every block for the grace period.
#
# A broker, two shards (grace 600 s) and two ingestors a and b register; b is stopped for
# good.  Exporter a's five files (written by Debian's nfcapd, tests/lib/query_files.sh)
# go into a's spool: every block stays open, waiting for b.  `portevo ingestor remove`
# refuses a (it is up: 409) and an unknown name (404), then removes b: the shards follow
# the new map, every block is final within seconds (not ten minutes), status lists a
# alone, and every answer equals oracle_days.py over nfdump's CSV of a's files.  After
# a broker restart the map still has no b.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/query_files.sh"
query_setup
EXPECTED_A=$WORK/expected-a.json
python3 "$LIB/oracle_days.py" --local-as "$CL_LOCAL_AS" "${FILES_a[@]}" > "$EXPECTED_A" ||
  { fail "oracle of exporter a"; finish; }

cluster_init rm 2 a b
cluster_start_all
check "broker, 2 shards and ingestors a, b are up" cluster_wait_up
cluster_kill INGEST_PID_b TERM
check "ingestor b stopped: down" cluster_poll 10 \
  "[p['state'] for p in s['ingestors'] if p['name'] == 'b'] == ['down']"

cluster_feed a "${FILES_a[@]}"
check "ingestor a delivered its ${#FILES_a[@]} files" cluster_poll 60 \
  "[p['files_done'] for p in s['ingestors'] if p['name'] == 'a'] == [${#FILES_a[@]}]"
check "the blocks stay open, waiting for b's parts" \
  cluster_poll 5 "sum(p['open_blocks'] or 0 for p in s['shards']) > 0"

"$BIN/portevo" ingestor remove a --broker "$CL_BROKER" > "$WORK/rm-a.out" 2> "$WORK/rm-a.err"
check "ingestor remove a (up): exit 1" test $? -eq 1
check "ingestor remove a (up): refused, saying it is up" \
  grep -q "refused (409): INGESTOR_REMOVE: ingestor 'a' is up" "$WORK/rm-a.err"
"$BIN/portevo" ingestor remove nobody --broker "$CL_BROKER" > /dev/null 2> "$WORK/rm-x.err"
check "ingestor remove nobody: exit 1, 404" grep -q "refused (404)" "$WORK/rm-x.err"
"$BIN/portevo" ingestor remove 'b/..' --broker "$CL_BROKER" > /dev/null 2>&1
check "ingestor remove with a bad name: usage error" test $? -eq 2

start=$SECONDS
"$BIN/portevo" ingestor remove b --broker "$CL_BROKER" > "$WORK/rm-b.out" 2> "$WORK/rm-b.err"
check "ingestor remove b (stopped): exit 0" test $? -eq 0
check "ingestor remove b: says so" grep -q "^ingestor b removed from the map" "$WORK/rm-b.out"
check "every block is final within 20 s of the removal (grace is 600 s)" \
  cluster_poll 20 "all(not p['open_blocks'] for p in s['shards'])"
echo "  blocks final $((SECONDS - start)) s after the removal"
check "status lists ingestor a alone" \
  cluster_poll 5 "[p['name'] for p in s['ingestors']] == ['a']"
for i in 0 1; do
  check "shard-$i follows a map with 1 ingestor" \
    grep -qE "map: epoch [0-9]+, shard index $i, [0-9]+ slots, 1 ingestors" \
    "$CL_DIR/logs/shard-$i.log"
done
python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$CL_BROKER" \
  --expected "$EXPECTED_A" --label "b removed"

cluster_kill BROKER_PID TERM
cluster_start_broker
check "after a broker restart the map still has no b" \
  cluster_poll 10 "[p['name'] for p in s['ingestors']] == ['a']"
check "the broker logged the decommission" grep -q "ingestor b decommissioned" \
  "$CL_DIR/logs/broker.log"
check "no unexpected error in the logs" test -z "$(cluster_errors)"
finish
