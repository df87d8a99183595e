/*  proto_msg_test.h - what the two halves of proto_msg's selftest share (private).

    proto_msg_test.c builds messages in three variants and round-trips them;
    proto_msg_test_malformed.c edits their encodings into the malformed corpus.
*/
#ifndef PROTO_MSG_TEST_H_INCLUDED
#define PROTO_MSG_TEST_H_INCLUDED

#include "proto/proto_msg_codec.h"

#define PROTO_MSG_TEST_VARIANTS 3      //  Smallest, typical, largest
#define PROTO_MSG_TEST_COLUMNS_MAX 16  //  More than any entry's columns
#define PROTO_MSG_TEST_ENTRIES 10      //  List entries of the largest variant

typedef struct {
    char letters[PROTO_PATH_MAX + 1];                         //  Letters; suffixes are strings
    char keys[PROTO_STATS_MAX][PROTO_MSG_STATS_KEY_MAX + 1];  //  Distinct longest stats keys
    uint8_t peers[PROTO_PEERS_CAP * PROTO_ADDR_SIZE];         //  Ascending peer addresses
    uint8_t sketch[PROTO_SKETCH_REGISTERS];                   //  Sketch registers
} proto_msg_test_data_t;

//  A string of size letters (borrowed from data).
const char *proto_msg_test_text (proto_msg_test_data_t *data, uint64_t size);

//  A message of id with every field of the variant set.
proto_msg_t *proto_msg_test_message (proto_msg_id_t id, int variant, proto_msg_test_data_t *data);

//  Asserts that msg holds every field of the variant.
void proto_msg_test_assert_message (proto_msg_t *msg, proto_msg_id_t id, int variant,
                                    proto_msg_test_data_t *data);

//  The malformed corpus: every key of each wrong type, values past each limit, broken
//  envelopes, unknown keys, raw bytes (proto_msg_test_malformed.c).
void proto_msg_test_malformed (proto_msg_test_data_t *data, bool verbose);

#endif
