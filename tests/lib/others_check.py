#!/usr/bin/env python3
"""tests/lib/others_check.py - /api/others of each host against oracle_others.py.

For every host of the oracle (and the extra hosts given, which must have no others), GET
/api/others?ip=HOST&from=FROM&to=TO and compare, day by day, bytes, packets, flows,
truncated and the top 5 ports [port, bytes, packets, flows] (order included); every
top port must name its service as a string.  Prints PASS/FAIL lines; exits 1 on a FAIL.

Usage: others_check.py --url URL --expected FILE --from D --to D [--empty HOST]...
"""

import argparse
import json
import sys
import urllib.parse
import urllib.request


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.load(response)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--from", dest="first", required=True)
    parser.add_argument("--to", dest="last", required=True)
    parser.add_argument("--empty", action="append", default=[])
    args = parser.parse_args()
    with open(args.expected) as handle:
        expected = json.load(handle)
    failed = False
    hosts = sorted(expected) + args.empty
    for host in hosts:
        query = urllib.parse.urlencode({"ip": host, "from": args.first, "to": args.last})
        status, answer = get("%s/api/others?%s" % (args.url, query))
        want = [{"date": day, **values} for day, values in sorted(expected.get(host, {}).items())]
        got = [{"date": d["date"], "bytes": d["bytes"], "packets": d["packets"],
                "flows": d["flows"], "truncated": d["truncated"],
                "top_ports": [[p["port"], p["bytes"], p["packets"], p["flows"]]
                              for p in d["top_ports"]]} for d in answer.get("days", [])]
        services = all(isinstance(p.get("service"), str) for d in answer.get("days", [])
                       for p in d["top_ports"])
        ok = (status == 200 and answer.get("ip") == host and answer.get("from") == args.first
              and answer.get("to") == args.last and answer.get("missing_shards") == []
              and got == want and services)
        if ok:
            print("PASS: /api/others of %s: %d days as nfdump says%s" % (
                host, len(want), " (truncated)" if any(d["truncated"] for d in want) else ""))
        else:
            failed = True
            print("FAIL: /api/others of %s\n  expected %s\n  got %s %s" % (
                host, json.dumps(want), status, json.dumps(answer)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
