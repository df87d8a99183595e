#!/usr/bin/env bash
# tests/system/reader_badinput_test.sh - the nfcapd reader against corrupt files.
#
# DESIGN.md: "bad input never crashes a process and never writes partial data: a truncated
# or corrupt nfcapd file ... gets a clear error and the rest carries on".  This test makes
# one small real file (300 flows in two blocks, NetFlow v9 and v5 from nf_send into
# Debian's nfcapd, see tests/lib/nfcapd.sh), copies of it with LZO, LZ4, BZ2 (nfdump) and ZSTD (nf_zstd)
# blocks, and from them thousands of broken variants:
#
#   * every truncation (every byte offset) of each of the five files;
#   * random byte flips (nf_mutate flip SEED COUNT [FROM]), a few hundred, deterministic;
#   * each nf_mutate case (wrong sizes, lengths, counts, header fields), on the
#     uncompressed file and, for header cases, on every compression;
#   * every truncation and byte flips of nfdump 1.6 (layout 1) files of the same flows
#     in each codec 1.6 writes, made by nfcapd 1.6.22 (skipped if it cannot be fetched).
#
# Variants are read in batches by one `portevo-ingest --dry-run BAD... GOOD` run (about
# 0.05 ms per truncated file even under ASan, so no sampling is needed), with the intact
# file last.  For a batch to pass: exit 1 (flips: 0 or 1), no sanitizer report, no hang
# (timeout), the good file's summary line with its flow count on stdout, and for each
# variant either an error on stderr that names it and says what is wrong (deterministic
# cases: "truncated", "layout version 3", ...) and no summary line, or (flips only) a
# summary line.  One PASS per category; on failure the first failing variant is found
# (re-run alone with `timeout 10`), kept under $WORK/failed/ (KEEP_WORK is set) and
# named in the FAIL line with the command that reproduces it.
#
# BADINPUT_FLIPS=N scales the number of flip variants (default 600).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"

INGEST=$BIN/portevo-ingest
MUTATE=$TOOLS/nf_mutate
BATCH=2000
FLIPS=${BADINPUT_FLIPS:-600}
SANITIZER_RE='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|MemorySanitizer|runtime error:|Sanitizer:'
CODECS=(none lzo lz4 bz2 zstd)
ERRORS_ON_STDOUT=  # set to a variant whose error went to stdout instead of stderr

# Variants live on tmpfs when there is one: writing them is most of this test's time, and
# on this VM's disk it is ten times slower.  They are removed at exit (failed ones are
# copied to $WORK/failed first).
VARDIR=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then VARDIR=$(mktemp -d /dev/shm/portevo-badinput.XXXXXX); fi
[ -n "$VARDIR" ] || VARDIR=$WORK/var
trap 'rm -rf "$VARDIR"; cleanup' EXIT

for tool in "$INGEST" "$MUTATE" "$TOOLS/nf_zstd" "$TOOLS/nf_send"; do
  if [ ! -x "$tool" ]; then fail "reader bad input: $tool is missing (make all)"; finish; fi
done

# --- the real input files --------------------------------------------------------------
BLOCK=202401151200
NAME=nfcapd.$BLOCK
# Two data blocks: 150 NetFlow v9 flows, then nfcapd restarted in the same 5-minute slot
# appends a second block of 150 NetFlow v5 flows (as it does in production).
if ! { nfc_make "$WORK/spool" "$BLOCK" -- --generate 150 --seed 11 --rate 20000 &&
       NFC_APPEND=1 nfc_make "$WORK/spool" "$BLOCK" -- -5 --generate 150 --seed 12 --rate 20000
     } > "$WORK/make.log" 2>&1; then
  fail "reader bad input: could not make the nfcapd file: $(tr '\n' ' ' < "$WORK/make.log")"
  finish
fi
FLOWS=$(nfc_flows "$NFC_FILE")
declare -A GOOD
for codec in "${CODECS[@]}"; do
  GOOD[$codec]=$WORK/good/$codec/$NAME
  mkdir -p "$WORK/good/$codec"
  if [ "$codec" = none ]; then
    cp "$NFC_FILE" "${GOOD[$codec]}"
  elif [ "$codec" = zstd ]; then
    # The nfcapd file is uncompressed, so nf_zstd takes it as it is.
    if ! "$TOOLS/nf_zstd" "$NFC_FILE" "${GOOD[$codec]}" > "$WORK/make.log" 2>&1; then
      fail "reader bad input: nf_zstd failed: $(tr '\n' ' ' < "$WORK/make.log")"
      finish
    fi
  elif ! nfc_recompress "$NFC_FILE" "${GOOD[$codec]}" "$codec" > "$WORK/make.log" 2>&1; then
    fail "reader bad input: could not make the $codec copy: $(tr '\n' ' ' < "$WORK/make.log")"
    finish
  fi
done
GOOD_FILE=${GOOD[none]}

# Baseline: each intact file reads cleanly, with all its flows.
baseline_ok=1
for codec in "${CODECS[@]}"; do
  out=$(timeout 10 "$INGEST" --dry-run "${GOOD[$codec]}" 2>&1); rc=$?
  if [ $rc -ne 0 ] || ! grep -q "^${GOOD[$codec]} .*flows=$FLOWS\b" <<< "$out"; then
    fail "reader bad input: intact $codec file: exit $rc, expected a summary with flows=$FLOWS: $out"
    baseline_ok=0
  fi
done
[ $baseline_ok = 1 ] && pass "reader bad input: the intact file reads $FLOWS flows in each compression (${CODECS[*]})"

# --- checking a batch ------------------------------------------------------------------
# check_batch MODE REGEX OUT ERR RC LISTFILE: prints nothing if every variant in LISTFILE
# (one path per line) got what MODE asks for, else "PATH<TAB>reason" of the first that did
# not.  MODE strict: an error naming the file and matching REGEX (case-insensitive), no
# summary line.  MODE lenient: an error or a summary line.  Both: the good file's summary.
# If an error is found only on stdout, its variant is printed on fd 3 (ERRORS_ON_STDOUT).
check_batch () {
  python3 - "$@" "$GOOD_FILE" "$FLOWS" 3>"$WORK/stdout-errors" <<'EOF'
import os, re, sys
mode, regex, out_path, err_path, rc, list_path, good, flows = sys.argv[1:9]
out = open(out_path, errors='replace').read().splitlines()
err = open(err_path, errors='replace').read().splitlines()
variants = [line for line in open(list_path).read().splitlines() if line]
pattern = re.compile(regex, re.I)
stdout_errors = os.fdopen(3, 'w')

known = set(variants)

def errors_by_path(lines):
    found = {}
    for line in lines:
        for match in re.finditer(r'(\S+): ', line):
            if match.group(1) in known:
                found.setdefault(match.group(1), []).append(line[match.end():])
                break
    return found

err_messages = errors_by_path(err)
out_messages = errors_by_path(out)

summaries = {}
for line in out:
    path = line.split(' ', 1)[0]
    summaries.setdefault(path, line)
good_line = summaries.get(good, '')
if not re.search(r'\bflows=%s\b' % flows, good_line):
    print('%s\tthe intact file given after the corrupt ones has no summary line with '
          'flows=%s on stdout (exit %s)' % (variants[0], flows, rc))
    sys.exit(0)
for path in variants:
    messages = err_messages.get(path)
    if not messages:
        messages = out_messages.get(path)
        if messages:
            stdout_errors.write(path + '\n')
    summary = summaries.get(path)
    if mode == 'strict':
        if summary:
            print('%s\taccepted (summary line "%s"), expected an error' % (path, summary))
            break
        if not messages:
            print('%s\tno error message naming the file' % path)
            break
        if not any(pattern.search(m) for m in messages):
            print('%s\terror "%s" does not say what is wrong (expected /%s/)'
                  % (path, messages[0], regex))
            break
    else:
        if not summary and not messages:
            print('%s\tneither a summary line nor an error message naming the file' % path)
            break
EOF
}

# run_one PATH...: run the ingestor once; sets RUN_RC, RUN_OUT, RUN_ERR files.
run_one () {
  RUN_OUT=$WORK/run.out RUN_ERR=$WORK/run.err
  RUN_LIMIT=${RUN_TIMEOUT:-10}
  timeout "$RUN_LIMIT" "$INGEST" --dry-run "$@" > "$RUN_OUT" 2> "$RUN_ERR"
  RUN_RC=$?
}

# status_problem MODE: what is wrong with RUN_RC / the run's output, or nothing.
status_problem () {
  local mode=$1 sanitizer
  sanitizer=$(grep -hE -m 1 "$SANITIZER_RE" "$RUN_ERR" "$RUN_OUT")
  if [ -n "$sanitizer" ]; then echo "sanitizer report (exit $RUN_RC): $sanitizer"; return; fi
  case $RUN_RC in
    124) echo "no answer within $RUN_LIMIT s (hang)"; return ;;
    126|127) echo "exit $RUN_RC: $INGEST could not be run"; return ;;
  esac
  if [ "$RUN_RC" -gt 128 ]; then echo "killed by signal $((RUN_RC - 128)) (crash)"; return; fi
  if [ "$RUN_RC" -gt 124 ]; then echo "exit $RUN_RC"; return; fi
  if [ "$mode" = strict ] && [ "$RUN_RC" -ne 1 ]; then echo "exit $RUN_RC, expected 1"; return; fi
  if [ "$mode" = lenient ] && [ "$RUN_RC" -gt 1 ]; then echo "exit $RUN_RC, expected 0 or 1"; fi
}

# keep_failed PATH REASON: report the variant, keep it on disk, fail.
keep_failed () {
  local path=$1 reason=$2 kept
  kept=$WORK/failed/$(basename "$(dirname "$(dirname "$path")")")-$(basename "$(dirname "$path")")
  mkdir -p "$kept" && cp "$path" "$kept/"
  # shellcheck disable=SC2034  # read by common.sh's cleanup
  KEEP_WORK=1
  FAILED_DETAIL="$kept/$(basename "$path"): $reason; reproduce: $INGEST --dry-run $kept/$(basename "$path") $GOOD_FILE"
}

# run_batch MODE REGEX LISTFILE: run every variant in LISTFILE in batches of $BATCH.
# Returns 0, or 1 with FAILED_DETAIL set.
run_batch () {
  local mode=$1 regex=$2 list=$3 chunk problem first path
  FAILED_DETAIL=
  rm -f "$WORK"/chunk.*
  split -l "$BATCH" -d -a 4 "$list" "$WORK/chunk."
  for chunk in "$WORK"/chunk.*; do
    mapfile -t files < "$chunk"
    RUN_TIMEOUT=60 run_one "${files[@]}" "$GOOD_FILE"
    problem=$(status_problem "$mode")
    if [ -n "$problem" ]; then
      # Find the variant that causes it: each alone (with the good file), as the brief's
      # per-file rule says, with timeout 10.
      for path in "${files[@]}"; do
        run_one "$path" "$GOOD_FILE"
        problem=$(status_problem "$mode")
        if [ -n "$problem" ]; then keep_failed "$path" "$problem"; return 1; fi
      done
      keep_failed "${files[0]}" "the batch failed ($problem) but no variant fails alone"
      return 1
    fi
    first=$(check_batch "$mode" "$regex" "$RUN_OUT" "$RUN_ERR" "$RUN_RC" "$chunk")
    if [ -s "$WORK/stdout-errors" ] && [ -z "$ERRORS_ON_STDOUT" ]; then
      ERRORS_ON_STDOUT=$(head -n 1 "$WORK/stdout-errors")
    fi
    if [ -n "$first" ]; then
      keep_failed "${first%%$'\t'*}" "${first#*$'\t'}"
      return 1
    fi
  done
  return 0
}

# new_variant CATEGORY INDEX: path of a fresh variant file (the name must stay nfcapd.*).
new_variant () {
  local dir=$VARDIR/$1/$2
  mkdir -p "$dir"
  echo "$dir/$NAME"
}

# --- truncations -------------------------------------------------------------------------
# truncations LABEL FILE: every truncation of FILE must be refused.  Written and read
# $BATCH at a time: every truncation of a 30 KB file is 450 MB in all.
truncations () {
  local codec=$1 file=$2 size start list failed=0
  size=$(stat -c %s "$file")
  for ((start = 0; start < size; start += BATCH)); do
    list=$WORK/trunc.list
    python3 - "$file" "$VARDIR/trunc-$codec" "$NAME" "$start" $((start + BATCH)) \
      > "$list" <<'EOF'
import os, sys
source, root, name, start, end = sys.argv[1:6]
data = open(source, 'rb').read()
for length in range(int(start), min(int(end), len(data))):
    directory = os.path.join(root, '%06d' % length)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, 'wb') as f:
        f.write(data[:length])
    print(path)
EOF
    run_batch strict 'truncat|only [0-9]+ bytes|empty' "$list" || failed=1
    rm -rf "${VARDIR:?}/trunc-$codec"
    [ $failed = 0 ] || break
  done
  if [ $failed = 0 ]; then
    pass "reader bad input: all $size truncations of the $codec file (every offset 0..$((size - 1))) give exit 1 and a 'truncated' error"
  else
    fail "reader bad input: truncation of the $codec file: $FAILED_DETAIL"
  fi
}
for codec in "${CODECS[@]}"; do truncations "$codec" "${GOOD[$codec]}"; done

# --- byte flips ----------------------------------------------------------------------------
# Uncompressed file: a third with 1 flip anywhere (header included), a third with 1 and a
# third with 8 flips after the header.  Compressed files: 1 or 4 flips after the header.
list=$WORK/flip.list
: > "$list"
per_plain=$((FLIPS / 2)) per_codec=$((FLIPS / 8))
for ((seed = 1; seed <= per_plain; seed++)); do
  case $((seed % 3)) in 0) args=(1) ;; 1) args=(1 40) ;; 2) args=(8 40) ;; esac
  path=$(new_variant flip "none-$seed")
  "$MUTATE" -o "$path" "$GOOD_FILE" flip "$seed" "${args[@]}" && echo "$path" >> "$list"
done
for codec in lzo lz4 bz2 zstd; do
  for ((seed = 1; seed <= per_codec; seed++)); do
    path=$(new_variant flip "$codec-$seed")
    "$MUTATE" -o "$path" "${GOOD[$codec]}" flip "$seed" $((seed % 2 ? 1 : 4)) 40 \
      && echo "$path" >> "$list"
  done
done
count=$(wc -l < "$list")
if [ "$count" -ne $((per_plain + 4 * per_codec)) ]; then
  fail "reader bad input: nf_mutate flip made $count of $((per_plain + 4 * per_codec)) variants"
elif run_batch lenient '.' "$list"; then
  pass "reader bad input: $count byte-flip variants ($per_plain uncompressed, $per_codec per codec; nf_mutate flip SEED 1|4|8 [40]) never crash, hang or lose the good file"
else
  fail "reader bad input: byte flips: $FAILED_DETAIL"
fi
rm -rf "${VARDIR:?}/flip"

# --- nf_mutate cases -----------------------------------------------------------------------
# mutate_case LABEL REGEX "MUTATION [ARG...]" CODECS...: the mutation of each listed
# codec's file must be refused with an error matching REGEX.
mutate_case () {
  local label=$1 regex=$2 mutation=$3; shift 3
  local list=$WORK/mutate-$label.list codec path line
  : > "$list"
  for codec in "$@"; do
    path=$(new_variant "mutate-$label" "$codec")
    # shellcheck disable=SC2086  # the mutation and its arguments are separate words
    if ! "$MUTATE" -o "$path" "${GOOD[$codec]}" $mutation 2> "$WORK/mutate.err"; then
      fail "reader bad input: nf_mutate $mutation on the $codec file: $(cat "$WORK/mutate.err")"
      return
    fi
    echo "$path" >> "$list"
  done
  if run_batch strict "$regex" "$list"; then
    path=$(head -n 1 "$list")
    line=$(grep -h -m 1 -F "$path: " "$RUN_ERR" "$RUN_OUT" | head -n 1)
    pass "reader bad input: nf_mutate $mutation ($*) is refused: \"${line#*"$path: "}\""
  else
    fail "reader bad input: nf_mutate $mutation: $FAILED_DETAIL"
  fi
  rm -rf "${VARDIR:?}/mutate-$label"
}

mutate_case blocksize 'block.*(size|truncat|exceed)|truncat' blocksize "${CODECS[@]}"
mutate_case elemlen0 'element.*length|length' elemlen0 none
mutate_case elempast 'element' elempast none
mutate_case recsize0 'record.*size|size.*record' recsize0 none
mutate_case recpast 'record.*(size|past|end)' recpast none
mutate_case numrecords 'record' numrecords none
mutate_case numblocks 'block|appendix' numblocks "${CODECS[@]}"
mutate_case numblocks-max 'block|appendix' 'numblocks 4294967295' none
mutate_case appendixpast 'appendix' appendixpast "${CODECS[@]}"
mutate_case badmagic 'not an nfcapd file|magic' badmagic none
mutate_case layout3 'layout version 3' layout3 "${CODECS[@]}"
mutate_case encrypted 'encrypt' encrypted "${CODECS[@]}"
mutate_case foreign-endian 'byte order|endian' foreign-endian "${CODECS[@]}"
mutate_case badcomp 'compression' badcomp none

# --- nfdump 1.6 (layout 1) files ----------------------------------------------------------
# The same two exporters' flows written by Debian 11's nfcapd 1.6.22 (tests/lib/nfdump16.sh,
# -T all) in each codec it writes: every truncation, and byte flips after the 276-byte
# header and stat record (its record and map cases are in the ingest_v1 selftest).
source "$(dirname "$0")/../lib/nfdump16.sh"
if ! nf16_fetch; then
  echo "SKIP: reader bad input: nfdump 1.6 files: nfdump 1.6.22 is not available: $NF16_WHY"
else
  nf16_use
  declare -A GOOD16
  made16=1
  for codec in none lzo bz2 lz4; do
    case $codec in none) opt=() ;; lzo) opt=(-z) ;; bz2) opt=(-j) ;; lz4) opt=(-y) ;; esac
    if nfc_start "$WORK/v1-$codec" "$BLOCK" -T all -B 8000000 "${opt[@]}" > "$WORK/make.log" 2>&1 &&
       nfc_send --generate 150 --seed 11 --rate 20000 >> "$WORK/make.log" 2>&1 &&
       nfc_send -5 -b 127.0.0.2 --generate 150 --seed 12 --rate 20000 >> "$WORK/make.log" 2>&1 &&
       nfc_stop >> "$WORK/make.log" 2>&1 && [ "$(nfc_compression "$NFC_FILE")" = "$codec" ]; then
      GOOD16[$codec]=$NFC_FILE
    else
      [ -n "$NFC_PID" ] && nfc_stop > /dev/null 2>&1
      fail "reader bad input: could not make the 1.6 $codec file: $(tr '\n' ' ' < "$WORK/make.log")"
      made16=0
      break
    fi
  done
  nf17_use
  if [ $made16 = 1 ]; then
    for codec in none lzo bz2 lz4; do
      out=$(timeout 10 "$INGEST" --dry-run "${GOOD16[$codec]}" 2>&1); rc=$?
      if [ $rc -eq 0 ] && grep -q "^${GOOD16[$codec]} .*flows=$FLOWS\b" <<< "$out"; then
        truncations "1.6-$codec" "${GOOD16[$codec]}"
      else
        fail "reader bad input: intact 1.6 $codec file: exit $rc, expected flows=$FLOWS: $out"
      fi
    done
    list=$WORK/flip16.list
    : > "$list"
    per_codec=$((FLIPS / 8))
    for codec in none lzo bz2 lz4; do
      for ((seed = 1; seed <= per_codec; seed++)); do
        path=$(new_variant flip16 "$codec-$seed")
        "$MUTATE" -o "$path" "${GOOD16[$codec]}" flip "$seed" $((seed % 2 ? 1 : 4)) 276 \
          && echo "$path" >> "$list"
      done
    done
    count=$(wc -l < "$list")
    if [ "$count" -ne $((4 * per_codec)) ]; then
      fail "reader bad input: nf_mutate flip made $count of $((4 * per_codec)) 1.6 variants"
    elif run_batch lenient '.' "$list"; then
      pass "reader bad input: $count byte-flip variants of the 1.6 files ($per_codec per codec; nf_mutate flip SEED 1|4 276) never crash, hang or lose the good file"
    else
      fail "reader bad input: 1.6 byte flips: $FAILED_DETAIL"
    fi
    rm -rf "${VARDIR:?}/flip16"
  fi
fi

if [ -n "$ERRORS_ON_STDOUT" ]; then
  fail "reader bad input: errors go to stdout, not stderr (e.g. for the variant ${ERRORS_ON_STDOUT#"$VARDIR/"})"
else
  pass "reader bad input: every error message is on stderr"
fi
finish
