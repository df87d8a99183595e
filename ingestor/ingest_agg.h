/*  ingest_agg.h - aggregation of one block: per (source, destination port) values.

    For every matched flow of a block: bytes, packets and durations (msecs) add up, and the
    distinct destination addresses are counted as peers.  Peers are exact up to
    PROTO_PEERS_CAP; when a pair passes the cap its value becomes a HyperLogLog estimate
    (proto_sketch: about 1.6 % standard error) fed with every peer seen, and the pair
    carries PROTO_VALUES_PEERS_CAPPED.  Aggregates of the same block from several files
    (exporters) merge exactly: counters add and peer sets unite.

    Memory grows with the number of pairs and distinct (pair, peer) couples, not flows.
    An aggregate carries its block's in direction as a second aggregate of the same kind
    (ingest_agg_incoming), keyed by destination with the sources as peers.
*/
#ifndef INGEST_AGG_H_INCLUDED
#define INGEST_AGG_H_INCLUDED

#include "ingestor/ingest_others.h"
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

//  The block's aggregate of the in direction (ingest_match.h): pairs keyed by
//  (destination, destination port), peers the distinct sources.  Owned by self (created
//  on first use; reset, merged and destroyed with it); borrowed, valid while self lives.
ingest_agg_t *ingest_agg_incoming (ingest_agg_t *self);

//  Pairs of the in direction's aggregate, 0 if it was never used.
size_t ingest_agg_incoming_size (ingest_agg_t *self);

//  Empty the aggregate, keeping its memory for the next block.
void ingest_agg_reset (ingest_agg_t *self);

//  Add one matched flow.
void ingest_agg_add (ingest_agg_t *self, const proto_addr_t *src, uint16_t port,
                     const proto_addr_t *dst, uint64_t bytes, uint64_t packets,
                     uint64_t durations_msecs);

//  A matched flow, as ingest_agg_add_batch takes it.
typedef struct {
    proto_addr_t src;    //  Source address
    proto_addr_t dst;    //  Destination address (the peer)
    uint64_t bytes;      //  Bytes
    uint64_t packets;    //  Packets
    uint64_t durations;  //  Duration, msecs
    uint16_t port;       //  Destination port
} ingest_agg_flow_t;

#define INGEST_AGG_BATCH 128  //  Flows per batch that hides memory latency best

//  Add count flows; the same as ingest_agg_add for each, in order, but faster: the hash
//  table lines of the whole batch are prefetched before they are used.
void ingest_agg_add_batch (ingest_agg_t *self, const ingest_agg_flow_t *flows, size_t count);

//  Add everything of other into self (counters add, peer sets unite).  other is unchanged.
void ingest_agg_merge (ingest_agg_t *self, ingest_agg_t *other);

//  The block's traffic to ports that are not monitored (ingest_others.h), borrowed for
//  the aggregate's life: reset and merged with it.
ingest_others_t *ingest_agg_others (ingest_agg_t *self);

//  Number of (source, port) pairs.
size_t ingest_agg_size (ingest_agg_t *self);

//  The pairs sorted by address then port, into a new array of ingest_agg_size entries that
//  the caller frees with free().  NULL if the aggregate is empty.
ingest_pair_t *ingest_agg_pairs (ingest_agg_t *self);

//  The source address of the index-th pair (index < ingest_agg_size; insertion order),
//  borrowed until the aggregate changes.
const proto_addr_t *ingest_agg_pair_addr (ingest_agg_t *self, size_t index);

//  The index-th pair (index < ingest_agg_size; insertion order, not sorted) into *pair,
//  with its peers as the wire carries them (PROTOCOL.md "pair entry").  If the pair kept its
//  exact peer set, the peers are written to peers (room for PROTO_PEERS_CAP addresses),
//  sorted ascending, *sketch is set to NULL and their count is returned.  If it passed the
//  cap, *sketch points to its PROTO_SKETCH_REGISTERS registers (borrowed until the
//  aggregate changes) and 0 is returned.
size_t ingest_agg_pair_at (ingest_agg_t *self, size_t index, ingest_pair_t *pair,
                           proto_addr_t *peers, const uint8_t **sketch);

//  Selftest
void ingest_agg_test (bool verbose);

#endif
