/*  ingest_file.h - one nfcapd file to one block aggregate.

    Ties the reader, the matcher and the aggregation together: the block time comes from
    the file name (nfcapd.YYYYMMDDhhmm, in nfcapd's local time: the process's TZ, which
    the ingestor's main sets from --tz; for another name, from the file's own times or
    the caller's choice), every flow of the file belongs to that block, and
    matched flows are added to the aggregate.  A file that fails half-way leaves the
    caller's aggregate untouched: flows are collected in a scratch aggregate that is merged
    (or swapped in) only once the whole file was read.  With an anonymiser, the source and
    destination addresses of matched flows are replaced by their pseudonyms before they
    are aggregated (the matcher sees the real addresses).  Flows of local sources to
    the other ports go to the aggregate's others (ingest_others.h) unless the matcher
    says not to (ingest_match_set_others); the reader adds them block by block in file
    order (ingest_reader_set_sink), on its loader threads when it can, while this thread
    aggregates the matched flows (with an anonymiser, which one thread only may use,
    this thread adds them itself; the result is the same either way).  A flow that counts in the in
   direction (ingest_match_directions) goes to the aggregate's incoming one, keyed by its
    destination with its source as the peer.
*/
#ifndef INGEST_FILE_H_INCLUDED
#define INGEST_FILE_H_INCLUDED

#include "ingestor/ingest_agg.h"
#include "ingestor/ingest_anon.h"
#include "ingestor/ingest_match.h"
#include "ingestor/ingest_reader.h"

#include <time.h>

typedef struct _ingest_file_t ingest_file_t;

//  What one file held.
typedef struct {
    int64_t block;             //  Block start, seconds since the epoch (UTC)
    uint64_t flows;            //  Flow records read
    uint64_t matched;          //  Flows that counted (out direction)
    uint64_t matched_in;       //  Flows that counted in the in direction
    uint64_t others;           //  Flows of local sources to ports not monitored
    uint64_t pairs;            //  (source, port) pairs in this file alone
    uint64_t pairs_in;         //  (destination, port) pairs of the in direction
    int64_t stat_flows;        //  Flow count of the appendix stat record, -1 if none
    uint32_t exporters;        //  Exporter records in the file
    const char *compression;   //  "none", "lzo", "bz2", "lz4", "zstd" (static)
    const char *block_source;  //  Where block came from: "name", "option", "header", "stat"
    uint32_t data_blocks;      //  Data blocks in the file (those skipped included)
    uint64_t file_size;        //  Bytes in the file when it was opened
} ingest_file_stats_t;

//  Create with the matcher to apply (borrowed: must outlive the object).
ingest_file_t *ingest_file_new (ingest_match_t *match);
void ingest_file_destroy (ingest_file_t **self_p);

//  Anonymise the addresses of matched flows with anon (borrowed: must outlive the object;
//  NULL, the default, keeps the real addresses).
void ingest_file_set_anon (ingest_file_t *self, ingest_anon_t *anon);

//  Skip the first blocks data blocks of the files read from now on: their flows were
//  delivered before nfcapd appended to the file (ingest_reader_set_skip_blocks).  0, the
//  default, reads every block.
void ingest_file_set_skip_blocks (ingest_file_t *self, uint32_t blocks);

//  The block start of an nfcapd file from its name (any directory; nfcapd.YYYYMMDDhhmm),
//  read in the process's local time zone.  0 with *block set, -1 if the name is not one.
int ingest_file_block_time (const char *path, int64_t *block);

#define INGEST_FILE_BLOCK_SECS 300  //  nfcapd's interval: blocks start at multiples of it

//  A block time given by a person: YYYYMMDDhhmm in the process's local time zone (as in a
//  file name) or YYYY-MM-DDThh:mmZ in UTC, on a multiple of INGEST_FILE_BLOCK_SECS.
//  0 with *block set, -1 if text is neither or not on a block boundary.
int ingest_file_parse_block_time (const char *text, int64_t *block);

//  The block of a file whose name does not tell it, from the file's own times: the
//  header's creation time (nfcapd creates a file as its interval starts) floored to the
//  interval, unless the flows disagree with it (a copy written later, e.g. by nfdump -w),
//  then the appendix stat record's last seen floored (flows are filed after they end).
//  created in seconds (0: none), first/last in msecs (-1: none).  Returns "header" or
//  "stat" with *block set, or NULL if the file holds neither.
const char *ingest_file_block_from_times (int64_t created, int64_t first_msecs, int64_t last_msecs,
                                          int64_t *block);

//  Read path whole.  On success, adds its matched flows to *agg_p (if *agg_p is NULL the
//  file's own aggregate is handed over in it, which costs no merge), fills *stats and
//  returns 0.  On failure returns -1, leaves *agg_p as it was and sets ingest_file_error.
//  block overrides the time from the name when >= 0; when it is -1 and the name is not
//  nfcapd.YYYYMMDDhhmm, the block comes from the file's own times (see above), and
//  stats->block_source says which was used.
int ingest_file_read (ingest_file_t *self, const char *path, int64_t block, ingest_agg_t **agg_p,
                      ingest_file_stats_t *stats);

//  What went wrong in the last failed read, naming the file (borrowed).
const char *ingest_file_error (ingest_file_t *self);

//  Selftest
void ingest_file_test (bool verbose);

#endif
