/*  ingest_others.c - per host totals and ports of the flows to ports not monitored.

    Hosts are a dense vector indexed by an open-addressing table (linear probing, at most
    half full): a slot holds the address's 32-bit hash in its high half and the entry
    index + 1 in its low half, so that a probe rarely reads an entry that does not match
    and growing never reads an entry.  Each host owns a small open-addressing table of
    its ports (linear probing, at most three quarters full: 2 slots, doubling up to 512
    for the 256 ports a host keeps), each port's counters inline in its slot, from the
    set's arena (huge pages).  Looking a (host, port) up thus reads the host (the hosts
    are few and stay in cache) and then one slot, usually one cache line, which the
    batch prefetches; a table grows by rehashing a few KiB, never the whole set.  A port
    slot keeps the port's rank (order of arrival at the host), which the merge needs.
*/
#include "ingestor/ingest_others.h"

#include "ingestor/ingest_arena.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OTHERS_TABLE_MIN 256  //  Initial slots of the host index
#define OTHERS_PORTS_MIN 2    //  Initial slots of a host's port table (most hosts have 1 port)

typedef struct {
    uint64_t bytes;    //  Sum of bytes
    uint64_t packets;  //  Sum of packets
    uint64_t flows;    //  Flows
    uint16_t port;     //  Destination port
    uint16_t rank;     //  Arrival at the host: 1 for its first port; 0 = empty slot
} s_port_t;

typedef struct {
    proto_addr_t addr;    //  Source host
    uint64_t bytes;       //  Sum of bytes
    uint64_t packets;     //  Sum of packets
    uint64_t flows;       //  Flows
    s_port_t *ports;      //  Port table (arena block), NULL before the first port
    uint16_t port_mask;   //  Slots of ports - 1 (a power of two), 0 without a table
    uint16_t port_count;  //  Ports of the host (<= INGEST_OTHERS_HOST_PORTS)
    bool truncated;       //  A port was not given an entry
} s_host_t;

struct _ingest_others_t {
    s_host_t *hosts;        //  Dense entries, in insertion order
    size_t count;           //  Entries used
    size_t room;            //  Entries allocated
    uint64_t *slots;        //  Host index: hash << 32 | (entry + 1), 0 = empty
    uint32_t mask;          //  Index slots - 1 (a power of two)
    ingest_arena_t *arena;  //  The hosts' port tables
};

//  --------------------------------------------------------------------------
static uint32_t
s_hash_host (const proto_addr_t *addr)
{
    uint64_t high, low;
    memcpy (&high, addr->bytes, 8);
    memcpy (&low, addr->bytes + 8, 8);
    uint64_t hash = (high + 0x9e3779b97f4a7c15ULL) ^ (low * 0xbf58476d1ce4e5b9ULL);
    hash = (hash ^ (hash >> 31)) * 0x94d049bb133111ebULL;
    return (uint32_t) (hash ^ (hash >> 32));
}

//  A port's first slot in a table of mask + 1 slots (at most 512: bits 16 to 24)
static inline uint32_t
s_port_slot (uint16_t port, uint32_t mask)
{
    return ((uint32_t) port * 0x9e3779b1u >> 16) & mask;
}

//  --------------------------------------------------------------------------
ingest_others_t *
ingest_others_new (void)
{
    ingest_others_t *self = (ingest_others_t *) calloc (1, sizeof (ingest_others_t));
    assert (self);
    self->slots = (uint64_t *) calloc (OTHERS_TABLE_MIN, sizeof (uint64_t));
    assert (self->slots);  //  Out of memory: nothing sensible to do in an aggregation
    self->mask = OTHERS_TABLE_MIN - 1;
    self->arena = ingest_arena_new ();
    assert (self->arena);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_others_destroy (ingest_others_t **self_p)
{
    assert (self_p);
    ingest_others_t *self = *self_p;
    if (!self)
        return;
    ingest_arena_destroy (&self->arena);
    free (self->hosts);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_others_reset (ingest_others_t *self)
{
    assert (self);
    self->count = 0;
    memset (self->slots, 0, ((size_t) self->mask + 1) * sizeof (uint64_t));
    ingest_arena_reset (self->arena);
}

//  --------------------------------------------------------------------------
static inline uint64_t
s_add (uint64_t a, uint64_t b)
{
    uint64_t sum = a + b;
    return sum < a ? UINT64_MAX : sum;  //  Saturate, as every counter of portevo
}

//  Double the host index (it is half full)
static void
s_grow_hosts (ingest_others_t *self)
{
    size_t old_count = (size_t) self->mask + 1;
    uint64_t *old = self->slots;
    self->slots = (uint64_t *) calloc (old_count * 2, sizeof (uint64_t));
    assert (self->slots);
    self->mask = (uint32_t) (old_count * 2 - 1);
    for (size_t index = 0; index < old_count; index++) {
        if (!old[index])
            continue;
        uint32_t at = (uint32_t) (old[index] >> 32) & self->mask;
        while (self->slots[at])
            at = (at + 1) & self->mask;
        self->slots[at] = old[index];
    }
    free (old);
}

//  The host entry of addr, created if absent.
static uint32_t
s_host_require_hashed (ingest_others_t *self, const proto_addr_t *addr, uint32_t hash)
{
    uint32_t slot = hash & self->mask;
    uint64_t value;
    while ((value = self->slots[slot])) {
        uint32_t entry = (uint32_t) value - 1;
        if ((uint32_t) (value >> 32) == hash &&
            memcmp (self->hosts[entry].addr.bytes, addr->bytes, PROTO_ADDR_SIZE) == 0)
            return entry;
        slot = (slot + 1) & self->mask;
    }
    if (self->count == self->room) {
        self->room = self->room ? self->room * 2 : OTHERS_TABLE_MIN / 2;
        self->hosts = (s_host_t *) realloc (self->hosts, self->room * sizeof (s_host_t));
        assert (self->hosts);
    }
    uint32_t entry = (uint32_t) self->count++;
    memset (&self->hosts[entry], 0, sizeof (s_host_t));
    self->hosts[entry].addr = *addr;
    self->slots[slot] = (uint64_t) hash << 32 | (entry + 1);
    if (self->count * 2 > (size_t) self->mask + 1)
        s_grow_hosts (self);
    return entry;
}

static uint32_t
s_host_require (ingest_others_t *self, const proto_addr_t *addr)
{
    return s_host_require_hashed (self, addr, s_hash_host (addr));
}

//  Give host a port table of slots slots (empty, or rehashed from the one it had)
static void
s_ports_resize (ingest_others_t *self, s_host_t *host, uint32_t slots)
{
    s_port_t *old = host->ports;
    uint32_t old_slots = old ? (uint32_t) host->port_mask + 1 : 0;
    host->ports = (s_port_t *) ingest_arena_alloc (self->arena, slots * sizeof (s_port_t));
    host->port_mask = (uint16_t) (slots - 1);
    for (uint32_t index = 0; index < old_slots; index++) {
        if (!old[index].rank)
            continue;
        uint32_t at = s_port_slot (old[index].port, host->port_mask);
        while (host->ports[at].rank)
            at = (at + 1) & host->port_mask;
        host->ports[at] = old[index];
    }
    if (old)
        ingest_arena_free (self->arena, old, old_slots * sizeof (s_port_t));
}

//  Add to host's totals, and to its port's unless the host has no room for a new port.
static void
s_add_flow (ingest_others_t *self, uint32_t host_entry, uint16_t port, uint64_t bytes,
            uint64_t packets, uint64_t flows, bool truncated)
{
    s_host_t *host = &self->hosts[host_entry];
    host->bytes = s_add (host->bytes, bytes);
    host->packets = s_add (host->packets, packets);
    host->flows = s_add (host->flows, flows);
    host->truncated |= truncated;
    if (!host->ports)
        s_ports_resize (self, host, OTHERS_PORTS_MIN);
    uint32_t slot = s_port_slot (port, host->port_mask);
    s_port_t *entry;
    while ((entry = &host->ports[slot])->rank) {
        if (entry->port == port) {
            entry->bytes = s_add (entry->bytes, bytes);
            entry->packets = s_add (entry->packets, packets);
            entry->flows = s_add (entry->flows, flows);
            return;
        }
        slot = (slot + 1) & host->port_mask;
    }
    if (host->port_count == INGEST_OTHERS_HOST_PORTS) {
        host->truncated = true;
        return;
    }
    host->port_count++;
    *entry = (s_port_t){
        .bytes = bytes, .packets = packets, .flows = flows, .port = port, .rank = host->port_count};
    if ((uint32_t) host->port_count * 4 > 3 * ((uint32_t) host->port_mask + 1))
        s_ports_resize (self, host, 2 * ((uint32_t) host->port_mask + 1));
}

//  --------------------------------------------------------------------------
void
ingest_others_add (ingest_others_t *self, const proto_addr_t *src, uint16_t port, uint64_t bytes,
                   uint64_t packets)
{
    assert (self);
    assert (src);
    s_add_flow (self, s_host_require (self, src), port, bytes, packets, 1, false);
}

//  --------------------------------------------------------------------------
//  Passes over the batch, each prefetching what the next one reads: the host index
//  slots, the host entries they name, then the port slots.  With hundreds of thousands
//  of (host, port) entries the port tables do not stay in cache while the decompressed
//  records stream through it: unprefetched, nearly every flow waits for memory.

void
ingest_others_add_batch (ingest_others_t *self, const ingest_others_flow_t *flows, size_t count)
{
    assert (self);
    assert (flows || count == 0);
    while (count > INGEST_OTHERS_BATCH) {
        ingest_others_add_batch (self, flows, INGEST_OTHERS_BATCH);
        flows += INGEST_OTHERS_BATCH;
        count -= INGEST_OTHERS_BATCH;
    }
    uint32_t hashes[INGEST_OTHERS_BATCH], hosts[INGEST_OTHERS_BATCH];
    for (size_t index = 0; index < count; index++) {
        hashes[index] = s_hash_host (&flows[index].src);
        __builtin_prefetch (&self->slots[hashes[index] & self->mask]);
    }
    for (size_t index = 0; index < count; index++) {
        uint64_t value = self->slots[hashes[index] & self->mask];
        if (value && (uint32_t) (value >> 32) == hashes[index])
            __builtin_prefetch (&self->hosts[(uint32_t) value - 1]);
    }
    for (size_t index = 0; index < count; index++) {
        hosts[index] = s_host_require_hashed (self, &flows[index].src, hashes[index]);
        const s_host_t *host = &self->hosts[hosts[index]];
        if (host->ports)
            __builtin_prefetch (&host->ports[s_port_slot (flows[index].port, host->port_mask)]);
    }
    for (size_t index = 0; index < count; index++)
        s_add_flow (self, hosts[index], flows[index].port, flows[index].bytes, flows[index].packets,
                    1, false);
}

//  --------------------------------------------------------------------------
//  A host's ports go in newest first, as they always have: with a limit reached, that
//  order decides which of other's ports get an entry in self.

void
ingest_others_merge (ingest_others_t *self, ingest_others_t *other)
{
    assert (self);
    assert (other);
    assert (self != other);
    const s_port_t *by_rank[INGEST_OTHERS_HOST_PORTS];
    for (size_t index = 0; index < other->count; index++) {
        const s_host_t *from = &other->hosts[index];
        uint32_t host = s_host_require (self, &from->addr);
        uint64_t bytes = from->bytes, packets = from->packets, flows = from->flows;
        uint32_t slots = from->ports ? (uint32_t) from->port_mask + 1 : 0;
        for (uint32_t slot = 0; slot < slots; slot++)
            if (from->ports[slot].rank)
                by_rank[from->ports[slot].rank - 1] = &from->ports[slot];
        for (uint32_t rank = from->port_count; rank > 0; rank--) {
            const s_port_t *port = by_rank[rank - 1];
            s_add_flow (self, host, port->port, port->bytes, port->packets, port->flows, false);
            bytes -= port->bytes;  //  The rest: traffic of ports without an entry
            packets -= port->packets;
            flows -= port->flows;
        }
        //  The rest goes to the totals only; a port of 0 bytes is a valid port entry, so
        //  the rest is added through the host directly
        s_host_t *into = &self->hosts[host];
        into->bytes = s_add (into->bytes, bytes);
        into->packets = s_add (into->packets, packets);
        into->flows = s_add (into->flows, flows);
        into->truncated |= from->truncated;
    }
}

//  --------------------------------------------------------------------------
size_t
ingest_others_size (ingest_others_t *self)
{
    assert (self);
    return self->count;
}

//  --------------------------------------------------------------------------
//  Most bytes first, then the lower port
static int
s_compare_ports (const void *a, const void *b)
{
    const proto_other_port_t *left = (const proto_other_port_t *) a;
    const proto_other_port_t *right = (const proto_other_port_t *) b;
    if (left->bytes != right->bytes)
        return left->bytes > right->bytes ? -1 : 1;
    return (int) left->port - (int) right->port;
}

//  --------------------------------------------------------------------------
void
ingest_others_at (ingest_others_t *self, size_t index, ingest_other_t *other)
{
    assert (self);
    assert (index < self->count);
    assert (other);
    const s_host_t *host = &self->hosts[index];
    memset (other, 0, sizeof *other);
    other->addr = host->addr;
    other->bytes = host->bytes;
    other->packets = host->packets;
    other->flows = host->flows;
    proto_other_port_t all[INGEST_OTHERS_HOST_PORTS];
    size_t count = 0;
    uint32_t slots = host->ports ? (uint32_t) host->port_mask + 1 : 0;
    for (uint32_t slot = 0; slot < slots; slot++) {
        const s_port_t *port = &host->ports[slot];
        if (port->rank)
            all[count++] = (proto_other_port_t){.port = port->port,
                                                .bytes = port->bytes,
                                                .packets = port->packets,
                                                .flows = port->flows};
    }
    qsort (all, count, sizeof all[0], s_compare_ports);
    other->port_count = count < INGEST_OTHERS_PORTS ? count : INGEST_OTHERS_PORTS;
    memcpy (other->ports, all, other->port_count * sizeof all[0]);
    other->truncated = host->truncated || count > INGEST_OTHERS_PORTS;
}

//  --------------------------------------------------------------------------
size_t
ingest_others_append_part (ingest_others_t *self, proto_msg_t *part, const uint16_t *slots,
                           size_t shard, uint32_t day)
{
    assert (self);
    assert (part);
    assert (slots);
    size_t appended = 0;
    for (size_t index = 0; index < self->count; index++) {
        if (slots[proto_shard_slot (&self->hosts[index].addr)] != shard)
            continue;
        ingest_other_t other;
        ingest_others_at (self, index, &other);
        proto_other_t entry = {.addr = other.addr,
                               .day = day,
                               .bytes = other.bytes,
                               .packets = other.packets,
                               .flows = other.flows,
                               .truncated = other.truncated};
        proto_msg_others_append (part, &entry);
        for (size_t port = 0; port < other.port_count; port++) {
            other.ports[port].addr = other.addr;
            other.ports[port].day = day;
            proto_msg_other_ports_append (part, &other.ports[port]);
        }
        appended++;
    }
    return appended;
}

//  --------------------------------------------------------------------------
void
ingest_others_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_others: ");
    ingest_others_t *others = ingest_others_new ();
    proto_addr_t one, two;
    proto_addr_from_ipv4 (&one, 0x0a000001);
    assert (proto_addr_parse (&two, "2001:db8::2") == 0);
    //  Host one: port 443 twice, 53 once, a zero-byte flow to 123
    ingest_others_add (others, &one, 443, 1000, 10);
    ingest_others_add (others, &one, 53, 80, 1);
    ingest_others_add (others, &one, 443, 500, 5);
    ingest_others_add (others, &one, 123, 0, 0);
    //  Host two: more ports than a host keeps: totals exact, truncated
    for (uint32_t port = 0; port < INGEST_OTHERS_HOST_PORTS + 10; port++)
        ingest_others_add (others, &two, (uint16_t) (1000 + port), port + 1, 1);
    assert (ingest_others_size (others) == 2);
    ingest_other_t other;
    ingest_others_at (others, 0, &other);
    assert (proto_addr_compare (&other.addr, &one) == 0);
    assert (other.bytes == 1580 && other.packets == 16 && other.flows == 4);
    assert (!other.truncated && other.port_count == 3);
    assert (other.ports[0].port == 443 && other.ports[0].bytes == 1500);
    assert (other.ports[0].packets == 15 && other.ports[0].flows == 2);
    assert (other.ports[1].port == 53 && other.ports[2].port == 123);
    assert (other.ports[2].bytes == 0 && other.ports[2].flows == 1);
    ingest_others_at (others, 1, &other);
    uint64_t count = INGEST_OTHERS_HOST_PORTS + 10;
    assert (other.bytes == count * (count + 1) / 2 && other.flows == count);
    assert (other.truncated && other.port_count == INGEST_OTHERS_PORTS);
    //  The kept ports are the first 256 seen; the list their most bytes
    assert (other.ports[0].port == 1000 + INGEST_OTHERS_HOST_PORTS - 1);
    assert (other.ports[0].bytes == INGEST_OTHERS_HOST_PORTS);

    //  Merge: counters add, the rest of a truncated host stays in its totals
    ingest_others_t *sum = ingest_others_new ();
    ingest_others_add (sum, &one, 443, 1, 1);
    ingest_others_merge (sum, others);
    ingest_others_merge (sum, others);
    assert (ingest_others_size (sum) == 2);
    ingest_others_at (sum, 0, &other);
    assert (other.bytes == 2 * 1580 + 1 && other.flows == 9);
    assert (other.ports[0].bytes == 3001 && other.ports[0].flows == 5);
    ingest_others_at (sum, 1, &other);
    assert (other.bytes == 2 * (count * (count + 1) / 2) && other.flows == 2 * count);
    assert (other.truncated);

    //  Merge into a host with 6 ports of room left: the other's newest 6 ports get them
    //  (ports 1000-1009 arrived in order with 1 to 10 bytes: 1004-1009 kept, 15+ bytes)
    ingest_others_t *full = ingest_others_new ();
    ingest_others_t *late = ingest_others_new ();
    for (uint32_t port = 0; port < INGEST_OTHERS_HOST_PORTS - 6; port++)
        ingest_others_add (full, &one, (uint16_t) port, 100, 1);
    for (uint32_t port = 1000; port < 1010; port++)
        ingest_others_add (late, &one, (uint16_t) port, port - 999, 1);
    ingest_others_merge (full, late);
    ingest_others_at (full, 0, &other);
    assert (other.truncated && other.flows == INGEST_OTHERS_HOST_PORTS - 6 + 10);
    assert (other.bytes == 100 * (INGEST_OTHERS_HOST_PORTS - 6) + 55);
    ingest_others_reset (late);
    for (uint32_t port = 1000; port < 1010; port++)
        ingest_others_add (late, &one, (uint16_t) port, 1000, 1);
    ingest_others_merge (full, late);  //  Only the kept ports' bytes reach the list
    ingest_others_at (full, 0, &other);
    assert (other.ports[0].port == 1009 && other.ports[0].bytes == 1010);
    assert (other.ports[5].port == 1004 && other.ports[5].bytes == 1005);
    assert (other.ports[6].port == 0 && other.ports[6].bytes == 100);
    ingest_others_destroy (&late);
    ingest_others_destroy (&full);

    //  Into PARTs: every host on the shard of its slot, its ports after it
    uint16_t slots[PROTO_SLOT_COUNT];
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        slots[slot] = (uint16_t) (slot % 2);
    size_t hosts = 0, ports = 0;
    for (size_t shard = 0; shard < 2; shard++) {
        proto_msg_t *part = proto_msg_new (PROTO_MSG_PART);
        hosts += ingest_others_append_part (sum, part, slots, shard, 20000);
        for (size_t index = 0; index < proto_msg_others_count (part); index++) {
            proto_other_t entry;
            proto_msg_others_at (part, index, &entry);
            assert (slots[proto_shard_slot (&entry.addr)] == shard && entry.day == 20000);
        }
        ports += proto_msg_other_ports_count (part);
        proto_msg_destroy (&part);
    }
    assert (hosts == 2 && ports == 3 + INGEST_OTHERS_PORTS);

    //  Many hosts: the indexes grow; reset empties
    proto_addr_t addr;
    for (uint32_t host = 0; host < 5000; host++) {
        proto_addr_from_ipv4 (&addr, 0x0b000000 + host);
        ingest_others_add (sum, &addr, (uint16_t) host, host, 1);
    }
    assert (ingest_others_size (sum) == 5002);
    ingest_others_at (sum, 4001, &other);
    assert (other.bytes == 3999 && other.port_count == 1 && other.ports[0].port == 3999);
    //  Again, after the indexes grew: every host and port is found, none added twice
    for (uint32_t host = 0; host < 5000; host++) {
        proto_addr_from_ipv4 (&addr, 0x0b000000 + host);
        ingest_others_add (sum, &addr, (uint16_t) host, host, 1);
    }
    assert (ingest_others_size (sum) == 5002);
    for (size_t index = 2; index < 5002; index++) {
        ingest_others_at (sum, index, &other);
        assert (other.flows == 2 && other.port_count == 1 && other.ports[0].flows == 2);
    }
    ingest_others_reset (sum);
    assert (ingest_others_size (sum) == 0);
    ingest_others_add (sum, &one, 80, 5, 1);
    ingest_others_at (sum, 0, &other);
    assert (other.bytes == 5 && other.port_count == 1);

    //  Batches give what the flows added one by one give: 60 hosts, 300 a host's
    //  ports (past the 256 kept), in batches of every size up to three times the batch
    ingest_others_reset (sum);
    ingest_others_t *batched = ingest_others_new ();
    ingest_others_flow_t flows[3 * INGEST_OTHERS_BATCH];
    uint64_t seed = 7;
    for (size_t done = 0, size = 1; done < 60000; done += size, size = size % 384 + 1) {
        for (size_t index = 0; index < size; index++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            proto_addr_from_ipv4 (&flows[index].src, 0x0c000000 + (uint32_t) (seed >> 33) % 60);
            flows[index].port = (uint16_t) ((seed >> 13) % 300);
            flows[index].bytes = seed >> 50;
            flows[index].packets = seed >> 60;
            ingest_others_add (sum, &flows[index].src, flows[index].port, flows[index].bytes,
                               flows[index].packets);
        }
        ingest_others_add_batch (batched, flows, size);
    }
    assert (ingest_others_size (batched) == 60 && ingest_others_size (sum) == 60);
    bool some_truncated = false;
    for (size_t index = 0; index < 60; index++) {
        ingest_other_t one_by_one;
        ingest_others_at (sum, index, &one_by_one);
        ingest_others_at (batched, index, &other);
        assert (memcmp (&one_by_one, &other, sizeof other) == 0);
        some_truncated |= other.truncated;
    }
    assert (some_truncated);
    ingest_others_destroy (&batched);
    ingest_others_destroy (&sum);
    ingest_others_destroy (&others);
    ingest_others_destroy (&others);
    printf ("OK\n");
}
