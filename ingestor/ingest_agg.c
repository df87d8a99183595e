/*  ingest_agg.c - block aggregation: counters and distinct peers per (source, port).

    Two open-addressing hash tables with linear probing, each a slot array of 32-bit
    indexes (0 = empty) into a dense entry vector, kept at most half full:

        pairs:  (source, port) -> counters, exact peer count, optional HyperLogLog sketch
        peers:  (pair index, destination) -> present; entries of one pair are chained
                (`next`) so a pair's peers can be enumerated when it passes the cap or
                when aggregates merge

    A pair keeps its exact peer set up to PROTO_PEERS_CAP entries.  The first peer beyond
    that allocates a sketch of PROTO_SKETCH_REGISTERS one-byte registers, which receives
    the exact set and every later peer; the pair's value is then the sketch's estimate
    (never below cap + 1).  The sketch is proto_sketch, so the shards can merge sketches
    made by different ingestors register by register.
*/
#include "ingestor/ingest_agg.h"
#include "proto/proto_sketch.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGG_TABLE_MIN 1024  //  Initial slots of each table

typedef struct {
    proto_addr_t addr;     //  Source address
    uint16_t port;         //  Destination port
    uint32_t peer_head;    //  First entry of this pair's peer chain, +1 (0 = none)
    uint64_t bytes;        //  Sum of bytes
    uint64_t packets;      //  Sum of packets
    uint64_t durations;    //  Sum of durations, msecs
    uint32_t peers;        //  Distinct peers in the exact set (<= PROTO_PEERS_CAP)
    uint8_t *sketch;       //  HyperLogLog registers once past the cap, else NULL
} s_pair_t;

typedef struct {
    proto_addr_t dst;  //  Peer address
    uint32_t pair;     //  Pair index
    uint32_t next;     //  Next entry of the same pair, +1 (0 = end)
} s_peer_t;

typedef struct {
    uint32_t *slots;   //  Entry index + 1, 0 = empty
    uint32_t mask;     //  Slot count - 1 (a power of two)
} s_index_t;

struct _ingest_agg_t {
    s_pair_t *pairs;        //  Dense pair entries
    size_t pair_count;      //  Entries used
    size_t pair_room;       //  Entries allocated
    s_index_t pair_index;   //  (source, port) -> pair
    s_peer_t *peers;        //  Dense peer entries
    size_t peer_count;      //  Entries used
    size_t peer_room;       //  Entries allocated
    s_index_t peer_index;   //  (pair, destination) -> peer
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

static void *
s_alloc (size_t size)
{
    void *memory = calloc (1, size);
    assert (memory);  //  Out of memory: nothing sensible to do in an aggregation
    return memory;
}

static void
s_index_init (s_index_t *index, uint32_t slots)
{
    free (index->slots);
    index->slots = (uint32_t *) s_alloc (slots * sizeof (uint32_t));
    index->mask = slots - 1;
}

//  --------------------------------------------------------------------------
ingest_agg_t *
ingest_agg_new (void)
{
    ingest_agg_t *self = (ingest_agg_t *) s_alloc (sizeof (ingest_agg_t));
    s_index_init (&self->pair_index, AGG_TABLE_MIN);
    s_index_init (&self->peer_index, AGG_TABLE_MIN);
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
    ingest_agg_reset (self);
    free (self->pairs);
    free (self->peers);
    free (self->pair_index.slots);
    free (self->peer_index.slots);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_agg_reset (ingest_agg_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->pair_count; index++)
        free (self->pairs[index].sketch);
    self->pair_count = 0;
    self->peer_count = 0;
    memset (self->pair_index.slots, 0, (self->pair_index.mask + 1) * sizeof (uint32_t));
    memset (self->peer_index.slots, 0, (self->peer_index.mask + 1) * sizeof (uint32_t));
}

//  --------------------------------------------------------------------------
static inline uint64_t
s_pair_hash (const proto_addr_t *addr, uint16_t port)
{
    return s_hash_addr (addr, port);
}

static inline uint64_t
s_peer_hash (const proto_addr_t *dst, uint32_t pair)
{
    return s_hash_addr (dst, 0x5bd1e995ULL + pair);
}

//  Double the pair index and re-insert every pair.
static void
s_grow_pair_index (ingest_agg_t *self)
{
    s_index_init (&self->pair_index, (self->pair_index.mask + 1) * 2);
    for (size_t entry = 0; entry < self->pair_count; entry++) {
        uint32_t slot = (uint32_t) s_pair_hash (&self->pairs[entry].addr, self->pairs[entry].port)
                        & self->pair_index.mask;
        while (self->pair_index.slots[slot])
            slot = (slot + 1) & self->pair_index.mask;
        self->pair_index.slots[slot] = (uint32_t) entry + 1;
    }
}

static void
s_grow_peer_index (ingest_agg_t *self)
{
    s_index_init (&self->peer_index, (self->peer_index.mask + 1) * 2);
    for (size_t entry = 0; entry < self->peer_count; entry++) {
        uint32_t slot = (uint32_t) s_peer_hash (&self->peers[entry].dst, self->peers[entry].pair)
                        & self->peer_index.mask;
        while (self->peer_index.slots[slot])
            slot = (slot + 1) & self->peer_index.mask;
        self->peer_index.slots[slot] = (uint32_t) entry + 1;
    }
}

//  Find or create the pair (addr, port); returns its index.
static uint32_t
s_pair_require (ingest_agg_t *self, const proto_addr_t *addr, uint16_t port)
{
    uint32_t slot = (uint32_t) s_pair_hash (addr, port) & self->pair_index.mask;
    while (true) {
        uint32_t entry = self->pair_index.slots[slot];
        if (entry == 0)
            break;
        s_pair_t *pair = &self->pairs[entry - 1];
        if (pair->port == port && memcmp (&pair->addr, addr, sizeof *addr) == 0)
            return entry - 1;
        slot = (slot + 1) & self->pair_index.mask;
    }
    if (self->pair_count == self->pair_room) {
        self->pair_room = self->pair_room ? self->pair_room * 2 : AGG_TABLE_MIN / 2;
        self->pairs = (s_pair_t *) realloc (self->pairs, self->pair_room * sizeof (s_pair_t));
        assert (self->pairs);
    }
    uint32_t index = (uint32_t) self->pair_count++;
    s_pair_t *pair = &self->pairs[index];
    memset (pair, 0, sizeof *pair);
    pair->addr = *addr;
    pair->port = port;
    self->pair_index.slots[slot] = index + 1;
    if (self->pair_count * 2 > self->pair_index.mask + 1)
        s_grow_pair_index (self);
    return index;
}

//  Give pair a sketch holding its exact peer set.
static void
s_sketch_start (ingest_agg_t *self, s_pair_t *pair)
{
    pair->sketch = (uint8_t *) s_alloc (PROTO_SKETCH_REGISTERS);
    for (uint32_t entry = pair->peer_head; entry; entry = self->peers[entry - 1].next)
        proto_sketch_add (pair->sketch, &self->peers[entry - 1].dst);
}

//  --------------------------------------------------------------------------
//  Count dst as a peer of pair pair_index.

static void
s_add_peer (ingest_agg_t *self, uint32_t pair_index, const proto_addr_t *dst)
{
    s_pair_t *pair = &self->pairs[pair_index];
    if (pair->sketch) {
        proto_sketch_add (pair->sketch, dst);
        return;
    }
    uint32_t slot = (uint32_t) s_peer_hash (dst, pair_index) & self->peer_index.mask;
    while (true) {
        uint32_t entry = self->peer_index.slots[slot];
        if (entry == 0)
            break;
        s_peer_t *peer = &self->peers[entry - 1];
        if (peer->pair == pair_index && memcmp (&peer->dst, dst, sizeof *dst) == 0)
            return;
        slot = (slot + 1) & self->peer_index.mask;
    }
    if (pair->peers == PROTO_PEERS_CAP) {
        s_sketch_start (self, pair);
        proto_sketch_add (pair->sketch, dst);
        return;
    }
    if (self->peer_count == self->peer_room) {
        self->peer_room = self->peer_room ? self->peer_room * 2 : AGG_TABLE_MIN / 2;
        self->peers = (s_peer_t *) realloc (self->peers, self->peer_room * sizeof (s_peer_t));
        assert (self->peers);
    }
    uint32_t index = (uint32_t) self->peer_count++;
    s_peer_t *peer = &self->peers[index];
    peer->dst = *dst;
    peer->pair = pair_index;
    peer->next = pair->peer_head;
    pair->peer_head = index + 1;
    pair->peers++;
    self->peer_index.slots[slot] = index + 1;
    if (self->peer_count * 2 > self->peer_index.mask + 1)
        s_grow_peer_index (self);
}

//  --------------------------------------------------------------------------
void
ingest_agg_add (ingest_agg_t *self, const proto_addr_t *src, uint16_t port,
                const proto_addr_t *dst, uint64_t bytes, uint64_t packets,
                uint64_t durations_msecs)
{
    assert (self);
    assert (src);
    assert (dst);
    uint32_t index = s_pair_require (self, src, port);
    s_pair_t *pair = &self->pairs[index];
    pair->bytes += bytes;
    pair->packets += packets;
    pair->durations += durations_msecs;
    s_add_peer (self, index, dst);
}

//  --------------------------------------------------------------------------
void
ingest_agg_merge (ingest_agg_t *self, ingest_agg_t *other)
{
    assert (self);
    assert (other);
    assert (self != other);
    for (size_t entry = 0; entry < other->pair_count; entry++) {
        const s_pair_t *from = &other->pairs[entry];
        uint32_t index = s_pair_require (self, &from->addr, from->port);
        s_pair_t *pair = &self->pairs[index];
        pair->bytes += from->bytes;
        pair->packets += from->packets;
        pair->durations += from->durations;
        if (from->sketch && !pair->sketch)
            s_sketch_start (self, pair);
        if (from->sketch) {
            proto_sketch_merge (pair->sketch, from->sketch);
        }
        else
            for (uint32_t peer = from->peer_head; peer; peer = other->peers[peer - 1].next)
                s_add_peer (self, index, &other->peers[peer - 1].dst);
    }
}

//  --------------------------------------------------------------------------
size_t
ingest_agg_size (ingest_agg_t *self)
{
    assert (self);
    return self->pair_count;
}

//  --------------------------------------------------------------------------
static int
s_compare_pairs (const void *a, const void *b)
{
    const ingest_pair_t *left = (const ingest_pair_t *) a;
    const ingest_pair_t *right = (const ingest_pair_t *) b;
    int order = proto_addr_compare (&left->addr, &right->addr);
    if (order)
        return order;
    return (int) left->port - (int) right->port;
}

ingest_pair_t *
ingest_agg_pairs (ingest_agg_t *self)
{
    assert (self);
    if (self->pair_count == 0)
        return NULL;
    ingest_pair_t *result = (ingest_pair_t *) s_alloc (self->pair_count * sizeof (ingest_pair_t));
    for (size_t index = 0; index < self->pair_count; index++) {
        const s_pair_t *pair = &self->pairs[index];
        ingest_pair_t *out = &result[index];
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
    qsort (result, self->pair_count, sizeof (ingest_pair_t), s_compare_pairs);
    return result;
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
    ingest_agg_add (agg, &a, 25, &dst, UINT32_MAX, 3, 0);   //  same peer again
    ingest_agg_add (agg, &a, 22, &dst, 0, 0, 0);            //  a zero-byte flow
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
        printf ("estimate %llu for %d peers; ", (unsigned long long) estimate,
                4 * PROTO_PEERS_CAP);
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
    free (pairs);
    ingest_agg_destroy (&other);

    //  Reset keeps the object usable
    ingest_agg_reset (agg);
    assert (ingest_agg_size (agg) == 0);
    ingest_agg_add (agg, &a, 25, &dst, 1, 1, 1);
    assert (ingest_agg_size (agg) == 1);
    ingest_agg_destroy (&agg);
    ingest_agg_destroy (&agg);
    printf ("OK\n");
}
