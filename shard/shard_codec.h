/*  shard_codec.h - the values of a shard store: compact encodings and their checks.

    Every value starts with one header byte: the format version in the high nibble
    (SHARD_VALUE_VERSION) and four flag bits in the low one; decoders check it before
    reading anything else and read exactly the value's bytes, so a value of another
    version or a truncated or overlong one is rejected, never cast.  Integers are LEB128
    varints (7 bits a byte, least significant first, at most 10 bytes), signed times
    zigzag-encoded; counters in meta are fixed 8-byte big-endian.

    days row   [hdr: flags PEERS_CAPPED][per feature bytes, packets, durations, peers:
                varint min, varint max - min, varint sum - max]
               (min <= max <= sum always holds; a host seen in one block, the common
               case, has both differences 0 and costs 3 bytes a feature or less)
    hosts      [hdr: flags TRAFFIC][varint first_seen][varint last_seen - first_seen]
               [varint annotations][varint port count][ports: first, then deltas]
               [varint days base / 8][varint bitmap bytes][bitmap: bit i of byte j is
               day base + 8 j + i]
    open       [hdr][varint first arrival][varint source count][per source: varint
               length, bytes]
    final      [hdr][varint finalisation time][varint late parts]
    rows       [hdr: flags SKETCH][varint bytes][varint packets][varint durations]
               [peers: n sorted 16-byte addresses, or PROTO_SKETCH_REGISTERS bytes]
    parts      [hdr][source][NUL][file]
    notes      [hdr][zigzag varint first_seen][zigzag varint last_seen]
    meta       [hdr][u64 big-endian]
    top        see shard_top.h
*/
#ifndef SHARD_CODEC_H_INCLUDED
#define SHARD_CODEC_H_INCLUDED

#include "proto/proto_host.h"

#define SHARD_VALUE_VERSION 1  //  High nibble of every value's header byte
#define SHARD_VARINT_MAX 10    //  Longest varint of a u64
#define SHARD_ROW_MAX (1 + PROTO_FEATURE_COUNT * PROTO_OP_COUNT * SHARD_VARINT_MAX)
#define SHARD_ROW_PEERS_CAPPED 0x01  //  days row: a block's peers reached PROTO_PEERS_CAP
#define SHARD_HOST_TRAFFIC 0x01      //  hosts: first/last seen, ports and days are set
#define SHARD_HOST_PORTS_MAX 65536   //  Ports a host record can list
#define SHARD_HOST_DAYS_MAX 4096     //  Days a host's activity bitmap spans (11 years)
#define SHARD_OPEN_SKETCH 0x01       //  rows: peers is a sketch, not an exact set
#define SHARD_SOURCES_MAX 64         //  Sources remembered per open block
#define SHARD_SOURCE_MAX 64          //  Longest source name (PROTO_NAME_MAX)
#define SHARD_META_SIZE 9            //  meta value: header + u64

//  A growable byte buffer for encoding (grows by doubling; asserts on out-of-memory).
typedef struct {
    uint8_t *data;    //  Bytes, owned
    size_t size;      //  Bytes used
    size_t capacity;  //  Bytes allocated
} shard_buffer_t;

void shard_buffer_reset (shard_buffer_t *self);  //  size 0, memory kept
void shard_buffer_free (shard_buffer_t *self);   //  frees, leaves an empty buffer
void shard_buffer_append (shard_buffer_t *self, const void *data, size_t size);
void shard_buffer_byte (shard_buffer_t *self, uint8_t byte);
void shard_buffer_varint (shard_buffer_t *self, uint64_t value);
void shard_buffer_header (shard_buffer_t *self, uint8_t flags);  //  version | flags

//  A bounds-checked reader: any read past the end sets bad and returns zeros.
typedef struct {
    const uint8_t *data;  //  Next byte
    const uint8_t *end;   //  One past the last byte
    bool bad;             //  A read failed
} shard_reader_t;

void shard_reader_init (shard_reader_t *self, const void *data, size_t size);
uint8_t shard_reader_byte (shard_reader_t *self);
uint64_t shard_reader_varint (shard_reader_t *self);
const uint8_t *shard_reader_bytes (shard_reader_t *self, size_t size);  //  NULL if short
//  Reads the header byte: its flags, or -1 (and bad) if the version is not ours.
int shard_reader_header (shard_reader_t *self);
//  True if nothing failed and every byte was read.
bool shard_reader_done (shard_reader_t *self);

//  Varints in place: write into out (>= SHARD_VARINT_MAX bytes), returns bytes written.
size_t shard_varint_put (uint8_t *out, uint64_t value);
uint64_t shard_zigzag (int64_t value);
int64_t shard_unzigzag (uint64_t value);

//  Adding without wrapping: sums saturate at UINT64_MAX.
uint64_t shard_add (uint64_t a, uint64_t b);

//  A daily row: value[feature][op] over the blocks a (host, port) appeared in that day.
typedef struct {
    uint64_t value[PROTO_FEATURE_COUNT][PROTO_OP_COUNT];  //  [proto_feature_t][proto_op_t]
    uint8_t flags;                                        //  SHARD_ROW_*
} shard_row_t;

//  The row of a first block: sum = max = min = the block's values.
void shard_row_start (shard_row_t *self, const proto_values_t *block);
//  Fold one more block in: sums add (saturating), max and min widen.  A late part
//  (its block already final) adds to the sums and raises max, and leaves min alone:
//  its values are only a piece of a block value that was already folded.
void shard_row_fold (shard_row_t *self, const proto_values_t *block, bool late);
size_t shard_row_encode (const shard_row_t *self, uint8_t *out);          //  out >= SHARD_ROW_MAX
int shard_row_decode (shard_row_t *self, const void *data, size_t size);  //  0 or -1

//  A host record; build with shard_host_new (the port list is large).
typedef struct {
    uint8_t flags;                          //  SHARD_HOST_*
    int64_t first_seen;                     //  Earliest block seen, secs
    int64_t last_seen;                      //  Latest block seen, secs
    uint64_t annotations;                   //  Passive-DNS entries stored
    size_t port_count;                      //  Entries used in ports
    uint32_t days_base;                     //  Day of bit 0 of days (a multiple of 8)
    size_t days_size;                       //  Bytes used in days
    uint16_t ports[SHARD_HOST_PORTS_MAX];   //  Ports seen on, ascending
    uint8_t days[SHARD_HOST_DAYS_MAX / 8];  //  Days active, bitmap from days_base
} shard_host_t;

shard_host_t *shard_host_new (void);
void shard_host_destroy (shard_host_t **self_p);
void shard_host_clear (shard_host_t *self);  //  an unknown host
//  Record traffic in block (secs) on port; days before cutoff_day are dropped from the
//  bitmap, and a day further back than the bitmap spans is not recorded.
void shard_host_seen (shard_host_t *self, int64_t block, uint16_t port, uint32_t cutoff_day);
bool shard_host_has_day (const shard_host_t *self, uint32_t day);
bool shard_host_has_port (const shard_host_t *self, uint16_t port);
void shard_host_encode (const shard_host_t *self, shard_buffer_t *out);
int shard_host_decode (shard_host_t *self, const void *data, size_t size);  //  0 or -1

//  An open block: when its first part arrived and which sources delivered it.
typedef struct {
    int64_t first_arrival;                                  //  Secs (wall clock)
    size_t source_count;                                    //  Entries used
    char sources[SHARD_SOURCES_MAX][SHARD_SOURCE_MAX + 1];  //  Names, NUL-terminated
} shard_open_t;

bool shard_open_has (const shard_open_t *self, const char *source);
void shard_open_add (shard_open_t *self, const char *source);  //  no-op if full or known
void shard_open_encode (const shard_open_t *self, shard_buffer_t *out);
int shard_open_decode (shard_open_t *self, const void *data, size_t size);

//  A final block.
typedef struct {
    int64_t finalised;    //  Secs (wall clock)
    uint64_t late_parts;  //  Parts applied after finalisation
} shard_final_t;

void shard_final_encode (const shard_final_t *self, shard_buffer_t *out);
int shard_final_decode (shard_final_t *self, const void *data, size_t size);

//  An open row: the merged values of one (block, host, port) so far.  peers is borrowed
//  from the decoded bytes.
typedef struct {
    uint64_t bytes;        //  Sum of bytes
    uint64_t packets;      //  Sum of packets
    uint64_t durations;    //  Sum of durations, msecs
    bool sketch;           //  peers is a sketch
    const uint8_t *peers;  //  Sorted 16-byte addresses, or PROTO_SKETCH_REGISTERS bytes
    size_t peers_size;     //  Bytes at peers
} shard_open_row_t;

void shard_open_row_encode (const shard_open_row_t *self, shard_buffer_t *out);
int shard_open_row_decode (shard_open_row_t *self, const void *data, size_t size);

//  The distinct peers of a peer set: the exact count, or the sketch's estimate but never
//  below PROTO_PEERS_CAP + 1 (a sketch exists only past the cap).
uint64_t shard_peers_count (bool sketch, const uint8_t *peers, size_t peers_size);

//  The block values of merged counters and a peer count (flag PEERS_CAPPED from the cap).
void shard_block_values (proto_values_t *self, uint64_t bytes, uint64_t packets, uint64_t durations,
                         uint64_t peers);

//  A part id's value: source NUL file.  matches: the value names this part.
void shard_part_encode (const char *source, const char *file, shard_buffer_t *out);
bool shard_part_matches (const void *data, size_t size, const char *source, const char *file);
uint64_t shard_part_hash (const char *source, const char *file);

//  An annotation's first and last seen.
void shard_note_encode (int64_t first_seen, int64_t last_seen, shard_buffer_t *out);
int shard_note_decode (const void *data, size_t size, int64_t *first_seen, int64_t *last_seen);

//  A meta counter.
void shard_meta_encode (uint64_t value, uint8_t *out);  //  out >= SHARD_META_SIZE
int shard_meta_decode (const void *data, size_t size, uint64_t *value);

//  Selftest
void shard_codec_test (bool verbose);

#endif
