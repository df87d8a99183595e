# tests/lib/soak_files.sh - the nfcapd files of bench/soak: two consecutive days of
# 5-minute blocks (576 files), written by Debian's nfcapd 1.7.1.
#
# Sourced after nfcapd.sh (NFC_FAKETIME_LIB, NFC_SEND) and, in tests, common.sh.
#
#   soak_make_files DIR FIRST-DAY FLOWS
#       writes DIR/nfcapd.YYYYMMDDhhmm for every block of FIRST-DAY (YYYY-MM-DD, UTC)
#       and the day after, FLOWS flows each, and DIR/made (the spec) when all are made;
#       a DIR whose "made" says the same is kept as it is (a cache).  Returns 1 (said on
#       stderr) on failure.
#
# How: one nfcapd (-t 300, LZ4 blocks) runs under libfaketime with a frozen clock read
# from a file (FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE).  For each block the clock is
# set 3 s into the block, then nf_send exports the block's flows as NetFlow v9 (its
# generator: --generate FLOWS --seed BLOCK-NUMBER, flow starts spread over the block);
# nfcapd's first packet after the clock moved makes it close the previous file and name
# it after that block, exactly as it does every 5 minutes in production.  Before the
# clock moves, nfcapd's socket must be drained (its receive queue in /proc/net/udp is
# read without a fork).  nfcapd logs each file's flow count as it closes it ("Ident:
# 'soak' Flows: N"): every one must be FLOWS, else the run is made again (a packet that
# reached nfcapd after the clock moved would have gone into the next file).
# One process per block (nf_send): on a loaded 2-core machine a fork costs tens of ms.
# Each day has its own nfcapd and the two run at once (2 cores).

SOAK_HOSTS=${SOAK_HOSTS:-3000}

# soak_rx_queue PORT: nfcapd's receive queue in bytes (0 when drained) into SOAK_QUEUE,
# from /proc/net/udp (bash builtins only: no fork).
soak_rx_queue () {
  local hex addr queues
  printf -v hex '0100007F:%04X' "$1"
  SOAK_QUEUE=0
  while read -r _ addr _ _ queues _; do
    if [ "$addr" = "$hex" ]; then SOAK_QUEUE=$((16#${queues#*:})); return; fi
  done < /proc/net/udp
}

# soak_clock FILE EPOCH: set the frozen clock 3 s into the block starting at EPOCH.  The
# text always has the same length and is written over the old one in one write (no
# truncation), so libfaketime never reads an empty file.
soak_clock () {
  local text
  TZ=UTC printf -v text '%(%Y-%m-%d %H:%M:%S)T' $(($2 + 3))
  printf '%s\n' "$text" 1<> "$1"
}

# soak_make_once DIR FIRST-EPOCH FLOWS PORT BLOCKS SEED0: BLOCKS blocks from FIRST-EPOCH
# with one nfcapd on PORT; block i has seed SEED0 + i.
soak_make_once () {
  local dir=$1 first=$2 flows=$3 port=$4 blocks=$5 seed=$6
  local tmp=$dir/.nfcapd-$port clock=$dir/.clock-$port epoch pid i rc=0
  rm -rf "$tmp" && mkdir -p "$tmp" || return 1
  rm -f "$clock" && soak_clock "$clock" "$first"
  env TZ=UTC LD_PRELOAD="$NFC_FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$clock" FAKETIME_NO_CACHE=1 \
    nfcapd -b 127.0.0.1 -p "$port" -t 300 -w "$tmp" -I soak -y > "$tmp.log" 2>&1 &
  pid=$!
  for i in $(seq 1 100); do
    grep -q '^Startup' "$tmp.log" 2>/dev/null && break
    sleep 0.05
  done
  for ((epoch = first; epoch < first + blocks * 300; epoch += 300)); do
    soak_clock "$clock" "$epoch"
    "$NFC_SEND" -p "$port" --generate "$flows" --seed $((seed + (epoch - first) / 300)) \
      --hosts "$SOAK_HOSTS" --start $((epoch * 1000)) --span 300000 --rate 200000 ||
      { echo "soak_make_files: nf_send failed" >&2; rc=1; break; }
    for ((i = 0; i < 500; i++)); do
      soak_rx_queue "$port"
      [ "$SOAK_QUEUE" = 0 ] && break
      sleep 0.01
    done
  done
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ $rc -eq 0 ]; then
    local counts bad
    counts=$(sed -n "s/^Ident: 'soak' Flows: \([0-9]*\),.*/\1/p" "$tmp.log")
    bad=$(grep -cvx "$flows" <<< "$counts")
    if [ "$(wc -l <<< "$counts")" != "$blocks" ] || [ "$bad" != 0 ] ||
       [ "$(find "$tmp" -name 'nfcapd.2*' | wc -l)" != "$blocks" ]; then
      echo "soak_make_files: nfcapd closed $(wc -l <<< "$counts") files, $bad without" \
        "$flows flows" >&2
      rc=1
    else
      mv "$tmp"/nfcapd.2* "$dir"/ || rc=1
    fi
  fi
  rm -rf "$tmp" "$tmp.log" "$clock"
  return $rc
}

# Each day has its own nfcapd (two run at once: one a core).
soak_make_files () {
  local dir=$1 day=$2 flows=$3 first spec attempt ports pid0 pid1 rc0 rc1
  first=$(TZ=UTC date -d "$day 00:00" +%s) || return 1
  spec="$day $flows flows a block, $SOAK_HOSTS hosts"
  [ "$(cat "$dir/made" 2>/dev/null)" = "$spec" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir" || return 1
  for attempt in 1 2 3; do
    ports=("$(free_port)" "$(free_port)")
    [ "${ports[0]}" != "${ports[1]}" ] || continue
    soak_make_once "$dir" "$first" "$flows" "${ports[0]}" 288 1 & pid0=$!
    soak_make_once "$dir" $((first + 86400)) "$flows" "${ports[1]}" 288 289 & pid1=$!
    wait "$pid0"; rc0=$?
    wait "$pid1"; rc1=$?
    if [ $rc0 -eq 0 ] && [ $rc1 -eq 0 ]; then
      echo "$spec" > "$dir/made"
      return 0
    fi
    rm -f "$dir"/nfcapd.*
  done
  return 1
}
