/*  shard_days.h - the daily rows: recent days in `days`, finished days in `archive`.

    Rows grow while their day is under way (a second block turns the zero differences of
    a one-block row into real numbers), so LMDB keeps splitting full pages of `days` in
    half: about 60 % of each page is used.  A finished day never grows again (but for
    late parts), so shard_days_archive moves its rows, in key order, to `archive` with
    MDB_APPEND, which fills pages to the brim, and deletes them from `days`, whose pages
    are then reused for the next days.  Keys are day-major, so a day is archived after
    every earlier one and appending is always possible.

    Invariant: at every commit each row is in exactly one of the two.  Readers look in
    `days` first, then in `archive` if the day is not after the last day archived
    (shard_days_archive_last); a row found in `archive` is written back there (a late
    part); a new row always goes to `days` (and a later archive run moves it).

    Keys are those of shard_keys.h ([day: 2][port: 2][host: 4|16]) in both.
*/
#ifndef SHARD_DAYS_H_INCLUDED
#define SHARD_DAYS_H_INCLUDED

#include "shard/shard_codec.h"
#include "shard/shard_kv.h"

//  The last day with rows in archive, into *day: 0, 1 if archive is empty (*day is
//  then 0), -1 failed.
int shard_days_archive_last (shard_txn_t *txn, uint32_t *day);

//  Read the row of (day, port, addr).  archive_last: from shard_days_archive_last (or
//  UINT32_MAX to always look in archive).  *archived (may be NULL) tells where it was.
//  0 found, 1 absent, -1 failed.
int shard_days_get (shard_txn_t *txn, uint32_t archive_last, uint16_t day, uint16_t port,
                    const proto_addr_t *addr, shard_row_t *row, bool *archived);

//  Write the row of (day, port, addr), where shard_days_get found it.  0 or -1.
int shard_days_put (shard_txn_t *txn, uint16_t day, uint16_t port, const proto_addr_t *addr,
                    const shard_row_t *row, bool archived);

//  Call row_fn for every row of (day, port), in both sub-databases.  0 or -1.
typedef void (shard_days_fn) (void *arg, const proto_addr_t *addr, const shard_row_t *row);
int shard_days_scan (shard_txn_t *txn, uint16_t day, uint16_t port, shard_days_fn *row_fn,
                     void *arg);

//  Move up to budget rows of days before before_day from `days` to `archive`, in key
//  order.  *moved counts them, *more is true if some remain.  0 or -1.
int shard_days_archive (shard_txn_t *txn, uint32_t before_day, size_t budget, size_t *moved,
                        bool *more);

#endif
