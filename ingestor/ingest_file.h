/*  ingest_file.h - one nfcapd file to one block aggregate.

    Ties the reader, the matcher and the aggregation together: the block time comes from
    the file name (nfcapd.YYYYMMDDhhmm, in nfcapd's local time: the process's TZ, which
    the ingestor's main sets from --tz), every flow of the file belongs to that block, and
    matched flows are added to the aggregate.  A file that fails half-way leaves the
    caller's aggregate untouched: flows are collected in a scratch aggregate that is merged
    (or swapped in) only once the whole file was read.
*/
#ifndef INGEST_FILE_H_INCLUDED
#define INGEST_FILE_H_INCLUDED

#include "ingestor/ingest_agg.h"
#include "ingestor/ingest_match.h"
#include "ingestor/ingest_reader.h"

#include <time.h>

typedef struct _ingest_file_t ingest_file_t;

//  What one file held.
typedef struct {
    int64_t block;            //  Block start, seconds since the epoch (UTC)
    uint64_t flows;           //  Flow records read
    uint64_t matched;         //  Flows that counted
    uint64_t pairs;           //  (source, port) pairs in this file alone
    int64_t stat_flows;       //  Flow count of the appendix stat record, -1 if none
    uint32_t exporters;       //  Exporter records in the file
    const char *compression;  //  "none", "lzo", "bz2", "lz4", "zstd" (static)
} ingest_file_stats_t;

//  Create with the matcher to apply (borrowed: must outlive the object).
ingest_file_t *ingest_file_new (ingest_match_t *match);
void ingest_file_destroy (ingest_file_t **self_p);

//  The block start of an nfcapd file from its name (any directory; nfcapd.YYYYMMDDhhmm),
//  read in the process's local time zone.  0 with *block set, -1 if the name is not one.
int ingest_file_block_time (const char *path, int64_t *block);

//  Read path whole.  On success, adds its matched flows to *agg_p (if *agg_p is NULL the
//  file's own aggregate is handed over in it, which costs no merge), fills *stats and
//  returns 0.  On failure returns -1, leaves *agg_p as it was and sets ingest_file_error.
//  block overrides the time from the name when >= 0.
int ingest_file_read (ingest_file_t *self, const char *path, int64_t block, ingest_agg_t **agg_p,
                      ingest_file_stats_t *stats);

//  What went wrong in the last failed read, naming the file (borrowed).
const char *ingest_file_error (ingest_file_t *self);

//  Selftest
void ingest_file_test (bool verbose);

#endif
