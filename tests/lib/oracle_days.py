#!/usr/bin/env python3
"""tests/lib/oracle_days.py - the expected answers of `portevo top/series/days --json`,
computed independently of portevo's code.

It runs oracle.py on every file at once (which reads each with Debian's nfdump,
`nfdump -r FILE -o csv`, applies the matching rules: local source, monitored port, no
ICMP, and takes each file's block from its name), and then does what DESIGN.md says a
cluster does:

  1. merge the parts of one block from every exporter (all FILEs of the same block,
     whatever their spool; oracle.py does this: per (block, source, port) bytes, packets
     and durations add, the destination sets unite);
  2. per (day, source, port) and feature: sum, max and min over the blocks in which the
     pair appeared (max/min of the merged block values);
  3. rankings per (day, port, feature, op): every host, highest score first, ties by
     address ascending in portevo's order (16 bytes, IPv4 as ::ffff:a.b.c.d); the top
     10 is their head (the whole list lets a test drop the hosts of a missing shard).

Peers above 4096 are estimates in portevo; the oracle prints exact counts, so the tests
that use it keep every block's peers below the cap.

Prints one JSON document:
  {"days": ["YYYY-MM-DD", ...],
   "ranking": {"YYYY-MM-DD": {"sum": {"25": {"bytes": [["10.0.0.1", 123], ...], ...}}}},
   "series": {"10.0.0.1": {"bytes": {"sum": {"25": [["YYYY-MM-DD", 123], ...]}}}},
   "hosts": {"10.0.0.1": {"ports": [22, 25], "first_block": "...Z", "last_block": "...Z"}}}

Usage: oracle_days.py [--local-as N]... [--local-net CIDR]... [--ports LIST] [--tz ZONE]
                      [--nfdump PATH] FILE...
"""

import argparse
import datetime
import ipaddress
import json
import os
import subprocess
import sys

ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracle.py")
FEATURES = ("bytes", "packets", "durations", "peers")
OPS = ("sum", "max", "min")
PEERS_CAP = 4096


def sort_key(text):
    """portevo's address order: the 16 bytes, IPv4 v4-mapped."""
    addr = ipaddress.ip_address(text)
    if addr.version == 4:
        return b"\0" * 10 + b"\xff\xff" + addr.packed
    return addr.packed


def main():
    parser = argparse.ArgumentParser(description="expected portevo daily answers")
    parser.add_argument("--local-as", action="append", default=[])
    parser.add_argument("--local-net", action="append", default=[])
    parser.add_argument("--ports")
    parser.add_argument("--tz")
    parser.add_argument("--nfdump")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    # 1. Merged block values: oracle.py aggregates per (block, source, port) over every
    #    file it is given, so the parts of one block from every exporter merge there.
    command = [sys.executable, ORACLE]
    for value in args.local_as:
        command += ["--local-as", value]
    for value in args.local_net:
        command += ["--local-net", value]
    for option in ("ports", "tz", "nfdump"):
        if getattr(args, option):
            command += ["--" + option, getattr(args, option)]
    proc = subprocess.run(command + args.files, capture_output=True, text=True)
    if proc.returncode != 0:
        print("oracle_days: oracle.py failed: %s" % proc.stderr.strip(), file=sys.stderr)
        return 1
    blocks = {}  # (block, ip text, port) -> (bytes, packets, durations, peers)
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        block = datetime.datetime.strptime(row["block"], "%Y-%m-%dT%H:%M:%SZ")
        blocks[(block, row["ip"], row["port"])] = (row["bytes"], row["packets"],
                                                   row["durations"], row["peers"])

    # 2. Daily scores: (day, ip, port) -> feature -> op -> score
    daily = {}
    hosts = {}
    for (block, text, port), values in blocks.items():
        if values[3] >= PEERS_CAP:
            print("oracle_days: %s port %d has %d peers in block %s: above the cap, "
                  "portevo estimates" % (text, port, values[3], block), file=sys.stderr)
        day = block.strftime("%Y-%m-%d")
        scores = daily.setdefault((day, text, port), None)
        if scores is None:
            daily[(day, text, port)] = {f: {"sum": v, "max": v, "min": v}
                                        for f, v in zip(FEATURES, values)}
        else:
            for f, v in zip(FEATURES, values):
                scores[f]["sum"] += v
                scores[f]["max"] = max(scores[f]["max"], v)
                scores[f]["min"] = min(scores[f]["min"], v)
        stamp = block.strftime("%Y-%m-%dT%H:%M:%SZ")
        host = hosts.setdefault(text, {"ports": set(), "first_block": stamp, "last_block": stamp})
        host["ports"].add(port)
        host["first_block"] = min(host["first_block"], stamp)
        host["last_block"] = max(host["last_block"], stamp)

    # 3. Rankings and series
    days = sorted({day for day, _, _ in daily})
    top = {}
    series = {}
    for (day, text, port), scores in daily.items():
        for feature in FEATURES:
            for op in OPS:
                score = scores[feature][op]
                (top.setdefault(day, {}).setdefault(op, {}).setdefault(str(port), {})
                 .setdefault(feature, []).append((text, score)))
                (series.setdefault(text, {}).setdefault(feature, {}).setdefault(op, {})
                 .setdefault(str(port), []).append((day, score)))
    for per_op in top.values():
        for per_port in per_op.values():
            for per_feature in per_port.values():
                for feature, entries in per_feature.items():
                    entries.sort(key=lambda entry: (-entry[1], sort_key(entry[0])))
                    per_feature[feature] = [list(entry) for entry in entries]
    for per_feature in series.values():
        for per_op in per_feature.values():
            for per_port in per_op.values():
                for port, points in per_port.items():
                    per_port[port] = [list(point) for point in sorted(points)]
    for host in hosts.values():
        host["ports"] = sorted(host["ports"])
    json.dump({"days": days, "ranking": top, "series": series, "hosts": hosts}, sys.stdout,
              sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
