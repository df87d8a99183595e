/*  shard_days.h - the daily rows: recent days in `days`, finished days in `chunks`,
    compacted segments of days in `series` (shard_segments.h).

    Rows grow while their day is under way, so each is one record of `days` (the
    shard_codec.h row, about 40 bytes with LMDB's overhead).  A finished day never
    grows again (but for late parts), so shard_days_archive moves its rows, in key
    order, into packed chunks (shard_chunk.h: 9 to 23 bytes a row, on full pages), and
    deletes them from `days`, whose pages are then reused for the next days.

    Invariant: at every commit each row is in exactly one of the two, and the chunks
    of a (day, port, family) cover disjoint host ranges (each from its key to the next
    chunk's key).  Readers look in `days` first, then in `chunks` if the day is not
    after the last day archived (shard_days_archive_last); a row found in a chunk is
    written back there (a late part: the chunk is decoded, changed, re-encoded, split
    if it outgrew SHARD_CHUNK_BYTES); a new row always goes to `days` (and a later
    archive run moves it, into the chunk that covers it).  The meta counter
    "archived_rows" counts the rows in chunks (status figures).

    A schema 1 store kept finished days' rows one a record in `archive`;
    shard_days_migrate moves them into chunks.
*/
#ifndef SHARD_DAYS_H_INCLUDED
#define SHARD_DAYS_H_INCLUDED

#include "shard/shard_codec.h"
#include "shard/shard_kv.h"
#include "shard/shard_segments.h"

//  The last day with rows in archive, into *day: 0, 1 if archive is empty (*day is
//  then 0), -1 failed.
int shard_days_archive_last (shard_txn_t *txn, uint32_t *day);

//  Where a row is, or where a new one goes (shard_days_get tells shard_days_put)
typedef enum {
    SHARD_DAYS_AT_DAYS = 0,  //  `days`
    SHARD_DAYS_AT_CHUNK,     //  its chunk
    SHARD_DAYS_AT_SERIES     //  its host's record of a compacted segment (shard_segments.h)
} shard_days_at_t;

//  What a transaction reads once to know where rows are: the last day with chunks and
//  the series tier's state.  Read again after the transaction archives or compacts.
typedef struct {
    uint32_t archive_last;      //  From shard_days_archive_last (UINT32_MAX: always look)
    shard_segments_t segments;  //  shard_segments_load
} shard_days_where_t;

int shard_days_where (shard_txn_t *txn, shard_days_where_t *where);  //  0 or -1

//  Read the row of (day, port, addr).  *at (may be NULL) tells where it is, or where a
//  new row goes.  0 found, 1 absent, -1 failed.
int shard_days_get (shard_txn_t *txn, const shard_days_where_t *where, uint16_t day, uint16_t port,
                    const proto_addr_t *addr, shard_row_t *row, uint8_t *at);

//  A reader for many rows in one read transaction (a host's series): it keeps one
//  cursor on the chunks, looks in `days` only for days it may hold rows of, and keeps
//  the host's record of the segment last read.  Open, get any number of rows, close
//  before the transaction ends.
typedef struct {
    shard_txn_t *txn;  //  Transaction read in
    shard_days_where_t where;
    uint32_t days_first;     //  First day with rows in `days` (UINT32_MAX if none)
    shard_cursor_t *chunks;  //  Cursor on chunks, NULL until needed
    shard_segments_reader_t series;
} shard_days_reader_t;

int shard_days_reader_open (shard_days_reader_t *self, shard_txn_t *txn);  //  0 or -1
//  As shard_days_get: 0 found, 1 absent, -1 failed.
int shard_days_reader_get (shard_days_reader_t *self, uint16_t day, uint16_t port,
                           const proto_addr_t *addr, shard_row_t *row);
void shard_days_reader_close (shard_days_reader_t *self);

//  Write the row of (day, port, addr) at at (from shard_days_get).  0 or -1.
int shard_days_put (shard_txn_t *txn, const shard_days_where_t *where, uint16_t day, uint16_t port,
                    const proto_addr_t *addr, const shard_row_t *row, uint8_t at);

//  Call row_fn for every row of (day, port), in `days` then in chunks.  0 or -1.
typedef void (shard_days_fn) (void *arg, const proto_addr_t *addr, const shard_row_t *row);
int shard_days_scan (shard_txn_t *txn, uint16_t day, uint16_t port, shard_days_fn *row_fn,
                     void *arg);

//  Move up to budget rows of days before before_day from `days` into chunks, in key
//  order.  *moved counts them, *more is true if some remain.  0 or -1.
int shard_days_archive (shard_txn_t *txn, uint32_t before_day, size_t budget, size_t *moved,
                        bool *more);

//  Schema 1 to 2: move up to budget rows from `archive` into chunks.  As archive.
int shard_days_migrate (shard_txn_t *txn, size_t budget, size_t *moved, bool *more);

//  Delete up to *budget chunks of days before cutoff_day (each counts one against
//  *budget and one in *deleted), lowering "archived_rows".  0 or -1.
int shard_days_expire (shard_txn_t *txn, uint32_t cutoff_day, size_t *budget, size_t *deleted);

//  Delete up to *budget chunks of days from_day .. before_day - 1 (each counts one
//  against *budget and one in *deleted), lowering "archived_rows"; *empty tells if none
//  of those days is left.  0 or -1.
int shard_days_drop_chunks (shard_txn_t *txn, uint32_t from_day, uint32_t before_day,
                            size_t *budget, size_t *deleted, bool *empty);

//  The same for any sub-database keyed [u16 day or segment][...] whose values hold rows:
//  count_fn gives a value's rows (-1: it does not decode, the transaction fails with
//  corrupt), lowered from the meta counter.
typedef struct {
    shard_db_t db;
    int (*count_fn) (const void *data, size_t size);
    const char *counter;
    const char *corrupt;
} shard_days_drop_t;
int shard_days_drop (shard_txn_t *txn, const shard_days_drop_t *drop, uint32_t from,
                     uint32_t before, size_t *budget, size_t *deleted, bool *empty);

//  Rows in chunks (the meta counter), into *rows.  0 or -1.
int shard_days_archived_rows (shard_txn_t *txn, uint64_t *rows);

#endif
