/*  shard_pack.h - a page of the series tier: records of consecutive hosts in one value.

    One LMDB record per (segment, host) costs its key, node and index (about 18 bytes,
    0.9 B a row at 16 days a segment) and, over 2 KB, an overflow page of its own only
    half full.  So the series tier packs the records (shard_series.h) of consecutive
    hosts of a segment into values of at most a page's payload, as chunks pack a day's
    rows (STORAGE.md), keyed by the first host: [segment][family][first host].  A record
    larger than a page is a value of its own.  This module is the pure codec:

        pack    [hdr: version | PACK | IPV6 if its hosts are][varint record count n >= 1]
                n entries, hosts strictly ascending:
        entry   host  first entry: the host, 4 or 16 bytes; then IPv4: [varint host -
                      previous host], IPv6: [shared prefix length with the previous host,
                      0 .. 15][the 16 - shared bytes after it]
                [varint record size >= 1][the record]

    A value whose header has no PACK flag is one record of the key's host (a store
    compacted before packs: schema 3): read as a pack of one entry, never written.
    Readers check every length, the order of the hosts, the first against the key's, and
    the exact size: a malformed value gives -1.
*/
#ifndef SHARD_PACK_H_INCLUDED
#define SHARD_PACK_H_INCLUDED

#include "shard/shard_codec.h"

#define SHARD_PACK_PAYLOAD 4080  //  Bytes of a pack that fill one 4 KiB overflow page
#define SHARD_PACK_FLAG 0x08     //  Header flag: a pack (else one bare record)
#define SHARD_PACK_IPV6 0x04     //  Header flag: its hosts are IPv6

//  A record of a pack.
typedef struct {
    proto_addr_t addr;      //  Its host
    const uint8_t *record;  //  Its bytes, in the value read
    size_t size;
} shard_pack_entry_t;

//  Reading a pack, record after record.
typedef struct {
    shard_reader_t reader;
    size_t left;        //  Records not read yet
    bool ipv6;          //  Its hosts are IPv6
    bool first;         //  The next entry is the first
    proto_addr_t addr;  //  The host of the last entry read
    proto_addr_t key;   //  The host of its key: the first entry's (if has_key)
    bool has_key;
    const uint8_t *whole;  //  A bare record: the value itself
    size_t whole_size;
} shard_pack_iter_t;

//  Start reading value (data, size); key_addr, the host of its key, is the host of a
//  bare record and must be a pack's first (NULL: not checked, count only).  0 or -1 if
//  malformed.
int shard_pack_open (shard_pack_iter_t *self, const proto_addr_t *key_addr, const void *data,
                     size_t size);

//  The next record: 0 read into entry, 1 no more (and every byte was read), -1 malformed.
int shard_pack_next (shard_pack_iter_t *self, shard_pack_entry_t *entry);

//  The record of addr: 0 found, 1 absent, -1 malformed (as far as read).
int shard_pack_find (const proto_addr_t *key_addr, const void *data, size_t size,
                     const proto_addr_t *addr, shard_pack_entry_t *entry);

//  The rows of all its records, or -1 if malformed.
int shard_pack_rows (const void *data, size_t size);

//  Building a pack: add records in ascending host order, one family.
typedef struct {
    shard_buffer_t body;  //  The entries
    size_t count;         //  Records added
    proto_addr_t last;    //  The last host added
    bool ipv6;
} shard_pack_builder_t;

void shard_pack_builder_reset (shard_pack_builder_t *self);  //  Empty, memory kept
void shard_pack_builder_free (shard_pack_builder_t *self);

//  The bytes the pack would have with a record of size for addr added.
size_t shard_pack_builder_size_with (const shard_pack_builder_t *self, const proto_addr_t *addr,
                                     size_t size);

//  Add the record of addr (after the last host added, same family).
void shard_pack_builder_add (shard_pack_builder_t *self, const proto_addr_t *addr,
                             const void *record, size_t size);

//  The pack, into out (reset first).  At least one record must have been added.
void shard_pack_builder_finish (const shard_pack_builder_t *self, shard_buffer_t *out);

//  Selftest
void shard_pack_test (bool verbose);

#endif
