/*  fuzz_msg.c - libFuzzer target for the message decoder, proto_msg_decode.

    Every input is decoded.  A malformed one must come back as -2 with a reason and no
    message.  A message that decodes is read through every getter (so that ASan sees any
    pointer into a freed frame), encoded again (which must succeed: the decoder accepts
    only what the encoder can write), decoded again (which must succeed) and encoded a
    third time, which must give the same bytes as the second.

        make build/fuzz/fuzz_msg
        build/fuzz/fuzz_msg -max_total_time=120 tests/fuzz/corpus_msg

    The seeds in tests/fuzz/corpus_msg/ are the encodings of every message id (smallest
    and typical values) that the selftest writes when PROTO_MSG_CORPUS names a folder:
        PROTO_MSG_CORPUS=tests/fuzz/corpus_msg bin/selftest -t proto_msg
*/
#include "proto/proto_msg.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  --------------------------------------------------------------------------
//  Reads every field and entry of msg; returns a checksum so nothing is optimised away
static uint64_t
s_touch (proto_msg_t *msg)
{
    uint64_t sum = proto_msg_request_id (msg) + proto_msg_epoch (msg) + proto_msg_day (msg) +
                   proto_msg_port (msg) + proto_msg_code (msg) + proto_msg_count (msg) +
                   (uint64_t) proto_msg_block (msg) + (uint64_t) proto_msg_first_seen (msg);
    const char *strings[] = {proto_msg_role (msg),     proto_msg_name (msg),
                             proto_msg_endpoint (msg), proto_msg_spool (msg),
                             proto_msg_source (msg),   proto_msg_file (msg),
                             proto_msg_text (msg)};
    for (size_t index = 0; index < sizeof strings / sizeof strings[0]; index++)
        sum += strlen (strings[index]);
    for (size_t index = 0; index < proto_msg_stats_count (msg); index++) {
        const char *key;
        int64_t value;
        proto_msg_stats_at (msg, index, &key, &value);
        sum += strlen (key) + (uint64_t) value;
    }
    if (proto_msg_slots (msg))
        sum += proto_msg_slots (msg)[PROTO_SLOT_COUNT - 1];
    for (size_t index = 0; index < proto_msg_peers_count (msg); index++) {
        proto_peer_t peer;
        proto_msg_peers_at (msg, index, &peer);
        sum += strlen (peer.role) + strlen (peer.name) + strlen (peer.endpoint) +
               strlen (peer.spool) + strlen (peer.state) + peer.stat_count;
        for (size_t stat = 0; stat < peer.stat_count; stat++)
            sum += strlen (peer.stat_keys[stat]);
    }
    for (size_t index = 0; index < proto_msg_pairs_count (msg); index++) {
        proto_pair_t pair;
        proto_msg_pairs_at (msg, index, &pair);
        for (size_t byte = 0; byte < pair.peers_size; byte++)
            sum += pair.peers[byte];
    }
    for (size_t index = 0; index < proto_msg_annotations_count (msg); index++) {
        proto_annotation_t annotation;
        proto_msg_annotations_at (msg, index, &annotation);
        sum += strlen (annotation.rrname) + strlen (annotation.rrtype);
    }
    sum += proto_msg_top_count (msg) + proto_msg_points_count (msg) + proto_msg_ports_count (msg) +
           proto_msg_days_count (msg);
    return sum;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    proto_msg_t *msg = NULL;
    char error[256] = "";
    if (proto_msg_decode (data, size, &msg, error, sizeof error) != 0) {
        assert (!msg && *error);
        return 0;
    }
    volatile uint64_t sum = s_touch (msg);
    (void) sum;
    zframe_t *frame = proto_msg_encode (msg);
    assert (frame);
    proto_msg_t *copy = NULL;
    int rc =
        proto_msg_decode (zframe_data (frame), zframe_size (frame), &copy, error, sizeof error);
    assert (rc == 0);
    assert (proto_msg_id (copy) == proto_msg_id (msg));
    zframe_t *again = proto_msg_encode (copy);
    assert (again && zframe_eq (frame, again));
    zframe_destroy (&again);
    zframe_destroy (&frame);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
    return 0;
}
