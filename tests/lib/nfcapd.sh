# tests/lib/nfcapd.sh - make real nfcapd spool files with Debian's nfdump 1.7.1.
#
# Sourced by tests/system/*_test.sh (after common.sh, whose `spawn` then tracks nfcapd for
# cleanup) and by bench/.  A file is made the way production makes it: nfcapd listens on a
# free UDP port of 127.0.0.1, nf_send exports NetFlow to it, SIGTERM makes nfcapd close and
# rename its file.  nfcapd names files by its own clock (local time, so TZ=UTC), hence it
# runs under libfaketime with its clock set a few seconds into the wanted block
# (LD_PRELOAD=libfaketimeMT FAKETIME=@...; the `faketime` wrapper would not pass SIGTERM
# on).  The clock keeps running, so each file must be finished within 5 minutes.  Every
# file is checked: the flows nfdump -I counts must equal the flows nf_send sent
# (nfcapd's 4 MiB socket buffer drops silently when flooded).
#
#   nfc_start DIR BLOCK [nfcapd options...]   start nfcapd (-t 300 -w DIR); BLOCK is
#                                             "YYYY-MM-DD hh:mm" or YYYYMMDDhhmm (UTC,
#                                             5-minute aligned); sets NFC_PORT, NFC_PID
#   nfc_send [nf_send options...] < CSV        export to the running nfcapd (-p NFC_PORT);
#                                             adds the flows sent to NFC_SENT
#   nfc_stop                                  SIGTERM, wait for the renamed file, verify
#                                             its flow count; sets NFC_FILE
#   nfc_make DIR BLOCK [nfcapd opts] -- [nf_send opts] < CSV
#                                             all three at once; sets NFC_FILE
#   nfc_flows FILE                            flow count according to nfdump -I
#   nfc_exporters FILE                        exporter count according to nfdump -E
#   nfc_recompress IN OUT none|lzo|lz4|bz2|zstd
#                                             rewrite IN with another block compression
#                                             (zstd: needs $TOOLS/nf_zstd)
#   nfc_compression FILE                      none|lzo|bz2|lz4|zstd from the file header
#
# Facts (nfcapd/nfdump 1.7.1): nfcapd and `nfdump -w` write uncompressed blocks unless
# given -z (LZO), -y (LZ4) or -j (BZ2); there is no ZSTD.  nfcapd appends to an existing
# target file (nfc_start refuses that unless NFC_APPEND=1).  With -S 1 the file lands in
# DIR/YYYY/MM/DD/.  Errors go to stderr and make a function return 1.

NFC_FAKETIME_LIB=${NFC_FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1}
NFC_TOOLS=${TOOLS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/bin}
NFC_SEND=${NFC_SEND:-$NFC_TOOLS/nf_send}
NFC_LOGDIR=${NFC_LOGDIR:-${WORK:-${TMPDIR:-/tmp}}}
NFC_OFFSET_SECS=${NFC_OFFSET_SECS:-3}   # fake clock starts this far into the block
NFC_NFCAPD=${NFC_NFCAPD:-nfcapd}        # the nfcapd to run (nfdump16.sh: 1.6.22's)
NFC_DIR_OPT=${NFC_DIR_OPT:--w}          # its spool directory option (1.6: -l)
NFC_LIBDIR=${NFC_LIBDIR:-}              # LD_LIBRARY_PATH for it, if set
NFC_PID='' NFC_PORT='' NFC_DIR='' NFC_BLOCK='' NFC_SENT=0 NFC_BEFORE=0 NFC_FILE='' NFC_LOG=''

# nfc_block_epoch BLOCK: epoch seconds of "YYYY-MM-DD hh:mm" or YYYYMMDDhhmm (UTC).
nfc_block_epoch () {
  local text=$1
  if [[ $text =~ ^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$ ]]; then
    text="${BASH_REMATCH[1]}-${BASH_REMATCH[2]}-${BASH_REMATCH[3]} ${BASH_REMATCH[4]}:${BASH_REMATCH[5]}"
  fi
  TZ=UTC date -d "$text" +%s 2>/dev/null
}

nfc_free_udp_port () {
  if declare -F free_port > /dev/null; then free_port; return; fi  # common.sh's: below the ephemeral range
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

nfc_flows () {
  nfdump -I -r "$1" 2>/dev/null | sed -n 's/^Flows: //p'
}

nfc_sequence_failures () {
  nfdump -I -r "$1" 2>/dev/null | sed -n 's/^Sequence failures: //p'
}

nfc_exporters () {
  nfdump -E "$1" 2>/dev/null | grep -c '^SysID:'
}

nfc_compression () {
  local byte
  if [ "$(od -An -tu2 -j2 -N2 "$1" | tr -d ' ')" = 1 ]; then  # layout 1: flags at 4
    case $(( $(od -An -tu4 -j4 -N4 "$1" | tr -d ' ') & 0x19 )) in
      0) echo none ;; 1) echo lzo ;; 8) echo bz2 ;; 16) echo lz4 ;; *) echo unknown ;;
    esac
    return
  fi
  byte=$(od -An -tu1 -j16 -N1 "$1" | tr -d ' ')
  case "$byte" in
    0) echo none ;; 1) echo lzo ;; 2) echo bz2 ;; 3) echo lz4 ;; 4) echo zstd ;;
    *) echo "unknown($byte)" ;;
  esac
}

# The path nfcapd renames its file to: DIR/nfcapd.YYYYMMDDhhmm, or under YYYY/MM/DD with -S 1.
nfc_target () {  # nfc_target DIR EPOCH SUBDIRS(0|1)
  local name
  name=nfcapd.$(TZ=UTC date -d "@$2" +%Y%m%d%H%M)
  if [ "$3" = 1 ]; then
    echo "$1/$(TZ=UTC date -d "@$2" +%Y/%m/%d)/$name"
  else
    echo "$1/$name"
  fi
}

nfc_start () {
  local dir=$1 block=$2; shift 2
  local epoch subdirs=0 arg attempt i
  epoch=$(nfc_block_epoch "$block") || { echo "nfc_start: bad block '$block'" >&2; return 1; }
  if [ -z "$epoch" ] || [ $((epoch % 300)) -ne 0 ]; then
    echo "nfc_start: block '$block' is not on a 5-minute boundary" >&2; return 1
  fi
  for arg in "$@"; do [ "$arg" = "-S" ] && subdirs=1; done
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd)
  NFC_DIR=$dir NFC_BLOCK=$epoch NFC_SENT=0 NFC_BEFORE=0 NFC_FILE=
  local target
  target=$(nfc_target "$dir" "$epoch" "$subdirs")
  if [ -e "$target" ]; then
    if [ "${NFC_APPEND:-0}" != 1 ]; then
      echo "nfc_start: $target exists (nfcapd would append; set NFC_APPEND=1)" >&2; return 1
    fi
    NFC_BEFORE=$(nfc_flows "$target")
  fi
  local fake
  fake=$(TZ=UTC date -d "@$((epoch + NFC_OFFSET_SECS))" '+%Y-%m-%d %H:%M:%S')
  for attempt in 1 2 3 4 5; do
    NFC_PORT=$(nfc_free_udp_port)
    NFC_LOG=$NFC_LOGDIR/nfcapd-$NFC_PORT.log
    local cmd=(env TZ=UTC LD_PRELOAD="$NFC_FAKETIME_LIB" FAKETIME="@$fake"
               ${NFC_LIBDIR:+LD_LIBRARY_PATH=$NFC_LIBDIR}
               "$NFC_NFCAPD" -b 127.0.0.1 -p "$NFC_PORT" -t 300 "$NFC_DIR_OPT" "$dir" -I test "$@")
    if declare -F spawn > /dev/null; then
      spawn "${cmd[@]}" > "$NFC_LOG" 2>&1
      NFC_PID=$SPAWNED_PID
    else
      "${cmd[@]}" > "$NFC_LOG" 2>&1 &
      NFC_PID=$!
    fi
    # Ready when the port is bound; gone if the port was taken meanwhile.
    for i in $(seq 1 100); do
      if ! kill -0 "$NFC_PID" 2>/dev/null; then break; fi
      if ss -Hlun "sport = :$NFC_PORT" 2>/dev/null | grep -q .; then return 0; fi
      sleep 0.05
    done
    kill "$NFC_PID" 2>/dev/null; wait "$NFC_PID" 2>/dev/null
  done
  echo "nfc_start: nfcapd did not start (log: $NFC_LOG)" >&2
  cat "$NFC_LOG" >&2
  return 1
}

nfc_send () {
  local out flows rc
  # nf_send's stdout (--csv -) passes through; its stderr is read for the flow count.
  { out=$("$NFC_SEND" -p "$NFC_PORT" -v "$@" 2>&1 1>&3 3>&-); rc=$?; } 3>&1
  flows=$(sed -n 's/^nf_send: \([0-9]*\) flows in .*/\1/p' <<< "$out")
  if [ $rc -ne 0 ] || [ -z "$flows" ]; then
    echo "nfc_send: nf_send failed: $out" >&2; return 1
  fi
  NFC_SENT=$((NFC_SENT + flows))
}

nfc_stop () {
  local i target
  [ -n "$NFC_PID" ] || { echo "nfc_stop: no nfcapd running" >&2; return 1; }
  kill -TERM "$NFC_PID" 2>/dev/null
  for i in $(seq 1 400); do
    kill -0 "$NFC_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$NFC_PID" 2>/dev/null; then
    echo "nfc_stop: nfcapd $NFC_PID did not exit" >&2; kill -KILL "$NFC_PID"; return 1
  fi
  wait "$NFC_PID" 2>/dev/null
  NFC_PID=
  target=$(find "$NFC_DIR" -name "nfcapd.$(TZ=UTC date -d "@$NFC_BLOCK" +%Y%m%d%H%M)" | head -n 1)
  if [ -z "$target" ] || [ -n "$(find "$NFC_DIR" -name 'nfcapd.current.*')" ]; then
    echo "nfc_stop: no renamed file for block $NFC_BLOCK in $NFC_DIR:" >&2
    find "$NFC_DIR" -type f >&2
    cat "$NFC_LOG" >&2
    return 1
  fi
  NFC_FILE=$target
  # The flow count is the loss check.  (Sequence failures are not: each nf_send run
  # starts its exporter's sequence at 0 again, which nfcapd counts as a failure.)
  local flows
  flows=$(nfc_flows "$target")
  if [ "$flows" != $((NFC_BEFORE + NFC_SENT)) ]; then
    echo "nfc_stop: $target holds $flows flows, expected $((NFC_BEFORE + NFC_SENT))" \
         "(sequence failures: $(nfc_sequence_failures "$target")): nfcapd dropped" \
         "packets; lower --rate" >&2
    return 1
  fi
}

# nfc_attempts N FUNCTION DIR...: run FUNCTION, which makes files with nfc_start, nfc_send
# and nfc_stop into the DIRs, up to N times, the DIRs removed before each try.  UDP from
# nf_send to nfcapd on loopback can drop packets when the machine is busy; nfc_stop finds
# that out (a flow count short of what was sent) and the files are made again.
nfc_attempts () {
  local tries=$1 fn=$2 attempt
  shift 2
  for attempt in $(seq 1 "$tries"); do
    rm -rf "$@"
    "$fn" && return 0
    if [ -n "$NFC_PID" ]; then kill -KILL "$NFC_PID" 2> /dev/null; wait "$NFC_PID" 2> /dev/null; NFC_PID=; fi
    echo "nfc_attempts: $fn failed (try $attempt of $tries)" >&2
  done
  return 1
}

nfc_make () {
  local dir=$1 block=$2; shift 2
  local nfcapd_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do nfcapd_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  nfc_start "$dir" "$block" "${nfcapd_args[@]}" || return 1
  if ! nfc_send "$@"; then nfc_stop; return 1; fi
  nfc_stop
}

nfc_recompress () {
  local in=$1 out=$2 codec=$3 flag=
  mkdir -p "$(dirname "$out")" || return 1
  case "$codec" in
    none) ;; lzo) flag=-z ;; lz4) flag=-y ;; bz2) flag=-j ;;
    zstd)
      [ -x "$NFC_TOOLS/nf_zstd" ] || { echo "nfc_recompress: no $NFC_TOOLS/nf_zstd" >&2; return 1; }
      local plain
      plain=$(mktemp "${TMPDIR:-/tmp}/nfc-plain.XXXXXX")
      nfdump -r "$in" -w "$plain" > /dev/null || { rm -f "$plain"; return 1; }
      "$NFC_TOOLS/nf_zstd" "$plain" "$out" || { rm -f "$plain"; return 1; }
      rm -f "$plain"
      ;;
    *) echo "nfc_recompress: unknown codec '$codec'" >&2; return 1 ;;
  esac
  if [ "$codec" != zstd ]; then
    rm -f "$out"
    nfdump -r "$in" $flag -w "$out" > /dev/null || return 1
  fi
  # nfdump 1.7.1 cannot read ZSTD blocks, so a zstd copy is checked by its header only.
  if [ "$(nfc_compression "$out")" != "$codec" ] ||
     { [ "$codec" != zstd ] && [ "$(nfc_flows "$out")" != "$(nfc_flows "$in")" ]; }; then
    echo "nfc_recompress: $out is not a $codec copy of $in" >&2; return 1
  fi
}
