/*  ingest_others.h - a block's traffic to the ports that are not monitored, per host.

    A local source's flows to a destination port outside the monitored set (same source
    rule, AS and prefix lists, --exclude-internal and anonymisation as the monitored
    flows; ICMP never counts) add to the host's totals of the block: bytes, packets and
    flows, always exact.  Per (host, port) they also add to the port's bytes, packets
    and flows, for at most INGEST_OTHERS_HOST_PORTS distinct ports a host: a port first
    seen after that is counted in the totals only and the host is marked truncated.
    What leaves the ingestor (ingest_others_at) is a host's INGEST_OTHERS_PORTS ports
    with the most bytes (ties: the lower port first); the host is marked truncated as
    soon as some port's traffic is missing from that list.  So: totals exact, the
    values of each listed port exact, the list complete unless truncated.

    Memory grows with the hosts and their distinct ports (bounded as above), not flows.
*/
#ifndef INGEST_OTHERS_H_INCLUDED
#define INGEST_OTHERS_H_INCLUDED

#include "proto/proto_msg.h"

#define INGEST_OTHERS_PORTS 16        //  Ports a host's block entry carries (by bytes)
#define INGEST_OTHERS_HOST_PORTS 256  //  Distinct ports counted per host and block

typedef struct _ingest_others_t ingest_others_t;

//  One host's block entry, as ingest_others_at gives it.
typedef struct {
    proto_addr_t addr;                              //  Source host
    uint64_t bytes;                                 //  Sum of bytes to other ports
    uint64_t packets;                               //  Sum of packets
    uint64_t flows;                                 //  Flows
    bool truncated;                                 //  Some port is not in ports[]
    size_t port_count;                              //  Entries used in ports[]
    proto_other_port_t ports[INGEST_OTHERS_PORTS];  //  Most bytes first (addr, day unset)
} ingest_other_t;

//  Create an empty set.
ingest_others_t *ingest_others_new (void);
void ingest_others_destroy (ingest_others_t **self_p);

//  Empty the set, keeping its memory.
void ingest_others_reset (ingest_others_t *self);

//  Add one flow of src to port (not monitored).
void ingest_others_add (ingest_others_t *self, const proto_addr_t *src, uint16_t port,
                        uint64_t bytes, uint64_t packets);

//  One flow to add, for ingest_others_add_batch.
typedef struct {
    proto_addr_t src;  //  Source host
    uint64_t bytes;    //  Bytes of the flow
    uint64_t packets;  //  Packets of the flow
    uint16_t port;     //  Destination port (not monitored)
} ingest_others_flow_t;

#define INGEST_OTHERS_BATCH 128  //  Flows per batch that hides memory latency best

//  Add count flows, as ingest_others_add each in turn (the same result), with the
//  tables' reads prefetched a pass ahead.
void ingest_others_add_batch (ingest_others_t *self, const ingest_others_flow_t *flows,
                              size_t count);

//  Add everything of other into self (counters add; other unchanged).
void ingest_others_merge (ingest_others_t *self, ingest_others_t *other);

//  Hosts in the set.
size_t ingest_others_size (ingest_others_t *self);

//  The index-th host (index < ingest_others_size; insertion order) into *other.
void ingest_others_at (ingest_others_t *self, size_t index, ingest_other_t *other);

//  Append to part (a PART) the entries of the hosts whose slot slots[] gives to shard,
//  with day as their day.  Returns the hosts appended.
size_t ingest_others_append_part (ingest_others_t *self, proto_msg_t *part, const uint16_t *slots,
                                  size_t shard, uint32_t day);

//  Selftest
void ingest_others_test (bool verbose);

#endif
