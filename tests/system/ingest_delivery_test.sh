#!/usr/bin/env bash
# tests/system/ingest_delivery_test.sh - portevo-ingest delivering a spool, exactly once.
#
# Real nfcapd files (Debian's nfcapd fed by nf_send, tests/lib/nfcapd.sh) in a spool, a
# cluster of a broker and two shards, and an ingestor watching the spool:
#
#   * the files present at start are delivered (one flat, one in nfcapd -S 1 subdirs);
#   * a file nfcapd renames in later (into a new day directory) is delivered within
#     seconds (the libuv watch, not the 30 s rescan);
#   * a leftover nfcapd.current.* is never delivered;
#   * a corrupt file is reported once (an E: line naming it), recorded in failed.journal,
#     skipped, and the ingestor carries on;
#   * kill -9 of the ingestor at random moments during delivery, then a restart: every
#     file's part is applied exactly once by each shard, and done.journal lists each file
#     once;
#   * the heartbeat stats (files_done, files_failed, ...) reach the broker;
#   * a shard down (real: kill -9 and restart; stand-in: SIGSTOP / SIGCONT, broker too)
#     only delays: its file is recorded done once the shard is back;
#   * FILE mode: a file delivered before is skipped (exit 0), a new file outside the spool
#     is delivered (exit 0), a corrupt one fails (exit 1);
#   * real cluster: the day's top-10 (bytes, port 22, sum) equals the files' aggregates
#     from `portevo-ingest --dry-run --json`;
#   * SIGTERM stops the service cleanly (exit 0, no sanitizer report), and no other E:
#     line appears in the ingestor's logs.
#
# The cluster is the real one ($BIN/portevo-broker, $BIN/portevo-shard, checked through
# `portevo status --json`) when those programs exist, else tests/tools/fake_cluster
# (a stand-in broker and shards that log each part they apply); INGEST_FAKE_CLUSTER=1
# forces the stand-in.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
INGEST=$BIN/portevo-ingest
NFC_LOGDIR=$WORK
SANITIZER_RE='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:'

for need in "$INGEST" "$TOOLS/nf_send" "$TOOLS/nf_mutate"; do
  [ -x "$need" ] || { fail "missing $need (run make)"; finish; }
done
if [ -z "${INGEST_FAKE_CLUSTER:-}" ] && [ -x "$BIN/portevo-broker" ] && [ -x "$BIN/portevo-shard" ] \
   && [ -x "$BIN/portevo" ]; then
  CLUSTER=real
elif [ -x "$TOOLS/fake_cluster" ]; then
  CLUSTER=fake
else
  fail "no cluster to deliver to: neither $BIN/portevo-shard nor $TOOLS/fake_cluster"; finish
fi
echo "cluster: $CLUSTER"

SPOOL=$WORK/spool STATE=$WORK/state SRC=$WORK/src
mkdir -p "$SPOOL" "$SRC"
BROKER_PORT=$(free_port) SHARD0_PORT=$(free_port) SHARD1_PORT=$(free_port)
BROKER=tcp://127.0.0.1:$BROKER_PORT
SHARD0=tcp://127.0.0.1:$SHARD0_PORT SHARD1=tcp://127.0.0.1:$SHARD1_PORT

# ----------------------------------------------------------------------------------
# Input: real nfcapd files.  A: 10:00 flat, B: 10:05 under 2026/11/20 (-S 1), C: 10:10,
# then D..G (bigger) for the kill -9 rounds, H for a later rename, O outside the spool.
make_file () {  # make_file NAME BLOCK FLOWS SEED [nfcapd options]
  local name=$1 block=$2 flows=$3 seed=$4 rate=20000 attempt; shift 4
  for attempt in 1 2 3; do   # a busy machine makes nfcapd drop packets: slower again
    rm -rf "${SRC:?}/$name"
    nfc_make "$SRC/$name" "$block" "$@" -- --generate "$flows" --seed "$seed" --rate $rate &&
      { eval "FILE_$name=\$NFC_FILE"; return 0; }
    rate=$((rate / 2))
  done
  fail "nfcapd could not make block $block"; finish
}
make_file A 202611201000 10000 1
make_file B 202611201005 5000 2 -S 1
make_file C 202611201010 3000 3
make_file D 202611201015 15000 4
make_file E 202611201020 15000 5
make_file F 202611201025 15000 6
make_file G 202611201030 15000 7
make_file H 202611210000 4000 8
make_file O 202611210005 2000 9
cp "$FILE_A" "$SPOOL/"
mkdir -p "$SPOOL/2026/11/20"
cp "$FILE_B" "$SPOOL/2026/11/20/"
cp "$FILE_C" "$SPOOL/"
"$TOOLS/nf_mutate" -o "$SPOOL/nfcapd.202611200955" "$FILE_C" truncate 3000
cp "$FILE_A" "$SPOOL/nfcapd.current.12345"   # nfcapd's file in progress: never delivered
CORRUPT=nfcapd.202611200955

# ----------------------------------------------------------------------------------
# The cluster
CONFIG=$WORK/portevo.conf
cat > "$CONFIG" <<EOF
portevo
    broker
        endpoint = "$BROKER"
        data = "$WORK/broker"
        shards = "shard-0,shard-1"
    shard
        grace_secs = "5"
        shard-0
            endpoint = "$SHARD0"
            data = "$WORK/shard-0"
        shard-1
            endpoint = "$SHARD1"
            data = "$WORK/shard-1"
    ingestor
        router1
            spool = "$SPOOL"
            state = "$STATE"
EOF
APPLIED=$WORK/applied.log
start_cluster () {
  if [ $CLUSTER = fake ]; then
    spawn "$TOOLS/fake_cluster" -s -d 300 -b "$BROKER" -l "$APPLIED" "$SHARD0" "$SHARD1" \
      > "$WORK/cluster.log" 2>&1
    CLUSTER_PID=$SPAWNED_PID
  else
    spawn "$BIN/portevo-broker" --config "$CONFIG" > "$WORK/broker.log" 2>&1
    spawn "$BIN/portevo-shard" --config "$CONFIG" --name shard-0 > "$WORK/shard-0.log" 2>&1
    spawn "$BIN/portevo-shard" --config "$CONFIG" --name shard-1 > "$WORK/shard-1.log" 2>&1
    SHARD1_PID=$SPAWNED_PID
  fi
}

# Stats of role ROLE from `portevo status --json` (real) or the stand-in's last heartbeat
# line (fake), one "name key=value..." line per peer.
peer_stats () {
  if [ $CLUSTER = fake ]; then
    grep '^stats ' "$APPLIED" | tail -n 1 | cut -d' ' -f2-
  else
    "$BIN/portevo" status --json --broker "$BROKER" 2>/dev/null | python3 -c '
import json, sys
for peer in json.load(sys.stdin).get(sys.argv[1] + "s", []):
    print(peer.get("name"), " ".join("%s=%s" % kv for kv in peer.get("stats", {}).items()))
' "$1"
  fi
}

# Every file of "$@" applied exactly once on each shard (silent: see show_applied).
applied_once () {
  if [ $CLUSTER = fake ]; then
    local file shard
    for file in "$@"; do
      for shard in shard-0 shard-1; do
        [ "$(grep -c "^applied $shard router1 $file " "$APPLIED")" = 1 ] || return 1
      done
    done
    [ "$(grep -c '^applied ' "$APPLIED")" = $((2 * $#)) ]
  else
    [ "$(peer_stats shard | grep -c "parts_applied=$#\b")" = 2 ]
  fi
}
show_applied () {
  if [ $CLUSTER = fake ]; then grep -v '^stats ' "$APPLIED"; else peer_stats shard; fi
}

INGEST_LOGS=()
INGEST_PID=
start_ingest () {  # start_ingest LOGNAME: the service on the spool
  local log=$WORK/ingest-$1.log
  INGEST_LOGS+=("$log")
  spawn "$INGEST" --config "$CONFIG" --name router1 --broker "$BROKER" > "$log" 2>&1
  INGEST_PID=$SPAWNED_PID
}

journal_lines () { [ -f "$STATE/$1.journal" ] && wc -l < "$STATE/$1.journal" || echo 0; }

done_is () { [ "$(journal_lines done)" -ge "$1" ]; }
failed_is () { [ "$(journal_lines failed)" -ge "$1" ]; }

start_cluster
sleep 0.5

# ----------------------------------------------------------------------------------
# Catch-up, the corrupt file, nfcapd.current.*
start_ingest first
check "files present at start are delivered" wait_for 60 done_is 3
check "the corrupt file is recorded as failed" wait_for 10 failed_is 1
check "failed.journal names the corrupt file and what is wrong" \
  grep -q "^$CORRUPT	.*truncated or corrupt" "$STATE/failed.journal"
check "the corrupt file is logged once as an error, naming it" \
  test "$(grep -c "^E: .*$CORRUPT" "$WORK/ingest-first.log")" = 1
check "the service carries on after the corrupt file" kill -0 "$INGEST_PID"
check "done.journal lists A, B (nested) and C" \
  test "$(cut -f1 "$STATE/done.journal" | sort | tr '\n' ' ')" = \
  "2026/11/20/nfcapd.202611201005 nfcapd.202611201000 nfcapd.202611201010 "

# A file nfcapd renames in later, into a new day directory (nfcapd -S 1 at midnight)
mkdir -p "$SPOOL/2026/11/21"
cp "$FILE_H" "$SPOOL/2026/11/21/nfcapd.current.777"
sleep 0.2
mv "$SPOOL/2026/11/21/nfcapd.current.777" "$SPOOL/2026/11/21/nfcapd.202611210000"
check "a file renamed into a new subdirectory is delivered within seconds" wait_for 8 done_is 4
sleep 1.5
check "nfcapd.current.* is never delivered" \
  bash -c "! grep -q current '$STATE/done.journal' '$STATE/failed.journal'"
stats_ok () { peer_stats ingestor | grep 'files_done=4' | grep -q 'files_failed=1'; }
check "heartbeat stats reach the broker (files_done=4, files_failed=1)" wait_for 5 stats_ok
peer_stats ingestor

# A shard down delays only: its part waits and goes when it is back.  (Real: kill -9 and
# restart shard-1.  Stand-in: stop the whole process for a while, broker included.)
DONE_BEFORE=$(journal_lines done)
if [ $CLUSTER = real ]; then
  kill -9 "$SHARD1_PID"; wait "$SHARD1_PID" 2>/dev/null
else
  kill -STOP "$CLUSTER_PID"
fi
cp "$FILE_C" "$SPOOL/nfcapd.202611210010"
sleep 4
check "while a shard is down its file is not recorded done" \
  test "$(journal_lines done)" = "$DONE_BEFORE"
if [ $CLUSTER = real ]; then
  spawn "$BIN/portevo-shard" --config "$CONFIG" --name shard-1 >> "$WORK/shard-1.log" 2>&1
  SHARD1_PID=$SPAWNED_PID
else
  kill -CONT "$CLUSTER_PID"
fi
check "once the shard is back the file is delivered" wait_for 30 done_is $((DONE_BEFORE + 1))
check "the service kept running meanwhile" kill -0 "$INGEST_PID"
kill -TERM "$INGEST_PID"
check "SIGTERM stops the service with exit 0" wait "$INGEST_PID"

# ----------------------------------------------------------------------------------
# kill -9 at random moments while D..G and 12 more blocks (copies of D: the block is
# the name's) are delivered, then a restart
cp "$FILE_D" "$FILE_E" "$FILE_F" "$FILE_G" "$SPOOL/"
COPIES=()
for minute in 35 40 45 50 55; do COPIES+=(nfcapd.2026112010$minute); done
for minute in 00 05 10 15 20 25 30; do COPIES+=(nfcapd.2026112011$minute); done
for copy in "${COPIES[@]}"; do cp "$FILE_D" "$SPOOL/$copy"; done
sleep 1.1   # older than the settle time
RANDOM=42
for round in 1 2 3 4 5 6; do
  start_ingest "kill$round"
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$INGEST_PID"
  wait "$INGEST_PID" 2>/dev/null
  echo "round $round: $(journal_lines done) files done"
done
start_ingest restart
check "after kill -9 rounds a restart delivers the rest" wait_for 60 done_is 21
ALL=(nfcapd.202611201000 2026/11/20/nfcapd.202611201005 nfcapd.202611201010
     nfcapd.202611201015 nfcapd.202611201020 nfcapd.202611201025 nfcapd.202611201030
     "${COPIES[@]}" 2026/11/21/nfcapd.202611210000 nfcapd.202611210010)
sleep 1
check_applied () {  # check_applied WHAT FILE...
  local what=$1; shift
  if wait_for 5 applied_once "$@"; then pass "$what"; else fail "$what"; show_applied; fi
}
check_applied "each file's part applied exactly once on each shard" "${ALL[@]}"
if [ $CLUSTER = fake ]; then
  check "some kill -9 fell between a shard's commit and the journal (duplicates answered)" \
    grep -q '^duplicate ' "$APPLIED"
fi
check "done.journal lists each file once" \
  test "$(cut -f1 "$STATE/done.journal" | sort -u | wc -l)" = "$(journal_lines done)"
kill -TERM "$INGEST_PID"
check "SIGTERM stops the restarted service with exit 0" wait "$INGEST_PID"

# ----------------------------------------------------------------------------------
# FILE mode (same state: the service is stopped)
mkdir -p "$WORK/other"
cp "$FILE_O" "$WORK/other/"
files_mode () {  # files_mode LOGNAME FILE...: deliver and exit; echo the exit code
  local log=$WORK/ingest-$1.log; shift
  INGEST_LOGS+=("$log")
  timeout 60 "$INGEST" --config "$CONFIG" --name router1 --broker "$BROKER" "$@" > "$log" 2>&1
  echo $?
}
check "FILE mode: a file delivered before is skipped, exit 0" \
  test "$(files_mode again "$SPOOL/nfcapd.202611201000")" = 0
grep -q "delivered before" "$WORK/ingest-again.log" || fail "FILE mode did not say it skipped"
check "FILE mode: a new file outside the spool is delivered, exit 0" \
  test "$(files_mode other "$WORK/other/nfcapd.202611210005")" = 0
check_applied "FILE mode: the new file's part applied once on each shard" \
  "${ALL[@]}" "$WORK/other/nfcapd.202611210005"
check "FILE mode: a corrupt file fails, exit 1" \
  test "$(files_mode corrupt "$SPOOL/$CORRUPT")" = 1

# ----------------------------------------------------------------------------------
# Real cluster: the day's top-10 by bytes on port 22 equals what the files hold
# (the dry run's aggregates of every file of 2026-11-20, summed per host)
top_matches () {
  local day_files=() file
  for file in "$SPOOL"/nfcapd.20261120* "$SPOOL"/2026/11/20/nfcapd.20261120*; do
    [ "${file##*/}" = $CORRUPT ] || day_files+=("$file")
  done
  "$INGEST" --dry-run --json --config "$CONFIG" "${day_files[@]}" 2> /dev/null \
    > "$WORK/dryrun.json" || { echo "  dry run failed"; return 1; }
  "$BIN/portevo" top --date 2026-11-20 --op sum --port 22 --json --broker "$BROKER" \
    > "$WORK/top.json" 2> "$WORK/top.err" || { cat "$WORK/top.err"; return 1; }
  python3 - "$WORK/dryrun.json" "$WORK/top.json" <<'PY'
import ipaddress, json, sys
sums = {}
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row["port"] == 22:
        sums[row["ip"]] = sums.get(row["ip"], 0) + row["bytes"]
def key(ip):
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        address = ipaddress.IPv6Address("::ffff:" + ip)
    return address.packed
expected = sorted(sums.items(), key=lambda kv: (-kv[1], key(kv[0])))[:10]
answer = json.load(open(sys.argv[2]))
got = [(e["ip"], e["score"]) for e in answer["ports"][0]["features"]["bytes"]]
if got != expected or answer.get("missing_shards"):
    print("expected", expected, "\ngot", got, answer.get("missing_shards"))
    sys.exit(1)
PY
}
if [ $CLUSTER = real ]; then
  check "the cluster's top-10 (bytes, port 22, sum) equals the files' aggregates" top_matches
fi

# ----------------------------------------------------------------------------------
# Logs: only the corrupt file's errors, no sanitizer report
unexpected=$(cat "${INGEST_LOGS[@]}" | grep '^E:' | grep -v "$CORRUPT")
check "no unexpected E: line in the ingestor's logs" test -z "$unexpected"
[ -z "$unexpected" ] || echo "$unexpected"
CLUSTER_LOGS=("$WORK"/cluster.log "$WORK"/broker.log "$WORK"/shard-*.log)
check "no E: line in the cluster's logs" bash -c "! cat ${CLUSTER_LOGS[*]} 2>/dev/null | grep -q '^E:'"
check "no sanitizer report" \
  bash -c "! cat ${INGEST_LOGS[*]} ${CLUSTER_LOGS[*]} 2>/dev/null | grep -qE '$SANITIZER_RE'"
finish
