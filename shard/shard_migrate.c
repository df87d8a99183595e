/*  shard_migrate.c - schema 2 to 3: chunks re-encoded compressed (see shard_migrate.h).
 */
#include "shard/shard_migrate.h"
#include "shard/shard_chunk.h"
#include "shard/shard_keys.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define REPACK_AT "repack_at"  //  meta: key of the next chunk to look at (raw bytes)

typedef struct {
    shard_txn_t *txn;                        //  Transaction written in
    uint8_t prefix[SHARD_KEY_CHUNK_PREFIX];  //  (day, port, family) of the rows held
    shard_chunk_row_t *rows;                 //  Rows held, ascending (2 x ROWS_MAX)
    size_t count;                            //  Rows held
    shard_buffer_t buffer;                   //  Encoding scratch
} s_packer_t;

//  --------------------------------------------------------------------------
//  Write the rows held as chunks, all of them or (all: false) while a full chunk's
//  worth remains.  0 or -1.

static int
s_packer_write (s_packer_t *self, bool all)
{
    uint16_t day = shard_get16 (self->prefix), port = shard_get16 (self->prefix + 2);
    size_t start = 0;
    while (self->count - start >= (all ? 1 : SHARD_CHUNK_ROWS_MAX)) {
        size_t fit = shard_chunk_fit (self->rows + start, self->count - start);
        shard_chunk_encode (self->rows + start, fit, &self->buffer);
        uint8_t key[SHARD_KEY_CHUNK_MAX];
        size_t key_size = shard_key_chunk (key, day, port, &self->rows[start].addr);
        if (shard_kv_put (self->txn, SHARD_DB_CHUNKS, key, key_size, self->buffer.data,
                          self->buffer.size))
            return -1;
        start += fit;
    }
    memmove (self->rows, self->rows + start, (self->count - start) * sizeof *self->rows);
    self->count -= start;
    return 0;
}

//  --------------------------------------------------------------------------
//  Decode the schema 2 chunk at key/value into the rows held.  Its row count, or -1.

static int
s_packer_take (s_packer_t *self, const shard_bytes_t *key, const shard_bytes_t *value)
{
    uint16_t day, port;
    proto_addr_t first;
    int count = -1;
    if (shard_key_chunk_parse (key->data, key->size, &day, &port, &first) == 0)
        count = shard_chunk_decode (&first, value->data, value->size, self->rows + self->count);
    if (count < 0 || memcmp (&self->rows[self->count].addr, &first, sizeof first) != 0) {
        shard_txn_fail (self->txn, SHARD_DB_CHUNKS, "chunk does not decode");
        return -1;
    }
    memcpy (self->prefix, key->data, SHARD_KEY_CHUNK_PREFIX);
    self->count += (size_t) count;
    return count;
}

//  A copy of a key (at most SHARD_KEY_CHUNK_MAX bytes: a chunk key)
static size_t
s_key_copy (uint8_t *out, const shard_bytes_t *key)
{
    size_t size = key->size < SHARD_KEY_CHUNK_MAX ? key->size : SHARD_KEY_CHUNK_MAX;
    memcpy (out, key->data, size);
    return size;
}

//  --------------------------------------------------------------------------
int
shard_migrate_repack (shard_txn_t *txn, size_t budget, size_t *moved, bool *more)
{
    assert (txn);
    assert (moved && more);
    *moved = 0;
    *more = false;
    uint8_t at[SHARD_KEY_CHUNK_MAX];
    size_t at_size = 0;
    shard_bytes_t saved;
    int rc = shard_kv_get (txn, SHARD_DB_META, REPACK_AT, strlen (REPACK_AT), &saved);
    if (rc == 0 && saved.size <= sizeof at) {
        memcpy (at, saved.data, saved.size);
        at_size = saved.size;
    }
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_CHUNKS);
    if (rc == -1 || !cursor) {
        shard_cursor_destroy (&cursor);
        return -1;
    }
    s_packer_t packer = {txn, {0}, NULL, 0, {NULL, 0, 0}};
    packer.rows = (shard_chunk_row_t *) malloc (2 * SHARD_CHUNK_ROWS_MAX * sizeof *packer.rows);
    assert (packer.rows);
    shard_bytes_t key, value;
    rc = shard_cursor_seek (cursor, at_size ? at : NULL, at_size, &key, &value);
    while (rc == 0) {
        bool compressed = shard_chunk_compressed (value.data, value.size);
        if (packer.count && (*moved >= budget || compressed || key.size <= SHARD_KEY_CHUNK_PREFIX ||
                             memcmp (key.data, packer.prefix, SHARD_KEY_CHUNK_PREFIX) != 0)) {
            //  Before another prefix, a chunk left as it is or the batch's end: write
            //  the rows held (their chunks lie before key), then come back to key
            at_size = s_key_copy (at, &key);
            if (s_packer_write (&packer, true) == -1) {
                rc = -1;
                break;
            }
            rc = shard_cursor_seek (cursor, at, at_size, &key, &value);
            continue;
        }
        if (*moved >= budget) {
            at_size = s_key_copy (at, &key);
            *more = true;
            break;
        }
        if (compressed) {
            rc = shard_cursor_next (cursor, &key, &value);
            continue;
        }
        uint8_t taken[SHARD_KEY_CHUNK_MAX];
        size_t taken_size = s_key_copy (taken, &key);
        int count = s_packer_take (&packer, &key, &value);
        if (count < 0)
            rc = -1;
        else
            rc = shard_cursor_next (cursor, &key, &value);
        if (rc == -1)
            break;
        bool end = rc == 1;
        if (!end)
            at_size = s_key_copy (at, &key);
        //  Delete it and write its rows (with those held before): the chunks written
        //  lie before the next one, which the cursor comes back to
        if (shard_kv_del (txn, SHARD_DB_CHUNKS, taken, taken_size) == -1 ||
            s_packer_write (&packer, false) == -1) {
            rc = -1;
            break;
        }
        *moved += (size_t) count;
        rc = end ? 1 : shard_cursor_seek (cursor, at, at_size, &key, &value);
    }
    if (rc == 1)
        rc = s_packer_write (&packer, true);
    if (rc != -1 && *more)
        rc = shard_kv_put (txn, SHARD_DB_META, REPACK_AT, strlen (REPACK_AT), at, at_size);
    else if (rc != -1 && shard_kv_del (txn, SHARD_DB_META, REPACK_AT, strlen (REPACK_AT)) == -1)
        rc = -1;
    free (packer.rows);
    shard_buffer_free (&packer.buffer);
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}
