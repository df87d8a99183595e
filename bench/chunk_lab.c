/*  chunk_lab.c - how small could a chunk's rows get?  Codec experiments on a real store.

    usage: build/bench/chunk_lab DIR [DAYS [frames]]
    Reads the IPv4 chunks of the first DAYS days (all by default) of a store kept by
    bench/scale -k (or any schema 2 store), and repacks their rows, one (day, port) at
    a time, into chunks filled by trial compression up to a page payload, with:
      rows   the schema 2 rows (shard_chunk.h) one after the other
      cols   the same fields in 14 columns: host deltas, forms bytes, then per feature
             its mins, its max - min and its sum - max (each a varint column)
    each raw or zstd-compressed (levels 1, 3, 9, 19), in chunks of 1, 2 or 4 pages, and
    with a zstd dictionary trained on 300-row samples (16 or 64 KB), and cut into frames of
    64 or 128 rows compressed one by one (3 bytes of directory each: a lookup would
    decompress one frame; "frames": only those, beside columns with zstd 3).  It prints the bytes
    a row takes on pages (whole pages: what LMDB spends), compressed, raw, and the time
    to decompress one chunk.  Then a floor for any codec of one day's rows that stores
    each value exactly: per column, the entropy of the values' bit lengths plus their
    bits below the leading one (taken as random), in bytes a row.
    STORAGE.md "Compression" has the figures and the decision they led to.
*/
#include "bench/lab_chunks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>

#define COLUMNS 14
#define GROUP_ROWS_MAX 400000  //  Rows of one (day, port) kept

typedef struct {
    shard_chunk_row_t *rows;
    size_t count;
} s_group_t;

typedef struct {
    bool columns;  //  cols, else rows
    int level;     //  zstd level, 0: raw
    int pages;     //  Pages a chunk may take
    size_t dict;   //  Dictionary bytes, 0: none
    size_t frame;  //  Rows a zstd frame (each with 3 bytes of directory), 0: one a chunk
} s_config_t;

static ZSTD_CCtx *s_cctx;
static ZSTD_DCtx *s_dctx;
static ZSTD_CDict *s_cdict;
static ZSTD_DDict *s_ddict;

//  Column of each value of a row: calls value_fn (arg, column, value) in row order
typedef void (s_value_fn) (void *arg, int column, uint64_t value);

static uint8_t
s_row_values (const shard_chunk_row_t *row, const shard_chunk_row_t *previous, s_value_fn *value_fn,
              void *arg)
{
    uint64_t delta =
        previous ? proto_addr_ipv4 (&row->addr) - proto_addr_ipv4 (&previous->addr) : 0;
    value_fn (arg, 0, delta << 1 | (row->row.flags & SHARD_ROW_PEERS_CAPPED));
    uint8_t forms = 0;
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        const uint64_t *value = row->row.value[feature];
        uint64_t min = value[PROTO_OP_MIN], max = value[PROTO_OP_MAX];
        //  ONE 0 (sum = max = min), FLAT 1 (max = min < sum), PAIR 2 (sum = max + min), FULL 3
        int form = min == max ? (value[PROTO_OP_SUM] == max ? 0 : 1)
                              : (value[PROTO_OP_SUM] == max + min ? 2 : 3);
        forms |= (uint8_t) (form << (2 * feature));
        value_fn (arg, 2 + 3 * feature, value[PROTO_OP_MIN]);
        if (form >= 2)
            value_fn (arg, 3 + 3 * feature, value[PROTO_OP_MAX] - value[PROTO_OP_MIN]);
        if (form == 1 || form == 3)
            value_fn (arg, 4 + 3 * feature, value[PROTO_OP_SUM] - value[PROTO_OP_MAX]);
    }
    return forms;
}

static void
s_on_column_value (void *arg, int column, uint64_t value)
{
    shard_buffer_varint (&((shard_buffer_t *) arg)[column], value);
}

//  The uncompressed body of rows in config's layout, into out
static void
s_body (const s_config_t *config, const shard_chunk_row_t *rows, size_t count, shard_buffer_t *out)
{
    shard_buffer_reset (out);
    if (!config->columns) {
        //  Schema 2 chunks of at most SHARD_CHUNK_ROWS_MAX rows, one after the other
        shard_buffer_t piece = {NULL, 0, 0};
        for (size_t start = 0; start < count; start += SHARD_CHUNK_ROWS_MAX) {
            size_t size =
                count - start < SHARD_CHUNK_ROWS_MAX ? count - start : SHARD_CHUNK_ROWS_MAX;
            shard_chunk_encode (rows + start, size, &piece);
            shard_buffer_append (out, piece.data, piece.size);
        }
        shard_buffer_free (&piece);
        return;
    }
    shard_buffer_t columns[COLUMNS];
    memset (columns, 0, sizeof columns);
    for (size_t index = 0; index < count; index++)
        shard_buffer_byte (&columns[1], s_row_values (&rows[index], index ? &rows[index - 1] : NULL,
                                                      s_on_column_value, columns));
    shard_buffer_byte (out, 0x11);
    shard_buffer_varint (out, count);
    for (int column = 0; column < COLUMNS; column++)
        shard_buffer_varint (out, columns[column].size);
    for (int column = 0; column < COLUMNS; column++) {
        shard_buffer_append (out, columns[column].data, columns[column].size);
        shard_buffer_free (&columns[column]);
    }
}

//  Bytes rows take in config's encoding (body in raw, compressed into packed)
static size_t
s_size (const s_config_t *config, const shard_chunk_row_t *rows, size_t count, shard_buffer_t *raw,
        uint8_t *packed, size_t packed_max)
{
    if (config->frame) {
        //  Frames of config->frame rows, compressed one by one, a directory entry each
        s_config_t single = *config;
        single.frame = 0;
        size_t size = 0, raw_size = 0;
        for (size_t start = 0; start < count && size != SIZE_MAX; start += config->frame) {
            size_t frame = s_size (&single, rows + start,
                                   count - start < config->frame ? count - start : config->frame,
                                   raw, packed, packed_max);
            size = frame == SIZE_MAX ? SIZE_MAX : size + frame + 3;
            raw_size += raw->size;
        }
        raw->size = raw_size;  //  The total, for the figures (the bytes are the last frame's)
        return size;
    }
    s_body (config, rows, count, raw);
    if (config->level == 0)
        return raw->size;
    size_t size =
        s_cdict
            ? ZSTD_compress_usingCDict (s_cctx, packed, packed_max, raw->data, raw->size, s_cdict)
            : ZSTD_compressCCtx (s_cctx, packed, packed_max, raw->data, raw->size, config->level);
    return ZSTD_isError (size) ? SIZE_MAX : size;
}

static void
s_dictionary (const s_config_t *config, const s_group_t *groups, size_t group_count)
{
    ZSTD_freeCDict (s_cdict);
    ZSTD_freeDDict (s_ddict);
    s_cdict = NULL;
    s_ddict = NULL;
    if (!config->dict)
        return;
    shard_buffer_t samples = {NULL, 0, 0}, raw = {NULL, 0, 0};
    size_t sizes[4000], count = 0;
    for (size_t group = 0; group < group_count && count < 4000; group += 3)
        for (size_t start = 0; start + 300 <= groups[group].count && count < 4000; start += 300) {
            s_body (config, groups[group].rows + start, 300, &raw);
            shard_buffer_append (&samples, raw.data, raw.size);
            sizes[count++] = raw.size;
        }
    uint8_t *dict = (uint8_t *) malloc (config->dict);
    size_t size = ZDICT_trainFromBuffer (dict, config->dict, samples.data, sizes, (unsigned) count);
    if (!ZDICT_isError (size)) {
        s_cdict = ZSTD_createCDict (dict, size, config->level);
        s_ddict = ZSTD_createDDict (dict, size);
    }
    free (dict);
    shard_buffer_free (&samples);
    shard_buffer_free (&raw);
}

static void
s_try (const s_config_t *config, const s_group_t *groups, size_t group_count, size_t rows)
{
    s_dictionary (config, groups, group_count);
    size_t capacity = (size_t) config->pages * 4096 - 16, chunks = 0, packed_bytes = 0,
           raw_bytes = 0, timed = 0;
    static uint8_t packed[1 << 20], back[1 << 20];
    shard_buffer_t raw = {NULL, 0, 0};
    double decode_secs = 0, start_secs = lab_now ();
    for (size_t group = 0; group < group_count; group++)
        for (size_t at = 0; at < groups[group].count;) {
            //  The most rows that fit (binary search)
            size_t low = 1, high = groups[group].count - at;
            if (high > (size_t) config->pages * SHARD_CHUNK_ROWS_MAX * 3)
                high = (size_t) config->pages * SHARD_CHUNK_ROWS_MAX * 3;
            while (low < high) {
                size_t middle = (low + high + 1) / 2;
                if (s_size (config, groups[group].rows + at, middle, &raw, packed, sizeof packed) <=
                    capacity)
                    low = middle;
                else
                    high = middle - 1;
            }
            size_t size =
                s_size (config, groups[group].rows + at, low, &raw, packed, sizeof packed);
            chunks++;
            packed_bytes += size;
            raw_bytes += raw.size;
            if (config->level && chunks % 20 == 0) {
                if (config->frame) {
                    //  Time one frame: the first of the chunk
                    s_config_t single = *config;
                    single.frame = 0;
                    size = s_size (&single, groups[group].rows + at,
                                   low < config->frame ? low : config->frame, &raw, packed,
                                   sizeof packed);
                }
                double decode_start = lab_cpu ();
                for (int round = 0; round < 10; round++) {
                    size_t got =
                        s_ddict ? ZSTD_decompress_usingDDict (s_dctx, back, sizeof back, packed,
                                                              size, s_ddict)
                                : ZSTD_decompressDCtx (s_dctx, back, sizeof back, packed, size);
                    if (got != raw.size || memcmp (back, raw.data, got) != 0) {
                        fprintf (stderr, "chunk_lab: a chunk does not decompress to its rows\n");
                        exit (1);
                    }
                }
                decode_secs += (lab_cpu () - decode_start) / 10;
                timed++;
            }
            at += low;
        }
    shard_buffer_free (&raw);
    char frames[64] = "";
    if (config->frame)
        snprintf (frames, sizeof frames, ", frames of %zu rows", config->frame);
    printf ("%s zstd %2d%s%s, %d page%s: %.2f B a row on pages, %.2f compressed (raw %.2f), "
            "%.0f rows a chunk, decompress %.1f us CPU a %s (packing %.1f s)\n",
            config->columns ? "cols" : "rows", config->level,
            config->dict ? (config->dict > 20000 ? " + 64 KB dict" : " + 16 KB dict") : "", frames,
            config->pages, config->pages > 1 ? "s" : " ",
            (double) chunks * config->pages * 4096 / (double) rows,
            (double) packed_bytes / (double) rows, (double) raw_bytes / (double) rows,
            (double) rows / (double) chunks, timed ? decode_secs / (double) timed * 1e6 : 0,
            config->frame ? "frame" : "chunk", lab_now () - start_secs);
    fflush (stdout);
}

//  The entropy floor

typedef struct {
    double lengths[COLUMNS][65];  //  Values by bit length
    double low_bits[COLUMNS];     //  Bits below the leading one
    double values[COLUMNS];       //  Values
    double forms[256];            //  Rows by forms byte
} s_floor_t;

static void
s_on_floor_value (void *arg, int column, uint64_t value)
{
    s_floor_t *floor = (s_floor_t *) arg;
    int length = value ? 64 - __builtin_clzll (value) : 0;
    floor->lengths[column][length]++;
    floor->low_bits[column] += length > 1 ? length - 1 : 0;
    floor->values[column]++;
}

static double
s_entropy (const double *counts, size_t size, double total)
{
    double bits = 0;
    for (size_t index = 0; index < size; index++)
        if (counts[index] > 0)
            bits -= counts[index] / total * log2 (counts[index] / total);
    return bits;
}

static void
s_floor (const s_group_t *groups, size_t group_count, size_t rows)
{
    s_floor_t *floor = (s_floor_t *) calloc (1, sizeof (s_floor_t));
    for (size_t group = 0; group < group_count; group++)
        for (size_t index = 0; index < groups[group].count; index++)
            floor->forms[s_row_values (&groups[group].rows[index],
                                       index ? &groups[group].rows[index - 1] : NULL,
                                       s_on_floor_value, floor)]++;
    const char *names[COLUMNS] = {"hosts",
                                  "forms",
                                  "bytes min",
                                  "bytes max-min",
                                  "bytes sum-max",
                                  "packets min",
                                  "packets max-min",
                                  "packets sum-max",
                                  "durations min",
                                  "durations max-min",
                                  "durations sum-max",
                                  "peers min",
                                  "peers max-min",
                                  "peers sum-max"};
    double total = s_entropy (floor->forms, 256, (double) rows) / 8;
    printf ("floor (entropy of bit lengths + bits below the leading one), bytes a row:\n"
            "  forms %.2f;",
            total);
    for (int column = 0; column < COLUMNS; column++) {
        if (column == 1 || floor->values[column] == 0)
            continue;
        double bits =
            s_entropy (floor->lengths[column], 65, floor->values[column]) * floor->values[column] +
            floor->low_bits[column];
        total += bits / 8 / (double) rows;
        printf (" %s %.2f;", names[column], bits / 8 / (double) rows);
    }
    printf ("\n  total %.2f bytes a row\n", total);
    free (floor);
}

//  The chunks read, by (day, port)
typedef struct {
    s_group_t *groups;   //  One a (day, port)
    size_t group_count;  //  Entries used
    size_t rows;         //  Rows kept
    size_t chunks;       //  Chunks read
    size_t chunk_bytes;  //  Their values' bytes
    uint16_t day;        //  The last group's
    uint16_t port;
} s_read_t;

static bool
s_on_chunk (void *arg, uint16_t day, uint16_t port, const shard_chunk_row_t *rows, size_t count,
            const void *value, size_t value_size)
{
    (void) value;
    s_read_t *read = (s_read_t *) arg;
    if (read->group_count == 0 || day != read->day || port != read->port) {
        if (read->group_count == 100000)
            return false;
        read->day = day;
        read->port = port;
        read->groups[read->group_count++].rows =
            (shard_chunk_row_t *) malloc (GROUP_ROWS_MAX * sizeof (shard_chunk_row_t));
    }
    s_group_t *group = &read->groups[read->group_count - 1];
    if (group->count + count > GROUP_ROWS_MAX)
        return true;
    memcpy (group->rows + group->count, rows, count * sizeof *rows);
    group->count += count;
    read->rows += count;
    read->chunks++;
    read->chunk_bytes += value_size;
    return true;
}

int
main (int argc, char *argv[])
{
    if (argc < 2) {
        fprintf (stderr, "usage: chunk_lab DIR [DAYS [frames]]\n");
        return 2;
    }
    long days_max = argc > 2 ? atol (argv[2]) : 100000;
    bool frames_only = argc > 3 && strcmp (argv[3], "frames") == 0;
    s_read_t read = {(s_group_t *) calloc (100000, sizeof (s_group_t)), 0, 0, 0, 0, 0, 0};
    if (lab_chunks_read (argv[1], days_max, s_on_chunk, &read) < 0)
        return 1;
    s_group_t *groups = read.groups;
    size_t group_count = read.group_count, rows = read.rows, chunks = read.chunks,
           chunk_bytes = read.chunk_bytes;
    if (rows == 0)
        return 1;
    printf ("chunk_lab: %zu rows of %zu (day, port) in %zu chunks: %.2f bytes a row (values), "
            "%.0f rows a chunk\n",
            rows, group_count, chunks, (double) chunk_bytes / (double) rows,
            (double) rows / (double) chunks);
    s_cctx = ZSTD_createCCtx ();
    s_dctx = ZSTD_createDCtx ();
    const s_config_t configs[] = {
        {false, 0, 1, 0, 0},     {false, 1, 1, 0, 0},      {false, 3, 1, 0, 0},
        {false, 9, 1, 0, 0},     {false, 19, 1, 0, 0},     {true, 0, 1, 0, 0},
        {true, 1, 1, 0, 0},      {true, 3, 1, 0, 0},       {true, 9, 1, 0, 0},
        {true, 19, 1, 0, 0},     {false, 3, 2, 0, 0},      {true, 3, 2, 0, 0},
        {true, 3, 4, 0, 0},      {false, 3, 1, 16384, 0},  {true, 3, 1, 16384, 0},
        {true, 3, 1, 65536, 0},  {true, 3, 1, 0, 64},      {true, 3, 1, 0, 128},
        {true, 3, 1, 16384, 64}, {true, 3, 1, 16384, 128}, {true, 3, 1, 65536, 64},
        {true, 3, 1, 65536, 128}};
    for (size_t index = 0; index < sizeof configs / sizeof configs[0]; index++)
        if (!frames_only || configs[index].frame || index == 7)
            s_try (&configs[index], groups, group_count, rows);
    s_floor (groups, group_count, rows);
    ZSTD_freeCDict (s_cdict);
    ZSTD_freeDDict (s_ddict);
    ZSTD_freeCCtx (s_cctx);
    ZSTD_freeDCtx (s_dctx);
    for (size_t group = 0; group < group_count; group++)
        free (groups[group].rows);
    free (groups);
    return 0;
}
