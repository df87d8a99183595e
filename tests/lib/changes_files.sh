# tests/lib/changes_files.sh - the files, the oracle and the cluster of the changes tests.
#
# Sourced after common.sh (by changes_test.sh and browser_changes_test.sh); sources
# nfcapd.sh, cluster.sh and query_files.sh (nfc_make_retry).
#
#   changes_make_files        tests/lib/changes_data.py's flows through Debian's nfcapd
#                             into $WORK/made/a (FILES), oracle_days.py over them into
#                             $EXPECTED, DAYS (ascending) and LAST; a PASS, or a FAIL and
#                             the end of the test
#   changes_start NAME [gateway options...]
#                             broker, 2 shards, ingestor "a" and a gateway on a free port
#                             (URL, GATEWAY_PID), fed with FILES until every block is final
#   http_get PATH             the body on stdout, HTTP_STATUS set

CHANGES_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$CHANGES_LIB/nfcapd.sh"
source "$CHANGES_LIB/cluster.sh"
source "$CHANGES_LIB/query_files.sh"
FILES=() DAYS=() LAST=''

http_get () {
  HTTP_STATUS=$(curl -s -o "$WORK/http.body" -w '%{http_code}' --max-time 10 "$URL$1")
  cat "$WORK/http.body"
}

changes_make_files () {
  local made=1 block csv
  python3 "$CHANGES_LIB/changes_data.py" "$WORK/csv" > "$WORK/csv.list" || made=0
  while [ $made = 1 ] && read -r _ block csv; do
    nfc_make_retry "$WORK/made/a" "$block" -z -- --rate 50000 --source-id 1 < "$csv" || made=0
    FILES+=("$NFC_FILE")
  done < "$WORK/csv.list"
  [ $made = 1 ] && python3 "$CHANGES_LIB/oracle_days.py" --local-as 64500 "${FILES[@]}" \
    > "$EXPECTED" || made=0
  if [ $made = 1 ]; then pass "nfcapd wrote ${#FILES[@]} files over 8 days; oracle computed"; else
    fail "making the nfcapd files or the oracle"; finish
  fi
  mapfile -t DAYS < <(python3 -c 'import json, sys
print("\n".join(json.load(open(sys.argv[1]))["days"]))' "$EXPECTED")
  LAST=${DAYS[-1]}
}

changes_start () {
  local name=$1; shift
  cluster_init "$name" 2 a
  cluster_start_all
  HTTP_PORT=$(free_port)
  URL=http://127.0.0.1:$HTTP_PORT
  spawn "$BIN/portevo-gateway" --config "$CL_CONFIG" --http "127.0.0.1:$HTTP_PORT" \
    --web "$ROOT/web" "$@" >> "$CL_DIR/logs/gateway.log" 2>&1
  GATEWAY_PID=$SPAWNED_PID
  if cluster_wait_up; then pass "broker, 2 shards and an ingestor are up"; else
    fail "cluster did not come up: $(cat "$CL_DIR/status.json")"; cat "$CL_DIR"/logs/*.log; finish
  fi
  for _ in $(seq 1 100); do
    http_get /health > /dev/null
    [ "$HTTP_STATUS" = 200 ] && break
    sleep 0.1
  done
  cluster_feed a "${FILES[@]}"
  if cluster_wait_done "${#FILES[@]}"; then pass "every file delivered and every block final"; else
    fail "delivery did not finish: $(cat "$CL_DIR/status.json")"; tail -n 20 "$CL_DIR"/logs/*.log
    finish
  fi
}
