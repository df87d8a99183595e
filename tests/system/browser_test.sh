#!/usr/bin/env bash
# tests/system/browser_test.sh - the web UI in a real browser against a real cluster.
#
# Makes real nfcapd files (Debian's nfcapd fed by nf_send, tests/lib/nfcapd.sh) of two
# recent days in which 10.1.0.25 is the top SMTP sender of the later day and 10.1.0.7 of
# the earlier one (plus a generated background, and a foreign source sending more than
# both, which must not count), computes what the UI must show from `nfdump -o csv`
# (tests/lib/oracle.py: the top IP and exact score, the host's ports, its first and last
# day), starts `portevo up` (broker, two shards, ingestor, gateway) on a free HTTP port,
# imports passive-DNS names for 10.1.0.25, one of them `<img src=x onerror=alert(1)>`, with
# `portevo annotate`, then drives Debian's chromium through playwright-core
# (tests/browser/ui_test.mjs): overview, annotation badge and tooltip, click to the graph
# (title, log y axis, form filled in to match, zoom), ALL* (one curve per port with
# data), back/forward, remembered IP, date picker, operation selector, a day without data,
# a bad date and a bad host in the URL, a host without traffic, the estimate mark on the
# peers of an SSH scanner 10.1.0.22 past the 4096-peer cap (overview and graph legend;
# nfdump's flows say which days reached the cap) and none for a host under it; then, with shard-1
# stopped (SIGSTOP), the notice naming the missing shard.  Screenshots of every page go to
# build/test-out/screenshots/.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
SHOTS=$ROOT/build/test-out/screenshots
HOST=10.1.0.25
RIVAL=10.1.0.7
FOREIGN=192.0.2.99
SCANNER=10.1.0.22

for need in "$BIN/portevo" "$BIN/portevo-broker" "$BIN/portevo-shard" "$BIN/portevo-ingest" \
            "$BIN/portevo-gateway" "$TOOLS/nf_send"; do
  [ -x "$need" ] || { fail "missing $need (run make)"; finish; }
done
browser_ready || finish

# ---------------------------------------------------------------------------------------
# Input: two recent days (retention keeps them), five blocks.
D1=$(date -u -d '2 days ago' +%F)
D2=$(date -u -d '1 day ago' +%F)
EMPTY_DAY=$(date -u -d '20 days ago' +%F)
BLOCKS=("$D1 10:00" "$D1 10:05" "$D2 10:00" "$D2 10:05" "$D2 14:00")
mkdir -p "$WORK/csv" "$WORK/spool"
python3 - "$WORK/csv" "$HOST" "$RIVAL" "$FOREIGN" "$SCANNER" "${BLOCKS[@]}" <<'PY'
import calendar, random, sys, time
out, host, rival, foreign, scanner = sys.argv[1:6]
for n, block in enumerate(sys.argv[6:]):
    t0 = calendar.timegm(time.strptime(block, "%Y-%m-%d %H:%M")) * 1000
    later_day = n >= 2
    rng = random.Random(n)
    lines = []
    def flow(src, dst, dport, packets, nbytes, dur, src_as=64500, dst_as=65001):
        first = t0 - rng.randrange(0, 120000)
        lines.append("%s,%s,%d,%d,6,%d,%d,%d,%d,%d,%d" % (
            src, dst, rng.randrange(30000, 60000), dport, packets, nbytes, first, first + dur,
            src_as, dst_as))
    # host: SMTP to many peers (heavy on the later day), a little web and Tor, and 443
    # (not monitored: must not become a curve)
    for i in range(60 if later_day else 3):
        flow(host, "198.51.100.%d" % (i + 1), 25, 900, rng.randrange(1500000, 2500000), 4000)
    for i in range(8):
        flow(host, "203.0.113.%d" % (i + 1), 80, 30, rng.randrange(20000, 90000), 1500)
    for i in range(4):
        flow(host, "203.0.113.%d" % (100 + i), 443, 30, 50000, 900)
    if later_day:
        for i in range(3):
            flow(host, "203.0.113.%d" % (200 + i), 9050, 400, rng.randrange(300000, 900000), 60000)
    # rival: the top SMTP sender of the earlier day, small on the later one
    for i in range(40 if not later_day else 5):
        flow(rival, "198.51.100.%d" % (100 + i), 25, 700, rng.randrange(1500000, 2500000), 3000)
    # an SSH scanner: a few peers a block, 4500 (past the 4096 cap) in block 3 ($D2 10:05)
    for i in range(4500 if n == 3 else 10 * (n + 1)):
        flow(scanner, "198.19.%d.%d" % (i >> 8, i & 255), 22, 1, 60, 0)
    # a foreign source (other AS, other prefix): the most SMTP bytes, never counted
    for i in range(30):
        flow(foreign, "198.51.100.%d" % (200 + i), 25, 9000, 40000000, 9000, src_as=65002)
    with open("%s/%d.csv" % (out, n), "w") as f:
        f.write("\n".join(lines) + "\n")
PY

made=0
for i in "${!BLOCKS[@]}"; do
  ok=0
  for rate in 20000 5000; do
    if nfc_start "$WORK/spool" "${BLOCKS[$i]}" -z &&
       nfc_send --rate "$rate" < "$WORK/csv/$i.csv" &&
       nfc_send --rate "$rate" --source-id 2 -b 127.0.0.2 --generate 1500 --seed "$((i + 7))" \
         --local-net 10.1.0.0/16 --local-as 64500 --hosts 200 \
         --start "$(( $(nfc_block_epoch "${BLOCKS[$i]}") * 1000 - 100000 ))" --span 300000 &&
       nfc_stop; then
      ok=1; break
    fi
    [ -n "$NFC_PID" ] && nfc_stop
    rm -f "$WORK/spool/nfcapd.$(TZ=UTC date -d "${BLOCKS[$i]}" +%Y%m%d%H%M)"
  done
  [ $ok = 1 ] && made=$((made + 1))
done
check "made ${#BLOCKS[@]} nfcapd files of $D1 and $D2 with Debian's nfcapd" [ "$made" = "${#BLOCKS[@]}" ]

# What the UI must show, from nfdump's CSV (oracle.py), not from portevo.
python3 "$ROOT/tests/lib/oracle.py" --local-as 64500 "$WORK"/spool/nfcapd.* > "$WORK/oracle.jsonl" ||
  { fail "oracle.py failed"; finish; }
python3 - "$WORK/oracle.jsonl" "$WORK/expect.json" "$HOST" "$FOREIGN" "$EMPTY_DAY" "$SCANNER" <<'PY'
import ipaddress, json, sys
from collections import defaultdict
src, dst, host, foreign, empty_day, scanner = sys.argv[1:7]
bytes25 = defaultdict(lambda: defaultdict(int))
blocks = defaultdict(list)  # (day, ip, port) -> [(peers, peers_capped)] per block
host_ports, host_days, days, seen = set(), set(), set(), set()
for line in open(src):
    r = json.loads(line)
    day = r["block"][:10]
    days.add(day)
    seen.add(r["ip"])
    blocks[(day, r["ip"], r["port"])].append((r["peers"], r["peers_capped"]))
    if r["port"] == 25:
        bytes25[day][r["ip"]] += r["bytes"]
    if r["ip"] == host:
        host_ports.add(r["port"])
        host_days.add(day)
def key(ip):
    a = ipaddress.ip_address(ip)
    if a.version == 4:
        a = ipaddress.IPv6Address("::ffff:" + ip)
    return int(a)
top25 = {}
for day, scores in bytes25.items():
    ip = sorted(scores, key=lambda ip: (-scores[ip], key(ip)))[0]
    top25[day] = {"ip": ip, "score": scores[ip]}
unknown = "10.1.255.254"
assert unknown not in seen
# Estimated peers, from nfdump's flows (oracle.py: peers_capped from 4096 distinct
# destinations in a block): per op, sum and max when some block reached the cap, min
# when the smallest did (gateway/API.md)
def capped(day, ip, port):
    b = blocks.get((day, ip, port), [])
    some = any(c for _, c in b)
    return {"sum": some, "max": some, "min": bool(b) and min(p for p, _ in b) >= 4096}
def top_peers(day, port, op):
    agg = {"sum": sum, "max": max, "min": min}[op]
    scores = {ip: agg(p for p, _ in b) for (d, ip, p_), b in blocks.items() if d == day and p_ == port}
    return sorted(scores, key=lambda ip: (-scores[ip], key(ip)))[0]
scan_days = sorted(d for d in days if (d, scanner, 22) in blocks)
scan_day = max(scan_days)
estimates = {"ip": scanner, "port": 22, "day": scan_day,
             "capped": capped(scan_day, scanner, 22),
             "capped_days_max": [d for d in scan_days if capped(d, scanner, 22)["max"]],
             "top_max": top_peers(scan_day, 22, "max"),
             "under": {"ip": host, "port": 25, "capped": capped(scan_day, host, 25)}}
json.dump({
    "days": sorted(days), "top25": top25, "host": host, "host_ports": sorted(host_ports),
    "host_first_day": min(host_days), "host_last_day": max(host_days), "foreign": foreign,
    "annotations": ["<img src=x onerror=alert(1)>", "mx1.example.test"],
    "empty_day": empty_day, "unknown_host": unknown, "missing_shard": "shard-1",
    "estimates": estimates,
}, open(dst, "w"), indent=1)
PY
cp "$WORK/expect.json" "$ROOT/build/test-out/browser_expect.json" 2>/dev/null
exp () { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$WORK/expect.json" "$1"; }
check "nfdump: $HOST is the top SMTP sender of $D2" [ "$(exp "d['top25']['$D2']['ip']")" = "$HOST" ]
check "nfdump: $RIVAL is the top SMTP sender of $D1" [ "$(exp "d['top25']['$D1']['ip']")" = "$RIVAL" ]
check "nfdump: $SCANNER reached the peer cap on $D2 (sum, max; not min), on no other day, and leads port 22" \
  [ "$(exp "(d['estimates']['capped'], d['estimates']['capped_days_max'], d['estimates']['top_max'], d['estimates']['under']['capped'])")" = \
    "({'sum': True, 'max': True, 'min': False}, ['$D2'], '$SCANNER', {'sum': False, 'max': False, 'min': False})" ]

# ---------------------------------------------------------------------------------------
# The cluster: portevo up with its gateway on a free port.
HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
spawn "$BIN/portevo" up --spool "$WORK/spool" --local-as 64500 --shards 2 --data "$WORK/data" \
  --http "127.0.0.1:$HTTP_PORT" > "$WORK/up.log" 2>&1
UP_PID=$SPAWNED_PID
up=0
for i in $(seq 1 150); do
  kill -0 "$UP_PID" 2>/dev/null || break
  curl -fsS -m 2 "$URL/health" > /dev/null 2>&1 && { up=1; break; }
  sleep 0.2
done
if [ $up != 1 ]; then
  fail "portevo up serves $URL/health"
  cat "$WORK/up.log"; tail -n 20 "$WORK"/data/logs/*.log 2>/dev/null
  finish
fi
pass "portevo up serves $URL/health"

# Wait until the ingestor delivered every file: the API then agrees with nfdump.
want="$(exp "d['top25']['$D2']['ip']") $(exp "d['top25']['$D2']['score']")"
got=
for i in $(seq 1 120); do
  got=$(curl -fsS -m 2 "$URL/api/top?date=$D2&op=sum&port=25" 2>/dev/null |
        python3 -c 'import json,sys
try:
    d=json.load(sys.stdin); p=[p for p in d["ports"] if p["port"]==25][0]["features"]["bytes"][0]
    print(p["ip"], p["score"])
except Exception: pass' 2>/dev/null)
  [ "$got" = "$want" ] && break
  sleep 0.5
done
check "the API's top SMTP sender of $D2 matches nfdump ($want; got ${got:-nothing})" [ "$got" = "$want" ]

# Passive-DNS names, one of them an HTML payload.
T=$(date +%s)
cat > "$WORK/pdns.json" <<JSON
{"rrname":"<img src=x onerror=alert(1)>","rrtype":"A","rdata":"$HOST","time_first":$((T - 86400 * 30)),"time_last":$((T - 3600)),"count":3}
{"rrname":"mx1.example.test.","rrtype":"A","rdata":"$HOST","time_first":$((T - 86400 * 300)),"time_last":$((T - 7200)),"count":120}
JSON
if "$BIN/portevo" annotate --config "$WORK/data/portevo.cfg" "$WORK/pdns.json" > "$WORK/annotate.log" 2>&1; then
  pass "portevo annotate imports the names ($(tr '\n' ' ' < "$WORK/annotate.log"))"
else
  fail "portevo annotate imports the names: $(tr '\n' ' ' < "$WORK/annotate.log")"
fi
for i in $(seq 1 40); do
  curl -fsS -m 2 "$URL/api/host?ip=$HOST" 2>/dev/null | grep -q 'onerror' && break
  sleep 0.25
done

# ---------------------------------------------------------------------------------------
# The browser.
rm -f "$SHOTS"/*.png
mkdir -p "$SHOTS"
cd "$ROOT"
timeout 300 node tests/browser/ui_test.mjs --url "$URL/" --expect "$WORK/expect.json" --shots "$SHOTS" \
  2>&1 | tee "$WORK/ui.log" | grep -E '^(PASS|FAIL|screenshots): '
grep -q '^FAIL: ' "$WORK/ui.log" && TEST_FAILED=1
grep -q '^PASS: ' "$WORK/ui.log" || { fail "ui_test.mjs ran no check: $(tail -n 5 "$WORK/ui.log" | tr '\n' ' ')"; }

# A shard that does not answer (stopped, so `portevo up` does not restart it).
SHARD_PID=$(ps -o pid=,args= --ppid "$UP_PID" | awk '/portevo-shard/ && / --name shard-1( |$)/ {print $1; exit}')
if [ -n "$SHARD_PID" ]; then
  kill -STOP "$SHARD_PID"
  timeout 120 node tests/browser/ui_test.mjs --url "$URL/" --expect "$WORK/expect.json" --shots "$SHOTS" \
    --phase missing 2>&1 | tee "$WORK/ui-missing.log" | grep -E '^(PASS|FAIL): '
  kill -CONT "$SHARD_PID"
  grep -q '^FAIL: ' "$WORK/ui-missing.log" && TEST_FAILED=1
  grep -q '^PASS: ' "$WORK/ui-missing.log" || fail "ui_test.mjs --phase missing ran no check"
else
  fail "found shard-1 among the children of portevo up ($UP_PID)"
fi
ls "$SHOTS"/*.png > /dev/null 2>&1 && echo "screenshots in $SHOTS: $(cd "$SHOTS" && ls *.png | tr '\n' ' ')"
finish
