/*  scale_model.c - bench/scale's traffic model and generator (see scale_model.h; the
    model is described at the top of scale.c).
*/
#include "bench/scale_model.h"
#include "shard/shard_chunk.h"
#include "shard/shard_compact.h"
#include "shard/shard_segments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const uint16_t scale_ports[PORTS] = {21, 22, 25, 80, 445, 1194, 3128, 8080, 8081, 8118, 8123, 9050};
//  Port choice weights (per mille), web ports first
static const uint16_t s_port_weight[PORTS] = {20, 120, 60, 420, 90, 10, 40, 150, 30, 20, 10, 30};

uint64_t
scale_next (uint64_t *state)
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
    return low + scale_next (state) % (high - low + 1);
}

//  --------------------------------------------------------------------------
static void
s_model_build (scale_model_t *self, size_t hosts, uint64_t seed)
{
    uint64_t state = seed;
    self->hosts = hosts;
    self->addr = (uint32_t *) malloc (hosts * sizeof (uint32_t));
    self->kind = (uint8_t *) malloc (hosts);
    self->first_slot = (size_t *) malloc ((hosts + 1) * sizeof (size_t));
    self->slots = (scale_slot_t *) malloc (hosts * PORTS * sizeof (scale_slot_t));
    self->slot_count = 0;
    for (size_t host = 0; host < hosts; host++) {
        self->addr[host] =
            0x0a000000 + (uint32_t) host * 16 + (uint32_t) (scale_next (&state) & 15);
        uint64_t kind = scale_next (&state) % 1000;
        self->kind[host] = kind == 0 ? KIND_SCANNER : kind == 1 ? KIND_SPAMMER : KIND_NORMAL;
        self->first_slot[host] = self->slot_count;
        bool used[PORTS] = {false};
        size_t port_count;
        if (self->kind[host] != KIND_NORMAL) {
            port_count = 1;
            used[self->kind[host] == KIND_SPAMMER ? 2 : (scale_next (&state) & 1) ? 1 : 4] = true;
        }
        else {
            uint64_t draw = scale_next (&state) % 100;
            port_count = draw < 50   ? 1
                         : draw < 78 ? 2
                         : draw < 88 ? 3
                         : draw < 96 ? s_range (&state, 4, 6)
                                     : s_range (&state, 7, 12);
            for (size_t chosen = 0; chosen < port_count;) {
                uint64_t pick = scale_next (&state) % 1000, sum = 0;
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
            scale_slot_t *slot = &self->slots[self->slot_count++];
            slot->port = port;
            uint64_t draw = scale_next (&state) % 100;
            slot->p_day = draw < 25   ? 255
                          : draw < 75 ? (uint8_t) s_range (&state, 128, 230)
                                      : (uint8_t) s_range (&state, 13, 51);
            draw = scale_next (&state) % 100;
            slot->rate = draw < 40   ? 1
                         : draw < 65 ? (uint16_t) s_range (&state, 2, 3)
                         : draw < 85 ? (uint16_t) s_range (&state, 4, 20)
                         : draw < 97 ? (uint16_t) s_range (&state, 21, 100)
                                     : (uint16_t) s_range (&state, 101, 288);
            slot->base = (uint32_t) (60 << (scale_next (&state) % 16)) +
                         (uint32_t) (scale_next (&state) % 60);
            slot->packet = (uint16_t) s_range (&state, 60, 1400);
            draw = scale_next (&state) % 100;
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
s_model_free (scale_model_t *self)
{
    free (self->addr);
    free (self->kind);
    free (self->first_slot);
    free (self->slots);
}

//  --------------------------------------------------------------------------
//  Host of a slot (binary search over first_slot)
static size_t
s_slot_host (const scale_model_t *self, size_t slot)
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
s_values (const scale_model_t *model, size_t host, const scale_slot_t *slot, uint64_t *state,
          uint64_t values[PROTO_FEATURE_COUNT])
{
    uint64_t bytes, packets, durations, peers;
    if (model->kind[host] == KIND_SCANNER) {
        peers = (scale_next (state) & 1) ? PEERS_POOL : s_range (state, 1000, PEERS_POOL - 1);
        packets = peers + scale_next (state) % 64;
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
        bytes = slot->base / 2 + scale_next (state) % (slot->base + 1);
        packets = bytes / slot->packet + 1;
        durations = (scale_next (state) & 3) ? packets * (scale_next (state) % 300) : 0;
        peers = slot->spread > 1 ? s_range (state, 1, slot->spread) : 1;
    }
    values[PROTO_FEATURE_BYTES] = bytes;
    values[PROTO_FEATURE_PACKETS] = packets;
    values[PROTO_FEATURE_DURATIONS] = durations;
    values[PROTO_FEATURE_PEERS] = peers;
}

static void
s_expect_fold (scale_expect_t *self, const uint64_t values[PROTO_FEATURE_COUNT])
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
bool
scale_mine (scale_gen_t *self, size_t host)
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
    const scale_event_t *x = (const scale_event_t *) a, *y = (const scale_event_t *) b;
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
long
scale_day (scale_gen_t *self, shard_store_t *store, uint32_t day, int64_t now, scale_txns_t *txns)
{
    const scale_model_t *model = &self->model;
    uint64_t state = self->seed ^ (0x9e3779b97f4a7c15ULL * (day + 1));
    size_t events = 0;
    for (size_t slot = 0; slot < model->slot_count; slot++) {
        const scale_slot_t *profile = &model->slots[slot];
        uint64_t draw = scale_next (&state);
        if ((draw & 255) >= profile->p_day && profile->p_day != 255)
            continue;
        uint64_t blocks = profile->rate;
        if (blocks > 1 && blocks < BLOCKS)
            blocks = blocks / 2 + (draw >> 8) % blocks;
        blocks = blocks < 1 ? 1 : blocks > BLOCKS ? BLOCKS : blocks;
        uint64_t start = (draw >> 20) % BLOCKS;
        if (events + blocks > self->event_capacity) {
            self->event_capacity = (events + blocks) * 2;
            self->events = (scale_event_t *) realloc (self->events, self->event_capacity *
                                                                        sizeof (scale_event_t));
        }
        for (uint64_t block = 0; block < blocks; block++)
            self->events[events++] =
                (scale_event_t){(uint32_t) slot, (uint16_t) ((start + block) % BLOCKS)};
    }
    qsort (self->events, events, sizeof (scale_event_t), s_compare_events);
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
            const scale_slot_t *profile = &model->slots[slot];
            //  Values come from the slot's own stream, so that a store that skips other
            //  stores' hosts still gets the same values for its own
            if (!scale_mine (self, host))
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
            pair->port = scale_ports[profile->port];
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
        double cpu_start = scale_cpu_usecs ();
        int rc = shard_store_apply_part (store, "scale", file, block_start, s_pair_at, self->pairs,
                                         count, now, &result);
        scale_txns_add (txns, SCALE_TXN_APPLY, start, cpu_start);
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
//  The shard's maintenance: archive finished days, then compact finished segments (if
//  the store has segments), each transaction counted in txns
int
scale_archive (shard_store_t *store, int64_t now, scale_txns_t *txns)
{
    for (int step = 0; step < 2; step++) {
        bool more = true;
        while (more) {
            int64_t start = zclock_usecs ();
            double cpu_start = scale_cpu_usecs ();
            int rc = step == 0 ? shard_store_archive (store, now, SHARD_ARCHIVE_BATCH, &more)
                               : shard_store_compact (store, now, SHARD_COMPACT_BATCH, &more);
            if (rc) {
                fprintf (stderr, "%s failed: %s\n", step == 0 ? "archive" : "compaction",
                         shard_store_error (store));
                return -1;
            }
            scale_txns_add (txns, step == 0 ? SCALE_TXN_ARCHIVE : SCALE_TXN_COMPACT, start,
                            cpu_start);
        }
    }
    return 0;
}

double
scale_cpu_usecs (void)
{
    struct timespec now;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

void
scale_txns_add (scale_txns_t *self, scale_txn_kind_t kind, int64_t start_usecs,
                double start_cpu_usecs)
{
    double cpu = (scale_cpu_usecs () - start_cpu_usecs) / 1000.0;
    double msecs = (zclock_usecs () - start_usecs) / 1000.0;
    self->count[kind]++;
    self->secs[kind] += msecs / 1000;
    size_t bucket = (size_t) (cpu * 10.0);
    self->cpu_buckets[kind][bucket < SCALE_TXN_BUCKETS ? bucket : SCALE_TXN_BUCKETS - 1]++;
    if (msecs > self->wall_msecs[kind]) {
        self->wall_msecs[kind] = msecs;
        self->wall_cpu_msecs[kind] = cpu;
    }
    if (cpu > self->cpu_msecs[kind]) {
        self->cpu_msecs[kind] = cpu;
        self->cpu_wall_msecs[kind] = msecs;
    }
}

//  The CPU time below which a share (0..1) of the transactions of kind took, ms
static double
s_txns_quantile (const scale_txns_t *self, int kind, double share)
{
    size_t want = (size_t) (share * (double) self->count[kind]), seen = 0;
    for (size_t bucket = 0; bucket < SCALE_TXN_BUCKETS; bucket++) {
        seen += self->cpu_buckets[kind][bucket];
        if (seen > want)
            return (double) (bucket + 1) / 10.0;
    }
    return SCALE_TXN_BUCKETS / 10.0;
}

void
scale_txns_print (const scale_txns_t *self, const char *indent)
{
    const char *names[SCALE_TXN_KINDS] = {"apply part", "expire", "archive", "compact"};
    for (int kind = 0; kind < SCALE_TXN_KINDS; kind++)
        if (self->count[kind])
            printf ("%s%-10s %7zu transactions, %.1f s: CPU p50 < %.1f ms, p99 < %.1f ms; longest "
                    "%.1f ms wall (%.1f ms CPU), most CPU %.1f ms (%.1f ms wall)\n",
                    indent, names[kind], self->count[kind], self->secs[kind],
                    s_txns_quantile (self, kind, 0.5), s_txns_quantile (self, kind, 0.99),
                    self->wall_msecs[kind], self->wall_cpu_msecs[kind], self->cpu_msecs[kind],
                    self->cpu_wall_msecs[kind]);
}

void
scale_gen_init (scale_gen_t *self, size_t hosts, uint32_t days, uint32_t first_day, uint64_t seed)
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
        size_t host = scale_next (&state) % hosts;
        if (self->sample_of[host] < 0) {
            self->sample_of[host] = (int32_t) found;
            self->sample[found++] = host;
        }
    }
    self->sample_expect =
        (scale_expect_t *) calloc ((size_t) SAMPLE_HOSTS * PORTS * days, sizeof (scale_expect_t));
    self->check_days[0] = first_day + days - 1;
    self->check_days[1] = first_day + days / 2;
    for (int index = 0; index < 2; index++)
        self->day_expect[index] =
            (scale_expect_t *) calloc (self->model.slot_count, sizeof (scale_expect_t));
    self->slot_state = (uint64_t *) malloc (self->model.slot_count * sizeof (uint64_t));
    self->peers = (uint8_t *) malloc (PEERS_POOL * PROTO_ADDR_SIZE);
    for (uint32_t peer = 0; peer < PEERS_POOL; peer++) {
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, 0xc6120000 + peer);
        memcpy (self->peers + peer * PROTO_ADDR_SIZE, addr.bytes, PROTO_ADDR_SIZE);
    }
}

void
scale_gen_free (scale_gen_t *self)
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
