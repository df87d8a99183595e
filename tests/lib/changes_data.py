#!/usr/bin/env python3
"""tests/lib/changes_data.py - the flows of the /api/changes test, as nf_send CSV.

One exporter, one 5-minute block a day (two on the last two days, so that sum, max and
min differ) over eight days ending the day before today (UTC), so every day is inside
any retention.  Twelve steady hosts 10.2.0.1-12 talk on ports 25
and 22 every day (more than ten, so the top-10 cut matters), with day-to-day noise.  On
the last day:
  - 10.2.0.5 sends twenty times its usual bytes on 25 (a spike);
  - 10.2.0.50 and 2001:db8:2::1 appear for the first time, large, on 25 (first ever, new
    to the top 10);
  - 10.2.0.70 appears on 22 with one small flow (first ever, below every top 10);
  - 10.2.0.3, a steady host of 25 and 22, talks on 80 for the first time;
  - 10.2.0.60 talks on 80 again, after day 0 only (back after silence for a short
    window, a spike against its day-0 median for a long one).
Foreign sources must not count.

Writes DIR/a-YYYYMMDDhhmm.csv and prints one line per file: "a BLOCK CSV".
Usage: changes_data.py DIR
"""

import calendar
import os
import random
import sys
import time

DAYS = 8
LOCAL_AS, FOREIGN_AS = 64500, 64999
STEADY = ["10.2.0.%d" % i for i in range(1, 13)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    today = int(time.time()) // 86400
    rng = random.Random(10)
    blocks = [(index, 0) for index in range(DAYS)] + [(DAYS - 2, 1), (DAYS - 1, 1)]
    for index, second in blocks:
        day = today - DAYS + index
        start = (day * 86400 + 36000 + 300 * second) * 1000  # 10:00 or 10:05 UTC
        last = index == DAYS - 1 and not second
        lines = []

        def flow(src, dport, packets, nbytes, duration, dst="198.18.0.1", src_as=LOCAL_AS):
            first = start - 60000 + rng.randrange(0, 290000)
            lines.append("%s,%s,%d,%d,6,%d,%d,%d,%d,%d,65001" % (
                src, dst, 40000 + dport % 1000, dport, packets, nbytes, first, first + duration,
                src_as))

        for number, host in enumerate(STEADY[:6] if second else STEADY):
            for port in (25, 22):
                usual = 1000 * (number + 1) * (2 if port == 25 else 1)
                factor = 20 if last and host == "10.2.0.5" and port == 25 else 1
                for flow_index in range(1 + number % 3):
                    nbytes = (usual + rng.randrange(0, 300)) * factor
                    flow(host, port, max(1, nbytes // 500), nbytes, rng.choice([0, 50, 900]),
                         dst="198.18.%d.%d" % (number, flow_index + rng.randrange(0, 3)))
        if index == 0 or last:
            flow("10.2.0.60", 80, 10, 4000 if index == 0 else 90000, 100)
        if last:
            flow("10.2.0.50", 25, 200, 500000, 3000)
            flow("2001:db8:2::1", 25, 100, 300000, 2000, dst="2001:db8:ffff::1")
            flow("10.2.0.70", 22, 1, 60, 0)
            flow("10.2.0.3", 80, 5, 2500, 10)
        flow("203.0.113.9", 25, 99, 999999, 10, src_as=FOREIGN_AS)
        block = time.strftime("%Y%m%d%H%M", time.gmtime(start // 1000))
        path = os.path.join(out, "a-%s.csv" % block)
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        print("a", block, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
