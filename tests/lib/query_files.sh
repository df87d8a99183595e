# tests/lib/query_files.sh - the nfcapd files and expected answers of the query tests.
#
# Sourced after common.sh; sources nfcapd.sh and cluster.sh.  query_setup checks the
# binaries and makes the files (a FAIL and the end of the test if either fails), setting
# LIB, PORTEVO and NFC_LOGDIR.  query_make_files writes the flows of
# query_data.py through Debian's nfcapd (exporter a: NetFlow v9, LZO blocks; exporter b:
# another source address and id, LZ4 blocks) into $WORK/made/{a,b}, sets the arrays
# FILES_a and FILES_b (one file per block, in block order) and computes the expected
# answers with oracle_days.py into $EXPECTED.  Returns 1 (said on stderr) on failure.
# QUERY_SHIFT_DAYS=N moves every block N days back (an old spool).  query_make_late
# then makes the files of one more block of the first day (query_data.py --late) into
# the same directories, sets LATE_a and LATE_b (one file each) and computes the expected
# answers over every file into $EXPECTED_LATE.

QUERY_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$QUERY_LIB/nfcapd.sh"
source "$QUERY_LIB/cluster.sh"
LIB=$QUERY_LIB
PORTEVO=$BIN/portevo
NFC_LOGDIR=$WORK
EXPECTED=$WORK/expected.json
EXPECTED_LATE=$WORK/expected-late.json
FILES_a=() FILES_b=() LATE_a=() LATE_b=()

# nfc_make_retry DIR BLOCK ARGS... < CSV: nfc_make, tried again (after removing what
# the failed attempt left) when nfcapd lost packets on a busy machine.
nfc_make_retry () {
  local dir=$1 block=$2 csv attempt; shift 2
  csv=$(mktemp "$WORK/csv.XXXXXX") && cat > "$csv"
  for attempt in 1 2 3; do
    nfc_make "$dir" "$block" "$@" < "$csv" && { rm -f "$csv"; return 0; }
    echo "nfc_make_retry: attempt $attempt for $dir $block failed" >&2
    rm -f "$dir/nfcapd.$block" "$dir"/nfcapd.current.*
  done
  rm -f "$csv"
  return 1
}

# query_make_nfcapd FILES|LATE [query_data.py options]: make the files query_data.py
# lists, appending them to the arrays FILES_a and FILES_b (or LATE_a and LATE_b).
query_make_nfcapd () {
  local into=$1 exporter block csv list; shift
  list=$(mktemp "$WORK/csv-list.XXXXXX")
  python3 "$QUERY_LIB/query_data.py" "$WORK/csv" ${QUERY_SHIFT_DAYS:+--shift-days "$QUERY_SHIFT_DAYS"} \
    "$@" > "$list" || return 1
  while read -r exporter block csv; do
    if [ "$exporter" = a ]; then
      nfc_make_retry "$WORK/made/a" "$block" -z -- --rate 50000 --source-id 1 < "$csv" ||
        return 1
    else
      nfc_make_retry "$WORK/made/b" "$block" -y -- --rate 50000 -b 127.0.0.2 --source-id 2 \
        < "$csv" || return 1
    fi
    eval "${into}_$exporter+=(\"\$NFC_FILE\")"
  done < "$list"
}

query_make_files () {
  query_make_nfcapd FILES || return 1
  python3 "$QUERY_LIB/oracle_days.py" --local-as "${CL_LOCAL_AS:-64500}" \
    "${FILES_a[@]}" "${FILES_b[@]}" > "$EXPECTED" || return 1
}

query_make_late () {
  query_make_nfcapd LATE --late || return 1
  python3 "$QUERY_LIB/oracle_days.py" --local-as "${CL_LOCAL_AS:-64500}" \
    "${FILES_a[@]}" "${FILES_b[@]}" "${LATE_a[@]}" "${LATE_b[@]}" > "$EXPECTED_LATE" || return 1
}

query_setup () {
  local need dir
  for need in portevo portevo-broker portevo-shard portevo-ingest nf_send; do
    dir=$BIN; [ "$need" = nf_send ] && dir=$TOOLS
    [ -x "$dir/$need" ] || { fail "missing $dir/$need (run make)"; finish; }
  done
  if query_make_files; then
    pass "nfcapd wrote ${#FILES_a[@]} + ${#FILES_b[@]} files of two exporters; oracle computed"
  else
    fail "making the nfcapd files or the oracle"; finish
  fi
}

# The hosts whose series the tests compare: twins (ties), IPv6, hosts seen by one
# exporter or in one block only, and the SSH scanner past the peer cap.
QUERY_SCANNER=10.1.0.222
QUERY_HOSTS=10.1.0.1,10.1.0.5,10.1.0.25,10.1.0.17,2001:db8:1::2,2001:db8:1::5,10.9.9.9,$QUERY_SCANNER
