/*  proto_msg_test.c - selftest of proto_msg: every message, every limit, every refusal.

    In its own file because it is longer than the class: it round-trips every message id
    in three variants through the public setters and getters, has the decoder refuse a
    malformed corpus (proto_msg_test_malformed.c), checks what the encoder refuses, and
    runs real ROUTER/DEALER sockets.  It reads the table
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

#include "proto/proto_msg_test.h"

//  --------------------------------------------------------------------------
//  A string of size letters
const char *
proto_msg_test_text (proto_msg_test_data_t *data, uint64_t size)
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
    return variant == 0 ? 0 : variant == 1 ? 3 : PROTO_MSG_TEST_ENTRIES;
}

//  --------------------------------------------------------------------------
static void
s_test_peer (proto_msg_test_data_t *data, size_t index, int variant, proto_peer_t *peer)
{
    memset (peer, 0, sizeof *peer);
    bool large = variant == 2;
    peer->role = index < 2 ? "shard" : "ingestor";
    peer->name = proto_msg_test_text (data, large ? PROTO_NAME_MAX : index);
    peer->endpoint = proto_msg_test_text (data, large ? PROTO_ENDPOINT_MAX : 20);
    peer->spool = proto_msg_test_text (data, large ? PROTO_PATH_MAX : 0);
    peer->state = large ? proto_msg_test_text (data, PROTO_NAME_MAX) : "up";
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
s_test_pair (proto_msg_test_data_t *data, size_t index, int variant, proto_pair_t *pair)
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
    //  Peers first: the typical variant has a capped peers entry too
    top->feature = (uint8_t) ((index + PROTO_FEATURE_PEERS) % PROTO_FEATURE_COUNT);
    top->peers_capped = top->feature == PROTO_FEATURE_PEERS && index % 8 == 0;
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
    point->peers_capped = variant > 0 && index % 2 == 0;  //  Those variants are of feature peers
}

//  --------------------------------------------------------------------------
static void
s_test_change (size_t index, int variant, proto_change_t *change)
{
    bool large = variant == 2;
    memset (change, 0, sizeof *change);
    change->port = large ? UINT16_MAX : (uint16_t) (25 + index);
    change->feature = (uint8_t) (index % PROTO_FEATURE_COUNT);
    s_test_addr (&change->addr, (uint32_t) index, variant);
    change->score = large ? UINT64_MAX - index : 1000 * index;
    change->median = large ? UINT64_MAX : 10 * index;
    change->days = large ? UINT32_MAX : (uint32_t) index;
    change->flags = large ? PROTO_CHANGE_FLAGS : (uint8_t) (index % (PROTO_CHANGE_FLAGS + 1));
    change->annotations = large ? UINT32_MAX : (uint32_t) index;
}

//  --------------------------------------------------------------------------
//  The capped entries (TOP) or points (SERIES) of a variant, as set above
static size_t
s_test_capped (proto_msg_id_t id, int variant)
{
    size_t count = 0;
    size_t entries = s_test_entries (
        id, id == PROTO_MSG_TOP ? PROTO_MSG_FIELD_ENTRIES : PROTO_MSG_FIELD_POINTS, variant);
    for (size_t index = 0; index < entries; index++) {
        proto_top_t top = {0};
        proto_point_t point = {0};
        s_test_top (index, variant, &top);
        s_test_point (index, variant, &point);
        count += id == PROTO_MSG_TOP ? top.peers_capped : point.peers_capped;
    }
    return count;
}

//  --------------------------------------------------------------------------
static void
s_test_annotation (proto_msg_test_data_t *data, size_t index, int variant, proto_annotation_t *note)
{
    bool large = variant == 2;
    s_test_addr (&note->addr, (uint32_t) index, variant);
    note->rrname = large ? proto_msg_test_text (data, PROTO_RRNAME_MAX) : "mail.example.org";
    note->rrtype = large ? proto_msg_test_text (data, PROTO_RRTYPE_MAX) : index ? "A" : "";
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
//  Appends (set) or checks entry index of the others or other_ports list
static void
s_test_other (proto_msg_t *msg, proto_msg_field_t field, size_t index, int variant, bool set)
{
    bool large = variant == 2;
    proto_other_t other = {0}, other_read;
    proto_other_port_t port = {0}, port_read;
    s_test_addr (&other.addr, (uint32_t) index, variant);
    other.day = large ? UINT32_MAX : 20000 + (uint32_t) index;
    other.bytes = large ? UINT64_MAX : index * 1000;
    other.packets = large ? UINT64_MAX - 1 : index * 3;
    other.flows = large ? UINT64_MAX - 2 : index;
    other.truncated = index % 2 == 1;
    port.addr = other.addr;
    port.day = other.day;
    port.port = large ? UINT16_MAX : (uint16_t) (index + 443);
    port.bytes = other.bytes / 2;
    port.packets = other.packets;
    port.flows = other.flows;
    if (field == PROTO_MSG_FIELD_OTHERS && set)
        proto_msg_others_append (msg, &other);
    else if (field == PROTO_MSG_FIELD_OTHERS) {
        proto_msg_others_at (msg, index, &other_read);
        assert (memcmp (&other, &other_read, sizeof other) == 0);
    }
    else if (set)
        proto_msg_other_ports_append (msg, &port);
    else {
        proto_msg_other_ports_at (msg, index, &port_read);
        assert (memcmp (&port, &port_read, sizeof port) == 0);
    }
}

//  --------------------------------------------------------------------------
//  Appends (set) or checks the entries of a list field
static void
s_test_list (proto_msg_t *msg, proto_msg_field_t field, int variant, bool set,
             proto_msg_test_data_t *data)
{
    if (field == PROTO_MSG_FIELD_SPARKS) {
        //  Per change entry (set before: an earlier field) as many scores
        size_t scores = msg->changes.count * (variant == 0   ? 0
                                              : variant == 1 ? 14
                                                             : PROTO_SPARK_MAX);
        for (size_t index = 0; index < scores; index++) {
            uint64_t score = variant == 2 ? UINT64_MAX - index : index * 7;
            if (set)
                proto_msg_sparks_append (msg, score);
            else
                assert (proto_msg_sparks_at (msg, index) == score);
        }
        assert (set || proto_msg_sparks_count (msg) == scores);
        return;
    }
    size_t count = s_test_entries (msg->id, field, variant);
    for (size_t index = 0; index < count; index++) {
        proto_peer_t peer, peer_read;
        proto_pair_t pair, pair_read;
        proto_top_t top = {0}, top_read;
        proto_point_t point = {0}, point_read;
        proto_annotation_t note = {0}, note_read;
        proto_change_t change, change_read;
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
        case PROTO_MSG_FIELD_PAIRS_IN:
            s_test_pair (data, count - 1 - index, variant, &pair);
            if (set)
                proto_msg_pairs_in_append (msg, &pair);
            else {
                proto_msg_pairs_in_at (msg, index, &pair_read);
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
        case PROTO_MSG_FIELD_OTHERS:
        case PROTO_MSG_FIELD_OTHER_PORTS:
            s_test_other (msg, field, index, variant, set);
            break;
        case PROTO_MSG_FIELD_CHANGES:
            s_test_change (index, variant, &change);
            if (set)
                proto_msg_changes_append (msg, &change);
            else {
                proto_msg_changes_at (msg, index, &change_read);
                assert (change.port == change_read.port && change.feature == change_read.feature);
                assert (proto_addr_compare (&change.addr, &change_read.addr) == 0);
                assert (change.score == change_read.score && change.median == change_read.median);
                assert (change.days == change_read.days && change.flags == change_read.flags);
                assert (change.annotations == change_read.annotations);
            }
            break;
        default:
            assert (false);
        }
    }
    if (field == PROTO_MSG_FIELD_OTHERS || field == PROTO_MSG_FIELD_OTHER_PORTS) {
        if (!set)
            assert ((field == PROTO_MSG_FIELD_OTHERS ? proto_msg_others_count (msg)
                                                     : proto_msg_other_ports_count (msg)) == count);
        return;
    }
    if (!set && field == PROTO_MSG_FIELD_CHANGES)
        assert (proto_msg_changes_count (msg) == count);
    else if (!set) {
        size_t counts[] = {proto_msg_peers_count (msg),       proto_msg_pairs_count (msg),
                           proto_msg_top_count (msg),         proto_msg_points_count (msg),
                           proto_msg_annotations_count (msg), proto_msg_ports_count (msg),
                           proto_msg_days_count (msg)};
        assert (field == PROTO_MSG_FIELD_PAIRS_IN ? proto_msg_pairs_in_count (msg) == count
                                                  : counts[field - PROTO_MSG_FIELD_PEERS] == count);
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
s_test_field (proto_msg_t *msg, proto_msg_field_t field, int variant, bool set,
              proto_msg_test_data_t *data)
{
    const proto_msg_column_t *column = &proto_msg_body_columns[field];
    uint64_t number = variant == 0 ? 0 : variant == 1 ? column->limit / 2 : column->limit;
    int64_t time = variant == 0 ? INT64_MIN : variant == 1 ? 1714557600 : INT64_MAX;
    bool flag = variant == 1;
    const char *string = "";
    if (column->kind == PROTO_MSG_KIND_STR)
        string = proto_msg_test_text (data, variant == 0 ? 0 : variant == 1 ? 5 : column->limit);
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
        S_TEST_SCALAR (EXPIRED, expired, !flag)
        S_TEST_SCALAR (DAY, day, (uint32_t) number)
        S_TEST_SCALAR (FROM, from, (uint32_t) number)
        S_TEST_SCALAR (TO, to, (uint32_t) number - 1)
        S_TEST_SCALAR (OP, op, (uint8_t) number)
        S_TEST_SCALAR (FEATURE, feature, (uint8_t) (variant ? PROTO_FEATURE_PEERS : 0))
        S_TEST_SCALAR (PORT, port, (uint32_t) number)
        S_TEST_SCALAR (KNOWN, known, !flag)
        S_TEST_SCALAR (FIRST_SEEN, first_seen, time)
        S_TEST_SCALAR (LAST_SEEN, last_seen, ~time)
        S_TEST_SCALAR (CODE, code, (uint16_t) number)
        S_TEST_SCALAR (COUNT, count, (uint32_t) number)
        S_TEST_SCALAR (SPARK, spark, (uint8_t) number)
        S_TEST_SCALAR (DIRECTION, direction, (uint8_t) (variant ? PROTO_DIRECTION_IN : 0))
        S_TEST_SCALAR (HOLD, hold, flag)
    case PROTO_MSG_FIELD_SLOTSET: {
        uint8_t slotset[PROTO_SLOTSET_SIZE];
        memset (slotset, variant * 0x55, sizeof slotset);
        if (set)
            proto_msg_set_slotset (msg, slotset);
        else
            assert (memcmp (proto_msg_slotset (msg), slotset, sizeof slotset) == 0);
        break;
    }
    case PROTO_MSG_FIELD_DATA: {
        size_t size = variant == 0 ? 0 : variant == 1 ? 5 : 70000, read_size;
        char *bytes = (char *) malloc (size + 1);
        for (size_t index = 0; index < size; index++)
            bytes[index] = (char) (index * 7);
        if (set)
            proto_msg_set_data (msg, bytes, size);
        else {
            const uint8_t *read = proto_msg_data (msg, &read_size);
            assert (read_size == size && (size == 0 || memcmp (read, bytes, size) == 0));
        }
        free (bytes);
        break;
    }
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
    case PROTO_MSG_FIELD_PEERS_CAPPED:
        //  Set with the entries or points: each one's peers_capped, checked there too
        if (!set)
            assert (msg->capped.count == s_test_capped (msg->id, variant));
        break;
    default:
        s_test_list (msg, field, variant, set, data);
    }
}

//  --------------------------------------------------------------------------
//  A message of id with every field of the variant set
proto_msg_t *
proto_msg_test_message (proto_msg_id_t id, int variant, proto_msg_test_data_t *data)
{
    proto_msg_t *msg = proto_msg_new (id);
    uint64_t request_ids[PROTO_MSG_TEST_VARIANTS] = {0, 42, UINT64_MAX};
    proto_msg_set_request_id (msg, request_ids[variant]);
    for (int field = 0; field < PROTO_MSG_FIELD_TOTAL; field++)
        if (proto_msg_specs[id].fields & (UINT64_C (1) << field))
            s_test_field (msg, (proto_msg_field_t) field, variant, true, data);
    return msg;
}

//  --------------------------------------------------------------------------
void
proto_msg_test_assert_message (proto_msg_t *msg, proto_msg_id_t id, int variant,
                               proto_msg_test_data_t *data)
{
    uint64_t request_ids[PROTO_MSG_TEST_VARIANTS] = {0, 42, UINT64_MAX};
    assert (proto_msg_id (msg) == id);
    assert (proto_msg_request_id (msg) == request_ids[variant]);
    for (int field = 0; field < PROTO_MSG_FIELD_TOTAL; field++)
        if (proto_msg_specs[id].fields & (UINT64_C (1) << field))
            s_test_field (msg, (proto_msg_field_t) field, variant, false, data);
}

//  --------------------------------------------------------------------------
//  Encodes, decodes and re-encodes every message id in every variant
static void
s_test_round_trip (proto_msg_test_data_t *data, bool verbose)
{
    const char *corpus = getenv ("PROTO_MSG_CORPUS");
    for (int id = 1; id <= PROTO_MSG_ID_MAX; id++)
        if (proto_msg_specs[id].name)  //  Ids in between are unknown
            for (int variant = 0; variant < PROTO_MSG_TEST_VARIANTS; variant++) {
                proto_msg_t *msg = proto_msg_test_message ((proto_msg_id_t) id, variant, data);
                proto_msg_test_assert_message (msg, (proto_msg_id_t) id, variant, data);
                zframe_t *frame = proto_msg_encode (msg);
                assert (frame);
                proto_msg_t *copy = NULL;
                char error[PROTO_MSG_REASON_MAX] = "";
                int rc = proto_msg_decode (zframe_data (frame), zframe_size (frame), &copy, error,
                                           sizeof error);
                if (rc && verbose)
                    printf ("\n%s/%d: %s", proto_msg_id_name ((proto_msg_id_t) id), variant, error);
                assert (rc == 0);
                proto_msg_test_assert_message (copy, (proto_msg_id_t) id, variant, data);
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
s_test_encode (proto_msg_test_data_t *data, bool verbose)
{
    proto_msg_t *msg = proto_msg_test_message (PROTO_MSG_HELLO, 1, data);
    proto_msg_set_name (msg, proto_msg_test_text (data, PROTO_NAME_MAX + 1));
    s_test_encode_fails (msg, "HELLO: name: string of 65 bytes, at most 64", verbose);
    msg = proto_msg_test_message (PROTO_MSG_TOP_REQUEST, 1, data);
    proto_msg_set_port (msg, PROTO_PORT_ALL + 1);
    s_test_encode_fails (msg, "TOP_REQUEST: port: 65537 exceeds 65536", verbose);
    msg = proto_msg_test_message (PROTO_MSG_TOP_REQUEST, 1, data);
    proto_msg_set_op (msg, PROTO_OP_COUNT);
    s_test_encode_fails (msg, "op: 3 exceeds 2", verbose);
    msg = proto_msg_test_message (PROTO_MSG_SERIES_REQUEST, 1, data);
    proto_msg_set_feature (msg, PROTO_FEATURE_COUNT);
    s_test_encode_fails (msg, "feature: 4 exceeds 3", verbose);
    msg = proto_msg_new (PROTO_MSG_MAP);
    s_test_encode_fails (msg, "MAP: slots: not set", verbose);
    msg = proto_msg_test_message (PROTO_MSG_MAP, 0, data);
    uint16_t slots[PROTO_SLOT_COUNT] = {0};
    slots[PROTO_SLOT_COUNT - 1] = 1;
    proto_msg_set_slots (msg, slots);
    s_test_encode_fails (msg, "slots[1023]: shard 1, but the map has 1 shards", verbose);
    msg = proto_msg_test_message (PROTO_MSG_PART, 0, data);
    proto_pair_t pair;
    s_test_pair (data, 2, 1, &pair);
    pair.peers_kind = PROTO_PEERS_EXACT;  //  Sketch registers are no ascending set
    proto_msg_pairs_append (msg, &pair);
    s_test_encode_fails (msg, "PART: pairs[0].peers: exact set not strictly ascending", verbose);
    msg = proto_msg_test_message (PROTO_MSG_PART, 0, data);
    s_test_pair (data, 1, 1, &pair);
    pair.peers_kind = PROTO_PEERS_SKETCH;
    proto_msg_pairs_append (msg, &pair);
    s_test_encode_fails (msg, "sketch of 16 bytes, expected 4096", verbose);
    msg = proto_msg_test_message (PROTO_MSG_HEARTBEAT, 0, data);
    assert (proto_msg_stats_set (msg, proto_msg_test_text (data, PROTO_MSG_STATS_KEY_MAX + 1), 1) ==
            0);
    s_test_encode_fails (msg, "stats: key 0 longer than 32 bytes", verbose);
    msg = proto_msg_test_message (PROTO_MSG_STATUS, 0, data);
    proto_peer_t peer;
    s_test_peer (data, 2, 1, &peer);
    peer.stat_keys[1] = peer.stat_keys[0];
    proto_msg_peers_append (msg, &peer);
    s_test_encode_fails (msg, "peers[0].stats: key", verbose);
    msg = proto_msg_test_message (PROTO_MSG_TOP, 0, data);
    proto_top_t top = {
        .port = 25, .feature = PROTO_FEATURE_BYTES, .score = 1, .peers_capped = true};
    proto_msg_top_append (msg, &top);
    s_test_encode_fails (msg, "TOP: peers_capped[0]: 0 is of feature 0, not peers", verbose);
    msg = proto_msg_test_message (PROTO_MSG_SERIES, 1, data);
    proto_msg_set_feature (msg, PROTO_FEATURE_DURATIONS);
    s_test_encode_fails (msg, "SERIES: peers_capped[0]: 0 is of feature 2, not peers", verbose);
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
s_test_sockets (proto_msg_test_data_t *data, bool verbose)
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
    proto_msg_t *msg = proto_msg_test_message (PROTO_MSG_PART, 2, data);
    assert (proto_msg_send (&msg, dealer) == 0 && !msg);
    proto_msg_t *request = proto_msg_recv (router);
    assert (request && proto_msg_routing_id (request));
    proto_msg_test_assert_message (request, PROTO_MSG_PART, 2, data);
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
    msg = proto_msg_test_message (PROTO_MSG_HELLO, 0, data);
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
s_test_large_part (proto_msg_test_data_t *data, bool verbose)
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
    proto_msg_test_data_t *data =
        (proto_msg_test_data_t *) zmalloc (sizeof (proto_msg_test_data_t));
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
    proto_msg_test_malformed (data, verbose);
    s_test_sockets (data, verbose);
    s_test_large_part (data, verbose);
    free (data);
    printf ("OK\n");
}
