#!/usr/bin/env bash
# tests/system/browser_direction_test.sh - the incoming view of the web UI in a real
# browser against a real cluster.
#
# Makes real nfcapd files (Debian's nfcapd fed by nf_send) of two recent days in which a
# Tor relay 10.1.0.50 receives on 9001 from many outside sources and a mail server
# 10.1.0.25 on 25 (and sends a little SMTP out), computes what the UI must show from
# `nfdump -o csv` (tests/lib/oracle.py --direction in and out: the top host of each port
# and feature, exact scores, the relay's incoming ports), starts `portevo up` with
# --local-net on a free HTTP port and drives Debian's chromium through playwright-core
# (tests/browser/direction_test.mjs): the overview's direction selector and heading,
# ?direction=in in the URL, the incoming 9001 table, a click to the relay's graph (title,
# form, curves), the Host Query Interface's direction, back to outgoing, and a bad
# direction in the URL.  Screenshots go to build/test-out/screenshots/direction-*.png.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
SHOTS=$ROOT/build/test-out/screenshots
RELAY=10.1.0.50
MAIL=10.1.0.25

for need in "$BIN/portevo" "$BIN/portevo-broker" "$BIN/portevo-shard" "$BIN/portevo-ingest" \
            "$BIN/portevo-gateway" "$TOOLS/nf_send"; do
  [ -x "$need" ] || { fail "missing $need (run make)"; finish; }
done
browser_ready || finish

D1=$(date -u -d '2 days ago' +%F)
D2=$(date -u -d '1 day ago' +%F)
BLOCKS=("$D1 10:00" "$D2 10:00")
mkdir -p "$WORK/csv" "$WORK/spool"
python3 - "$WORK/csv" "$RELAY" "$MAIL" "${BLOCKS[@]}" <<'PY'
import calendar, sys, time
out, relay, mail = sys.argv[1:4]
for n, block in enumerate(sys.argv[4:]):
    t0 = calendar.timegm(time.strptime(block, "%Y-%m-%d %H:%M")) * 1000
    lines = []
    def flow(src, dst, dport, packets, nbytes, src_as, dst_as, i):
        first = t0 - (i * 7919) % 120000
        lines.append("%s,%s,40000,%d,6,%d,%d,%d,%d,%d,%d" % (
            src, dst, dport, packets, nbytes, first, first + 1000, src_as, dst_as))
    for i in range(200 * (n + 1)):
        flow("198.18.%d.%d" % (i >> 8, i & 255), relay, 9001, 5, 4000 + i, 65001, 0, i)
    for i in range(60):
        flow("198.18.%d.%d" % (i >> 8, i & 255), relay, 9050, 2, 900, 65001, 0, i)
    for i in range(40):
        flow("198.51.100.%d" % (i + 1), mail, 25, 20, 30000, 65002, 0, i)
        flow("198.51.100.%d" % (i + 101), "10.1.0.%d" % (60 + i % 5), 25, 1, 100, 65002, 0, i)
    for i in range(5):  # the mail server also sends: it is in the outgoing view on 25
        flow(mail, "203.0.113.%d" % (i + 1), 25, 10, 20000, 0, 65003, i)
    with open("%s/%d.csv" % (out, n), "w") as f:
        f.write("\n".join(lines) + "\n")
PY
made=0
for i in "${!BLOCKS[@]}"; do
  if nfc_start "$WORK/spool" "${BLOCKS[$i]}" && nfc_send --rate 20000 < "$WORK/csv/$i.csv" &&
     nfc_stop; then
    made=$((made + 1))
  else
    [ -n "$NFC_PID" ] && nfc_stop
  fi
done
check "made ${#BLOCKS[@]} nfcapd files of $D1 and $D2 with Debian's nfcapd" [ "$made" = "${#BLOCKS[@]}" ]

# What the UI must show, from nfdump's CSV (oracle.py), not from portevo
for dir in in out; do
  python3 "$ROOT/tests/lib/oracle.py" --direction $dir --local-net 10.1.0.0/16 --ports 25,9001,9050 \
    "$WORK"/spool/nfcapd.* > "$WORK/oracle-$dir.jsonl" || { fail "oracle.py failed"; finish; }
done
python3 - "$WORK/oracle-in.jsonl" "$WORK/oracle-out.jsonl" "$WORK/expect.json" "$RELAY" "$MAIL" <<'PY'
import ipaddress, json, sys
from collections import defaultdict
src_in, src_out, dst, relay, mail = sys.argv[1:6]
def load(path):
    daily = defaultdict(lambda: defaultdict(int))  # (day, port) -> ip -> peers sum
    ports = defaultdict(set)
    days = set()
    for line in open(path):
        r = json.loads(line)
        day = r["block"][:10]
        days.add(day)
        daily[(day, r["port"])][r["ip"]] += r["peers"]
        ports[r["ip"]].add(r["port"])
    return daily, ports, days
def key(ip):
    a = ipaddress.ip_address(ip)
    return int(ipaddress.IPv6Address("::ffff:" + ip)) if a.version == 4 else int(a)
def top(daily, day, port):
    scores = daily.get((day, port), {})
    if not scores:
        return None
    ip = sorted(scores, key=lambda ip: (-scores[ip], key(ip)))[0]
    return {"ip": ip, "score": scores[ip]}
din, pin, days = load(src_in)
dout, pout, _ = load(src_out)
latest = max(days)
json.dump({"days": sorted(days), "latest": latest, "relay": relay, "mail": mail,
           "in_top_9001": top(din, latest, 9001), "out_top_9001": top(dout, latest, 9001),
           "in_top_25": top(din, latest, 25), "out_top_25": top(dout, latest, 25),
           "relay_in_ports": sorted(pin[relay]), "relay_out_ports": sorted(pout.get(relay, []))},
          open(dst, "w"), indent=1)
PY
exp () { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$WORK/expect.json" "$1"; }
check "nfdump: $RELAY has the most peers incoming on 9001 and none outgoing" \
  [ "$(exp "(d['in_top_9001']['ip'], d['out_top_9001'], d['relay_out_ports'])")" = "('$RELAY', None, [])" ]
check "nfdump: $MAIL leads 25 incoming and outgoing" \
  [ "$(exp "(d['in_top_25']['ip'], d['out_top_25']['ip'])")" = "('$MAIL', '$MAIL')" ]

HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
spawn "$BIN/portevo" up --spool "$WORK/spool" --local-net 10.1.0.0/16 --ports 25,9001,9050 \
  --shards 2 --data "$WORK/data" --http "127.0.0.1:$HTTP_PORT" > "$WORK/up.log" 2>&1
UP_PID=$SPAWNED_PID
up=0
for i in $(seq 1 150); do
  kill -0 "$UP_PID" 2>/dev/null || break
  curl -fsS -m 2 "$URL/health" > /dev/null 2>&1 && { up=1; break; }
  sleep 0.2
done
if [ $up != 1 ]; then
  fail "portevo up serves $URL/health"; cat "$WORK/up.log"; finish
fi
pass "portevo up serves $URL/health"
want="$(exp "d['in_top_9001']['ip']") $(exp "d['in_top_9001']['score']")"
got=
for i in $(seq 1 120); do
  got=$(curl -fsS -m 2 "$URL/api/top?date=$(exp "d['latest']")&op=sum&port=9001&direction=in" 2>/dev/null |
        python3 -c 'import json,sys
try:
    d=json.load(sys.stdin); p=d["ports"][0]["features"]["peers"][0]
    print(p["ip"], p["score"])
except Exception: pass' 2>/dev/null)
  [ "$got" = "$want" ] && break
  sleep 0.5
done
check "the API's incoming 9001 leader matches nfdump ($want; got ${got:-nothing})" [ "$got" = "$want" ]

mkdir -p "$SHOTS"
rm -f "$SHOTS"/direction-*.png
cd "$ROOT"
timeout 300 node tests/browser/direction_test.mjs --url "$URL/" --expect "$WORK/expect.json" \
  --shots "$SHOTS" 2>&1 | tee "$WORK/ui.log" | grep -E '^(PASS|FAIL): '
grep -q '^FAIL: ' "$WORK/ui.log" && TEST_FAILED=1
grep -q '^PASS: ' "$WORK/ui.log" || fail "direction_test.mjs ran no check: $(tail -n 5 "$WORK/ui.log" | tr '\n' ' ')"
finish
