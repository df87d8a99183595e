/*  shard_slots.c - a slot set's data leaving or joining a shard (slot moves).

    Three walks over the store, each in one transaction: export (read), import and
    delete (write).  The host-keyed sub-databases are walked from one table
    (SHARD_SLOTS_TABLE in shard_keys.h); the daily rows have their own walk because a
    row may sit in `days` or inside a packed chunk, and because every (day, port)
    whose rows change gets its top lists rebuilt.  Every sub-database is scanned
    whole (a slot's hosts are spread over the key space by the hash): a move costs a
    read of the store, which is what copying a twelfth of it costs anyway.
*/
#include "shard/shard_slots.h"
#include "shard/shard_chunk.h"
#include "shard/shard_days.h"
#include "shard/shard_fold.h"
#include "shard/shard_keys.h"
#include "shard/shard_kv.h"
#include "shard/shard_top.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define DAILY_ROW 255     //  Table index of a daily row in an export string
#define DAILY_ROW_IN 254  //  The same, of the in direction
#define OPEN_BLOCK 253    //  An open block's record: key an `open` key, value its record
#define OPEN_ROW 252      //  An open row: key a `rows` key, value an open row
#define OPEN_ROW_IN 251   //  The same, of the in direction
#define SLOT_SET 250      //  The slots exported: key "slots", value the bitmap
#define TABLE_IN 0x80     //  Or'ed into a table index: the record is of the in direction

typedef struct {
    shard_db_t db;       //  Sub-database
    size_t offset;       //  Where the host starts in a key
    size_t host_size;    //  16: always 16 bytes; 4: 4 or 16, told by the key's size
    size_t after;        //  Key bytes after the host (host_size 4)
    bool per_direction;  //  Walked in each direction (the in one reaches its *_in copy)
} s_table_t;

#define S_ENTRY(db, offset, host_size, after, per_direction)                                       \
    {db, offset, host_size, after, per_direction},
static const s_table_t s_table[] = {SHARD_SLOTS_TABLE (S_ENTRY)};
#define TABLE_COUNT (sizeof s_table / sizeof s_table[0])

//  The slot of the host of a key of entry, or -1 if the key does not parse.
static int
s_key_slot (const s_table_t *entry, const uint8_t *key, size_t size)
{
    size_t host_size = entry->host_size;
    if (host_size == 4) {
        if (size < entry->offset + entry->after)
            return -1;
        host_size = size - entry->offset - entry->after;
    }
    proto_addr_t addr;
    if (size < entry->offset + host_size ||
        shard_key_host_parse (key + entry->offset, host_size, &addr))
        return -1;
    return (int) proto_shard_slot (&addr);
}

static void
s_record (shard_buffer_t *out, uint8_t table, const void *key, size_t key_size, const void *value,
          size_t value_size)
{
    shard_buffer_byte (out, table);
    shard_buffer_varint (out, key_size);
    shard_buffer_append (out, key, key_size);
    shard_buffer_varint (out, value_size);
    shard_buffer_append (out, value, value_size);
}

//  --------------------------------------------------------------------------
//  Every open block's record (when its first part came, which sources delivered it),
//  whatever its hosts: the target needs to know who delivered the blocks whose values
//  it takes over.  Exported only: the source keeps them for the slots it keeps.
static void
s_export_open (shard_txn_t *txn, shard_buffer_t *out, shard_slots_count_t *count)
{
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_OPEN);
    if (!cursor)
        return;
    shard_bytes_t key, value;
    for (int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value); rc == 0;
         rc = shard_cursor_next (cursor, &key, &value)) {
        s_record (out, OPEN_BLOCK, key.data, key.size, value.data, value.size);
        count->blocks++;
    }
    shard_cursor_destroy (&cursor);
}

//  --------------------------------------------------------------------------
//  Walk entry's sub-database: export (out set) or delete (out NULL) the records of
//  the hosts of slots.

static void
s_walk_table (shard_txn_t *txn, size_t index, uint8_t mark, const shard_slots_t *slots,
              shard_buffer_t *out, shard_slots_count_t *count)
{
    const s_table_t *entry = &s_table[index];
    shard_cursor_t *cursor = shard_cursor_new (txn, entry->db);
    if (!cursor)
        return;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0) {
        int slot = s_key_slot (entry, key.data, key.size);
        if (slot < 0) {
            shard_txn_fail (txn, entry->db, "slots: key does not parse");
            break;
        }
        if (!shard_slots_has (slots, (uint32_t) slot))
            rc = shard_cursor_next (cursor, &key, &value);
        else if (out) {
            s_record (out, (uint8_t) (index | mark), key.data, key.size, value.data, value.size);
            count->records++;
            rc = shard_cursor_next (cursor, &key, &value);
        }
        else {
            count->records++;
            rc = shard_cursor_del (cursor);
            if (rc == 0)
                rc = shard_cursor_next (cursor, &key, &value);
        }
    }
    shard_cursor_destroy (&cursor);
}

//  --------------------------------------------------------------------------
//  The `days` records (db SHARD_DB_DAYS) or the open rows (SHARD_DB_ROWS: values of
//  blocks not final yet) of slots: exported (out set, tagged tag) or deleted (out
//  NULL; a daily row's lists invalidated in cache).

static void
s_walk_rows (shard_txn_t *txn, shard_db_t db, uint8_t tag, const shard_slots_t *slots,
             shard_buffer_t *out, shard_top_cache_t *cache, shard_slots_count_t *count)
{
    shard_cursor_t *cursor = shard_cursor_new (txn, db);
    if (!cursor)
        return;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0) {
        uint16_t day = 0, port;
        int64_t block;
        proto_addr_t addr;
        if (db == SHARD_DB_ROWS ? shard_key_row_parse (key.data, key.size, &block, &addr, &port)
                                : shard_key_day_parse (key.data, key.size, &day, &port, &addr)) {
            shard_txn_fail (txn, db, "slots: key does not parse");
            break;
        }
        if (!shard_slots_has (slots, proto_shard_slot (&addr)))
            rc = shard_cursor_next (cursor, &key, &value);
        else if (out) {
            s_record (out, tag, key.data, key.size, value.data, value.size);
            count->rows++;
            rc = shard_cursor_next (cursor, &key, &value);
        }
        else {
            count->rows++;
            rc = db == SHARD_DB_DAYS ? shard_top_cache_invalidate (cache, txn, day, port) : 0;
            if (rc == 0)
                rc = shard_cursor_del (cursor);
            if (rc == 0)
                rc = shard_cursor_next (cursor, &key, &value);
        }
    }
    shard_cursor_destroy (&cursor);
}

//  --------------------------------------------------------------------------
//  The rows of slots inside chunks: exported one a row (out set), or cut out of
//  their chunks (out NULL): chunk changes are collected during the walk and written
//  after it, so the cursor never walks over its own writes.

typedef struct {
    uint8_t key[SHARD_KEY_CHUNK_MAX];  //  The chunk's key
    size_t key_size;
    shard_buffer_t value;  //  What remains, re-encoded (size 0: nothing)
    uint8_t new_key[SHARD_KEY_CHUNK_MAX];
    size_t new_key_size;
} s_change_t;

typedef struct {
    s_change_t *changes;
    size_t count, capacity;
    uint64_t removed;  //  Rows cut out
} s_changes_t;

static void
s_chunk_cut (s_changes_t *changes, const shard_bytes_t *key, uint16_t day, uint16_t port,
             size_t count, const shard_chunk_row_t *kept, size_t kept_count)
{
    if (changes->count == changes->capacity) {
        changes->capacity = changes->capacity ? changes->capacity * 2 : 16;
        changes->changes =
            (s_change_t *) realloc (changes->changes, changes->capacity * sizeof (s_change_t));
        assert (changes->changes);
    }
    s_change_t *change = &changes->changes[changes->count++];
    memset (change, 0, sizeof *change);
    memcpy (change->key, key->data, key->size);
    change->key_size = key->size;
    if (kept_count > 0) {
        shard_chunk_encode (kept, kept_count, &change->value);
        change->new_key_size = shard_key_chunk (change->new_key, day, port, &kept[0].addr);
    }
    changes->removed += count - kept_count;
}

static void
s_walk_chunks (shard_txn_t *txn, uint8_t daily, const shard_slots_t *slots, shard_buffer_t *out,
               shard_top_cache_t *cache, shard_slots_count_t *count)
{
    shard_chunk_row_t *rows =
        (shard_chunk_row_t *) malloc (2 * SHARD_CHUNK_ROWS_MAX * sizeof (shard_chunk_row_t));
    assert (rows);
    shard_chunk_row_t *kept = rows + SHARD_CHUNK_ROWS_MAX;
    s_changes_t changes = {NULL, 0, 0, 0};
    //  Rows of a segment under compaction up to its marker are in series too (the copy
    //  read), and their chunk copies are on their way out: only series exports them
    shard_segments_t segments;
    shard_segments_load (txn, &segments);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_CHUNKS);
    shard_bytes_t key, value;
    int rc = cursor ? shard_cursor_seek (cursor, NULL, 0, &key, &value) : -1;
    for (; rc == 0; rc = shard_cursor_next (cursor, &key, &value)) {
        uint16_t day, port;
        proto_addr_t first;
        int row_count = -1;
        if (shard_key_chunk_parse (key.data, key.size, &day, &port, &first) == 0)
            row_count = shard_chunk_decode (&first, value.data, value.size, rows);
        if (row_count < 0) {
            shard_txn_fail (txn, SHARD_DB_CHUNKS, "slots: chunk does not decode");
            break;
        }
        size_t kept_count = 0;
        for (int index = 0; index < row_count; index++) {
            if (!shard_slots_has (slots, proto_shard_slot (&rows[index].addr)))
                kept[kept_count++] = rows[index];
            else if (out && !shard_segments_holds (&segments, day, &rows[index].addr)) {
                uint8_t row_key[SHARD_KEY_DAY_MAX], row_value[SHARD_ROW_MAX];
                size_t key_size = shard_key_day (row_key, day, port, &rows[index].addr);
                size_t value_size = shard_row_encode (&rows[index].row, row_value);
                s_record (out, daily, row_key, key_size, row_value, value_size);
                count->rows++;
            }
        }
        if (!out && kept_count < (size_t) row_count) {
            s_chunk_cut (&changes, &key, day, port, (size_t) row_count, kept, kept_count);
            if (shard_top_cache_invalidate (cache, txn, day, port))
                break;
        }
    }
    shard_cursor_destroy (&cursor);
    for (size_t index = 0; index < changes.count; index++) {
        s_change_t *change = &changes.changes[index];
        shard_kv_del (txn, SHARD_DB_CHUNKS, change->key, change->key_size);
        if (change->value.size > 0)
            shard_kv_put (txn, SHARD_DB_CHUNKS, change->new_key, change->new_key_size,
                          change->value.data, change->value.size);
        shard_buffer_free (&change->value);
    }
    if (changes.removed > 0) {
        shard_meta_sub (txn, "archived_rows", changes.removed);
        count->rows += changes.removed;
    }
    free (changes.changes);
    free (rows);
}

//  --------------------------------------------------------------------------
//  The rows of slots held in series (compacted segments): exported one a row, or their
//  hosts' records deleted (out NULL, every (day, port) of their rows invalidated).

typedef struct {
    const shard_slots_t *slots;
    shard_txn_t *txn;
    uint8_t daily;
    shard_buffer_t *out;
    shard_top_cache_t *cache;
} s_series_walk_t;

static bool
s_series_pick (void *arg, const proto_addr_t *addr)
{
    return shard_slots_has (((s_series_walk_t *) arg)->slots, proto_shard_slot (addr));
}

static int
s_series_row (void *arg, uint16_t day, uint16_t port, const proto_addr_t *addr,
              const shard_row_t *row)
{
    s_series_walk_t *walk = (s_series_walk_t *) arg;
    if (!walk->out)
        return shard_top_cache_invalidate (walk->cache, walk->txn, day, port);
    uint8_t row_key[SHARD_KEY_DAY_MAX], row_value[SHARD_ROW_MAX];
    size_t key_size = shard_key_day (row_key, day, port, addr);
    size_t value_size = shard_row_encode (row, row_value);
    s_record (walk->out, walk->daily, row_key, key_size, row_value, value_size);
    return 0;
}

static void
s_walk_series (shard_txn_t *txn, uint8_t daily, const shard_slots_t *slots, shard_buffer_t *out,
               shard_top_cache_t *cache, shard_slots_count_t *count)
{
    s_series_walk_t walk = {slots, txn, daily, out, cache};
    uint64_t rows = 0;
    shard_segments_walk (txn, SHARD_SEGMENTS_ALL, s_series_pick, s_series_row, &walk, out == NULL,
                         &rows);
    count->rows += rows;
}

//  --------------------------------------------------------------------------
//  Every walk: export (out set) or delete (out NULL, lists invalidated in cache) the
//  data of slots, open-block values included; an export adds every open block's record.

static void
s_walk (shard_txn_t *txn, const shard_slots_t *slots, shard_buffer_t *out,
        shard_top_cache_t *caches[PROTO_DIRECTION_COUNT], shard_slots_count_t *count)
{
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        //  The in direction: the same walks over the *_in copies, marked in the string
        bool in = direction == PROTO_DIRECTION_IN;
        shard_txn_set_direction (txn, direction);
        for (size_t index = 0; index < TABLE_COUNT; index++)
            if (s_table[index].per_direction || !in)
                s_walk_table (txn, index, in ? TABLE_IN : 0, slots, out, count);
        uint8_t daily = in ? DAILY_ROW_IN : DAILY_ROW;
        shard_top_cache_t *cache = caches ? caches[direction] : NULL;
        s_walk_rows (txn, SHARD_DB_DAYS, daily, slots, out, cache, count);
        s_walk_chunks (txn, daily, slots, out, cache, count);
        s_walk_series (txn, daily, slots, out, cache, count);
        s_walk_rows (txn, SHARD_DB_ROWS, in ? OPEN_ROW_IN : OPEN_ROW, slots, out, NULL, count);
    }
    shard_txn_set_direction (txn, PROTO_DIRECTION_OUT);
    if (out)
        s_export_open (txn, out, count);
}

//  Rebuild the lists each direction's cache invalidated, and free the caches.  The
//  lists rebuilt are added to count; 0, or -1 if a rebuild failed.
static int
s_flush_caches (shard_txn_t *txn, shard_top_cache_t *caches[PROTO_DIRECTION_COUNT], bool write,
                shard_slots_count_t *count)
{
    int rc = 0;
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        shard_txn_set_direction (txn, direction);
        if (write && rc == 0 && (rc = shard_top_cache_flush (caches[direction], txn)) == 0)
            count->lists += shard_top_cache_recomputed (caches[direction]);
        shard_top_cache_destroy (&caches[direction]);
    }
    shard_txn_set_direction (txn, PROTO_DIRECTION_OUT);
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_slots_export (shard_store_t *store, const shard_slots_t *slots, shard_buffer_t *out,
                    shard_slots_count_t *count)
{
    assert (store);
    assert (slots);
    assert (out);
    assert (count);
    memset (count, 0, sizeof *count);
    shard_buffer_reset (out);
    shard_buffer_header (out, 0);
    s_record (out, SLOT_SET, "slots", 5, slots->bits, sizeof slots->bits);
    shard_txn_t *txn = shard_store_begin (store, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    s_walk (txn, slots, out, NULL, count);
    return shard_store_end (txn, false);
}

//  --------------------------------------------------------------------------
//  Write one daily row where it is (days or its chunk), else in days.

static int
s_import_row (shard_txn_t *txn, const shard_days_where_t *where, shard_top_cache_t *cache,
              const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size)
{
    uint16_t day, port;
    proto_addr_t addr;
    shard_row_t row, old;
    if (shard_key_day_parse (key, key_size, &day, &port, &addr) ||
        shard_row_decode (&row, value, value_size))
        return 1;
    uint8_t at = SHARD_DAYS_AT_DAYS;
    int rc = shard_days_get (txn, where, day, port, &addr, &old, &at);
    if (rc == -1 || shard_days_put (txn, where, day, port, &addr, &row, at))
        return -1;
    return shard_top_cache_invalidate (cache, txn, day, port);
}

//  --------------------------------------------------------------------------
//  Unite an open block's record from the source with ours: its sources join ours, the
//  earlier first arrival wins (so the grace period runs from the block's first part
//  anywhere).  A block final here stays final.  0, 1 if it does not decode, -1 failed.

static int
s_import_open (shard_txn_t *txn, const uint8_t *key, size_t key_size, const uint8_t *value,
               size_t value_size, shard_slots_count_t *count)
{
    static shard_open_t theirs, ours;  //  Large: not on the stack (one import at a time)
    if (key_size != SHARD_KEY_BLOCK_SIZE || shard_open_decode (&theirs, value, value_size))
        return 1;
    shard_bytes_t found;
    int rc = shard_kv_get (txn, SHARD_DB_FINAL, key, key_size, &found);
    if (rc != 1)
        return rc;  //  Final here (0), or failed
    rc = shard_kv_get (txn, SHARD_DB_OPEN, key, key_size, &found);
    if (rc == -1)
        return -1;
    if (rc == 0) {
        if (shard_open_decode (&ours, found.data, found.size)) {
            shard_txn_fail (txn, SHARD_DB_OPEN, "open block does not decode");
            return -1;
        }
        for (size_t index = 0; index < theirs.source_count; index++)
            shard_open_add (&ours, theirs.sources[index]);
        if (theirs.first_arrival < ours.first_arrival)
            ours.first_arrival = theirs.first_arrival;
    }
    else
        ours = theirs;
    shard_buffer_t buffer = {NULL, 0, 0};
    shard_open_encode (&ours, &buffer);
    rc = shard_kv_put (txn, SHARD_DB_OPEN, key, key_size, buffer.data, buffer.size);
    shard_buffer_free (&buffer);
    count->blocks++;
    return rc;
}

//  An open row of a moving host (put: we hold none of that host's before the switch).
//  0, 1 if it does not decode, SHARD_SLOTS_BUSY if its block is final here, -1 failed.
static int
s_import_open_row (shard_txn_t *txn, const uint8_t *key, size_t key_size, const uint8_t *value,
                   size_t value_size, shard_slots_count_t *count)
{
    int64_t block;
    proto_addr_t addr;
    uint16_t port;
    shard_open_row_t row;
    if (shard_key_row_parse (key, key_size, &block, &addr, &port) ||
        shard_open_row_decode (&row, value, value_size))
        return 1;
    uint8_t block_key[SHARD_KEY_BLOCK_SIZE];
    shard_key_block (block_key, block);
    shard_bytes_t found;
    int rc = shard_kv_get (txn, SHARD_DB_FINAL, block_key, sizeof block_key, &found);
    if (rc == 0) {
        //  Finalised here (grace) while the source still waits: the source finalises it
        //  too, soon, and folds these values into its daily rows; export again then
        shard_txn_fail (txn, SHARD_DB_FINAL,
                        "slots: a block open on the source is final here: export again");
        return SHARD_SLOTS_BUSY;
    }
    if (rc == -1 || shard_kv_put (txn, SHARD_DB_ROWS, key, key_size, value, value_size))
        return -1;
    count->rows++;
    return 0;
}

//  The slots of the string: drop the open rows we hold of their hosts, which only an
//  earlier import of the same batch can have put here (we do not own them yet), so
//  that a block the source finalised since is not counted twice.  0, or 1 if the value
//  is not a slot set.
static int
s_import_slots (shard_txn_t *txn, const uint8_t *value, size_t value_size)
{
    shard_slots_t slots;
    if (value_size != sizeof slots.bits)
        return 1;
    memcpy (slots.bits, value, sizeof slots.bits);
    shard_slots_count_t dropped = {0, 0, 0, 0};
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        shard_txn_set_direction (txn, direction);
        s_walk_rows (txn, SHARD_DB_ROWS, 0, &slots, NULL, NULL, &dropped);
    }
    return 0;
}

int
shard_slots_import (shard_store_t *store, const void *data, size_t size, shard_slots_count_t *count)
{
    assert (store);
    assert (data || size == 0);
    assert (count);
    memset (count, 0, sizeof *count);
    shard_txn_t *txn = shard_store_begin (store, true);
    if (!txn)
        return SHARD_STORE_FAILED;
    shard_top_cache_t *caches[PROTO_DIRECTION_COUNT];
    shard_days_where_t where[PROTO_DIRECTION_COUNT];
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        caches[direction] = shard_top_cache_new ();
        shard_txn_set_direction (txn, direction);
        //  A failure is sticky: the loop below ends
        shard_days_where (txn, &where[direction]);
    }
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    bool invalid = shard_reader_header (&reader) != 0, busy = false;
    while (!invalid && !busy && !shard_txn_failed (txn) && reader.data < reader.end) {
        uint8_t table = shard_reader_byte (&reader);
        uint64_t key_size = shard_reader_varint (&reader);
        const uint8_t *key =
            key_size <= SHARD_KEY_NOTE_MAX ? shard_reader_bytes (&reader, (size_t) key_size) : NULL;
        uint64_t value_size = shard_reader_varint (&reader);
        const uint8_t *value =
            value_size <= size ? shard_reader_bytes (&reader, (size_t) value_size) : NULL;
        bool daily = table == DAILY_ROW || table == DAILY_ROW_IN;
        bool special = table >= SLOT_SET;  //  Daily and open rows, open blocks, slots
        uint8_t direction =
            table == DAILY_ROW_IN || table == OPEN_ROW_IN || (!special && (table & TABLE_IN))
                ? PROTO_DIRECTION_IN
                : PROTO_DIRECTION_OUT;
        size_t index = special ? 0 : (size_t) (table & ~TABLE_IN);
        shard_txn_set_direction (txn, direction);
        int rc = 0;
        if (!key || !value || key_size == 0)
            invalid = true;
        else if (daily) {
            rc = s_import_row (txn, &where[direction], caches[direction], key, (size_t) key_size,
                               value, (size_t) value_size);
            count->rows += rc == 0;
        }
        else if (table == SLOT_SET)
            invalid = s_import_slots (txn, value, (size_t) value_size) != 0;
        else if (table == OPEN_BLOCK)
            rc = s_import_open (txn, key, (size_t) key_size, value, (size_t) value_size, count);
        else if (special)
            rc = s_import_open_row (txn, key, (size_t) key_size, value, (size_t) value_size, count);
        else if (index < TABLE_COUNT &&
                 (direction == PROTO_DIRECTION_OUT || s_table[index].per_direction) &&
                 s_key_slot (&s_table[index], key, (size_t) key_size) >= 0) {
            shard_kv_put (txn, s_table[index].db, key, (size_t) key_size, value,
                          (size_t) value_size);
            count->records++;
        }
        else
            invalid = true;
        invalid = invalid || rc == 1;
        busy = rc == SHARD_SLOTS_BUSY;
    }
    if (invalid)
        shard_txn_fail (txn, SHARD_DB_META, "slots: the export string does not decode");
    s_flush_caches (txn, caches, !invalid && !busy, count);
    int rc = shard_store_end (txn, true);
    return invalid ? SHARD_STORE_INVALID : busy ? SHARD_SLOTS_BUSY : rc;
}

//  --------------------------------------------------------------------------
int
shard_slots_delete (shard_store_t *store, const shard_slots_t *slots, shard_slots_count_t *count)
{
    assert (store);
    assert (slots);
    assert (count);
    memset (count, 0, sizeof *count);
    shard_txn_t *txn = shard_store_begin (store, true);
    if (!txn)
        return SHARD_STORE_FAILED;
    shard_top_cache_t *caches[PROTO_DIRECTION_COUNT] = {shard_top_cache_new (),
                                                        shard_top_cache_new ()};
    s_walk (txn, slots, NULL, caches, count);
    s_flush_caches (txn, caches, true, count);
    return shard_store_end (txn, true);
}
