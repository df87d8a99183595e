#!/usr/bin/env python3
"""Check where each host's data is after slot moves (tests/system/slots*_test.sh).

usage: slot_owners.py BROKER_MAP WORK N [SHARD...]
BROKER_MAP is the broker's map file (slots and shard names); WORK/known-SHARD.txt lists
the hosts `store_dump --known` found in SHARD's store (every shard whose store was read);
N is the number of hosts the oracle knows.  Every host must be in exactly one store,
the one of the shard that owns its slot in the map, and all N must be found.  Prints a
line per misplaced host and a summary; exit 1 on any problem.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from query_check import slot_of  # noqa: E402


def main():
    path, work, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    shards = sys.argv[4:]
    text = open(path).read()
    slots = [int(v) for v in re.search(r'slots = "([0-9,]+)"', text).group(1).split(",")]
    section = text[text.index("    shards"):text.index("    ingestors")]
    names = re.findall(r"^        ([A-Za-z0-9._-]+)$", section, re.M)
    seen, bad = {}, 0
    for shard in shards:
        for ip in open("%s/known-%s.txt" % (work, shard)).read().split():
            seen.setdefault(ip, []).append(shard)
    for ip, where in sorted(seen.items()):
        owner = names[slots[slot_of(ip)]]
        if where != [owner]:
            bad += 1
            print("host %s is on %s, its slot's owner is %s" % (ip, where, owner))
    print("hosts %d of %d, misplaced %d" % (len(seen), count, bad))
    sys.exit(1 if bad or len(seen) != count else 0)


if __name__ == "__main__":
    main()
