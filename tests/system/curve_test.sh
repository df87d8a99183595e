#!/usr/bin/env bash
# tests/system/curve_test.sh - CURVE on every ZeroMQ socket: with keys, the same answers;
# without an allowed key, refused and logged.
#
# `portevo keygen` makes the cluster's keys (server key; shard-0, shard-1, ingestors a and
# b, gateway, portevo for the CLI; and intruder, whose public key is then taken out of
# allowed/).  A broker, two shards, two ingestors and the gateway run with
# portevo/curve/keys in the config: the query tests' nfcapd files (Debian's nfcapd) are
# delivered and every CLI and HTTP answer equals oracle_days.py over nfdump's CSV.  Then a
# shard, an ingestor and a CLI with the intruder's key, and a CLI without CURVE, are
# refused: they never register or get an answer, and the broker logs each refusal.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/query_files.sh"
[ -x "$BIN/portevo-gateway" ] || { fail "missing $BIN/portevo-gateway (run make)"; finish; }
query_setup
KEYS=$WORK/keys
"$BIN/portevo" keygen --keys "$KEYS" shard-0 shard-1 a b gateway portevo intruder \
  > "$WORK/keygen.out" 2>&1
check "portevo keygen makes the server key and 7 process keys" \
  test "$(grep -c '(new)$' "$WORK/keygen.out")" = 8
check "secret keys are readable by their owner only" \
  test "$(stat -c %a "$KEYS/shard-0.cert_secret")" = 600
rm "$KEYS/allowed/intruder.cert"

cluster_init curve 2 a b
HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
cat >> "$CL_CONFIG" <<EOF
    curve
        keys = "$KEYS"
    gateway
        http = "127.0.0.1:$HTTP_PORT"
EOF
export PORTEVO_CONFIG=$CL_CONFIG  # the CLI (and query_check.py's CLI) read the keys from it
cluster_start_all
spawn "$BIN/portevo-gateway" --config "$CL_CONFIG" >> "$CL_DIR/logs/gateway.log" 2>&1
check "with CURVE, broker, 2 shards and 2 ingestors are up" cluster_wait_up 30
check "the broker says it allowed CURVE clients" \
  grep -q "zauth: - allowed (CURVE)" "$CL_DIR/logs/broker.log"
cluster_feed a "${FILES_a[@]}"
cluster_feed b "${FILES_b[@]}"
check "every file is delivered over CURVE" \
  cluster_wait_done $(( ${#FILES_a[@]} + ${#FILES_b[@]} )) 90
python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$CL_BROKER" \
  --expected "$EXPECTED" --label "CURVE, CLI" --quick || TEST_FAILED=1
wait_for 10 curl -fsS -m 2 "$URL/health" > /dev/null
python3 "$LIB/api_check.py" --url "$URL" --expected "$EXPECTED" --label "CURVE, HTTP" --quick ||
  TEST_FAILED=1

# Refusals
denials () { grep -c "zauth: - denied (CURVE)" "$CL_DIR/logs/broker.log"; }
before=$(denials)
"$BIN/portevo" status --broker "$CL_BROKER" --config /dev/null --timeout 1500 \
  > /dev/null 2> "$WORK/plain.err"
check "a CLI without CURVE gets no answer" grep -q "no answer from $CL_BROKER" "$WORK/plain.err"

mkdir -p "$WORK/intruder-keys/allowed"
cp "$KEYS/server.cert" "$WORK/intruder-keys/"
for name in portevo shard-1 a; do
  cp "$KEYS/intruder.cert" "$WORK/intruder-keys/$name.cert"
  cp "$KEYS/intruder.cert_secret" "$WORK/intruder-keys/$name.cert_secret"
done
sed "s|keys = \"$KEYS\"|keys = \"$WORK/intruder-keys\"|" "$CL_CONFIG" > "$WORK/intruder.cfg"
"$BIN/portevo" status --config "$WORK/intruder.cfg" --timeout 1500 > /dev/null 2> "$WORK/cli.err"
check "a CLI with a key not allowed gets no answer" grep -q "no answer from" "$WORK/cli.err"
refused_cli () { [ "$(denials)" -gt "$before" ]; }
check "the broker logged the CLI's refusal" wait_for 5 refused_cli

# An ingestor with a key not allowed: it never registers
mkdir -p "$WORK/spool-x" "$WORK/state-x"
before=$(denials)
spawn "$BIN/portevo-ingest" --config "$WORK/intruder.cfg" --name a --spool "$WORK/spool-x" \
  --state "$WORK/state-x" > "$WORK/intruder-ingest.log" 2>&1
INTRUDER_INGEST=$SPAWNED_PID
refused_ingest () { [ "$(denials)" -gt "$before" ]; }
check "the broker logged the intruding ingestor's refusal" wait_for 10 refused_ingest
kill "$INTRUDER_INGEST" 2> /dev/null

# A shard with a key not allowed (the server secret it would need is not there either:
# it cannot even serve, and says so)
"$BIN/portevo-shard" --config "$WORK/intruder.cfg" --name shard-1 --data "$WORK/shard-x" \
  --endpoint "tcp://127.0.0.1:$(free_port)" > "$WORK/intruder-shard.log" 2>&1
check "a shard without the server secret refuses to start, naming the file" \
  grep -q "cannot read $WORK/intruder-keys/server.cert_secret" "$WORK/intruder-shard.log"
cp "$KEYS/server.cert_secret" "$WORK/intruder-keys/"
cp -r "$KEYS/allowed/." "$WORK/intruder-keys/allowed/"
before=$(denials)
spawn "$BIN/portevo-shard" --config "$WORK/intruder.cfg" --name shard-1 --data "$WORK/shard-x" \
  --endpoint "tcp://127.0.0.1:$(free_port)" > "$WORK/intruder-shard2.log" 2>&1
INTRUDER_SHARD=$SPAWNED_PID
refused_shard () { [ "$(denials)" -gt "$before" ]; }
check "the broker logged the intruding shard's refusal" wait_for 10 refused_shard
kill "$INTRUDER_SHARD" 2> /dev/null
check "the real shard-1 keeps its place in the map (state up)" \
  cluster_poll 5 "[p['state'] for p in s['shards']] == ['up', 'up']"
# Keys made before slot moves have no "broker" key: the cluster runs (above), and a move
# is refused with a message naming the key instead of stopping the broker
"$BIN/portevo" shard add shard-9 tcp://127.0.0.1:9 --broker "$CL_BROKER" > "$WORK/add.out" \
  2> "$WORK/add.err"
add_rc=$?
check "without a 'broker' key, portevo shard add is refused naming the key (exit $add_rc)" \
  bash -c '[ "$1" -ne 0 ] && grep -q "broker.s CURVE key" "$2" "$3"' _ "$add_rc" "$WORK/add.err" \
  "$WORK/add.out"
check "no unexpected error in the logs" test -z "$(cluster_errors)"
finish
