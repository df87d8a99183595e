/*  broker_map_move.c - slot moves in the map: the plan, the batches, their phases.

    A move is planned all at once (which slot goes to which shard: `targets`) and run
    batch by batch, a batch being every planned slot of one source for one target.
    The phases of a batch and the hold of the ingestors are persisted in the map file
    with the slots, in one atomic write, so that a broker killed at any point starts
    again where it was: COPY is copied again (import is idempotent), DELETE is deleted
    again (so is delete), and the switch from one to the other is the same write that
    gives the slots to the target.  PROTOCOL.md "Slot moves" has the whole protocol.

    File section (absent when no move is under way):
        move
            hold = 1                    ingestors hold new files
            hold_epoch = 12             epoch the hold began at
            phase = "copy"              none, copy or delete
            source = 0                  the batch's shards (indexes)
            target = 2
            batch = "3,7,11"            the batch's slots
            targets = "3:2,7:2,11:2"    every planned slot and its target
            removing = "shard-1"        shard dropped once it owns nothing (optional)
*/
#include "broker/broker_map_private.h"

static const char *s_phase_names[] = {"none", "copy", "delete"};

//  What a change may have to undo
typedef struct {
    uint64_t epoch;
    uint16_t slots[PROTO_SLOT_COUNT];
    broker_map_move_t move;
} s_snapshot_t;

static void
s_snapshot (broker_map_t *self, s_snapshot_t *snapshot)
{
    snapshot->epoch = self->epoch;
    memcpy (snapshot->slots, self->slots, sizeof self->slots);
    snapshot->move = self->move;
}

//  Save, or restore the snapshot: 0 or -1
static int
s_save_or_undo (broker_map_t *self, s_snapshot_t *snapshot)
{
    if (broker_map_save (self) == 0)
        return 0;
    if (self->move.removing != snapshot->move.removing)
        zstr_free (&self->move.removing);
    self->epoch = snapshot->epoch;
    memcpy (self->slots, snapshot->slots, sizeof self->slots);
    self->move = snapshot->move;
    return -1;
}

static bool
s_in_batch (const broker_map_t *self, size_t slot)
{
    return self->move.batch[slot / 8] >> (slot % 8) & 1;
}

//  --------------------------------------------------------------------------
uint32_t
broker_map_move_pending (broker_map_t *self)
{
    assert (self);
    uint32_t count = 0;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        count += self->move.targets[slot] != BROKER_MAP_NO_TARGET ||
                 (self->move.phase != BROKER_MAP_PHASE_NONE && s_in_batch (self, slot));
    return count;
}

bool
broker_map_hold (broker_map_t *self)
{
    assert (self);
    return self->move.hold;
}

uint64_t
broker_map_hold_epoch (broker_map_t *self)
{
    assert (self);
    return self->move.hold_epoch;
}

broker_map_phase_t
broker_map_batch (broker_map_t *self, size_t *source, size_t *target, uint8_t *slotset)
{
    assert (self);
    assert (source && target);
    *source = self->move.source;
    *target = self->move.target;
    if (slotset)
        memcpy (slotset, self->move.batch, PROTO_SLOTSET_SIZE);
    return self->move.phase;
}

//  --------------------------------------------------------------------------
int
broker_map_set_hold (broker_map_t *self, bool hold)
{
    assert (self);
    if (self->move.hold == hold)
        return 0;
    s_snapshot_t snapshot;
    s_snapshot (self, &snapshot);
    self->move.hold = hold;
    self->epoch++;
    if (hold)
        self->move.hold_epoch = self->epoch;
    return s_save_or_undo (self, &snapshot);
}

//  --------------------------------------------------------------------------
//  A move may start: none under way.  0, or -2 with the reason.

static int
s_may_plan (broker_map_t *self, char *error, size_t error_size)
{
    if (self->move.hold || self->move.phase != BROKER_MAP_PHASE_NONE ||
        broker_map_move_pending (self)) {
        snprintf (error, error_size, "a slot move is under way (%u slots to go): wait for it",
                  broker_map_move_pending (self));
        return -2;
    }
    return 0;
}

static void
s_slot_counts (broker_map_t *self, uint32_t *counts)
{
    memset (counts, 0, self->shard_count * sizeof (uint32_t));
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        counts[self->slots[slot]]++;
}

//  --------------------------------------------------------------------------
int
broker_map_add_shard (broker_map_t *self, const char *name, const char *endpoint, char *error,
                      size_t error_size)
{
    assert (self);
    assert (name && endpoint && error);
    if (!broker_map_name_valid (name) || broker_map_shard_index (self, name) >= 0 ||
        self->shard_count >= BROKER_MAP_SHARDS_MAX) {
        snprintf (error, error_size, "shard name '%.64s' is invalid or taken", name);
        return -2;
    }
    if (!*endpoint || strlen (endpoint) > PROTO_ENDPOINT_MAX) {
        snprintf (error, error_size, "endpoint must be 1 to %d characters", PROTO_ENDPOINT_MAX);
        return -2;
    }
    if (s_may_plan (self, error, error_size))
        return -2;
    s_snapshot_t snapshot;
    s_snapshot (self, &snapshot);
    broker_map_shard_append (self, name, endpoint);
    size_t added = self->shard_count - 1;
    uint32_t *counts = (uint32_t *) zmalloc (self->shard_count * sizeof (uint32_t));
    s_slot_counts (self, counts);
    uint32_t want = PROTO_SLOT_COUNT / (uint32_t) self->shard_count;
    for (uint32_t step = 0; step < want; step++) {
        size_t from = 0;
        for (size_t index = 1; index < added; index++)
            if (counts[index] > counts[from])
                from = index;
        for (size_t slot = PROTO_SLOT_COUNT; slot-- > 0;)
            if (self->slots[slot] == from && self->move.targets[slot] == BROKER_MAP_NO_TARGET) {
                self->move.targets[slot] = (uint16_t) added;
                break;
            }
        counts[from]--;
    }
    free (counts);
    self->epoch++;
    self->move.hold = true;
    self->move.hold_epoch = self->epoch;
    if (s_save_or_undo (self, &snapshot)) {
        self->shard_count--;
        zstr_free (&self->shard_names[added]);
        zstr_free (&self->shard_endpoints[added]);
        return -1;
    }
    return (int) want;
}

//  --------------------------------------------------------------------------
int
broker_map_remove_shard (broker_map_t *self, const char *name, char *error, size_t error_size)
{
    assert (self);
    assert (name && error);
    int removed = broker_map_shard_index (self, name);
    if (removed < 0) {
        snprintf (error, error_size, "no shard named '%.64s' in the map", name);
        return -2;
    }
    if (self->shard_count == 1) {
        snprintf (error, error_size, "'%.64s' is the last shard: it cannot go", name);
        return -2;
    }
    if (s_may_plan (self, error, error_size))
        return -2;
    s_snapshot_t snapshot;
    s_snapshot (self, &snapshot);
    uint32_t *counts = (uint32_t *) zmalloc (self->shard_count * sizeof (uint32_t));
    s_slot_counts (self, counts);
    int planned = 0;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++) {
        if (self->slots[slot] != removed)
            continue;
        size_t to = removed == 0 ? 1 : 0;
        for (size_t index = 0; index < self->shard_count; index++)
            if (index != (size_t) removed && counts[index] < counts[to])
                to = index;
        self->move.targets[slot] = (uint16_t) to;
        counts[to]++;
        planned++;
    }
    free (counts);
    self->epoch++;
    self->move.hold = true;
    self->move.hold_epoch = self->epoch;
    self->move.removing = strdup (name);
    return s_save_or_undo (self, &snapshot) ? -1 : planned;
}

//  --------------------------------------------------------------------------
int
broker_map_batch_begin (broker_map_t *self)
{
    assert (self);
    assert (self->move.phase == BROKER_MAP_PHASE_NONE);
    s_snapshot_t snapshot;
    s_snapshot (self, &snapshot);
    size_t first = PROTO_SLOT_COUNT;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT && first == PROTO_SLOT_COUNT; slot++)
        if (self->move.targets[slot] != BROKER_MAP_NO_TARGET)
            first = slot;
    if (first == PROTO_SLOT_COUNT) {
        if (!self->move.hold)
            return 1;
        self->move.hold = false;  //  Done: ingestors go on
        self->epoch++;
        return s_save_or_undo (self, &snapshot) ? -1 : 1;
    }
    self->move.source = self->slots[first];
    self->move.target = self->move.targets[first];
    memset (self->move.batch, 0, sizeof self->move.batch);
    for (size_t slot = first; slot < PROTO_SLOT_COUNT; slot++)
        if (self->slots[slot] == self->move.source && self->move.targets[slot] == self->move.target)
            self->move.batch[slot / 8] |= (uint8_t) (1u << (slot % 8));
    self->move.phase = BROKER_MAP_PHASE_COPY;
    return s_save_or_undo (self, &snapshot);
}

//  --------------------------------------------------------------------------
int
broker_map_batch_switch (broker_map_t *self)
{
    assert (self);
    assert (self->move.phase == BROKER_MAP_PHASE_COPY);
    s_snapshot_t snapshot;
    s_snapshot (self, &snapshot);
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        if (s_in_batch (self, slot)) {
            self->slots[slot] = self->move.target;
            self->move.targets[slot] = BROKER_MAP_NO_TARGET;
        }
    self->move.phase = BROKER_MAP_PHASE_DELETE;
    self->epoch++;
    return s_save_or_undo (self, &snapshot);
}

//  --------------------------------------------------------------------------
//  Drop shard index from the map (it owns no slot and no plan names it).

static void
s_drop_shard (broker_map_t *self, size_t index)
{
    zstr_free (&self->shard_names[index]);
    zstr_free (&self->shard_endpoints[index]);
    for (size_t at = index; at + 1 < self->shard_count; at++) {
        self->shard_names[at] = self->shard_names[at + 1];
        self->shard_endpoints[at] = self->shard_endpoints[at + 1];
    }
    self->shard_count--;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++) {
        if (self->slots[slot] > index)
            self->slots[slot]--;
        if (self->move.targets[slot] != BROKER_MAP_NO_TARGET && self->move.targets[slot] > index)
            self->move.targets[slot]--;
    }
}

int
broker_map_batch_end (broker_map_t *self)
{
    assert (self);
    assert (self->move.phase == BROKER_MAP_PHASE_DELETE);
    s_snapshot_t snapshot;
    s_snapshot (self, &snapshot);
    self->move.phase = BROKER_MAP_PHASE_NONE;
    memset (self->move.batch, 0, sizeof self->move.batch);
    int removing = self->move.removing ? broker_map_shard_index (self, self->move.removing) : -1;
    bool drop = removing >= 0 && broker_map_shard_slots (self, (size_t) removing) == 0;
    if (!drop)
        return s_save_or_undo (self, &snapshot);
    //  Keep the names, to put them back if the write fails
    size_t count = self->shard_count;
    char **names = (char **) zmalloc (count * sizeof (char *));
    char **endpoints = (char **) zmalloc (count * sizeof (char *));
    for (size_t index = 0; index < count; index++) {
        names[index] = strdup (self->shard_names[index]);
        endpoints[index] = strdup (self->shard_endpoints[index]);
    }
    s_drop_shard (self, (size_t) removing);
    char *removed = self->move.removing;
    self->move.removing = NULL;
    self->epoch++;
    int rc = 0;
    if (broker_map_save (self)) {
        for (size_t index = 0; index < self->shard_count; index++) {
            zstr_free (&self->shard_names[index]);
            zstr_free (&self->shard_endpoints[index]);
        }
        free (self->shard_names);
        free (self->shard_endpoints);
        self->shard_names = names;
        self->shard_endpoints = endpoints;
        self->shard_count = count;
        names = endpoints = NULL;
        self->epoch = snapshot.epoch;
        memcpy (self->slots, snapshot.slots, sizeof self->slots);
        self->move = snapshot.move;
        rc = -1;
    }
    else
        zstr_free (&removed);
    for (size_t index = 0; names && index < count; index++) {
        zstr_free (&names[index]);
        zstr_free (&endpoints[index]);
    }
    free (names);
    free (endpoints);
    return rc;
}

//  --------------------------------------------------------------------------
//  The file section

void
broker_map_move_write (broker_map_t *self, zconfig_t *map)
{
    broker_map_move_t *move = &self->move;
    if (!move->hold && move->phase == BROKER_MAP_PHASE_NONE && !move->removing &&
        broker_map_move_pending (self) == 0)
        return;
    zconfig_t *section = zconfig_new ("move", map);
    zconfig_putf (section, "hold", "%d", move->hold ? 1 : 0);
    zconfig_putf (section, "hold_epoch", "%" PRIu64, move->hold_epoch);
    zconfig_put (section, "phase", s_phase_names[move->phase]);
    zconfig_putf (section, "source", "%u", move->source);
    zconfig_putf (section, "target", "%u", move->target);
    char *text = (char *) zmalloc (PROTO_SLOT_COUNT * 12 + 1);
    char *cursor = text;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        if (s_in_batch (self, slot))
            cursor += sprintf (cursor, cursor == text ? "%zu" : ",%zu", slot);
    zconfig_put (section, "batch", text);
    cursor = text;
    *cursor = 0;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        if (move->targets[slot] != BROKER_MAP_NO_TARGET)
            cursor +=
                sprintf (cursor, cursor == text ? "%zu:%u" : ",%zu:%u", slot, move->targets[slot]);
    zconfig_put (section, "targets", text);
    free (text);
    if (move->removing)
        zconfig_put (section, "removing", move->removing);
}

//  A comma-separated list of slot or slot:shard (pairs), each checked.  0 or -1.
static int
s_read_slots (broker_map_t *self, const char *text, bool pairs)
{
    const char *cursor = text;
    while (*cursor) {
        char *end;
        unsigned long slot = strtoul (cursor, &end, 10), shard = 0;
        if (end == cursor || slot >= PROTO_SLOT_COUNT)
            return -1;
        if (pairs) {
            if (*end != ':')
                return -1;
            cursor = end + 1;
            shard = strtoul (cursor, &end, 10);
            if (end == cursor || shard >= self->shard_count)
                return -1;
            self->move.targets[slot] = (uint16_t) shard;
        }
        else
            self->move.batch[slot / 8] |= (uint8_t) (1u << (slot % 8));
        if (*end != ',' && *end)
            return -1;
        cursor = *end ? end + 1 : end;
    }
    return 0;
}

int
broker_map_move_read (broker_map_t *self, zconfig_t *map, char *error, size_t error_size)
{
    zconfig_t *section = zconfig_locate (map, "move");
    if (!section)
        return 0;
    broker_map_move_t *move = &self->move;
    move->hold = atoi (zconfig_get (section, "hold", "0")) == 1;
    move->hold_epoch = strtoull (zconfig_get (section, "hold_epoch", "0"), NULL, 10);
    const char *phase = zconfig_get (section, "phase", "none");
    int found = -1;
    for (int index = 0; index < 3; index++)
        if (streq (phase, s_phase_names[index]))
            found = index;
    move->source = (uint16_t) atoi (zconfig_get (section, "source", "0"));
    move->target = (uint16_t) atoi (zconfig_get (section, "target", "0"));
    const char *removing = zconfig_get (section, "removing", NULL);
    bool batch = found > BROKER_MAP_PHASE_NONE;
    if (found < 0 ||
        (batch && (move->source >= self->shard_count || move->target >= self->shard_count)) ||
        s_read_slots (self, zconfig_get (section, "batch", ""), false) ||
        s_read_slots (self, zconfig_get (section, "targets", ""), true) ||
        (removing && broker_map_shard_index (self, removing) < 0)) {
        snprintf (error, error_size, "the move section is invalid");
        return -1;
    }
    move->phase = (broker_map_phase_t) found;
    move->removing = removing ? strdup (removing) : NULL;
    return 0;
}

//  --------------------------------------------------------------------------
//  Selftest: add a shard, remove one, each batch by batch with a reload of the file
//  between phases (a broker restart), and refusals.

static broker_map_t *
s_test_reload (broker_map_t *self)
{
    char *data = strdup (self->data);
    broker_map_destroy (&self);
    self = broker_map_load (data);
    assert (self);
    free (data);
    return self;
}

static broker_map_t *
s_test_run (broker_map_t *self, uint32_t planned)
{
    uint32_t moved = 0;
    int rc;
    while ((rc = broker_map_batch_begin (self)) == 0) {
        self = s_test_reload (self);
        size_t source, target;
        uint8_t slotset[PROTO_SLOTSET_SIZE];
        assert (broker_map_batch (self, &source, &target, slotset) == BROKER_MAP_PHASE_COPY);
        assert (broker_map_hold (self) && source != target);
        uint64_t epoch = broker_map_epoch (self);
        assert (broker_map_batch_switch (self) == 0);
        assert (broker_map_epoch (self) == epoch + 1);
        self = s_test_reload (self);
        assert (broker_map_batch (self, &source, &target, NULL) == BROKER_MAP_PHASE_DELETE);
        for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
            if (slotset[slot / 8] >> (slot % 8) & 1) {
                assert (broker_map_slots (self)[slot] == target);
                moved++;
            }
        assert (broker_map_batch_end (self) == 0);
        self = s_test_reload (self);
    }
    assert (rc == 1 && moved == planned);
    assert (!broker_map_hold (self) && broker_map_move_pending (self) == 0);
    return s_test_reload (self);
}

void
broker_map_move_test (bool verbose)
{
    printf (" * broker_map_move: ");
    zsys_set_logstream (verbose ? stderr : NULL);
    char template[] = "/tmp/broker_map_move_test.XXXXXX";
    char *dir = mkdtemp (template);
    assert (dir);
    broker_map_t *self = broker_map_new (dir, "s0,s1");
    assert (self);
    char error[256];
    assert (broker_map_remove_shard (self, "nope", error, sizeof error) == -2);
    assert (broker_map_add_shard (self, "s1", "tcp://x:1", error, sizeof error) == -2);
    assert (broker_map_add_shard (self, "bad name", "tcp://x:1", error, sizeof error) == -2);
    uint64_t epoch = broker_map_epoch (self);
    int planned = broker_map_add_shard (self, "s2", "tcp://127.0.0.1:9", error, sizeof error);
    assert (planned == PROTO_SLOT_COUNT / 3);
    assert (broker_map_hold (self) && broker_map_hold_epoch (self) == epoch + 1);
    assert (broker_map_move_pending (self) == (uint32_t) planned);
    assert (broker_map_add_shard (self, "s3", "tcp://x:1", error, sizeof error) == -2);
    assert (strstr (error, "under way"));
    self = s_test_reload (self);
    assert (broker_map_shard_count (self) == 3 &&
            broker_map_move_pending (self) == (uint32_t) planned);
    self = s_test_run (self, (uint32_t) planned);
    assert (broker_map_shard_slots (self, 0) == 341 && broker_map_shard_slots (self, 1) == 342);
    assert (broker_map_shard_slots (self, 2) == 341);
    assert (streq (broker_map_shard_endpoint (self, 2), "tcp://127.0.0.1:9"));

    //  Remove s0: its slots go to the others, then s0 leaves the map
    planned = broker_map_remove_shard (self, "s0", error, sizeof error);
    assert (planned == 341);
    self = s_test_run (self, (uint32_t) planned);
    assert (broker_map_shard_count (self) == 2 && broker_map_shard_index (self, "s0") < 0);
    assert (broker_map_shard_slots (self, 0) == 512 && broker_map_shard_slots (self, 1) == 512);
    assert (streq (broker_map_shard_name (self, 1), "s2"));
    assert (broker_map_remove_shard (self, "s1", error, sizeof error) == 512);
    self = s_test_run (self, 512);
    assert (broker_map_remove_shard (self, "s2", error, sizeof error) == -2);  //  The last
    broker_map_destroy (&self);
    broker_map_test_dir_remove (dir);
    zsys_set_logstream (stderr);
    printf ("OK\n");
}
