#!/usr/bin/env python3
"""tests/lib/changes_check.py - /api/changes against an independent computation.

The expected answer is computed from oracle_days.py's output (itself from `nfdump -o
csv` of the same files: every host's daily score per (day, port, feature, op)), by the
rules of gateway/API.md "/api/changes", written again here without portevo's code:

  top 10        the first ten of the day's ranking of (port, feature, op);
  first_ever    no row of (host, port) on any earlier day (the test's days are all
                inside the retention);
  new_top       in the day's top 10, not in the previous day's;
  spike         in the top 10, some days with traffic in [day - window, day - 1], and
                score > k * (lower median of the scores of those days) with median > 0;
  back          in the top 10, no such day, not first_ever;
  rows          top-10 entries with a reason, plus first-ever pairs in no row of their
                port (feature bytes; at most 100 a port, highest bytes first); ranked
                per port: first_ever, back, spike (score/median descending), new_top;
                then score descending, feature, address.

With --sparks DAYS it checks /api/sparks instead: for each (port, feature) the day's top
10 (the ranking's head) and each host's scores of the DAYS days up to the date, 0 on a
day without traffic.

Usage: changes_check.py --url URL --expected ORACLE.json --date D [--op OP] [--k K]
           [--window W] [--query-k K] [--query-window W] --label TEXT
  (--k/--window: the values the answer must use; --query-*: those put in the URL, if any)
Prints PASS/FAIL lines; exit status 1 on a failure.
"""

import argparse
import datetime
import fractions
import ipaddress
import json
import sys
import urllib.request

FEATURES = ("bytes", "packets", "durations", "peers")
REASONS = ("first_ever", "back", "spike", "new_top")
SERVICES = {22: "SSH", 25: "SMTP", 80: "Web"}  # the paper's Table I names


def sort_key(text):
    addr = ipaddress.ip_address(text)
    if addr.version == 4:
        return b"\0" * 10 + b"\xff\xff" + addr.packed
    return addr.packed


def day_shift(day, delta):
    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=delta)).isoformat()


def expected_answer(oracle, date, op, k, window):
    ranking = oracle["ranking"]

    def lists(day):
        return ranking.get(day, {}).get(op, {})

    def seen_before(host, port):
        return any(day < date and any(entry[0] == host for entry in
                                      ranking[day].get("sum", {}).get(port, {}).get("bytes", []))
                   for day in ranking)

    def window_scores(host, port, feature):
        scores = []
        for delta in range(window, 0, -1):
            for entry in lists(day_shift(date, -delta)).get(port, {}).get(feature, []):
                if entry[0] == host:
                    scores.append(entry[1])
        return sorted(scores)

    rows = []
    for port, per_feature in lists(date).items():
        port_rows = []
        for feature in FEATURES:
            previous = [entry[0] for entry in
                        lists(day_shift(date, -1)).get(port, {}).get(feature, [])[:10]]
            for host, score, _ in per_feature.get(feature, [])[:10]:
                scores = window_scores(host, port, feature)
                median = scores[(len(scores) - 1) // 2] if scores else 0
                reasons = set()
                first = not seen_before(host, port)
                if first:
                    reasons.add("first_ever")
                elif not scores:
                    reasons.add("back")
                if host not in previous:
                    reasons.add("new_top")
                if scores and median > 0 and score > k * median:
                    reasons.add("spike")
                if reasons:
                    port_rows.append((host, feature, score, median, len(scores), reasons))
        with_rows = {row[0] for row in port_rows}
        firsts = [entry for entry in per_feature.get("bytes", [])
                  if not seen_before(entry[0], port)][:100]
        for host, score, _ in firsts:
            if host not in with_rows:
                port_rows.append((host, "bytes", score, 0, 0, {"first_ever"}))
        rows += [(int(port),) + row for row in port_rows]

    def rank(row):
        port, host, feature, score, median, _, reasons = row
        tier = min(REASONS.index(reason) for reason in reasons)
        ratio = fractions.Fraction(score, median) if tier == 2 else 0
        return (port, tier, -ratio, -score, FEATURES.index(feature), sort_key(host))

    ports = []
    for row in sorted(rows, key=rank):
        port, host, feature, score, median, days, reasons = row
        if not ports or ports[-1]["port"] != port:
            ports.append({"port": port, "service": SERVICES.get(port, ""), "changes": []})
        ports[-1]["changes"].append({
            "ip": host, "feature": feature, "score": score, "median": median, "days": days,
            "reasons": [reason for reason in REASONS if reason in reasons], "annotations": 0})
    return {"date": date, "op": op, "k": k, "window": window, "ports": ports,
            "missing_shards": []}


def expected_sparks(oracle, date, op, days):
    """/api/sparks: the day's top 10 of each (port, feature), each host's scores of the
    days up to the date (0 without traffic)."""
    ranking = oracle["ranking"]
    dates = [day_shift(date, -back) for back in range(days - 1, -1, -1)]
    ports = []
    for port in sorted(ranking.get(date, {}).get(op, {}), key=int):
        features = {}
        for feature in FEATURES:
            entries = []
            for host, score, _ in ranking[date][op][port].get(feature, [])[:10]:
                spark = []
                for day in dates:
                    found = [entry[1] for entry in
                             ranking.get(day, {}).get(op, {}).get(port, {}).get(feature, [])
                             if entry[0] == host]
                    spark.append(found[0] if found else 0)
                entries.append({"ip": host, "score": score, "spark": spark})
            features[feature] = entries
        ports.append({"port": int(port), "service": SERVICES.get(int(port), ""),
                      "features": features})
    return {"date": date, "op": op, "days": dates, "ports": ports, "missing_shards": []}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--op", default="sum")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--window", type=int, default=28)
    parser.add_argument("--query-k")
    parser.add_argument("--query-window")
    parser.add_argument("--query-op", action="store_true", help="put op= in the URL")
    parser.add_argument("--label", required=True)
    parser.add_argument("--print-expected", action="store_true")
    parser.add_argument("--sparks", type=int, help="check /api/sparks with DAYS days instead")
    args = parser.parse_args()
    with open(args.expected) as handle:
        oracle = json.load(handle)
    if args.sparks:
        expected = expected_sparks(oracle, args.date, args.op, args.sparks)
    else:
        expected = expected_answer(oracle, args.date, args.op, args.k, args.window)
    if args.print_expected:
        json.dump(expected, sys.stdout, indent=1)
        return 0
    query = "date=" + args.date
    endpoint = "sparks" if args.sparks else "changes"
    if args.sparks:
        query += "&days=%d" % args.sparks
    if args.query_op:
        query += "&op=" + args.op
    if args.query_k:
        query += "&k=" + args.query_k
    if args.query_window:
        query += "&window=" + args.query_window
    try:
        with urllib.request.urlopen("%s/api/%s?%s" % (args.url, endpoint, query),
                                    timeout=10) as reply:
            answer = json.load(reply)
    except Exception as error:  # noqa: BLE001 - any failure is a FAIL line
        print("FAIL: %s: /api/%s?%s: %s" % (args.label, endpoint, query, error))
        return 1
    rows = sum(len(port.get("changes", [])) + sum(len(v) for v in port.get("features", {}).values())
               for port in expected["ports"])
    if answer == expected:
        print("PASS: %s: /api/%s?%s equals the oracle (%d rows over %d ports)"
              % (args.label, endpoint, query, rows, len(expected["ports"])))
        return 0
    print("FAIL: %s: /api/%s?%s differs from the oracle" % (args.label, endpoint, query))
    print("  expected: %s" % json.dumps(expected, sort_keys=True)[:3000])
    print("  answered: %s" % json.dumps(answer, sort_keys=True)[:3000])
    return 1


if __name__ == "__main__":
    sys.exit(main())
