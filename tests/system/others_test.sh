#!/usr/bin/env bash
# tests/system/others_test.sh - the traffic to the ports that are not monitored, from
# nfcapd files to the HTTP API, against nfdump's own output.
#
# Makes real nfcapd files with Debian's nfcapd (two exporters, three blocks over two days:
# tests/lib/others_data.py), then:
#   - `portevo-ingest --dry-run --others-json` prints, per (block, host), the totals and
#     the 16 ports of most bytes that oracle_others.py computes from `nfdump -o csv`;
#   - the pairs of `--json` are the same with and without the other ports (--no-others);
#   - a cluster (broker, two shards, two ingestors, gateway) answers /api/others per host
#     and day as oracle_others.py says (others_check.py), [] for a host with monitored
#     traffic only and for a foreign source; bad parameters get 400 naming them;
#   - the host page in Debian's chromium shows the same per day (others_test.mjs);
#   - no E: line in any log.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/query_files.sh"
LIB=$ROOT/tests/lib
NFC_LOGDIR=$WORK

for need in portevo portevo-broker portevo-shard portevo-ingest portevo-gateway nf_send; do
  dir=$BIN; [ "$need" = nf_send ] && dir=$TOOLS
  [ -x "$dir/$need" ] || { fail "missing $dir/$need (run make)"; finish; }
done

# ----------------------------------------------------------------------------------
FILES_a=() FILES_b=()
made=1
python3 "$LIB/others_data.py" "$WORK/csv" > "$WORK/csv.list" || made=0
while [ $made = 1 ] && read -r exporter block csv; do
  if [ "$exporter" = a ]; then
    nfc_make_retry "$WORK/made/a" "$block" -z -- --rate 50000 --source-id 1 < "$csv" || made=0
    FILES_a+=("$NFC_FILE")
  else
    nfc_make_retry "$WORK/made/b" "$block" -y -- --rate 50000 -b 127.0.0.2 --source-id 2 \
      < "$csv" || made=0
    FILES_b+=("$NFC_FILE")
  fi
done < "$WORK/csv.list"
ALL_FILES=("${FILES_a[@]}" "${FILES_b[@]}")
if [ $made = 1 ] &&
  python3 "$LIB/oracle_others.py" --local-as 64500 --blocks "${ALL_FILES[@]}" > "$WORK/blocks.expected" &&
  python3 "$LIB/oracle_others.py" --local-as 64500 "${ALL_FILES[@]}" > "$WORK/days.expected"; then
  pass "nfcapd wrote ${#FILES_a[@]} + ${#FILES_b[@]} files of two exporters; oracle computed"
else
  fail "making the nfcapd files or the oracle"; finish
fi

# ----------------------------------------------------------------------------------
# The reader: per (block, host) lines against the oracle
"$BIN/portevo-ingest" --dry-run --others-json --local-as 64500 "${ALL_FILES[@]}" \
  > "$WORK/blocks.actual" 2> "$WORK/dryrun.err"
if diff "$WORK/blocks.expected" "$WORK/blocks.actual" > "$WORK/blocks.diff"; then
  pass "--dry-run --others-json: $(wc -l < "$WORK/blocks.expected") (block, host) lines as nfdump says"
else
  fail "--dry-run --others-json differs from the oracle:"; head -n 20 "$WORK/blocks.diff"
fi
check "the oracle has a truncated host, an IPv6 host and a top-5 cut" \
  grep -q '"truncated":true' "$WORK/blocks.expected"

# Many hosts (nf_send's generator: 3,000 local hosts, IPv4 and IPv6, other ports among
# ten services and random ones), so that the ingestor's tables grow; every host stays
# under the 256 ports it counts a block, so every line must equal the oracle's.
GEN_BLOCK=$(python3 -c 'import time; t = int(time.time()) // 86400 * 86400 - 3 * 86400 + 11 * 3600; print(time.strftime("%Y%m%d%H%M", time.gmtime(t)))')
GEN_START=$(( $(nfc_block_epoch "$GEN_BLOCK") * 1000 - 60000 ))
if nfc_make_retry "$WORK/made/g" "$GEN_BLOCK" -y -- --generate 20000 --seed 11 --rate 40000 \
     --start "$GEN_START" < /dev/null; then
  GEN_FILE=$NFC_FILE
  python3 "$LIB/oracle_others.py" --local-as 64500 --blocks "$GEN_FILE" > "$WORK/gen.expected"
  "$BIN/portevo-ingest" --dry-run --others-json --local-as 64500 "$GEN_FILE" > "$WORK/gen.actual" 2> /dev/null
  if [ -s "$WORK/gen.expected" ] && cmp -s "$WORK/gen.expected" "$WORK/gen.actual"; then
    pass "--dry-run --others-json of a generated file: $(wc -l < "$WORK/gen.expected") hosts as nfdump says"
  else
    fail "--dry-run --others-json of a generated file differs from the oracle"
    diff "$WORK/gen.expected" "$WORK/gen.actual" | head -n 6 | cut -c1-300
  fi
else
  fail "nfcapd did not write the generated file"
fi
"$BIN/portevo-ingest" --dry-run --json --local-as 64500 "${ALL_FILES[@]}" > "$WORK/pairs.with" 2> /dev/null
"$BIN/portevo-ingest" --dry-run --json --no-others --local-as 64500 "${ALL_FILES[@]}" \
  > "$WORK/pairs.without" 2> /dev/null
check "--json pairs are the same with and without the other ports" \
  cmp -s "$WORK/pairs.with" "$WORK/pairs.without"
check "--json alone prints no others line" bash -c "! grep -q '\"flows\"' '$WORK/pairs.with'"
python3 "$LIB/oracle.py" --local-as 64500 "${ALL_FILES[@]}" > "$WORK/pairs.expected"
check "--json pairs still match oracle.py" python3 "$LIB/compare.py" "$WORK/pairs.expected" "$WORK/pairs.with"

# ----------------------------------------------------------------------------------
cluster_init others 2 a b
cluster_start_all
HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
spawn "$BIN/portevo-gateway" --config "$CL_CONFIG" --http "127.0.0.1:$HTTP_PORT" \
  --web "$ROOT/web" >> "$CL_DIR/logs/gateway.log" 2>&1
if cluster_wait_up; then pass "broker, 2 shards and 2 ingestors are up"; else
  fail "cluster did not come up"; cat "$CL_DIR"/logs/*.log; finish
fi
wait_for 10 curl -sf -o /dev/null "$URL/health" || fail "gateway /health"
cluster_feed a "${FILES_a[@]}" && cluster_feed b "${FILES_b[@]}"
if cluster_wait_done "${#ALL_FILES[@]}" 60; then pass "every file delivered and every block final"; else
  fail "delivery did not finish: $(cat "$CL_DIR/status.json" 2>/dev/null)"; tail -n 20 "$CL_DIR"/logs/*.log
  finish
fi

FROM=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(min(day for h in d.values() for day in h))' "$WORK/days.expected")
TO=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(max(day for h in d.values() for day in h))' "$WORK/days.expected")
python3 "$LIB/others_check.py" --url "$URL" --expected "$WORK/days.expected" --from "$FROM" \
  --to "$TO" --empty 10.2.0.2 --empty 203.0.113.9 || TEST_FAILED=1

# A range of one day holds that day only
body=$(curl -s "$URL/api/others?ip=10.2.0.1&from=$TO&to=$TO")
check "/api/others of one day lists that day only" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if [x["date"] for x in d["days"]] == [sys.argv[2]] else 1)' "$body" "$TO"

# Bad parameters: 400 naming the parameter
bad_request () {
  local query=$1 needle=$2 status
  status=$(curl -s -o "$WORK/bad.body" -w '%{http_code}' "$URL/api/others?$query")
  [ "$status" = 400 ] && grep -q "$needle" "$WORK/bad.body"
}
check "400 for a missing ip" bad_request "from=$FROM" "missing parameter 'ip'"
check "400 for a bad ip" bad_request "ip=10.2.0" "ip: '10.2.0' is not"
check "400 for from after to" bad_request "ip=10.2.0.1&from=$TO&to=$FROM" "from: "
check "400 for an unknown parameter" bad_request "ip=10.2.0.1&port=25" "unknown parameter 'port'"
check "400 for a range longer than the retention" bad_request "ip=10.2.0.1&from=2000-01-01&to=$TO" "retention"

# ----------------------------------------------------------------------------------
# The host page in Debian's chromium (tests/browser/others_test.mjs)
if browser_ready; then
  timeout 300 node "$ROOT/tests/browser/others_test.mjs" --url "$URL/" --expect "$WORK/days.expected" \
    --from "$FROM" --to "$TO" --empty 10.2.0.2 --shots "$ROOT/build/test-out/screenshots" \
    > "$WORK/browser.log" 2>&1 || TEST_FAILED=1
  cat "$WORK/browser.log"
  grep -q '^PASS: ' "$WORK/browser.log" || fail "others_test.mjs ran no check"
fi

errors=$(cluster_errors)
if [ -z "$errors" ]; then pass "no E: line in any log"; else fail "E: lines: $errors"; fi
finish
