#!/usr/bin/env bash
# tests/system/query_test.sh - the whole pipeline answers what nfdump says it should.
#
# Makes real nfcapd files (Debian's nfcapd fed by nf_send, tests/lib/nfcapd.sh) for two
# exporters holding parts of the same five blocks over two days (query_data.py), starts a
# broker, three shards and two ingestors (one spool each) as real processes on free
# ports, feeds the spools the way nfcapd does, waits until `portevo status` shows every
# file done, and compares `portevo top/series/days/host --json` for every day x op x
# port and several hosts x feature x op (ALL* and single ports) with oracle_days.py,
# which merges the blocks across exporters and computes the daily sum/max/min and top 10
# (ties by address) from `nfdump -o csv` alone.  Then: the text tables, bad parameters
# (exit 2, naming the parameter, before any traffic), `portevo annotate` of a passive-DNS
# file with hostile names and malformed lines (counted in top, listed by host, stored
# once when imported twice), a shard down (partial answers naming it, errors for its
# hosts) and every shard down (error JSON, exit 1).  The crash variants are in
# query_crash_test.sh.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/query_files.sh"

# ----------------------------------------------------------------------------------
# Bad parameters: exit 2 at once (nothing listens on the broker endpoint: a request
# would wait for its timeout), a message naming the parameter, the error as JSON.
bad_params () {  # bad_params WHAT NAMED ARGS...
  local what=$1 named=$2; shift 2
  local start=$SECONDS
  "$PORTEVO" "$@" --json --broker tcp://127.0.0.1:9 --timeout 3000 \
    > "$WORK/bad.out" 2> "$WORK/bad.err"
  local rc=$?
  if [ $rc -eq 2 ] && [ $((SECONDS - start)) -le 1 ] && grep -qF -- "$named" "$WORK/bad.err" &&
     python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if sys.argv[2] in d["error"] and len(d) == 1 else 1)' \
       "$WORK/bad.out" "$named"; then
    pass "bad parameters: $what -> exit 2 naming $named"
  else
    fail "bad parameters: $what: exit $rc, stderr: $(head -c 300 "$WORK/bad.err"), stdout: $(head -c 300 "$WORK/bad.out")"
  fi
}
bad_params "impossible date" "--date" top --date 2026-02-30 --op sum
bad_params "unknown op" "--op" top --date 2026-11-20 --op avg
bad_params "port out of range" "--port" top --date 2026-11-20 --op sum --port 65536
bad_params "unknown feature" "--feature" series --host 10.1.0.1 --port all --feature flows --op sum
bad_params "bad IP" "--host" series --host 10.1.0.300 --port 22 --feature bytes --op sum
bad_params "from after to" "--from" series --host 10.1.0.1 --port 22 --feature bytes --op sum \
  --from 2026-11-21 --to 2026-11-20
bad_params "host without IP" "IP address is required" host
bad_params "host with a name" "host:" host example.org

# ----------------------------------------------------------------------------------
query_setup

cluster_init main 3 a b
cluster_start_all
if cluster_wait_up; then pass "broker, 3 shards and 2 ingestors are up"; else
  fail "cluster did not come up: $(cat "$CL_DIR/status.json")"; cat "$CL_DIR"/logs/*.log; finish
fi
cluster_feed a "${FILES_a[@]}" && cluster_feed b "${FILES_b[@]}"
if cluster_wait_done 10; then pass "every file delivered and every block final"; else
  fail "delivery did not finish: $(cat "$CL_DIR/status.json")"; tail -n 20 "$CL_DIR"/logs/*.log
  finish
fi

python3 "$LIB/query_check.py" --portevo "$PORTEVO" --broker "$CL_BROKER" --expected "$EXPECTED" \
  --label "3 shards, 2 exporters" --hosts "$QUERY_HOSTS" || TEST_FAILED=1

# ----------------------------------------------------------------------------------
# Text tables
text_has () {  # text_has WHAT PATTERN ARGS...
  local what=$1 pattern=$2; shift 2
  "$PORTEVO" "$@" --broker "$CL_BROKER" > "$WORK/text.out" 2> "$WORK/text.err"
  local rc=$?
  if [ $rc -eq 0 ] && grep -qE -- "$pattern" "$WORK/text.out"; then pass "text: $what"; else
    fail "text: $what: exit $rc, no /$pattern/ in: $(head -c 500 "$WORK/text.out") $(head -c 300 "$WORK/text.err")"
  fi
}
text_has "top names ports with their service and scales bytes" '^port 25 \(SMTP\)' \
  top --date 2026-11-20 --op sum
text_has "top shows bytes in human units" ' [0-9.]+ (B|kB|MB)$' top --date 2026-11-20 --op max --port 80
text_has "series lists days" '^  2026-11-2[01] ' series --host 10.1.0.1 --port all --feature durations --op sum
text_has "host shows first and last seen" '^first seen   2026-11-20T' host 10.1.0.1
text_has "series marks the scanner's estimated peers with ~" '^  2026-11-20  +~[0-9]+$' \
  series --host "$QUERY_SCANNER" --port 22 --feature peers --op max
text_has "series explains the ~ mark" '^~ estimate: more than 4096 distinct peers' \
  series --host "$QUERY_SCANNER" --port 22 --feature peers --op max
text_has "top marks the scanner's estimated peers with ~" "^  peers +1  $QUERY_SCANNER +~[0-9]+\$" \
  top --date 2026-11-20 --op sum --port 22
text_has "days lists both days" '^2026-11-21$' days

# ----------------------------------------------------------------------------------
# Passive DNS: A, AAAA, PTR (IPv4 and IPv6), an RRset, hostile names, other types,
# malformed lines (9 and 10), a host without traffic.
PTR6=$(python3 -c 'import ipaddress; print(ipaddress.ip_address("2001:db8:1::2").reverse_pointer)')
cat > "$WORK/pdns.json" <<EOF
{"rrname":"mail.example.org.","rrtype":"A","rdata":"10.1.0.1","time_first":1795168800,"time_last":1795255200,"count":4}
{"rrname":"1.0.1.10.in-addr.arpa.","rrtype":"PTR","rdata":"host1.example.net.","time_first":1795168800,"time_last":1795168900}
{"rrname":"v6.example.org","rrtype":"AAAA","rdata":"2001:db8:1::1","time_first":1795168800,"time_last":1795168800}
{"rrname":"$PTR6","rrtype":"PTR","rdata":"six.example.net","time_first":1795168800,"time_last":1795168800}
{"rrname":"<img src=x onerror=alert(1)>","rrtype":"A","rdata":"10.1.0.3","time_first":1795168800,"time_last":1795168800}
{"rrname":"esc\u001b[31m.example.org","rrtype":"A","rdata":"10.1.0.4","time_first":1795168800,"time_last":1795168800}
{"rrname":"txt.example.org","rrtype":"TXT","rdata":"v=spf1 -all","time_first":1795168800,"time_last":1795168800}
{"rrname":"quiet.example.org","rrtype":"A","rdata":"10.9.9.9","time_first":1795168800,"time_last":1795168800}
not json at all
{"rrname":"bad.example.org","rrtype":"A","rdata":"not-an-ip","time_first":1,"time_last":2}
{"rrname":"rrset.example.org","rrtype":"A","rdata":["10.1.0.7","10.1.0.8"],"time_first":1795168800,"time_last":1795168800}
EOF
cat > "$WORK/pdns-counts.json" <<'EOF'
{"10.1.0.1": 2, "2001:db8:1::1": 1, "2001:db8:1::2": 1, "10.1.0.3": 1, "10.1.0.4": 1,
 "10.9.9.9": 1, "10.1.0.7": 1, "10.1.0.8": 1}
EOF
ANNOTATED=10.1.0.1,10.1.0.3,10.1.0.4,10.1.0.7,10.9.9.9,2001:db8:1::1,2001:db8:1::2
for round in 1 2; do
  "$PORTEVO" annotate --broker "$CL_BROKER" "$WORK/pdns.json" > "$WORK/annotate.out" \
    2> "$WORK/annotate.err"
  rc=$?
  if [ $rc -eq 0 ] && grep -q ': 11 lines: 9 annotations, 9 stored, 0 not delivered; 1 records of other types, 2 malformed lines' "$WORK/annotate.err" &&
     grep -q 'pdns.json:9: ' "$WORK/annotate.err" && grep -q 'pdns.json:10: ' "$WORK/annotate.err"; then
    pass "annotate (round $round): 9 stored, TXT skipped, lines 9 and 10 reported malformed"
  else
    fail "annotate (round $round): exit $rc: $(cat "$WORK/annotate.err")"
  fi
  # Imported twice, stored once: the counts stay
  python3 "$LIB/query_check.py" --portevo "$PORTEVO" --broker "$CL_BROKER" --quick \
    --expected "$EXPECTED" --label "annotated, round $round" --hosts "$ANNOTATED" \
    --annotations "$WORK/pdns-counts.json" || TEST_FAILED=1
done
"$PORTEVO" host 10.1.0.3 --json --broker "$CL_BROKER" > "$WORK/host3.json"
check "a hostile name comes back as the same text, JSON-escaped only" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
a = d["annotations"]
sys.exit(0 if len(a) == 1 and a[0]["rrname"] == "<img src=x onerror=alert(1)>" and a[0]["rrtype"] == "A"
         and a[0]["first_seen"] == "2026-11-20T10:00:00Z" else 1)' "$WORK/host3.json"
"$PORTEVO" host 10.1.0.4 --json --broker "$CL_BROKER" > "$WORK/host4.json"
check "an escape character is \\u001b in JSON" grep -qF 'esc\u001b[31m.example.org' "$WORK/host4.json"
"$PORTEVO" host 10.1.0.4 --broker "$CL_BROKER" > "$WORK/host4.txt"
check "the text table does not pass an escape character to the terminal" \
  bash -c "grep -q 'esc?\\[31m.example.org' '$WORK/host4.txt' && ! grep -q \$'\\x1b' '$WORK/host4.txt'"

errors=$(cluster_errors)
check "no error lines in the logs of a clean run" test -z "$errors"
[ -z "$errors" ] || echo "$errors" | head -n 20

# ----------------------------------------------------------------------------------
# One shard down: the others answer, missing_shards names it; its hosts get errors
cluster_kill SHARD_PID_1
python3 "$LIB/query_check.py" --portevo "$PORTEVO" --broker "$CL_BROKER" --quick \
  --expected "$EXPECTED" --label "shard-1 down" --hosts "$QUERY_HOSTS" --shards 3 --down 1 \
  --deadline-msecs 300 --annotations "$WORK/pdns-counts.json" || TEST_FAILED=1

# Annotations for hosts of the down shard are reported not delivered (exit 1); the
# others are stored
on_down=$(cd "$LIB" && python3 -c 'import query_check as q, json, sys
counts = json.load(open(sys.argv[1]))
print(sum(1 for ip in counts for _ in range(counts[ip]) if q.slot_of(ip) % 3 == 1))' \
  "$WORK/pdns-counts.json")
"$PORTEVO" annotate --deadline-msecs 200 --broker "$CL_BROKER" "$WORK/pdns.json" \
  > /dev/null 2> "$WORK/annotate-down.err"
rc=$?
if [ "$on_down" -gt 0 ]; then
  check "annotate with shard-1 down: exit 1, $on_down annotations not delivered" \
    bash -c "[ $rc -eq 1 ] && grep -q 'giving up on shard-1' '$WORK/annotate-down.err' &&
             grep -q ' $((9 - on_down)) stored, $on_down not delivered;' '$WORK/annotate-down.err'"
else
  check "annotate with shard-1 down (none of its hosts annotated): exit 0" test $rc -eq 0
fi

# Every shard down: error JSON, exit 1
cluster_kill SHARD_PID_0
cluster_kill SHARD_PID_2
for query in "top --date 2026-11-20 --op sum" "days"; do
  # shellcheck disable=SC2086
  "$PORTEVO" $query --json --deadline-msecs 300 --broker "$CL_BROKER" > "$WORK/none.out" \
    2> "$WORK/none.err"
  rc=$?
  check "no shard answers $query: exit 1 and an error naming the shards" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if int(sys.argv[2]) == 1 and list(d) == ["error"] and "shard-0" in d["error"]
         and "no shard answered" in d["error"] else 1)' "$WORK/none.out" "$rc"
done

# The broker down: error, exit 1
cluster_kill BROKER_PID
"$PORTEVO" days --json --timeout 300 --broker "$CL_BROKER" > "$WORK/nobroker.out" 2>/dev/null
rc=$?
check "no broker: exit 1 and an error JSON" \
  bash -c "[ $rc -eq 1 ] && grep -q '^{\"error\":\"no slot map from the broker' '$WORK/nobroker.out'"
finish
