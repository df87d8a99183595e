#!/usr/bin/env python3
"""tests/lib/soak_stats.py - the query load of bench/soak and the summaries of its run.

  soak_stats.py load URL DAY,DAY OUT STOPFILE [--connections N]
      loads the gateway until STOPFILE exists: N (default 2) keep-alive connections, each
      asking in turn /api/top?date=D&op=sum, /api/series?host=H&port=all&feature=bytes&op=sum
      and /api/changes?date=D&op=sum (D alternating between the days, H a host taken from
      the last top answer); one line per request to OUT: start (epoch s), latency (ms),
      kind, HTTP status, complete (1 when 200 and missing_shards is empty).
  soak_stats.py latency OUT [NAME:FROM:TO ...]
      p50, p99, max and counts of the requests of the whole run and of each window
      (epoch seconds); prints one line each.
  soak_stats.py rss TSV
      TSV lines "epoch name pid VmRSS-kB RssAnon-kB" sampled every second; per process
      name: samples, VmRSS max and final, RssAnon max in each third of its life; says
      "bounded" when the last third's RssAnon max <= 1.25 x the max of the first two
      thirds + 8 MiB (a leak shows as steady growth; a store's mapped LMDB pages are
      VmRSS but not RssAnon, and grow with the data).  Exit 1 if one is not bounded.

Latencies are measured here (wall clock around each request), not by the gateway.
"""

import http.client
import json
import math
import os
import sys
import threading
import time
import urllib.parse


def load(url, days, out, stopfile, connections):
    parsed = urllib.parse.urlparse(url)
    lock = threading.Lock()
    sink = open(out, "a", buffering=1)
    hosts = ["10.10.0.1"]

    def worker(index):
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        turn = index
        while not os.path.exists(stopfile):
            day = days[turn % len(days)]
            kind = ("top", "series", "changes")[turn % 3]
            if kind == "top":
                path = "/api/top?date=%s&op=sum" % day
            elif kind == "series":
                host = hosts[turn % len(hosts)]
                path = "/api/series?host=%s&port=all&feature=bytes&op=sum" % host
            else:
                path = "/api/changes?date=%s&op=sum" % day
            turn += 1
            start = time.time()
            status, body = 0, b""
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                status, body = response.status, response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
            latency = (time.time() - start) * 1000.0
            complete = 0
            if status == 200:
                try:
                    answer = json.loads(body)
                    complete = int(answer.get("missing_shards") == [])
                    if kind == "top":
                        found = sorted({e["ip"] for p in answer.get("ports", [])
                                        for e in p["features"]["bytes"]})
                        if found:
                            hosts[:] = found
                except ValueError:
                    pass
            with lock:
                sink.write("%.3f %.3f %s %d %d\n" % (start, latency, kind, status, complete))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def percentile(values, share):
    """The nearest-rank percentile of sorted values."""
    if not values:
        return float("nan")
    return values[max(0, math.ceil(share * len(values)) - 1)]


def latency(out, windows):
    rows = []
    for line in open(out):
        start, ms, kind, status, complete = line.split()
        rows.append((float(start), float(ms), kind, int(status), int(complete)))
    if not rows:
        print("latency: no requests")
        return 1
    first, last = rows[0][0], rows[-1][0]
    spans = [("run", first, last + 1)]
    for window in windows:
        name, begin, end = window.split(":")
        spans.append((name, float(begin), float(end)))
    # The peer: the same requests outside every window (no fault under way)
    spans.insert(1, ("steady (outside them)", first, last + 1))
    steady_p99 = None
    for name, begin, end in spans:
        chosen = [r for r in rows if begin <= r[0] < end]
        if name.startswith("steady"):
            chosen = [r for r in chosen if not any(
                float(b) <= r[0] < float(e) for _, b, e in (w.split(":") for w in windows))]
        values = sorted(r[1] for r in chosen)
        kinds = {}
        for r in chosen:
            kinds.setdefault(r[2], []).append(r[1])
        partial = sum(1 for r in chosen if r[3] == 200 and not r[4])
        failed = sum(1 for r in chosen if r[3] != 200)
        secs = end - begin
        if name.startswith("steady"):
            secs -= sum(float(e) - float(b) for _, b, e in (w.split(":") for w in windows))
        p99 = percentile(values, 0.99)
        if name.startswith("steady"):
            steady_p99 = p99
        ratio = ("  (p99 %.1fx steady)" % (p99 / steady_p99)
                 if steady_p99 and name not in ("run",) and not name.startswith("steady")
                 else "")
        print("latency %-22s %6.1f s %6d requests (%5.1f/s): p50 %7.2f ms  p99 %7.2f ms  "
              "max %7.1f ms; %d partial (a shard missing), %d not 200%s" % (
                  name, secs, len(values), len(values) / max(secs, 1e-9),
                  percentile(values, 0.5), p99,
                  values[-1] if values else float("nan"), partial, failed, ratio))
        if name == "run":
            for kind in sorted(kinds):
                v = sorted(kinds[kind])
                print("          %-22s %6d requests: p50 %7.2f ms  p99 %7.2f ms" % (
                    kind, len(v), percentile(v, 0.5), percentile(v, 0.99)))
    return 0


def rss(tsv):
    series = {}
    for line in open(tsv):
        parts = line.split()
        if len(parts) != 5:
            continue
        stamp, name, pid, vm, anon = parts
        series.setdefault(name, []).append((float(stamp), pid, int(vm), int(anon)))
    bad = 0
    print("rss %-10s %7s %9s %9s %9s %9s %9s  %s" % (
        "process", "samples", "max MiB", "final MiB", "anon 1/3", "anon 2/3", "anon 3/3",
        "bounded"))
    for name in sorted(series):
        samples = series[name]
        third = max(1, len(samples) // 3)
        parts = [samples[:third], samples[third:2 * third], samples[2 * third:]]
        anon = [max((s[3] for s in part), default=0) for part in parts]
        ok = anon[2] <= 1.25 * max(anon[0], anon[1]) + 8 * 1024
        bad += not ok
        print("rss %-10s %7d %9.1f %9.1f %9.1f %9.1f %9.1f  %s%s" % (
            name, len(samples), max(s[2] for s in samples) / 1024, samples[-1][2] / 1024,
            anon[0] / 1024, anon[1] / 1024, anon[2] / 1024, "yes" if ok else "NO",
            " (%d pids)" % len({s[1] for s in samples}) if len({s[1] for s in samples}) > 1
            else ""))
    return 1 if bad else 0


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "load":
        connections = 2
        if "--connections" in sys.argv:
            connections = int(sys.argv[sys.argv.index("--connections") + 1])
        load(sys.argv[2], sys.argv[3].split(","), sys.argv[4], sys.argv[5], connections)
        return 0
    if len(sys.argv) >= 3 and sys.argv[1] == "latency":
        return latency(sys.argv[2], sys.argv[3:])
    if len(sys.argv) == 3 and sys.argv[1] == "rss":
        return rss(sys.argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
