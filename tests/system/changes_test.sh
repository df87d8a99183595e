#!/usr/bin/env bash
# tests/system/changes_test.sh - /api/changes answers what nfdump's own output says.
#
# Makes real nfcapd files with Debian's nfcapd (tests/lib/changes_data.py: eight days
# ending yesterday, a spike, hosts new to a port and to the top 10, a host back after
# silence), starts a broker, two shards, an ingestor and the gateway as real processes,
# feeds the spool, then compares /api/changes for every day and several op, k and window
# values with changes_check.py (an independent computation over oracle_days.py's
# output, which reads the files with `nfdump -o csv`).  Also: the gateway's configured
# defaults (--changes-k, --changes-window) apply when the request has none; bad
# parameters get 400 naming the parameter; a day without data has no ports; a shard
# killed before the query is named in missing_shards.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/changes_files.sh"
LIB=$ROOT/tests/lib
DEADLINE_MSECS=400

for need in portevo portevo-broker portevo-shard portevo-ingest portevo-gateway nf_send; do
  dir=$BIN; [ "$need" = nf_send ] && dir=$TOOLS
  [ -x "$dir/$need" ] || { fail "missing $dir/$need (run make)"; finish; }
done

changes_make_files
changes_start changes --deadline-msecs "$DEADLINE_MSECS" --changes-k 3 --changes-window 5

# ----------------------------------------------------------------------------------
# The test data exercise every reason (the oracle says so, not portevo)
python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$LAST" \
  --k 4 --window 28 --label x --print-expected > "$WORK/last.json"
python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$LAST" \
  --k 4 --window 1 --label x --print-expected > "$WORK/last1.json"
check "the oracle's last day has a spike, first-ever pairs in and out of the top 10, a new IPv6 host" \
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
rows = {(p["port"], c["ip"], c["feature"]): c["reasons"] for p in d["ports"] for c in p["changes"]}
ok = "spike" in rows.get((25, "10.2.0.5", "bytes"), [])
ok = ok and rows.get((25, "10.2.0.50", "bytes")) == ["first_ever", "new_top"]
ok = ok and rows.get((22, "10.2.0.70", "bytes")) == ["first_ever"]
ok = ok and "first_ever" in rows.get((80, "10.2.0.3", "bytes"), [])
ok = ok and "first_ever" in rows.get((25, "2001:db8:2::1", "bytes"), [])
ok = ok and "spike" in rows.get((80, "10.2.0.60", "bytes"), [])
sys.exit(0 if ok else 1)' "$WORK/last.json"
check "with a one-day window the oracle has 10.2.0.60 back after silence on port 80" \
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
rows = {(p["port"], c["ip"], c["feature"]): c["reasons"] for p in d["ports"] for c in p["changes"]}
sys.exit(0 if "back" in rows.get((80, "10.2.0.60", "bytes"), []) else 1)' "$WORK/last1.json"

# Every day, op sum, explicit k=4 window=28 (the documented defaults)
for day in "${DAYS[@]}"; do
  python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$day" \
    --query-op --k 4 --window 28 --query-k 4 --query-window 28 --label "2 shards" ||
    TEST_FAILED=1
done
# Other operations, factors and windows on the last two days
for day in "${DAYS[-2]}" "$LAST"; do
  for op in max min; do
    for kw in "2 3" "10 1" "1 7"; do
      set -- $kw
      python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$day" \
        --op "$op" --query-op --k "$1" --window "$2" --query-k "$1" --query-window "$2" \
        --label "2 shards" || TEST_FAILED=1
    done
  done
done
# The gateway's configured defaults (--changes-k 3 --changes-window 5), op sum by default
python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$LAST" \
  --k 3 --window 5 --label "configured defaults k=3 window=5" || TEST_FAILED=1

# Sparklines (/api/sparks): the top 10s with each host's last N days, one request
for day in "${DAYS[-2]}" "$LAST"; do
  for op in sum min; do
    for days in 14 3; do
      python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$day" \
        --op "$op" --query-op --sparks "$days" --label "2 shards" || TEST_FAILED=1
    done
  done
done
python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$LAST" \
  --sparks 14 --label "sparks: op and days by default" || TEST_FAILED=1

# A day without data: no ports
empty=$(date -u -d "${DAYS[0]} - 20 days" +%F)
http_get "/api/changes?date=$empty" > "$WORK/empty.json"
check "a day without data: 200 and no ports" bash -c \
  "[ '$HTTP_STATUS' = 200 ] && grep -q '\"ports\":\[\],\"missing_shards\":\[\]' '$WORK/empty.json'"

# Bad parameters: 400 naming the parameter
for bad in "op=sum" "date=$LAST&k=0" "date=$LAST&k=1001" "date=$LAST&k=2.5" \
           "date=$LAST&window=0" "date=$LAST&window=181" "date=$LAST&op=avg" \
           "date=2026-02-30" "date=$LAST&port=25" "date=$LAST&k=4&k=5" \
           "sparks?date=$LAST&days=32" "sparks?date=$LAST&days=0" "sparks?date=$LAST&k=4"; do
  name=${bad##*&}; name=${name%%=*}
  [ "$bad" = "op=sum" ] && name=date
  [ "$bad" = "date=2026-02-30" ] && name=date
  [ "$bad" = "date=$LAST&k=4&k=5" ] && name=k
  path=/api/changes?$bad
  [[ $bad == sparks\?* ]] && path=/api/$bad
  http_get "$path" > "$WORK/bad.json"
  check "$path: 400 naming '$name'" bash -c \
    "[ '$HTTP_STATUS' = 400 ] && grep -q \"^{\\\"error\\\":\\\".*$name\" '$WORK/bad.json'"
done

errors=$(cluster_errors)
check "no error lines in the logs" test -z "$errors"
[ -z "$errors" ] || echo "$errors" | head -n 20

# A shard killed before the query: 200 within the deadline, missing_shards names it
cluster_kill SHARD_PID_1
http_get "/api/changes?date=$LAST" > "$WORK/partial.json"
check "shard-1 killed: /api/changes answers 200 naming shard-1 in missing_shards" bash -c \
  "[ '$HTTP_STATUS' = 200 ] && grep -q '\"missing_shards\":\[\"shard-1\"\]' '$WORK/partial.json'"
cluster_kill SHARD_PID_0
http_get "/api/changes?date=$LAST" > /dev/null
check "no shard answers: 503" test "$HTTP_STATUS" = 503
finish
