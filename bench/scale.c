/*  scale.c - bench/scale's load generator and measurements (see bench/scale).

    Feeds a shard store realistic block parts through the shard store's API (the code a
    portevo-shard runs for each PART message after decoding it: no ZeroMQ, no msgpack,
    no nfcapd), one part per 5-minute block, final on arrival (one ingestor), days
    ending yesterday; after each day the finished days are archived into chunks, as the
    shard's maintenance does.  Then it prints the storage figures, the time to expire
    the oldest day and the longest transaction it took, query latencies, exactness
    spot checks, and ingest throughput with 1, 2 and 4 stores in as many processes.

    The traffic model (deterministic for a seed), per host, fixed over the days:
      - addresses 10.0.0.0 + 16 i + (0..15): a /8 sparsely used, as a local AS;
      - ports: 1 (50 %), 2 (28 %), 3 (10 %), 4-6 (8 %), 7-12 (4 %) of the 12 of ALL*,
        port 80 and 443-like web ports the most likely;
      - per (host, port): active on a day with probability 1 (25 %), 0.5-0.9 (50 %) or
        0.05-0.2 (25 %); blocks a day (a run of consecutive blocks) around a rate of 1
        (40 %), 2-3 (25 %), 4-20 (20 %), 21-100 (12 %), 101-288 (3 %); bytes a block
        around a base of 60 x 2^(0..15); packets of 60-1400 bytes; durations 0 (a
        quarter of the blocks) or up to 300 ms a packet; peers 1 (70 %), 2-5 or 6-64;
      - 1 host in 1,000 is a scanner (port 22 or 445, every block, 1,000-4,096 peers:
        capped at 4,096 in half its blocks) and 1 in 1,000 a spam bot (port 25, 100-288
        blocks, 20-420 peers).

    Exactness: the generator keeps its own per-(host, port, day) sums, maxima and minima
    of the values it generated, for a sample of hosts over every day and for every
    host on two sample days, and compares them with the store's series (all 12
    feature x op series of each sampled host, every port) and top lists (every port,
    feature and op of the two days, ranked by the generator: score, then address).

    build: make build/bench/scale;  run: bench/scale (or build/bench/scale -h)
    The model and the generator are in scale_model.[ch]; this file checks and measures.
*/
#include "bench/scale_model.h"
#include "shard/shard_chunk.h"
#include "shard/shard_segments.h"
#include "shard/shard_store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Exactness checks

typedef struct {
    proto_point_t points[PORTS * 400];
    size_t count;
} s_points_t;

static void
s_on_point (void *arg, const proto_point_t *point)
{
    s_points_t *points = (s_points_t *) arg;
    if (points->count < sizeof points->points / sizeof points->points[0])
        points->points[points->count++] = *point;
}

typedef struct {
    proto_top_t entries[PORTS * PROTO_FEATURE_COUNT * 10];
    size_t count;
} s_tops_t;

static void
s_on_top (void *arg, const proto_top_t *entry)
{
    s_tops_t *tops = (s_tops_t *) arg;
    if (tops->count < sizeof tops->entries / sizeof tops->entries[0])
        tops->entries[tops->count++] = *entry;
}

typedef struct {
    uint32_t addr;
    uint64_t score;
} s_ranked_t;

static int
s_compare_ranked (const void *a, const void *b)
{
    const s_ranked_t *x = (const s_ranked_t *) a, *y = (const s_ranked_t *) b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

//  Series of the sampled hosts: every feature x op, every port.  Returns mismatches.
static size_t
s_check_series (scale_gen_t *self, shard_store_t *store, size_t *checked)
{
    size_t wrong = 0;
    uint32_t last = self->first_day + self->days - 1;
    s_points_t *points = (s_points_t *) malloc (sizeof (s_points_t));
    for (size_t sample = 0; sample < SAMPLE_HOSTS; sample++) {
        if (!scale_mine (self, self->sample[sample]))
            continue;
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, self->model.addr[self->sample[sample]]);
        for (uint8_t feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
            for (uint8_t op = 0; op < PROTO_OP_COUNT; op++) {
                points->count = 0;
                shard_store_series (store, &addr, PROTO_PORT_ALL, feature, op, self->first_day,
                                    last, s_on_point, points);
                size_t expected = 0;
                for (size_t port = 0; port < PORTS; port++)
                    for (uint32_t day = 0; day < self->days; day++) {
                        const scale_expect_t *expect =
                            &self->sample_expect[(sample * PORTS + port) * self->days + day];
                        if (!expect->present)
                            continue;
                        //  Points come ascending by port then day, as ours
                        const proto_point_t *point =
                            expected < points->count ? &points->points[expected] : NULL;
                        if (!point || point->port != scale_ports[port] ||
                            point->day != self->first_day + day ||
                            point->score != expect->value[feature][op])
                            wrong++;
                        expected++;
                    }
                wrong += points->count != expected;
                (*checked)++;
            }
    }
    free (points);
    return wrong;
}

//  The encoding of the rows of the last day, from the generator's own values: mean
//  bytes a row in a chunk, by how many distinct values the row holds
static void
s_row_sizes (scale_gen_t *self)
{
    const scale_model_t *model = &self->model;
    size_t rows[3] = {0, 0, 0}, bytes[3] = {0, 0, 0};
    for (uint8_t port = 0; port < PORTS; port++) {
        proto_addr_t previous;
        bool have_previous = false;
        for (size_t host = 0; host < model->hosts; host++)
            for (size_t slot = model->first_slot[host]; slot < model->first_slot[host + 1];
                 slot++) {
                const scale_expect_t *expect = &self->day_expect[0][slot];
                if (model->slots[slot].port != port || !expect->present)
                    continue;
                shard_chunk_row_t row;
                proto_addr_from_ipv4 (&row.addr, model->addr[host]);
                memcpy (row.row.value, expect->value, sizeof row.row.value);
                row.row.flags = expect->value[PROTO_FEATURE_PEERS][PROTO_OP_MAX] >= PROTO_PEERS_CAP
                                    ? SHARD_ROW_PEERS_CAPPED
                                    : 0;
                //  0: one block (sum = max = min everywhere), 1: two (sum = max + min), 2: more
                int kind = 2;
                bool one = true, two = true;
                for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
                    const uint64_t *value = expect->value[feature];
                    one = one && value[PROTO_OP_SUM] == value[PROTO_OP_MIN] &&
                          value[PROTO_OP_MAX] == value[PROTO_OP_MIN];
                    two = two && value[PROTO_OP_SUM] == value[PROTO_OP_MAX] + value[PROTO_OP_MIN];
                }
                kind = one ? 0 : two ? 1 : 2;
                rows[kind]++;
                bytes[kind] += shard_chunk_row_size (have_previous ? &previous : NULL, &row);
                previous = row.addr;
                have_previous = true;
            }
    }
    size_t total_rows = rows[0] + rows[1] + rows[2];
    size_t total_bytes = bytes[0] + bytes[1] + bytes[2];
    const char *names[] = {"one block or equal values", "sum = max + min", "other"};
    printf ("  row encoding (day %u, from the generator's values): %.2f bytes a row on "
            "average;",
            self->check_days[0] - self->first_day + 1, (double) total_bytes / (double) total_rows);
    for (int kind = 0; kind < 3; kind++)
        printf (" %s %.0f %% at %.1f B%s", names[kind], 100.0 * rows[kind] / total_rows,
                rows[kind] ? (double) bytes[kind] / (double) rows[kind] : 0, kind < 2 ? "," : "\n");
}

//  Top lists of the check days: every port, feature and op.  Returns mismatches.
static size_t
s_check_tops (scale_gen_t *self, shard_store_t *store, size_t *checked)
{
    const scale_model_t *model = &self->model;
    size_t wrong = 0;
    s_ranked_t *ranked = (s_ranked_t *) malloc (model->hosts * sizeof (s_ranked_t));
    s_tops_t *tops = (s_tops_t *) malloc (sizeof (s_tops_t));
    for (int check = 0; check < 2; check++)
        for (uint8_t op = 0; op < PROTO_OP_COUNT; op++) {
            tops->count = 0;
            shard_store_top (store, self->check_days[check], op, PROTO_PORT_ALL, s_on_top, tops);
            size_t at = 0;
            for (uint8_t port = 0; port < PORTS; port++)
                for (uint8_t feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
                    size_t count = 0;
                    for (size_t host = 0; host < model->hosts; host++)
                        for (size_t slot = model->first_slot[host];
                             slot < model->first_slot[host + 1]; slot++) {
                            const scale_expect_t *expect = &self->day_expect[check][slot];
                            if (model->slots[slot].port == port && expect->present &&
                                scale_mine (self, host))
                                ranked[count++] =
                                    (s_ranked_t){model->addr[host], expect->value[feature][op]};
                        }
                    qsort (ranked, count, sizeof (s_ranked_t), s_compare_ranked);
                    for (size_t rank = 0; rank < count && rank < 10; rank++, at++) {
                        proto_addr_t addr;
                        proto_addr_from_ipv4 (&addr, ranked[rank].addr);
                        if (at >= tops->count || tops->entries[at].port != scale_ports[port] ||
                            tops->entries[at].feature != feature ||
                            tops->entries[at].score != ranked[rank].score ||
                            memcmp (&tops->entries[at].addr, &addr, sizeof addr) != 0)
                            wrong++;
                    }
                    (*checked)++;
                }
            wrong += at != tops->count;
        }
    free (tops);
    free (ranked);
    return wrong;
}

//  --------------------------------------------------------------------------
//  Latency percentiles

static double
s_load (void)
{
    double load[1] = {0};
    getloadavg (load, 1);
    return load[0];
}

//  CPU seconds (user + system) of this process, or of its waited-for children
static double
s_cpu_secs (int who)
{
    struct rusage usage;
    getrusage (who, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void
s_on_count (void *arg, const void *entry)
{
    (void) entry;
    (*(size_t *) arg)++;
}

static void
s_on_top_count (void *arg, const proto_top_t *entry)
{
    s_on_count (arg, entry);
}

static void
s_on_point_count (void *arg, const proto_point_t *point)
{
    s_on_count (arg, point);
}

static void
s_latencies (scale_gen_t *self, shard_store_t *store, size_t repeat)
{
    double *msecs = (double *) malloc (repeat * sizeof (double));
    double *cpu = (double *) malloc (repeat * sizeof (double));
    uint64_t state = self->seed + 99;
    size_t answers = 0;
    uint32_t last = self->first_day + self->days - 1;
    for (size_t index = 0; index < repeat; index++) {
        uint32_t day = last - (uint32_t) (scale_next (&state) % self->days);
        int64_t start = zclock_usecs ();
        double cpu_start = scale_cpu_usecs ();
        shard_store_top (store, day, PROTO_OP_SUM, PROTO_PORT_ALL, s_on_top_count, &answers);
        cpu[index] = (scale_cpu_usecs () - cpu_start) / 1000.0;
        msecs[index] = (zclock_usecs () - start) / 1000.0;
    }
    qsort (msecs, repeat, sizeof (double), s_compare_double);
    qsort (cpu, repeat, sizeof (double), s_compare_double);
    printf ("overview (top of a day, all ports, op sum): p50 %.3f ms, p99 %.3f ms, max %.3f ms "
            "(%zu entries a day); CPU time p50 %.3f ms, p99 %.3f ms\n",
            msecs[repeat / 2], msecs[repeat * 99 / 100], msecs[repeat - 1], answers / repeat,
            cpu[repeat / 2], cpu[repeat * 99 / 100]);
    answers = 0;
    for (size_t index = 0; index < repeat; index++) {
        //  Hosts with traffic on most days: a third of the sample, the rest at random
        size_t host = index % 3 ? scale_next (&state) % self->model.hosts
                                : self->sample[scale_next (&state) % SAMPLE_HOSTS];
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, self->model.addr[host]);
        int64_t start = zclock_usecs ();
        double cpu_start = scale_cpu_usecs ();
        shard_store_series (store, &addr, PROTO_PORT_ALL, PROTO_FEATURE_BYTES, PROTO_OP_SUM,
                            self->first_day, last, s_on_point_count, &answers);
        cpu[index] = (scale_cpu_usecs () - cpu_start) / 1000.0;
        msecs[index] = (zclock_usecs () - start) / 1000.0;
    }
    qsort (msecs, repeat, sizeof (double), s_compare_double);
    qsort (cpu, repeat, sizeof (double), s_compare_double);
    printf ("series, ALL*, %u days: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%.1f points a "
            "series); CPU time p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
            self->days, msecs[repeat / 2], msecs[repeat * 99 / 100], msecs[repeat - 1],
            (double) answers / (double) repeat, cpu[repeat / 2], cpu[repeat * 99 / 100],
            cpu[repeat - 1]);
    free (msecs);
    free (cpu);
}

//  --------------------------------------------------------------------------
static void
s_remove (const char *dir)
{
    const char *files[] = {"data.mdb", "lock.mdb", "shard.lock"};
    for (size_t index = 0; index < 3; index++) {
        char *file = zsys_sprintf ("%s/%s", dir, files[index]);
        unlink (file);
        zstr_free (&file);
    }
    rmdir (dir);
}

//  Fill days [first_day, first_day + days) into store; pairs applied, -1 on failure
static long
s_fill (scale_gen_t *self, shard_store_t *store, int64_t now, bool verbose, scale_txns_t *txns,
        uint64_t *bytes_after_day)
{
    long total = 0;
    for (uint32_t day = self->first_day; day < self->first_day + self->days; day++) {
        long pairs = scale_day (self, store, day, now, txns);
        if (pairs < 0)
            return -1;
        total += pairs;
        //  The shard's maintenance archives finished days (here: once the next is in)
        if (scale_archive (store, (int64_t) (day + 2) * 86400, txns))
            return -1;
        if (bytes_after_day) {
            shard_store_stats_t stats;
            shard_store_stats (store, &stats);
            bytes_after_day[day - self->first_day] = stats.lmdb_bytes;
        }
        if (verbose)
            fprintf (stderr, "day %u/%u: %ld pairs, %.1f MB\r", day - self->first_day + 1,
                     self->days, pairs,
                     bytes_after_day ? bytes_after_day[day - self->first_day] / 1e6 : 0);
    }
    return total;
}

//  Run retention to its end, each transaction counted in txns.  0 or -1.
static int
s_expire (shard_store_t *store, int64_t now, scale_txns_t *txns)
{
    bool more = true;
    while (more) {
        int64_t start = zclock_usecs ();
        double cpu_start = scale_cpu_usecs ();
        if (shard_store_expire (store, now, SHARD_EXPIRE_BATCH, &more))
            return -1;
        scale_txns_add (txns, SCALE_TXN_EXPIRE, start, cpu_start);
    }
    return 0;
}

//  Ingest throughput with shard_count stores in as many processes: pairs/s
static double
s_throughput (size_t hosts, uint32_t days, uint64_t seed, int shard_count, long *pairs_out,
              double *secs_out)
{
    int64_t now = zclock_time () / 1000;
    uint32_t today = proto_day_of (now);
    int fds[8][2];
    pid_t pids[8];
    int64_t start = zclock_usecs ();
    for (int index = 0; index < shard_count; index++) {
        if (pipe (fds[index]))
            return 0;
        pids[index] = fork ();
        if (pids[index] == 0) {
            scale_gen_t gen;
            scale_gen_init (&gen, hosts, days, today - days, seed);
            gen.shard_count = shard_count;
            gen.shard_index = index;
            char dir[] = "/tmp/scale_shard.XXXXXX";
            long pairs = -1;
            if (mkdtemp (dir)) {
                shard_store_t *store = shard_store_new (dir, 64ULL << 30);
                scale_txns_t txns;
                memset (&txns, 0, sizeof txns);
                if (store)
                    pairs = s_fill (&gen, store, now, false, &txns, NULL);
                shard_store_destroy (&store);
                s_remove (dir);
            }
            scale_gen_free (&gen);
            if (write (fds[index][1], &pairs, sizeof pairs) != sizeof pairs)
                _exit (1);
            _exit (0);
        }
        close (fds[index][1]);
    }
    long total = 0;
    for (int index = 0; index < shard_count; index++) {
        long pairs = -1;
        if (read (fds[index][0], &pairs, sizeof pairs) != sizeof pairs || pairs < 0)
            total = -1;
        else if (total >= 0)
            total += pairs;
        close (fds[index][0]);
        waitpid (pids[index], NULL, 0);
    }
    double secs = (zclock_usecs () - start) / 1e6;
    *pairs_out = total;
    *secs_out = secs;
    return total > 0 ? total / secs : 0;
}

int
main (int argc, char *argv[])
{
    size_t hosts = 100000, expire_hosts = 0, throughput_hosts = 20000;
    uint32_t days = 180, throughput_days = 3;
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    uint32_t segment_days = SHARD_SEGMENT_DAYS_DEFAULT;
    bool keep = false, throughput = true;
    int option;
    while ((option = getopt (argc, argv, "n:d:e:t:T:s:S:kqh")) != -1) {
        if (option == 'n')
            hosts = strtoul (optarg, NULL, 10);
        else if (option == 'd')
            days = (uint32_t) strtoul (optarg, NULL, 10);
        else if (option == 'e')
            expire_hosts = strtoul (optarg, NULL, 10);
        else if (option == 't')
            throughput_hosts = strtoul (optarg, NULL, 10);
        else if (option == 'T')
            throughput_days = (uint32_t) strtoul (optarg, NULL, 10);
        else if (option == 's')
            seed = strtoull (optarg, NULL, 0);
        else if (option == 'S' && strtoul (optarg, NULL, 10) <= SHARD_SERIES_DAYS_MAX)
            segment_days = (uint32_t) strtoul (optarg, NULL, 10);
        else if (option == 'k')
            keep = true;
        else if (option == 'q')
            throughput = false;
        else {
            fprintf (stderr,
                     "usage: scale [-n HOSTS] [-d DAYS] [-e EXPIRE_HOSTS] [-t THROUGHPUT_HOSTS]\n"
                     "             [-T THROUGHPUT_DAYS] [-s SEED] [-S SEGMENT_DAYS] [-k] [-q]\n"
                     "  -n hosts of the main data set (100000), -d its days (180)\n"
                     "  -e also fill EXPIRE_HOSTS hosts x a segment and a day apart (2 days with "
                     "-S 0),\n"
                     "     compact, check, and expire the segment's first day\n"
                     "  -t, -T hosts and days of the 1/2/4-store throughput runs (20000, 3)\n"
                     "  -S days a compacted segment (16; 0: no compaction, day-major chunks only)\n"
                     "  -k keep the store (path printed), -q skip the throughput runs\n");
            return option == 'h' ? 0 : 2;
        }
    }
    if (hosts < SAMPLE_HOSTS || days < 3 || days > 400)
        return 2;
    zsys_init ();
    zsys_set_logstream (NULL);
    int64_t now = zclock_time () / 1000;
    uint32_t today = proto_day_of (now);
    scale_gen_t gen;
    scale_gen_init (&gen, hosts, days, today - days, seed);
    printf ("bench/scale: %zu hosts x %u days (ending yesterday), %zu (host, port) profiles "
            "(%.2f ports a host), seed %#llx; %ld cores\n",
            hosts, days, gen.model.slot_count, (double) gen.model.slot_count / (double) hosts,
            (unsigned long long) seed, sysconf (_SC_NPROCESSORS_ONLN));
    printf ("load average at start %.1f\n", s_load ());
    printf ("path: parts applied through the shard store API (shard_store_apply_part), one "
            "part a 5-minute block, final on arrival; no ZeroMQ\n");
    char dir[] = "/tmp/scale_bench.XXXXXX";
    if (!mkdtemp (dir))
        return 1;
    shard_store_t *store = shard_store_new (dir, 256ULL << 30);
    if (!store)
        return 1;
    shard_store_set_retention_days (store, days);
    if (shard_store_set_segment_days (store, segment_days) != (int) segment_days)
        return 1;
    printf ("segments: %u days (0: none); the shard's maintenance archives finished days "
            "into chunks and compacts segments ended %d days ago into series\n",
            segment_days, SHARD_SEGMENT_LAG_DAYS);
    uint64_t *bytes_after_day = (uint64_t *) calloc (days, sizeof (uint64_t));
    scale_txns_t txns;
    memset (&txns, 0, sizeof txns);
    double cpu_start = s_cpu_secs (RUSAGE_SELF);
    int64_t start = zclock_usecs ();
    long pairs = s_fill (&gen, store, now, true, &txns, bytes_after_day);
    double fill_secs = (zclock_usecs () - start) / 1e6;
    double fill_cpu = s_cpu_secs (RUSAGE_SELF) - cpu_start;
    if (pairs < 0)
        return 1;
    shard_store_stats_t stats;
    shard_store_stats (store, &stats);
    struct stat file_stat;
    char *path = zsys_sprintf ("%s/data.mdb", dir);
    stat (path, &file_stat);
    zstr_free (&path);
    double rows_per_host_day = (double) stats.rows / (double) hosts / (double) days;
    printf ("\nfill: %ld block values (pairs) in %.1f s (%.0f pairs/s, %.0f rows/s); %.1f CPU s "
            "(%.0f pairs a CPU second, generator included); its write transactions:\n",
            pairs, fill_secs, pairs / fill_secs, stats.rows / fill_secs, fill_cpu,
            pairs / fill_cpu);
    scale_txns_print (&txns, "  ");
    printf ("  to fill 10^6 hosts x 180 days of this model: %.0f pairs, %.1f h at this rate, "
            "%.1f CPU h\n",
            pairs * (1e6 / hosts) * (180.0 / days),
            pairs * (1e6 / hosts) * (180.0 / days) / (pairs / fill_secs) / 3600,
            pairs * (1e6 / hosts) * (180.0 / days) / (pairs / fill_cpu) / 3600);
    printf ("rows: %llu daily (host, port, day) rows (%.2f ports a host a day), %llu in chunks, "
            "%llu in series; %llu hosts\n",
            (unsigned long long) stats.rows, rows_per_host_day,
            (unsigned long long) stats.archived_rows, (unsigned long long) stats.series_rows,
            (unsigned long long) stats.hosts);
    double per_row = (double) stats.lmdb_bytes / (double) stats.rows;
    printf ("bytes on disk: LMDB in use %.1f MB (file %.1f MB): %.2f bytes per row, "
            "everything included\n",
            stats.lmdb_bytes / 1e6, file_stat.st_size / 1e6, per_row);
    printf ("  daily rows alone (days + chunks + series pages): %.2f bytes per row\n",
            (double) stats.rows_bytes / (double) stats.rows);
    uint64_t recent_rows = stats.rows - stats.series_rows;
    if (stats.series_rows && recent_rows)
        printf ("  series pages: %.2f bytes per row (%llu rows); days + chunks pages: %.2f "
                "bytes per row (%llu rows)\n",
                (double) stats.series_bytes / (double) stats.series_rows,
                (unsigned long long) stats.series_rows,
                (double) (stats.rows_bytes - stats.series_bytes) / (double) recent_rows,
                (unsigned long long) recent_rows);
    if (days > 12) {
        size_t from = days / 2, to = days - 1;
        double growth =
            (double) (bytes_after_day[to] - bytes_after_day[from]) / (double) (to - from);
        double rows_a_day = (double) stats.rows / days;
        printf ("  steady state (days %zu..%zu): the file grows %.2f MB a day: %.2f bytes per "
                "row\n",
                from + 1, to + 1, growth / 1e6, growth / rows_a_day);
    }
    s_row_sizes (&gen);
    //  What scales with rows, with hosts, with days; free pages (the high-water mark of a
    //  day under way in `days`, and of one transaction's copies) with a day's rows
    double row_bytes = (double) stats.rows_bytes / (double) stats.rows;
    double host_bytes = (double) stats.hosts_bytes / (double) stats.hosts;
    double day_bytes = (double) stats.other_bytes / days;
    double used = (double) (stats.rows_bytes + stats.hosts_bytes + stats.other_bytes);
    double free_bytes = stats.lmdb_bytes > used ? stats.lmdb_bytes - used : 0;
    double free_per_day_row = free_bytes / ((double) stats.rows / days);
    printf ("  by what it scales with: %.2f bytes a row (days + chunks), %.1f bytes a host "
            "(hosts, notes), %.0f bytes a day (top lists, blocks, part ids), free pages %.1f "
            "MB (%.1f bytes per row of one day)\n",
            row_bytes, host_bytes, day_bytes, free_bytes / 1e6, free_per_day_row);
    printf ("projection, 10^6 hosts x 180 days (rows x %.2f + hosts x %.1f + days x %.0f + "
            "one day's rows x %.1f free):\n",
            row_bytes, host_bytes, day_bytes, free_per_day_row);
    double ports[] = {3, 6.35, 12, rows_per_host_day};
    for (size_t index = 0; index < 4; index++) {
        double rows = 1e6 * 180 * ports[index];
        double total =
            rows * row_bytes + 1e6 * host_bytes + 180 * day_bytes + rows / 180 * free_per_day_row;
        printf ("  %5.2f ports a host a day%s: %.2f GB, %.2f bytes per row everything "
                "included\n",
                ports[index], index == 3 ? " (this model)" : "", total / 1e9, total / rows);
    }

    s_latencies (&gen, store, 2000);
    size_t checked_series = 0, checked_tops = 0;
    size_t wrong_series = s_check_series (&gen, store, &checked_series);
    size_t wrong_tops = s_check_tops (&gen, store, &checked_tops);
    printf ("exactness: %zu series (%d sampled hosts x 12 feature x op, every port, %u days) "
            "%s; %zu top lists (days %u and %u, every port x feature x op) %s\n",
            checked_series, SAMPLE_HOSTS, days, wrong_series ? "MISMATCH" : "equal the generator's",
            checked_tops, gen.check_days[0] - gen.first_day + 1,
            gen.check_days[1] - gen.first_day + 1,
            wrong_tops ? "MISMATCH" : "equal the generator's");
    if (wrong_series || wrong_tops)
        printf ("  %zu series points and %zu top entries differ\n", wrong_series, wrong_tops);

    //  Expire the oldest day: retention of days - 1 days
    shard_store_set_retention_days (store, days - 1);
    scale_txns_t expire;
    memset (&expire, 0, sizeof expire);
    if (s_expire (store, now, &expire))
        return 1;
    shard_store_stats_t after;
    shard_store_stats (store, &after);
    printf ("expire the oldest day (%llu rows of %zu hosts):\n",
            (unsigned long long) (stats.rows - after.rows), hosts);
    scale_txns_print (&expire, "  ");
    shard_store_destroy (&store);
    if (keep)
        printf ("store kept in %s\n", dir);
    else
        s_remove (dir);
    scale_gen_free (&gen);
    free (bytes_after_day);

    if (expire_hosts) {
        //  EXPIRE_HOSTS hosts over one whole segment and the day after it (with segments;
        //  else 2 days), so that the maintenance compacts the segment into series as a
        //  shard does; then retention expires the segment's first day: every host's
        //  record of the segment is rewritten without it (the costliest day to expire)
        uint32_t big_days = segment_days ? segment_days + 1 : 2;
        uint32_t big_first = today - big_days;
        if (segment_days)
            big_first = big_first / segment_days * segment_days;
        scale_gen_t big;
        scale_gen_init (&big, expire_hosts, big_days, big_first, seed + 1);
        char big_dir[] = "/tmp/scale_expire.XXXXXX";
        if (!mkdtemp (big_dir) || !(store = shard_store_new (big_dir, 256ULL << 30)))
            return 1;
        shard_store_set_retention_days (store, today - big_first);
        if (shard_store_set_segment_days (store, segment_days) != (int) segment_days)
            return 1;
        scale_txns_t big_txns;
        memset (&big_txns, 0, sizeof big_txns);
        start = zclock_usecs ();
        long big_pairs = s_fill (&big, store, now, true, &big_txns, NULL);
        if (big_pairs < 0)
            return 1;
        shard_store_stats (store, &stats);
        printf ("\n%zu hosts x %u days (a segment of %u days and the day after): %ld pairs in "
                "%.1f s (%.0f pairs/s), %llu rows, %llu in series; %.2f bytes per row "
                "everything included; its write transactions:\n",
                expire_hosts, big_days, segment_days, big_pairs, (zclock_usecs () - start) / 1e6,
                big_pairs / ((zclock_usecs () - start) / 1e6), (unsigned long long) stats.rows,
                (unsigned long long) stats.series_rows,
                (double) stats.lmdb_bytes / (double) stats.rows);
        scale_txns_print (&big_txns, "  ");
        s_latencies (&big, store, 2000);
        checked_series = checked_tops = 0;
        wrong_series = s_check_series (&big, store, &checked_series);
        wrong_tops = s_check_tops (&big, store, &checked_tops);
        printf ("exactness: %zu series, %zu top lists %s\n", checked_series, checked_tops,
                wrong_series || wrong_tops ? "MISMATCH" : "equal the generator's");
        shard_store_set_retention_days (store, today - big_first - 1);
        memset (&expire, 0, sizeof expire);
        if (s_expire (store, now, &expire))
            return 1;
        shard_store_stats (store, &after);
        printf ("expire the first day of the segment, %zu hosts (%llu rows, %llu host records "
                "examined), transactions of <= %d deletions (a record rewritten counts %d):\n",
                expire_hosts, (unsigned long long) (stats.rows - after.rows),
                (unsigned long long) stats.hosts, SHARD_EXPIRE_BATCH, SHARD_SEGMENTS_REWRITE_COST);
        scale_txns_print (&expire, "  ");
        shard_store_destroy (&store);
        s_remove (big_dir);
        scale_gen_free (&big);
        if (wrong_series || wrong_tops)
            return 1;
    }

    if (throughput) {
        printf ("\ningest throughput, %zu hosts x %u days split over N stores in N processes "
                "(parts through the store API, archive included), %ld cores:\n",
                throughput_hosts, throughput_days, sysconf (_SC_NPROCESSORS_ONLN));
        double one = 0;
        int counts[] = {1, 2, 4};
        for (size_t index = 0; index < 3; index++) {
            long total = 0;
            double secs = 0, cpu = s_cpu_secs (RUSAGE_CHILDREN);
            double rate = s_throughput (throughput_hosts, throughput_days, seed, counts[index],
                                        &total, &secs);
            cpu = s_cpu_secs (RUSAGE_CHILDREN) - cpu;
            if (index == 0)
                one = rate;
            printf ("  %d store%s: %ld pairs in %.1f s, %.0f pairs/s, %.2fx one store (%.1f CPU "
                    "s, load average %.1f at the end)\n",
                    counts[index], counts[index] > 1 ? "s" : " ", total, secs, rate,
                    one > 0 ? rate / one : 0, cpu, s_load ());
        }
    }
    return 0;
}
