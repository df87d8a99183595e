/*  broker_cli_scatter.h - the CLI's scatter-gather to the shards of the slot map.

    A query command asks the broker for the MAP once, then talks to the shards directly:
    one DEALER per shard (connected lazily, on the first request to it), requests tagged
    with fresh request ids, replies matched by request id so that a late reply to an
    earlier request is never taken for the answer to a later one.  Waiting is bounded by
    a deadline; a shard without an endpoint (never registered) fails at once.

        broker_cli_scatter_t *scatter = broker_cli_scatter_new (endpoint, 3000, command, NULL);
        for (size_t shard = 0; shard < broker_cli_scatter_shard_count (scatter); shard++) {
            proto_msg_t *request = proto_msg_new (PROTO_MSG_DAYS_REQUEST);
            broker_cli_scatter_send (scatter, shard, &request);
        }
        size_t shard;
        proto_msg_t *reply;
        while ((reply = broker_cli_scatter_recv (scatter, deadline, &shard)))
            ...

    The CLI is a blocking program, so this blocks (the gateway has its own, non-blocking
    scatter on libuv).
*/
#ifndef BROKER_CLI_SCATTER_H_INCLUDED
#define BROKER_CLI_SCATTER_H_INCLUDED

#include "proto/proto_curve.h"
#include "proto/proto_msg.h"

typedef struct _broker_cli_scatter_t broker_cli_scatter_t;

//  Ask the broker at endpoint for the MAP (waiting at most timeout_msecs).  NULL if it
//  did not answer, answered something else, or the map is inconsistent (said on stderr,
//  prefixed by command, unless command is NULL).  curve (borrowed, NULL: plain) secures
//  every socket.
broker_cli_scatter_t *broker_cli_scatter_new (const char *endpoint, int timeout_msecs,
                                              const char *command, proto_curve_t *curve);

//  Destroy; NULL-safe, nulls *self_p.
void broker_cli_scatter_destroy (broker_cli_scatter_t **self_p);

//  Shards of the map, by index: count, name and endpoint (borrowed while self lives).
size_t broker_cli_scatter_shard_count (broker_cli_scatter_t *self);
const char *broker_cli_scatter_shard_name (broker_cli_scatter_t *self, size_t index);
const char *broker_cli_scatter_shard_endpoint (broker_cli_scatter_t *self, size_t index);

//  The index of the shard that owns a host (its slot's owner).
size_t broker_cli_scatter_shard_of (broker_cli_scatter_t *self, const proto_addr_t *host);

//  Send a request to a shard (taking it over and nulling *request_p) with a fresh
//  request id, which becomes the one reply awaited from that shard.  0 if sent; -1 if the
//  shard has no endpoint or the request could not be sent (nothing awaited).
int broker_cli_scatter_send (broker_cli_scatter_t *self, size_t index, proto_msg_t **request_p);

//  True while some shard has a request without its reply.
bool broker_cli_scatter_waiting (broker_cli_scatter_t *self);

//  The next awaited reply (the caller destroys it) with its shard's index in *index, or
//  NULL when the deadline (zclock_mono msecs) passed, nothing is awaited or we were
//  interrupted.  Replies not awaited (late, malformed) are dropped.
proto_msg_t *broker_cli_scatter_recv (broker_cli_scatter_t *self, int64_t deadline, size_t *index);

//  True if a shard sent its awaited reply since its last request.
bool broker_cli_scatter_answered (broker_cli_scatter_t *self, size_t index);

//  Selftest
void broker_cli_scatter_test (bool verbose);

#endif
