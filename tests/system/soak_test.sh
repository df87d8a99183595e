#!/usr/bin/env bash
# tests/system/soak_test.sh - bench/soak in its short CI mode (--ci): two days of
# 5-minute blocks (576 nfcapd files written by Debian's nfcapd, 200 flows each) replayed
# through a broker, 2 shards, a gateway and an ingestor in about a minute (some 2,900x
# real time) while the gateway is queried on 2 connections; shard-1 is killed (SIGKILL)
# and started again, and `portevo shard add` moves a third of the slots to a third
# shard on the way.  bench/soak prints a PASS/FAIL line for each end check: every top
# list and 8 hosts' series equal oracle_days.py's computation from nfdump's output,
# every request outside the fault windows answered in full, counters (each part applied
# once, none lost), RSS bounded, no E: line.  Its figures (speed-up, p50/p99, RSS) go to
# the log.  The files are made in this test's work directory.
#
# Under the sanitizer build ASan keeps freed memory in a quarantine (256 MiB by default)
# before reusing it, so every busy process's RSS grows for minutes whatever the code
# does, and the RSS check could not tell that from a leak: the quarantine is cut to
# 8 MiB here, after which its share of the RSS stays flat.
source "$(dirname "$0")/../lib/common.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
"$ROOT/bench/soak" --ci --bin "$BIN" --tools "$TOOLS" --data "$WORK/soak-data"
rc=$?
check "bench/soak --ci: every end check passed (exit 0)" test $rc -eq 0
finish
