/*  shard_pack.c - records of consecutive hosts packed into one value (see shard_pack.h).

    Pure functions over bytes; the host coding is that of chunk rows (shard_chunk.h)
    without their capped bit.
*/
#include "shard/shard_pack.h"
#include "shard/shard_series.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
int
shard_pack_open (shard_pack_iter_t *self, const proto_addr_t *key_addr, const void *data,
                 size_t size)
{
    assert (self);
    memset (self, 0, sizeof *self);
    shard_reader_init (&self->reader, data, size);
    int flags = shard_reader_header (&self->reader);
    if (flags < 0)
        return -1;
    if (!(flags & SHARD_PACK_FLAG)) {
        //  A bare record of the key's host
        self->whole = (const uint8_t *) data;
        self->whole_size = size;
        self->left = 1;
        if (key_addr)
            self->addr = *key_addr;
        return 0;
    }
    if (key_addr)
        self->key = *key_addr;
    self->has_key = key_addr != NULL;
    if (flags & ~(SHARD_PACK_FLAG | SHARD_PACK_IPV6))
        return -1;
    self->ipv6 = (flags & SHARD_PACK_IPV6) != 0;
    uint64_t count = shard_reader_varint (&self->reader);
    if (self->reader.bad || count == 0 || count > size)
        return -1;
    self->left = (size_t) count;
    self->first = true;
    return 0;
}

//  --------------------------------------------------------------------------
//  The host of the next entry, after self->addr

static bool
s_host_read (shard_pack_iter_t *self)
{
    shard_reader_t *reader = &self->reader;
    if (self->first) {
        const uint8_t *bytes = shard_reader_bytes (reader, self->ipv6 ? PROTO_ADDR_SIZE : 4);
        if (!bytes)
            return false;
        if (self->ipv6)
            proto_addr_from_ipv6 (&self->addr, bytes);
        else
            proto_addr_from_ipv4 (&self->addr, (uint32_t) bytes[0] << 24 |
                                                   (uint32_t) bytes[1] << 16 |
                                                   (uint32_t) bytes[2] << 8 | bytes[3]);
        self->first = false;
        return self->ipv6 == !proto_addr_is_ipv4 (&self->addr) &&
               (!self->has_key || memcmp (self->key.bytes, self->addr.bytes, PROTO_ADDR_SIZE) == 0);
    }
    if (!self->ipv6) {
        uint64_t delta = shard_reader_varint (reader);
        uint32_t previous = proto_addr_ipv4 (&self->addr);
        if (reader->bad || delta == 0 || delta > UINT32_MAX - previous)
            return false;
        proto_addr_from_ipv4 (&self->addr, previous + (uint32_t) delta);
        return true;
    }
    size_t shared = shard_reader_byte (reader);
    if (reader->bad || shared >= PROTO_ADDR_SIZE)
        return false;
    const uint8_t *rest = shard_reader_bytes (reader, PROTO_ADDR_SIZE - shared);
    //  Ascending: the first byte after the shared prefix is larger
    if (!rest || rest[0] <= self->addr.bytes[shared])
        return false;
    uint8_t bytes[PROTO_ADDR_SIZE];
    memcpy (bytes, self->addr.bytes, shared);
    memcpy (bytes + shared, rest, PROTO_ADDR_SIZE - shared);
    proto_addr_from_ipv6 (&self->addr, bytes);
    return !proto_addr_is_ipv4 (&self->addr);
}

int
shard_pack_next (shard_pack_iter_t *self, shard_pack_entry_t *entry)
{
    assert (self);
    assert (entry);
    if (self->whole) {
        if (self->left == 0)
            return 1;
        self->left = 0;
        entry->addr = self->addr;
        entry->record = self->whole;
        entry->size = self->whole_size;
        return 0;
    }
    if (self->left == 0)
        return shard_reader_done (&self->reader) ? 1 : -1;
    if (!s_host_read (self))
        return -1;
    uint64_t size = shard_reader_varint (&self->reader);
    if (self->reader.bad || size == 0 || size > (size_t) (self->reader.end - self->reader.data))
        return -1;
    entry->addr = self->addr;
    entry->size = (size_t) size;
    entry->record = shard_reader_bytes (&self->reader, entry->size);
    self->left--;
    return entry->record ? 0 : -1;
}

//  --------------------------------------------------------------------------
int
shard_pack_find (const proto_addr_t *key_addr, const void *data, size_t size,
                 const proto_addr_t *addr, shard_pack_entry_t *entry)
{
    assert (addr);
    assert (entry);
    shard_pack_iter_t iter;
    if (shard_pack_open (&iter, key_addr, data, size))
        return -1;
    int rc;
    while ((rc = shard_pack_next (&iter, entry)) == 0) {
        int order = memcmp (entry->addr.bytes, addr->bytes, PROTO_ADDR_SIZE);
        if (order == 0)
            return 0;
        if (order > 0 && !iter.whole)
            return 1;  //  Hosts ascend: it is not further on
    }
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_pack_rows (const void *data, size_t size)
{
    shard_pack_iter_t iter;
    if (shard_pack_open (&iter, NULL, data, size))
        return -1;
    shard_pack_entry_t entry;
    int rc, rows = 0;
    while ((rc = shard_pack_next (&iter, &entry)) == 0) {
        int count = shard_series_count (entry.record, entry.size);
        if (count < 0 || rows > INT32_MAX - count)
            return -1;
        rows += count;
    }
    return rc == 1 ? rows : -1;
}

//  --------------------------------------------------------------------------
void
shard_pack_builder_reset (shard_pack_builder_t *self)
{
    assert (self);
    shard_buffer_reset (&self->body);
    self->count = 0;
}

void
shard_pack_builder_free (shard_pack_builder_t *self)
{
    assert (self);
    shard_buffer_free (&self->body);
    self->count = 0;
}

//  The host of addr after the builder's last, into out (>= 1 + 16 bytes); its size
static size_t
s_host_put (const shard_pack_builder_t *self, const proto_addr_t *addr, uint8_t *out)
{
    bool ipv4 = proto_addr_is_ipv4 (addr);
    if (self->count == 0) {
        if (!ipv4) {
            memcpy (out, addr->bytes, PROTO_ADDR_SIZE);
            return PROTO_ADDR_SIZE;
        }
        uint32_t host = proto_addr_ipv4 (addr);
        for (int index = 0; index < 4; index++)
            out[index] = (uint8_t) (host >> (24 - 8 * index));
        return 4;
    }
    if (ipv4)
        return shard_varint_put (out, proto_addr_ipv4 (addr) - proto_addr_ipv4 (&self->last));
    size_t shared = 0;
    while (shared < PROTO_ADDR_SIZE - 1 && addr->bytes[shared] == self->last.bytes[shared])
        shared++;
    out[0] = (uint8_t) shared;
    memcpy (out + 1, addr->bytes + shared, PROTO_ADDR_SIZE - shared);
    return 1 + PROTO_ADDR_SIZE - shared;
}

size_t
shard_pack_builder_size_with (const shard_pack_builder_t *self, const proto_addr_t *addr,
                              size_t size)
{
    assert (self);
    assert (addr);
    uint8_t scratch[1 + PROTO_ADDR_SIZE + SHARD_VARINT_MAX];
    size_t entry = s_host_put (self, addr, scratch) + shard_varint_put (scratch, size) + size;
    return 1 + shard_varint_put (scratch, self->count + 1) + self->body.size + entry;
}

void
shard_pack_builder_add (shard_pack_builder_t *self, const proto_addr_t *addr, const void *record,
                        size_t size)
{
    assert (self);
    assert (addr);
    assert (record && size > 0);
    bool ipv6 = !proto_addr_is_ipv4 (addr);
    assert (self->count == 0 ||
            (ipv6 == self->ipv6 && memcmp (self->last.bytes, addr->bytes, PROTO_ADDR_SIZE) < 0));
    uint8_t host[1 + PROTO_ADDR_SIZE];
    shard_buffer_append (&self->body, host, s_host_put (self, addr, host));
    shard_buffer_varint (&self->body, size);
    shard_buffer_append (&self->body, record, size);
    self->ipv6 = ipv6;
    self->last = *addr;
    self->count++;
}

void
shard_pack_builder_finish (const shard_pack_builder_t *self, shard_buffer_t *out)
{
    assert (self);
    assert (self->count > 0);
    assert (out);
    shard_buffer_reset (out);
    shard_buffer_header (out, SHARD_PACK_FLAG | (self->ipv6 ? SHARD_PACK_IPV6 : 0));
    shard_buffer_varint (out, self->count);
    shard_buffer_append (out, self->body.data, self->body.size);
}

//  --------------------------------------------------------------------------
//  Selftest

//  A record of one row of port on day 0 whose bytes are value
static void
s_test_record (uint64_t value, shard_buffer_t *out)
{
    shard_series_row_t row;
    memset (&row, 0, sizeof row);
    row.port = 25;
    for (int op = 0; op < PROTO_OP_COUNT; op++)
        row.row.value[PROTO_FEATURE_BYTES][op] = value;
    shard_series_encode (&row, 1, 16, out);
}

static void
s_test_family (bool ipv6)
{
    //  Hosts with gaps of 1, 200, 70000 (IPv4), or prefixes shared 15, 3, 0 (IPv6)
    proto_addr_t addrs[4];
    for (int index = 0; index < 4; index++) {
        if (ipv6) {
            uint8_t bytes[PROTO_ADDR_SIZE] = {0x20, 0x01, 0x0d, 0xb8};
            bytes[15] = (uint8_t) index;
            if (index >= 2)
                bytes[4] = (uint8_t) index;
            if (index == 3)
                bytes[0] = 0x30;
            proto_addr_from_ipv6 (&addrs[index], bytes);
        }
        else {
            static const uint32_t hosts[4] = {0x0a000001, 0x0a000002, 0x0a0000ca, 0x0a011250};
            proto_addr_from_ipv4 (&addrs[index], hosts[index]);
        }
    }
    shard_pack_builder_t builder = {{NULL, 0, 0}, 0, {{0}}, false};
    shard_buffer_t record = {NULL, 0, 0}, pack = {NULL, 0, 0};
    size_t expected = 0;
    for (int index = 0; index < 4; index++) {
        s_test_record (1000u * (unsigned) (index + 1), &record);
        expected = shard_pack_builder_size_with (&builder, &addrs[index], record.size);
        shard_pack_builder_add (&builder, &addrs[index], record.data, record.size);
    }
    shard_pack_builder_finish (&builder, &pack);
    assert (pack.size == expected);
    assert (shard_pack_rows (pack.data, pack.size) == 4);
    //  Each found, with its own record; hosts between are absent
    for (int index = 0; index < 4; index++) {
        shard_pack_entry_t entry;
        assert (shard_pack_find (&addrs[0], pack.data, pack.size, &addrs[index], &entry) == 0);
        shard_row_t row;
        assert (shard_series_find (entry.record, entry.size, 16, 25, 0, &row) == 0);
        assert (row.value[PROTO_FEATURE_BYTES][PROTO_OP_SUM] == 1000u * (unsigned) (index + 1));
    }
    proto_addr_t between = addrs[1];
    between.bytes[PROTO_ADDR_SIZE - 1]++;
    shard_pack_entry_t entry;
    assert (shard_pack_find (&addrs[0], pack.data, pack.size, &between, &entry) == 1);
    //  A key whose host is not the first's is refused
    assert (shard_pack_find (&addrs[1], pack.data, pack.size, &addrs[3], &entry) == -1);
    //  Every truncation and every single-bit flip is refused or read safely (ASan)
    uint8_t *copy = (uint8_t *) malloc (pack.size);
    assert (copy);
    for (size_t size = 0; size < pack.size; size++) {
        memcpy (copy, pack.data, size);
        assert (shard_pack_rows (copy, size) == -1);
    }
    for (size_t bit = 0; bit < pack.size * 8; bit++) {
        memcpy (copy, pack.data, pack.size);
        copy[bit / 8] ^= (uint8_t) (1 << bit % 8);
        (void) shard_pack_rows (copy, pack.size);
        (void) shard_pack_find (&addrs[0], copy, pack.size, &addrs[3], &entry);
    }
    //  A bare record is a pack of one entry, the key's host
    s_test_record (77, &record);
    assert (shard_pack_rows (record.data, record.size) == 1);
    assert (shard_pack_find (&addrs[2], record.data, record.size, &addrs[2], &entry) == 0);
    assert (entry.size == record.size && entry.record == record.data);
    assert (shard_pack_find (&addrs[2], record.data, record.size, &addrs[1], &entry) == 1);
    //  A host not after the one before is refused (IPv4: a delta of 0)
    if (!ipv6) {
        shard_buffer_t bad = {NULL, 0, 0};
        shard_buffer_header (&bad, SHARD_PACK_FLAG);
        shard_buffer_varint (&bad, 2);
        shard_buffer_append (&bad, "\x0a\x00\x00\x01", 4);
        shard_buffer_varint (&bad, record.size);
        shard_buffer_append (&bad, record.data, record.size);
        size_t good = bad.size;
        shard_buffer_varint (&bad, 1);
        shard_buffer_varint (&bad, record.size);
        shard_buffer_append (&bad, record.data, record.size);
        assert (shard_pack_rows (bad.data, bad.size) == 2);
        bad.data[good] = 0;
        assert (shard_pack_rows (bad.data, bad.size) == -1);
        shard_buffer_free (&bad);
    }
    free (copy);
    shard_buffer_free (&record);
    shard_buffer_free (&pack);
    shard_pack_builder_free (&builder);
}

void
shard_pack_test (bool verbose)
{
    (void) verbose;
    printf (" * shard_pack: ");
    s_test_family (false);
    s_test_family (true);
    printf ("OK\n");
}
