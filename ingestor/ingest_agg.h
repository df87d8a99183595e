/*  ingest_agg.h - aggregation of one block: per (source, destination port) values.

    For every matched flow of a block: bytes, packets and durations (msecs) add up, and the
    distinct destination addresses are counted as peers.  Peers are exact up to
    PROTO_PEERS_CAP; when a pair passes the cap its value becomes a HyperLogLog estimate
    (proto_sketch: about 1.6 % standard error) fed with every peer seen, and the pair
    carries PROTO_VALUES_PEERS_CAPPED.  Aggregates of the same block from several files
    (exporters) merge exactly: counters add and peer sets unite.

    Memory grows with the number of pairs and distinct (pair, peer) couples, not flows.
*/
#ifndef INGEST_AGG_H_INCLUDED
#define INGEST_AGG_H_INCLUDED

#include "proto/proto_host.h"

typedef struct _ingest_agg_t ingest_agg_t;

//  One (source, port) pair and its block values.
typedef struct {
    proto_addr_t addr;      //  Source address
    uint16_t port;          //  Destination port
    proto_values_t values;  //  bytes, packets, durations (msecs), peers; flags
} ingest_pair_t;

//  Create an empty aggregate.
ingest_agg_t *ingest_agg_new (void);
void ingest_agg_destroy (ingest_agg_t **self_p);

//  Empty the aggregate, keeping its memory for the next block.
void ingest_agg_reset (ingest_agg_t *self);

//  Add one matched flow.
void ingest_agg_add (ingest_agg_t *self, const proto_addr_t *src, uint16_t port,
                     const proto_addr_t *dst, uint64_t bytes, uint64_t packets,
                     uint64_t durations_msecs);

//  Add everything of other into self (counters add, peer sets unite).  other is unchanged.
void ingest_agg_merge (ingest_agg_t *self, ingest_agg_t *other);

//  Number of (source, port) pairs.
size_t ingest_agg_size (ingest_agg_t *self);

//  The pairs sorted by address then port, into a new array of ingest_agg_size entries that
//  the caller frees with free().  NULL if the aggregate is empty.
ingest_pair_t *ingest_agg_pairs (ingest_agg_t *self);

//  Selftest
void ingest_agg_test (bool verbose);

#endif
