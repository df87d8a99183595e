/*  shard_segments.c - finished days packed per host: the series-major tier (see
    shard_segments.h).

    Compaction merges the chunks of a segment's days host by host: one stream per
    (day, port, family) prefix of `chunks`, each a cursor and the decoded chunk it is
    on; the smallest host among the streams is the next record.  A batch positions
    every stream after the marker, writes records up to its budget in key order
    (MDB_APPEND: full pages) and moves the marker, all in its transaction.
*/
#include "shard/shard_segments.h"
#include "shard/shard_chunk.h"
#include "shard/shard_days.h"
#include "shard/shard_fold.h"
#include "shard/shard_keys.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define SEGMENT_DAYS "segment_days"          //  meta: D (shared by both directions)
#define SERIES_ROWS "series_rows"            //  meta: rows in series, both directions
#define RETENTION_CUTOFF "retention_cutoff"  //  meta: the last retention run's cutoff day
#define ROWS_MAX ((size_t) SHARD_SERIES_DAYS_MAX * SHARD_HOST_PORTS_MAX)  //  Rows a record

//  Meta names of the per-direction state
static const char *
s_name (shard_txn_t *txn, bool marker)
{
    if (shard_txn_direction (txn) == PROTO_DIRECTION_IN)
        return marker ? "compact_marker_in" : "compacted_in";
    return marker ? "compact_marker" : "compacted";
}

//  [family][host] of addr into out (>= 17 bytes); its size
static size_t
s_host_key (uint8_t *out, const proto_addr_t *addr)
{
    size_t size = shard_key_host (out + 1, addr);
    out[0] = size == 4 ? SHARD_KEY_FAMILY_IPV4 : SHARD_KEY_FAMILY_IPV6;
    return size + 1;
}

//  Compare [family][host] keys (a family's hosts all have one size)
static int
s_host_compare (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    int rc = memcmp (a + 1, b + 1, (a_size < b_size ? a_size : b_size) - 1);
    return rc ? rc : (a_size > b_size) - (a_size < b_size);
}

//  --------------------------------------------------------------------------
int
shard_segments_load (shard_txn_t *txn, shard_segments_t *self)
{
    assert (txn);
    assert (self);
    memset (self, 0, sizeof *self);
    uint64_t days = 0, compacted = 0, cutoff = 0;
    if (shard_meta_get (txn, SEGMENT_DAYS, &days) ||
        shard_meta_get (txn, s_name (txn, false), &compacted) ||
        shard_meta_get (txn, RETENTION_CUTOFF, &cutoff))
        return -1;
    self->days = days > SHARD_SERIES_DAYS_MAX ? 0 : (uint32_t) days;
    self->compacted = compacted > SHARD_DAY_MAX ? SHARD_DAY_MAX : (uint32_t) compacted;
    self->cutoff = cutoff > SHARD_DAY_MAX ? SHARD_DAY_MAX : (uint32_t) cutoff;
    const char *name = s_name (txn, true);
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_META, name, strlen (name), &value);
    if (rc == -1)
        return -1;
    if (rc == 0) {
        //  [phase][family][host]
        if (value.size < 1 || value.data[0] < 1 || value.data[0] > 2 ||
            value.size - 1 > sizeof self->marker) {
            shard_txn_fail (txn, SHARD_DB_META, "compaction marker does not decode");
            return -1;
        }
        self->phase = value.data[0];
        self->marker_size = value.size - 1;
        memcpy (self->marker, value.data + 1, self->marker_size);
    }
    return 0;
}

//  --------------------------------------------------------------------------
int
shard_segments_init (shard_txn_t *txn, uint32_t days_wanted, uint32_t *days)
{
    assert (txn);
    assert (days);
    assert (days_wanted <= SHARD_SERIES_DAYS_MAX);
    uint64_t value = 0;
    if (shard_meta_get (txn, SEGMENT_DAYS, &value))
        return -1;
    if (value == 0 && days_wanted > 0) {
        value = days_wanted;
        if (shard_meta_add (txn, SEGMENT_DAYS, value))
            return -1;
    }
    *days = (uint32_t) value;
    return 0;
}

//  --------------------------------------------------------------------------
bool
shard_segments_holds (const shard_segments_t *self, uint16_t day, const proto_addr_t *addr)
{
    assert (self);
    if (self->days == 0)
        return false;
    uint32_t segment = day / self->days;
    if (segment < self->compacted)
        return true;
    if (segment > self->compacted || self->phase == 0)
        return false;
    if (self->phase == 2)
        return true;
    uint8_t key[1 + 16];
    size_t size = s_host_key (key, addr);
    return s_host_compare (key, size, self->marker, self->marker_size) <= 0;
}

//  --------------------------------------------------------------------------
//  The record of (segment, addr), decoded into a growable array.  0 found, 1 absent, -1.

static int
s_record_load (shard_txn_t *txn, const shard_segments_t *self, uint16_t segment,
               const proto_addr_t *addr, shard_series_row_t **rows, size_t *count, size_t *capacity)
{
    uint8_t key[SHARD_KEY_SERIES_MAX];
    size_t key_size = shard_key_series (key, segment, addr);
    shard_bytes_t value;
    *count = 0;
    int rc = shard_kv_get (txn, SHARD_DB_SERIES, key, key_size, &value);
    if (rc != 0)
        return rc;
    int found = shard_series_count (value.data, value.size);
    if (found >= 0 && (size_t) found + 1 > *capacity) {
        *capacity = (size_t) found + 16;
        *rows = (shard_series_row_t *) realloc (*rows, *capacity * sizeof **rows);
        assert (*rows);
    }
    if (found >= 0)
        found = shard_series_decode (value.data, value.size, self->days, *rows, *capacity);
    if (found < 0) {
        shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
        return -1;
    }
    *count = (size_t) found;
    return 0;
}

//  Index of (port, day) in rows, or where it would go (*found tells)
static size_t
s_find (const shard_series_row_t *rows, size_t count, uint16_t port, uint8_t day, bool *found)
{
    size_t low = 0, high = count;
    uint32_t want = (uint32_t) port << 8 | day;
    while (low < high) {
        size_t middle = (low + high) / 2;
        uint32_t have = (uint32_t) rows[middle].port << 8 | rows[middle].day;
        if (have < want)
            low = middle + 1;
        else
            high = middle;
    }
    *found = low < count && rows[low].port == port && rows[low].day == day;
    return low;
}

//  --------------------------------------------------------------------------
int
shard_segments_get (shard_txn_t *txn, const shard_segments_t *self, uint16_t day, uint16_t port,
                    const proto_addr_t *addr, shard_row_t *row)
{
    assert (txn);
    assert (self && self->days);
    if (day < self->cutoff)
        return 1;
    uint8_t key[SHARD_KEY_SERIES_MAX];
    size_t key_size = shard_key_series (key, (uint16_t) (day / self->days), addr);
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_SERIES, key, key_size, &value);
    if (rc == 0) {
        rc = shard_series_find (value.data, value.size, self->days, port,
                                (uint8_t) (day % self->days), row);
        if (rc == -1)
            shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
    }
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_segments_put (shard_txn_t *txn, const shard_segments_t *self, uint16_t day, uint16_t port,
                    const proto_addr_t *addr, const shard_row_t *row)
{
    assert (txn);
    assert (self && self->days);
    uint16_t segment = (uint16_t) (day / self->days);
    uint8_t offset = (uint8_t) (day % self->days);
    shard_series_row_t *rows = NULL;
    size_t count = 0, capacity = 0;
    int rc = s_record_load (txn, self, segment, addr, &rows, &count, &capacity);
    if (rc == -1) {
        free (rows);
        return -1;
    }
    if (count + 1 > capacity) {
        capacity = count + 1;
        rows = (shard_series_row_t *) realloc (rows, capacity * sizeof *rows);
        assert (rows);
    }
    bool found;
    size_t index = s_find (rows, count, port, offset, &found);
    if (!found) {
        memmove (rows + index + 1, rows + index, (count - index) * sizeof *rows);
        count++;
        rc = shard_meta_add (txn, SERIES_ROWS, 1);
    }
    rows[index].port = port;
    rows[index].day = offset;
    rows[index].row = *row;
    shard_buffer_t buffer = {NULL, 0, 0};
    shard_series_encode (rows, count, self->days, &buffer);
    uint8_t key[SHARD_KEY_SERIES_MAX];
    size_t key_size = shard_key_series (key, segment, addr);
    if (rc == 0 || rc == 1)
        rc = shard_kv_put (txn, SHARD_DB_SERIES, key, key_size, buffer.data, buffer.size);
    shard_buffer_free (&buffer);
    free (rows);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_segments_scan (shard_txn_t *txn, const shard_segments_t *self, uint16_t day, uint16_t port,
                     shard_segments_row_fn *row_fn, void *arg)
{
    assert (txn);
    assert (self && self->days);
    assert (row_fn);
    if (day < self->cutoff)
        return 0;
    uint16_t segment = (uint16_t) (day / self->days);
    uint8_t offset = (uint8_t) (day % self->days);
    uint8_t prefix[2];
    shard_put16 (prefix, segment);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_SERIES);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
    while (rc == 0 && shard_get16 (key.data) == segment) {
        uint16_t key_segment;
        proto_addr_t addr;
        shard_row_t row;
        int found = -1;
        if (shard_key_series_parse (key.data, key.size, &key_segment, &addr) == 0)
            found = shard_series_find (value.data, value.size, self->days, port, offset, &row);
        if (found == -1) {
            shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
            rc = -1;
            break;
        }
        if (found == 0)
            row_fn (arg, &addr, &row);
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
void
shard_segments_reader_open (shard_segments_reader_t *self, shard_txn_t *txn,
                            const shard_segments_t *segments)
{
    assert (self);
    memset (self, 0, sizeof *self);
    self->txn = txn;
    self->segments = segments;
}

int
shard_segments_reader_get (shard_segments_reader_t *self, uint16_t day, uint16_t port,
                           const proto_addr_t *addr, shard_row_t *row)
{
    assert (self);
    const shard_segments_t *segments = self->segments;
    if (day < segments->cutoff)
        return 1;
    uint32_t segment = day / segments->days;
    if (!self->loaded || self->segment != segment ||
        memcmp (self->addr.bytes, addr->bytes, PROTO_ADDR_SIZE)) {
        self->loaded = false;
        int rc = s_record_load (self->txn, segments, (uint16_t) segment, addr, &self->rows,
                                &self->count, &self->capacity);
        if (rc == -1)
            return -1;
        self->loaded = true;
        self->segment = segment;
        self->addr = *addr;
    }
    bool found;
    size_t index = s_find (self->rows, self->count, port, (uint8_t) (day % segments->days), &found);
    if (!found)
        return 1;
    *row = self->rows[index].row;
    return 0;
}

void
shard_segments_reader_close (shard_segments_reader_t *self)
{
    assert (self);
    free (self->rows);
    self->rows = NULL;
    self->count = self->capacity = 0;
    self->loaded = false;
}

//  --------------------------------------------------------------------------
int
shard_segments_rows (shard_txn_t *txn, uint64_t *rows)
{
    assert (txn);
    assert (rows);
    return shard_meta_get (txn, SERIES_ROWS, rows);
}

//  --------------------------------------------------------------------------
int
shard_segments_expire (shard_txn_t *txn, uint32_t cutoff_day, size_t *budget, size_t *deleted)
{
    assert (txn);
    assert (budget && deleted);
    if (shard_meta_raise (txn, RETENTION_CUTOFF, cutoff_day))
        return -1;
    shard_segments_t self;
    if (shard_segments_load (txn, &self))
        return -1;
    if (self.days == 0)
        return 0;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_SERIES);
    if (!cursor)
        return -1;
    uint64_t rows = 0;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0 && *budget > 0 &&
           ((uint32_t) shard_get16 (key.data) + 1) * self.days <= cutoff_day) {
        int count = shard_series_count (value.data, value.size);
        if (count < 0) {
            shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
            rc = -1;
            break;
        }
        rows += (uint64_t) count;
        rc = shard_cursor_del (cursor);
        if (rc == -1)
            break;
        (*budget)--;
        (*deleted)++;
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    if (rc != -1 && rows)
        rc = shard_meta_sub (txn, SERIES_ROWS, rows);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_segments_walk (shard_txn_t *txn, shard_segments_pick_fn *pick_fn,
                     shard_segments_visit_fn *row_fn, void *arg, bool cut, uint64_t *rows_met)
{
    assert (txn);
    assert (pick_fn);
    assert (rows_met);
    shard_segments_t self;
    if (shard_segments_load (txn, &self))
        return -1;
    if (self.days == 0)
        return 0;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_SERIES);
    if (!cursor)
        return -1;
    shard_series_row_t *rows = NULL;
    size_t capacity = 0;
    uint64_t removed = 0;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0) {
        uint16_t segment;
        proto_addr_t addr;
        if (shard_key_series_parse (key.data, key.size, &segment, &addr)) {
            shard_txn_fail (txn, SHARD_DB_SERIES, "series key does not parse");
            rc = -1;
            break;
        }
        if (!pick_fn (arg, &addr)) {
            rc = shard_cursor_next (cursor, &key, &value);
            continue;
        }
        int count = shard_series_count (value.data, value.size);
        if (count >= 0 && (size_t) count > capacity) {
            capacity = (size_t) count;
            rows = (shard_series_row_t *) realloc (rows, capacity * sizeof *rows);
            assert (rows);
        }
        if (count >= 0)
            count = shard_series_decode (value.data, value.size, self.days, rows, capacity);
        if (count < 0) {
            shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
            rc = -1;
            break;
        }
        for (int index = 0; index < count && rc == 0; index++) {
            uint32_t day = (uint32_t) segment * self.days + rows[index].day;
            if (day >= self.cutoff && row_fn)
                rc = row_fn (arg, (uint16_t) day, rows[index].port, &addr, &rows[index].row);
        }
        *rows_met += (uint64_t) count;
        if (rc == 0 && cut) {
            removed += (uint64_t) count;
            rc = shard_cursor_del (cursor);
        }
        if (rc == 0)
            rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    free (rows);
    if (rc != -1 && removed)
        rc = shard_meta_sub (txn, SERIES_ROWS, removed);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Compaction: the streams of a segment's chunks

typedef struct {
    shard_cursor_t *cursor;                  //  On the chunk decoded
    uint8_t prefix[SHARD_KEY_CHUNK_PREFIX];  //  [day][port][family]
    uint16_t day, port;
    shard_chunk_row_t *rows;  //  The chunk's rows
    size_t count, next;       //  Rows, next one to give
    size_t capacity;
    bool done;  //  No row left
} s_stream_t;

typedef struct {
    shard_txn_t *txn;
    s_stream_t *streams;
    size_t count, capacity;
} s_merge_t;

//  Decode the chunk the stream's cursor is on (key, value), if in its prefix.  0 or -1.
static int
s_stream_load (s_merge_t *merge, s_stream_t *stream, int rc, const shard_bytes_t *key,
               const shard_bytes_t *value)
{
    stream->next = stream->count = 0;
    if (rc == 1 || (rc == 0 && (key->size <= SHARD_KEY_CHUNK_PREFIX ||
                                memcmp (key->data, stream->prefix, SHARD_KEY_CHUNK_PREFIX)))) {
        stream->done = true;
        return 0;
    }
    uint16_t day, port;
    proto_addr_t first;
    int count = -1;
    if (rc == 0 && shard_key_chunk_parse (key->data, key->size, &day, &port, &first) == 0) {
        count = shard_chunk_count (value->data, value->size);
        if (count >= 0 && (size_t) count > stream->capacity) {
            stream->capacity = (size_t) count < 64 ? 64 : (size_t) count;
            stream->rows = (shard_chunk_row_t *) realloc (
                stream->rows, (stream->capacity < SHARD_CHUNK_ROWS_MAX ? SHARD_CHUNK_ROWS_MAX
                                                                       : stream->capacity) *
                                  sizeof (shard_chunk_row_t));
            stream->capacity =
                stream->capacity < SHARD_CHUNK_ROWS_MAX ? SHARD_CHUNK_ROWS_MAX : stream->capacity;
            assert (stream->rows);
        }
        if (count >= 0)
            count = shard_chunk_decode (&first, value->data, value->size, stream->rows);
    }
    if (count < 0) {
        shard_txn_fail (merge->txn, SHARD_DB_CHUNKS, "chunk does not decode");
        return -1;
    }
    stream->count = (size_t) count;
    stream->done = count == 0;
    return 0;
}

//  Step a stream to its next row (next chunk when its chunk is used up).  0 or -1.
static int
s_stream_step (s_merge_t *merge, s_stream_t *stream)
{
    if (++stream->next < stream->count)
        return 0;
    shard_bytes_t key, value;
    int rc = shard_cursor_next (stream->cursor, &key, &value);
    if (rc == -1)
        return -1;
    if (s_stream_load (merge, stream, rc, &key, &value))
        return -1;
    return stream->done || stream->count ? 0 : s_stream_step (merge, stream);
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
    if (after) {
        //  The chunk that covers the marker: the greatest key <= [prefix][host]
        uint8_t seek[SHARD_KEY_CHUNK_MAX];
        memcpy (seek, prefix, SHARD_KEY_CHUNK_PREFIX);
        memcpy (seek + SHARD_KEY_CHUNK_PREFIX, marker + 1, marker_size - 1);
        size_t seek_size = SHARD_KEY_CHUNK_PREFIX + marker_size - 1;
        rc = shard_cursor_seek (stream->cursor, seek, seek_size, &key, &value);
        if (rc != -1 &&
            !(rc == 0 && key.size == seek_size && !memcmp (key.data, seek, seek_size))) {
            shard_bytes_t before_key, before_value;
            int back = rc == 1 ? shard_cursor_last (stream->cursor, &before_key, &before_value)
                               : shard_cursor_prev (stream->cursor, &before_key, &before_value);
            if (back == 0 && before_key.size > SHARD_KEY_CHUNK_PREFIX &&
                memcmp (before_key.data, prefix, SHARD_KEY_CHUNK_PREFIX) == 0) {
                key = before_key;
                value = before_value;
                rc = 0;
            }
            else if (back == -1)
                rc = -1;
            else  //  Nothing before: back where the seek was
                rc = shard_cursor_seek (stream->cursor, seek, seek_size, &key, &value);
        }
    }
    else
        rc = shard_cursor_seek (stream->cursor, prefix, SHARD_KEY_CHUNK_PREFIX, &key, &value);
    if (rc == -1 || s_stream_load (merge, stream, rc, &key, &value))
        return -1;
    //  Skip the rows up to the marker
    while (after && !stream->done) {
        uint8_t host[1 + 16];
        size_t size = s_host_key (host, &stream->rows[stream->next].addr);
        if (s_host_compare (host, size, marker, marker_size) > 0)
            break;
        if (s_stream_step (merge, stream))
            return -1;
    }
    return 0;
}

static void
s_merge_free (s_merge_t *merge)
{
    for (size_t index = 0; index < merge->count; index++) {
        shard_cursor_destroy (&merge->streams[index].cursor);
        free (merge->streams[index].rows);
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
        size_t size = s_host_key (candidate, &stream->rows[stream->next].addr);
        if (!least || s_host_compare (candidate, size, host, *host_size) < 0) {
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
    const char *name = s_name (txn, true);
    return shard_kv_put (txn, SHARD_DB_META, name, strlen (name), value, 1 + host_size);
}

//  Phase 1: write up to budget rows of records after the marker.  0 or -1.
static int
s_write (shard_txn_t *txn, shard_segments_t *self, size_t budget, size_t *done)
{
    uint32_t first_day = self->compacted * self->days;
    s_merge_t merge = {txn, NULL, 0, 0};
    int rc = s_merge_open (&merge, first_day, self->days, self->phase == 1 ? self->marker : NULL,
                           self->marker_size);
    shard_series_row_t *rows = NULL;
    size_t capacity = 0;
    shard_buffer_t buffer = {NULL, 0, 0};
    uint8_t host[1 + 16];
    size_t host_size = 0, written = 0;
    bool exhausted = false;
    while (rc == 0 && written < budget) {
        s_stream_t *least = s_merge_least (&merge, host, &host_size);
        if (!least) {
            exhausted = true;
            break;
        }
        proto_addr_t addr = least->rows[least->next].addr;
        size_t count = 0;
        for (size_t index = 0; index < merge.count && rc == 0; index++) {
            s_stream_t *stream = &merge.streams[index];
            if (stream->done ||
                memcmp (stream->rows[stream->next].addr.bytes, addr.bytes, PROTO_ADDR_SIZE))
                continue;
            if (stream->day >= self->cutoff) {
                if (count == capacity) {
                    capacity = capacity ? capacity * 2 : 256;
                    rows = (shard_series_row_t *) realloc (rows, capacity * sizeof *rows);
                    assert (rows);
                }
                rows[count].port = stream->port;
                rows[count].day = (uint8_t) (stream->day - first_day);
                rows[count].row = stream->rows[stream->next].row;
                count++;
            }
            rc = s_stream_step (&merge, stream);
        }
        if (rc == 0 && count > 0) {
            qsort (rows, count, sizeof *rows, s_compare_rows);
            shard_series_encode (rows, count, self->days, &buffer);
            uint8_t key[SHARD_KEY_SERIES_MAX];
            size_t key_size = shard_key_series (key, (uint16_t) self->compacted, &addr);
            rc = shard_kv_append (txn, SHARD_DB_SERIES, key, key_size, buffer.data, buffer.size);
            if (rc == 1)  //  A record after it exists (a late row): an ordinary put
                rc = shard_kv_put (txn, SHARD_DB_SERIES, key, key_size, buffer.data, buffer.size);
            if (rc == 0)
                rc = shard_meta_add (txn, SERIES_ROWS, count);
            written += count;
        }
    }
    if (rc == 0) {
        //  The marker: the last host written (phase 1), or every host written (phase 2).
        //  A batch that stops on its budget with nothing left finds that out next time.
        rc = exhausted ? s_marker_put (txn, 2, NULL, 0) : s_marker_put (txn, 1, host, host_size);
    }
    *done += written;
    shard_buffer_free (&buffer);
    free (rows);
    s_merge_free (&merge);
    return rc == -1 ? -1 : 0;
}

//  Phase 2: delete up to *budget chunks of the segment's days; true in *empty if none is
//  left.  0 or -1.
static int
s_drop_chunks (shard_txn_t *txn, const shard_segments_t *self, size_t *budget, size_t *done,
               bool *empty)
{
    uint32_t first_day = self->compacted * self->days;
    uint8_t seek[2];
    shard_put16 (seek, (uint16_t) first_day);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_CHUNKS);
    if (!cursor)
        return -1;
    uint64_t rows = 0;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, seek, sizeof seek, &key, &value);
    while (rc == 0 && *budget > 0 && shard_get16 (key.data) < first_day + self->days) {
        int count = shard_chunk_count (value.data, value.size);
        if (count < 0) {
            shard_txn_fail (txn, SHARD_DB_CHUNKS, "chunk does not decode");
            rc = -1;
            break;
        }
        rows += (uint64_t) count;
        rc = shard_cursor_del (cursor);
        if (rc == 0) {
            (*budget)--;
            (*done)++;
            rc = shard_cursor_next (cursor, &key, &value);
        }
    }
    *empty = rc == 1 || (rc == 0 && shard_get16 (key.data) >= first_day + self->days);
    shard_cursor_destroy (&cursor);
    if (rc != -1 && rows)
        rc = shard_meta_sub (txn, "archived_rows", rows);
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
shard_segments_compact (shard_txn_t *txn, uint32_t today, size_t budget, size_t *done, bool *more)
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
            //  Skip the segments with nothing to compact: none yet, or all expired
            uint32_t first = 0;
            if (s_first_day (txn, first_day, &first))
                return -1;
            uint32_t skip_to = first == UINT32_MAX ? today / self.days : first / self.days;
            //  ... but none that ended less than SHARD_SEGMENT_LAG_DAYS ago (yesterday's
            //  rows of a new store stay in days)
            uint32_t finished = (today - SHARD_SEGMENT_LAG_DAYS) / self.days;
            if (skip_to > finished)
                skip_to = finished;
            if (last_day < self.cutoff && skip_to <= self.compacted)
                skip_to = self.compacted + 1;  //  Retention deletes its chunks
            if (skip_to > self.compacted) {
                self.compacted = skip_to > SHARD_DAY_MAX ? SHARD_DAY_MAX : skip_to;
                if (shard_meta_raise (txn, s_name (txn, false), self.compacted))
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
        if (s_drop_chunks (txn, &self, &left, done, &empty))
            return -1;
        if (!empty)
            break;
        const char *name = s_name (txn, true);
        if (shard_kv_del (txn, SHARD_DB_META, name, strlen (name)) == -1 ||
            shard_meta_add (txn, s_name (txn, false), 1) || shard_segments_load (txn, &self))
            return -1;
    }
    *more = true;
    return 0;
}
