#!/usr/bin/env python3
"""tests/lib/query_check.py - ask a running cluster with `portevo top/series/days --json`
and compare every answer with oracle_days.py's expectation.

Prints "PASS: " / "FAIL: " lines (what tests/run.sh counts), one per kind of query, with
the differing queries listed under a FAIL; exits 1 if anything failed.

  query_check.py --portevo BIN --broker EP --expected ORACLE.json [--label TEXT]
                 [--hosts IP,IP...] [--quick] [--shards N --down INDEX]
                 [--annotations COUNTS.json] [--deadline-msecs N] [--no-host] [--jobs N]

--quick asks only the all-ports top of each (day, op) and the all-ports series of each
host; otherwise also every single port.  --down INDEX says shard INDEX (of N, the first
map: slot s -> shard s mod N) is down: its hosts are left out of the expected top lists,
missing_shards must name it, and a series of one of its hosts must fail (exit 1, error
JSON).  --annotations gives the expected annotation count per IP (default 0).
--jobs N runs N queries at once (threads; default 1).  --no-host leaves out `portevo
host` (a host record keeps the ports of days expired since, until the host itself
expires: the oracle of the days kept does not say them).
"""

import argparse
import concurrent.futures
import ipaddress
import json
import subprocess
import sys
import threading

FEATURES = ("bytes", "packets", "durations", "peers")
OPS = ("sum", "max", "min")
SERVICES = {21: "FTP", 22: "SSH", 25: "SMTP", 80: "Web", 445: "Netbios", 1194: "OpenVPN",
            3128: "Squid proxy", 8080: "Webproxy", 8081: "Webproxy", 8118: "Privoxy",
            8123: "Polipo web proxy", 9050: "Tor"}
SLOT_COUNT = 1024
MASK = (1 << 64) - 1
TOLERANCE = 0.05  # a peers score flagged peers_capped may be a HyperLogLog estimate


def close(got, want):
    """An estimate of want: an integer within TOLERANCE."""
    return (type(got) is int and type(want) is int
            and abs(got - want) <= max(1, TOLERANCE * want))


def same(got, want):
    """got equals want, except that the scores want flags peers_capped may be estimates:
    a top entry {"ip", "score", "annotations", "peers_capped": true}, and the points of a
    series entry whose parallel "peers_capped" list says true.  Types must match (true
    is not 1)."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return False
        if want.get("peers_capped") is True and "score" in want:
            return close(got["score"], want["score"]) and all(
                same(got[k], want[k]) for k in want if k != "score")
        flags = want.get("peers_capped")
        if isinstance(flags, list) and "points" in want:
            points = got["points"]
            if not same(got["peers_capped"], flags) or not isinstance(points, list) or \
                    len(points) != len(want["points"]):
                return False
            for point, expected, flag in zip(points, want["points"], flags):
                if not (isinstance(point, list) and len(point) == 2 and point[0] == expected[0]
                        and (close(point[1], expected[1]) if flag else
                             same(point[1], expected[1]))):
                    return False
            return all(same(got[k], want[k]) for k in want if k not in ("points", "peers_capped"))
        return all(same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(same(g, w) for g, w in zip(got, want)))
    return type(got) is type(want) and got == want


def slot_of(text):
    """proto_shard_slot, from its definition: FNV-1a 64 over the 16 bytes, fmix64, mod 1024."""
    addr = ipaddress.ip_address(text)
    data = (b"\0" * 10 + b"\xff\xff" + addr.packed) if addr.version == 4 else addr.packed
    value = 0xcbf29ce484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001b3) & MASK
    value ^= value >> 33
    value = (value * 0xff51afd7ed558ccd) & MASK
    value ^= value >> 33
    value = (value * 0xc4ceb9fe1a85ec53) & MASK
    value ^= value >> 33
    return value % SLOT_COUNT


class Checker:
    def __init__(self, args):
        self.args = args
        self.expected = json.load(open(args.expected))
        self.annotations = json.load(open(args.annotations)) if args.annotations else {}
        self.results = {}  # kind -> [queries, failures]
        self.lock = threading.Lock()  # of results (--jobs)

    def on_down_shard(self, ip):
        if self.args.down is None:
            return False
        return slot_of(ip) % self.args.shards == self.args.down

    def missing(self):
        return [] if self.args.down is None else ["shard-%d" % self.args.down]

    def with_direction(self, words):
        """words with --direction appended when asked (every command but days)."""
        if self.args.direction and words[0] != "days":
            return tuple(words) + ("--direction", self.args.direction)
        return tuple(words)

    def run(self, *words):
        words = self.with_direction(words)
        command = [self.args.portevo, *words, "--json", "--broker", self.args.broker,
                   "--deadline-msecs", str(self.args.deadline_msecs)]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
        try:
            answer = json.loads(proc.stdout)
        except ValueError:
            answer = None
        return proc.returncode, answer, proc.stderr, " ".join(command[1:])

    def record(self, kind, query, problem):
        with self.lock:
            entry = self.results.setdefault(kind, [0, []])
            entry[0] += 1
            if problem:
                entry[1].append("%s: %s" % (query, problem))

    def expected_ports(self, day, op, port):
        ranking = self.expected["ranking"].get(day, {}).get(op, {})
        ports = sorted(int(p) for p in ranking) if port is None else [port]
        result = []
        for p in ports:
            features = {}
            for feature in FEATURES:
                entries = ranking.get(str(p), {}).get(feature, [])
                entries = [e for e in entries if not self.on_down_shard(e[0])][:10]
                features[feature] = []
                for ip, score, capped in entries:
                    entry = {"ip": ip, "score": score, "annotations": self.annotations.get(ip, 0)}
                    if feature == "peers":
                        entry["peers_capped"] = capped
                    features[feature].append(entry)
            if port is None and not any(features.values()):
                continue  # every host of that port is on the down shard
            result.append({"port": p, "service": SERVICES.get(p, ""), "features": features})
        return result

    def check_top(self, day, op, port):
        words = ["top", "--date", day, "--op", op] + ([] if port is None else ["--port", str(port)])
        rc, answer, stderr, query = self.run(*words)
        want = {"date": day, "op": op, "ports": self.expected_ports(day, op, port),
                "missing_shards": self.missing()}
        problem = None
        if rc != 0 or not same(answer, want):
            problem = "exit %d, got %s, want %s %s" % (rc, json.dumps(answer), json.dumps(want),
                                                       stderr.strip()[:300])
        self.record("top" if port is None else "top (one port)", query, problem)

    def check_series(self, ip, feature, op, port):
        words = ["series", "--host", ip, "--port", "all" if port is None else str(port),
                 "--feature", feature, "--op", op]
        rc, answer, stderr, query = self.run(*words)
        per_port = self.expected["series"].get(ip, {}).get(feature, {}).get(op, {})
        if self.on_down_shard(ip):
            ok = rc == 1 and answer is not None and "error" in answer
            self.record("series (host on the down shard)", query,
                        None if ok else "exit %d, got %s, want an error" % (rc, json.dumps(answer)))
            return
        ports = sorted(per_port, key=int) if port is None else [str(port)]
        series = []
        for p in ports:
            points = per_port.get(p, [])
            entry = {"port": int(p), "points": [[day, score] for day, score, _ in points]}
            if feature == "peers":
                entry["peers_capped"] = [capped for _, _, capped in points]
            series.append(entry)
        want = {"host": ip, "feature": feature, "op": op, "series": series, "missing_shards": []}
        problem = None
        if rc != 0 or not same(answer, want):
            problem = "exit %d, got %s, want %s %s" % (rc, json.dumps(answer), json.dumps(want),
                                                       stderr.strip()[:300])
        self.record("series" if port is None else "series (one port)", query, problem)

    def check_days(self):
        rc, answer, stderr, query = self.run("days")
        want = {"days": self.expected["days"]}
        problem = None if rc == 0 and answer == want else "exit %d, got %s, want %s" % (
            rc, json.dumps(answer), json.dumps(want))
        self.record("days", query, problem)

    def check_host(self, ip):
        rc, answer, stderr, query = self.run("host", ip)
        if self.on_down_shard(ip):
            ok = rc == 1 and answer is not None and "error" in answer
            self.record("host (on the down shard)", query, None if ok else "exit %d" % rc)
            return
        host = self.expected["hosts"].get(ip)
        problem = None
        if rc != 0 or answer is None:
            problem = "exit %d: %s" % (rc, stderr.strip()[:300])
        elif host is None:
            if answer.get("first_seen") is not None or answer.get("ports"):
                problem = "unknown host, got %s" % json.dumps(answer)
        elif answer.get("ip") != ip or answer.get("ports") != host["ports"]:
            problem = "got %s, want ports %s" % (json.dumps(answer), host["ports"])
        elif not (answer["first_seen"] and answer["last_seen"]
                  and answer["first_seen"][:10] <= host["first_block"][:10]
                  and answer["last_seen"][:10] >= host["last_block"][:10]):
            problem = "first/last seen %s %s, blocks %s %s" % (
                answer.get("first_seen"), answer.get("last_seen"), host["first_block"],
                host["last_block"])
        elif self.annotations.get(ip, 0) != len(answer.get("annotations", [])):
            problem = "%d annotations, want %d" % (len(answer.get("annotations", [])),
                                                   self.annotations.get(ip, 0))
        self.record("host", query, problem)

    def report(self):
        failed = False
        label = "[%s] " % self.args.label if self.args.label else ""
        for kind, (count, failures) in self.results.items():
            if failures:
                failed = True
                print("FAIL: %s%s: %d of %d queries differ from the oracle" % (
                    label, kind, len(failures), count))
                for failure in failures[:5]:
                    print("  " + failure[:3000])
            else:
                print("PASS: %s%s: %d queries equal the oracle" % (label, kind, count))
        return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description="compare portevo answers with the oracle")
    parser.add_argument("--portevo", required=True)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--label", default="")
    parser.add_argument("--hosts", default="")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--down", type=int)
    parser.add_argument("--annotations")
    parser.add_argument("--deadline-msecs", type=int, default=2000)
    parser.add_argument("--no-host", action="store_true")
    parser.add_argument("--jobs", type=int, default=1, help="queries at once (default 1)")
    parser.add_argument("--direction", help="ask every top, series and host query for "
                        "this direction (out or in; default: not given, i.e. out)")
    args = parser.parse_args()
    checker = Checker(args)
    expected = checker.expected
    queries = [(checker.check_days,)]  # (method, arguments...)
    for day in expected["days"]:
        for op in OPS:
            queries.append((checker.check_top, day, op, None))
            if not args.quick:
                for port in sorted({int(p) for p in expected["ranking"][day][op]}):
                    queries.append((checker.check_top, day, op, port))
    hosts = [h for h in args.hosts.split(",") if h]
    for ip in hosts:
        if not args.no_host:
            queries.append((checker.check_host, ip))
        for feature in FEATURES:
            for op in OPS:
                queries.append((checker.check_series, ip, feature, op, None))
                if not args.quick:
                    ports = sorted(int(p) for p in
                                   expected["series"].get(ip, {}).get(feature, {}).get(op, {}))
                    for port in ports[:1] + [443]:  # one with traffic, one without
                        queries.append((checker.check_series, ip, feature, op, port))
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for _ in pool.map(lambda query: query[0](*query[1:]), queries):
            pass
    return checker.report()


if __name__ == "__main__":
    sys.exit(main())
