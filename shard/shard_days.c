/*  shard_days.c - daily rows across `days` and `archive` (see shard_days.h).
 */
#include "shard/shard_days.h"
#include "shard/shard_keys.h"

#include <assert.h>
#include <string.h>

//  --------------------------------------------------------------------------
int
shard_days_archive_last (shard_txn_t *txn, uint32_t *day)
{
    assert (txn);
    assert (day);
    *day = 0;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_ARCHIVE);
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
int
shard_days_get (shard_txn_t *txn, uint32_t archive_last, uint16_t day, uint16_t port,
                const proto_addr_t *addr, shard_row_t *row, bool *archived)
{
    assert (txn);
    assert (addr);
    assert (row);
    uint8_t key[SHARD_KEY_DAY_MAX];
    size_t key_size = shard_key_day (key, day, port, addr);
    shard_bytes_t value;
    shard_db_t db = SHARD_DB_DAYS;
    int rc = shard_kv_get (txn, db, key, key_size, &value);
    if (rc == 1 && day <= archive_last) {
        db = SHARD_DB_ARCHIVE;
        rc = shard_kv_get (txn, db, key, key_size, &value);
    }
    if (archived)
        *archived = rc == 0 && db == SHARD_DB_ARCHIVE;  //  New rows go to days
    if (rc == 0 && shard_row_decode (row, value.data, value.size)) {
        shard_txn_fail (txn, db, "daily row does not decode");
        return -1;
    }
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_days_put (shard_txn_t *txn, uint16_t day, uint16_t port, const proto_addr_t *addr,
                const shard_row_t *row, bool archived)
{
    assert (txn);
    assert (addr);
    assert (row);
    uint8_t key[SHARD_KEY_DAY_MAX], bytes[SHARD_ROW_MAX];
    size_t key_size = shard_key_day (key, day, port, addr);
    return shard_kv_put (txn, archived ? SHARD_DB_ARCHIVE : SHARD_DB_DAYS, key, key_size, bytes,
                         shard_row_encode (row, bytes));
}

//  --------------------------------------------------------------------------
int
shard_days_scan (shard_txn_t *txn, uint16_t day, uint16_t port, shard_days_fn *row_fn, void *arg)
{
    assert (txn);
    assert (row_fn);
    uint8_t prefix[SHARD_KEY_TOP_SIZE];
    shard_key_top (prefix, day, port);
    shard_db_t dbs[] = {SHARD_DB_DAYS, SHARD_DB_ARCHIVE};
    int rc = 0;
    for (size_t index = 0; index < 2 && rc != -1; index++) {
        shard_cursor_t *cursor = shard_cursor_new (txn, dbs[index]);
        if (!cursor)
            return -1;
        shard_bytes_t key, value;
        rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
        while (rc == 0 && key.size > sizeof prefix &&
               memcmp (key.data, prefix, sizeof prefix) == 0) {
            uint16_t row_day, row_port;
            proto_addr_t addr;
            shard_row_t row;
            if (shard_key_day_parse (key.data, key.size, &row_day, &row_port, &addr) ||
                shard_row_decode (&row, value.data, value.size)) {
                shard_txn_fail (txn, dbs[index], "daily row does not decode");
                rc = -1;
                break;
            }
            row_fn (arg, &addr, &row);
            rc = shard_cursor_next (cursor, &key, &value);
        }
        shard_cursor_destroy (&cursor);
    }
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_days_archive (shard_txn_t *txn, uint32_t before_day, size_t budget, size_t *moved, bool *more)
{
    assert (txn);
    assert (moved && more);
    *moved = 0;
    *more = false;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_DAYS);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0 && shard_get16 (key.data) < before_day) {
        if (*moved == budget) {
            *more = true;
            break;
        }
        //  Appending fills pages; a key before the archive's last one (a row a late
        //  part added to a day already archived) is put normally
        uint8_t copy[SHARD_KEY_DAY_MAX + SHARD_ROW_MAX];
        if (key.size > SHARD_KEY_DAY_MAX || value.size > SHARD_ROW_MAX) {
            shard_txn_fail (txn, SHARD_DB_DAYS, "daily row too large");
            rc = -1;
            break;
        }
        memcpy (copy, key.data, key.size);
        memcpy (copy + key.size, value.data, value.size);
        rc = shard_kv_append (txn, SHARD_DB_ARCHIVE, copy, key.size, copy + key.size, value.size);
        if (rc == 1)
            rc = shard_kv_put (txn, SHARD_DB_ARCHIVE, copy, key.size, copy + key.size, value.size);
        if (rc == 0)
            rc = shard_cursor_del (cursor);
        if (rc == -1)
            break;
        (*moved)++;
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}
