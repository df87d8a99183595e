#!/usr/bin/env bash
# tests/system/ingest_append_test.sh - flows nfcapd appends to a file already delivered.
#
# nfcapd renames its file at the end of each interval; when the target exists (nfcapd was
# restarted within the interval, so two processes wrote the same block) it appends the
# new data blocks to it (nfdump's RenameAppend).  The ingestor had delivered the file
# already: the appended blocks must be delivered too, once, as a part of their own.
#
# A cluster (broker, two shards, one ingestor watching its spool) and Debian's nfcapd
# writing straight into that spool:
#
#   * nfcapd run 1 writes nfcapd.B (flows A): delivered; every (host, port) day sum of
#     bytes, packets, durations and peers equals nfdump's CSV of the file (oracle.py);
#   * nfcapd run 2, same interval, appends flows B (peers disjoint from A's, so peer
#     counts add exactly): nfdump -I counts A + B flows; the ingestor delivers the new
#     data blocks (its log names them), every sum equals the oracle over the whole file,
#     each shard applied one more part, and done.journal records the new extent;
#   * a restart of the ingestor delivers nothing again;
#   * with the journal's last line (the append's) removed, a restart sends the appended
#     blocks again: the shards answer duplicate and every sum stays exact;
#   * bytes that are no data block (appended by something else) are never delivered;
#   * no E: line and no sanitizer report in any log.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
source "$(dirname "$0")/../lib/cluster.sh"
NFC_LOGDIR=$WORK
LIB=$ROOT/tests/lib
SANITIZER_RE='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:'

for need in "$BIN/portevo" "$BIN/portevo-broker" "$BIN/portevo-shard" "$BIN/portevo-ingest" \
            "$TOOLS/nf_send"; do
  [ -x "$need" ] || { fail "missing $need (run make)"; finish; }
done

DAY=$(date -u -d yesterday +%Y-%m-%d)
BLOCK="$DAY 10:00"
EPOCH=$(nfc_block_epoch "$BLOCK")

# Flows: local hosts 10.1.0.1-8 (AS 64500) to foreign peers (AS 64999) on 22, 25, 80;
# run 2 adds flows of the same hosts and of two new ones, to peers run 1 never used.
make_csv () {  # make_csv RUN > CSV
  python3 - "$EPOCH" "$1" <<'EOF'
import random, sys
epoch, run = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(run)
hosts = range(1, 9) if run == 1 else range(3, 11)
print("src,dst,sport,dport,proto,packets,bytes,first_msec,last_msec,src_as,dst_as")
for host in hosts:
    for port in (22, 25, 80):
        if rng.random() < 0.3:
            continue
        for flow in range(rng.randint(1, 12)):
            peer = "192.0.%d.%d" % (run * 10 + rng.randint(0, 3), rng.randint(1, 250))
            first = epoch * 1000 - 60000 + rng.randint(0, 200000)
            packets = rng.randint(1, 40)
            print("10.1.0.%d,%s,%d,%d,6,%d,%d,%d,%d,64500,64999" % (
                host, peer, rng.randint(1024, 65000), port, packets,
                packets * rng.randint(40, 1500), first, first + rng.randint(0, 30000)))
EOF
}
make_csv 1 > "$WORK/a.csv" && make_csv 2 > "$WORK/b.csv" || { fail "cannot make the CSV"; finish; }

cluster_init app 2 rtr
SPOOL=$CL_DIR/spool-rtr
FILE=$SPOOL/nfcapd.$(TZ=UTC date -d "@$EPOCH" +%Y%m%d%H%M)
cluster_start_all
if cluster_wait_up; then pass "broker, 2 shards and the ingestor are up"; else
  fail "cluster did not come up: $(cat "$CL_DIR/status.json")"; cat "$CL_DIR"/logs/*.log; finish
fi

# sums_match LABEL: every (host, port) day sum the oracle computes over $FILE from nfdump's
# CSV equals what the cluster answers (portevo series, one day).
sums_match () {
  python3 "$LIB/oracle.py" --local-as 64500 "$FILE" > "$WORK/oracle.jsonl" ||
    { fail "$1: oracle.py failed"; return; }
  if python3 - "$BIN/portevo" "$CL_BROKER" "$DAY" "$WORK/oracle.jsonl" > "$WORK/sums.out" 2>&1 <<'EOF'
import json, subprocess, sys
portevo, broker, day, oracle = sys.argv[1:]
want = {}
for line in open(oracle):
    row = json.loads(line)
    want[(row["ip"], row["port"])] = row
bad = 0
for (ip, port), row in sorted(want.items()):
    for feature in ("bytes", "packets", "durations", "peers"):
        out = subprocess.run([portevo, "series", "--host", ip, "--port", str(port), "--feature",
                              feature, "--op", "sum", "--from", day, "--to", day, "--json",
                              "--broker", broker], capture_output=True, text=True)
        try:
            got = [p for s in json.loads(out.stdout)["series"] for p in s["points"]]
        except (ValueError, KeyError):
            got = None
        if got != [[day, row[feature]]]:
            print("%s port %d %s: got %s, want %s" % (ip, port, feature, got, row[feature]))
            bad += 1
print("%d pairs, %d differences" % (len(want), bad))
sys.exit(1 if bad or not want else 0)
EOF
  then pass "$1: $(tail -n 1 "$WORK/sums.out")"; else
    fail "$1: $(head -n 5 "$WORK/sums.out" | tr '\n' ';')"
  fi
}

parts_applied () {  # the sum of the shards' parts_applied
  cluster_status | python3 -c 'import json,sys; print(sum(p.get("parts_applied") or 0 for p in json.load(sys.stdin)["shards"]))'
}

delivered_lines () { grep -c ': delivered' "$CL_DIR/logs/rtr.log"; }

# Run 1: the file is made in the spool and delivered.
if nfc_start "$SPOOL" "$BLOCK" && nfc_send --rate 5000 < "$WORK/a.csv" && nfc_stop; then
  pass "nfcapd run 1 wrote $(basename "$FILE") ($(nfc_flows "$FILE") flows)"
else
  [ -n "$NFC_PID" ] && nfc_stop; fail "nfcapd run 1 failed"; finish
fi
FLOWS_A=$(nfc_flows "$FILE")
if cluster_wait_done 1 60; then pass "run 1's file delivered"; else
  fail "run 1's file not delivered: $(tail -n 5 "$CL_DIR/logs/rtr.log")"; finish
fi
sums_match "before the append"
APPLIED=$(parts_applied)

# Run 2: nfcapd restarted within the same interval appends to the delivered file.
if NFC_APPEND=1 nfc_start "$SPOOL" "$BLOCK" && nfc_send --rate 5000 < "$WORK/b.csv" && nfc_stop; then
  :
else
  [ -n "$NFC_PID" ] && nfc_stop; fail "nfcapd run 2 failed"; finish
fi
FLOWS_B=$(($(wc -l < "$WORK/b.csv") - 1))
check "nfcapd appended run 2's $FLOWS_B flows to the file ($FLOWS_A + $FLOWS_B)" \
  [ "$(nfc_flows "$FILE")" = $((FLOWS_A + FLOWS_B)) ]
if wait_for 40 grep -q 'delivered (data blocks [0-9]*-[0-9]* appended)' "$CL_DIR/logs/rtr.log"; then
  pass "the appended blocks were delivered: $(grep -o 'delivered (data blocks [^)]*)' "$CL_DIR/logs/rtr.log" | head -n 1)"
else
  fail "the appended blocks were not delivered: $(tail -n 5 "$CL_DIR/logs/rtr.log")"
fi
cluster_poll 20 "all(not p['open_blocks'] for p in s['shards'])" > /dev/null
sums_match "after the append"
check "each shard applied one more part (the appended blocks')" [ "$(parts_applied)" = $((APPLIED + 2)) ]
SIZE=$(stat -c %s "$FILE")
LAST=$(tail -n 1 "$CL_DIR/ingest-rtr/done.journal")
check "done.journal records the file's new extent (size $SIZE): $LAST" \
  bash -c '[[ "$1" == "$(basename "$2")"$'"'"'\t'"'"'*"blocks="*" size=$3" ]]' _ "$LAST" "$FILE" "$SIZE"
APPLIED=$(parts_applied)
DELIVERED=$(delivered_lines)

# A restart delivers nothing again.
cluster_kill INGEST_PID_rtr TERM
cluster_start_ingestor rtr
cluster_wait_up > /dev/null
sleep 3
check "after a restart nothing is delivered again" \
  [ "$(delivered_lines)/$(parts_applied)" = "$DELIVERED/$APPLIED" ]

# The append's journal line lost: the appended blocks go again, the shards drop them.
cluster_kill INGEST_PID_rtr TERM
sed -i '$ d' "$CL_DIR/ingest-rtr/done.journal"
cluster_start_ingestor rtr
if wait_for 40 bash -c '[ "$(grep -c "delivered (data blocks" "$1")" -ge 2 ]' _ "$CL_DIR/logs/rtr.log"; then
  pass "with the append's journal line lost, a restart sends the appended blocks again"
else
  fail "the appended blocks were not sent again: $(tail -n 5 "$CL_DIR/logs/rtr.log")"
fi
check "the shards took the resent part as a duplicate (parts_applied stays $APPLIED)" \
  [ "$(parts_applied)" = "$APPLIED" ]
sums_match "after the resend"

# Bytes that are no data block: the header still counts the same blocks, nothing goes.
DELIVERED=$(delivered_lines)
head -c 700 /dev/urandom >> "$FILE"
sleep 4
check "bytes appended by something else than nfcapd are not delivered" \
  [ "$(delivered_lines)/$(parts_applied)" = "$DELIVERED/$APPLIED" ]
check "nothing was recorded failed" [ ! -s "$CL_DIR/ingest-rtr/failed.journal" ]

cluster_kill INGEST_PID_rtr TERM
errors=$(cluster_errors)
check "no E: line in any log${errors:+: $errors}" [ -z "$errors" ]
if grep -qE "$SANITIZER_RE" "$CL_DIR"/logs/*.log; then
  fail "sanitizer report: $(grep -hE "$SANITIZER_RE" "$CL_DIR"/logs/*.log | head -n 3)"
else
  pass "no sanitizer report"
fi
finish
