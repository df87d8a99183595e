/*  shard_days.c - daily rows across `days` and `chunks` (see shard_days.h).

    Chunks are written through a writer that holds one decoded chunk in memory: rows
    that fall in the host range it covers go into it; any other row writes it out and
    loads the chunk that covers the new row (the greatest key at or before the row's,
    else the first chunk after it, else none: a new chunk).  An archive run feeds rows
    in key order, so it appends to the last chunk of each (day, port, family) and
    closes it when the next row would not fit in SHARD_CHUNK_BYTES.
*/
#include "shard/shard_days.h"
#include "shard/shard_chunk.h"
#include "shard/shard_fold.h"
#include "shard/shard_keys.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define ARCHIVED_ROWS "archived_rows"  //  meta counter: rows in chunks

typedef struct {
    shard_txn_t *txn;                  //  Transaction written in
    bool loaded;                       //  A chunk is in memory
    bool stored;                       //  It exists in LMDB under key
    uint8_t key[SHARD_KEY_CHUNK_MAX];  //  Its key in LMDB (or the one it will get)
    size_t key_size;                   //  Bytes in key
    bool lower_open;                   //  No chunk before it in its prefix
    bool has_next;                     //  A chunk follows it in its prefix
    proto_addr_t next;                 //  That chunk's first host
    bool dirty;                        //  Rows changed since loaded
    shard_chunk_row_t *rows;           //  Rows, ascending (SHARD_CHUNK_ROWS_MAX + 1)
    size_t count;                      //  Rows used
    size_t bytes;                      //  Encoded size of the rows in order
    uint64_t added;                    //  Rows new to chunks, for ARCHIVED_ROWS
    shard_buffer_t buffer;             //  Encoding scratch
} s_writer_t;

//  --------------------------------------------------------------------------
static void
s_writer_init (s_writer_t *self, shard_txn_t *txn)
{
    memset (self, 0, sizeof *self);
    self->txn = txn;
    self->rows = (shard_chunk_row_t *) malloc ((SHARD_CHUNK_ROWS_MAX + 1) * sizeof *self->rows);
    assert (self->rows);
}

static void
s_writer_free (s_writer_t *self)
{
    free (self->rows);
    shard_buffer_free (&self->buffer);
}

//  --------------------------------------------------------------------------
//  The host of a chunk key (checked).  0 or -1 (transaction failed).

static int
s_key_host (shard_txn_t *txn, const uint8_t *key, size_t key_size, proto_addr_t *addr)
{
    uint16_t day, port;
    if (shard_key_chunk_parse (key, key_size, &day, &port, addr)) {
        shard_txn_fail (txn, SHARD_DB_CHUNKS, "chunk key does not parse");
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
static size_t
s_rows_bytes (const shard_chunk_row_t *rows, size_t count)
{
    size_t bytes = 0;
    for (size_t index = 0; index < count; index++)
        bytes += shard_chunk_row_size (index ? &rows[index - 1].addr : NULL, &rows[index]);
    return bytes;
}

//  --------------------------------------------------------------------------
//  Decode the chunk at key/value into the writer.  0 or -1.

static int
s_writer_take (s_writer_t *self, shard_bytes_t *key, shard_bytes_t *value)
{
    proto_addr_t first;
    if (s_key_host (self->txn, key->data, key->size, &first))
        return -1;
    int count = shard_chunk_decode (&first, value->data, value->size, self->rows);
    if (count < 0 || memcmp (&self->rows[0].addr, &first, sizeof first) != 0) {
        shard_txn_fail (self->txn, SHARD_DB_CHUNKS, "chunk does not decode");
        return -1;
    }
    memcpy (self->key, key->data, key->size);
    self->key_size = key->size;
    self->stored = true;
    self->count = (size_t) count;
    self->bytes = s_rows_bytes (self->rows, self->count);
    return 0;
}

//  --------------------------------------------------------------------------
//  Read the first host of the chunk after the cursor's, if in the same prefix.

static int
s_writer_next (s_writer_t *self, shard_cursor_t *cursor)
{
    shard_bytes_t key, value;
    int rc = shard_cursor_next (cursor, &key, &value);
    self->has_next = rc == 0 && key.size > SHARD_KEY_CHUNK_PREFIX &&
                     memcmp (key.data, self->key, SHARD_KEY_CHUNK_PREFIX) == 0;
    if (self->has_next && s_key_host (self->txn, key.data, key.size, &self->next))
        return -1;
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Load the chunk that covers (day, port, addr).  0 or -1.

static int
s_writer_load (s_writer_t *self, uint16_t day, uint16_t port, const proto_addr_t *addr)
{
    uint8_t key[SHARD_KEY_CHUNK_MAX];
    size_t key_size = shard_key_chunk (key, day, port, addr);
    shard_cursor_t *cursor = shard_cursor_new (self->txn, SHARD_DB_CHUNKS);
    if (!cursor)
        return -1;
    self->loaded = true;
    self->dirty = false;
    self->stored = false;
    self->has_next = false;
    self->count = 0;
    self->bytes = 0;
    memcpy (self->key, key, key_size);
    self->key_size = key_size;
    shard_bytes_t found, value;
    int rc = shard_cursor_floor (cursor, key, key_size, SHARD_KEY_CHUNK_PREFIX, &found, &value);
    self->lower_open = rc == 1;
    if (rc == 0)
        rc = s_writer_take (self, &found, &value);
    else if (rc == 1) {
        //  Before every chunk of the prefix: the first one (if any) will start here
        rc = shard_cursor_seek (cursor, key, key_size, &found, &value);
        if (rc == 0 && found.size > SHARD_KEY_CHUNK_PREFIX &&
            memcmp (found.data, key, SHARD_KEY_CHUNK_PREFIX) == 0)
            rc = s_writer_take (self, &found, &value);
        else {
            shard_cursor_destroy (&cursor);
            return rc == -1 ? -1 : 0;
        }
    }
    if (rc == 0)
        rc = s_writer_next (self, cursor);
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Write rows [first, first + count) as one chunk, under its first host's key.

static int
s_chunk_write (s_writer_t *self, const shard_chunk_row_t *rows, size_t count)
{
    uint16_t day = shard_get16 (self->key), port = shard_get16 (self->key + 2);
    uint8_t key[SHARD_KEY_CHUNK_MAX];
    size_t key_size = shard_key_chunk (key, day, port, &rows[0].addr);
    shard_chunk_encode (rows, count, &self->buffer);
    assert (self->buffer.size <= SHARD_CHUNK_BYTES);  //  The split's bound holds
    int rc = shard_kv_append (self->txn, SHARD_DB_CHUNKS, key, key_size, self->buffer.data,
                              self->buffer.size);
    if (rc == 1)
        rc = shard_kv_put (self->txn, SHARD_DB_CHUNKS, key, key_size, self->buffer.data,
                           self->buffer.size);
    return rc;
}

//  --------------------------------------------------------------------------
//  Write the chunk in memory (split if it outgrew SHARD_CHUNK_BYTES), keep it loaded.

static int
s_writer_write (s_writer_t *self)
{
    if (!self->dirty)
        return 0;
    uint8_t first_key[SHARD_KEY_CHUNK_MAX];
    size_t first_size = 0;
    if (self->count)
        first_size = shard_key_chunk (first_key, shard_get16 (self->key),
                                      shard_get16 (self->key + 2), &self->rows[0].addr);
    //  Its first host changed (a host before it was added): drop the old key
    if (self->stored &&
        (first_size != self->key_size || memcmp (first_key, self->key, first_size) != 0) &&
        shard_kv_del (self->txn, SHARD_DB_CHUNKS, self->key, self->key_size) == -1)
        return -1;
    size_t start = 0, bytes = 0;
    for (size_t index = 0; index < self->count; index++) {
        size_t size = shard_chunk_row_size (index > start ? &self->rows[index - 1].addr : NULL,
                                            &self->rows[index]);
        if (index > start &&
            bytes + size + shard_chunk_overhead (index - start + 1) > SHARD_CHUNK_BYTES) {
            if (s_chunk_write (self, self->rows + start, index - start))
                return -1;
            start = index;
            bytes = 0;
            size = shard_chunk_row_size (NULL, &self->rows[index]);
        }
        bytes += size;
    }
    if (self->count && s_chunk_write (self, self->rows + start, self->count - start))
        return -1;
    if (self->count) {
        memcpy (self->key, first_key, first_size);
        self->key_size = first_size;
    }
    self->stored = self->count > 0;
    self->dirty = false;
    return 0;
}

//  --------------------------------------------------------------------------
//  Write out and forget the chunk in memory; add the new rows to ARCHIVED_ROWS.

static int
s_writer_flush (s_writer_t *self)
{
    int rc = s_writer_write (self);
    self->loaded = false;
    if (rc == 0 && self->added) {
        rc = shard_meta_add (self->txn, ARCHIVED_ROWS, self->added);
        self->added = 0;
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Does the chunk in memory cover (key prefix, addr)?

static bool
s_writer_covers (s_writer_t *self, const uint8_t *key, const proto_addr_t *addr)
{
    if (!self->loaded || memcmp (self->key, key, SHARD_KEY_CHUNK_PREFIX) != 0)
        return false;
    if (self->has_next && memcmp (addr->bytes, self->next.bytes, PROTO_ADDR_SIZE) >= 0)
        return false;
    if (self->lower_open)
        return true;
    proto_addr_t first;
    if (self->count)
        first = self->rows[0].addr;
    else if (shard_key_host_parse (self->key + SHARD_KEY_CHUNK_PREFIX,
                                   self->key_size - SHARD_KEY_CHUNK_PREFIX, &first))
        return false;
    return memcmp (addr->bytes, first.bytes, PROTO_ADDR_SIZE) >= 0;
}

//  --------------------------------------------------------------------------
//  Put the row of (day, port, addr) into the chunk that covers it.  0 or -1.

static int
s_writer_put (s_writer_t *self, uint16_t day, uint16_t port, const proto_addr_t *addr,
              const shard_row_t *row)
{
    uint8_t key[SHARD_KEY_CHUNK_MAX];
    size_t key_size = shard_key_chunk (key, day, port, addr);
    if (!s_writer_covers (self, key, addr) &&
        (s_writer_flush (self) || s_writer_load (self, day, port, addr)))
        return -1;
    //  Where addr goes: after the last row (an archive run), else by binary search
    size_t low = 0, high = self->count;
    if (self->count &&
        memcmp (self->rows[self->count - 1].addr.bytes, addr->bytes, PROTO_ADDR_SIZE) < 0)
        low = self->count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (memcmp (self->rows[middle].addr.bytes, addr->bytes, PROTO_ADDR_SIZE) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    shard_chunk_row_t entry = {*addr, *row};
    if (low < self->count &&
        memcmp (self->rows[low].addr.bytes, addr->bytes, PROTO_ADDR_SIZE) == 0) {
        self->rows[low] = entry;
        self->bytes = s_rows_bytes (self->rows, self->count);
    }
    else if (low == self->count) {
        size_t size =
            shard_chunk_row_size (self->count ? &self->rows[self->count - 1].addr : NULL, &entry);
        if (self->count &&
            (self->bytes + size + shard_chunk_overhead (self->count + 1) > SHARD_CHUNK_BYTES ||
             self->count == SHARD_CHUNK_ROWS_MAX)) {
            //  Full: write it, and start a new chunk at addr (which ends where it ended)
            if (s_writer_write (self))
                return -1;
            memcpy (self->key, key, key_size);
            self->key_size = key_size;
            self->stored = false;
            self->lower_open = false;
            self->count = 0;
            self->bytes = 0;
            size = shard_chunk_row_size (NULL, &entry);
        }
        self->rows[self->count++] = entry;
        self->bytes += size;
        self->added++;
    }
    else {
        memmove (self->rows + low + 1, self->rows + low, (self->count - low) * sizeof entry);
        self->rows[low] = entry;
        self->count++;
        self->bytes = s_rows_bytes (self->rows, self->count);
        self->added++;
    }
    self->dirty = true;
    //  A chunk changed in the middle writes itself out (split) before it overflows rows
    if (self->count > SHARD_CHUNK_ROWS_MAX && s_writer_flush (self))
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
int
shard_days_archive_last (shard_txn_t *txn, uint32_t *day)
{
    assert (txn);
    assert (day);
    *day = 0;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_CHUNKS);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_last (cursor, &key, &value);
    if (rc == 0)
        *day = shard_get16 (key.data);
    shard_cursor_destroy (&cursor);
    return rc;
}

//  --------------------------------------------------------------------------
//  Look for the row of (day, port, addr) in chunks with cursor: 0 found, 1 absent, -1
//  failed.

static int
s_chunk_find (shard_txn_t *txn, shard_cursor_t *cursor, uint16_t day, uint16_t port,
              const proto_addr_t *addr, shard_row_t *row)
{
    uint8_t key[SHARD_KEY_CHUNK_MAX];
    size_t key_size = shard_key_chunk (key, day, port, addr);
    shard_bytes_t found, value;
    int rc = shard_cursor_floor (cursor, key, key_size, SHARD_KEY_CHUNK_PREFIX, &found, &value);
    proto_addr_t first;
    if (rc == 0 && s_key_host (txn, found.data, found.size, &first) == 0) {
        rc = shard_chunk_find (&first, value.data, value.size, addr, row);
        if (rc == -1)
            shard_txn_fail (txn, SHARD_DB_CHUNKS, "chunk does not decode");
    }
    else if (rc == 0)
        rc = -1;
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_days_where (shard_txn_t *txn, shard_days_where_t *where)
{
    assert (txn);
    assert (where);
    if (shard_days_archive_last (txn, &where->archive_last) == -1)
        return -1;
    return shard_segments_load (txn, &where->segments);
}

//  --------------------------------------------------------------------------
int
shard_days_reader_open (shard_days_reader_t *self, shard_txn_t *txn)
{
    assert (self);
    assert (txn);
    memset (self, 0, sizeof *self);
    self->txn = txn;
    self->days_first = UINT32_MAX;
    if (shard_days_where (txn, &self->where) == -1)
        return -1;
    shard_segments_reader_open (&self->series, txn, &self->where.segments);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_DAYS);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    if (rc == 0)
        self->days_first = shard_get16 (key.data);
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_days_reader_get (shard_days_reader_t *self, uint16_t day, uint16_t port,
                       const proto_addr_t *addr, shard_row_t *row)
{
    assert (self);
    assert (addr);
    assert (row);
    if (shard_segments_holds (&self->where.segments, day, addr))
        return shard_segments_reader_get (&self->series, day, port, addr, row);
    int rc = 1;
    if (day >= self->days_first) {
        uint8_t key[SHARD_KEY_DAY_MAX];
        size_t key_size = shard_key_day (key, day, port, addr);
        shard_bytes_t value;
        rc = shard_kv_get (self->txn, SHARD_DB_DAYS, key, key_size, &value);
        if (rc == 0 && shard_row_decode (row, value.data, value.size)) {
            shard_txn_fail (self->txn, SHARD_DB_DAYS, "daily row does not decode");
            return -1;
        }
    }
    if (rc == 1 && day <= self->where.archive_last) {
        if (!self->chunks && !(self->chunks = shard_cursor_new (self->txn, SHARD_DB_CHUNKS)))
            return -1;
        rc = s_chunk_find (self->txn, self->chunks, day, port, addr, row);
    }
    return rc;
}

//  --------------------------------------------------------------------------
void
shard_days_reader_close (shard_days_reader_t *self)
{
    assert (self);
    shard_cursor_destroy (&self->chunks);
    shard_segments_reader_close (&self->series);
}

//  --------------------------------------------------------------------------
//  Look for the row of (day, port, addr) in chunks: 0 found, 1 absent, -1 failed.

static int
s_chunk_get (shard_txn_t *txn, uint16_t day, uint16_t port, const proto_addr_t *addr,
             shard_row_t *row)
{
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_CHUNKS);
    if (!cursor)
        return -1;
    int rc = s_chunk_find (txn, cursor, day, port, addr, row);
    shard_cursor_destroy (&cursor);
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_days_get (shard_txn_t *txn, const shard_days_where_t *where, uint16_t day, uint16_t port,
                const proto_addr_t *addr, shard_row_t *row, uint8_t *at)
{
    assert (txn);
    assert (where);
    assert (addr);
    assert (row);
    if (shard_segments_holds (&where->segments, day, addr)) {
        if (at)
            *at = SHARD_DAYS_AT_SERIES;
        return shard_segments_get (txn, &where->segments, day, port, addr, row);
    }
    uint8_t key[SHARD_KEY_DAY_MAX];
    size_t key_size = shard_key_day (key, day, port, addr);
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_DAYS, key, key_size, &value);
    if (rc == 0 && shard_row_decode (row, value.data, value.size)) {
        shard_txn_fail (txn, SHARD_DB_DAYS, "daily row does not decode");
        return -1;
    }
    bool in_chunk = false;
    if (rc == 1 && day <= where->archive_last) {
        rc = s_chunk_get (txn, day, port, addr, row);
        in_chunk = rc == 0;
    }
    if (at)
        *at = in_chunk ? SHARD_DAYS_AT_CHUNK : SHARD_DAYS_AT_DAYS;  //  New rows go to days
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_days_put (shard_txn_t *txn, const shard_days_where_t *where, uint16_t day, uint16_t port,
                const proto_addr_t *addr, const shard_row_t *row, uint8_t at)
{
    assert (txn);
    assert (where);
    assert (addr);
    assert (row);
    if (at == SHARD_DAYS_AT_SERIES)
        return shard_segments_put (txn, &where->segments, day, port, addr, row);
    if (at == SHARD_DAYS_AT_DAYS) {
        uint8_t key[SHARD_KEY_DAY_MAX], bytes[SHARD_ROW_MAX];
        size_t key_size = shard_key_day (key, day, port, addr);
        return shard_kv_put (txn, SHARD_DB_DAYS, key, key_size, bytes,
                             shard_row_encode (row, bytes));
    }
    s_writer_t writer;
    s_writer_init (&writer, txn);
    int rc = s_writer_put (&writer, day, port, addr, row);
    if (rc == 0)
        rc = s_writer_flush (&writer);
    s_writer_free (&writer);
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_days_scan (shard_txn_t *txn, uint16_t day, uint16_t port, shard_days_fn *row_fn, void *arg)
{
    assert (txn);
    assert (row_fn);
    //  Rows held in series, then (for a segment under compaction) the others
    shard_segments_t segments;
    if (shard_segments_load (txn, &segments))
        return -1;
    if (segments.days && day / segments.days <= segments.compacted &&
        (day / segments.days < segments.compacted || segments.phase > 0) &&
        shard_segments_scan (txn, &segments, day, port, row_fn, arg))
        return -1;
    uint8_t prefix[SHARD_KEY_TOP_SIZE];
    shard_key_top (prefix, day, port);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_DAYS);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
    while (rc == 0 && key.size > sizeof prefix && memcmp (key.data, prefix, sizeof prefix) == 0) {
        uint16_t row_day, row_port;
        proto_addr_t addr;
        shard_row_t row;
        if (shard_key_day_parse (key.data, key.size, &row_day, &row_port, &addr) ||
            shard_row_decode (&row, value.data, value.size)) {
            shard_txn_fail (txn, SHARD_DB_DAYS, "daily row does not decode");
            rc = -1;
            break;
        }
        if (!shard_segments_holds (&segments, day, &addr))
            row_fn (arg, &addr, &row);
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    if (rc == -1 || !(cursor = shard_cursor_new (txn, SHARD_DB_CHUNKS)))
        return -1;
    shard_chunk_row_t *rows =
        (shard_chunk_row_t *) malloc (SHARD_CHUNK_ROWS_MAX * sizeof (shard_chunk_row_t));
    assert (rows);
    rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
    while (rc == 0 && key.size > sizeof prefix && memcmp (key.data, prefix, sizeof prefix) == 0) {
        proto_addr_t first;
        int count = -1;
        if (s_key_host (txn, key.data, key.size, &first) == 0)
            count = shard_chunk_decode (&first, value.data, value.size, rows);
        if (count < 0) {
            shard_txn_fail (txn, SHARD_DB_CHUNKS, "chunk does not decode");
            rc = -1;
            break;
        }
        for (int index = 0; index < count; index++)
            if (!shard_segments_holds (&segments, day, &rows[index].addr))
                row_fn (arg, &rows[index].addr, &rows[index].row);
        rc = shard_cursor_next (cursor, &key, &value);
    }
    free (rows);
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Move rows (one a record, key [day][port][host]) of days before before_day from db
//  into chunks, in key order, at most budget.

static int
s_move (shard_txn_t *txn, shard_db_t db, uint32_t before_day, size_t budget, size_t *moved,
        bool *more)
{
    assert (txn);
    assert (moved && more);
    *moved = 0;
    *more = false;
    shard_cursor_t *cursor = shard_cursor_new (txn, db);
    if (!cursor)
        return -1;
    s_writer_t writer;
    s_writer_init (&writer, txn);
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0 && shard_get16 (key.data) < before_day) {
        if (*moved == budget) {
            *more = true;
            break;
        }
        uint16_t day, port;
        proto_addr_t addr;
        shard_row_t row;
        if (shard_key_day_parse (key.data, key.size, &day, &port, &addr) ||
            shard_row_decode (&row, value.data, value.size)) {
            shard_txn_fail (txn, db, "daily row does not decode");
            rc = -1;
            break;
        }
        rc = s_writer_put (&writer, day, port, &addr, &row);
        if (rc == 0)
            rc = shard_cursor_del (cursor);
        if (rc == -1)
            break;
        (*moved)++;
        rc = shard_cursor_next (cursor, &key, &value);
    }
    if (rc != -1)
        rc = s_writer_flush (&writer);
    s_writer_free (&writer);
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_days_archive (shard_txn_t *txn, uint32_t before_day, size_t budget, size_t *moved, bool *more)
{
    return s_move (txn, SHARD_DB_DAYS, before_day, budget, moved, more);
}

//  --------------------------------------------------------------------------
int
shard_days_migrate (shard_txn_t *txn, size_t budget, size_t *moved, bool *more)
{
    return s_move (txn, SHARD_DB_ARCHIVE, UINT32_MAX, budget, moved, more);
}

//  --------------------------------------------------------------------------
int
shard_days_expire (shard_txn_t *txn, uint32_t cutoff_day, size_t *budget, size_t *deleted)
{
    assert (txn);
    assert (budget && deleted);
    if (shard_segments_expire (txn, cutoff_day, budget, deleted))
        return -1;
    bool empty;
    return shard_days_drop_chunks (txn, 0, cutoff_day, budget, deleted, &empty);
}

//  --------------------------------------------------------------------------
int
shard_days_drop_chunks (shard_txn_t *txn, uint32_t from_day, uint32_t before_day, size_t *budget,
                        size_t *deleted, bool *empty)
{
    shard_days_drop_t drop = {SHARD_DB_CHUNKS, shard_chunk_count, ARCHIVED_ROWS,
                              "chunk does not decode"};
    return shard_days_drop (txn, &drop, from_day, before_day, budget, deleted, empty);
}

//  --------------------------------------------------------------------------
int
shard_days_drop (shard_txn_t *txn, const shard_days_drop_t *drop, uint32_t from, uint32_t before,
                 size_t *budget, size_t *deleted, bool *empty)
{
    assert (txn);
    assert (drop);
    assert (budget && deleted && empty);
    shard_cursor_t *cursor = shard_cursor_new (txn, drop->db);
    if (!cursor)
        return -1;
    uint64_t rows = 0;
    uint8_t seek[2];
    shard_put16 (seek, (uint16_t) (from > SHARD_DAY_MAX ? SHARD_DAY_MAX : from));
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, seek, sizeof seek, &key, &value);
    while (rc == 0 && *budget > 0 && shard_get16 (key.data) < before) {
        int count = drop->count_fn (value.data, value.size);
        if (count < 0) {
            shard_txn_fail (txn, drop->db, drop->corrupt);
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
    *empty = rc == 1 || (rc == 0 && shard_get16 (key.data) >= before);
    shard_cursor_destroy (&cursor);
    if (rc != -1 && rows)
        rc = shard_meta_sub (txn, drop->counter, rows);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_days_archived_rows (shard_txn_t *txn, uint64_t *rows)
{
    assert (txn);
    assert (rows);
    return shard_meta_get (txn, ARCHIVED_ROWS, rows);
}
