#!/usr/bin/env bash
# tests/system/browser_changes_test.sh - the "What changed" page in a real browser.
#
# The files and cluster of changes_test.sh (tests/lib/changes_files.sh: eight days of
# nfcapd files written by Debian's nfcapd, broker, 2 shards, ingestor, gateway), passive-DNS
# names with an HTML payload for a host new on the last day (`portevo annotate`), the
# expected rows of the last day for op sum and max from changes_check.py (an independent
# computation over nfdump's output), then Debian's chromium through playwright-core
# (tests/browser/changes_test.mjs): the nav link, the rows in order with their reasons,
# the badge's names as text, the operation selector, the link to the host graph, back;
# and the overview's 14-day sparklines beside every top-10 row (one /api/sparks request)
# against the same computation.
# Screenshots go to build/test-out/screenshots/changes/.
set -u
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/changes_files.sh"
LIB=$ROOT/tests/lib
SHOTS=$ROOT/build/test-out/screenshots/changes
XSS_HOST=10.2.0.50

for need in portevo portevo-broker portevo-shard portevo-ingest portevo-gateway nf_send; do
  dir=$BIN; [ "$need" = nf_send ] && dir=$TOOLS
  [ -x "$dir/$need" ] || { fail "missing $dir/$need (run make)"; finish; }
done
browser_ready || finish

changes_make_files
changes_start browser_changes --changes-k 4 --changes-window 28

T=$(date +%s)
cat > "$WORK/pdns.json" <<JSON
{"rrname":"<img src=x onerror=alert(1)>","rrtype":"A","rdata":"$XSS_HOST","time_first":$((T - 86400)),"time_last":$((T - 3600)),"count":3}
JSON
if "$BIN/portevo" annotate --config "$CL_CONFIG" "$WORK/pdns.json" > "$WORK/annotate.log" 2>&1; then
  pass "portevo annotate imports a name with an HTML payload for $XSS_HOST"
else
  fail "portevo annotate: $(tr '\n' ' ' < "$WORK/annotate.log")"
fi
for op in sum max; do
  python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$LAST" --op "$op" \
    --k 4 --window 28 --label x --print-expected > "$WORK/$op.json" ||
    { fail "changes_check.py --print-expected"; finish; }
done
python3 "$LIB/changes_check.py" --url "$URL" --expected "$EXPECTED" --date "$LAST" --sparks 14 \
  --label x --print-expected > "$WORK/sparks.json" || { fail "changes_check.py --sparks"; finish; }
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
(cd "$ROOT" && timeout 180 node tests/browser/changes_test.mjs --url "$URL/" --sum "$WORK/sum.json" \
  --max "$WORK/max.json" --sparks "$WORK/sparks.json" --xss-host "$XSS_HOST" --shots "$SHOTS") || TEST_FAILED=1
errors=$(cluster_errors)
check "no error lines in the logs" test -z "$errors"
finish
