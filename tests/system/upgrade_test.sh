#!/usr/bin/env bash
# tests/system/upgrade_test.sh - a store written by the schema 2 code (before the series
# tier) is served by portevo-shard, whose maintenance compacts its finished segments
# into `series` with every answer unchanged; the schema 2 code then refuses the store.
# And the same store compacted by the schema 3 code (a bare series record a host, before
# packs) is served by portevo-shard with every answer unchanged, then gives after a
# retention run that rewrites its straddling segment the answers of the store compacted
# by portevo-shard itself after the same run; the schema 3 code refuses it.
#
# The schema 2 code is this repository at SCHEMA2_COMMIT (the last commit before the
# tier), exported with `git archive` and built in $WORK: its shard_store_bench -k writes
# the store (HOSTS hosts x 4 ports x 8 days ending yesterday), and
# tests/tools/store_dump.c, built against both, hashes every answer (top lists, series,
# days) through the public shard_store API.  portevo-shard --segment-days 2 on it: the
# segments (day / 2) whose last day is before today - 2 (SHARD_SEGMENT_LAG_DAYS) move
# into series; how many rows that is comes from the bench's layout (every host on every
# port every day), not from the shard.
source "$(dirname "$0")/../lib/common.sh"

SCHEMA2_COMMIT=8928f4f  # the last commit before the series tier
SCHEMA3_COMMIT=e9fefe4  # the last commit before packs
OLD=$WORK/schema2
OLD3=$WORK/schema3
LOGS=$WORK/logs
mkdir -p "$OLD" "$OLD3" "$LOGS"
HOSTS=3000 PORTS=4 DAYS=8 SEGMENT_DAYS=2 LAG_DAYS=2

# build_old SCHEMA COMMIT DIR PROGRAM...: libshard and libproto of that commit without
# their selftests (half the time of its make), then each program against them
build_old () {
  local schema=$1 commit=$2 dir=$3
  shift 3
  if ! git -C "$ROOT" archive "$commit" | tar -x -C "$dir" 2> "$LOGS/git-$schema.log"; then
    fail "the schema $schema source ($commit) is in the repository's history"
    return 1
  fi
  pass "the schema $schema source ($commit) is in the repository's history"
  ( cd "$dir" && mkdir -p obj &&
    ls shard/*.c proto/*.c | grep -v '_test\.c\|_test_\|_main\.c' |
      xargs -P2 -I{} sh -c 'cc -std=c11 -D_GNU_SOURCE -O1 -I. $(pkg-config --cflags libczmq lmdb msgpack) -c {} -o obj/$(basename {} .c).o' &&
    ar rcs obj/libold.a obj/*.o &&
    for program in "$@"; do
      cc -std=c11 -D_GNU_SOURCE -O1 -I. "$program" obj/libold.a \
        $(pkg-config --libs lmdb libczmq libzmq msgpack) -lm -o "$(basename "$program" .c)" || exit 1
    done ) > "$LOGS/build-$schema.log" 2>&1
  if [ -x "$dir/store_dump" ]; then pass "the schema $schema code builds"; else
    fail "the schema $schema code builds: $(tail -n 5 "$LOGS/build-$schema.log")"; return 1
  fi
}
build_old 2 $SCHEMA2_COMMIT "$OLD" bench/shard_store_bench.c "$ROOT/tests/tools/store_dump.c" ||
  finish
build_old 3 $SCHEMA3_COMMIT "$OLD3" shard/shard_main.c "$ROOT/tests/tools/store_dump.c" || finish


# A schema 2 store: HOSTS x PORTS x DAYS rows, the days ending yesterday
STORE=$("$OLD/shard_store_bench" -h $HOSTS -p $PORTS -d $DAYS -k 2> /dev/null |
  sed -n 's/^store kept in //p')
[ -n "$STORE" ] && mv "$STORE" "$WORK/store" && STORE=$WORK/store  # removed with $WORK
if [ -f "$STORE/data.mdb" ]; then pass "the schema 2 code wrote a store"; else
  fail "the schema 2 code wrote a store"; finish
fi
BEFORE=$("$OLD/store_dump" "$STORE" $HOSTS 2> "$LOGS/dump-old.log")
echo "schema 2 answers: $BEFORE"
cp -r "$STORE" "$WORK/store3"
STORE3=$WORK/store3
ROWS=$((HOSTS * PORTS * DAYS))
check "the schema 2 store answers: entries, $ROWS rows, archived rows, no series field" \
  bash -c "echo '$BEFORE' | grep -Eq '^answers [0-9a-f]{16} entries [1-9][0-9]* rows $ROWS archived [1-9][0-9]*\$'"

# The rows compaction must move: days today-DAYS .. today-1 whose segment's last day
# ((day / SEGMENT_DAYS + 1) * SEGMENT_DAYS - 1) is before today - LAG_DAYS
WANT_SERIES=$(python3 -c '
import time, sys
hosts, ports, days, seg, lag = map(int, sys.argv[1:])
today = int(time.time()) // 86400
print(sum(hosts * ports for day in range(today - days, today)
          if (day // seg + 1) * seg - 1 < today - lag))' $HOSTS $PORTS $DAYS $SEGMENT_DAYS $LAG_DAYS)
echo "rows expected in series: $WANT_SERIES of $ROWS"

# The new shard on it: maintenance at start raises the schema and compacts
shard_start () {  # shard_start LOG [BINARY [STORE [RETENTION_DAYS]]]
  spawn "${2:-$BIN/portevo-shard}" --name shard-u --data "${3:-$STORE}" \
    --segment-days $SEGMENT_DAYS --retention-days "${4:-3650}" \
    --endpoint "tcp://127.0.0.1:$(free_port)" --broker "tcp://127.0.0.1:$(free_port)" -v \
    >> "$1" 2>&1
  SHARD_PID=$SPAWNED_PID
}
shard_start "$LOGS/shard1.log"
check "portevo-shard compacts the schema 2 store (log: store: compacted ...)" \
  wait_for 60 logs_settled 'store: compacted ' "$LOGS/shard1.log"
check "portevo-shard is still running" kill -0 "$SHARD_PID"
kill -TERM "$SHARD_PID"
wait "$SHARD_PID"
check "portevo-shard stops cleanly (exit 0)" test $? = 0
check "the first start logs no error" bash -c "! grep -q '^E:' '$LOGS/shard1.log'"

AFTER=$("$TOOLS/store_dump" "$STORE" $HOSTS 2> "$LOGS/dump-new.log")
echo "schema 4 answers: $AFTER"
check "the answer hash is unchanged ($(word_after answers "$BEFORE"))" \
  test "$(word_after answers "$AFTER")" = "$(word_after answers "$BEFORE")"
check "the entries hashed are as many ($(word_after entries "$BEFORE"))" \
  test "$(word_after entries "$AFTER")" = "$(word_after entries "$BEFORE")"
check "the daily rows are as many ($ROWS)" test "$(word_after rows "$AFTER")" = $ROWS
check "series holds the rows of every finished segment ($WANT_SERIES)" \
  test "$(word_after series "$AFTER")" = "$WANT_SERIES"

"$OLD/store_dump" "$STORE" $HOSTS > /dev/null 2> "$LOGS/dump-old-after.log"
check "the schema 2 code refuses the schema 4 store (exit 1)" test $? = 1

# Started again: opens the store (nothing left to compact) and stays up without error
shard_start "$LOGS/shard2.log"
sleep 1
check "portevo-shard starts again on the compacted store" kill -0 "$SHARD_PID"
check "and logs no error" bash -c "! grep -q '^E:' '$LOGS/shard2.log'"
check "and finds nothing more to compact" bash -c "! grep -q 'store: compacted ' '$LOGS/shard2.log'"
kill -TERM "$SHARD_PID"
wait "$SHARD_PID"
check "the store still gives the same answers" \
  test "$("$TOOLS/store_dump" "$STORE" $HOSTS 2> /dev/null)" = "$AFTER"

# ----------------------------------------------------------------------------------
# Schema 3 (bare series records): the same schema 2 store compacted by the schema 3 shard
shard_start "$LOGS/shard3.log" "$OLD3/shard_main"  "$STORE3"
check "the schema 3 shard compacts the schema 2 store" \
  wait_for 60 logs_settled 'store: compacted ' "$LOGS/shard3.log"
kill -TERM "$SHARD_PID"
wait "$SHARD_PID"
THREE=$("$OLD3/store_dump" "$STORE3" $HOSTS 2> "$LOGS/dump-3.log")
echo "schema 3 answers: $THREE"
check "the schema 3 store: the same answers, series holds $WANT_SERIES rows" \
  test "$THREE" = "$AFTER"
shard_start "$LOGS/shard4.log" "$BIN/portevo-shard" "$STORE3"
sleep 1
check "portevo-shard serves the schema 3 store" kill -0 "$SHARD_PID"
kill -TERM "$SHARD_PID"
wait "$SHARD_PID"
check "and logs no error" bash -c "! grep -q '^E:' '$LOGS/shard4.log'"
check "its answers are unchanged (bare records read)" \
  test "$("$TOOLS/store_dump" "$STORE3" $HOSTS 2> "$LOGS/dump-4.log")" = "$AFTER"
"$OLD3/store_dump" "$STORE3" $HOSTS > "$LOGS/dump-3-after.log" 2>&1
REFUSED=$?
check "the schema 3 code refuses the store now (exit 1: $(head -c 120 "$LOGS/dump-3-after.log"))" \
  test $REFUSED = 1

# Retention with the cutoff inside a compacted segment: the straddling segment's records
# are rewritten (bare records into packs) with the same answers as the packed store's
CUTOFF_RETENTION=$(python3 -c '
import time, sys
days, seg, lag = map(int, sys.argv[1:])
today = int(time.time()) // 86400
for keep in range(days - 1, 0, -1):
    cutoff = today - keep
    if cutoff % seg and (cutoff // seg + 1) * seg - 1 < today - lag:
        print(keep)
        break' $DAYS $SEGMENT_DAYS $LAG_DAYS)
echo "retention days that cut a compacted segment: $CUTOFF_RETENTION"
for store in store store3; do
  shard_start "$LOGS/retention-$store.log" "$BIN/portevo-shard" "$WORK/$store" "$CUTOFF_RETENTION"
  wait_for 30 logs_settled 'store: retention deleted ' "$LOGS/retention-$store.log" > /dev/null
  kill -TERM "$SHARD_PID"
  wait "$SHARD_PID"
done
EXPIRED_PACKS=$("$TOOLS/store_dump" "$STORE" $HOSTS 2> /dev/null)
EXPIRED_BARE=$("$TOOLS/store_dump" "$STORE3" $HOSTS 2> /dev/null)
echo "after retention: $EXPIRED_PACKS"
check "retention ran in both (log: store: retention deleted ...)" \
  grep -q 'store: retention deleted ' "$LOGS/retention-store.log" "$LOGS/retention-store3.log"
check "retention changed the answers" test "$EXPIRED_PACKS" != "$AFTER"
check "after it, the store compacted by schema 3 gives the packed store's answers" \
  test "$EXPIRED_BARE" = "$EXPIRED_PACKS"
check "no error in the retention runs" \
  bash -c "! grep -q '^E:' '$LOGS/retention-store.log' '$LOGS/retention-store3.log'"
finish
