/*  proto_msg_table.c - the message table of proto_msg: keys, wire types, limits, rules.

    PROTOCOL.md "Messages" as data.  proto_msg_body_columns gives each body key its C
    member (by offset into proto_msg_t), its wire type and its limit; proto_msg_specs
    says which keys each message id carries; the entry records (peer, pair, top, point,
    annotation) list their positional columns the same way.  A key has one type in every
    message that carries it.  The encoder and the decoder (proto_msg_codec.c) both walk
    these tables and both finish with the cross-field rules below, so that whatever one
    side writes the other accepts.
*/
#include "proto/proto_msg_codec.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  The message table

#define S_MEMBER(T, member) offsetof (T, member), sizeof (((T *) 0)->member)
#define S_COLUMN(T, key, kind, max, member, entry)                                                 \
    {                                                                                              \
        key, kind, max, S_MEMBER (T, member), 0, 0, entry                                          \
    }
#define S_UINT(T, key, member, max) S_COLUMN (T, key, PROTO_MSG_KIND_UINT, max, member, NULL)
#define S_INT(T, key, member) S_COLUMN (T, key, PROTO_MSG_KIND_INT, 0, member, NULL)
#define S_BOOL(T, key, member) S_COLUMN (T, key, PROTO_MSG_KIND_BOOL, 0, member, NULL)
#define S_STR(T, key, member, max) S_COLUMN (T, key, PROTO_MSG_KIND_STR, max, member, NULL)
#define S_BIN16(T, key, member) S_COLUMN (T, key, PROTO_MSG_KIND_BIN16, 16, member, NULL)
#define S_LIST(T, key, member, record) S_COLUMN (T, key, PROTO_MSG_KIND_LIST, 0, member, &record)

static int s_check_pair (const void *entry, char *reason);

//  peer entry: [role, name, endpoint, spool, state, slots u32, age u64, stats]
static const proto_msg_column_t s_peer_columns[] = {
    S_STR (proto_peer_t, "role", role, PROTO_NAME_MAX),
    S_STR (proto_peer_t, "name", name, PROTO_NAME_MAX),
    S_STR (proto_peer_t, "endpoint", endpoint, PROTO_ENDPOINT_MAX),
    S_STR (proto_peer_t, "spool", spool, PROTO_PATH_MAX),
    S_STR (proto_peer_t, "state", state, PROTO_NAME_MAX),
    S_UINT (proto_peer_t, "slots", slots, UINT32_MAX),
    S_UINT (proto_peer_t, "age", age_msecs, UINT64_MAX),
    {"stats", PROTO_MSG_KIND_STATS, PROTO_STATS_MAX, S_MEMBER (proto_peer_t, stat_keys),
     offsetof (proto_peer_t, stat_count), offsetof (proto_peer_t, stat_values), NULL},
};

//  pair entry: [addr, port u16, bytes, packets, durations, peers_kind, peers]
static const proto_msg_column_t s_pair_columns[] = {
    S_BIN16 (proto_pair_t, "addr", addr),
    S_UINT (proto_pair_t, "port", port, UINT16_MAX),
    S_UINT (proto_pair_t, "bytes", bytes, UINT64_MAX),
    S_UINT (proto_pair_t, "packets", packets, UINT64_MAX),
    S_UINT (proto_pair_t, "durations", durations, UINT64_MAX),
    S_UINT (proto_pair_t, "peers_kind", peers_kind, PROTO_PEERS_SKETCH),
    {"peers", PROTO_MSG_KIND_BIN, (PROTO_PEERS_CAP * PROTO_ADDR_SIZE),
     S_MEMBER (proto_pair_t, peers), offsetof (proto_pair_t, peers_size), 0, NULL},
};

//  top entry: [port u16, feature u8, addr, score u64, annotations u32]
static const proto_msg_column_t s_top_columns[] = {
    S_UINT (proto_top_t, "port", port, UINT16_MAX),
    S_UINT (proto_top_t, "feature", feature, PROTO_FEATURE_COUNT - 1),
    S_BIN16 (proto_top_t, "addr", addr),
    S_UINT (proto_top_t, "score", score, UINT64_MAX),
    S_UINT (proto_top_t, "annotations", annotations, UINT32_MAX),
};

//  point entry: [port u16, day, score u64]
static const proto_msg_column_t s_point_columns[] = {
    S_UINT (proto_point_t, "port", port, UINT16_MAX),
    S_UINT (proto_point_t, "day", day, UINT32_MAX),
    S_UINT (proto_point_t, "score", score, UINT64_MAX),
};

//  change entry: [port u16, feature u8, addr, score u64, median u64, days u32, flags u8,
//  annotations u32]
static const proto_msg_column_t s_change_columns[] = {
    S_UINT (proto_change_t, "port", port, UINT16_MAX),
    S_UINT (proto_change_t, "feature", feature, PROTO_FEATURE_COUNT - 1),
    S_BIN16 (proto_change_t, "addr", addr),
    S_UINT (proto_change_t, "score", score, UINT64_MAX),
    S_UINT (proto_change_t, "median", median, UINT64_MAX),
    S_UINT (proto_change_t, "days", days, UINT32_MAX),
    S_UINT (proto_change_t, "flags", flags, PROTO_CHANGE_FLAGS),
    S_UINT (proto_change_t, "annotations", annotations, UINT32_MAX),
};

//  annotation entry: [addr, rrname, rrtype, first_seen, last_seen]
static const proto_msg_column_t s_annotation_columns[] = {
    S_BIN16 (proto_annotation_t, "addr", addr),
    S_STR (proto_annotation_t, "rrname", rrname, PROTO_RRNAME_MAX),
    S_STR (proto_annotation_t, "rrtype", rrtype, PROTO_RRTYPE_MAX),
    S_INT (proto_annotation_t, "first_seen", first_seen),
    S_INT (proto_annotation_t, "last_seen", last_seen),
};

//  other entry: [addr, day u32, bytes, packets, flows, truncated bool]
static const proto_msg_column_t s_other_columns[] = {
    S_BIN16 (proto_other_t, "addr", addr),
    S_UINT (proto_other_t, "day", day, UINT32_MAX),
    S_UINT (proto_other_t, "bytes", bytes, UINT64_MAX),
    S_UINT (proto_other_t, "packets", packets, UINT64_MAX),
    S_UINT (proto_other_t, "flows", flows, UINT64_MAX),
    S_BOOL (proto_other_t, "truncated", truncated),
};

//  other port entry: [addr, day u32, port u16, bytes, packets, flows]
static const proto_msg_column_t s_other_port_columns[] = {
    S_BIN16 (proto_other_port_t, "addr", addr),
    S_UINT (proto_other_port_t, "day", day, UINT32_MAX),
    S_UINT (proto_other_port_t, "port", port, UINT16_MAX),
    S_UINT (proto_other_port_t, "bytes", bytes, UINT64_MAX),
    S_UINT (proto_other_port_t, "packets", packets, UINT64_MAX),
    S_UINT (proto_other_port_t, "flows", flows, UINT64_MAX),
};

//  Bare list elements: the value itself, at offset 0 of a uint16_t / uint32_t
static const proto_msg_column_t s_port_column = {
    .key = "port", .kind = PROTO_MSG_KIND_UINT, .limit = UINT16_MAX, .width = sizeof (uint16_t)};
static const proto_msg_column_t s_day_column = {
    .key = "day", .kind = PROTO_MSG_KIND_UINT, .limit = UINT32_MAX, .width = sizeof (uint32_t)};
static const proto_msg_column_t s_score_column = {
    .key = "score", .kind = PROTO_MSG_KIND_UINT, .limit = UINT64_MAX, .width = sizeof (uint64_t)};
static const proto_msg_column_t s_index_column = {
    .key = "index", .kind = PROTO_MSG_KIND_UINT, .limit = UINT32_MAX, .width = sizeof (uint32_t)};

#define S_RECORD(T, name, columns, check)                                                          \
    {                                                                                              \
        name, sizeof (T), false, sizeof (columns) / sizeof (columns)[0], columns, check            \
    }
static const proto_msg_record_t s_peer_record =
    S_RECORD (proto_peer_t, "peer", s_peer_columns, NULL);
static const proto_msg_record_t s_pair_record =
    S_RECORD (proto_pair_t, "pair", s_pair_columns, s_check_pair);
static const proto_msg_record_t s_top_record = S_RECORD (proto_top_t, "top", s_top_columns, NULL);
static const proto_msg_record_t s_point_record =
    S_RECORD (proto_point_t, "point", s_point_columns, NULL);
static const proto_msg_record_t s_change_record =
    S_RECORD (proto_change_t, "change", s_change_columns, NULL);
static const proto_msg_record_t s_annotation_record =
    S_RECORD (proto_annotation_t, "annotation", s_annotation_columns, NULL);
static const proto_msg_record_t s_other_record =
    S_RECORD (proto_other_t, "other", s_other_columns, NULL);
static const proto_msg_record_t s_other_port_record =
    S_RECORD (proto_other_port_t, "other port", s_other_port_columns, NULL);
static const proto_msg_record_t s_port_record = {.name = "port",
                                                 .size = sizeof (uint16_t),
                                                 .bare = true,
                                                 .column_count = 1,
                                                 .columns = &s_port_column};
static const proto_msg_record_t s_day_record = {.name = "day",
                                                .size = sizeof (uint32_t),
                                                .bare = true,
                                                .column_count = 1,
                                                .columns = &s_day_column};
static const proto_msg_record_t s_score_record = {.name = "score",
                                                  .size = sizeof (uint64_t),
                                                  .bare = true,
                                                  .column_count = 1,
                                                  .columns = &s_score_column};
static const proto_msg_record_t s_index_record = {.name = "index",
                                                  .size = sizeof (uint32_t),
                                                  .bare = true,
                                                  .column_count = 1,
                                                  .columns = &s_index_column};

const proto_msg_column_t proto_msg_body_columns[PROTO_MSG_FIELD_TOTAL] = {
    [PROTO_MSG_FIELD_ROLE] = S_STR (proto_msg_t, "role", role, PROTO_NAME_MAX),
    [PROTO_MSG_FIELD_NAME] = S_STR (proto_msg_t, "name", name, PROTO_NAME_MAX),
    [PROTO_MSG_FIELD_ENDPOINT] = S_STR (proto_msg_t, "endpoint", endpoint, PROTO_ENDPOINT_MAX),
    [PROTO_MSG_FIELD_SPOOL] = S_STR (proto_msg_t, "spool", spool, PROTO_PATH_MAX),
    [PROTO_MSG_FIELD_SOURCE] = S_STR (proto_msg_t, "source", source, PROTO_NAME_MAX),
    [PROTO_MSG_FIELD_FILE] = S_STR (proto_msg_t, "file", file, PROTO_PATH_MAX),
    [PROTO_MSG_FIELD_TEXT] = S_STR (proto_msg_t, "text", text, PROTO_TEXT_MAX),
    [PROTO_MSG_FIELD_EPOCH] = S_UINT (proto_msg_t, "epoch", epoch, UINT64_MAX),
    [PROTO_MSG_FIELD_BLOCK] = S_INT (proto_msg_t, "block", block),
    [PROTO_MSG_FIELD_DUPLICATE] = S_BOOL (proto_msg_t, "duplicate", duplicate),
    [PROTO_MSG_FIELD_EXPIRED] = S_BOOL (proto_msg_t, "expired", expired),
    [PROTO_MSG_FIELD_DAY] = S_UINT (proto_msg_t, "day", day, UINT32_MAX),
    [PROTO_MSG_FIELD_FROM] = S_UINT (proto_msg_t, "from", from, UINT32_MAX),
    [PROTO_MSG_FIELD_TO] = S_UINT (proto_msg_t, "to", to, UINT32_MAX),
    [PROTO_MSG_FIELD_OP] = S_UINT (proto_msg_t, "op", op, PROTO_OP_COUNT - 1),
    [PROTO_MSG_FIELD_FEATURE] = S_UINT (proto_msg_t, "feature", feature, PROTO_FEATURE_COUNT - 1),
    [PROTO_MSG_FIELD_PORT] = S_UINT (proto_msg_t, "port", port, PROTO_PORT_ALL),
    [PROTO_MSG_FIELD_HOST] = S_BIN16 (proto_msg_t, "host", host),
    [PROTO_MSG_FIELD_KNOWN] = S_BOOL (proto_msg_t, "known", known),
    [PROTO_MSG_FIELD_FIRST_SEEN] = S_INT (proto_msg_t, "first_seen", first_seen),
    [PROTO_MSG_FIELD_LAST_SEEN] = S_INT (proto_msg_t, "last_seen", last_seen),
    [PROTO_MSG_FIELD_CODE] = S_UINT (proto_msg_t, "code", code, UINT16_MAX),
    [PROTO_MSG_FIELD_COUNT] = S_UINT (proto_msg_t, "count", count, UINT32_MAX),
    [PROTO_MSG_FIELD_STATS] = {"stats", PROTO_MSG_KIND_STATS, PROTO_STATS_MAX,
                               S_MEMBER (proto_msg_t, stat_keys),
                               offsetof (proto_msg_t, stat_count),
                               offsetof (proto_msg_t, stat_values), NULL},
    [PROTO_MSG_FIELD_SLOTS] = {"slots", PROTO_MSG_KIND_SLOTS, UINT16_MAX,
                               S_MEMBER (proto_msg_t, slots), 0, 0, NULL},
    [PROTO_MSG_FIELD_PEERS] = S_LIST (proto_msg_t, "peers", peers, s_peer_record),
    [PROTO_MSG_FIELD_PAIRS] = S_LIST (proto_msg_t, "pairs", pairs, s_pair_record),
    [PROTO_MSG_FIELD_ENTRIES] = S_LIST (proto_msg_t, "entries", entries, s_top_record),
    [PROTO_MSG_FIELD_POINTS] = S_LIST (proto_msg_t, "points", points, s_point_record),
    [PROTO_MSG_FIELD_ANNOTATIONS] =
        S_LIST (proto_msg_t, "annotations", annotations, s_annotation_record),
    [PROTO_MSG_FIELD_PORTS] = S_LIST (proto_msg_t, "ports", ports, s_port_record),
    [PROTO_MSG_FIELD_DAYS] = S_LIST (proto_msg_t, "days", days, s_day_record),
    [PROTO_MSG_FIELD_PEERS_CAPPED] = S_LIST (proto_msg_t, "peers_capped", capped, s_index_record),
    [PROTO_MSG_FIELD_OTHERS] = S_LIST (proto_msg_t, "others", others, s_other_record),
    [PROTO_MSG_FIELD_OTHER_PORTS] =
        S_LIST (proto_msg_t, "other_ports", other_ports, s_other_port_record),
    [PROTO_MSG_FIELD_CHANGES] = S_LIST (proto_msg_t, "changes", changes, s_change_record),
    [PROTO_MSG_FIELD_SPARK] = S_UINT (proto_msg_t, "spark", spark, PROTO_SPARK_MAX),
    [PROTO_MSG_FIELD_SPARKS] = S_LIST (proto_msg_t, "sparks", sparks, s_score_record),
    [PROTO_MSG_FIELD_DIRECTION] =
        S_UINT (proto_msg_t, "direction", direction, PROTO_DIRECTION_COUNT - 1),
    [PROTO_MSG_FIELD_PAIRS_IN] = S_LIST (proto_msg_t, "pairs_in", pairs_in, s_pair_record),
    [PROTO_MSG_FIELD_HOLD] = S_BOOL (proto_msg_t, "hold", hold),
    [PROTO_MSG_FIELD_SLOTSET] = {"slotset", PROTO_MSG_KIND_BIN, PROTO_SLOTSET_SIZE,
                                 S_MEMBER (proto_msg_t, slotset),
                                 offsetof (proto_msg_t, slotset_size), 0, NULL},
    [PROTO_MSG_FIELD_DATA] = {"data", PROTO_MSG_KIND_BIN, PROTO_SLOTS_DATA_MAX,
                              S_MEMBER (proto_msg_t, data), offsetof (proto_msg_t, data_size), 0,
                              NULL}};
_Static_assert(PROTO_MSG_FIELD_TOTAL <= 64, "a message's keys are bits of a uint64_t");

#define S_BIT(field) (UINT64_C (1) << PROTO_MSG_FIELD_##field)
const proto_msg_spec_t proto_msg_specs[PROTO_MSG_ID_MAX + 1] = {
    [PROTO_MSG_MALFORMED] = {"MALFORMED", S_BIT (TEXT), 0},
    [PROTO_MSG_HELLO] = {"HELLO", S_BIT (ROLE) | S_BIT (NAME) | S_BIT (ENDPOINT) | S_BIT (SPOOL),
                         0},
    [PROTO_MSG_WELCOME] = {"WELCOME", S_BIT (EPOCH), 0},
    [PROTO_MSG_HEARTBEAT] = {"HEARTBEAT", S_BIT (NAME) | S_BIT (ROLE) | S_BIT (STATS), 0},
    [PROTO_MSG_HEARTBEAT_ACK] = {"HEARTBEAT_ACK", S_BIT (EPOCH), 0},
    [PROTO_MSG_MAP_REQUEST] = {"MAP_REQUEST", 0, 0},
    [PROTO_MSG_MAP] = {"MAP", S_BIT (EPOCH) | S_BIT (SLOTS) | S_BIT (PEERS) | S_BIT (HOLD),
                       S_BIT (HOLD)},
    [PROTO_MSG_STATUS_REQUEST] = {"STATUS_REQUEST", 0, 0},
    [PROTO_MSG_STATUS] = {"STATUS", S_BIT (EPOCH) | S_BIT (PEERS) | S_BIT (COUNT), S_BIT (COUNT)},
    [PROTO_MSG_PART] = {"PART",
                        S_BIT (SOURCE) | S_BIT (FILE) | S_BIT (BLOCK) | S_BIT (PAIRS) |
                            S_BIT (OTHERS) | S_BIT (OTHER_PORTS) | S_BIT (PAIRS_IN),
                        S_BIT (OTHERS) | S_BIT (OTHER_PORTS) | S_BIT (PAIRS_IN)},
    [PROTO_MSG_PART_ACK] = {"PART_ACK",
                            S_BIT (SOURCE) | S_BIT (FILE) | S_BIT (BLOCK) | S_BIT (DUPLICATE) |
                                S_BIT (EXPIRED),
                            S_BIT (EXPIRED)},
    [PROTO_MSG_TOP_REQUEST] = {"TOP_REQUEST",
                               S_BIT (DAY) | S_BIT (OP) | S_BIT (PORT) | S_BIT (DIRECTION),
                               S_BIT (DIRECTION)},
    [PROTO_MSG_TOP] = {"TOP", S_BIT (DAY) | S_BIT (OP) | S_BIT (ENTRIES) | S_BIT (PEERS_CAPPED),
                       S_BIT (PEERS_CAPPED)},
    [PROTO_MSG_SERIES_REQUEST] = {"SERIES_REQUEST",
                                  S_BIT (HOST) | S_BIT (PORT) | S_BIT (FEATURE) | S_BIT (OP) |
                                      S_BIT (FROM) | S_BIT (TO) | S_BIT (DIRECTION),
                                  S_BIT (DIRECTION)},
    [PROTO_MSG_SERIES] = {"SERIES",
                          S_BIT (HOST) | S_BIT (FEATURE) | S_BIT (OP) | S_BIT (POINTS) |
                              S_BIT (PEERS_CAPPED),
                          S_BIT (PEERS_CAPPED)},
    [PROTO_MSG_HOST_REQUEST] = {"HOST_REQUEST", S_BIT (HOST) | S_BIT (DIRECTION),
                                S_BIT (DIRECTION)},
    [PROTO_MSG_HOST] = {"HOST",
                        S_BIT (HOST) | S_BIT (KNOWN) | S_BIT (FIRST_SEEN) | S_BIT (LAST_SEEN) |
                            S_BIT (PORTS) | S_BIT (ANNOTATIONS),
                        0},
    [PROTO_MSG_DAYS_REQUEST] = {"DAYS_REQUEST", 0, 0},
    [PROTO_MSG_DAYS] = {"DAYS", S_BIT (DAYS), 0},
    [PROTO_MSG_ANNOTATE] = {"ANNOTATE", S_BIT (ANNOTATIONS), 0},
    [PROTO_MSG_ANNOTATE_ACK] = {"ANNOTATE_ACK", S_BIT (COUNT), 0},
    [PROTO_MSG_ERROR] = {"ERROR", S_BIT (CODE) | S_BIT (TEXT), 0},
    [PROTO_MSG_INGESTOR_REMOVE] = {"INGESTOR_REMOVE", S_BIT (NAME), 0},
    [PROTO_MSG_INGESTOR_REMOVED] = {"INGESTOR_REMOVED", S_BIT (NAME) | S_BIT (EPOCH), 0},
    [PROTO_MSG_CHANGES_REQUEST] = {"CHANGES_REQUEST",
                                   S_BIT (DAY) | S_BIT (OP) | S_BIT (FROM) | S_BIT (SPARK),
                                   S_BIT (SPARK)},
    [PROTO_MSG_CHANGES] = {"CHANGES", S_BIT (DAY) | S_BIT (OP) | S_BIT (CHANGES) | S_BIT (SPARKS),
                           S_BIT (SPARKS)},
    [PROTO_MSG_OTHERS_REQUEST] = {"OTHERS_REQUEST", S_BIT (HOST) | S_BIT (FROM) | S_BIT (TO), 0},
    [PROTO_MSG_OTHERS] = {"OTHERS", S_BIT (HOST) | S_BIT (OTHERS) | S_BIT (OTHER_PORTS), 0},
    [PROTO_MSG_SHARD_ADD] = {"SHARD_ADD", S_BIT (NAME) | S_BIT (ENDPOINT), 0},
    [PROTO_MSG_SHARD_REMOVE] = {"SHARD_REMOVE", S_BIT (NAME), 0},
    [PROTO_MSG_MOVE_PLANNED] = {"MOVE_PLANNED", S_BIT (NAME) | S_BIT (EPOCH) | S_BIT (COUNT), 0},
    [PROTO_MSG_SLOTS_EXPORT] = {"SLOTS_EXPORT", S_BIT (EPOCH) | S_BIT (SLOTSET), 0},
    [PROTO_MSG_SLOTS_DATA] = {"SLOTS_DATA", S_BIT (COUNT) | S_BIT (DATA), 0},
    [PROTO_MSG_SLOTS_IMPORT] = {"SLOTS_IMPORT", S_BIT (EPOCH) | S_BIT (DATA), 0},
    [PROTO_MSG_SLOTS_DELETE] = {"SLOTS_DELETE", S_BIT (EPOCH) | S_BIT (SLOTSET), 0},
    [PROTO_MSG_SLOTS_DONE] = {"SLOTS_DONE", S_BIT (COUNT), 0}};

//  --------------------------------------------------------------------------
//  Cross-field rules, shared by the encoder and the decoder

//  Exact peers: whole addresses, at most the cap, strictly ascending; sketch: exact size
static int
s_check_pair (const void *entry, char *reason)
{
    const proto_pair_t *pair = (const proto_pair_t *) entry;
    if (pair->peers_kind == PROTO_PEERS_SKETCH) {
        if (pair->peers_size != PROTO_SKETCH_REGISTERS) {
            proto_msg_fail (reason, ".peers: sketch of %zu bytes, expected %u", pair->peers_size,
                            PROTO_SKETCH_REGISTERS);
            return -1;
        }
        return 0;
    }
    if (pair->peers_size % PROTO_ADDR_SIZE) {
        proto_msg_fail (reason, ".peers: exact set of %zu bytes, not a multiple of %d",
                        pair->peers_size, PROTO_ADDR_SIZE);
        return -1;
    }
    for (size_t offset = PROTO_ADDR_SIZE; offset < pair->peers_size; offset += PROTO_ADDR_SIZE)
        if (memcmp (pair->peers + offset - PROTO_ADDR_SIZE, pair->peers + offset,
                    PROTO_ADDR_SIZE) >= 0) {
            proto_msg_fail (reason, ".peers: exact set not strictly ascending at %zu",
                            offset / PROTO_ADDR_SIZE);
            return -1;
        }
    return 0;
}

//  --------------------------------------------------------------------------
//  Stats keys: short, distinct
int
proto_msg_check_stats (size_t count, const char *const *keys, char *reason)
{
    for (size_t index = 0; index < count; index++) {
        if (strlen (keys[index]) > PROTO_MSG_STATS_KEY_MAX) {
            proto_msg_fail (reason, ": key %zu longer than %d bytes", index,
                            PROTO_MSG_STATS_KEY_MAX);
            return -1;
        }
        for (size_t other = 0; other < index; other++)
            if (streq (keys[other], keys[index])) {
                proto_msg_fail (reason, ": key '%s' appears twice", keys[index]);
                return -1;
            }
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  peers_capped (TOP, SERIES): indexes of entries or points, strictly ascending, each
//  naming a peers score (a top entry of feature peers; a series of feature peers)

static int
s_check_capped (proto_msg_t *self, char *reason)
{
    const uint32_t *indexes = (const uint32_t *) self->capped.items;
    size_t count = self->id == PROTO_MSG_TOP ? self->entries.count : self->points.count;
    for (size_t index = 0; index < self->capped.count; index++) {
        if (indexes[index] >= count) {
            proto_msg_fail (reason, "peers_capped[%zu]: %u, but the message has %zu %s", index,
                            indexes[index], count,
                            self->id == PROTO_MSG_TOP ? "entries" : "points");
            return -1;
        }
        if (index > 0 && indexes[index] <= indexes[index - 1]) {
            proto_msg_fail (reason, "peers_capped[%zu]: %u, not strictly ascending", index,
                            indexes[index]);
            return -1;
        }
        uint8_t feature = self->id == PROTO_MSG_TOP
                              ? ((proto_top_t *) self->entries.items)[indexes[index]].feature
                              : self->feature;
        if (feature != PROTO_FEATURE_PEERS) {
            proto_msg_fail (reason, "peers_capped[%zu]: %u is of feature %u, not peers", index,
                            indexes[index], feature);
            return -1;
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  MAP: every slot names a shard, and shards are the peers of role "shard"; TOP and
//  SERIES: their peers_capped list
int
proto_msg_check_message (proto_msg_t *self, char *reason)
{
    //  CHANGES: as many sparkline scores per entry, at most PROTO_SPARK_MAX
    if (self->id == PROTO_MSG_CHANGES && self->sparks.count &&
        (self->changes.count == 0 || self->sparks.count % self->changes.count ||
         self->sparks.count / self->changes.count > PROTO_SPARK_MAX)) {
        proto_msg_fail (reason, "sparks: %zu scores for %zu changes", self->sparks.count,
                        self->changes.count);
        return -1;
    }
    if (self->id == PROTO_MSG_TOP || self->id == PROTO_MSG_SERIES)
        return s_check_capped (self, reason);
    if (self->id != PROTO_MSG_MAP || !self->slots)
        return 0;
    size_t shards = 0;
    for (size_t index = 0; index < self->peers.count; index++)
        shards += streq (((proto_peer_t *) self->peers.items)[index].role, "shard");
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        if (self->slots[slot] >= shards) {
            proto_msg_fail (reason, "slots[%zu]: shard %u, but the map has %zu shards", slot,
                            self->slots[slot], shards);
            return -1;
        }
    return 0;
}
