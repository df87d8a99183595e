#!/usr/bin/env bash
# tests/system/migrate_test.sh - stores written by the schema 1 and the schema 2 code are
# refused by portevo-shard with a line naming `portevo-shard --migrate`, converted by it
# with every answer unchanged, then served; the old code refuses the converted store.
#
# The schema 1 code is this repository at SCHEMA1_COMMIT (the last commit before chunks),
# the schema 2 code at SCHEMA2_COMMIT (the last before compressed chunks), each exported
# with `git archive` and built in $WORK: its shard_store_bench -k writes the store (rows
# of 3 finished days in `archive` (1) or in uncompressed chunks (2), the last day in
# `days`), and tests/tools/store_dump.c, built against both, hashes every answer (top
# lists, series, days, row counts) through the public shard_store API.
source "$(dirname "$0")/../lib/common.sh"

SCHEMA1_COMMIT=b8b55f6
SCHEMA2_COMMIT=9ad55a7
LOGS=$WORK/logs
mkdir -p "$LOGS"
HOSTS=3000

# old_schema N COMMIT: the whole check for a store written by the schema N code
old_schema() {
  local schema=$1 commit=$2 old=$WORK/schema$1 logs=$LOGS/schema$1
  mkdir -p "$old" "$logs"
  if ! git -C "$ROOT" archive "$commit" | tar -x -C "$old" 2> "$logs/git.log"; then
    fail "the schema $schema source ($commit) is in the repository's history"
    return
  fi
  pass "the schema $schema source ($commit) is in the repository's history"
  ( cd "$old" && make -j2 build/obj/libshard.a build/obj/libproto.a build/bench/shard_store_bench \
      > "$logs/build.log" 2>&1 ) &&
    cc -std=c11 -D_GNU_SOURCE -O2 -I"$old" "$ROOT/tests/tools/store_dump.c" \
      "$old/build/obj/libshard.a" "$old/build/obj/libproto.a" \
      $(pkg-config --libs lmdb libczmq libzmq msgpack) -lm -o "$old/store_dump" >> "$logs/build.log" 2>&1
  check "the schema $schema code builds" test -x "$old/store_dump"

  # A store: 3,000 hosts x 4 ports x 4 days, 3 of them archived
  local store before after rc
  store=$("$old/build/bench/shard_store_bench" -h $HOSTS -p 4 -d 4 -k 2> /dev/null |
    sed -n 's/^store kept in //p')
  check "the schema $schema code wrote a store" test -f "$store/data.mdb"
  before=$("$old/store_dump" "$store" $HOSTS 2> "$logs/dump-old.log")
  echo "schema $schema answers: $before"
  check "the schema $schema store answers, with archived rows" \
    bash -c "echo '$before' | grep -Eq 'entries [1-9][0-9]* rows [1-9][0-9]* archived [1-9]'"

  # Refused by a shard, naming the command
  "$BIN/portevo-shard" --name shard-m --data "$store" --endpoint "tcp://127.0.0.1:$(free_port)" \
    --broker "tcp://127.0.0.1:$(free_port)" > "$logs/refused.log" 2>&1
  rc=$?
  check "portevo-shard refuses the schema $schema store (exit 1)" test "$rc" = 1
  check "the refusal names portevo-shard --migrate --data DIR" \
    grep -q "portevo-shard --migrate --data $store" "$logs/refused.log"

  # Converted
  "$BIN/portevo-shard" --migrate --data "$store" > "$logs/migrate.log" 2>&1
  check "portevo-shard --migrate converts schema $schema (exit 0)" test $? = 0
  check "the migration logs no error" bash -c "! grep -q '^E:' '$logs/migrate.log'"
  after=$("$TOOLS/store_dump" "$store" $HOSTS 2> "$logs/dump-new.log")
  echo "schema 3 answers: $after"
  check "every answer is the same after the migration from schema $schema" \
    test "$before" = "$after"
  "$BIN/portevo-shard" --migrate --data "$store" >> "$logs/migrate.log" 2>&1
  check "a second --migrate does nothing and succeeds" test $? = 0
  check "the answers still hold" test "$("$TOOLS/store_dump" "$store" $HOSTS 2>/dev/null)" = "$after"
  "$old/store_dump" "$store" $HOSTS > /dev/null 2> "$logs/dump-old-after.log"
  check "the schema $schema code refuses the converted store" test $? = 1

  # And a shard serves from it: it opens the store and registers (stays up)
  spawn "$BIN/portevo-shard" --name shard-m --data "$store" \
    --endpoint "tcp://127.0.0.1:$(free_port)" --broker "tcp://127.0.0.1:$(free_port)" \
    >> "$logs/served.log" 2>&1
  sleep 1
  check "portevo-shard starts on the store converted from schema $schema" kill -0 "$SPAWNED_PID"
  check "and logs no error" bash -c "! grep -q '^E:' '$logs/served.log'"
  kill "$SPAWNED_PID" 2> /dev/null
  wait "$SPAWNED_PID" 2> /dev/null
  rm -rf "$store"
}

old_schema 1 "$SCHEMA1_COMMIT"
old_schema 2 "$SCHEMA2_COMMIT"
finish
