/*  shard_kv.h - the shard store's transaction and key/value layer (internal).

    shard_store.c implements this on LMDB and is the only file that includes <lmdb.h>;
    the semantic modules (shard_fold, shard_top, shard_query, shard_retention) see only
    these opaque transactions and cursors.  Transactions are "sticky": the first failure
    (an LMDB error, or a value that does not decode, reported with shard_txn_fail) is
    recorded, every later call does nothing and returns -1, and the transaction can then
    only be aborted.  Bytes returned (shard_bytes_t) are borrowed from LMDB and valid until
    the next write in the transaction or its end.

    Returns: 0 done or found, 1 not found (absence is not an error), -1 failed (sticky).
*/
#ifndef SHARD_KV_H_INCLUDED
#define SHARD_KV_H_INCLUDED

#include "shard/shard_codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SHARD_DB_META = 0,  //  schema version and counters
    SHARD_DB_PARTS,     //  applied part ids
    SHARD_DB_OPEN,      //  open blocks
    SHARD_DB_FINAL,     //  final blocks
    SHARD_DB_ROWS,      //  values of open blocks
    SHARD_DB_DAYS,      //  daily rows of recent days (growing)
    SHARD_DB_ARCHIVE,   //  schema 1: daily rows of finished days (shard_store_migrate)
    SHARD_DB_TOP,       //  top lists
    SHARD_DB_HOSTS,     //  host records
    SHARD_DB_NOTES,     //  annotations
    SHARD_DB_CHUNKS,    //  daily rows of finished days, packed (shard_chunk.h)
    SHARD_DB_OTHERS,    //  per (day, host) traffic to ports not monitored (shard_others.h)
    SHARD_DB_SERIES,    //  rows of compacted segments, a record per (segment, host)
    //  The in direction's copies of the per-direction sub-databases (same layout).
    //  Modules name the out ones; a transaction set to the in direction
    //  (shard_txn_set_direction) reaches these instead.
    SHARD_DB_ROWS_IN,
    SHARD_DB_DAYS_IN,
    SHARD_DB_TOP_IN,
    SHARD_DB_HOSTS_IN,
    SHARD_DB_CHUNKS_IN,
    SHARD_DB_SERIES_IN,
    SHARD_DB_COUNT
} shard_db_t;

typedef struct {
    const uint8_t *data;  //  Borrowed (see above)
    size_t size;          //  Bytes
} shard_bytes_t;

typedef struct _shard_txn_t shard_txn_t;
typedef struct _shard_cursor_t shard_cursor_t;

//  Point operations.  put replaces any value.
int shard_kv_get (shard_txn_t *txn, shard_db_t db, const void *key, size_t key_size,
                  shard_bytes_t *value);
int shard_kv_put (shard_txn_t *txn, shard_db_t db, const void *key, size_t key_size,
                  const void *value, size_t value_size);
int shard_kv_del (shard_txn_t *txn, shard_db_t db, const void *key, size_t key_size);

//  Put key after the last key of db (MDB_APPEND: pages are filled, not split in half).
//  0 written, 1 if key does not sort after the last key (nothing written, the
//  transaction goes on), -1 failed.
int shard_kv_append (shard_txn_t *txn, shard_db_t db, const void *key, size_t key_size,
                     const void *value, size_t value_size);

//  Entries of a sub-database (mdb_stat), 0 if the transaction failed.
size_t shard_kv_count (shard_txn_t *txn, shard_db_t db);

//  Record a failure found above LMDB (e.g. a value that does not decode): the
//  transaction fails with text (logged once by the store, with the sub-database).
void shard_txn_fail (shard_txn_t *txn, shard_db_t db, const char *text);
bool shard_txn_failed (shard_txn_t *txn);

//  The direction (proto_direction_t) a transaction works in: with PROTO_DIRECTION_IN,
//  rows, days, top, hosts and chunks mean their in copies (rows_in, days_in...); every
//  other sub-database is shared.  A transaction starts in PROTO_DIRECTION_OUT.  Change
//  it only with no cursor open.
void shard_txn_set_direction (shard_txn_t *txn, uint8_t direction);
uint8_t shard_txn_direction (shard_txn_t *txn);

//  Cursors belong to their transaction and must be closed before it ends.  seek goes
//  to the first key >= key (key NULL: the first key of the database); next to the
//  following one; del deletes the current entry, after which next yields the entry
//  that followed it.  Each fills key and value of the entry reached.
shard_cursor_t *shard_cursor_new (shard_txn_t *txn, shard_db_t db);  //  NULL if failed
void shard_cursor_destroy (shard_cursor_t **self_p);
int shard_cursor_seek (shard_cursor_t *self, const void *key, size_t key_size,
                       shard_bytes_t *key_out, shard_bytes_t *value_out);
int shard_cursor_next (shard_cursor_t *self, shard_bytes_t *key_out, shard_bytes_t *value_out);
int shard_cursor_last (shard_cursor_t *self, shard_bytes_t *key_out, shard_bytes_t *value_out);
int shard_cursor_prev (shard_cursor_t *self, shard_bytes_t *key_out, shard_bytes_t *value_out);
int shard_cursor_del (shard_cursor_t *self);
//  Go to the greatest key <= key that starts with key's first prefix_size bytes and is
//  longer than them: 0 found, 1 none, -1 failed.
int shard_cursor_floor (shard_cursor_t *self, const void *key, size_t key_size, size_t prefix_size,
                        shard_bytes_t *key_out, shard_bytes_t *value_out);

//  The store's one transaction (shard_store.h's store), for internal modules and tests:
//  begin returns NULL on failure; end commits if asked and nothing failed, else aborts,
//  and returns SHARD_STORE_OK or the error met.
typedef struct _shard_store_t shard_store_t;
shard_txn_t *shard_store_begin (shard_store_t *store, bool write);
int shard_store_end (shard_txn_t *txn, bool commit);

//  For the store's own files (shard_store_query.c): record text as the store's error and
//  return SHARD_STORE_INVALID; the host record the queries decode into.
int shard_store_invalid (shard_store_t *store, const char *text);
shard_host_t *shard_store_scratch (shard_store_t *store);

//  Selftest of this layer (cursors, sticky errors, schema and lock refusal), in
//  shard_store.c
void shard_kv_test (bool verbose);

#endif
