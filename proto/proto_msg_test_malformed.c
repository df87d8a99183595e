/*  proto_msg_test_malformed.c - the malformed half of proto_msg's selftest.

    Builds a malformed corpus by editing valid encodings (every prefix, each key missing
    or of each wrong type, values past each limit, broken envelopes, random bytes) and
    checks that proto_msg_decode refuses each with -2 and a reason naming what is wrong.
*/
#include "proto/proto_msg_test.h"

#include <msgpack.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Decodes an object tree packed as a frame: -2 with a reason containing expected
static void
s_test_malformed_object (const msgpack_object *object, const char *expected, bool verbose)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *object);
    proto_msg_t *msg = NULL;
    char reason[PROTO_MSG_REASON_MAX] = "";
    int rc = proto_msg_decode (buffer.data, buffer.size, &msg, reason, sizeof reason);
    if (verbose)
        printf ("\n    %s", reason);
    if (rc != -2 || (expected && !strstr (reason, expected)))
        printf ("\nproto_msg: expected '%s', got %d '%s'\n", expected ? expected : "", rc, reason);
    assert (rc == -2 && !msg);
    assert (!expected || strstr (reason, expected));
    msgpack_sbuffer_destroy (&buffer);
}

//  --------------------------------------------------------------------------
static void
s_test_malformed_bytes (const void *bytes, size_t size, const char *expected, bool verbose)
{
    proto_msg_t *msg = NULL;
    char reason[PROTO_MSG_REASON_MAX] = "";
    int rc = proto_msg_decode (bytes, size, &msg, reason, sizeof reason);
    if (verbose && expected)
        printf ("\n    %s", reason);
    assert (rc == -2 && !msg && *reason);
    assert (!expected || strstr (reason, expected));
}

//  --------------------------------------------------------------------------
//  The typical message of id, encoded and unpacked for editing: [version, id, request, body]
static msgpack_object *
s_test_unpack (proto_msg_id_t id, proto_msg_test_data_t *data, msgpack_unpacked *unpacked,
               zframe_t **frame_p)
{
    proto_msg_t *msg = proto_msg_test_message (id, 1, data);
    *frame_p = proto_msg_encode (msg);
    proto_msg_destroy (&msg);
    assert (*frame_p);
    msgpack_unpacked_init (unpacked);
    size_t offset = 0;
    int rc = msgpack_unpack_next (unpacked, (const char *) zframe_data (*frame_p),
                                  zframe_size (*frame_p), &offset);
    assert (rc == MSGPACK_UNPACK_SUCCESS);
    return &unpacked->data;
}

//  --------------------------------------------------------------------------
static msgpack_object_kv *
s_test_body_pair (msgpack_object *root, const char *key)
{
    msgpack_object_map *body = &root->via.array.ptr[3].via.map;
    for (uint32_t index = 0; index < body->size; index++)
        if (body->ptr[index].key.via.str.size == strlen (key) &&
            memcmp (body->ptr[index].key.via.str.ptr, key, strlen (key)) == 0)
            return &body->ptr[index];
    assert (false);
    return NULL;
}

//  --------------------------------------------------------------------------
static bool
s_test_accepts (proto_msg_kind_t kind, msgpack_object_type type)
{
    switch (kind) {
    case PROTO_MSG_KIND_UINT:
        return type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    case PROTO_MSG_KIND_INT:
        return type == MSGPACK_OBJECT_POSITIVE_INTEGER || type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    case PROTO_MSG_KIND_BOOL:
        return type == MSGPACK_OBJECT_BOOLEAN;
    case PROTO_MSG_KIND_STR:
        return type == MSGPACK_OBJECT_STR;
    case PROTO_MSG_KIND_BIN16:
    case PROTO_MSG_KIND_BIN:
        return type == MSGPACK_OBJECT_BIN;
    case PROTO_MSG_KIND_STATS:
        return type == MSGPACK_OBJECT_MAP;
    default:
        return type == MSGPACK_OBJECT_ARRAY;
    }
}

//  --------------------------------------------------------------------------
//  Puts each wrong-typed object at *target in turn: each frame is malformed
static void
s_test_wrong_types (msgpack_object *root, msgpack_object *target, proto_msg_kind_t kind,
                    bool verbose)
{
    static const uint8_t s_bytes[PROTO_ADDR_SIZE] = {0};
    const msgpack_object wrongs[] = {
        {.type = MSGPACK_OBJECT_NIL},
        {.type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = true},
        {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1},
        {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -1},
        {.type = MSGPACK_OBJECT_FLOAT64, .via.f64 = 1.5},
        {.type = MSGPACK_OBJECT_STR, .via.str = {5, "shard"}},
        {.type = MSGPACK_OBJECT_BIN, .via.bin = {PROTO_ADDR_SIZE, (const char *) s_bytes}},
        {.type = MSGPACK_OBJECT_ARRAY, .via.array = {0, NULL}},
        {.type = MSGPACK_OBJECT_MAP, .via.map = {0, NULL}}};
    msgpack_object original = *target;
    for (size_t index = 0; index < sizeof wrongs / sizeof wrongs[0]; index++)
        if (!s_test_accepts (kind, wrongs[index].type)) {
            *target = wrongs[index];
            s_test_malformed_object (root, "expected", verbose);
        }
    *target = original;
}

//  --------------------------------------------------------------------------
//  A frame without an optional key decodes; the key's list is empty
static void
s_test_optional_absent (const msgpack_object *object, proto_msg_field_t field)
{
    assert (field == PROTO_MSG_FIELD_PEERS_CAPPED || field == PROTO_MSG_FIELD_EXPIRED ||
            field == PROTO_MSG_FIELD_OTHERS || field == PROTO_MSG_FIELD_OTHER_PORTS ||
            field == PROTO_MSG_FIELD_SPARK || field == PROTO_MSG_FIELD_SPARKS ||
            field == PROTO_MSG_FIELD_DIRECTION || field == PROTO_MSG_FIELD_PAIRS_IN ||
            field == PROTO_MSG_FIELD_HOLD || field == PROTO_MSG_FIELD_COUNT);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *object);
    proto_msg_t *msg = NULL;
    assert (proto_msg_decode (buffer.data, buffer.size, &msg, NULL, 0) == 0);
    assert (msg->capped.count == 0 && !proto_msg_expired (msg) && !proto_msg_hold (msg));
    assert (field != PROTO_MSG_FIELD_COUNT || proto_msg_count (msg) == 0);
    assert (field != PROTO_MSG_FIELD_OTHERS || proto_msg_others_count (msg) == 0);
    assert (field != PROTO_MSG_FIELD_OTHER_PORTS || proto_msg_other_ports_count (msg) == 0);
    assert (field != PROTO_MSG_FIELD_DIRECTION || proto_msg_direction (msg) == PROTO_DIRECTION_OUT);
    assert (field != PROTO_MSG_FIELD_PAIRS_IN || proto_msg_pairs_in_count (msg) == 0);
    for (size_t index = 0; index < proto_msg_top_count (msg); index++) {
        proto_top_t top;
        proto_msg_top_at (msg, index, &top);
        assert (!top.peers_capped);
    }
    for (size_t index = 0; index < proto_msg_points_count (msg); index++) {
        proto_point_t point;
        proto_msg_points_at (msg, index, &point);
        assert (!point.peers_capped);
    }
    proto_msg_destroy (&msg);
    msgpack_sbuffer_destroy (&buffer);
}

//  --------------------------------------------------------------------------
//  For every key of every id: each wrong type, in the value and in each entry column,
//  wrong entry sizes, and the key missing
static void
s_test_wrong_keys (proto_msg_test_data_t *data)
{
    for (int id = 1; id <= PROTO_MSG_ID_MAX; id++)
        if (proto_msg_specs[id].name)  //  Ids in between are unknown
            for (int field = 0; field < PROTO_MSG_FIELD_TOTAL; field++) {
                if (!(proto_msg_specs[id].fields & (UINT64_C (1) << field)))
                    continue;
                const proto_msg_column_t *column = &proto_msg_body_columns[field];
                msgpack_unpacked unpacked;
                zframe_t *frame;
                msgpack_object *root = s_test_unpack ((proto_msg_id_t) id, data, &unpacked, &frame);
                msgpack_object_kv *pair = s_test_body_pair (root, column->key);
                s_test_wrong_types (root, &pair->val, column->kind, false);
                const proto_msg_record_t *record = column->entry;
                if (column->kind == PROTO_MSG_KIND_SLOTS)
                    s_test_wrong_types (root, &pair->val.via.array.ptr[5], PROTO_MSG_KIND_UINT,
                                        false);
                if (column->kind == PROTO_MSG_KIND_STATS) {
                    s_test_wrong_types (root, &pair->val.via.map.ptr[0].key, PROTO_MSG_KIND_STR,
                                        false);
                    s_test_wrong_types (root, &pair->val.via.map.ptr[0].val, PROTO_MSG_KIND_INT,
                                        false);
                }
                if (record && record->bare)
                    s_test_wrong_types (root, &pair->val.via.array.ptr[0], record->columns->kind,
                                        false);
                else if (record) {
                    msgpack_object *entry = &pair->val.via.array.ptr[1];
                    s_test_wrong_types (root, entry, PROTO_MSG_KIND_LIST, false);
                    for (size_t index = 0; index < record->column_count; index++)
                        s_test_wrong_types (root, &entry->via.array.ptr[index],
                                            record->columns[index].kind, false);
                    entry->via.array.size--;
                    s_test_malformed_object (root, "items, expected", false);
                    msgpack_object longer[PROTO_MSG_TEST_COLUMNS_MAX];
                    memcpy (longer, entry->via.array.ptr, record->column_count * sizeof *longer);
                    longer[record->column_count] = longer[0];
                    msgpack_object original = *entry;
                    entry->via.array.ptr = longer;
                    entry->via.array.size = (uint32_t) record->column_count + 1;
                    s_test_malformed_object (root, "items, expected", false);
                    *entry = original;
                }
                //  Without the key: swap it with the last one and shorten the map.  An
                //  optional key may be absent (a peer that predates it): then it is empty
                msgpack_object_map *body = &root->via.array.ptr[3].via.map;
                msgpack_object_kv last = body->ptr[body->size - 1];
                body->ptr[body->size - 1] = *pair;
                *pair = last;
                body->size--;
                if (proto_msg_specs[id].optional & (UINT64_C (1) << field))
                    s_test_optional_absent (root, (proto_msg_field_t) field);
                else
                    s_test_malformed_object (root, "missing key", false);
                msgpack_unpacked_destroy (&unpacked);
                zframe_destroy (&frame);
            }
}

//  One edit of a typical message's tree that makes it malformed
typedef struct {
    proto_msg_id_t id;     //  Message edited (variant 1)
    const char *key;       //  Body key
    int index;             //  Element of its array or map, -1: the value itself
    int column;            //  Column of that entry, -1: the element itself
    msgpack_object value;  //  What goes there
    const char *reason;    //  Expected in the reason
} s_test_edit_t;

#define S_TEST_UINT(value)                                                                         \
    {                                                                                              \
        .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = (value)                                \
    }
#define S_TEST_STR(size, text)                                                                     \
    {                                                                                              \
        .type = MSGPACK_OBJECT_STR, .via.str = {(size), (text) }                                   \
    }
#define S_TEST_BIN(size, bytes)                                                                    \
    {                                                                                              \
        .type = MSGPACK_OBJECT_BIN, .via.bin = {(uint32_t) (size), (const char *) (bytes) }        \
    }

//  --------------------------------------------------------------------------
//  Value errors a type check alone does not catch: limits, sizes, order, cross-field
static void
s_test_wrong_values (proto_msg_test_data_t *data, bool verbose)
{
    uint8_t descending[2 * PROTO_ADDR_SIZE];
    memcpy (descending, data->peers + PROTO_ADDR_SIZE, PROTO_ADDR_SIZE);
    memcpy (descending + PROTO_ADDR_SIZE, data->peers, PROTO_ADDR_SIZE);
    uint8_t *too_many = (uint8_t *) zmalloc ((PROTO_PEERS_CAP + 1) * PROTO_ADDR_SIZE);
    const char *letters = proto_msg_test_text (data, PROTO_PATH_MAX);
    char path[PROTO_PATH_MAX + 1];  //  One byte too long
    memset (path, 'p', sizeof path);
    msgpack_object_kv stats[PROTO_STATS_MAX + 1];
    for (size_t index = 0; index <= PROTO_STATS_MAX; index++) {
        stats[index].key = (msgpack_object) S_TEST_STR (2, letters + index);
        stats[index].val = (msgpack_object) S_TEST_UINT (index);
    }
    const s_test_edit_t edits[] = {
        {PROTO_MSG_HELLO, "name", -1, -1, S_TEST_STR (65, letters), "name: string of 65 bytes"},
        {PROTO_MSG_HELLO, "spool", -1, -1, S_TEST_STR (PROTO_PATH_MAX + 1, path), "at most 1024"},
        {PROTO_MSG_HELLO, "role", -1, -1, S_TEST_STR (3, "a\0b"), "role: string contains NUL"},
        {PROTO_MSG_HOST_REQUEST, "host", -1, -1, S_TEST_BIN (15, letters), "15 bytes, expected 16"},
        {PROTO_MSG_HOST_REQUEST, "host", -1, -1, S_TEST_BIN (17, letters), "17 bytes"},
        {PROTO_MSG_TOP_REQUEST, "op", -1, -1, S_TEST_UINT (3), "op: 3 exceeds 2"},
        {PROTO_MSG_TOP_REQUEST, "port", -1, -1, S_TEST_UINT (65537), "port: 65537 exceeds 65536"},
        {PROTO_MSG_TOP_REQUEST, "day", -1, -1, S_TEST_UINT (UINT64_C (1) << 32), "day: 4294967296"},
        {PROTO_MSG_SERIES_REQUEST, "feature", -1, -1, S_TEST_UINT (4), "feature: 4 exceeds 3"},
        {PROTO_MSG_ERROR, "code", -1, -1, S_TEST_UINT (65536), "code: 65536 exceeds 65535"},
        {PROTO_MSG_ERROR, "text", -1, -1, S_TEST_STR (513, letters), "at most 512"},
        {PROTO_MSG_PART, "block", -1, -1, S_TEST_UINT (UINT64_C (1) << 63), "block: 92233"},
        {PROTO_MSG_PART, "pairs", 0, 1, S_TEST_UINT (65536), "pairs[0].port: 65536 exceeds"},
        {PROTO_MSG_PART, "pairs", 1, 5, S_TEST_UINT (2), "pairs[1].peers_kind: 2 exceeds 1"},
        {PROTO_MSG_PART, "pairs", 1, 6, S_TEST_BIN (24, data->peers), "not a multiple of 16"},
        {PROTO_MSG_PART, "pairs", 1, 6, S_TEST_BIN (32, descending), "not strictly ascending"},
        {PROTO_MSG_PART, "pairs", 1, 6, S_TEST_BIN (65552, too_many), "65552 bytes, at most 65536"},
        {PROTO_MSG_PART, "pairs", 2, 6, S_TEST_BIN (4095, data->sketch), "sketch of 4095 bytes"},
        {PROTO_MSG_PART, "pairs", 2, 6, S_TEST_BIN (0, data->sketch), "sketch of 0 bytes"},
        {PROTO_MSG_TOP, "entries", 0, 1, S_TEST_UINT (4), "entries[0].feature: 4 exceeds 3"},
        {PROTO_MSG_TOP, "entries", 2, 4, S_TEST_UINT (UINT64_C (1) << 32), "annotations"},
        {PROTO_MSG_SERIES, "points", 1, 1, S_TEST_UINT (UINT64_C (1) << 32), "points[1].day"},
        {PROTO_MSG_TOP, "peers_capped", 0, -1, S_TEST_UINT (3), "peers_capped[0]: 3, but the"},
        {PROTO_MSG_TOP, "peers_capped", 0, -1, S_TEST_UINT (1), "peers_capped[0]: 1 is of feat"},
        {PROTO_MSG_SERIES, "peers_capped", 1, -1, S_TEST_UINT (0), "peers_capped[1]: 0, not st"},
        {PROTO_MSG_SERIES, "peers_capped", 0, -1, S_TEST_UINT (1u << 31), "message has 3 points"},
        {PROTO_MSG_SERIES, "feature", -1, -1, S_TEST_UINT (0), "peers_capped[0]: 0 is of feature"},
        {PROTO_MSG_ANNOTATE, "annotations", 0, 2, S_TEST_STR (17, letters), "rrtype: string"},
        {PROTO_MSG_ANNOTATE, "annotations", 2, 1, S_TEST_STR (257, letters), "rrname: string"},
        {PROTO_MSG_STATUS, "peers", 0, 4, S_TEST_STR (65, letters), "peers[0].state"},
        {PROTO_MSG_STATUS, "peers", 2, 5, S_TEST_UINT (UINT64_C (1) << 32), "peers[2].slots"},
        {PROTO_MSG_MAP, "slots", 0, -1, S_TEST_UINT (2), "slots[0]: shard 2, but the map has 2"},
        {PROTO_MSG_MAP, "slots", 7, -1, S_TEST_UINT (65536), "slots[7]: 65536 exceeds 65535"},
        {PROTO_MSG_MAP, "peers", 1, 0, S_TEST_STR (8, "ingestor"), "slots[1]: shard 1"},
        {PROTO_MSG_DAYS, "days", 0, -1, S_TEST_UINT (UINT64_C (1) << 32), "days[0]: 4294967296"},
        {PROTO_MSG_HOST, "ports", 2, -1, S_TEST_UINT (65536), "ports[2]: 65536 exceeds 65535"},
        {PROTO_MSG_HEARTBEAT,
         "stats",
         -1,
         -1,
         {.type = MSGPACK_OBJECT_MAP, .via.map = {PROTO_STATS_MAX + 1, stats}},
         "33 entries"},
        {PROTO_MSG_HEARTBEAT,
         "stats",
         -1,
         -1,
         {.type = MSGPACK_OBJECT_MAP, .via.map = {2, stats + 20}},
         "appears twice"},
        {PROTO_MSG_STATUS,
         "peers",
         1,
         7,
         {.type = MSGPACK_OBJECT_MAP, .via.map = {PROTO_STATS_MAX + 1, stats}},
         "33 entries"}};
    stats[21].key = stats[20].key;  //  For "appears twice"
    for (size_t edit = 0; edit < sizeof edits / sizeof edits[0]; edit++) {
        msgpack_unpacked unpacked;
        zframe_t *frame;
        msgpack_object *root = s_test_unpack (edits[edit].id, data, &unpacked, &frame);
        msgpack_object *target = &s_test_body_pair (root, edits[edit].key)->val;
        if (edits[edit].index >= 0)
            target = &target->via.array.ptr[edits[edit].index];
        if (edits[edit].column >= 0)
            target = &target->via.array.ptr[edits[edit].column];
        *target = edits[edit].value;
        s_test_malformed_object (root, edits[edit].reason, verbose);
        msgpack_unpacked_destroy (&unpacked);
        zframe_destroy (&frame);
    }
    //  A stats key of 33 bytes; a duplicate body key; slots of 1023 and 1025
    msgpack_unpacked unpacked;
    zframe_t *frame;
    msgpack_object *root = s_test_unpack (PROTO_MSG_HEARTBEAT, data, &unpacked, &frame);
    s_test_body_pair (root, "stats")->val.via.map.ptr[1].key =
        (msgpack_object) S_TEST_STR (33, letters);
    s_test_malformed_object (root, "stats key 1: string of 33 bytes", verbose);
    s_test_body_pair (root, "name")->key = (msgpack_object) S_TEST_STR (4, "role");
    s_test_malformed_object (root, "key 'role' appears twice", verbose);
    msgpack_unpacked_destroy (&unpacked);
    zframe_destroy (&frame);
    root = s_test_unpack (PROTO_MSG_MAP, data, &unpacked, &frame);
    msgpack_object_array *slots = &s_test_body_pair (root, "slots")->val.via.array;
    slots->size--;
    s_test_malformed_object (root, "slots: 1023 slots, expected 1024", verbose);
    msgpack_object *more = (msgpack_object *) zmalloc ((PROTO_SLOT_COUNT + 1) * sizeof *more);
    memcpy (more, slots->ptr, PROTO_SLOT_COUNT * sizeof *more);
    more[PROTO_SLOT_COUNT] = more[0];
    slots->ptr = more;
    slots->size = PROTO_SLOT_COUNT + 1;
    s_test_malformed_object (root, "1025 slots", verbose);
    msgpack_unpacked_destroy (&unpacked);
    zframe_destroy (&frame);
    free (more);
    free (too_many);
}

//  --------------------------------------------------------------------------
//  The envelope: version, id, request id, sizes, body
static void
s_test_wrong_envelopes (proto_msg_test_data_t *data, bool verbose)
{
    msgpack_unpacked unpacked;
    zframe_t *frame;
    msgpack_object *root = s_test_unpack (PROTO_MSG_HELLO, data, &unpacked, &frame);
    msgpack_object *items = root->via.array.ptr;
    msgpack_object saved[4] = {items[0], items[1], items[2], items[3]};
    const struct {
        int item;              //  Envelope element replaced
        msgpack_object value;  //  By this
        const char *reason;    //  Expected in the reason
    } edits[] = {{0, S_TEST_UINT (7), "version 7, expected 1"},
                 {0, S_TEST_UINT (0), "version 0, expected 1"},
                 {0, {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -1}, "version is a"},
                 {0, S_TEST_STR (1, "1"), "version is a string"},
                 {1, S_TEST_UINT (0), "unknown message id 0"},
                 {1, S_TEST_UINT (99), "unknown message id 99"},
                 {1, S_TEST_STR (5, "HELLO"), "message id: a string"},
                 {2, {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = -1}, "request id"},
                 {2, {.type = MSGPACK_OBJECT_NIL}, "request id: nil"},
                 {3, {.type = MSGPACK_OBJECT_ARRAY}, "body: an array, expected a map"},
                 {3, S_TEST_UINT (1), "body"}};
    for (size_t edit = 0; edit < sizeof edits / sizeof edits[0]; edit++) {
        items[edits[edit].item] = edits[edit].value;
        s_test_malformed_object (root, edits[edit].reason, verbose);
        items[edits[edit].item] = saved[edits[edit].item];
    }
    root->via.array.size = 3;
    s_test_malformed_object (root, "frame is an array of 3, expected 4", verbose);
    root->via.array.size = 0;
    s_test_malformed_object (root, "frame is an array of 0", verbose);
    msgpack_object five[5] = {items[0], items[1], items[2], items[3], items[3]};
    root->via.array = (msgpack_object_array){5, five};
    s_test_malformed_object (root, "frame is an array of 5", verbose);
    root->via.array = (msgpack_object_array){4, items};
    msgpack_object_kv *pair = s_test_body_pair (root, "name");
    pair->key = (msgpack_object) S_TEST_UINT (1);
    s_test_malformed_object (root, "body key 1: an unsigned integer, expected a string", verbose);
    s_test_malformed_object (&items[3], "frame is a map, expected an array", verbose);
    s_test_malformed_object (&items[0], "frame is an unsigned integer", verbose);
    msgpack_unpacked_destroy (&unpacked);
    zframe_destroy (&frame);
}

//  --------------------------------------------------------------------------
//  Unknown keys and keys the id does not carry are ignored
static void
s_test_unknown_keys (proto_msg_test_data_t *data)
{
    msgpack_unpacked unpacked;
    zframe_t *frame;
    msgpack_object *root = s_test_unpack (PROTO_MSG_WELCOME, data, &unpacked, &frame);
    msgpack_object_kv extra[3] = {*s_test_body_pair (root, "epoch"),
                                  {S_TEST_STR (6, "future"), {.type = MSGPACK_OBJECT_NIL}},
                                  {S_TEST_STR (4, "port"), S_TEST_STR (3, "any")}};
    root->via.array.ptr[3].via.map = (msgpack_object_map){3, extra};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *root);
    proto_msg_t *msg = NULL;
    assert (proto_msg_decode (buffer.data, buffer.size, &msg, NULL, 0) == 0);
    proto_msg_test_assert_message (msg, PROTO_MSG_WELCOME, 1, data);
    proto_msg_destroy (&msg);
    msgpack_sbuffer_destroy (&buffer);
    msgpack_unpacked_destroy (&unpacked);
    zframe_destroy (&frame);
}

//  --------------------------------------------------------------------------
//  Raw bytes: every prefix of every encoding, trailing bytes, bad msgpack, random bytes
static void
s_test_wrong_bytes (proto_msg_test_data_t *data, bool verbose)
{
    for (int id = 1; id <= PROTO_MSG_ID_MAX; id++)
        if (proto_msg_specs[id].name)  //  Ids in between are unknown
            for (int variant = 0; variant < PROTO_MSG_TEST_VARIANTS; variant++) {
                proto_msg_t *msg = proto_msg_test_message ((proto_msg_id_t) id, variant, data);
                zframe_t *frame = proto_msg_encode (msg);
                size_t size = zframe_size (frame);
                //  The largest variant is long: every byte near the ends, a sample between
                size_t step = variant < 2 ? 1 : size / 500 + 1;
                for (size_t prefix = 0; prefix < size;
                     prefix += prefix < 64 || prefix + 64 > size ? 1 : step)
                    s_test_malformed_bytes (zframe_data (frame), prefix, "truncated", false);
                uint8_t *longer = (uint8_t *) zmalloc (size + 1);
                memcpy (longer, zframe_data (frame), size);
                s_test_malformed_bytes (longer, size + 1, "1 trailing bytes", false);
                free (longer);
                zframe_destroy (&frame);
                proto_msg_destroy (&msg);
            }
    const struct {
        const char *bytes;   //  Frame
        size_t size;         //  Bytes
        const char *reason;  //  Expected in the reason
    } frames[] = {{"", 0, "truncated frame (0 bytes)"},
                  {"\xc1", 1, "byte 0xc1"},
                  {"\xdd\x7f\xff\xff\xff\x01", 6, "truncated"},
                  {"\xdf\xff\xff\xff\xff", 5, "truncated"},
                  {"\xc6\xff\xff\xff\xff\x00", 6, "truncated"},
                  {"\x94\x01\x05\x00\x80\x00", 6, "1 trailing bytes"},
                  {"\x94\x01\x05\x00\xc7\x01\x05\x00", 8, "body: an extension"},
                  {"\x94\x01\x05\x00\x80", 5, NULL}};
    for (size_t index = 0; index < sizeof frames / sizeof frames[0] - 1; index++)
        s_test_malformed_bytes (frames[index].bytes, frames[index].size, frames[index].reason,
                                verbose);
    proto_msg_t *msg = NULL;  //  The last one is a valid MAP_REQUEST
    assert (proto_msg_decode (frames[7].bytes, frames[7].size, &msg, NULL, 0) == 0);
    assert (proto_msg_id (msg) == PROTO_MSG_MAP_REQUEST);
    proto_msg_destroy (&msg);
    //  A million nils claimed as peer entries: rejected at the first, little allocated
    const size_t nils = 1000000;
    uint8_t *claim = (uint8_t *) zmalloc (32 + nils);
    memcpy (claim,
            "\x94\x01\x08\x00\x82\xa5"
            "epoch"
            "\x00\xa5"
            "peers"
            "\xdd\x00\x0f\x42\x40",
            23);
    memset (claim + 23, 0xc0, nils);
    s_test_malformed_bytes (claim, 23 + nils, "STATUS: peers[0]: nil, expected an array", verbose);
    free (claim);
    //  Nested deeper than msgpack-c's stack
    uint8_t deep[100];
    memset (deep, 0x91, sizeof deep);
    deep[sizeof deep - 1] = 0;
    s_test_malformed_bytes (deep, sizeof deep, "not msgpack", verbose);
    //  Random bytes, alone and after a valid envelope start (xorshift, fixed seed)
    uint64_t state = 88172645463325252ull;
    uint8_t random[256];
    for (int round = 0; round < 20000; round++) {
        size_t size = (size_t) (state % sizeof random);
        for (size_t index = 0; index < size; index++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            random[index] = (uint8_t) state;
        }
        if (round % 2 && size > 4)
            memcpy (random, "\x94\x01\x09\x00", 4);
        int rc = proto_msg_decode (random, size, &msg, NULL, 0);
        assert (rc == -2 && !msg);
    }
}

//  --------------------------------------------------------------------------
void
proto_msg_test_malformed (proto_msg_test_data_t *data, bool verbose)
{
    s_test_wrong_keys (data);
    s_test_wrong_values (data, verbose);
    s_test_wrong_envelopes (data, verbose);
    s_test_unknown_keys (data);
    s_test_wrong_bytes (data, verbose);
}
