/*  shard_store_test.c - selftest of the shard store's semantics, through its public API.

    In its own file because it is as long as the store's plumbing: every expected value
    is computed by hand in the tables below (the comments show the arithmetic), from
    small parts built by shard_testlib_part_new.  Each case runs on a fresh store in a mkdtemp
    directory that is removed afterwards.
*/
#include "shard/shard_store.h"
#include "shard/shard_store_testlib.h"
#include "shard/shard_keys.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Two ingestors: parts of a block merge before max and min; duplicates; late parts;
//  grace; peers past the cap.

static void
s_test_merge (const char *dir, bool verbose)
{
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    const char *ingestors[] = {"r1", "r2"};
    shard_store_set_ingestors (store, ingestors, 2);
    int64_t b1 = (int64_t) D0 * DAY, b2 = b1 + 300, b3 = b1 + 600, now = b1 + 400;
    shard_part_result_t result;

    shard_testlib_spec_t r1_b1[] = {{"10.0.0.1", 25, 100, 2, 10, 0, 2},
                                    {"10.0.0.2", 25, 7, 1, 1, 0, 1},
                                    {"10.0.0.9", 8080, 1, 1, 1, 0, 3000}};
    shard_testlib_spec_t r2_b1[] = {{"10.0.0.1", 25, 50, 1, 5, 1, 2},
                                    {"10.0.0.9", 8080, 1, 1, 1, 2000, 3000}};
    assert (shard_testlib_apply (store, "r1", "f1", b1, r1_b1, 3, now, &result) == 0);
    assert (!result.final && !result.duplicate && !result.late);
    assert (shard_testlib_stats (store).open_blocks == 1);
    shard_testlib_tops_t tops = {.count = 0};
    assert (shard_store_top (store, D0, PROTO_OP_SUM, PROTO_PORT_ALL, shard_testlib_on_top,
                             &tops) == 0);
    assert (tops.count == 0);  //  Nothing final yet
    assert (shard_testlib_apply (store, "r2", "f1", b1, r2_b1, 2, now, &result) == 0);
    assert (result.final);
    assert (shard_testlib_stats (store).open_blocks == 0);

    shard_testlib_spec_t r1_b2[] = {{"10.0.0.1", 25, 10, 1, 1, 0, 1}};
    shard_testlib_spec_t r2_b2[] = {{"10.0.0.1", 25, 20, 1, 1, 5, 1}};
    assert (shard_testlib_apply (store, "r2", "f2", b2, r2_b2, 1, now, &result) == 0 &&
            !result.final);
    assert (shard_testlib_apply (store, "r1", "f2", b2, r1_b2, 1, now, &result) == 0 &&
            result.final);

    //  10.0.0.1/25: block values b1 = (150, 3, 15, |{0,1,2}| = 3), b2 = (30, 2, 2,
    //  |{0,5}| = 2); per part they would have given max 100 and min 10 bytes
    const uint64_t host1[4][3] = {{180, 150, 30}, {5, 3, 2}, {17, 15, 2}, {5, 3, 2}};
    shard_testlib_expect_row (store, "10.0.0.1", 25, D0, host1);
    const uint64_t host2[4][3] = {{7, 7, 7}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}};
    shard_testlib_expect_row (store, "10.0.0.2", 25, D0, host2);
    const char *top_hosts[] = {"10.0.0.1", "10.0.0.2"};
    shard_testlib_expect_top (store, D0, PROTO_OP_SUM, 25, PROTO_FEATURE_BYTES, top_hosts,
                              (uint64_t[]){180, 7}, 2, 2);
    shard_testlib_expect_top (store, D0, PROTO_OP_MIN, 25, PROTO_FEATURE_BYTES, top_hosts,
                              (uint64_t[]){30, 7}, 2, 2);
    shard_testlib_expect_top (store, D0, PROTO_OP_MAX, 25, PROTO_FEATURE_PEERS, top_hosts,
                              (uint64_t[]){3, 1}, 2, 2);
    //  Peers: 3000 + 3000 exact with 1000 in common unite past the cap: a sketch of
    //  5000, flagged, within 5 %
    uint64_t peers =
        shard_testlib_score (store, "10.0.0.9", 8080, D0, PROTO_FEATURE_PEERS, PROTO_OP_SUM);
    if (verbose)
        printf ("5000 peers merged -> %llu; ", (unsigned long long) peers);
    assert (peers > PROTO_PEERS_CAP && peers >= 4750 && peers <= 5250);

    //  A resent part is a duplicate and changes nothing
    uint64_t applied = shard_testlib_stats (store).parts_applied;
    assert (applied == 4);
    assert (shard_testlib_apply (store, "r1", "f1", b1, r1_b1, 3, now, &result) == 0 &&
            result.duplicate);
    assert (shard_testlib_stats (store).parts_applied == applied);
    shard_testlib_expect_row (store, "10.0.0.1", 25, D0, host1);

    //  A late part (another file of r1 for final b1): sums add, max rises to the part's
    //  own value, min stays
    shard_testlib_spec_t late[] = {{"10.0.0.1", 25, 500, 1, 1, 9, 1}};
    assert (shard_testlib_apply (store, "r1", "f1-late", b1, late, 1, now, &result) == 0);
    assert (result.late && !result.duplicate);
    const uint64_t host1_late[4][3] = {{680, 500, 30}, {6, 3, 2}, {18, 15, 2}, {6, 3, 2}};
    shard_testlib_expect_row (store, "10.0.0.1", 25, D0, host1_late);
    assert (shard_testlib_stats (store).late_parts == 1);
    shard_testlib_expect_top (store, D0, PROTO_OP_MAX, 25, PROTO_FEATURE_BYTES, top_hosts,
                              (uint64_t[]){500, 7}, 2, 2);

    //  Grace: only r1 delivers b3; final 600 s after its first part arrived
    shard_testlib_spec_t r1_b3[] = {{"10.0.0.3", 80, 1000, 10, 100, 0, 4}};
    assert (shard_testlib_apply (store, "r1", "f3", b3, r1_b3, 1, now, &result) == 0 &&
            !result.final);
    size_t finalised = 99;
    assert (shard_store_finalise_due (store, now + 599, &finalised) == 0 && finalised == 0);
    assert (shard_testlib_score (store, "10.0.0.3", 80, D0, PROTO_FEATURE_BYTES, PROTO_OP_SUM) ==
            UINT64_MAX - 7);
    assert (shard_store_finalise_due (store, now + 600, &finalised) == 0 && finalised == 1);
    const uint64_t host3[4][3] = {{1000, 1000, 1000}, {10, 10, 10}, {100, 100, 100}, {4, 4, 4}};
    shard_testlib_expect_row (store, "10.0.0.3", 80, D0, host3);
    assert (shard_testlib_stats (store).open_blocks == 0);
    //  r2's part after grace is late
    shard_testlib_spec_t r2_b3[] = {{"10.0.0.3", 80, 1, 1, 1, 0, 1}};
    assert (shard_testlib_apply (store, "r2", "f3", b3, r2_b3, 1, now + 700, &result) == 0 &&
            result.late);
    //  A MAP without r2 lets a block wait for r1 only
    shard_store_set_ingestors (store, ingestors, 1);
    assert (shard_testlib_apply (store, "r1", "f4", b3 + 300, r1_b3, 1, now, &result) == 0 &&
            result.final);
    shard_store_stats_t stats = shard_testlib_stats (store);
    assert (stats.parts_applied == 8 && stats.late_parts == 2 && stats.open_blocks == 0);
    assert (stats.last_block == (uint64_t) b3 + 300);
    shard_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  One ingestor (final on arrival): top-10 ties, IPv4 and IPv6, min falling out of a
//  top list, saturating sums, the exact cap, annotations, reopening.

static void
s_test_single (const char *dir, bool verbose)
{
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    const char *ingestors[] = {"r1"};
    shard_store_set_ingestors (store, ingestors, 1);
    uint32_t day = D0 + 1;
    int64_t c1 = (int64_t) day * DAY, c2 = c1 + 300, c3 = c1 + DAY, now = c1 + 600;
    shard_part_result_t result;

    //  Part 1, deliberately not in (host, port) order
    shard_testlib_spec_t part1[40] = {{"10.1.0.20", 80, 900, 1, 1, 0, 1},
                                      {"::2", 80, 500, 1, 1, 0, 1},
                                      {"2001:db8::1", 80, 500, 1, 1, 0, 1},
                                      {"2001:db8::1", 9050, 10, 1, 1, 0, 1},
                                      {"10.3.0.1", 445, UINT64_MAX - 1, 1, 1, 0, 1},
                                      {"10.4.0.1", 8080, 1, 1, 1, 0, 4096},
                                      {"10.4.0.2", 8080, 1, 1, 1, 0, 5000}};
    size_t count = 7;
    for (uint32_t host = 12; host >= 1; host--) {
        char *name = zsys_sprintf ("10.1.0.%u", host);
        part1[count++] = (shard_testlib_spec_t){strdup (name), 80, 500, 1, 1, 0, 1};
        zstr_free (&name);
    }
    //  Port 22: 10.2.0.i sends 100 i bytes (i = 1..20)
    shard_testlib_spec_t part1b[20];
    for (uint32_t host = 1; host <= 20; host++) {
        char *name = zsys_sprintf ("10.2.0.%u", host);
        part1b[host - 1] = (shard_testlib_spec_t){strdup (name), 22, 100 * host, 1, 1, 0, 1};
        zstr_free (&name);
    }
    assert (shard_testlib_apply (store, "r1", "c1", c1, part1, count, now, &result) == 0 &&
            result.final);
    assert (shard_testlib_apply (store, "r1", "c1b", c1, part1b, 20, now, &result) == 0);
    //  No open rows were written on this path
    assert (shard_testlib_stats (store).open_blocks == 0);

    //  Ties by address ascending: ::2 sorts before every v4-mapped address, 2001:db8::1
    //  after them; eleven hosts tie at 500 for nine places
    const char *port80[] = {"10.1.0.20", "::2",      "10.1.0.1", "10.1.0.2", "10.1.0.3",
                            "10.1.0.4",  "10.1.0.5", "10.1.0.6", "10.1.0.7", "10.1.0.8"};
    uint64_t port80_scores[] = {900, 500, 500, 500, 500, 500, 500, 500, 500, 500};
    shard_testlib_expect_top (store, day, PROTO_OP_SUM, 80, PROTO_FEATURE_BYTES, port80,
                              port80_scores, 10, 10);
    //  The exact cap: 4096 peers count 4096; 5000 are estimated above the cap
    assert (shard_testlib_score (store, "10.4.0.1", 8080, day, PROTO_FEATURE_PEERS, PROTO_OP_MAX) ==
            4096);
    uint64_t peers =
        shard_testlib_score (store, "10.4.0.2", 8080, day, PROTO_FEATURE_PEERS, PROTO_OP_MAX);
    assert (peers > PROTO_PEERS_CAP && peers >= 4750 && peers <= 5250);

    //  Part 2: seven of the top min hosts of port 22 fall to 1 byte; the min list
    //  (16 kept of 20) is left with 9 and must be rebuilt from the rows.  Saturation:
    //  (2^64 - 2) twice stays at 2^64 - 1 (sums saturate, they never wrap).
    shard_testlib_spec_t part2[8];
    for (uint32_t host = 14; host <= 20; host++) {
        char *name = zsys_sprintf ("10.2.0.%u", host);
        part2[host - 14] = (shard_testlib_spec_t){strdup (name), 22, 1, 1, 1, 0, 1};
        zstr_free (&name);
    }
    part2[7] = (shard_testlib_spec_t){"10.3.0.1", 445, UINT64_MAX - 1, 1, 1, 0, 1};
    uint64_t rebuilds = shard_testlib_stats (store).top_rebuilds;
    assert (shard_testlib_apply (store, "r1", "c2", c2, part2, 8, now, &result) == 0);
    assert (shard_testlib_stats (store).top_rebuilds > rebuilds);
    const char *min22[] = {"10.2.0.13", "10.2.0.12", "10.2.0.11", "10.2.0.10", "10.2.0.9",
                           "10.2.0.8",  "10.2.0.7",  "10.2.0.6",  "10.2.0.5",  "10.2.0.4"};
    shard_testlib_expect_top (store, day, PROTO_OP_MIN, 22, PROTO_FEATURE_BYTES, min22,
                              (uint64_t[]){1300, 1200, 1100, 1000, 900, 800, 700, 600, 500, 400},
                              10, 10);
    //  Sums: 10.2.0.i for i >= 14 is 100 i + 1
    const char *sum22[] = {"10.2.0.20", "10.2.0.19", "10.2.0.18", "10.2.0.17", "10.2.0.16",
                           "10.2.0.15", "10.2.0.14", "10.2.0.13", "10.2.0.12", "10.2.0.11"};
    shard_testlib_expect_top (
        store, day, PROTO_OP_SUM, 22, PROTO_FEATURE_BYTES, sum22,
        (uint64_t[]){2001, 1901, 1801, 1701, 1601, 1501, 1401, 1300, 1200, 1100}, 10, 10);
    shard_testlib_expect_top (
        store, day, PROTO_OP_MAX, 22, PROTO_FEATURE_BYTES, sum22,
        (uint64_t[]){2000, 1900, 1800, 1700, 1600, 1500, 1400, 1300, 1200, 1100}, 10, 10);
    //  Packets: every host of port 22 has min 1: ties, by address
    const char *min22_packets[] = {"10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4", "10.2.0.5",
                                   "10.2.0.6", "10.2.0.7", "10.2.0.8", "10.2.0.9", "10.2.0.10"};
    shard_testlib_expect_top (store, day, PROTO_OP_MIN, 22, PROTO_FEATURE_PACKETS, min22_packets,
                              (uint64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 10, 10);
    const uint64_t saturated[4][3] = {
        {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 1}, {2, 1, 1}, {2, 1, 1}, {2, 1, 1}};
    shard_testlib_expect_row (store, "10.3.0.1", 445, day, saturated);

    //  IPv6 host on the next day too; series over both days, ALL ports
    shard_testlib_spec_t part3[] = {{"2001:db8::1", 9050, 20, 2, 2, 0, 1}};
    assert (shard_testlib_apply (store, "r1", "c3", c3, part3, 1, now, &result) == 0);
    proto_addr_t v6;
    assert (proto_addr_parse (&v6, "2001:db8::1") == 0);
    shard_testlib_points_t points = {.count = 0};
    assert (shard_store_series (store, &v6, PROTO_PORT_ALL, PROTO_FEATURE_BYTES, PROTO_OP_SUM,
                                day - 5, day + 5, shard_testlib_on_point, &points) == 0);
    assert (points.count == 3);
    assert (points.points[0].port == 80 && points.points[0].day == day &&
            points.points[0].score == 500);
    assert (points.points[1].port == 9050 && points.points[1].day == day &&
            points.points[1].score == 10);
    assert (points.points[2].port == 9050 && points.points[2].day == day + 1 &&
            points.points[2].score == 20);
    points.count = 0;
    assert (shard_store_series (store, &v6, 9050, PROTO_FEATURE_PACKETS, PROTO_OP_MAX, day + 1,
                                day + 1, shard_testlib_on_point, &points) == 0);
    assert (points.count == 1 && points.points[0].score == 2);
    assert (shard_store_series (store, &v6, 9050, 9, 0, day, day, shard_testlib_on_point,
                                &points) == SHARD_STORE_INVALID);
    assert (shard_store_series (store, &v6, 9050, 0, 0, day, day - 1, shard_testlib_on_point,
                                &points) == SHARD_STORE_INVALID);

    //  Annotations: a re-import widens first/last seen instead of adding a name
    proto_annotation_t notes[] = {{v6, "tor.example", "PTR", 1000, 2000},
                                  {v6, "relay.example", "A", 500, 600},
                                  {v6, "tor.example", "PTR", 900, 1500}};
    size_t stored = 0;
    assert (shard_store_annotate (store, shard_testlib_note_at, notes, 2, &stored) == 0 &&
            stored == 2);
    assert (shard_store_annotate (store, shard_testlib_note_at, notes + 2, 1, &stored) == 0 &&
            stored == 1);
    proto_annotation_t bad = {v6, "", "PTR", 0, 0};
    assert (shard_store_annotate (store, shard_testlib_note_at, &bad, 1, &stored) ==
            SHARD_STORE_INVALID);
    shard_store_destroy (&store);

    //  Reopen: everything is still there
    store = shard_store_new (dir, 64 << 20);
    assert (store);
    shard_testlib_expect_top (store, day, PROTO_OP_SUM, 80, PROTO_FEATURE_BYTES, port80,
                              port80_scores, 10, 10);
    shard_testlib_expect_row (store, "10.3.0.1", 445, day, saturated);
    shard_host_info_t info;
    shard_testlib_host_t host = {.port_count = 0, .note_count = 0};
    assert (shard_store_host (store, &v6, &info, shard_testlib_on_port, shard_testlib_on_note,
                              &host) == 0);
    assert (info.known && info.first_seen == c1 && info.last_seen == c3);
    assert (info.annotations == 2);
    assert (host.port_count == 2 && host.ports[0] == 80 && host.ports[1] == 9050);
    assert (host.note_count == 2);
    //  Notes come in key order: type "A" before "PTR"
    assert (strcmp (host.names[0], "relay.example") == 0);
    assert (host.notes[0].first_seen == 500 && host.notes[0].last_seen == 600);
    assert (strcmp (host.names[1], "tor.example") == 0);
    assert (host.notes[1].first_seen == 900 && host.notes[1].last_seen == 2000);
    //  The top entries carry the annotation count
    shard_testlib_tops_t tops = {.count = 0};
    assert (shard_store_top (store, day, PROTO_OP_SUM, 9050, shard_testlib_on_top, &tops) == 0);
    assert (tops.count == 4 && tops.entries[0].annotations == 2);
    //  Days with data
    uint32_t days[8] = {0};
    assert (shard_store_days (store, shard_testlib_on_day, days) == 0);
    assert (days[0] == 2 && days[1] == day && days[2] == day + 1);
    //  An unknown host
    proto_addr_t unknown;
    assert (proto_addr_parse (&unknown, "10.9.9.9") == 0);
    assert (shard_store_host (store, &unknown, &info, NULL, NULL, NULL) == 0 && !info.known);
    if (verbose) {
        shard_store_stats_t stats = shard_testlib_stats (store);
        printf ("rows %llu hosts %llu rebuilds %llu; ", (unsigned long long) stats.rows,
                (unsigned long long) stats.hosts, (unsigned long long) stats.top_rebuilds);
    }
    shard_store_destroy (&store);
    for (size_t index = 7; index < count; index++)
        free ((char *) part1[index].host);
    for (size_t index = 0; index < 20; index++)
        free ((char *) part1b[index].host);
    for (size_t index = 0; index < 7; index++)
        free ((char *) part2[index].host);
}

//  --------------------------------------------------------------------------
//  Parts that break the contract are refused whole, and change nothing.

static void
s_test_invalid (const char *dir, bool verbose)
{
    (void) verbose;
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    int64_t block = (int64_t) D0 * DAY, now = block;
    uint8_t peers[3 * PROTO_ADDR_SIZE] = {0};
    peers[15] = 2;  //  peers[0] = ::2 > peers[1] = ::0: not sorted
    uint8_t sketch[PROTO_SKETCH_REGISTERS] = {0};
    proto_addr_t host;
    assert (proto_addr_parse (&host, "10.0.0.1") == 0);
    struct {
        const char *source;
        int64_t block;
        proto_pair_t pairs[2];
        size_t count;
        const char *error;
    } cases[] = {
        {"", block, {{host, 25, 1, 1, 1, 0, peers + 32, 16}}, 1, "source"},
        {"r1", -300, {{host, 25, 1, 1, 1, 0, peers + 32, 16}}, 1, "block"},
        {"r1",
         (int64_t) (SHARD_DAY_MAX + 1) * DAY,
         {{host, 25, 1, 1, 1, 0, peers, 16}},
         1,
         "block"},
        {"r1", block, {{host, 25, 1, 1, 1, 0, peers, 32}}, 1, "sorted"},
        {"r1", block, {{host, 25, 1, 1, 1, 0, peers, 17}}, 1, "bytes of peers"},
        {"r1", block, {{host, 25, 1, 1, 1, 1, sketch, 100}}, 1, "kind"},
        {"r1", block, {{host, 25, 1, 1, 1, 7, peers, 16}}, 1, "kind"},
        {"r1",
         block,
         {{host, 25, 1, 1, 1, 0, peers + 32, 16}, {host, 25, 2, 2, 2, 0, peers + 32, 16}},
         2,
         "same host and port"},
    };
    for (size_t test = 0; test < sizeof cases / sizeof cases[0]; test++) {
        shard_testlib_part_t part = {cases[test].pairs, cases[test].count, NULL};
        shard_part_result_t result;
        int rc = shard_store_apply_part (store, cases[test].source, "f", cases[test].block,
                                         shard_testlib_pair_at, &part, part.count, now, &result);
        assert (rc == SHARD_STORE_INVALID);
        assert (strstr (shard_store_error (store), cases[test].error));
    }
    assert (shard_testlib_stats (store).parts_applied == 0);
    //  The same id with valid pairs is applied, not a duplicate
    shard_testlib_spec_t good[] = {{"10.0.0.1", 25, 1, 1, 1, 0, 1}};
    shard_part_result_t result;
    assert (shard_testlib_apply (store, "r1", "f", block, good, 1, now, &result) == 0);
    assert (!result.duplicate && result.final);
    assert (shard_testlib_stats (store).parts_applied == 1);
    //  Bad query arguments
    shard_testlib_tops_t tops = {.count = 0};
    assert (shard_store_top (store, D0, 3, 25, shard_testlib_on_top, &tops) == SHARD_STORE_INVALID);
    assert (shard_store_top (store, D0, 0, PROTO_PORT_ALL + 1, shard_testlib_on_top, &tops) ==
            SHARD_STORE_INVALID);
    shard_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  A full map: the part is refused, nothing of it is written, the store goes on.

static void
s_test_full (const char *dir, bool verbose)
{
    shard_store_t *store = shard_store_new (dir, 1 << 20);
    assert (store);
    int64_t block = (int64_t) D0 * DAY, now = block;
    size_t count = 30000;
    shard_testlib_spec_t *big =
        (shard_testlib_spec_t *) zmalloc (count * sizeof (shard_testlib_spec_t));
    char **names = (char **) zmalloc (count * sizeof (char *));
    for (size_t index = 0; index < count; index++) {
        names[index] =
            zsys_sprintf ("10.%zu.%zu.%zu", index >> 16, (index >> 8) & 255, index & 255);
        big[index] = (shard_testlib_spec_t){names[index], 80, 1000 + index, 1, 1, 0, 1};
    }
    shard_part_result_t result;
    assert (shard_testlib_apply (store, "r1", "big", block, big, count, now, &result) ==
            SHARD_STORE_FULL);
    if (verbose)
        printf ("%s; ", shard_store_error (store));
    assert (strstr (shard_store_error (store), "map full"));
    shard_store_stats_t stats = shard_testlib_stats (store);
    assert (stats.parts_applied == 0 && stats.rows == 0 && stats.hosts == 0);
    //  Still usable: a small part goes in
    shard_testlib_spec_t small[] = {{"10.0.0.1", 25, 5, 1, 1, 0, 1}};
    assert (shard_testlib_apply (store, "r1", "small", block, small, 1, now, &result) == 0);
    shard_store_destroy (&store);
    //  Reopened with a larger map, the big part is applied (not a duplicate)
    store = shard_store_new (dir, 64 << 20);
    assert (store);
    assert (shard_testlib_apply (store, "r1", "big", block, big, count, now, &result) == 0);
    assert (!result.duplicate);
    stats = shard_testlib_stats (store);
    //  10.0.0.1 is in both parts (ports 25 and 80)
    assert (stats.parts_applied == 2 && stats.rows == count + 1 && stats.hosts == count);
    //  Highest bytes: the last hosts, best first
    shard_testlib_tops_t tops = {.count = 0};
    assert (shard_store_top (store, D0, PROTO_OP_SUM, 80, shard_testlib_on_top, &tops) == 0);
    assert (tops.count == 40 && tops.entries[0].feature == PROTO_FEATURE_BYTES);
    for (size_t rank = 0; rank < 10; rank++) {
        proto_addr_t addr;
        assert (proto_addr_parse (&addr, names[count - 1 - rank]) == 0);
        assert (memcmp (&addr, &tops.entries[rank].addr, sizeof addr) == 0);
        assert (tops.entries[rank].score == 1000 + count - 1 - rank);
    }
    shard_store_destroy (&store);
    for (size_t index = 0; index < count; index++)
        zstr_free (&names[index]);
    free (names);
    free (big);
}

//  --------------------------------------------------------------------------
//  Retention: days before the cutoff go in small batches; the cutoff day and later
//  stay; hosts without newer traffic go unless annotated.

static void
s_test_retention (const char *dir, bool verbose)
{
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    shard_store_set_retention_days (store, 180);
    //  No registered ingestor: every part is final on arrival
    int64_t now = 850 * (int64_t) DAY + 100;  //  cutoff 670
    shard_part_result_t result;
    shard_testlib_spec_t old[] = {{"10.5.0.9", 25, 1, 1, 1, 0, 1}};
    assert (shard_testlib_apply (store, "r1", "old", 600 * (int64_t) DAY, old, 1, now, &result) ==
            0);
    assert (result.expired && shard_testlib_stats (store).old_parts == 1 &&
            shard_testlib_stats (store).rows == 0);
    //  A refused part is not recorded: with a longer retention the same part is applied
    shard_store_set_retention_days (store, 400);
    assert (shard_testlib_apply (store, "r1", "old", 600 * (int64_t) DAY, old, 1, now, &result) ==
            0);
    assert (!result.expired && !result.duplicate && shard_testlib_stats (store).rows == 1);
    assert (shard_testlib_apply (store, "r1", "old", 600 * (int64_t) DAY, old, 1, now, &result) ==
            0);
    assert (result.duplicate);
    shard_store_set_retention_days (store, 180);
    for (bool more = true; more;)
        assert (shard_store_expire (store, now, 100, &more) == 0);
    assert (shard_testlib_stats (store).rows == 0);
    //  X, W: day 730 only (W annotated); Y: days 730 and 850; Z: days 819 and 820
    shard_testlib_spec_t d730[] = {{"10.5.0.1", 25, 1, 1, 1, 0, 1},
                                   {"10.5.0.2", 25, 2, 1, 1, 0, 1},
                                   {"10.5.0.3", 25, 3, 1, 1, 0, 1}};
    shard_testlib_spec_t d819[] = {{"10.5.0.4", 25, 4, 1, 1, 0, 1}};
    shard_testlib_spec_t d820[] = {{"10.5.0.4", 25, 5, 1, 1, 0, 1}};
    shard_testlib_spec_t d850[] = {{"10.5.0.3", 25, 6, 1, 1, 0, 1}};
    assert (shard_testlib_apply (store, "r1", "730", 730 * (int64_t) DAY, d730, 3, now, NULL) == 0);
    assert (shard_testlib_apply (store, "r1", "819", 819 * (int64_t) DAY + 86100, d819, 1, now,
                                 NULL) == 0);
    assert (shard_testlib_apply (store, "r1", "820", 820 * (int64_t) DAY, d820, 1, now, NULL) == 0);
    assert (shard_testlib_apply (store, "r1", "850", 850 * (int64_t) DAY, d850, 1, now, NULL) == 0);
    proto_annotation_t note = {.rrname = "w.example", .rrtype = "PTR", 1, 2};
    assert (proto_addr_parse (&note.addr, "10.5.0.2") == 0);
    assert (shard_store_annotate (store, shard_testlib_note_at, &note, 1, NULL) == 0);
    uint32_t days[8] = {0};
    assert (shard_store_days (store, shard_testlib_on_day, days) == 0);
    assert (days[0] == 4 && days[1] == 730 && days[4] == 850);

    //  At day 1000 the cutoff is 820: batches of 2 deletions
    size_t calls = 0;
    bool more = true;
    while (more) {
        assert (shard_store_expire (store, 1000 * (int64_t) DAY, 2, &more) == 0);
        calls++;
    }
    if (verbose)
        printf ("retention in %zu batches; ", calls);
    assert (calls > 3);
    memset (days, 0, sizeof days);
    assert (shard_store_days (store, shard_testlib_on_day, days) == 0);
    assert (days[0] == 2 && days[1] == 820 && days[2] == 850);
    shard_testlib_tops_t tops = {.count = 0};
    assert (shard_store_top (store, 730, PROTO_OP_SUM, PROTO_PORT_ALL, shard_testlib_on_top,
                             &tops) == 0);
    assert (tops.count == 0);
    shard_store_stats_t stats = shard_testlib_stats (store);
    assert (stats.rows == 2 && stats.hosts == 3);  //  W (annotated), Y, Z
    shard_host_info_t info;
    proto_addr_t addr;
    assert (proto_addr_parse (&addr, "10.5.0.1") == 0);
    assert (shard_store_host (store, &addr, &info, NULL, NULL, NULL) == 0 && !info.known);
    assert (proto_addr_parse (&addr, "10.5.0.2") == 0);
    assert (shard_store_host (store, &addr, &info, NULL, NULL, NULL) == 0);
    assert (info.known && info.annotations == 1);
    assert (shard_testlib_score (store, "10.5.0.3", 25, 730, PROTO_FEATURE_BYTES, PROTO_OP_SUM) ==
            UINT64_MAX - 7);
    assert (shard_testlib_score (store, "10.5.0.3", 25, 850, PROTO_FEATURE_BYTES, PROTO_OP_SUM) ==
            6);
    assert (shard_testlib_score (store, "10.5.0.4", 25, 819, PROTO_FEATURE_BYTES, PROTO_OP_SUM) ==
            UINT64_MAX - 7);
    assert (shard_testlib_score (store, "10.5.0.4", 25, 820, PROTO_FEATURE_BYTES, PROTO_OP_SUM) ==
            5);
    const char *top820[] = {"10.5.0.4"};
    shard_testlib_expect_top (store, 820, PROTO_OP_MAX, 25, PROTO_FEATURE_BYTES, top820,
                              (uint64_t[]){5}, 1, 1);
    //  The part ids of deleted days are gone: a resend is expired, not applied
    assert (shard_testlib_apply (store, "r1", "730", 730 * (int64_t) DAY, d730, 3,
                                 1000 * (int64_t) DAY, &result) == 0);
    assert (result.expired && !result.duplicate);
    //  The ids of kept days are still there
    assert (shard_testlib_apply (store, "r1", "850", 850 * (int64_t) DAY, d850, 1,
                                 1000 * (int64_t) DAY, &result) == 0);
    assert (result.duplicate);
    shard_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  Archiving finished days changes no answer; late parts reach archived rows.

static void
s_test_archive (const char *dir, bool verbose)
{
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    int64_t now = 900 * (int64_t) DAY;
    shard_part_result_t result;
    //  Days 880 and 881, two blocks each; hosts 10.6.0.1..40 on ports 25 and 80
    shard_testlib_spec_t pairs[80];
    for (uint32_t host = 1; host <= 40; host++)
        for (uint32_t port = 0; port < 2; port++)
            pairs[(host - 1) * 2 + port] = (shard_testlib_spec_t){
                zsys_sprintf ("10.6.0.%u", host), port ? 80 : 25, 100 * host + port, 1, 1, 0, 1};
    for (uint32_t day = 880; day <= 881; day++)
        for (int block = 0; block < 2; block++) {
            char file[32];
            snprintf (file, sizeof file, "%u-%d", day, block);
            for (size_t index = 0; index < 80; index++)
                pairs[index].bytes += (uint64_t) block;
            assert (shard_testlib_apply (store, "r1", file, (int64_t) day * DAY + block * 300,
                                         pairs, 80, now, &result) == 0);
        }
    //  10.6.0.h on port 80 sends 100 h + 1, then 100 h + 2 on day 880; 100 h + 2, then
    //  100 h + 3 on day 881 (bytes grow by the block index before each part)
    const uint64_t row880[4][3] = {{8003, 4002, 4001}, {2, 1, 1}, {2, 1, 1}, {2, 1, 1}};
    shard_testlib_expect_row (store, "10.6.0.40", 80, 880, row880);
    const char *top80[] = {"10.6.0.40", "10.6.0.39"};
    shard_testlib_expect_top (store, 881, PROTO_OP_MIN, 80, PROTO_FEATURE_BYTES, top80,
                              (uint64_t[]){4002, 3902}, 2, 10);
    shard_store_stats_t before = shard_testlib_stats (store);
    assert (before.rows == 160 && before.archived_rows == 0);
    //  At day 900 both days are finished: batches of 50
    size_t calls = 0;
    bool more = true;
    while (more) {
        assert (shard_store_archive (store, now, 50, &more) == 0);
        calls++;
    }
    shard_store_stats_t after = shard_testlib_stats (store);
    if (verbose)
        printf ("archived in %zu batches, rows %.0f -> %.0f bytes; ", calls,
                (double) before.rows_bytes, (double) after.rows_bytes);
    assert (calls == 4 && after.rows == 160 && after.archived_rows == 160);
    shard_testlib_expect_row (store, "10.6.0.40", 80, 880, row880);
    uint32_t days[8] = {0};
    assert (shard_store_days (store, shard_testlib_on_day, days) == 0);
    assert (days[0] == 2 && days[1] == 880 && days[2] == 881);
    //  A late part: an archived row is updated in place, a new row of an archived day
    //  goes to the recent rows and is archived by the next run (not appended: its key
    //  sorts before the archive's last)
    shard_testlib_spec_t late[] = {{"10.6.0.40", 80, 10, 1, 1, 0, 1},
                                   {"10.6.0.99", 25, 7, 1, 1, 0, 1}};
    assert (shard_testlib_apply (store, "r1", "880-late", 880 * (int64_t) DAY, late, 2, now,
                                 &result) == 0);
    assert (result.late);
    const uint64_t row880_late[4][3] = {{8013, 4002, 4001}, {3, 1, 1}, {3, 1, 1}, {3, 1, 1}};
    shard_testlib_expect_row (store, "10.6.0.40", 80, 880, row880_late);
    const uint64_t new_row[4][3] = {{7, 7, 7}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}};
    shard_testlib_expect_row (store, "10.6.0.99", 25, 880, new_row);
    assert (shard_testlib_stats (store).archived_rows == 160 &&
            shard_testlib_stats (store).rows == 161);
    assert (shard_store_archive (store, now, 50, &more) == 0 && !more);
    assert (shard_testlib_stats (store).archived_rows == 161);
    shard_testlib_expect_row (store, "10.6.0.99", 25, 880, new_row);
    //  Top lists rebuilt from archived rows: make a listed min fall on day 881
    shard_testlib_spec_t fall[40];
    for (uint32_t host = 1; host <= 40; host++)
        fall[host - 1] = (shard_testlib_spec_t){pairs[(host - 1) * 2 + 1].host, 80, 1, 1, 1, 0, 1};
    //  (a late part leaves min alone: apply a new block of day 881 instead)
    assert (shard_testlib_apply (store, "r1", "881-2", 881 * (int64_t) DAY + 600, fall, 40, now,
                                 &result) == 0);
    assert (!result.late);
    //  Every min is now 1: ties by address
    const char *min81[] = {"10.6.0.1", "10.6.0.2", "10.6.0.3", "10.6.0.4", "10.6.0.5",
                           "10.6.0.6", "10.6.0.7", "10.6.0.8", "10.6.0.9", "10.6.0.10"};
    uint64_t rebuilds = shard_testlib_stats (store).top_rebuilds;
    shard_testlib_expect_top (store, 881, PROTO_OP_MIN, 80, PROTO_FEATURE_BYTES, min81,
                              (uint64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 10, 10);
    assert (rebuilds > 0);
    //  Retention removes archived rows like the others
    assert (shard_store_expire (store, 1062 * (int64_t) DAY, 1000, &more) == 0);
    assert (shard_testlib_stats (store).rows == 0 &&
            shard_testlib_stats (store).archived_rows == 0);
    shard_store_destroy (&store);
    for (size_t index = 0; index < 80; index++)
        free ((char *) pairs[index].host);
}

//  --------------------------------------------------------------------------
//  Peers that reached the cap in a block: which daily scores say so (shard_query.c's
//  rule: sum and max if any block did, min only if the smallest block did), in top
//  entries and series, before and after the day is archived.

static bool
s_capped (shard_store_t *store, const char *host, uint32_t day, proto_op_t op)
{
    proto_addr_t addr;
    assert (proto_addr_parse (&addr, host) == 0);
    shard_testlib_points_t points = {.count = 0};
    assert (shard_store_series (store, &addr, 22, PROTO_FEATURE_PEERS, (uint8_t) op, day, day,
                                shard_testlib_on_point, &points) == 0);
    assert (points.count == 1);
    //  Other features never carry the flag
    shard_testlib_points_t bytes = {.count = 0};
    assert (shard_store_series (store, &addr, 22, PROTO_FEATURE_BYTES, (uint8_t) op, day, day,
                                shard_testlib_on_point, &bytes) == 0);
    assert (bytes.count == 1 && !bytes.points[0].peers_capped);
    return points.points[0].peers_capped;
}

static void
s_test_capped (const char *dir, bool verbose)
{
    (void) verbose;
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    int64_t now = 900 * (int64_t) DAY;
    uint32_t day = 890;
    //  Two blocks on port 22: 10.7.0.1 5000 (a sketch) then 100 peers; 10.7.0.2 exactly
    //  4096 then 4200; 10.7.0.3 4095 then 10 (a sum past the cap, every block exact);
    //  10.7.0.4 100 then 4096; 10.7.0.5 200 then 300, and a late part of 5000 peers
    //  for its first block (counted as a block of its own)
    const shard_testlib_spec_t block1[] = {{"10.7.0.1", 22, 1, 1, 1, 0, 5000},
                                           {"10.7.0.2", 22, 1, 1, 1, 0, 4096},
                                           {"10.7.0.3", 22, 1, 1, 1, 0, 4095},
                                           {"10.7.0.4", 22, 1, 1, 1, 0, 100},
                                           {"10.7.0.5", 22, 1, 1, 1, 0, 200}};
    const shard_testlib_spec_t block2[] = {{"10.7.0.1", 22, 1, 1, 1, 0, 100},
                                           {"10.7.0.2", 22, 1, 1, 1, 0, 4200},
                                           {"10.7.0.3", 22, 1, 1, 1, 0, 10},
                                           {"10.7.0.4", 22, 1, 1, 1, 0, 4096},
                                           {"10.7.0.5", 22, 1, 1, 1, 0, 300}};
    const shard_testlib_spec_t late[] = {{"10.7.0.5", 22, 1, 1, 1, 10000, 5000}};
    shard_part_result_t result;
    assert (shard_testlib_apply (store, "r1", "b1", (int64_t) day * DAY, block1, 5, now, &result) ==
            0);
    assert (shard_testlib_apply (store, "r1", "b2", (int64_t) day * DAY + 300, block2, 5, now,
                                 &result) == 0);
    assert (shard_testlib_apply (store, "r2", "b1", (int64_t) day * DAY, late, 1, now, &result) ==
            0);
    assert (result.late);
    //  host -> capped for {sum, max, min}
    const struct {
        const char *host;
        bool capped[PROTO_OP_COUNT];
    } expected[] = {{"10.7.0.1", {true, true, false}},
                    {"10.7.0.2", {true, true, true}},
                    {"10.7.0.3", {false, false, false}},
                    {"10.7.0.4", {true, true, false}},
                    {"10.7.0.5", {true, true, false}}};
    for (int round = 0; round < 2; round++) {
        for (size_t index = 0; index < 5; index++)
            for (int op = 0; op < PROTO_OP_COUNT; op++)
                assert (s_capped (store, expected[index].host, day, (proto_op_t) op) ==
                        expected[index].capped[op]);
        //  Top entries carry the same flag, for one port and for every port
        for (int op = 0; op < PROTO_OP_COUNT; op++)
            for (int all = 0; all < 2; all++) {
                shard_testlib_tops_t tops = {.count = 0};
                assert (shard_store_top (store, day, (uint8_t) op, all ? PROTO_PORT_ALL : 22,
                                         shard_testlib_on_top, &tops) == 0);
                size_t peers = 0;
                for (size_t entry = 0; entry < tops.count; entry++) {
                    const proto_top_t *top = &tops.entries[entry];
                    if (top->feature != PROTO_FEATURE_PEERS) {
                        assert (!top->peers_capped);
                        continue;
                    }
                    char text[PROTO_ADDR_STRLEN];
                    proto_addr_format (&top->addr, text);
                    size_t host = (size_t) (text[7] - '1');
                    assert (host < 5 && top->peers_capped == expected[host].capped[op]);
                    peers++;
                }
                assert (peers == 5);
            }
        //  The flag is kept in the archive too
        bool more = true;
        while (more)
            assert (shard_store_archive (store, now, 100, &more) == 0);
        assert (round == 1 || shard_testlib_stats (store).archived_rows == 5);
    }
    shard_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  Random blocks against a model: every top list of every (port, feature, op) equals a
//  sort of the model's rows after every block.  Small value ranges make many ties and
//  falling minima; the day is archived half way, so rebuilds also scan the archive.

#define RANDOM_HOSTS 48
#define RANDOM_PORTS 2

typedef struct {
    proto_addr_t addr;
    uint64_t score;
} s_ranked_t;

static int
s_compare_ranked (const void *a, const void *b)
{
    const s_ranked_t *x = (const s_ranked_t *) a, *y = (const s_ranked_t *) b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return memcmp (&x->addr, &y->addr, sizeof x->addr);
}

static void
s_test_random (const char *dir, bool verbose)
{
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    uint32_t day = 700;
    int64_t now = (int64_t) day * DAY + 3600;
    uint16_t ports[RANDOM_PORTS] = {25, 80};
    //  model[host][port]: value[feature][op], present
    uint64_t model[RANDOM_HOSTS][RANDOM_PORTS][4][3];
    bool present[RANDOM_HOSTS][RANDOM_PORTS] = {{false}};
    char *names[RANDOM_HOSTS];
    for (uint32_t host = 0; host < RANDOM_HOSTS; host++)
        names[host] = zsys_sprintf (host % 3 ? "10.8.0.%u" : "2001:db8::%x", host + 1);
    uint64_t state = 0x853c49e6748fea9bULL;
    size_t checks = 0;
    for (int block = 0; block < 60; block++) {
        shard_testlib_spec_t specs[RANDOM_HOSTS * RANDOM_PORTS];
        size_t count = 0;
        for (uint32_t host = 0; host < RANDOM_HOSTS; host++)
            for (uint32_t port = 0; port < RANDOM_PORTS; port++) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                if ((state >> 60) < 9)
                    continue;  //  Absent from this block
                uint64_t values[4] = {1 + (state >> 20) % 40, 1 + (state >> 30) % 4,
                                      (state >> 40) % 30, 1 + (state >> 50) % 3};
                specs[count++] =
                    (shard_testlib_spec_t){names[host], ports[port], values[0],           values[1],
                                           values[2],   0,           (uint32_t) values[3]};
                for (int feature = 0; feature < 4; feature++) {
                    uint64_t *row = model[host][port][feature];
                    if (!present[host][port])
                        row[0] = row[1] = row[2] = values[feature];
                    else {
                        row[0] += values[feature];
                        row[1] = values[feature] > row[1] ? values[feature] : row[1];
                        row[2] = values[feature] < row[2] ? values[feature] : row[2];
                    }
                }
                present[host][port] = true;
            }
        char file[32];
        snprintf (file, sizeof file, "b%d", block);
        shard_part_result_t result;
        assert (shard_testlib_apply (store, "r1", file, (int64_t) day * DAY + block * 300, specs,
                                     count, now, &result) == 0);
        assert (result.final && !result.late);
        if (block == 30) {
            bool more = true;
            while (more)
                assert (shard_store_archive (store, now + 2 * DAY, 1000, &more) == 0);
            assert (shard_testlib_stats (store).archived_rows == shard_testlib_stats (store).rows);
        }
        for (uint32_t port = 0; port < RANDOM_PORTS; port++)
            for (int feature = 0; feature < 4; feature++)
                for (int op = 0; op < 3; op++) {
                    s_ranked_t ranked[RANDOM_HOSTS];
                    size_t ranked_count = 0;
                    for (uint32_t host = 0; host < RANDOM_HOSTS; host++)
                        if (present[host][port]) {
                            assert (proto_addr_parse (&ranked[ranked_count].addr, names[host]) ==
                                    0);
                            ranked[ranked_count++].score = model[host][port][feature][op];
                        }
                    qsort (ranked, ranked_count, sizeof ranked[0], s_compare_ranked);
                    size_t expected = ranked_count < 10 ? ranked_count : 10;
                    const char *hosts[10];
                    char texts[10][PROTO_ADDR_STRLEN];
                    uint64_t scores[10];
                    for (size_t rank = 0; rank < expected; rank++) {
                        hosts[rank] = proto_addr_format (&ranked[rank].addr, texts[rank]);
                        scores[rank] = ranked[rank].score;
                    }
                    shard_testlib_expect_top (store, day, (proto_op_t) op, ports[port],
                                              (proto_feature_t) feature, hosts, scores, expected,
                                              expected);
                    checks++;
                }
    }
    if (verbose)
        printf ("%zu random lists exact, %llu rebuilds; ", checks,
                (unsigned long long) shard_testlib_stats (store).top_rebuilds);
    assert (shard_testlib_stats (store).top_rebuilds > 0);
    shard_store_destroy (&store);
    for (uint32_t host = 0; host < RANDOM_HOSTS; host++)
        zstr_free (&names[host]);
}

//  --------------------------------------------------------------------------
void
shard_store_test (bool verbose)
{
    printf (" * shard_store: ");
    void (*cases[]) (const char *, bool) = {s_test_merge,  s_test_single,    s_test_invalid,
                                            s_test_full,   s_test_retention, s_test_archive,
                                            s_test_capped, s_test_random};
    for (size_t test = 0; test < sizeof cases / sizeof cases[0]; test++) {
        char dir[] = "/tmp/shard_store_test.XXXXXX";
        assert (mkdtemp (dir));
        cases[test](dir, verbose);
        shard_testlib_remove (dir);
    }
    printf ("OK\n");
}
