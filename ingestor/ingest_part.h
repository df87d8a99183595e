/*  ingest_part.h - one file's aggregate as block parts: one PART frame per shard.

    Every (source, port) pair goes to the shard that owns its source's slot
    (proto_shard_slot, then the broker's slot -> shard map), carrying its values and its
    peers the way PROTOCOL.md's pair entry says: the exact set of peer addresses, sorted,
    or the HyperLogLog registers once the pair passed PROTO_PEERS_CAP.  Every shard gets a
    PART, even one without pairs, so that it knows this source delivered the block.
    The aggregate's in direction (ingest_agg_incoming) goes the same way in each part's
    `pairs_in`, by its destination's slot.

    The parts are encoded here, once, so that resending one is a reference-counted copy of
    its frame (zframe_send with ZFRAME_REUSE), not a new encoding.  No socket is touched:
    this runs on the ingestor's worker thread.
*/
#ifndef INGEST_PART_H_INCLUDED
#define INGEST_PART_H_INCLUDED

#include "ingestor/ingest_agg.h"

#include <czmq.h>

//  What a split needs to know about the file and the map.
typedef struct {
    const char *source;     //  Ingestor name
    const char *file;       //  File path relative to the spool
    int64_t block;          //  Block start, secs since the epoch
    uint64_t request_id;    //  Request id every part carries
    const uint16_t *slots;  //  PROTO_SLOT_COUNT shard indexes (the MAP's slots)
    size_t shard_count;     //  Shards in the map; every slots[] value is below it
} ingest_part_info_t;

//  Encode agg (unchanged) as info->shard_count PART frames into frames[0..shard_count),
//  new frames the caller owns, with the pair count of each part (both directions) in pair_counts
//  (may be NULL).  0, or -1 with error set (at most error_size bytes) if a part cannot be encoded
//  (a name too long for the protocol, or a part over PROTO_FRAME_MAX): then no frame is
//  returned.
int ingest_part_split (ingest_agg_t *agg, const ingest_part_info_t *info, zframe_t **frames,
                       size_t *pair_counts, char *error, size_t error_size);

//  Selftest
void ingest_part_test (bool verbose);

#endif
