/*  proto_answer_test.c - the selftest of proto_answer (kept apart: proto_answer.c is
    the class, this file its table of hand-computed answers).
*/
#include "proto/proto_answer.h"
#include "proto/proto_json.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Selftest

typedef struct {
    uint16_t port;         //  Destination port
    uint8_t feature;       //  proto_feature_t (or an unknown one)
    const char *ip;        //  Host
    uint64_t score;        //  Daily score
    uint32_t annotations;  //  Annotation count
    bool peers_capped;     //  Peers reached the cap
} s_top_case_t;

static proto_msg_t *
s_test_top_reply (uint32_t day, proto_op_t op, const s_top_case_t *cases, size_t count)
{
    proto_msg_t *reply = proto_msg_new (PROTO_MSG_TOP);
    proto_msg_set_day (reply, day);
    proto_msg_set_op (reply, (uint8_t) op);
    for (size_t index = 0; index < count; index++) {
        proto_top_t entry = {.port = cases[index].port,
                             .feature = cases[index].feature,
                             .score = cases[index].score,
                             .annotations = cases[index].annotations,
                             .peers_capped = cases[index].peers_capped};
        int rc = proto_addr_parse (&entry.addr, cases[index].ip);
        assert (rc == 0);
        proto_msg_top_append (reply, &entry);
    }
    return reply;
}

static void
s_test_expect (proto_answer_t *answer, const char *expected, bool verbose)
{
    char *json = proto_answer_json (answer);
    if (verbose || strcmp (json, expected) != 0)
        printf ("\n   got:  %s\n   want: %s\n", json, expected);
    assert (strcmp (json, expected) == 0);
    free (json);
}

static void
s_test_top (bool verbose)
{
    uint32_t day;
    int rc = proto_day_parse ("2026-11-20", &day);
    assert (rc == 0);
    //  Three shards' TOP replies, each sorted as a shard sends them; 13 entries for
    //  (25, bytes) of which ten survive, with ties at 500 and at 40 broken by address
    //  (IPv4, being v4-mapped, sorts before 2001:db8::/32).
    static const s_top_case_t shard0[] = {{25, PROTO_FEATURE_BYTES, "10.0.0.5", 900, 2, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.1", 500, 0, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.7", 40, 0, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.8", 30, 0, false},
                                          {22, PROTO_FEATURE_PEERS, "10.0.0.8", 5012, 0, true},
                                          {22, PROTO_FEATURE_PEERS, "10.0.0.5", 4095, 0, false},
                                          {25, 7, "10.0.0.99", 99999, 0, false}};  //  Bad feature
    static const s_top_case_t shard1[] = {{25, PROTO_FEATURE_BYTES, "10.0.0.2", 500, 0, false},
                                          {25, PROTO_FEATURE_BYTES, "2001:db8::1", 500, 1, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.9", 60, 0, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.10", 40, 0, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.11", 20, 0, false},
                                          {80, PROTO_FEATURE_PACKETS, "2001:db8::2", 3, 0, false}};
    static const s_top_case_t shard2[] = {{25, PROTO_FEATURE_BYTES, "10.0.0.3", 500, 0, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.4", 40, 0, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.12", 40, 0, false},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.13", 10, 0, false},
                                          {22, PROTO_FEATURE_PEERS, "10.0.0.1", 4096, 0, true}};
    const char *expected =
        "{\"date\":\"2026-11-20\",\"op\":\"max\",\"ports\":["
        "{\"port\":22,\"service\":\"SSH\",\"features\":{\"bytes\":[],\"packets\":[],"
        "\"durations\":[],\"peers\":["
        "{\"ip\":\"10.0.0.8\",\"score\":5012,\"annotations\":0,\"peers_capped\":true},"
        "{\"ip\":\"10.0.0.1\",\"score\":4096,\"annotations\":0,\"peers_capped\":true},"
        "{\"ip\":\"10.0.0.5\",\"score\":4095,\"annotations\":0,\"peers_capped\":false}]}},"
        "{\"port\":25,\"service\":\"SMTP\",\"features\":{\"bytes\":["
        "{\"ip\":\"10.0.0.5\",\"score\":900,\"annotations\":2},"
        "{\"ip\":\"10.0.0.1\",\"score\":500,\"annotations\":0},"
        "{\"ip\":\"10.0.0.2\",\"score\":500,\"annotations\":0},"
        "{\"ip\":\"10.0.0.3\",\"score\":500,\"annotations\":0},"
        "{\"ip\":\"2001:db8::1\",\"score\":500,\"annotations\":1},"
        "{\"ip\":\"10.0.0.9\",\"score\":60,\"annotations\":0},"
        "{\"ip\":\"10.0.0.4\",\"score\":40,\"annotations\":0},"
        "{\"ip\":\"10.0.0.7\",\"score\":40,\"annotations\":0},"
        "{\"ip\":\"10.0.0.10\",\"score\":40,\"annotations\":0},"
        "{\"ip\":\"10.0.0.12\",\"score\":40,\"annotations\":0}],"
        "\"packets\":[],\"durations\":[],\"peers\":[]}},"
        "{\"port\":80,\"service\":\"Web\",\"features\":{\"bytes\":[],"
        "\"packets\":[{\"ip\":\"2001:db8::2\",\"score\":3,\"annotations\":0}],"
        "\"durations\":[],\"peers\":[]}}],"
        "\"missing_shards\":[\"shard-3\"]}";
    proto_msg_t *replies[3] = {
        s_test_top_reply (day, PROTO_OP_MAX, shard0, sizeof shard0 / sizeof shard0[0]),
        s_test_top_reply (day, PROTO_OP_MAX, shard1, sizeof shard1 / sizeof shard1[0]),
        s_test_top_reply (day, PROTO_OP_MAX, shard2, sizeof shard2 / sizeof shard2[0])};
    proto_msg_t *error = proto_msg_new (PROTO_MSG_ERROR);
    proto_msg_t *wrong_day = s_test_top_reply (day + 1, PROTO_OP_MAX, shard0, 1);

    //  The merge does not depend on the order the replies arrive in
    static const size_t orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}};
    for (size_t order = 0; order < 3; order++) {
        proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_TOP);
        proto_answer_set_day (answer, day);
        proto_answer_set_op (answer, PROTO_OP_MAX);
        for (size_t index = 0; index < 3; index++) {
            rc = proto_answer_merge (answer, replies[orders[order][index]]);
            assert (rc == 0);
        }
        assert (proto_answer_merge (answer, error) == -1);  //  shard-3 sent an ERROR
        assert (proto_answer_merge (answer, wrong_day) == -1);
        proto_answer_add_missing (answer, "shard-3");
        assert (proto_answer_replies (answer) == 3);
        assert (proto_answer_missing_count (answer) == 1);
        assert (streq (proto_answer_missing_at (answer, 0), "shard-3"));
        s_test_expect (answer, expected, verbose);
        assert (proto_answer_port_count (answer) == 3);
        assert (proto_answer_port_at (answer, 1) == 25);
        assert (proto_answer_top_count (answer, 1, PROTO_FEATURE_BYTES) == 10);
        assert (proto_answer_top_at (answer, 1, PROTO_FEATURE_BYTES, 9)->score == 40);
        assert (proto_answer_top_count (answer, 0, PROTO_FEATURE_BYTES) == 0);
        assert (proto_answer_top_at (answer, 0, PROTO_FEATURE_PEERS, 0)->peers_capped);
        assert (!proto_answer_top_at (answer, 0, PROTO_FEATURE_PEERS, 2)->peers_capped);
        proto_answer_destroy (&answer);
    }

    //  One port asked: only it is listed, even when no shard has entries for it
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_TOP);
    proto_answer_set_day (answer, day);
    proto_answer_set_op (answer, PROTO_OP_MAX);
    proto_answer_set_port (answer, 443);
    rc = proto_answer_merge (answer, replies[0]);
    assert (rc == 0);
    s_test_expect (answer,
                   "{\"date\":\"2026-11-20\",\"op\":\"max\",\"ports\":[{\"port\":443,"
                   "\"service\":\"\",\"features\":{\"bytes\":[],\"packets\":[],"
                   "\"durations\":[],\"peers\":[]}}],\"missing_shards\":[]}",
                   verbose);
    proto_answer_destroy (&answer);

    for (size_t index = 0; index < 3; index++)
        proto_msg_destroy (&replies[index]);
    proto_msg_destroy (&error);
    proto_msg_destroy (&wrong_day);
}

static void
s_test_series (bool verbose)
{
    uint32_t day;
    int rc = proto_day_parse ("2026-11-20", &day);
    assert (rc == 0);
    proto_addr_t host;
    rc = proto_addr_parse (&host, "10.0.0.1");
    assert (rc == 0);
    proto_msg_t *reply = proto_msg_new (PROTO_MSG_SERIES);
    proto_msg_set_host (reply, &host);
    proto_msg_set_feature (reply, PROTO_FEATURE_BYTES);
    proto_msg_set_op (reply, PROTO_OP_SUM);
    const proto_point_t points[] = {{25, day + 1, 9, false},
                                    {22, day + 1, 5, false},
                                    {25, day, 7, false},
                                    {25, 4000000, 1, false}};  //  After 9999: dropped
    for (size_t index = 0; index < sizeof points / sizeof points[0]; index++)
        proto_msg_points_append (reply, &points[index]);

    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_SERIES);
    proto_answer_set_host (answer, &host);
    proto_answer_set_feature (answer, PROTO_FEATURE_BYTES);
    proto_answer_set_op (answer, PROTO_OP_SUM);
    rc = proto_answer_merge (answer, reply);
    assert (rc == 0);
    s_test_expect (answer,
                   "{\"host\":\"10.0.0.1\",\"feature\":\"bytes\",\"op\":\"sum\",\"series\":["
                   "{\"port\":22,\"points\":[[\"2026-11-21\",5]]},"
                   "{\"port\":25,\"points\":[[\"2026-11-20\",7],[\"2026-11-21\",9]]}],"
                   "\"missing_shards\":[]}",
                   verbose);
    assert (proto_answer_point_count (answer, 1) == 2);
    assert (proto_answer_feature (answer) == PROTO_FEATURE_BYTES);
    assert (proto_answer_point_at (answer, 1, 1)->score == 9);
    proto_answer_destroy (&answer);

    //  Another feature echoed: refused.  One port asked: listed even when empty.
    answer = proto_answer_new (PROTO_ANSWER_SERIES);
    proto_answer_set_host (answer, &host);
    proto_answer_set_feature (answer, PROTO_FEATURE_PEERS);
    proto_answer_set_op (answer, PROTO_OP_SUM);
    proto_answer_set_port (answer, 443);
    assert (proto_answer_merge (answer, reply) == -1);
    proto_msg_t *empty = proto_msg_new (PROTO_MSG_SERIES);
    proto_msg_set_host (empty, &host);
    proto_msg_set_feature (empty, PROTO_FEATURE_PEERS);
    assert (proto_answer_merge (answer, empty) == 0);
    proto_msg_destroy (&empty);
    proto_answer_add_missing (answer, "shard-1");
    s_test_expect (answer,
                   "{\"host\":\"10.0.0.1\",\"feature\":\"peers\",\"op\":\"sum\",\"series\":["
                   "{\"port\":443,\"points\":[],\"peers_capped\":[]}],"
                   "\"missing_shards\":[\"shard-1\"]}",
                   verbose);
    proto_answer_destroy (&answer);
    proto_msg_destroy (&reply);

    //  Peers: the flags ride with their points through the sort, beside the points
    reply = proto_msg_new (PROTO_MSG_SERIES);
    proto_msg_set_host (reply, &host);
    proto_msg_set_feature (reply, PROTO_FEATURE_PEERS);
    proto_msg_set_op (reply, PROTO_OP_MAX);
    const proto_point_t peers[] = {{22, day + 2, 4095, false},
                                   {22, day + 1, 5012, true},
                                   {22, day, 4096, true},
                                   {80, day, 3, false}};
    for (size_t index = 0; index < sizeof peers / sizeof peers[0]; index++)
        proto_msg_points_append (reply, &peers[index]);
    answer = proto_answer_new (PROTO_ANSWER_SERIES);
    proto_answer_set_host (answer, &host);
    proto_answer_set_feature (answer, PROTO_FEATURE_PEERS);
    proto_answer_set_op (answer, PROTO_OP_MAX);
    assert (proto_answer_merge (answer, reply) == 0);
    s_test_expect (answer,
                   "{\"host\":\"10.0.0.1\",\"feature\":\"peers\",\"op\":\"max\",\"series\":["
                   "{\"port\":22,\"points\":[[\"2026-11-20\",4096],[\"2026-11-21\",5012],"
                   "[\"2026-11-22\",4095]],\"peers_capped\":[true,true,false]},"
                   "{\"port\":80,\"points\":[[\"2026-11-20\",3]],\"peers_capped\":[false]}],"
                   "\"missing_shards\":[]}",
                   verbose);
    assert (proto_answer_point_at (answer, 0, 1)->peers_capped);
    assert (!proto_answer_point_at (answer, 0, 2)->peers_capped);
    proto_answer_destroy (&answer);
    proto_msg_destroy (&reply);
}

static void
s_test_host (bool verbose)
{
    proto_addr_t host;
    int rc = proto_addr_parse (&host, "2001:db8:0:0::1");
    assert (rc == 0);
    proto_msg_t *reply = proto_msg_new (PROTO_MSG_HOST);
    proto_msg_set_host (reply, &host);
    proto_msg_set_known (reply, true);
    proto_msg_set_first_seen (reply, 1795168800);  //  2026-11-20T10:00:00Z
    proto_msg_set_last_seen (reply, 1795255200);
    proto_msg_ports_append (reply, 80);
    proto_msg_ports_append (reply, 22);
    proto_msg_ports_append (reply, 80);
    proto_annotation_t annotation = {host, "<img src=x onerror=alert(1)>", "PTR", 0, 1795168800};
    proto_msg_annotations_append (reply, &annotation);
    annotation.rrname = "mail.example.org";
    annotation.rrtype = "AAAA";
    annotation.last_seen = INT64_MAX;  //  Not printable: null
    proto_msg_annotations_append (reply, &annotation);

    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_HOST);
    proto_answer_set_host (answer, &host);
    rc = proto_answer_merge (answer, reply);
    assert (rc == 0);
    proto_msg_destroy (&reply);  //  The answer kept copies
    s_test_expect (answer,
                   "{\"ip\":\"2001:db8::1\",\"first_seen\":\"2026-11-20T10:00:00Z\","
                   "\"last_seen\":\"2026-11-21T10:00:00Z\",\"ports\":[22,80],"
                   "\"annotations\":[{\"rrname\":\"<img src=x onerror=alert(1)>\","
                   "\"rrtype\":\"PTR\",\"first_seen\":\"1970-01-01T00:00:00Z\","
                   "\"last_seen\":\"2026-11-20T10:00:00Z\"},"
                   "{\"rrname\":\"mail.example.org\",\"rrtype\":\"AAAA\","
                   "\"first_seen\":\"1970-01-01T00:00:00Z\",\"last_seen\":null}]}",
                   verbose);
    assert (proto_answer_known (answer));
    assert (proto_answer_first_seen (answer) == 1795168800);
    assert (proto_answer_last_seen (answer) == 1795255200);
    assert (proto_answer_port_count (answer) == 2);
    assert (proto_answer_port_at (answer, 1) == 80);
    assert (proto_answer_annotation_count (answer) == 2);
    assert (streq (proto_answer_annotation_at (answer, 1)->rrtype, "AAAA"));
    proto_answer_destroy (&answer);

    //  Unknown host: null times; a reply about another host is refused
    reply = proto_msg_new (PROTO_MSG_HOST);
    proto_msg_set_host (reply, &host);
    answer = proto_answer_new (PROTO_ANSWER_HOST);
    proto_answer_set_host (answer, &host);
    rc = proto_answer_merge (answer, reply);
    assert (rc == 0);
    s_test_expect (answer,
                   "{\"ip\":\"2001:db8::1\",\"first_seen\":null,\"last_seen\":null,"
                   "\"ports\":[],\"annotations\":[]}",
                   verbose);
    proto_addr_t other;
    rc = proto_addr_parse (&other, "10.0.0.1");
    assert (rc == 0);
    proto_msg_set_host (reply, &other);
    assert (proto_answer_merge (answer, reply) == -1);
    proto_answer_destroy (&answer);
    proto_msg_destroy (&reply);
}

static void
s_test_days (bool verbose)
{
    uint32_t day;
    int rc = proto_day_parse ("2026-11-20", &day);
    assert (rc == 0);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_DAYS);
    for (uint32_t shard = 0; shard < 2; shard++) {
        proto_msg_t *reply = proto_msg_new (PROTO_MSG_DAYS);
        proto_msg_days_append (reply, day + shard);  //  day, day + 2; day + 1, day + 2
        proto_msg_days_append (reply, day + 2);
        rc = proto_answer_merge (answer, reply);
        assert (rc == 0);
        proto_msg_destroy (&reply);
    }
    s_test_expect (answer, "{\"days\":[\"2026-11-20\",\"2026-11-21\",\"2026-11-22\"]}", verbose);
    assert (proto_answer_day_count (answer) == 3);
    assert (proto_answer_day_at (answer, 2) == day + 2);
    proto_answer_destroy (&answer);
    answer = proto_answer_new (PROTO_ANSWER_DAYS);
    s_test_expect (answer, "{\"days\":[]}", verbose);
    proto_answer_destroy (&answer);
    proto_answer_destroy (&answer);
}

//  Others: days in range and ascending kept, each day's first 5 ports, the rest skipped
static void
s_test_others (bool verbose)
{
    proto_addr_t host, other;
    int rc = proto_addr_parse (&host, "10.2.0.1");
    assert (rc == 0);
    rc = proto_addr_parse (&other, "10.2.0.2");
    assert (rc == 0);
    uint32_t day;
    rc = proto_day_parse ("2026-11-20", &day);
    assert (rc == 0);
    proto_msg_t *reply = proto_msg_new (PROTO_MSG_OTHERS);
    proto_msg_set_host (reply, &host);
    proto_other_t days[] = {{host, day - 5, 1, 1, 1, false},  //  before from: skipped
                            {host, day, 9000, 30, 8, true},
                            {other, day + 1, 5, 5, 5, false},  //  another host: skipped
                            {host, day + 1, 80, 1, 1, false}};
    for (size_t index = 0; index < 4; index++)
        proto_msg_others_append (reply, &days[index]);
    uint16_t ports[] = {443, 53, 6881, 993, 5222, 123, 25};
    for (size_t index = 0; index < 7; index++) {
        proto_other_port_t port = {host, day, ports[index], 1000 - index, 1, 1};
        proto_msg_other_ports_append (reply, &port);
    }
    proto_other_port_t last = {host, day + 1, 53, 80, 1, 1};
    proto_msg_other_ports_append (reply, &last);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_OTHERS);
    proto_answer_set_host (answer, &host);
    proto_answer_set_range (answer, day - 1, day + 1);
    assert (proto_answer_merge (answer, reply) == 0);
    assert (proto_answer_other_count (answer) == 2);
    assert (proto_answer_other_at (answer, 0)->day == day);
    assert (proto_answer_other_port_count (answer, 0) == PROTO_ANSWER_OTHERS_TOP);
    assert (proto_answer_other_port_at (answer, 0, 4)->port == 5222);
    assert (proto_answer_other_port_at (answer, 1, 0)->bytes == 80);
    s_test_expect (
        answer,
        "{\"ip\":\"10.2.0.1\",\"from\":\"2026-11-19\",\"to\":\"2026-11-21\",\"days\":["
        "{\"date\":\"2026-11-20\",\"bytes\":9000,\"packets\":30,\"flows\":8,\"truncated\":true,"
        "\"top_ports\":[{\"port\":443,\"service\":\"\",\"bytes\":1000,\"packets\":1,\"flows\":1},"
        "{\"port\":53,\"service\":\"\",\"bytes\":999,\"packets\":1,\"flows\":1},"
        "{\"port\":6881,\"service\":\"\",\"bytes\":998,\"packets\":1,\"flows\":1},"
        "{\"port\":993,\"service\":\"\",\"bytes\":997,\"packets\":1,\"flows\":1},"
        "{\"port\":5222,\"service\":\"\",\"bytes\":996,\"packets\":1,\"flows\":1}]},"
        "{\"date\":\"2026-11-21\",\"bytes\":80,\"packets\":1,\"flows\":1,\"truncated\":false,"
        "\"top_ports\":[{\"port\":53,\"service\":\"\",\"bytes\":80,\"packets\":1,\"flows\":1}]}],"
        "\"missing_shards\":[]}",
        verbose);
    //  A reply about another host is refused
    proto_msg_set_host (reply, &other);
    assert (proto_answer_merge (answer, reply) == -1);
    proto_msg_destroy (&reply);
    proto_answer_destroy (&answer);
}

void
proto_answer_test (bool verbose)
{
    printf (" * proto_answer: ");
    s_test_top (verbose);
    s_test_series (verbose);
    s_test_host (verbose);
    s_test_days (verbose);
    s_test_others (verbose);
    char *error = proto_answer_error_json ("bad \"date\": 2026-02-30");
    assert (streq (error, "{\"error\":\"bad \\\"date\\\": 2026-02-30\"}"));
    free (error);
    printf ("OK\n");
}
