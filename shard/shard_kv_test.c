/*  shard_kv_test.c - selftest of the shard store's transaction and key/value layer
    (shard_kv.h): cursors, sticky errors, the lock and the schema refusal.  The store's
    semantics are tested in shard_store_test.c.
*/
#include "shard/shard_codec.h"
#include "shard/shard_kv.h"
#include "shard/shard_store.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Selftest of the LMDB layer; the store's semantics are tested in shard_store_test.c.

static void
s_remove_store (const char *dir)
{
    const char *files[] = {"data.mdb", "lock.mdb", "shard.lock"};
    for (size_t index = 0; index < sizeof files / sizeof files[0]; index++) {
        char path[PATH_MAX];
        snprintf (path, sizeof path, "%s/%s", dir, files[index]);
        unlink (path);
    }
    rmdir (dir);
}

void
shard_kv_test (bool verbose)
{
    printf (" * shard_kv: ");
    //  Expected failures log errors: keep them off the result line unless verbose
    if (!verbose)
        zsys_set_logstream (NULL);
    char dir[] = "/tmp/shard_kv_test.XXXXXX";
    assert (mkdtemp (dir));
    shard_store_t *store = shard_store_new (dir, 1 << 20);
    assert (store);
    //  A second store on the same directory is refused (the lock)
    assert (shard_store_new (dir, 1 << 20) == NULL);

    //  Cursor: del then next yields the entry that followed; sticky errors
    shard_txn_t *txn = shard_store_begin (store, true);
    assert (txn);
    const char *keys[] = {"a", "b", "c", "d", "e"};
    for (size_t index = 0; index < 5; index++)
        assert (shard_kv_put (txn, SHARD_DB_NOTES, keys[index], 1, "v", 1) == 0);
    shard_bytes_t key, value;
    assert (shard_kv_get (txn, SHARD_DB_NOTES, "z", 1, &value) == 1);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_NOTES);
    assert (shard_cursor_seek (cursor, "b", 1, &key, &value) == 0 && key.data[0] == 'b');
    assert (shard_cursor_del (cursor) == 0);
    assert (shard_cursor_next (cursor, &key, &value) == 0 && key.data[0] == 'c');
    assert (shard_cursor_seek (cursor, NULL, 0, &key, &value) == 0 && key.data[0] == 'a');
    size_t deleted = 0;
    int rc = 0;
    while (rc == 0) {
        assert (shard_cursor_del (cursor) == 0);
        deleted++;
        rc = shard_cursor_next (cursor, &key, &value);
    }
    assert (rc == 1 && deleted == 4);
    shard_cursor_destroy (&cursor);
    assert (shard_kv_count (txn, SHARD_DB_NOTES) == 0);
    assert (shard_kv_put (txn, SHARD_DB_NOTES, "k", 1, "v", 1) == 0);
    assert (shard_store_end (txn, true) == SHARD_STORE_OK);

    txn = shard_store_begin (store, true);
    assert (shard_kv_del (txn, SHARD_DB_NOTES, "k", 1) == 0);
    shard_txn_fail (txn, SHARD_DB_NOTES, "test failure");
    assert (shard_txn_failed (txn));
    assert (shard_kv_put (txn, SHARD_DB_NOTES, "x", 1, "v", 1) == -1);
    assert (shard_kv_get (txn, SHARD_DB_NOTES, "k", 1, &value) == -1);
    assert (shard_cursor_new (txn, SHARD_DB_NOTES) == NULL);
    assert (shard_store_end (txn, true) == SHARD_STORE_FAILED);
    assert (strstr (shard_store_error (store), "test failure"));
    //  The failed transaction was aborted: "k" is still there, "x" is not
    txn = shard_store_begin (store, false);
    assert (shard_kv_get (txn, SHARD_DB_NOTES, "k", 1, &value) == 0);
    assert (shard_kv_get (txn, SHARD_DB_NOTES, "x", 1, &value) == 1);
    assert (shard_store_end (txn, false) == SHARD_STORE_OK);

    //  A store of another schema version is refused
    txn = shard_store_begin (store, true);
    uint8_t schema[SHARD_META_SIZE];
    shard_meta_encode (SHARD_SCHEMA_VERSION + 1, schema);
    assert (shard_kv_put (txn, SHARD_DB_META, "schema", 6, schema, sizeof schema) == 0);
    assert (shard_store_end (txn, true) == SHARD_STORE_OK);
    shard_store_destroy (&store);
    assert (store == NULL);
    assert (shard_store_new (dir, 1 << 20) == NULL);
    s_remove_store (dir);
    zsys_set_logstream (stdout);
    printf ("OK\n");
}
