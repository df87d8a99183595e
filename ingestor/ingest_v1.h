/*  ingest_v1.h - nfdump 1.6 files (LAYOUT_VERSION_1): header, stat record, V1 records.

    nfdump 1.6 writes the paper's format: a 140-byte file header, a 136-byte stat record,
    then data blocks of type 2 (same 12-byte block header and per-block codecs as 1.7:
    none, LZO, BZ2, LZ4; compression is a file-wide header flag).  Inside a block, flows
    are common records (type 10): a 32-byte fixed part, the addresses (IPv4 or IPv6) and
    the packet and byte counters (32 or 64 bits, by the record's flags), then the optional
    extensions listed by an extension map (type 2 records) that the record names by id.
    Maps are file-wide: a map registered in one block serves the records of later blocks,
    and a map id may be redefined.  See ../shared/NFCAPD.md §6.

    This module knows all of that and nothing of files, threads or buffers: the reader
    (ingest_reader.c) parses the header with ingest_v1_header_parse and hands each record
    of a type-2 block to ingest_v1_record, in file order.  An ingest_v1_t holds one file's
    extension maps; it belongs to whichever thread walks the blocks (the reader lends it
    to its loader thread with the block jobs, and resets it only while no job is out).

    Usage:
        ingest_v1_header_t header;
        if (ingest_v1_header_parse (&header, bytes, INGEST_V1_DATA_OFFSET, error, size)) ...
        ingest_v1_t *v1 = ingest_v1_new ();
        ...for each record of each type-2 block, in order:
        int rc = ingest_v1_record (v1, record, record_size, port_filter, &flow);
        ingest_v1_destroy (&v1);
*/
#ifndef INGEST_V1_H_INCLUDED
#define INGEST_V1_H_INCLUDED

#include "ingestor/ingest_reader.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_V1_LAYOUT 1          //  version field of the file header
#define INGEST_V1_HEADER_SIZE 140   //  fileHeaderV1_t
#define INGEST_V1_STAT_SIZE 136     //  stat_recordV1_t
#define INGEST_V1_DATA_OFFSET 276   //  First data block: header + stat record
#define INGEST_V1_BLOCK_TYPE 2      //  DATA_BLOCK_TYPE_2: records with headers
#define INGEST_V1_IDENT_SIZE 128    //  ident field of the header
#define INGEST_V1_RECORD_MAP 2      //  Extension map record
#define INGEST_V1_RECORD_COMMON 10  //  Common (flow) record
#define INGEST_V1_COMMON_SIZE 32    //  Fixed part of a common record
#define INGEST_V1_ERROR_MAX 200     //  Room for a record error

//  What the header and stat record of a V1 file say.
typedef struct {
    uint8_t compression;                   //  ingest_compression_t (never ZSTD)
    bool anonymized;                       //  Flag 0x2: written by nfanon
    uint32_t block_count;                  //  NumBlocks
    char ident[INGEST_V1_IDENT_SIZE + 1];  //  Ident string, NUL-terminated
    int64_t stat_flows;                    //  Stat record numflows
    int64_t stat_first_msecs;              //  First seen, msecs since the epoch, -1 if unset
    int64_t stat_last_msecs;               //  Last seen, msecs since the epoch, -1 if unset
} ingest_v1_header_t;

typedef struct _ingest_v1_t ingest_v1_t;

//  Parse the first INGEST_V1_DATA_OFFSET bytes of a file (header and stat record) into
//  *header.  size is the number of bytes given.  Returns 0, or -1 with a message in error
//  (no file name) if they are short, not layout 1, or the flags name no single codec.
int ingest_v1_header_parse (ingest_v1_header_t *header, const uint8_t *bytes, size_t size,
                            char *error, size_t error_size);

//  Create the extension map table of one file.  NULL if out of memory.
ingest_v1_t *ingest_v1_new (void);

//  Destroy it.  NULL-safe, nulls *self_p.
void ingest_v1_destroy (ingest_v1_t **self_p);

//  Forget every map and count (call at each file open).
void ingest_v1_reset (ingest_v1_t *self);

//  True for the record types ingest_v1_record handles (maps and common records).
bool ingest_v1_handles (uint16_t type);

//  One record of a type-2 block: record points at its header, record_size bytes long
//  (the header's size field, checked by the caller to fit the block and to be >= 4).
//  A map record registers its map (replacing one of the same id) and returns 3.  A
//  common record returns 1 with *flow filled, 2 if its destination port has no bit in
//  port_filter (NULL: keep all), 0 if it names a map not (or not usably) registered,
//  which nfdump skips too.  Returns -1 if the record is corrupt (see ingest_v1_error).
int ingest_v1_record (ingest_v1_t *self, const uint8_t *record, size_t record_size,
                      const uint64_t *port_filter, ingest_flow_t *flow);

//  What the last -1 was about (borrowed until the next call).
const char *ingest_v1_error (ingest_v1_t *self);

//  Maps registered and records skipped for a missing or unusable map, since the reset.
uint32_t ingest_v1_map_count (ingest_v1_t *self);
uint64_t ingest_v1_skipped (ingest_v1_t *self);

//  Selftest
void ingest_v1_test (bool verbose);

#endif
