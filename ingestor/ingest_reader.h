/*  ingest_reader.h - reads nfdump's nfcapd files (layout version 2, nfdump 1.7.x).

    The only code in portevo that knows the nfcapd format (../shared/NFCAPD.md).  It streams
    a file one data block at a time (memory is bounded by six block slots, whatever the
    file size), decompresses it with the file's codec (none, LZO, BZ2, LZ4, ZSTD), walks the
    V3 flow records and hands them out one by one, or a block's worth at a time, as
    ingest_flow_t.  Two loader threads (zactors) read, decompress and decode blocks ahead
    of the caller, each its own blocks; the caller gets them in file order, or a sink gets
    some of them, also in file order (on the loaders when it can).  Exporter records are
    remembered, the appendix (ident, stat record) is read for sanity checks, unknown record
    and element types are skipped and counted.  Layout version 1 files (nfdump 1.6) are read
    too, through ingest_v1 (hooks marked "Hook" in ingest_reader.c).  Layout version 3,
    encrypted and foreign-endian files are refused with a message that says so.  Every length is
   checked before the cursor moves: a corrupt file gives -1 and a message, never a crash.

    Usage:
        ingest_reader_t *reader = ingest_reader_new ();
        if (ingest_reader_open (reader, path) == 0) {
            ingest_flow_t flow;
            int rc;
            while ((rc = ingest_reader_next (reader, &flow)) == 1)
                ...;
            if (rc == -1)
                ... ingest_reader_error (reader) ...
        }
        ingest_reader_destroy (&reader);
*/
#ifndef INGEST_READER_H_INCLUDED
#define INGEST_READER_H_INCLUDED

#include "proto/proto_host.h"

#include <stdbool.h>
#include <stdint.h>

#define INGEST_READER_BUFFSIZE (5 * 1024 * 1024)  //  Largest block nfdump reads or writes
#define INGEST_READER_ERROR_MAX 640               //  Room for an error message

typedef struct _ingest_reader_t ingest_reader_t;

//  One flow, as the aggregation needs it.  Counters already include nfcapd's sampling
//  scale (nfcapd applies it at collection time) and the reverse direction of bidirectional
//  flows (EXcntFlow out counters are added in).
typedef struct {
    proto_addr_t src;     //  Source address (v4-mapped for IPv4)
    proto_addr_t dst;     //  Destination address
    uint64_t msec_first;  //  Flow start, msecs since the epoch (UTC)
    uint64_t msec_last;   //  Flow end, msecs since the epoch (UTC)
    uint64_t packets;     //  inPackets + outPackets
    uint64_t bytes;       //  inBytes + outBytes
    uint32_t src_as;      //  Source AS, 0 if the exporter sent none
    uint32_t dst_as;      //  Destination AS, 0 if the exporter sent none
    uint16_t src_port;    //  Source port
    uint16_t dst_port;    //  Destination port (ICMP: type << 8 | code)
    uint16_t exporter;    //  exporterID of the record (sysid of an exporter record)
    uint8_t protocol;     //  IP protocol number
    uint8_t flags;        //  V3 record flags (2 = sampled)
    uint8_t mark;         //  What the reader's flow filter returned for it (0 without one)
} ingest_flow_t;

//  A flow filter: 0 drops the flow; any other value (< 256) hands it out with that value
//  in its mark, so that what the filter learned is not computed again.  It runs on the
//  reader's loader threads, several at once: it must only read arg.
typedef unsigned (ingest_flow_filter_fn) (void *arg, const ingest_flow_t *flow);

//  A flow sink: gets the flows of one block that the flow filter marked with a bit of the
//  sink's mark (count of them, in record order; the decoder sorts them apart from those
//  handed out), on a loader thread or the reader's.
typedef void (ingest_flow_sink_fn) (void *arg, const ingest_flow_t *flows, size_t count);

//  Compression types of the file header.
typedef enum {
    INGEST_COMPRESS_NONE = 0,
    INGEST_COMPRESS_LZO = 1,
    INGEST_COMPRESS_BZ2 = 2,
    INGEST_COMPRESS_LZ4 = 3,
    INGEST_COMPRESS_ZSTD = 4
} ingest_compression_t;

//  Create a reader; it can open several files one after the other.
ingest_reader_t *ingest_reader_new (void);

//  Destroy a reader (closes any open file).  NULL-safe, nulls *self_p.
void ingest_reader_destroy (ingest_reader_t **self_p);

//  Open a file and check its header and appendix.  Returns 0, or -1 with
//  ingest_reader_error set (no such file, not an nfcapd file, unsupported layout...).
int ingest_reader_open (ingest_reader_t *self, const char *path);

//  Same, on an open descriptor that the reader does not close (used by the fuzzer with a
//  memfd).  name is used in messages only.
int ingest_reader_open_fd (ingest_reader_t *self, int fd, const char *name);

//  Hand out only flows whose destination port has its bit set in ports (65536 bits, as
//  ingest_match_port_bitmap gives; copied); the others are counted in flows_read but
//  skipped before their addresses are decoded.  NULL (the default) hands out every flow.
//  Set it before ingest_reader_open.
void ingest_reader_set_port_filter (ingest_reader_t *self, const uint64_t *ports);

//  Among the flows the port filter keeps, hand out only those for which filter (arg, flow)
//  is true; the others are counted in flows_read too.  arg must stay unchanged and alive
//  while a file is open.  NULL (the default) hands out every flow.  Set it before
//  ingest_reader_open.
void ingest_reader_set_flow_filter (ingest_reader_t *self, ingest_flow_filter_fn *filter,
                                    void *arg);

//  Flows whose mark (what the flow filter returned) has a bit of mark are not handed
//  out: each block's go to sink (arg, flows, count) instead, block after block
//  in file order and one call at a time (ingest_turn), so that sink may own what arg
//  points to: on the block's loader thread if the block before it is through by then,
//  else on the caller's, in ingest_reader_next or _next_batch as they reach the block
//  (nobody waits).  arg belongs to the reader from ingest_reader_open until
//  ingest_reader_next or _next_batch gives 0 (every block done) or the file is closed.  Blocks
//  skipped (ingest_reader_set_skip_blocks) or failed do not go to sink. NULL (the default): none.
//  Set it before ingest_reader_open.
void ingest_reader_set_sink (ingest_reader_t *self, unsigned mark, ingest_flow_sink_fn *sink,
                             void *arg);

//  Read the first blocks data blocks of each file opened from now on (so that a bad one
//  still fails the read) but hand out none of their flows, nor count them in flows_read
//  or the exporters: they were delivered before the file grew (nfcapd appends to a file
//  that exists when it rotates).  0, the default, hands out every block.  Set it before
//  ingest_reader_open.
void ingest_reader_set_skip_blocks (ingest_reader_t *self, uint32_t blocks);

//  The next flows at once (those of one block, or what ingest_reader_next left of them):
//  1 with *flows pointing to *count >= 1 flows, borrowed until the next call on the reader;
//  0 at the clean end of the file; -1 as ingest_reader_next.  Mixes with ingest_reader_next.
int ingest_reader_next_batch (ingest_reader_t *self, const ingest_flow_t **flows, size_t *count);

//  Next flow record.  Returns 1 with *flow filled, 0 at the clean end of the file (all
//  blocks read), -1 on a corrupt or truncated file (see ingest_reader_error).
int ingest_reader_next (ingest_reader_t *self, ingest_flow_t *flow);

//  Close the current file (also done by open and destroy).
void ingest_reader_close (ingest_reader_t *self);

//  What went wrong, "file: what" (borrowed until the next call on the reader).
const char *ingest_reader_error (ingest_reader_t *self);

//  Facts about the open file.  flows_read counts flow records (V3, or V1 common records)
//  read so far, port-filtered ones included; stat_flows is the stat record's flow count
//  (the appendix's, or a layout 1 file's), -1 if the file had none; ident is the ident
//  string ("" if none), borrowed until close.
ingest_compression_t ingest_reader_compression (ingest_reader_t *self);
const char *ingest_reader_compression_name (ingest_reader_t *self);
uint64_t ingest_reader_flows_read (ingest_reader_t *self);
int64_t ingest_reader_stat_flows (ingest_reader_t *self);
const char *ingest_reader_ident (ingest_reader_t *self);
//  The appendix stat record's first and last seen (msecs since the epoch, -1 if the file
//  has none or they are unset), and the header's creation time (seconds, 0 if unset).
int64_t ingest_reader_stat_first_msecs (ingest_reader_t *self);
int64_t ingest_reader_stat_last_msecs (ingest_reader_t *self);
int64_t ingest_reader_created (ingest_reader_t *self);
uint32_t ingest_reader_block_count (ingest_reader_t *self);
uint64_t ingest_reader_file_size (ingest_reader_t *self);  //  Bytes, as of the open
uint32_t ingest_reader_exporter_count (ingest_reader_t *self);
uint64_t ingest_reader_skipped_records (ingest_reader_t *self);

//  Selftest
void ingest_reader_test (bool verbose);

#endif
