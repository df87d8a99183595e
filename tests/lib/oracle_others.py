#!/usr/bin/env python3
"""tests/lib/oracle_others.py - the expected traffic to the ports that are not monitored,
computed from nfdump's own output, independently of portevo's code.

Reads every file with `nfdump -r FILE -o csv` (oracle.read_flows), keeps the flows of a
local source (source AS in --local-as) that are not ICMP and go to a port outside --ports
(default ALL*), and adds, per (source, block) and per (source, day): bytes (in + out),
packets, flows, and the same per destination port.

  --blocks: one JSON line per (block, source), sorted by block then address, as
            `portevo-ingest --dry-run --others-json` prints it: {"block","ip","bytes",
            "packets","flows","truncated","ports":[[port, bytes, packets, flows], ...]}
            with the 16 ports of most bytes (ties: lower port) and truncated when the
            source used more than 16 other ports in the block;
  default:  one JSON document {ip: {"YYYY-MM-DD": {"bytes","packets","flows","truncated",
            "top_ports": [[port, bytes, packets, flows] x at most 5]}}}, truncated when the
            source used more than 16 other ports that day.

Usage: oracle_others.py [--local-as N]... [--ports LIST] [--blocks] FILE...
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

KEPT = 16


def top(ports, count):
    ranked = sorted(ports.items(), key=lambda item: (-item[1][0], item[0]))
    return [[port] + values for port, values in ranked[:count]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--local-as", action="append", default=[], type=oracle.parse_as)
    parser.add_argument("--ports", default=oracle.DEFAULT_PORTS)
    parser.add_argument("--blocks", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    monitored = oracle.parse_ports(args.ports)
    local_as = set(args.local_as)
    zone = oracle.zoneinfo.ZoneInfo("UTC")
    per = {}  # (period, family, packed, text) -> [bytes, packets, flows, {port: [b, p, f]}]
    for path in args.files:
        block = oracle.block_of(path, zone)
        period = block.strftime("%Y-%m-%dT%H:%M:%SZ") if args.blocks else block.strftime(
            "%Y-%m-%d")
        for flow in oracle.read_flows(path, "nfdump"):
            if oracle.protocol_number(flow["pr"]) in (1, 58):
                continue
            port = int(flow["dp"])
            if port in monitored or (local_as and int(flow["sas"]) not in local_as):
                continue
            family, packed, text = oracle.address_key(flow["sa"])
            entry = per.setdefault((period, family, packed, text), [0, 0, 0, {}])
            nbytes = int(flow["ibyt"]) + int(flow["obyt"])
            packets = int(flow["ipkt"]) + int(flow["opkt"])
            entry[0] += nbytes
            entry[1] += packets
            entry[2] += 1
            counters = entry[3].setdefault(port, [0, 0, 0])
            counters[0] += nbytes
            counters[1] += packets
            counters[2] += 1
    if args.blocks:
        for (period, _, _, text), (nbytes, packets, flows, ports) in sorted(per.items()):
            print(json.dumps({"block": period, "ip": text, "bytes": nbytes, "packets": packets,
                              "flows": flows, "truncated": len(ports) > KEPT,
                              "ports": top(ports, KEPT)}, separators=(",", ":")))
        return
    result = {}
    for (period, _, _, text), (nbytes, packets, flows, ports) in sorted(per.items()):
        result.setdefault(text, {})[period] = {
            "bytes": nbytes, "packets": packets, "flows": flows,
            "truncated": len(ports) > KEPT, "top_ports": top(ports, 5)}
    json.dump(result, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
