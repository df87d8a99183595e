#!/usr/bin/env bash
# tests/system/reader_exclude_anon_test.sh - portevo-ingest --dry-run with
# --exclude-internal and --anonymise-key, on real nfcapd files.
#
# Files are made as in reader_test.sh (Debian's nfcapd fed by nf_send).  --exclude-internal
# is checked against tests/lib/oracle.py --exclude-internal (nfdump's own CSV): internal
# destinations by destination AS (16- and 32-bit, v9 and v5), by IPv4 and IPv6 prefix, and
# on an exporter without AS numbers; the peer cap applies to what is left (4096 + internal
# peers -> exactly 4096; 4095 + internal -> 4095, not capped); a host with only internal
# peers vanishes; the summary's matched= agrees; the config key does what the flag does;
# the flag without local networks is a usage error.  --anonymise-key is checked against
# tests/lib/cryptopan.py, an independent Crypto-PAn in Python: the output equals the
# plain run's, and the oracle's, with every address mapped (bulk traffic included), the
# same key as 32 raw bytes or 64 hex digits gives the same output, another key another,
# with --exclude-internal too; a missing or short key file is a usage error naming it.
# Last, `portevo up --exclude-internal --anonymise-key` writes both into its config file
# and the cluster's top list shows the pseudonym with the external peers only.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
LIB=$ROOT/tests/lib
INGEST=$BIN/portevo-ingest
RATE=(--rate 50000)
LOCAL=(--local-as 64500 --local-as 4200000001 --local-net 10.1.0.0/16 --local-net 2001:db8:1::/48)

for need in "$INGEST" "$TOOLS/nf_send"; do
  [ -x "$need" ] || { fail "missing $need (run make)"; finish; }
done
if ! python3 "$LIB/cryptopan.py" --self-test > "$WORK/cryptopan.out" 2>&1; then
  fail "cryptopan.py self-test: $(cat "$WORK/cryptopan.out")"; finish
fi

# ----------------------------------------------------------------------------------
# Input flows: block E 10:00 (exporter 1 v9 with AS, exporter 2 v5), block F 10:05
# (no AS numbers: only prefixes can tell internal destinations)
mkdir -p "$WORK/csv"
python3 - "$WORK/csv" <<'EOF'
import os, sys
out = sys.argv[1]
T0 = 1795168800000  # 2026-11-20 10:00:00 UTC
files = {}

def flow(name, src, dst, dport, src_as=64500, dst_as=65001, packets=1, nbytes=100, first=T0,
         dur=0, proto=6):
    files.setdefault(name, []).append("%s,%s,40000,%d,%d,%d,%d,%d,%d,%d,%d" % (
        src, dst, dport, proto, packets, nbytes, first, first + dur, src_as, dst_as))

def t(minute, i):
    return T0 + minute * 60000 - 90000 + (i * 7919) % 300000

ext4 = lambda i: "198.18.%d.%d" % (i >> 8, i & 255)
ext6 = lambda i: "2001:db8:ffff::%x" % i
# 10.1.0.10:22: 300 external peers, 100 internal by prefix, 50 internal by AS only
for i in range(1, 301):
    flow("e1", "10.1.0.10", ext4(i), 22, packets=2, nbytes=120, first=t(0, i), dur=i)
for i in range(1, 101):
    flow("e1", "10.1.0.10", "10.1.2.%d" % i, 22, packets=3, nbytes=130, first=t(0, i), dur=7)
for i in range(1, 51):
    flow("e1", "10.1.0.10", "203.0.113.%d" % i, 22, dst_as=64500, first=t(0, i), dur=5)
# 10.1.0.11:25: 4096 external + 20 internal (32-bit AS) -> exactly 4096, capped
for i in range(1, 4097):
    flow("e1", "10.1.0.11", ext4(i), 25, nbytes=400, first=t(0, i), dur=1000)
for i in range(1, 21):
    flow("e1", "10.1.0.11", "192.0.2.%d" % i, 25, dst_as=4200000001, first=t(0, i))
# 10.1.0.12:80: 4095 external + 10 internal (prefix) -> 4095, not capped
for i in range(1, 4096):
    flow("e1", "10.1.0.12", ext4(i), 80, packets=5, nbytes=3000, first=t(0, i), dur=250)
for i in range(1, 11):
    flow("e1", "10.1.0.12", "10.1.3.%d" % i, 80, first=t(0, i))
# 10.1.0.13:445: internal peers only -> no row with --exclude-internal
for i in range(1, 31):
    flow("e1", "10.1.0.13", "10.1.4.%d" % i, 445, first=t(0, i))
    flow("e1", "10.1.0.13", "192.0.2.%d" % i, 445, dst_as=64500, first=t(0, i))
# IPv6: 200 external, 50 internal by prefix, 20 internal by 32-bit AS
for i in range(1, 201):
    flow("e1", "2001:db8:1::10", ext6(i), 8080, nbytes=80, first=t(0, i), dur=3)
for i in range(1, 51):
    flow("e1", "2001:db8:1::10", "2001:db8:1:ffff::%x" % i, 8080, first=t(0, i))
for i in range(1, 21):
    flow("e1", "2001:db8:1::10", "2001:db8:abcd::%x" % i, 8080, dst_as=4200000001)
# Local by 32-bit source AS; one destination internal by AS, one not
flow("e1", "198.51.100.7", "192.0.2.5", 9050, src_as=4200000001, dst_as=4200000001)
flow("e1", "198.51.100.7", "192.0.2.6", 9050, src_as=4200000001, packets=9, nbytes=900)
# A foreign source to a local destination never counts
flow("e1", "203.0.113.5", "10.1.0.10", 25, src_as=64999)
# v5 exporter (16-bit AS): 30 external, 10 internal by AS
for i in range(1, 31):
    flow("e2", "10.1.0.14", ext4(i), 21, first=t(0, i), dur=i)
for i in range(1, 11):
    flow("e2", "10.1.0.14", "198.19.0.%d" % i, 21, dst_as=64500, first=t(0, i))
# Block F, no AS numbers: prefixes only
for i in range(1, 101):
    flow("f", "10.1.255.255", ext4(i), 22, first=t(5, i), dur=i)
    flow("f", "2001:db8:1::ff", ext6(i), 25, first=t(5, i), dur=i)
for i in range(1, 41):
    flow("f", "10.1.255.255", "10.1.%d.1" % i, 22, first=t(5, i))
    flow("f", "2001:db8:1::ff", "2001:db8:1:%x::1" % i, 25, first=t(5, i))
flow("f", "10.1.255.255", "10.0.255.255", 22)  # just outside 10.1.0.0/16: external
for name, lines in files.items():
    with open(os.path.join(out, name + ".csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
EOF
[ $? -eq 0 ] || { fail "generate CSV input"; finish; }

GEN=(--local-net 10.1.128.0/17 --local-net 2001:db8:1:8000::/49 --local-as 64500 --hosts 300
     --start 1795168620000 --span 300000)
make_files () {
  nfc_start "$WORK/spool" "2026-11-20 10:00" || return 1
  nfc_send "${RATE[@]}" --source-id 1 < "$WORK/csv/e1.csv" &&
  nfc_send "${RATE[@]}" --source-id 1 --generate 6000 --seed 51 "${GEN[@]}" &&
  nfc_send "${RATE[@]}" -b 127.0.0.2 --source-id 2 -5 < "$WORK/csv/e2.csv" ||
    { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_E=$NFC_FILE
  nfc_start "$WORK/spool" "2026-11-20 10:05" -z || return 1
  nfc_send "${RATE[@]}" --no-as --source-id 5 < "$WORK/csv/f.csv" &&
  nfc_send "${RATE[@]}" --no-as --source-id 5 --generate 3000 --seed 52 "${GEN[@]}" ||
    { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_F=$NFC_FILE
}
if nfc_attempts 3 make_files "$WORK/spool"; then
  pass "nfcapd wrote both files with all flows sent (nfdump -I)"
else
  fail "making nfcapd files"; finish
fi

source "$LIB/reader_check.sh"

# row FILE IP PORT: the row of IP:PORT as "peers capped" ("none" if absent)
row () {
  python3 - "$@" <<'EOF'
import ipaddress, json, sys
path, ip, port = sys.argv[1:]
for line in open(path):
    r = json.loads(line)
    if ipaddress.ip_address(r["ip"]) == ipaddress.ip_address(ip) and r["port"] == int(port):
        print(r["peers"], json.dumps(r["peers_capped"]))
        break
else:
    print("none")
EOF
}
row_is () {  # row_is "what" FILE IP PORT WANT
  local got
  got=$(row "$2" "$3" "$4")
  if [ "$got" = "$5" ]; then pass "$1"; else fail "$1: got '$got', want '$5'"; fi
}

# ----------------------------------------------------------------------------------
# --exclude-internal
against_oracle "no option: internal destinations count" "${LOCAL[@]}" -- "$FILE_E"
OUT_PLAIN_E=$LAST_OUT
row_is "plain: 10.1.0.10:22 has its 450 peers" "$OUT_PLAIN_E" 10.1.0.10 22 "450 false"
against_oracle "--exclude-internal, local AS + prefixes (v9 + v5)" --exclude-internal \
  "${LOCAL[@]}" -- "$FILE_E"
OUT_EX=$LAST_OUT
row_is "excluded: 10.1.0.10:22 keeps its 300 external peers" "$OUT_EX" 10.1.0.10 22 "300 false"
row_is "excluded: 4096 external + 20 internal (32-bit AS) -> 4096, capped" \
  "$OUT_EX" 10.1.0.11 25 "4096 true"
row_is "excluded: 4095 external + 10 internal -> 4095, not capped" \
  "$OUT_EX" 10.1.0.12 80 "4095 false"
row_is "excluded: a host with internal peers only has no row" "$OUT_EX" 10.1.0.13 445 none
row_is "excluded: IPv6 prefix and 32-bit AS" "$OUT_EX" 2001:db8:1::10 8080 "200 false"
row_is "excluded: v5 exporter, 16-bit AS" "$OUT_EX" 10.1.0.14 21 "30 false"
row_is "excluded: 32-bit local source AS, one foreign peer" "$OUT_EX" 198.51.100.7 9050 "1 false"
against_oracle "--exclude-internal, local AS only" --exclude-internal --local-as 64500 \
  --local-as 4200000001 -- "$FILE_E"
row_is "AS only: internal-by-prefix peers count" "$LAST_OUT" 10.1.0.10 22 "400 false"
against_oracle "--exclude-internal, local prefixes only" --exclude-internal \
  --local-net 10.1.0.0/16 --local-net 2001:db8:1::/48 -- "$FILE_E"
against_oracle "--exclude-internal, exporter without AS numbers" --exclude-internal \
  "${LOCAL[@]}" -- "$FILE_F"
row_is "no AS: 10.1.255.255:22 keeps 101 external peers" "$LAST_OUT" 10.1.255.255 22 "101 false"
row_is "no AS: IPv6 prefix decides" "$LAST_OUT" 2001:db8:1::ff 25 "100 false"
against_oracle "--exclude-internal, two blocks in one run" --exclude-internal "${LOCAL[@]}" -- \
  "$FILE_F" "$FILE_E"
OUT_EX_ALL=$LAST_OUT

python3 "$LIB/oracle.py" --counts --exclude-internal "${LOCAL[@]}" "$FILE_E" \
  2> "$WORK/counts" > /dev/null
want=$(sed -n 's/.* matched=//p' "$WORK/counts")
"$INGEST" --dry-run --exclude-internal "${LOCAL[@]}" "$FILE_E" > "$WORK/summary" 2>&1
check "summary: matched=$want, as the oracle counts" grep -q " matched=$want " "$WORK/summary"

cat > "$WORK/portevo.cfg" <<'EOF'
portevo
    ingestor
        local_as = "64500,4200000001"
        local_net = "10.1.0.0/16,2001:db8:1::/48"
        exclude_internal = "1"
EOF
"$INGEST" --dry-run --json --config "$WORK/portevo.cfg" "$FILE_E" > "$WORK/config.out" 2> /dev/null
check "config exclude_internal = \"1\": same output as the flag" cmp -s "$WORK/config.out" "$OUT_EX"
"$INGEST" --dry-run --json --exclude-internal "$FILE_E" > /dev/null 2> "$WORK/nolocal.err"
check "--exclude-internal without local networks: exit 2" test $? -eq 2
check "--exclude-internal without local networks: says what is missing" \
  grep -q "exclude-internal needs the local networks" "$WORK/nolocal.err"

# ----------------------------------------------------------------------------------
# --anonymise-key
KEY=$WORK/key.hex RAWKEY=$WORK/key.raw OTHER=$WORK/other.key
echo "1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a842202" > "$KEY"
python3 -c "import sys; open(sys.argv[1], 'wb').write(bytes.fromhex(open(sys.argv[2]).read()))" \
  "$RAWKEY" "$KEY"
head -c 32 /dev/urandom > "$OTHER"

# anonymised "what" KEY [options...] -- FILE...: the --anonymise-key run equals the plain
# run and the oracle, each mapped by cryptopan.py; leaves the output in $LAST_OUT.
anonymised () {
  local what=$1 key=$2; shift 2
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  CASE=$((CASE + 1))
  local base=$WORK/anon$CASE
  LAST_OUT=$base.actual
  "$INGEST" --dry-run --json "${opts[@]}" "$@" > "$base.plain" 2> /dev/null &&
    python3 "$LIB/oracle.py" "${opts[@]}" "$@" > "$base.oracle" &&
    python3 "$LIB/cryptopan.py" --key "$key" map "$base.plain" > "$base.plain.mapped" &&
    python3 "$LIB/cryptopan.py" --key "$key" map "$base.oracle" > "$base.oracle.mapped" ||
    { fail "$what: plain run, oracle or mapping failed"; return; }
  "$INGEST" --dry-run --json --anonymise-key "$key" "${opts[@]}" "$@" > "$base.actual" \
    2> "$base.err"
  local rc=$?
  [ $rc -eq 0 ] || { fail "$what: portevo-ingest exited with $rc: $(head -c 600 "$base.err")"; return; }
  if python3 "$LIB/compare.py" "$base.plain.mapped" "$base.actual" > "$base.diff1" &&
     python3 "$LIB/compare.py" "$base.oracle.mapped" "$base.actual" > "$base.diff2"; then
    pass "$what: the plain run's and the oracle's answers, mapped ($(wc -l < "$base.actual") rows)"
  else
    fail "$what"
    sed 's/^/  /' "$base.diff1" "$base.diff2" 2> /dev/null | head -40
  fi
  # No real address left: every row's address differs from the plain row it maps from
  if python3 - "$base.plain" "$base.actual" > "$base.shared" 2>&1 <<'EOF'
import json, sys
plain = {json.loads(l)["ip"] for l in open(sys.argv[1])}
anon = {json.loads(l)["ip"] for l in open(sys.argv[2])}
shared = sorted(plain & anon)
print("%d hosts plain, %d anonymised, %d under a real address: %s"
      % (len(plain), len(anon), len(shared), " ".join(shared[:8])))
sys.exit(0 if len(plain) == len(anon) and len(shared) <= len(plain) // 1000 else 1)
EOF
  then pass "$what: as many hosts, none under its real address"
  else
    # What failed, and the key (random in one case) so that the run can be repeated
    fail "$what: real addresses in the anonymised output: $(tail -n 1 "$base.shared");" \
      "key $(od -An -tx1 "$key" | tr -d ' \n')"
  fi
}
anonymised "--anonymise-key (hex key), two blocks, bulk traffic" "$KEY" "${LOCAL[@]}" -- \
  "$FILE_E" "$FILE_F"
OUT_ANON=$LAST_OUT
anonymised "--anonymise-key with --exclude-internal" "$KEY" --exclude-internal "${LOCAL[@]}" \
  -- "$FILE_E" "$FILE_F"
anonymised "--anonymise-key, every source local, IPv6 peers" "$OTHER" -- "$FILE_E"
"$INGEST" --dry-run --json --anonymise-key "$RAWKEY" "${LOCAL[@]}" "$FILE_E" "$FILE_F" \
  > "$WORK/raw.out" 2> /dev/null
check "the same key as 32 raw bytes: the same output" cmp -s "$WORK/raw.out" "$OUT_ANON"
"$INGEST" --dry-run --json --anonymise-key "$OTHER" "${LOCAL[@]}" "$FILE_E" "$FILE_F" \
  > "$WORK/other.out" 2> /dev/null
check "another key: another mapping" bash -c "! cmp -s '$WORK/other.out' '$OUT_ANON'"
expected=$(python3 "$LIB/cryptopan.py" --key "$KEY" 10.1.0.10)
check "10.1.0.10 appears as its pseudonym $expected" \
  grep -q "\"ip\":\"$expected\",\"port\":22," "$OUT_ANON"
printf 'anonymise_key = "%s"\n' "$KEY" | sed 's/^/        /' > "$WORK/keyline"
{ sed '/exclude_internal/d' "$WORK/portevo.cfg"; cat "$WORK/keyline"; } > "$WORK/anon.cfg"
"$INGEST" --dry-run --json --config "$WORK/anon.cfg" "$FILE_E" "$FILE_F" > "$WORK/cfg-anon.out" \
  2> /dev/null
check "config anonymise_key: same output as the flag" cmp -s "$WORK/cfg-anon.out" "$OUT_ANON"

head -c 31 "$RAWKEY" > "$WORK/short.key"
for bad in "$WORK/short.key" "$WORK/missing.key"; do
  "$INGEST" --dry-run --json --anonymise-key "$bad" "$FILE_E" > "$WORK/bad.out" 2> "$WORK/bad.err"
  rc=$?
  check "key $(basename "$bad"): exit 2 before reading any file" \
    test $rc -eq 2 -a ! -s "$WORK/bad.out"
  check "key $(basename "$bad"): the error names the file" grep -qF "$bad" "$WORK/bad.err"
done

# ----------------------------------------------------------------------------------
# Through `portevo up`: both options reach the ingestors (config file), the cluster's
# answers hold pseudonyms and exclude internal peers
"$BIN/portevo" up --exclude-internal --spool "$WORK/spool" --data "$WORK/nolocal" \
  > /dev/null 2> "$WORK/up-bad.err"
check "portevo up --exclude-internal without local networks: exit 2" test $? -eq 2
"$BIN/portevo" up --anonymise-key "$WORK/missing.key" "${LOCAL[@]}" --data "$WORK/nokey" \
  > /dev/null 2> "$WORK/up-nokey.err"
check "portevo up --anonymise-key missing: exit 2 naming the file" \
  grep -qF "$WORK/missing.key" "$WORK/up-nokey.err"
DATA=$WORK/data
port=$(free_port)
spawn "$BIN/portevo" up --spool "$WORK/spool" "${LOCAL[@]}" --exclude-internal \
  --anonymise-key "$KEY" --shards 2 --data "$DATA" --http "127.0.0.1:$port" > "$WORK/up.log" 2>&1
UP_PID=$SPAWNED_PID
for _ in $(seq 1 50); do [ -s "$DATA/portevo.cfg" ] && break; sleep 0.1; done
check "portevo up wrote exclude_internal = \"1\" into its config" \
  grep -q 'exclude_internal = "1"' "$DATA/portevo.cfg"
check "portevo up wrote the key's absolute path into its config" \
  grep -qF "anonymise_key = \"$KEY\"" "$DATA/portevo.cfg"
pseudonym=$(python3 "$LIB/cryptopan.py" --key "$KEY" 10.1.0.10)
for _ in $(seq 1 150); do
  "$BIN/portevo" top --date 2026-11-20 --op sum --port 22 --json --config "$DATA/portevo.cfg" \
    > "$WORK/top.json" 2> /dev/null
  grep -q "\"$pseudonym\"" "$WORK/top.json" && break
  sleep 0.2
done
if python3 - "$pseudonym" "$WORK/top.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[2]))
peers = {e["ip"]: e["score"] for p in doc["ports"] for e in p["features"]["peers"]}
ok = peers.get(sys.argv[1]) == 300 and not any(ip.startswith("10.1.") for ip in peers)
if not ok:
    print("  top peers:", peers, file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
then pass "portevo up: top shows 10.1.0.10 as $pseudonym with its 300 external peers, no real address"
else
  fail "portevo up: top is not anonymised and excluded: $(head -c 400 "$WORK/top.json")"
  tail -n 5 "$DATA"/logs/*.log
fi
check "portevo up: the ingestor logs that addresses are anonymised" \
  grep -q "addresses are anonymised (Crypto-PAn, key $KEY)" "$DATA"/logs/*.log
kill -TERM "$UP_PID" 2> /dev/null
wait "$UP_PID" 2> /dev/null
finish
