#!/usr/bin/env python3
"""tests/lib/reader_flows.py - the flows of the reader tests, as nf_send CSV (deterministic).

Blocks: A 10:00 (3 exporters: files a1 v9 msec times with reverse counters, a2 v9
sysUptime times, a3 v5), B 10:05 (v5 only), C 10:10 (two spools: cx, cy), D 10:15 (an
exporter without AS numbers).  Peers around the cap (4095, 4096, 4097, 5000) split over
exporters with overlaps, IPv6, ICMP posing as ports, foreign sources and non-monitored
ports.  Used by reader_test.sh (nfdump 1.7 files) and reader_v1_test.sh (1.6 files).
Usage: reader_flows.py DIR   (writes DIR/NAME.csv per file name)
"""
import os, sys
out = sys.argv[1]
T0 = 1795168800000  # 2026-11-20 10:00:00 UTC
files = {}

def flow(name, src, dst, dport, proto=6, packets=1, nbytes=100, first=T0, dur=0, src_as=64500,
         dst_as=65001, sport=40000, out=None):
    line = "%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d" % (src, dst, sport, dport, proto, packets,
                                                 nbytes, first, first + dur, src_as, dst_as)
    if out is not None:
        line += ",%d,%d" % out
    files.setdefault(name, []).append(line)

def peer4(i):
    return "198.18.%d.%d" % (i >> 8, i & 255)

def peer6(i):
    return "2001:db8:ffff::%x" % i

def t(block_minute, i):
    return T0 + block_minute * 60000 - 90000 + (i * 7919) % 300000

# --- Block A (10:00): exporter 1 (v9 msec times, reverse counters), 2 (v9 sysUptime
# times), 3 (v5).  Each peer-cap host's peers are split over exporters with overlaps.
for i in range(1, 3001):           # 10.1.0.10:22 peers 1..5000 -> 5000 (> cap)
    flow("a1", "10.1.0.10", peer4(i), 22, packets=2, nbytes=120, first=t(0, i), dur=i % 50,
         out=(1, 60) if i % 3 == 0 else (0, 0))
for i in range(3001, 5001):
    flow("a2", "10.1.0.10", peer4(i), 22, packets=2, nbytes=120, first=t(0, i), dur=i % 70)
for i in range(1, 3001):           # 10.1.0.11:25 peers 1..4096 exactly, some repeated
    flow("a1", "10.1.0.11", peer4(i), 25, packets=3, nbytes=400, first=t(0, i), dur=1000,
         out=(0, 0))
for i in range(2500, 4097):
    flow("a2", "10.1.0.11", peer4(i), 25, packets=3, nbytes=400, first=t(0, i), dur=1001)
for i in range(1, 4001):           # 10.1.0.12:80 peers 1..4095 (just below)
    flow("a1", "10.1.0.12", peer4(i), 80, packets=5, nbytes=3000, first=t(0, i),
         dur=(i * 37) % 5000, out=(4, 2000))
for i in range(3900, 4096):
    flow("a3", "10.1.0.12", peer4(i), 80, packets=5, nbytes=3000, first=t(0, i), dur=250)
for i in range(1, 4098):           # 2001:db8:1::abcd:8080 peers 1..4097 (just above)
    flow("a1" if i % 2 else "a2", "2001:db8:1::abcd", peer6(i), 8080, packets=1, nbytes=80,
         first=t(0, i), dur=0, **({"out": (1, 40)} if i % 2 else {}))
for i in range(1, 4097):           # 2001:db8:1:0:1::1:445 peers exactly 4096
    flow("a2", "2001:db8:1:0:1::1", peer6(i), 445, packets=1, nbytes=60, first=t(0, i))
# 64-bit counters, long durations, flows that started in an earlier block
flow("a1", "2001:db8:1::1", "2001:db8:ffff::1", 22, packets=6000000000, nbytes=5000000000000,
     first=T0 - 10800000, dur=10800123, out=(7000000000, 9000000000000))
flow("a2", "2001:db8:1::1", "2001:db8:ffff::1", 22, packets=3, nbytes=5000000000,
     first=T0 - 86400000, dur=86400999)
flow("a3", "10.1.0.13", "192.0.2.1", 21, packets=4000000000, nbytes=4294967295, first=T0,
     dur=3600000, src_as=64500)
flow("a3", "10.1.0.13", "192.0.2.1", 21, packets=1, nbytes=0, first=T0 + 1, dur=0)
# Must not match (with --local-as; some do with --local-net or with no local option)
flow("a1", "10.1.0.20", "192.0.2.2", 22, src_as=64999, out=(0, 0))   # local prefix, foreign AS
flow("a2", "10.1.0.21", "192.0.2.2", 443)                            # other port
flow("a2", "10.1.0.21", "192.0.2.2", 2222)
flow("a1", "10.1.0.22", "192.0.2.3", 22, proto=1, sport=0, out=(0, 0))  # ICMP type 0 code 22
flow("a2", "10.1.0.22", "192.0.2.3", 25, proto=1, sport=0)              # ICMP type 0 code 25
flow("a3", "10.1.0.22", "192.0.2.3", 22, proto=1, sport=0)              # same, via v5
flow("a2", "2001:db8:1::22", "2001:db8:ffff::3", 22, proto=58, sport=0) # ICMPv6 0/22
flow("a1", "2001:db8:1::22", "2001:db8:ffff::3", 25, proto=58, sport=0, out=(0, 0))
flow("a1", "203.0.113.5", "10.1.0.10", 25, src_as=64999, out=(0, 0))    # foreign source
flow("a2", "2001:db8:2::5", "2001:db8:1::1", 80, src_as=64999)           # foreign v6 source
flow("a2", "203.0.113.6", "192.0.2.4", 80, src_as=64500)        # local AS, foreign prefix
flow("a2", "198.51.100.7", "192.0.2.5", 9050, src_as=4200000001)  # 32-bit local AS
flow("a2", "10.1.0.23", "192.0.2.6", 1194, proto=17, src_as=64500)  # UDP matches
flow("a3", "10.1.0.24", "192.0.2.7", 8123, proto=17, src_as=64500)

# --- Block B (10:05), NetFlow v5 only
for i in range(1, 301):
    flow("b", "10.1.0.40", peer4(i), 22, packets=1 + i % 4, nbytes=100 + i, first=t(5, i),
         dur=i * 3)
flow("b", "10.1.0.41", "192.0.2.8", 25, proto=1, sport=0)
flow("b", "10.1.0.41", "192.0.2.8", 3128, src_as=64501)
flow("b", "10.1.0.42", "192.0.2.8", 3128, packets=9, nbytes=900, first=t(5, 1), dur=5)

# --- Block C (10:10), exporters X (spool 1) and Y (spool 2, -S 1); the union decides
for i in range(1, 3001):           # 10.1.0.30:22 X 1..3000, Y 2001..5000 -> 5000
    flow("cx", "10.1.0.30", peer4(i), 22, first=t(10, i), dur=i % 9)
for i in range(2001, 5001):
    flow("cy", "10.1.0.30", peer4(i), 22, first=t(10, i), dur=i % 11)
for i in range(1, 3001):           # 10.1.0.31:25 X 1..3000, Y 1097..4096 -> 4096
    flow("cx", "10.1.0.31", peer4(i), 25, nbytes=70, first=t(10, i))
for i in range(1097, 4097):
    flow("cy", "10.1.0.31", peer4(i), 25, nbytes=71, first=t(10, i))
for i in range(1, 2001):           # 2001:db8:1::31:80 X 1..2000, Y 1500..3500 -> 3500
    flow("cx", "2001:db8:1::31", peer6(i), 80, first=t(10, i), dur=2)
for i in range(1500, 3501):
    flow("cy", "2001:db8:1::31", peer6(i), 80, first=t(10, i), dur=3)
flow("cx", "10.1.0.32", "192.0.2.9", 445, packets=2, nbytes=2)
flow("cy", "10.1.0.33", "192.0.2.9", 445, packets=3, nbytes=3)
flow("cy", "10.1.0.32", "192.0.2.9", 445, packets=4, nbytes=4, dur=4)

# --- Block D (10:15), an exporter without AS numbers: only --local-net can decide
for i in range(1, 201):
    flow("d", "10.1.255.255", peer4(i), 22, first=t(15, i), dur=i)
    flow("d", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", peer6(i), 25, first=t(15, i), dur=i)
flow("d", "10.0.255.255", "192.0.2.10", 22)                   # just outside 10.1.0.0/16
flow("d", "10.2.0.0", "192.0.2.10", 22)
flow("d", "2001:db8::1", "2001:db8:ffff::10", 22)             # outside 2001:db8:1::/48
flow("d", "2001:db8:2::1", "2001:db8:ffff::10", 22)
flow("d", "10.1.0.50", "192.0.2.10", 22, proto=1, sport=0)
flow("d", "2001:db8:1::50", "2001:db8:ffff::10", 22, proto=58, sport=0)

for name, lines in files.items():
    with open(os.path.join(out, name + ".csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
