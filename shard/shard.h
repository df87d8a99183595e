/*  shard.h - the shard server: a ROUTER that applies parts and answers queries.

    A shard binds a ROUTER at its endpoint and serves PART, TOP_REQUEST, SERIES_REQUEST,
    HOST_REQUEST, DAYS_REQUEST and ANNOTATE (proto/PROTOCOL.md) from its store; a
    DEALER registers it with the broker (HELLO), heartbeats with its status stats, and
    fetches the slot map whenever the broker's epoch changes.  The map says which slots
    (hence hosts) are this shard's, and which ingestors every block waits for.

    Replies: a frame that does not decode, or a message a shard does not serve, gets
    ERROR 400; a PART before the first map ERROR 503; a part or host query naming a host
    of another shard's slot ERROR 409; invalid arguments ERROR 422; a full store 507;
    any other store failure 500.  PART_ACK goes only after the part's commit.

    Timers: heartbeat every PROTO_HEARTBEAT_MSECS (and HELLO again, from a new DEALER,
    when PROTO_HEARTBEAT_LIVENESS heartbeats went unanswered, or on ERROR 404); finalisation of
    open blocks past their grace, every second; maintenance at start and hourly:
    retention in batches of SHARD_EXPIRE_BATCH deletions, then archiving of finished
    days in batches of SHARD_ARCHIVE_BATCH rows, with the loop free between batches.

    One thread: shard_run blocks in its zloop until interrupted (SIGINT/SIGTERM), or
    run as an actor with shard_actor (tests).
*/
#ifndef SHARD_H_INCLUDED
#define SHARD_H_INCLUDED

#include "shard/shard_config.h"
#include "shard/shard_store.h"
#include "proto/proto_curve.h"

#define SHARD_MAP_FILE "broker-map.msgpack"  //  The last MAP, kept in the data directory

#define SHARD_FINALISE_MSECS 1000         //  Check open blocks for grace
#define SHARD_MAINTENANCE_MSECS 3600000   //  Retention and archive period
#define SHARD_MAINTENANCE_BATCH_MSECS 10  //  Pause between their batches

typedef struct _shard_t shard_t;

//  Build a shard from config (read, not kept): open the store, bind the ROUTER, connect
//  to the broker.  NULL on failure (logged).
shard_t *shard_new (const shard_config_t *config);

//  Destroy; NULL-safe, nulls *self_p.
void shard_destroy (shard_t **self_p);

//  Serve until interrupted.  0 when interrupted, -1 if the loop failed.
int shard_run (shard_t *self);

//  The endpoint bound (with the port chosen for tcp://...:*); valid while self lives.
const char *shard_endpoint (shard_t *self);

//  Actor: args is a shard_config_t (read before the first signal).  Signals 0 once
//  built and then sends its endpoint as a string ("" if it could not be built); ends
//  on "$TERM".
void shard_actor (zsock_t *pipe, void *args);

//  Selftest
void shard_test (bool verbose);

#endif
