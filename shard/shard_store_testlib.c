/*  shard_store_testlib.c - helpers of the shard store's selftests (see the .h).
 */
#include "shard/shard_store_testlib.h"
#include "shard/shard_keys.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

shard_testlib_part_t *
shard_testlib_part_new (const shard_testlib_spec_t *specs, size_t count)
{
    shard_testlib_part_t *self = (shard_testlib_part_t *) zmalloc (sizeof (shard_testlib_part_t));
    self->pairs = (proto_pair_t *) zmalloc ((count + 1) * sizeof (proto_pair_t));
    self->peers = (uint8_t **) zmalloc ((count + 1) * sizeof (uint8_t *));
    self->count = count;
    for (size_t index = 0; index < count; index++) {
        const shard_testlib_spec_t *spec = &specs[index];
        proto_pair_t *pair = &self->pairs[index];
        assert (proto_addr_parse (&pair->addr, spec->host) == 0);
        pair->port = spec->port;
        pair->bytes = spec->bytes;
        pair->packets = spec->packets;
        pair->durations = spec->durations;
        bool sketch = spec->peers_count > PROTO_PEERS_CAP;
        size_t size = sketch ? PROTO_SKETCH_REGISTERS : spec->peers_count * PROTO_ADDR_SIZE;
        self->peers[index] = (uint8_t *) zmalloc (size + 1);
        for (uint32_t peer = 0; peer < spec->peers_count; peer++) {
            proto_addr_t addr;
            proto_addr_from_ipv4 (&addr, 0xc6120000 + spec->peers_from + peer);
            if (sketch)
                proto_sketch_add (self->peers[index], &addr);
            else
                memcpy (self->peers[index] + peer * PROTO_ADDR_SIZE, addr.bytes, PROTO_ADDR_SIZE);
        }
        pair->peers_kind = sketch ? PROTO_PEERS_SKETCH : PROTO_PEERS_EXACT;
        pair->peers = self->peers[index];
        pair->peers_size = size;
    }
    return self;
}

void
shard_testlib_part_destroy (shard_testlib_part_t **self_p)
{
    shard_testlib_part_t *self = *self_p;
    for (size_t index = 0; index < self->count; index++)
        free (self->peers[index]);
    free (self->peers);
    free (self->pairs);
    free (self);
    *self_p = NULL;
}

void
shard_testlib_pair_at (void *pairs, size_t index, proto_pair_t *pair)
{
    *pair = ((shard_testlib_part_t *) pairs)->pairs[index];
}

//  Apply a part; returns the store's result code
int
shard_testlib_apply (shard_store_t *store, const char *source, const char *file, int64_t block,
                     const shard_testlib_spec_t *specs, size_t count, int64_t now,
                     shard_part_result_t *result)
{
    shard_testlib_part_t *part = shard_testlib_part_new (specs, count);
    shard_part_result_t ignored;
    int rc = shard_store_apply_part (store, source, file, block, shard_testlib_pair_at, part, count,
                                     now, result ? result : &ignored);
    shard_testlib_part_destroy (&part);
    return rc;
}

void
shard_testlib_on_top (void *arg, const proto_top_t *entry)
{
    shard_testlib_tops_t *tops = (shard_testlib_tops_t *) arg;
    assert (tops->count < 600);
    tops->entries[tops->count++] = *entry;
}

//  Check one top list: day, op, port, feature -> its first count hosts and scores, best
//  first, and its length total
void
shard_testlib_expect_top (shard_store_t *store, uint32_t day, proto_op_t op, uint16_t port,
                          proto_feature_t feature, const char **hosts, const uint64_t *scores,
                          size_t count, size_t total)
{
    shard_testlib_tops_t tops = {.count = 0};
    assert (shard_store_top (store, day, (uint8_t) op, port, shard_testlib_on_top, &tops) == 0);
    size_t found = 0;
    for (size_t index = 0; index < tops.count; index++) {
        const proto_top_t *entry = &tops.entries[index];
        assert (entry->port == port);
        if (entry->feature != feature)
            continue;
        if (found >= count) {
            found++;
            continue;
        }
        proto_addr_t addr;
        assert (proto_addr_parse (&addr, hosts[found]) == 0);
        if (memcmp (&addr, &entry->addr, sizeof addr) || entry->score != scores[found]) {
            char text[PROTO_ADDR_STRLEN];
            printf ("\ntop day %u op %d port %u feature %d rank %zu: %s %llu, expected %s %llu\n",
                    day, op, port, feature, found, proto_addr_format (&entry->addr, text),
                    (unsigned long long) entry->score, hosts[found],
                    (unsigned long long) scores[found]);
            assert (false);
        }
        found++;
    }
    assert (found == total);
}

void
shard_testlib_on_point (void *arg, const proto_point_t *point)
{
    shard_testlib_points_t *points = (shard_testlib_points_t *) arg;
    assert (points->count < 64);
    points->points[points->count++] = *point;
}

//  The daily score of (host, port, day) for feature and op, via a series query;
//  UINT64_MAX - 7 if there is none.
uint64_t
shard_testlib_score (shard_store_t *store, const char *host, uint16_t port, uint32_t day,
                     proto_feature_t feature, proto_op_t op)
{
    proto_addr_t addr;
    assert (proto_addr_parse (&addr, host) == 0);
    shard_testlib_points_t points = {.count = 0};
    assert (shard_store_series (store, &addr, port, (uint8_t) feature, (uint8_t) op, day, day,
                                shard_testlib_on_point, &points) == 0);
    assert (points.count <= 1);
    return points.count ? points.points[0].score : UINT64_MAX - 7;
}

//  Check all 12 scores of a row: expected[feature] = {sum, max, min}
void
shard_testlib_expect_row (shard_store_t *store, const char *host, uint16_t port, uint32_t day,
                          const uint64_t expected[4][3])
{
    for (int feature = 0; feature < 4; feature++)
        for (int op = 0; op < 3; op++) {
            uint64_t score = shard_testlib_score (store, host, port, day, (proto_feature_t) feature,
                                                  (proto_op_t) op);
            if (score != expected[feature][op]) {
                printf ("\nrow %s/%u day %u %s %s: %llu, expected %llu\n", host, port, day,
                        proto_feature_name ((proto_feature_t) feature),
                        proto_op_name ((proto_op_t) op), (unsigned long long) score,
                        (unsigned long long) expected[feature][op]);
                assert (false);
            }
        }
}

void
shard_testlib_on_port (void *arg, uint16_t port)
{
    shard_testlib_host_t *host = (shard_testlib_host_t *) arg;
    assert (host->port_count < 8);
    host->ports[host->port_count++] = port;
}

void
shard_testlib_on_note (void *arg, const proto_annotation_t *note)
{
    shard_testlib_host_t *host = (shard_testlib_host_t *) arg;
    assert (host->note_count < 4);
    host->notes[host->note_count] = *note;
    snprintf (host->names[host->note_count], 64, "%s", note->rrname);
    host->note_count++;
}

void
shard_testlib_note_at (void *annotations, size_t index, proto_annotation_t *annotation)
{
    *annotation = ((proto_annotation_t *) annotations)[index];
}

//  days[0] counts, days[1..] are the days
void
shard_testlib_on_day (void *arg, uint32_t day)
{
    uint32_t *days = (uint32_t *) arg;
    assert (days[0] < 7);
    days[++days[0]] = day;
}

shard_store_stats_t
shard_testlib_stats (shard_store_t *store)
{
    shard_store_stats_t stats;
    assert (shard_store_stats (store, &stats) == 0);
    return stats;
}

void
shard_testlib_remove (const char *dir)
{
    const char *files[] = {"data.mdb", "lock.mdb", "shard.lock"};
    for (size_t index = 0; index < 3; index++) {
        char path[PATH_MAX];
        snprintf (path, sizeof path, "%s/%s", dir, files[index]);
        unlink (path);
    }
    assert (rmdir (dir) == 0);
}

//  --------------------------------------------------------------------------
//  Hash of every answer, FNV-1a over the callbacks' arguments

static void
s_hash (uint64_t *hash, const void *data, size_t size)
{
    for (size_t index = 0; index < size; index++)
        *hash = (*hash ^ ((const uint8_t *) data)[index]) * 0x100000001b3ULL;
}

static void
s_hash_top (void *arg, const proto_top_t *entry)
{
    uint64_t values[] = {entry->port, entry->feature, entry->score, entry->annotations};
    s_hash ((uint64_t *) arg, values, sizeof values);
    s_hash ((uint64_t *) arg, entry->addr.bytes, PROTO_ADDR_SIZE);
}

static void
s_hash_point (void *arg, const proto_point_t *point)
{
    uint64_t values[] = {point->port, point->day, point->score};
    s_hash ((uint64_t *) arg, values, sizeof values);
}

static void
s_hash_port (void *arg, uint16_t port)
{
    s_hash ((uint64_t *) arg, &port, sizeof port);
}

static void
s_hash_day (void *arg, uint32_t day)
{
    s_hash ((uint64_t *) arg, &day, sizeof day);
}

uint64_t
shard_testlib_answers (shard_store_t *store, uint32_t first_day, uint32_t last_day, uint16_t port,
                       const proto_addr_t *hosts, size_t host_count, uint8_t directions)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (uint8_t direction = 0; direction < directions; direction++) {
        for (uint32_t day = first_day; day <= last_day; day++)
            for (uint8_t op = 0; op < PROTO_OP_COUNT; op++)
                assert (shard_store_top_direction (store, direction, day, op, PROTO_PORT_ALL,
                                                   s_hash_top, &hash) == 0);
        for (size_t index = 0; index < host_count; index++) {
            const proto_addr_t *host = &hosts[index];
            for (uint8_t feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
                for (uint8_t op = 0; op < PROTO_OP_COUNT; op++)
                    assert (shard_store_series_direction (store, direction, host, PROTO_PORT_ALL,
                                                          feature, op, 0, 70000, s_hash_point,
                                                          &hash) == 0);
            assert (shard_store_series_direction (store, direction, host, port, 0, 0, first_day + 2,
                                                  first_day + 3, s_hash_point, &hash) == 0);
            shard_host_info_t info;
            assert (shard_store_host_direction (store, direction, host, &info, s_hash_port, NULL,
                                                &hash) == 0);
            s_hash (&hash, &info, sizeof info);
        }
    }
    assert (shard_store_days (store, s_hash_day, &hash) == 0);
    return hash;
}
