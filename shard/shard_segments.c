/*  shard_segments.c - finished days packed per host: the series-major tier (see
    shard_segments.h): where a row is, reads, late writes, retention, walks.
    Compaction is shard_compact.c.
*/
#include "shard/shard_segments.h"
#include "shard/shard_days.h"
#include "shard/shard_fold.h"
#include "shard/shard_keys.h"
#include "shard/shard_pack.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define SEGMENT_DAYS "segment_days"          //  meta: D (shared by both directions)
#define SERIES_ROWS "series_rows"            //  meta: rows in series, both directions
#define RETENTION_CUTOFF "retention_cutoff"  //  meta: the last retention run's cutoff day

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
//  Packs (shard_pack.h): a segment's records of consecutive hosts in one value keyed by
//  its first host.  Every write goes through a writer: records added in key order are
//  packed greedily into values of at most SHARD_PACK_PAYLOAD bytes, each written as soon
//  as it is full; a pack whose records are rewritten is taken first (copied, deleted).
//  So a writer may run while its caller walks a segment forward, as long as it is
//  flushed before the walk passes a pack it did not take.

//  Decode a record into a growable array: its count, or -1 (the transaction failed).
static int
s_decode (shard_txn_t *txn, const shard_pack_entry_t *entry, uint32_t days,
          shard_series_row_t **rows, size_t *capacity)
{
    int count = shard_series_count (entry->record, entry->size);
    if (count >= 0 && (size_t) count > *capacity) {
        *capacity = (size_t) count + 16;
        *rows = (shard_series_row_t *) realloc (*rows, *capacity * sizeof **rows);
        assert (*rows);
    }
    if (count >= 0)
        count = shard_series_decode (entry->record, entry->size, days, *rows, *capacity);
    if (count < 0)
        shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
    return count;
}

//  Start reading the pack at (key, value): its segment and first host too.  0 or -1.
static int
s_pack_open (shard_txn_t *txn, const shard_bytes_t *key, const shard_bytes_t *value,
             shard_pack_iter_t *iter, uint16_t *segment)
{
    proto_addr_t key_addr;
    if (shard_key_series_parse (key->data, key->size, segment, &key_addr) ||
        shard_pack_open (iter, &key_addr, value->data, value->size)) {
        shard_txn_fail (txn, SHARD_DB_SERIES, "series pack does not decode");
        return -1;
    }
    return 0;
}

//  The next record of a pack: 0, 1 none left, -1 (the transaction failed)
static int
s_pack_next (shard_txn_t *txn, shard_pack_iter_t *iter, shard_pack_entry_t *entry)
{
    int rc = shard_pack_next (iter, entry);
    if (rc == -1)
        shard_txn_fail (txn, SHARD_DB_SERIES, "series pack does not decode");
    return rc;
}

//  The pack of segment that holds addr's record or would (the greatest key <= addr's
//  with its segment and family): 0 the record is in it (entry), 2 it is not, 1 no such
//  pack, -1 failed.  key and value are the pack's, valid until the next write.
static int
s_locate (shard_txn_t *txn, uint16_t segment, const proto_addr_t *addr, shard_bytes_t *key,
          shard_bytes_t *value, shard_pack_entry_t *entry)
{
    uint8_t seek[SHARD_KEY_SERIES_MAX];
    size_t seek_size = shard_key_series (seek, segment, addr);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_SERIES);
    if (!cursor)
        return -1;
    int rc = shard_cursor_floor (cursor, seek, seek_size, 3, key, value);
    shard_cursor_destroy (&cursor);
    if (rc != 0)
        return rc;
    shard_pack_iter_t iter;
    uint16_t key_segment;
    if (s_pack_open (txn, key, value, &iter, &key_segment))
        return -1;
    while ((rc = s_pack_next (txn, &iter, entry)) == 0) {
        int order = memcmp (entry->addr.bytes, addr->bytes, PROTO_ADDR_SIZE);
        if (order >= 0)
            return order == 0 ? 0 : 2;
    }
    return rc == 1 ? 2 : -1;
}

//  Copy the pack at (key, value) into copy and delete it.  0 or -1.
static int
s_take (shard_txn_t *txn, const shard_bytes_t *key, const shard_bytes_t *value,
        shard_buffer_t *copy, uint8_t *key_copy, size_t *key_size)
{
    shard_buffer_reset (copy);
    shard_buffer_append (copy, value->data, value->size);
    *key_size = key->size;
    memcpy (key_copy, key->data, key->size);
    return shard_kv_del (txn, SHARD_DB_SERIES, key_copy, *key_size) == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
void
shard_segments_writer_open (shard_segments_writer_t *self, shard_txn_t *txn, uint16_t segment,
                            bool append)
{
    assert (self);
    memset (self, 0, sizeof *self);
    self->txn = txn;
    self->segment = segment;
    self->append = append;
    self->resume = append;
}

//  Write the pack being filled.  0 or -1.
static int
s_writer_flush (shard_segments_writer_t *self)
{
    if (self->builder.count == 0)
        return 0;
    shard_pack_builder_finish (&self->builder, &self->value);
    shard_pack_builder_reset (&self->builder);
    uint8_t key[SHARD_KEY_SERIES_MAX];
    size_t key_size = shard_key_series (key, self->segment, &self->first);
    int rc = 1;
    if (self->append)
        rc = shard_kv_append (self->txn, SHARD_DB_SERIES, key, key_size, self->value.data,
                              self->value.size);
    if (rc == 1)  //  A pack after it exists (late rows): an ordinary put
        rc = shard_kv_put (self->txn, SHARD_DB_SERIES, key, key_size, self->value.data,
                           self->value.size);
    return rc == -1 ? -1 : 0;
}

//  Add a record of addr, after the last one added.  0 or -1.
static int
s_writer_put (shard_segments_writer_t *self, const proto_addr_t *addr, const void *record,
              size_t size)
{
    shard_pack_builder_t *builder = &self->builder;
    if (builder->count > 0 &&
        (builder->ipv6 == proto_addr_is_ipv4 (addr) ||
         shard_pack_builder_size_with (builder, addr, size) > SHARD_PACK_PAYLOAD) &&
        s_writer_flush (self))
        return -1;
    if (builder->count == 0)
        self->first = *addr;
    shard_pack_builder_add (builder, addr, record, size);
    return 0;
}

//  Compaction: go on filling the last pack of the family if it has room (a batch
//  before stopped in it), so that batches leave no pack half full.  0 or -1.
static int
s_writer_resume (shard_segments_writer_t *self, const proto_addr_t *addr)
{
    shard_bytes_t key, value;
    shard_pack_entry_t entry;
    int rc = s_locate (self->txn, self->segment, addr, &key, &value, &entry);
    if (rc != 2 || value.size > SHARD_PACK_PAYLOAD * 7 / 8)
        return rc == -1 ? -1 : 0;
    shard_pack_iter_t iter;
    uint16_t segment;
    if (s_pack_open (self->txn, &key, &value, &iter, &segment))
        return -1;
    if (iter.whole)
        return 0;  //  A bare record (schema 3): left as it is
    uint8_t key_copy[SHARD_KEY_SERIES_MAX];
    size_t key_size;
    if (s_take (self->txn, &key, &value, &self->copy, key_copy, &key_size) ||
        s_pack_open (self->txn, &key, &(shard_bytes_t){self->copy.data, self->copy.size}, &iter,
                     &segment))
        return -1;
    while ((rc = s_pack_next (self->txn, &iter, &entry)) == 0)
        if (s_writer_put (self, &entry.addr, entry.record, entry.size))
            return -1;
    return rc == 1 ? 0 : -1;
}

int
shard_segments_writer_add (shard_segments_writer_t *self, const proto_addr_t *addr,
                           const shard_series_row_t *rows, size_t count, uint32_t days)
{
    assert (self);
    assert (addr && rows && count);
    if (self->resume) {
        self->resume = false;
        if (s_writer_resume (self, addr))
            return -1;
    }
    shard_series_encode (rows, count, days, &self->record);
    return s_writer_put (self, addr, self->record.data, self->record.size);
}

int
shard_segments_writer_close (shard_segments_writer_t *self)
{
    assert (self);
    int rc = self->txn && !shard_txn_failed (self->txn) ? s_writer_flush (self) : -1;
    shard_pack_builder_free (&self->builder);
    shard_buffer_free (&self->value);
    shard_buffer_free (&self->record);
    shard_buffer_free (&self->copy);
    return rc;
}

//  --------------------------------------------------------------------------
//  The record of (segment, addr), decoded into a growable array.  0 found, 1 absent, -1.

static int
s_record_load (shard_txn_t *txn, const shard_segments_t *self, uint16_t segment,
               const proto_addr_t *addr, shard_series_row_t **rows, size_t *count, size_t *capacity)
{
    shard_bytes_t key, value;
    shard_pack_entry_t entry;
    *count = 0;
    int rc = s_locate (txn, segment, addr, &key, &value, &entry);
    if (rc != 0)
        return rc == -1 ? -1 : 1;
    int found = s_decode (txn, &entry, self->days, rows, capacity);
    if (found < 0)
        return -1;
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
    shard_bytes_t key, value;
    shard_pack_entry_t entry;
    int rc = s_locate (txn, (uint16_t) (day / self->days), addr, &key, &value, &entry);
    if (rc != 0)
        return rc == -1 ? -1 : 1;
    rc = shard_series_find (entry.record, entry.size, self->days, port,
                            (uint8_t) (day % self->days), row);
    if (rc == -1)
        shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
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
    shard_bytes_t key, value;
    shard_pack_entry_t entry;
    int located = s_locate (txn, segment, addr, &key, &value, &entry);
    if (located == 0) {
        int found = s_decode (txn, &entry, self->days, &rows, &capacity);
        located = found < 0 ? -1 : 0;
        count = found < 0 ? 0 : (size_t) found;
    }
    if (located == -1) {
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
    }
    rows[index].port = port;
    rows[index].day = offset;
    rows[index].row = *row;
    //  The pack rewritten with the host's record in its place (no pack: a pack of one),
    //  taken (copied) before any write: a write may move the pages value is on
    shard_segments_writer_t writer;
    shard_segments_writer_open (&writer, txn, segment, false);
    shard_series_encode (rows, count, self->days, &writer.record);
    free (rows);
    uint8_t key_copy[SHARD_KEY_SERIES_MAX];
    size_t key_size = 0;
    int rc = located == 1 ? 0 : s_take (txn, &key, &value, &writer.copy, key_copy, &key_size);
    if (rc == 0 && !found)
        rc = shard_meta_add (txn, SERIES_ROWS, 1);
    bool added = false;
    if (rc == 0 && located != 1) {
        shard_pack_iter_t iter;
        uint16_t key_segment;
        shard_bytes_t old = {writer.copy.data, writer.copy.size}, old_key = {key_copy, key_size};
        rc = s_pack_open (txn, &old_key, &old, &iter, &key_segment);
        while (rc == 0 && (rc = s_pack_next (txn, &iter, &entry)) == 0) {
            int order = memcmp (entry.addr.bytes, addr->bytes, PROTO_ADDR_SIZE);
            if (order >= 0 && !added) {
                rc = s_writer_put (&writer, addr, writer.record.data, writer.record.size);
                added = true;
            }
            if (rc == 0 && order != 0)
                rc = s_writer_put (&writer, &entry.addr, entry.record, entry.size);
        }
        rc = rc == 1 ? 0 : -1;
    }
    if (rc == 0 && !added)
        rc = s_writer_put (&writer, addr, writer.record.data, writer.record.size);
    if (rc == -1)
        writer.txn = NULL;
    return shard_segments_writer_close (&writer) == -1 ? -1 : 0;
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
        shard_pack_iter_t iter;
        shard_pack_entry_t entry;
        rc = s_pack_open (txn, &key, &value, &iter, &key_segment);
        while (rc == 0 && (rc = s_pack_next (txn, &iter, &entry)) == 0) {
            shard_row_t row;
            int found =
                shard_series_find (entry.record, entry.size, self->days, port, offset, &row);
            if (found == -1) {
                shard_txn_fail (txn, SHARD_DB_SERIES, "series record does not decode");
                rc = -1;
            }
            else if (found == 0)
                row_fn (arg, &entry.addr, &row);
        }
        if (rc == 1)
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
//  Rewriting a segment's packs record by record (retention of the straddling segment,
//  slot moves): edit_fn gets each record of the packs from the seek key on, once, and
//  says whether it changes (then rows and count hold the rows kept: none drops the
//  record).  A pack with a change is taken and its records go to the writer; a pack
//  with none is left, the writer flushed first.  Consecutive packs rewritten are
//  packed together.

typedef struct {
    shard_txn_t *txn;
    uint32_t days;
    uint32_t only;             //  Segment, or SHARD_SEGMENTS_ALL
    size_t budget;             //  Stop after the pack that reaches this many records changed
    size_t examine;            //  ... or this many examined
    shard_series_row_t *rows;  //  A record's rows, decoded (edit_fn's)
    size_t count, capacity;
    uint64_t removed;                    //  Out: rows removed
    uint8_t last[SHARD_KEY_SERIES_MAX];  //  Out: [segment][family][host] of the last
    size_t last_size;                    //  record examined (0: none)
    size_t changed;                      //  Out: records changed
    bool done;                           //  Out: no pack left
    shard_buffer_t encoded;              //  Scratch: a record re-encoded
} s_edit_t;

static void
s_edit_init (s_edit_t *self, shard_txn_t *txn, uint32_t days, uint32_t only, size_t budget,
             size_t examine)
{
    memset (self, 0, sizeof *self);
    self->txn = txn;
    self->days = days;
    self->only = only;
    self->budget = budget;
    self->examine = examine;
}

//  0 unchanged, 1 changed, -1 failed; *rows_before: the record's rows
typedef int (s_edit_fn) (s_edit_t *edit, void *arg, uint16_t segment,
                         const shard_pack_entry_t *entry, size_t *rows_before);

//  A record of a pack being edited: unchanged (at offset of the pack's value), or
//  re-encoded (at offset of the edits), or dropped (size 0)
typedef struct {
    proto_addr_t addr;
    bool edited;
    size_t offset, size;
} s_slot_t;

//  Edit one pack at (key, value) into writer.  0 or -1.
static int
s_edit_pack (s_edit_t *edit, shard_segments_writer_t *writer, s_edit_fn *edit_fn, void *arg,
             const shard_bytes_t *key, const shard_bytes_t *value, s_slot_t **slots,
             size_t *slots_capacity)
{
    shard_txn_t *txn = edit->txn;
    shard_pack_iter_t iter;
    shard_pack_entry_t entry;
    uint16_t segment;
    size_t count = 0;
    bool change = false;
    shard_buffer_reset (&writer->record);  //  The records re-encoded
    int rc = s_pack_open (txn, key, value, &iter, &segment);
    while (rc == 0 && (rc = s_pack_next (txn, &iter, &entry)) == 0) {
        size_t before = 0;
        int edited = edit_fn (edit, arg, segment, &entry, &before);
        if (edited == -1) {
            rc = -1;
            break;
        }
        if (count == *slots_capacity) {
            *slots_capacity = *slots_capacity ? *slots_capacity * 2 : 64;
            *slots = (s_slot_t *) realloc (*slots, *slots_capacity * sizeof **slots);
            assert (*slots);
        }
        s_slot_t *slot = &(*slots)[count++];
        slot->addr = entry.addr;
        slot->edited = edited == 1;
        slot->offset = (size_t) (entry.record - value->data);
        slot->size = entry.size;
        if (edited == 1) {
            change = true;
            edit->changed++;
            edit->removed += before - edit->count;
            slot->offset = writer->record.size;
            slot->size = 0;
            if (edit->count) {
                shard_series_encode (edit->rows, edit->count, edit->days, &edit->encoded);
                shard_buffer_append (&writer->record, edit->encoded.data, edit->encoded.size);
                slot->size = edit->encoded.size;
            }
        }
        edit->examine -= edit->examine > 0;
    }
    if (rc == -1)
        return -1;
    rc = 0;
    edit->last_size = shard_key_series (edit->last, segment, &entry.addr);
    //  Taken (copied) before any write: a write may move the pages value is on
    uint8_t key_copy[SHARD_KEY_SERIES_MAX];
    size_t key_size;
    if (change && s_take (txn, key, value, &writer->copy, key_copy, &key_size))
        return -1;
    if ((segment != writer->segment || !change) && s_writer_flush (writer))
        return -1;
    writer->segment = segment;
    if (!change)
        return 0;
    for (size_t index = 0; index < count && rc == 0; index++) {
        s_slot_t *slot = &(*slots)[index];
        const uint8_t *base = slot->edited ? writer->record.data : writer->copy.data;
        if (slot->size)
            rc = s_writer_put (writer, &slot->addr, base + slot->offset, slot->size);
    }
    return rc == -1 ? -1 : 0;
}

static int
s_edit (s_edit_t *edit, const uint8_t *seek, size_t seek_size, s_edit_fn *edit_fn, void *arg)
{
    shard_txn_t *txn = edit->txn;
    shard_segments_writer_t writer;
    shard_segments_writer_open (&writer, txn, 0, false);
    s_slot_t *slots = NULL;
    size_t slots_capacity = 0;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_SERIES);
    uint8_t resume[SHARD_KEY_SERIES_MAX + 1];
    memcpy (resume, seek, seek_size);
    size_t resume_size = seek_size;
    int rc = cursor ? 0 : -1;
    while (rc == 0 && edit->changed < edit->budget && edit->examine > 0) {
        shard_bytes_t key, value;
        rc = shard_cursor_seek (cursor, resume, resume_size, &key, &value);
        if (rc == 0 && (key.size < 3 ||
                        (edit->only != SHARD_SEGMENTS_ALL && shard_get16 (key.data) != edit->only)))
            rc = 1;
        if (rc != 0)
            break;
        uint8_t current[SHARD_KEY_SERIES_MAX];
        size_t current_size = key.size < sizeof current ? key.size : sizeof current;
        memcpy (current, key.data, current_size);
        rc = s_edit_pack (edit, &writer, edit_fn, arg, &key, &value, &slots, &slots_capacity);
        //  Then after its last host (a pack written since has no later host)
        memcpy (resume, edit->last, edit->last_size);
        resume[edit->last_size] = 0;
        resume_size = edit->last_size + 1;
        if (rc == 0 && shard_segments_host_compare (resume + 2, resume_size - 2, current + 2,
                                                    current_size - 2) <= 0) {
            shard_txn_fail (txn, SHARD_DB_SERIES, "series pack does not decode");
            rc = -1;
        }
    }
    edit->done = rc == 1;
    shard_cursor_destroy (&cursor);
    shard_buffer_free (&edit->encoded);
    free (slots);
    if (rc == -1)
        writer.txn = NULL;
    return shard_segments_writer_close (&writer) == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  The segment that straddles the cutoff: its records lose their expired rows, a batch
//  at a time (meta "expire_marker": [cutoff: 2][family][host] of the last record
//  examined; [cutoff][0xff] when done).  Each record rewritten or deleted counts
//  SHARD_SEGMENTS_REWRITE_COST against *budget (it is decoded and re-encoded with its
//  pack: at 10^6 hosts, 1,000 a transaction took up to 20 ms of CPU), and at most
//  SHARD_SEGMENTS_EXAMINE times as many records as the budget allows are examined.
//  0 or -1.

#define SHARD_SEGMENTS_EXAMINE 8

static int
s_trim_record (s_edit_t *edit, void *arg, uint16_t segment, const shard_pack_entry_t *entry,
               size_t *rows_before)
{
    uint32_t cutoff_day = *(const uint32_t *) arg;
    int found = s_decode (edit->txn, entry, edit->days, &edit->rows, &edit->capacity);
    if (found < 0)
        return -1;
    size_t kept = 0;
    for (int index = 0; index < found; index++)
        if ((uint32_t) segment * edit->days + edit->rows[index].day >= cutoff_day)
            edit->rows[kept++] = edit->rows[index];
    edit->count = kept;
    *rows_before = (size_t) found;
    return kept < (size_t) found;
}

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
    size_t records =
        *budget / SHARD_SEGMENTS_REWRITE_COST ? *budget / SHARD_SEGMENTS_REWRITE_COST : 1;
    s_edit_t edit;
    s_edit_init (&edit, txn, self->days, segment, records, records * SHARD_SEGMENTS_EXAMINE);
    rc = s_edit (&edit, seek, seek_size, s_trim_record, &cutoff_day);
    free (edit.rows);
    *deleted += edit.changed;
    //  Not done: the rest of the budget goes too, so that retention runs another batch
    size_t spent = edit.changed * SHARD_SEGMENTS_REWRITE_COST;
    *budget = edit.done ? (*budget > spent ? *budget - spent : 0) : 0;
    if (rc != -1 && edit.removed)
        rc = shard_meta_sub (txn, SERIES_ROWS, edit.removed);
    if (rc != -1 && (edit.done || edit.last_size)) {
        //  [cutoff][family][host] of the last record examined, or [cutoff][0xff]
        uint8_t value_out[2 + 1 + 16];
        shard_put16 (value_out, (uint16_t) cutoff_day);
        size_t size = 3;
        if (edit.done)
            value_out[2] = 0xff;
        else {
            memcpy (value_out + 2, edit.last + 2, edit.last_size - 2);
            size = edit.last_size;
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
    shard_days_drop_t drop = {SHARD_DB_SERIES, shard_pack_rows, SERIES_ROWS,
                              "series pack does not decode"};
    bool empty = false;
    int rc = shard_days_drop (txn, &drop, 0, cutoff_day / self.days, budget, deleted, &empty);
    if (rc == 0 && empty)
        rc = s_trim_straddling (txn, &self, cutoff_day, budget, deleted);
    return rc;
}

//  --------------------------------------------------------------------------
typedef struct {
    shard_segments_pick_fn *pick_fn;
    shard_segments_visit_fn *row_fn;
    void *arg;
    bool cut;
    uint32_t cutoff;
    uint64_t *rows_met;
} s_walk_t;

static int
s_walk_record (s_edit_t *edit, void *arg, uint16_t segment, const shard_pack_entry_t *entry,
               size_t *rows_before)
{
    s_walk_t *walk = (s_walk_t *) arg;
    if (walk->pick_fn && !walk->pick_fn (walk->arg, &entry->addr))
        return 0;
    int count = s_decode (edit->txn, entry, edit->days, &edit->rows, &edit->capacity);
    if (count < 0)
        return -1;
    for (int index = 0; index < count && walk->row_fn; index++) {
        uint32_t day = (uint32_t) segment * edit->days + edit->rows[index].day;
        if (day >= walk->cutoff && walk->row_fn (walk->arg, (uint16_t) day, edit->rows[index].port,
                                                 &entry->addr, &edit->rows[index].row))
            return -1;
    }
    *walk->rows_met += (uint64_t) count;
    *rows_before = (size_t) count;
    edit->count = 0;
    return walk->cut;
}

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
    uint8_t seek[2];
    shard_put16 (seek, (uint16_t) (only == SHARD_SEGMENTS_ALL ? 0 : only));
    s_edit_t edit;
    s_edit_init (&edit, txn, self.days, only, SIZE_MAX, SIZE_MAX);
    s_walk_t walk = {pick_fn, row_fn, arg, cut, self.cutoff, rows_met};
    int rc = s_edit (&edit, seek, sizeof seek, s_walk_record, &walk);
    free (edit.rows);
    if (rc != -1 && edit.removed)
        rc = shard_meta_sub (txn, SERIES_ROWS, edit.removed);
    return rc == -1 ? -1 : 0;
}
