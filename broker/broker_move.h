/*  broker_move.h - the broker runs a slot move: copy, switch, delete, batch by batch.

    broker_map holds the plan and the phase of the batch under way (persisted); this
    class does the talking: it waits until every ingestor holds (its HEARTBEAT stat
    `held` at or past the epoch the hold began at), asks the source shard for the
    batch's data (SLOTS_EXPORT -> SLOTS_DATA), gives it to the target (SLOTS_IMPORT ->
    SLOTS_DONE), switches the slots in the map, waits BROKER_MOVE_SETTLE_MSECS for
    gateways to fetch the new map, and asks the source to delete its copy
    (SLOTS_DELETE -> SLOTS_DONE).  Every request goes over a DEALER of its own to the
    shard's endpoint; one that gets no answer within BROKER_MOVE_TIMEOUT_MSECS is
    sent again on a new socket, an ERROR is retried after BROKER_MOVE_RETRY_MSECS: a
    shard killed in the middle answers once it is back, and every step is idempotent.
    Open blocks move with the data (their values and delivery records); a target that
    refuses the import (one of those blocks is final there) gets a new export.  A
    source of an older build refuses the export while open blocks hold values of the
    moving hosts: it gets the hold lifted for BROKER_MOVE_PULSE_MSECS, so that every
    ingestor delivers what it has and the blocks become final; then the hold begins
    again (new epoch) and the export is asked again.
    PROTOCOL.md "Slot moves" has the protocol.
*/
#ifndef BROKER_MOVE_H_INCLUDED
#define BROKER_MOVE_H_INCLUDED

#include "broker/broker_map.h"
#include "broker/broker_registry.h"
#include "proto/proto_curve.h"

#define BROKER_MOVE_TIMEOUT_MSECS 10000  //  Resend a request unanswered this long
#define BROKER_MOVE_RETRY_MSECS 500      //  Retry after an ERROR
#define BROKER_MOVE_SETTLE_MSECS 3000    //  Between the switch and the delete
#define BROKER_MOVE_POLL_MSECS 20        //  Tick interval while waiting for a reply
#define BROKER_MOVE_PULSE_MSECS 2000     //  Hold lifted while the source has open blocks

typedef struct _broker_move_t broker_move_t;

//  For map and registry (borrowed); curve_keys: the CURVE keys directory or NULL (the
//  broker is then a CURVE client named "broker": `portevo keygen` must have made that
//  key; without it the broker runs and refuses moves, see broker_move_available).  NULL
//  if the key exists but cannot be loaded (logged).
broker_move_t *broker_move_new (broker_map_t *map, broker_registry_t *registry,
                                const char *curve_keys);
void broker_move_destroy (broker_move_t **self_p);

//  False if CURVE is on and the keys hold no "broker" key: no move can run.
bool broker_move_available (broker_move_t *self);

//  Do what can be done now.  Returns the msecs until the next call is useful, or -1 if
//  no move is under way.
int64_t broker_move_tick (broker_move_t *self, int64_t now);

#endif
