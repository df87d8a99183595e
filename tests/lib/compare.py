#!/usr/bin/env python3
"""tests/lib/compare.py - compare portevo's JSON lines with the oracle's.

  compare.py EXPECTED ACTUAL [--max N] [--tolerance F]

Both files hold one JSON object per line as `portevo-ingest --dry-run --json` prints
them (EXPECTED from oracle.py).  Rows are matched by (block, ip, port).  Every field must
be equal, except peers above the cap: when the expected count exceeds 4096, portevo prints
a HyperLogLog estimate, which is accepted within --tolerance (default 5 %) if peers_capped
is true.  The actual file must also be in the contract's order (block, IPv4 before IPv6,
address, port) and each line must be exactly the compact form (keys in contract order, no
spaces).  A line of the in direction (--direction in) ends with "direction":"in", which
must then be on both sides.  Prints the first --max (default 10) differences readably and exits 1 on any
difference, 0 if they agree (with a one-line summary), 2 on a usage or parse error.
"""

import argparse
import ipaddress
import json
import sys

KEYS = ["block", "ip", "port", "bytes", "packets", "durations", "peers", "peers_capped"]
PEERS_CAP = 4096


def sort_key(row):
    addr = ipaddress.ip_address(row["ip"])
    return (row["block"], addr.version, addr.packed, row["port"])


def keys_of(row):
    """The keys a row must have: the contract's, then "direction" on in rows."""
    return KEYS + ["direction"] if "direction" in row else KEYS


def compact(row):
    return json.dumps({k: row[k] for k in keys_of(row)}, separators=(",", ":"))


def load(path, problems, strict):
    rows = []
    with open(path) as file:
        for number, line in enumerate(file, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                problems.append("%s:%d: not JSON (%s): %s" % (path, number, error, line[:200]))
                continue
            if not isinstance(row, dict) or list(row) != keys_of(row) or \
                    row.get("direction", "in") != "in":
                problems.append("%s:%d: keys %s, want %s" % (
                    path, number, list(row) if isinstance(row, dict) else type(row).__name__,
                    KEYS))
                if not isinstance(row, dict) or any(k not in row for k in KEYS):
                    continue
            elif strict and line != compact(row):
                problems.append("%s:%d: not in compact form: %s" % (path, number, line[:200]))
            try:
                ipaddress.ip_address(row["ip"])
            except ValueError:
                problems.append("%s:%d: bad ip %r" % (path, number, row["ip"]))
                continue
            row["_line"] = number
            rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description="compare portevo JSON lines with the oracle")
    parser.add_argument("expected")
    parser.add_argument("actual")
    parser.add_argument("--max", type=int, default=10)
    parser.add_argument("--tolerance", type=float, default=0.05)
    args = parser.parse_args()

    problems = []
    try:
        expected = load(args.expected, [], strict=False)
        actual = load(args.actual, problems, strict=True)
    except OSError as error:
        print("compare: %s" % error, file=sys.stderr)
        return 2

    # Order and formatting of the actual output
    for before, after in zip(actual, actual[1:]):
        if sort_key(before) >= sort_key(after):
            problems.append("%s:%d: out of order or duplicate: %s after %s" % (
                args.actual, after["_line"], compact(after), compact(before)))
            break

    want = {(r["block"], ipaddress.ip_address(r["ip"]), r["port"]): r for r in expected}
    got = {}
    for row in actual:
        key = (row["block"], ipaddress.ip_address(row["ip"]), row["port"])
        if key in got:
            problems.append("%s:%d: duplicate row %s" % (args.actual, row["_line"], key))
        got[key] = row
        if key in want and row["ip"] != want[key]["ip"]:
            problems.append("%s:%d: ip printed as %r, want %r" % (
                args.actual, row["_line"], row["ip"], want[key]["ip"]))

    order = sorted(set(want) | set(got), key=lambda k: (k[0], k[1].version, k[1].packed, k[2]))
    for key in order:
        exp, act = want.get(key), got.get(key)
        label = "block=%s ip=%s port=%d" % (key[0], key[1], key[2])
        if act is None:
            problems.append("missing %s: expected %s" % (label, compact(exp)))
            continue
        if exp is None:
            problems.append("unexpected %s: got %s" % (label, compact(act)))
            continue
        diffs = []
        if act.get("direction") != exp.get("direction"):
            diffs.append("direction %s != expected %s" % (act.get("direction"), exp.get("direction")))
        for field in ("bytes", "packets", "durations"):
            if act[field] != exp[field]:
                diffs.append("%s %s != expected %s" % (field, act[field], exp[field]))
        peers_exp = exp["peers"]
        if peers_exp > PEERS_CAP:
            if act["peers_capped"] is not True:
                diffs.append("peers_capped %s, expected true (%d peers)" % (
                    json.dumps(act["peers_capped"]), peers_exp))
            if abs(act["peers"] - peers_exp) > args.tolerance * peers_exp:
                diffs.append("peers %s not within %.0f%% of %d" % (
                    act["peers"], args.tolerance * 100, peers_exp))
        else:
            if act["peers"] != peers_exp:
                diffs.append("peers %s != expected %d" % (act["peers"], peers_exp))
            if act["peers_capped"] is not exp["peers_capped"]:
                diffs.append("peers_capped %s != expected %s" % (
                    json.dumps(act["peers_capped"]), json.dumps(exp["peers_capped"])))
        if diffs:
            problems.append("%s: %s\n    expected %s\n    got      %s" % (
                label, "; ".join(diffs), compact(exp), compact(act)))

    if problems:
        print("compare: %d difference(s) between %s (expected, %d rows) and %s (%d rows):" % (
            len(problems), args.expected, len(expected), args.actual, len(actual)))
        for problem in problems[:args.max]:
            print("  " + problem)
        if len(problems) > args.max:
            print("  ... %d more" % (len(problems) - args.max))
        return 1
    print("compare: %d rows agree" % len(expected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
