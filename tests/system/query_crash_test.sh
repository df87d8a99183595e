#!/usr/bin/env bash
# tests/system/query_crash_test.sh - nothing lost, nothing counted twice, whatever dies.
#
# The files and the oracle of query_test.sh (two exporters, five blocks, two days), each
# scenario on a fresh cluster of a broker, three shards and two ingestors started by hand:
#   - kill -9 a shard while the ingestors deliver, restart it (once at a random moment,
#     once while it holds parts that the other shards applied);
#   - kill -9 an ingestor while its parts are applied by some shards only, restart it;
#   - kill -9 the broker while the ingestors deliver, restart it;
#   - afterwards kill -9 every shard of a finished cluster and restart them (the LMDB
#     stores keep what was acknowledged).
# After each, once every file is done, `portevo top` of every (day, op) and `portevo
# series` of several hosts (every feature and op) must equal oracle_days.py exactly.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/query_files.sh"
query_setup
TOTAL=$((${#FILES_a[@]} + ${#FILES_b[@]}))

# scenario_start NAME: a fresh cluster, up and waiting for files.
scenario_start () {
  cluster_init "$1" 3 a b
  cluster_start_all
  cluster_wait_up || { fail "$1: cluster did not come up: $(cat "$CL_DIR/status.json")"; return 1; }
}

# scenario_check NAME: every file done, then the answers equal the oracle.
scenario_check () {
  if ! cluster_wait_done "$TOTAL" 120; then
    fail "$1: delivery did not finish: $(cat "$CL_DIR/status.json")"
    tail -n 30 "$CL_DIR"/logs/*.log
    return 1
  fi
  pass "$1: every file done, every block final"
  python3 "$LIB/query_check.py" --portevo "$PORTEVO" --broker "$CL_BROKER" --quick \
    --expected "$EXPECTED" --label "$1" --hosts "$QUERY_HOSTS" || TEST_FAILED=1
}

scenario_stop () {
  local i
  cluster_kill BROKER_PID TERM
  for ((i = 0; i < CL_SHARD_COUNT; i++)); do cluster_kill "SHARD_PID_$i" TERM; done
  cluster_kill INGEST_PID_a TERM
  cluster_kill INGEST_PID_b TERM
}

# files_done: the files the ingestors report done (from the last cluster_status).
files_done () {
  cluster_status | python3 -c 'import json,sys; print(sum(p["files_done"] or 0 for p in json.load(sys.stdin)["ingestors"]))' 2>/dev/null || echo "?"
}

# ----------------------------------------------------------------------------------
# Shards killed while the parts arrive.  First shard-0 at a random moment of the first
# half; then shard-1, frozen (SIGSTOP) while the second half is delivered so that the
# other shards applied parts it never saw (the files cannot be done), killed with those
# parts in its queue, restarted: the ingestors resend, shard-0 and shard-2 drop what
# they applied already.
if scenario_start shard-crash; then
  cluster_feed a "${FILES_a[@]:0:2}" && cluster_feed b "${FILES_b[@]:0:2}"
  sleep 0.1
  cluster_kill SHARD_PID_0
  echo "note: shard-0 killed with $(files_done) of 4 files done"
  cluster_start_shard 0
  cluster_poll 30 "sum(p['files_done'] or 0 for p in s['ingestors']) == 4" ||
    fail "shard-crash: the first half was not delivered after shard-0 came back"
  kill -STOP "$SHARD_PID_1"
  cluster_feed a "${FILES_a[@]:2}" && cluster_feed b "${FILES_b[@]:2}"
  sleep 2
  done_now=$(files_done)
  check "shard-crash: with shard-1 frozen no new file is done ($done_now of $TOTAL)" \
    test "$done_now" = 4
  cluster_kill SHARD_PID_1
  sleep 1
  cluster_start_shard 1
  scenario_check "shard-0 and shard-1 killed mid-delivery, restarted"

  # Everything acknowledged survives kill -9 of every shard
  for i in 0 1 2; do cluster_kill "SHARD_PID_$i"; done
  for i in 0 1 2; do cluster_start_shard "$i"; done
  cluster_wait_up || fail "shards did not come back: $(cat "$CL_DIR/status.json")"
  scenario_check "every shard killed after delivery, restarted"
  scenario_stop
fi

# ----------------------------------------------------------------------------------
# An ingestor killed while it delivers: shard-2 is frozen, so ingestor a's parts are
# applied by shard-0 and shard-1 but no file of a can be done; a is killed, shard-2
# thawed, a restarted: it sends every part again and only shard-2 applies them.
if scenario_start ingestor-crash; then
  kill -STOP "$SHARD_PID_2"
  cluster_feed a "${FILES_a[@]}"
  sleep 2
  done_now=$(files_done)
  check "ingestor-crash: with shard-2 frozen no file is done ($done_now)" test "$done_now" = 0
  check "ingestor-crash: meanwhile shard-0 and shard-1 applied parts" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if all((p["parts_applied"] or 0) > 0 for p in s["shards"][:2]) else 1)' \
    <(cluster_status)
  cluster_kill INGEST_PID_a
  kill -CONT "$SHARD_PID_2"
  cluster_feed b "${FILES_b[@]}"
  sleep 1
  cluster_start_ingestor a
  scenario_check "ingestor a killed mid-delivery, restarted"
  scenario_stop
fi

# ----------------------------------------------------------------------------------
# The broker killed while the ingestors deliver
if scenario_start broker-crash; then
  cluster_feed a "${FILES_a[@]:0:3}" && cluster_feed b "${FILES_b[@]:0:2}"
  sleep 0.1
  cluster_kill BROKER_PID
  cluster_feed a "${FILES_a[@]:3}" && cluster_feed b "${FILES_b[@]:2}"
  sleep 2
  cluster_start_broker
  cluster_wait_up 30 || fail "broker-crash: peers did not register again: $(cat "$CL_DIR/status.json")"
  scenario_check "broker killed mid-delivery, restarted"
  scenario_stop
fi
finish
