/*  store_dump.c - a hash of every answer a shard store gives, for the migration test.

    usage: store_dump DIR HOSTS
    Opens the store in DIR (it must not be in use) through shard_store.h's public API
    only, so that the same source builds against the schema 1 code and this one, and
    prints one line: a FNV-1a hash over the top lists of the last 40 days (every op, every
    port), the 12 ALL* series of every 7th host 10.0.0.0 + i (i < HOSTS), the days list,
    the number of entries hashed, the daily rows and the archived rows, and (built against
    the code of the series tier, which defines SHARD_SCHEMA_CHUNKS) the rows held in
    compacted segments, as " series N".  Exit 0, or 1 if the store does not open (e.g.
    another schema).

    usage: store_dump --known DIR < ADDRESSES
    Prints those of the addresses (one a line) that the store knows (traffic or
    annotations): where a host's rows are after a slot move (slots_test.sh).
*/
#include "shard/shard_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_hash (uint64_t *hash, const void *data, size_t size)
{
    for (size_t index = 0; index < size; index++)
        *hash = (*hash ^ ((const uint8_t *) data)[index]) * 0x100000001b3ULL;
}

static void
s_on_top (void *arg, const proto_top_t *entry)
{
    uint64_t values[] = {entry->port, entry->feature, entry->score};
    s_hash ((uint64_t *) arg, values, sizeof values);
    s_hash ((uint64_t *) arg, entry->addr.bytes, PROTO_ADDR_SIZE);
    ((uint64_t *) arg)[1]++;
}

static void
s_on_point (void *arg, const proto_point_t *point)
{
    uint64_t values[] = {point->port, point->day, point->score};
    s_hash ((uint64_t *) arg, values, sizeof values);
    ((uint64_t *) arg)[1]++;
}

static void
s_on_day (void *arg, uint32_t day)
{
    s_hash ((uint64_t *) arg, &day, sizeof day);
}

static int
s_known (const char *dir)
{
    shard_store_t *store = shard_store_new (dir, 1ULL << 34);
    if (!store)
        return 1;
    char line[256];
    while (fgets (line, sizeof line, stdin)) {
        line[strcspn (line, "\r\n")] = 0;
        proto_addr_t host;
        shard_host_info_t info;
        if (proto_addr_parse (&host, line) == 0 &&
            shard_store_host (store, &host, &info, NULL, NULL, NULL) == 0 &&
            (info.known || info.annotations))
            printf ("%s\n", line);
    }
    shard_store_destroy (&store);
    return 0;
}

int
main (int argc, char *argv[])
{
    if (argc == 3 && strcmp (argv[1], "--known") == 0)
        return s_known (argv[2]);
    if (argc != 3) {
        fprintf (stderr, "usage: store_dump DIR HOSTS\n");
        return 2;
    }
    size_t hosts = strtoul (argv[2], NULL, 10);
    shard_store_t *store = shard_store_new (argv[1], 1ULL << 34);
    if (!store)
        return 1;
    uint64_t hash[2] = {0xcbf29ce484222325ULL, 0};
    uint32_t today = proto_day_of (zclock_time () / 1000);
    for (uint32_t day = today - 40; day <= today; day++)
        for (uint8_t op = 0; op < PROTO_OP_COUNT; op++)
            shard_store_top (store, day, op, PROTO_PORT_ALL, s_on_top, hash);
    for (size_t index = 0; index < hosts; index += 7) {
        proto_addr_t host;
        proto_addr_from_ipv4 (&host, 0x0a000000 + (uint32_t) index);
        for (uint8_t feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
            for (uint8_t op = 0; op < PROTO_OP_COUNT; op++)
                shard_store_series (store, &host, PROTO_PORT_ALL, feature, op, 0, 70000, s_on_point,
                                    hash);
    }
    shard_store_days (store, s_on_day, hash);
    shard_store_stats_t stats;
    shard_store_stats (store, &stats);
    printf ("answers %016llx entries %llu rows %llu archived %llu", (unsigned long long) hash[0],
            (unsigned long long) hash[1], (unsigned long long) stats.rows,
            (unsigned long long) stats.archived_rows);
#ifdef SHARD_SCHEMA_CHUNKS
    printf (" series %llu", (unsigned long long) stats.series_rows);
#endif
    printf ("\n");
    shard_store_destroy (&store);
    return 0;
}
