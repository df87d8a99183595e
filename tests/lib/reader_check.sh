# tests/lib/reader_check.sh - sourced by the reader system tests after common.sh, with
# INGEST (portevo-ingest under test) and LIB set: compare `portevo-ingest --dry-run
# --json` with tests/lib/oracle.py (nfdump's own CSV) and look at single rows.
CASE=0

# against_oracle "what" [options...] -- FILE...: portevo-ingest and the oracle, compared;
# leaves the output in $LAST_OUT.
against_oracle () {
  local what=$1; shift
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  CASE=$((CASE + 1))
  local exp=$WORK/case$CASE.expected act=$WORK/case$CASE.actual err=$WORK/case$CASE.stderr
  LAST_OUT=$act
  if ! python3 "$LIB/oracle.py" "${opts[@]}" "$@" > "$exp"; then
    fail "$what: oracle failed"; return
  fi
  "$INGEST" --dry-run --json "${opts[@]}" "$@" > "$act" 2> "$err"
  local rc=$?
  if [ $rc -ne 0 ]; then
    fail "$what: portevo-ingest exited with $rc: $(head -c 600 "$err")"; return
  fi
  if [ ! -s "$exp" ]; then
    fail "$what: the oracle found no rows (a test bug)"; return
  fi
  if python3 "$LIB/compare.py" "$exp" "$act" > "$WORK/case$CASE.diff"; then
    pass "$what ($(wc -l < "$exp") rows)"
  else
    fail "$what"
    echo "  command: $INGEST --dry-run --json ${opts[*]} $*"
    sed 's/^/  /' "$WORK/case$CASE.diff" | head -n 40
  fi
}

# row_is FILE IP PORT PEERS CAPPED (PEERS "~N": within 5 %)
row_is () {
  python3 - "$@" <<'EOF'
import ipaddress, json, sys
path, ip, port, peers, capped = sys.argv[1:]
for line in open(path):
    row = json.loads(line)
    if ipaddress.ip_address(row["ip"]) == ipaddress.ip_address(ip) and row["port"] == int(port):
        ok = json.dumps(row["peers_capped"]) == capped
        if peers.startswith("~"):
            ok = ok and abs(row["peers"] - int(peers[1:])) <= 0.05 * int(peers[1:])
        else:
            ok = ok and row["peers"] == int(peers)
        if not ok:
            print("  got", line.strip(), file=sys.stderr)
        sys.exit(0 if ok else 1)
print("  no row for %s port %s" % (ip, port), file=sys.stderr)
sys.exit(1)
EOF
}
