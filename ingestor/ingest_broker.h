/*  ingest_broker.h - the ingestor's link to the broker: registration, heartbeats, the map.

    A DEALER connects to the broker and says HELLO (role "ingestor", the name and the
    spool), then MAP_REQUEST; from then on a HEARTBEAT with the owner's stats goes every
    PROTO_HEARTBEAT_MSECS.  WELCOME and HEARTBEAT_ACK carry the map's epoch: when it is not
    the epoch of the map held, the map is asked for again.  An ERROR 404 (the broker does
    not know us, e.g. after its restart) brings a new HELLO; a broker silent for
    PROTO_HEARTBEAT_LIVENESS intervals gets a new socket (dropping what was queued for the
    dead one) and a new HELLO.  A MAP is checked before it is taken: a slot array, at
    least one shard (the leading peers of role "shard"), and every slot naming one of them.

    Everything runs on the loop thread: the socket is watched with ingest_poll, and the
    owner calls ingest_broker_tick from its timer.  The broker's socket never blocks: sends
    use a zero send timeout and fail (logged) rather than wait.
*/
#ifndef INGEST_BROKER_H_INCLUDED
#define INGEST_BROKER_H_INCLUDED

#include "proto/proto_curve.h"
#include "proto/proto_msg.h"

#include <uv.h>

typedef struct _ingest_broker_t ingest_broker_t;

//  A new valid map arrived (borrowed, valid until the next map or destroy).
typedef void (ingest_broker_map_fn) (void *arg, proto_msg_t *map);

//  Fill the stats of a HEARTBEAT about to be sent (proto_msg_stats_set).
typedef void (ingest_broker_stats_fn) (void *arg, proto_msg_t *heartbeat);

//  Connect to the broker at endpoint and say HELLO.  name and spool are copied; the
//  callbacks run on the loop thread; curve (borrowed, NULL: plain) secures the socket.
//  NULL if the socket cannot be made (logged).
ingest_broker_t *ingest_broker_new (uv_loop_t *loop, const char *endpoint, const char *name,
                                    const char *spool, proto_curve_t *curve,
                                    ingest_broker_map_fn *on_map, ingest_broker_stats_fn *on_stats,
                                    void *arg);

//  Close the socket.  NULL-safe, nulls *self_p.
void ingest_broker_destroy (ingest_broker_t **self_p);

//  Heartbeats, liveness and map requests; call often (every 100 msecs or so).
void ingest_broker_tick (ingest_broker_t *self);

//  Handle every message waiting on the socket.  Returns how many were handled.
size_t ingest_broker_drain (ingest_broker_t *self);

//  Ask for the map again (e.g. a shard said ERROR 409, or a shard has no endpoint yet).
//  Requests are spaced by at least a heartbeat interval.
void ingest_broker_request_map (ingest_broker_t *self);

//  The current map, NULL until a valid one arrived (borrowed).
proto_msg_t *ingest_broker_map (ingest_broker_t *self);

//  Shards in the current map (0 without a map).
size_t ingest_broker_shard_count (ingest_broker_t *self);

//  Log every message sent and received (zsys_debug).
void ingest_broker_set_verbose (ingest_broker_t *self, bool verbose);

//  Check a MAP: 0 with *shard_count set, or -1 with the reason in error (error_size).
int ingest_broker_map_check (proto_msg_t *map, size_t *shard_count, char *error, size_t error_size);

//  Selftest
void ingest_broker_test (bool verbose);

#endif
