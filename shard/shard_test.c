/*  shard_test.c - the selftest of shard.c (shard_test, declared in shard.h): the server as
    an actor against a fake broker ROUTER and a client DEALER, in its own file so that
    shard.c stays one job (the server loop).
*/
#include "shard/shard.h"

#include <assert.h>
#include <string.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Selftest: the server as an actor against a fake broker ROUTER and a client DEALER
//  over tcp://127.0.0.1:*.

//  Receive from sock, skipping (and acknowledging, on the broker) HEARTBEATs, until a
//  message of id arrives; asserts on a 5 s timeout.
static proto_msg_t *
s_test_expect (zsock_t *sock, proto_msg_id_t id)
{
    while (true) {
        proto_msg_t *msg = proto_msg_recv (sock);
        assert (msg);
        if (proto_msg_id (msg) == id)
            return msg;
        assert (proto_msg_id (msg) == PROTO_MSG_HEARTBEAT);
        proto_msg_t *ack = proto_msg_reply (msg, PROTO_MSG_HEARTBEAT_ACK);
        proto_msg_set_epoch (ack, 7);
        proto_msg_send (&ack, sock);
        proto_msg_destroy (&msg);
    }
}

//  Send request on client, return the reply (asserting its request id)
static proto_msg_t *
s_test_request (zsock_t *client, proto_msg_t **request_p)
{
    static uint64_t request_id = 100;
    proto_msg_set_request_id (*request_p, ++request_id);
    assert (proto_msg_send (request_p, client) == 0);
    proto_msg_t *reply = proto_msg_recv (client);
    assert (reply);
    assert (proto_msg_request_id (reply) == request_id);
    return reply;
}

//  The all-ports packets max series of host over day +- 10
static proto_msg_t *
s_test_series (zsock_t *client, const proto_addr_t *host, uint32_t day)
{
    proto_msg_t *request = proto_msg_new (PROTO_MSG_SERIES_REQUEST);
    proto_msg_set_host (request, host);
    proto_msg_set_port (request, PROTO_PORT_ALL);
    proto_msg_set_feature (request, PROTO_FEATURE_PACKETS);
    proto_msg_set_op (request, PROTO_OP_MAX);
    proto_msg_set_from (request, day - 10);
    proto_msg_set_to (request, day + 10);
    return s_test_request (client, &request);
}

static proto_msg_t *
s_test_part (const char *file, int64_t block, const char *host, uint64_t bytes)
{
    proto_msg_t *part = proto_msg_new (PROTO_MSG_PART);
    proto_msg_set_source (part, "ing-a");
    proto_msg_set_file (part, file);
    proto_msg_set_block (part, block);
    uint8_t peer[PROTO_ADDR_SIZE] = {0x20, 0x01, 0x0d, 0xb8};
    proto_pair_t pair = {.port = 25,
                         .bytes = bytes,
                         .packets = 2,
                         .durations = 3,
                         .peers_kind = PROTO_PEERS_EXACT,
                         .peers = peer,
                         .peers_size = sizeof peer};
    assert (proto_addr_parse (&pair.addr, host) == 0);
    proto_msg_pairs_append (part, &pair);
    return part;
}

static uint16_t
s_test_error (proto_msg_t **reply_p)
{
    assert (proto_msg_id (*reply_p) == PROTO_MSG_ERROR);
    uint16_t code = proto_msg_code (*reply_p);
    proto_msg_destroy (reply_p);
    return code;
}

void
shard_test (bool verbose)
{
    printf (" * shard: ");
    //  Expected failures log errors: keep them off the result line unless verbose
    if (!verbose)
        zsys_set_logstream (NULL);
    char dir[] = "/tmp/shard_test.XXXXXX";
    assert (mkdtemp (dir));
    zsock_t *broker = zsock_new (ZMQ_ROUTER);
    assert (broker);
    proto_msg_limit_socket (broker);
    zsock_set_rcvtimeo (broker, 5000);
    assert (zsock_bind (broker, "tcp://127.0.0.1:*") > 0);
    char *broker_endpoint = zsock_last_endpoint (broker);
    shard_config_t *config = shard_config_new ();
    shard_config_set (config, "name", "shard-0");
    shard_config_set (config, "endpoint", "tcp://127.0.0.1:*");
    shard_config_set (config, "data", dir);
    shard_config_set (config, "broker", broker_endpoint);
    shard_config_set (config, "mapsize-mb", "64");
    config->verbose = verbose;
    zactor_t *actor = zactor_new (shard_actor, config);
    char *endpoint = zstr_recv (actor);
    assert (endpoint && *endpoint);

    //  HELLO names our endpoint
    proto_msg_t *hello = s_test_expect (broker, PROTO_MSG_HELLO);
    assert (streq (proto_msg_role (hello), "shard") && streq (proto_msg_name (hello), "shard-0"));
    assert (streq (proto_msg_endpoint (hello), endpoint));
    zsock_t *client = zsock_new (ZMQ_DEALER);
    proto_msg_limit_socket (client);
    zsock_set_rcvtimeo (client, 5000);
    assert (zsock_connect (client, "%s", endpoint) == 0);

    //  No map yet: 503
    //  Yesterday: within retention whatever the clock says
    uint32_t day = proto_day_of (zclock_time () / 1000) - 1;
    int64_t block = (int64_t) day * 86400;
    proto_msg_t *part = s_test_part ("f1", block, "10.0.0.1", 100);
    proto_msg_t *reply = s_test_request (client, &part);
    assert (s_test_error (&reply) == PROTO_ERROR_UNAVAILABLE);

    //  WELCOME, MAP_REQUEST, MAP: every slot ours but 10.7.0.1's (shard-1's)
    proto_msg_t *welcome = proto_msg_reply (hello, PROTO_MSG_WELCOME);
    proto_msg_set_epoch (welcome, 7);
    proto_msg_send (&welcome, broker);
    proto_msg_t *map_request = s_test_expect (broker, PROTO_MSG_MAP_REQUEST);
    proto_msg_t *map = proto_msg_reply (map_request, PROTO_MSG_MAP);
    proto_msg_set_epoch (map, 7);
    uint16_t slots[PROTO_SLOT_COUNT] = {0};
    proto_addr_t other;
    assert (proto_addr_parse (&other, "10.7.0.1") == 0);
    slots[proto_shard_slot (&other)] = 1;
    proto_msg_set_slots (map, slots);
    proto_peer_t peers[] = {{.role = "shard", .name = "shard-0", .endpoint = endpoint},
                            {.role = "shard", .name = "shard-1", .endpoint = "tcp://x:1"},
                            {.role = "ingestor", .name = "ing-a", .endpoint = ""}};
    for (size_t index = 0; index < 3; index++) {
        peers[index].spool = peers[index].state = "";
        proto_msg_peers_append (map, &peers[index]);
    }
    proto_msg_send (&map, broker);
    proto_msg_destroy (&map_request);
    //  The map and the PART travel on different sockets: retry while 503
    for (int attempt = 0;; attempt++) {
        part = s_test_part ("f1", block, "10.0.0.1", 100);
        reply = s_test_request (client, &part);
        if (proto_msg_id (reply) == PROTO_MSG_PART_ACK)
            break;
        assert (s_test_error (&reply) == PROTO_ERROR_UNAVAILABLE && attempt < 50);
        zclock_sleep (50);
    }
    assert (!proto_msg_duplicate (reply) && proto_msg_block (reply) == block);
    assert (streq (proto_msg_source (reply), "ing-a") && streq (proto_msg_file (reply), "f1"));
    proto_msg_destroy (&reply);
    part = s_test_part ("f1", block, "10.0.0.1", 100);
    reply = s_test_request (client, &part);
    assert (proto_msg_id (reply) == PROTO_MSG_PART_ACK && proto_msg_duplicate (reply));
    proto_msg_destroy (&reply);
    //  Another shard's host: 409, for parts and host queries
    part = s_test_part ("f2", block, "10.7.0.1", 100);
    reply = s_test_request (client, &part);
    assert (s_test_error (&reply) == PROTO_ERROR_WRONG_SHARD);
    proto_msg_t *request = proto_msg_new (PROTO_MSG_HOST_REQUEST);
    proto_msg_set_host (request, &other);
    reply = s_test_request (client, &request);
    assert (s_test_error (&reply) == PROTO_ERROR_WRONG_SHARD);

    //  Queries
    request = proto_msg_new (PROTO_MSG_TOP_REQUEST);
    proto_msg_set_day (request, day);
    proto_msg_set_op (request, PROTO_OP_SUM);
    proto_msg_set_port (request, PROTO_PORT_ALL);
    reply = s_test_request (client, &request);
    assert (proto_msg_id (reply) == PROTO_MSG_TOP && proto_msg_top_count (reply) == 4);
    proto_top_t top;
    proto_msg_top_at (reply, 0, &top);
    assert (top.port == 25 && top.feature == PROTO_FEATURE_BYTES && top.score == 100);
    proto_msg_destroy (&reply);
    proto_addr_t host;
    assert (proto_addr_parse (&host, "10.0.0.1") == 0);
    reply = s_test_series (client, &host, day);
    assert (proto_msg_id (reply) == PROTO_MSG_SERIES && proto_msg_points_count (reply) == 1);
    proto_point_t point;
    proto_msg_points_at (reply, 0, &point);
    assert (point.port == 25 && point.day == day && point.score == 2);
    proto_msg_destroy (&reply);
    request = proto_msg_new (PROTO_MSG_ANNOTATE);
    proto_annotation_t note = {host, "mx.example", "PTR", 10, 20};
    proto_msg_annotations_append (request, &note);
    reply = s_test_request (client, &request);
    assert (proto_msg_id (reply) == PROTO_MSG_ANNOTATE_ACK && proto_msg_count (reply) == 1);
    proto_msg_destroy (&reply);
    request = proto_msg_new (PROTO_MSG_HOST_REQUEST);
    proto_msg_set_host (request, &host);
    reply = s_test_request (client, &request);
    assert (proto_msg_id (reply) == PROTO_MSG_HOST && proto_msg_known (reply));
    assert (proto_msg_first_seen (reply) == block && proto_msg_last_seen (reply) == block);
    assert (proto_msg_ports_count (reply) == 1 && proto_msg_ports_at (reply, 0) == 25);
    assert (proto_msg_annotations_count (reply) == 1);
    proto_msg_destroy (&reply);
    request = proto_msg_new (PROTO_MSG_DAYS_REQUEST);
    reply = s_test_request (client, &request);
    assert (proto_msg_days_count (reply) == 1 && proto_msg_days_at (reply, 0) == day);
    proto_msg_destroy (&reply);
    //  Bad arguments: 422
    request = proto_msg_new (PROTO_MSG_SERIES_REQUEST);
    proto_msg_set_host (request, &host);
    proto_msg_set_from (request, day);
    proto_msg_set_to (request, day - 1);
    reply = s_test_request (client, &request);
    assert (s_test_error (&reply) == PROTO_ERROR_INVALID);

    //  A map giving 10.0.0.1's and 10.0.0.2's slots away (a slot move's switch before its
    //  delete): series and host of 10.0.0.1, whose traffic is here, are still answered;
    //  10.0.0.2, unknown here, is refused once the map is applied.  Then the map back.
    proto_addr_t absent;
    assert (proto_addr_parse (&absent, "10.0.0.2") == 0);
    assert (proto_shard_slot (&absent) != proto_shard_slot (&host) &&
            proto_shard_slot (&other) != proto_shard_slot (&host) &&
            proto_shard_slot (&other) != proto_shard_slot (&absent));
    for (int given = 1; given >= 0; given--) {
        slots[proto_shard_slot (&host)] = slots[proto_shard_slot (&absent)] = (uint16_t) given;
        map = proto_msg_reply (hello, PROTO_MSG_MAP);
        proto_msg_set_epoch (map, 7);  //  The epoch the heartbeat acks say
        proto_msg_set_slots (map, slots);
        for (size_t index = 0; index < 3; index++)
            proto_msg_peers_append (map, &peers[index]);
        proto_msg_send (&map, broker);
        for (int attempt = 0;; attempt++) {
            request = proto_msg_new (PROTO_MSG_HOST_REQUEST);
            proto_msg_set_host (request, &absent);
            reply = s_test_request (client, &request);
            if ((proto_msg_id (reply) == PROTO_MSG_ERROR) == given)
                break;
            assert (attempt < 50);
            proto_msg_destroy (&reply);
            zclock_sleep (50);
        }
        if (given)
            assert (s_test_error (&reply) == PROTO_ERROR_WRONG_SHARD);
        else
            assert (proto_msg_id (reply) == PROTO_MSG_HOST && !proto_msg_known (reply));
        proto_msg_destroy (&reply);
        reply = s_test_series (client, &host, day);
        assert (proto_msg_id (reply) == PROTO_MSG_SERIES && proto_msg_points_count (reply) == 1);
        proto_msg_destroy (&reply);
        request = proto_msg_new (PROTO_MSG_HOST_REQUEST);
        proto_msg_set_host (request, &host);
        reply = s_test_request (client, &request);
        assert (proto_msg_id (reply) == PROTO_MSG_HOST && proto_msg_known (reply));
        proto_msg_destroy (&reply);
    }

    //  Garbage, a wrong version, a message a shard does not serve: 400, still serving
    const char *frames[] = {"\xc1garbage", "\x94\x02\x0b\x05\x80"};
    size_t sizes[] = {8, 5};
    for (size_t index = 0; index < 2; index++) {
        zframe_t *frame = zframe_new (frames[index], sizes[index]);
        assert (zframe_send (&frame, client, 0) == 0);
        reply = proto_msg_recv (client);
        assert (reply && s_test_error (&reply) == PROTO_ERROR_MALFORMED);
    }
    request = proto_msg_new (PROTO_MSG_MAP_REQUEST);
    reply = s_test_request (client, &request);
    assert (s_test_error (&reply) == PROTO_ERROR_MALFORMED);
    request = proto_msg_new (PROTO_MSG_DAYS_REQUEST);
    reply = s_test_request (client, &request);
    assert (proto_msg_id (reply) == PROTO_MSG_DAYS);
    proto_msg_destroy (&reply);

    //  Heartbeats carry the stats; ERROR 404 makes the shard say HELLO again
    proto_msg_t *heartbeat = proto_msg_recv (broker);
    assert (heartbeat && proto_msg_id (heartbeat) == PROTO_MSG_HEARTBEAT);
    int64_t value = 0;
    assert (proto_msg_stats_get (heartbeat, "parts_applied", &value) && value == 1);
    assert (proto_msg_stats_get (heartbeat, "rows", &value) && value == 1);
    proto_msg_t *unknown = proto_msg_reply (heartbeat, PROTO_MSG_ERROR);
    proto_msg_set_code (unknown, PROTO_ERROR_UNKNOWN_PEER);
    proto_msg_set_text (unknown, "who are you");
    proto_msg_send (&unknown, broker);
    proto_msg_destroy (&heartbeat);
    proto_msg_destroy (&hello);
    hello = s_test_expect (broker, PROTO_MSG_HELLO);
    proto_msg_destroy (&hello);
    //  A broker silent for PROTO_HEARTBEAT_LIVENESS intervals: HELLO again, from a new
    //  DEALER (a new routing id)
    zsock_set_rcvtimeo (broker, (PROTO_HEARTBEAT_LIVENESS + 3) * PROTO_HEARTBEAT_MSECS);
    int64_t silent_since = zclock_mono ();
    while (true) {
        proto_msg_t *msg = proto_msg_recv (broker);
        assert (msg);
        bool is_hello = proto_msg_id (msg) == PROTO_MSG_HELLO;
        proto_msg_destroy (&msg);
        if (is_hello)
            break;
    }
    assert (zclock_mono () - silent_since >= PROTO_HEARTBEAT_LIVENESS * PROTO_HEARTBEAT_MSECS);

    zactor_destroy (&actor);
    zsock_destroy (&client);
    zsock_destroy (&broker);
    zstr_free (&endpoint);
    zstr_free (&broker_endpoint);
    shard_config_destroy (&config);
    const char *files[] = {"data.mdb", "lock.mdb", "shard.lock", SHARD_MAP_FILE};
    for (size_t index = 0; index < 4; index++) {
        char *path = zsys_sprintf ("%s/%s", dir, files[index]);
        unlink (path);
        zstr_free (&path);
    }
    assert (rmdir (dir) == 0);
    zsys_set_logstream (stdout);
    printf ("OK\n");
}
