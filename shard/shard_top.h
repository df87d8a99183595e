/*  shard_top.h - exact top-10 lists per (day, port, feature, op), kept up to date.

    A list ranks the hosts of one (day, port) by one daily score: higher score first,
    ties by address ascending (memcmp of the 16 bytes, as proto_addr_compare).  Each
    list keeps up to SHARD_TOP_KEEP entries and this invariant: its n entries are
    exactly the n best rows of its (day, port), and if `complete` it holds every row.
    So a host ranks at or before the last entry if and only if it is listed, which
    lets an update decide membership with one comparison.

    Sums and maxima only grow: a grown host moves up or enters, and the list stays
    exact.  A minimum can fall: a listed host that falls below the last entry may now
    be passed by an unlisted one, so it leaves and the list is one shorter (still exact
    for what it keeps).  When a list that is not complete has fewer than SHARD_TOP_SHOW
    entries it is marked stale and recomputed, at the end of the transaction, by a scan
    of the (day, port)'s days rows.  Hence the extra depth: a few falls cost nothing.

    The 12 lists of a (day, port) are one value in the top sub-database:
        [hdr][12 x ([count | 0x80 if complete][count x ([addr: 16][varint score])])]
    in list order feature * PROTO_OP_COUNT + op.

    A shard_top_cache_t collects the lists a write transaction touches: rows changes
    go in with shard_top_cache_update; shard_top_cache_flush recomputes the stale lists
    and writes every touched value, inside the same transaction.
*/
#ifndef SHARD_TOP_H_INCLUDED
#define SHARD_TOP_H_INCLUDED

#include "shard/shard_codec.h"
#include "shard/shard_kv.h"

#define SHARD_TOP_SHOW 10  //  Entries a list answers
#define SHARD_TOP_KEEP 16  //  Entries a list keeps
#define SHARD_TOP_LISTS (PROTO_FEATURE_COUNT * PROTO_OP_COUNT)

typedef struct {
    proto_addr_t addr;  //  Host
    uint64_t score;     //  Daily score
} shard_rank_t;

typedef struct {
    uint8_t count;                         //  Entries used
    bool complete;                         //  Holds every row of its (day, port)
    bool stale;                            //  Must be recomputed before use
    shard_rank_t entries[SHARD_TOP_KEEP];  //  Best first
} shard_toplist_t;

typedef struct {
    shard_toplist_t lists[SHARD_TOP_LISTS];  //  [feature * PROTO_OP_COUNT + op]
} shard_topset_t;

//  An empty, complete list (a (day, port) without rows).
void shard_toplist_init (shard_toplist_t *self);

//  One host's score changed from old (had_old false: it had no row) to new.
void shard_toplist_update (shard_toplist_t *self, const proto_addr_t *addr, bool had_old,
                           uint64_t old_score, uint64_t new_score);

//  Read the lists of (day, port) in a transaction: 0, 1 if there are none, -1 failed.
int shard_top_read (shard_txn_t *txn, uint16_t day, uint16_t port, shard_topset_t *set);

typedef struct _shard_top_cache_t shard_top_cache_t;

shard_top_cache_t *shard_top_cache_new (void);
void shard_top_cache_destroy (shard_top_cache_t **self_p);

//  The row of (day, port, addr) changed from old (NULL: none) to new.  Loads the lists
//  of (day, port) on first use.  0 or -1 (the transaction failed).
int shard_top_cache_update (shard_top_cache_t *self, shard_txn_t *txn, uint16_t day, uint16_t port,
                            const proto_addr_t *addr, const shard_row_t *old,
                            const shard_row_t *row);

//  The rows of (day, port) changed in a way updates cannot follow (rows of hosts
//  added or removed by a slot move): recompute all its lists from the rows at flush.
//  0 or -1 (the transaction failed).
int shard_top_cache_invalidate (shard_top_cache_t *self, shard_txn_t *txn, uint16_t day,
                                uint16_t port);

//  Recompute stale lists, write every list touched (a (day, port) left without rows:
//  delete its lists), empty the cache.  0 or -1.
int shard_top_cache_flush (shard_top_cache_t *self, shard_txn_t *txn);

//  Empty the cache without writing (the transaction is aborted).
void shard_top_cache_clear (shard_top_cache_t *self);

//  Recomputations done since the cache was built (for tests and stats).
uint64_t shard_top_cache_recomputed (shard_top_cache_t *self);

//  Selftest
void shard_top_test (bool verbose);

#endif
