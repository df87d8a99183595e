/*  series_lab.c - what a row costs in series records (shard_series.h), against chunks.

    usage: build/bench/series_lab DIR [D ...]        (D: days a segment, 8 16 30 60)
    Reads the IPv4 chunks of a store kept by bench/scale -k (or any schema 2 store),
    groups their rows by (segment, host), segment = (day - first day of the store) / D,
    encodes each group as one series record and prints, for each D: records, rows, rows
    a record, encoded bytes a row, and the bytes a row on disk if the records were the
    values of an LMDB database of 4 KiB pages with keys of 7 bytes ([segment: 2]
    [family: 1][host: 4]) written in key order with MDB_APPEND (the page model below);
    the CPU time to decode a record (mean, p99) and a row, the wall time beside it, and
    all of a host's records (its whole series, p50 / p99); whether every decoded row
    equals the chunk row it came from (mismatches: 0); and the pages if each segment's
    records were packed into page-sized values, as schema 2 packs chunks.  The
    peer: the store's own chunks of the same rows (values and the same page model with
    their 9-byte keys), and the CPU time of a point read (shard_chunk_find), which is
    what an ALL* series pays per point in schema 2.

    Page model (LMDB 0.9, 4096-byte pages, MDB_APPEND): a leaf page holds 4080 bytes of
    nodes, each 2 bytes of index + an even-rounded node (8 bytes of header + key +
    value); a node over 2038 bytes keeps its value on ceil((16 + value) / 4096)
    overflow pages of its own and an 8-byte page number in the leaf; appending fills
    each leaf page before the next; branch pages hold 2 + even (8 + key) bytes a leaf.
*/
#include "bench/lab_chunks.h"
#include "shard/shard_series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE 4096
#define PAGE_PAYLOAD 4080  //  Less the page header
#define NODE_HEADER 8
#define NODE_MAX 2038     //  Larger nodes keep their value on overflow pages
#define SERIES_KEY 7      //  [segment: 2][family: 1][host: 4]
#define CHUNK_KEY 9       //  [day: 2][port: 2][family: 1][host: 4]
#define FIND_EVERY 25     //  Chunks between those whose rows are looked up one by one
#define DECODE_ROUNDS 20  //  Decodes of a record between two clock readings

//  A row of the store
typedef struct {
    uint32_t host;    //  IPv4
    uint16_t day;     //  Day number
    uint16_t port;    //  Port
    shard_row_t row;  //  Values
} s_row_t;

//  Pages of a database written in key order with MDB_APPEND
typedef struct {
    size_t leaves;          //  Leaf pages
    size_t used;            //  Bytes used in the last leaf
    size_t overflows;       //  Overflow pages
    size_t entries;         //  Records
    size_t leaf_bytes;      //  Bytes of the leaves' nodes and indexes
    size_t overflow_bytes;  //  Bytes of the values on overflow pages
} s_pages_t;

static void
s_pages_add (s_pages_t *self, size_t key_size, size_t value_size)
{
    size_t node = NODE_HEADER + key_size + value_size;
    if (node > NODE_MAX) {
        self->overflows += (16 + value_size + PAGE_SIZE - 1) / PAGE_SIZE;
        self->overflow_bytes += value_size;
        node = NODE_HEADER + key_size + 8;
    }
    node = (node + 1) & ~(size_t) 1;
    if (self->leaves == 0 || self->used + 2 + node > PAGE_PAYLOAD) {
        self->leaves++;
        self->used = 0;
    }
    self->used += 2 + node;
    self->leaf_bytes += 2 + node;
    self->entries++;
}

static double
s_fill_percent (size_t bytes, size_t pages)
{
    return pages ? 100.0 * (double) bytes / (double) (pages * PAGE_PAYLOAD) : 0;
}

static size_t
s_pages_total (const s_pages_t *self, size_t key_size)
{
    size_t branch = 2 + ((NODE_HEADER + key_size + 1) & ~(size_t) 1);
    return self->leaves + self->overflows +
           (self->leaves * branch + PAGE_PAYLOAD - 1) / PAGE_PAYLOAD;
}

//  --------------------------------------------------------------------------
//  Reading the store

typedef struct {
    s_row_t *rows;       //  Every row
    size_t count;        //  Used
    size_t capacity;     //  Allocated
    size_t chunks;       //  Chunks read
    size_t chunk_bytes;  //  Their values' bytes
    s_pages_t pages;     //  The chunks' pages
    double find_cpu;     //  CPU seconds of the point reads timed
    size_t finds;        //  How many
    size_t find_misses;  //  Point reads that did not give the row
} s_store_t;

static bool
s_on_chunk (void *arg, uint16_t day, uint16_t port, const shard_chunk_row_t *rows, size_t count,
            const void *value, size_t value_size)
{
    s_store_t *store = (s_store_t *) arg;
    if (store->count + count > store->capacity) {
        store->capacity = (store->capacity + count) * 2;
        store->rows = (s_row_t *) realloc (store->rows, store->capacity * sizeof (s_row_t));
        if (!store->rows)
            return false;
    }
    for (size_t index = 0; index < count; index++) {
        s_row_t *row = &store->rows[store->count++];
        row->host = proto_addr_ipv4 (&rows[index].addr);
        row->day = day;
        row->port = port;
        row->row = rows[index].row;
    }
    if (store->chunks++ % FIND_EVERY == 0) {
        //  Every row of this chunk read as a point
        double start = lab_cpu ();
        for (size_t index = 0; index < count; index++) {
            shard_row_t found;
            int rc = shard_chunk_find (&rows[0].addr, value, value_size, &rows[index].addr, &found);
            store->find_misses +=
                rc != 0 || memcmp (&found.value, &rows[index].row.value, sizeof found.value) != 0;
        }
        store->find_cpu += lab_cpu () - start;
        store->finds += count;
    }
    store->chunk_bytes += value_size;
    s_pages_add (&store->pages, CHUNK_KEY, value_size);
    return true;
}

//  Rows by host, port, day
static int
s_compare_rows (const void *one, const void *other)
{
    const s_row_t *a = (const s_row_t *) one, *b = (const s_row_t *) other;
    if (a->host != b->host)
        return a->host < b->host ? -1 : 1;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return a->day < b->day ? -1 : a->day > b->day;
}

//  --------------------------------------------------------------------------
//  One segment length

typedef struct {
    uint32_t segment;  //  Its segment
    uint32_t host;     //  Its host
    uint32_t size;     //  Encoded bytes
    float cpu;         //  Decode CPU seconds
} s_record_t;

static int
s_compare_records (const void *one, const void *other)
{
    const s_record_t *a = (const s_record_t *) one, *b = (const s_record_t *) other;
    if (a->segment != b->segment)
        return a->segment < b->segment ? -1 : 1;
    return a->host < b->host ? -1 : a->host > b->host;
}

//  The alternative of schema 2's chunks: the records of a segment, in host order,
//  packed into values of at most a page's payload, [hdr][varint count] then per record
//  [varint host - previous host][varint size] before the records (a lookup adds up the
//  sizes up to its host's); a record too large for one starts its own.  Into pages;
//  returns the values.
static size_t
s_pack (const s_record_t *records, size_t count, s_pages_t *pages)
{
    size_t values = 0;
    uint8_t scratch[SHARD_VARINT_MAX];
    for (size_t start = 0, end; start < count; start = end) {
        size_t size = 1 + 2;
        for (end = start; end < count && records[end].segment == records[start].segment; end++) {
            uint32_t delta = end > start ? records[end].host - records[end - 1].host : 0;
            size_t entry = shard_varint_put (scratch, delta) +
                           shard_varint_put (scratch, records[end].size) + records[end].size;
            if (end > start && size + entry > PAGE_PAYLOAD)
                break;
            size += entry;
        }
        s_pages_add (pages, SERIES_KEY, size);
        values++;
    }
    return values;
}

static int
s_compare_floats (const void *one, const void *other)
{
    float a = *(const float *) one, b = *(const float *) other;
    return a < b ? -1 : a > b;
}

static void
s_try (const s_store_t *store, uint32_t days, uint16_t first_day, size_t host_rows_max)
{
    s_record_t *records = (s_record_t *) malloc (store->count * sizeof *records);
    //  Each host's records' decode CPU seconds: its whole series, what an ALL* query decodes
    float *host_cpus = (float *) calloc (store->count, sizeof *host_cpus);
    size_t hosts = 0;
    shard_series_row_t *group = (shard_series_row_t *) malloc (host_rows_max * sizeof *group);
    shard_series_row_t *back = (shard_series_row_t *) malloc (host_rows_max * sizeof *back);
    size_t record_count = 0, bytes = 0, mismatches = 0, failures = 0, group_max = 0;
    shard_buffer_t buffer = {NULL, 0, 0};
    double cpu = 0, encode_cpu = 0, wall_start = lab_now (), decode_wall = 0;
    for (size_t start = 0, end; start < store->count; start = end) {
        uint32_t host = store->rows[start].host, segment_first = UINT32_MAX, segment_last = 0;
        for (end = start; end < store->count && store->rows[end].host == host; end++) {
            uint32_t segment = (uint32_t) (store->rows[end].day - first_day) / days;
            segment_first = segment < segment_first ? segment : segment_first;
            segment_last = segment > segment_last ? segment : segment_last;
        }
        for (uint32_t segment = segment_first; segment <= segment_last; segment++) {
            size_t count = 0;
            for (size_t index = start; index < end; index++) {
                uint32_t day = (uint32_t) (store->rows[index].day - first_day);
                if (day / days != segment)
                    continue;
                group[count].port = store->rows[index].port;
                group[count].day = (uint8_t) (day % days);
                group[count++].row = store->rows[index].row;
            }
            if (count == 0)
                continue;
            group_max = count > group_max ? count : group_max;
            double encode_start = lab_cpu ();
            shard_series_encode (group, count, days, &buffer);
            encode_cpu += lab_cpu () - encode_start;
            double wall = lab_now (), decode_start = lab_cpu ();
            int decoded = 0;
            for (int round = 0; round < DECODE_ROUNDS; round++)
                decoded = shard_series_decode (buffer.data, buffer.size, days, back, count);
            double spent = (lab_cpu () - decode_start) / DECODE_ROUNDS;
            decode_wall += (lab_now () - wall) / DECODE_ROUNDS;
            cpu += spent;
            if (decoded != (int) count)
                failures++;
            else
                for (size_t index = 0; index < count; index++)
                    mismatches += back[index].port != group[index].port ||
                                  back[index].day != group[index].day ||
                                  back[index].row.flags != group[index].row.flags ||
                                  memcmp (back[index].row.value, group[index].row.value,
                                          sizeof back[index].row.value) != 0;
            s_record_t *record = &records[record_count++];
            record->segment = segment;
            record->host = host;
            record->size = (uint32_t) buffer.size;
            record->cpu = (float) spent;
            host_cpus[hosts] += (float) spent;
            bytes += buffer.size;
        }
        hosts++;
    }
    qsort (records, record_count, sizeof *records, s_compare_records);
    s_pages_t pages = {0, 0, 0, 0, 0, 0};
    size_t sizes[4] = {0, 0, 0, 0};  //  Records of < 256, < 1024, <= 2023 bytes, more
    for (size_t index = 0; index < record_count; index++) {
        s_pages_add (&pages, SERIES_KEY, records[index].size);
        size_t size = records[index].size;
        sizes[size < 256                                    ? 0
              : size < 1024                                 ? 1
              : size + NODE_HEADER + SERIES_KEY <= NODE_MAX ? 2
                                                            : 3]++;
    }
    s_pages_t packed = {0, 0, 0, 0, 0, 0};
    size_t packed_values = s_pack (records, record_count, &packed);
    float *cpus = (float *) malloc (record_count * sizeof *cpus);
    for (size_t index = 0; index < record_count; index++)
        cpus[index] = records[index].cpu;
    qsort (cpus, record_count, sizeof *cpus, s_compare_floats);
    qsort (host_cpus, hosts, sizeof *host_cpus, s_compare_floats);
    double rows = (double) store->count;
    printf ("D %2u: %zu records, %zu rows, %.1f rows a record (most %zu), %.2f B a row encoded, "
            "%.2f on pages (%zu leaf pages %.0f %% full + %zu overflow pages %.0f %% full; "
            "records < 256 B %zu, < 1 KB %zu, inline %zu, overflow %zu)\n"
            "      decode CPU a record mean %.2f us, p99 %.2f us, max %.1f us; %.1f ns a row "
            "(wall %.1f ns a row); encode %.1f ns a row; %zu failed, %zu rows differ (%.1f s)\n"
            "      packed as chunks are (records of a segment in page-sized values): %zu values, "
            "%.2f B a row on pages (%zu leaf + %zu overflow pages %.0f %% full)\n"
            "      a host's whole series (its %.1f records on average): decode CPU p50 %.2f us, "
            "p99 %.2f us, max %.1f us\n",
            days, record_count, store->count, rows / (double) record_count, group_max,
            (double) bytes / rows, (double) s_pages_total (&pages, SERIES_KEY) * PAGE_SIZE / rows,
            pages.leaves, s_fill_percent (pages.leaf_bytes, pages.leaves), pages.overflows,
            s_fill_percent (pages.overflow_bytes, pages.overflows), sizes[0], sizes[1], sizes[2],
            sizes[3], cpu / (double) record_count * 1e6, cpus[record_count * 99 / 100] * 1e6,
            cpus[record_count - 1] * 1e6, cpu / rows * 1e9, decode_wall / rows * 1e9,
            encode_cpu / rows * 1e9, failures, mismatches, lab_now () - wall_start, packed_values,
            (double) s_pages_total (&packed, SERIES_KEY) * PAGE_SIZE / rows, packed.leaves,
            packed.overflows, s_fill_percent (packed.overflow_bytes, packed.overflows),
            (double) record_count / (double) hosts, host_cpus[hosts / 2] * 1e6,
            host_cpus[hosts * 99 / 100] * 1e6, host_cpus[hosts - 1] * 1e6);
    fflush (stdout);
    free (host_cpus);
    free (cpus);
    shard_buffer_free (&buffer);
    free (back);
    free (group);
    free (records);
}

int
main (int argc, char *argv[])
{
    if (argc < 2) {
        fprintf (stderr, "usage: series_lab DIR [D ...]\n");
        return 2;
    }
    s_store_t store;
    memset (&store, 0, sizeof store);
    double read_start = lab_now ();
    if (lab_chunks_read (argv[1], 100000, s_on_chunk, &store) < 0 || store.count == 0)
        return 1;
    uint16_t first_day = UINT16_MAX, last_day = 0;
    for (size_t index = 0; index < store.count; index++) {
        first_day = store.rows[index].day < first_day ? store.rows[index].day : first_day;
        last_day = store.rows[index].day > last_day ? store.rows[index].day : last_day;
    }
    double rows = (double) store.count;
    printf ("series_lab: %zu IPv4 rows of days %u..%u (%u days) in %zu chunks (read in %.1f s)\n"
            "chunks (schema 2, the peer): %.2f B a row encoded, %.2f on pages (%zu leaf + %zu "
            "overflow pages); a point read (shard_chunk_find) %.2f us CPU (%zu timed, %zu "
            "missed)\n",
            store.count, first_day, last_day, last_day - first_day + 1, store.chunks,
            lab_now () - read_start, (double) store.chunk_bytes / rows,
            (double) s_pages_total (&store.pages, CHUNK_KEY) * PAGE_SIZE / rows, store.pages.leaves,
            store.pages.overflows, store.find_cpu / (double) store.finds * 1e6, store.finds,
            store.find_misses);
    fflush (stdout);
    double clock_start = lab_cpu ();
    for (int round = 0; round < 1000; round++)
        lab_cpu ();
    printf ("a reading of the CPU clock: %.0f ns (decodes are timed %d at a time)\n",
            (lab_cpu () - clock_start) / 1000 * 1e9, DECODE_ROUNDS);
    qsort (store.rows, store.count, sizeof (s_row_t), s_compare_rows);
    size_t host_rows_max = 0;
    for (size_t start = 0, end; start < store.count; start = end) {
        for (end = start; end < store.count && store.rows[end].host == store.rows[start].host;
             end++)
            ;
        host_rows_max = end - start > host_rows_max ? end - start : host_rows_max;
    }
    const uint32_t defaults[] = {8, 16, 30, 60};
    int tries = argc > 2 ? argc - 2 : 4;
    for (int index = 0; index < tries; index++) {
        uint32_t days = argc > 2 ? (uint32_t) atoi (argv[2 + index]) : defaults[index];
        if (days < 1 || days > SHARD_SERIES_DAYS_MAX) {
            fprintf (stderr, "series_lab: D must be 1 .. %d\n", SHARD_SERIES_DAYS_MAX);
            return 2;
        }
        s_try (&store, days, first_day, host_rows_max);
    }
    free (store.rows);
    return 0;
}
