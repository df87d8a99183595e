#!/usr/bin/env bash
# tests/system/migrate_test.sh - a store written by the schema 1 code is refused by
# portevo-shard with a line naming `portevo-shard --migrate`, converted by it with every
# answer unchanged, then served; the schema 1 code refuses the converted store.
#
# The schema 1 code is this repository at SCHEMA1_COMMIT (the last commit before chunks),
# exported with `git archive` and built in $WORK: its shard_store_bench -k writes the
# store (rows of 3 finished days one a record in `archive`, the last day in `days`), and
# tests/tools/store_dump.c, built against both, hashes every answer (top lists, series,
# days, row counts) through the public shard_store API.
source "$(dirname "$0")/../lib/common.sh"

SCHEMA1_COMMIT=b8b55f6
OLD=$WORK/schema1
LOGS=$WORK/logs
mkdir -p "$OLD" "$LOGS"
HOSTS=3000

if ! git -C "$ROOT" archive "$SCHEMA1_COMMIT" | tar -x -C "$OLD" 2> "$LOGS/git.log"; then
  fail "the schema 1 source ($SCHEMA1_COMMIT) is in the repository's history"
  finish
fi
pass "the schema 1 source ($SCHEMA1_COMMIT) is in the repository's history"
( cd "$OLD" && make -j2 build/obj/libshard.a build/obj/libproto.a build/bench/shard_store_bench \
    > "$LOGS/build.log" 2>&1 ) &&
  cc -std=c11 -D_GNU_SOURCE -O2 -I"$OLD" "$ROOT/tests/tools/store_dump.c" \
    "$OLD/build/obj/libshard.a" "$OLD/build/obj/libproto.a" \
    $(pkg-config --libs lmdb libczmq msgpack) -lm -o "$OLD/store_dump" >> "$LOGS/build.log" 2>&1
check "the schema 1 code builds" test -x "$OLD/store_dump"

# A schema 1 store: 3,000 hosts x 4 ports x 4 days, 3 of them archived
STORE=$("$OLD/build/bench/shard_store_bench" -h $HOSTS -p 4 -d 4 -k 2> /dev/null |
  sed -n 's/^store kept in //p')
check "the schema 1 code wrote a store" test -f "$STORE/data.mdb"
BEFORE=$("$OLD/store_dump" "$STORE" $HOSTS 2> "$LOGS/dump-old.log")
echo "schema 1 answers: $BEFORE"
check "the schema 1 store answers, with archived rows" \
  bash -c "echo '$BEFORE' | grep -Eq 'entries [1-9][0-9]* rows [1-9][0-9]* archived [1-9]'"

# Refused by a shard, naming the command
"$BIN/portevo-shard" --name shard-m --data "$STORE" --endpoint "tcp://127.0.0.1:$(free_port)" \
  --broker "tcp://127.0.0.1:$(free_port)" > "$LOGS/refused.log" 2>&1
rc=$?
check "portevo-shard refuses the schema 1 store (exit 1)" test "$rc" = 1
check "the refusal names portevo-shard --migrate --data DIR" \
  grep -q "portevo-shard --migrate --data $STORE" "$LOGS/refused.log"

# Converted
"$BIN/portevo-shard" --migrate --data "$STORE" > "$LOGS/migrate.log" 2>&1
check "portevo-shard --migrate converts it (exit 0)" test $? = 0
check "the migration logs no error" bash -c "! grep -q '^E:' '$LOGS/migrate.log'"
# (this build's store_dump adds " series N", the rows of compacted segments: none yet)
AFTER=$("$TOOLS/store_dump" "$STORE" $HOSTS 2> "$LOGS/dump-new.log")
echo "schema 2 answers: $AFTER"
AFTER=${AFTER% series 0}
check "every answer is the same after the migration" test "$BEFORE" = "$AFTER"
"$BIN/portevo-shard" --migrate --data "$STORE" >> "$LOGS/migrate.log" 2>&1
check "a second --migrate does nothing and succeeds" test $? = 0
check "the answers still hold" test "$("$TOOLS/store_dump" "$STORE" $HOSTS 2>/dev/null)" = "$AFTER series 0"
"$OLD/store_dump" "$STORE" $HOSTS > /dev/null 2> "$LOGS/dump-old-after.log"
check "the schema 1 code refuses the converted store" test $? = 1

# And a shard serves from it: it opens the store and registers (stays up)
spawn "$BIN/portevo-shard" --name shard-m --data "$STORE" --endpoint "tcp://127.0.0.1:$(free_port)" \
  --broker "tcp://127.0.0.1:$(free_port)" >> "$LOGS/served.log" 2>&1
sleep 1
check "portevo-shard starts on the converted store" kill -0 "$SPAWNED_PID"
check "and logs no error" bash -c "! grep -q '^E:' '$LOGS/served.log'"
rm -rf "$STORE"
finish
