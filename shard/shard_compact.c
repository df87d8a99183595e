/*  shard_compact.c - compaction: a finished segment's chunks into series records (see
    shard_compact.h).

    The chunks of a segment's days are merged host by host: one stream per
    (day, port, family) prefix of `chunks`, each a cursor and a reader on the chunk it
    is on; the smallest host among the streams is the next record.  A batch positions
    every stream after the marker (the reader jumps to the chunk's skip entry before it
    and decodes only the rows the batch takes, from a copy of the chunk's 4 KB: opening
    the 16 days x ports x families streams costs a seek and a few rows each, not a
    whole chunk decoded into a 120 KB buffer each, 30 ms of CPU a batch at 12 ports
    before), writes records up to its budget in key order into packs
    (shard_segments_writer_t: page-sized values appended with MDB_APPEND, the last pack
    of the batch before filled on), deletes each chunk its stream has used up (its rows
    are all in records written: the pages freed are reused by the next batches, so the
    file does not grow by the segment's chunks) and moves the marker, all in its
    transaction.
*/
#include "shard/shard_compact.h"
#include "shard/shard_chunk.h"
#include "shard/shard_days.h"
#include "shard/shard_fold.h"
#include "shard/shard_keys.h"
#include "shard/shard_segments.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define SERIES_ROWS "series_rows"  //  meta: rows in series (shard_segments.c)

typedef struct {
    shard_cursor_t *cursor;                  //  On the chunk read
    uint8_t prefix[SHARD_KEY_CHUNK_PREFIX];  //  [day][port][family]
    uint16_t day, port;
    uint8_t *chunk;  //  A copy of its bytes (read after other writes of the batch)
    size_t capacity;
    shard_chunk_reader_t reader;  //  Decodes only the rows the batch takes
    shard_chunk_row_t row;        //  The row to give
    bool done;                    //  No row left
} s_stream_t;

typedef struct {
    shard_txn_t *txn;
    s_stream_t *streams;
    size_t count, capacity;
    uint64_t deleted;  //  Rows of the chunks deleted (used up)
} s_merge_t;

//  Open the stream's reader on the chunk its cursor is on (key, value), if in its
//  prefix.  0 or -1.
static int
s_stream_load (s_merge_t *merge, s_stream_t *stream, int rc, const shard_bytes_t *key,
               const shard_bytes_t *value)
{
    if (rc == 1 || (rc == 0 && (key->size <= SHARD_KEY_CHUNK_PREFIX ||
                                memcmp (key->data, stream->prefix, SHARD_KEY_CHUNK_PREFIX)))) {
        stream->done = true;
        return 0;
    }
    uint16_t day, port;
    proto_addr_t first;
    int count = -1;
    if (rc == 0 && shard_key_chunk_parse (key->data, key->size, &day, &port, &first) == 0) {
        if (value->size > stream->capacity) {
            stream->capacity = value->size;
            stream->chunk = (uint8_t *) realloc (stream->chunk, stream->capacity);
            assert (stream->chunk);
        }
        memcpy (stream->chunk, value->data, value->size);
        count = shard_chunk_reader_open (&stream->reader, &first, stream->chunk, value->size);
    }
    if (count < 0) {
        shard_txn_fail (merge->txn, SHARD_DB_CHUNKS, "chunk does not decode");
        return -1;
    }
    return 0;
}

//  Step a stream to its next row, passing those up to after (NULL: none); a chunk used
//  up is deleted, and the stream goes on to the next one.  0 or -1.
static int
s_stream_step (s_merge_t *merge, s_stream_t *stream, const proto_addr_t *after)
{
    while (!stream->done) {
        int rc = after ? shard_chunk_reader_pass (&stream->reader, after) : 0;
        if (rc == 0)
            rc = shard_chunk_reader_next (&stream->reader, &stream->row);
        if (rc == 0)
            return 0;
        if (rc == -1) {
            shard_txn_fail (merge->txn, SHARD_DB_CHUNKS, "chunk does not decode");
            return -1;
        }
        if (shard_cursor_del (stream->cursor) == -1)
            return -1;
        merge->deleted += (uint64_t) stream->reader.count;
        shard_bytes_t key, value;
        rc = shard_cursor_next (stream->cursor, &key, &value);
        if (rc == -1 || s_stream_load (merge, stream, rc, &key, &value))
            return -1;
    }
    return 0;
}

//  Open a stream on prefix, positioned at its first row after marker (NULL: at its
//  first row).  0 or -1.
static int
s_stream_open (s_merge_t *merge, const uint8_t *prefix, const uint8_t *marker, size_t marker_size)
{
    if (merge->count == merge->capacity) {
        merge->capacity = merge->capacity ? merge->capacity * 2 : 64;
        merge->streams =
            (s_stream_t *) realloc (merge->streams, merge->capacity * sizeof (s_stream_t));
        assert (merge->streams);
    }
    s_stream_t *stream = &merge->streams[merge->count++];
    memset (stream, 0, sizeof *stream);
    memcpy (stream->prefix, prefix, SHARD_KEY_CHUNK_PREFIX);
    stream->day = shard_get16 (prefix);
    stream->port = shard_get16 (prefix + 2);
    stream->cursor = shard_cursor_new (merge->txn, SHARD_DB_CHUNKS);
    if (!stream->cursor)
        return -1;
    shard_bytes_t key, value;
    int rc;
    bool after = marker && marker[0] == prefix[4];
    if (marker && marker[0] > prefix[4]) {
        stream->done = true;  //  Every host of this family is written
        return 0;
    }
    proto_addr_t marker_addr;
    if (after && shard_key_host_parse (marker + 1, marker_size - 1, &marker_addr)) {
        shard_txn_fail (merge->txn, SHARD_DB_META, "compaction marker does not parse");
        return -1;
    }
    if (after) {
        //  The chunk that covers the marker: the greatest key <= [prefix][host]
        uint8_t seek[SHARD_KEY_CHUNK_MAX];
        memcpy (seek, prefix, SHARD_KEY_CHUNK_PREFIX);
        memcpy (seek + SHARD_KEY_CHUNK_PREFIX, marker + 1, marker_size - 1);
        size_t seek_size = SHARD_KEY_CHUNK_PREFIX + marker_size - 1;
        rc = shard_cursor_floor (stream->cursor, seek, seek_size, SHARD_KEY_CHUNK_PREFIX, &key,
                                 &value);
        if (rc == 1)  //  Nothing before: the first chunk after
            rc = shard_cursor_seek (stream->cursor, seek, seek_size, &key, &value);
    }
    else
        rc = shard_cursor_seek (stream->cursor, prefix, SHARD_KEY_CHUNK_PREFIX, &key, &value);
    if (rc == -1 || s_stream_load (merge, stream, rc, &key, &value))
        return -1;
    return s_stream_step (merge, stream, after ? &marker_addr : NULL);
}

static void
s_merge_free (s_merge_t *merge)
{
    for (size_t index = 0; index < merge->count; index++) {
        shard_cursor_destroy (&merge->streams[index].cursor);
        free (merge->streams[index].chunk);
    }
    free (merge->streams);
}

//  Open a stream on every (day, port, family) of the segment's days.  0 or -1.
static int
s_merge_open (s_merge_t *merge, uint32_t first_day, uint32_t days, const uint8_t *marker,
              size_t marker_size)
{
    shard_cursor_t *cursor = shard_cursor_new (merge->txn, SHARD_DB_CHUNKS);
    if (!cursor)
        return -1;
    int rc = 0;
    for (uint32_t day = first_day; day < first_day + days && rc == 0; day++) {
        uint8_t seek[SHARD_KEY_CHUNK_PREFIX] = {0};
        shard_put16 (seek, (uint16_t) day);
        shard_bytes_t key, value;
        rc = shard_cursor_seek (cursor, seek, 2, &key, &value);
        while (rc == 0 && key.size > SHARD_KEY_CHUNK_PREFIX && shard_get16 (key.data) == day) {
            uint8_t prefix[SHARD_KEY_CHUNK_PREFIX];
            memcpy (prefix, key.data, SHARD_KEY_CHUNK_PREFIX);
            if (s_stream_open (merge, prefix, marker, marker_size)) {
                rc = -1;
                break;
            }
            //  The next prefix: [day][port][family + 1]
            if (prefix[4] == 0xff) {
                shard_txn_fail (merge->txn, SHARD_DB_CHUNKS, "chunk key does not parse");
                rc = -1;
                break;
            }
            prefix[4]++;
            rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
        }
        rc = rc == 1 ? 0 : rc;
    }
    shard_cursor_destroy (&cursor);
    return rc;
}

//  The stream with the smallest host (NULL if all are done)
static s_stream_t *
s_merge_least (s_merge_t *merge, uint8_t *host, size_t *host_size)
{
    s_stream_t *least = NULL;
    for (size_t index = 0; index < merge->count; index++) {
        s_stream_t *stream = &merge->streams[index];
        if (stream->done)
            continue;
        uint8_t candidate[1 + 16];
        size_t size = shard_segments_host_key (candidate, &stream->row.addr);
        if (!least || shard_segments_host_compare (candidate, size, host, *host_size) < 0) {
            least = stream;
            memcpy (host, candidate, size);
            *host_size = size;
        }
    }
    return least;
}

static int
s_compare_rows (const void *a, const void *b)
{
    const shard_series_row_t *x = (const shard_series_row_t *) a;
    const shard_series_row_t *y = (const shard_series_row_t *) b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return (x->day > y->day) - (x->day < y->day);
}

static int
s_marker_put (shard_txn_t *txn, uint8_t phase, const uint8_t *host, size_t host_size)
{
    uint8_t value[1 + 1 + 16];
    value[0] = phase;
    if (host_size)
        memcpy (value + 1, host, host_size);
    const char *name = shard_segments_meta_name (txn, true);
    return shard_kv_put (txn, SHARD_DB_META, name, strlen (name), value, 1 + host_size);
}

//  Phase 1: write up to budget rows of records after the marker.  0 or -1.
static int
s_write (shard_txn_t *txn, shard_segments_t *self, size_t budget, size_t *done)
{
    uint32_t first_day = self->compacted * self->days;
    s_merge_t merge = {txn, NULL, 0, 0, 0};
    int rc = s_merge_open (&merge, first_day, self->days, self->phase == 1 ? self->marker : NULL,
                           self->marker_size);
    shard_series_row_t *rows = NULL;
    size_t capacity = 0;
    shard_segments_writer_t writer;
    shard_segments_writer_open (&writer, txn, (uint16_t) self->compacted, true);
    uint8_t host[1 + 16];
    size_t host_size = 0, written = 0;
    bool exhausted = false;
    while (rc == 0 && written < budget) {
        s_stream_t *least = s_merge_least (&merge, host, &host_size);
        if (!least) {
            exhausted = true;
            break;
        }
        proto_addr_t addr = least->row.addr;
        size_t count = 0;
        for (size_t index = 0; index < merge.count && rc == 0; index++) {
            s_stream_t *stream = &merge.streams[index];
            if (stream->done || memcmp (stream->row.addr.bytes, addr.bytes, PROTO_ADDR_SIZE))
                continue;
            if (stream->day >= self->cutoff) {
                if (count == capacity) {
                    capacity = capacity ? capacity * 2 : 256;
                    rows = (shard_series_row_t *) realloc (rows, capacity * sizeof *rows);
                    assert (rows);
                }
                rows[count].port = stream->port;
                rows[count].day = (uint8_t) (stream->day - first_day);
                rows[count].row = stream->row.row;
                count++;
            }
            rc = s_stream_step (&merge, stream, NULL);
        }
        if (rc == 0 && count > 0) {
            qsort (rows, count, sizeof *rows, s_compare_rows);
            rc = shard_segments_writer_add (&writer, &addr, rows, count, self->days);
            if (rc == 0)
                rc = shard_meta_add (txn, SERIES_ROWS, count);
            written += count;
        }
    }
    if (shard_segments_writer_close (&writer) == -1)
        rc = -1;
    if (rc == 0) {
        //  The marker: the last host written (phase 1), or every host written (phase 2).
        //  A batch that stops on its budget with nothing left finds that out next time.
        rc = exhausted ? s_marker_put (txn, 2, NULL, 0) : s_marker_put (txn, 1, host, host_size);
    }
    if (rc == 0 && merge.deleted)
        rc = shard_meta_sub (txn, "archived_rows", merge.deleted);
    *done += written;
    free (rows);
    s_merge_free (&merge);
    return rc == -1 ? -1 : 0;
}

//  The first day with rows in chunks or days at or after day, into *first (UINT32_MAX
//  if none).  0 or -1.
static int
s_first_day (shard_txn_t *txn, uint32_t day, uint32_t *first)
{
    *first = UINT32_MAX;
    shard_db_t dbs[] = {SHARD_DB_CHUNKS, SHARD_DB_DAYS};
    for (size_t index = 0; index < sizeof dbs / sizeof dbs[0]; index++) {
        shard_cursor_t *cursor = shard_cursor_new (txn, dbs[index]);
        if (!cursor)
            return -1;
        uint8_t seek[2];
        shard_put16 (seek, (uint16_t) (day > SHARD_DAY_MAX ? SHARD_DAY_MAX : day));
        shard_bytes_t key, value;
        int rc = shard_cursor_seek (cursor, seek, sizeof seek, &key, &value);
        if (rc == 0 && shard_get16 (key.data) < *first)
            *first = shard_get16 (key.data);
        shard_cursor_destroy (&cursor);
        if (rc == -1)
            return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
int
shard_compact_run (shard_txn_t *txn, uint32_t today, size_t budget, size_t *done, bool *more)
{
    assert (txn);
    assert (done && more);
    *done = 0;
    *more = false;
    shard_segments_t self;
    if (shard_segments_load (txn, &self))
        return -1;
    if (self.days == 0)
        return 0;
    while (*done < budget) {
        uint32_t first_day = self.compacted * self.days;
        uint32_t last_day = first_day + self.days - 1;
        if (last_day + SHARD_SEGMENT_LAG_DAYS >= today || last_day > SHARD_DAY_MAX)
            return 0;  //  Not finished long enough
        if (self.phase == 0) {
            //  Skip the segments with nothing to compact, or all expired.  With no rows
            //  at all, nothing moves: an old spool replayed later goes to days and chunks
            //  and is compacted in bulk (a row written straight into series costs a
            //  record's decoding and encoding)
            uint32_t first = 0;
            if (s_first_day (txn, first_day, &first))
                return -1;
            if (first == UINT32_MAX)
                return 0;
            uint32_t skip_to = first / self.days;
            //  ... but none that ended less than SHARD_SEGMENT_LAG_DAYS ago
            uint32_t finished = (today - SHARD_SEGMENT_LAG_DAYS) / self.days;
            if (skip_to > finished)
                skip_to = finished;
            if (last_day < self.cutoff && skip_to <= self.compacted)
                skip_to = self.compacted + 1;  //  Retention deletes its chunks
            if (skip_to > self.compacted) {
                self.compacted = skip_to > SHARD_DAY_MAX ? SHARD_DAY_MAX : skip_to;
                if (shard_meta_raise (txn, shard_segments_meta_name (txn, false), self.compacted))
                    return -1;
                continue;
            }
        }
        if (self.phase < 2) {
            //  Rows a late part put in `days` since: into chunks first, to be merged
            size_t moved = 0;
            bool left = false;
            if (shard_days_archive (txn, first_day + self.days, budget, &moved, &left))
                return -1;
            if (left) {
                *more = true;
                *done += moved;
                return 0;
            }
            if (s_write (txn, &self, budget - *done, done) || shard_segments_load (txn, &self))
                return -1;
            continue;
        }
        size_t left = budget - *done;
        bool empty = false;
        if (shard_days_drop_chunks (txn, first_day, first_day + self.days, &left, done, &empty))
            return -1;
        if (!empty)
            break;
        const char *name = shard_segments_meta_name (txn, true);
        if (shard_kv_del (txn, SHARD_DB_META, name, strlen (name)) == -1 ||
            shard_meta_add (txn, shard_segments_meta_name (txn, false), 1) ||
            shard_segments_load (txn, &self))
            return -1;
    }
    *more = true;
    return 0;
}
