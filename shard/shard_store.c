/*  shard_store.c - the shard's LMDB environment, and the only file that includes <lmdb.h>.

    Here live the environment (one per process, with a lock file so that a second
    process or a second store on the same directory is refused), the named
    sub-databases (opened in the first transaction, their handles kept for the life of
    the environment), the sticky-error transactions and cursors of shard_kv.h, the one
    function that maps LMDB codes (s_check), and the public methods that write (and the
    stats), which open a transaction, let shard_fold / shard_retention do the work, and
    commit or abort.  The read-only queries are in shard_store_query.c.

    LMDB codes: MDB_NOTFOUND is absence; MDB_MAP_FULL aborts the transaction and is
    returned as SHARD_STORE_FULL (the map is only ever grown by configuration, at
    start, when no transaction is open); MDB_READERS_FULL runs mdb_reader_check and
    retries once; MDB_MAP_RESIZED adopts the new size and retries once; anything else
    is returned as SHARD_STORE_FAILED with mdb_strerror's text in shard_store_error.
    Reads go through one cached read-only transaction, renewed for each query and reset
    right after it, so that no reader holds a snapshot while the process waits.
*/
#include "shard/shard_store.h"
#include "shard/shard_others.h"
#include "shard/shard_days.h"
#include "shard/shard_fold.h"
#include "shard/shard_changes.h"
#include "shard/shard_query.h"
#include "shard/shard_retention.h"
#include "shard/shard_compact.h"
#include "shard/shard_segments.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define ERROR_MAX 256
#define DUE_MAX 64  //  Blocks finalised per call of shard_store_finalise_due

static const char *s_db_names[SHARD_DB_COUNT] = {
    "meta",    "parts",  "open",     "final",     "rows",     "days",   "archive",
    "top",     "hosts",  "notes",    "chunks",    "others",   "series", "rows_in",
    "days_in", "top_in", "hosts_in", "chunks_in", "series_in"};

struct _shard_txn_t {
    shard_store_t *store;  //  Owner
    MDB_txn *handle;       //  LMDB transaction, NULL when none
    bool write;            //  A write transaction
    int rc;                //  First LMDB error, 0 if none
    bool failed;           //  Sticky: a call failed, the transaction can only abort
    uint8_t direction;     //  proto_direction_t: which copies of rows..chunks it reaches
};

struct _shard_cursor_t {
    shard_txn_t *txn;    //  Transaction it belongs to
    MDB_cursor *handle;  //  LMDB cursor
    shard_db_t db;       //  Its sub-database
};

struct _shard_store_t {
    char *path;                   //  Directory
    int lock_fd;                  //  flock'ed file in it, -1 if none
    MDB_env *env;                 //  The environment
    MDB_dbi dbi[SHARD_DB_COUNT];  //  Sub-database handles
    MDB_txn *reader;              //  Cached read-only transaction, reset when idle
    shard_txn_t txn;              //  The transaction under way (one at a time)
    shard_fold_t *fold;           //  Write work
    shard_retention_t retention[PROTO_DIRECTION_COUNT];  //  Retention progress per direction
    shard_host_t *scratch;                               //  Host record for queries
    bool verbose;                                        //  Debug logging
    char error[ERROR_MAX];                               //  Last failure
};

//  --------------------------------------------------------------------------
//  The sub-database db means in txn's direction (shard_kv.h).

static shard_db_t
s_direct (shard_txn_t *txn, shard_db_t db)
{
    if (txn->direction != PROTO_DIRECTION_IN)
        return db;
    switch (db) {
    case SHARD_DB_ROWS:
        return SHARD_DB_ROWS_IN;
    case SHARD_DB_DAYS:
        return SHARD_DB_DAYS_IN;
    case SHARD_DB_TOP:
        return SHARD_DB_TOP_IN;
    case SHARD_DB_HOSTS:
        return SHARD_DB_HOSTS_IN;
    case SHARD_DB_CHUNKS:
        return SHARD_DB_CHUNKS_IN;
    case SHARD_DB_SERIES:
        return SHARD_DB_SERIES_IN;
    default:
        return db;
    }
}

//  --------------------------------------------------------------------------
void
shard_txn_set_direction (shard_txn_t *txn, uint8_t direction)
{
    assert (txn);
    assert (direction < PROTO_DIRECTION_COUNT);
    txn->direction = direction;
}

//  --------------------------------------------------------------------------
uint8_t
shard_txn_direction (shard_txn_t *txn)
{
    assert (txn);
    return txn->direction;
}

//  --------------------------------------------------------------------------
//  Map an LMDB code: 0 success, 1 not found, -1 failure (recorded, sticky).

static int
s_check (shard_txn_t *txn, int rc, shard_db_t db, const char *what)
{
    if (rc == MDB_SUCCESS)
        return 0;
    if (rc == MDB_NOTFOUND)
        return 1;
    if (!txn->failed) {
        txn->failed = true;
        txn->rc = rc;
        snprintf (txn->store->error, ERROR_MAX, "store: %s %s: %s", what, s_db_names[db],
                  rc == MDB_MAP_FULL ? "map full (raise mapsize_mb)" : mdb_strerror (rc));
    }
    return -1;
}

//  --------------------------------------------------------------------------
void
shard_txn_fail (shard_txn_t *txn, shard_db_t db, const char *text)
{
    assert (txn);
    assert (text);
    if (!txn->failed) {
        txn->failed = true;
        snprintf (txn->store->error, ERROR_MAX, "store: %s: %s", s_db_names[s_direct (txn, db)],
                  text);
    }
}

//  --------------------------------------------------------------------------
bool
shard_txn_failed (shard_txn_t *txn)
{
    assert (txn);
    return txn->failed;
}

//  --------------------------------------------------------------------------
int
shard_kv_get (shard_txn_t *txn, shard_db_t db, const void *key, size_t key_size,
              shard_bytes_t *value)
{
    assert (txn);
    db = s_direct (txn, db);
    assert (value);
    if (txn->failed)
        return -1;
    MDB_val mdb_key = {key_size, (void *) key}, mdb_value;
    int rc =
        s_check (txn, mdb_get (txn->handle, txn->store->dbi[db], &mdb_key, &mdb_value), db, "get");
    value->data = rc == 0 ? (const uint8_t *) mdb_value.mv_data : NULL;
    value->size = rc == 0 ? mdb_value.mv_size : 0;
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_kv_put (shard_txn_t *txn, shard_db_t db, const void *key, size_t key_size, const void *value,
              size_t value_size)
{
    assert (txn);
    db = s_direct (txn, db);
    assert (txn->write);
    if (txn->failed)
        return -1;
    MDB_val mdb_key = {key_size, (void *) key}, mdb_value = {value_size, (void *) value};
    return s_check (txn, mdb_put (txn->handle, txn->store->dbi[db], &mdb_key, &mdb_value, 0), db,
                    "put");
}

//  --------------------------------------------------------------------------
int
shard_kv_del (shard_txn_t *txn, shard_db_t db, const void *key, size_t key_size)
{
    assert (txn);
    db = s_direct (txn, db);
    assert (txn->write);
    if (txn->failed)
        return -1;
    MDB_val mdb_key = {key_size, (void *) key};
    return s_check (txn, mdb_del (txn->handle, txn->store->dbi[db], &mdb_key, NULL), db, "del");
}

//  --------------------------------------------------------------------------
int
shard_kv_append (shard_txn_t *txn, shard_db_t db, const void *key, size_t key_size,
                 const void *value, size_t value_size)
{
    assert (txn);
    db = s_direct (txn, db);
    assert (txn->write);
    if (txn->failed)
        return -1;
    MDB_val mdb_key = {key_size, (void *) key}, mdb_value = {value_size, (void *) value};
    int rc = mdb_put (txn->handle, txn->store->dbi[db], &mdb_key, &mdb_value, MDB_APPEND);
    if (rc == MDB_KEYEXIST)
        return 1;
    return s_check (txn, rc, db, "append");
}

//  --------------------------------------------------------------------------
size_t
shard_kv_count (shard_txn_t *txn, shard_db_t db)
{
    assert (txn);
    db = s_direct (txn, db);
    MDB_stat stat;
    if (txn->failed ||
        s_check (txn, mdb_stat (txn->handle, txn->store->dbi[db], &stat), db, "stat"))
        return 0;
    return stat.ms_entries;
}

//  --------------------------------------------------------------------------
shard_cursor_t *
shard_cursor_new (shard_txn_t *txn, shard_db_t db)
{
    assert (txn);
    db = s_direct (txn, db);
    if (txn->failed)
        return NULL;
    MDB_cursor *handle;
    if (s_check (txn, mdb_cursor_open (txn->handle, txn->store->dbi[db], &handle), db, "cursor"))
        return NULL;
    shard_cursor_t *self = (shard_cursor_t *) zmalloc (sizeof (shard_cursor_t));
    assert (self);
    self->txn = txn;
    self->handle = handle;
    self->db = db;
    return self;
}

//  --------------------------------------------------------------------------
void
shard_cursor_destroy (shard_cursor_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        mdb_cursor_close ((*self_p)->handle);
        free (*self_p);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
static int
s_cursor_get (shard_cursor_t *self, MDB_val *key, MDB_cursor_op op, shard_bytes_t *key_out,
              shard_bytes_t *value_out)
{
    if (self->txn->failed)
        return -1;
    MDB_val value;
    int rc =
        s_check (self->txn, mdb_cursor_get (self->handle, key, &value, op), self->db, "cursor get");
    key_out->data = rc == 0 ? (const uint8_t *) key->mv_data : NULL;
    key_out->size = rc == 0 ? key->mv_size : 0;
    value_out->data = rc == 0 ? (const uint8_t *) value.mv_data : NULL;
    value_out->size = rc == 0 ? value.mv_size : 0;
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_cursor_seek (shard_cursor_t *self, const void *key, size_t key_size, shard_bytes_t *key_out,
                   shard_bytes_t *value_out)
{
    assert (self);
    assert (key_out && value_out);
    MDB_val mdb_key = {key_size, (void *) key};
    return s_cursor_get (self, &mdb_key, key ? MDB_SET_RANGE : MDB_FIRST, key_out, value_out);
}

//  --------------------------------------------------------------------------
int
shard_cursor_next (shard_cursor_t *self, shard_bytes_t *key_out, shard_bytes_t *value_out)
{
    assert (self);
    assert (key_out && value_out);
    MDB_val mdb_key;
    return s_cursor_get (self, &mdb_key, MDB_NEXT, key_out, value_out);
}

//  --------------------------------------------------------------------------
int
shard_cursor_last (shard_cursor_t *self, shard_bytes_t *key_out, shard_bytes_t *value_out)
{
    assert (self);
    assert (key_out && value_out);
    MDB_val mdb_key;
    return s_cursor_get (self, &mdb_key, MDB_LAST, key_out, value_out);
}

//  --------------------------------------------------------------------------
int
shard_cursor_prev (shard_cursor_t *self, shard_bytes_t *key_out, shard_bytes_t *value_out)
{
    assert (self);
    assert (key_out && value_out);
    MDB_val mdb_key;
    return s_cursor_get (self, &mdb_key, MDB_PREV, key_out, value_out);
}

//  --------------------------------------------------------------------------
int
shard_cursor_floor (shard_cursor_t *self, const void *key, size_t key_size, size_t prefix_size,
                    shard_bytes_t *key_out, shard_bytes_t *value_out)
{
    assert (self);
    assert (key && prefix_size <= key_size);
    int rc = shard_cursor_seek (self, key, key_size, key_out, value_out);
    if (rc == 0 && key_out->size == key_size && memcmp (key_out->data, key, key_size) == 0)
        return 0;
    if (rc == 0)
        rc = shard_cursor_prev (self, key_out, value_out);
    else if (rc == 1)
        rc = shard_cursor_last (self, key_out, value_out);
    if (rc == 0 && (key_out->size <= prefix_size || memcmp (key_out->data, key, prefix_size) != 0))
        return 1;
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_cursor_del (shard_cursor_t *self)
{
    assert (self);
    assert (self->txn->write);
    if (self->txn->failed)
        return -1;
    return s_check (self->txn, mdb_cursor_del (self->handle, 0), self->db, "cursor del");
}

//  --------------------------------------------------------------------------
//  Begin the store's transaction.  NULL on failure (error text set).

static shard_txn_t *
s_begin (shard_store_t *self, bool write)
{
    assert (!self->txn.handle);
    shard_txn_t *txn = &self->txn;
    memset (txn, 0, sizeof *txn);
    txn->store = self;
    txn->write = write;
    self->error[0] = 0;
    int rc = MDB_SUCCESS;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (write)
            rc = mdb_txn_begin (self->env, NULL, 0, &txn->handle);
        else if (self->reader) {
            rc = mdb_txn_renew (self->reader);
            txn->handle = rc == MDB_SUCCESS ? self->reader : NULL;
        }
        else {
            rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &self->reader);
            txn->handle = rc == MDB_SUCCESS ? self->reader : NULL;
        }
        if (rc == MDB_READERS_FULL) {
            int dead = 0;
            mdb_reader_check (self->env, &dead);
        }
        else if (rc == MDB_MAP_RESIZED)
            mdb_env_set_mapsize (self->env, 0);
        else
            break;
    }
    if (rc != MDB_SUCCESS) {
        txn->handle = NULL;
        snprintf (self->error, ERROR_MAX, "store: begin %s transaction: %s",
                  write ? "write" : "read", mdb_strerror (rc));
        return NULL;
    }
    return txn;
}

//  --------------------------------------------------------------------------
//  End the transaction: commit if asked and nothing failed, else abort (a read one is
//  reset).  Returns SHARD_STORE_OK or the error the transaction met.

static int
s_end (shard_txn_t *txn, bool commit)
{
    shard_store_t *self = txn->store;
    int rc = MDB_SUCCESS;
    if (!txn->write)
        mdb_txn_reset (txn->handle);
    else if (commit && !txn->failed) {
        rc = mdb_txn_commit (txn->handle);
        if (rc != MDB_SUCCESS)
            s_check (txn, rc, SHARD_DB_META, "commit");
    }
    else
        mdb_txn_abort (txn->handle);
    txn->handle = NULL;
    if (txn->write && (!commit || txn->failed))
        shard_fold_clear (self->fold);
    if (!txn->failed)
        return SHARD_STORE_OK;
    return txn->rc == MDB_MAP_FULL ? SHARD_STORE_FULL : SHARD_STORE_FAILED;
}

//  --------------------------------------------------------------------------
//  Internal access to the store's transaction (shard_kv.h).

shard_txn_t *
shard_store_begin (shard_store_t *self, bool write)
{
    assert (self);
    return s_begin (self, write);
}

int
shard_store_end (shard_txn_t *txn, bool commit)
{
    assert (txn);
    return s_end (txn, commit);
}

//  --------------------------------------------------------------------------
static void
s_schema_put (shard_txn_t *txn, uint64_t schema)
{
    uint8_t bytes[SHARD_META_SIZE];
    shard_meta_encode (schema, bytes);
    shard_kv_put (txn, SHARD_DB_META, "schema", 6, bytes, sizeof bytes);
}

//  --------------------------------------------------------------------------
//  Open the sub-databases and check the schema version, in one write transaction.
//  migrate: accept a schema 1 store (or one whose migration was interrupted) and mark
//  it SHARD_SCHEMA_MIGRATING, which every build refuses to serve from.

static int
s_open_databases (shard_store_t *self, bool migrate)
{
    shard_txn_t *txn = s_begin (self, true);
    if (!txn)
        return -1;
    for (int db = 0; db < SHARD_DB_COUNT; db++)
        if (!txn->failed)
            s_check (txn, mdb_dbi_open (txn->handle, s_db_names[db], MDB_CREATE, &self->dbi[db]),
                     (shard_db_t) db, "open");
    uint64_t schema = 0;
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_META, "schema", 6, &value);
    if (rc == 0 && shard_meta_decode (value.data, value.size, &schema))
        shard_txn_fail (txn, SHARD_DB_META, "schema version does not decode");
    else if (rc == 0 && migrate && (schema == SHARD_SCHEMA_OLD || schema == SHARD_SCHEMA_MIGRATING))
        s_schema_put (txn, SHARD_SCHEMA_MIGRATING);
    else if (rc == 0 && schema == SHARD_SCHEMA_OLD)
        snprintf (self->error, ERROR_MAX,
                  "store: %s holds schema 1 (a record per daily row); this build reads schema "
                  "%d: convert it with `portevo-shard --migrate --data %s` (every answer is "
                  "kept)",
                  self->path, SHARD_SCHEMA_VERSION, self->path);
    else if (rc == 0 && schema == SHARD_SCHEMA_MIGRATING)
        snprintf (self->error, ERROR_MAX,
                  "store: %s: a migration to schema %d was interrupted: run `portevo-shard "
                  "--migrate --data %s` again",
                  self->path, SHARD_SCHEMA_VERSION, self->path);
    else if (rc == 0 && (schema == SHARD_SCHEMA_CHUNKS || schema == SHARD_SCHEMA_SERIES))
        //  Nothing to convert: the tier starts empty, or its bare records are read as packs
        //  of one and rewritten as packs when changed
        s_schema_put (txn, SHARD_SCHEMA_VERSION);
    else if (rc == 0 && schema != SHARD_SCHEMA_VERSION)
        snprintf (self->error, ERROR_MAX,
                  "store: schema version %llu, this build reads version %d only",
                  (unsigned long long) schema, SHARD_SCHEMA_VERSION);
    else if (rc == 1) {
        size_t entries = 0;
        for (int db = 0; db < SHARD_DB_COUNT; db++)
            entries += shard_kv_count (txn, (shard_db_t) db);
        if (entries)
            snprintf (self->error, ERROR_MAX, "store: data without a schema version");
        else
            s_schema_put (txn, SHARD_SCHEMA_VERSION);
    }
    if (self->error[0] && !txn->failed) {
        s_end (txn, false);
        return -1;
    }
    return s_end (txn, true) == SHARD_STORE_OK ? 0 : -1;
}

//  --------------------------------------------------------------------------
static shard_store_t *
s_store_new (const char *path, uint64_t mapsize, bool migrate)
{
    assert (path);
    shard_store_t *self = (shard_store_t *) zmalloc (sizeof (shard_store_t));
    assert (self);
    self->lock_fd = -1;
    self->path = strdup (path);
    self->fold = shard_fold_new ();
    self->scratch = shard_host_new ();
    assert (self->path);
    if (zsys_dir_create ("%s", path)) {
        zsys_error ("store: cannot create %s: %s", path, strerror (errno));
        goto fail;
    }
    char lock_path[PATH_MAX];
    snprintf (lock_path, sizeof lock_path, "%s/shard.lock", path);
    self->lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->lock_fd == -1 || flock (self->lock_fd, LOCK_EX | LOCK_NB)) {
        zsys_error ("store: %s is in use by another process or store (%s)", path, strerror (errno));
        goto fail;
    }
    int rc = mdb_env_create (&self->env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs (self->env, SHARD_DB_COUNT);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_mapsize (self->env, (size_t) mapsize);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open (self->env, path, MDB_NOTLS, 0644);
    if (rc != MDB_SUCCESS) {
        zsys_error ("store: open %s: %s", path, mdb_strerror (rc));
        goto fail;
    }
    //  Readers left by a process killed mid-read
    int dead = 0;
    mdb_reader_check (self->env, &dead);
    if (s_open_databases (self, migrate)) {
        zsys_error ("store: open %s: %s", path, self->error);
        goto fail;
    }
    return self;
fail:
    shard_store_destroy (&self);
    return NULL;
}

//  --------------------------------------------------------------------------
shard_store_t *
shard_store_new (const char *path, uint64_t mapsize)
{
    return s_store_new (path, mapsize, false);
}

//  --------------------------------------------------------------------------
int
shard_store_migrate (const char *path, uint64_t mapsize, uint64_t *moved)
{
    assert (path);
    assert (moved);
    *moved = 0;
    shard_store_t *self = s_store_new (path, mapsize, true);
    if (!self)
        return SHARD_STORE_FAILED;
    int rc = SHARD_STORE_OK;
    bool more = true;
    while (more && rc == SHARD_STORE_OK) {
        shard_txn_t *txn = s_begin (self, true);
        if (!txn) {
            rc = SHARD_STORE_FAILED;
            break;
        }
        uint64_t schema = 0;
        shard_meta_get (txn, "schema", &schema);
        size_t batch = 0;
        if (schema == SHARD_SCHEMA_MIGRATING)
            shard_days_migrate (txn, SHARD_MIGRATE_BATCH, &batch, &more);
        else
            more = false;  //  Already at this build's schema
        if (!more && schema == SHARD_SCHEMA_MIGRATING)
            s_schema_put (txn, SHARD_SCHEMA_VERSION);
        rc = s_end (txn, true);
        if (rc == SHARD_STORE_OK)
            *moved += batch;
    }
    if (rc != SHARD_STORE_OK)
        zsys_error ("store: migrate %s: %s", path, self->error);
    shard_store_destroy (&self);
    return rc;
}

//  --------------------------------------------------------------------------
void
shard_store_destroy (shard_store_t **self_p)
{
    assert (self_p);
    shard_store_t *self = *self_p;
    if (self) {
        assert (!self->txn.handle);
        if (self->reader)
            mdb_txn_abort (self->reader);
        if (self->env)
            mdb_env_close (self->env);
        if (self->lock_fd != -1)
            close (self->lock_fd);
        shard_host_destroy (&self->scratch);
        shard_fold_destroy (&self->fold);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
void
shard_store_set_retention_days (shard_store_t *self, uint32_t retention_days)
{
    assert (self);
    shard_fold_set_retention_days (self->fold, retention_days);
}

//  --------------------------------------------------------------------------
void
shard_store_set_grace_secs (shard_store_t *self, uint32_t grace_secs)
{
    assert (self);
    shard_fold_set_grace_secs (self->fold, grace_secs);
}

//  --------------------------------------------------------------------------
void
shard_store_set_ingestors (shard_store_t *self, const char **names, size_t count)
{
    assert (self);
    assert (names || count == 0);
    shard_fold_set_ingestors (self->fold, names, count);
}

//  --------------------------------------------------------------------------
void
shard_store_set_verbose (shard_store_t *self, bool verbose)
{
    assert (self);
    self->verbose = verbose;
}

//  --------------------------------------------------------------------------
int
shard_store_set_segment_days (shard_store_t *self, uint32_t days)
{
    assert (self);
    shard_txn_t *txn = s_begin (self, true);
    if (!txn)
        return -1;
    uint32_t kept = 0;
    shard_segments_init (txn, days, &kept);
    return s_end (txn, true) == SHARD_STORE_OK ? (int) kept : -1;
}

//  --------------------------------------------------------------------------
const char *
shard_store_error (shard_store_t *self)
{
    assert (self);
    return self->error;
}

//  --------------------------------------------------------------------------
static int
s_invalid (shard_store_t *self, const char *text)
{
    snprintf (self->error, ERROR_MAX, "%s", text);
    return SHARD_STORE_INVALID;
}

int
shard_store_invalid (shard_store_t *self, const char *text)
{
    assert (self);
    return s_invalid (self, text);
}

shard_host_t *
shard_store_scratch (shard_store_t *self)
{
    assert (self);
    return self->scratch;
}

//  --------------------------------------------------------------------------
int
shard_store_apply_part (shard_store_t *self, const char *source, const char *file, int64_t block,
                        shard_pair_at_fn *pair_at, void *pairs, size_t pair_count, int64_t now,
                        shard_part_result_t *result)
{
    shard_pairs_t sets[PROTO_DIRECTION_COUNT] = {{pair_at, pairs, pair_count}, {NULL, NULL, 0}};
    return shard_store_apply_directions (self, source, file, block, sets, NULL, now, result);
}

//  --------------------------------------------------------------------------
int
shard_store_apply_part_others (shard_store_t *self, const char *source, const char *file,
                               int64_t block, shard_pair_at_fn *pair_at, void *pairs,
                               size_t pair_count, proto_msg_t *others, int64_t now,
                               shard_part_result_t *result)
{
    shard_pairs_t sets[PROTO_DIRECTION_COUNT] = {{pair_at, pairs, pair_count}, {NULL, NULL, 0}};
    return shard_store_apply_directions (self, source, file, block, sets, others, now, result);
}

//  --------------------------------------------------------------------------
int
shard_store_apply_directions (shard_store_t *self, const char *source, const char *file,
                              int64_t block, const shard_pairs_t sets[PROTO_DIRECTION_COUNT],
                              proto_msg_t *others, int64_t now, shard_part_result_t *result)
{
    assert (self);
    assert (source && file && result);
    memset (result, 0, sizeof *result);
    self->error[0] = 0;
    if (*source == 0 || strlen (source) > SHARD_SOURCE_MAX)
        return s_invalid (self, "source: empty or too long");
    if (strlen (file) > PROTO_PATH_MAX)
        return s_invalid (self, "file: too long");
    if (block < 0 || proto_day_of (block) > SHARD_DAY_MAX)
        return s_invalid (self, "block: before 1970 or after 2149");
    char error[ERROR_MAX];
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++)
        if (shard_fold_check (self->fold, direction, sets[direction].pair_at, sets[direction].pairs,
                              sets[direction].count, error, sizeof error)) {
            s_invalid (self, "");
            snprintf (self->error, ERROR_MAX, "%s%.200s",
                      direction == PROTO_DIRECTION_IN ? "pairs_in: " : "", error);
            return SHARD_STORE_INVALID;
        }
    shard_txn_t *txn = s_begin (self, true);
    if (!txn)
        return SHARD_STORE_FAILED;
    int rc = shard_fold_part (self->fold, txn, source, file, block, sets, now, result);
    if (rc == 0 && !result->duplicate)
        shard_fold_flush (self->fold, txn);
    if (rc == 0 && !result->duplicate && !result->expired && others) {
        shard_txn_set_direction (txn, PROTO_DIRECTION_OUT);
        shard_others_apply (txn, proto_day_of (block), others);  //  Sticky on failure
    }
    rc = s_end (txn, !result->duplicate);
    if (rc != SHARD_STORE_OK)
        memset (result, 0, sizeof *result);
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_store_finalise_due (shard_store_t *self, int64_t now, size_t *finalised)
{
    assert (self);
    if (finalised)
        *finalised = 0;
    int64_t blocks[DUE_MAX];
    shard_txn_t *txn = s_begin (self, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    int count = shard_fold_due (self->fold, txn, now, blocks, DUE_MAX);
    int rc = s_end (txn, false);
    for (int index = 0; index < count && rc == SHARD_STORE_OK; index++) {
        txn = s_begin (self, true);
        if (!txn)
            return SHARD_STORE_FAILED;
        int done = shard_fold_finalise (self->fold, txn, blocks[index], now);
        if (done == 0)
            shard_fold_flush (self->fold, txn);
        rc = s_end (txn, done == 0);
        if (rc == SHARD_STORE_OK && done == 0 && finalised)
            (*finalised)++;
    }
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_store_expire (shard_store_t *self, int64_t now, size_t max_deletes, bool *more)
{
    assert (self);
    assert (more);
    *more = false;
    shard_txn_t *txn = s_begin (self, true);
    if (!txn)
        return SHARD_STORE_FAILED;
    size_t deleted = 0;
    uint32_t cutoff = shard_fold_cutoff_day (self->fold, now);
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        //  The in pass also trims the shared part ids and blocks: nothing is left there
        size_t done = 0;
        bool left = false;
        shard_txn_set_direction (txn, direction);
        if (deleted < max_deletes)
            shard_retention_run (&self->retention[direction], txn, cutoff, max_deletes - deleted,
                                 &done, &left);
        else
            left = true;
        deleted += done;
        *more |= left;
    }
    int rc = s_end (txn, true);
    if (rc != SHARD_STORE_OK)
        *more = false;
    else if (self->verbose && deleted)
        zsys_debug ("store: retention deleted %zu entries", deleted);
    return rc;
}

//  --------------------------------------------------------------------------
//  One maintenance batch in each direction, in one transaction: step_fn (txn, day,
//  budget, &done, &more) with the budget max_work shares; what (e.g. "archived %zu daily
//  rows") logged with the work done when verbose.

typedef int (s_step_fn) (shard_txn_t *txn, uint32_t day, size_t budget, size_t *done, bool *more);

static int
s_maintain (shard_store_t *self, s_step_fn *step_fn, uint32_t day, size_t max_work, bool *more,
            const char *what)
{
    assert (self);
    assert (more);
    *more = false;
    shard_txn_t *txn = s_begin (self, true);
    if (!txn)
        return SHARD_STORE_FAILED;
    size_t work = 0;
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        size_t done = 0;
        bool left = false;
        shard_txn_set_direction (txn, direction);
        if (work < max_work)
            step_fn (txn, day, max_work - work, &done, &left);
        else
            left = true;
        work += done;
        *more |= left;
    }
    int rc = s_end (txn, true);
    if (rc != SHARD_STORE_OK)
        *more = false;
    else if (self->verbose && work)
        zsys_debug (what, work);
    return rc;
}

int
shard_store_archive (shard_store_t *self, int64_t now, size_t max_moves, bool *more)
{
    uint32_t today = proto_day_of (now < 0 ? 0 : now);
    return s_maintain (self, shard_days_archive, today > 1 ? today - 1 : 0, max_moves, more,
                       "store: archived %zu daily rows");
}

int
shard_store_compact (shard_store_t *self, int64_t now, size_t max_rows, bool *more)
{
    return s_maintain (self, shard_compact_run, proto_day_of (now < 0 ? 0 : now), max_rows, more,
                       "store: compacted %zu daily rows or chunks");
}

//  --------------------------------------------------------------------------
int
shard_store_annotate (shard_store_t *self, shard_annotation_at_fn *annotation_at, void *annotations,
                      size_t count, size_t *stored)
{
    assert (self);
    assert (annotation_at || count == 0);
    if (stored)
        *stored = 0;
    self->error[0] = 0;
    for (size_t index = 0; index < count; index++) {
        proto_annotation_t note;
        annotation_at (annotations, index, &note);
        size_t name_size = strlen (note.rrname), type_size = strlen (note.rrtype);
        if (name_size == 0 || name_size > PROTO_RRNAME_MAX || type_size == 0 ||
            type_size > PROTO_RRTYPE_MAX) {
            snprintf (self->error, ERROR_MAX, "annotation %zu: rrname or rrtype empty or too long",
                      index);
            return SHARD_STORE_INVALID;
        }
    }
    shard_txn_t *txn = s_begin (self, true);
    if (!txn)
        return SHARD_STORE_FAILED;
    for (size_t index = 0; index < count && !txn->failed; index++) {
        proto_annotation_t note;
        annotation_at (annotations, index, &note);
        shard_fold_annotate (self->fold, txn, &note);
    }
    shard_fold_flush (self->fold, txn);
    int rc = s_end (txn, true);
    if (rc == SHARD_STORE_OK && stored)
        *stored = count;
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_store_stats (shard_store_t *self, shard_store_stats_t *stats)
{
    assert (self);
    assert (stats);
    memset (stats, 0, sizeof *stats);
    shard_txn_t *txn = s_begin (self, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    stats->hosts = shard_kv_count (txn, SHARD_DB_HOSTS);
    //  Rows of both directions (the archived rows counter counts both; hosts: those of
    //  the out direction, as before)
    shard_days_archived_rows (txn, &stats->archived_rows);
    shard_segments_rows (txn, &stats->series_rows);
    stats->rows = stats->archived_rows + stats->series_rows;
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        shard_txn_set_direction (txn, direction);
        stats->rows += shard_kv_count (txn, SHARD_DB_DAYS);
    }
    shard_txn_set_direction (txn, PROTO_DIRECTION_OUT);
    stats->open_blocks = shard_kv_count (txn, SHARD_DB_OPEN);
    shard_meta_get (txn, "parts_applied", &stats->parts_applied);
    shard_meta_get (txn, "late_parts", &stats->late_parts);
    shard_meta_get (txn, "old_parts", &stats->old_parts);
    shard_meta_get (txn, "last_block", &stats->last_block);
    MDB_envinfo info;
    MDB_stat env_stat, days_stat;
    if (!txn->failed) {
        mdb_env_info (self->env, &info);
        mdb_env_stat (self->env, &env_stat);
        stats->map_bytes = info.me_mapsize;
        stats->lmdb_bytes = (uint64_t) (info.me_last_pgno + 1) * env_stat.ms_psize;
    }
    //  Pages in use per sub-database, added up by what they scale with
    for (int db = 0; db < SHARD_DB_COUNT && !txn->failed; db++) {
        if (s_check (txn, mdb_stat (txn->handle, self->dbi[db], &days_stat), (shard_db_t) db,
                     "stat"))
            break;
        uint64_t bytes = (uint64_t) (days_stat.ms_branch_pages + days_stat.ms_leaf_pages +
                                     days_stat.ms_overflow_pages) *
                         days_stat.ms_psize;
        if (db == SHARD_DB_DAYS || db == SHARD_DB_ARCHIVE || db == SHARD_DB_CHUNKS ||
            db == SHARD_DB_DAYS_IN || db == SHARD_DB_CHUNKS_IN || db == SHARD_DB_SERIES ||
            db == SHARD_DB_SERIES_IN) {
            stats->rows_bytes += bytes;
            if (db == SHARD_DB_SERIES || db == SHARD_DB_SERIES_IN)
                stats->series_bytes += bytes;
        }
        else if (db == SHARD_DB_HOSTS || db == SHARD_DB_NOTES || db == SHARD_DB_HOSTS_IN)
            stats->hosts_bytes += bytes;
        else
            stats->other_bytes += bytes;
    }
    stats->top_rebuilds = shard_fold_rebuilds (self->fold);
    return s_end (txn, false);
}
