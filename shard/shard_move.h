/*  shard_move.h - a shard's side of a slot move: SLOTS_EXPORT, SLOTS_IMPORT and
    SLOTS_DELETE from the broker (PROTOCOL.md "Slot moves"), on shard_slots.

    - SLOTS_EXPORT: SLOTS_DATA with the slots' data, open-block values and records
      included (one read snapshot);
    - SLOTS_IMPORT: SLOTS_DONE once the data is committed (put, open blocks united:
      idempotent), or ERROR 503 if a block open in the data is final here (the broker
      exports again);
    - SLOTS_DELETE: ERROR 503 while this shard's map is older than the request's epoch
      (it asks the broker for the map), ERROR 409 if it still owns one of the slots,
      else SLOTS_DONE once they are deleted (idempotent).
    Bad requests get ERROR 422.  Every outcome is logged.
*/
#ifndef SHARD_MOVE_H_INCLUDED
#define SHARD_MOVE_H_INCLUDED

#include "proto/proto_msg.h"
#include "shard/shard_store.h"

//  The reply to request (a SLOTS_* request); owned[] the slots of this shard's map of
//  epoch map_epoch.  *map_stale is set when the broker's map is newer than ours.
proto_msg_t *shard_move_handle (shard_store_t *store, proto_msg_t *request, const bool *owned,
                                uint64_t map_epoch, bool *map_stale);

#endif
