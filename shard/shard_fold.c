/*  shard_fold.c - parts into blocks, blocks into days (see shard_fold.h, shard_store.h).

    The common path: with one registered ingestor a part is its block, final on
    arrival; each pair becomes a block value and is folded straight into its days row,
    host record and top lists.  With several ingestors a part's pairs merge into the
    open rows of their block (sums add, peer sets unite, an exact set that grows past
    PROTO_PEERS_CAP becomes a sketch), and the block is folded when it is final.

    Pairs are processed in (host, port) order, so one host record is read and written
    once per part whatever the number of its ports.
*/
#include "shard/shard_fold.h"
#include "shard/shard_days.h"
#include "shard/shard_keys.h"
#include "shard/shard_top.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECS_PER_DAY 86400

//  A pair's sort key, for parts that do not come ordered
typedef struct {
    proto_addr_t addr;  //  Host
    uint16_t port;      //  Port
    size_t index;       //  Position in the part
} s_sort_t;

struct _shard_fold_t {
    uint32_t retention_days;                 //  Days kept before today
    uint32_t grace_secs;                     //  Wait for every ingestor
    char **ingestors;                        //  Registered ingestor names
    size_t ingestor_count;                   //  Entries in ingestors
    uint32_t cutoff_day;                     //  First day kept, for the transaction under way
    shard_days_where_t where;                //  Where rows are, for the transaction under way
    shard_top_cache_t *top;                  //  Top lists touched by the transaction
    shard_host_t *host;                      //  Current host record
    proto_addr_t host_addr;                  //  Its address
    bool host_loaded;                        //  host holds host_addr's record
    bool host_dirty;                         //  host changed since loaded
    shard_buffer_t buffer;                   //  Value encoding
    shard_buffer_t peers;                    //  Merged peer sets
    uint8_t *sketch;                         //  PROTO_SKETCH_REGISTERS of scratch
    s_sort_t *order[PROTO_DIRECTION_COUNT];  //  Pair order per direction, NULL if ordered
    uint8_t direction;                       //  Direction the caches belong to
};

//  --------------------------------------------------------------------------
shard_fold_t *
shard_fold_new (void)
{
    shard_fold_t *self = (shard_fold_t *) calloc (1, sizeof (shard_fold_t));
    assert (self);
    self->retention_days = SHARD_RETENTION_DAYS_DEFAULT;
    self->grace_secs = SHARD_GRACE_SECS_DEFAULT;
    self->top = shard_top_cache_new ();
    self->host = shard_host_new ();
    self->sketch = (uint8_t *) calloc (1, PROTO_SKETCH_REGISTERS);
    assert (self->sketch);
    return self;
}

//  --------------------------------------------------------------------------
void
shard_fold_destroy (shard_fold_t **self_p)
{
    assert (self_p);
    shard_fold_t *self = *self_p;
    if (self) {
        shard_fold_set_ingestors (self, NULL, 0);
        for (int direction = 0; direction < PROTO_DIRECTION_COUNT; direction++)
            free (self->order[direction]);
        free (self->sketch);
        shard_buffer_free (&self->peers);
        shard_buffer_free (&self->buffer);
        shard_host_destroy (&self->host);
        shard_top_cache_destroy (&self->top);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
void
shard_fold_set_retention_days (shard_fold_t *self, uint32_t retention_days)
{
    assert (self);
    self->retention_days = retention_days;
}

//  --------------------------------------------------------------------------
void
shard_fold_set_grace_secs (shard_fold_t *self, uint32_t grace_secs)
{
    assert (self);
    self->grace_secs = grace_secs;
}

//  --------------------------------------------------------------------------
void
shard_fold_set_ingestors (shard_fold_t *self, const char **names, size_t count)
{
    assert (self);
    for (size_t index = 0; index < self->ingestor_count; index++)
        free (self->ingestors[index]);
    free (self->ingestors);
    self->ingestors = NULL;
    self->ingestor_count = 0;
    if (count == 0)
        return;
    self->ingestors = (char **) calloc (count, sizeof (char *));
    assert (self->ingestors);
    for (size_t index = 0; index < count; index++) {
        self->ingestors[index] = strdup (names[index]);
        assert (self->ingestors[index]);
    }
    self->ingestor_count = count;
}

//  --------------------------------------------------------------------------
uint32_t
shard_fold_cutoff_day (shard_fold_t *self, int64_t now)
{
    assert (self);
    uint32_t today = proto_day_of (now < 0 ? 0 : now);
    return today > self->retention_days ? today - self->retention_days : 0;
}

//  --------------------------------------------------------------------------
static int
s_compare_sort (const void *a, const void *b)
{
    const s_sort_t *x = (const s_sort_t *) a, *y = (const s_sort_t *) b;
    int rc = memcmp (x->addr.bytes, y->addr.bytes, PROTO_ADDR_SIZE);
    if (rc)
        return rc;
    return (x->port > y->port) - (x->port < y->port);
}

//  --------------------------------------------------------------------------
int
shard_fold_check (shard_fold_t *self, uint8_t direction, shard_pair_at_fn *pair_at, void *pairs,
                  size_t pair_count, char *error, size_t error_size)
{
    assert (self);
    assert (direction < PROTO_DIRECTION_COUNT);
    assert (pair_at || pair_count == 0);
    assert (error);
    free (self->order[direction]);
    self->order[direction] = NULL;
    bool ordered = true;
    proto_pair_t previous = {{{0}}, 0, 0, 0, 0, 0, NULL, 0};
    for (size_t index = 0; index < pair_count; index++) {
        proto_pair_t pair;
        pair_at (pairs, index, &pair);
        if (pair.peers_kind == PROTO_PEERS_EXACT) {
            if (pair.peers_size % PROTO_ADDR_SIZE ||
                pair.peers_size / PROTO_ADDR_SIZE > PROTO_PEERS_CAP) {
                snprintf (error, error_size, "pair %zu: %zu bytes of peers", index,
                          pair.peers_size);
                return -1;
            }
            for (size_t peer = 1; peer < pair.peers_size / PROTO_ADDR_SIZE; peer++)
                if (memcmp (pair.peers + (peer - 1) * PROTO_ADDR_SIZE,
                            pair.peers + peer * PROTO_ADDR_SIZE, PROTO_ADDR_SIZE) >= 0) {
                    snprintf (error, error_size, "pair %zu: peers not sorted or repeated", index);
                    return -1;
                }
        }
        else if (pair.peers_kind != PROTO_PEERS_SKETCH ||
                 pair.peers_size != PROTO_SKETCH_REGISTERS) {
            snprintf (error, error_size, "pair %zu: peers kind %u with %zu bytes", index,
                      pair.peers_kind, pair.peers_size);
            return -1;
        }
        if (index > 0) {
            int rc = memcmp (previous.addr.bytes, pair.addr.bytes, PROTO_ADDR_SIZE);
            if (rc > 0 || (rc == 0 && previous.port >= pair.port))
                ordered = false;
        }
        previous = pair;
    }
    if (ordered)
        return 0;
    s_sort_t *order = (s_sort_t *) malloc (pair_count * sizeof (s_sort_t));
    assert (order);
    self->order[direction] = order;
    for (size_t index = 0; index < pair_count; index++) {
        proto_pair_t pair;
        pair_at (pairs, index, &pair);
        order[index].addr = pair.addr;
        order[index].port = pair.port;
        order[index].index = index;
    }
    qsort (order, pair_count, sizeof (s_sort_t), s_compare_sort);
    for (size_t index = 1; index < pair_count; index++)
        if (s_compare_sort (&order[index - 1], &order[index]) == 0) {
            snprintf (error, error_size, "pairs %zu and %zu: same host and port",
                      order[index - 1].index, order[index].index);
            return -1;
        }
    return 0;
}

//  --------------------------------------------------------------------------
static void
s_pair (shard_fold_t *self, shard_pair_at_fn *pair_at, void *pairs, size_t index,
        proto_pair_t *pair)
{
    const s_sort_t *order = self->order[self->direction];
    pair_at (pairs, order ? order[index].index : index, pair);
}

//  --------------------------------------------------------------------------
int
shard_meta_get (shard_txn_t *txn, const char *name, uint64_t *value)
{
    assert (txn);
    assert (name);
    assert (value);
    shard_bytes_t bytes;
    *value = 0;
    int rc = shard_kv_get (txn, SHARD_DB_META, name, strlen (name), &bytes);
    if (rc == 0 && shard_meta_decode (bytes.data, bytes.size, value)) {
        shard_txn_fail (txn, SHARD_DB_META, "counter does not decode");
        return -1;
    }
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
static int
s_meta_put (shard_txn_t *txn, const char *name, uint64_t value)
{
    uint8_t bytes[SHARD_META_SIZE];
    shard_meta_encode (value, bytes);
    return shard_kv_put (txn, SHARD_DB_META, name, strlen (name), bytes, sizeof bytes);
}

//  --------------------------------------------------------------------------
int
shard_meta_add (shard_txn_t *txn, const char *name, uint64_t delta)
{
    uint64_t value;
    if (shard_meta_get (txn, name, &value))
        return -1;
    return s_meta_put (txn, name, shard_add (value, delta));
}

//  --------------------------------------------------------------------------
int
shard_meta_sub (shard_txn_t *txn, const char *name, uint64_t delta)
{
    uint64_t value;
    if (shard_meta_get (txn, name, &value))
        return -1;
    return s_meta_put (txn, name, value > delta ? value - delta : 0);
}

//  --------------------------------------------------------------------------
int
shard_meta_raise (shard_txn_t *txn, const char *name, uint64_t value)
{
    uint64_t current;
    if (shard_meta_get (txn, name, &current))
        return -1;
    return current >= value ? 0 : s_meta_put (txn, name, value);
}

//  --------------------------------------------------------------------------
//  Record a part id: 0 recorded, 1 recorded before (duplicate), -1 failed.

static int
s_part_record (shard_fold_t *self, shard_txn_t *txn, const char *source, const char *file,
               int64_t block)
{
    uint64_t hash = shard_part_hash (source, file);
    //  Linear probing: a colliding different part takes the next free hash
    for (;; hash++) {
        uint8_t key[SHARD_KEY_PART_SIZE];
        shard_key_part (key, block, hash);
        shard_bytes_t value;
        int rc = shard_kv_get (txn, SHARD_DB_PARTS, key, sizeof key, &value);
        if (rc == -1)
            return -1;
        if (rc == 0 && shard_part_matches (value.data, value.size, source, file))
            return 1;
        if (rc == 1) {
            shard_part_encode (source, file, &self->buffer);
            return shard_kv_put (txn, SHARD_DB_PARTS, key, sizeof key, self->buffer.data,
                                 self->buffer.size);
        }
    }
}

//  --------------------------------------------------------------------------
static int
s_host_write (shard_fold_t *self, shard_txn_t *txn)
{
    if (!self->host_loaded || !self->host_dirty)
        return 0;
    uint8_t key[SHARD_HOST_KEY_MAX];
    size_t key_size = shard_key_host (key, &self->host_addr);
    shard_host_encode (self->host, &self->buffer);
    self->host_dirty = false;
    return shard_kv_put (txn, SHARD_DB_HOSTS, key, key_size, self->buffer.data, self->buffer.size);
}

//  --------------------------------------------------------------------------
//  Make addr's record the current one (writing the previous one if changed).

static int
s_host_load (shard_fold_t *self, shard_txn_t *txn, const proto_addr_t *addr)
{
    if (self->host_loaded && memcmp (&self->host_addr, addr, sizeof *addr) == 0)
        return 0;
    if (s_host_write (self, txn))
        return -1;
    self->host_loaded = false;
    uint8_t key[SHARD_HOST_KEY_MAX];
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_HOSTS, key, shard_key_host (key, addr), &value);
    if (rc == -1)
        return -1;
    if (rc == 1)
        shard_host_clear (self->host);
    else if (shard_host_decode (self->host, value.data, value.size)) {
        shard_txn_fail (txn, SHARD_DB_HOSTS, "host record does not decode");
        return -1;
    }
    self->host_addr = *addr;
    self->host_loaded = true;
    self->host_dirty = false;
    return 0;
}

//  --------------------------------------------------------------------------
//  Work in direction from now on: write the caches of the current one (its host record
//  and top lists), then point txn at the other direction's sub-databases.  0 or -1.

static int
s_direction (shard_fold_t *self, shard_txn_t *txn, uint8_t direction)
{
    if (self->direction == direction)
        return 0;
    if (shard_fold_flush (self, txn))
        return -1;
    self->direction = direction;
    shard_txn_set_direction (txn, direction);
    return shard_days_where (txn, &self->where) == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Fold one block value of (addr, port) into its days row, host record and top lists.

static int
s_fold_value (shard_fold_t *self, shard_txn_t *txn, int64_t block, const proto_addr_t *addr,
              uint16_t port, const proto_values_t *values, bool late)
{
    if (s_host_load (self, txn, addr))
        return -1;
    shard_host_seen (self->host, block, port, self->cutoff_day);
    self->host_dirty = true;

    uint16_t day = (uint16_t) proto_day_of (block);
    shard_row_t old, row;
    uint8_t at = SHARD_DAYS_AT_DAYS;
    int rc = shard_days_get (txn, &self->where, day, port, addr, &old, &at);
    if (rc == -1)
        return -1;
    if (rc == 0) {
        row = old;
        shard_row_fold (&row, values, late);
    }
    else
        shard_row_start (&row, values);
    if (shard_days_put (txn, &self->where, day, port, addr, &row, at))
        return -1;
    return shard_top_cache_update (self->top, txn, day, port, addr, rc == 0 ? &old : NULL, &row);
}

//  --------------------------------------------------------------------------
static void
s_pair_values (const proto_pair_t *pair, proto_values_t *values)
{
    shard_block_values (
        values, pair->bytes, pair->packets, pair->durations,
        shard_peers_count (pair->peers_kind == PROTO_PEERS_SKETCH, pair->peers, pair->peers_size));
}

//  --------------------------------------------------------------------------
static int
s_fold_pairs (shard_fold_t *self, shard_txn_t *txn, int64_t block, const shard_pairs_t *sets,
              bool late)
{
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        const shard_pairs_t *set = &sets[direction];
        if (set->count && s_direction (self, txn, direction))
            return -1;
        for (size_t index = 0; index < set->count; index++) {
            proto_pair_t pair;
            proto_values_t values;
            s_pair (self, set->pair_at, set->pairs, index, &pair);
            s_pair_values (&pair, &values);
            if (s_fold_value (self, txn, block, &pair.addr, pair.port, &values, late))
                return -1;
        }
    }
    return s_direction (self, txn, PROTO_DIRECTION_OUT);
}

//  --------------------------------------------------------------------------
//  Unite two peer sets into self->peers (exact) or self->sketch; returns true if the
//  result is a sketch.

static bool
s_peers_unite (shard_fold_t *self, bool sketch_a, const uint8_t *a, size_t a_size, bool sketch_b,
               const uint8_t *b, size_t b_size)
{
    shard_buffer_reset (&self->peers);
    if (!sketch_a && !sketch_b) {
        size_t i = 0, j = 0;
        while (i < a_size || j < b_size) {
            int rc = i == a_size ? 1 : j == b_size ? -1 : memcmp (a + i, b + j, PROTO_ADDR_SIZE);
            shard_buffer_append (&self->peers, rc <= 0 ? a + i : b + j, PROTO_ADDR_SIZE);
            if (rc <= 0)
                i += PROTO_ADDR_SIZE;
            if (rc >= 0)
                j += PROTO_ADDR_SIZE;
        }
        if (self->peers.size / PROTO_ADDR_SIZE <= PROTO_PEERS_CAP)
            return false;
        //  Past the cap: the union's addresses go into a sketch
        memset (self->sketch, 0, PROTO_SKETCH_REGISTERS);
        for (size_t at = 0; at < self->peers.size; at += PROTO_ADDR_SIZE) {
            proto_addr_t peer;
            proto_addr_from_ipv6 (&peer, self->peers.data + at);
            proto_sketch_add (self->sketch, &peer);
        }
        return true;
    }
    memset (self->sketch, 0, PROTO_SKETCH_REGISTERS);
    const uint8_t *sets[2] = {a, b};
    size_t sizes[2] = {a_size, b_size};
    bool sketches[2] = {sketch_a, sketch_b};
    for (int set = 0; set < 2; set++) {
        if (sketches[set])
            proto_sketch_merge (self->sketch, sets[set]);
        else
            for (size_t at = 0; at < sizes[set]; at += PROTO_ADDR_SIZE) {
                proto_addr_t peer;
                proto_addr_from_ipv6 (&peer, sets[set] + at);
                proto_sketch_add (self->sketch, &peer);
            }
    }
    return true;
}

//  --------------------------------------------------------------------------
//  Merge a pair into the open row of its block.

static int
s_merge_pair (shard_fold_t *self, shard_txn_t *txn, int64_t block, const proto_pair_t *pair)
{
    uint8_t key[SHARD_KEY_ROW_MAX];
    size_t key_size = shard_key_row (key, block, &pair->addr, pair->port);
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_ROWS, key, key_size, &value);
    if (rc == -1)
        return -1;
    shard_open_row_t row = {pair->bytes,     pair->packets,
                            pair->durations, pair->peers_kind == PROTO_PEERS_SKETCH,
                            pair->peers,     pair->peers_size};
    if (rc == 0) {
        shard_open_row_t old;
        if (shard_open_row_decode (&old, value.data, value.size)) {
            shard_txn_fail (txn, SHARD_DB_ROWS, "open row does not decode");
            return -1;
        }
        row.bytes = shard_add (old.bytes, pair->bytes);
        row.packets = shard_add (old.packets, pair->packets);
        row.durations = shard_add (old.durations, pair->durations);
        row.sketch = s_peers_unite (self, old.sketch, old.peers, old.peers_size, row.sketch,
                                    row.peers, row.peers_size);
        row.peers = row.sketch ? self->sketch : self->peers.data;
        row.peers_size = row.sketch ? PROTO_SKETCH_REGISTERS : self->peers.size;
    }
    shard_open_row_encode (&row, &self->buffer);
    return shard_kv_put (txn, SHARD_DB_ROWS, key, key_size, self->buffer.data, self->buffer.size);
}

//  --------------------------------------------------------------------------
//  Fold every open row of block in the transaction's direction and delete them.

static int
s_finalise_rows (shard_fold_t *self, shard_txn_t *txn, int64_t block)
{
    uint8_t prefix[SHARD_KEY_BLOCK_SIZE];
    shard_key_block (prefix, block);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_ROWS);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
    while (rc == 0 && memcmp (key.data, prefix, sizeof prefix) == 0) {
        int64_t row_block;
        proto_addr_t addr;
        uint16_t port;
        shard_open_row_t row;
        if (shard_key_row_parse (key.data, key.size, &row_block, &addr, &port) ||
            shard_open_row_decode (&row, value.data, value.size)) {
            shard_txn_fail (txn, SHARD_DB_ROWS, "open row does not decode");
            rc = -1;
            break;
        }
        proto_values_t values;
        shard_block_values (&values, row.bytes, row.packets, row.durations,
                            shard_peers_count (row.sketch, row.peers, row.peers_size));
        if (s_fold_value (self, txn, block, &addr, port, &values, false) ||
            shard_cursor_del (cursor)) {
            rc = -1;
            break;
        }
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Fold every open row of block, in both directions, and delete them, then mark the
//  block final.

static int
s_finalise (shard_fold_t *self, shard_txn_t *txn, int64_t block, int64_t now)
{
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++)
        if (s_direction (self, txn, direction) || s_finalise_rows (self, txn, block))
            return -1;
    if (s_direction (self, txn, PROTO_DIRECTION_OUT))
        return -1;
    shard_final_t final = {now, 0};
    shard_final_encode (&final, &self->buffer);
    uint8_t block_key[SHARD_KEY_BLOCK_SIZE];
    shard_key_block (block_key, block);
    int rc = shard_kv_del (txn, SHARD_DB_OPEN, block_key, sizeof block_key);
    if (rc == -1)
        return -1;
    return shard_kv_put (txn, SHARD_DB_FINAL, block_key, sizeof block_key, self->buffer.data,
                         self->buffer.size);
}

//  --------------------------------------------------------------------------
//  True if every registered ingestor delivered block (only source if open is NULL).

static bool
s_delivered (shard_fold_t *self, const shard_open_t *open, const char *source)
{
    for (size_t index = 0; index < self->ingestor_count; index++) {
        const char *name = self->ingestors[index];
        if (open ? !shard_open_has (open, name) : strcmp (name, source) != 0)
            return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  A part of a block already final: sums exact, the rest approximate.

static int
s_apply_late (shard_fold_t *self, shard_txn_t *txn, int64_t block, shard_bytes_t *value,
              const shard_pairs_t *sets)
{
    shard_final_t final;
    if (shard_final_decode (&final, value->data, value->size)) {
        shard_txn_fail (txn, SHARD_DB_FINAL, "final block does not decode");
        return -1;
    }
    final.late_parts++;
    shard_final_encode (&final, &self->buffer);
    uint8_t key[SHARD_KEY_BLOCK_SIZE];
    shard_key_block (key, block);
    if (shard_kv_put (txn, SHARD_DB_FINAL, key, sizeof key, self->buffer.data, self->buffer.size) ||
        shard_meta_add (txn, "late_parts", 1))
        return -1;
    return s_fold_pairs (self, txn, block, sets, true);
}

//  --------------------------------------------------------------------------
int
shard_fold_part (shard_fold_t *self, shard_txn_t *txn, const char *source, const char *file,
                 int64_t block, const shard_pairs_t *sets, int64_t now, shard_part_result_t *result)
{
    assert (self);
    assert (txn);
    assert (source && file && result);
    assert (block >= 0);
    memset (result, 0, sizeof *result);
    self->cutoff_day = shard_fold_cutoff_day (self, now);
    if (shard_days_where (txn, &self->where) == -1)
        return -1;
    if (proto_day_of (block) < self->cutoff_day) {
        //  Not recorded: the same part is taken once the retention covers its day
        result->expired = true;
        return shard_meta_add (txn, "old_parts", 1);
    }
    int rc = s_part_record (self, txn, source, file, block);
    if (rc)
        return rc == 1 ? (result->duplicate = true, 0) : -1;
    if (shard_meta_add (txn, "parts_applied", 1) ||
        shard_meta_raise (txn, "last_block", (uint64_t) block))
        return -1;

    uint8_t key[SHARD_KEY_BLOCK_SIZE];
    shard_key_block (key, block);
    shard_bytes_t value;
    rc = shard_kv_get (txn, SHARD_DB_FINAL, key, sizeof key, &value);
    if (rc == 0) {
        result->late = result->final = true;
        return s_apply_late (self, txn, block, &value, sets);
    }
    if (rc == -1 || (rc = shard_kv_get (txn, SHARD_DB_OPEN, key, sizeof key, &value)) == -1)
        return -1;
    shard_open_t open;
    if (rc == 1 && s_delivered (self, NULL, source)) {
        //  Final on arrival: fold directly, no open rows
        result->final = true;
        shard_final_t final = {now, 0};
        shard_final_encode (&final, &self->buffer);
        if (shard_kv_put (txn, SHARD_DB_FINAL, key, sizeof key, self->buffer.data,
                          self->buffer.size))
            return -1;
        return s_fold_pairs (self, txn, block, sets, false);
    }
    if (rc == 1) {
        open.first_arrival = now;
        open.source_count = 0;
    }
    else if (shard_open_decode (&open, value.data, value.size)) {
        shard_txn_fail (txn, SHARD_DB_OPEN, "open block does not decode");
        return -1;
    }
    shard_open_add (&open, source);
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        const shard_pairs_t *set = &sets[direction];
        if (set->count && s_direction (self, txn, direction))
            return -1;
        for (size_t index = 0; index < set->count; index++) {
            proto_pair_t pair;
            s_pair (self, set->pair_at, set->pairs, index, &pair);
            if (s_merge_pair (self, txn, block, &pair))
                return -1;
        }
    }
    if (s_direction (self, txn, PROTO_DIRECTION_OUT))
        return -1;
    if (s_delivered (self, &open, source)) {
        result->final = true;
        return s_finalise (self, txn, block, now);
    }
    shard_open_encode (&open, &self->buffer);
    return shard_kv_put (txn, SHARD_DB_OPEN, key, sizeof key, self->buffer.data, self->buffer.size);
}

//  --------------------------------------------------------------------------
int
shard_fold_due (shard_fold_t *self, shard_txn_t *txn, int64_t now, int64_t *blocks, size_t max)
{
    assert (self);
    assert (txn);
    assert (blocks || max == 0);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_OPEN);
    if (!cursor)
        return -1;
    size_t count = 0;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0 && count < max) {
        shard_open_t open;
        if (key.size != SHARD_KEY_BLOCK_SIZE || shard_open_decode (&open, value.data, value.size)) {
            shard_txn_fail (txn, SHARD_DB_OPEN, "open block does not decode");
            rc = -1;
            break;
        }
        if (now - open.first_arrival >= (int64_t) self->grace_secs ||
            s_delivered (self, &open, NULL))
            blocks[count++] = (int64_t) shard_get64 (key.data);
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : (int) count;
}

//  --------------------------------------------------------------------------
int
shard_fold_finalise (shard_fold_t *self, shard_txn_t *txn, int64_t block, int64_t now)
{
    assert (self);
    assert (txn);
    uint8_t key[SHARD_KEY_BLOCK_SIZE];
    shard_key_block (key, block);
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_OPEN, key, sizeof key, &value);
    if (rc)
        return rc;
    self->cutoff_day = shard_fold_cutoff_day (self, now);
    if (shard_days_where (txn, &self->where) == -1)
        return -1;
    return s_finalise (self, txn, block, now);
}

//  --------------------------------------------------------------------------
int
shard_fold_annotate (shard_fold_t *self, shard_txn_t *txn, const proto_annotation_t *annotation)
{
    assert (self);
    assert (txn);
    assert (annotation);
    uint8_t key[SHARD_KEY_NOTE_MAX];
    size_t key_size =
        shard_key_note (key, &annotation->addr, annotation->rrtype, annotation->rrname);
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_NOTES, key, key_size, &value);
    if (rc == -1)
        return -1;
    int64_t first_seen = annotation->first_seen, last_seen = annotation->last_seen;
    if (first_seen > last_seen) {
        first_seen = annotation->last_seen;
        last_seen = annotation->first_seen;
    }
    if (rc == 0) {
        int64_t old_first, old_last;
        if (shard_note_decode (value.data, value.size, &old_first, &old_last)) {
            shard_txn_fail (txn, SHARD_DB_NOTES, "annotation does not decode");
            return -1;
        }
        first_seen = old_first < first_seen ? old_first : first_seen;
        last_seen = old_last > last_seen ? old_last : last_seen;
    }
    else {
        //  A new name: count it on the host record
        if (s_host_load (self, txn, &annotation->addr))
            return -1;
        self->host->annotations++;
        self->host_dirty = true;
    }
    shard_note_encode (first_seen, last_seen, &self->buffer);
    return shard_kv_put (txn, SHARD_DB_NOTES, key, key_size, self->buffer.data, self->buffer.size);
}

//  --------------------------------------------------------------------------
int
shard_fold_flush (shard_fold_t *self, shard_txn_t *txn)
{
    assert (self);
    assert (txn);
    int rc = s_host_write (self, txn);
    self->host_loaded = false;
    if (shard_top_cache_flush (self->top, txn))
        rc = -1;
    return rc;
}

//  --------------------------------------------------------------------------
void
shard_fold_clear (shard_fold_t *self)
{
    assert (self);
    self->host_loaded = false;
    self->host_dirty = false;
    self->direction = PROTO_DIRECTION_OUT;
    shard_top_cache_clear (self->top);
}

//  --------------------------------------------------------------------------
uint64_t
shard_fold_rebuilds (shard_fold_t *self)
{
    assert (self);
    return shard_top_cache_recomputed (self->top);
}
