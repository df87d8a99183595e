/*  shard_fold.h - what a write transaction of the store does with a part (internal).

    shard_store.c opens and ends the transactions; this module does their work:
    records part ids, merges parts into open blocks, finalises blocks into the daily
    rows, host records and top lists, applies late parts, stores annotations.  See
    shard_store.h for the semantics.  A fold object holds the settings and scratch
    memory, and caches (the current host record, touched top lists) for the length of
    one transaction: call shard_fold_flush before commit, shard_fold_clear on abort.
*/
#ifndef SHARD_FOLD_H_INCLUDED
#define SHARD_FOLD_H_INCLUDED

#include "shard/shard_kv.h"
#include "shard/shard_store.h"

typedef struct _shard_fold_t shard_fold_t;

shard_fold_t *shard_fold_new (void);
void shard_fold_destroy (shard_fold_t **self_p);

void shard_fold_set_retention_days (shard_fold_t *self, uint32_t retention_days);
void shard_fold_set_grace_secs (shard_fold_t *self, uint32_t grace_secs);
void shard_fold_set_ingestors (shard_fold_t *self, const char **names, size_t count);

//  The first day retention keeps at now.
uint32_t shard_fold_cutoff_day (shard_fold_t *self, int64_t now);

//  Check a part's pairs of one direction before its transaction (see
//  shard_store_apply_part for what is valid) and order them by (host, port) if they are
//  not.  0, or -1 with the reason in error.  The order is kept for the next
//  shard_fold_part call.
int shard_fold_check (shard_fold_t *self, uint8_t direction, shard_pair_at_fn *pair_at, void *pairs,
                      size_t pair_count, char *error, size_t error_size);

//  Apply a checked part in txn: sets[direction] are its pairs of each direction
//  (PROTO_DIRECTION_COUNT entries), each folded into that direction's sub-databases.  0
//  (result says what happened; if duplicate, nothing was written and the caller aborts),
//  or -1 if the transaction failed.  txn is back in the out direction on return.
int shard_fold_part (shard_fold_t *self, shard_txn_t *txn, const char *source, const char *file,
                     int64_t block, const shard_pairs_t *sets, int64_t now,
                     shard_part_result_t *result);

//  The open blocks due at now (every registered ingestor delivered, or grace over),
//  into blocks (at most max).  Returns how many, or -1 if the transaction failed.
int shard_fold_due (shard_fold_t *self, shard_txn_t *txn, int64_t now, int64_t *blocks, size_t max);

//  Finalise one open block (both directions' open rows).  0, 1 if it is not open, -1 if
//  the transaction failed.
int shard_fold_finalise (shard_fold_t *self, shard_txn_t *txn, int64_t block, int64_t now);

//  Store one annotation (checked by the caller).  0 or -1.
int shard_fold_annotate (shard_fold_t *self, shard_txn_t *txn,
                         const proto_annotation_t *annotation);

//  Write the cached host record and top lists (before commit).  0 or -1.
int shard_fold_flush (shard_fold_t *self, shard_txn_t *txn);

//  Forget the caches (the transaction was aborted).
void shard_fold_clear (shard_fold_t *self);

//  Top lists rebuilt by a scan so far.
uint64_t shard_fold_rebuilds (shard_fold_t *self);

//  Meta counters: get (0 if absent), add, subtract (down to 0), raise to at least
//  value.  0 or -1.
int shard_meta_get (shard_txn_t *txn, const char *name, uint64_t *value);
int shard_meta_add (shard_txn_t *txn, const char *name, uint64_t delta);
int shard_meta_sub (shard_txn_t *txn, const char *name, uint64_t delta);
int shard_meta_raise (shard_txn_t *txn, const char *name, uint64_t value);

#endif
