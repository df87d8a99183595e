#!/usr/bin/env bash
# tests/system/shard_map_keep_test.sh - a shard keeps the last map it saw and serves
# parts after a restart without waiting for the broker.
#
# A broker, one shard and one ingestor come up and deliver exporter a's first two files
# (written by Debian's nfcapd).  Then the broker is killed and the shard is killed and
# restarted while the broker stays down: the shard says it took the map kept by its last
# run, and the ingestor (which still has its map) delivers the remaining files to it with
# no broker anywhere.  A corrupt kept map is ignored with a warning (the shard then waits
# for the broker, which comes back).  At the end every answer equals oracle_days.py over
# nfdump's CSV of the files.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/query_files.sh"
query_setup
EXPECTED_A=$WORK/expected-a.json
python3 "$LIB/oracle_days.py" --local-as "$CL_LOCAL_AS" "${FILES_a[@]}" > "$EXPECTED_A" ||
  { fail "oracle of exporter a"; finish; }
COUNT=${#FILES_a[@]}

cluster_init keep 1 a
cluster_start_all
check "broker, shard and ingestor are up" cluster_wait_up
cluster_feed a "${FILES_a[@]:0:2}"
check "the first 2 files are delivered" cluster_wait_done 2 60
check "the shard kept the map in its data directory" test -s "$CL_DIR/shard-0/broker-map.msgpack"

cluster_kill BROKER_PID KILL
cluster_kill SHARD_PID_0 KILL
cluster_start_shard 0
check "the restarted shard took the kept map" \
  wait_for 10 grep -q "map: epoch [0-9]* kept from the last run" "$CL_DIR/logs/shard-0.log"
cluster_feed a "${FILES_a[@]:2}"
done_files () {
  [ "$(grep -c . "$CL_DIR/ingest-a/done.journal" 2> /dev/null)" = "$COUNT" ]
}
check "with the broker down, the restarted shard takes the other $((COUNT - 2)) files" \
  wait_for 60 done_files

# A corrupt kept map: ignored, said, and the broker's map is used once it is back
cluster_kill SHARD_PID_0 KILL
printf 'not msgpack' > "$CL_DIR/shard-0/broker-map.msgpack"
cluster_start_shard 0
check "a corrupt kept map is ignored with a warning" \
  wait_for 10 grep -q "broker-map.msgpack is not a MAP" "$CL_DIR/logs/shard-0.log"
cluster_start_broker
check "the cluster is up again" cluster_wait_up
check "every block is final" cluster_wait_done "$COUNT" 60
python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$CL_BROKER" \
  --expected "$EXPECTED_A" --label "shard restarted without a broker"
check "no unexpected error in the logs" test -z "$(cluster_errors)"
finish
