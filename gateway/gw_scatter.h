/*  gw_scatter.h - the gateway's ZeroMQ side: fan a query out to shards, gather replies.

    Lives inside the gateway's libuv loop and never blocks it.  It keeps a DEALER to the
    broker, asks it for the slot -> shard MAP at start and every GW_SCATTER_MAP_MSECS
    (acting on a new epoch or endpoint), and keeps one DEALER per shard endpoint of the
    map.  Each socket is watched by a uv_poll_t on its ZMQ_FD; that descriptor is
    edge-triggered, so every wake-up drains the socket while ZMQ_EVENTS says POLLIN, and
    every send is followed by a re-check (a deferred drain if input is waiting).

    A query (gw_scatter_shards, gw_scatter_broker) becomes a pending entry with a fresh
    request id, sent to every shard of the map, to the one shard owning a host, or to the
    broker.  Replies are matched by request id and by the socket they came on.  The
    pending entry completes when every target has answered or when its uv_timer_t
    deadline fires, whichever is first: its callback then reads, per target, the reply or
    NULL (missing).  A target that could not be sent to (no endpoint yet, reported down by
    the broker, send queue full) is missing from the start, so a down shard delays
    nothing.  A host query whose shard answers ERROR 409 (the host is not its own: a slot
    move switched it, and our map or the shard's is the older) is sent once more,
    GW_SCATTER_RETRY_MSECS later, to the owner in the map then (a MAP request goes at
    once); a second 409 is the reply the callback sees (the caller counts it missing,
    never as an answer).  Replies after completion or cancellation find no entry and are dropped
    quietly (debug log).  A callback is never called from inside gw_scatter_shards or
    gw_scatter_broker: completion always comes from the loop.

    Threading: one thread, the loop's.  Memory: the pending entries belong to the
    scatter; the caller holds a borrowed handle until its callback returns or it cancels.
*/
#ifndef GW_SCATTER_H_INCLUDED
#define GW_SCATTER_H_INCLUDED

#include "proto/proto_curve.h"
#include "proto/proto_msg.h"

#include <uv.h>

#define GW_SCATTER_BROKER_DEFAULT "tcp://127.0.0.1:5570"  //  PROTOCOL.md's broker endpoint
#define GW_SCATTER_DEADLINE_MSECS 500                     //  Default wait for shard replies
#define GW_SCATTER_MAP_MSECS 1000       //  MAP refresh interval once a map is known
#define GW_SCATTER_MAP_EARLY_MSECS 200  //  MAP request interval until the first map
#define GW_SCATTER_SHARD_HWM 1000       //  Queries queued per shard before sends fail
#define GW_SCATTER_RETRY_MSECS 500      //  A host query answered ERROR 409 goes again after

typedef struct _gw_scatter_t gw_scatter_t;
typedef struct _gw_pending_t gw_pending_t;

//  Called once when a pending query completes.  The pending entry and its replies are
//  valid during the call only; the scatter frees them when it returns.  The callback may
//  start other queries but must not cancel this one.
typedef void (gw_scatter_fn) (gw_pending_t *pending, void *arg);

//  Create a scatter on loop that talks to the broker at endpoint (ROUTER, PROTOCOL.md)
//  and waits at most deadline_msecs for replies.  Sends the first MAP_REQUEST at once.
//  curve (borrowed, NULL: plain) secures every socket.  NULL if the broker endpoint is
//  invalid (logged).
gw_scatter_t *gw_scatter_new (uv_loop_t *loop, const char *broker, int deadline_msecs,
                              proto_curve_t *curve);

//  Destroy: completes every pending query first (its callback sees what arrived), then
//  closes sockets and handles.  The memory is released by libuv close callbacks, so the
//  caller runs the loop afterwards (as for any uv handle).  NULL-safe, nulls *self_p.
void gw_scatter_destroy (gw_scatter_t **self_p);

//  Log every query, reply and drop at debug level.
void gw_scatter_set_verbose (gw_scatter_t *self, bool verbose);

//  Send request (taken, nulled) to every shard of the map (host NULL) or to the shard
//  owning host.  Its request id is set here.  fn (pending, arg) is called once, later.
//  NULL when there is no map yet (fn is never called; the request is destroyed).
gw_pending_t *gw_scatter_shards (gw_scatter_t *self, proto_msg_t **request_p,
                                 const proto_addr_t *host, gw_scatter_fn *fn, void *arg);

//  Send request (taken, nulled) to the broker, as above.  Never NULL.
gw_pending_t *gw_scatter_broker (gw_scatter_t *self, proto_msg_t **request_p, gw_scatter_fn *fn,
                                 void *arg);

//  Forget a pending query before it completes (its client went away): the callback will
//  not be called and later replies are dropped.  Nulls *pending_p; NULL-safe.
void gw_pending_cancel (gw_pending_t **pending_p);

//  A completed query's targets: how many, each one's name ("shard-0", "broker") and
//  reply (borrowed; NULL if it did not answer in time or could not be asked), and how
//  many answered.
size_t gw_pending_target_count (gw_pending_t *self);
const char *gw_pending_target_name (gw_pending_t *self, size_t index);
proto_msg_t *gw_pending_reply (gw_pending_t *self, size_t index);
size_t gw_pending_answered (gw_pending_t *self);

//  Map facts: whether a map arrived, its epoch, its shard count, the broker endpoint.
bool gw_scatter_has_map (gw_scatter_t *self);
uint64_t gw_scatter_epoch (gw_scatter_t *self);
size_t gw_scatter_shard_count (gw_scatter_t *self);
const char *gw_scatter_broker_endpoint (gw_scatter_t *self);

//  Queries waiting for replies now.
size_t gw_scatter_pending_count (gw_scatter_t *self);

//  Selftest
void gw_scatter_test (bool verbose);

#endif
