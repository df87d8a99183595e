/*  scale_model.h - bench/scale's traffic model and generator (bench/scale_model.c): the
    hosts and their (host, port) profiles, the values of each block, parts fed to a shard
    store day by day, and the generator's own expected daily values for the checks that
    bench/scale.c makes (see the top of scale.c for the model).
*/
#ifndef SCALE_MODEL_H_INCLUDED
#define SCALE_MODEL_H_INCLUDED

#include "shard/shard_store.h"

#define BLOCKS 288
#define PORTS 12
#define SAMPLE_HOSTS 200
#define PEERS_POOL 4096
typedef enum { KIND_NORMAL, KIND_SCANNER, KIND_SPAMMER } scale_kind_t;
typedef struct {
    uint8_t port;     //  Index into scale_ports
    uint8_t p_day;    //  Active on a day with probability p_day / 255
    uint16_t rate;    //  Blocks a day, typical
    uint32_t base;    //  Bytes a block, typical
    uint16_t packet;  //  Bytes a packet
    uint16_t spread;  //  Peers a block at most
} scale_slot_t;

typedef struct {
    size_t hosts;         //  Hosts generated
    uint32_t *addr;       //  IPv4 address of host i
    uint8_t *kind;        //  scale_kind_t of host i
    size_t *first_slot;   //  Slots of host i: first_slot[i] .. first_slot[i + 1]
    scale_slot_t *slots;  //  (host, port) profiles, host-major, ports ascending
    size_t slot_count;    //  Entries of slots
} scale_model_t;

//  A (host, port) seen in a block of the day being generated
typedef struct {
    uint32_t slot;   //  Index into slots
    uint16_t block;  //  Block of the day
} scale_event_t;

//  Expected daily values, as the generator computed them
typedef struct {
    uint64_t value[PROTO_FEATURE_COUNT][PROTO_OP_COUNT];
    bool present;
} scale_expect_t;

typedef struct {
    scale_model_t model;
    uint64_t seed;
    uint32_t days;       //  Days generated, ending yesterday
    uint32_t first_day;  //  The first of them
    int shard_count;     //  Stores the hosts are split over (1: one store)
    int shard_index;     //  The one this process fills
    //  Exactness: sampled hosts over every day, every host on two days
    size_t sample[SAMPLE_HOSTS];
    int32_t *sample_of;             //  [host]: its index in sample, or -1
    scale_expect_t *sample_expect;  //  [sample][port][day]
    uint32_t check_days[2];         //  Days checked in full
    scale_expect_t *day_expect[2];  //  [slot] for each check day
    //  Scratch for one day
    scale_event_t *events;
    size_t event_capacity;
    proto_pair_t *pairs;
    size_t pair_capacity;
    uint8_t *peers;        //  PEERS_POOL sorted addresses
    uint64_t *slot_state;  //  [slot]: random stream of its values, per day
} scale_gen_t;

extern const uint16_t scale_ports[PORTS];  //  ALL*, the model's ports

//  The write transactions a fill ran, by kind: how many, wall seconds in all, the
//  longest by wall time (with its CPU time) and the longest by CPU time (with its wall),
//  and their CPU times in buckets of 0.1 ms (the last: 1 s or more) for p50 and p99
typedef enum {
    SCALE_TXN_APPLY,
    SCALE_TXN_EXPIRE,
    SCALE_TXN_ARCHIVE,
    SCALE_TXN_COMPACT,
    SCALE_TXN_KINDS
} scale_txn_kind_t;
typedef struct {
    size_t count[SCALE_TXN_KINDS];
    double secs[SCALE_TXN_KINDS];
    double wall_msecs[SCALE_TXN_KINDS], wall_cpu_msecs[SCALE_TXN_KINDS];
    double cpu_msecs[SCALE_TXN_KINDS], cpu_wall_msecs[SCALE_TXN_KINDS];
#define SCALE_TXN_BUCKETS 10000
    uint32_t cpu_buckets[SCALE_TXN_KINDS][SCALE_TXN_BUCKETS];
} scale_txns_t;

//  Thread CPU time, usecs: a transaction's or query's own cost, without the time other
//  processes took the core from it
double scale_cpu_usecs (void);
//  Count a transaction of kind that began at start_usecs (zclock_usecs) and
//  start_cpu_usecs (scale_cpu_usecs) and just ended
void scale_txns_add (scale_txns_t *self, scale_txn_kind_t kind, int64_t start_usecs,
                     double start_cpu_usecs);
//  Print one line per kind that ran, each indented by indent
void scale_txns_print (const scale_txns_t *self, const char *indent);

uint64_t scale_next (uint64_t *state);
bool scale_mine (scale_gen_t *self, size_t host);
long scale_day (scale_gen_t *self, shard_store_t *store, uint32_t day, int64_t now,
                scale_txns_t *txns);
int scale_archive (shard_store_t *store, int64_t now, scale_txns_t *txns);
void scale_gen_init (scale_gen_t *self, size_t hosts, uint32_t days, uint32_t first_day,
                     uint64_t seed);
void scale_gen_free (scale_gen_t *self);

#endif
