/*  shard_changes.h - what changed on a day: the candidates of /api/changes (internal).

    Answers CHANGES_REQUEST (PROTOCOL.md) for this shard's hosts, inside a read
    transaction that shard_store.c opens: per port with data on the day,
    - every entry of the shard's top lists of the day for the op (each feature), with
      the host's median score and its count of days with traffic on the port over the
      window from..day-1 (days without traffic are left out of the median), flagged
      PROTO_CHANGE_TOP, plus PROTO_CHANGE_FIRST if the day is the host's first on the
      port;
    - every entry of the shard's top lists of the day before, flagged PROTO_CHANGE_PREV
      (its score is that day's), so the gateway can tell who is new to a merged top 10;
    - the hosts whose first day on the port (within what the store keeps: retention
      bounds "ever") is the day, flagged PROTO_CHANGE_FIRST, feature bytes, at most
      SHARD_CHANGES_FIRST_MAX per port, the highest bytes score first, ties by address.
    A first day is found without a new sub-database: the day's rows of the port are
    scanned, and for each host its record's active-days bitmap says which earlier days
    may hold a row of the port; those are read newest first until one is found.  Cost:
    one host record and usually one row read per row of the day (bench/query).
    With spark days (the overview's sparklines) only the top entries of the day are
    answered, each with the host's scores of the spark days up to the day (median and
    days 0, no first-day check: sparklines do not need them).
*/
#ifndef SHARD_CHANGES_H_INCLUDED
#define SHARD_CHANGES_H_INCLUDED

#include "shard/shard_codec.h"
#include "shard/shard_kv.h"
#include "shard/shard_store.h"

#define SHARD_CHANGES_FIRST_MAX 100  //  First-ever pairs answered per port

//  Call change_fn per entry described above, ports ascending.  0, or -1 if the
//  transaction failed.  Arguments are checked by the caller (from <= day).
int shard_changes_query (shard_txn_t *txn, shard_host_t *scratch, uint32_t day, uint8_t op,
                         uint32_t from, uint8_t spark, shard_change_fn *change_fn, void *arg);

//  Selftest (with a store: shard_store_changes)
void shard_changes_test (bool verbose);

#endif
