/*  shard_direction_test.c - selftest of the store's two directions (shard_store.h).

    A part carries pairs of the out direction (host = local source) and of the in
    direction (host = local destination); each goes to its own rows, top lists and host
    records, through every path a part takes: final on arrival, open blocks merged from
    two ingestors and finalised, late parts, archiving and retention.  Both directions
    hold the same host on the same port with different values, so that any mix-up of the
    sub-databases shows in a score.
*/
#include "shard/shard_store.h"
#include "shard/shard_store_testlib.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Apply out_specs and in_specs as one part

static int
s_apply (shard_store_t *store, const char *source, const char *file, int64_t block,
         const shard_testlib_spec_t *out_specs, size_t out_count,
         const shard_testlib_spec_t *in_specs, size_t in_count, int64_t now,
         shard_part_result_t *result)
{
    shard_testlib_part_t *out = shard_testlib_part_new (out_specs, out_count);
    shard_testlib_part_t *in = shard_testlib_part_new (in_specs, in_count);
    shard_pairs_t sets[PROTO_DIRECTION_COUNT] = {{shard_testlib_pair_at, out, out_count},
                                                 {shard_testlib_pair_at, in, in_count}};
    int rc = shard_store_apply_directions (store, source, file, block, sets, NULL, now, result);
    shard_testlib_part_destroy (&in);
    shard_testlib_part_destroy (&out);
    return rc;
}

//  --------------------------------------------------------------------------
//  The score of (host, port, day, feature, op) in direction, 0 if none

static uint64_t
s_score (shard_store_t *store, uint8_t direction, const char *host, uint16_t port, uint32_t day,
         proto_feature_t feature, proto_op_t op)
{
    proto_addr_t addr;
    assert (proto_addr_parse (&addr, host) == 0);
    shard_testlib_points_t points = {.count = 0};
    assert (shard_store_series_direction (store, direction, &addr, port, (uint8_t) feature,
                                          (uint8_t) op, day, day, shard_testlib_on_point,
                                          &points) == 0);
    return points.count ? points.points[0].score : 0;
}

//  --------------------------------------------------------------------------
//  The first entry of the top list of (day, port, feature, op) in direction

static proto_top_t
s_top_first (shard_store_t *store, uint8_t direction, uint32_t day, uint16_t port,
             proto_feature_t feature, proto_op_t op, size_t *count)
{
    shard_testlib_tops_t tops = {.count = 0};
    assert (shard_store_top_direction (store, direction, day, (uint8_t) op, port,
                                       shard_testlib_on_top, &tops) == 0);
    proto_top_t first = {0};
    *count = 0;
    for (size_t index = 0; index < tops.count; index++)
        if (tops.entries[index].feature == feature && (*count)++ == 0)
            first = tops.entries[index];
    return first;
}

//  --------------------------------------------------------------------------
void
shard_direction_test (bool verbose)
{
    printf (" * shard_direction: ");
    char dir[] = "/tmp/shard_direction_test.XXXXXX";
    assert (mkdtemp (dir));
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    int64_t now = (int64_t) D0 * DAY + 3600;
    shard_part_result_t result;

    //  Final on arrival (no registered ingestor): 10.0.0.1 sends on 25 (out) and
    //  receives on 25 and 9001 (in); 10.0.0.2 only receives
    const shard_testlib_spec_t out1[] = {{"10.0.0.1", 25, 1000, 10, 100, 0, 3}};
    const shard_testlib_spec_t in1[] = {{"10.0.0.1", 25, 70, 7, 7, 100, 2},
                                        {"10.0.0.1", 9001, 9000, 90, 900, 200, 40},
                                        {"10.0.0.2", 9001, 500, 5, 50, 300, 1}};
    assert (s_apply (store, "r1", "f1", (int64_t) D0 * DAY, out1, 1, in1, 3, now, &result) == 0);
    assert (result.final && !result.duplicate);
    assert (s_score (store, PROTO_DIRECTION_OUT, "10.0.0.1", 25, D0, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 1000);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.1", 25, D0, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 70);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.1", 9001, D0, PROTO_FEATURE_PEERS,
                     PROTO_OP_MAX) == 40);
    assert (s_score (store, PROTO_DIRECTION_OUT, "10.0.0.1", 9001, D0, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 0);
    assert (s_score (store, PROTO_DIRECTION_OUT, "10.0.0.2", 9001, D0, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 0);
    size_t count;
    proto_top_t first = s_top_first (store, PROTO_DIRECTION_IN, D0, 9001, PROTO_FEATURE_BYTES,
                                     PROTO_OP_SUM, &count);
    assert (count == 2 && first.score == 9000);
    s_top_first (store, PROTO_DIRECTION_OUT, D0, 9001, PROTO_FEATURE_BYTES, PROTO_OP_SUM, &count);
    assert (count == 0);
    first =
        s_top_first (store, PROTO_DIRECTION_OUT, D0, 25, PROTO_FEATURE_BYTES, PROTO_OP_SUM, &count);
    assert (count == 1 && first.score == 1000);
    //  The old entry point is the out direction
    shard_testlib_expect_top (store, D0, PROTO_OP_SUM, 25, PROTO_FEATURE_BYTES,
                              (const char *[]){"10.0.0.1"}, (uint64_t[]){1000}, 1, 1);

    //  Host records per direction; annotations whatever the direction
    proto_addr_t host;
    assert (proto_addr_parse (&host, "10.0.0.2") == 0);
    shard_host_info_t info;
    shard_testlib_host_t ports = {.port_count = 0};
    assert (shard_store_host_direction (store, PROTO_DIRECTION_OUT, &host, &info,
                                        shard_testlib_on_port, NULL, &ports) == 0);
    assert (!info.known && ports.port_count == 0);
    assert (shard_store_host_direction (store, PROTO_DIRECTION_IN, &host, &info,
                                        shard_testlib_on_port, NULL, &ports) == 0);
    assert (info.known && ports.port_count == 1 && ports.ports[0] == 9001);
    assert (info.first_seen == (int64_t) D0 * DAY);
    proto_annotation_t note = {host, "relay.example", "PTR", 1, 2};
    size_t stored;
    assert (shard_store_annotate (store, shard_testlib_note_at, &note, 1, &stored) == 0);
    assert (shard_store_host_direction (store, PROTO_DIRECTION_IN, &host, &info, NULL, NULL,
                                        NULL) == 0);
    assert (info.annotations == 1);
    first = s_top_first (store, PROTO_DIRECTION_IN, D0, 9001, PROTO_FEATURE_PEERS, PROTO_OP_SUM,
                         &count);
    assert (count == 2 && first.peers_capped == false);
    shard_testlib_tops_t tops = {.count = 0};
    assert (shard_store_top_direction (store, PROTO_DIRECTION_IN, D0, PROTO_OP_SUM, 9001,
                                       shard_testlib_on_top, &tops) == 0);
    assert (tops.count == 8 && tops.entries[1].annotations == 1);  //  10.0.0.2 second
    assert (shard_store_top_direction (store, 2, D0, PROTO_OP_SUM, 9001, shard_testlib_on_top,
                                       &tops) == SHARD_STORE_INVALID);

    //  Two ingestors: the block stays open, the in rows merge (peer sets unite), and
    //  finalisation folds both directions
    const char *ingestors[] = {"r1", "r2"};
    shard_store_set_ingestors (store, ingestors, 2);
    int64_t block = (int64_t) (D0 + 1) * DAY;
    const shard_testlib_spec_t in2[] = {{"10.0.0.2", 9001, 100, 1, 10, 300, 5}};
    const shard_testlib_spec_t in3[] = {{"10.0.0.2", 9001, 200, 2, 20, 303, 5}};
    assert (s_apply (store, "r1", "f2", block, out1, 1, in2, 1, now, &result) == 0);
    assert (!result.final);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.2", 9001, D0 + 1, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 0);
    assert (s_apply (store, "r2", "f2", block, NULL, 0, in3, 1, now, &result) == 0);
    assert (result.final);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.2", 9001, D0 + 1, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 300);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.2", 9001, D0 + 1, PROTO_FEATURE_PEERS,
                     PROTO_OP_SUM) == 8);  //  300..307
    assert (s_score (store, PROTO_DIRECTION_OUT, "10.0.0.1", 25, D0 + 1, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 1000);
    //  A resent part changes nothing; a late one adds its sums in its direction only
    assert (s_apply (store, "r2", "f2", block, NULL, 0, in3, 1, now, &result) == 0);
    assert (result.duplicate);
    assert (s_apply (store, "r2", "f3", block, NULL, 0, in3, 1, now, &result) == 0);
    assert (result.late);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.2", 9001, D0 + 1, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 500);
    assert (s_score (store, PROTO_DIRECTION_OUT, "10.0.0.2", 9001, D0 + 1, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 0);
    //  Invalid in pairs are refused, naming the direction, and nothing is applied
    const shard_testlib_spec_t twice[] = {{"10.0.0.3", 22, 1, 1, 1, 0, 1},
                                          {"10.0.0.3", 22, 1, 1, 1, 0, 1}};
    assert (s_apply (store, "r1", "f4", block, NULL, 0, twice, 2, now, &result) ==
            SHARD_STORE_INVALID);
    assert (strstr (shard_store_error (store), "pairs_in: "));

    //  Days: the union of both directions; an in-only day counts
    const shard_testlib_spec_t in4[] = {{"10.0.0.4", 80, 1, 1, 1, 0, 1}};
    shard_store_set_ingestors (store, NULL, 0);
    assert (s_apply (store, "r1", "f5", (int64_t) (D0 + 2) * DAY, NULL, 0, in4, 1, now, &result) ==
            0);
    uint32_t days[8] = {0};
    assert (shard_store_days (store, shard_testlib_on_day, days) == 0);
    assert (days[0] == 3 && days[1] == D0 && days[3] == D0 + 2);

    //  Archiving moves both directions' rows into chunks; answers stay
    int64_t later = (int64_t) (D0 + 10) * DAY;
    bool more = true;
    while (more)
        assert (shard_store_archive (store, later, 2, &more) == 0);
    shard_store_stats_t stats = shard_testlib_stats (store);
    assert (stats.archived_rows == stats.rows && stats.rows == 7);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.2", 9001, D0 + 1, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 500);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.1", 25, D0, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 70);

    //  Retention removes both directions' old days
    shard_store_set_retention_days (store, 1);
    more = true;
    while (more)
        assert (shard_store_expire (store, later, 3, &more) == 0);
    stats = shard_testlib_stats (store);
    assert (stats.rows == 0);
    assert (s_score (store, PROTO_DIRECTION_IN, "10.0.0.1", 9001, D0, PROTO_FEATURE_BYTES,
                     PROTO_OP_SUM) == 0);
    memset (days, 0, sizeof days);
    assert (shard_store_days (store, shard_testlib_on_day, days) == 0);
    assert (days[0] == 0);
    assert (proto_addr_parse (&host, "10.0.0.4") == 0);
    assert (shard_store_host_direction (store, PROTO_DIRECTION_IN, &host, &info, NULL, NULL,
                                        NULL) == 0);
    assert (!info.known);
    if (verbose)
        printf ("(in and out kept apart) ");
    shard_store_destroy (&store);
    shard_testlib_remove (dir);
    printf ("OK\n");
}
