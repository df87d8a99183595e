/*  shard_others.h - a host's daily traffic to the ports that are not monitored.

    Parts may carry, per host of the block, the totals of its flows to ports outside the
    monitored set and its ports with the most bytes (PROTOCOL.md "The other ports").
    This module keeps them per (day, host) in the `others` sub-database (shard_keys.h):
    bytes, packets and flows to every other port, summed over the day's blocks (exact),
    and at most SHARD_OTHERS_PORTS ports with their bytes, packets and flows summed
    over the blocks that listed them, most bytes first (ties: lower port first).  A
    day is marked truncated when some port's traffic is counted in the totals but not in
    its list: a block listed only its top ports, or the day's ports did not fit.  Sums
    saturate at UINT64_MAX.

    It is written in the transaction that applies the part (so a duplicate part, which
    is not applied, adds nothing), expired with its day by retention, and read by host
    and day range.  Value (fixed width, big-endian):

        [hdr: flags TRUNCATED][bytes: 8][packets: 8][flows: 8][count: 1]
        count x [port: 2][bytes: 8][packets: 8][flows: 8]
*/
#ifndef SHARD_OTHERS_H_INCLUDED
#define SHARD_OTHERS_H_INCLUDED

#include "proto/proto_msg.h"
#include "shard/shard_kv.h"
#include "shard/shard_store.h"

#define SHARD_OTHERS_PORTS 16        //  Ports kept per (day, host)
#define SHARD_OTHERS_TRUNCATED 0x01  //  Value header flag
#define SHARD_OTHERS_VALUE_MAX (1 + 24 + 1 + SHARD_OTHERS_PORTS * 26)

//  One (day, host): totals and ports (addr and day of the ports unset).
struct shard_other_day_t {
    uint32_t day;                                  //  Days since 1970-01-01
    uint64_t bytes;                                //  To every port not monitored
    uint64_t packets;                              //  Packets
    uint64_t flows;                                //  Flows
    bool truncated;                                //  Some port's traffic is not listed
    size_t port_count;                             //  Entries used in ports[]
    proto_other_port_t ports[SHARD_OTHERS_PORTS];  //  Most bytes first
};

//  Add the others and other_ports entries of part (a PART) to day, in txn (a write
//  transaction).  Ports of a host without an others entry add to its ports only.
//  0, or -1 (the transaction failed).
int shard_others_apply (shard_txn_t *txn, uint32_t day, proto_msg_t *part);

//  The day of host into *other: 0 found, 1 none, -1 failed.
int shard_others_get (shard_txn_t *txn, const proto_addr_t *host, uint32_t day,
                      shard_other_day_t *other);

//  Selftest of the value's encoding and merging (the store's use in shard_store_test).
void shard_others_test (bool verbose);

#endif
