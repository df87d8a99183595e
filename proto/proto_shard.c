/*  proto_shard.c - the sharding function (see proto_shard.h for why it is defined here).

    The selftest pins test vectors: if one of them changes, every deployed cluster would
    put hosts on other shards than their data, so the vectors must never be edited.
*/
#include "proto/proto_shard.h"

#include <assert.h>
#include <stdio.h>

#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

//  --------------------------------------------------------------------------
uint64_t
proto_hash64 (const proto_addr_t *addr)
{
    assert (addr);
    uint64_t hash = FNV64_OFFSET;
    for (int index = 0; index < PROTO_ADDR_SIZE; index++) {
        hash ^= addr->bytes[index];
        hash *= FNV64_PRIME;
    }
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ULL;
    hash ^= hash >> 33;
    return hash;
}

//  --------------------------------------------------------------------------
uint32_t
proto_shard_slot (const proto_addr_t *addr)
{
    assert (addr);
    return (uint32_t) (proto_hash64 (addr) % PROTO_SLOT_COUNT);
}

//  --------------------------------------------------------------------------
void
proto_shard_test (bool verbose)
{
    (void) verbose;
    printf (" * proto_shard: ");
    //  Pinned vectors, computed independently from the definition (a Python rendering of
    //  FNV-1a 64 + fmix64 over the 16 bytes); never to be edited.
    struct {
        const char *addr;
        uint64_t hash;
        uint32_t slot;
    } vectors[] = {
        {"10.1.2.3", 0x6afbc934a9a5f761ULL, 865},
        {"192.0.2.7", 0xa68a26b1bc43f9aaULL, 426},
        {"::", 0xa5e0dba6c385580aULL, 10},
        {"2001:db8::1", 0x8dec2b2d0b0e530fULL, 783},
    };
    for (size_t index = 0; index < sizeof vectors / sizeof vectors[0]; index++) {
        proto_addr_t addr;
        assert (proto_addr_parse (&addr, vectors[index].addr) == 0);
        assert (proto_hash64 (&addr) == vectors[index].hash);
        assert (proto_shard_slot (&addr) == vectors[index].slot);
    }
    //  Spread: 2^20 consecutive IPv4 hosts fill every slot within 20 % of the mean (the
    //  mean is 1024, one standard deviation 32, so 20 % is over six deviations).
    uint32_t counts[PROTO_SLOT_COUNT] = {0};
    for (uint32_t host = 0; host < (1u << 20); host++) {
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, 0x0a000000 + host);
        counts[proto_shard_slot (&addr)]++;
    }
    uint32_t mean = (1u << 20) / PROTO_SLOT_COUNT;
    for (int slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        assert (counts[slot] > mean * 4 / 5 && counts[slot] < mean * 6 / 5);
    printf ("OK\n");
}
