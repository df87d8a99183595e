/*  shard_retention.h - deleting what is older than the retention period (internal).

    Everything of a day before the cutoff day goes: its daily rows (in `days` and
    `chunks`, a chunk counting one deletion) and top lists, the part ids, final and
    open blocks (with their open rows) of its blocks.  Host records whose last traffic
    is before the cutoff go too, unless they carry annotations (annotations are not
    traffic and have no retention; such a record keeps its history).  Nothing of the
    cutoff day or later is touched.

    Work is cut into batches of at most `budget` deletions, one write transaction each,
    so that a part never waits long behind retention.  Every key layout starts with
    the day or the block, so each sub-database is trimmed from its first key until the
    cutoff; host records are examined in one pass per cutoff day, resumed across
    batches from the last key examined (state kept in shard_retention_t).
*/
#ifndef SHARD_RETENTION_H_INCLUDED
#define SHARD_RETENTION_H_INCLUDED

#include "shard/shard_keys.h"
#include "shard/shard_kv.h"

#define SHARD_RETENTION_EXAMINE 10  //  Host records examined per deletion of budget

typedef struct {
    uint32_t hosts_cutoff;                   //  Cutoff day of the hosts pass under way
    bool hosts_done;                         //  That pass is over
    uint8_t hosts_next[SHARD_HOST_KEY_MAX];  //  Key to resume the pass at
    size_t hosts_next_size;                  //  Its size, 0 = from the first key
} shard_retention_t;

//  Delete up to budget entries older than cutoff_day in txn.  *deleted counts them;
//  *more is true when work remains.  0 or -1 (the transaction failed).
int shard_retention_run (shard_retention_t *self, shard_txn_t *txn, uint32_t cutoff_day,
                         size_t budget, size_t *deleted, bool *more);

#endif
