/*  shard_store_bench.c - how fast a shard store applies parts, and how big it gets.

    Loads HOSTS IPv4 hosts x PORTS ports x DAYS days (the days ending yesterday, so
    that retention keeps them) in parts of PAIRS pairs from one source (final on
    arrival: the common path), in (host, port) order as the ingestor sends them.  Each
    day gets two rounds of blocks: the first creates every (day, port, host) row, the
    second folds another block into each of them (the update path).  Then it reports
    rows/s per round; after each day the finished days are archived, as the server's
    hourly maintenance does, so that the freed pages are reused by the next day; then
    the LMDB bytes per daily row (overall, and the steady-state growth per day), and
    query latencies.

    build: cc -std=c11 -D_GNU_SOURCE -O2 -I. bench/shard_store_bench.c \
               build/obj/libshard.a build/obj/libproto.a \
               -llmdb -lczmq -lzmq -lmsgpackc -lm -o build/shard_store_bench
    run:   build/shard_store_bench [-h HOSTS] [-p PORTS] [-d DAYS] [-n PAIRS] [-k]
           (-k keeps the store directory and prints it)
*/
#include "shard/shard_store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEERS_MAX 4

static const uint16_t s_ports[] = {21, 22, 25, 80, 445, 1194, 3128, 8080, 8081, 8118, 8123, 9050};

typedef struct {
    proto_pair_t *pairs;
    uint8_t *peers;
    size_t count;
} s_part_t;

static void
s_pair_at (void *part, size_t index, proto_pair_t *pair)
{
    *pair = ((s_part_t *) part)->pairs[index];
}

static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

//  Fill part with the pairs [first, first + count) of the (host, port) sequence
static void
s_fill (s_part_t *part, size_t first, size_t count, size_t ports, uint64_t *state)
{
    part->count = count;
    for (size_t index = 0; index < count; index++) {
        size_t sequence = first + index;
        uint32_t host = (uint32_t) (sequence / ports);
        proto_pair_t *pair = &part->pairs[index];
        proto_addr_from_ipv4 (&pair->addr, 0x0a000000 + host);
        pair->port = s_ports[sequence % ports];
        uint64_t random = s_random (state);
        //  Heavy-tailed volumes: most pairs are small, a few large
        pair->bytes = 40 + (random % 1500) * (1ULL << (random >> 60));
        pair->packets = 1 + (random >> 20) % 50;
        pair->durations = (random >> 32) % 60000;
        size_t peers = 1 + (random >> 40) % PEERS_MAX;
        uint8_t *bytes = part->peers + index * PEERS_MAX * PROTO_ADDR_SIZE;
        for (size_t peer = 0; peer < peers; peer++) {
            proto_addr_t addr;
            proto_addr_from_ipv4 (&addr, 0xc6120000 + (uint32_t) (peer * 7 + (random & 255)));
            memcpy (bytes + peer * PROTO_ADDR_SIZE, addr.bytes, PROTO_ADDR_SIZE);
        }
        pair->peers_kind = PROTO_PEERS_EXACT;
        pair->peers = bytes;
        pair->peers_size = peers * PROTO_ADDR_SIZE;
    }
}

static void
s_on_top (void *arg, const proto_top_t *entry)
{
    (void) entry;
    (*(size_t *) arg)++;
}

static void
s_on_point (void *arg, const proto_point_t *point)
{
    (void) point;
    (*(size_t *) arg)++;
}

int
main (int argc, char *argv[])
{
    size_t hosts = 100000, ports = 12, days = 7, pairs_per_part = 200000;
    bool keep = false;
    int option;
    while ((option = getopt (argc, argv, "h:p:d:n:k")) != -1) {
        if (option == 'h')
            hosts = strtoul (optarg, NULL, 10);
        else if (option == 'p')
            ports = strtoul (optarg, NULL, 10);
        else if (option == 'd')
            days = strtoul (optarg, NULL, 10);
        else if (option == 'n')
            pairs_per_part = strtoul (optarg, NULL, 10);
        else if (option == 'k')
            keep = true;
        else {
            fprintf (stderr, "usage: shard_store_bench [-h HOSTS] [-p PORTS] [-d DAYS] "
                             "[-n PAIRS] [-k]\n");
            return 2;
        }
    }
    if (ports < 1 || ports > 12 || !hosts || !days || !pairs_per_part)
        return 2;
    char dir[] = "/tmp/shard_store_bench.XXXXXX";
    if (!mkdtemp (dir))
        return 1;
    shard_store_t *store = shard_store_new (dir, 64ULL << 30);
    if (!store)
        return 1;
    s_part_t part;
    part.pairs = (proto_pair_t *) calloc (pairs_per_part, sizeof (proto_pair_t));
    part.peers = (uint8_t *) calloc (pairs_per_part, PEERS_MAX * PROTO_ADDR_SIZE);
    if (!part.pairs || !part.peers)
        return 1;
    uint64_t state = 0x2545f4914f6cdd1dULL;
    int64_t now = zclock_time () / 1000;
    uint32_t today = proto_day_of (now);
    size_t total = hosts * ports;
    double seconds[2] = {0, 0};
    size_t rows[2] = {0, 0};
    double first_part = 0, archive_seconds = 0;
    uint64_t *file_bytes = (uint64_t *) calloc (days, sizeof (uint64_t));
    for (size_t day = 0; day < days; day++) {
        int64_t day_start = (int64_t) (today - days + day) * 86400;
        for (int round = 0; round < 2; round++) {
            //  Round 0 in the morning, round 1 in the afternoon: distinct blocks
            int64_t block = day_start + round * 43200;
            for (size_t first = 0; first < total; first += pairs_per_part, block += 300) {
                size_t count = total - first < pairs_per_part ? total - first : pairs_per_part;
                s_fill (&part, first, count, ports, &state);
                char file[64];
                snprintf (file, sizeof file, "nfcapd.%lld", (long long) block);
                shard_part_result_t result;
                int64_t start = zclock_usecs ();
                int rc = shard_store_apply_part (store, "bench", file, block, s_pair_at, &part,
                                                 count, now, &result);
                double elapsed = (zclock_usecs () - start) / 1e6;
                if (rc != SHARD_STORE_OK || !result.final) {
                    fprintf (stderr, "apply failed: %s\n", shard_store_error (store));
                    return 1;
                }
                if (day == 0 && round == 0 && first == 0)
                    first_part = count / elapsed;
                seconds[round] += elapsed;
                rows[round] += count;
            }
        }
        //  The server's maintenance: once a day is over, its rows move to the archive
        //  (here: right after the next day is loaded)
        int64_t start = zclock_usecs ();
        bool more = true;
        while (more)
            if (shard_store_archive (store, day_start + 86400, SHARD_ARCHIVE_BATCH, &more)) {
                fprintf (stderr, "archive failed: %s\n", shard_store_error (store));
                return 1;
            }
        archive_seconds += (zclock_usecs () - start) / 1e6;
        shard_store_stats_t stats;
        shard_store_stats (store, &stats);
        file_bytes[day] = stats.lmdb_bytes;
        fprintf (stderr, "day %zu loaded\r", day + 1);
    }
    shard_store_stats_t stats;
    shard_store_stats (store, &stats);
    printf ("load: %zu hosts x %zu ports x %zu days, parts of %zu pairs, one source\n", hosts,
            ports, days, pairs_per_part);
    printf ("first part (empty store): %.0f rows/s\n", first_part);
    printf ("new rows:     %zu in %.1f s: %.0f rows/s\n", rows[0], seconds[0],
            rows[0] / seconds[0]);
    printf ("folded rows:  %zu in %.1f s: %.0f rows/s\n", rows[1], seconds[1],
            rows[1] / seconds[1]);
    printf ("archived %llu rows in %.1f s (%.0f rows/s)\n",
            (unsigned long long) stats.archived_rows, archive_seconds,
            stats.archived_rows / archive_seconds);
    if (days >= 3)
        printf ("steady state: the file grows %.1f MB a day: %.1f bytes per daily row\n",
                (file_bytes[days - 1] - file_bytes[1]) / 1e6 / (double) (days - 2),
                (double) (file_bytes[days - 1] - file_bytes[1]) / (double) (days - 2) /
                    (double) total);
    struct stat file_stat;
    char *path = zsys_sprintf ("%s/data.mdb", dir);
    stat (path, &file_stat);
    zstr_free (&path);
    printf ("daily rows %llu, hosts %llu, top rebuilds %llu\n", (unsigned long long) stats.rows,
            (unsigned long long) stats.hosts, (unsigned long long) stats.top_rebuilds);
    printf ("LMDB in use %.1f MB (file %.1f MB): %.1f bytes per daily row, all included\n",
            stats.lmdb_bytes / 1e6, file_stat.st_size / 1e6,
            (double) stats.lmdb_bytes / (double) stats.rows);
    printf ("daily rows alone (days + archive): %.1f MB, %.1f bytes per row\n",
            stats.rows_bytes / 1e6, (double) stats.rows_bytes / (double) stats.rows);

    //  Query latencies (cold read transaction each time, as the server does)
    size_t answers = 0, repeat = 200;
    int64_t start = zclock_usecs ();
    for (size_t index = 0; index < repeat; index++)
        shard_store_top (store, today - 1, PROTO_OP_SUM, PROTO_PORT_ALL, s_on_top, &answers);
    printf ("top, all ports: %.3f ms (%zu entries)\n", (zclock_usecs () - start) / 1000.0 / repeat,
            answers / repeat);
    answers = 0;
    start = zclock_usecs ();
    for (size_t index = 0; index < repeat; index++) {
        proto_addr_t host;
        proto_addr_from_ipv4 (&host, 0x0a000000 + (uint32_t) (s_random (&state) % hosts));
        shard_store_series (store, &host, PROTO_PORT_ALL, PROTO_FEATURE_BYTES, PROTO_OP_SUM,
                            today - 30, today, s_on_point, &answers);
    }
    printf ("series, all ports, 30 days: %.3f ms (%zu points)\n",
            (zclock_usecs () - start) / 1000.0 / repeat, answers / repeat);
    shard_store_destroy (&store);
    free (part.pairs);
    free (part.peers);
    free (file_bytes);
    if (keep)
        printf ("store kept in %s\n", dir);
    else {
        const char *files[] = {"data.mdb", "lock.mdb", "shard.lock"};
        for (size_t index = 0; index < 3; index++) {
            char *file = zsys_sprintf ("%s/%s", dir, files[index]);
            unlink (file);
            zstr_free (&file);
        }
        rmdir (dir);
    }
    return 0;
}
