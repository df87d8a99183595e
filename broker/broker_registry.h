/*  broker_registry.h - the broker's peers: registration, heartbeats, expiry.

    Majordomo-style bookkeeping over the persisted map (broker_map): one peer per shard
    of the map and per ingestor that ever registered, found by name or by the routing id
    of its last HELLO.  A peer is "unknown" until it says HELLO after the broker started,
    "up" while it heartbeats, and "down" once PROTO_HEARTBEAT_LIVENESS intervals passed
    without a heartbeat; it stays in the map either way (its slots stay its own).  Live
    peers sit in an expiry list ordered by expiry time, so a purge stops at the first
    live one.

    The same name from a new routing id is the peer restarted: the new routing id wins
    and the old one is forgotten (its heartbeats get ERROR 404 and it says HELLO again).
    Times are monotonic milliseconds (zclock_mono), passed in so that tests control them.
*/
#ifndef BROKER_REGISTRY_H_INCLUDED
#define BROKER_REGISTRY_H_INCLUDED

#include "broker/broker_map.h"

#define BROKER_REGISTRY_UP "up"  //  Peer states, as on the wire
#define BROKER_REGISTRY_DOWN "down"
#define BROKER_REGISTRY_UNKNOWN "unknown"

typedef struct _broker_registry_t broker_registry_t;

//  Create over map (borrowed: must outlive the registry).  Every shard and ingestor of
//  the map starts "unknown".  A peer goes down liveness * heartbeat_msecs after its last
//  HELLO or HEARTBEAT.
broker_registry_t *broker_registry_new (broker_map_t *map, int64_t heartbeat_msecs, int liveness);

//  Destroy; NULL-safe, nulls *self_p.
void broker_registry_destroy (broker_registry_t **self_p);

//  Register the sender of a HELLO (borrowed).  0 if registered; else a PROTO_ERROR_* code
//  with the reason in error (at most error_size bytes): 409 a shard name not in the map
//  or an ingestor name that is a shard's, 422 a bad role, name or endpoint, 500 the map
//  could not be persisted.
int broker_registry_hello (broker_registry_t *self, proto_msg_t *hello, int64_t now, char *error,
                           size_t error_size);

//  Note a HEARTBEAT (borrowed) and keep its stats.  0 ok; PROTO_ERROR_UNKNOWN_PEER if its
//  routing id is not registered under the name it gives.
int broker_registry_heartbeat (broker_registry_t *self, proto_msg_t *heartbeat, int64_t now);

//  Mark down the peers whose expiry passed (each logged).  Returns how many went down.
size_t broker_registry_purge (broker_registry_t *self, int64_t now);

//  Msecs until the next peer expires, at most the heartbeat interval, at least 0.
int64_t broker_registry_timeout (broker_registry_t *self, int64_t now);

//  Append a peer entry for every peer to a MAP or STATUS message: shards in index order,
//  then ingestors in registration order; with_stats copies each peer's last stats.
void broker_registry_fill (broker_registry_t *self, proto_msg_t *message, int64_t now,
                           bool with_stats);

//  Decommission the ingestor of that name (INGESTOR_REMOVE): drop it from the registry
//  and the map (persisted, new epoch).  0 if removed; else a PROTO_ERROR_* code with the
//  reason in error: 404 no such ingestor (or a shard's name), 409 it is up (stop it
//  first), 500 the map could not be persisted.
int broker_registry_remove_ingestor (broker_registry_t *self, const char *name, int64_t now,
                                     char *error, size_t error_size);

//  The state of the peer of that name ("up", "down", "unknown"), NULL if none.
const char *broker_registry_state (broker_registry_t *self, const char *name);

//  A shard added to the map (slot moves): known from now on, state unknown.
void broker_registry_add_shard (broker_registry_t *self, const char *name);

//  The stat key of the last HEARTBEAT of peer name, if it is up and reported it.
bool broker_registry_stat (broker_registry_t *self, const char *name, const char *key,
                           int64_t *value);

//  Selftest
void broker_registry_test (bool verbose);

#endif
