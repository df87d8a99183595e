/*  shard_retention.c - batched deletion of expired days (see shard_retention.h).
 */
#include "shard/shard_retention.h"
#include "shard/shard_codec.h"
#include "shard/shard_days.h"

#include <assert.h>
#include <string.h>

#define SECS_PER_DAY 86400

//  --------------------------------------------------------------------------
//  Delete the cursor's entry and count it against the budget.  0 or -1.

static int
s_delete (shard_cursor_t *cursor, size_t *budget, size_t *deleted)
{
    if (shard_cursor_del (cursor))
        return -1;
    (*budget)--;
    (*deleted)++;
    return 0;
}

//  --------------------------------------------------------------------------
//  Delete entries from the first key of db while their key sorts before limit (a
//  prefix of limit_size bytes); at most *budget.  0 or -1.

static int
s_trim (shard_txn_t *txn, shard_db_t db, const uint8_t *limit, size_t limit_size, size_t *budget,
        size_t *deleted)
{
    shard_cursor_t *cursor = shard_cursor_new (txn, db);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0 && *budget > 0 && key.size >= limit_size &&
           memcmp (key.data, limit, limit_size) < 0) {
        rc = s_delete (cursor, budget, deleted);
        if (rc == 0)
            rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  One step of the hosts pass.  0 or -1.

static int
s_trim_hosts (shard_retention_t *self, shard_txn_t *txn, uint32_t cutoff_day, size_t *budget,
              size_t *deleted)
{
    if (self->hosts_cutoff != cutoff_day) {
        self->hosts_cutoff = cutoff_day;
        self->hosts_done = false;
        self->hosts_next_size = 0;
    }
    if (self->hosts_done)
        return 0;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_HOSTS);
    if (!cursor)
        return -1;
    shard_host_t *host = shard_host_new ();
    size_t examine = *budget * SHARD_RETENTION_EXAMINE;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, self->hosts_next_size ? self->hosts_next : NULL,
                                self->hosts_next_size, &key, &value);
    while (rc == 0 && *budget > 0 && examine > 0) {
        examine--;
        if (shard_host_decode (host, value.data, value.size)) {
            shard_txn_fail (txn, SHARD_DB_HOSTS, "host record does not decode");
            rc = -1;
            break;
        }
        if ((host->flags & SHARD_HOST_TRAFFIC) && host->annotations == 0 &&
            proto_day_of (host->last_seen) < cutoff_day && s_delete (cursor, budget, deleted)) {
            rc = -1;
            break;
        }
        rc = shard_cursor_next (cursor, &key, &value);
    }
    if (rc == 1)
        self->hosts_done = true;
    else if (rc == 0 && key.size <= sizeof self->hosts_next) {
        memcpy (self->hosts_next, key.data, key.size);
        self->hosts_next_size = key.size;
    }
    shard_host_destroy (&host);
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_retention_run (shard_retention_t *self, shard_txn_t *txn, uint32_t cutoff_day, size_t budget,
                     size_t *deleted, bool *more)
{
    assert (self);
    assert (txn);
    assert (deleted && more);
    *deleted = 0;
    uint8_t day_limit[2], block_limit[SHARD_KEY_BLOCK_SIZE];
    shard_put16 (day_limit, (uint16_t) (cutoff_day > SHARD_DAY_MAX ? SHARD_DAY_MAX : cutoff_day));
    shard_key_block (block_limit, (int64_t) cutoff_day * SECS_PER_DAY);
    size_t left = budget;
    //  In key order within each sub-database; open rows before their open block, so
    //  that a batch never leaves rows orphaned from a block it deleted
    int rc = shard_days_expire (txn, cutoff_day, &left, deleted);
    if (rc == 0)
        rc = s_trim (txn, SHARD_DB_ARCHIVE, day_limit, sizeof day_limit, &left, deleted);
    if (rc == 0)
        rc = s_trim (txn, SHARD_DB_DAYS, day_limit, sizeof day_limit, &left, deleted);
    if (rc == 0)
        rc = s_trim (txn, SHARD_DB_TOP, day_limit, sizeof day_limit, &left, deleted);
    if (rc == 0)
        rc = s_trim (txn, SHARD_DB_OTHERS, day_limit, sizeof day_limit, &left, deleted);
    if (rc == 0)
        rc = s_trim (txn, SHARD_DB_PARTS, block_limit, sizeof block_limit, &left, deleted);
    if (rc == 0)
        rc = s_trim (txn, SHARD_DB_FINAL, block_limit, sizeof block_limit, &left, deleted);
    if (rc == 0)
        rc = s_trim (txn, SHARD_DB_ROWS, block_limit, sizeof block_limit, &left, deleted);
    if (rc == 0 && left > 0)
        rc = s_trim (txn, SHARD_DB_OPEN, block_limit, sizeof block_limit, &left, deleted);
    if (rc == 0 && left > 0)
        rc = s_trim_hosts (self, txn, cutoff_day, &left, deleted);
    *more = rc == 0 && (left == 0 || !self->hosts_done);
    return rc;
}
