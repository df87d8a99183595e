/*  shard_keys.h - the LMDB key layout of a shard store, with its byte diagrams.

    Every integer in a key is big-endian and fixed-width, so that byte order is numeric
    order and a prefix scan is a range scan.  Hosts are 16-byte addresses (IPv4
    v4-mapped) on the wire; in the keys of the big sub-databases an IPv4 host is stored
    as its 4 bytes and any other host as its 16 bytes: the key's length tells which
    (a v4-mapped address is always stored short, so every host has one key).  A host
    only ever ends a key, or is followed by fixed-width fields whose length is known,
    so the lengths never make two keys ambiguous; where a prefix scan by host is needed
    (annotations) the host is always 16 bytes.

    Days are u16 days since 1970-01-01 (UTC) in keys: SHARD_DAY_MAX is 2149-06-06; the
    store rejects later blocks as invalid.

    Sub-databases (named, opened once; see shard_store.c):

    meta      [name: ASCII, no NUL]                  -> counter or schema version
              "schema", "parts_applied", "late_parts", "old_parts", "last_block"
    parts     [block: 8][hash: 8]                    -> source NUL file
              hash = FNV-1a 64 of source NUL file; on a collision with another part the
              hash is incremented (linear probing), so ids are exact
    open      [block: 8]                             -> first arrival, sources delivered
    final     [block: 8]                             -> finalisation time, late parts
    rows      [block: 8][host: 4|16][port: 2]        -> open block values + peer set
    days      [day: 2][port: 2][host: 4|16]          -> daily sum/max/min of 4 features
                                                        (days under way: one row a record)
    chunks    [day: 2][port: 2][family: 1][host: 4|16] -> the rows of finished days, packed:
              family 4 (host: 4 bytes) or 6 (16); the host is the chunk's first row's, and
              a chunk covers the hosts up to the next chunk's key of the same
              (day, port, family).  Value (shard_chunk.h, STORAGE.md), <= 4,080 bytes:
                [hdr][varint n][row 1] .. [row n]
                row: [varint host delta << 1 | capped] (IPv6: [shared | capped << 7]
                     [16 - shared bytes]) [forms: 2 bits a feature] then per feature
                     ONE [v] | FLAT [min][sum-max] | PAIR [min][max-min]
                     | FULL [min][max-min][sum-max]
    series    [segment: 2][family: 1][host: 4|16]  -> every row of the host in the D days of
              the segment (day / D, D = meta "segment_days"), every port, packed
              series-major (shard_series.h, shard_segments.h, STORAGE.md)
    archive   [day: 2][port: 2][host: 4|16]          -> schema 1 only: finished days' rows,
                                                        one a record (shard_store_migrate)
    top       [day: 2][port: 2]                      -> the 12 top lists of (day, port)
    hosts     [host: 4|16]                           -> first/last seen, ports, days
    notes     [host: 16][type length: 1][type][name] -> first/last seen of a DNS name
    others    [day: 2][host: 4|16]                   -> the host's traffic that day to the
              ports not monitored: totals and its top SHARD_OTHERS_PORTS ports
              (shard_others.h); expired with its day

    Keyed by host (what a slot move must copy): hosts, notes, others, and the host part
    of days, chunks (rows of a chunk: by host range) and rows.

    The in direction (hosts as local destinations, proto_direction_t): the same layout
    and values under other names, reached by a transaction set to that direction
    (shard_txn_set_direction); keyed by host as their out twins, so a slot move copies
    them the same way:
    rows_in   [block: 8][host: 4|16][port: 2]        -> as rows
    days_in   [day: 2][port: 2][host: 4|16]          -> as days
    chunks_in [day: 2][port: 2][family: 1][host: 4|16] -> as chunks
    series_in [segment: 2][family: 1][host: 4|16]  -> as series
    top_in    [day: 2][port: 2]                      -> as top
    hosts_in  [host: 4|16]                           -> as hosts (annotations counted in
                                                        hosts only: they are per host)
    New sub-databases rather than a direction byte in every key: a store of schema 2
    written before them is read unchanged (its rows are the out direction; the *_in
    sub-databases are created empty on open), no migration, no key of the out direction
    changes, and the out direction's code paths and costs stay what they were.

    Slot moves (shard_slots.c) copy and delete the records of a set of slots' hosts:
    the daily rows (days, chunks) and open-block values (rows) row by row (and every
    open block's record: open), and every other host-keyed sub-database record by
    record, as SHARD_SLOTS_TABLE lists them.  A new sub-database keyed by host is one more line
   there (or it is not moved with its hosts).

    Values are described in shard_codec.h; each starts with a one-byte header
    (version in the high nibble, flags in the low one) checked before use.
*/
#ifndef SHARD_KEYS_H_INCLUDED
#define SHARD_KEYS_H_INCLUDED

#include "proto/proto_host.h"

#include <string.h>

#define SHARD_DAY_MAX 65535                     //  Last day a key can hold (u16)
#define SHARD_HOST_KEY_MAX PROTO_ADDR_SIZE      //  Longest host in a key
#define SHARD_KEY_BLOCK_SIZE 8                  //  open, final keys; prefix of parts, rows
#define SHARD_KEY_PART_SIZE 16                  //  parts key
#define SHARD_KEY_ROW_MAX (8 + 16 + 2)          //  rows key, IPv6 host
#define SHARD_KEY_DAY_MAX (2 + 2 + 16)          //  days key, IPv6 host
#define SHARD_KEY_TOP_SIZE 4                    //  top key; also the days prefix
#define SHARD_KEY_CHUNK_PREFIX 5                //  chunks key before the host
#define SHARD_KEY_CHUNK_MAX (5 + 16)            //  chunks key, IPv6 host
#define SHARD_KEY_FAMILY_IPV4 4                 //  chunks key family byte, 4-byte hosts
#define SHARD_KEY_FAMILY_IPV6 6                 //  chunks key family byte, 16-byte hosts
#define SHARD_KEY_NOTE_MAX (16 + 1 + 16 + 256)  //  notes key: rrtype <= 16, rrname <= 256
#define SHARD_KEY_OTHERS_MAX (2 + 16)           //  others key, IPv6 host
#define SHARD_KEY_SERIES_PREFIX 3               //  series key before the host
#define SHARD_KEY_SERIES_MAX (3 + 16)           //  series key, IPv6 host

//  The host-keyed sub-databases a slot move copies record by record:
//  X (sub-database, host offset in the key, host size (4: 4 or 16 by key size, 16: always
//  16), key bytes after the host (when the size is 4 or 16 by key size), per direction
//  (true: walked once a direction, the in direction reaching its *_in copy)).
#define SHARD_SLOTS_TABLE(X)                                                                       \
    X (SHARD_DB_HOSTS, 0, 4, 0, true)                                                              \
    X (SHARD_DB_NOTES, 0, 16, 0, false)                                                            \
    X (SHARD_DB_OTHERS, 2, 4, 0, false)

//  Big-endian integers
static inline void
shard_put16 (uint8_t *out, uint16_t value)
{
    out[0] = (uint8_t) (value >> 8);
    out[1] = (uint8_t) value;
}

static inline uint16_t
shard_get16 (const uint8_t *in)
{
    return (uint16_t) (in[0] << 8 | in[1]);
}

static inline void
shard_put64 (uint8_t *out, uint64_t value)
{
    for (int index = 7; index >= 0; index--, value >>= 8)
        out[index] = (uint8_t) value;
}

static inline uint64_t
shard_get64 (const uint8_t *in)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = value << 8 | in[index];
    return value;
}

//  Host: 4 bytes for an IPv4 host, else 16.  Returns the bytes written.
static inline size_t
shard_key_host (uint8_t *out, const proto_addr_t *addr)
{
    if (proto_addr_is_ipv4 (addr)) {
        memcpy (out, addr->bytes + 12, 4);
        return 4;
    }
    memcpy (out, addr->bytes, PROTO_ADDR_SIZE);
    return PROTO_ADDR_SIZE;
}

//  The host of size bytes at in (4 or 16).  Returns 0, or -1 for any other size.
static inline int
shard_key_host_parse (const uint8_t *in, size_t size, proto_addr_t *addr)
{
    if (size == 4) {
        memset (addr->bytes, 0, 10);
        addr->bytes[10] = addr->bytes[11] = 0xff;
        memcpy (addr->bytes + 12, in, 4);
        return 0;
    }
    if (size == PROTO_ADDR_SIZE) {
        memcpy (addr->bytes, in, PROTO_ADDR_SIZE);
        return 0;
    }
    return -1;
}

//  [block: 8]
static inline size_t
shard_key_block (uint8_t *out, int64_t block)
{
    shard_put64 (out, (uint64_t) block);
    return SHARD_KEY_BLOCK_SIZE;
}

//  [block: 8][hash: 8]
static inline size_t
shard_key_part (uint8_t *out, int64_t block, uint64_t hash)
{
    shard_put64 (out, (uint64_t) block);
    shard_put64 (out + 8, hash);
    return SHARD_KEY_PART_SIZE;
}

//  [block: 8][host: 4|16][port: 2]
static inline size_t
shard_key_row (uint8_t *out, int64_t block, const proto_addr_t *addr, uint16_t port)
{
    shard_put64 (out, (uint64_t) block);
    size_t size = 8 + shard_key_host (out + 8, addr);
    shard_put16 (out + size, port);
    return size + 2;
}

//  Parse a rows key.  Returns 0, or -1 if its size is not one a rows key has.
static inline int
shard_key_row_parse (const uint8_t *in, size_t size, int64_t *block, proto_addr_t *addr,
                     uint16_t *port)
{
    if (size != 8 + 4 + 2 && size != 8 + 16 + 2)
        return -1;
    *block = (int64_t) shard_get64 (in);
    *port = shard_get16 (in + size - 2);
    return shard_key_host_parse (in + 8, size - 10, addr);
}

//  [day: 2][port: 2]: a top key, and the prefix of the days rows of (day, port)
static inline size_t
shard_key_top (uint8_t *out, uint16_t day, uint16_t port)
{
    shard_put16 (out, day);
    shard_put16 (out + 2, port);
    return SHARD_KEY_TOP_SIZE;
}

//  [day: 2][port: 2][host: 4|16]
static inline size_t
shard_key_day (uint8_t *out, uint16_t day, uint16_t port, const proto_addr_t *addr)
{
    shard_key_top (out, day, port);
    return SHARD_KEY_TOP_SIZE + shard_key_host (out + SHARD_KEY_TOP_SIZE, addr);
}

//  Parse a days key.  Returns 0, or -1 if its size is not one a days key has.
static inline int
shard_key_day_parse (const uint8_t *in, size_t size, uint16_t *day, uint16_t *port,
                     proto_addr_t *addr)
{
    if (size != 4 + 4 && size != 4 + 16)
        return -1;
    *day = shard_get16 (in);
    *port = shard_get16 (in + 2);
    return shard_key_host_parse (in + 4, size - 4, addr);
}

//  [day: 2][port: 2][family: 1][host: 4|16]
static inline size_t
shard_key_chunk (uint8_t *out, uint16_t day, uint16_t port, const proto_addr_t *addr)
{
    shard_key_top (out, day, port);
    size_t size = shard_key_host (out + SHARD_KEY_CHUNK_PREFIX, addr);
    out[SHARD_KEY_TOP_SIZE] = size == 4 ? SHARD_KEY_FAMILY_IPV4 : SHARD_KEY_FAMILY_IPV6;
    return SHARD_KEY_CHUNK_PREFIX + size;
}

//  Parse a chunks key.  Returns 0, or -1 if its size and family do not match.
static inline int
shard_key_chunk_parse (const uint8_t *in, size_t size, uint16_t *day, uint16_t *port,
                       proto_addr_t *addr)
{
    if (!(size == SHARD_KEY_CHUNK_PREFIX + 4 && in[4] == SHARD_KEY_FAMILY_IPV4) &&
        !(size == SHARD_KEY_CHUNK_MAX && in[4] == SHARD_KEY_FAMILY_IPV6))
        return -1;
    *day = shard_get16 (in);
    *port = shard_get16 (in + 2);
    return shard_key_host_parse (in + SHARD_KEY_CHUNK_PREFIX, size - SHARD_KEY_CHUNK_PREFIX, addr);
}

//  [segment: 2][family: 1][host: 4|16]
static inline size_t
shard_key_series (uint8_t *out, uint16_t segment, const proto_addr_t *addr)
{
    shard_put16 (out, segment);
    size_t size = shard_key_host (out + SHARD_KEY_SERIES_PREFIX, addr);
    out[2] = size == 4 ? SHARD_KEY_FAMILY_IPV4 : SHARD_KEY_FAMILY_IPV6;
    return SHARD_KEY_SERIES_PREFIX + size;
}

//  Parse a series key.  Returns 0, or -1 if its size and family do not match.
static inline int
shard_key_series_parse (const uint8_t *in, size_t size, uint16_t *segment, proto_addr_t *addr)
{
    if (!(size == SHARD_KEY_SERIES_PREFIX + 4 && in[2] == SHARD_KEY_FAMILY_IPV4) &&
        !(size == SHARD_KEY_SERIES_MAX && in[2] == SHARD_KEY_FAMILY_IPV6))
        return -1;
    *segment = shard_get16 (in);
    return shard_key_host_parse (in + SHARD_KEY_SERIES_PREFIX, size - SHARD_KEY_SERIES_PREFIX,
                                 addr);
}

//  [day: 2][host: 4|16]
static inline size_t
shard_key_others (uint8_t *out, uint16_t day, const proto_addr_t *addr)
{
    shard_put16 (out, day);
    return 2 + shard_key_host (out + 2, addr);
}

//  [host: 16][type length: 1][type][name]; type and name lengths checked by the caller.
static inline size_t
shard_key_note (uint8_t *out, const proto_addr_t *addr, const char *rrtype, const char *rrname)
{
    size_t type_size = strlen (rrtype);
    size_t name_size = strlen (rrname);
    memcpy (out, addr->bytes, PROTO_ADDR_SIZE);
    out[PROTO_ADDR_SIZE] = (uint8_t) type_size;
    memcpy (out + PROTO_ADDR_SIZE + 1, rrtype, type_size);
    memcpy (out + PROTO_ADDR_SIZE + 1 + type_size, rrname, name_size);
    return PROTO_ADDR_SIZE + 1 + type_size + name_size;
}

#endif
