/*  shard_query.h - the store's read queries (internal; see shard_store.h for contracts).

    Each runs inside a read transaction that shard_store.c opens and resets around it,
    and calls back per result.  Arguments are checked by the caller.  A scratch host
    record (large: its port list) is passed in rather than allocated per query.
    Returns 0, or -1 if the transaction failed.
*/
#ifndef SHARD_QUERY_H_INCLUDED
#define SHARD_QUERY_H_INCLUDED

#include "shard/shard_codec.h"
#include "shard/shard_kv.h"
#include "shard/shard_store.h"

//  Read host's record into scratch: 0, 1 if there is none (scratch cleared), -1 failed.
int shard_query_host_read (shard_txn_t *txn, shard_host_t *scratch, const proto_addr_t *host);
int shard_query_top (shard_txn_t *txn, shard_host_t *scratch, uint32_t day, uint8_t op,
                     uint32_t port, shard_top_fn *top_fn, void *arg);

int shard_query_series (shard_txn_t *txn, shard_host_t *scratch, const proto_addr_t *host,
                        uint32_t port, uint8_t feature, uint8_t op, uint32_t from, uint32_t to,
                        shard_point_fn *point_fn, void *arg);

int shard_query_host (shard_txn_t *txn, shard_host_t *scratch, const proto_addr_t *host,
                      shard_host_info_t *info, shard_port_fn *port_fn, shard_note_fn *note_fn,
                      void *arg);

int shard_query_days (shard_txn_t *txn, shard_day_fn *day_fn, void *arg);

#endif
