/*  broker_map_private.h - the map's state, shared by broker_map.c (shards, ingestors,
    the file) and broker_map_move.c (slot moves: the plan and its phases).  Internal to
    those two files.
*/
#ifndef BROKER_MAP_PRIVATE_H_INCLUDED
#define BROKER_MAP_PRIVATE_H_INCLUDED

#include "broker/broker_map.h"

//  A slot move under way (PROTOCOL.md "Slot moves"), persisted with the map
typedef struct {
    uint16_t targets[PROTO_SLOT_COUNT];  //  Planned owner, BROKER_MAP_NO_TARGET if none
    bool hold;                           //  Ingestors hold new files
    uint64_t hold_epoch;                 //  Epoch the hold began at
    broker_map_phase_t phase;            //  Of the batch
    uint16_t source, target;             //  The batch's shards
    uint8_t batch[PROTO_SLOTSET_SIZE];   //  The batch's slots
    char *removing;                      //  Shard to drop once it owns nothing, or NULL
} broker_map_move_t;

struct _broker_map_t {
    char *data;                        //  Data directory
    char *path;                        //  DATA/broker.map
    uint64_t epoch;                    //  Bumped by every change
    uint16_t slots[PROTO_SLOT_COUNT];  //  Shard index of each slot
    size_t shard_count;                //  Entries in the two arrays below
    char **shard_names;                //  Owned strings
    char **shard_endpoints;            //  Owned strings, "" until registered
    size_t ingestor_count;             //  Entries used in the two arrays below
    size_t ingestor_alloc;             //  Entries allocated
    char **ingestor_names;             //  Owned strings, registration order
    char **ingestor_spools;            //  Owned strings
    broker_map_move_t move;            //  Slot move under way
};

//  Append a shard (name checked by the caller).
void broker_map_shard_append (broker_map_t *self, const char *name, const char *endpoint);

//  Write the map file (atomically).  0 or -1 (logged).
int broker_map_save (broker_map_t *self);

//  The move section of the file: write it into map (nothing when no move), read it
//  (absent: no move).  read: 0, or -1 with the reason in error.
void broker_map_move_write (broker_map_t *self, zconfig_t *map);
int broker_map_move_read (broker_map_t *self, zconfig_t *map, char *error, size_t error_size);

#endif
