/*  proto_msg_test.c - selftest of proto_msg: every message, every limit, every refusal.

    In its own file because it is longer than the class: it round-trips every message id
    in three variants through the public setters and getters, then feeds the decoder a
    malformed corpus built by editing valid encodings (every prefix, each key missing or
    of each wrong type, values past each limit, broken envelopes, random bytes), checks
    what the encoder refuses, and runs real ROUTER/DEALER sockets.  It reads the table
    (proto_msg_table.c) only to know each key's kind and limit.

    Messages are built in three variants: 0 the smallest values (zeros, "", INT64_MIN,
    IPv4 hosts, empty lists), 1 typical ones, 2 the largest (every limit, UINT64_MAX,
    INT64_MAX, IPv6 hosts, full stats, a pair with PROTO_PEERS_CAP peers).  With
    PROTO_MSG_CORPUS set to a folder, the test writes the encodings of variants 0 and 1
    there: the seeds of tests/fuzz/corpus_msg/.
*/
#include "proto/proto_msg_codec.h"

#include <msgpack.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TEST_VARIANTS 3      //  Smallest, typical, largest
#define S_TEST_COLUMNS_MAX 16  //  More than any entry's columns
#define S_TEST_ENTRIES 10      //  List entries of the largest variant

typedef struct {
    char letters[PROTO_PATH_MAX + 1];                         //  Letters; suffixes are strings
    char keys[PROTO_STATS_MAX][PROTO_MSG_STATS_KEY_MAX + 1];  //  Distinct longest stats keys
    uint8_t peers[PROTO_PEERS_CAP * PROTO_ADDR_SIZE];         //  Ascending peer addresses
    uint8_t sketch[PROTO_SKETCH_REGISTERS];                   //  Sketch registers
} s_test_data_t;

//  --------------------------------------------------------------------------
//  A string of size letters
static const char *
s_test_text (s_test_data_t *data, uint64_t size)
{
    assert (size <= PROTO_PATH_MAX);
    return data->letters + PROTO_PATH_MAX - size;
}

//  --------------------------------------------------------------------------
static void
s_test_addr (proto_addr_t *addr, uint32_t index, int variant)
{
    uint8_t bytes[PROTO_ADDR_SIZE] = {0x20, 0x01, 0x0d, 0xb8};
    bytes[14] = (uint8_t) (index >> 8);
    bytes[15] = (uint8_t) index;
    if (variant == 2)
        proto_addr_from_ipv6 (addr, bytes);
    else
        proto_addr_from_ipv4 (addr, 0xc0000200u + index);
}

//  --------------------------------------------------------------------------
static size_t
s_test_entries (proto_msg_id_t id, proto_msg_field_t field, int variant)
{
    if (field == PROTO_MSG_FIELD_PEERS && id == PROTO_MSG_MAP && variant == 0)
        return 1;  //  A map names at least one shard
    return variant == 0 ? 0 : variant == 1 ? 3 : S_TEST_ENTRIES;
}

//  --------------------------------------------------------------------------
static void
s_test_peer (s_test_data_t *data, size_t index, int variant, proto_peer_t *peer)
{
    memset (peer, 0, sizeof *peer);
    bool large = variant == 2;
    peer->role = index < 2 ? "shard" : "ingestor";
    peer->name = s_test_text (data, large ? PROTO_NAME_MAX : index);
    peer->endpoint = s_test_text (data, large ? PROTO_ENDPOINT_MAX : 20);
    peer->spool = s_test_text (data, large ? PROTO_PATH_MAX : 0);
    peer->state = large ? s_test_text (data, PROTO_NAME_MAX) : "up";
    peer->slots = large ? UINT32_MAX : (uint32_t) index;
    peer->age_msecs = large ? UINT64_MAX : index * 1000;
    peer->stat_count = large ? PROTO_STATS_MAX : index;
    for (size_t stat = 0; stat < peer->stat_count; stat++) {
        peer->stat_keys[stat] = data->keys[stat];
        peer->stat_values[stat] = large ? INT64_MIN + (int64_t) stat : (int64_t) stat;
    }
}

//  --------------------------------------------------------------------------
static void
s_test_pair (s_test_data_t *data, size_t index, int variant, proto_pair_t *pair)
{
    memset (pair, 0, sizeof *pair);
    bool large = variant == 2;
    s_test_addr (&pair->addr, (uint32_t) index, variant);
    pair->port = large ? UINT16_MAX : (uint16_t) (index + 22);
    pair->bytes = large ? UINT64_MAX : index * 1500;
    pair->packets = large ? UINT64_MAX - 1 : index;
    pair->durations = large ? UINT64_MAX - 2 : index * 10;
    pair->peers_kind = index == 2 ? PROTO_PEERS_SKETCH : PROTO_PEERS_EXACT;
    pair->peers = index == 2 ? data->sketch : data->peers;
    pair->peers_size = index == 2            ? PROTO_SKETCH_REGISTERS
                       : large && index == 0 ? PROTO_PEERS_CAP * PROTO_ADDR_SIZE
                                             : index * PROTO_ADDR_SIZE;
}

//  --------------------------------------------------------------------------
static void
s_test_top (size_t index, int variant, proto_top_t *top)
{
    bool large = variant == 2;
    top->port = large ? UINT16_MAX : 25;
    top->feature = (uint8_t) (index % PROTO_FEATURE_COUNT);
    s_test_addr (&top->addr, (uint32_t) index, variant);
    top->score = large ? UINT64_MAX - index : 100 - index;
    top->annotations = large ? UINT32_MAX : (uint32_t) index;
}

//  --------------------------------------------------------------------------
static void
s_test_point (size_t index, int variant, proto_point_t *point)
{
    bool large = variant == 2;
    point->port = large ? (uint16_t) (UINT16_MAX - index) : (uint16_t) index;
    point->day = large ? UINT32_MAX - (uint32_t) index : 19800 + (uint32_t) index;
    point->score = large ? UINT64_MAX : index;
}

//  --------------------------------------------------------------------------
static void
s_test_annotation (s_test_data_t *data, size_t index, int variant, proto_annotation_t *note)
{
    bool large = variant == 2;
    s_test_addr (&note->addr, (uint32_t) index, variant);
    note->rrname = large ? s_test_text (data, PROTO_RRNAME_MAX) : "mail.example.org";
    note->rrtype = large ? s_test_text (data, PROTO_RRTYPE_MAX) : index ? "A" : "";
    note->first_seen = large ? INT64_MIN : 1700000000 + (int64_t) index;
    note->last_seen = large ? INT64_MAX : 1700000600 + (int64_t) index;
}

//  --------------------------------------------------------------------------
static void
s_test_assert_peer (const proto_peer_t *expected, const proto_peer_t *actual)
{
    assert (streq (expected->role, actual->role));
    assert (streq (expected->name, actual->name));
    assert (streq (expected->endpoint, actual->endpoint));
    assert (streq (expected->spool, actual->spool));
    assert (streq (expected->state, actual->state));
    assert (expected->slots == actual->slots);
    assert (expected->age_msecs == actual->age_msecs);
    assert (expected->stat_count == actual->stat_count);
    for (size_t stat = 0; stat < expected->stat_count; stat++) {
        assert (streq (expected->stat_keys[stat], actual->stat_keys[stat]));
        assert (expected->stat_values[stat] == actual->stat_values[stat]);
    }
}

//  --------------------------------------------------------------------------
static void
s_test_assert_pair (const proto_pair_t *expected, const proto_pair_t *actual)
{
    assert (proto_addr_compare (&expected->addr, &actual->addr) == 0);
    assert (expected->port == actual->port);
    assert (expected->bytes == actual->bytes);
    assert (expected->packets == actual->packets);
    assert (expected->durations == actual->durations);
    assert (expected->peers_kind == actual->peers_kind);
    assert (expected->peers_size == actual->peers_size);
    assert (expected->peers_size == 0 ||
            memcmp (expected->peers, actual->peers, expected->peers_size) == 0);
}

//  --------------------------------------------------------------------------
//  Appends (set) or checks the entries of a list field
static void
s_test_list (proto_msg_t *msg, proto_msg_field_t field, int variant, bool set, s_test_data_t *data)
{
    size_t count = s_test_entries (msg->id, field, variant);
    for (size_t index = 0; index < count; index++) {
        proto_peer_t peer, peer_read;
        proto_pair_t pair, pair_read;
        proto_top_t top = {0}, top_read;
        proto_point_t point = {0}, point_read;
        proto_annotation_t note = {0}, note_read;
        uint16_t port = index ? (uint16_t) (UINT16_MAX - index) : 0;
        uint32_t day = variant == 2 ? UINT32_MAX - (uint32_t) index : (uint32_t) index;
        switch (field) {
        case PROTO_MSG_FIELD_PEERS:
            s_test_peer (data, index, variant, &peer);
            if (set)
                proto_msg_peers_append (msg, &peer);
            else {
                proto_msg_peers_at (msg, index, &peer_read);
                s_test_assert_peer (&peer, &peer_read);
            }
            break;
        case PROTO_MSG_FIELD_PAIRS:
            s_test_pair (data, index, variant, &pair);
            if (set)
                proto_msg_pairs_append (msg, &pair);
            else {
                proto_msg_pairs_at (msg, index, &pair_read);
                s_test_assert_pair (&pair, &pair_read);
            }
            break;
        case PROTO_MSG_FIELD_ENTRIES:
            s_test_top (index, variant, &top);
            if (set)
                proto_msg_top_append (msg, &top);
            else {
                proto_msg_top_at (msg, index, &top_read);
                assert (memcmp (&top, &top_read, sizeof top) == 0);
            }
            break;
        case PROTO_MSG_FIELD_POINTS:
            s_test_point (index, variant, &point);
            if (set)
                proto_msg_points_append (msg, &point);
            else {
                proto_msg_points_at (msg, index, &point_read);
                assert (memcmp (&point, &point_read, sizeof point) == 0);
            }
            break;
        case PROTO_MSG_FIELD_ANNOTATIONS:
            s_test_annotation (data, index, variant, &note);
            if (set)
                proto_msg_annotations_append (msg, &note);
            else {
                proto_msg_annotations_at (msg, index, &note_read);
                assert (proto_addr_compare (&note.addr, &note_read.addr) == 0);
                assert (streq (note.rrname, note_read.rrname));
                assert (streq (note.rrtype, note_read.rrtype));
                assert (note.first_seen == note_read.first_seen);
                assert (note.last_seen == note_read.last_seen);
            }
            break;
        case PROTO_MSG_FIELD_PORTS:
            if (set)
                proto_msg_ports_append (msg, port);
            else
                assert (proto_msg_ports_at (msg, index) == port);
            break;
        case PROTO_MSG_FIELD_DAYS:
            if (set)
                proto_msg_days_append (msg, day);
            else
                assert (proto_msg_days_at (msg, index) == day);
            break;
        default:
            assert (false);
        }
    }
    if (!set) {
        size_t counts[] = {proto_msg_peers_count (msg),       proto_msg_pairs_count (msg),
                           proto_msg_top_count (msg),         proto_msg_points_count (msg),
                           proto_msg_annotations_count (msg), proto_msg_ports_count (msg),
                           proto_msg_days_count (msg)};
        assert (counts[field - PROTO_MSG_FIELD_PEERS] == count);
    }
}

//  Sets (set) or checks one field through its public accessors
#define S_TEST_SCALAR(FIELD, member, value)                                                        \
    case PROTO_MSG_FIELD_##FIELD:                                                                  \
        if (set)                                                                                   \
            proto_msg_set_##member (msg, value);                                                   \
        else                                                                                       \
            assert (proto_msg_##member (msg) == (value));                                          \
        break;
#define S_TEST_STRING(FIELD, member)                                                               \
    case PROTO_MSG_FIELD_##FIELD:                                                                  \
        if (set)                                                                                   \
            proto_msg_set_##member (msg, string);                                                  \
        else                                                                                       \
            assert (streq (proto_msg_##member (msg), string));                                     \
        break;

//  --------------------------------------------------------------------------
static void
s_test_field (proto_msg_t *msg, proto_msg_field_t field, int variant, bool set, s_test_data_t *data)
{
    const proto_msg_column_t *column = &proto_msg_body_columns[field];
    uint64_t number = variant == 0 ? 0 : variant == 1 ? column->limit / 2 : column->limit;
    int64_t time = variant == 0 ? INT64_MIN : variant == 1 ? 1714557600 : INT64_MAX;
    bool flag = variant == 1;
    const char *string = "";
    if (column->kind == PROTO_MSG_KIND_STR)
        string = s_test_text (data, variant == 0 ? 0 : variant == 1 ? 5 : column->limit);
    proto_addr_t host;
    s_test_addr (&host, 7, variant);
    uint16_t slots[PROTO_SLOT_COUNT];
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        slots[slot] = (uint16_t) (variant == 0 ? 0 : slot % 2);
    size_t stats = variant == 0 ? 0 : variant == 1 ? 3 : PROTO_STATS_MAX;
    switch (field) {
        S_TEST_STRING (ROLE, role)
        S_TEST_STRING (NAME, name)
        S_TEST_STRING (ENDPOINT, endpoint)
        S_TEST_STRING (SPOOL, spool)
        S_TEST_STRING (SOURCE, source)
        S_TEST_STRING (FILE, file)
        S_TEST_STRING (TEXT, text)
        S_TEST_SCALAR (EPOCH, epoch, number)
        S_TEST_SCALAR (BLOCK, block, time)
        S_TEST_SCALAR (DUPLICATE, duplicate, flag)
        S_TEST_SCALAR (DAY, day, (uint32_t) number)
        S_TEST_SCALAR (FROM, from, (uint32_t) number)
        S_TEST_SCALAR (TO, to, (uint32_t) number - 1)
        S_TEST_SCALAR (OP, op, (uint8_t) number)
        S_TEST_SCALAR (FEATURE, feature, (uint8_t) number)
        S_TEST_SCALAR (PORT, port, (uint32_t) number)
        S_TEST_SCALAR (KNOWN, known, !flag)
        S_TEST_SCALAR (FIRST_SEEN, first_seen, time)
        S_TEST_SCALAR (LAST_SEEN, last_seen, ~time)
        S_TEST_SCALAR (CODE, code, (uint16_t) number)
        S_TEST_SCALAR (COUNT, count, (uint32_t) number)
    case PROTO_MSG_FIELD_HOST:
        if (set)
            proto_msg_set_host (msg, &host);
        else
            assert (proto_addr_compare (proto_msg_host (msg), &host) == 0);
        break;
    case PROTO_MSG_FIELD_STATS:
        for (size_t stat = 0; stat < stats; stat++) {
            int64_t value = variant == 2 ? INT64_MAX - (int64_t) stat : -(int64_t) stat;
            const char *key;
            int64_t read_at, read_get;
            if (set)
                assert (proto_msg_stats_set (msg, data->keys[stat], value) == 0);
            else {
                proto_msg_stats_at (msg, stat, &key, &read_at);
                assert (streq (key, data->keys[stat]) && read_at == value);
                assert (proto_msg_stats_get (msg, key, &read_get) && read_get == value);
            }
        }
        if (!set)
            assert (proto_msg_stats_count (msg) == stats);
        break;
    case PROTO_MSG_FIELD_SLOTS:
        if (set)
            proto_msg_set_slots (msg, slots);
        else
            assert (memcmp (proto_msg_slots (msg), slots, sizeof slots) == 0);
        break;
    default:
        s_test_list (msg, field, variant, set, data);
    }
}

//  --------------------------------------------------------------------------
//  A message of id with every field of the variant set
static proto_msg_t *
s_test_message (proto_msg_id_t id, int variant, s_test_data_t *data)
{
    proto_msg_t *msg = proto_msg_new (id);
    uint64_t request_ids[S_TEST_VARIANTS] = {0, 42, UINT64_MAX};
    proto_msg_set_request_id (msg, request_ids[variant]);
    for (int field = 0; field < PROTO_MSG_FIELD_TOTAL; field++)
        if (proto_msg_specs[id].fields & (UINT64_C (1) << field))
            s_test_field (msg, (proto_msg_field_t) field, variant, true, data);
    return msg;
}

//  --------------------------------------------------------------------------
static void
s_test_assert_message (proto_msg_t *msg, proto_msg_id_t id, int variant, s_test_data_t *data)
{
    uint64_t request_ids[S_TEST_VARIANTS] = {0, 42, UINT64_MAX};
    assert (proto_msg_id (msg) == id);
    assert (proto_msg_request_id (msg) == request_ids[variant]);
    for (int field = 0; field < PROTO_MSG_FIELD_TOTAL; field++)
        if (proto_msg_specs[id].fields & (UINT64_C (1) << field))
            s_test_field (msg, (proto_msg_field_t) field, variant, false, data);
}

//  --------------------------------------------------------------------------
//  Encodes, decodes and re-encodes every message id in every variant
static void
s_test_round_trip (s_test_data_t *data, bool verbose)
{
    const char *corpus = getenv ("PROTO_MSG_CORPUS");
    for (int id = 1; id <= PROTO_MSG_ID_MAX; id++)
        for (int variant = 0; variant < S_TEST_VARIANTS; variant++) {
            proto_msg_t *msg = s_test_message ((proto_msg_id_t) id, variant, data);
            s_test_assert_message (msg, (proto_msg_id_t) id, variant, data);
            zframe_t *frame = proto_msg_encode (msg);
            assert (frame);
            proto_msg_t *copy = NULL;
            char error[PROTO_MSG_REASON_MAX] = "";
            int rc = proto_msg_decode (zframe_data (frame), zframe_size (frame), &copy, error,
                                       sizeof error);
            if (rc && verbose)
                printf ("\n%s/%d: %s", proto_msg_id_name ((proto_msg_id_t) id), variant, error);
            assert (rc == 0);
            s_test_assert_message (copy, (proto_msg_id_t) id, variant, data);
            zframe_t *again = proto_msg_encode (copy);
            assert (zframe_eq (frame, again));
            if (corpus && variant < 2) {
                char path[PROTO_PATH_MAX];
                snprintf (path, sizeof path, "%s/%02d-%s-%d.msgpack", corpus, id,
                          proto_msg_id_name ((proto_msg_id_t) id), variant);
                FILE *file = fopen (path, "wb");
                assert (file);
                assert (fwrite (zframe_data (frame), 1, zframe_size (frame), file) ==
                        zframe_size (frame));
                fclose (file);
            }
            zframe_destroy (&again);
            zframe_destroy (&frame);
            proto_msg_destroy (&copy);
            proto_msg_destroy (&msg);
        }
}

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
s_test_unpack (proto_msg_id_t id, s_test_data_t *data, msgpack_unpacked *unpacked,
               zframe_t **frame_p)
{
    proto_msg_t *msg = s_test_message (id, 1, data);
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
//  For every key of every id: each wrong type, in the value and in each entry column,
//  wrong entry sizes, and the key missing
static void
s_test_wrong_keys (s_test_data_t *data)
{
    for (int id = 1; id <= PROTO_MSG_ID_MAX; id++)
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
                s_test_wrong_types (root, &pair->val.via.array.ptr[5], PROTO_MSG_KIND_UINT, false);
            if (column->kind == PROTO_MSG_KIND_STATS) {
                s_test_wrong_types (root, &pair->val.via.map.ptr[0].key, PROTO_MSG_KIND_STR, false);
                s_test_wrong_types (root, &pair->val.via.map.ptr[0].val, PROTO_MSG_KIND_INT, false);
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
                msgpack_object longer[S_TEST_COLUMNS_MAX];
                memcpy (longer, entry->via.array.ptr, record->column_count * sizeof *longer);
                longer[record->column_count] = longer[0];
                msgpack_object original = *entry;
                entry->via.array.ptr = longer;
                entry->via.array.size = (uint32_t) record->column_count + 1;
                s_test_malformed_object (root, "items, expected", false);
                *entry = original;
            }
            //  Without the key: swap it with the last one and shorten the map
            msgpack_object_map *body = &root->via.array.ptr[3].via.map;
            msgpack_object_kv last = body->ptr[body->size - 1];
            body->ptr[body->size - 1] = *pair;
            *pair = last;
            body->size--;
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
s_test_wrong_values (s_test_data_t *data, bool verbose)
{
    uint8_t descending[2 * PROTO_ADDR_SIZE];
    memcpy (descending, data->peers + PROTO_ADDR_SIZE, PROTO_ADDR_SIZE);
    memcpy (descending + PROTO_ADDR_SIZE, data->peers, PROTO_ADDR_SIZE);
    uint8_t *too_many = (uint8_t *) zmalloc ((PROTO_PEERS_CAP + 1) * PROTO_ADDR_SIZE);
    const char *letters = s_test_text (data, PROTO_PATH_MAX);
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
s_test_wrong_envelopes (s_test_data_t *data, bool verbose)
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
s_test_unknown_keys (s_test_data_t *data)
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
    s_test_assert_message (msg, PROTO_MSG_WELCOME, 1, data);
    proto_msg_destroy (&msg);
    msgpack_sbuffer_destroy (&buffer);
    msgpack_unpacked_destroy (&unpacked);
    zframe_destroy (&frame);
}

//  --------------------------------------------------------------------------
//  Raw bytes: every prefix of every encoding, trailing bytes, bad msgpack, random bytes
static void
s_test_wrong_bytes (s_test_data_t *data, bool verbose)
{
    for (int id = 1; id <= PROTO_MSG_ID_MAX; id++)
        for (int variant = 0; variant < S_TEST_VARIANTS; variant++) {
            proto_msg_t *msg = s_test_message ((proto_msg_id_t) id, variant, data);
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
//  Messages the encoder refuses, with the reason
static void
s_test_encode_fails (proto_msg_t *msg, const char *expected, bool verbose)
{
    char reason[PROTO_MSG_REASON_MAX] = "";
    zframe_t *frame = proto_msg_codec_encode (msg, reason);
    if (verbose)
        printf ("\n    encode: %s", reason);
    assert (!frame);
    assert (strstr (reason, expected));
    assert (!proto_msg_encode (msg));
    proto_msg_destroy (&msg);
}

//  --------------------------------------------------------------------------
static void
s_test_encode (s_test_data_t *data, bool verbose)
{
    proto_msg_t *msg = s_test_message (PROTO_MSG_HELLO, 1, data);
    proto_msg_set_name (msg, s_test_text (data, PROTO_NAME_MAX + 1));
    s_test_encode_fails (msg, "HELLO: name: string of 65 bytes, at most 64", verbose);
    msg = s_test_message (PROTO_MSG_TOP_REQUEST, 1, data);
    proto_msg_set_port (msg, PROTO_PORT_ALL + 1);
    s_test_encode_fails (msg, "TOP_REQUEST: port: 65537 exceeds 65536", verbose);
    msg = s_test_message (PROTO_MSG_TOP_REQUEST, 1, data);
    proto_msg_set_op (msg, PROTO_OP_COUNT);
    s_test_encode_fails (msg, "op: 3 exceeds 2", verbose);
    msg = s_test_message (PROTO_MSG_SERIES_REQUEST, 1, data);
    proto_msg_set_feature (msg, PROTO_FEATURE_COUNT);
    s_test_encode_fails (msg, "feature: 4 exceeds 3", verbose);
    msg = proto_msg_new (PROTO_MSG_MAP);
    s_test_encode_fails (msg, "MAP: slots: not set", verbose);
    msg = s_test_message (PROTO_MSG_MAP, 0, data);
    uint16_t slots[PROTO_SLOT_COUNT] = {0};
    slots[PROTO_SLOT_COUNT - 1] = 1;
    proto_msg_set_slots (msg, slots);
    s_test_encode_fails (msg, "slots[1023]: shard 1, but the map has 1 shards", verbose);
    msg = s_test_message (PROTO_MSG_PART, 0, data);
    proto_pair_t pair;
    s_test_pair (data, 2, 1, &pair);
    pair.peers_kind = PROTO_PEERS_EXACT;  //  Sketch registers are no ascending set
    proto_msg_pairs_append (msg, &pair);
    s_test_encode_fails (msg, "PART: pairs[0].peers: exact set not strictly ascending", verbose);
    msg = s_test_message (PROTO_MSG_PART, 0, data);
    s_test_pair (data, 1, 1, &pair);
    pair.peers_kind = PROTO_PEERS_SKETCH;
    proto_msg_pairs_append (msg, &pair);
    s_test_encode_fails (msg, "sketch of 16 bytes, expected 4096", verbose);
    msg = s_test_message (PROTO_MSG_HEARTBEAT, 0, data);
    assert (proto_msg_stats_set (msg, s_test_text (data, PROTO_MSG_STATS_KEY_MAX + 1), 1) == 0);
    s_test_encode_fails (msg, "stats: key 0 longer than 32 bytes", verbose);
    msg = s_test_message (PROTO_MSG_STATUS, 0, data);
    proto_peer_t peer;
    s_test_peer (data, 2, 1, &peer);
    peer.stat_keys[1] = peer.stat_keys[0];
    proto_msg_peers_append (msg, &peer);
    s_test_encode_fails (msg, "peers[0].stats: key", verbose);
    msg = proto_msg_new (PROTO_MSG_MALFORMED);
    proto_msg_set_text (msg, "bad");
    s_test_encode_fails (msg, "MALFORMED is not a wire message", verbose);
}

//  --------------------------------------------------------------------------
//  The class's own methods: reply, names, routing ids, stats
static void
s_test_methods (void)
{
    proto_msg_t *request = proto_msg_new (PROTO_MSG_HEARTBEAT);
    assert (streq (proto_msg_id_name (PROTO_MSG_PART), "PART"));
    assert (streq (proto_msg_id_name (PROTO_MSG_MALFORMED), "MALFORMED"));
    assert (streq (proto_msg_id_name ((proto_msg_id_t) 99), "UNKNOWN"));
    assert (streq (proto_msg_name (request), "") && !proto_msg_slots (request));
    assert (!proto_msg_routing_id (request));
    zframe_t *routing_id = zframe_new ("peer", 4);
    proto_msg_set_routing_id (request, routing_id);
    proto_msg_set_routing_id (request, routing_id);
    assert (zframe_eq (proto_msg_routing_id (request), routing_id));
    proto_msg_set_request_id (request, 7);
    for (int stat = 0; stat < PROTO_STATS_MAX; stat++) {
        char key[16];
        snprintf (key, sizeof key, "stat%d", stat);
        assert (proto_msg_stats_set (request, key, stat) == 0);
    }
    assert (proto_msg_stats_set (request, "one_more", 1) == -1);
    assert (proto_msg_stats_set (request, "stat3", -3) == 0);
    int64_t value = 0;
    assert (proto_msg_stats_get (request, "stat3", &value) && value == -3);
    assert (!proto_msg_stats_get (request, "one_more", &value));
    assert (proto_msg_stats_count (request) == PROTO_STATS_MAX);
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_HEARTBEAT_ACK);
    assert (proto_msg_id (reply) == PROTO_MSG_HEARTBEAT_ACK);
    assert (proto_msg_request_id (reply) == 7);
    assert (zframe_eq (proto_msg_routing_id (reply), routing_id));
    proto_msg_set_routing_id (reply, NULL);
    assert (!proto_msg_routing_id (reply));
    proto_msg_destroy (&reply);
    proto_msg_destroy (&request);
    proto_msg_destroy (&request);
    zframe_destroy (&routing_id);
}

//  --------------------------------------------------------------------------
static void
s_test_sockets (s_test_data_t *data, bool verbose)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (router && dealer);
    proto_msg_limit_socket (router);
    proto_msg_limit_socket (dealer);
    assert (zsock_maxmsgsize (router) == PROTO_FRAME_MAX);
    zsock_set_rcvtimeo (router, 5000);
    zsock_set_rcvtimeo (dealer, 5000);
    assert (zsock_bind (router, "inproc://proto_msg_test") == 0);
    assert (zsock_connect (dealer, "inproc://proto_msg_test") == 0);

    //  A large PART goes DEALER -> ROUTER; its peers stay in the received frame
    proto_msg_t *msg = s_test_message (PROTO_MSG_PART, 2, data);
    assert (proto_msg_send (&msg, dealer) == 0 && !msg);
    proto_msg_t *request = proto_msg_recv (router);
    assert (request && proto_msg_routing_id (request));
    s_test_assert_message (request, PROTO_MSG_PART, 2, data);
    proto_pair_t pair;
    proto_msg_pairs_at (request, 0, &pair);
    assert (pair.peers >= zframe_data (request->frame) &&
            pair.peers < zframe_data (request->frame) + zframe_size (request->frame));
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_PART_ACK);
    proto_msg_set_duplicate (reply, true);
    assert (proto_msg_send (&reply, router) == 0);
    reply = proto_msg_recv (dealer);
    assert (reply && proto_msg_id (reply) == PROTO_MSG_PART_ACK);
    assert (proto_msg_request_id (reply) == UINT64_MAX && proto_msg_duplicate (reply));
    assert (!proto_msg_routing_id (reply));
    proto_msg_destroy (&reply);
    proto_msg_destroy (&request);

    //  Raw frames that do not decode: MALFORMED with the reason, and the request id
    //  when it was readable; answered with ERROR 400 as proto_msg.h shows
    const char wrong_version[] = "\x94\x07\x01\x2a\x80";  //  [7, 1, 42, {}]
    const struct {
        const char *bytes;    //  Sent by the dealer
        size_t size;          //  Bytes
        int frames;           //  Frames (the bytes again after the first)
        uint64_t request_id;  //  Expected
        const char *reason;   //  Expected in the text
    } raws[] = {{"garbage", 7, 1, 0, "6 trailing bytes"},
                {wrong_version, 5, 1, 42, "version 7, expected 1"},
                {wrong_version, 5, 2, 0, "expected [routing id, frame], got 3 frames"}};
    for (size_t raw = 0; raw < sizeof raws / sizeof raws[0]; raw++) {
        zmsg_t *zmsg = zmsg_new ();
        for (int frame = 0; frame < raws[raw].frames; frame++)
            zmsg_addmem (zmsg, raws[raw].bytes, raws[raw].size);
        assert (zmsg_send (&zmsg, dealer) == 0);
        request = proto_msg_recv (router);
        if (verbose)
            printf ("\n    received: %s", proto_msg_text (request));
        assert (request && proto_msg_id (request) == PROTO_MSG_MALFORMED);
        assert (proto_msg_routing_id (request));
        assert (proto_msg_request_id (request) == raws[raw].request_id);
        assert (strstr (proto_msg_text (request), raws[raw].reason));
        reply = proto_msg_reply (request, PROTO_MSG_ERROR);
        proto_msg_set_code (reply, PROTO_ERROR_MALFORMED);
        proto_msg_set_text (reply, proto_msg_text (request));
        assert (proto_msg_send (&reply, router) == 0);
        reply = proto_msg_recv (dealer);
        assert (reply && proto_msg_id (reply) == PROTO_MSG_ERROR);
        assert (proto_msg_code (reply) == PROTO_ERROR_MALFORMED);
        assert (proto_msg_request_id (reply) == raws[raw].request_id);
        assert (streq (proto_msg_text (reply), proto_msg_text (request)));
        proto_msg_destroy (&reply);
        proto_msg_destroy (&request);
    }
    //  Two frames to a DEALER are malformed too
    msg = s_test_message (PROTO_MSG_HELLO, 0, data);
    assert (proto_msg_send (&msg, dealer) == 0);
    request = proto_msg_recv (router);
    zmsg_t *zmsg = zmsg_new ();
    zmsg_append (zmsg, &request->routing_id);
    zmsg_addmem (zmsg, wrong_version, 5);
    zmsg_addmem (zmsg, wrong_version, 5);
    assert (zmsg_send (&zmsg, router) == 0);
    reply = proto_msg_recv (dealer);
    assert (reply && proto_msg_id (reply) == PROTO_MSG_MALFORMED);
    assert (strstr (proto_msg_text (reply), "expected one frame, got 2 frames"));
    proto_msg_destroy (&reply);
    proto_msg_destroy (&request);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

//  --------------------------------------------------------------------------
//  A PART of 200,000 pairs (mostly a few exact peers, some sketches): encode + decode
static void
s_test_large_part (s_test_data_t *data, bool verbose)
{
    const size_t pairs = 200000;
    proto_msg_t *msg = proto_msg_new (PROTO_MSG_PART);
    proto_msg_set_source (msg, "ingestor-1");
    proto_msg_set_file (msg, "2024/05/01/nfcapd.202405011000");
    proto_msg_set_block (msg, 1714557600);
    for (size_t index = 0; index < pairs; index++) {
        proto_pair_t pair = {.port = (uint16_t) (index % 12),
                             .bytes = index * 1500,
                             .packets = index,
                             .durations = index * 3};
        proto_addr_from_ipv4 (&pair.addr, 0x0a000000u + (uint32_t) index);
        bool sketch = index % 1000 == 999;
        pair.peers_kind = sketch ? PROTO_PEERS_SKETCH : PROTO_PEERS_EXACT;
        pair.peers = sketch ? data->sketch : data->peers;
        pair.peers_size = sketch ? PROTO_SKETCH_REGISTERS : (index % 4 + 1) * PROTO_ADDR_SIZE;
        proto_msg_pairs_append (msg, &pair);
    }
    int64_t start = zclock_usecs ();
    zframe_t *frame = proto_msg_encode (msg);
    int64_t encoded = zclock_usecs ();
    proto_msg_t *copy = NULL;
    assert (proto_msg_decode (zframe_data (frame), zframe_size (frame), &copy, NULL, 0) == 0);
    int64_t decoded = zclock_usecs ();
    assert (proto_msg_pairs_count (copy) == pairs);
    for (size_t index = 0; index < pairs; index += 997) {
        proto_pair_t expected, actual;
        proto_msg_pairs_at (msg, index, &expected);
        proto_msg_pairs_at (copy, index, &actual);
        s_test_assert_pair (&expected, &actual);
    }
    if (verbose)
        printf ("\n    PART of %zu pairs, %zu bytes: encode %.1f ms, decode %.1f ms", pairs,
                zframe_size (frame), (encoded - start) / 1000.0, (decoded - encoded) / 1000.0);
    zframe_destroy (&frame);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
}

//  --------------------------------------------------------------------------
void
proto_msg_test (bool verbose)
{
    printf (" * proto_msg: ");
    s_test_data_t *data = (s_test_data_t *) zmalloc (sizeof (s_test_data_t));
    for (size_t index = 0; index < PROTO_PATH_MAX; index++)
        data->letters[index] = (char) ('a' + index % 26);
    for (size_t key = 0; key < PROTO_STATS_MAX; key++) {
        memset (data->keys[key], 'k', PROTO_MSG_STATS_KEY_MAX);
        snprintf (data->keys[key], 3, "%02zu", key);
        data->keys[key][2] = 'k';
    }
    for (uint32_t peer = 0; peer < PROTO_PEERS_CAP; peer++)
        proto_addr_from_ipv4 ((proto_addr_t *) (data->peers + peer * PROTO_ADDR_SIZE),
                              0x0a000000u + peer);
    for (size_t index = 0; index < PROTO_SKETCH_REGISTERS; index++)
        data->sketch[index] = (uint8_t) (index % 54);

    s_test_methods ();
    s_test_round_trip (data, verbose);
    s_test_encode (data, verbose);
    s_test_wrong_keys (data);
    s_test_wrong_values (data, verbose);
    s_test_wrong_envelopes (data, verbose);
    s_test_unknown_keys (data);
    s_test_wrong_bytes (data, verbose);
    s_test_sockets (data, verbose);
    s_test_large_part (data, verbose);
    free (data);
    printf ("OK\n");
}
