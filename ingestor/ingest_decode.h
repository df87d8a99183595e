/*  ingest_decode.h - the records of one decompressed nfcapd data block, decoded to flows.

    Runs on a reader's loader thread right after the block was decompressed (it is the
    block job's `process` function), so that decoding, like decompression, happens off
    the reader's own thread and on several blocks at once.  It walks the records
    (../shared/NFCAPD.md §3-4), decodes each V3 flow record into an ingest_flow_t, keeps
    the flows that pass the port filter and the flow filter, notes exporter records and
    counts the rest.  With a sink (ingest_reader_set_sink), the flows marked for it go
    to it in the block's turn (ingest_turn: blocks in file order) and are dropped.
    Every size is checked before the cursor moves: a record or element that does not
    fit fails the block with a message saying where.

    The record and element ids the reader and this module share are named here.
*/
#ifndef INGEST_DECODE_H_INCLUDED
#define INGEST_DECODE_H_INCLUDED

#include "ingestor/ingest_block.h"
#include "ingestor/ingest_reader.h"
#include "ingestor/ingest_turn.h"
#include "ingestor/ingest_v1.h"

//  Record types (NFCAPD.md §3)
#define INGEST_NF_RECORD_HEADER_SIZE 4
#define INGEST_NF_RECORD_EXPORTER_INFO 7
#define INGEST_NF_RECORD_V3 11
#define INGEST_NF_RECORD_IDENT 0x8001
#define INGEST_NF_RECORD_STAT 0x8002
#define INGEST_NF_EXPORTER_INFO_SIZE 32
#define INGEST_NF_STAT_RECORD_SIZE 144
#define INGEST_NF_BLOCK_TYPE_3 3

//  V3 record header and element ids with their payload sizes (NFCAPD.md §4)
#define INGEST_NF_V3_HEADER_SIZE 12
#define INGEST_NF_ELEMENT_HEADER_SIZE 4
#define INGEST_NF_EX_GENERIC 1
#define INGEST_NF_EX_GENERIC_SIZE 48
#define INGEST_NF_EX_IPV4 2
#define INGEST_NF_EX_IPV4_SIZE 8
#define INGEST_NF_EX_IPV6 3
#define INGEST_NF_EX_IPV6_SIZE 32
#define INGEST_NF_EX_CNT 5
#define INGEST_NF_EX_CNT_SIZE 24
#define INGEST_NF_EX_AS 7
#define INGEST_NF_EX_AS_SIZE 8

#define INGEST_DECODE_EXPORTERS 64  //  Distinct exporter ids a block reports

//  What decoding made of one block.  Lent to the loader thread with the block job (as
//  its arg); the reader reads it once the job is back.
typedef struct {
    ingest_flow_t *flows;                         //  Flows kept, in record order
    size_t count;                                 //  Entries used
    ingest_flow_t *sink_flows;                    //  Flows kept for sink, in record order
    size_t sink_count;                            //  Entries used
    size_t room;                                  //  Entries allocated in each array
    uint64_t flow_records;                        //  V3 flow records, kept or filtered out
    uint64_t skipped;                             //  Records (or the block) skipped
    uint16_t exporters[INGEST_DECODE_EXPORTERS];  //  Exporter sysids of the block
    size_t exporter_count;                        //  Entries used
    //  Set by the reader before the job starts; read-only on the loader thread
    const uint64_t *port_filter;    //  Ports kept (65536 bits), NULL for all
    ingest_flow_filter_fn *filter;  //  Flows kept among those, NULL for all
    void *filter_arg;               //  For filter
    ingest_v1_t *v1;                //  Hook: the file's V1 extension maps (lent), NULL for layout 2
    ingest_flow_sink_fn *sink;      //  Flows marked with sink_mark go there, not to flows
    void *sink_arg;                 //  For sink
    unsigned sink_mark;             //  Mark bits of the flows for sink
    ingest_turn_t *turn;            //  With sink: the job's index is its turn (file order)
    bool sunk;                      //  The block had its turn (set false before the job)
} ingest_decoded_t;

//  Decode the records of job (loaded, job->arg an ingest_decoded_t) into job->arg.  With
//  a turn, if the job's (its index) is current, have it (ingest_decode_sink; also when
//  decoding failed); else leave it for the reader.  0, or -1 with job->error set
//  (ingest_block_fn).
int ingest_decode_block (ingest_block_t *job);

//  Have the block's turn, which the caller has: hand the sink's flows (sink_flows, sorted
//  apart by the decoding) to the sink (if any and decoded is true), pass the turn on, set
//  sunk.
void ingest_decode_sink (ingest_decoded_t *out, uint32_t turn, bool decoded);

//  For the reader, once the job came back (or failed before it went): if the block did
//  not have its turn (out->sunk false, with a turn), have it now (ingest_decode_sink): its
//  turn is current, since every block before it was collected.
void ingest_decode_collected (ingest_decoded_t *out, uint32_t turn, bool decoded);

//  Free the flows array of decoded (the struct itself belongs to the caller).
void ingest_decode_free (ingest_decoded_t *decoded);

//  Selftest
void ingest_decode_test (bool verbose);

#endif
