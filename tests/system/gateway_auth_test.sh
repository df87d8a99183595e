#!/usr/bin/env bash
# tests/system/gateway_auth_test.sh - the gateway can require a bearer token or basic auth.
#
# A broker, a shard and a gateway whose config names a credentials file (one bearer
# token, one basic user): without credentials the API and the UI answer 401 with a
# challenge and a JSON error, /health stays open; the token and the user's password are
# accepted (the API then answers as usual), a wrong password or token is refused, and the
# security headers of the UI are still sent.  A credentials file that others may read is
# refused at start, naming the file.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cluster.sh"
[ -x "$BIN/portevo-gateway" ] || { fail "missing $BIN/portevo-gateway (run make)"; finish; }
AUTH=$WORK/gateway.auth
printf '# who may read\nbearer tok-9f8e7d\nbasic alice:Op3n-sesame\n' > "$AUTH"
chmod 600 "$AUTH"
cluster_init auth 1
HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
cat >> "$CL_CONFIG" <<EOF2
    gateway
        http = "127.0.0.1:$HTTP_PORT"
        auth_file = "$AUTH"
EOF2
cluster_start_all
spawn "$BIN/portevo-gateway" --config "$CL_CONFIG" >> "$CL_DIR/logs/gateway.log" 2>&1
check "the gateway with credentials serves /health without them" \
  wait_for 20 curl -fsS -m 2 "$URL/health" -o /dev/null

# code_of PATH [curl options]: the HTTP status; headers in $WORK/h, body in $WORK/b
code_of () {
  local path=$1; shift
  curl -s -m 5 -o "$WORK/b" -D "$WORK/h" -w '%{http_code}' "$@" "$URL$path"
}
for path in /api/days /api/top?date=2026-11-20 /api/status /index.html /; do
  check "$path without credentials: 401" test "$(code_of "$path")" = 401
done
check "401 carries a Basic challenge (browsers ask for a password)" \
  grep -qi '^www-authenticate: Basic realm="portevo"' "$WORK/h"
code_of /api/days > /dev/null
check "401 has a JSON error saying what is missing" \
  grep -q '"error":"authentication required' "$WORK/b"
check "bearer token: /api/days answers 200" \
  test "$(code_of /api/days -H 'Authorization: Bearer tok-9f8e7d')" = 200
check "bearer token: the days JSON" grep -q '"days"' "$WORK/b"
check "wrong token: 401, credentials refused" \
  test "$(code_of /api/days -H 'Authorization: Bearer tok-9f8e7')" = 401
check "refused credentials are said so" grep -q 'not accepted' "$WORK/b"
check "basic auth: the UI answers 200" test "$(code_of /index.html -u alice:Op3n-sesame)" = 200
check "basic auth: the UI keeps its security headers" \
  grep -qi '^content-security-policy: default-src' "$WORK/h"
check "basic auth: /api/status answers 200" test "$(code_of /api/status -u alice:Op3n-sesame)" = 200
check "wrong password: 401" test "$(code_of /api/status -u alice:wrong)" = 401
check "an unknown API path with credentials: 404" \
  test "$(code_of /api/nope -H 'Authorization: Bearer tok-9f8e7d')" = 404

chmod 644 "$AUTH"
"$BIN/portevo-gateway" --config "$CL_CONFIG" --http "127.0.0.1:$(free_port)" \
  > "$WORK/open.log" 2>&1
check "a credentials file others may read: the gateway refuses to start" test $? -ne 0
check "and says which file and why" grep -q "auth: $AUTH holds secrets but others may read it" \
  "$WORK/open.log"
chmod 600 "$AUTH"
check "no unexpected error in the logs" test -z "$(cluster_errors)"
finish
