/*  ingest_deliver.h - sends one file's parts to the shards until each acknowledged.

    One DEALER per shard of the map (connected to the endpoint the shard registered;
    ZMQ_IMMEDIATE, so that nothing piles up for a shard that is down, and ZMTP heartbeats,
    so that a dead connection is noticed).  A delivery holds one encoded PART per shard
    (ingest_part) and sends each until that shard answers PART_ACK for this source, file
    and block:

    - no connection: the send fails at once; try again every INGEST_DELIVER_CONNECT_MSECS;
    - sent, no answer yet: a part is lost only with its connection (the shard died, or
      the link did: ZMTP heartbeats close it), so the part is sent again as soon as the
      connection is back (a DEALER with ZMQ_IMMEDIATE has no ZMQ_POLLOUT without one,
      checked every tick).  A shard that is merely slow to apply a big part is not sent
      copies of it: only after INGEST_DELIVER_RESEND_MSECS, doubling up to
      INGEST_DELIVER_RESEND_MAX_MSECS, as a safety net (the shard drops a resent part by
      its id);
    - ERROR 503 (unavailable) or 500: retry after INGEST_DELIVER_RETRY_MSECS, doubling up
      to INGEST_DELIVER_RETRY_MAX_MSECS;
    - ERROR 507 (store full): retry every INGEST_DELIVER_FULL_MSECS, logged once per file;
    - ERROR 409 (wrong shard): the map is stale: ask the broker for it and retry every
      INGEST_DELIVER_RETRY_MAX_MSECS;
    - ERROR 400 or 422: the shard refuses this part for good: the delivery failed.

    The outcome is reported through a callback: INGEST_DELIVER_DONE once every shard
    acknowledged, INGEST_DELIVER_FAILED with a reason.  Everything runs on the loop thread.
*/
#ifndef INGEST_DELIVER_H_INCLUDED
#define INGEST_DELIVER_H_INCLUDED

#include "proto/proto_curve.h"
#include "proto/proto_msg.h"

#include <uv.h>

#define INGEST_DELIVER_WARN_MSECS 3000          //  Warn of a shard not connected this long
#define INGEST_DELIVER_CONNECT_MSECS 250        //  Retry while a shard is not connected
#define INGEST_DELIVER_RESEND_MSECS 30000       //  First resend of an unanswered part
#define INGEST_DELIVER_RESEND_MAX_MSECS 300000  //  Longest resend interval
#define INGEST_DELIVER_RETRY_MSECS 200          //  First retry after ERROR 503 or 500
#define INGEST_DELIVER_RETRY_MAX_MSECS 15000    //  Longest retry interval after an ERROR
#define INGEST_DELIVER_FULL_MSECS 30000         //  Retry interval while a store is full
#define INGEST_DELIVER_ERROR_MAX 640            //  Room for a failure reason

typedef enum {
    INGEST_DELIVER_DONE = 0,   //  Every shard acknowledged
    INGEST_DELIVER_FAILED = 1  //  A shard refused the part for good (see the reason)
} ingest_deliver_result_t;

typedef struct _ingest_deliver_t ingest_deliver_t;

//  Outcome of the current delivery; reason is "" on success (borrowed for the call).  The
//  callee may start the next delivery from inside the callback.
typedef void (ingest_deliver_fn) (void *arg, ingest_deliver_result_t result, const char *reason);

//  Called when a shard says the map is stale (ERROR 409).
typedef void (ingest_deliver_stale_fn) (void *arg);

//  Create for source (our name, copied).  Callbacks run on the loop thread.
ingest_deliver_t *ingest_deliver_new (uv_loop_t *loop, const char *source,
                                      ingest_deliver_fn *on_result,
                                      ingest_deliver_stale_fn *on_stale, void *arg);

//  Close every shard socket.  NULL-safe, nulls *self_p.
void ingest_deliver_destroy (ingest_deliver_t **self_p);

//  Follow a (checked) map with shard_count shards: connect to each shard's endpoint,
//  reconnect where it changed, drop sockets of shards no longer there.  A delivery in
//  progress continues (the caller restarts it if the slots changed).
void ingest_deliver_set_map (ingest_deliver_t *self, proto_msg_t *map, size_t shard_count);

//  True if every shard of the map has an endpoint to send to.
bool ingest_deliver_ready (ingest_deliver_t *self);

//  Start delivering the parts frames[0..count) (taken over, the array is nulled) of file
//  and block, tagged request_id.  count must be the map's shard count.  Sends at once.
void ingest_deliver_start (ingest_deliver_t *self, const char *file, int64_t block,
                           uint64_t request_id, zframe_t **frames, size_t count);

//  Drop the current delivery, if any (no callback).
void ingest_deliver_cancel (ingest_deliver_t *self);

//  True while a delivery is in progress.
bool ingest_deliver_busy (ingest_deliver_t *self);

//  Secure the sockets made from now on with curve (borrowed; NULL: plain).  Call it
//  before the first ingest_deliver_set_map.
void ingest_deliver_set_curve (ingest_deliver_t *self, proto_curve_t *curve);

//  Shards that acknowledged the last delivery as older than their retention (nothing
//  stored); valid in the result callback and until the next start.
size_t ingest_deliver_expired (ingest_deliver_t *self);

//  Shards that acknowledged the current delivery.
size_t ingest_deliver_acked (ingest_deliver_t *self);

//  Sends and resends due; call often (every 100 msecs or so).
void ingest_deliver_tick (ingest_deliver_t *self);

//  Handle every message waiting on the shard sockets.  Returns how many were handled.
size_t ingest_deliver_drain (ingest_deliver_t *self);

//  Log sends and answers (zsys_debug).
void ingest_deliver_set_verbose (ingest_deliver_t *self, bool verbose);

//  Selftest
void ingest_deliver_test (bool verbose);

#endif
