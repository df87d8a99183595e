#!/usr/bin/env bash
# tests/system/multihost_test.sh - the cluster on four hosts, each process on its own
# address, with the one config file.
#
# Four test hosts are network namespaces on one bridge (made here, removed at exit; the
# addresses, 198.19.77.0/24 from the benchmarking range, exist only inside them):
#   hostA 198.19.77.1  broker and gateway       hostB 198.19.77.2  shard-0
#   hostC 198.19.77.3  shard-1                  hostD 198.19.77.4  ingestors a and b
# Every process is started in its host with `ip netns exec`, from the same config file
# (proto/CONFIG.md), endpoints by address: the ingestors and the gateway learn the
# shards' addresses from the broker's map.  The query tests' nfcapd files (two exporters,
# written by Debian's nfcapd) are delivered, then every answer of the `portevo` CLI (on
# hostA) and of the HTTP API (from hostA) must equal oracle_days.py over nfdump's CSV,
# as in the single-host run.  Each shard listens on its own address only.
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
  for host in a b c d br; do ip netns del "$NS-$host" 2> /dev/null; done
}
trap netns_cleanup EXIT

# A bridge in its own namespace; one veth per host into it
ip -n "$NS-br" link add br0 type bridge && ip -n "$NS-br" link set br0 up || {
  fail "cannot make the bridge"; finish; }
number=1
for host in a b c d; do
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
check "four test hosts on one bridge ($ports ports)" test "$ports" = 4

source "$(dirname "$0")/../lib/query_files.sh"
[ -x "$BIN/portevo-gateway" ] || { fail "missing $BIN/portevo-gateway (run make)"; finish; }
query_setup

DIR=$WORK/cluster
CONFIG=$DIR/portevo.cfg
mkdir -p "$DIR/logs" "$DIR/broker" "$DIR/shard-0" "$DIR/shard-1" "$DIR/spool-a" "$DIR/spool-b" \
  "$DIR/ingest-a" "$DIR/ingest-b"
BROKER=tcp://$NET.1:5570
HTTP=$NET.1:8080
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
on c shard-1 "$BIN/portevo-shard" --config "$CONFIG" --name shard-1
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

for exporter in a b; do
  eval "files=(\"\${FILES_$exporter[@]}\")"
  for file in "${files[@]}"; do
    cp -p "$file" "$DIR/spool-$exporter/.tmp" && mv "$DIR/spool-$exporter/.tmp" \
      "$DIR/spool-$exporter/$(basename "$file")"
  done
done
TOTAL=$(( ${#FILES_a[@]} + ${#FILES_b[@]} ))
done_all () {
  status "sum(p['files_done'] or 0 for p in s['ingestors']) == $TOTAL and \
all(not p['open_blocks'] for p in s['shards'])"
}
check "hostD's ingestors delivered $TOTAL files to the shards on hostB and hostC" \
  wait_for 90 done_all
check "both shards hold hosts" status "all((p['hosts'] or 0) > 0 for p in s['shards'])"

ip netns exec "$NS-a" python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$BROKER" \
  --expected "$EXPECTED" --label "4 hosts, CLI" || TEST_FAILED=1
ip netns exec "$NS-a" python3 "$LIB/api_check.py" --url "http://$HTTP" --expected "$EXPECTED" \
  --label "4 hosts, HTTP" || TEST_FAILED=1
check "the gateway is not reachable on loopback of another host" \
  test "$(ip netns exec "$NS-d" curl -s -o /dev/null -w '%{http_code}' -m 2 http://127.0.0.1:8080/health)" = 000
check "no unexpected error in the logs" test -z "$(grep -h '^E: ' "$DIR"/logs/*.log | head -n 3)"
finish
