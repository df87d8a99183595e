#!/usr/bin/env bash
# scripts/run-demo.sh - `make run`: a local portevo cluster on demo data, web UI at
# http://127.0.0.1:8080 (PORTEVO_HTTP=ADDR to change it).
#
# Makes the demo spool once (scripts/demo-data.sh: ten days of real nfcapd files with a
# spam bot, an SSH scanner, a Tor relay and three servers seen incoming, cached in
# ./portevo-data/demo-spool), starts
# `bin/portevo up` on it (broker, shards, ingestor, gateway; data in ./portevo-data),
# imports the passive-DNS names with `portevo annotate`, prints the URL and runs until
# Ctrl-C.  `rm -rf portevo-data` starts over.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DATA=${PORTEVO_DATA:-$ROOT/portevo-data}
HTTP=${PORTEVO_HTTP:-127.0.0.1:8080}
SPOOL=$DATA/demo-spool
export TZ=UTC

for need in bin/portevo bin/portevo-broker bin/portevo-shard bin/portevo-ingest bin/portevo-gateway; do
  [ -x "$need" ] || { echo "run-demo: $need missing: run 'make' first" >&2; exit 1; }
done
scripts/build-web.sh > /dev/null
scripts/demo-data.sh "$SPOOL"

if curl -fsS -m 2 "http://$HTTP/health" > /dev/null 2>&1; then
  echo "run-demo: something already answers on http://$HTTP/ (a demo running?); stop it or set PORTEVO_HTTP" >&2
  exit 1
fi

bin/portevo up --spool "$SPOOL" --local-as 64500 --local-net 10.10.0.0/16 \
  --local-net 2001:db8:10::/48 --shards 2 --data "$DATA" --http "$HTTP" &
UP=$!
stop () {
  trap - INT TERM
  kill -TERM "$UP" 2>/dev/null || true
  wait "$UP" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

# The gateway answers once the cluster is up.
for i in $(seq 1 150); do
  kill -0 "$UP" 2>/dev/null || { echo "run-demo: portevo up exited (logs: $DATA/logs/)" >&2; exit 1; }
  curl -fsS -m 2 "http://$HTTP/health" > /dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS -m 2 "http://$HTTP/health" > /dev/null 2>&1 ||
  { echo "run-demo: the gateway does not answer on http://$HTTP/ (logs: $DATA/logs/)" >&2; stop; }

# Annotations: every shard must be registered to take its hosts' names.
for i in $(seq 1 20); do
  if bin/portevo annotate --config "$DATA/portevo.cfg" "$SPOOL.pdns.json" > "$DATA/annotate.log" 2>&1; then
    break
  fi
  sleep 0.5
done || true
grep -q . "$DATA/annotate.log" && sed 's/^/run-demo: annotate: /' "$DATA/annotate.log"

# Wait (a little) for the ingestor to deliver the spool, so the first page is full.
files=$(find "$SPOOL" -name 'nfcapd.2*' | wc -l)
last=$(find "$SPOOL" -name 'nfcapd.2*' -printf '%f\n' | sort | tail -n 1 | sed 's/nfcapd\.\(....\)\(..\)\(..\).*/\1-\2-\3/')
for i in $(seq 1 60); do
  curl -fsS -m 2 "http://$HTTP/api/days" 2>/dev/null | grep -q "\"$last\"" && break
  sleep 0.5
done

cat <<MSG

  portevo demo: $files nfcapd files of $(cat "$SPOOL.done" | sed 's/^[0-9]* files, //; s/, made.*//')
  web UI:       http://$HTTP/
  try:          the spam bot 10.10.25.25 (port 25, peers), the SSH scanner 10.10.22.22
                (port 22, peers, max), the Tor relay 10.10.90.50 (ALL*, Other ports);
                incoming: the SSH gateway 10.10.22.10 (port 22, peers), the mail
                exchanger 10.10.25.1, the web server 10.10.80.80
  data, logs:   $DATA  (rm -rf it to start over)
  Ctrl-C stops the cluster.

MSG
wait "$UP"
