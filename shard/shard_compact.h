/*  shard_compact.h - compaction: a finished segment's rows from chunks into series.

    Once every day of a segment (shard_segments.h) ended SHARD_SEGMENT_LAG_DAYS ago, the
    shard's maintenance moves its rows from the day-major chunks into one series record
    per (segment, host), in batches of at most SHARD_COMPACT_BATCH rows, one
    transaction each, resumable at the marker (shard_segments.h says where rows are
    while a segment is under way).  The segments before the first row are skipped.
*/
#ifndef SHARD_COMPACT_H_INCLUDED
#define SHARD_COMPACT_H_INCLUDED

#include "shard/shard_kv.h"

#define SHARD_COMPACT_BATCH 4000  //  Rows moved per compaction transaction

//  One transaction's work, in txn's direction: move up to budget rows of the oldest
//  finished segment not yet compacted (its last day before today -
//  SHARD_SEGMENT_LAG_DAYS) from chunks into series, or delete chunks of a segment
//  written.  *done counts rows written and chunks deleted; *more is true if work
//  remains.  0 or -1.
int shard_compact_run (shard_txn_t *txn, uint32_t today, size_t budget, size_t *done, bool *more);

#endif
