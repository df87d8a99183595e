/*  proto_shard.h - the sharding function: source address -> slot.

    Every host lives in exactly one of PROTO_SLOT_COUNT slots; the broker maps slots to
    shards.  Ingestors and gateways must compute the slot bit for bit alike, on every
    machine and in every version, so the hash is defined here in full (not taken from a
    library whose hash may change): 64-bit FNV-1a over the 16 address bytes, then the
    MurmurHash3 fmix64 finaliser so that consecutive addresses spread over the slots.
    Changing it re-homes every host: don't, or bump PROTO_SHARD_HASH_VERSION and migrate.

    proto_hash64 is also the hash used for peer sets and sketches.
*/
#ifndef PROTO_SHARD_H_INCLUDED
#define PROTO_SHARD_H_INCLUDED

#include "proto/proto_host.h"

#define PROTO_SLOT_COUNT 1024       //  Slots in the slot -> shard map
#define PROTO_SHARD_HASH_VERSION 1  //  Bumped only with a data migration

//  The 64-bit hash of an address (FNV-1a 64 over its 16 bytes, then fmix64).
uint64_t proto_hash64 (const proto_addr_t *addr);

//  The slot of an address, in [0, PROTO_SLOT_COUNT).
uint32_t proto_shard_slot (const proto_addr_t *addr);

//  Selftest
void proto_shard_test (bool verbose);

#endif
