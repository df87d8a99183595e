/*  shard_config.h - a shard's settings: defaults, the config file, then flags.

    proto/CONFIG.md is the file format (zconfig).  A shard reads, for its --name:
        portevo/broker/endpoint                 the broker (--broker)
        portevo/shard/retention_days            (--retention-days)
        portevo/shard/grace_secs                (--grace-secs)
        portevo/shard/mapsize_mb                (--mapsize-mb)
        portevo/shard/segment_days              (--segment-days: days a compacted
                                                segment spans, set when the store is
                                                created; 0 = no compaction)
        portevo/shard/NAME/endpoint, data       (--endpoint, --data)
    Load the file first, then set the flags given, which override it.
*/
#ifndef SHARD_CONFIG_H_INCLUDED
#define SHARD_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define SHARD_ENDPOINT_DEFAULT "tcp://127.0.0.1:5571"
#define SHARD_BROKER_DEFAULT "tcp://127.0.0.1:5570"
#define SHARD_MAPSIZE_MB_DEFAULT 65536

typedef struct {
    char *name;               //  Shard name, as in the broker's map ("shard-0")
    char *endpoint;           //  ROUTER endpoint to bind (tcp://127.0.0.1:* picks a port)
    char *data;               //  Store directory
    char *broker;             //  Broker ROUTER endpoint
    char *curve_keys;         //  CURVE keys directory (proto_curve.h), NULL: plain
    uint32_t retention_days;  //  Days kept before today
    uint32_t grace_secs;      //  How long a block waits for every ingestor
    uint64_t mapsize_mb;      //  LMDB map size, MiB
    uint32_t segment_days;    //  Days a compacted segment, for a new store (shard_segments.h)
    bool verbose;             //  Debug logging
} shard_config_t;

//  Defaults (no name, no data).
shard_config_t *shard_config_new (void);
void shard_config_destroy (shard_config_t **self_p);

//  Set a setting by its flag name without dashes ("endpoint", "retention-days" or
//  "retention_days"...).  0, or -1 if the name is unknown or the value invalid (logged).
int shard_config_set (shard_config_t *self, const char *key, const char *value);

//  Read the file for self->name (set it first).  0, or -1 if the file does not load or
//  holds an invalid value (logged).
int shard_config_load (shard_config_t *self, const char *path);

//  0 if name and data are set, else -1 (logged).
int shard_config_check (shard_config_t *self);

//  Selftest
void shard_config_test (bool verbose);

#endif
