/*  broker_map.h - the slot -> shard map and the registered peer names, persisted.

    The broker owns the cluster's one map: PROTO_SLOT_COUNT slots, each owned by one shard
    (an index into the shard names), the endpoint each shard registered last, and the
    names of every ingestor that ever registered (a shard waits for each of them before a
    block is final, PROTOCOL.md "Blocks").  The epoch counts changes: it goes up whenever
    the slots, a shard's endpoint or the ingestor list change, so that a peer that sees a
    new epoch in a HEARTBEAT_ACK fetches the MAP again.

    On first start slot s goes to shard s mod N.  The map lives in DATA/broker.map, a
    zconfig file replaced atomically (temporary file, fsync, rename, fsync of the
    directory); from then on the persisted map wins over the command line, because hosts
    never move.  Names are 1 to PROTO_NAME_MAX characters of [A-Za-z0-9._-] (they name
    files and config entries); endpoints and spools are stored percent-encoded.

    A change that cannot be persisted is undone, so memory and disk never disagree.
*/
#ifndef BROKER_MAP_H_INCLUDED
#define BROKER_MAP_H_INCLUDED

#include "proto/proto_msg.h"

#define BROKER_MAP_FILE "broker.map"            //  File name inside the data directory
#define BROKER_MAP_VERSION 1                    //  Format version of that file
#define BROKER_MAP_SHARDS_MAX PROTO_SLOT_COUNT  //  More shards than slots makes no sense
#define BROKER_MAP_NO_TARGET 0xffff             //  A slot that is not planned to move

typedef struct _broker_map_t broker_map_t;

//  Phase of the batch of a slot move (PROTOCOL.md "Slot moves")
typedef enum {
    BROKER_MAP_PHASE_NONE = 0,  //  No batch: the next one starts from the plan
    BROKER_MAP_PHASE_COPY,      //  The batch's slots are copied source -> target
    BROKER_MAP_PHASE_DELETE     //  The map switched: the source deletes its copy
} broker_map_phase_t;

//  Open the map persisted in data (a directory, created if missing).  If there is none,
//  create it from shards (comma-separated names: slot s -> shard s mod N, epoch 1) and
//  persist it.  If there is one and shards (may be NULL) names other shards, warn: the
//  persisted map wins.  NULL on failure (logged): no map and no names, invalid names,
//  an unreadable or invalid file, or a failed write.
broker_map_t *broker_map_new (const char *data, const char *shards);

//  Load the map persisted in data without creating anything.  NULL if there is none, or
//  if it is invalid (then logged).  For `portevo up`, which reads what a broker persisted.
broker_map_t *broker_map_load (const char *data);

//  Destroy; NULL-safe, nulls *self_p.
void broker_map_destroy (broker_map_t **self_p);

//  The epoch: 1 for a new map, +1 for every change.
uint64_t broker_map_epoch (broker_map_t *self);

//  The shard index of every slot (PROTO_SLOT_COUNT entries, borrowed while self lives).
const uint16_t *broker_map_slots (broker_map_t *self);

//  Shards: count, name and endpoint ("" until registered) by index (borrowed until the
//  next change), index by name (-1 if not a shard), slots owned by a shard.
size_t broker_map_shard_count (broker_map_t *self);
const char *broker_map_shard_name (broker_map_t *self, size_t index);
const char *broker_map_shard_endpoint (broker_map_t *self, size_t index);
int broker_map_shard_index (broker_map_t *self, const char *name);
uint32_t broker_map_shard_slots (broker_map_t *self, size_t index);

//  The shard names joined by commas (caller frees).
char *broker_map_shard_names (broker_map_t *self);

//  Record a shard's endpoint.  A new value bumps the epoch and is persisted.  0 ok (also
//  when unchanged), -1 if it could not be persisted (logged; nothing changed).
int broker_map_set_shard_endpoint (broker_map_t *self, size_t index, const char *endpoint);

//  Ingestors, in registration order: count, name and spool by index (borrowed until the
//  next change), index by name (-1 if unknown).
size_t broker_map_ingestor_count (broker_map_t *self);
const char *broker_map_ingestor_name (broker_map_t *self, size_t index);
const char *broker_map_ingestor_spool (broker_map_t *self, size_t index);
int broker_map_ingestor_index (broker_map_t *self, const char *name);

//  Record an ingestor and its spool.  A new name bumps the epoch; a new spool for a known
//  name is persisted without a bump (finality depends on names only).  0 ok, -1 if it
//  could not be persisted (logged; nothing changed).
int broker_map_add_ingestor (broker_map_t *self, const char *name, const char *spool);

//  True if name is 1..PROTO_NAME_MAX characters of [A-Za-z0-9._-].
bool broker_map_name_valid (const char *name);

//  Decommission an ingestor: drop it from the map (the epoch changes) and persist.  0, 1
//  if no ingestor has that name, -1 if the map could not be saved (logged; unchanged).
int broker_map_remove_ingestor (broker_map_t *self, const char *name);

//  Slot moves (broker_map_move.c; PROTOCOL.md "Slot moves").  Every change below is
//  persisted with the slots in one atomic write, or undone and -1 returned (logged).

//  Plan a move: add shard name at endpoint and give it PROTO_SLOT_COUNT / shards slots,
//  taken from the shards that own the most; or plan every slot of shard name to the
//  others (fewest first), the shard being dropped once it owns none.  Ingestors hold
//  until the move is done.  Returns the slots planned (>= 0), -1 on a failed write,
//  -2 with a reason in error if refused (a move under way, a bad or taken name, the
//  last shard).
int broker_map_add_shard (broker_map_t *self, const char *name, const char *endpoint, char *error,
                          size_t error_size);
int broker_map_remove_shard (broker_map_t *self, const char *name, char *error, size_t error_size);

//  Slots planned and not yet switched (0: no move).  The hold flag and its epoch.
uint32_t broker_map_move_pending (broker_map_t *self);
bool broker_map_hold (broker_map_t *self);
uint64_t broker_map_hold_epoch (broker_map_t *self);

//  Lift (false) or put back (true) the hold of a move under way: ingestors go on
//  meanwhile (the source's open blocks can then be completed); a new hold begins at the
//  new epoch.  0 or -1.
int broker_map_set_hold (broker_map_t *self, bool hold);

//  The batch: its phase, source and target shard indexes and slot set (slotset may be
//  NULL; PROTO_SLOTSET_SIZE bytes).
broker_map_phase_t broker_map_batch (broker_map_t *self, size_t *source, size_t *target,
                                     uint8_t *slotset);

//  Start the next batch from the plan (all planned slots of one source to one target):
//  phase COPY.  0, 1 if nothing is planned (the hold ends, the epoch changes), -1.
int broker_map_batch_begin (broker_map_t *self);

//  The batch's copy is done: its slots now belong to the target (the epoch changes),
//  phase DELETE.  0 or -1.
int broker_map_batch_switch (broker_map_t *self);

//  The source deleted its copy: phase NONE; a shard being removed that owns nothing is
//  dropped from the map (the epoch changes).  0 or -1.
int broker_map_batch_end (broker_map_t *self);

//  Selftests
//  For a selftest's end: remove dir (made by the test), with the map file a map kept in it.
void broker_map_test_dir_remove (const char *dir);
void broker_map_test (bool verbose);
void broker_map_move_test (bool verbose);

#endif
