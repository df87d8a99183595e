#!/usr/bin/env bash
# tests/system/reader_v1_test.sh - portevo-ingest --dry-run on nfdump 1.6 (layout 1) files.
#
# Files are written the way a 1.6 site writes them: Debian 11's nfcapd 1.6.22 (fetched once
# into build/nfdump16 by tests/lib/nfdump16.sh, never installed) receiving NetFlow from
# nf_send over UDP, under libfaketime as in reader_test.sh.  `--dry-run --json` must equal
# tests/lib/oracle.py over `nfdump -o csv` of the same file (Debian 12's nfdump 1.7.1 reads
# 1.6 files).  Covered: NetFlow v9 (msec times and reverse counters; sysUptime times) and
# v5 from three exporters in one file, IPv4 and IPv6, 64-bit counters, 32-bit AS numbers,
# peers above, at and just below the 4096 cap, flows that must not match (foreign AS or
# prefix, other port, ICMP/ICMPv6), every compression 1.6 writes (none, LZO -z, BZ2 -j,
# LZ4 -y), a file of several blocks (the extension maps are only in the first), the
# default extensions (no -T) with an exporter sending no AS numbers, the summary line,
# a renamed file (block from the stat record), and the same flows written by nfcapd
# 1.7.1 giving the same rows.  Skips (exit 0, a SKIP line) only if 1.6.22 cannot be
# downloaded.  Bad 1.6 files are in reader_badinput_test.sh.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
source "$(dirname "$0")/../lib/nfdump16.sh"
LIB=$ROOT/tests/lib
INGEST=$BIN/portevo-ingest
RATE=(--rate 20000)
BUFFER=(-B 8000000)  # 1.6.22's default socket buffer drops flows at this rate
LOCAL_AS=(--local-as 64500 --local-as 4200000001)
LOCAL_NET=(--local-net 10.1.0.0/16 --local-net 2001:db8:1::/48)

for need in "$INGEST" "$TOOLS/nf_send"; do
  [ -x "$need" ] || { fail "missing $need (run make)"; finish; }
done
if ! nf16_fetch; then
  echo "SKIP: reader_v1: nfdump 1.6.22 is not available: $NF16_WHY"
  echo "SKIP: reader_v1: nfdump 1.6.22 is not available: $NF16_WHY" >&2
  finish
fi

# ----------------------------------------------------------------------------------
# Input flows (CSV for nf_send), deterministic.  Block A 10:00 (3 exporters), D 10:15
# (no AS numbers).  Times are msecs (UTC).
mkdir -p "$WORK/csv"
python3 "$LIB/reader_flows.py" "$WORK/csv"  # blocks A and D are used here
[ $? -eq 0 ] || { fail "generate CSV input"; finish; }

# Bulk traffic from nf_send's generator, in sub-prefixes that keep clear of the hosts above
GEN=(--local-net 10.1.128.0/17 --local-net 2001:db8:1:8000::/49 --local-as 64500 --hosts 300
     --start 1795168620000 --span 300000)

# make_a DIR [nfcapd options]: block A (three exporters) into DIR; sets NFC_FILE
make_a () {
  local dir=$1; shift
  nfc_start "$dir" "2026-11-20 10:00" "$@" || return 1
  nfc_send "${RATE[@]}" --source-id 1 --out-counters < "$WORK/csv/a1.csv" &&
  nfc_send "${RATE[@]}" --source-id 1 --out-counters --generate 4000 --seed 11 "${GEN[@]}" &&
  nfc_send "${RATE[@]}" -b 127.0.0.2 --source-id 2 --uptime-times < "$WORK/csv/a2.csv" &&
  nfc_send "${RATE[@]}" -b 127.0.0.2 --source-id 2 --uptime-times --generate 4000 --seed 12 \
    "${GEN[@]}" &&
  nfc_send "${RATE[@]}" -b 127.0.0.3 --source-id 3 -5 < "$WORK/csv/a3.csv" &&
  nfc_send "${RATE[@]}" -b 127.0.0.3 --source-id 3 -5 --generate 2000 --seed 13 "${GEN[@]}" ||
    { nfc_stop; return 1; }
  nfc_stop
}

# ----------------------------------------------------------------------------------
# Make the files: block A with each 1.6 codec (-T all) and with 1.7.1; block D with 1.6's
# default extensions; a file of several blocks.
declare -A FILE16
CODECS=(none lzo bz2 lz4)
declare -A CODEC_OPT=([none]= [lzo]=-z [bz2]=-j [lz4]=-y)
make_files () {
  local codec
  nf16_use
  for codec in "${CODECS[@]}"; do
    # shellcheck disable=SC2086  # no option for none
    make_a "$WORK/v16-$codec" -T all "${BUFFER[@]}" ${CODEC_OPT[$codec]} || return 1
    FILE16[$codec]=$NFC_FILE
  done
  nfc_start "$WORK/v16-d" "2026-11-20 10:15" "${BUFFER[@]}" || return 1
  nfc_send "${RATE[@]}" --no-as --source-id 5 < "$WORK/csv/d.csv" &&
  nfc_send "${RATE[@]}" --no-as --source-id 5 --generate 3000 --seed 41 "${GEN[@]}" ||
    { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE16_D=$NFC_FILE
  nfc_start "$WORK/v16-big" "2026-11-20 10:20" -T all "${BUFFER[@]}" -z || return 1
  nfc_send --rate 25000 --out-counters --source-id 6 --generate 30000 --seed 51 \
    --local-net 10.1.0.0/16 --local-net 2001:db8:1::/48 --local-as 64500 --hosts 2000 \
    --start 1795169820000 --span 300000 || { nfc_stop; return 1; }
  nfc_stop || return 1
  FILE16_BIG=$NFC_FILE
  nf17_use
  make_a "$WORK/v17" || return 1
  FILE17=$NFC_FILE
}
if make_files 2> "$WORK/make.err"; then
  pass "nfcapd 1.6.22 wrote every file with all flows sent (nfdump 1.7.1 -I agrees)"
else
  fail "making nfcapd files: $(tail -n 5 "$WORK/make.err" | tr '\n' ' ')"; finish
fi
FILE16_A=${FILE16[none]}
for f in "$FILE16_A" "$FILE16_D" "$FILE16_BIG"; do
  check "$(basename "$(dirname "$f")")/$(basename "$f") is a layout 1 file (version 1 in its header)" \
    test "$(od -An -tu2 -j2 -N2 "$f" | tr -d ' ')" = 1
done
check "the 1.7.1 file is layout 2" test "$(od -An -tu2 -j2 -N2 "$FILE17" | tr -d ' ')" = 2
blocks=$(od -An -tu4 -j8 -N4 "$FILE16_BIG" | tr -d ' ')
check "the 30,000-flow file has several data blocks ($blocks)" test "$blocks" -ge 3

# ----------------------------------------------------------------------------------
source "$LIB/reader_check.sh"


# ----------------------------------------------------------------------------------
# Block A, 1.6, uncompressed, every extension (-T all)
against_oracle "1.6 file, v9+v5, 3 exporters, --local-as" "${LOCAL_AS[@]}" -- "$FILE16_A"
OUT_A=$LAST_OUT
check "1.6: peers 5000 over two exporters: estimate, capped" row_is "$OUT_A" 10.1.0.10 22 "~5000" true
check "1.6: peers exactly 4096: 4096, capped" row_is "$OUT_A" 10.1.0.11 25 4096 true
check "1.6: peers 4095 (v9 + v5 exporters): not capped" row_is "$OUT_A" 10.1.0.12 80 4095 false
check "1.6: IPv6 peers 4097: estimate, capped" row_is "$OUT_A" 2001:db8:1::abcd 8080 "~4097" true
check "1.6: IPv6 peers exactly 4096: capped" row_is "$OUT_A" 2001:db8:1:0:1::1 445 4096 true
check "1.6: ICMP and foreign sources do not match" \
  bash -c "! grep -E '\"ip\":\"(10\.1\.0\.2[012]|2001:db8:1::22|203\.0\.113\.5|2001:db8:2::5)\"' '$OUT_A'"
check "1.6: 32-bit local AS 4200000001 matches" grep -q '"ip":"198.51.100.7","port":9050' "$OUT_A"
check "1.6: 64-bit counters and reverse counters add up" \
  grep -q '"ip":"2001:db8:1::1","port":22,"bytes":14005000000000,"packets":13000000003,' "$OUT_A"
against_oracle "1.6 file, --local-net IPv4 + IPv6" "${LOCAL_NET[@]}" -- "$FILE16_A"
against_oracle "1.6 file, every source local, --ports 22,25,8080-8081" \
  --ports 22,25,8080-8081 -- "$FILE16_A"

# Every codec 1.6 writes: the oracle, and the same rows as the uncompressed file
for codec in lzo bz2 lz4; do
  f=${FILE16[$codec]}
  check "1.6 nfcapd ${CODEC_OPT[$codec]} wrote a $codec file" test "$(nfc_compression "$f")" = "$codec"
  against_oracle "1.6 $codec file, --local-as" "${LOCAL_AS[@]}" -- "$f"
  check "1.6 $codec file: the same rows as the uncompressed one" cmp -s "$LAST_OUT" "$OUT_A"
done

# The same flows written by 1.7.1: the same rows
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$FILE17" > "$WORK/v17.out" 2> "$WORK/v17.err"
check "1.7.1 file of the same flows: exit 0" test $? -eq 0
if cmp -s "$WORK/v17.out" "$OUT_A"; then
  pass "1.7.1 file of the same flows: the same rows as the 1.6 file ($(wc -l < "$OUT_A"))"
else
  fail "1.7.1 file of the same flows: rows differ from the 1.6 file"
  python3 "$LIB/compare.py" "$WORK/v17.out" "$OUT_A" | head -n 20 | sed 's/^/  /'
fi
"$INGEST" --dry-run --json "${LOCAL_NET[@]}" "$FILE17" > "$WORK/v17net.out" 2> /dev/null
"$INGEST" --dry-run --json "${LOCAL_NET[@]}" "$FILE16_A" > "$WORK/v16net.out" 2> /dev/null
check "1.7.1 and 1.6 files, --local-net: the same rows" cmp -s "$WORK/v17net.out" "$WORK/v16net.out"

# Default extensions (no -T), an exporter without AS numbers
against_oracle "1.6 file, default extensions, no AS, --local-net" "${LOCAL_NET[@]}" -- "$FILE16_D"
check "1.6 without AS, prefix boundaries hold" row_is "$LAST_OUT" 10.1.255.255 22 200 false
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$FILE16_D" > "$WORK/noas.out" 2> /dev/null
check "1.6 without AS, --local-as only: nothing matches" test ! -s "$WORK/noas.out"

# Several blocks: the maps of block 1 serve the records of blocks 2, 3...
against_oracle "1.6 LZO file of $blocks blocks (maps in the first only)" --local-as 64500 -- \
  "$FILE16_BIG"

# 1.6 and 1.7 files in one run
against_oracle "1.6 and 1.7.1 files of four blocks in one run" "${LOCAL_NET[@]}" -- \
  "$FILE16_D" "$FILE16_BIG" "$FILE17" "${FILE16[lz4]}"

# ----------------------------------------------------------------------------------
# Summary lines: flows= as nfdump counts them, exporters, compression
for f in "$FILE16_A" "${FILE16[lzo]}" "${FILE16[bz2]}" "${FILE16[lz4]}" "$FILE16_D" "$FILE16_BIG"; do
  line=$("$INGEST" --dry-run "${LOCAL_AS[@]}" "$f" 2> /dev/null)
  flows=$(nfc_flows "$f") exporters=$(nfc_exporters "$f") comp=$(nfc_compression "$f")
  if grep -qE "^$f block=[^ ]+ flows=$flows matched=[0-9]+ pairs=[0-9]+ compression=$comp exporters=$exporters block_from=name\$" <<< "$line"; then
    pass "1.6 summary of $(basename "$(dirname "$f")"): flows=$flows exporters=$exporters compression=$comp"
  else
    fail "1.6 summary of $f: want flows=$flows compression=$comp exporters=$exporters, got '$line'"
  fi
done

# A renamed 1.6 file: no creation time in a layout 1 header, so the block comes from the
# stat record's last seen (floored to 5 minutes), as nfdump -I reports it
cp "$FILE16_A" "$WORK/renamed.nf"
last=$(nfdump -r "$FILE16_A" -I | sed -n 's/^Last: //p')
want=$(date -u -d "@$((last - last % 300))" +%Y-%m-%dT%H:%M:%SZ)
"$INGEST" --dry-run --json "${LOCAL_AS[@]}" "$WORK/renamed.nf" > "$WORK/renamed.out" \
  2> "$WORK/renamed.err"
check "renamed 1.6 file: block $want from the stat record" \
  grep -q "block=$want .* block_from=stat$" "$WORK/renamed.err"
check "renamed 1.6 file: the same rows, in that block" \
  cmp -s "$WORK/renamed.out" <(sed "s/\"block\":\"2026-11-20T10:00:00Z\"/\"block\":\"$want\"/" "$OUT_A")

finish
