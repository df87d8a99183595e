# tests/lib/cluster.sh - a whole portevo cluster of real processes for system tests.
#
# Sourced after common.sh (spawn, free_port, $BIN, $WORK).  Every process is started by
# hand (not by `portevo up`) on test-chosen free ports, so that a test can kill and
# restart any one of them.  All processes read one config file (proto/CONFIG.md).
#
#   cluster_init NAME SHARDS INGESTOR...   config, data directories and ports under
#                                          $WORK/NAME; ingestor names double as spool
#                                          names ($CL_DIR/spool-NAME)
#   cluster_start_broker | cluster_start_shard I [OPTION...] | cluster_start_ingestor NAME
#   cluster_start_all                      broker, shards, ingestors
#   cluster_kill PID-VARIABLE [SIGNAL]     kill (default -9) and wait for one process
#   cluster_wait_up [SECS]                 until every shard and ingestor is "up" and
#                                          every shard's map names every ingestor
#   cluster_feed NAME FILE...              move copies of nfcapd files into a spool the
#                                          way nfcapd does (write elsewhere, rename)
#   cluster_wait_done FILES [SECS]         until the ingestors report FILES files done,
#                                          none pending and no shard has an open block
#   cluster_wait_files FILES [SECS]        the same, open blocks allowed
#   cluster_status                         `portevo status --json` (stdout)
#   cluster_errors                         the E: lines of every log (stdout)
#
# Sets CL_DIR, CL_CONFIG, CL_BROKER (endpoint), CL_SHARD_COUNT, CL_INGESTORS (names),
# BROKER_PID, SHARD_PID_<I>, INGEST_PID_<NAME> (names are [a-z0-9] only).
# CL_SHARD_SETTINGS="key=value ..." (set before cluster_init) adds settings to the
# config's shard section, e.g. "segment_days=2 retention_days=30".

CL_LOCAL_AS=${CL_LOCAL_AS:-64500}

cluster_init () {
  local name=$1 shards=$2; shift 2
  CL_DIR=$WORK/$name
  CL_CONFIG=$CL_DIR/portevo.cfg
  CL_SHARD_COUNT=$shards
  CL_INGESTORS=("$@")
  mkdir -p "$CL_DIR/logs" "$CL_DIR/broker"
  CL_BROKER=tcp://127.0.0.1:$(free_port)
  local names="" i
  for ((i = 0; i < shards; i++)); do names+="${names:+,}shard-$i"; done
  {
    echo "portevo"
    echo "    broker"
    echo "        endpoint = \"$CL_BROKER\""
    echo "        data = \"$CL_DIR/broker\""
    echo "        shards = \"$names\""
    echo "    shard"
    echo "        grace_secs = \"600\""
    echo "        mapsize_mb = \"256\""
    local setting
    for setting in ${CL_SHARD_SETTINGS:-}; do echo "        ${setting%%=*} = \"${setting#*=}\""; done
    for ((i = 0; i < shards; i++)); do
      mkdir -p "$CL_DIR/shard-$i"
      echo "        shard-$i"
      echo "            endpoint = \"tcp://127.0.0.1:$(free_port)\""
      echo "            data = \"$CL_DIR/shard-$i\""
    done
    echo "    ingestor"
    echo "        local_as = \"$CL_LOCAL_AS\""
    echo "        tz = \"UTC\""
    local ingestor
    for ingestor in "${CL_INGESTORS[@]}"; do
      mkdir -p "$CL_DIR/spool-$ingestor" "$CL_DIR/ingest-$ingestor"
      echo "        $ingestor"
      echo "            spool = \"$CL_DIR/spool-$ingestor\""
      echo "            state = \"$CL_DIR/ingest-$ingestor\""
    done
  } > "$CL_CONFIG"
}

cluster_start_broker () {
  spawn "$BIN/portevo-broker" --config "$CL_CONFIG" >> "$CL_DIR/logs/broker.log" 2>&1
  BROKER_PID=$SPAWNED_PID
}

cluster_start_shard () {  # cluster_start_shard I [more options, e.g. -v]
  local index=$1; shift
  spawn "$BIN/portevo-shard" --config "$CL_CONFIG" --name "shard-$index" "$@" \
    >> "$CL_DIR/logs/shard-$index.log" 2>&1
  printf -v "SHARD_PID_$index" '%s' "$SPAWNED_PID"
}

cluster_start_ingestor () {
  spawn "$BIN/portevo-ingest" --config "$CL_CONFIG" --name "$1" >> "$CL_DIR/logs/$1.log" 2>&1
  printf -v "INGEST_PID_$1" '%s' "$SPAWNED_PID"
}

cluster_start_all () {
  local i ingestor
  cluster_start_broker
  for ((i = 0; i < CL_SHARD_COUNT; i++)); do cluster_start_shard "$i"; done
  for ingestor in "${CL_INGESTORS[@]}"; do cluster_start_ingestor "$ingestor"; done
}

# cluster_kill VARIABLE [SIGNAL]: the process whose PID the variable holds.
cluster_kill () {
  local pid=${!1} signal=${2:-KILL}
  kill -"$signal" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

cluster_status () {
  "$BIN/portevo" status --json --broker "$CL_BROKER" --timeout 1000 2>/dev/null
}

# cluster_poll SECS PYTHON-CONDITION: until the condition on the status document `s`
# holds; 1 on timeout (the last status is in $CL_DIR/status.json).
cluster_poll () {
  local secs=$1 condition=$2 end=$((SECONDS + $1))
  while [ $SECONDS -le $end ]; do
    cluster_status > "$CL_DIR/status.json"
    if python3 - "$CL_DIR/status.json" "$condition" <<'EOF'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(1)
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
    then return 0; fi
    sleep 0.2
  done
  return 1
}

# cluster_wait_up [SECS]: every peer "up", then every shard holding a map that names
# every ingestor (its log says so): a shard whose map lacks an ingestor takes a block as
# final without that ingestor's part.
cluster_wait_up () {
  cluster_poll "${1:-20}" "len(s['shards']) == $CL_SHARD_COUNT and \
len(s['ingestors']) == ${#CL_INGESTORS[@]} and \
all(p['state'] == 'up' for p in s['shards'] + s['ingestors'])" || return 1
  local i end=$((SECONDS + 15)) pending
  while [ $SECONDS -le $end ]; do
    pending=0
    for ((i = 0; i < CL_SHARD_COUNT; i++)); do
      grep -qE "map: epoch [0-9]+, shard index $i, [0-9]+ slots, ${#CL_INGESTORS[@]} ingestors" \
        "$CL_DIR/logs/shard-$i.log" || pending=1
    done
    [ $pending -eq 0 ] && return 0
    sleep 0.2
  done
  echo "note: the shard logs do not show maps with ${#CL_INGESTORS[@]} ingestors" >&2
}

# cluster_wait_files FILES [SECS]: until the ingestors report FILES files done and none
# pending, every shard up; open blocks allowed (a block some ingestor has not delivered
# yet, e.g. the slots suites' block that straddles a move).
cluster_wait_files () {
  cluster_poll "${2:-90}" "sum(p['files_done'] or 0 for p in s['ingestors']) == $1 and \
all(not p['files_pending'] for p in s['ingestors']) and \
all(p['state'] == 'up' for p in s['shards'])"
}

cluster_wait_done () {
  cluster_poll "${2:-90}" "sum(p['files_done'] or 0 for p in s['ingestors']) == $1 and \
all(not p['files_pending'] for p in s['ingestors']) and \
all(p['state'] == 'up' for p in s['shards']) and \
all(not p['open_blocks'] for p in s['shards'])"
}

# cluster_feed NAME FILE...: copy each file under a temporary name, then rename it into
# the spool (as nfcapd does), keeping its modification time.
cluster_feed () {
  local spool=$CL_DIR/spool-$1 file; shift
  for file in "$@"; do
    cp -p "$file" "$spool/nfcapd.current.$$" && mv "$spool/nfcapd.current.$$" "$spool/$(basename "$file")" || return 1
  done
}

cluster_errors () {
  grep -H '^E: ' "$CL_DIR"/logs/*.log 2>/dev/null
}
