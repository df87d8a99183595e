/*  shard_top.c - exact top-10 lists (see shard_top.h for the invariant).

    The cache is an open-addressed table keyed by day << 16 | port; a write
    transaction touches one or two days and the monitored ports, so it stays small.
*/
#include "shard/shard_top.h"
#include "shard/shard_days.h"
#include "shard/shard_keys.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS_MIN 64
#define LIST_COMPLETE 0x80

typedef struct {
    uint32_t key;        //  day << 16 | port
    bool dirty;          //  Changed since loaded
    bool rebuilt;        //  Its stale lists were rebuilt by a segment's walk
    shard_topset_t set;  //  The lists
} s_slot_t;

struct _shard_top_cache_t {
    s_slot_t **slots;       //  Open addressing, NULL = free
    size_t capacity;        //  A power of 2
    size_t used;            //  Slots taken
    uint64_t recomputed;    //  (day, port) scans done
    shard_buffer_t buffer;  //  Encoding
};

//  --------------------------------------------------------------------------
//  True if (a, score_a) ranks before (b, score_b).

static inline bool
s_before (const proto_addr_t *a, uint64_t score_a, const proto_addr_t *b, uint64_t score_b)
{
    if (score_a != score_b)
        return score_a > score_b;
    return memcmp (a->bytes, b->bytes, PROTO_ADDR_SIZE) < 0;
}

//  --------------------------------------------------------------------------
void
shard_toplist_init (shard_toplist_t *self)
{
    assert (self);
    self->count = 0;
    self->complete = true;
    self->stale = false;
}

//  --------------------------------------------------------------------------
//  Insert in order; a full list drops its last entry (and is no longer complete).

static void
s_insert (shard_toplist_t *self, const proto_addr_t *addr, uint64_t score)
{
    size_t at = self->count;
    while (at > 0 &&
           s_before (addr, score, &self->entries[at - 1].addr, self->entries[at - 1].score))
        at--;
    if (at == SHARD_TOP_KEEP) {
        self->complete = false;
        return;
    }
    if (self->count == SHARD_TOP_KEEP) {
        self->complete = false;
        self->count--;
    }
    memmove (self->entries + at + 1, self->entries + at,
             (self->count - at) * sizeof self->entries[0]);
    self->entries[at].addr = *addr;
    self->entries[at].score = score;
    self->count++;
}

//  --------------------------------------------------------------------------
void
shard_toplist_update (shard_toplist_t *self, const proto_addr_t *addr, bool had_old,
                      uint64_t old_score, uint64_t new_score)
{
    assert (self);
    assert (addr);
    if (self->stale || (had_old && old_score == new_score))
        return;
    const shard_rank_t *last = self->count ? &self->entries[self->count - 1] : NULL;
    bool listed = had_old && (self->complete ||
                              (last && !s_before (&last->addr, last->score, addr, old_score)));
    if (!listed) {
        //  Unlisted rows rank after the last entry: only a better one enters
        if (self->complete || (last && s_before (addr, new_score, &last->addr, last->score)))
            s_insert (self, addr, new_score);
    }
    else {
        size_t at = 0;
        while (at < self->count &&
               memcmp (self->entries[at].addr.bytes, addr->bytes, PROTO_ADDR_SIZE) != 0)
            at++;
        if (at == self->count) {
            self->stale = true;  //  Invariant broken: rebuild from the rows
            return;
        }
        //  Unlisted rows rank after the threshold: the old last entry, or this host's
        //  old rank if it was the last.  At or before it, the host stays listed.
        shard_rank_t threshold = self->entries[self->count - 1];
        if (at + 1 == self->count)
            threshold.score = old_score;
        memmove (self->entries + at, self->entries + at + 1,
                 (self->count - at - 1) * sizeof self->entries[0]);
        self->count--;
        if (self->complete || !s_before (&threshold.addr, threshold.score, addr, new_score))
            s_insert (self, addr, new_score);
    }
    if (!self->complete && self->count < SHARD_TOP_SHOW)
        self->stale = true;
}

//  --------------------------------------------------------------------------
static void
s_set_encode (const shard_topset_t *set, shard_buffer_t *out)
{
    shard_buffer_reset (out);
    shard_buffer_header (out, 0);
    for (int index = 0; index < SHARD_TOP_LISTS; index++) {
        const shard_toplist_t *list = &set->lists[index];
        assert (!list->stale);
        shard_buffer_byte (out, (uint8_t) (list->count | (list->complete ? LIST_COMPLETE : 0)));
        for (size_t entry = 0; entry < list->count; entry++) {
            shard_buffer_append (out, list->entries[entry].addr.bytes, PROTO_ADDR_SIZE);
            shard_buffer_varint (out, list->entries[entry].score);
        }
    }
}

//  --------------------------------------------------------------------------
static int
s_set_decode (shard_topset_t *set, const void *data, size_t size)
{
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    shard_reader_header (&reader);
    for (int index = 0; index < SHARD_TOP_LISTS; index++) {
        shard_toplist_t *list = &set->lists[index];
        uint8_t byte = shard_reader_byte (&reader);
        list->count = byte & ~LIST_COMPLETE;
        list->complete = (byte & LIST_COMPLETE) != 0;
        list->stale = false;
        if (list->count > SHARD_TOP_KEEP)
            return -1;
        for (size_t entry = 0; entry < list->count; entry++) {
            const uint8_t *addr = shard_reader_bytes (&reader, PROTO_ADDR_SIZE);
            if (!addr)
                return -1;
            memcpy (list->entries[entry].addr.bytes, addr, PROTO_ADDR_SIZE);
            list->entries[entry].score = shard_reader_varint (&reader);
            if (entry > 0 &&
                !s_before (&list->entries[entry - 1].addr, list->entries[entry - 1].score,
                           &list->entries[entry].addr, list->entries[entry].score))
                return -1;
        }
    }
    return shard_reader_done (&reader) ? 0 : -1;
}

//  --------------------------------------------------------------------------
int
shard_top_read (shard_txn_t *txn, uint16_t day, uint16_t port, shard_topset_t *set)
{
    assert (txn);
    assert (set);
    uint8_t key[SHARD_KEY_TOP_SIZE];
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_TOP, key, shard_key_top (key, day, port), &value);
    if (rc != 0)
        return rc;
    if (s_set_decode (set, value.data, value.size)) {
        shard_txn_fail (txn, SHARD_DB_TOP, "top lists do not decode");
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
shard_top_cache_t *
shard_top_cache_new (void)
{
    shard_top_cache_t *self = (shard_top_cache_t *) calloc (1, sizeof (shard_top_cache_t));
    assert (self);
    self->capacity = CACHE_SLOTS_MIN;
    self->slots = (s_slot_t **) calloc (self->capacity, sizeof (s_slot_t *));
    assert (self->slots);
    return self;
}

//  --------------------------------------------------------------------------
void
shard_top_cache_destroy (shard_top_cache_t **self_p)
{
    assert (self_p);
    shard_top_cache_t *self = *self_p;
    if (self) {
        shard_top_cache_clear (self);
        free (self->slots);
        shard_buffer_free (&self->buffer);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
static size_t
s_slot_index (shard_top_cache_t *self, uint32_t key)
{
    size_t index = (size_t) ((key * 2654435761u) & (self->capacity - 1));
    while (self->slots[index] && self->slots[index]->key != key)
        index = (index + 1) & (self->capacity - 1);
    return index;
}

//  --------------------------------------------------------------------------
static void
s_cache_grow (shard_top_cache_t *self)
{
    s_slot_t **old = self->slots;
    size_t old_capacity = self->capacity;
    self->capacity *= 2;
    self->slots = (s_slot_t **) calloc (self->capacity, sizeof (s_slot_t *));
    assert (self->slots);
    for (size_t index = 0; index < old_capacity; index++)
        if (old[index])
            self->slots[s_slot_index (self, old[index]->key)] = old[index];
    free (old);
}

//  --------------------------------------------------------------------------
static s_slot_t *
s_cache_get (shard_top_cache_t *self, shard_txn_t *txn, uint16_t day, uint16_t port)
{
    uint32_t key = (uint32_t) day << 16 | port;
    size_t index = s_slot_index (self, key);
    if (self->slots[index])
        return self->slots[index];
    s_slot_t *slot = (s_slot_t *) malloc (sizeof (s_slot_t));
    assert (slot);
    slot->key = key;
    slot->dirty = false;
    slot->rebuilt = false;
    int rc = shard_top_read (txn, day, port, &slot->set);
    if (rc == 1)
        for (int list = 0; list < SHARD_TOP_LISTS; list++)
            shard_toplist_init (&slot->set.lists[list]);
    else if (rc == -1) {
        free (slot);
        return NULL;
    }
    self->slots[index] = slot;
    if (++self->used * 2 > self->capacity)
        s_cache_grow (self);
    return slot;
}

//  --------------------------------------------------------------------------
int
shard_top_cache_update (shard_top_cache_t *self, shard_txn_t *txn, uint16_t day, uint16_t port,
                        const proto_addr_t *addr, const shard_row_t *old, const shard_row_t *row)
{
    assert (self);
    assert (txn);
    assert (addr);
    assert (row);
    s_slot_t *slot = s_cache_get (self, txn, day, port);
    if (!slot)
        return -1;
    slot->dirty = true;
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
        for (int op = 0; op < PROTO_OP_COUNT; op++)
            shard_toplist_update (&slot->set.lists[feature * PROTO_OP_COUNT + op], addr,
                                  old != NULL, old ? old->value[feature][op] : 0,
                                  row->value[feature][op]);
    return 0;
}

//  --------------------------------------------------------------------------
//  Rebuild the stale lists of a slot from its daily rows.

typedef struct {
    shard_topset_t *set;          //  Lists being rebuilt
    bool stale[SHARD_TOP_LISTS];  //  Which
} s_rebuild_t;

static void
s_rebuild_row (void *arg, const proto_addr_t *addr, const shard_row_t *row)
{
    s_rebuild_t *rebuild = (s_rebuild_t *) arg;
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
        for (int op = 0; op < PROTO_OP_COUNT; op++)
            if (rebuild->stale[feature * PROTO_OP_COUNT + op])
                shard_toplist_update (&rebuild->set->lists[feature * PROTO_OP_COUNT + op], addr,
                                      false, 0, row->value[feature][op]);
}

//  Start a rebuild: the stale lists emptied, remembered in rebuild
static void
s_rebuild_start (s_rebuild_t *rebuild, s_slot_t *slot)
{
    rebuild->set = &slot->set;
    for (int list = 0; list < SHARD_TOP_LISTS; list++) {
        rebuild->stale[list] = slot->set.lists[list].stale;
        if (rebuild->stale[list])
            shard_toplist_init (&slot->set.lists[list]);
    }
}

static int
s_recompute (shard_top_cache_t *self, shard_txn_t *txn, s_slot_t *slot)
{
    s_rebuild_t rebuild;
    s_rebuild_start (&rebuild, slot);
    self->recomputed++;
    return shard_days_scan (txn, (uint16_t) (slot->key >> 16), (uint16_t) slot->key, s_rebuild_row,
                            &rebuild);
}

//  Stale slots of days held in series: rebuilt segment by segment, one walk of each
//  segment's records feeding every such (day, port) of it (a scan per (day, port)
//  would read the segment's records once for each).

typedef struct {
    shard_top_cache_t *cache;
    s_rebuild_t *rebuilds;  //  Per cache index, set for the slots of the segment walked
    bool *in_walk;          //  Per cache index
} s_segment_rebuild_t;

static int
s_segment_row (void *arg, uint16_t day, uint16_t port, const proto_addr_t *addr,
               const shard_row_t *row)
{
    s_segment_rebuild_t *walk = (s_segment_rebuild_t *) arg;
    size_t index = s_slot_index (walk->cache, (uint32_t) day << 16 | port);
    if (walk->cache->slots[index] && walk->in_walk[index])
        s_rebuild_row (&walk->rebuilds[index], addr, row);
    return 0;
}

static bool
s_slot_stale (const s_slot_t *slot)
{
    bool stale = false;
    for (int list = 0; list < SHARD_TOP_LISTS; list++)
        stale |= slot->set.lists[list].stale;
    return slot->dirty && stale;
}

static int
s_rebuild_segments (shard_top_cache_t *self, shard_txn_t *txn)
{
    shard_segments_t segments;
    if (shard_segments_load (txn, &segments))
        return -1;
    if (segments.days == 0)
        return 0;
    s_segment_rebuild_t walk = {self, NULL, NULL};
    int rc = 0;
    for (;;) {
        //  The lowest segment with a stale slot held in series
        uint32_t segment = SHARD_SEGMENTS_ALL;
        for (size_t index = 0; index < self->capacity; index++) {
            s_slot_t *slot = self->slots[index];
            uint16_t day = slot ? (uint16_t) (slot->key >> 16) : 0;
            if (slot && !slot->rebuilt && s_slot_stale (slot) &&
                day / segments.days < segments.compacted + (segments.phase == 2) &&
                day / segments.days < segment)
                segment = day / segments.days;
        }
        if (segment == SHARD_SEGMENTS_ALL)
            break;
        if (!walk.rebuilds) {
            walk.rebuilds = (s_rebuild_t *) calloc (self->capacity, sizeof (s_rebuild_t));
            walk.in_walk = (bool *) calloc (self->capacity, sizeof (bool));
            assert (walk.rebuilds && walk.in_walk);
        }
        for (size_t index = 0; index < self->capacity; index++) {
            s_slot_t *slot = self->slots[index];
            walk.in_walk[index] = slot && !slot->rebuilt && s_slot_stale (slot) &&
                                  (uint16_t) (slot->key >> 16) / segments.days == segment;
            if (walk.in_walk[index]) {
                s_rebuild_start (&walk.rebuilds[index], slot);
                slot->rebuilt = true;
                self->recomputed++;
            }
        }
        uint64_t rows = 0;
        rc = shard_segments_walk (txn, segment, NULL, s_segment_row, &walk, false, &rows);
        if (rc)
            break;
    }
    free (walk.rebuilds);
    free (walk.in_walk);
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_top_cache_invalidate (shard_top_cache_t *self, shard_txn_t *txn, uint16_t day, uint16_t port)
{
    assert (self);
    assert (txn);
    s_slot_t *slot = s_cache_get (self, txn, day, port);
    if (!slot)
        return -1;
    slot->dirty = true;
    for (int list = 0; list < SHARD_TOP_LISTS; list++)
        slot->set.lists[list].stale = true;
    return 0;
}

//  True if every list of set is empty and complete: its (day, port) has no rows.
static bool
s_set_empty (const shard_topset_t *set)
{
    for (int list = 0; list < SHARD_TOP_LISTS; list++)
        if (set->lists[list].count > 0 || !set->lists[list].complete)
            return false;
    return true;
}

//  --------------------------------------------------------------------------
int
shard_top_cache_flush (shard_top_cache_t *self, shard_txn_t *txn)
{
    assert (self);
    assert (txn);
    int rc = s_rebuild_segments (self, txn);
    for (size_t index = 0; index < self->capacity && rc == 0; index++) {
        s_slot_t *slot = self->slots[index];
        if (!slot || !slot->dirty)
            continue;
        if (s_slot_stale (slot) && !slot->rebuilt)
            rc = s_recompute (self, txn, slot);
        if (rc == 0) {
            uint8_t key[SHARD_KEY_TOP_SIZE];
            shard_key_top (key, (uint16_t) (slot->key >> 16), (uint16_t) slot->key);
            if (s_set_empty (&slot->set))  //  No rows left (slot moves): no lists
                rc = shard_kv_del (txn, SHARD_DB_TOP, key, sizeof key) == -1 ? -1 : 0;
            else {
                s_set_encode (&slot->set, &self->buffer);
                rc = shard_kv_put (txn, SHARD_DB_TOP, key, sizeof key, self->buffer.data,
                                   self->buffer.size);
            }
        }
    }
    shard_top_cache_clear (self);
    return rc;
}

//  --------------------------------------------------------------------------
void
shard_top_cache_clear (shard_top_cache_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->capacity; index++) {
        free (self->slots[index]);
        self->slots[index] = NULL;
    }
    self->used = 0;
}

//  --------------------------------------------------------------------------
uint64_t
shard_top_cache_recomputed (shard_top_cache_t *self)
{
    assert (self);
    return self->recomputed;
}

//  --------------------------------------------------------------------------
//  Selftest: random score changes against a brute-force ranking of all hosts.

static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static int
s_compare_ranks (const void *a, const void *b)
{
    const shard_rank_t *x = (const shard_rank_t *) a, *y = (const shard_rank_t *) b;
    if (s_before (&x->addr, x->score, &y->addr, y->score))
        return -1;
    return s_before (&y->addr, y->score, &x->addr, x->score) ? 1 : 0;
}

void
shard_top_test (bool verbose)
{
    printf (" * shard_top: ");
    //  Hand-made: ties by address ascending, a fall out of a full list goes stale
    shard_toplist_t list;
    shard_toplist_init (&list);
    proto_addr_t addr[20];
    for (uint32_t index = 0; index < 20; index++)
        proto_addr_from_ipv4 (&addr[index], 0x0a000000 + index);
    shard_toplist_update (&list, &addr[3], false, 0, 50);
    shard_toplist_update (&list, &addr[1], false, 0, 50);
    shard_toplist_update (&list, &addr[2], false, 0, 70);
    assert (list.count == 3 && list.complete);
    assert (memcmp (&list.entries[0].addr, &addr[2], PROTO_ADDR_SIZE) == 0);
    assert (memcmp (&list.entries[1].addr, &addr[1], PROTO_ADDR_SIZE) == 0);
    assert (memcmp (&list.entries[2].addr, &addr[3], PROTO_ADDR_SIZE) == 0);

    //  Random walks, one per kind of operation, checked against a sort of every host
    const char *kinds[] = {"grow", "fall", "mixed"};
    for (int kind = 0; kind < 3; kind++) {
        uint64_t state = 0x9e3779b97f4a7c15ULL + (uint64_t) kind;
        shard_rank_t hosts[200];
        bool present[200] = {false};
        size_t stale_count = 0;
        shard_toplist_init (&list);
        for (int step = 0; step < 20000; step++) {
            size_t host = s_random (&state) % 200;
            proto_addr_from_ipv4 (&hosts[host].addr, 0xc0000200 + (uint32_t) host);
            uint64_t score = s_random (&state) % 1000;
            uint64_t old = hosts[host].score;
            if (present[host] && kind == 0)
                score = old + score % 3;
            if (present[host] && kind == 1)
                score = score < old ? score : old;
            shard_toplist_update (&list, &hosts[host].addr, present[host], old, score);
            hosts[host].score = score;
            present[host] = true;
            if (list.stale) {
                //  What the cache's scan does
                stale_count++;
                shard_toplist_init (&list);
                for (size_t other = 0; other < 200; other++)
                    if (present[other])
                        shard_toplist_update (&list, &hosts[other].addr, false, 0,
                                              hosts[other].score);
            }
            shard_rank_t sorted[200];
            size_t count = 0;
            for (size_t other = 0; other < 200; other++)
                if (present[other])
                    sorted[count++] = hosts[other];
            qsort (sorted, count, sizeof sorted[0], s_compare_ranks);
            assert (list.count >= (count < SHARD_TOP_SHOW ? count : SHARD_TOP_SHOW));
            assert (list.complete == (list.count == count));
            for (size_t entry = 0; entry < list.count; entry++) {
                assert (memcmp (&list.entries[entry].addr, &sorted[entry].addr, PROTO_ADDR_SIZE) ==
                        0);
                assert (list.entries[entry].score == sorted[entry].score);
            }
        }
        if (verbose)
            printf ("%s: %zu rebuilds; ", kinds[kind], stale_count);
        assert (kind == 1 || kind == 2 || stale_count == 0);
    }

    //  Encoding round trip, and corrupt values rejected
    shard_topset_t set, back;
    for (int index = 0; index < SHARD_TOP_LISTS; index++) {
        shard_toplist_init (&set.lists[index]);
        for (uint32_t host = 0; host < (uint32_t) index + 5; host++)
            shard_toplist_update (&set.lists[index], &addr[host], false, 0, host * 1000);
    }
    shard_buffer_t buffer = {NULL, 0, 0};
    s_set_encode (&set, &buffer);
    assert (s_set_decode (&back, buffer.data, buffer.size) == 0);
    for (int index = 0; index < SHARD_TOP_LISTS; index++) {
        assert (back.lists[index].count == set.lists[index].count);
        assert (back.lists[index].complete == set.lists[index].complete);
        for (size_t entry = 0; entry < back.lists[index].count; entry++)
            assert (memcmp (&back.lists[index].entries[entry], &set.lists[index].entries[entry],
                            sizeof (shard_rank_t)) == 0);
    }
    assert (s_set_decode (&back, buffer.data, buffer.size - 1) == -1);
    shard_buffer_free (&buffer);

    shard_top_cache_t *cache = shard_top_cache_new ();
    shard_top_cache_destroy (&cache);
    assert (cache == NULL);
    printf ("OK\n");
}
