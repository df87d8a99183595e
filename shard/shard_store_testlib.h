/*  shard_store_testlib.h - what the shard store's selftests share: small parts built
    from tables (peers 198.18.0.0 + [from, +count), an exact set up to the cap, a sketch
    beyond), applying them, and checking top lists, scores and rows through the public
    API.  Test code only: linked into the selftest with the other shard modules.
*/
#ifndef SHARD_STORE_TESTLIB_H_INCLUDED
#define SHARD_STORE_TESTLIB_H_INCLUDED

#include "shard/shard_store.h"

#define DAY 86400
#define D0 19675  //  2023-11-14

//  A pair of a test part; peers are the addresses 198.18.0.0 + [peers_from, +count),
//  an exact set up to the cap, a sketch beyond it.
typedef struct {
    const char *host;
    uint16_t port;
    uint64_t bytes, packets, durations;
    uint32_t peers_from, peers_count;
} shard_testlib_spec_t;

typedef struct {
    proto_pair_t *pairs;
    size_t count;
    uint8_t **peers;
} shard_testlib_part_t;

//  Collected answers
typedef struct {
    proto_top_t entries[600];
    size_t count;
} shard_testlib_tops_t;

typedef struct {
    proto_point_t points[64];
    size_t count;
} shard_testlib_points_t;

typedef struct {
    uint16_t ports[8];
    size_t port_count;
    proto_annotation_t notes[4];
    char names[4][64];
    size_t note_count;
} shard_testlib_host_t;

shard_testlib_part_t *shard_testlib_part_new (const shard_testlib_spec_t *specs, size_t count);
void shard_testlib_part_destroy (shard_testlib_part_t **self_p);
void shard_testlib_pair_at (void *pairs, size_t index, proto_pair_t *pair);
int shard_testlib_apply (shard_store_t *store, const char *source, const char *file, int64_t block,
                         const shard_testlib_spec_t *specs, size_t count, int64_t now,
                         shard_part_result_t *result);
void shard_testlib_on_top (void *arg, const proto_top_t *entry);
void shard_testlib_expect_top (shard_store_t *store, uint32_t day, proto_op_t op, uint16_t port,
                               proto_feature_t feature, const char **hosts, const uint64_t *scores,
                               size_t count, size_t total);
void shard_testlib_on_point (void *arg, const proto_point_t *point);
uint64_t shard_testlib_score (shard_store_t *store, const char *host, uint16_t port, uint32_t day,
                              proto_feature_t feature, proto_op_t op);
void shard_testlib_expect_row (shard_store_t *store, const char *host, uint16_t port, uint32_t day,
                               const uint64_t expected[4][3]);
void shard_testlib_on_port (void *arg, uint16_t port);
void shard_testlib_on_note (void *arg, const proto_annotation_t *note);
void shard_testlib_note_at (void *annotations, size_t index, proto_annotation_t *annotation);
void shard_testlib_on_day (void *arg, uint32_t day);
shard_store_stats_t shard_testlib_stats (shard_store_t *store);
void shard_testlib_remove (const char *dir);

//  A hash of every answer over days first_day..last_day for the hosts, in the first
//  directions directions (1: out, 2: both): top lists of every day and op, every
//  feature x op series of each host (every port), its series on port over days
//  first_day + 2 .. + 3, its host record; and the store's days.  Equal stores, equal hashes.
uint64_t shard_testlib_answers (shard_store_t *store, uint32_t first_day, uint32_t last_day,
                                uint16_t port, const proto_addr_t *hosts, size_t host_count,
                                uint8_t directions);

#endif
