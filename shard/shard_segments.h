/*  shard_segments.h - finished days packed per host: the series-major tier.

    Day-major chunks (shard_chunk.h) are what a day's rows cost when the day has just
    ended; kept for months they cost more than needed, since a (host, port) looks much
    the same every day and every row repeats its host.  Once a whole segment of D days
    (segment = day / D, D the store's "segment_days") is finished, compaction moves its
    rows from the chunks into `series`: one record per (segment, host) holding every
    row of that host in those D days, every port (shard_series.h codec; layout in
    STORAGE.md), the records of consecutive hosts packed into values of a page's
    payload (shard_pack.h) keyed by their first host, shard_key_series: [segment: 2]
    [family: 1][host: 4|16].  (A store compacted before packs, schema 3, has one bare
    record a value: read as a pack of one.)

    Where a row lives (per direction; meta "compacted", "compact_marker"):
      - segment < compacted: in `series` only;
      - segment == compacted, compaction under way: hosts up to the marker (the last
        host written, in key order) in `series`, the others in `days` and chunks;
        once every host is written (phase 2), in `series` only while the segment's
        chunks are deleted;
      - later segments: `days` and chunks (shard_days.h).
    A late row of a day held in `series` is written into its host's record (decoded,
    changed, re-encoded).  Compaction (shard_compact.h) runs in batches, one transaction
    each: a batch killed half way leaves the store as before it, and the next resumes
    at the marker.

    Retention: a segment's packs are deleted once its last day is expired; the records
    of the segment that straddles the cutoff are rewritten without their expired rows,
    a batch at a time, and until then every read skips them (meta "retention_cutoff",
    set by each retention run).  Slot moves walk the records of a slot set's hosts
    (export their rows one a row, or delete the records).  Packs rewritten are packed
    together again.
*/
#ifndef SHARD_SEGMENTS_H_INCLUDED
#define SHARD_SEGMENTS_H_INCLUDED

#include "shard/shard_kv.h"
#include "shard/shard_pack.h"
#include "shard/shard_series.h"

#define SHARD_SEGMENT_DAYS_DEFAULT 16  //  Days a segment, for a new store
#define SHARD_SEGMENT_LAG_DAYS 2       //  A segment is compacted once its last day is that old
#define SHARD_SEGMENTS_REWRITE_COST 4  //  Deletions of retention's budget a record rewritten costs

//  What a transaction knows of the tier (read once with shard_segments_load).
typedef struct {
    uint32_t days;           //  Days a segment, 0: the tier is off
    uint32_t compacted;      //  Segments below are held in series only
    uint8_t phase;           //  Of segment `compacted`: 0 not begun, 1 writing, 2 written
    uint8_t marker[1 + 16];  //  Phase 1: [family][host] of the last host written
    size_t marker_size;      //  Its bytes
    uint32_t cutoff;         //  Rows of days before are expired
} shard_segments_t;

//  Read the tier's state for txn's direction.  0 or -1.
int shard_segments_load (shard_txn_t *txn, shard_segments_t *self);

//  Set the days of a segment of a store that has none yet (a new store, or one written
//  before the tier).  A store keeps the value it has: returns it in *days.  0 or -1.
int shard_segments_init (shard_txn_t *txn, uint32_t days_wanted, uint32_t *days);

//  Is the row of (day, addr) held in series (where it is, or where a new one goes)?
bool shard_segments_holds (const shard_segments_t *self, uint16_t day, const proto_addr_t *addr);

//  The row of (day, port, addr) from series: 0 found, 1 absent, -1 failed.
int shard_segments_get (shard_txn_t *txn, const shard_segments_t *self, uint16_t day, uint16_t port,
                        const proto_addr_t *addr, shard_row_t *row);

//  Write the row of (day, port, addr) into its host's record (inserted or replaced).
//  0 or -1.
int shard_segments_put (shard_txn_t *txn, const shard_segments_t *self, uint16_t day, uint16_t port,
                        const proto_addr_t *addr, const shard_row_t *row);

//  Call row_fn for every row of (day, port) held in series.  0 or -1.
typedef void (shard_segments_row_fn) (void *arg, const proto_addr_t *addr, const shard_row_t *row);
int shard_segments_scan (shard_txn_t *txn, const shard_segments_t *self, uint16_t day,
                         uint16_t port, shard_segments_row_fn *row_fn, void *arg);

//  Many rows of one host (a series query): keeps the host's record of the last segment
//  read decoded.  Open, get, close before the transaction ends.
typedef struct {
    shard_txn_t *txn;
    const shard_segments_t *segments;
    bool loaded;               //  rows hold a record
    uint32_t segment;          //  Its segment
    proto_addr_t addr;         //  Its host
    shard_series_row_t *rows;  //  Its rows (count), NULL if none
    size_t count, capacity;
} shard_segments_reader_t;

void shard_segments_reader_open (shard_segments_reader_t *self, shard_txn_t *txn,
                                 const shard_segments_t *segments);
//  As shard_segments_get.
int shard_segments_reader_get (shard_segments_reader_t *self, uint16_t day, uint16_t port,
                               const proto_addr_t *addr, shard_row_t *row);
void shard_segments_reader_close (shard_segments_reader_t *self);

//  Delete up to *budget records of segments whose last day is before cutoff_day (each
//  counts one against *budget and in *deleted); remember the cutoff.  0 or -1.
int shard_segments_expire (shard_txn_t *txn, uint32_t cutoff_day, size_t *budget, size_t *deleted);

//  Compaction's writer (and every write's): records of one segment added in ascending
//  host order go into packs of at most SHARD_PACK_PAYLOAD bytes, each written when full
//  (append: with MDB_APPEND, the keys being the last of the database), the last on
//  close.  An appending writer first takes back the last pack of the first host's family
//  in the segment if it has room (a batch before stopped in it).  Close before the
//  transaction ends.
typedef struct {
    shard_txn_t *txn;
    uint16_t segment;
    bool append;
    bool resume;                   //  The last pack not looked at yet
    shard_pack_builder_t builder;  //  The pack being filled
    proto_addr_t first;            //  Its first host
    shard_buffer_t value, record, copy;
} shard_segments_writer_t;

void shard_segments_writer_open (shard_segments_writer_t *self, shard_txn_t *txn, uint16_t segment,
                                 bool append);
//  Add the record of addr's rows (count >= 1, ascending by (port, day)).  0 or -1.
int shard_segments_writer_add (shard_segments_writer_t *self, const proto_addr_t *addr,
                               const shard_series_row_t *rows, size_t count, uint32_t days);
//  Write the last pack (not if the transaction failed) and free.  0 or -1.
int shard_segments_writer_close (shard_segments_writer_t *self);

//  Slot moves and top list rebuilds: for every record of segment (SHARD_SEGMENTS_ALL:
//  of every segment) whose host pick_fn (NULL: any) accepts, call row_fn (if not NULL)
//  for each of its rows not expired, as (day, port, addr, row; row_fn returns 0, or -1
//  to fail); then delete the record if cut.  *rows counts the rows met.  0 or -1.
#define SHARD_SEGMENTS_ALL UINT32_MAX
typedef bool (shard_segments_pick_fn) (void *arg, const proto_addr_t *addr);
typedef int (shard_segments_visit_fn) (void *arg, uint16_t day, uint16_t port,
                                       const proto_addr_t *addr, const shard_row_t *row);
int shard_segments_walk (shard_txn_t *txn, uint32_t segment, shard_segments_pick_fn *pick_fn,
                         shard_segments_visit_fn *row_fn, void *arg, bool cut, uint64_t *rows);

//  For compaction (shard_compact.c): the meta name of txn's direction's "compacted"
//  counter (marker false) or "compact_marker"; a host as [family][host] (out >= 17
//  bytes: its size); the order of two such.
const char *shard_segments_meta_name (shard_txn_t *txn, bool marker);
size_t shard_segments_host_key (uint8_t *out, const proto_addr_t *addr);
int shard_segments_host_compare (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size);

//  Rows held in series, both directions (meta counter "series_rows").  0 or -1.
int shard_segments_rows (shard_txn_t *txn, uint64_t *rows);

//  Selftest
void shard_segments_test (bool verbose);

#endif
