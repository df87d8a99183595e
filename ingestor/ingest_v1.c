/*  ingest_v1.c - nfdump 1.6 files: header, stat record, extension maps, common records.

    File layout (../shared/NFCAPD.md §6; integers in the writer's byte order):

        fileHeaderV1 (140 B) | stat_recordV1 (136 B) | data block 1 .. NumBlocks
        fileHeaderV1  = u16 magic 0xA50C, u16 version 1, u32 flags (0x1 LZO, 0x2 anonymized,
                        0x8 BZ2, 0x10 LZ4), u32 NumBlocks, char ident[128]
        stat_recordV1 = u64 x 15 (numflows, bytes, packets, per protocol...), u32 first_seen,
                        u32 last_seen (secs), u16 msec_first, u16 msec_last, u32 seq failures
        data block    = the 1.7 block header (type 2) and payload, one codec for the file

    Records of a type-2 block, each { u16 type; u16 size } first:

        map (2)     u16 map_id, u16 extension_size, u16 ex_id[] 0-terminated, padded to 4
        common (10) u8 flags, u8 nfversion, u16 ext_map, u16 msec_first, u16 msec_last,
                    u32 first, u32 last, u8 fwd_status, u8 tcp_flags, u8 prot, u8 tos,
                    u16 srcport, u16 dstport, u16 exporter_sysid, u8 biFlowDir,
                    u8 flowEndReason (32 bytes with the header), then
                    addresses: 2 x u32 IPv4, or 2 x (two u64 halves, upper first) IPv6
                               (flags bit 0)
                    packets:   u32, or u64 (flags bit 1)
                    bytes:     u32, or u64 (flags bit 2)
                    then each extension of the map, in map order, at its fixed size

    A map is checked once, when it is registered: every id must have a known size (the
    table below, from nfdump 1.6's extension descriptors), and we note where the fields
    we use (AS numbers, out counters) sit.  A record is then checked against its map's
    total size before any field is read.  64-bit values are not aligned in the records;
    every read goes through memcpy.

    Seen in files of Debian 11's nfcapd 1.6.22 (tests/system/reader_v1_test.sh): the maps
    and exporter records are in the first data block only, so later blocks can only be
    walked after it (blocks are walked in file order, one thread); the exporter stat
    records (type 8) come last, in a block of their own; NetFlow v5 records have 32-bit
    counters and a sampler record (type 9) beside them, v9 records 64-bit counters; block
    flags are 0 and compression is the file header's alone (as 1.6's ReadBlock assumes).
    With -T all a v9 map lists 7 15 17 23 25 27 (AS, out packets and bytes, router IP and
    id, received time), a v5 map 4 6 8 9 23 25 27; IPv6 addresses are laid out as in V3.
*/
#include "ingestor/ingest_v1.h"
#include "ingestor/ingest_bytes.h"
#include "ingestor/ingest_image.h"  //  Selftest

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V1_MAGIC 0xA50C
#define V1_FLAG_LZO 0x01
#define V1_FLAG_ANONYMIZED 0x02
#define V1_FLAG_BZ2 0x08
#define V1_FLAG_LZ4 0x10
#define V1_MAP_HEADER_SIZE 8  //  type, size, map_id, extension_size

//  Common record flags
#define V1_RECORD_IPV6 0x01
#define V1_RECORD_PACKETS_64 0x02
#define V1_RECORD_BYTES_64 0x04
#define V1_RECORD_EVENT 0x40
#define V1_RECORD_SAMPLED 0x80

//  Extension ids we read
#define V1_EX_AS_2 6
#define V1_EX_AS_4 7
#define V1_EX_OUT_PACKETS_4 14
#define V1_EX_OUT_PACKETS_8 15
#define V1_EX_OUT_BYTES_4 16
#define V1_EX_OUT_BYTES_8 17

//  Flow flags as in V3 records (ingest_flow_t.flags)
#define V1_FLOW_EVENT 1
#define V1_FLOW_SAMPLED 2

//  Bytes each extension id takes in a record (nfdump 1.6.22/1.6.25 extension_descriptor):
//  0-3 are the required fields (sized by the flags, never in a map), 28-36, 44 and 49 are
//  reserved, 47 (compat NEL) is 0 as nfdump writes it.  Ids past the table are unknown.
static const uint8_t s_extension_sizes[] = {
    0,  0,  0, 0,                     //  0-3   required fields
    4,  8,                            //  4-5   input/output interface, 2 or 4 bytes each
    4,  8,                            //  6-7   src/dst AS, 2 or 4 bytes each
    4,                                //  8     dst tos, direction, src/dst mask
    4,  16, 4, 16,                    //  9-12  next hop v4/v6, BGP next hop v4/v6
    4,                                //  13    src/dst vlan
    4,  8,  4, 8,  4,  8,             //  14-19 out packets, out bytes, aggregated flows
    16, 16,                           //  20-21 MAC addresses
    40,                               //  22    MPLS labels
    4,  16, 4,                        //  23-25 router IP v4/v6, router id
    8,  8,                            //  26-27 BGP adjacent AS, received time
    0,  0,  0, 0,  0,  0,  0,  0, 0,  //  28-36 reserved
    20, 4,  8, 32, 24, 24, 72,        //  37-43 NSEL common, xlate ports/v4/v6, ACL, user, user max
    0,                                //  44    reserved
    24,                               //  45    latency
    12, 0,  8,                        //  46-48 NEL common, compat NEL IPv4, port block allocation
    0                                 //  49    reserved
};
#define V1_EXTENSION_IDS (sizeof s_extension_sizes)

//  One registered map, reduced to what a record needs.
typedef struct {
    bool defined;              //  A map record with this id was seen
    bool usable;               //  Every extension id of it has a known size
    uint16_t size;             //  Bytes of optional extensions in a record
    uint16_t as_at;            //  Offset of the AS extension in them (if as_size)
    uint8_t as_size;           //  0 none, 4 (2 x u16) or 8 (2 x u32)
    uint16_t out_packets_at;   //  Offset of the out packets (if out_packets_size)
    uint8_t out_packets_size;  //  0 none, 4 or 8
    uint16_t out_bytes_at;     //  Offset of the out bytes (if out_bytes_size)
    uint8_t out_bytes_size;    //  0 none, 4 or 8
} s_map_t;

struct _ingest_v1_t {
    s_map_t *maps;                    //  Indexed by map id
    size_t map_room;                  //  Entries allocated in maps
    uint32_t map_count;               //  Map records registered since the reset
    uint64_t skipped;                 //  Records without a usable map
    char error[INGEST_V1_ERROR_MAX];  //  Last error
};

//  --------------------------------------------------------------------------

static int s_error (char *error, size_t error_size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_error (char *error, size_t error_size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (error, error_size, format, args);
    va_end (args);
    return -1;
}

//  A counter of 4 or 8 bytes
static inline uint64_t
s_counter (const uint8_t *p, size_t size)
{
    return size == 8 ? ingest_u64 (p) : ingest_u32 (p);
}

//  --------------------------------------------------------------------------
int
ingest_v1_header_parse (ingest_v1_header_t *header, const uint8_t *bytes, size_t size, char *error,
                        size_t error_size)
{
    assert (header);
    assert (bytes);
    assert (error);
    memset (header, 0, sizeof *header);
    header->stat_flows = header->stat_first_msecs = header->stat_last_msecs = -1;
    if (size < INGEST_V1_DATA_OFFSET)
        return s_error (error, error_size,
                        "truncated: a layout 1 file starts with %d bytes of header and stat "
                        "record, only %zu given",
                        INGEST_V1_DATA_OFFSET, size);
    if (ingest_u16 (bytes) != V1_MAGIC || ingest_u16 (bytes + 2) != INGEST_V1_LAYOUT)
        return s_error (error, error_size, "not a layout 1 nfcapd file");
    uint32_t flags = ingest_u32 (bytes + 4);
    header->block_count = ingest_u32 (bytes + 8);
    header->anonymized = (flags & V1_FLAG_ANONYMIZED) != 0;
    switch (flags & (V1_FLAG_LZO | V1_FLAG_BZ2 | V1_FLAG_LZ4)) {
    case 0:
        header->compression = INGEST_COMPRESS_NONE;
        break;
    case V1_FLAG_LZO:
        header->compression = INGEST_COMPRESS_LZO;
        break;
    case V1_FLAG_BZ2:
        header->compression = INGEST_COMPRESS_BZ2;
        break;
    case V1_FLAG_LZ4:
        header->compression = INGEST_COMPRESS_LZ4;
        break;
    default:
        return s_error (error, error_size, "corrupt: header flags 0x%x name several codecs", flags);
    }
    memcpy (header->ident, bytes + 12, INGEST_V1_IDENT_SIZE);
    header->ident[INGEST_V1_IDENT_SIZE] = 0;

    const uint8_t *stat = bytes + INGEST_V1_HEADER_SIZE;
    uint64_t flows = ingest_u64 (stat);
    header->stat_flows = flows <= INT64_MAX ? (int64_t) flows : -1;
    //  After 15 u64: u32 first_seen, u32 last_seen (secs), u16 msec_first, u16 msec_last
    uint64_t first = (uint64_t) ingest_u32 (stat + 120) * 1000 + ingest_u16 (stat + 128);
    uint64_t last = (uint64_t) ingest_u32 (stat + 124) * 1000 + ingest_u16 (stat + 130);
    if (ingest_u32 (stat + 120) && first <= last) {
        header->stat_first_msecs = (int64_t) first;
        header->stat_last_msecs = (int64_t) last;
    }
    return 0;
}

//  --------------------------------------------------------------------------
ingest_v1_t *
ingest_v1_new (void)
{
    return (ingest_v1_t *) calloc (1, sizeof (ingest_v1_t));
}

//  --------------------------------------------------------------------------
void
ingest_v1_destroy (ingest_v1_t **self_p)
{
    assert (self_p);
    ingest_v1_t *self = *self_p;
    if (!self)
        return;
    free (self->maps);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_v1_reset (ingest_v1_t *self)
{
    assert (self);
    if (self->maps)
        memset (self->maps, 0, self->map_room * sizeof (s_map_t));
    self->map_count = 0;
    self->skipped = 0;
    self->error[0] = 0;
}

//  --------------------------------------------------------------------------
bool
ingest_v1_handles (uint16_t type)
{
    return type == INGEST_V1_RECORD_MAP || type == INGEST_V1_RECORD_COMMON;
}

//  --------------------------------------------------------------------------
//  Register the map record at record (size bytes).  3, or -1 if it is malformed.

static int
s_add_map (ingest_v1_t *self, const uint8_t *record, size_t size)
{
    if (size < V1_MAP_HEADER_SIZE + 2 || size % 2)
        return s_error (self->error, sizeof self->error, "extension map record of %zu bytes", size);
    uint16_t id = ingest_u16 (record + 4);
    if (id >= self->map_room) {
        size_t room = self->map_room ? self->map_room : 8;
        while (room <= id)
            room *= 2;
        s_map_t *maps = (s_map_t *) realloc (self->maps, room * sizeof (s_map_t));
        if (!maps)
            return s_error (self->error, sizeof self->error, "out of memory for map %u", id);
        memset (maps + self->map_room, 0, (room - self->map_room) * sizeof (s_map_t));
        self->maps = maps;
        self->map_room = room;
    }
    s_map_t map = {.defined = true, .usable = true};
    size_t at = 0;
    bool ended = false;
    for (size_t cursor = V1_MAP_HEADER_SIZE; cursor + 2 <= size; cursor += 2) {
        uint16_t ex_id = ingest_u16 (record + cursor);
        if (ex_id == 0) {
            ended = true;
            break;
        }
        if (ex_id >= V1_EXTENSION_IDS) {
            map.usable = false;  //  Sizes of it and of all that follows are unknown
            ended = true;
            break;
        }
        if (ex_id == V1_EX_AS_2 || ex_id == V1_EX_AS_4) {
            map.as_at = (uint16_t) at;
            map.as_size = s_extension_sizes[ex_id];
        }
        else if (ex_id == V1_EX_OUT_PACKETS_4 || ex_id == V1_EX_OUT_PACKETS_8) {
            map.out_packets_at = (uint16_t) at;
            map.out_packets_size = s_extension_sizes[ex_id];
        }
        else if (ex_id == V1_EX_OUT_BYTES_4 || ex_id == V1_EX_OUT_BYTES_8) {
            map.out_bytes_at = (uint16_t) at;
            map.out_bytes_size = s_extension_sizes[ex_id];
        }
        at += s_extension_sizes[ex_id];
    }
    if (!ended)
        return s_error (self->error, sizeof self->error,
                        "extension map %u has no terminating 0 in its %zu bytes", id, size);
    //  At most (65535 - 8) / 2 ids of at most 72 bytes: at fits in a size_t, and a record
    //  (at most 65535 bytes) holding more than that is impossible, so cap it there.
    map.size = at > UINT16_MAX ? UINT16_MAX : (uint16_t) at;
    if (at > UINT16_MAX)
        map.usable = false;
    self->maps[id] = map;
    self->map_count++;
    return 3;
}

//  --------------------------------------------------------------------------
//  Decode the common record at record (size bytes).  1 flow, 2 flow filtered out,
//  0 skipped (no usable map), -1 corrupt.

static int
s_decode_common (ingest_v1_t *self, const uint8_t *record, size_t size, const uint64_t *port_filter,
                 ingest_flow_t *flow)
{
    if (size < INGEST_V1_COMMON_SIZE)
        return s_error (self->error, sizeof self->error,
                        "common record of %zu bytes is shorter than its %d-byte fixed part", size,
                        INGEST_V1_COMMON_SIZE);
    uint8_t flags = record[4];
    uint16_t map_id = ingest_u16 (record + 6);
    if (map_id >= self->map_room || !self->maps[map_id].defined || !self->maps[map_id].usable) {
        self->skipped++;
        return 0;
    }
    const s_map_t *map = &self->maps[map_id];
    size_t address_size = flags & V1_RECORD_IPV6 ? 32 : 8;
    size_t packets_size = flags & V1_RECORD_PACKETS_64 ? 8 : 4;
    size_t bytes_size = flags & V1_RECORD_BYTES_64 ? 8 : 4;
    size_t required = INGEST_V1_COMMON_SIZE + address_size + packets_size + bytes_size;
    if (size < required + map->size)
        return s_error (self->error, sizeof self->error,
                        "common record of %zu bytes, its flags and map %u need %zu", size, map_id,
                        required + map->size);
    flow->dst_port = ingest_u16 (record + 26);
    if (port_filter && !((port_filter[flow->dst_port / 64] >> (flow->dst_port % 64)) & 1))
        return 2;
    flow->msec_first = (uint64_t) ingest_u32 (record + 12) * 1000 + ingest_u16 (record + 8);
    flow->msec_last = (uint64_t) ingest_u32 (record + 16) * 1000 + ingest_u16 (record + 10);
    flow->protocol = record[22];
    flow->src_port = ingest_u16 (record + 24);
    flow->exporter = ingest_u16 (record + 28);
    flow->flags = (uint8_t) ((flags & V1_RECORD_EVENT ? V1_FLOW_EVENT : 0) |
                             (flags & V1_RECORD_SAMPLED ? V1_FLOW_SAMPLED : 0));
    const uint8_t *at = record + INGEST_V1_COMMON_SIZE;
    if (flags & V1_RECORD_IPV6) {
        //  Each address is two u64 halves, upper half first, each in host order
        uint8_t bytes[PROTO_ADDR_SIZE];
        for (int half = 0; half < 4; half++) {
            uint64_t word = ingest_u64 (at + half * 8);
            for (int index = 0; index < 8; index++)
                bytes[(half % 2) * 8 + index] = (uint8_t) (word >> (56 - 8 * index));
            if (half == 1)
                proto_addr_from_ipv6 (&flow->src, bytes);
            else if (half == 3)
                proto_addr_from_ipv6 (&flow->dst, bytes);
        }
    }
    else {
        proto_addr_from_ipv4 (&flow->src, ingest_u32 (at));
        proto_addr_from_ipv4 (&flow->dst, ingest_u32 (at + 4));
    }
    at += address_size;
    flow->packets = s_counter (at, packets_size);
    at += packets_size;
    flow->bytes = s_counter (at, bytes_size);
    at += bytes_size;
    if (map->out_packets_size)
        flow->packets += s_counter (at + map->out_packets_at, map->out_packets_size);
    if (map->out_bytes_size)
        flow->bytes += s_counter (at + map->out_bytes_at, map->out_bytes_size);
    if (map->as_size == 8) {
        flow->src_as = ingest_u32 (at + map->as_at);
        flow->dst_as = ingest_u32 (at + map->as_at + 4);
    }
    else if (map->as_size == 4) {
        flow->src_as = ingest_u16 (at + map->as_at);
        flow->dst_as = ingest_u16 (at + map->as_at + 2);
    }
    else
        flow->src_as = flow->dst_as = 0;
    return 1;
}

//  --------------------------------------------------------------------------
int
ingest_v1_record (ingest_v1_t *self, const uint8_t *record, size_t record_size,
                  const uint64_t *port_filter, ingest_flow_t *flow)
{
    assert (self);
    assert (record);
    assert (flow);
    uint16_t type = ingest_u16 (record);
    if (type == INGEST_V1_RECORD_MAP)
        return s_add_map (self, record, record_size);
    assert (type == INGEST_V1_RECORD_COMMON);  //  The caller asked ingest_v1_handles
    return s_decode_common (self, record, record_size, port_filter, flow);
}

//  --------------------------------------------------------------------------
const char *
ingest_v1_error (ingest_v1_t *self)
{
    assert (self);
    return self->error;
}

uint32_t
ingest_v1_map_count (ingest_v1_t *self)
{
    assert (self);
    return self->map_count;
}

uint64_t
ingest_v1_skipped (ingest_v1_t *self)
{
    assert (self);
    return self->skipped;
}

//  --------------------------------------------------------------------------
//  Selftest: V1 files built in memory byte by byte as NFCAPD.md §6 lays them out, read
//  through ingest_reader (which exercises the reader's hooks), with each codec 1.6
//  writes.  Real files of nfcapd 1.6.22 are checked by tests/system/reader_v1_test.sh.

#include <bzlib.h>
#include <lz4.h>
#include <lzo1x.h>
#include <sys/mman.h>
#include <unistd.h>

//  A map record: id and the extension ids (terminated and padded here)
static void
s_put_map (ingest_image_t *image, uint16_t id, const uint16_t *ex_ids, size_t count)
{
    size_t size = V1_MAP_HEADER_SIZE + 2 * (count + 1);
    size += size % 4;
    ingest_image_put16 (image, INGEST_V1_RECORD_MAP);
    ingest_image_put16 (image, (uint16_t) size);
    ingest_image_put16 (image, id);
    uint16_t extension_size = 0;
    for (size_t index = 0; index < count; index++)
        extension_size += ex_ids[index] < V1_EXTENSION_IDS ? s_extension_sizes[ex_ids[index]] : 0;
    ingest_image_put16 (image, extension_size);
    for (size_t index = 0; index < count; index++)
        ingest_image_put16 (image, ex_ids[index]);
    for (size_t filled = V1_MAP_HEADER_SIZE + 2 * count; filled < size; filled += 2)
        ingest_image_put16 (image, 0);
}

//  The fixed part of a common record
static void
s_put_common (ingest_image_t *image, uint16_t size, uint8_t flags, uint16_t map,
              uint32_t first_secs, uint16_t dst_port, uint8_t protocol, uint16_t exporter)
{
    ingest_image_put16 (image, INGEST_V1_RECORD_COMMON);
    ingest_image_put16 (image, size);
    ingest_image_put8 (image, flags);
    ingest_image_put8 (image, 9);
    ingest_image_put16 (image, map);
    ingest_image_put16 (image, 250);  //  msec_first
    ingest_image_put16 (image, 750);  //  msec_last
    ingest_image_put32 (image, first_secs);
    ingest_image_put32 (image, first_secs + 2);
    uint8_t middle[4] = {0, 0x1b, protocol, 0};
    ingest_image_put (image, middle, 4);
    ingest_image_put16 (image, 40000);
    ingest_image_put16 (image, dst_port);
    ingest_image_put16 (image, exporter);
    ingest_image_put16 (image, 0);
}

//  Block 1: exporter, maps 0 (AS 2 bytes, interfaces) and 1 (AS 4 bytes, out counters 8
//  and 4 bytes), an IPv4 flow (32-bit counters, map 0), an IPv6 flow (64-bit, map 1), a
//  flow naming map 7 (never defined: skipped), a sampler record (skipped).  Block 2: map
//  0 redefined without AS, a flow of map 1 (from block 1) and one of the new map 0.
static void
s_build_blocks (ingest_image_t *block1, ingest_image_t *block2)
{
    block1->size = block2->size = 0;
    ingest_image_put16 (block1, 7);  //  Exporter info, sysid 4
    ingest_image_put16 (block1, 32);
    ingest_image_put32 (block1, 9);
    uint8_t ip[16] = {0};
    ingest_image_put (block1, ip, 16);
    ingest_image_put16 (block1, 2);
    ingest_image_put16 (block1, 4);
    ingest_image_put32 (block1, 0);
    uint16_t map0[] = {4, V1_EX_AS_2, 8};
    s_put_map (block1, 0, map0, 3);
    uint16_t map1[] = {5, V1_EX_AS_4, V1_EX_OUT_PACKETS_8, V1_EX_OUT_BYTES_4, 23, 27};
    s_put_map (block1, 1, map1, 6);
    s_put_common (block1, 32 + 8 + 4 + 4 + 12, 0, 0, 1700000000, 25, 6, 4);
    ingest_image_put32 (block1, 0x0a010203);
    ingest_image_put32 (block1, 0xc0000207);
    ingest_image_put32 (block1, 10);
    ingest_image_put32 (block1, 1500);
    ingest_image_put32 (block1, 0x00020001);              //  interfaces 1, 2
    ingest_image_put32 (block1, 64500 | (64501u << 16));  //  AS 64500 -> 64501
    ingest_image_put32 (block1, 0);
    s_put_common (block1, 32 + 32 + 8 + 8 + 8 + 8 + 8 + 4 + 4 + 8,
                  V1_RECORD_IPV6 | V1_RECORD_PACKETS_64 | V1_RECORD_BYTES_64 | V1_RECORD_SAMPLED, 1,
                  1700000001, 22, 6, 4);
    ingest_image_put64 (block1, 0x20010db800000000ULL);
    ingest_image_put64 (block1, 0x0000000000000001ULL);
    ingest_image_put64 (block1, 0x20010db8000000ffULL);
    ingest_image_put64 (block1, 0x0000000000000002ULL);
    ingest_image_put64 (block1, 6000000000ULL);
    ingest_image_put64 (block1, 5000000000000ULL);
    ingest_image_put32 (block1, 1), ingest_image_put32 (block1, 2);  //  interfaces
    ingest_image_put32 (block1, 4200000001u), ingest_image_put32 (block1, 64501);
    ingest_image_put64 (block1, 7);  //  out packets
    ingest_image_put32 (block1, 700);
    ingest_image_put32 (block1, 0x0100007f);
    ingest_image_put64 (block1, 1700000003000ULL);
    s_put_common (block1, 32 + 16, 0, 7, 1700000000, 80, 6, 4);
    ingest_image_put64 (block1, 0);
    ingest_image_put64 (block1, 0);
    ingest_image_put16 (block1, 9);  //  Sampler record
    ingest_image_put16 (block1, 16);
    ingest_image_put64 (block1, 0), ingest_image_put32 (block1, 0);

    uint16_t map0_new[] = {8};
    s_put_map (block2, 0, map0_new, 1);
    s_put_common (block2, 32 + 8 + 4 + 4 + 40, 0, 1, 1700000002, 80, 17, 4);
    ingest_image_put32 (block2, 0x0a010204);
    ingest_image_put32 (block2, 0xc0000208);
    ingest_image_put32 (block2, 1);
    ingest_image_put32 (block2, 100);
    ingest_image_put32 (block2, 0), ingest_image_put32 (block2, 0);
    ingest_image_put32 (block2, 64500), ingest_image_put32 (block2, 1);
    ingest_image_put64 (block2, 0);
    ingest_image_put32 (block2, 0);
    ingest_image_put32 (block2, 0);
    ingest_image_put64 (block2, 0);
    s_put_common (block2, 32 + 8 + 4 + 4 + 4, 0, 0, 1700000002, 443, 6, 4);
    ingest_image_put32 (block2, 0x0a010205);
    ingest_image_put32 (block2, 0xc0000209);
    ingest_image_put32 (block2, 2);
    ingest_image_put32 (block2, 200);
    ingest_image_put32 (block2, 0);
}

//  The whole file, blocks compressed with compression
static void
s_build_file (ingest_image_t *image, uint8_t compression)
{
    ingest_image_t blocks[2];
    s_build_blocks (&blocks[0], &blocks[1]);
    uint32_t records[2] = {7, 3};
    image->size = 0;
    ingest_image_put16 (image, V1_MAGIC);
    ingest_image_put16 (image, INGEST_V1_LAYOUT);
    uint32_t flags[] = {0, V1_FLAG_LZO, V1_FLAG_BZ2, V1_FLAG_LZ4};
    ingest_image_put32 (image, flags[compression]);
    ingest_image_put32 (image, 2);
    char ident[INGEST_V1_IDENT_SIZE] = "v1test";
    ingest_image_put (image, ident, sizeof ident);
    ingest_image_put64 (image, 5);  //  numflows
    for (int index = 1; index < 15; index++)
        ingest_image_put64 (image, 0);
    ingest_image_put32 (image, 1700000000);
    ingest_image_put32 (image, 1700000004);
    ingest_image_put16 (image, 250);
    ingest_image_put16 (image, 750);
    ingest_image_put32 (image, 0);
    assert (image->size == INGEST_V1_DATA_OFFSET);
    for (int block = 0; block < 2; block++) {
        static uint8_t packed[16384];
        size_t packed_size = sizeof packed;
        if (compression == INGEST_COMPRESS_NONE) {
            memcpy (packed, blocks[block].bytes, blocks[block].size);
            packed_size = blocks[block].size;
        }
        else if (compression == INGEST_COMPRESS_LZ4) {
            int done = LZ4_compress_default ((const char *) blocks[block].bytes, (char *) packed,
                                             (int) blocks[block].size, (int) sizeof packed);
            assert (done > 0);
            packed_size = (size_t) done;
        }
        else if (compression == INGEST_COMPRESS_LZO) {
            static uint8_t work[LZO1X_1_MEM_COMPRESS];
            lzo_uint done = sizeof packed;
            assert (lzo1x_1_compress (blocks[block].bytes, blocks[block].size, packed, &done,
                                      work) == LZO_E_OK);
            packed_size = done;
        }
        else {
            unsigned int done = sizeof packed;
            assert (BZ2_bzBuffToBuffCompress ((char *) packed, &done, (char *) blocks[block].bytes,
                                              (unsigned int) blocks[block].size, 9, 0, 0) == BZ_OK);
            packed_size = done;
        }
        ingest_image_put32 (image, records[block]);
        ingest_image_put32 (image, (uint32_t) packed_size);
        ingest_image_put16 (image, INGEST_V1_BLOCK_TYPE);
        ingest_image_put16 (image, 2);
        ingest_image_put (image, packed, packed_size);
    }
}

//  Read the first size bytes of image with reader, through the memory file fd (one reader
//  and one fd serve every image, as in the ingestor: open must reset the maps): 0 clean
//  end, -1 error (in *error).  check: assert what the intact file holds.
static int
s_read_image (ingest_reader_t *reader, int fd, const ingest_image_t *image, size_t size,
              ingest_flow_t *flows, size_t *count, char *error, size_t error_size, bool check)
{
    assert (ftruncate (fd, 0) == 0);
    assert (pwrite (fd, image->bytes, size, 0) == (ssize_t) size);
    *count = 0;
    int rc = ingest_reader_open_fd (reader, fd, "image");
    if (rc == 0) {
        while (*count < 8 && (rc = ingest_reader_next (reader, &flows[*count])) == 1)
            (*count)++;
    }
    snprintf (error, error_size, "%s", ingest_reader_error (reader));
    if (rc == 0 && check) {
        assert (ingest_reader_flows_read (reader) == 4);
        assert (ingest_reader_skipped_records (reader) == 2);
        assert (ingest_reader_exporter_count (reader) == 1);
        assert (ingest_reader_stat_flows (reader) == 5);
        assert (ingest_reader_stat_first_msecs (reader) == 1700000000250LL);
        assert (ingest_reader_stat_last_msecs (reader) == 1700000004750LL);
        assert (strcmp (ingest_reader_ident (reader), "v1test") == 0);
        assert (ingest_reader_block_count (reader) == 2);
    }
    return rc;
}

void
ingest_v1_test (bool verbose)
{
    printf (" * ingest_v1: ");
    //  Header parse
    ingest_image_t image;
    s_build_file (&image, INGEST_COMPRESS_NONE);
    char error[INGEST_READER_ERROR_MAX];
    ingest_v1_header_t header;
    assert (ingest_v1_header_parse (&header, image.bytes, image.size, error, sizeof error) == 0);
    assert (header.compression == INGEST_COMPRESS_NONE && header.block_count == 2);
    assert (!header.anonymized && strcmp (header.ident, "v1test") == 0);
    assert (header.stat_flows == 5 && header.stat_last_msecs == 1700000004750LL);
    assert (ingest_v1_header_parse (&header, image.bytes, 275, error, sizeof error) == -1);
    assert (strstr (error, "truncated"));
    ingest_image_t bad = image;
    bad.bytes[4] = V1_FLAG_LZO | V1_FLAG_LZ4;
    assert (ingest_v1_header_parse (&header, bad.bytes, bad.size, error, sizeof error) == -1);
    assert (strstr (error, "several codecs"));

    //  Each codec, read through the reader
    ingest_reader_t *reader = ingest_reader_new ();
    assert (reader);
    int fd = memfd_create ("ingest_v1_test", MFD_CLOEXEC);
    assert (fd >= 0);
    for (uint8_t compression = 0; compression <= INGEST_COMPRESS_LZ4; compression++) {
        s_build_file (&image, compression);
        ingest_flow_t flows[8];
        size_t count;
        assert (s_read_image (reader, fd, &image, image.size, flows, &count, error, sizeof error,
                              true) == 0);
        assert (count == 4);
        char text[PROTO_ADDR_STRLEN];
        ingest_flow_t *flow = &flows[0];
        assert (strcmp (proto_addr_format (&flow->src, text), "10.1.2.3") == 0);
        assert (strcmp (proto_addr_format (&flow->dst, text), "192.0.2.7") == 0);
        assert (flow->packets == 10 && flow->bytes == 1500);
        assert (flow->src_as == 64500 && flow->dst_as == 64501);
        assert (flow->dst_port == 25 && flow->src_port == 40000 && flow->protocol == 6);
        assert (flow->msec_first == 1700000000250ULL && flow->msec_last == 1700000002750ULL);
        assert (flow->exporter == 4 && flow->flags == 0);
        flow = &flows[1];
        assert (strcmp (proto_addr_format (&flow->src, text), "2001:db8::1") == 0);
        assert (strcmp (proto_addr_format (&flow->dst, text), "2001:db8:0:ff::2") == 0);
        assert (flow->packets == 6000000007ULL && flow->bytes == 5000000000700ULL);
        assert (flow->src_as == 4200000001u && flow->dst_as == 64501);
        assert (flow->flags == V1_FLOW_SAMPLED);
        flow = &flows[2];  //  Map 1, registered in the block before
        assert (strcmp (proto_addr_format (&flow->src, text), "10.1.2.4") == 0);
        assert (flow->packets == 1 && flow->bytes == 100 && flow->src_as == 64500);
        assert (flow->protocol == 17 && flow->dst_port == 80);
        flow = &flows[3];  //  Map 0 as redefined: no AS any more
        assert (strcmp (proto_addr_format (&flow->src, text), "10.1.2.5") == 0);
        assert (flow->packets == 2 && flow->bytes == 200 && flow->src_as == 0);
        if (verbose)
            printf ("codec %u: %zu bytes; ", compression, image.size);
    }

    //  Every truncation of the plain file is an error, never a crash
    s_build_file (&image, INGEST_COMPRESS_NONE);
    for (size_t size = 0; size < image.size; size++) {
        ingest_flow_t flows[8];
        size_t count;
        assert (s_read_image (reader, fd, &image, size, flows, &count, error, sizeof error, true) ==
                -1);
        assert (strstr (error, size < 4 ? "only" : "truncated"));
    }
    //  Every single byte flipped in the blocks: a clean end or an error, never a crash
    for (size_t at = INGEST_V1_DATA_OFFSET; at < image.size; at++) {
        bad = image;
        bad.bytes[at] ^= 0xff;
        ingest_flow_t flows[8];
        size_t count;
        s_read_image (reader, fd, &bad, bad.size, flows, &count, error, sizeof error, false);
    }

    //  And the intact file again, after all that
    ingest_flow_t again[8];
    size_t again_count;
    assert (s_read_image (reader, fd, &image, image.size, again, &again_count, error, sizeof error,
                          true) == 0);
    assert (again_count == 4);
    ingest_reader_destroy (&reader);
    close (fd);

    //  Records directly: corrupt maps and records
    ingest_v1_t *v1 = ingest_v1_new ();
    assert (v1);
    ingest_flow_t flow;
    uint8_t record[64] = {INGEST_V1_RECORD_MAP, 0, 8, 0, 0, 0, 0, 0};
    assert (ingest_v1_record (v1, record, 8, NULL, &flow) == -1);
    assert (strstr (ingest_v1_error (v1), "map record of 8 bytes"));
    uint8_t no_end[12] = {INGEST_V1_RECORD_MAP, 0, 12, 0, 1, 0, 0, 0, 4, 0, 6, 0};
    assert (ingest_v1_record (v1, no_end, sizeof no_end, NULL, &flow) == -1);
    assert (strstr (ingest_v1_error (v1), "no terminating 0"));
    //  A map with an unknown extension id: its records are skipped, not misread
    uint8_t unknown[12] = {INGEST_V1_RECORD_MAP, 0, 12, 0, 3, 0, 0, 0, 99, 0, 0, 0};
    assert (ingest_v1_record (v1, unknown, sizeof unknown, NULL, &flow) == 3);
    ingest_image_t common = {{0}, 0};
    s_put_common (&common, 48, 0, 3, 1700000000, 22, 6, 1);
    ingest_image_put64 (&common, 0), ingest_image_put64 (&common, 0);
    assert (ingest_v1_record (v1, common.bytes, common.size, NULL, &flow) == 0);
    //  A record shorter than its map needs, and than its fixed part
    uint16_t as_map[] = {V1_EX_AS_4};
    ingest_image_t map = {{0}, 0};
    s_put_map (&map, 3, as_map, 1);
    assert (ingest_v1_record (v1, map.bytes, map.size, NULL, &flow) == 3);
    assert (ingest_v1_record (v1, common.bytes, common.size, NULL, &flow) == -1);
    assert (strstr (ingest_v1_error (v1), "need 56"));
    assert (ingest_v1_record (v1, common.bytes, 31, NULL, &flow) == -1);
    assert (strstr (ingest_v1_error (v1), "shorter than"));
    //  The port filter: 22 is not in it
    uint64_t ports[1024] = {0};
    ports[0] = 1ULL << 25;
    common.bytes[2] = 56;
    assert (ingest_v1_record (v1, common.bytes, 56, ports, &flow) == 2);
    assert (ingest_v1_map_count (v1) == 2 && ingest_v1_skipped (v1) == 1);
    ingest_v1_reset (v1);
    assert (ingest_v1_map_count (v1) == 0);
    assert (ingest_v1_record (v1, common.bytes, 56, NULL, &flow) == 0);
    assert (ingest_v1_handles (2) && ingest_v1_handles (10) && !ingest_v1_handles (11));
    ingest_v1_destroy (&v1);
    ingest_v1_destroy (&v1);
    printf ("OK\n");
}
