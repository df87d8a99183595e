#!/usr/bin/env bash
# tests/system/api_test.sh - the gateway's HTTP API answers what nfdump says it should.
#
# Makes real nfcapd files with Debian's nfcapd (two exporters, five blocks over two days:
# tests/lib/query_files.sh), starts a broker, two shards, two ingestors and the gateway as
# real processes on free ports, feeds the spools, waits until every file is done, then:
# every endpoint's JSON against oracle_days.py (api_check.py: days, top per day x op x
# port, series and host of several hosts, with the promised Cache-Control), the CSV
# series against the JSON one, /api/status against `portevo status --json`, bad
# parameters (400 naming the parameter), unknown paths and methods, /health, the static
# UI (MIME types, security headers, no path traversal), a shard killed before the query
# (answers within the deadline naming it in missing_shards, 503 for its hosts), every
# shard down (503), the broker down (the gateway keeps its map), and a clean SIGTERM.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nfcapd.sh"
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/query_files.sh"
LIB=$ROOT/tests/lib
NFC_LOGDIR=$WORK
DEADLINE_MSECS=300

for need in portevo portevo-broker portevo-shard portevo-ingest portevo-gateway nf_send; do
  dir=$BIN; [ "$need" = nf_send ] && dir=$TOOLS
  [ -x "$dir/$need" ] || { fail "missing $dir/$need (run make)"; finish; }
done

# http_get PATH [curl options...]: the body on stdout; HTTP_STATUS and HTTP_HEADERS set.
http_get () {
  local path=$1; shift
  HTTP_STATUS=$(curl -s -o "$WORK/http.body" -D "$WORK/http.headers" -w '%{http_code}' \
    --max-time 10 "$@" "$URL$path")
  HTTP_HEADERS=$(tr -d '\r' < "$WORK/http.headers")
  cat "$WORK/http.body"
}

# header NAME: the value of a response header of the last http_get (case-insensitive).
header () {
  sed -n "s/^$1: //Ip" <<< "$HTTP_HEADERS" | head -n 1
}

# ----------------------------------------------------------------------------------
if query_make_files; then
  pass "nfcapd wrote ${#FILES_a[@]} + ${#FILES_b[@]} files of two exporters; oracle computed"
else
  fail "making the nfcapd files or the oracle"; finish
fi

cluster_init api 2 a b
cluster_start_all
HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
spawn "$BIN/portevo-gateway" --config "$CL_CONFIG" --http "127.0.0.1:$HTTP_PORT" \
  --deadline-msecs "$DEADLINE_MSECS" --web "$ROOT/web" >> "$CL_DIR/logs/gateway.log" 2>&1
GATEWAY_PID=$SPAWNED_PID
if cluster_wait_up; then pass "broker, 2 shards and 2 ingestors are up"; else
  fail "cluster did not come up: $(cat "$CL_DIR/status.json")"; cat "$CL_DIR"/logs/*.log; finish
fi
for _ in $(seq 1 100); do
  http_get /health > /dev/null
  [ "$HTTP_STATUS" = 200 ] && break
  sleep 0.1
done
check "/health answers 200 once the gateway has the map" \
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["status"] == "ok" and d["shards"] == 2 else 1)' "$WORK/http.body"

cluster_feed a "${FILES_a[@]}" && cluster_feed b "${FILES_b[@]}"
if cluster_wait_done 10; then pass "every file delivered and every block final"; else
  fail "delivery did not finish: $(cat "$CL_DIR/status.json")"; tail -n 20 "$CL_DIR"/logs/*.log
  finish
fi

# ----------------------------------------------------------------------------------
# Every endpoint against the oracle
python3 "$LIB/api_check.py" --url "$URL" --expected "$EXPECTED" --label "HTTP, 2 shards" \
  --shards 2 --hosts "$QUERY_HOSTS" || TEST_FAILED=1

# Estimated peers (gateway/API.md): the SSH scanner passed the 4096-peer cap in some
# blocks per nfdump's own flows (the oracle, not portevo, says which); its peers scores
# carry peers_capped: true, a host under the cap false.
check "oracle (nfdump): the scanner $QUERY_SCANNER reached the cap on 2026-11-20 in sum and max, not min" \
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
flags = {op: [e[2] for e in d["ranking"]["2026-11-20"][op]["22"]["peers"] if e[0] == sys.argv[2]]
         for op in ("sum", "max", "min")}
sys.exit(0 if flags == {"sum": [True], "max": [True], "min": [False]} else 1)' \
  "$EXPECTED" "$QUERY_SCANNER"
http_get "/api/top?date=2026-11-20&op=max&port=22" > "$WORK/top22.json"
check "/api/top: the scanner leads the peers of port 22 with peers_capped true, every other host false" \
  python3 -c '
import json, sys
peers = json.load(open(sys.argv[1]))["ports"][0]["features"]["peers"]
first, rest = peers[0], peers[1:]
sys.exit(0 if first["ip"] == sys.argv[2] and first["peers_capped"] is True and first["score"] > 4096
         and rest and all(e["peers_capped"] is False and e["score"] < 4096 for e in rest) else 1)' \
  "$WORK/top22.json" "$QUERY_SCANNER"
check "/api/top: only peers entries carry peers_capped" python3 -c '
import json, sys
features = json.load(open(sys.argv[1]))["ports"][0]["features"]
sys.exit(0 if all(("peers_capped" in e) == (f == "peers") for f, l in features.items() for e in l) else 1)' \
  "$WORK/top22.json"
for op_flags in "max:true,true" "min:false,true" "sum:true,true"; do
  op=${op_flags%%:*} flags=${op_flags#*:}
  http_get "/api/series?host=$QUERY_SCANNER&port=22&feature=peers&op=$op" > "$WORK/scan-$op.json"
  check "/api/series: the scanner's daily $op of peers is capped [$flags] beside its points" \
    python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["series"][0]
want = [f == "true" for f in sys.argv[2].split(",")]
sys.exit(0 if s["peers_capped"] == want and len(s["points"]) == len(want)
         and all(len(p) == 2 for p in s["points"]) else 1)' "$WORK/scan-$op.json" "$flags"
done
http_get "/api/series?host=$QUERY_SCANNER&port=22&feature=peers&op=max&format=csv" > "$WORK/scan.csv"
check "series as CSV, feature peers: a peers_capped column, true for the scanner's estimates" \
  python3 -c '
import csv, json, sys
s = json.load(open(sys.argv[1]))["series"][0]
want = [["22", d, str(v), "true" if c else "false"] for (d, v), c in zip(s["points"], s["peers_capped"])]
rows = list(csv.reader(open(sys.argv[2])))
sys.exit(0 if rows[0] == ["port", "date", "score", "peers_capped"] and rows[1:] == want
         and "true" in [r[3] for r in rows[1:]] else 1)' "$WORK/scan-max.json" "$WORK/scan.csv"
http_get "/api/series?host=10.1.0.1&port=all&feature=peers&op=max" > "$WORK/under.json"
check "/api/series: a host under the cap has peers_capped false on every point" python3 -c '
import json, sys
series = json.load(open(sys.argv[1]))["series"]
flags = [f for s in series for f in s["peers_capped"]]
sys.exit(0 if series and flags and not any(flags)
         and all(len(s["peers_capped"]) == len(s["points"]) for s in series) else 1)' "$WORK/under.json"

# The CSV series holds the JSON series' points
http_get "/api/series?host=10.1.0.1&port=all&feature=bytes&op=sum" > "$WORK/series.json"
http_get "/api/series?host=10.1.0.1&port=all&feature=bytes&op=sum&format=csv" > "$WORK/series.csv"
check "series as CSV: text/csv, header, one line per JSON point" python3 -c '
import csv, json, sys
series = json.load(open(sys.argv[1]))["series"]
want = [[str(s["port"]), day, str(score)] for s in series for day, score in s["points"]]
rows = list(csv.reader(open(sys.argv[2])))
sys.exit(0 if rows[0] == ["port", "date", "score"] and rows[1:] == want and want else 1)' \
  "$WORK/series.json" "$WORK/series.csv"
check "series as CSV: Content-Type text/csv" test "$(header content-type)" = "text/csv; charset=utf-8"

# /api/status is `portevo status --json` (ages and stats move between the two calls)
http_get /api/status > "$WORK/status-api.json"
cluster_status > "$WORK/status-cli.json"
check "/api/status is the document of portevo status --json" python3 -c '
import json, sys
def stable(path):
    d = json.load(open(sys.argv[path]))
    for peer in d["shards"] + d["ingestors"]:
        for key in ("age_msecs", "stats", "lag_secs", "flows_per_sec"):
            peer.pop(key, None)
    return d
a, b = stable(1), stable(2)
sys.exit(0 if a == b and len(a["shards"]) == 2 and len(a["ingestors"]) == 2 else 1)' \
  "$WORK/status-api.json" "$WORK/status-cli.json"
check "/api/status is not cached" test "$(header cache-control)" = "no-store"

# ----------------------------------------------------------------------------------
# Bad parameters: 400, {"error": ...} naming the parameter, nothing else
bad () {  # bad NAMED PATH
  local named=$1 path=$2
  http_get "$path" > "$WORK/bad.json"
  if [ "$HTTP_STATUS" = 400 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if list(d) == ["error"] and sys.argv[2] in d["error"] else 1)' "$WORK/bad.json" "$named"
  then pass "400 naming '$named': $path"
  else fail "bad parameter $path: HTTP $HTTP_STATUS $(head -c 300 "$WORK/bad.json")"; fi
}
bad date "/api/top?date=2026-02-30&op=sum"
bad date "/api/top?op=sum"
bad op "/api/top?date=2026-11-20&op=avg"
bad port "/api/top?date=2026-11-20&op=sum&port=70000"
bad date "/api/top?date=2026-11-20&date=2026-11-21&op=sum"
bad nope "/api/top?date=2026-11-20&op=sum&nope=1"
bad host "/api/series?host=1.2.3&port=all&feature=bytes&op=sum"
bad feature "/api/series?host=10.1.0.1&port=all&feature=flows&op=sum"
bad port "/api/series?host=10.1.0.1&port=65536&feature=bytes&op=sum"
bad from "/api/series?host=10.1.0.1&port=all&feature=bytes&op=sum&from=2026-11-21&to=2026-11-20"
bad retention "/api/series?host=10.1.0.1&port=all&feature=bytes&op=sum&from=2025-01-01&to=2026-01-01"
bad format "/api/series?host=10.1.0.1&port=all&feature=bytes&op=sum&format=xml"
bad ip "/api/host?ip=10.1.0.300"
bad ip "/api/host"
bad x "/api/days?x=1"
bad "percent escape" "/api/top?date=2026-11-20&op=s%zzm"

http_get /api/nope > /dev/null
check "unknown endpoint: 404 with a JSON error" test "$HTTP_STATUS" = 404 -a \
  "$(header content-type)" = "application/json; charset=utf-8"
http_get /api/days -X POST > /dev/null
check "POST: 405, Allow: GET, HEAD" test "$HTTP_STATUS" = 405 -a "$(header allow)" = "GET, HEAD"
check "HEAD: 200 with the length of the GET body and no body" python3 -c '
import http.client, sys
def ask(method):
    connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
    connection.request(method, "/api/days")
    response = connection.getresponse()
    return response.status, response.getheader("Content-Length"), response.read()
head, get = ask("HEAD"), ask("GET")
sys.exit(0 if head[0] == 200 and head[2] == b"" and head[1] == str(len(get[2])) else 1)' "$HTTP_PORT"

# ----------------------------------------------------------------------------------
# The static UI
http_get / > "$WORK/index.html"
check "/ serves web/index.html as text/html" bash -c \
  "[ '$HTTP_STATUS' = 200 ] && cmp -s '$WORK/index.html' '$ROOT/web/index.html' && [ '$(header content-type)' = 'text/html; charset=utf-8' ]"
check "the UI's Content-Security-Policy allows no inline script" bash -c \
  "grep -q \"script-src 'self';\" <<< \"$(header content-security-policy)\" && ! grep -q unsafe-inline <<< \"$(header content-security-policy)\""
check "the UI is sent with X-Content-Type-Options: nosniff" test "$(header x-content-type-options)" = nosniff
for file in $(cd "$ROOT/web" && find . -type f \( -name '*.js' -o -name '*.css' -o -name '*.svg' \) | head -n 20); do
  case "$file" in
    *.js) want="text/javascript; charset=utf-8" ;; *.css) want="text/css; charset=utf-8" ;;
    *.svg) want="image/svg+xml" ;;
  esac
  http_get "/${file#./}" > "$WORK/static"
  if [ "$HTTP_STATUS" = 200 ] && cmp -s "$WORK/static" "$ROOT/web/$file" && [ "$(header content-type)" = "$want" ]; then
    pass "static ${file#./}: 200, $want"
  else fail "static ${file#./}: HTTP $HTTP_STATUS, $(header content-type)"; fi
done
# The repository's Makefile sits next to web/: it must stay out of reach.
for path in "/../Makefile" "/%2e%2e/Makefile" "/js/../../Makefile" "/..%2fMakefile" \
            "/%2E%2E%2FMakefile" "/../../../../etc/passwd" "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"; do
  http_get "$path" --path-as-is > "$WORK/traversal"
  if [ "$HTTP_STATUS" = 404 ] && ! grep -q -e "Makefile" -e "root:" "$WORK/traversal"; then
    pass "path traversal refused: $path"
  else fail "path traversal: $path gave HTTP $HTTP_STATUS"; fi
done
http_get /js/ > /dev/null
check "directories are not listed" test "$HTTP_STATUS" = 404

errors=$(cluster_errors)
check "no error lines in the logs of a clean run" test -z "$errors"
[ -z "$errors" ] || echo "$errors" | head -n 20

# ----------------------------------------------------------------------------------
# A shard killed before the query: answers within the deadline, missing_shards names it
cluster_kill SHARD_PID_1
start=$(date +%s%N)
http_get "/api/top?date=2026-11-20&op=sum" > "$WORK/partial.json"
msecs=$((($(date +%s%N) - start) / 1000000))
check "shard-1 killed: /api/top answers 200 within the deadline (${msecs} ms) naming shard-1" \
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["missing_shards"] == ["shard-1"] and int(sys.argv[2]) < int(sys.argv[3]) + 700 else 1)' \
  "$WORK/partial.json" "$msecs" "$DEADLINE_MSECS"
check "a partial answer is not cached" test "$(header cache-control)" = "no-store"
python3 "$LIB/api_check.py" --url "$URL" --expected "$EXPECTED" --label "HTTP, shard-1 down" \
  --quick --shards 2 --down 1 --hosts "$QUERY_HOSTS" || TEST_FAILED=1

# Every shard down: 503 with an error naming them
cluster_kill SHARD_PID_0
http_get "/api/top?date=2026-11-20&op=sum" > "$WORK/none.json"
check "no shard answers: 503 {\"error\": ...} naming the shards" bash -c \
  "[ '$HTTP_STATUS' = 503 ] && grep -q '^{\"error\":\"no shard answered.*shard-0.*shard-1' '$WORK/none.json'"

# The broker down: the gateway keeps its map; /api/status says the broker is gone
cluster_kill BROKER_PID
sleep 0.3
http_get /health > /dev/null
check "broker down: /health still 200 (the map is kept)" test "$HTTP_STATUS" = 200
http_get /api/status > "$WORK/nobroker.json"
check "broker down: /api/status is 503 with an error" bash -c \
  "[ '$HTTP_STATUS' = 503 ] && grep -q '^{\"error\":' '$WORK/nobroker.json'"

# SIGTERM: a clean exit, soon
kill -TERM "$GATEWAY_PID"
start=$SECONDS
wait "$GATEWAY_PID"
rc=$?
check "SIGTERM: the gateway exits 0 within 3 s (exit $rc)" test $rc -eq 0 -a $((SECONDS - start)) -le 3
check "the gateway logged no error line" bash -c "! grep -q '^E: ' '$CL_DIR/logs/gateway.log'"
finish
