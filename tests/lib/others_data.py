#!/usr/bin/env python3
"""tests/lib/others_data.py - the flows of the other-ports system test, as nf_send CSV.

Two exporters (a and b) see parts of three blocks: two on the day three days before today
and one on the day two days before (UTC), so the days are closed and within any retention.
Local sources (AS 64500) talk to ports that are not monitored (ALL* is the default):

- 10.2.0.1: seven other ports over both days and exporters (the top-5 cut matters), two
  of them with the same bytes on one day (ties: the lower port first), and monitored
  traffic too (port 25), which must stay out of its others;
- 10.2.0.3: a scanner of 40 ports a block (more than the 16 ports a day keeps:
  truncated), its five heavy ports far above the rest so its top 5 stays exact;
- 2001:db8:2::1: IPv6, one port seen by both exporters in the same block (the parts add);
- 10.2.0.2: monitored ports only (no others at all).

Traffic that must not count: a foreign source (AS 64999) to other ports, ICMP from a local
source.  Writes DIR/EXPORTER-YYYYMMDDhhmm.csv and prints "EXPORTER BLOCK CSV" per file.
Usage: others_data.py DIR
"""

import calendar
import os
import sys
import time

LOCAL_AS, FOREIGN_AS = 64500, 64999


def blocks():
    today = int(time.time()) // 86400 * 86400
    first, second = today - 3 * 86400, today - 2 * 86400
    return [time.strftime("%Y%m%d%H%M", time.gmtime(t))
            for t in (first + 10 * 3600, first + 10 * 3600 + 300, second + 9 * 3600)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    files = {}
    stamps = blocks()

    def flow(exporter, block, src, dst, dport, packets, nbytes, proto=6, src_as=LOCAL_AS):
        first = calendar.timegm(time.strptime(block, "%Y%m%d%H%M")) * 1000 + 1000
        files.setdefault((exporter, block), []).append(
            "%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d" % (src, dst, 40000 + dport % 1000, dport, proto,
                                                  packets, nbytes, first, first + 2000,
                                                  src_as, 65001))

    b1, b2, b3 = stamps
    # 10.2.0.1: seven other ports; on day 1, 993 and 5222 tie at 700 bytes
    host = "10.2.0.1"
    for exporter, block, port, packets, nbytes in [
            ("a", b1, 443, 10, 5000), ("b", b1, 443, 4, 2000), ("a", b2, 443, 3, 1000),
            ("a", b1, 53, 2, 150), ("b", b2, 53, 1, 80), ("a", b1, 123, 1, 76),
            ("a", b1, 993, 5, 700), ("b", b2, 5222, 6, 700), ("a", b2, 6881, 9, 900),
            ("b", b1, 3389, 2, 60), ("a", b3, 443, 8, 4000), ("b", b3, 53, 1, 90),
            ("a", b3, 6881, 20, 9000)]:
        flow(exporter, block, host, "192.0.2.10", port, packets, nbytes)
    flow("a", b1, host, "192.0.2.11", 25, 7, 7777)          # monitored: not in others
    flow("b", b3, host, "192.0.2.11", 80, 3, 333)
    # 10.2.0.3: 40 ports a block, five heavy ones
    for block, exporter in ((b1, "a"), (b2, "b"), (b3, "a")):
        for index in range(40):
            port = 10000 + index
            heavy = index < 5
            flow(exporter, block, "10.2.0.3", "192.0.2.%d" % (20 + index % 7), port,
                 50 if heavy else 1, 100000 - index * 1000 if heavy else 40 + index)
    # IPv6 host: port 8443 from both exporters in one block
    for exporter in "ab":
        flow(exporter, b1, "2001:db8:2::1", "2001:db8:ffff::1", 8443, 2, 1200)
    flow("a", b3, "2001:db8:2::1", "2001:db8:ffff::2", 5353, 1, 300)
    # 10.2.0.2: monitored only
    flow("a", b1, "10.2.0.2", "192.0.2.30", 22, 4, 400)
    # Must not count: a foreign source, ICMP
    flow("a", b1, "203.0.113.9", "10.2.0.1", 443, 9, 9999, src_as=FOREIGN_AS)
    flow("b", b3, "10.2.0.1", "192.0.2.40", 0, 1, 84, proto=1)
    for (exporter, block), lines in sorted(files.items()):
        path = os.path.join(out, "%s-%s.csv" % (exporter, block))
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        print(exporter, block, path)


if __name__ == "__main__":
    main()
