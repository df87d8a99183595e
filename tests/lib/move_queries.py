#!/usr/bin/env python3
"""tests/lib/move_queries.py - ask a cluster again and again while its slots move, and
sort every answer: exact, partial (says missing_shards) or wrong.

For each given DAY (days whose every block was final before the move began) one round
asks, for each op, the all-ports top through the gateway's HTTP API and through the
`portevo` CLI, and the one-day series (from=to=DAY, all ports) of every host the oracle
knows through the API, the feature changing from round to round.  Expected answers are
oracle_days.py's (over all the files: later files hold only later days).

  exact    the answer equals the oracle and missing_shards is empty;
  partial  missing_shards is not empty, and every entry it does give is the oracle's:
           each top list is a sub-sequence of the oracle's whole ranking (same hosts,
           same scores, same order), at most ten long;
  wrong    anything else: another number, an error, no answer.

Runs until the file STOP exists (at least one round), then writes a JSON summary
{"rounds", "times": [start of each round, Unix seconds], "exact", "partial", "wrong",
"wrongs": [first few]} to OUT and prints it;
exit 1 if any answer was wrong or none was asked.

  move_queries.py --url http://HOST:PORT --portevo BIN --broker EP --expected ORACLE.json
                  --days D[,D...] --stop FILE --out SUMMARY.json [--once]
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_check import get  # noqa: E402
from query_check import FEATURES, OPS, SERVICES, same  # noqa: E402


class Sorter:
    def __init__(self, args):
        self.args = args
        self.expected = json.load(open(args.expected))
        self.counts = {"exact": 0, "partial": 0, "wrong": 0}
        self.wrongs = []

    def count(self, kind, query, detail=""):
        self.counts[kind] += 1
        if kind == "wrong" and len(self.wrongs) < 5:
            self.wrongs.append("%s: %s" % (query, detail[:1500]))

    def ranking(self, day, op, port, feature):
        return self.expected["ranking"].get(day, {}).get(op, {}).get(str(port), {}).get(
            feature, [])

    def entry(self, ip, score, capped, feature):
        entry = {"ip": ip, "score": score, "annotations": 0}
        if feature == "peers":
            entry["peers_capped"] = capped
        return entry

    def want_top(self, day, op):
        ports = []
        for port in sorted(int(p) for p in self.expected["ranking"].get(day, {}).get(op, {})):
            features = {f: [self.entry(*e, f) for e in self.ranking(day, op, port, f)[:10]]
                        for f in FEATURES}
            ports.append({"port": port, "service": SERVICES.get(port, ""), "features": features})
        return {"date": day, "op": op, "ports": ports, "missing_shards": []}

    def partial_top_ok(self, answer, day, op):
        """Every list of a partial answer is a sub-sequence of the oracle's ranking."""
        if not isinstance(answer.get("ports"), list):
            return False
        for port in answer["ports"]:
            if not isinstance(port, dict) or set(port) != {"port", "service", "features"}:
                return False
            for feature in FEATURES:
                got = port["features"].get(feature)
                full = [self.entry(*e, feature) for e in self.ranking(day, op, port["port"], feature)]
                if not isinstance(got, list) or len(got) > 10:
                    return False
                at = 0
                for entry in got:
                    while at < len(full) and not (isinstance(entry, dict)
                                                  and full[at]["ip"] == entry.get("ip")):
                        at += 1
                    if at == len(full) or not same(entry, full[at]):
                        return False
                    at += 1
        return answer.get("date") == day and answer.get("op") == op

    def sort_top(self, how, query, rc, answer, day, op):
        want = self.want_top(day, op)
        if rc == 0 and same(answer, want):
            self.count("exact", query)
        elif rc == 0 and isinstance(answer, dict) and answer.get("missing_shards") and \
                self.partial_top_ok(answer, day, op):
            self.count("partial", query)
        else:
            self.count("wrong", "%s %s" % (how, query), "exit %d, got %s" % (rc, json.dumps(answer)))

    def want_series(self, ip, feature, op, day):
        series = []
        per_port = self.expected["series"].get(ip, {}).get(feature, {}).get(op, {})
        for port in sorted(per_port, key=int):
            points = [p for p in per_port[port] if p[0] == day]
            if not points:
                continue
            entry = {"port": int(port), "points": [[d, s] for d, s, _ in points]}
            if feature == "peers":
                entry["peers_capped"] = [c for _, _, c in points]
            series.append(entry)
        return {"host": ip, "feature": feature, "op": op, "series": series, "missing_shards": []}

    def http(self, path):
        status, _, body = get(self.args.url + path)
        try:
            return (0 if status == 200 else status), json.loads(body)
        except ValueError:
            return status or 1, body[:200]

    def cli_top(self, day, op):
        command = [self.args.portevo, "top", "--date", day, "--op", op, "--json",
                   "--broker", self.args.broker]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except ValueError:
            return proc.returncode, proc.stderr.strip()[:200]

    def round(self, number):
        for day in self.days:
            for op in OPS:
                query = "top?date=%s&op=%s" % (day, op)
                self.sort_top("HTTP", query, *self.http("/api/" + query), day, op)
                self.sort_top("CLI", query, *self.cli_top(day, op), day, op)
            feature = FEATURES[number % len(FEATURES)]
            op = OPS[number % len(OPS)]
            for ip in sorted(self.expected["hosts"]):
                query = "/api/series?" + urllib.parse.urlencode(
                    {"host": ip, "port": "all", "feature": feature, "op": op,
                     "from": day, "to": day})
                rc, answer = self.http(query)
                want = self.want_series(ip, feature, op, day)
                if rc == 0 and same(answer, want):
                    self.count("exact", query)
                elif rc == 0 and isinstance(answer, dict) and answer.get("missing_shards") and \
                        same(dict(answer, missing_shards=[]), want):
                    self.count("partial", query)
                else:
                    self.count("wrong", "HTTP " + query, "status %s, got %s, want %s" % (
                        rc, json.dumps(answer), json.dumps(want)))

    def run(self):
        self.days = [d for d in self.args.days.split(",") if d]
        rounds, times = 0, []
        while True:
            times.append(round(time.time(), 3))
            self.round(rounds)
            rounds += 1
            if self.args.once or os.path.exists(self.args.stop):
                break
            time.sleep(0.05)
        summary = dict(self.counts, rounds=rounds, times=times, wrongs=self.wrongs)
        with open(self.args.out, "w") as out:
            json.dump(summary, out)
        print(json.dumps(summary))
        return 1 if self.counts["wrong"] or not self.counts["exact"] + self.counts["partial"] else 0


def main():
    parser = argparse.ArgumentParser(description="sort answers asked during a slot move")
    for name in ("--url", "--portevo", "--broker", "--expected", "--days", "--out"):
        parser.add_argument(name, required=True)
    parser.add_argument("--stop", default="")
    parser.add_argument("--once", action="store_true")
    return Sorter(parser.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
