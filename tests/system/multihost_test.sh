#!/usr/bin/env bash
# tests/system/multihost_test.sh - the cluster on five hosts, each process on its own
# address, with the one config file; a third shard host added while files and queries go.
#
# Five test hosts are network namespaces on one bridge (made here, removed at exit; the
# addresses, 198.19.77.0/24 from the benchmarking range, exist only inside them):
#   hostA 198.19.77.1  broker and gateway       hostB 198.19.77.2  shard-0
#   hostC 198.19.77.3  shard-1                  hostD 198.19.77.4  ingestors a and b
#   hostE 198.19.77.5  shard-2 (added later)
# Every process is started in its host with `ip netns exec`, from the same config file
# (proto/CONFIG.md), endpoints by address: the ingestors and the gateway learn the
# shards' addresses from the broker's map.  The query tests' nfcapd files (two exporters,
# written by Debian's nfcapd) of the first day are delivered to shard-0 and shard-1.
# Then shard-2 starts on hostE and `portevo shard add shard-2 ... --wait` runs on hostA
# while hostD's ingestors get the second day's files one by one and hostA asks the first
# day's top lists (CLI and HTTP) and every host's series of that day in a loop
# (move_queries.py): each answer must equal oracle_days.py over nfdump's CSV or say
# missing_shards (with the oracle's values for what it does list), never a wrong number.
# At the end every answer of the CLI and of the HTTP API equals the oracle, shard-2
# owns its third of the slots in the broker's map and in each shard's own map, and each
# host's data is on the shard owning its slot only (store_dump --known on each stopped
# store).  Each shard listens on its own address only.
# Needs root (network namespaces); prints SKIP and counts nothing otherwise.
source "$(dirname "$0")/../lib/common.sh"
NS=pe$$
NET=198.19.77
if [ "$(id -u)" -ne 0 ] || ! command -v ip > /dev/null || ! ip netns add "$NS-br" 2> /dev/null; then
  echo "SKIP: multihost_test needs root and iproute2 to make network namespaces"
  exit 0
fi

netns_cleanup () {
  local host
  cleanup
  for host in a b c d e br; do ip netns del "$NS-$host" 2> /dev/null; done
}
trap netns_cleanup EXIT

# A bridge in its own namespace; one veth per host into it
ip -n "$NS-br" link add br0 type bridge && ip -n "$NS-br" link set br0 up || {
  fail "cannot make the bridge"; finish; }
number=1
for host in a b c d e; do
  ip netns add "$NS-$host" &&
    ip link add "$NS-$host" type veth peer name "$NS-$host-p" &&
    ip link set "$NS-$host" netns "$NS-$host" &&
    ip link set "$NS-$host-p" netns "$NS-br" &&
    ip -n "$NS-br" link set "$NS-$host-p" master br0 &&
    ip -n "$NS-br" link set "$NS-$host-p" up &&
    ip -n "$NS-$host" addr add "$NET.$number/24" dev "$NS-$host" &&
    ip -n "$NS-$host" link set "$NS-$host" up &&
    ip -n "$NS-$host" link set lo up || { fail "cannot make host $host"; finish; }
  number=$((number + 1))
done
ports=$(ip -n "$NS-br" -o link show master br0 | grep -c "$NS-.-p")
check "five test hosts on one bridge ($ports ports)" test "$ports" = 5

source "$(dirname "$0")/../lib/query_files.sh"
[ -x "$BIN/portevo-gateway" ] || { fail "missing $BIN/portevo-gateway (run make)"; finish; }
query_setup

DIR=$WORK/cluster
CONFIG=$DIR/portevo.cfg
mkdir -p "$DIR/logs" "$DIR/broker" "$DIR/shard-0" "$DIR/shard-1" "$DIR/shard-2" \
  "$DIR/spool-a" "$DIR/spool-b" "$DIR/ingest-a" "$DIR/ingest-b"
BROKER=tcp://$NET.1:5570
HTTP=$NET.1:8080
SHARD2=tcp://$NET.5:5573
cat > "$CONFIG" <<EOF
portevo
    broker
        endpoint = "$BROKER"
        data = "$DIR/broker"
        shards = "shard-0,shard-1"
    shard
        grace_secs = "600"
        mapsize_mb = "256"
        shard-0
            endpoint = "tcp://$NET.2:5571"
            data = "$DIR/shard-0"
        shard-1
            endpoint = "tcp://$NET.3:5572"
            data = "$DIR/shard-1"
        shard-2
            endpoint = "$SHARD2"
            data = "$DIR/shard-2"
    ingestor
        local_as = "64500"
        tz = "UTC"
        a
            spool = "$DIR/spool-a"
            state = "$DIR/ingest-a"
        b
            spool = "$DIR/spool-b"
            state = "$DIR/ingest-b"
    gateway
        http = "$HTTP"
EOF

on () {  # on HOST LOG command...: run a process of the cluster on a test host
  local host=$1 log=$2; shift 2
  spawn ip netns exec "$NS-$host" "$@" >> "$DIR/logs/$log.log" 2>&1
}
on a broker "$BIN/portevo-broker" --config "$CONFIG"
on b shard-0 "$BIN/portevo-shard" --config "$CONFIG" --name shard-0
SHARD_PIDS=("$SPAWNED_PID")
on c shard-1 "$BIN/portevo-shard" --config "$CONFIG" --name shard-1
SHARD_PIDS+=("$SPAWNED_PID")
on d a "$BIN/portevo-ingest" --config "$CONFIG" --name a
on d b "$BIN/portevo-ingest" --config "$CONFIG" --name b
on a gateway "$BIN/portevo-gateway" --config "$CONFIG"

status () {  # status PYTHON-CONDITION: on the status document s, asked from hostA
  ip netns exec "$NS-a" "$BIN/portevo" status --json --broker "$BROKER" --timeout 1000 \
    > "$DIR/status.json" 2> /dev/null || return 1
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
    "$DIR/status.json"
}
all_up () {
  status "len(s['shards']) == 2 and len(s['ingestors']) == 2 and \
all(p['state'] == 'up' for p in s['shards'] + s['ingestors'])"
}
check "broker, 2 shards and 2 ingestors on 4 hosts are up" wait_for 30 all_up
check "the map has each shard's address" status \
  "[p['endpoint'] for p in s['shards']] == ['tcp://$NET.2:5571', 'tcp://$NET.3:5572']"
for pair in "b 2 5571" "c 3 5572"; do
  set -- $pair
  listening=$(ip netns exec "$NS-$1" ss -ltnH 2> /dev/null | awk '{print $4}' | tr '\n' ' ')
  check "host$1's shard listens on $NET.$2:$3 only (${listening% })" \
    test "${listening% }" = "$NET.$2:$3"
done
# Each shard's map must list both ingestors before any part arrives (else a block is
# taken as final without the other exporter's part)
for i in 0 1; do
  wait_for 15 grep -qE "map: epoch [0-9]+, shard index $i, [0-9]+ slots, 2 ingestors" \
    "$DIR/logs/shard-$i.log"
done

feed () {  # feed EXPORTER FILE...: into hostD's spool the way nfcapd does (write, rename)
  local exporter=$1 file; shift
  for file in "$@"; do
    cp -p "$file" "$DIR/spool-$exporter/.tmp" && mv "$DIR/spool-$exporter/.tmp" \
      "$DIR/spool-$exporter/$(basename "$file")"
  done
}
delivered () {  # delivered FILES [open]: the ingestors did FILES files, none pending;
  # blocks all final unless "open" (a block straddling a slot move waits for its grace
  # period on the new owner: proto/PROTOCOL.md "Known limit")
  local final="all(not p['open_blocks'] for p in s['shards'])"
  [ "${2:-}" = open ] && final=True
  status "sum(p['files_done'] or 0 for p in s['ingestors']) == $1 and \
all(not p['files_pending'] for p in s['ingestors']) and \
all(p['state'] == 'up' for p in s['shards']) and $final"
}
# The first day's files before the move, the second day's during it
DAY1=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['days'][0])" "$EXPECTED")
STAMP1=${DAY1//-/}
first_a=() rest_a=() first_b=() rest_b=()
for exporter in a b; do
  eval "files=(\"\${FILES_$exporter[@]}\")"
  for file in "${files[@]}"; do
    case $(basename "$file") in
      nfcapd.$STAMP1*) eval "first_$exporter+=(\"\$file\")" ;;
      *) eval "rest_$exporter+=(\"\$file\")" ;;
    esac
  done
done
FIRST=$(( ${#first_a[@]} + ${#first_b[@]} ))
TOTAL=$(( ${#FILES_a[@]} + ${#FILES_b[@]} ))
feed a "${first_a[@]}"
feed b "${first_b[@]}"
check "hostD's ingestors delivered the $FIRST files of $DAY1 to the shards on hostB and hostC" \
  wait_for 90 delivered "$FIRST"
check "both shards hold hosts" status "all((p['hosts'] or 0) > 0 for p in s['shards'])"

# Queries from hostA during the move, sorted into exact, partial and wrong
ip netns exec "$NS-a" python3 "$LIB/move_queries.py" --url "http://$HTTP" --portevo "$BIN/portevo" \
  --broker "$BROKER" --expected "$EXPECTED" --days "$DAY1" --stop "$DIR/stop" \
  --out "$DIR/move-queries.json" > "$DIR/logs/move-queries.out" 2>&1 &
QUERY_PID=$!
TEST_PIDS+=("$QUERY_PID")
# Exporter a's first block of the second day goes just before the add (its ingestor may
# deliver it before the hold while b's part waits), the others one by one during the move
feed a "${rest_a[0]}"
start=$SECONDS move_began=$(date +%s.%N)
( ip netns exec "$NS-a" "$BIN/portevo" shard add shard-2 "$SHARD2" --wait --broker "$BROKER" \
  > "$DIR/add.out" 2>&1; echo $? > "$DIR/add.rc" ) &
TEST_PIDS+=("$!")
on e shard-2 "$BIN/portevo-shard" --config "$CONFIG" --name shard-2
SHARD_PIDS+=("$SPAWNED_PID")
wait_for 10 grep -q "^shard shard-2 added" "$DIR/add.out"
for file in "${rest_b[0]}" "${rest_a[@]:1}" "${rest_b[@]:1}"; do
  feed "$(basename "$(dirname "$file")")" "$file"
  sleep 1
done
check "shard add shard-2 --wait: exit 0 within 120 s" wait_for 120 test -s "$DIR/add.rc"
move_ended=$(date +%s.%N)
grep -qx 0 "$DIR/add.rc" || fail "shard add --wait: exit $(cat "$DIR/add.rc" 2> /dev/null)"
check "shard add: 341 slots planned, then the move done ($((SECONDS - start)) s)" \
  grep -q "^shard shard-2 added: 341 slots to move" "$DIR/add.out"
check "shard add --wait said move done after the broker's last batch (not at a lifted hold)" \
  grep -q "move: done" "$DIR/logs/broker.log"
grep -q "^move done" "$DIR/add.out" || fail "shard add --wait did not say move done"
check "every file is delivered to 3 shards on hostB, hostC and hostE" \
  wait_for 120 delivered "$TOTAL" open
touch "$DIR/stop"
wait "$QUERY_PID"
query_rc=$?
counts=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1])); \
during=sum(float(sys.argv[2]) <= t <= float(sys.argv[3]) for t in c['times']); \
print('%d rounds, %d begun during the move: %d exact, %d said missing_shards, %d wrong' % \
(c['rounds'], during, c['exact'], c['partial'], c['wrong'])); sys.exit(0 if during else 1)" \
  "$DIR/move-queries.json" "$move_began" "$move_ended" 2> /dev/null)
during_rc=$?
check "queries of $DAY1 around the move: each exact or partial, none wrong (${counts:-no summary})" \
  test "$query_rc" = 0
check "some rounds of queries ran during the move" test "$during_rc" = 0
[ "$query_rc" = 0 ] || head -c 3000 "$DIR/logs/move-queries.out"

check "status: the map has shard-2 at $SHARD2 and 341 of the 1024 slots (341 or 342 the others)" \
  wait_for 10 status "[(p['name'], p['endpoint']) for p in s['shards']][2] == ('shard-2', '$SHARD2') and \
sorted(p['slots'] for p in s['shards']) == [341, 341, 342] and s['shards'][2]['slots'] == 341"
listening=$(ip netns exec "$NS-e" ss -ltnH 2> /dev/null | awk '{print $4}' | tr '\n' ' ')
check "hostE's shard listens on $NET.5:5573 only (${listening% })" test "${listening% }" = "$NET.5:5573"
# The CLI: every top list; the hosts' series all-ports only (the HTTP API asks them all)
ip netns exec "$NS-a" python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$BROKER" \
  --expected "$EXPECTED" --label "5 hosts, CLI" || TEST_FAILED=1
ip netns exec "$NS-a" python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$BROKER" \
  --expected "$EXPECTED" --hosts "$QUERY_HOSTS" --quick --label "5 hosts, CLI, quick" ||
  TEST_FAILED=1
ip netns exec "$NS-a" python3 "$LIB/api_check.py" --url "http://$HTTP" --expected "$EXPECTED" \
  --hosts "$QUERY_HOSTS" --label "5 hosts, HTTP" || TEST_FAILED=1
ip netns exec "$NS-a" python3 "$LIB/move_queries.py" --url "http://$HTTP" --portevo "$BIN/portevo" \
  --broker "$BROKER" --expected "$EXPECTED" --days "$(python3 -c "import json,sys; \
print(','.join(json.load(open(sys.argv[1]))['days']))" "$EXPECTED")" --once \
  --out "$DIR/after-queries.json" > "$DIR/logs/after-queries.out" 2>&1
check "after the move: every day's top (CLI, HTTP) and every host's daily series exact" \
  python3 -c "import json,sys; c=json.load(open(sys.argv[1])); \
sys.exit(0 if c['exact'] > 0 and c['partial'] == c['wrong'] == 0 else 1)" "$DIR/after-queries.json"
check "the gateway is not reachable on loopback of another host" \
  test "$(ip netns exec "$NS-d" curl -s -o /dev/null -w '%{http_code}' -m 2 http://127.0.0.1:8080/health)" = 000

# Each shard's own map (its last log line) has the broker's last epoch; the three own
# 1024 slots between them, none twice or never (the broker's map gives each one owner)
check "each shard's own map: the broker's epoch, slots 341 + 341|342 summing to 1024" \
  python3 - "$DIR" <<'EOF'
import json, re, sys
d = sys.argv[1]
views = []
for i in range(3):
    lines = re.findall(r"map: epoch (\d+), shard index (\d+), (\d+) slots",
                       open("%s/logs/shard-%d.log" % (d, i)).read())
    views.append(tuple(int(v) for v in lines[-1]))
text = open(d + "/broker/broker.map").read()
slots = [int(v) for v in re.search(r'slots = "([0-9,]+)"', text).group(1).split(",")]
owned = [slots.count(i) for i in range(3)]
print("  shards' maps (epoch, index, slots): %s; broker's map: %d slots, %s each" % (
    views, len(slots), owned))
sys.exit(0 if len({v[0] for v in views}) == 1 and [v[1] for v in views] == [0, 1, 2]
         and [v[2] for v in views] == owned and len(slots) == 1024 and sum(owned) == 1024
         and owned[2] == 341 else 1)
EOF

# Where every host's data is: stop the shards, read each store
for pid in "${SHARD_PIDS[@]}"; do kill -TERM "$pid" 2> /dev/null; wait "$pid" 2> /dev/null; done
python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['hosts']))" "$EXPECTED" \
  > "$DIR/hosts.txt"
for i in 0 1 2; do
  "$TOOLS/store_dump" --known "$DIR/shard-$i" < "$DIR/hosts.txt" > "$DIR/known-shard-$i.txt"
done
python3 "$LIB/slot_owners.py" "$DIR/broker/broker.map" "$DIR" "$(wc -l < "$DIR/hosts.txt")" \
  shard-0 shard-1 shard-2 > "$DIR/owners.out"
owners_rc=$?
check "each host's data is on the shard owning its slot only ($(tail -1 "$DIR/owners.out"))" \
  test "$owners_rc" = 0
check "the moved hosts ($(wc -l < "$DIR/known-shard-2.txt")) are on shard-2" \
  test -s "$DIR/known-shard-2.txt"
check "no unexpected error in the logs" test -z "$(grep -h '^E: ' "$DIR"/logs/*.log | head -n 3)"
finish
