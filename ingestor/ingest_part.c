/*  ingest_part.c - split an aggregate into per-shard PART frames (see ingest_part.h).

    The owner shard of each pair is computed once; then one shard's message is built,
    encoded and dropped at a time, so that at most one decoded part sits beside the
    aggregate and the frames already made.
*/
#include "ingestor/ingest_part.h"
#include "proto/proto_msg.h"

#include <assert.h>

//  --------------------------------------------------------------------------
//  The owner shard of each pair of agg, into a new array (at least one entry).

static uint16_t *
s_owners (ingest_agg_t *agg, const ingest_part_info_t *info)
{
    size_t count = ingest_agg_size (agg);
    uint16_t *owners = (uint16_t *) malloc ((count ? count : 1) * sizeof (uint16_t));
    assert (owners);
    for (size_t index = 0; index < count; index++) {
        owners[index] = info->slots[proto_shard_slot (ingest_agg_pair_addr (agg, index))];
        assert (owners[index] < info->shard_count);
    }
    return owners;
}

//  --------------------------------------------------------------------------
//  Append the pairs of agg that shard owns to part (direction in: to pairs_in).
//  Returns how many.

static size_t
s_append_pairs (proto_msg_t *part, ingest_agg_t *agg, const uint16_t *owners, size_t shard,
                bool incoming, proto_addr_t *peers)
{
    size_t pairs = 0;
    for (size_t index = 0; index < ingest_agg_size (agg); index++) {
        if (owners[index] != shard)
            continue;
        ingest_pair_t pair;
        const uint8_t *sketch;
        size_t peer_count = ingest_agg_pair_at (agg, index, &pair, peers, &sketch);
        proto_pair_t entry = {.addr = pair.addr,
                              .port = pair.port,
                              .bytes = pair.values.value[PROTO_FEATURE_BYTES],
                              .packets = pair.values.value[PROTO_FEATURE_PACKETS],
                              .durations = pair.values.value[PROTO_FEATURE_DURATIONS],
                              .peers_kind = sketch ? PROTO_PEERS_SKETCH : PROTO_PEERS_EXACT,
                              .peers = sketch ? sketch : (const uint8_t *) peers,
                              .peers_size =
                                  sketch ? PROTO_SKETCH_REGISTERS : peer_count * PROTO_ADDR_SIZE};
        if (incoming)
            proto_msg_pairs_in_append (part, &entry);
        else
            proto_msg_pairs_append (part, &entry);
        pairs++;
    }
    return pairs;
}

//  --------------------------------------------------------------------------
int
ingest_part_split (ingest_agg_t *agg, const ingest_part_info_t *info, zframe_t **frames,
                   size_t *pair_counts, char *error, size_t error_size)
{
    assert (agg);
    assert (info);
    assert (info->source && info->file && info->slots);
    assert (info->shard_count > 0);
    assert (frames);
    assert (error);
    ingest_agg_t *incoming = ingest_agg_incoming (agg);
    uint16_t *owners = s_owners (agg, info);
    uint16_t *owners_in = s_owners (incoming, info);
    proto_addr_t *peers = (proto_addr_t *) malloc (PROTO_PEERS_CAP * sizeof (proto_addr_t));
    assert (peers);
    int rc = 0;
    size_t shard = 0;
    for (; shard < info->shard_count && rc == 0; shard++) {
        proto_msg_t *part = proto_msg_new (PROTO_MSG_PART);
        proto_msg_set_request_id (part, info->request_id);
        proto_msg_set_source (part, info->source);
        proto_msg_set_file (part, info->file);
        proto_msg_set_block (part, info->block);
        size_t pairs = s_append_pairs (part, agg, owners, shard, false, peers) +
                       s_append_pairs (part, incoming, owners_in, shard, true, peers);
        ingest_others_append_part (ingest_agg_others (agg), part, info->slots, shard,
                                   proto_day_of (info->block));
        frames[shard] = proto_msg_encode (part);
        proto_msg_destroy (&part);
        if (pair_counts)
            pair_counts[shard] = pairs;
        if (!frames[shard]) {
            snprintf (error, error_size,
                      "the part for shard %zu does not encode (name or path too long?)", shard);
            rc = -1;
        }
        else if ((long long) zframe_size (frames[shard]) > PROTO_FRAME_MAX) {
            snprintf (error, error_size,
                      "the part for shard %zu is %zu bytes, over the %lld "
                      "bytes a frame may have",
                      shard, zframe_size (frames[shard]), (long long) PROTO_FRAME_MAX);
            zframe_destroy (&frames[shard]);
            rc = -1;
        }
    }
    if (rc)
        for (size_t done = 0; done < shard; done++)
            zframe_destroy (&frames[done]);
    free (peers);
    free (owners_in);
    free (owners);
    return rc;
}

//  --------------------------------------------------------------------------
//  Selftest

void
ingest_part_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_part: ");
    //  An aggregate with many sources, a pair past the cap, an IPv6 pair, one zero flow
    ingest_agg_t *agg = ingest_agg_new ();
    proto_addr_t src, dst;
    for (uint32_t host = 0; host < 500; host++) {
        proto_addr_from_ipv4 (&src, 0x0a000000 + host);
        for (uint32_t peer = 0; peer < host % 7; peer++) {
            proto_addr_from_ipv4 (&dst, 0xc0000200 + peer);
            ingest_agg_add (agg, &src, (uint16_t) (host % 3 ? 25 : 22), &dst, host + 1, 1, peer);
        }
    }
    proto_addr_parse (&src, "2001:db8::1");
    for (uint32_t peer = 0; peer < PROTO_PEERS_CAP + 10; peer++) {
        proto_addr_from_ipv4 (&dst, 0xc6330000 + peer);
        ingest_agg_add (agg, &src, 80, &dst, 1, 1, 1);
    }
    ingest_agg_add (agg, &src, 445, &dst, 0, 0, 0);
    //  The in direction: destinations as hosts, sources as peers
    for (uint32_t host = 0; host < 60; host++) {
        proto_addr_from_ipv4 (&dst, 0x0a010000 + host);
        proto_addr_from_ipv4 (&src, 0xcb007100 + host % 5);
        ingest_agg_add (ingest_agg_incoming (agg), &dst, 9001, &src, host, 1, 1);
    }
    size_t total_in = ingest_agg_incoming_size (agg);
    assert (total_in == 60);
    size_t total = ingest_agg_size (agg);
    ingest_pair_t *expected = ingest_agg_pairs (agg);

    //  Three shards, slot s -> s mod 3
    uint16_t slots[PROTO_SLOT_COUNT];
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        slots[slot] = (uint16_t) (slot % 3);
    ingest_part_info_t info = {"router1", "2026/11/20/nfcapd.202611201000", 1795168800, 42, slots,
                               3};
    zframe_t *frames[3];
    size_t pair_counts[3];
    char error[256];
    assert (ingest_part_split (agg, &info, frames, pair_counts, error, sizeof error) == 0);

    //  Every pair lands in exactly one part, on the shard of its slot, and the union of
    //  the parts is the aggregate (values and peers)
    size_t seen = 0, seen_in = 0;
    bool *found = (bool *) calloc (total, sizeof (bool));
    for (size_t shard = 0; shard < 3; shard++) {
        proto_msg_t *part = NULL;
        assert (proto_msg_decode (zframe_data (frames[shard]), zframe_size (frames[shard]), &part,
                                  error, sizeof error) == 0);
        assert (proto_msg_id (part) == PROTO_MSG_PART);
        assert (streq (proto_msg_source (part), "router1"));
        assert (streq (proto_msg_file (part), info.file));
        assert (proto_msg_block (part) == info.block);
        assert (proto_msg_request_id (part) == 42);
        assert (proto_msg_pairs_count (part) + proto_msg_pairs_in_count (part) ==
                pair_counts[shard]);
        for (size_t index = 0; index < proto_msg_pairs_in_count (part); index++) {
            proto_pair_t pair;
            proto_msg_pairs_in_at (part, index, &pair);
            assert (slots[proto_shard_slot (&pair.addr)] == shard);
            assert (pair.port == 9001 && pair.peers_size == PROTO_ADDR_SIZE);
            assert (pair.bytes == (pair.addr.bytes[15] | (uint64_t) pair.addr.bytes[14] << 8));
            seen_in++;
        }
        for (size_t index = 0; index < proto_msg_pairs_count (part); index++) {
            proto_pair_t pair;
            proto_msg_pairs_at (part, index, &pair);
            assert (slots[proto_shard_slot (&pair.addr)] == shard);
            size_t at = 0;
            while (at < total && (expected[at].port != pair.port ||
                                  proto_addr_compare (&expected[at].addr, &pair.addr)))
                at++;
            assert (at < total && !found[at]);
            found[at] = true;
            const proto_values_t *values = &expected[at].values;
            assert (pair.bytes == values->value[PROTO_FEATURE_BYTES]);
            assert (pair.packets == values->value[PROTO_FEATURE_PACKETS]);
            assert (pair.durations == values->value[PROTO_FEATURE_DURATIONS]);
            if (pair.peers_kind == PROTO_PEERS_SKETCH) {
                assert (pair.peers_size == PROTO_SKETCH_REGISTERS);
                uint64_t estimate = proto_sketch_estimate (pair.peers);
                assert (pair.port == 80 && estimate > 0.95 * PROTO_PEERS_CAP);
            }
            else {
                assert (pair.peers_kind == PROTO_PEERS_EXACT);
                assert (pair.peers_size == values->value[PROTO_FEATURE_PEERS] * PROTO_ADDR_SIZE);
                for (size_t peer = 1; peer < pair.peers_size / PROTO_ADDR_SIZE; peer++)
                    assert (memcmp (pair.peers + (peer - 1) * PROTO_ADDR_SIZE,
                                    pair.peers + peer * PROTO_ADDR_SIZE, PROTO_ADDR_SIZE) < 0);
            }
            seen++;
        }
        proto_msg_destroy (&part);
        zframe_destroy (&frames[shard]);
    }
    assert (seen == total && seen_in == total_in);
    free (found);

    //  An empty aggregate still gives every shard a part; one shard owning every slot
    ingest_agg_t *empty = ingest_agg_new ();
    assert (ingest_part_split (empty, &info, frames, NULL, error, sizeof error) == 0);
    for (size_t shard = 0; shard < 3; shard++) {
        proto_msg_t *part = NULL;
        assert (proto_msg_decode (zframe_data (frames[shard]), zframe_size (frames[shard]), &part,
                                  error, sizeof error) == 0);
        assert (proto_msg_pairs_count (part) == 0);
        proto_msg_destroy (&part);
        zframe_destroy (&frames[shard]);
    }
    memset (slots, 0, sizeof slots);
    info.shard_count = 1;
    assert (ingest_part_split (agg, &info, frames, pair_counts, error, sizeof error) == 0);
    assert (pair_counts[0] == total + total_in);
    zframe_destroy (&frames[0]);

    //  A name the protocol does not allow: no frames, an error
    char long_name[PROTO_NAME_MAX + 2];
    memset (long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    info.source = long_name;
    zsys_set_logstream (NULL);
    assert (ingest_part_split (empty, &info, frames, NULL, error, sizeof error) == -1);
    zsys_set_logstream (stdout);
    assert (strstr (error, "does not encode"));
    ingest_agg_destroy (&empty);
    free (expected);
    ingest_agg_destroy (&agg);
    printf ("OK\n");
}
