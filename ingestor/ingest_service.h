/*  ingest_service.h - portevo-ingest's delivery service: spool files to shards, once.

    Runs a libuv loop on the main thread with every socket on it: the broker link
    (ingest_broker), the shard sockets (ingest_deliver), the spool watches (ingest_spool),
    a 100 msec housekeeping timer, a periodic rescan of the spool, SIGINT/SIGTERM (clean
    shutdown) and a uv_prepare_t that drains every socket before the loop sleeps (the
    ZeroMQ descriptors are edge-triggered).

    Files go one at a time, in block-time order: catch-up on the files already in the spool
    first, then each one nfcapd renames into place.  Reading and aggregating a big file
    takes about a second, so it runs on libuv's thread pool (uv_queue_work): the worker
    only reads, aggregates, splits by the map's slots and encodes the parts; the loop keeps
    heartbeating and answering meanwhile.  While one file is being delivered the next one
    is read, so at most two files' parts (and one aggregate) are in memory.

    A file is recorded done (STATE/done.journal, fsync) only once every shard acknowledged
    its part; a kill at any point makes the next start send it again, and the shards drop
    what they already applied.  A file that cannot be read (corrupt, truncated, not
    readable) is logged once, recorded in STATE/failed.journal and not tried again until
    the operator removes its line.  A file whose name nfcapd has not finished renaming,
    or that changed in the last INGEST_SERVICE_SETTLE_MSECS, waits.

    A done file that grows later (nfcapd appends the blocks of a second process to a file
    that exists when it rotates) is read again, skipping the data blocks its journal line
    records as delivered, and the new blocks are delivered as a part of their own
    ("PATH#FIRST-END", proto/PROTOCOL.md); files of more than INGEST_SERVICE_APPEND_SECS
    before the newest block done are not checked, nor are lines without an extent.

    With FILEs given, they are delivered the same way (in block-time order) and the loop
    ends once each is done or failed.
*/
#ifndef INGEST_SERVICE_H_INCLUDED
#define INGEST_SERVICE_H_INCLUDED

#include "ingestor/ingest_options.h"

#define INGEST_SERVICE_TICK_MSECS 100      //  Housekeeping timer
#define INGEST_SERVICE_RESCAN_MSECS 30000  //  Full spool rescan (safety net for the watches)
#define INGEST_SERVICE_SETTLE_MSECS 1000   //  A file modified more recently than this waits
#define INGEST_SERVICE_RATE_SECS 300       //  Window of the flows_per_sec stat
#define INGEST_SERVICE_APPEND_SECS                                                                 \
    3600  //  Done files this close to the newest block are
          //  checked for blocks appended after delivery

typedef struct _ingest_service_t ingest_service_t;

//  Set up everything for options (borrowed: must outlive the service): the state
//  directory (created if needed, locked against a second ingestor), the journals, the
//  spool (service mode) or the file list, the broker link.  NULL on failure (logged).
ingest_service_t *ingest_service_new (ingest_options_t *options);

//  Destroy.  NULL-safe, nulls *self_p.
void ingest_service_destroy (ingest_service_t **self_p);

//  Run until SIGINT/SIGTERM (service: returns 0) or, with FILEs, until each file is done
//  or failed (returns 0 if all were delivered, 1 if one failed).
int ingest_service_run (ingest_service_t *self);

//  Selftest
void ingest_service_test (bool verbose);

#endif
