#!/usr/bin/env python3
"""tests/lib/api_check.py - ask a running gateway's HTTP API and compare every answer
with oracle_days.py's expectation.

The same checks as query_check.py (which asks the `portevo` CLI): the CLI and the API
print the same JSON documents (DESIGN.md "Answers"), so this reuses query_check's
Checker and replaces only how a query is asked: each CLI query becomes a GET of the
matching endpoint, HTTP 200 counts as exit 0, 503 (no shard answered) as exit 1 and
anything else as exit 2.  Every answer must also carry the Cache-Control the API
promises (gateway/API.md): no-store when partial, max-age=3600 for a complete answer
about days before today (UTC), max-age=10 otherwise.

  api_check.py --url http://127.0.0.1:PORT --expected ORACLE.json [--label TEXT]
               [--hosts IP,IP...] [--quick] [--shards N --down INDEX]
               [--annotations COUNTS.json]
"""

import datetime
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import query_check  # noqa: E402  (the checks and the oracle's shapes)

TODAY = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def get(url):
    """(status, headers, body text) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


class HttpChecker(query_check.Checker):
    """query_check's Checker asking the gateway (its --broker argument is the URL)."""

    def run(self, *words):
        words = self.with_direction(words)
        command, rest = words[0], list(words[1:])
        params = []
        if command == "host":
            params.append(("ip", rest[0]))
            rest = rest[1:]
        while rest:
            params.append((rest[0][2:], rest[1]))
            rest = rest[2:]
        path = "/api/%s?%s" % (command, urllib.parse.urlencode(params))
        status, headers, body = get(self.args.broker + path)
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        rc = {200: 0, 503: 1}.get(status, 2)
        self.record("Cache-Control", path,
                    self.cache_problem(command, dict(params), status, headers, answer))
        return rc, answer, "HTTP %d %s" % (status, body[:200]), path

    def cache_problem(self, command, params, status, headers, answer):
        """What is wrong with the answer's Cache-Control, or None."""
        got = headers.get("Cache-Control")
        partial = (answer or {}).get("missing_shards") or (
            command == "days" and self.args.down is not None)  # days name no missing shard
        if status != 200 or partial:
            want = "no-store"
        else:
            last = params.get("date") or params.get("to") or TODAY
            closed = command in ("top", "series") and last < TODAY
            want = "private, max-age=%d" % (3600 if closed else 10)
        return None if got == want else "Cache-Control %r, want %r" % (got, want)


def main():
    argv = sys.argv[1:]
    if "--url" in argv:
        argv[argv.index("--url")] = "--broker"
    # query_check's main parses the options and runs every check with its Checker.
    sys.argv = [sys.argv[0], "--portevo", "(http)"] + argv
    query_check.Checker = HttpChecker
    return query_check.main()


if __name__ == "__main__":
    sys.exit(main())
