/*  ingest_agg.c - block aggregation: counters and distinct peers per (source, port).

    Pairs live in a dense vector indexed by an open-addressing hash table (linear probing,
    at most half full) whose 64-bit slots hold the entry index + 1 in the low half and the
    top 32 bits of the key's hash in the high half, so that a probe rarely touches an
    entry that does not match.

    Each pair owns its peer sets, so that the hot path touches memory of that pair only:
    open-addressing sets (linear probing, grown at half full) from the aggregate's arena
    (ingest_arena: no malloc per set, huge pages, one reset per block), one of 4-byte IPv4
    addresses (the v4-mapped peers, nearly all of them in practice: a quarter of the
    memory, and of the cache misses, of 16-byte entries) and one of 16-byte addresses for
    the others.  Zero marks an empty slot in both, so the peers 0.0.0.0 and "::" are kept
    as flags.  A pair keeps its exact sets up to PROTO_PEERS_CAP peers.  The first peer
    beyond that replaces the sets by a sketch of PROTO_SKETCH_REGISTERS one-byte
    registers, which receives the exact set and every later peer; the pair's value is then
    the sketch's estimate (never below cap + 1).  The sketch is proto_sketch, so the
    shards can merge sketches made by different ingestors register by register.
*/
#include "ingestor/ingest_agg.h"
#include "ingestor/ingest_arena.h"
#include "proto/proto_sketch.h"

#include <assert.h>
#include <endian.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGG_TABLE_MIN 1024  //  Initial slots of the pair index
#define AGG_SET_MIN 16      //  Initial slots of a peer set

//  Peers kept as flags (zero marks an empty set slot)
#define AGG_PEER_ZERO 0x01     //  "::"
#define AGG_PEER_V4_ZERO 0x02  //  0.0.0.0 (::ffff:0.0.0.0)

typedef struct {
    proto_addr_t addr;       //  Source address
    uint16_t port;           //  Destination port
    uint8_t zero_peers;      //  AGG_PEER_ZERO, AGG_PEER_V4_ZERO: peers not stored in the sets
    uint32_t peers;          //  Distinct peers counted exactly (<= PROTO_PEERS_CAP)
    uint32_t *set_v4;        //  IPv4 peers (network order as stored), NULL until the first
    uint32_t v4_mask;        //  Slots of set_v4 - 1
    uint32_t v4_count;       //  Entries used in set_v4
    uint32_t wide_mask;      //  Slots of set_wide - 1
    uint32_t wide_count;     //  Entries used in set_wide
    proto_addr_t *set_wide;  //  Other peers, NULL until the first
    uint64_t bytes;          //  Sum of bytes
    uint64_t packets;        //  Sum of packets
    uint64_t durations;      //  Sum of durations, msecs
    uint8_t *sketch;         //  HyperLogLog registers once past the cap, else NULL
} s_pair_t;

struct _ingest_agg_t {
    s_pair_t *pairs;          //  Dense pair entries
    size_t pair_count;        //  Entries used
    size_t pair_room;         //  Entries allocated
    uint64_t *slots;          //  Pair index: (hash >> 32) << 32 | (entry + 1); 0 = empty
    uint32_t mask;            //  Slots - 1 (a power of two)
    ingest_arena_t *arena;    //  Peer sets and sketches
    ingest_others_t *others;  //  Traffic to the ports not monitored
    ingest_agg_t *incoming;   //  The same block's in direction, NULL until asked for
};

//  --------------------------------------------------------------------------
//  Fast in-process hash of an address (not stable across versions: tables only).

static inline uint64_t
s_hash_addr (const proto_addr_t *addr, uint64_t seed)
{
    uint64_t high, low;
    memcpy (&high, addr->bytes, 8);
    memcpy (&low, addr->bytes + 8, 8);
    uint64_t hash = (high ^ seed) * 0x9e3779b97f4a7c15ULL;
    hash ^= low + (hash >> 29);
    hash *= 0xd6e8feb86659fd93ULL;
    hash ^= hash >> 32;
    hash *= 0xd6e8feb86659fd93ULL;
    return hash ^ (hash >> 32);
}

static inline bool
s_addr_equal (const proto_addr_t *a, const proto_addr_t *b)
{
    uint64_t a_high, a_low, b_high, b_low;
    memcpy (&a_high, a->bytes, 8);
    memcpy (&a_low, a->bytes + 8, 8);
    memcpy (&b_high, b->bytes, 8);
    memcpy (&b_low, b->bytes + 8, 8);
    return ((a_high ^ b_high) | (a_low ^ b_low)) == 0;
}

static inline bool
s_addr_zero (const proto_addr_t *addr)
{
    uint64_t high, low;
    memcpy (&high, addr->bytes, 8);
    memcpy (&low, addr->bytes + 8, 8);
    return (high | low) == 0;
}

static void *
s_alloc (size_t size)
{
    void *memory = calloc (1, size);
    assert (memory);  //  Out of memory: nothing sensible to do in an aggregation
    return memory;
}

//  --------------------------------------------------------------------------
ingest_agg_t *
ingest_agg_new (void)
{
    ingest_agg_t *self = (ingest_agg_t *) s_alloc (sizeof (ingest_agg_t));
    self->slots = (uint64_t *) s_alloc (AGG_TABLE_MIN * sizeof (uint64_t));
    self->mask = AGG_TABLE_MIN - 1;
    self->arena = ingest_arena_new ();
    assert (self->arena);
    self->others = ingest_others_new ();
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_agg_destroy (ingest_agg_t **self_p)
{
    assert (self_p);
    ingest_agg_t *self = *self_p;
    if (!self)
        return;
    ingest_others_destroy (&self->others);
    ingest_agg_destroy (&self->incoming);
    ingest_arena_destroy (&self->arena);
    free (self->pairs);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
ingest_agg_t *
ingest_agg_incoming (ingest_agg_t *self)
{
    assert (self);
    if (!self->incoming)
        self->incoming = ingest_agg_new ();
    return self->incoming;
}

//  --------------------------------------------------------------------------
size_t
ingest_agg_incoming_size (ingest_agg_t *self)
{
    assert (self);
    return self->incoming ? self->incoming->pair_count : 0;
}

//  --------------------------------------------------------------------------
void
ingest_agg_reset (ingest_agg_t *self)
{
    assert (self);
    if (self->incoming)
        ingest_agg_reset (self->incoming);
    ingest_arena_reset (self->arena);
    ingest_others_reset (self->others);
    self->pair_count = 0;
    memset (self->slots, 0, ((size_t) self->mask + 1) * sizeof (uint64_t));
}

//  --------------------------------------------------------------------------
//  Double the pair index and re-insert every pair.

static void
s_grow_index (ingest_agg_t *self)
{
    size_t slot_count = ((size_t) self->mask + 1) * 2;
    free (self->slots);
    self->slots = (uint64_t *) s_alloc (slot_count * sizeof (uint64_t));
    self->mask = (uint32_t) (slot_count - 1);
    for (size_t entry = 0; entry < self->pair_count; entry++) {
        const s_pair_t *pair = &self->pairs[entry];
        uint64_t hash = s_hash_addr (&pair->addr, pair->port);
        uint32_t slot = (uint32_t) hash & self->mask;
        while (self->slots[slot])
            slot = (slot + 1) & self->mask;
        self->slots[slot] = (hash & 0xffffffff00000000ULL) | (entry + 1);
    }
}

//  Find or create the pair (addr, port) whose s_hash_addr is hash; returns it.
static s_pair_t *
s_pair_require_hashed (ingest_agg_t *self, const proto_addr_t *addr, uint16_t port, uint64_t hash)
{
    uint64_t tag = hash & 0xffffffff00000000ULL;
    uint32_t slot = (uint32_t) hash & self->mask;
    while (true) {
        uint64_t value = self->slots[slot];
        if (value == 0)
            break;
        if ((value & 0xffffffff00000000ULL) == tag) {
            s_pair_t *pair = &self->pairs[(uint32_t) value - 1];
            if (pair->port == port && s_addr_equal (&pair->addr, addr))
                return pair;
        }
        slot = (slot + 1) & self->mask;
    }
    if (self->pair_count == self->pair_room) {
        self->pair_room = self->pair_room ? self->pair_room * 2 : AGG_TABLE_MIN / 2;
        self->pairs = (s_pair_t *) realloc (self->pairs, self->pair_room * sizeof (s_pair_t));
        assert (self->pairs);
    }
    size_t index = self->pair_count++;
    s_pair_t *pair = &self->pairs[index];
    memset (pair, 0, sizeof *pair);
    pair->addr = *addr;
    pair->port = port;
    self->slots[slot] = tag | (index + 1);
    if (self->pair_count * 2 > (size_t) self->mask + 1)
        s_grow_index (self);
    return pair;
}

static s_pair_t *
s_pair_require (ingest_agg_t *self, const proto_addr_t *addr, uint16_t port)
{
    return s_pair_require_hashed (self, addr, port, s_hash_addr (addr, port));
}

//  --------------------------------------------------------------------------
//  The peer sets.  An address is v4-mapped when its first 12 bytes are ::ffff; its IPv4
//  part is then kept as the 4 bytes as they are (the same order in and out).

static const uint8_t s_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static inline bool
s_peer_v4 (const proto_addr_t *addr, uint32_t *v4)
{
    memcpy (v4, addr->bytes + 12, 4);
    return memcmp (addr->bytes, s_v4_prefix, sizeof s_v4_prefix) == 0;
}

static inline void
s_peer_from_v4 (proto_addr_t *addr, uint32_t v4)
{
    memcpy (addr->bytes, s_v4_prefix, sizeof s_v4_prefix);
    memcpy (addr->bytes + 12, &v4, 4);
}

static inline uint32_t
s_hash_v4 (uint32_t v4)
{
    return (uint32_t) (((uint64_t) v4 * 0x9e3779b97f4a7c15ULL) >> 32);
}

//  The slot of v4 in a set: where it is, or the empty slot where it would go.
static inline uint32_t
s_slot_v4 (const uint32_t *set, uint32_t mask, uint32_t v4)
{
    uint32_t slot = s_hash_v4 (v4) & mask;
    while (set[slot] && set[slot] != v4)
        slot = (slot + 1) & mask;
    return slot;
}

static inline uint32_t
s_slot_wide (const proto_addr_t *set, uint32_t mask, const proto_addr_t *addr)
{
    uint32_t slot = (uint32_t) s_hash_addr (addr, 0) & mask;
    while (!s_addr_zero (&set[slot]) && !s_addr_equal (&set[slot], addr))
        slot = (slot + 1) & mask;
    return slot;
}

//  Double a set (or make it, at AGG_SET_MIN slots).
static void
s_grow_v4 (ingest_arena_t *arena, s_pair_t *pair)
{
    uint32_t *old = pair->set_v4;
    uint32_t old_slots = old ? pair->v4_mask + 1 : 0;
    uint32_t slots = old ? old_slots * 2 : AGG_SET_MIN;
    pair->set_v4 = (uint32_t *) ingest_arena_alloc (arena, slots * sizeof (uint32_t));
    pair->v4_mask = slots - 1;
    for (uint32_t slot = 0; slot < old_slots; slot++)
        if (old[slot])
            pair->set_v4[s_slot_v4 (pair->set_v4, pair->v4_mask, old[slot])] = old[slot];
    if (old)
        ingest_arena_free (arena, old, old_slots * sizeof (uint32_t));
}

static void
s_grow_wide (ingest_arena_t *arena, s_pair_t *pair)
{
    proto_addr_t *old = pair->set_wide;
    uint32_t old_slots = old ? pair->wide_mask + 1 : 0;
    uint32_t slots = old ? old_slots * 2 : AGG_SET_MIN;
    pair->set_wide = (proto_addr_t *) ingest_arena_alloc (arena, slots * sizeof (proto_addr_t));
    pair->wide_mask = slots - 1;
    for (uint32_t slot = 0; slot < old_slots; slot++)
        if (!s_addr_zero (&old[slot]))
            pair->set_wide[s_slot_wide (pair->set_wide, pair->wide_mask, &old[slot])] = old[slot];
    if (old)
        ingest_arena_free (arena, old, old_slots * sizeof (proto_addr_t));
}

//  Call body for every peer stored exactly (not the sketch), as const proto_addr_t *peer.
#define S_FOR_EACH_PEER(pair, peer, body)                                                          \
    do {                                                                                           \
        proto_addr_t s_peer_value;                                                                 \
        const proto_addr_t *peer = &s_peer_value;                                                  \
        if ((pair)->zero_peers & AGG_PEER_ZERO) {                                                  \
            memset (&s_peer_value, 0, sizeof s_peer_value);                                        \
            body;                                                                                  \
        }                                                                                          \
        if ((pair)->zero_peers & AGG_PEER_V4_ZERO) {                                               \
            s_peer_from_v4 (&s_peer_value, 0);                                                     \
            body;                                                                                  \
        }                                                                                          \
        for (uint32_t s_slot = 0; (pair)->set_v4 && s_slot <= (pair)->v4_mask; s_slot++)           \
            if ((pair)->set_v4[s_slot]) {                                                          \
                s_peer_from_v4 (&s_peer_value, (pair)->set_v4[s_slot]);                            \
                body;                                                                              \
            }                                                                                      \
        for (uint32_t s_slot = 0; (pair)->set_wide && s_slot <= (pair)->wide_mask; s_slot++)       \
            if (!s_addr_zero (&(pair)->set_wide[s_slot])) {                                        \
                peer = &(pair)->set_wide[s_slot];                                                  \
                body;                                                                              \
                peer = &s_peer_value;                                                              \
            }                                                                                      \
    } while (0)

//  Replace the pair's exact sets by a sketch holding them.
static void
s_sketch_start (ingest_arena_t *arena, s_pair_t *pair)
{
    pair->sketch = (uint8_t *) ingest_arena_alloc (arena, PROTO_SKETCH_REGISTERS);
    S_FOR_EACH_PEER (pair, peer, proto_sketch_add (pair->sketch, peer));
    if (pair->set_v4)
        ingest_arena_free (arena, pair->set_v4, ((size_t) pair->v4_mask + 1) * sizeof (uint32_t));
    if (pair->set_wide)
        ingest_arena_free (arena, pair->set_wide,
                           ((size_t) pair->wide_mask + 1) * sizeof (proto_addr_t));
    pair->set_v4 = NULL;
    pair->set_wide = NULL;
    pair->v4_mask = pair->wide_mask = pair->v4_count = pair->wide_count = 0;
}

//  --------------------------------------------------------------------------
//  Count dst as a peer of pair.

static void
s_add_peer (ingest_arena_t *arena, s_pair_t *pair, const proto_addr_t *dst)
{
    if (pair->sketch) {
        proto_sketch_add (pair->sketch, dst);
        return;
    }
    //  Find dst; if it is new, make sure there is room under the cap first
    uint32_t v4;
    bool narrow = s_peer_v4 (dst, &v4);
    uint8_t flag =
        narrow ? (v4 == 0 ? AGG_PEER_V4_ZERO : 0) : (s_addr_zero (dst) ? AGG_PEER_ZERO : 0);
    uint32_t slot = 0;
    if (flag) {
        if (pair->zero_peers & flag)
            return;
    }
    else if (narrow) {
        if (!pair->set_v4)
            s_grow_v4 (arena, pair);
        slot = s_slot_v4 (pair->set_v4, pair->v4_mask, v4);
        if (pair->set_v4[slot])
            return;
    }
    else {
        if (!pair->set_wide)
            s_grow_wide (arena, pair);
        slot = s_slot_wide (pair->set_wide, pair->wide_mask, dst);
        if (!s_addr_zero (&pair->set_wide[slot]))
            return;
    }
    if (pair->peers == PROTO_PEERS_CAP) {
        s_sketch_start (arena, pair);
        proto_sketch_add (pair->sketch, dst);
        return;
    }
    pair->peers++;
    if (flag)
        pair->zero_peers |= flag;
    else if (narrow) {
        pair->set_v4[slot] = v4;
        if (++pair->v4_count * 2 > pair->v4_mask + 1)
            s_grow_v4 (arena, pair);
    }
    else {
        pair->set_wide[slot] = *dst;
        if (++pair->wide_count * 2 > pair->wide_mask + 1)
            s_grow_wide (arena, pair);
    }
}

//  --------------------------------------------------------------------------
void
ingest_agg_add (ingest_agg_t *self, const proto_addr_t *src, uint16_t port, const proto_addr_t *dst,
                uint64_t bytes, uint64_t packets, uint64_t durations_msecs)
{
    assert (self);
    assert (src);
    assert (dst);
    s_pair_t *pair = s_pair_require (self, src, port);
    pair->bytes += bytes;
    pair->packets += packets;
    pair->durations += durations_msecs;
    s_add_peer (self->arena, pair, dst);
}

//  --------------------------------------------------------------------------
//  Passes over the batch, each prefetching what the next one reads: the index slots, the
//  pair entries they name, the entries' last bytes, then the first slot of each pair's
//  peer set.  A block's
//  tables do not fit in cache once gigabytes of decompressed records stream through it,
//  so without this nearly every flow waits for memory two or three times.

void
ingest_agg_add_batch (ingest_agg_t *self, const ingest_agg_flow_t *flows, size_t count)
{
    assert (self);
    assert (flows || count == 0);
    while (count > INGEST_AGG_BATCH) {
        ingest_agg_add_batch (self, flows, INGEST_AGG_BATCH);
        flows += INGEST_AGG_BATCH;
        count -= INGEST_AGG_BATCH;
    }
    uint64_t hashes[INGEST_AGG_BATCH];
    uint32_t entries[INGEST_AGG_BATCH];
    for (size_t index = 0; index < count; index++) {
        hashes[index] = s_hash_addr (&flows[index].src, flows[index].port);
        __builtin_prefetch (&self->slots[(uint32_t) hashes[index] & self->mask]);
    }
    for (size_t index = 0; index < count; index++) {
        //  The entry the first slot names, if its tag matches: nearly always the pair
        uint64_t value = self->slots[(uint32_t) hashes[index] & self->mask];
        if (value && (value >> 32) == (hashes[index] >> 32))
            __builtin_prefetch (&self->pairs[(uint32_t) value - 1]);
    }
    for (size_t index = 0; index < count; index++) {
        const ingest_agg_flow_t *flow = &flows[index];
        s_pair_t *pair = s_pair_require_hashed (self, &flow->src, flow->port, hashes[index]);
        entries[index] = (uint32_t) (pair - self->pairs);
        __builtin_prefetch ((const uint8_t *) pair + sizeof (s_pair_t) - 1);
    }
    for (size_t index = 0; index < count; index++) {
        s_pair_t *pair = &self->pairs[entries[index]];
        const ingest_agg_flow_t *flow = &flows[index];
        pair->bytes += flow->bytes;
        pair->packets += flow->packets;
        pair->durations += flow->durations;
        uint32_t v4;
        if (s_peer_v4 (&flow->dst, &v4)) {
            if (pair->set_v4)
                __builtin_prefetch (&pair->set_v4[s_hash_v4 (v4) & pair->v4_mask]);
        }
        else if (pair->set_wide)
            __builtin_prefetch (
                &pair->set_wide[(uint32_t) s_hash_addr (&flow->dst, 0) & pair->wide_mask]);
    }
    for (size_t index = 0; index < count; index++)
        s_add_peer (self->arena, &self->pairs[entries[index]], &flows[index].dst);
}

//  --------------------------------------------------------------------------
void
ingest_agg_merge (ingest_agg_t *self, ingest_agg_t *other)
{
    assert (self);
    assert (other);
    assert (self != other);
    ingest_others_merge (self->others, other->others);
    if (other->incoming && other->incoming->pair_count)
        ingest_agg_merge (ingest_agg_incoming (self), other->incoming);
    for (size_t entry = 0; entry < other->pair_count; entry++) {
        const s_pair_t *from = &other->pairs[entry];
        s_pair_t *pair = s_pair_require (self, &from->addr, from->port);
        pair->bytes += from->bytes;
        pair->packets += from->packets;
        pair->durations += from->durations;
        if (from->sketch) {
            if (!pair->sketch)
                s_sketch_start (self->arena, pair);
            proto_sketch_merge (pair->sketch, from->sketch);
        }
        else
            S_FOR_EACH_PEER (from, peer, s_add_peer (self->arena, pair, peer));
    }
}

//  --------------------------------------------------------------------------
ingest_others_t *
ingest_agg_others (ingest_agg_t *self)
{
    assert (self);
    return self->others;
}

//  --------------------------------------------------------------------------
size_t
ingest_agg_size (ingest_agg_t *self)
{
    assert (self);
    return self->pair_count;
}

//  --------------------------------------------------------------------------
//  Sorting pairs by address then port: a compact key per pair, whose integer order is
//  the byte order of the address (as proto_addr_compare), then the port.

typedef struct {
    uint64_t high;  //  Address bytes 0-7, big-endian read
    uint64_t low;   //  Address bytes 8-15, big-endian read
    uint64_t rest;  //  port << 32 | pair index
} s_sort_key_t;

static int
s_compare_keys (const void *a, const void *b)
{
    const s_sort_key_t *left = (const s_sort_key_t *) a;
    const s_sort_key_t *right = (const s_sort_key_t *) b;
    if (left->high != right->high)
        return left->high < right->high ? -1 : 1;
    if (left->low != right->low)
        return left->low < right->low ? -1 : 1;
    return left->rest < right->rest ? -1 : left->rest > right->rest;
}

//  The wire values of one pair.
static void
s_pair_values (const s_pair_t *pair, ingest_pair_t *out)
{
    out->addr = pair->addr;
    out->port = pair->port;
    out->values.value[PROTO_FEATURE_BYTES] = pair->bytes;
    out->values.value[PROTO_FEATURE_PACKETS] = pair->packets;
    out->values.value[PROTO_FEATURE_DURATIONS] = pair->durations;
    uint64_t peers = pair->peers;
    if (pair->sketch) {
        peers = proto_sketch_estimate (pair->sketch);
        if (peers <= PROTO_PEERS_CAP)
            peers = PROTO_PEERS_CAP + 1;  //  We know for sure there were more
    }
    out->values.value[PROTO_FEATURE_PEERS] = peers;
    out->values.flags = peers >= PROTO_PEERS_CAP ? PROTO_VALUES_PEERS_CAPPED : 0;
}

ingest_pair_t *
ingest_agg_pairs (ingest_agg_t *self)
{
    assert (self);
    if (self->pair_count == 0)
        return NULL;
    s_sort_key_t *keys = (s_sort_key_t *) s_alloc (self->pair_count * sizeof (s_sort_key_t));
    for (size_t index = 0; index < self->pair_count; index++) {
        const s_pair_t *pair = &self->pairs[index];
        uint64_t high, low;
        memcpy (&high, pair->addr.bytes, 8);
        memcpy (&low, pair->addr.bytes + 8, 8);
        keys[index].high = be64toh (high);
        keys[index].low = be64toh (low);
        keys[index].rest = (uint64_t) pair->port << 32 | index;
    }
    qsort (keys, self->pair_count, sizeof (s_sort_key_t), s_compare_keys);
    ingest_pair_t *result = (ingest_pair_t *) s_alloc (self->pair_count * sizeof (ingest_pair_t));
    for (size_t index = 0; index < self->pair_count; index++)
        s_pair_values (&self->pairs[(uint32_t) keys[index].rest], &result[index]);
    free (keys);
    return result;
}

//  --------------------------------------------------------------------------
static int
s_compare_addrs (const void *a, const void *b)
{
    return proto_addr_compare ((const proto_addr_t *) a, (const proto_addr_t *) b);
}

const proto_addr_t *
ingest_agg_pair_addr (ingest_agg_t *self, size_t index)
{
    assert (self);
    assert (index < self->pair_count);
    return &self->pairs[index].addr;
}

//  --------------------------------------------------------------------------
size_t
ingest_agg_pair_at (ingest_agg_t *self, size_t index, ingest_pair_t *pair, proto_addr_t *peers,
                    const uint8_t **sketch)
{
    assert (self);
    assert (index < self->pair_count);
    assert (pair);
    assert (peers);
    assert (sketch);
    const s_pair_t *from = &self->pairs[index];
    s_pair_values (from, pair);
    *sketch = from->sketch;
    if (from->sketch)
        return 0;
    size_t count = 0;
    S_FOR_EACH_PEER (from, peer, peers[count++] = *peer);
    assert (count == from->peers);
    qsort (peers, count, sizeof (proto_addr_t), s_compare_addrs);
    return count;
}

//  --------------------------------------------------------------------------
//  Selftest

static const ingest_pair_t *
s_find (const ingest_pair_t *pairs, size_t count, const char *addr, uint16_t port)
{
    proto_addr_t key;
    assert (proto_addr_parse (&key, addr) == 0);
    for (size_t index = 0; index < count; index++)
        if (pairs[index].port == port && proto_addr_compare (&pairs[index].addr, &key) == 0)
            return &pairs[index];
    return NULL;
}

void
ingest_agg_test (bool verbose)
{
    printf (" * ingest_agg: ");
    ingest_agg_t *agg = ingest_agg_new ();
    assert (agg);
    assert (ingest_agg_pairs (agg) == NULL);
    proto_addr_t a, b, six, dst;
    proto_addr_parse (&a, "10.0.0.1");
    proto_addr_parse (&b, "10.0.0.2");
    proto_addr_parse (&six, "2001:db8::1");
    proto_addr_parse (&dst, "192.0.2.1");
    ingest_agg_add (agg, &a, 25, &dst, 100, 2, 1000);
    ingest_agg_add (agg, &a, 25, &dst, UINT32_MAX, 3, 0);  //  same peer again
    ingest_agg_add (agg, &a, 22, &dst, 0, 0, 0);           //  a zero-byte flow
    ingest_agg_add (agg, &six, 25, &a, 7, 1, 5);
    assert (ingest_agg_size (agg) == 3);

    //  Peers around the cap: b:80 gets cap - 1, b:21 exactly cap, b:22 four times cap
    for (uint32_t host = 0; host < 4 * PROTO_PEERS_CAP; host++) {
        proto_addr_t peer;
        proto_addr_from_ipv4 (&peer, 0xc6330000 + host);
        if (host < PROTO_PEERS_CAP - 1)
            ingest_agg_add (agg, &b, 80, &peer, 1, 1, 1);
        if (host < PROTO_PEERS_CAP)
            ingest_agg_add (agg, &b, 21, &peer, 1, 1, 1);
        ingest_agg_add (agg, &b, 22, &peer, 1, 1, 1);
        ingest_agg_add (agg, &b, 22, &peer, 1, 1, 1);
    }
    ingest_pair_t *pairs = ingest_agg_pairs (agg);
    size_t count = ingest_agg_size (agg);
    assert (count == 6);
    //  Sorted by address, then port; IPv4 (v4-mapped) before 2001:db8::1
    assert (pairs[0].port == 22 && pairs[1].port == 25);
    assert (proto_addr_compare (&pairs[5].addr, &six) == 0);
    const ingest_pair_t *pair = s_find (pairs, count, "10.0.0.1", 25);
    assert (pair->values.value[PROTO_FEATURE_BYTES] == 100 + (uint64_t) UINT32_MAX);
    assert (pair->values.value[PROTO_FEATURE_PACKETS] == 5);
    assert (pair->values.value[PROTO_FEATURE_DURATIONS] == 1000);
    assert (pair->values.value[PROTO_FEATURE_PEERS] == 1 && pair->values.flags == 0);
    pair = s_find (pairs, count, "10.0.0.2", 80);
    assert (pair->values.value[PROTO_FEATURE_PEERS] == PROTO_PEERS_CAP - 1);
    assert (pair->values.flags == 0);
    pair = s_find (pairs, count, "10.0.0.2", 21);
    assert (pair->values.value[PROTO_FEATURE_PEERS] == PROTO_PEERS_CAP);
    assert (pair->values.flags == PROTO_VALUES_PEERS_CAPPED);
    pair = s_find (pairs, count, "10.0.0.2", 22);
    uint64_t estimate = pair->values.value[PROTO_FEATURE_PEERS];
    assert (pair->values.flags == PROTO_VALUES_PEERS_CAPPED);
    assert (pair->values.value[PROTO_FEATURE_PACKETS] == 8 * PROTO_PEERS_CAP);
    assert (fabs ((double) estimate - 4 * PROTO_PEERS_CAP) < 0.05 * 4 * PROTO_PEERS_CAP);
    if (verbose)
        printf ("estimate %llu for %d peers; ", (unsigned long long) estimate, 4 * PROTO_PEERS_CAP);
    free (pairs);

    //  Merge: counters add, peer sets unite (overlapping), sketches merge
    ingest_agg_t *other = ingest_agg_new ();
    proto_addr_t dst2;
    proto_addr_parse (&dst2, "192.0.2.2");
    ingest_agg_add (other, &a, 25, &dst, 1, 1, 1);
    ingest_agg_add (other, &a, 25, &dst2, 1, 1, 1);
    for (uint32_t host = 0; host < 2 * PROTO_PEERS_CAP; host++) {
        proto_addr_t peer;
        proto_addr_from_ipv4 (&peer, 0xc6330000 + 3 * PROTO_PEERS_CAP + host);
        ingest_agg_add (other, &b, 22, &peer, 1, 1, 1);  //  half overlaps b:22 of agg
        ingest_agg_add (other, &b, 80, &peer, 0, 0, 0);  //  pushes b:80 past the cap
    }
    ingest_agg_merge (agg, other);
    pairs = ingest_agg_pairs (agg);
    count = ingest_agg_size (agg);
    pair = s_find (pairs, count, "10.0.0.1", 25);
    assert (pair->values.value[PROTO_FEATURE_PEERS] == 2);
    assert (pair->values.value[PROTO_FEATURE_BYTES] == 102 + (uint64_t) UINT32_MAX);
    pair = s_find (pairs, count, "10.0.0.2", 22);
    estimate = pair->values.value[PROTO_FEATURE_PEERS];
    assert (fabs ((double) estimate - 5 * PROTO_PEERS_CAP) < 0.05 * 5 * PROTO_PEERS_CAP);
    pair = s_find (pairs, count, "10.0.0.2", 80);
    estimate = pair->values.value[PROTO_FEATURE_PEERS];
    assert (pair->values.flags == PROTO_VALUES_PEERS_CAPPED);
    assert (fabs ((double) estimate - 3 * PROTO_PEERS_CAP) < 0.05 * 3 * PROTO_PEERS_CAP);

    //  Pairs one by one, with their exact peer sets (sorted) or sketches
    proto_addr_t *peer_set = (proto_addr_t *) s_alloc (PROTO_PEERS_CAP * sizeof (proto_addr_t));
    size_t sketched = 0, exact = 0;
    for (size_t index = 0; index < ingest_agg_size (agg); index++) {
        ingest_pair_t one;
        const uint8_t *sketch;
        size_t peer_count = ingest_agg_pair_at (agg, index, &one, peer_set, &sketch);
        if (sketch) {
            assert (peer_count == 0 && one.values.value[PROTO_FEATURE_PEERS] > PROTO_PEERS_CAP);
            sketched++;
        }
        else {
            assert (peer_count == one.values.value[PROTO_FEATURE_PEERS]);
            for (size_t peer = 1; peer < peer_count; peer++)
                assert (proto_addr_compare (&peer_set[peer - 1], &peer_set[peer]) < 0);
            exact++;
        }
        assert (proto_addr_compare (ingest_agg_pair_addr (agg, index), &one.addr) == 0);
        if (one.port == 25 && proto_addr_compare (&one.addr, &a) == 0) {
            assert (peer_count == 2);
            assert (proto_addr_compare (&peer_set[0], &dst) == 0);
            assert (proto_addr_compare (&peer_set[1], &dst2) == 0);
        }
    }
    assert (sketched == 2 && exact == 4);
    free (pairs);
    ingest_agg_destroy (&other);

    //  Peers of every kind on one pair: IPv4, IPv6, 0.0.0.0 and "::" (kept as flags), each
    //  counted once, listed sorted, and carried into the sketch past the cap
    ingest_agg_t *mixed = ingest_agg_new ();
    const char *kinds[] = {"::", "0.0.0.0", "10.9.8.7", "2001:db8::7", "::1", "255.255.255.255"};
    for (int round = 0; round < 3; round++)
        for (size_t kind = 0; kind < 6; kind++) {
            proto_addr_t peer;
            assert (proto_addr_parse (&peer, kinds[kind]) == 0);
            ingest_agg_add (mixed, &a, 443, &peer, 1, 1, 1);
        }
    ingest_pair_t one;
    const uint8_t *mixed_sketch;
    size_t mixed_count = ingest_agg_pair_at (mixed, 0, &one, peer_set, &mixed_sketch);
    assert (mixed_count == 6 && one.values.value[PROTO_FEATURE_PEERS] == 6 && !mixed_sketch);
    char text[PROTO_ADDR_STRLEN];
    assert (strcmp (proto_addr_format (&peer_set[0], text), "::") == 0);
    assert (strcmp (proto_addr_format (&peer_set[1], text), "::1") == 0);
    assert (strcmp (proto_addr_format (&peer_set[2], text), "0.0.0.0") == 0);
    assert (strcmp (proto_addr_format (&peer_set[3], text), "10.9.8.7") == 0);
    assert (strcmp (proto_addr_format (&peer_set[5], text), "2001:db8::7") == 0);
    for (uint32_t host = 0; host < 2 * PROTO_PEERS_CAP; host++) {
        proto_addr_t peer;
        proto_addr_from_ipv4 (&peer, 0x0b000000 + host);
        ingest_agg_add (mixed, &a, 443, &peer, 1, 1, 1);
    }
    mixed_count = ingest_agg_pair_at (mixed, 0, &one, peer_set, &mixed_sketch);
    estimate = one.values.value[PROTO_FEATURE_PEERS];
    assert (mixed_count == 0 && mixed_sketch);
    assert (fabs ((double) estimate - 2 * PROTO_PEERS_CAP) < 0.05 * 2 * PROTO_PEERS_CAP);
    ingest_agg_destroy (&mixed);
    free (peer_set);

    //  Reset keeps the object usable
    ingest_agg_reset (agg);
    assert (ingest_agg_size (agg) == 0);
    ingest_agg_add (agg, &a, 25, &dst, 1, 1, 1);
    assert (ingest_agg_size (agg) == 1);
    ingest_agg_destroy (&agg);
    ingest_agg_destroy (&agg);
    printf ("OK\n");
}
