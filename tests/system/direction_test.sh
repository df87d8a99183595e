#!/usr/bin/env bash
# tests/system/direction_test.sh - the incoming direction (hosts of the monitored network
# as destinations on monitored ports), from real nfcapd files to the HTTP API and CLI.
#
# Flows are sent by nf_send to Debian's nfcapd (nfdump 1.7.1), which writes the files:
# a Tor relay 10.1.0.50 reached on 9001 and 9050 by many outside sources (4200 on 9050 in
# one block: past the 4096 cap), a mail server 10.1.0.25 and an IPv6 one reached on 25,
# a destination local by its AS only, flows between two local hosts (they count out for
# the source and in for the destination; with --exclude-internal in neither), outside to
# outside and ICMP flows (never), and generated background traffic.  Two days, two
# exporters for one block (its parts merge on the shards).
#
# Expected values come from tests/lib/oracle.py --direction in: nfdump's own CSV
# (`nfdump -r FILE -o csv`) keyed by destination address and port, peers the distinct
# sources.  Checked: portevo-ingest --dry-run --json --direction in against it (local AS
# + prefixes, prefixes only, --exclude-internal, no local network: every destination is
# local; --anonymise-key against tests/lib/cryptopan.py; and a file of nfdump 1.6.22, layout 1, when that nfcapd is at hand), the out
# output unchanged by the new code (against oracle.py as before), then a
# cluster (2 shards, 2 ingestors, gateway): every top/series/host answer of the in
# direction over HTTP and through `portevo --direction in` against oracle_days.py
# --direction in (api_check.py / query_check.py), the out direction's answers still
# against the out oracle, and direction= refused with 400 when it is neither out nor in.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
source "$(dirname "$0")/../lib/cluster.sh"
LIB=$ROOT/tests/lib
INGEST=$BIN/portevo-ingest
NFC_LOGDIR=$WORK
RATE=(--rate 50000)
PORTS=22,25,80,9001,9050
LOCAL=(--local-as 64500 --local-net 10.1.0.0/16 --local-net 2001:db8:1::/48)

for need in portevo portevo-broker portevo-shard portevo-ingest portevo-gateway nf_send; do
  dir=$BIN; [ "$need" = nf_send ] && dir=$TOOLS
  [ -x "$dir/$need" ] || { fail "missing $dir/$need (run make)"; finish; }
done

# ----------------------------------------------------------------------------------
# Input: CSV for nf_send (src,dst,sport,dport,proto,packets,bytes,first,last,src_as,dst_as)
mkdir -p "$WORK/csv"
python3 - "$WORK/csv" <<'EOF'
import os, sys
out = sys.argv[1]
files = {}

def flow(name, t0, src, dst, dport, src_as=65001, dst_as=64500, packets=1, nbytes=100, at=0,
         dur=0, proto=6):
    first = t0 + at
    files.setdefault(name, []).append("%s,%s,40000,%d,%d,%d,%d,%d,%d,%d,%d" % (
        src, dst, dport, proto, packets, nbytes, first, first + dur, src_as, dst_as))

ext4 = lambda i: "198.18.%d.%d" % (i >> 8, i & 255)
ext6 = lambda i: "2001:db8:ffff::%x" % i
DAY1 = 1795168800000  # 2026-11-20 10:00:00 UTC
DAY2 = DAY1 + 86400000
for name, t0, scale in (("d1a", DAY1, 1), ("d1b", DAY1, 2), ("d2", DAY2, 3)):
    at = lambda i: -90000 + (i * 7919) % 300000
    # The Tor relay: inbound 9001 from 300 * scale sources, 9050 from 4200 (day 1, a)
    for i in range(1, 300 * scale + 1):
        flow(name, t0, ext4(i), "10.1.0.50", 9001, packets=3, nbytes=900 + i, at=at(i), dur=i)
    if name == "d1a":
        for i in range(1, 4201):
            flow(name, t0, ext4(i), "10.1.0.50", 9050, nbytes=60, at=at(i), dur=10)
    # The mail server, local by prefix (dst AS 0): 40 sources, some sending twice
    for i in range(1, 41):
        flow(name, t0, ext4(1000 + i), "10.1.0.25", 25, dst_as=0, packets=10, nbytes=5000 * scale,
             at=at(i), dur=2000)
        if i % 4 == 0:
            flow(name, t0, ext4(1000 + i), "10.1.0.25", 25, dst_as=0, nbytes=77, at=at(i))
    # IPv6 mail server
    for i in range(1, 21 * scale):
        flow(name, t0, ext6(i), "2001:db8:1::25", 25, dst_as=0, nbytes=333, at=at(i), dur=5)
    # Local by destination AS only
    for i in range(1, 6):
        flow(name, t0, ext4(2000 + i), "203.0.113.80", 80, dst_as=64500, nbytes=10 * i, at=at(i))
    # Local to local: out for 10.1.0.10, in for 10.1.0.25 (not with --exclude-internal)
    for i in range(1, 11):
        flow(name, t0, "10.1.0.10", "10.1.0.25", 25, src_as=64500, dst_as=64500, nbytes=50,
             at=at(i))
        flow(name, t0, "10.1.0.%d" % (100 + i), "10.1.0.50", 9001, src_as=0, dst_as=0,
             nbytes=70, at=at(i))
    # Outbound only: 10.1.0.10 to 50 outside SSH servers
    for i in range(1, 51):
        flow(name, t0, "10.1.0.10", ext4(3000 + i), 22, src_as=64500, dst_as=65001, at=at(i))
    # Never: outside to outside, unmonitored port, ICMP to a local host
    flow(name, t0, ext4(5000), ext4(5001), 25, src_as=65001, dst_as=65002)
    flow(name, t0, ext4(5002), "10.1.0.50", 443)
    flow(name, t0, ext4(5003), "10.1.0.50", 8 * 256, proto=1)
# Exporter b's part of day 2: more sources of the mail server, so its block merges too
for i in range(1, 31):
    flow("d2b", DAY2, ext4(1020 + i), "10.1.0.25", 25, dst_as=0, nbytes=4000, at=i * 1000, dur=40)
for name, lines in files.items():
    with open(os.path.join(out, name + ".csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
EOF
[ $? -eq 0 ] || { fail "generate CSV input"; finish; }

GEN=(--local-net 10.1.128.0/17 --local-as 64500 --hosts 200 --span 300000)
make_files () {
  nfc_start "$WORK/spool-a" "2026-11-20 10:00" || return 1
  nfc_send "${RATE[@]}" --source-id 1 < "$WORK/csv/d1a.csv" &&
  nfc_send "${RATE[@]}" --source-id 1 --generate 3000 --seed 61 --start 1795168620000 \
    "${GEN[@]}" || { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_A1=$NFC_FILE
  nfc_start "$WORK/spool-b" "2026-11-20 10:00" -z || return 1
  nfc_send "${RATE[@]}" --source-id 2 < "$WORK/csv/d1b.csv" || { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_B1=$NFC_FILE
  nfc_start "$WORK/spool-a" "2026-11-21 10:00" || return 1
  nfc_send "${RATE[@]}" --source-id 1 < "$WORK/csv/d2.csv" &&
  nfc_send "${RATE[@]}" --source-id 1 --generate 3000 --seed 62 --start 1795255020000 \
    "${GEN[@]}" || { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_A2=$NFC_FILE
  nfc_start "$WORK/spool-b" "2026-11-21 10:00" || return 1
  nfc_send "${RATE[@]}" --source-id 2 < "$WORK/csv/d2b.csv" || { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_B2=$NFC_FILE
}
if nfc_attempts 3 make_files "$WORK/spool-a" "$WORK/spool-b"; then
  pass "nfcapd wrote 4 files (2 exporters, 2 days) with every flow sent"
else
  fail "making nfcapd files"; finish
fi

# ----------------------------------------------------------------------------------
# The reader: --dry-run --json --direction in against the oracle
source "$LIB/reader_check.sh"
against_oracle "in: local AS + prefixes" --direction in --ports $PORTS "${LOCAL[@]}" -- \
  "$FILE_A1" "$FILE_B1" "$FILE_A2" "$FILE_B2"
OUT_IN=$LAST_OUT
check "in: every line says \"direction\":\"in\"" \
  bash -c "! grep -v '\"direction\":\"in\"}\$' '$OUT_IN' | grep -q ."
row_is "$OUT_IN" 10.1.0.50 9050 "~4200" true &&
  pass "in: the relay's 4200 sources on 9050 pass the cap (an estimate, flagged)" ||
  fail "in: the relay's 9050 sources"
row_is "$OUT_IN" 10.1.0.25 25 41 false &&
  pass "in: the mail server's 40 outside sources + 1 local one" ||
  fail "in: the mail server's sources"
row_is "$OUT_IN" 203.0.113.80 80 5 false &&
  pass "in: a destination local by its AS only" || fail "in: local by destination AS"
check "in: a host that only sends (10.1.0.10) has no in row" \
  bash -c "! grep -q '\"ip\":\"10.1.0.10\"' '$OUT_IN'"
against_oracle "in: --exclude-internal counts outside sources only" --direction in \
  --exclude-internal --ports $PORTS "${LOCAL[@]}" -- "$FILE_A1" "$FILE_B1"
row_is "$LAST_OUT" 10.1.0.25 25 40 false &&
  pass "in, --exclude-internal: the local source 10.1.0.10 no longer counts" ||
  fail "in, --exclude-internal: 10.1.0.25"
against_oracle "in: local prefixes only (the AS-only destination drops out)" --direction in \
  --ports $PORTS --local-net 10.1.0.0/16 --local-net 2001:db8:1::/48 -- "$FILE_A1"
check "in, prefixes only: 203.0.113.80 has no row" \
  bash -c "! grep -q '\"ip\":\"203.0.113.80\"' '$LAST_OUT'"
against_oracle "in: no local network, every destination is local" --direction in \
  --ports $PORTS -- "$FILE_A1"
against_oracle "out: unchanged beside the in direction" --ports $PORTS "${LOCAL[@]}" -- \
  "$FILE_A1" "$FILE_B1" "$FILE_A2" "$FILE_B2"
check "out: no line carries a direction key" bash -c "! grep -q direction '$LAST_OUT'"
for dir in in out; do
  python3 "$LIB/oracle.py" --counts --direction $dir --ports $PORTS "${LOCAL[@]}" "$FILE_A1" \
    2> "$WORK/counts-$dir" > /dev/null
done
"$INGEST" --dry-run --json --direction in --ports $PORTS "${LOCAL[@]}" "$FILE_A1" \
  2> "$WORK/summary" > /dev/null
want_in=$(sed -n 's/.* matched=//p' "$WORK/counts-in")
want_out=$(sed -n 's/.* matched=//p' "$WORK/counts-out")
check "summary: matched=$want_out (out) and matched_in=$want_in, as the oracle counts" \
  grep -q " matched=$want_out pairs=[0-9]* matched_in=$want_in pairs_in=" "$WORK/summary"
"$INGEST" --dry-run --ports $PORTS "${LOCAL[@]}" "$FILE_A1" > "$WORK/summary-out" 2>&1
check "summary without --direction in: as it always was (no matched_in)" \
  grep -qE " matched=$want_out pairs=[0-9]+ compression=[a-z0-9]+ exporters=1 block_from=name\$" \
  "$WORK/summary-out"
"$INGEST" --dry-run --json --direction sideways "$FILE_A1" > /dev/null 2> "$WORK/bad.err"
check "--direction sideways: exit 2" test $? -eq 2
check "--direction sideways: says what is wrong" grep -q "is not out or in" "$WORK/bad.err"

# Anonymised: --anonymise-key maps the in direction's hosts (the destinations) as
# tests/lib/cryptopan.py (an independent Crypto-PAn) maps the oracle's
head -c 32 /dev/urandom > "$WORK/anon.key"
"$INGEST" --dry-run --json --direction in --anonymise-key "$WORK/anon.key" --ports $PORTS \
  "${LOCAL[@]}" "$FILE_A1" > "$WORK/anon.actual" 2> /dev/null &&
python3 "$LIB/oracle.py" --direction in --ports $PORTS "${LOCAL[@]}" "$FILE_A1" |
  python3 "$LIB/cryptopan.py" --key "$WORK/anon.key" map > "$WORK/anon.expected" ||
  fail "in, anonymised: a run failed"
if python3 "$LIB/compare.py" "$WORK/anon.expected" "$WORK/anon.actual" > "$WORK/anon.diff" &&
   ! grep -q '"ip":"10.1.0.50"' "$WORK/anon.actual"; then
  pass "in, anonymised: the oracle's rows with every host mapped by Crypto-PAn ($(wc -l < "$WORK/anon.actual") rows)"
else
  fail "in, anonymised"; head -n 20 "$WORK/anon.diff"
fi

# nfdump 1.6 (layout 1, the paper's format): the same flows written by nfcapd 1.6.22
source "$LIB/nfdump16.sh"
if nf16_fetch; then
  nf16_use
  if nfc_start "$WORK/v16" "2026-11-20 10:00" -B 8000000 &&
     nfc_send "${RATE[@]}" --source-id 1 < "$WORK/csv/d1a.csv" && nfc_stop; then
    against_oracle "in: an nfdump 1.6.22 file" --direction in --ports $PORTS "${LOCAL[@]}" -- \
      "$NFC_FILE"
  else
    [ -n "$NFC_PID" ] && nfc_stop
    fail "making an nfdump 1.6.22 file"
  fi
  nf17_use
else
  echo "SKIP: direction: nfdump 1.6.22 is not available: $NF16_WHY"
fi

# ----------------------------------------------------------------------------------
# A cluster: 2 shards, ingestors a (day 1 and 2) and b (day 1), the gateway
EXPECTED_IN=$WORK/expected-in.json
EXPECTED_OUT=$WORK/expected-out.json
python3 "$LIB/oracle_days.py" --direction in --ports $PORTS "${LOCAL[@]}" \
  "$FILE_A1" "$FILE_B1" "$FILE_A2" "$FILE_B2" > "$EXPECTED_IN" &&
python3 "$LIB/oracle_days.py" --ports $PORTS "${LOCAL[@]}" \
  "$FILE_A1" "$FILE_B1" "$FILE_A2" "$FILE_B2" > "$EXPECTED_OUT" ||
  { fail "oracle_days.py"; finish; }

cluster_init dir 2 a b
sed -i "s|^        local_as = .*|&\n        local_net = \"10.1.0.0/16,2001:db8:1::/48\"\n        ports = \"$PORTS\"|" \
  "$CL_CONFIG"
cluster_start_all
HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
spawn "$BIN/portevo-gateway" --config "$CL_CONFIG" --http "127.0.0.1:$HTTP_PORT" \
  --deadline-msecs 2000 --web "$ROOT/web" >> "$CL_DIR/logs/gateway.log" 2>&1
if cluster_wait_up; then pass "broker, 2 shards and 2 ingestors are up"; else
  fail "cluster did not come up: $(cat "$CL_DIR/status.json")"; finish
fi
cluster_feed a "$FILE_A1" "$FILE_A2" && cluster_feed b "$FILE_B1" "$FILE_B2"
if cluster_wait_done 4; then pass "every file delivered and every block final"; else
  fail "delivery did not finish: $(cat "$CL_DIR/status.json")"; tail -n 20 "$CL_DIR"/logs/*.log
  finish
fi
for _ in $(seq 1 100); do
  curl -s -o /dev/null -w '%{http_code}' "$URL/health" | grep -q 200 && break
  sleep 0.1
done

HOSTS_IN=10.1.0.50,10.1.0.25,2001:db8:1::25,203.0.113.80,10.1.0.10
python3 "$LIB/api_check.py" --url "$URL" --expected "$EXPECTED_IN" --label "HTTP, direction=in" \
  --shards 2 --hosts "$HOSTS_IN" --direction in || TEST_FAILED=1
python3 "$LIB/query_check.py" --portevo "$BIN/portevo" --broker "$CL_BROKER" --quick \
  --expected "$EXPECTED_IN" --label "CLI, --direction in" --shards 2 \
  --hosts 10.1.0.50,2001:db8:1::25 --direction in || TEST_FAILED=1
python3 "$LIB/api_check.py" --url "$URL" --expected "$EXPECTED_OUT" --label "HTTP, out" \
  --shards 2 --hosts 10.1.0.10,10.1.0.50 --quick || TEST_FAILED=1
python3 "$LIB/api_check.py" --url "$URL" --expected "$EXPECTED_OUT" \
  --label "HTTP, direction=out" --shards 2 --hosts 10.1.0.10 --quick --direction out ||
  TEST_FAILED=1

# The relay is first of the incoming 9001 list by peers and absent from the outgoing one
curl -s "$URL/api/top?date=2026-11-20&op=sum&port=9001&direction=in" > "$WORK/top-in.json"
check "top in 9001: the relay 10.1.0.50 first by peers" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["ports"][0]["features"]["peers"][0]["ip"] == "10.1.0.50" else 1)' "$WORK/top-in.json"
curl -s "$URL/api/top?date=2026-11-20&op=sum&port=9001" > "$WORK/top-out.json"
check "top out 9001: the relay, which only receives there, is absent" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["ports"] and "10.1.0.50" not in json.dumps(d) else 1)' "$WORK/top-out.json"
curl -s "$URL/api/series?host=10.1.0.50&port=9001&feature=peers&op=sum&direction=in&format=csv&from=2026-11-20&to=2026-11-21" \
  > "$WORK/series.csv"
want=$(python3 -c '
import json, sys
points = json.load(open(sys.argv[1]))["series"]["10.1.0.50"]["peers"]["sum"]["9001"]
print("".join("9001,%s,%d,false\n" % (day, score) for day, score, _ in points), end="")' \
  "$EXPECTED_IN")
check "series CSV direction=in: the oracle's points" test "$(tail -n +2 "$WORK/series.csv")" = "$want"

for bad in "direction=IN" "direction=" "direction=both" "direction=in&direction=out"; do
  status=$(curl -s -o "$WORK/bad.json" -w '%{http_code}' "$URL/api/top?date=2026-11-20&op=sum&$bad")
  if [ "$status" = 400 ] && grep -q "direction" "$WORK/bad.json"; then
    pass "/api/top?...&$bad: 400 naming direction"
  else
    fail "/api/top?...&$bad: HTTP $status $(cat "$WORK/bad.json")"
  fi
done
status=$(curl -s -o "$WORK/bad.json" -w '%{http_code}' "$URL/api/host?ip=10.1.0.50&direction=x")
check "/api/host direction=x: 400" test "$status" = 400
"$BIN/portevo" top --date 2026-11-20 --op sum --direction x --broker "$CL_BROKER" \
  > /dev/null 2> "$WORK/cli.err"
check "portevo top --direction x: exit 2" test $? -eq 2

errors=$(cluster_errors)
check "no process logged an error" test -z "$errors"
finish
