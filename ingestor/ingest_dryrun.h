/*  ingest_dryrun.h - `portevo-ingest --dry-run`: read files, print what would be delivered.

    Reads each file whole (ingest_file), groups the files by block (the parts of several
    exporters merge: counters add, peer sets unite), prints one summary line per file and,
    with json, one JSON object per (block, source, port) once all files are read, sorted by
    block, address and port; with others (--others-json), after each block's pairs, one
    JSON object per (block, source) of its traffic to the ports not monitored, sorted by
    address: {"block","ip","bytes","packets","flows","truncated","ports":[[port, bytes,
    packets, flows], ...]} (ingest_others_at: at most 16 ports, most bytes first).  A file that
   fails is reported (naming it and what is wrong) and contributes nothing; the others carry on.
*/
#ifndef INGEST_DRYRUN_H_INCLUDED
#define INGEST_DRYRUN_H_INCLUDED

#include "ingestor/ingest_anon.h"
#include "ingestor/ingest_match.h"

#include <stdio.h>

#define INGEST_DRYRUN_PAIRS 1   //  json: the pairs' lines (--json)
#define INGEST_DRYRUN_OTHERS 2  //  json: the other ports' lines (--others-json)

//  Run over files[0..count).  Summaries go to summary_out, JSON lines (json: the bits
//  above, 0 for none) to json_out.  Returns the number of files that failed (0 if all were read).
//  block_time (NULL for none) is --block-time: the block of every file.  anon (NULL for
//  none) anonymises the addresses of matched flows.  json_in: print the in direction's
//  pairs (ip = the local destination, peers = its sources), each line ending with
//  "direction":"in", instead of the out direction's (whose lines have no such key); the
//  summaries then also give matched_in= and pairs_in= after pairs=.
int ingest_dryrun_run (ingest_match_t *match, ingest_anon_t *anon, char **files, int count,
                       const char *block_time, int json, bool json_in, FILE *summary_out,
                       FILE *json_out);

//  Selftest
void ingest_dryrun_test (bool verbose);

#endif
