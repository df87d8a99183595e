/*  scale.c - bench/scale's load generator and measurements (see bench/scale).

    Feeds a shard store realistic block parts through the shard store's API (the code a
    portevo-shard runs for each PART message after decoding it: no ZeroMQ, no msgpack,
    no nfcapd), one part per 5-minute block, final on arrival (one ingestor), days
    ending yesterday; after each day the finished days are archived into chunks, as the
    shard's maintenance does.  Then it prints the storage figures, the time to expire
    the oldest day and the longest transaction it took, query latencies, exactness
    spot checks, and ingest throughput with 1, 2 and 4 stores in as many processes.

    The traffic model (deterministic for a seed), per host, fixed over the days:
      - addresses 10.0.0.0 + 16 i + (0..15): a /8 sparsely used, as a local AS;
      - ports: 1 (50 %), 2 (28 %), 3 (10 %), 4-6 (8 %), 7-12 (4 %) of the 12 of ALL*,
        port 80 and 443-like web ports the most likely;
      - per (host, port): active on a day with probability 1 (25 %), 0.5-0.9 (50 %) or
        0.05-0.2 (25 %); blocks a day (a run of consecutive blocks) around a rate of 1
        (40 %), 2-3 (25 %), 4-20 (20 %), 21-100 (12 %), 101-288 (3 %); bytes a block
        around a base of 60 x 2^(0..15); packets of 60-1400 bytes; durations 0 (a
        quarter of the blocks) or up to 300 ms a packet; peers 1 (70 %), 2-5 or 6-64;
      - 1 host in 1,000 is a scanner (port 22 or 445, every block, 1,000-4,096 peers:
        capped at 4,096 in half its blocks) and 1 in 1,000 a spam bot (port 25, 100-288
        blocks, 20-420 peers).

    Exactness: the generator keeps its own per-(host, port, day) sums, maxima and minima
    of the values it generated, for a sample of hosts over every day and for every
    host on two sample days, and compares them with the store's series (all 12
    feature x op series of each sampled host, every port) and top lists (every port,
    feature and op of the two days, ranked by the generator: score, then address).

    build: make build/bench/scale;  run: bench/scale (or build/bench/scale -h)
    (Over 1,000 lines: one program whose parts, generator, checks and measurements,
    share the model's tables; split it if it grows.)
*/
#include "shard/shard_chunk.h"
#include "shard/shard_store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCKS 288
#define PORTS 12
#define SAMPLE_HOSTS 200
#define PEERS_POOL 4096

static const uint16_t s_ports[PORTS] = {21,   22,   25,   80,   445,  1194,
                                        3128, 8080, 8081, 8118, 8123, 9050};
//  Port choice weights (per mille), web ports first
static const uint16_t s_port_weight[PORTS] = {20, 120, 60, 420, 90, 10, 40, 150, 30, 20, 10, 30};

typedef enum { KIND_NORMAL, KIND_SCANNER, KIND_SPAMMER } s_kind_t;

typedef struct {
    uint8_t port;     //  Index into s_ports
    uint8_t p_day;    //  Active on a day with probability p_day / 255
    uint16_t rate;    //  Blocks a day, typical
    uint32_t base;    //  Bytes a block, typical
    uint16_t packet;  //  Bytes a packet
    uint16_t spread;  //  Peers a block at most
} s_slot_t;

typedef struct {
    size_t hosts;        //  Hosts generated
    uint32_t *addr;      //  IPv4 address of host i
    uint8_t *kind;       //  s_kind_t of host i
    size_t *first_slot;  //  Slots of host i: first_slot[i] .. first_slot[i + 1]
    s_slot_t *slots;     //  (host, port) profiles, host-major, ports ascending
    size_t slot_count;   //  Entries of slots
} s_model_t;

//  A (host, port) seen in a block of the day being generated
typedef struct {
    uint32_t slot;   //  Index into slots
    uint16_t block;  //  Block of the day
} s_event_t;

//  Expected daily values, as the generator computed them
typedef struct {
    uint64_t value[PROTO_FEATURE_COUNT][PROTO_OP_COUNT];
    bool present;
} s_expect_t;

typedef struct {
    s_model_t model;
    uint64_t seed;
    uint32_t days;       //  Days generated, ending yesterday
    uint32_t first_day;  //  The first of them
    int shard_count;     //  Stores the hosts are split over (1: one store)
    int shard_index;     //  The one this process fills
    //  Exactness: sampled hosts over every day, every host on two days
    size_t sample[SAMPLE_HOSTS];
    int32_t *sample_of;         //  [host]: its index in sample, or -1
    s_expect_t *sample_expect;  //  [sample][port][day]
    uint32_t check_days[2];     //  Days checked in full
    s_expect_t *day_expect[2];  //  [slot] for each check day
    //  Scratch for one day
    s_event_t *events;
    size_t event_capacity;
    proto_pair_t *pairs;
    size_t pair_capacity;
    uint8_t *peers;        //  PEERS_POOL sorted addresses
    uint64_t *slot_state;  //  [slot]: random stream of its values, per day
} s_gen_t;

static uint64_t
s_next (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

//  splitmix64's finaliser: a well-mixed seed from a structured one
static uint64_t
s_mix (uint64_t value)
{
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

static uint64_t
s_range (uint64_t *state, uint64_t low, uint64_t high)
{
    return low + s_next (state) % (high - low + 1);
}

//  --------------------------------------------------------------------------
static void
s_model_build (s_model_t *self, size_t hosts, uint64_t seed)
{
    uint64_t state = seed;
    self->hosts = hosts;
    self->addr = (uint32_t *) malloc (hosts * sizeof (uint32_t));
    self->kind = (uint8_t *) malloc (hosts);
    self->first_slot = (size_t *) malloc ((hosts + 1) * sizeof (size_t));
    self->slots = (s_slot_t *) malloc (hosts * PORTS * sizeof (s_slot_t));
    self->slot_count = 0;
    for (size_t host = 0; host < hosts; host++) {
        self->addr[host] = 0x0a000000 + (uint32_t) host * 16 + (uint32_t) (s_next (&state) & 15);
        uint64_t kind = s_next (&state) % 1000;
        self->kind[host] = kind == 0 ? KIND_SCANNER : kind == 1 ? KIND_SPAMMER : KIND_NORMAL;
        self->first_slot[host] = self->slot_count;
        bool used[PORTS] = {false};
        size_t port_count;
        if (self->kind[host] != KIND_NORMAL) {
            port_count = 1;
            used[self->kind[host] == KIND_SPAMMER ? 2 : (s_next (&state) & 1) ? 1 : 4] = true;
        }
        else {
            uint64_t draw = s_next (&state) % 100;
            port_count = draw < 50   ? 1
                         : draw < 78 ? 2
                         : draw < 88 ? 3
                         : draw < 96 ? s_range (&state, 4, 6)
                                     : s_range (&state, 7, 12);
            for (size_t chosen = 0; chosen < port_count;) {
                uint64_t pick = s_next (&state) % 1000, sum = 0;
                size_t port = 0;
                while (port < PORTS - 1 && (sum += s_port_weight[port]) <= pick)
                    port++;
                if (!used[port]) {
                    used[port] = true;
                    chosen++;
                }
            }
        }
        for (uint8_t port = 0; port < PORTS; port++) {
            if (!used[port])
                continue;
            s_slot_t *slot = &self->slots[self->slot_count++];
            slot->port = port;
            uint64_t draw = s_next (&state) % 100;
            slot->p_day = draw < 25   ? 255
                          : draw < 75 ? (uint8_t) s_range (&state, 128, 230)
                                      : (uint8_t) s_range (&state, 13, 51);
            draw = s_next (&state) % 100;
            slot->rate = draw < 40   ? 1
                         : draw < 65 ? (uint16_t) s_range (&state, 2, 3)
                         : draw < 85 ? (uint16_t) s_range (&state, 4, 20)
                         : draw < 97 ? (uint16_t) s_range (&state, 21, 100)
                                     : (uint16_t) s_range (&state, 101, 288);
            slot->base =
                (uint32_t) (60 << (s_next (&state) % 16)) + (uint32_t) (s_next (&state) % 60);
            slot->packet = (uint16_t) s_range (&state, 60, 1400);
            draw = s_next (&state) % 100;
            slot->spread = draw < 70   ? 1
                           : draw < 90 ? (uint16_t) s_range (&state, 2, 5)
                                       : (uint16_t) s_range (&state, 6, 64);
            if (self->kind[host] == KIND_SCANNER) {
                slot->p_day = 255;
                slot->rate = BLOCKS;
            }
            else if (self->kind[host] == KIND_SPAMMER) {
                slot->p_day = 255;
                slot->rate = (uint16_t) s_range (&state, 100, 288);
            }
        }
    }
    self->first_slot[hosts] = self->slot_count;
}

static void
s_model_free (s_model_t *self)
{
    free (self->addr);
    free (self->kind);
    free (self->first_slot);
    free (self->slots);
}

//  --------------------------------------------------------------------------
//  Host of a slot (binary search over first_slot)
static size_t
s_slot_host (const s_model_t *self, size_t slot)
{
    size_t low = 0, high = self->hosts;
    while (high - low > 1) {
        size_t middle = (low + high) / 2;
        if (self->first_slot[middle] <= slot)
            low = middle;
        else
            high = middle;
    }
    return low;
}

//  One block value of a slot's event (state advances)
static void
s_values (const s_model_t *model, size_t host, const s_slot_t *slot, uint64_t *state,
          uint64_t values[PROTO_FEATURE_COUNT])
{
    uint64_t bytes, packets, durations, peers;
    if (model->kind[host] == KIND_SCANNER) {
        peers = (s_next (state) & 1) ? PEERS_POOL : s_range (state, 1000, PEERS_POOL - 1);
        packets = peers + s_next (state) % 64;
        bytes = packets * 60;
        durations = 0;
    }
    else if (model->kind[host] == KIND_SPAMMER) {
        peers = s_range (state, 20, 420);
        packets = peers * s_range (state, 10, 20);
        bytes = packets * s_range (state, 400, 600);
        durations = packets * s_range (state, 20, 80);
    }
    else {
        bytes = slot->base / 2 + s_next (state) % (slot->base + 1);
        packets = bytes / slot->packet + 1;
        durations = (s_next (state) & 3) ? packets * (s_next (state) % 300) : 0;
        peers = slot->spread > 1 ? s_range (state, 1, slot->spread) : 1;
    }
    values[PROTO_FEATURE_BYTES] = bytes;
    values[PROTO_FEATURE_PACKETS] = packets;
    values[PROTO_FEATURE_DURATIONS] = durations;
    values[PROTO_FEATURE_PEERS] = peers;
}

static void
s_expect_fold (s_expect_t *self, const uint64_t values[PROTO_FEATURE_COUNT])
{
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        uint64_t *row = self->value[feature];
        uint64_t value = values[feature];
        if (!self->present)
            row[PROTO_OP_SUM] = row[PROTO_OP_MAX] = row[PROTO_OP_MIN] = value;
        else {
            row[PROTO_OP_SUM] += value;
            row[PROTO_OP_MAX] = value > row[PROTO_OP_MAX] ? value : row[PROTO_OP_MAX];
            row[PROTO_OP_MIN] = value < row[PROTO_OP_MIN] ? value : row[PROTO_OP_MIN];
        }
    }
    self->present = true;
}

//  --------------------------------------------------------------------------
static bool
s_mine (s_gen_t *self, size_t host)
{
    if (self->shard_count == 1)
        return true;
    proto_addr_t addr;
    proto_addr_from_ipv4 (&addr, self->model.addr[host]);
    return proto_shard_slot (&addr) % (uint32_t) self->shard_count == (uint32_t) self->shard_index;
}

static int
s_compare_events (const void *a, const void *b)
{
    const s_event_t *x = (const s_event_t *) a, *y = (const s_event_t *) b;
    if (x->block != y->block)
        return x->block < y->block ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void
s_pair_at (void *pairs, size_t index, proto_pair_t *pair)
{
    *pair = ((proto_pair_t *) pairs)[index];
}

//  Generate and apply one day: returns the pairs applied, or -1 on failure
static long
s_day (s_gen_t *self, shard_store_t *store, uint32_t day, int64_t now, double *apply_secs)
{
    const s_model_t *model = &self->model;
    uint64_t state = self->seed ^ (0x9e3779b97f4a7c15ULL * (day + 1));
    size_t events = 0;
    for (size_t slot = 0; slot < model->slot_count; slot++) {
        const s_slot_t *profile = &model->slots[slot];
        uint64_t draw = s_next (&state);
        if ((draw & 255) >= profile->p_day && profile->p_day != 255)
            continue;
        uint64_t blocks = profile->rate;
        if (blocks > 1 && blocks < BLOCKS)
            blocks = blocks / 2 + (draw >> 8) % blocks;
        blocks = blocks < 1 ? 1 : blocks > BLOCKS ? BLOCKS : blocks;
        uint64_t start = (draw >> 20) % BLOCKS;
        if (events + blocks > self->event_capacity) {
            self->event_capacity = (events + blocks) * 2;
            self->events =
                (s_event_t *) realloc (self->events, self->event_capacity * sizeof (s_event_t));
        }
        for (uint64_t block = 0; block < blocks; block++)
            self->events[events++] =
                (s_event_t){(uint32_t) slot, (uint16_t) ((start + block) % BLOCKS)};
    }
    qsort (self->events, events, sizeof (s_event_t), s_compare_events);
    for (size_t slot = 0; slot < model->slot_count; slot++)
        self->slot_state[slot] =
            s_mix (self->seed ^ (day * 0x9e3779b97f4a7c15ULL) ^ (slot << 20)) | 1;
    int check = day == self->check_days[0] ? 0 : day == self->check_days[1] ? 1 : -1;
    long applied = 0;
    for (size_t first = 0; first < events;) {
        uint16_t block = self->events[first].block;
        size_t count = 0;
        size_t index = first;
        for (; index < events && self->events[index].block == block; index++) {
            size_t slot = self->events[index].slot;
            size_t host = s_slot_host (model, slot);
            const s_slot_t *profile = &model->slots[slot];
            //  Values come from the slot's own stream, so that a store that skips other
            //  stores' hosts still gets the same values for its own
            if (!s_mine (self, host))
                continue;
            uint64_t values[PROTO_FEATURE_COUNT];
            s_values (model, host, profile, &self->slot_state[slot], values);
            if (check >= 0)
                s_expect_fold (&self->day_expect[check][slot], values);
            int32_t sample = self->sample_of[host];
            if (sample >= 0)
                s_expect_fold (
                    &self->sample_expect[((size_t) sample * PORTS + profile->port) * self->days +
                                         (day - self->first_day)],
                    values);
            if (count == self->pair_capacity) {
                self->pair_capacity = self->pair_capacity ? self->pair_capacity * 2 : 65536;
                self->pairs = (proto_pair_t *) realloc (self->pairs, self->pair_capacity *
                                                                         sizeof (proto_pair_t));
            }
            proto_pair_t *pair = &self->pairs[count++];
            proto_addr_from_ipv4 (&pair->addr, model->addr[host]);
            pair->port = s_ports[profile->port];
            pair->bytes = values[PROTO_FEATURE_BYTES];
            pair->packets = values[PROTO_FEATURE_PACKETS];
            pair->durations = values[PROTO_FEATURE_DURATIONS];
            pair->peers_kind = PROTO_PEERS_EXACT;
            pair->peers = self->peers;
            pair->peers_size = values[PROTO_FEATURE_PEERS] * PROTO_ADDR_SIZE;
        }
        first = index;
        int64_t block_start = (int64_t) day * 86400 + block * 300;
        char file[64];
        snprintf (file, sizeof file, "nfcapd.%lld", (long long) block_start);
        shard_part_result_t result;
        int64_t start = zclock_usecs ();
        int rc = shard_store_apply_part (store, "scale", file, block_start, s_pair_at, self->pairs,
                                         count, now, &result);
        *apply_secs += (zclock_usecs () - start) / 1e6;
        if (rc != SHARD_STORE_OK || !result.final || result.expired) {
            fprintf (stderr, "apply failed (day %u block %u): %s\n", day, block,
                     shard_store_error (store));
            return -1;
        }
        applied += (long) count;
    }
    return applied;
}

//  --------------------------------------------------------------------------
//  Archive finished days; the longest transaction into *longest (msecs)
static int
s_archive (shard_store_t *store, int64_t now, double *longest, double *secs)
{
    bool more = true;
    while (more) {
        int64_t start = zclock_usecs ();
        if (shard_store_archive (store, now, SHARD_ARCHIVE_BATCH, &more)) {
            fprintf (stderr, "archive failed: %s\n", shard_store_error (store));
            return -1;
        }
        double msecs = (zclock_usecs () - start) / 1000.0;
        *longest = msecs > *longest ? msecs : *longest;
        *secs += msecs / 1000;
    }
    return 0;
}

static void
s_gen_init (s_gen_t *self, size_t hosts, uint32_t days, uint32_t first_day, uint64_t seed)
{
    memset (self, 0, sizeof *self);
    self->seed = seed;
    self->days = days;
    self->first_day = first_day;
    self->shard_count = 1;
    s_model_build (&self->model, hosts, seed);
    uint64_t state = seed * 31 + 7;
    self->sample_of = (int32_t *) malloc (hosts * sizeof (int32_t));
    for (size_t host = 0; host < hosts; host++)
        self->sample_of[host] = -1;
    //  A scanner and a spam bot, then distinct hosts at random
    size_t found = 0;
    for (size_t host = 0; host < hosts && found < 2; host++)
        if (self->model.kind[host] == (found ? KIND_SPAMMER : KIND_SCANNER)) {
            self->sample_of[host] = (int32_t) found;
            self->sample[found++] = host;
        }
    while (found < SAMPLE_HOSTS) {
        size_t host = s_next (&state) % hosts;
        if (self->sample_of[host] < 0) {
            self->sample_of[host] = (int32_t) found;
            self->sample[found++] = host;
        }
    }
    self->sample_expect =
        (s_expect_t *) calloc ((size_t) SAMPLE_HOSTS * PORTS * days, sizeof (s_expect_t));
    self->check_days[0] = first_day + days - 1;
    self->check_days[1] = first_day + days / 2;
    for (int index = 0; index < 2; index++)
        self->day_expect[index] =
            (s_expect_t *) calloc (self->model.slot_count, sizeof (s_expect_t));
    self->slot_state = (uint64_t *) malloc (self->model.slot_count * sizeof (uint64_t));
    self->peers = (uint8_t *) malloc (PEERS_POOL * PROTO_ADDR_SIZE);
    for (uint32_t peer = 0; peer < PEERS_POOL; peer++) {
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, 0xc6120000 + peer);
        memcpy (self->peers + peer * PROTO_ADDR_SIZE, addr.bytes, PROTO_ADDR_SIZE);
    }
}

static void
s_gen_free (s_gen_t *self)
{
    s_model_free (&self->model);
    free (self->sample_of);
    free (self->sample_expect);
    free (self->day_expect[0]);
    free (self->day_expect[1]);
    free (self->events);
    free (self->pairs);
    free (self->peers);
    free (self->slot_state);
}

//  --------------------------------------------------------------------------
//  Exactness checks

typedef struct {
    proto_point_t points[PORTS * 400];
    size_t count;
} s_points_t;

static void
s_on_point (void *arg, const proto_point_t *point)
{
    s_points_t *points = (s_points_t *) arg;
    if (points->count < sizeof points->points / sizeof points->points[0])
        points->points[points->count++] = *point;
}

typedef struct {
    proto_top_t entries[PORTS * PROTO_FEATURE_COUNT * 10];
    size_t count;
} s_tops_t;

static void
s_on_top (void *arg, const proto_top_t *entry)
{
    s_tops_t *tops = (s_tops_t *) arg;
    if (tops->count < sizeof tops->entries / sizeof tops->entries[0])
        tops->entries[tops->count++] = *entry;
}

typedef struct {
    uint32_t addr;
    uint64_t score;
} s_ranked_t;

static int
s_compare_ranked (const void *a, const void *b)
{
    const s_ranked_t *x = (const s_ranked_t *) a, *y = (const s_ranked_t *) b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

//  Series of the sampled hosts: every feature x op, every port.  Returns mismatches.
static size_t
s_check_series (s_gen_t *self, shard_store_t *store, size_t *checked)
{
    size_t wrong = 0;
    uint32_t last = self->first_day + self->days - 1;
    s_points_t *points = (s_points_t *) malloc (sizeof (s_points_t));
    for (size_t sample = 0; sample < SAMPLE_HOSTS; sample++) {
        if (!s_mine (self, self->sample[sample]))
            continue;
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, self->model.addr[self->sample[sample]]);
        for (uint8_t feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
            for (uint8_t op = 0; op < PROTO_OP_COUNT; op++) {
                points->count = 0;
                shard_store_series (store, &addr, PROTO_PORT_ALL, feature, op, self->first_day,
                                    last, s_on_point, points);
                size_t expected = 0;
                for (size_t port = 0; port < PORTS; port++)
                    for (uint32_t day = 0; day < self->days; day++) {
                        const s_expect_t *expect =
                            &self->sample_expect[(sample * PORTS + port) * self->days + day];
                        if (!expect->present)
                            continue;
                        //  Points come ascending by port then day, as ours
                        const proto_point_t *point =
                            expected < points->count ? &points->points[expected] : NULL;
                        if (!point || point->port != s_ports[port] ||
                            point->day != self->first_day + day ||
                            point->score != expect->value[feature][op])
                            wrong++;
                        expected++;
                    }
                wrong += points->count != expected;
                (*checked)++;
            }
    }
    free (points);
    return wrong;
}

//  The encoding of the rows of the last day, from the generator's own values: mean
//  bytes a row in a chunk, by how many distinct values the row holds
static void
s_row_sizes (s_gen_t *self)
{
    const s_model_t *model = &self->model;
    size_t rows[3] = {0, 0, 0}, bytes[3] = {0, 0, 0};
    for (uint8_t port = 0; port < PORTS; port++) {
        proto_addr_t previous;
        bool have_previous = false;
        for (size_t host = 0; host < model->hosts; host++)
            for (size_t slot = model->first_slot[host]; slot < model->first_slot[host + 1];
                 slot++) {
                const s_expect_t *expect = &self->day_expect[0][slot];
                if (model->slots[slot].port != port || !expect->present)
                    continue;
                shard_chunk_row_t row;
                proto_addr_from_ipv4 (&row.addr, model->addr[host]);
                memcpy (row.row.value, expect->value, sizeof row.row.value);
                row.row.flags = expect->value[PROTO_FEATURE_PEERS][PROTO_OP_MAX] >= PROTO_PEERS_CAP
                                    ? SHARD_ROW_PEERS_CAPPED
                                    : 0;
                //  0: one block (sum = max = min everywhere), 1: two (sum = max + min), 2: more
                int kind = 2;
                bool one = true, two = true;
                for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
                    const uint64_t *value = expect->value[feature];
                    one = one && value[PROTO_OP_SUM] == value[PROTO_OP_MIN] &&
                          value[PROTO_OP_MAX] == value[PROTO_OP_MIN];
                    two = two && value[PROTO_OP_SUM] == value[PROTO_OP_MAX] + value[PROTO_OP_MIN];
                }
                kind = one ? 0 : two ? 1 : 2;
                rows[kind]++;
                bytes[kind] += shard_chunk_row_size (have_previous ? &previous : NULL, &row);
                previous = row.addr;
                have_previous = true;
            }
    }
    size_t total_rows = rows[0] + rows[1] + rows[2];
    size_t total_bytes = bytes[0] + bytes[1] + bytes[2];
    const char *names[] = {"one block or equal values", "sum = max + min", "other"};
    printf ("  row encoding (day %u, from the generator's values): %.2f bytes a row on "
            "average;",
            self->check_days[0] - self->first_day + 1, (double) total_bytes / (double) total_rows);
    for (int kind = 0; kind < 3; kind++)
        printf (" %s %.0f %% at %.1f B%s", names[kind], 100.0 * rows[kind] / total_rows,
                rows[kind] ? (double) bytes[kind] / (double) rows[kind] : 0, kind < 2 ? "," : "\n");
}

//  Top lists of the check days: every port, feature and op.  Returns mismatches.
static size_t
s_check_tops (s_gen_t *self, shard_store_t *store, size_t *checked)
{
    const s_model_t *model = &self->model;
    size_t wrong = 0;
    s_ranked_t *ranked = (s_ranked_t *) malloc (model->hosts * sizeof (s_ranked_t));
    s_tops_t *tops = (s_tops_t *) malloc (sizeof (s_tops_t));
    for (int check = 0; check < 2; check++)
        for (uint8_t op = 0; op < PROTO_OP_COUNT; op++) {
            tops->count = 0;
            shard_store_top (store, self->check_days[check], op, PROTO_PORT_ALL, s_on_top, tops);
            size_t at = 0;
            for (uint8_t port = 0; port < PORTS; port++)
                for (uint8_t feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
                    size_t count = 0;
                    for (size_t host = 0; host < model->hosts; host++)
                        for (size_t slot = model->first_slot[host];
                             slot < model->first_slot[host + 1]; slot++) {
                            const s_expect_t *expect = &self->day_expect[check][slot];
                            if (model->slots[slot].port == port && expect->present &&
                                s_mine (self, host))
                                ranked[count++] =
                                    (s_ranked_t){model->addr[host], expect->value[feature][op]};
                        }
                    qsort (ranked, count, sizeof (s_ranked_t), s_compare_ranked);
                    for (size_t rank = 0; rank < count && rank < 10; rank++, at++) {
                        proto_addr_t addr;
                        proto_addr_from_ipv4 (&addr, ranked[rank].addr);
                        if (at >= tops->count || tops->entries[at].port != s_ports[port] ||
                            tops->entries[at].feature != feature ||
                            tops->entries[at].score != ranked[rank].score ||
                            memcmp (&tops->entries[at].addr, &addr, sizeof addr) != 0)
                            wrong++;
                    }
                    (*checked)++;
                }
            wrong += at != tops->count;
        }
    free (tops);
    free (ranked);
    return wrong;
}

//  --------------------------------------------------------------------------
//  Latency percentiles

static double
s_load (void)
{
    double load[1] = {0};
    getloadavg (load, 1);
    return load[0];
}

//  CPU seconds (user + system) of this process, or of its waited-for children
static double
s_cpu_secs (int who)
{
    struct rusage usage;
    getrusage (who, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void
s_on_count (void *arg, const void *entry)
{
    (void) entry;
    (*(size_t *) arg)++;
}

static void
s_on_top_count (void *arg, const proto_top_t *entry)
{
    s_on_count (arg, entry);
}

static void
s_on_point_count (void *arg, const proto_point_t *point)
{
    s_on_count (arg, point);
}

//  Thread CPU time, usecs: a query's own cost, without the time other processes took
//  the core from it
static double
s_cpu_usecs (void)
{
    struct timespec now;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

static void
s_latencies (s_gen_t *self, shard_store_t *store, size_t repeat)
{
    double *msecs = (double *) malloc (repeat * sizeof (double));
    double *cpu = (double *) malloc (repeat * sizeof (double));
    uint64_t state = self->seed + 99;
    size_t answers = 0;
    uint32_t last = self->first_day + self->days - 1;
    for (size_t index = 0; index < repeat; index++) {
        uint32_t day = last - (uint32_t) (s_next (&state) % self->days);
        int64_t start = zclock_usecs ();
        double cpu_start = s_cpu_usecs ();
        shard_store_top (store, day, PROTO_OP_SUM, PROTO_PORT_ALL, s_on_top_count, &answers);
        cpu[index] = (s_cpu_usecs () - cpu_start) / 1000.0;
        msecs[index] = (zclock_usecs () - start) / 1000.0;
    }
    qsort (msecs, repeat, sizeof (double), s_compare_double);
    qsort (cpu, repeat, sizeof (double), s_compare_double);
    printf ("overview (top of a day, all ports, op sum): p50 %.3f ms, p99 %.3f ms, max %.3f ms "
            "(%zu entries a day); CPU time p50 %.3f ms, p99 %.3f ms\n",
            msecs[repeat / 2], msecs[repeat * 99 / 100], msecs[repeat - 1], answers / repeat,
            cpu[repeat / 2], cpu[repeat * 99 / 100]);
    answers = 0;
    for (size_t index = 0; index < repeat; index++) {
        //  Hosts with traffic on most days: a third of the sample, the rest at random
        size_t host = index % 3 ? s_next (&state) % self->model.hosts
                                : self->sample[s_next (&state) % SAMPLE_HOSTS];
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, self->model.addr[host]);
        int64_t start = zclock_usecs ();
        double cpu_start = s_cpu_usecs ();
        shard_store_series (store, &addr, PROTO_PORT_ALL, PROTO_FEATURE_BYTES, PROTO_OP_SUM,
                            self->first_day, last, s_on_point_count, &answers);
        cpu[index] = (s_cpu_usecs () - cpu_start) / 1000.0;
        msecs[index] = (zclock_usecs () - start) / 1000.0;
    }
    qsort (msecs, repeat, sizeof (double), s_compare_double);
    qsort (cpu, repeat, sizeof (double), s_compare_double);
    printf ("series, ALL*, %u days: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%.1f points a "
            "series); CPU time p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
            self->days, msecs[repeat / 2], msecs[repeat * 99 / 100], msecs[repeat - 1],
            (double) answers / (double) repeat, cpu[repeat / 2], cpu[repeat * 99 / 100],
            cpu[repeat - 1]);
    free (msecs);
    free (cpu);
}

//  --------------------------------------------------------------------------
static void
s_remove (const char *dir)
{
    const char *files[] = {"data.mdb", "lock.mdb", "shard.lock"};
    for (size_t index = 0; index < 3; index++) {
        char *file = zsys_sprintf ("%s/%s", dir, files[index]);
        unlink (file);
        zstr_free (&file);
    }
    rmdir (dir);
}

//  Fill days [first_day, first_day + days) into store; pairs applied, -1 on failure
static long
s_fill (s_gen_t *self, shard_store_t *store, int64_t now, bool verbose, double *apply_secs,
        double *archive_secs, double *archive_longest, uint64_t *bytes_after_day)
{
    long total = 0;
    for (uint32_t day = self->first_day; day < self->first_day + self->days; day++) {
        long pairs = s_day (self, store, day, now, apply_secs);
        if (pairs < 0)
            return -1;
        total += pairs;
        //  The shard's maintenance archives finished days (here: once the next is in)
        if (s_archive (store, (int64_t) (day + 2) * 86400, archive_longest, archive_secs))
            return -1;
        if (bytes_after_day) {
            shard_store_stats_t stats;
            shard_store_stats (store, &stats);
            bytes_after_day[day - self->first_day] = stats.lmdb_bytes;
        }
        if (verbose)
            fprintf (stderr, "day %u/%u: %ld pairs, %.1f MB\r", day - self->first_day + 1,
                     self->days, pairs,
                     bytes_after_day ? bytes_after_day[day - self->first_day] / 1e6 : 0);
    }
    return total;
}

//  Ingest throughput with shard_count stores in as many processes: pairs/s
static double
s_throughput (size_t hosts, uint32_t days, uint64_t seed, int shard_count, long *pairs_out,
              double *secs_out)
{
    int64_t now = zclock_time () / 1000;
    uint32_t today = proto_day_of (now);
    int fds[8][2];
    pid_t pids[8];
    int64_t start = zclock_usecs ();
    for (int index = 0; index < shard_count; index++) {
        if (pipe (fds[index]))
            return 0;
        pids[index] = fork ();
        if (pids[index] == 0) {
            s_gen_t gen;
            s_gen_init (&gen, hosts, days, today - days, seed);
            gen.shard_count = shard_count;
            gen.shard_index = index;
            char dir[] = "/tmp/scale_shard.XXXXXX";
            long pairs = -1;
            if (mkdtemp (dir)) {
                shard_store_t *store = shard_store_new (dir, 64ULL << 30);
                double apply = 0, archive = 0, longest = 0;
                if (store)
                    pairs = s_fill (&gen, store, now, false, &apply, &archive, &longest, NULL);
                shard_store_destroy (&store);
                s_remove (dir);
            }
            s_gen_free (&gen);
            if (write (fds[index][1], &pairs, sizeof pairs) != sizeof pairs)
                _exit (1);
            _exit (0);
        }
        close (fds[index][1]);
    }
    long total = 0;
    for (int index = 0; index < shard_count; index++) {
        long pairs = -1;
        if (read (fds[index][0], &pairs, sizeof pairs) != sizeof pairs || pairs < 0)
            total = -1;
        else if (total >= 0)
            total += pairs;
        close (fds[index][0]);
        waitpid (pids[index], NULL, 0);
    }
    double secs = (zclock_usecs () - start) / 1e6;
    *pairs_out = total;
    *secs_out = secs;
    return total > 0 ? total / secs : 0;
}

int
main (int argc, char *argv[])
{
    size_t hosts = 100000, expire_hosts = 0, throughput_hosts = 20000;
    uint32_t days = 180, throughput_days = 3;
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    bool keep = false, throughput = true;
    int option;
    while ((option = getopt (argc, argv, "n:d:e:t:T:s:kqh")) != -1) {
        if (option == 'n')
            hosts = strtoul (optarg, NULL, 10);
        else if (option == 'd')
            days = (uint32_t) strtoul (optarg, NULL, 10);
        else if (option == 'e')
            expire_hosts = strtoul (optarg, NULL, 10);
        else if (option == 't')
            throughput_hosts = strtoul (optarg, NULL, 10);
        else if (option == 'T')
            throughput_days = (uint32_t) strtoul (optarg, NULL, 10);
        else if (option == 's')
            seed = strtoull (optarg, NULL, 0);
        else if (option == 'k')
            keep = true;
        else if (option == 'q')
            throughput = false;
        else {
            fprintf (stderr,
                     "usage: scale [-n HOSTS] [-d DAYS] [-e EXPIRE_HOSTS] [-t THROUGHPUT_HOSTS]\n"
                     "             [-T THROUGHPUT_DAYS] [-s SEED] [-k] [-q]\n"
                     "  -n hosts of the main data set (100000), -d its days (180)\n"
                     "  -e also fill EXPIRE_HOSTS hosts x 2 days apart and expire the first\n"
                     "  -t, -T hosts and days of the 1/2/4-store throughput runs (20000, 3)\n"
                     "  -k keep the store (path printed), -q skip the throughput runs\n");
            return option == 'h' ? 0 : 2;
        }
    }
    if (hosts < SAMPLE_HOSTS || days < 3 || days > 400)
        return 2;
    zsys_init ();
    zsys_set_logstream (NULL);
    int64_t now = zclock_time () / 1000;
    uint32_t today = proto_day_of (now);
    s_gen_t gen;
    s_gen_init (&gen, hosts, days, today - days, seed);
    printf ("bench/scale: %zu hosts x %u days (ending yesterday), %zu (host, port) profiles "
            "(%.2f ports a host), seed %#llx; %ld cores\n",
            hosts, days, gen.model.slot_count, (double) gen.model.slot_count / (double) hosts,
            (unsigned long long) seed, sysconf (_SC_NPROCESSORS_ONLN));
    printf ("load average at start %.1f\n", s_load ());
    printf ("path: parts applied through the shard store API (shard_store_apply_part), one "
            "part a 5-minute block, final on arrival; no ZeroMQ\n");
    char dir[] = "/tmp/scale_bench.XXXXXX";
    if (!mkdtemp (dir))
        return 1;
    shard_store_t *store = shard_store_new (dir, 256ULL << 30);
    if (!store)
        return 1;
    shard_store_set_retention_days (store, days);
    uint64_t *bytes_after_day = (uint64_t *) calloc (days, sizeof (uint64_t));
    double apply_secs = 0, archive_secs = 0, archive_longest = 0;
    double cpu_start = s_cpu_secs (RUSAGE_SELF);
    int64_t start = zclock_usecs ();
    long pairs = s_fill (&gen, store, now, true, &apply_secs, &archive_secs, &archive_longest,
                         bytes_after_day);
    double fill_secs = (zclock_usecs () - start) / 1e6;
    double fill_cpu = s_cpu_secs (RUSAGE_SELF) - cpu_start;
    if (pairs < 0)
        return 1;
    shard_store_stats_t stats;
    shard_store_stats (store, &stats);
    struct stat file_stat;
    char *path = zsys_sprintf ("%s/data.mdb", dir);
    stat (path, &file_stat);
    zstr_free (&path);
    double rows_per_host_day = (double) stats.rows / (double) hosts / (double) days;
    printf ("\nfill: %ld block values (pairs) in %.1f s (%.0f pairs/s, %.0f rows/s; apply "
            "%.1f s, archive %.1f s, longest archive transaction %.1f ms); %.1f CPU s (%.0f "
            "pairs a CPU second, generator included)\n",
            pairs, fill_secs, pairs / fill_secs, stats.rows / fill_secs, apply_secs, archive_secs,
            archive_longest, fill_cpu, pairs / fill_cpu);
    printf ("  to fill 10^6 hosts x 180 days of this model: %.0f pairs, %.1f h at this rate, "
            "%.1f CPU h\n",
            pairs * (1e6 / hosts) * (180.0 / days),
            pairs * (1e6 / hosts) * (180.0 / days) / (pairs / fill_secs) / 3600,
            pairs * (1e6 / hosts) * (180.0 / days) / (pairs / fill_cpu) / 3600);
    printf ("rows: %llu daily (host, port, day) rows (%.2f ports a host a day), %llu in chunks; "
            "%llu hosts\n",
            (unsigned long long) stats.rows, rows_per_host_day,
            (unsigned long long) stats.archived_rows, (unsigned long long) stats.hosts);
    double per_row = (double) stats.lmdb_bytes / (double) stats.rows;
    printf ("bytes on disk: LMDB in use %.1f MB (file %.1f MB): %.2f bytes per row, "
            "everything included\n",
            stats.lmdb_bytes / 1e6, file_stat.st_size / 1e6, per_row);
    printf ("  daily rows alone (days + chunks pages): %.2f bytes per row\n",
            (double) stats.rows_bytes / (double) stats.rows);
    if (days > 12) {
        size_t from = days / 2, to = days - 1;
        double growth =
            (double) (bytes_after_day[to] - bytes_after_day[from]) / (double) (to - from);
        double rows_a_day = (double) stats.rows / days;
        printf ("  steady state (days %zu..%zu): the file grows %.2f MB a day: %.2f bytes per "
                "row\n",
                from + 1, to + 1, growth / 1e6, growth / rows_a_day);
    }
    s_row_sizes (&gen);
    //  What scales with rows, with hosts, with days; free pages (the high-water mark of a
    //  day under way in `days`, and of one transaction's copies) with a day's rows
    double row_bytes = (double) stats.rows_bytes / (double) stats.rows;
    double host_bytes = (double) stats.hosts_bytes / (double) stats.hosts;
    double day_bytes = (double) stats.other_bytes / days;
    double used = (double) (stats.rows_bytes + stats.hosts_bytes + stats.other_bytes);
    double free_bytes = stats.lmdb_bytes > used ? stats.lmdb_bytes - used : 0;
    double free_per_day_row = free_bytes / ((double) stats.rows / days);
    printf ("  by what it scales with: %.2f bytes a row (days + chunks), %.1f bytes a host "
            "(hosts, notes), %.0f bytes a day (top lists, blocks, part ids), free pages %.1f "
            "MB (%.1f bytes per row of one day)\n",
            row_bytes, host_bytes, day_bytes, free_bytes / 1e6, free_per_day_row);
    printf ("projection, 10^6 hosts x 180 days (rows x %.2f + hosts x %.1f + days x %.0f + "
            "one day's rows x %.1f free):\n",
            row_bytes, host_bytes, day_bytes, free_per_day_row);
    double ports[] = {3, 6.35, 12, rows_per_host_day};
    for (size_t index = 0; index < 4; index++) {
        double rows = 1e6 * 180 * ports[index];
        double total =
            rows * row_bytes + 1e6 * host_bytes + 180 * day_bytes + rows / 180 * free_per_day_row;
        printf ("  %5.2f ports a host a day%s: %.2f GB, %.2f bytes per row everything "
                "included\n",
                ports[index], index == 3 ? " (this model)" : "", total / 1e9, total / rows);
    }

    s_latencies (&gen, store, 2000);
    size_t checked_series = 0, checked_tops = 0;
    size_t wrong_series = s_check_series (&gen, store, &checked_series);
    size_t wrong_tops = s_check_tops (&gen, store, &checked_tops);
    printf ("exactness: %zu series (%d sampled hosts x 12 feature x op, every port, %u days) "
            "%s; %zu top lists (days %u and %u, every port x feature x op) %s\n",
            checked_series, SAMPLE_HOSTS, days, wrong_series ? "MISMATCH" : "equal the generator's",
            checked_tops, gen.check_days[0] - gen.first_day + 1,
            gen.check_days[1] - gen.first_day + 1,
            wrong_tops ? "MISMATCH" : "equal the generator's");
    if (wrong_series || wrong_tops)
        printf ("  %zu series points and %zu top entries differ\n", wrong_series, wrong_tops);

    //  Expire the oldest day: retention of days - 1 days
    shard_store_set_retention_days (store, days - 1);
    bool more = true;
    double longest = 0;
    size_t batches = 0;
    start = zclock_usecs ();
    while (more) {
        int64_t batch_start = zclock_usecs ();
        if (shard_store_expire (store, now, SHARD_EXPIRE_BATCH, &more))
            return 1;
        double msecs = (zclock_usecs () - batch_start) / 1000.0;
        longest = msecs > longest ? msecs : longest;
        batches++;
    }
    shard_store_stats_t after;
    shard_store_stats (store, &after);
    printf ("expire the oldest day (%llu rows of %zu hosts): %.2f s in %zu transactions, "
            "longest %.1f ms\n",
            (unsigned long long) (stats.rows - after.rows), hosts, (zclock_usecs () - start) / 1e6,
            batches, longest);
    shard_store_destroy (&store);
    if (keep)
        printf ("store kept in %s\n", dir);
    else
        s_remove (dir);
    s_gen_free (&gen);
    free (bytes_after_day);

    if (expire_hosts) {
        //  A day of expire_hosts hosts, then the next day, then expire the first
        s_gen_t big;
        s_gen_init (&big, expire_hosts, 2, today - 2, seed + 1);
        char big_dir[] = "/tmp/scale_expire.XXXXXX";
        if (!mkdtemp (big_dir) || !(store = shard_store_new (big_dir, 256ULL << 30)))
            return 1;
        shard_store_set_retention_days (store, 2);
        double apply = 0, archive = 0, archive_max = 0;
        start = zclock_usecs ();
        long big_pairs = s_fill (&big, store, now, true, &apply, &archive, &archive_max, NULL);
        if (big_pairs < 0)
            return 1;
        printf ("\n%zu hosts x 2 days: %ld pairs in %.1f s (%.0f pairs/s), longest archive "
                "transaction %.1f ms\n",
                expire_hosts, big_pairs, (zclock_usecs () - start) / 1e6,
                big_pairs / ((zclock_usecs () - start) / 1e6), archive_max);
        shard_store_stats (store, &stats);
        shard_store_set_retention_days (store, 1);
        more = true;
        longest = 0;
        batches = 0;
        start = zclock_usecs ();
        while (more) {
            int64_t batch_start = zclock_usecs ();
            if (shard_store_expire (store, now, SHARD_EXPIRE_BATCH, &more))
                return 1;
            double msecs = (zclock_usecs () - batch_start) / 1000.0;
            longest = msecs > longest ? msecs : longest;
            batches++;
        }
        shard_store_stats (store, &after);
        printf ("expire one day of %zu hosts (%llu rows, %llu host records examined): %.2f s "
                "in %zu transactions of <= %d deletions, longest %.1f ms\n",
                expire_hosts, (unsigned long long) (stats.rows - after.rows),
                (unsigned long long) stats.hosts, (zclock_usecs () - start) / 1e6, batches,
                SHARD_EXPIRE_BATCH, longest);
        shard_store_destroy (&store);
        s_remove (big_dir);
        s_gen_free (&big);
    }

    if (throughput) {
        printf ("\ningest throughput, %zu hosts x %u days split over N stores in N processes "
                "(parts through the store API, archive included), %ld cores:\n",
                throughput_hosts, throughput_days, sysconf (_SC_NPROCESSORS_ONLN));
        double one = 0;
        int counts[] = {1, 2, 4};
        for (size_t index = 0; index < 3; index++) {
            long total = 0;
            double secs = 0, cpu = s_cpu_secs (RUSAGE_CHILDREN);
            double rate = s_throughput (throughput_hosts, throughput_days, seed, counts[index],
                                        &total, &secs);
            cpu = s_cpu_secs (RUSAGE_CHILDREN) - cpu;
            if (index == 0)
                one = rate;
            printf ("  %d store%s: %ld pairs in %.1f s, %.0f pairs/s, %.2fx one store (%.1f CPU "
                    "s, load average %.1f at the end)\n",
                    counts[index], counts[index] > 1 ? "s" : " ", total, secs, rate,
                    one > 0 ? rate / one : 0, cpu, s_load ());
        }
    }
    return 0;
}
