/*  proto_msg_fields.c - the accessors of proto_msg: scalar fields, stats, slots, lists.

    One-line getters and setters over the fields of proto_msg_t (proto_msg_codec.h).
    Setters and appends copy into the message's arena; setting a field that the
    message's id does not carry is a programmer error and asserts (proto_msg_specs in
    proto_msg_table.c says which id carries which key).  Getters of strings return ""
    when unset; list _at functions copy the entry out, its pointers borrowed from the
    message.
*/
#include "proto/proto_msg_codec.h"

#include <assert.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  A copy of string (NULL: "") owned by self
static const char *
s_strdup (proto_msg_t *self, const char *string)
{
    return proto_msg_strndup (self, string ? string : "", string ? strlen (string) : 0);
}

//  --------------------------------------------------------------------------
//  Scalar fields.  Setting a field the id does not carry is a programmer error.

static void
s_require (proto_msg_t *self, proto_msg_field_t field)
{
    assert (self);
    assert (proto_msg_specs[self->id].fields & (UINT64_C (1) << field));
}

//  --------------------------------------------------------------------------
static const char *
s_string (const char *string)
{
    return string ? string : "";
}

//  --------------------------------------------------------------------------
const char *
proto_msg_role (proto_msg_t *self)
{
    assert (self);
    return s_string (self->role);
}

//  --------------------------------------------------------------------------
void
proto_msg_set_role (proto_msg_t *self, const char *role)
{
    s_require (self, PROTO_MSG_FIELD_ROLE);
    assert (role);
    self->role = s_strdup (self, role);
}

//  --------------------------------------------------------------------------
const char *
proto_msg_name (proto_msg_t *self)
{
    assert (self);
    return s_string (self->name);
}

//  --------------------------------------------------------------------------
void
proto_msg_set_name (proto_msg_t *self, const char *name)
{
    s_require (self, PROTO_MSG_FIELD_NAME);
    assert (name);
    self->name = s_strdup (self, name);
}

//  --------------------------------------------------------------------------
const char *
proto_msg_endpoint (proto_msg_t *self)
{
    assert (self);
    return s_string (self->endpoint);
}

//  --------------------------------------------------------------------------
void
proto_msg_set_endpoint (proto_msg_t *self, const char *endpoint)
{
    s_require (self, PROTO_MSG_FIELD_ENDPOINT);
    assert (endpoint);
    self->endpoint = s_strdup (self, endpoint);
}

//  --------------------------------------------------------------------------
const char *
proto_msg_spool (proto_msg_t *self)
{
    assert (self);
    return s_string (self->spool);
}

//  --------------------------------------------------------------------------
void
proto_msg_set_spool (proto_msg_t *self, const char *spool)
{
    s_require (self, PROTO_MSG_FIELD_SPOOL);
    assert (spool);
    self->spool = s_strdup (self, spool);
}

//  --------------------------------------------------------------------------
const char *
proto_msg_source (proto_msg_t *self)
{
    assert (self);
    return s_string (self->source);
}

//  --------------------------------------------------------------------------
void
proto_msg_set_source (proto_msg_t *self, const char *source)
{
    s_require (self, PROTO_MSG_FIELD_SOURCE);
    assert (source);
    self->source = s_strdup (self, source);
}

//  --------------------------------------------------------------------------
const char *
proto_msg_file (proto_msg_t *self)
{
    assert (self);
    return s_string (self->file);
}

//  --------------------------------------------------------------------------
void
proto_msg_set_file (proto_msg_t *self, const char *file)
{
    s_require (self, PROTO_MSG_FIELD_FILE);
    assert (file);
    self->file = s_strdup (self, file);
}

//  --------------------------------------------------------------------------
const char *
proto_msg_text (proto_msg_t *self)
{
    assert (self);
    return s_string (self->text);
}

//  --------------------------------------------------------------------------
void
proto_msg_set_text (proto_msg_t *self, const char *text)
{
    s_require (self, PROTO_MSG_FIELD_TEXT);
    assert (text);
    self->text = s_strdup (self, text);
}

//  --------------------------------------------------------------------------
uint64_t
proto_msg_epoch (proto_msg_t *self)
{
    assert (self);
    return self->epoch;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_epoch (proto_msg_t *self, uint64_t epoch)
{
    s_require (self, PROTO_MSG_FIELD_EPOCH);
    self->epoch = epoch;
}

//  --------------------------------------------------------------------------
int64_t
proto_msg_block (proto_msg_t *self)
{
    assert (self);
    return self->block;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_block (proto_msg_t *self, int64_t block)
{
    s_require (self, PROTO_MSG_FIELD_BLOCK);
    self->block = block;
}

//  --------------------------------------------------------------------------
bool
proto_msg_duplicate (proto_msg_t *self)
{
    assert (self);
    return self->duplicate;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_duplicate (proto_msg_t *self, bool duplicate)
{
    s_require (self, PROTO_MSG_FIELD_DUPLICATE);
    self->duplicate = duplicate;
}

//  --------------------------------------------------------------------------
bool
proto_msg_expired (proto_msg_t *self)
{
    assert (self);
    return self->expired;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_expired (proto_msg_t *self, bool expired)
{
    s_require (self, PROTO_MSG_FIELD_EXPIRED);
    self->expired = expired;
}

//  --------------------------------------------------------------------------
bool
proto_msg_hold (proto_msg_t *self)
{
    assert (self);
    return self->hold;
}

void
proto_msg_set_hold (proto_msg_t *self, bool hold)
{
    s_require (self, PROTO_MSG_FIELD_HOLD);
    self->hold = hold;
}

//  --------------------------------------------------------------------------
const uint8_t *
proto_msg_slotset (proto_msg_t *self)
{
    assert (self);
    return self->slotset_size == PROTO_SLOTSET_SIZE ? self->slotset : NULL;
}

void
proto_msg_set_slotset (proto_msg_t *self, const uint8_t *slotset)
{
    s_require (self, PROTO_MSG_FIELD_SLOTSET);
    assert (slotset);
    uint8_t *copy = (uint8_t *) proto_msg_alloc (self, PROTO_SLOTSET_SIZE);
    memcpy (copy, slotset, PROTO_SLOTSET_SIZE);
    self->slotset = copy;
    self->slotset_size = PROTO_SLOTSET_SIZE;
}

//  --------------------------------------------------------------------------
const uint8_t *
proto_msg_data (proto_msg_t *self, size_t *size)
{
    assert (self);
    assert (size);
    *size = self->data_size;
    return self->data;
}

void
proto_msg_set_data (proto_msg_t *self, const void *data, size_t size)
{
    s_require (self, PROTO_MSG_FIELD_DATA);
    assert (data || size == 0);
    uint8_t *copy = (uint8_t *) proto_msg_alloc (self, size ? size : 1);
    if (size)
        memcpy (copy, data, size);
    self->data = copy;
    self->data_size = size;
}

//  --------------------------------------------------------------------------
uint32_t
proto_msg_day (proto_msg_t *self)
{
    assert (self);
    return self->day;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_day (proto_msg_t *self, uint32_t day)
{
    s_require (self, PROTO_MSG_FIELD_DAY);
    self->day = day;
}

//  --------------------------------------------------------------------------
uint32_t
proto_msg_from (proto_msg_t *self)
{
    assert (self);
    return self->from;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_from (proto_msg_t *self, uint32_t from)
{
    s_require (self, PROTO_MSG_FIELD_FROM);
    self->from = from;
}

//  --------------------------------------------------------------------------
uint32_t
proto_msg_to (proto_msg_t *self)
{
    assert (self);
    return self->to;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_to (proto_msg_t *self, uint32_t to)
{
    s_require (self, PROTO_MSG_FIELD_TO);
    self->to = to;
}

//  --------------------------------------------------------------------------
uint8_t
proto_msg_op (proto_msg_t *self)
{
    assert (self);
    return self->op;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_op (proto_msg_t *self, uint8_t op)
{
    s_require (self, PROTO_MSG_FIELD_OP);
    self->op = op;
}

//  --------------------------------------------------------------------------
uint8_t
proto_msg_feature (proto_msg_t *self)
{
    assert (self);
    return self->feature;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_feature (proto_msg_t *self, uint8_t feature)
{
    s_require (self, PROTO_MSG_FIELD_FEATURE);
    self->feature = feature;
}

//  --------------------------------------------------------------------------
uint32_t
proto_msg_port (proto_msg_t *self)
{
    assert (self);
    return self->port;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_port (proto_msg_t *self, uint32_t port)
{
    s_require (self, PROTO_MSG_FIELD_PORT);
    self->port = port;
}

//  --------------------------------------------------------------------------
const proto_addr_t *
proto_msg_host (proto_msg_t *self)
{
    assert (self);
    return &self->host;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_host (proto_msg_t *self, const proto_addr_t *host)
{
    s_require (self, PROTO_MSG_FIELD_HOST);
    assert (host);
    self->host = *host;
}

//  --------------------------------------------------------------------------
bool
proto_msg_known (proto_msg_t *self)
{
    assert (self);
    return self->known;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_known (proto_msg_t *self, bool known)
{
    s_require (self, PROTO_MSG_FIELD_KNOWN);
    self->known = known;
}

//  --------------------------------------------------------------------------
int64_t
proto_msg_first_seen (proto_msg_t *self)
{
    assert (self);
    return self->first_seen;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_first_seen (proto_msg_t *self, int64_t first_seen)
{
    s_require (self, PROTO_MSG_FIELD_FIRST_SEEN);
    self->first_seen = first_seen;
}

//  --------------------------------------------------------------------------
int64_t
proto_msg_last_seen (proto_msg_t *self)
{
    assert (self);
    return self->last_seen;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_last_seen (proto_msg_t *self, int64_t last_seen)
{
    s_require (self, PROTO_MSG_FIELD_LAST_SEEN);
    self->last_seen = last_seen;
}

//  --------------------------------------------------------------------------
uint16_t
proto_msg_code (proto_msg_t *self)
{
    assert (self);
    return self->code;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_code (proto_msg_t *self, uint16_t code)
{
    s_require (self, PROTO_MSG_FIELD_CODE);
    self->code = code;
}

//  --------------------------------------------------------------------------
uint32_t
proto_msg_count (proto_msg_t *self)
{
    assert (self);
    return self->count;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_count (proto_msg_t *self, uint32_t count)
{
    s_require (self, PROTO_MSG_FIELD_COUNT);
    self->count = count;
}

//  --------------------------------------------------------------------------
uint8_t
proto_msg_spark (proto_msg_t *self)
{
    assert (self);
    return self->spark;
}

void
proto_msg_set_spark (proto_msg_t *self, uint8_t spark)
{
    s_require (self, PROTO_MSG_FIELD_SPARK);
    self->spark = spark;
}

//  --------------------------------------------------------------------------
//  HEARTBEAT stats

int
proto_msg_stats_set (proto_msg_t *self, const char *key, int64_t value)
{
    s_require (self, PROTO_MSG_FIELD_STATS);
    assert (key);
    for (size_t index = 0; index < self->stat_count; index++)
        if (streq (self->stat_keys[index], key)) {
            self->stat_values[index] = value;
            return 0;
        }
    if (self->stat_count == PROTO_STATS_MAX)
        return -1;
    self->stat_keys[self->stat_count] = s_strdup (self, key);
    self->stat_values[self->stat_count++] = value;
    return 0;
}

//  --------------------------------------------------------------------------
bool
proto_msg_stats_get (proto_msg_t *self, const char *key, int64_t *value)
{
    assert (self);
    assert (key);
    for (size_t index = 0; index < self->stat_count; index++)
        if (streq (self->stat_keys[index], key)) {
            if (value)
                *value = self->stat_values[index];
            return true;
        }
    return false;
}

//  --------------------------------------------------------------------------
size_t
proto_msg_stats_count (proto_msg_t *self)
{
    assert (self);
    return self->stat_count;
}

//  --------------------------------------------------------------------------
void
proto_msg_stats_at (proto_msg_t *self, size_t index, const char **key, int64_t *value)
{
    assert (self);
    assert (index < self->stat_count);
    if (key)
        *key = self->stat_keys[index];
    if (value)
        *value = self->stat_values[index];
}

//  --------------------------------------------------------------------------
//  MAP slots

void
proto_msg_set_slots (proto_msg_t *self, const uint16_t *slots)
{
    s_require (self, PROTO_MSG_FIELD_SLOTS);
    assert (slots);
    if (!self->slots)
        self->slots = (uint16_t *) proto_msg_alloc (self, PROTO_SLOT_COUNT * sizeof (uint16_t));
    memcpy (self->slots, slots, PROTO_SLOT_COUNT * sizeof (uint16_t));
}

//  --------------------------------------------------------------------------
const uint16_t *
proto_msg_slots (proto_msg_t *self)
{
    assert (self);
    return self->slots;
}

//  --------------------------------------------------------------------------
//  Lists: appends copy into the message; _at copies the entry out, pointers borrowed

#define S_ENTRY(list, type, index) (((type *) (list).items)[index])

//  --------------------------------------------------------------------------
void
proto_msg_peers_append (proto_msg_t *self, const proto_peer_t *peer)
{
    s_require (self, PROTO_MSG_FIELD_PEERS);
    assert (peer);
    assert (peer->stat_count <= PROTO_STATS_MAX);
    proto_peer_t *copy = (proto_peer_t *) proto_msg_list_push (&self->peers, sizeof (proto_peer_t));
    *copy = *peer;
    copy->role = s_strdup (self, peer->role);
    copy->name = s_strdup (self, peer->name);
    copy->endpoint = s_strdup (self, peer->endpoint);
    copy->spool = s_strdup (self, peer->spool);
    copy->state = s_strdup (self, peer->state);
    for (size_t index = 0; index < peer->stat_count; index++)
        copy->stat_keys[index] = s_strdup (self, peer->stat_keys[index]);
}

//  --------------------------------------------------------------------------
size_t
proto_msg_peers_count (proto_msg_t *self)
{
    assert (self);
    return self->peers.count;
}

//  --------------------------------------------------------------------------
void
proto_msg_peers_at (proto_msg_t *self, size_t index, proto_peer_t *peer)
{
    assert (self);
    assert (index < self->peers.count);
    assert (peer);
    *peer = S_ENTRY (self->peers, proto_peer_t, index);
}

//  --------------------------------------------------------------------------
//  Append a copy of pair (its peers copied into the message) to list.
static void
s_pair_push (proto_msg_t *self, proto_msg_list_t *list, const proto_pair_t *pair)
{
    assert (pair);
    assert (pair->peers || pair->peers_size == 0);
    proto_pair_t *copy = (proto_pair_t *) proto_msg_list_push (list, sizeof (proto_pair_t));
    *copy = *pair;
    copy->peers = NULL;
    if (pair->peers_size) {
        uint8_t *peers = (uint8_t *) proto_msg_alloc (self, pair->peers_size);
        memcpy (peers, pair->peers, pair->peers_size);
        copy->peers = peers;
    }
}

//  --------------------------------------------------------------------------
void
proto_msg_pairs_append (proto_msg_t *self, const proto_pair_t *pair)
{
    s_require (self, PROTO_MSG_FIELD_PAIRS);
    s_pair_push (self, &self->pairs, pair);
}

//  --------------------------------------------------------------------------
void
proto_msg_pairs_in_append (proto_msg_t *self, const proto_pair_t *pair)
{
    s_require (self, PROTO_MSG_FIELD_PAIRS_IN);
    s_pair_push (self, &self->pairs_in, pair);
}

//  --------------------------------------------------------------------------
size_t
proto_msg_pairs_in_count (proto_msg_t *self)
{
    assert (self);
    return self->pairs_in.count;
}

//  --------------------------------------------------------------------------
void
proto_msg_pairs_in_at (proto_msg_t *self, size_t index, proto_pair_t *pair)
{
    assert (self);
    assert (index < self->pairs_in.count);
    assert (pair);
    *pair = S_ENTRY (self->pairs_in, proto_pair_t, index);
}

//  --------------------------------------------------------------------------
uint8_t
proto_msg_direction (proto_msg_t *self)
{
    assert (self);
    return self->direction;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_direction (proto_msg_t *self, uint8_t direction)
{
    s_require (self, PROTO_MSG_FIELD_DIRECTION);
    assert (direction < PROTO_DIRECTION_COUNT);
    self->direction = direction;
}

//  --------------------------------------------------------------------------
size_t
proto_msg_pairs_count (proto_msg_t *self)
{
    assert (self);
    return self->pairs.count;
}

//  --------------------------------------------------------------------------
void
proto_msg_pairs_at (proto_msg_t *self, size_t index, proto_pair_t *pair)
{
    assert (self);
    assert (index < self->pairs.count);
    assert (pair);
    *pair = S_ENTRY (self->pairs, proto_pair_t, index);
}

//  --------------------------------------------------------------------------
//  The peers_capped list holds the indexes of the capped entries (TOP) or points
//  (SERIES), ascending: append adds the new entry's index, at finds it by bisection.

static void
s_capped_append (proto_msg_t *self, size_t index)
{
    assert (index <= UINT32_MAX);
    *(uint32_t *) proto_msg_list_push (&self->capped, sizeof (uint32_t)) = (uint32_t) index;
}

//  --------------------------------------------------------------------------
static bool
s_capped_has (proto_msg_t *self, size_t index)
{
    const uint32_t *indexes = (const uint32_t *) self->capped.items;
    size_t low = 0, high = self->capped.count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (indexes[middle] == index)
            return true;
        if (indexes[middle] < index)
            low = middle + 1;
        else
            high = middle;
    }
    return false;
}

//  --------------------------------------------------------------------------
void
proto_msg_top_append (proto_msg_t *self, const proto_top_t *top)
{
    s_require (self, PROTO_MSG_FIELD_ENTRIES);
    assert (top);
    if (top->peers_capped)
        s_capped_append (self, self->entries.count);
    proto_top_t *copy = (proto_top_t *) proto_msg_list_push (&self->entries, sizeof (proto_top_t));
    *copy = *top;
    copy->peers_capped = false;  //  Read back from the capped list, as after decoding
}

//  --------------------------------------------------------------------------
size_t
proto_msg_top_count (proto_msg_t *self)
{
    assert (self);
    return self->entries.count;
}

//  --------------------------------------------------------------------------
void
proto_msg_top_at (proto_msg_t *self, size_t index, proto_top_t *top)
{
    assert (self);
    assert (index < self->entries.count);
    assert (top);
    *top = S_ENTRY (self->entries, proto_top_t, index);
    top->peers_capped = s_capped_has (self, index);
}

//  --------------------------------------------------------------------------
void
proto_msg_points_append (proto_msg_t *self, const proto_point_t *point)
{
    s_require (self, PROTO_MSG_FIELD_POINTS);
    assert (point);
    if (point->peers_capped)
        s_capped_append (self, self->points.count);
    proto_point_t *copy =
        (proto_point_t *) proto_msg_list_push (&self->points, sizeof (proto_point_t));
    *copy = *point;
    copy->peers_capped = false;  //  Read back from the capped list, as after decoding
}

//  --------------------------------------------------------------------------
size_t
proto_msg_points_count (proto_msg_t *self)
{
    assert (self);
    return self->points.count;
}

//  --------------------------------------------------------------------------
void
proto_msg_points_at (proto_msg_t *self, size_t index, proto_point_t *point)
{
    assert (self);
    assert (index < self->points.count);
    assert (point);
    *point = S_ENTRY (self->points, proto_point_t, index);
    point->peers_capped = s_capped_has (self, index);
}

//  --------------------------------------------------------------------------
void
proto_msg_annotations_append (proto_msg_t *self, const proto_annotation_t *annotation)
{
    s_require (self, PROTO_MSG_FIELD_ANNOTATIONS);
    assert (annotation);
    proto_annotation_t *copy = (proto_annotation_t *) proto_msg_list_push (
        &self->annotations, sizeof (proto_annotation_t));
    *copy = *annotation;
    copy->rrname = s_strdup (self, annotation->rrname);
    copy->rrtype = s_strdup (self, annotation->rrtype);
}

//  --------------------------------------------------------------------------
size_t
proto_msg_annotations_count (proto_msg_t *self)
{
    assert (self);
    return self->annotations.count;
}

//  --------------------------------------------------------------------------
void
proto_msg_annotations_at (proto_msg_t *self, size_t index, proto_annotation_t *annotation)
{
    assert (self);
    assert (index < self->annotations.count);
    assert (annotation);
    *annotation = S_ENTRY (self->annotations, proto_annotation_t, index);
}

//  --------------------------------------------------------------------------
void
proto_msg_changes_append (proto_msg_t *self, const proto_change_t *change)
{
    s_require (self, PROTO_MSG_FIELD_CHANGES);
    assert (change);
    *(proto_change_t *) proto_msg_list_push (&self->changes, sizeof (proto_change_t)) = *change;
}

size_t
proto_msg_changes_count (proto_msg_t *self)
{
    assert (self);
    return self->changes.count;
}

void
proto_msg_changes_at (proto_msg_t *self, size_t index, proto_change_t *change)
{
    assert (self);
    assert (index < self->changes.count);
    assert (change);
    *change = S_ENTRY (self->changes, proto_change_t, index);
}

//  --------------------------------------------------------------------------
void
proto_msg_sparks_append (proto_msg_t *self, uint64_t score)
{
    s_require (self, PROTO_MSG_FIELD_SPARKS);
    *(uint64_t *) proto_msg_list_push (&self->sparks, sizeof (uint64_t)) = score;
}

size_t
proto_msg_sparks_count (proto_msg_t *self)
{
    assert (self);
    return self->sparks.count;
}

uint64_t
proto_msg_sparks_at (proto_msg_t *self, size_t index)
{
    assert (self);
    assert (index < self->sparks.count);
    return S_ENTRY (self->sparks, uint64_t, index);
}

//  --------------------------------------------------------------------------
void
proto_msg_ports_append (proto_msg_t *self, uint16_t port)
{
    s_require (self, PROTO_MSG_FIELD_PORTS);
    *(uint16_t *) proto_msg_list_push (&self->ports, sizeof (uint16_t)) = port;
}

//  --------------------------------------------------------------------------
size_t
proto_msg_ports_count (proto_msg_t *self)
{
    assert (self);
    return self->ports.count;
}

//  --------------------------------------------------------------------------
uint16_t
proto_msg_ports_at (proto_msg_t *self, size_t index)
{
    assert (self);
    assert (index < self->ports.count);
    return S_ENTRY (self->ports, uint16_t, index);
}

//  --------------------------------------------------------------------------
void
proto_msg_days_append (proto_msg_t *self, uint32_t day)
{
    s_require (self, PROTO_MSG_FIELD_DAYS);
    *(uint32_t *) proto_msg_list_push (&self->days, sizeof (uint32_t)) = day;
}

//  --------------------------------------------------------------------------
size_t
proto_msg_days_count (proto_msg_t *self)
{
    assert (self);
    return self->days.count;
}

//  --------------------------------------------------------------------------
uint32_t
proto_msg_days_at (proto_msg_t *self, size_t index)
{
    assert (self);
    assert (index < self->days.count);
    return S_ENTRY (self->days, uint32_t, index);
}

//  --------------------------------------------------------------------------
//  PART (optional) and OTHERS: a host's traffic to ports that are not monitored

void
proto_msg_others_append (proto_msg_t *self, const proto_other_t *other)
{
    s_require (self, PROTO_MSG_FIELD_OTHERS);
    assert (other);
    *(proto_other_t *) proto_msg_list_push (&self->others, sizeof (proto_other_t)) = *other;
}

//  --------------------------------------------------------------------------
size_t
proto_msg_others_count (proto_msg_t *self)
{
    assert (self);
    return self->others.count;
}

//  --------------------------------------------------------------------------
void
proto_msg_others_at (proto_msg_t *self, size_t index, proto_other_t *other)
{
    assert (self);
    assert (index < self->others.count);
    assert (other);
    *other = S_ENTRY (self->others, proto_other_t, index);
}

//  --------------------------------------------------------------------------
void
proto_msg_other_ports_append (proto_msg_t *self, const proto_other_port_t *port)
{
    s_require (self, PROTO_MSG_FIELD_OTHER_PORTS);
    assert (port);
    *(proto_other_port_t *) proto_msg_list_push (&self->other_ports, sizeof (proto_other_port_t)) =
        *port;
}

//  --------------------------------------------------------------------------
size_t
proto_msg_other_ports_count (proto_msg_t *self)
{
    assert (self);
    return self->other_ports.count;
}

//  --------------------------------------------------------------------------
void
proto_msg_other_ports_at (proto_msg_t *self, size_t index, proto_other_port_t *port)
{
    assert (self);
    assert (index < self->other_ports.count);
    assert (port);
    *port = S_ENTRY (self->other_ports, proto_other_port_t, index);
}

//  --------------------------------------------------------------------------
bool
proto_peer_stat (const proto_peer_t *peer, const char *key, int64_t *value)
{
    assert (peer);
    assert (key);
    assert (value);
    for (size_t index = 0; index < peer->stat_count; index++)
        if (streq (peer->stat_keys[index], key)) {
            *value = peer->stat_values[index];
            return true;
        }
    return false;
}
