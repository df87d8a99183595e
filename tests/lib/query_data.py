#!/usr/bin/env python3
"""tests/lib/query_data.py - the flows of the query system tests, as nf_send CSV.

Two exporters (a and b, one spool each) see parts of the same five blocks over two days
(2026-11-20 10:00, 10:05, 10:10 and 2026-11-21 09:00, 09:05).  28 local hosts (24 IPv4,
4 IPv6) talk on three of five monitored ports each, so every port has more than ten hosts
and the top-10 cut matters.  Where both exporters see a (host, port) in a block their
destination sets overlap (the merged peers are fewer than the sum), and some pairs appear
in one exporter or one block only, so that max and min are only right if the parts of a
block are merged first.  Two more hosts, 10.1.0.25 and 2001:db8:1::5, are twins of
10.1.0.5 (identical traffic), and small values (peers 1, a single packet) recur, so ties
are broken by address everywhere.  Foreign sources, an unmonitored port and ICMP must
not count.  Every block's peers of these hosts stay far below the 4096 cap, so the
oracle's exact counts apply.

One more, the SSH scanner 10.1.0.222 (port 22 only), reaches the cap: on 2026-11-20 its
blocks have 5200 peers (exporter a alone past the cap, b a subset of a's), 5000 (two
exact halves of 2500 that unite past it) and 100, so its sum and max are estimates and
its min is not; on 2026-11-21 exactly 4096 (a alone) and 4096 (a and b the same set):
counted exactly, yet every operation reached the cap.  Its peers are far above every
other host's, so estimates cannot change a ranking.

Writes DIR/EXPORTER-YYYYMMDDhhmm.csv and prints one line per file: "EXPORTER BLOCK CSV".
Usage: query_data.py DIR [--shift-days N] [--late]
  N: every block N whole days earlier.  --late: only the files of one more block,
  LATE_BLOCK (later on the first day; both exporters, no scanner), drawn after the five
  others, so that the five are the same with or without it: a late file for an old day.
  It also has rows the day had not: a new host (LATE_HOST, heavy enough for the top
  lists) and 10.1.0.1 on two ports it did not use (80, 8080).
"""

import calendar
import os
import random
import sys
import time

BLOCKS = ["202611201000", "202611201005", "202611201010", "202611210900", "202611210905"]
LATE_BLOCK = "202611201200"
LATE_HOST = "10.1.0.30"


def shifted(blocks, days):
    """The blocks days whole days earlier (same time of day, UTC)."""
    return [time.strftime("%Y%m%d%H%M", time.gmtime(
        calendar.timegm(time.strptime(b, "%Y%m%d%H%M")) - days * 86400)) for b in blocks]
PORTS = [22, 25, 80, 445, 8080]
HOSTS = ["10.1.0.%d" % i for i in range(1, 25)] + ["2001:db8:1::%x" % i for i in range(1, 5)]
TWINS = {"10.1.0.25": "10.1.0.5", "2001:db8:1::5": "10.1.0.5"}  # copy -> original
LOCAL_AS, FOREIGN_AS = 64500, 64999
SCANNER = "10.1.0.222"
# block -> exporter -> (first peer, count) of the scanner's peers 198.19.x.y
SCANS = {"202611201000": {"a": (0, 5200), "b": (1000, 1000)},
         "202611201005": {"a": (0, 2500), "b": (2500, 2500)},
         "202611201010": {"a": (0, 100)},
         "202611210900": {"a": (0, 4096)},
         "202611210905": {"a": (0, 4096), "b": (0, 4096)}}


def block_msecs(stamp):
    return calendar.timegm(time.strptime(stamp, "%Y%m%d%H%M")) * 1000


def peer(host, index):
    if ":" in host:
        return "2001:db8:ffff::%x" % (index + 1)
    return "198.18.%d.%d" % ((index >> 8) & 255, index & 255)


def main():
    global BLOCKS, SCANS
    out = sys.argv[1]
    options = sys.argv[2:]
    late = "--late" in options
    if late:
        options.remove("--late")
        BLOCKS = BLOCKS + [LATE_BLOCK]
    only = LATE_BLOCK if late else None
    if len(options) == 2 and options[0] == "--shift-days":
        days = int(options[1])
        BLOCKS = shifted(BLOCKS, days)
        only = only and shifted([only], days)[0]
        SCANS = {shifted([block], days)[0]: parts for block, parts in SCANS.items()}
    os.makedirs(out, exist_ok=True)
    files = {}

    def flow(exporter, block, src, dst, dport, packets, nbytes, first, duration,
             proto=6, src_as=LOCAL_AS):
        files.setdefault((exporter, block), []).append(
            "%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d" % (src, dst, 40000 + dport % 1000, dport, proto,
                                                  packets, nbytes, first, first + duration,
                                                  src_as, 65001))

    for host in HOSTS + list(TWINS):
        source = TWINS.get(host, host)
        seed_index = HOSTS.index(source)
        ports = [PORTS[seed_index % 5], PORTS[(seed_index + 1) % 5], PORTS[(seed_index + 3) % 5]]
        local = random.Random(1000 + seed_index)  # twins draw the same numbers
        for block in BLOCKS:
            start = block_msecs(block)
            for port in ports:
                # presence: both exporters, a only, b only, or neither
                presence = local.choice(["ab", "ab", "ab", "a", "b", ""])
                base = local.randrange(0, 200)
                width = local.randrange(1, 40)
                for exporter in presence:
                    # a sees peers [base, base + width), b [base + width/2, ...): overlap
                    offset = 0 if exporter == "a" else width // 2
                    for _ in range(local.randrange(1, 6)):
                        packets = local.choice([1, 1, 2, 3, 10, 50])
                        nbytes = packets * local.choice([40, 60, 576, 1500])
                        duration = local.choice([0, 0, 5, 250, 1000, 30000])
                        first = start - 60000 + local.randrange(0, 290000)
                        dst = peer(host, base + offset + local.randrange(0, width))
                        flow(exporter, block, host, dst, port, packets, nbytes, first, duration)

    # The late block's new rows: a new host, a known host on ports new to it
    if late:
        start = block_msecs(BLOCKS[-1])
        for index in range(8):
            flow("a" if index % 2 else "b", BLOCKS[-1], LATE_HOST, peer(LATE_HOST, index), 80,
                 50, 75000, start + index * 1000, 2000)
        for port in (80, 8080):
            flow("a", BLOCKS[-1], "10.1.0.1", peer("10.1.0.1", 300), port, 3, 180, start, 5)

    # The SSH scanner: one small flow per peer
    scan = random.Random(22)
    for block, parts in SCANS.items():
        start = block_msecs(block)
        for exporter, (first_peer, count) in parts.items():
            for index in range(first_peer, first_peer + count):
                flow(exporter, block, SCANNER, "198.19.%d.%d" % (index >> 8, index & 255), 22,
                     1, 60, start - 60000 + scan.randrange(0, 290000), 0)

    # Traffic that must not count: foreign sources, an unmonitored port, ICMP
    for block in BLOCKS:
        start = block_msecs(block)
        for exporter in "ab":
            for i in range(5):
                flow(exporter, block, "203.0.113.%d" % (i + 1), "10.1.0.1", PORTS[i], 9, 9999,
                     start, 10, src_as=FOREIGN_AS)
                flow(exporter, block, "10.1.0.%d" % (i + 1), "192.0.2.1", 443, 9, 9999, start, 10)
                flow(exporter, block, "10.1.0.%d" % (i + 1), "192.0.2.1", 22, 1, 84, start, 0,
                     proto=1)

    for (exporter, block), lines in sorted(files.items()):
        if (block == only) != late:
            continue
        path = os.path.join(out, "%s-%s.csv" % (exporter, block))
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        print(exporter, block, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
