/*  ingest_others.c - per host totals and ports of the flows to ports not monitored.

    Two dense vectors, each indexed by an open-addressing table (linear probing, at most
    half full): hosts by address, and ports by (host entry, port).  A slot holds the key's
    32-bit hash in its high half and the entry index + 1 in its low half, so that a probe
    rarely reads an entry that does not match and growing never reads an entry.  A host's ports form
   a list through the port entries (newest first), walked only when the host is read out.
*/
#include "ingestor/ingest_others.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OTHERS_TABLE_MIN 256  //  Initial slots of each index

typedef struct {
    proto_addr_t addr;    //  Source host
    uint64_t bytes;       //  Sum of bytes
    uint64_t packets;     //  Sum of packets
    uint64_t flows;       //  Flows
    uint32_t first_port;  //  Newest port entry + 1, 0 for none
    uint32_t port_count;  //  Port entries of the host (<= INGEST_OTHERS_HOST_PORTS)
    bool truncated;       //  A port was not given an entry
} s_host_t;

typedef struct {
    uint32_t host;     //  Host entry
    uint32_t next;     //  The host's next port entry + 1, 0 for none
    uint16_t port;     //  Destination port
    uint64_t bytes;    //  Sum of bytes
    uint64_t packets;  //  Sum of packets
    uint64_t flows;    //  Flows
} s_port_t;

typedef struct {
    void *items;      //  Dense entries
    size_t count;     //  Entries used
    size_t room;      //  Entries allocated
    uint64_t *slots;  //  Index: hash << 32 | (entry + 1), 0 = empty
    uint32_t mask;    //  Slots - 1 (a power of two)
} s_table_t;

struct _ingest_others_t {
    s_table_t hosts;  //  s_host_t
    s_table_t ports;  //  s_port_t
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

static uint32_t
s_hash_port (uint32_t host, uint16_t port)
{
    uint64_t hash = ((uint64_t) host << 16 | port) * 0x9e3779b97f4a7c15ULL;
    return (uint32_t) (hash >> 32);
}

//  --------------------------------------------------------------------------
static void
s_table_init (s_table_t *table)
{
    table->slots = (uint64_t *) calloc (OTHERS_TABLE_MIN, sizeof (uint64_t));
    assert (table->slots);  //  Out of memory: nothing sensible to do in an aggregation
    table->mask = OTHERS_TABLE_MIN - 1;
}

//  A new entry of size bytes (zeroed) of a key of hash at slot, growing the index when
//  half full.
static void *
s_table_push (s_table_t *table, uint32_t slot, uint32_t hash, size_t size)
{
    if (table->count == table->room) {
        table->room = table->room ? table->room * 2 : OTHERS_TABLE_MIN / 2;
        table->items = realloc (table->items, table->room * size);
        assert (table->items);
    }
    size_t entry = table->count++;
    uint8_t *item = (uint8_t *) table->items + entry * size;
    memset (item, 0, size);
    table->slots[slot] = (uint64_t) hash << 32 | (entry + 1);
    if (table->count * 2 > (size_t) table->mask + 1) {
        size_t old_count = (size_t) table->mask + 1;
        uint64_t *old = table->slots;
        table->slots = (uint64_t *) calloc (old_count * 2, sizeof (uint64_t));
        assert (table->slots);
        table->mask = (uint32_t) (old_count * 2 - 1);
        for (size_t index = 0; index < old_count; index++) {
            if (!old[index])
                continue;
            uint32_t at = (uint32_t) (old[index] >> 32) & table->mask;
            while (table->slots[at])
                at = (at + 1) & table->mask;
            table->slots[at] = old[index];
        }
        free (old);
    }
    return item;
}

//  --------------------------------------------------------------------------
ingest_others_t *
ingest_others_new (void)
{
    ingest_others_t *self = (ingest_others_t *) calloc (1, sizeof (ingest_others_t));
    assert (self);
    s_table_init (&self->hosts);
    s_table_init (&self->ports);
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
    free (self->hosts.items);
    free (self->hosts.slots);
    free (self->ports.items);
    free (self->ports.slots);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_others_reset (ingest_others_t *self)
{
    assert (self);
    s_table_t *tables[] = {&self->hosts, &self->ports};
    for (size_t index = 0; index < 2; index++) {
        tables[index]->count = 0;
        memset (tables[index]->slots, 0, ((size_t) tables[index]->mask + 1) * sizeof (uint64_t));
    }
}

//  --------------------------------------------------------------------------
static inline uint64_t
s_add (uint64_t a, uint64_t b)
{
    uint64_t sum = a + b;
    return sum < a ? UINT64_MAX : sum;  //  Saturate, as every counter of portevo
}

//  The host entry of addr, created if absent.
static uint32_t
s_host_require_hashed (ingest_others_t *self, const proto_addr_t *addr, uint32_t hash)
{
    uint32_t slot = hash & self->hosts.mask;
    s_host_t *hosts = (s_host_t *) self->hosts.items;
    uint64_t value;
    while ((value = self->hosts.slots[slot])) {
        uint32_t entry = (uint32_t) value - 1;
        if ((uint32_t) (value >> 32) == hash &&
            memcmp (hosts[entry].addr.bytes, addr->bytes, PROTO_ADDR_SIZE) == 0)
            return entry;
        slot = (slot + 1) & self->hosts.mask;
    }
    uint32_t entry = (uint32_t) self->hosts.count;
    s_host_t *host = (s_host_t *) s_table_push (&self->hosts, slot, hash, sizeof (s_host_t));
    host->addr = *addr;
    return entry;
}

static uint32_t
s_host_require (ingest_others_t *self, const proto_addr_t *addr)
{
    return s_host_require_hashed (self, addr, s_hash_host (addr));
}

//  Add to host's totals, and to its port's unless the host has no room for a new port.
static void
s_add_flow_hashed (ingest_others_t *self, uint32_t host_entry, uint16_t port, uint32_t hash,
                   uint64_t bytes, uint64_t packets, uint64_t flows, bool truncated)
{
    s_host_t *host = &((s_host_t *) self->hosts.items)[host_entry];
    host->bytes = s_add (host->bytes, bytes);
    host->packets = s_add (host->packets, packets);
    host->flows = s_add (host->flows, flows);
    host->truncated |= truncated;
    uint32_t slot = hash & self->ports.mask;
    s_port_t *ports = (s_port_t *) self->ports.items;
    uint64_t value;
    while ((value = self->ports.slots[slot])) {
        s_port_t *entry = &ports[(uint32_t) value - 1];
        if ((uint32_t) (value >> 32) == hash && entry->host == host_entry && entry->port == port) {
            entry->bytes = s_add (entry->bytes, bytes);
            entry->packets = s_add (entry->packets, packets);
            entry->flows = s_add (entry->flows, flows);
            return;
        }
        slot = (slot + 1) & self->ports.mask;
    }
    if (host->port_count == INGEST_OTHERS_HOST_PORTS) {
        host->truncated = true;
        return;
    }
    host->port_count++;
    uint32_t first = host->first_port;
    uint32_t entry = (uint32_t) self->ports.count;
    s_port_t *added = (s_port_t *) s_table_push (&self->ports, slot, hash, sizeof (s_port_t));
    added->host = host_entry;
    added->port = port;
    added->next = first;
    added->bytes = bytes;
    added->packets = packets;
    added->flows = flows;
    ((s_host_t *) self->hosts.items)[host_entry].first_port = entry + 1;
}

static void
s_add_flow (ingest_others_t *self, uint32_t host_entry, uint16_t port, uint64_t bytes,
            uint64_t packets, uint64_t flows, bool truncated)
{
    s_add_flow_hashed (self, host_entry, port, s_hash_port (host_entry, port), bytes, packets,
                       flows, truncated);
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
//  slots, the host entries they name, then the port index slots and the port entries.
//  With hundreds of thousands of (host, port) entries the tables do not stay in cache
//  while the decompressed records stream through it: unprefetched, nearly every flow
//  waits for memory four times.

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
        __builtin_prefetch (&self->hosts.slots[hashes[index] & self->hosts.mask]);
    }
    for (size_t index = 0; index < count; index++) {
        uint64_t value = self->hosts.slots[hashes[index] & self->hosts.mask];
        if (value && (uint32_t) (value >> 32) == hashes[index])
            __builtin_prefetch (&((s_host_t *) self->hosts.items)[(uint32_t) value - 1]);
    }
    for (size_t index = 0; index < count; index++) {
        hosts[index] = s_host_require_hashed (self, &flows[index].src, hashes[index]);
        hashes[index] = s_hash_port (hosts[index], flows[index].port);
        __builtin_prefetch (&self->ports.slots[hashes[index] & self->ports.mask]);
    }
    for (size_t index = 0; index < count; index++) {
        uint64_t value = self->ports.slots[hashes[index] & self->ports.mask];
        if (value && (uint32_t) (value >> 32) == hashes[index])
            __builtin_prefetch (&((s_port_t *) self->ports.items)[(uint32_t) value - 1]);
    }
    for (size_t index = 0; index < count; index++)
        s_add_flow_hashed (self, hosts[index], flows[index].port, hashes[index], flows[index].bytes,
                           flows[index].packets, 1, false);
}

//  --------------------------------------------------------------------------
void
ingest_others_merge (ingest_others_t *self, ingest_others_t *other)
{
    assert (self);
    assert (other);
    assert (self != other);
    const s_host_t *hosts = (const s_host_t *) other->hosts.items;
    const s_port_t *ports = (const s_port_t *) other->ports.items;
    for (size_t index = 0; index < other->hosts.count; index++) {
        const s_host_t *from = &hosts[index];
        uint32_t host = s_host_require (self, &from->addr);
        uint64_t bytes = from->bytes, packets = from->packets, flows = from->flows;
        for (uint32_t next = from->first_port; next; next = ports[next - 1].next) {
            const s_port_t *port = &ports[next - 1];
            s_add_flow (self, host, port->port, port->bytes, port->packets, port->flows, false);
            bytes -= port->bytes;  //  The rest: traffic of ports without an entry
            packets -= port->packets;
            flows -= port->flows;
        }
        //  The rest goes to the totals only; a port of 0 bytes is a valid port entry, so
        //  the rest is added through the host directly
        s_host_t *into = &((s_host_t *) self->hosts.items)[host];
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
    return self->hosts.count;
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
    assert (index < self->hosts.count);
    assert (other);
    const s_host_t *host = &((const s_host_t *) self->hosts.items)[index];
    const s_port_t *ports = (const s_port_t *) self->ports.items;
    memset (other, 0, sizeof *other);
    other->addr = host->addr;
    other->bytes = host->bytes;
    other->packets = host->packets;
    other->flows = host->flows;
    proto_other_port_t all[INGEST_OTHERS_HOST_PORTS];
    size_t count = 0;
    for (uint32_t next = host->first_port; next; next = ports[next - 1].next) {
        const s_port_t *port = &ports[next - 1];
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
    const s_host_t *hosts = (const s_host_t *) self->hosts.items;
    for (size_t index = 0; index < self->hosts.count; index++) {
        if (slots[proto_shard_slot (&hosts[index].addr)] != shard)
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
