#!/usr/bin/env bash
# tests/system/slots_test.sh - `portevo shard add` and `portevo shard remove`: slots move
# with their data while ingest and queries go on, and every answer stays exact.
#
# Two exporters' nfcapd files (Debian's nfcapd, tests/lib/query_files.sh), a broker, two
# shards, two ingestors and a gateway.  The first half of the files is delivered, exporter a one
# block ahead of b (a block straddles the move: its open values and delivery record move
# with the slots); then a third shard is added while a's other files are fed and queries
# run; the move runs batch by batch (ingestors hold new files during it); b's other
# files come after it, and every block is final soon after (not at the grace period).  At the end every answer equals
# oracle_days.py over nfdump's CSV, and each host's data is on the shard that owns its
# slot only (store_dump --known on every stopped store).  Then shard-0 is removed:
# answers still exact, shard-0 owns nothing and left the map.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/query_files.sh"
query_setup

cluster_init slots 3 a b
sed -i 's/shards = "shard-0,shard-1,shard-2"/shards = "shard-0,shard-1"/' "$CL_CONFIG"
CL_SHARD_COUNT=2
SHARD2_ENDPOINT=$(sed -n '/shard-2$/,/endpoint/s/.*endpoint = "\(.*\)"/\1/p' "$CL_CONFIG")
cluster_start_all
HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
spawn "$BIN/portevo-gateway" --config "$CL_CONFIG" --http "127.0.0.1:$HTTP_PORT" \
  --deadline-msecs 2000 --web "$ROOT/web" >> "$CL_DIR/logs/gateway.log" 2>&1
check "broker, shard-0, shard-1 and ingestors a, b are up" cluster_wait_up

# A block straddles the move: exporter a's first files are one block ahead of b's, so a
# delivered block B before the move and b delivers it after, to B's new owner
half_b=$(( ${#FILES_b[@]} / 2 )) half_a=$(( ${#FILES_b[@]} / 2 + 1 ))
cluster_feed a "${FILES_a[@]:0:$half_a}"
cluster_feed b "${FILES_b[@]:0:$half_b}"
check "the first files are delivered to 2 shards, a's last block open on both" \
  cluster_wait_files $((half_a + half_b)) 90
check "status: both shards hold the straddling block open" \
  cluster_poll 5 "all(p['open_blocks'] == 1 for p in s['shards'])"

# Queries during the move: every answer is the one before the move (ingestors hold, and
# the open block waits for b), or says which shards are missing; never a wrong number.
# An answer is kept only if the broker had not ended the hold when it came back.  Top
# lists of every day (CLI), and each query host's series over the gateway (HTTP: a
# host's shard changes at the switch, ERROR 409 from the old owner is asked again).
DAYS=$(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['days']))" "$EXPECTED")
top_json () {
  "$BIN/portevo" top --date "$1" --op sum --json --broker "$CL_BROKER" --timeout 3000 2>/dev/null
}
series_json () {
  curl -s -o "$2" -w '%{http_code}' \
    "$URL/api/series?host=$1&port=all&feature=bytes&op=sum&from=${DAYS%% *}&to=${DAYS##* }"
}
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] && break
  sleep 0.1
done
for day in $DAYS; do top_json "$day" > "$WORK/before-$day.json"; done
SERIES_HOSTS=${QUERY_HOSTS//,/ }
for host in $SERIES_HOSTS; do series_json "$host" "$WORK/before-$host.json" > /dev/null; done
mkdir -p "$WORK/during"
query_loop () {
  local day host n=0 code
  while :; do
    for day in $DAYS; do
      n=$((n + 1))
      top_json "$day" > "$WORK/during/$n.tmp" || echo "top $day failed" >> "$WORK/query-errors"
      grep -q "move: done" "$CL_DIR/logs/broker.log" && return
      mv "$WORK/during/$n.tmp" "$WORK/during/${n}_$day.json"
    done
    for host in $SERIES_HOSTS; do
      n=$((n + 1))
      code=$(series_json "$host" "$WORK/during/$n.tmp")
      grep -q "move: done" "$CL_DIR/logs/broker.log" && return
      if [ "$code" = 200 ]; then mv "$WORK/during/$n.tmp" "$WORK/during/${n}_$host.json"
      else echo "series $host: HTTP $code $(cat "$WORK/during/$n.tmp")" >> "$WORK/series-missing"; fi
    done
    sleep 0.1
  done
}
query_loop &
QUERY_PID=$!
TEST_PIDS+=("$QUERY_PID")

"$BIN/portevo" shard add shard-2 "$SHARD2_ENDPOINT" --broker "$CL_BROKER" > "$WORK/add.out" 2>&1
check "shard add shard-2: planned 341 slots" grep -q "^shard shard-2 added: 341 slots to move" \
  "$WORK/add.out"
"$BIN/portevo" shard add shard-3 tcp://127.0.0.1:1 --broker "$CL_BROKER" > /dev/null 2> "$WORK/add2.err"
check "a second move while one is under way: refused (409)" grep -q "refused (409)" "$WORK/add2.err"
cluster_start_shard 2
# a's other files during the move (held, or open blocks waiting for b); b's only after
# it, so that b's part of every block a delivered comes to the blocks' new owner
cluster_feed a "${FILES_a[@]:$half_a}"
start=$SECONDS
check "the move is done within 120 s" wait_for 120 grep -q "move: done" "$CL_DIR/logs/broker.log"
echo "  move of 341 slots done in $((SECONDS - start)) s"
cluster_feed b "${FILES_b[@]:$half_b}"
CL_SHARD_COUNT=3
check "status: shard-2 owns 341 slots, the others 341 or 342" \
  cluster_poll 10 "sorted(p['slots'] for p in s['shards']) == [341, 341, 342] and s['shards'][2]['slots'] == 341"
# The straddling block: shard-2 got a's part of it with the moved slots' open blocks, so
# it is final at b's part, long before the grace period (600 s)
start=$SECONDS
check "every file is delivered to 3 shards and every block is final within 90 s" \
  cluster_wait_done $(( ${#FILES_a[@]} + ${#FILES_b[@]} )) 90
echo "  every block final $((SECONDS - start)) s after the move"
kill "$QUERY_PID" 2>/dev/null; wait "$QUERY_PID" 2>/dev/null
check "queries during the move all answered" test ! -s "$WORK/query-errors"
python3 - "$WORK" > "$WORK/during.out" <<'EOF'
import glob, json, os, sys
work = sys.argv[1]
exact = missing = wrong = 0
for path in glob.glob(os.path.join(work, "during", "*.json")):
    what = os.path.basename(path).split("_", 1)[1][:-len(".json")]
    answer = json.load(open(path))
    if answer == json.load(open(os.path.join(work, "before-%s.json" % what))):
        exact += 1
    elif answer.get("missing_shards"):
        missing += 1
    else:
        wrong += 1
        print("differs: %s" % path)
print("%d answers during the move: %d exact, %d with missing_shards, %d wrong"
      % (exact + missing + wrong, exact, missing, wrong))
sys.exit(0 if exact > 0 and wrong == 0 else 1)
EOF
check "answers during the move equal those before it, or name missing shards" test $? -eq 0
tail -1 "$WORK/during.out" | sed 's/^/  /'
check "series during the move: every HTTP answer 200 or a 503 naming the shard" \
  test -z "$(grep -v ' HTTP 503 ' "$WORK/series-missing" 2>/dev/null)"
echo "  series answered 503 during the move: $(cat "$WORK/series-missing" 2>/dev/null | wc -l)"
grep -h "asking again after a map refresh" "$CL_DIR/logs/gateway.log" | wc -l |
  sed 's/^/  gateway queries asked again after a 409: /'
python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$CL_BROKER" \
  --expected "$EXPECTED" --hosts "$QUERY_HOSTS" --label "after shard add: "
for i in 0 1 2; do
  check "shard-$i deleted its moved rows or imported them" \
    grep -qE "move: (deleted|imported) [0-9]+ records and [0-9]+ rows" "$CL_DIR/logs/shard-$i.log"
done
check "shard-2 united the sources' open blocks" \
  grep -qE "move: imported .* [1-9][0-9]* open blocks united" "$CL_DIR/logs/shard-2.log"

"$BIN/portevo" shard remove shard-0 --wait --broker "$CL_BROKER" > "$WORK/rm.out" 2>&1
check "shard remove shard-0 --wait: its 341 or 342 slots planned" \
  grep -qE "^shard shard-0 to be removed: 34[12] slots to move" "$WORK/rm.out"
check "shard remove: the move is done" grep -q "^move done" "$WORK/rm.out"
check "status: shard-0 left the map, the others own 512 each" \
  cluster_poll 10 "[(p['name'], p['slots']) for p in s['shards']] == [('shard-1', 512), ('shard-2', 512)]"
python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$CL_BROKER" \
  --expected "$EXPECTED" --hosts "$QUERY_HOSTS" --quick --label "after shard remove: "

# Where every host's data is: stop everything, read each store
for i in 0 1 2; do cluster_kill "SHARD_PID_$i" TERM; done
python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['hosts']))" "$EXPECTED" \
  > "$WORK/hosts.txt"
for i in 0 1 2; do
  "$TOOLS/store_dump" --known "$CL_DIR/shard-$i" < "$WORK/hosts.txt" > "$WORK/known-shard-$i.txt"
done
check "shard-0 (removed) holds no host any more" test ! -s "$WORK/known-shard-0.txt"
python3 "$LIB/slot_owners.py" "$CL_DIR/broker/broker.map" "$WORK" \
  "$(wc -l < "$WORK/hosts.txt")" shard-0 shard-1 shard-2 > "$WORK/owners.out"
check "every host's data is on the shard owning its slot, and on no other" test $? -eq 0
cat "$WORK/owners.out" | tail -3 | sed 's/^/  /'
check "no unexpected error in the logs" test -z "$(cluster_errors)"
finish
