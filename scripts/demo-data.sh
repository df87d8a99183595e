#!/usr/bin/env bash
# scripts/demo-data.sh - makes the demo's nfcapd spool (once; cached) for `make run`.
#
#   scripts/demo-data.sh [DIR]     default DIR: ./portevo-data/demo-spool
#
# Writes DIR (nfcapd files only, as a real spool), DIR.pdns.json and DIR.done.
#
# Real nfcapd files, written the way production writes them: Debian's nfcapd receives
# NetFlow v9 from bin/nf_send over UDP, under libfaketime so that each file lands in its
# 5-minute block of a past day (tests/lib/nfcapd.sh).  DEMO_DAYS days (default 10) ending
# today (UTC), DEMO_BLOCKS blocks a day (default 6, from 02:00 every 6 hours then shifted by
# three; blocks of today that have not ended yet are left out), LZO-compressed.  Each block holds a
# generated background (nf_send --generate: ~400 local hosts of 10.10.0.0/16 and
# 2001:db8:10::/48, AS 64500) and the hosts of the paper's section VIII:
#
#   10.10.25.25  a mail server turned spam bot: a couple of relays on 25 at first, then
#                from a third of the days on hundreds, later thousands of SMTP peers a block
#   10.10.22.22  an SSH scanner: a few peers on 22, then from half of the days on thousands
#                per block, beyond the 4096-peer cap in some blocks
#   10.10.90.50  a Tor relay: steady, heavy 9050 to other relays, and exit traffic to 80,
#                21, 22, 25, 1194, 3128, 8080, 8118 (its ALL* graph has many curves); its
#                relay-to-relay traffic on 9001 and 443 shows under "Other ports"
#
# and, for the incoming direction (local destinations, foreign sources):
#
#   10.10.25.1   the campus mail exchanger: a steady hundred or so senders a block on 25
#   10.10.22.10  an SSH gateway: a few admins on 22, then from two thirds of the days on
#                a distributed brute force from thousands of sources a block
#   10.10.80.80  a web server: hundreds of clients a block on 80 and 8080
#
# The spam bot also resolves names (53) and submits on 587: its "Other ports".
# plus DIR.pdns.json, passive-DNS names of these hosts (Common Output Format JSON lines)
# for `portevo annotate`.  DIR.done marks a finished spool; an unfinished one is made
# again.  Takes about a minute on two cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$ROOT/portevo-data/demo-spool}
DAYS=${DEMO_DAYS:-10}
BLOCKS=${DEMO_BLOCKS:-6}
export TZ=UTC
TOOLS=${TOOLS:-$ROOT/bin}

DONE=$DIR.done
PDNS=$DIR.pdns.json
# What the spool holds; a spool made by an older version of this script is made again.
VERSION="demo v2 (incoming, other ports)"
# A spool older than 90 days would soon fall out of retention (180 days): make it again.
if [ -f "$DONE" ] && [ -f "$PDNS" ] && [ -d "$DIR" ] && [ -z "$(find "$DONE" -mtime +90)" ] &&
   grep -qF "$VERSION" "$DONE"; then
  echo "demo-data: using the spool made before: $DIR ($(cat "$DONE"))"
  exit 0
fi
for need in nfcapd nfdump python3 ss; do
  command -v "$need" > /dev/null || { echo "demo-data: $need missing (make deps)" >&2; exit 1; }
done
[ -x "$TOOLS/nf_send" ] || { echo "demo-data: $TOOLS/nf_send missing (make)" >&2; exit 1; }

rm -rf "$DIR" "$DONE" "$PDNS"
mkdir -p "$DIR"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portevo-demo.XXXXXX")
NFC_PID=
cleanup () {
  [ -n "$NFC_PID" ] && kill "$NFC_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
NFC_LOGDIR=$TMP
# shellcheck source=../tests/lib/nfcapd.sh
source "$ROOT/tests/lib/nfcapd.sh"

start=$(date +%s)
now=$start
today=$(( now / 86400 * 86400 ))
hours=(2 8 14 20 5 11 17 23)
blocks=()
for ((d = DAYS - 1; d >= 0; d--)); do
  day=$(( today - d * 86400 ))
  for ((b = 0; b < BLOCKS && b < ${#hours[@]}; b++)); do
    epoch=$(( day + ${hours[b]} * 3600 ))
    (( epoch + 300 <= now )) && blocks+=("$epoch:$(( DAYS - 1 - d ))")
  done
done
# Early in the day (before 02:05 UTC) today has no block yet: then the days end yesterday.
echo "demo-data: making ${#blocks[@]} nfcapd files of $DAYS days in $DIR"

# The featured hosts' flows of every block, as nf_send CSV.
python3 - "$TMP" "$DAYS" "${blocks[@]}" <<'PY'
import random, sys
out, days, blocks = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
SPAM, SCAN, TOR = "10.10.25.25", "10.10.22.22", "10.10.90.50"
MX, SSH_GW, WEB = "10.10.25.1", "10.10.22.10", "10.10.80.80"
SPAM_FROM, SCAN_FROM, BRUTE_FROM = days // 3, days // 2, days * 2 // 3
LOCAL_AS, FOREIGN_AS = 64500, 65010
relays = ["192.0.2.%d" % (i + 1) for i in range(2)]
tor_peers = ["203.0.113.%d" % (i + 1) for i in range(200)]

def foreign(rng, i):
    return "%d.%d.%d.%d" % (rng.choice((45, 77, 91, 185, 198)), (i >> 16) & 255, (i >> 8) & 255, i & 255)

for spec in blocks:
    epoch, index = (int(x) for x in spec.split(":"))
    rng = random.Random(epoch)
    t0 = epoch * 1000
    lines = []
    def flow(src, dst, dport, packets, nbytes, dur, proto=6, src_as=LOCAL_AS, dst_as=FOREIGN_AS):
        first = t0 - rng.randrange(0, 200000)
        lines.append("%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d" % (
            src, dst, rng.randrange(32768, 61000), dport, proto, packets, nbytes, first,
            first + dur, src_as, dst_as))
    def inbound(src, dst, dport, packets, nbytes, dur):
        flow(src, dst, dport, packets, nbytes, dur, src_as=FOREIGN_AS, dst_as=LOCAL_AS)
    # spam bot: relays only, then a campaign growing day by day
    for r in relays:
        flow(SPAM, r, 25, rng.randrange(20, 60), rng.randrange(20000, 90000), rng.randrange(800, 4000))
    if index >= SPAM_FROM:
        n = min(3500, 300 * (index - SPAM_FROM + 1) ** 2)
        base = rng.randrange(1 << 20)
        for i in range(n):
            flow(SPAM, foreign(rng, base + i * 7), 25, rng.randrange(8, 40),
                 rng.randrange(3000, 40000), rng.randrange(300, 6000))
    # SSH scanner: a handful of admin peers, then thousands of probes a block
    if index < SCAN_FROM:
        for i in range(1 + index * 2):
            flow(SCAN, "198.51.100.%d" % (i + 1), 22, rng.randrange(20, 400),
                 rng.randrange(4000, 90000), rng.randrange(5000, 600000))
    else:
        n = rng.choice((2500, 3200, 4000, 5200, 6500)) if index > SCAN_FROM else 5000
        base = rng.randrange(1 << 22)
        for i in range(n):
            flow(SCAN, foreign(rng, base + i), 22, rng.randrange(1, 3), rng.randrange(60, 180),
                 rng.randrange(0, 1500))
    # Tor relay: steady 9050 to other relays, exit traffic to other monitored ports
    for i in range(rng.randrange(40, 70)):
        flow(TOR, rng.choice(tor_peers), 9050, rng.randrange(20000, 90000),
             rng.randrange(20000000, 90000000), rng.randrange(60000, 290000))
    for port, n in ((80, 120), (21, 3), (22, 4), (25, 5), (1194, 2), (3128, 6), (8080, 10), (8118, 3)):
        for i in range(rng.randrange(n // 2 + 1, n + 1)):
            flow(TOR, foreign(rng, rng.randrange(1 << 24)), port, rng.randrange(10, 900),
                 rng.randrange(5000, 2000000), rng.randrange(200, 90000))
    # Other ports: the relay's own relay traffic (ORPort 9001, 443), the spam bot's
    # lookups and submissions
    for i in range(rng.randrange(30, 60)):
        flow(TOR, rng.choice(tor_peers), rng.choice((9001, 9001, 443)), rng.randrange(5000, 40000),
             rng.randrange(5000000, 40000000), rng.randrange(60000, 290000))
    for i in range(rng.randrange(5, 15) * (4 if index >= SPAM_FROM else 1)):
        flow(SPAM, "192.0.2.53", 53, 1, rng.randrange(60, 120), rng.randrange(1, 30), proto=17)
    if index >= SPAM_FROM:
        for i in range(rng.randrange(20, 80)):
            flow(SPAM, foreign(rng, rng.randrange(1 << 24)), 587, rng.randrange(8, 40),
                 rng.randrange(3000, 40000), rng.randrange(300, 6000))
    # Incoming: the mail exchanger's senders, the SSH gateway's admins then a
    # distributed brute force, the web server's clients
    for i in range(rng.randrange(80, 160)):
        inbound(foreign(rng, rng.randrange(1 << 24)), MX, 25, rng.randrange(8, 60),
                rng.randrange(4000, 200000), rng.randrange(300, 8000))
    if index < BRUTE_FROM:
        for i in range(rng.randrange(2, 6)):
            inbound("198.51.100.%d" % (200 + i), SSH_GW, 22, rng.randrange(50, 900),
                    rng.randrange(8000, 400000), rng.randrange(30000, 900000))
    else:
        base = rng.randrange(1 << 22)
        for i in range(rng.choice((1500, 2200, 3000, 4200))):
            inbound(foreign(rng, base + i * 3), SSH_GW, 22, rng.randrange(3, 12),
                    rng.randrange(300, 2400), rng.randrange(100, 4000))
    for port, n in ((80, 400), (8080, 60)):
        for i in range(rng.randrange(n // 2, n)):
            inbound(foreign(rng, rng.randrange(1 << 24)), WEB, port, rng.randrange(4, 200),
                    rng.randrange(400, 900000), rng.randrange(50, 30000))
    with open("%s/%d.csv" % (out, epoch), "w") as f:
        f.write("\n".join(lines) + "\n")
PY

GEN=(--local-net 10.10.0.0/16 --local-net 2001:db8:10::/48 --local-as 64500 --hosts 400)
# make_file EPOCH RATE: one nfcapd file; 1 if nfcapd lost flows (the file is removed).
make_file () {
  local epoch=$1 rate=$2 block
  block=$(date -u -d "@$epoch" +%Y%m%d%H%M)
  nfc_start "$DIR" "$block" -z || exit 1
  nfc_send --rate "$rate" < "$TMP/$epoch.csv" || exit 1
  nfc_send --rate "$rate" --source-id 2 -b 127.0.0.2 --generate 3000 --seed "$epoch" \
           --start $(( epoch * 1000 - 200000 )) --span 400000 "${GEN[@]}" || exit 1
  if ! nfc_stop 2>> "$TMP/nfc.log"; then
    [ -n "$NFC_FILE" ] && rm -f "$NFC_FILE"
    rm -f "$DIR/nfcapd.$block"
    return 1
  fi
}
made=0
for spec in "${blocks[@]}"; do
  epoch=${spec%%:*}
  # A busy machine makes nfcapd drop datagrams (4 MiB socket buffer): retry slower.
  make_file "$epoch" 30000 || make_file "$epoch" 8000 ||
    { cat "$TMP/nfc.log" >&2; exit 1; }
  made=$((made + 1))
  [ -t 1 ] && printf '\rdemo-data: %d/%d files' "$made" "${#blocks[@]}"
done
[ -t 1 ] && echo

# Passive-DNS names of the featured hosts (COF: rrname, rrtype, rdata, time_first, time_last).
python3 - "$PDNS" "$now" <<'PY'
import json, sys
path, now = sys.argv[1], int(sys.argv[2])
day = 86400
rows = [
    ("mail.shop-demo.example", "A", "10.10.25.25", now - 400 * day, now - 2 * day, 812),
    ("shop-demo.example", "A", "10.10.25.25", now - 400 * day, now - 1 * day, 5120),
    ("vps-2231.cheap-hosting.example", "A", "10.10.22.22", now - 90 * day, now - 3 * day, 44),
    ("tor-relay-1.example.net", "A", "10.10.90.50", now - 700 * day, now - 3600, 20480),
    ("exit-node.privacy-demo.example", "A", "10.10.90.50", now - 30 * day, now - 7200, 310),
    ("ns1.campus-demo.example", "AAAA", "2001:db8:10::53", now - 900 * day, now - 600, 9000),
    ("mx.campus-demo.example", "A", "10.10.25.1", now - 1500 * day, now - 300, 61000),
    ("ssh-gw.campus-demo.example", "A", "10.10.22.10", now - 800 * day, now - 900, 3100),
    ("www.campus-demo.example", "A", "10.10.80.80", now - 1200 * day, now - 60, 240000),
]
with open(path, "w") as f:
    for rrname, rrtype, rdata, first, last, count in rows:
        f.write(json.dumps({"rrname": rrname, "rrtype": rrtype, "rdata": rdata,
                            "time_first": first, "time_last": last, "count": count}) + "\n")
PY
echo "$made files, $(date -u -d "@${blocks[0]%%:*}" +%F) to $(date -u -d "@${blocks[-1]%%:*}" +%F), made $(date -u +%FT%TZ), $VERSION" > "$DONE"
echo "demo-data: done in $(( $(date +%s) - start )) s: $(cat "$DONE")"
