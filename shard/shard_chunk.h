/*  shard_chunk.h - the compact encoding of finished days: rows packed in chunks.

    A chunk is one value of the `chunks` sub-database (key in shard_keys.h:
    [day: 2][port: 2][family: 1][first host: 4|16]).  It holds the daily rows of up to a
    few hundred hosts of one (day, port, address family), hosts ascending, the first
    row's host being the key's.  A chunk covers the hosts from its key up to the next
    chunk's key of the same (day, port, family): that is the chunk a host's row is
    looked for in, and the invariant every write keeps.  Byte layout in STORAGE.md:

        chunk  [hdr][varint row count][skip]...[row]...
        skip   IPv4 chunks only, one for each row i = 32, 64, ... (i < count):
               [varint host of row i - 1 - first host][varint offset of row i from
               the first row]: a lookup starts at the last skip below its host
        row    IPv4: [varint (host - previous host) << 1 | capped]   (first row: delta 0)
               IPv6: [byte shared prefix with the previous host | capped << 7]
                     [the 16 - shared other bytes]                   (first row: 16)
               [form: 2 bits per feature, bytes in bits 0-1 ... peers in bits 6-7]
               per feature, by its form:
                 0 ONE   sum = max = min          [varint value]
                 1 FLAT  max = min < sum          [varint min][varint sum - max]
                 2 PAIR  sum = max + min          [varint min][varint max - min]
                 3 FULL  any other                [varint min][varint max - min]
                                                  [varint sum - max]

    A (host, port) seen in one block of a day is ONE in every feature (6 to 8 bytes
    with its host); in two blocks, PAIR (sum = max + min); a constant value per block
    (peers often) is FLAT.  The forms are read from the values alone, so the encoding
    needs no block count and stays exact for late parts (which break the identities,
    and get FULL).  capped is SHARD_ROW_PEERS_CAPPED.

    Size: a chunk is filled up to SHARD_CHUNK_BYTES, the payload of one 4 KiB LMDB
    overflow page (4096 - 16 bytes of page header), so a full chunk takes exactly one
    page, whatever its rows' sizes, and its leaf node only its key and a page number:
    the rows' bytes are nearly all that is on disk.  A lookup decodes the chunk up to
    the host (on average half of it, a microsecond or two).
*/
#ifndef SHARD_CHUNK_H_INCLUDED
#define SHARD_CHUNK_H_INCLUDED

#include "shard/shard_codec.h"

#define SHARD_CHUNK_BYTES 4080     //  Largest chunk written: one LMDB overflow page
#define SHARD_CHUNK_ROWS_MAX 1024  //  Rows a chunk may hold (decoder limit)
#define SHARD_CHUNK_SKIP_ROWS 32   //  Rows between skip entries (IPv4 chunks)
#define SHARD_CHUNK_SKIP_MAX 7     //  Longest skip entry: varints of 5 and 2 bytes
#define SHARD_CHUNK_ROW_MAX (PROTO_ADDR_SIZE + 2 + PROTO_FEATURE_COUNT * 3 * SHARD_VARINT_MAX)

//  A row with its host.
typedef struct {
    proto_addr_t addr;  //  Host
    shard_row_t row;    //  Its daily values
} shard_chunk_row_t;

//  Append the encoding of count rows (1 .. SHARD_CHUNK_ROWS_MAX, hosts strictly
//  ascending, all of one family: all IPv4 or all not) to out, which is reset first.
void shard_chunk_encode (const shard_chunk_row_t *rows, size_t count, shard_buffer_t *out);

//  Most bytes the header and skip entries of a chunk of count rows take.
size_t shard_chunk_overhead (size_t count);

//  Bytes row takes in a chunk after previous (NULL: the first row).
size_t shard_chunk_row_size (const proto_addr_t *previous, const shard_chunk_row_t *row);

//  Decode a chunk whose key host is first (family from it): into rows (room for
//  SHARD_CHUNK_ROWS_MAX).  Returns the row count, or -1 if malformed.
int shard_chunk_decode (const proto_addr_t *first, const void *data, size_t size,
                        shard_chunk_row_t *rows);

//  A chunk's rows read one at a time, each checked as shard_chunk_decode checks it: a
//  merge that takes a few rows from each of many chunks decodes only those.  Borrows
//  the chunk's bytes while it reads.
typedef struct {
    shard_reader_t reader;
    const uint8_t *body;    //  The first row
    proto_addr_t first;     //  The chunk's key host
    proto_addr_t previous;  //  Host of the last row read
    bool ipv4;
    int count, index;  //  Rows, the next row's index
    int skip_count;
    uint64_t skips[SHARD_CHUNK_ROWS_MAX / SHARD_CHUNK_SKIP_ROWS][2];
} shard_chunk_reader_t;

//  Open on a chunk whose key host is first: returns its row count, or -1 if malformed.
int shard_chunk_reader_open (shard_chunk_reader_t *self, const proto_addr_t *first,
                             const void *data, size_t size);
//  The next row: 0, 1 if none is left (every byte read), -1 if malformed.
int shard_chunk_reader_next (shard_chunk_reader_t *self, shard_chunk_row_t *row);
//  Pass the rows whose host is at most addr's (of the chunk's family), most of them by
//  the skip entries, without decoding their values: the next row read is the first
//  after addr.  0, or -1 if malformed.
int shard_chunk_reader_pass (shard_chunk_reader_t *self, const proto_addr_t *addr);

//  The row count in a chunk's header, or -1 if malformed.
int shard_chunk_count (const void *data, size_t size);

//  Look for addr's row in the chunk of key host first: 0 found (into row), 1 absent,
//  -1 malformed (as far as read).
int shard_chunk_find (const proto_addr_t *first, const void *data, size_t size,
                      const proto_addr_t *addr, shard_row_t *row);

//  Selftest
void shard_chunk_test (bool verbose);

#endif
