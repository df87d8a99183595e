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

Peers: a block "reached the cap" when nfdump's flows give it 4096 or more distinct
destinations (oracle.py's peers_capped); portevo counts exactly up to 4096 and estimates
beyond.  The oracle prints exact counts and, for every daily peers score, whether it
rests on a capped block (gateway/API.md "Estimated peers"): sum and max when some block
of the day reached the cap, min when the smallest block did.  Where that flag is true
the tests accept portevo's estimate within a tolerance (query_check.py); rankings are
by the exact counts, so the test data keep capped hosts far from their neighbours.

Prints one JSON document (capped is false for every feature but peers):
  {"days": ["YYYY-MM-DD", ...],
   "ranking": {"YYYY-MM-DD": {"sum": {"25": {"bytes": [["10.0.0.1", 123, capped], ...],
                                             ...}}}},
   "series": {"10.0.0.1": {"bytes": {"sum": {"25": [["YYYY-MM-DD", 123, capped], ...]}}}},
   "hosts": {"10.0.0.1": {"ports": [22, 25], "first_block": "...Z", "last_block": "...Z"}}}

Usage: oracle_days.py [--local-as N]... [--local-net CIDR]... [--ports LIST] [--tz ZONE]
                      [--nfdump PATH] [--direction out|in] [--exclude-internal] FILE...
(--direction in: the incoming direction's answers, hosts the local destinations.)
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
    parser.add_argument("--direction", help="out (default) or in: oracle.py --direction")
    parser.add_argument("--exclude-internal", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    # 1. Merged block values: oracle.py aggregates per (block, source, port) over every
    #    file it is given, so the parts of one block from every exporter merge there.
    command = [sys.executable, ORACLE]
    for value in args.local_as:
        command += ["--local-as", value]
    for value in args.local_net:
        command += ["--local-net", value]
    for option in ("ports", "tz", "nfdump", "direction"):
        if getattr(args, option):
            command += ["--" + option, getattr(args, option)]
    if args.exclude_internal:
        command.append("--exclude-internal")
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
    block_peers = {}  # (day, ip text, port) -> every block's exact peers
    for (block, text, port), values in blocks.items():
        day = block.strftime("%Y-%m-%d")
        block_peers.setdefault((day, text, port), []).append(values[3])
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
    # Which daily peers scores rest on a block that reached the cap
    capped = {}  # (day, ip text, port) -> op -> bool
    for key, peers in block_peers.items():
        some = any(p >= PEERS_CAP for p in peers)
        capped[key] = {"sum": some, "max": some, "min": min(peers) >= PEERS_CAP}

    # 3. Rankings and series
    days = sorted({day for day, _, _ in daily})
    top = {}
    series = {}
    for (day, text, port), scores in daily.items():
        for feature in FEATURES:
            for op in OPS:
                score = scores[feature][op]
                flag = feature == "peers" and capped[(day, text, port)][op]
                (top.setdefault(day, {}).setdefault(op, {}).setdefault(str(port), {})
                 .setdefault(feature, []).append((text, score, flag)))
                (series.setdefault(text, {}).setdefault(feature, {}).setdefault(op, {})
                 .setdefault(str(port), []).append((day, score, flag)))
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
