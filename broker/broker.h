/*  broker.h - the broker: a ROUTER socket serving registration, heartbeats, the slot map
    and status (PROTOCOL.md).

    Every shard and ingestor says HELLO (answered WELCOME with the map's epoch) and then
    HEARTBEAT every PROTO_HEARTBEAT_MSECS (answered HEARTBEAT_ACK, or ERROR 404 if the
    broker does not know the sender: it restarted, say HELLO again).  Anyone may ask
    MAP_REQUEST (answered MAP: epoch, slot owners, peers) and STATUS_REQUEST (answered
    STATUS: epoch, peers with their state, slots, age and last stats).  A frame that does
    not decode is answered ERROR 400 and logged once; any other message ERROR 422.  The
    broker never stops serving because of what a peer sent.

    Run it in the calling thread (broker_run, as portevo-broker does) or as an actor
    (broker_actor, as the selftest does):
        broker_t *broker = broker_new (&options);         //  binds, loads or creates the map
        zactor_t *actor = zactor_new (broker_actor, broker);  //  takes the broker over
        ...
        zactor_destroy (&actor);                         //  $TERM: destroys the broker
*/
#ifndef BROKER_H_INCLUDED
#define BROKER_H_INCLUDED

#include "broker/broker_map.h"
#include "broker/broker_registry.h"
#include "proto/proto_curve.h"

#define BROKER_ENDPOINT_DEFAULT "tcp://127.0.0.1:5570"  //  Where peers look first

typedef struct _broker_t broker_t;

//  What the broker is built from; strings are borrowed by broker_new (copied if kept).
typedef struct {
    const char *endpoint;     //  ROUTER endpoint to bind ("tcp://127.0.0.1:*" allowed)
    const char *data;         //  Directory of the persisted map (created if missing)
    const char *shards;       //  Comma-separated shard names for a first start, or NULL
    int64_t heartbeat_msecs;  //  Peers' heartbeat interval; 0: PROTO_HEARTBEAT_MSECS
    const char *curve_keys;   //  CURVE keys directory (proto_curve.h), NULL: plain
    bool verbose;             //  Log every message (zsys_debug)
} broker_options_t;

//  Load (or create) the map and bind the ROUTER.  NULL on failure (logged): a bad or
//  unwritable data directory, no shard names for a first start, an endpoint in use.
broker_t *broker_new (const broker_options_t *options);

//  Destroy; NULL-safe, nulls *self_p.
void broker_destroy (broker_t **self_p);

//  The bound endpoint, with the port resolved (borrowed while self lives).
const char *broker_endpoint (broker_t *self);

//  The map's epoch now.
uint64_t broker_epoch (broker_t *self);

//  Serve in the calling thread until interrupted (SIGINT/SIGTERM).  Returns 0.
int broker_run (broker_t *self);

//  Actor body: args is a broker_t * that the actor takes over and destroys on $TERM.
//  Pipe commands: "$TERM"; "EPOCH" (replies the epoch as a decimal string).
void broker_actor (zsock_t *pipe, void *args);

//  Selftest
void broker_test (bool verbose);

#endif
