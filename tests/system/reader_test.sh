#!/usr/bin/env bash
# tests/system/reader_test.sh - portevo-ingest --dry-run against real nfcapd files.
#
# Makes nfcapd files the way production does (Debian's nfcapd 1.7.1 fed by nf_send over
# UDP, see tests/lib/nfcapd.sh) and checks `portevo-ingest --dry-run --json` against
# tests/lib/oracle.py, which computes the same aggregates from `nfdump -o csv` on its own.
# Covered: NetFlow v5 and v9 (msec and sysUptime times, reverse counters), IPv4 and IPv6,
# peers above, at and just below the 4096 cap (also when the cap is reached only by
# uniting exporters or files), flows that must not match (foreign AS or prefix, other port,
# ICMP/ICMPv6 whose type/code reads as port 22 or 25), three exporters in one file, two
# spool directories (one with -S 1) holding the same block, --local-as / --local-net /
# both / neither, --ports, --tz, exporters without AS numbers, every block compression
# (none, LZO, LZ4, BZ2, and ZSTD when $TOOLS/nf_zstd exists) giving identical output, the
# per-file summary line (flows=, exporters=, compression=), a missing file among good ones
# and a usage error.  Runs in well under two minutes, also with sanitized binaries.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
LIB=$ROOT/tests/lib
INGEST=$BIN/portevo-ingest
RATE=(--rate 50000)
LOCAL_AS=(--local-as 64500 --local-as 4200000001)
LOCAL_NET=(--local-net 10.1.0.0/16 --local-net 2001:db8:1::/48)

for need in "$INGEST" "$TOOLS/nf_send"; do
  [ -x "$need" ] || { fail "missing $need (run make)"; finish; }
done

# ----------------------------------------------------------------------------------
# Input flows (CSV for nf_send), deterministic.  Blocks: A 10:00 (3 exporters), B 10:05
# (v5 only), C 10:10 (two spools), D 10:15 (no AS numbers).  Times are msecs (UTC).
mkdir -p "$WORK/csv"
python3 "$LIB/reader_flows.py" "$WORK/csv"
[ $? -eq 0 ] || { fail "generate CSV input"; finish; }

# Bulk traffic from nf_send's generator, in sub-prefixes that keep clear of the hosts above
GEN=(--local-net 10.1.128.0/17 --local-net 2001:db8:1:8000::/49 --local-as 64500 --hosts 300
     --start 1795168620000 --span 300000)

# ----------------------------------------------------------------------------------
# Make the files
make_files () {
  nfc_start "$WORK/spoolA" "2026-11-20 10:00" || return 1
  nfc_send "${RATE[@]}" --source-id 1 --out-counters < "$WORK/csv/a1.csv" &&
  nfc_send "${RATE[@]}" --source-id 1 --out-counters --generate 4000 --seed 11 "${GEN[@]}" &&
  nfc_send "${RATE[@]}" -b 127.0.0.2 --source-id 2 --uptime-times < "$WORK/csv/a2.csv" &&
  nfc_send "${RATE[@]}" -b 127.0.0.2 --source-id 2 --uptime-times --generate 4000 --seed 12 \
    "${GEN[@]}" &&
  nfc_send "${RATE[@]}" -b 127.0.0.3 --source-id 3 -5 < "$WORK/csv/a3.csv" &&
  nfc_send "${RATE[@]}" -b 127.0.0.3 --source-id 3 -5 --generate 2000 --seed 13 "${GEN[@]}" ||
    { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_A=$NFC_FILE

  nfc_start "$WORK/spoolA" "2026-11-20 10:05" -j || return 1
  nfc_send "${RATE[@]}" -5 --source-id 4 < "$WORK/csv/b.csv" &&
  nfc_send "${RATE[@]}" -5 --source-id 4 --generate 3000 --seed 21 "${GEN[@]}" ||
    { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_B=$NFC_FILE

  nfc_start "$WORK/spool1" "2026-11-20 10:10" -z || return 1
  nfc_send "${RATE[@]}" --source-id 10 < "$WORK/csv/cx.csv" &&
  nfc_send "${RATE[@]}" --source-id 10 --generate 3000 --seed 31 "${GEN[@]}" ||
    { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_CX=$NFC_FILE

  nfc_start "$WORK/spool2" "2026-11-20 10:10" -S 1 -y || return 1
  nfc_send "${RATE[@]}" -b 127.0.0.2 --source-id 11 < "$WORK/csv/cy.csv" &&
  nfc_send "${RATE[@]}" -b 127.0.0.2 --source-id 11 --generate 3000 --seed 32 "${GEN[@]}" ||
    { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_CY=$NFC_FILE

  nfc_start "$WORK/spoolD" "2026-11-20 10:15" || return 1
  nfc_send "${RATE[@]}" --no-as --source-id 5 < "$WORK/csv/d.csv" &&
  nfc_send "${RATE[@]}" --no-as --source-id 5 --generate 3000 --seed 41 "${GEN[@]}" ||
    { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE_D=$NFC_FILE
}
if nfc_attempts 3 make_files "$WORK/spoolA" "$WORK/spool1" "$WORK/spool2" "$WORK/spoolD"; then
  pass "nfcapd wrote every file with all flows sent (nfdump -I)"
else
  fail "making nfcapd files"; finish
fi
check "nfcapd -S 1 put the file into YYYY/MM/DD" \
  test "$FILE_CY" = "$WORK/spool2/2026/11/20/nfcapd.202611201010"

# ----------------------------------------------------------------------------------
# Helpers
source "$LIB/reader_check.sh"


# ----------------------------------------------------------------------------------
# Block A: three exporters (v9 msec + reverse counters, v9 sysUptime, v5) in one file
against_oracle "v9+v5 file, 3 exporters, --local-as" "${LOCAL_AS[@]}" -- "$FILE_A"
OUT_A=$LAST_OUT
check "peers 5000 over two exporters: estimate, capped" row_is "$OUT_A" 10.1.0.10 22 "~5000" true
check "peers exactly 4096 (two exporters, overlapping): 4096, capped" \
  row_is "$OUT_A" 10.1.0.11 25 4096 true
check "peers 4095 (v9 + v5 exporters): 4095, not capped" row_is "$OUT_A" 10.1.0.12 80 4095 false
check "IPv6 peers 4097: estimate, capped" row_is "$OUT_A" 2001:db8:1::abcd 8080 "~4097" true
check "IPv6 peers exactly 4096: capped" row_is "$OUT_A" 2001:db8:1:0:1::1 445 4096 true
check "ICMP type 0 code 22/25 and foreign sources do not match" \
  bash -c "! grep -E '\"ip\":\"(10\.1\.0\.2[012]|2001:db8:1::22|203\.0\.113\.5|2001:db8:2::5)\"' '$OUT_A'"
check "32-bit local AS 4200000001 matches" grep -q '"ip":"198.51.100.7","port":9050' "$OUT_A"
against_oracle "same file, --local-net IPv4 + IPv6" "${LOCAL_NET[@]}" -- "$FILE_A"
against_oracle "same file, --local-as and --local-net" --local-as 64500 \
  --local-net 2001:db8:1::/48 -- "$FILE_A"
against_oracle "same file, every source local, --ports 22,25,8080-8081" \
  --ports 22,25,8080-8081 -- "$FILE_A"

# --tz: the same flows in a file named by a Zurich clock (11:00 CET = 10:00Z)
mkdir -p "$WORK/zurich" && cp "$FILE_A" "$WORK/zurich/nfcapd.202611201100"
"$INGEST" --dry-run --json --tz Europe/Zurich "${LOCAL_AS[@]}" "$WORK/zurich/nfcapd.202611201100" \
  > "$WORK/zurich.out" 2> /dev/null
check "--tz Europe/Zurich: nfcapd.202611201100 is block 10:00Z, same output" \
  cmp -s "$WORK/zurich.out" "$OUT_A"

# Block B: NetFlow v5 only (nfcapd -j, BZ2)
against_oracle "NetFlow v5 file" "${LOCAL_AS[@]}" -- "$FILE_B"

# Block C: two spools of the same block merge (sums add, peer sets unite)
against_oracle "two spools, same block, merged" "${LOCAL_AS[@]}" -- "$FILE_CX" "$FILE_CY"
OUT_C=$LAST_OUT
check "merge: peers 3000 + 3000 -> 5000, capped" row_is "$OUT_C" 10.1.0.30 22 "~5000" true
check "merge: peers 3000 + 3000 -> exactly 4096, capped" row_is "$OUT_C" 10.1.0.31 25 4096 true
check "merge: IPv6 peers 2000 + 2001 -> 3500, not capped" \
  row_is "$OUT_C" 2001:db8:1::31 80 3500 false
against_oracle "each spool alone" "${LOCAL_AS[@]}" -- "$FILE_CY"

# Block D: no AS numbers at all
against_oracle "exporter without AS, --local-net IPv4 + IPv6" "${LOCAL_NET[@]}" -- "$FILE_D"
check "without AS, prefix boundaries hold" row_is "$LAST_OUT" 10.1.255.255 22 200 false
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$FILE_D" > "$WORK/noas.out" 2> /dev/null
check "exporter without AS, --local-as only: nothing matches" test ! -s "$WORK/noas.out"

# Every block at once, out of order on the command line
against_oracle "four blocks, five files in one run" "${LOCAL_AS[@]}" -- \
  "$FILE_D" "$FILE_CY" "$FILE_A" "$FILE_B" "$FILE_CX"
OUT_ALL=$LAST_OUT

# ----------------------------------------------------------------------------------
# Compression: the same flows with every codec give the same output
CODECS=(none lzo lz4 bz2)
if [ -x "$TOOLS/nf_zstd" ]; then CODECS+=(zstd); else echo "note: no $TOOLS/nf_zstd, ZSTD skipped"; fi
for codec in "${CODECS[@]}"; do
  copy=$WORK/codec-$codec/nfcapd.202611201000
  if ! nfc_recompress "$FILE_A" "$copy" "$codec" 2> "$WORK/recompress-$codec.err"; then
    fail "recompress block A with $codec: $(cat "$WORK/recompress-$codec.err")"; continue
  fi
  "$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$copy" > "$WORK/codec-$codec.out" \
    2> "$WORK/codec-$codec.err"
  rc=$?
  if [ $rc -eq 0 ] && cmp -s "$WORK/codec-$codec.out" "$OUT_A"; then
    pass "compression $codec: same output as the nfcapd file"
  else
    fail "compression $codec: exit $rc, output differs: $(head -c 300 "$WORK/codec-$codec.err")"
    python3 "$LIB/compare.py" "$OUT_A" "$WORK/codec-$codec.out" | sed 's/^/  /'
  fi
  line=$("$INGEST" --dry-run "${LOCAL_AS[@]}" "$copy" 2> /dev/null)
  check "compression $codec: summary says compression=$codec" \
    grep -q " compression=$codec\( \|$\)" <<< "$line"
done

# ----------------------------------------------------------------------------------
# Summary lines: one per file, flows= as nfdump counts them
"$INGEST" --dry-run "${LOCAL_AS[@]}" "$FILE_A" "$FILE_B" "$FILE_CX" "$FILE_CY" "$FILE_D" \
  > "$WORK/summary.out" 2> "$WORK/summary.err"
rc=$?
check "summary run exits 0" test $rc -eq 0
check "summary: one line per file" test "$(wc -l < "$WORK/summary.out")" -eq 5
for f in "$FILE_A" "$FILE_B" "$FILE_CX" "$FILE_CY" "$FILE_D"; do
  line=$(grep -F "$f " "$WORK/summary.out")
  flows=$(nfc_flows "$f") exporters=$(nfc_exporters "$f") comp=$(nfc_compression "$f")
  block=$(basename "$f" | sed -E 's/nfcapd\.(....)(..)(..)(..)(..)/\1-\2-\3T\4:\5:00Z/')
  if grep -qE "^$f block=$block flows=$flows matched=[0-9]+ pairs=[0-9]+ compression=$comp exporters=$exporters block_from=name\$" <<< "$line"; then
    pass "summary of $(basename "$(dirname "$f")")/$(basename "$f"): flows=$flows exporters=$exporters compression=$comp"
  else
    fail "summary of $f: want block=$block flows=$flows compression=$comp exporters=$exporters, got '$line'"
  fi
done
# matched= agrees with the oracle's count of matching flows
python3 "$LIB/oracle.py" --counts "${LOCAL_AS[@]}" "$FILE_A" 2> "$WORK/oracle-counts" > /dev/null
want=$(sed -n 's/.* matched=//p' "$WORK/oracle-counts")
check "summary: matched=$want for block A" grep -q "^$FILE_A .* matched=$want " "$WORK/summary.out"
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$FILE_A" > /dev/null 2> "$WORK/json.err"
check "--json: the summary lines go to stderr" grep -q "^$FILE_A block=" "$WORK/json.err"

# ----------------------------------------------------------------------------------
# A missing file among good ones: error naming it, exit 1, the good files still done
missing=$WORK/nowhere/nfcapd.202611201005
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$FILE_D" "$FILE_CY" "$missing" "$FILE_A" "$FILE_B" \
  "$FILE_CX" > "$WORK/missing.out" 2> "$WORK/missing.err"
rc=$?
check "missing file: exit code 1" test $rc -eq 1
check "missing file: an error line names it" grep -qF "$missing" "$WORK/missing.err"
if grep -qv '^{' "$WORK/missing.out"; then
  fail "missing file: stdout holds only JSON rows; it also has: $(grep -v '^{' "$WORK/missing.out" | head -c 300)"
else
  pass "missing file: stdout holds only JSON rows"
fi
check "missing file: the good files' output is complete" \
  cmp -s <(grep '^{' "$WORK/missing.out") "$OUT_ALL"

# ----------------------------------------------------------------------------------
# Files not named nfcapd.YYYYMMDDhhmm (a copy, a renamed file, nfcapd.current.*): the
# block comes from the file's header (its creation time, floored to 5 minutes), or from
# --block-time; the rows are the same as under the real name.
block_a=$(basename "$FILE_A" | sed 's/nfcapd\.\(....\)\(..\)\(..\)\(..\)\(..\)/\1-\2-\3T\4:\5:00Z/')
for alias in x.nf nfcapd.current.4242; do
  cp "$FILE_A" "$WORK/$alias"
  "$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$WORK/$alias" > "$WORK/alias.out" 2> "$WORK/alias.err"
  check "renamed to $alias: exit 0" test $? -eq 0
  check "renamed to $alias: the same rows as under its nfcapd name" cmp -s "$WORK/alias.out" "$OUT_A"
  check "renamed to $alias: the summary says block $block_a came from the header" \
    grep -q "^$WORK/$alias block=$block_a .* block_from=header$" "$WORK/alias.err"
  check "renamed to $alias: a notice says where the block came from" \
    grep -q "not named nfcapd.YYYYMMDDhhmm: block $block_a taken from the file's creation time" \
    "$WORK/alias.err"
done
# --block-time sets the block (the rows are those of that block)
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" --block-time 2026-01-02T03:05Z "$WORK/x.nf" \
  > "$WORK/given.out" 2> "$WORK/given.err"
check "--block-time 2026-01-02T03:05Z: the rows of that block" \
  cmp -s "$WORK/given.out" <(sed "s/\"block\":\"$block_a\"/\"block\":\"2026-01-02T03:05:00Z\"/" "$OUT_A")
check "--block-time: the summary says so" grep -q "block=2026-01-02T03:05:00Z .* block_from=option$" \
  "$WORK/given.err"
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" --block-time 202601020307 "$WORK/x.nf" \
  > /dev/null 2> "$WORK/badtime.err"
check "--block-time off a 5-minute boundary: exit 1" test $? -eq 1
check "--block-time off a 5-minute boundary: the error names the option" \
  grep -q "block-time '202601020307' is not" "$WORK/badtime.err"
# A copy whose header has no creation time (zeroed): the stat record's last flow end,
# floored to 5 minutes, as nfdump itself reports it (-I)
python3 -c "import sys; d=bytearray(open(sys.argv[1],'rb').read()); d[8:16]=bytes(8); open(sys.argv[2],'wb').write(d)" \
  "$FILE_A" "$WORK/nocreated.nf"
last=$(nfdump -r "$FILE_A" -I | sed -n 's/^Last: //p')
want=$(date -u -d "@$((last - last % 300))" +%Y-%m-%dT%H:%M:%SZ)
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$WORK/nocreated.nf" > "$WORK/nocreated.out" \
  2> "$WORK/nocreated.err"
check "no creation time: block $want from the stat record's last seen (nfdump -I)" \
  grep -q "block=$want .* block_from=stat$" "$WORK/nocreated.err"
check "no creation time: the same rows, in that block" \
  cmp -s "$WORK/nocreated.out" <(sed "s/\"block\":\"$block_a\"/\"block\":\"$want\"/" "$OUT_A")

# Usage errors exit 2
"$INGEST" --dry-run --json --ports 22,99999 "$FILE_A" > /dev/null 2>&1
check "usage error (--ports 99999): exit code 2" test $? -eq 2
"$INGEST" --dry-run --json --local-net 10.1.0.0/99 "$FILE_A" > /dev/null 2>&1
check "usage error (--local-net /99): exit code 2" test $? -eq 2

finish
