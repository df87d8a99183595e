#!/usr/bin/env bash
# tests/fuzz/make-seeds.sh - (re)make the fuzz_reader seed corpus in tests/fuzz/corpus/reader/.
#
# Every seed is a small real file: Debian's nfcapd 1.7.1 receiving NetFlow from nf_send
# (tests/lib/nfcapd.sh), recompressed by nfdump 1.7.1 (LZO, LZ4, BZ2) or by nf_zstd (ZSTD,
# which 1.7.1 cannot write); and layout 1 files from nfcapd 1.6.22 (v1-*, fetched by
# tests/lib/nfdump16.sh).  The seeds are committed so that a fuzz run does not need
# nfcapd; run this after `make tools` when the generator or the format knowledge changes,
# and commit the result.  Seeds stay small (about 1-2 KB): libFuzzer's default max_len is
# the largest seed, and small inputs run faster.
#
#   tests/fuzz/make-seeds.sh [OUTDIR]     default OUTDIR: tests/fuzz/corpus/reader
set -u
cd "$(dirname "$0")/../.." || exit 1
OUTDIR=${1:-tests/fuzz/corpus/reader}
source tests/lib/common.sh
source tests/lib/nfcapd.sh
BLOCK=202401151200

die () { echo "make-seeds: $*" >&2; exit 1; }
if [ ! -x "$TOOLS/nf_send" ] || [ ! -x "$TOOLS/nf_zstd" ]; then die "run 'make tools' first"; fi
mkdir -p "$OUTDIR"

# 1. NetFlow v9, IPv4 and IPv6, AS numbers, bidirectional counters (EXcntFlow)
nfc_make "$WORK/v9" "$BLOCK" -- --generate 12 --seed 3 --v6-share 0.5 --out-counters \
  || die "v9 file"
cp "$NFC_FILE" "$OUTDIR/v9-mixed-none"
# 2. NetFlow v5 (IPv4 only, 16-bit AS)
nfc_make "$WORK/v5" "$BLOCK" -- -5 --generate 8 --seed 4 || die "v5 file"
cp "$NFC_FILE" "$OUTDIR/v5-none"
# 3. Two exporters (two exporter records, two exporter ids on the flows)
nfc_start "$WORK/two" "$BLOCK" || die "nfcapd"
nfc_send --generate 4 --seed 5 --source-id 1 || die "exporter 1"
nfc_send -b 127.0.0.2 --generate 4 --seed 6 --source-id 2 || die "exporter 2"
nfc_stop || die "two-exporter file"
cp "$NFC_FILE" "$OUTDIR/two-exporters-none"
# 4. No flows at all: what nfcapd writes for an empty 5-minute slot
nfc_start "$WORK/empty" "$BLOCK" || die "nfcapd"
nfc_stop || die "empty file"
cp "$NFC_FILE" "$OUTDIR/empty-none"
# 5. Two data blocks: nfcapd restarted in the same slot appends to the file (both runs
#    call their exporter sysid 1)
nfc_make "$WORK/append" "$BLOCK" -- --generate 4 --seed 7 || die "append file"
NFC_APPEND=1 nfc_make "$WORK/append" "$BLOCK" -- -5 --generate 4 --seed 8 || die "append file"
cp "$NFC_FILE" "$OUTDIR/appended-none"
# 6. The v9 file in every other compression
for codec in lzo lz4 bz2; do
  nfc_recompress "$OUTDIR/v9-mixed-none" "$OUTDIR/v9-mixed-$codec" "$codec" || die "$codec copy"
done
"$TOOLS/nf_zstd" "$OUTDIR/v9-mixed-none" "$OUTDIR/v9-mixed-zstd" || die "zstd copy"
# 7. nfdump 1.6 files (layout 1), written by Debian 11's nfcapd 1.6.22 (tests/lib/nfdump16.sh)
#    in each codec it writes: NetFlow v9 (IPv4 and IPv6, out counters, every extension with
#    -T all) and v5 from two exporters; and one with 1.6's default extensions (no -T)
source tests/lib/nfdump16.sh
nf16_fetch || die "nfdump 1.6.22: $NF16_WHY"
nf16_use
for codec in none lzo bz2 lz4; do
  case $codec in none) opt=() ;; lzo) opt=(-z) ;; bz2) opt=(-j) ;; lz4) opt=(-y) ;; esac
  nfc_start "$WORK/v1-$codec" "$BLOCK" -T all "${opt[@]}" || die "nfcapd 1.6"
  nfc_send --generate 6 --seed 9 --v6-share 0.5 --out-counters --source-id 1 &&
    nfc_send -5 -b 127.0.0.2 --generate 4 --seed 10 --source-id 2 || die "1.6 exporters"
  nfc_stop || die "1.6 $codec file"
  cp "$NFC_FILE" "$OUTDIR/v1-mixed-$codec"
done
nfc_make "$WORK/v1-default" "$BLOCK" -- --generate 6 --seed 11 --v6-share 0.5 || die "1.6 file"
cp "$NFC_FILE" "$OUTDIR/v1-default-none"
nf17_use

ls -l "$OUTDIR"
