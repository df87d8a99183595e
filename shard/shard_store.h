/*  shard_store.h - a shard's LMDB store: block parts in, daily profiles and top-10 out.

    One store per process, on one LMDB environment in its own directory (locked against
    a second process).  What it keeps (key layout in shard_keys.h, values in
    shard_codec.h, top lists in shard_top.h):

    - applied part ids, recorded in the transaction that applies the part: a part is
      applied exactly once, a resent one is reported duplicate and changes nothing;
    - open blocks: a block waits for every registered ingestor (shard_store_set_
      ingestors) or grace_secs after its first part; meanwhile the merged values and
      peer sets of its (host, port) pairs are kept.  When the registered ingestors are
      just the part's source (or none), the part is final on arrival and is folded
      directly, without writing open rows;
    - daily rows per (day, port, host): sum, max and min of the 4 features over the
      blocks the pair appeared in, and whether a block's peers reached the cap; rows of
      finished days move to packed chunks (shard_store_archive, STORAGE.md);
    - the top lists of each (day, port, feature, op), exact, maintained in the same
      transaction as the rows;
    - host records (first/last seen, ports, active days, annotation count) and
      annotations (passive DNS names);
    - counters and the schema version (a store of another version is refused).

    Rows, top lists and host records exist once per direction (proto_direction_t): out,
    the host a local source (the sub-databases of schema 2), and in, the host a local
    destination (the same layout in sub-databases named *_in, shard_keys.h).  A part
    carries the pairs of both; part ids, blocks, annotations and counters are shared.

    A part that arrives after its block was finalised ("late") is applied once: its
    sums add exactly; max only rises to the part's own values and min stays (the
    block's other values were already folded); its peers add to the peer sum and
    compare with max as a count of their own.  Counters saturate at UINT64_MAX rather
    than wrap.

    Every write is one transaction: a part, a block finalisation, a batch of retention
    deletions, an annotation import.  On any failure the transaction aborts and nothing
    of it is visible; LMDB's map being full is reported as SHARD_STORE_FULL and the
    store stays usable.  Reads use one cached read transaction, reset after each query.
    Times are secs since the epoch, days UTC days since 1970-01-01; `now` is passed in
    (wall clock) so that tests control it.  Not thread-safe: one thread uses a store.
*/
#ifndef SHARD_STORE_H_INCLUDED
#define SHARD_STORE_H_INCLUDED

#include "proto/proto_msg.h"

#define SHARD_SCHEMA_VERSION 4               //  Layout version stored in meta
#define SHARD_SCHEMA_SERIES 3                //  Series records one a value: read, raised to 4
#define SHARD_SCHEMA_CHUNKS 2                //  Before the series tier: read, and raised to 4
#define SHARD_SCHEMA_OLD 1                   //  Rows one a record (shard_store_migrate)
#define SHARD_SCHEMA_MIGRATING 0x10002       //  A migration 1 -> 2 under way
#define SHARD_MAPSIZE_DEFAULT (64ULL << 30)  //  LMDB map size, bytes
#define SHARD_RETENTION_DAYS_DEFAULT 180     //  Days kept before today
#define SHARD_GRACE_SECS_DEFAULT 600         //  Wait for every ingestor's part
#define SHARD_EXPIRE_BATCH 1000              //  Deletions per retention transaction
#define SHARD_ARCHIVE_BATCH 2000             //  Rows moved per archive transaction
#define SHARD_MIGRATE_BATCH 50000            //  Rows converted per migration transaction

//  Results of the methods below
#define SHARD_STORE_OK 0
#define SHARD_STORE_FAILED -1   //  LMDB or internal failure (logged)
#define SHARD_STORE_INVALID -2  //  Input breaks the contract (shard_store_error says how)
#define SHARD_STORE_FULL -3     //  The LMDB map is full: nothing was written

typedef struct _shard_store_t shard_store_t;

//  Open or create the store in directory path (created if missing) with a map of
//  mapsize bytes.  NULL on failure (logged): a directory another process uses, a store
//  of another schema version (schema 1: the log line names `portevo-shard --migrate`),
//  an LMDB error.
shard_store_t *shard_store_new (const char *path, uint64_t mapsize);

//  Convert the store in directory path from schema 1 (finished days' rows one a
//  record) to this build's (rows packed in chunks, shard_chunk.h), in batches of
//  SHARD_MIGRATE_BATCH rows, one transaction each; resumes an interrupted migration;
//  does nothing to a store already at this schema.  The store is marked
//  SHARD_SCHEMA_MIGRATING until done, so that no build serves from it half way.
//  *moved counts the rows converted.  SHARD_STORE_OK or an error (logged).
int shard_store_migrate (const char *path, uint64_t mapsize, uint64_t *moved);

//  Close; NULL-safe, nulls *self_p.
void shard_store_destroy (shard_store_t **self_p);

//  Settings (defaults above).  set_ingestors copies the names: the ingestors every
//  block waits for (the peers of role "ingestor" of the broker's map).
void shard_store_set_retention_days (shard_store_t *self, uint32_t retention_days);
void shard_store_set_grace_secs (shard_store_t *self, uint32_t grace_secs);
void shard_store_set_ingestors (shard_store_t *self, const char **names, size_t count);
void shard_store_set_verbose (shard_store_t *self, bool verbose);

//  Days a compacted segment spans (shard_segments.h), 1 .. SHARD_SERIES_DAYS_MAX, or 0
//  for no compaction: set once, when the store has no value yet (a new store, or one
//  written before the series tier); a store keeps the value it has.  Returns the
//  store's value, or -1 if the transaction failed (logged).
int shard_store_set_segment_days (shard_store_t *self, uint32_t days);

//  One batch of compaction (shard_compact_run, both directions): up to max_rows
//  rows of finished segments move into `series`.  *more tells if work remains.
int shard_store_compact (shard_store_t *self, int64_t now, size_t max_rows, bool *more);

//  What the last failed call found wrong (a short text, "" if none); valid until the
//  next call.
const char *shard_store_error (shard_store_t *self);

//  Where apply_part reads pair index of its input (e.g. proto_msg_pairs_at).
typedef void (shard_pair_at_fn) (void *pairs, size_t index, proto_pair_t *pair);

//  The pairs of one direction of a part: count pairs read through pair_at (pairs).
typedef struct {
    shard_pair_at_fn *pair_at;  //  Reader of pair index, NULL if count is 0
    void *pairs;                //  Its argument
    size_t count;               //  Pairs
} shard_pairs_t;

typedef struct {
    bool duplicate;  //  Applied before: nothing changed
    bool late;       //  Its block was already final (applied approximately, counted)
    bool expired;    //  Its day is older than retention: acknowledged, nothing stored
    bool final;      //  Its block is final after this part
} shard_part_result_t;

//  Apply one part: pair_count pairs from source's file of block, all in one
//  transaction with its id.  Pairs must have distinct (host, port), exact peer sets
//  sorted ascending without repeats (at most PROTO_PEERS_CAP) or a sketch of
//  PROTO_SKETCH_REGISTERS bytes.  Returns SHARD_STORE_OK (result says how), or an
//  error above; on error nothing was applied.
int shard_store_apply_part (shard_store_t *self, const char *source, const char *file,
                            int64_t block, shard_pair_at_fn *pair_at, void *pairs,
                            size_t pair_count, int64_t now, shard_part_result_t *result);

//  The same, and in the same transaction, the part's traffic to the ports not monitored:
//  the `others` and `other_ports` lists of others (a PART; NULL for none), added to the
//  block's day (shard_others.h) unless the part is a duplicate or expired.
int shard_store_apply_part_others (shard_store_t *self, const char *source, const char *file,
                                   int64_t block, shard_pair_at_fn *pair_at, void *pairs,
                                   size_t pair_count, proto_msg_t *others, int64_t now,
                                   shard_part_result_t *result);
//  The same with the pairs of both directions: sets[PROTO_DIRECTION_OUT] as above,
//  sets[PROTO_DIRECTION_IN] the (destination, port) pairs of the in direction, each
//  with the same rules, and others as above (NULL for none); all in one transaction with
//  the part's id.
int shard_store_apply_directions (shard_store_t *self, const char *source, const char *file,
                                  int64_t block, const shard_pairs_t sets[PROTO_DIRECTION_COUNT],
                                  proto_msg_t *others, int64_t now, shard_part_result_t *result);

//  Finalise the open blocks every registered ingestor delivered or whose grace is over
//  at now, one transaction each.  *finalised (may be NULL) counts them.  0 or an error.
int shard_store_finalise_due (shard_store_t *self, int64_t now, size_t *finalised);

//  Delete what is older than retention at now (days, top lists, part ids, blocks;
//  hosts without newer traffic and without annotations), at most max_deletes
//  deletions in one transaction; *more is true if some remain (call again).
int shard_store_expire (shard_store_t *self, int64_t now, size_t max_deletes, bool *more);

//  Move the daily rows of finished days (before yesterday at now) into packed chunks,
//  where a row takes 9 to 23 bytes instead of about 42 (STORAGE.md), at most
//  max_moves rows in one transaction; *more is true if some remain (call again).
//  Answers do not change.
int shard_store_archive (shard_store_t *self, int64_t now, size_t max_moves, bool *more);

//  Store annotations (one transaction): a (host, rrname, rrtype) seen again widens its
//  first/last seen.  rrname 1..256 bytes, rrtype 1..16.  *stored counts them.
typedef void (shard_annotation_at_fn) (void *annotations, size_t index,
                                       proto_annotation_t *annotation);
int shard_store_annotate (shard_store_t *self, shard_annotation_at_fn *annotation_at,
                          void *annotations, size_t count, size_t *stored);

//  Queries.  Each calls back once per result (arguments valid during the call only)
//  and returns 0, SHARD_STORE_INVALID for a bad argument, or SHARD_STORE_FAILED.

//  Top lists of day for op, for port or PROTO_PORT_ALL (every port with data), per
//  (port, feature) at most 10 entries best first, ports ascending then features.
typedef void (shard_top_fn) (void *arg, const proto_top_t *entry);
int shard_store_top (shard_store_t *self, uint32_t day, uint8_t op, uint32_t port,
                     shard_top_fn *top_fn, void *arg);

//  The same for direction (proto_direction_t; shard_store_top is the out direction's)
int shard_store_top_direction (shard_store_t *self, uint8_t direction, uint32_t day, uint8_t op,
                               uint32_t port, shard_top_fn *top_fn, void *arg);

//  Daily scores of host for feature and op on port (or PROTO_PORT_ALL: each port seen
//  on), days from..to inclusive, ascending by port then day; days without traffic left out.
typedef void (shard_point_fn) (void *arg, const proto_point_t *point);
int shard_store_series (shard_store_t *self, const proto_addr_t *host, uint32_t port,
                        uint8_t feature, uint8_t op, uint32_t from, uint32_t to,
                        shard_point_fn *point_fn, void *arg);
int shard_store_series_direction (shard_store_t *self, uint8_t direction, const proto_addr_t *host,
                                  uint32_t port, uint8_t feature, uint8_t op, uint32_t from,
                                  uint32_t to, shard_point_fn *point_fn, void *arg);

//  What is known of a host: calls port_fn per port (ascending) and note_fn per
//  annotation.  info->known is false for a host without traffic.
typedef struct {
    bool known;            //  Traffic seen (within retention)
    int64_t first_seen;    //  Earliest block, 0 if unknown
    int64_t last_seen;     //  Latest block, 0 if unknown
    uint64_t annotations;  //  Annotations stored
} shard_host_info_t;
typedef void (shard_port_fn) (void *arg, uint16_t port);
typedef void (shard_note_fn) (void *arg, const proto_annotation_t *annotation);
int shard_store_host (shard_store_t *self, const proto_addr_t *host, shard_host_info_t *info,
                      shard_port_fn *port_fn, shard_note_fn *note_fn, void *arg);
//  The same in direction: first/last seen and ports of the host's traffic in that
//  direction; annotations are the host's whatever the direction.
int shard_store_host_direction (shard_store_t *self, uint8_t direction, const proto_addr_t *host,
                                shard_host_info_t *info, shard_port_fn *port_fn,
                                shard_note_fn *note_fn, void *arg);

//  A host's traffic to the ports not monitored, one call per day from..to that has some
//  (ascending; shard_others.h).  The range is at most SHARD_OTHERS_RANGE_MAX days.
#define SHARD_OTHERS_RANGE_MAX 4096
typedef struct shard_other_day_t shard_other_day_t;
typedef void (shard_other_fn) (void *arg, const shard_other_day_t *other);
int shard_store_others (shard_store_t *self, const proto_addr_t *host, uint32_t from, uint32_t to,
                        shard_other_fn *other_fn, void *arg);
//  What changed on day for op (shard_changes.h: top entries of the day with their
//  median over from..day-1, top entries of the day before, first-ever pairs).
//  from must not be after day.  With spark days (1 to PROTO_SPARK_MAX; 0: none) only
//  the top entries of the day, each with its scores of the spark days up to day
//  (oldest first, 0 for a day without traffic) in spark[0..spark_count).
typedef void (shard_change_fn) (void *arg, const proto_change_t *change, const uint64_t *spark,
                                size_t spark_count);
int shard_store_changes (shard_store_t *self, uint32_t day, uint8_t op, uint32_t from,
                         uint8_t spark, shard_change_fn *change_fn, void *arg);

//  Days with data (in either direction), ascending.
typedef void (shard_day_fn) (void *arg, uint32_t day);
int shard_store_days (shard_store_t *self, shard_day_fn *day_fn, void *arg);

//  Status figures (PROTOCOL.md "Status stats keys").
typedef struct {
    uint64_t hosts;          //  Host records
    uint64_t rows;           //  Daily rows
    uint64_t lmdb_bytes;     //  Bytes of the LMDB file in use (pages up to the last)
    uint64_t map_bytes;      //  LMDB map size
    uint64_t rows_bytes;     //  Bytes of the pages of the daily rows (days, chunks, series)
    uint64_t series_bytes;   //  ... of which series
    uint64_t hosts_bytes;    //  ... of host records and annotations
    uint64_t other_bytes;    //  ... of the rest: top lists, blocks, part ids, meta
    uint64_t archived_rows;  //  Daily rows in the archive (chunks)
    uint64_t series_rows;    //  Daily rows in compacted segments (series)
    uint64_t parts_applied;  //  Parts applied (not counting duplicates)
    uint64_t late_parts;     //  Of which late
    uint64_t old_parts;      //  Parts acknowledged but older than retention
    uint64_t last_block;     //  Latest block applied, secs
    uint64_t open_blocks;    //  Blocks waiting for parts
    uint64_t top_rebuilds;   //  Top lists rebuilt by a scan since the store opened
} shard_store_stats_t;
int shard_store_stats (shard_store_t *self, shard_store_stats_t *stats);

//  Selftests (the migration's in shard_store_migrate_test.c)
void shard_store_test (bool verbose);
void shard_store_migrate_test (bool verbose);
void shard_direction_test (bool verbose);  //  shard_direction_test.c

#endif
