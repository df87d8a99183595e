/*  shard_segments.c - finished days packed per host: the series-major tier (see
    shard_segments.h): where a row is, reads, late writes, retention, walks.
    Compaction is shard_compact.c.
*/
#include "shard/shard_segments.h"
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
const char *
shard_segments_meta_name (shard_txn_t *txn, bool marker)
{
    if (shard_txn_direction (txn) == PROTO_DIRECTION_IN)
        return marker ? "compact_marker_in" : "compacted_in";
    return marker ? "compact_marker" : "compacted";
}

//  --------------------------------------------------------------------------
size_t
shard_segments_host_key (uint8_t *out, const proto_addr_t *addr)
{
    size_t size = shard_key_host (out + 1, addr);
    out[0] = size == 4 ? SHARD_KEY_FAMILY_IPV4 : SHARD_KEY_FAMILY_IPV6;
    return size + 1;
}

//  --------------------------------------------------------------------------
int
shard_segments_host_compare (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
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
        shard_meta_get (txn, shard_segments_meta_name (txn, false), &compacted) ||
        shard_meta_get (txn, RETENTION_CUTOFF, &cutoff))
        return -1;
    self->days = days > SHARD_SERIES_DAYS_MAX ? 0 : (uint32_t) days;
    self->compacted = compacted > SHARD_DAY_MAX ? SHARD_DAY_MAX : (uint32_t) compacted;
    self->cutoff = cutoff > SHARD_DAY_MAX ? SHARD_DAY_MAX : (uint32_t) cutoff;
    const char *name = shard_segments_meta_name (txn, true);
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
    size_t size = shard_segments_host_key (key, addr);
    return shard_segments_host_compare (key, size, self->marker, self->marker_size) <= 0;
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
//  The segment that straddles the cutoff: its records lose their expired rows, a batch
//  at a time (meta "expire_marker": [cutoff: 2][family][host] of the last record
//  examined; [cutoff][0xff] when done).  Changes are collected during the walk and
//  written after it.  Each record rewritten or deleted counts against *budget, and at
//  most SHARD_SEGMENTS_EXAMINE times *budget are examined.  0 or -1.

#define SHARD_SEGMENTS_EXAMINE 8

typedef struct {
    uint8_t key[SHARD_KEY_SERIES_MAX];
    size_t key_size;
    shard_buffer_t value;  //  Size 0: delete
} s_rewrite_t;

static int
s_trim_straddling (shard_txn_t *txn, const shard_segments_t *self, uint32_t cutoff_day,
                   size_t *budget, size_t *deleted)
{
    uint32_t segment = cutoff_day / self->days;
    if (segment * self->days == cutoff_day || segment > self->compacted || *budget == 0)
        return 0;
    const char *name =
        shard_txn_direction (txn) == PROTO_DIRECTION_IN ? "expire_marker_in" : "expire_marker";
    shard_bytes_t marker;
    int rc = shard_kv_get (txn, SHARD_DB_META, name, strlen (name), &marker);
    uint8_t seek[SHARD_KEY_SERIES_MAX + 1];
    size_t seek_size = 2;
    shard_put16 (seek, (uint16_t) segment);
    if (rc == -1)
        return -1;
    if (rc == 0 && marker.size >= 3 && shard_get16 (marker.data) == cutoff_day) {
        if (marker.data[2] == 0xff)
            return 0;  //  Done for this cutoff
        //  After the last record examined
        memcpy (seek + 2, marker.data + 2, marker.size - 2);
        seek_size = marker.size;
        seek[seek_size++] = 0;
    }
    size_t examine = *budget * SHARD_SEGMENTS_EXAMINE, count = 0;
    s_rewrite_t *rewrites = (s_rewrite_t *) calloc (*budget, sizeof (s_rewrite_t));
    shard_series_row_t *rows = NULL;
    size_t capacity = 0;
    uint64_t dropped = 0;
    uint8_t last[SHARD_KEY_SERIES_MAX + 1] = {0};
    size_t last_size = 0;
    bool done = false;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_SERIES);
    if (!cursor || !rewrites) {
        free (rewrites);
        shard_cursor_destroy (&cursor);
        return -1;
    }
    shard_bytes_t key, value;
    rc = shard_cursor_seek (cursor, seek, seek_size, &key, &value);
    while (rc == 0 && count < *budget && examine > 0) {
        if (shard_get16 (key.data) != segment || key.size > SHARD_KEY_SERIES_MAX)
            break;
        examine--;
        int found = shard_series_count (value.data, value.size);
        if (found >= 0 && (size_t) found > capacity) {
            capacity = (size_t) found;
            rows = (shard_series_row_t *) realloc (rows, capacity * sizeof *rows);
            assert (rows);
        }
        if (found >= 0)
            found = shard_series_decode (value.data, value.size, self->days, rows, capacity);
        if (found < 0) {
            shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
            rc = -1;
            break;
        }
        size_t kept = 0;
        for (int index = 0; index < found; index++)
            if (segment * self->days + rows[index].day >= cutoff_day)
                rows[kept++] = rows[index];
        if (kept < (size_t) found) {
            s_rewrite_t *rewrite = &rewrites[count++];
            memcpy (rewrite->key, key.data, key.size);
            rewrite->key_size = key.size;
            if (kept)
                shard_series_encode (rows, kept, self->days, &rewrite->value);
            dropped += (uint64_t) found - kept;
        }
        memcpy (last, key.data, key.size);
        last_size = key.size;
        rc = shard_cursor_next (cursor, &key, &value);
    }
    done = rc == 1 || (rc == 0 && (shard_get16 (key.data) != segment));
    shard_cursor_destroy (&cursor);
    for (size_t index = 0; index < count && rc != -1; index++) {
        s_rewrite_t *rewrite = &rewrites[index];
        rc = rewrite->value.size
                 ? shard_kv_put (txn, SHARD_DB_SERIES, rewrite->key, rewrite->key_size,
                                 rewrite->value.data, rewrite->value.size)
                 : shard_kv_del (txn, SHARD_DB_SERIES, rewrite->key, rewrite->key_size);
        (*deleted)++;
    }
    //  Not done: the rest of the budget goes too, so that retention runs another batch
    *budget = done ? *budget - count : 0;
    for (size_t index = 0; index < count; index++)
        shard_buffer_free (&rewrites[index].value);
    free (rewrites);
    free (rows);
    if (rc != -1 && dropped)
        rc = shard_meta_sub (txn, SERIES_ROWS, dropped);
    if (rc != -1 && (done || last_size)) {
        //  [cutoff][family][host] of the last record examined, or [cutoff][0xff]
        uint8_t value_out[2 + 1 + 16];
        shard_put16 (value_out, (uint16_t) cutoff_day);
        size_t size = 3;
        if (done)
            value_out[2] = 0xff;
        else {
            memcpy (value_out + 2, last + 2, last_size - 2);
            size = last_size;
        }
        rc = shard_kv_put (txn, SHARD_DB_META, name, strlen (name), value_out, size);
    }
    return rc == -1 ? -1 : 0;
}

int
shard_segments_expire (shard_txn_t *txn, uint32_t cutoff_day, size_t *budget, size_t *deleted)
{
    assert (txn);
    assert (budget && deleted);
    //  Set, not raised: a longer retention (a restart with more days) lowers it
    uint8_t cutoff[SHARD_META_SIZE];
    shard_meta_encode (cutoff_day, cutoff);
    if (shard_kv_put (txn, SHARD_DB_META, RETENTION_CUTOFF, strlen (RETENTION_CUTOFF), cutoff,
                      sizeof cutoff))
        return -1;
    shard_segments_t self;
    if (shard_segments_load (txn, &self))
        return -1;
    if (self.days == 0)
        return 0;
    //  Whole segments first: those whose last day is before the cutoff
    shard_days_drop_t drop = {SHARD_DB_SERIES, shard_series_count, SERIES_ROWS,
                              "series record does not decode"};
    bool empty = false;
    int rc = shard_days_drop (txn, &drop, 0, cutoff_day / self.days, budget, deleted, &empty);
    if (rc == 0 && empty)
        rc = s_trim_straddling (txn, &self, cutoff_day, budget, deleted);
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_segments_walk (shard_txn_t *txn, uint32_t only, shard_segments_pick_fn *pick_fn,
                     shard_segments_visit_fn *row_fn, void *arg, bool cut, uint64_t *rows_met)
{
    assert (txn);
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
    uint8_t prefix[2];
    shard_put16 (prefix, (uint16_t) (only == SHARD_SEGMENTS_ALL ? 0 : only));
    int rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
    while (rc == 0) {
        uint16_t segment;
        proto_addr_t addr;
        if (shard_key_series_parse (key.data, key.size, &segment, &addr)) {
            shard_txn_fail (txn, SHARD_DB_SERIES, "series key does not parse");
            rc = -1;
            break;
        }
        if (only != SHARD_SEGMENTS_ALL && segment != only)
            break;
        if (pick_fn && !pick_fn (arg, &addr)) {
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
