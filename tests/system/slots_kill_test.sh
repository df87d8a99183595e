#!/usr/bin/env bash
# tests/system/slots_kill_test.sh - slot moves interrupted by kill -9: the source shard,
# a target shard, the broker.  Each move resumes; answers stay exact, and every slot's
# hosts are on its one owner.
#
# Two exporters' nfcapd files (Debian's nfcapd, tests/lib/query_files.sh), a broker, two
# shards, two ingestors; the first files are delivered (a one block ahead of b), a's
# other files are fed during the first move, b's after it but the last, after the second:
# the blocks a delivered before b straddle the moves (their open values and delivery
# records move with the slots) and must be final soon after them, with exact answers.  Round 1: `shard add shard-2`, shard-0 (the first batch's source) is killed -9
# in the move and restarted.  Round 2: `shard remove shard-2`, shard-1 (a target) is
# killed -9 and restarted.  Round 3: `shard add shard-3`, the broker is killed -9 and
# restarted: it resumes the persisted phase.  After each round every answer equals
# oracle_days.py; at the end store_dump --known on every store shows each host on the
# shard owning its slot only (tests/lib/slot_owners.py).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/query_files.sh"
query_setup

cluster_init kill 4 a b
sed -i 's/shards = "shard-0,shard-1,shard-2,shard-3"/shards = "shard-0,shard-1"/' "$CL_CONFIG"
CL_SHARD_COUNT=2
endpoint_of () { sed -n "/$1\$/,/endpoint/s/.*endpoint = \"\\(.*\\)\"/\\1/p" "$CL_CONFIG"; }
cluster_start_all
check "broker, shard-0, shard-1 and ingestors a, b are up" cluster_wait_up
# A block straddles the first move: a delivered its third block before it, b delivers
# it after (to the new owner of the moved slots)
cluster_feed a "${FILES_a[@]:0:3}"
cluster_feed b "${FILES_b[@]:0:2}"
check "the first files are delivered, a's third block open" cluster_wait_files 5 90
check "status: both shards hold the straddling block open" \
  cluster_poll 5 "all(p['open_blocks'] == 1 for p in s['shards'])"

# move_round WHAT: wait for the move to end, then check the answers
moves_done=0
moves_logged () { [ "$(grep -c "move: done" "$CL_DIR/logs/broker.log")" -ge $moves_done ]; }
move_round () {
  moves_done=$((moves_done + 1))
  check "$1: the move is done" wait_for 120 moves_logged
  check "$1: status shows $2 shards owning all 1024 slots" \
    cluster_poll 20 "len(s['shards']) == $2 and sum(p['slots'] for p in s['shards']) == 1024 and \
all(p['state'] == 'up' for p in s['shards'])"
}

# Round 1: the source killed -9
"$BIN/portevo" shard add shard-2 "$(endpoint_of shard-2)" --broker "$CL_BROKER" > /dev/null
cluster_start_shard 2
cluster_feed a "${FILES_a[@]:3}"
sleep 1
cluster_kill SHARD_PID_0
echo "  shard-0 killed after: $(grep -E 'move: (batch|[0-9]+ slots switched)' "$CL_DIR/logs/broker.log" | tail -1 | cut -c40-)"
sleep 2
cluster_start_shard 0
CL_SHARD_COUNT=3
move_round "add, source killed" 3
# b's files but the last: the blocks a delivered before b are final within seconds, not
# at the grace period; a's last block stays open on every shard (it straddles round 2)
last_b=$(( ${#FILES_b[@]} - 1 ))
cluster_feed b "${FILES_b[@]:2:$((last_b - 2))}"
start=$SECONDS
check "b's files but the last are delivered, every block but one final within 90 s (grace: 600 s)" \
  cluster_poll 90 "sum(p['files_done'] or 0 for p in s['ingestors']) == $(( ${#FILES_a[@]} + last_b )) and \
all(not p['files_pending'] for p in s['ingestors']) and all(p['open_blocks'] == 1 for p in s['shards'])"
echo "  every block but one final $((SECONDS - start)) s after the move"
check "shard-2 united the source's open blocks" \
  grep -qE "move: imported .* [1-9][0-9]* open blocks united" "$CL_DIR/logs/shard-2.log"

# Round 2: a target killed -9
"$BIN/portevo" shard remove shard-2 --broker "$CL_BROKER" > /dev/null
sleep 1
cluster_kill SHARD_PID_1
echo "  shard-1 killed after: $(grep -E 'move: (batch|[0-9]+ slots switched)' "$CL_DIR/logs/broker.log" | tail -1 | cut -c40-)"
sleep 2
cluster_start_shard 1
move_round "remove, target killed" 2
# The open block's values of shard-2's hosts moved with them: b's last file completes it
cluster_feed b "${FILES_b[@]:$last_b}"
start=$SECONDS
check "every file is delivered and every block final within 90 s" \
  cluster_wait_done $(( ${#FILES_a[@]} + ${#FILES_b[@]} )) 90
echo "  every block final $((SECONDS - start)) s after the move"
python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$CL_BROKER" \
  --expected "$EXPECTED" --hosts "$QUERY_HOSTS" --quick --label "target killed: "

# Round 3: the broker killed -9
"$BIN/portevo" shard add shard-3 "$(endpoint_of shard-3)" --broker "$CL_BROKER" > /dev/null
cluster_start_shard 3
sleep 1.5
cluster_kill BROKER_PID
echo "  broker killed after: $(grep -E 'move: (batch|[0-9]+ slots switched)' "$CL_DIR/logs/broker.log" | tail -1 | cut -c40-)"
sleep 1
cluster_start_broker
move_round "add, broker killed" 3
python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$CL_BROKER" \
  --expected "$EXPECTED" --hosts "$QUERY_HOSTS" --quick --label "broker killed: "

for i in 0 1 2 3; do cluster_kill "SHARD_PID_$i" TERM; done
python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['hosts']))" "$EXPECTED" \
  > "$WORK/hosts.txt"
for i in 0 1 2 3; do
  "$TOOLS/store_dump" --known "$CL_DIR/shard-$i" < "$WORK/hosts.txt" > "$WORK/known-shard-$i.txt"
done
check "shard-2 (removed) holds no host any more" test ! -s "$WORK/known-shard-2.txt"
python3 "$LIB/slot_owners.py" "$CL_DIR/broker/broker.map" "$WORK" \
  "$(wc -l < "$WORK/hosts.txt")" shard-0 shard-1 shard-2 shard-3 > "$WORK/owners.out"
check "every host's data is on the shard owning its slot, and on no other" test $? -eq 0
tail -3 "$WORK/owners.out" | sed 's/^/  /'
check "no error in the logs (kills are not errors)" test -z "$(cluster_errors)"
finish
