#!/usr/bin/env python3
"""tests/lib/oracle.py - the expected output of `portevo-ingest --dry-run --json`, computed
independently of portevo's code.

It reads each nfcapd file with Debian's nfdump (`TZ=UTC nfdump -r FILE -o csv`), takes the
block time from the file name (nfcapd.YYYYMMDDhhmm, in --tz, default UTC), applies the
matching rules itself (nfdump 1.7.1 refuses AS filters), aggregates per (block, source
address, destination port) and prints one JSON object per line, sorted by block, address
(IPv4 before IPv6, numerically) and port:

  {"block":"2026-11-20T10:00:00Z","ip":"10.0.0.1","port":25,"bytes":1,"packets":1,
   "durations":0,"peers":1,"peers_capped":false}

Rules (the contract of portevo-ingest): a flow counts when its source is local (source AS
in --local-as, or source address in a --local-net prefix; with neither, every source is
local), its destination port is monitored (--ports, default the paper's ALL*) and its
protocol is neither ICMP (1) nor ICMPv6 (58); with --exclude-internal, also its destination
is not local (destination AS not in --local-as and destination address in no --local-net).  bytes and packets add both directions,
durations add (last - first) in msecs, peers is the exact number of distinct destination
addresses; peers_capped is true from 4096 on.  Above 4096 portevo prints an estimate: the
oracle prints the exact count and compare.py accepts an estimate within 5 %.

nfdump 1.7.1 csv facts this relies on: the columns are named by a header line
(ts,te,td,sa,da,sp,dp,pr,...,ipkt,ibyt,opkt,obyt,in,out,sas,das,...); td is the duration
in seconds with exactly three decimals (msec precision; ts/te have only seconds); pr is a
name (TCP, UDP, ICMP, ICMP6, ...) or a number; dp of ICMP flows is type * 256 + code;
IPv6 addresses are printed in full (compressed) form; counters are plain integers; a
"Summary" section follows the flows.

With --direction in (portevo-ingest --dry-run --json --direction in), the incoming
direction instead: a flow counts when its DESTINATION is local (destination AS or
address; with no local network, every destination), its destination port monitored and
it is not ICMP; with --exclude-internal, also its source is not local.  The row is keyed
by the destination address, peers are the distinct SOURCE addresses, and each line ends
with "direction":"in".

Usage: oracle.py [--local-as N]... [--local-net CIDR]... [--ports LIST] [--tz ZONE]
                 [--exclude-internal] [--direction out|in] [--nfdump PATH] [--counts] FILE...
"""

import argparse
import datetime
import ipaddress
import os
import socket
import subprocess
import sys
import zoneinfo

DEFAULT_PORTS = "21,22,25,80,445,1194,3128,8080,8081,8118,8123,9050"
PEERS_CAP = 4096
ICMP_NAMES = {"ICMP": 1, "ICMP6": 58, "IPv6-ICMP": 58, "ICMPv6": 58}


def parse_ports(text):
    ports = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ValueError("empty port in list")
        if "-" in item:
            low, high = (int(x) for x in item.split("-", 1))
        else:
            low = high = int(item)
        if not 0 <= low <= high <= 65535:
            raise ValueError("bad port range " + item)
        ports.update(range(low, high + 1))
    return ports


def parse_as(text):
    text = text.strip()
    if text.upper().startswith("AS"):
        text = text[2:]
    value = int(text)
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError("AS out of range")
    return value


def block_of(path, zone):
    """Block start (UTC datetime) from the file name nfcapd.YYYYMMDDhhmm[ss]."""
    name = os.path.basename(path)
    if not name.startswith("nfcapd."):
        raise ValueError("%s: not an nfcapd.YYYYMMDDhhmm name" % path)
    stamp = name[len("nfcapd."):]
    fmt = {12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}.get(len(stamp))
    if not stamp.isdigit() or fmt is None:
        raise ValueError("%s: not an nfcapd.YYYYMMDDhhmm name" % path)
    local = datetime.datetime.strptime(stamp, fmt).replace(tzinfo=zone)
    return local.astimezone(datetime.timezone.utc)


def msecs_of(td):
    """'5.333' -> 5333, exactly (no float rounding)."""
    td = td.strip()
    negative = td.startswith("-")
    if negative:
        td = td[1:]
    whole, _, frac = td.partition(".")
    value = int(whole or "0") * 1000 + int((frac + "000")[:3] or "0")
    return -value if negative else value


def address_key(text):
    """(family order, packed bytes, inet_ntop text) for an address as nfdump prints it."""
    addr = ipaddress.ip_address(text.strip())
    if addr.version == 4:
        packed = addr.packed
        return (0, packed, socket.inet_ntop(socket.AF_INET, packed))
    packed = addr.packed
    return (1, packed, socket.inet_ntop(socket.AF_INET6, packed))


class Pair:
    __slots__ = ("bytes", "packets", "durations", "peers")

    def __init__(self):
        self.bytes = 0
        self.packets = 0
        self.durations = 0
        self.peers = set()


def read_flows(path, nfdump):
    """Yield dicts of the columns of each flow that nfdump prints for path."""
    env = dict(os.environ, TZ="UTC")
    proc = subprocess.Popen([nfdump, "-r", path, "-o", "csv"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True, bufsize=1 << 20)
    header = None
    index = {}
    for line in proc.stdout:
        line = line.rstrip("\n")
        if header is None:
            if line.startswith("ts,"):
                header = line.split(",")
                index = {name: i for i, name in enumerate(header)}
                for need in ("td", "sa", "da", "dp", "pr", "ipkt", "ibyt", "opkt", "obyt",
                             "sas", "das"):
                    if need not in index:
                        raise ValueError("%s: nfdump csv has no column %s" % (path, need))
                width = max(index[n] for n in ("td", "sa", "da", "dp", "pr", "ipkt", "ibyt",
                                               "opkt", "obyt", "sas", "das")) + 1
            continue
        if not line or line.startswith("Summary"):
            break
        fields = line.split(",", width)
        yield {name: fields[index[name]] for name in
               ("td", "sa", "da", "dp", "pr", "ipkt", "ibyt", "opkt", "obyt", "sas", "das")}
    for _ in proc.stdout:
        pass
    err = proc.stderr.read()
    if proc.wait() != 0 or header is None:
        raise ValueError("%s: nfdump failed: %s" % (path, err.strip()))


def protocol_number(name):
    name = name.strip()
    if name.isdigit():
        return int(name)
    return ICMP_NAMES.get(name, -1)


def main():
    parser = argparse.ArgumentParser(description="expected portevo-ingest --json output")
    parser.add_argument("--local-as", action="append", default=[], type=parse_as)
    parser.add_argument("--local-net", action="append", default=[])
    parser.add_argument("--ports", default=DEFAULT_PORTS)
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--exclude-internal", action="store_true",
                        help="flows to a local destination (AS or prefix) do not count")
    parser.add_argument("--direction", choices=("out", "in"), default="out")
    parser.add_argument("--nfdump", default="nfdump")
    parser.add_argument("--counts", action="store_true",
                        help="print 'FILE flows=N matched=M' per file on stderr")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    ports = parse_ports(args.ports)
    nets = [ipaddress.ip_network(n, strict=True) for n in args.local_net]
    nets4 = [n for n in nets if n.version == 4]
    nets6 = [n for n in nets if n.version == 6]
    local_as = set(args.local_as)
    everyone = not local_as and not nets
    zone = zoneinfo.ZoneInfo(args.tz)

    pairs = {}  # (block, family, packed, text, port) -> Pair
    status = 0
    local_cache = {}

    def in_local_net(text):
        key = local_cache.get(text)
        if key is None:
            addr = ipaddress.ip_address(text)
            key = any(addr in n for n in (nets4 if addr.version == 4 else nets6))
            local_cache[text] = key
        return key

    for path in args.files:
        try:
            block = block_of(path, zone)
            flows = matched = 0
            for flow in read_flows(path, args.nfdump):
                flows += 1
                if protocol_number(flow["pr"]) in (1, 58):
                    continue
                port = int(flow["dp"])
                if port not in ports:
                    continue
                src = flow["sa"].strip()
                dst = flow["da"].strip()
                # host: the local end of the direction asked; other: its peer
                host, other, host_as, other_as = src, dst, flow["sas"], flow["das"]
                if args.direction == "in":
                    host, other, host_as, other_as = dst, src, flow["das"], flow["sas"]
                if not everyone:
                    if not (int(host_as) in local_as or in_local_net(host)):
                        continue
                    if args.exclude_internal and (int(other_as) in local_as or
                                                  in_local_net(other)):
                        continue
                matched += 1
                family, packed, text = address_key(host)
                pair_key = (block, family, packed, text, port)
                pair = pairs.get(pair_key)
                if pair is None:
                    pair = pairs[pair_key] = Pair()
                pair.bytes += int(flow["ibyt"]) + int(flow["obyt"])
                pair.packets += int(flow["ipkt"]) + int(flow["opkt"])
                pair.durations += msecs_of(flow["td"])
                pair.peers.add(ipaddress.ip_address(other).packed)
            if args.counts:
                print("%s flows=%d matched=%d" % (path, flows, matched), file=sys.stderr)
        except (ValueError, OSError) as error:
            print("oracle: %s" % error, file=sys.stderr)
            status = 1

    out = sys.stdout
    for key in sorted(pairs):
        block, _family, _packed, text, port = key
        pair = pairs[key]
        peers = len(pair.peers)
        out.write('{"block":"%s","ip":"%s","port":%d,"bytes":%d,"packets":%d,"durations":%d,'
                  '"peers":%d,"peers_capped":%s%s}\n'
                  % (block.strftime("%Y-%m-%dT%H:%M:%SZ"), text, port, pair.bytes,
                     pair.packets, pair.durations, peers,
                     "true" if peers >= PEERS_CAP else "false",
                     ',"direction":"in"' if args.direction == "in" else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
