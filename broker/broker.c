/*  broker.c - the broker's ROUTER loop (see broker.h).

    One thread, one socket, no blocking besides the poll: every request is answered from
    memory (the map and the registry), except HELLOs that change the map, which persist
    it before answering.  The poll timeout is the time to the next peer expiry, so a
    silent peer is marked down on time even when nothing else arrives.
*/
#include "broker/broker.h"
#include "broker/broker_move.h"

struct _broker_t {
    zsock_t *router;              //  ROUTER bound at endpoint
    char *endpoint;               //  Bound endpoint, port resolved
    broker_map_t *map;            //  The persisted slot map
    broker_registry_t *registry;  //  Peers, over map
    broker_move_t *move;          //  Runs slot moves
    proto_curve_t *curve;         //  CURVE server, or NULL (plain)
    bool verbose;                 //  Log every message
    uint64_t malformed;           //  Frames answered ERROR 400
};

//  --------------------------------------------------------------------------
broker_t *
broker_new (const broker_options_t *options)
{
    assert (options);
    assert (options->endpoint);
    assert (options->data);
    broker_t *self = (broker_t *) zmalloc (sizeof (broker_t));
    self->verbose = options->verbose;
    int64_t heartbeat_msecs =
        options->heartbeat_msecs > 0 ? options->heartbeat_msecs : PROTO_HEARTBEAT_MSECS;
    self->map = broker_map_new (options->data, options->shards);
    if (!self->map)
        goto fail;
    self->registry = broker_registry_new (self->map, heartbeat_msecs, PROTO_HEARTBEAT_LIVENESS);
    self->move = broker_move_new (self->map, self->registry, options->curve_keys);
    if (!self->move)
        goto fail;
    bool curve_failed;
    self->curve = proto_curve_new (options->curve_keys, NULL, true, &curve_failed);
    if (curve_failed)
        goto fail;
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    proto_curve_server (self->curve, self->router);
    proto_msg_limit_socket_small (self->router);
    if (zsock_bind (self->router, "%s", options->endpoint) < 0) {
        zsys_error ("broker: cannot bind %s: %s", options->endpoint, zmq_strerror (zmq_errno ()));
        goto fail;
    }
    self->endpoint = zsock_last_endpoint (self->router);
    zsys_info ("broker: serving %s, %zu shards, %zu ingestors, epoch %" PRIu64, self->endpoint,
               broker_map_shard_count (self->map), broker_map_ingestor_count (self->map),
               broker_map_epoch (self->map));
    return self;
fail:
    broker_destroy (&self);
    return NULL;
}

//  --------------------------------------------------------------------------
void
broker_destroy (broker_t **self_p)
{
    assert (self_p);
    broker_t *self = *self_p;
    if (!self)
        return;
    zstr_free (&self->endpoint);
    zsock_destroy (&self->router);
    proto_curve_destroy (&self->curve);
    broker_move_destroy (&self->move);
    broker_registry_destroy (&self->registry);
    broker_map_destroy (&self->map);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
const char *
broker_endpoint (broker_t *self)
{
    assert (self);
    return self->endpoint;
}

//  --------------------------------------------------------------------------
uint64_t
broker_epoch (broker_t *self)
{
    assert (self);
    return broker_map_epoch (self->map);
}

//  --------------------------------------------------------------------------
//  Reply ERROR code with text to the sender of request.

static void
s_send_error (broker_t *self, proto_msg_t *request, uint16_t code, const char *text)
{
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_ERROR);
    proto_msg_set_code (reply, code);
    proto_msg_set_text (reply, text);
    proto_msg_send (&reply, self->router);
}

//  --------------------------------------------------------------------------
//  SHARD_ADD or SHARD_REMOVE: plan the move (broker_move runs it).  The reply, or NULL
//  if an ERROR was sent.

static proto_msg_t *
s_plan_move (broker_t *self, proto_msg_t *request)
{
    char error[PROTO_TEXT_MAX] = "";
    const char *name = proto_msg_name (request);
    bool add = proto_msg_id (request) == PROTO_MSG_SHARD_ADD;
    if (!broker_move_available (self->move)) {
        snprintf (error, sizeof error,
                  "slot moves need the broker's CURVE key: portevo keygen --keys DIR broker, "
                  "then restart the broker");
        zsys_warning ("broker: %s %s refused: %s", proto_msg_id_name (proto_msg_id (request)), name,
                      error);
        s_send_error (self, request, PROTO_ERROR_INVALID, error);
        return NULL;
    }
    int planned = add ? broker_map_add_shard (self->map, name, proto_msg_endpoint (request), error,
                                              sizeof error)
                      : broker_map_remove_shard (self->map, name, error, sizeof error);
    if (planned < 0) {
        if (planned == -1)
            snprintf (error, sizeof error, "the map could not be saved (see the broker's log)");
        zsys_warning ("broker: %s %s refused: %s", proto_msg_id_name (proto_msg_id (request)), name,
                      error);
        s_send_error (self, request,
                      planned == -1                 ? PROTO_ERROR_INTERNAL
                      : strstr (error, "under way") ? PROTO_ERROR_WRONG_SHARD
                                                    : PROTO_ERROR_INVALID,
                      error);
        return NULL;
    }
    if (add)
        broker_registry_add_shard (self->registry, name);
    zsys_notice ("broker: shard %s %s: %d slots to move, map epoch %" PRIu64, name,
                 add ? "added" : "to be removed", planned, broker_map_epoch (self->map));
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_MOVE_PLANNED);
    proto_msg_set_name (reply, name);
    proto_msg_set_epoch (reply, broker_map_epoch (self->map));
    proto_msg_set_count (reply, (uint32_t) planned);
    return reply;
}

//  --------------------------------------------------------------------------
//  Receive one message and answer it.

static void
s_on_request (broker_t *self)
{
    proto_msg_t *request = proto_msg_recv (self->router);
    if (!request)
        return;  //  Interrupted
    int64_t now = zclock_mono ();
    proto_msg_id_t id = proto_msg_id (request);
    if (self->verbose)
        zsys_debug ("broker: %s from %s", proto_msg_id_name (id),
                    id == PROTO_MSG_HELLO || id == PROTO_MSG_HEARTBEAT ? proto_msg_name (request)
                                                                       : "a client");
    proto_msg_t *reply = NULL;
    char error[PROTO_TEXT_MAX] = "";
    int code;
    switch (id) {
    case PROTO_MSG_MALFORMED: {
        zframe_t *routing = proto_msg_routing_id (request);
        char *peer = routing ? zframe_strhex (routing) : strdup ("?");
        zsys_warning ("broker: malformed frame from peer %s: %s", peer, proto_msg_text (request));
        zstr_free (&peer);
        self->malformed++;
        s_send_error (self, request, PROTO_ERROR_MALFORMED, proto_msg_text (request));
        break;
    }
    case PROTO_MSG_HELLO:
        code = broker_registry_hello (self->registry, request, now, error, sizeof error);
        if (code) {
            zsys_warning ("broker: refused %s", error);
            s_send_error (self, request, (uint16_t) code, error);
            break;
        }
        reply = proto_msg_reply (request, PROTO_MSG_WELCOME);
        proto_msg_set_epoch (reply, broker_map_epoch (self->map));
        break;
    case PROTO_MSG_HEARTBEAT:
        if (broker_registry_heartbeat (self->registry, request, now)) {
            snprintf (error, sizeof error,
                      "HEARTBEAT: the broker does not know '%.64s' from this connection: "
                      "send HELLO",
                      proto_msg_name (request));
            s_send_error (self, request, PROTO_ERROR_UNKNOWN_PEER, error);
            break;
        }
        reply = proto_msg_reply (request, PROTO_MSG_HEARTBEAT_ACK);
        proto_msg_set_epoch (reply, broker_map_epoch (self->map));
        break;
    case PROTO_MSG_MAP_REQUEST:
        reply = proto_msg_reply (request, PROTO_MSG_MAP);
        proto_msg_set_epoch (reply, broker_map_epoch (self->map));
        proto_msg_set_slots (reply, broker_map_slots (self->map));
        proto_msg_set_hold (reply, broker_map_hold (self->map));
        broker_registry_fill (self->registry, reply, now, false);
        break;
    case PROTO_MSG_SHARD_ADD:
    case PROTO_MSG_SHARD_REMOVE:
        reply = s_plan_move (self, request);
        break;
    case PROTO_MSG_INGESTOR_REMOVE:
        code = broker_registry_remove_ingestor (self->registry, proto_msg_name (request), now,
                                                error, sizeof error);
        if (code) {
            zsys_warning ("broker: refused %s", error);
            s_send_error (self, request, (uint16_t) code, error);
            break;
        }
        zsys_notice ("broker: ingestor %s decommissioned: map epoch %" PRIu64
                     ", blocks no longer wait for it",
                     proto_msg_name (request), broker_map_epoch (self->map));
        reply = proto_msg_reply (request, PROTO_MSG_INGESTOR_REMOVED);
        proto_msg_set_name (reply, proto_msg_name (request));
        proto_msg_set_epoch (reply, broker_map_epoch (self->map));
        break;
    case PROTO_MSG_STATUS_REQUEST:
        reply = proto_msg_reply (request, PROTO_MSG_STATUS);
        proto_msg_set_epoch (reply, broker_map_epoch (self->map));
        proto_msg_set_count (reply, broker_map_move_pending (self->map));
        broker_registry_fill (self->registry, reply, now, true);
        break;
    default:
        snprintf (error, sizeof error, "%s is not a request the broker answers",
                  proto_msg_id_name (id));
        zsys_warning ("broker: %s", error);
        s_send_error (self, request, PROTO_ERROR_INVALID, error);
        break;
    }
    if (reply)
        proto_msg_send (&reply, self->router);
    proto_msg_destroy (&request);
}

//  --------------------------------------------------------------------------
//  The loop of broker_run (pipe NULL) and broker_actor.  Returns when interrupted or,
//  with a pipe, on $TERM.

static void
s_serve (broker_t *self, zsock_t *pipe)
{
    zpoller_t *poller = zpoller_new (self->router, pipe, NULL);
    assert (poller);
    while (!zsys_interrupted) {
        int64_t timeout = broker_registry_timeout (self->registry, zclock_mono ());
        int64_t move_timeout = broker_move_tick (self->move, zclock_mono ());
        if (move_timeout >= 0 && move_timeout < timeout)
            timeout = move_timeout;
        void *which = zpoller_wait (poller, (int) timeout);
        if (which == self->router)
            s_on_request (self);
        else if (which && which == pipe) {
            char *command = zstr_recv (pipe);
            bool stop = !command || streq (command, "$TERM");
            if (command && streq (command, "EPOCH"))
                zstr_sendf (pipe, "%" PRIu64, broker_map_epoch (self->map));
            else if (!stop)
                zsys_error ("broker: invalid pipe command '%s'", command);
            zstr_free (&command);
            if (stop)
                break;
        }
        else if (zpoller_terminated (poller))
            break;
        broker_registry_purge (self->registry, zclock_mono ());
    }
    zpoller_destroy (&poller);
}

//  --------------------------------------------------------------------------
int
broker_run (broker_t *self)
{
    assert (self);
    s_serve (self, NULL);
    zsys_info ("broker: stopped (%" PRIu64 " malformed frames answered)", self->malformed);
    return 0;
}

//  --------------------------------------------------------------------------
void
broker_actor (zsock_t *pipe, void *args)
{
    broker_t *self = (broker_t *) args;
    assert (self);
    zsock_signal (pipe, 0);
    s_serve (self, pipe);
    broker_destroy (&self);
}

//  --------------------------------------------------------------------------
//  Selftest helpers: a request over a DEALER and its reply (NULL after 2 s).

static proto_msg_t *
s_test_receive (zsock_t *dealer)
{
    zpoller_t *poller = zpoller_new (dealer, NULL);
    proto_msg_t *reply = zpoller_wait (poller, 2000) ? proto_msg_recv (dealer) : NULL;
    zpoller_destroy (&poller);
    return reply;
}

static proto_msg_t *
s_test_request (zsock_t *dealer, proto_msg_t **request_p)
{
    int rc = proto_msg_send (request_p, dealer);
    assert (rc == 0);
    return s_test_receive (dealer);
}

static zsock_t *
s_test_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (dealer);
    proto_msg_limit_socket (dealer);
    int rc = zsock_connect (dealer, "%s", endpoint);
    assert (rc == 0);
    return dealer;
}

//  HELLO or HEARTBEAT from a peer; returns the reply's id, and its code or epoch.
static proto_msg_id_t
s_test_peer (zsock_t *dealer, proto_msg_id_t id, const char *role, const char *name,
             const char *endpoint, uint64_t *value)
{
    proto_msg_t *request = proto_msg_new (id);
    proto_msg_set_request_id (request, 77);
    proto_msg_set_role (request, role);
    proto_msg_set_name (request, name);
    if (id == PROTO_MSG_HELLO)
        proto_msg_set_endpoint (request, endpoint);
    else
        proto_msg_stats_set (request, "hosts", 5);
    proto_msg_t *reply = s_test_request (dealer, &request);
    assert (reply);
    assert (proto_msg_request_id (reply) == 77);
    proto_msg_id_t reply_id = proto_msg_id (reply);
    *value = reply_id == PROTO_MSG_ERROR ? proto_msg_code (reply) : proto_msg_epoch (reply);
    proto_msg_destroy (&reply);
    return reply_id;
}

//  The state of a peer in a STATUS from the broker.
static char *
s_test_state (zsock_t *dealer, const char *name)
{
    proto_msg_t *request = proto_msg_new (PROTO_MSG_STATUS_REQUEST);
    proto_msg_t *reply = s_test_request (dealer, &request);
    assert (reply && proto_msg_id (reply) == PROTO_MSG_STATUS);
    char *state = NULL;
    for (size_t index = 0; index < proto_msg_peers_count (reply); index++) {
        proto_peer_t peer;
        proto_msg_peers_at (reply, index, &peer);
        if (streq (peer.name, name))
            state = strdup (peer.state);
    }
    proto_msg_destroy (&reply);
    return state;
}

//  Send raw bytes as one frame; expect ERROR 400.
static void
s_test_malformed (zsock_t *dealer, const void *data, size_t size)
{
    zframe_t *frame = zframe_new (data, size);
    int rc = zframe_send (&frame, dealer, 0);
    assert (rc == 0);
    proto_msg_t *reply = s_test_receive (dealer);
    assert (reply && proto_msg_id (reply) == PROTO_MSG_ERROR);
    assert (proto_msg_code (reply) == PROTO_ERROR_MALFORMED);
    assert (strlen (proto_msg_text (reply)) > 0);
    proto_msg_destroy (&reply);
}

//  --------------------------------------------------------------------------
void
broker_test (bool verbose)
{
    printf (" * broker: ");
    zsys_set_logstream (verbose ? stderr : NULL);  //  Refusals below are logged on purpose
    char dir_template[] = "/tmp/broker_test.XXXXXX";
    char *dir = mkdtemp (dir_template);
    assert (dir);
    broker_options_t options = {.endpoint = "tcp://127.0.0.1:*",
                                .data = dir,
                                .shards = "s0,s1,s2",
                                .heartbeat_msecs = 100,
                                .verbose = verbose};
    broker_t *broker = broker_new (&options);
    assert (broker);
    char *endpoint = strdup (broker_endpoint (broker));
    assert (strncmp (endpoint, "tcp://127.0.0.1:", 16) == 0);
    assert (broker_epoch (broker) == 1);
    zactor_t *actor = zactor_new (broker_actor, broker);
    assert (actor);

    //  Register: shards of the map and an ingestor; unknown shards are refused
    zsock_t *shard0 = s_test_dealer (endpoint);
    zsock_t *shard1 = s_test_dealer (endpoint);
    zsock_t *ingestor = s_test_dealer (endpoint);
    zsock_t *client = s_test_dealer (endpoint);
    uint64_t value;
    assert (s_test_peer (shard0, PROTO_MSG_HELLO, "shard", "s0", "tcp://127.0.0.1:1", &value) ==
            PROTO_MSG_WELCOME);
    assert (value == 2);  //  The endpoint is part of the map
    assert (s_test_peer (shard1, PROTO_MSG_HELLO, "shard", "s1", "tcp://127.0.0.1:2", &value) ==
            PROTO_MSG_WELCOME);
    assert (s_test_peer (ingestor, PROTO_MSG_HELLO, "ingestor", "r1", "", &value) ==
            PROTO_MSG_WELCOME);
    assert (value == 4);
    assert (s_test_peer (client, PROTO_MSG_HELLO, "shard", "s7", "tcp://x:1", &value) ==
            PROTO_MSG_ERROR);
    assert (value == PROTO_ERROR_WRONG_SHARD);
    assert (s_test_peer (client, PROTO_MSG_HEARTBEAT, "shard", "s2", "", &value) ==
            PROTO_MSG_ERROR);
    assert (value == PROTO_ERROR_UNKNOWN_PEER);
    assert (s_test_peer (shard0, PROTO_MSG_HEARTBEAT, "shard", "s0", "", &value) ==
            PROTO_MSG_HEARTBEAT_ACK);
    assert (value == 4);

    //  MAP: epoch, slot owners, shards then ingestors
    proto_msg_t *request = proto_msg_new (PROTO_MSG_MAP_REQUEST);
    proto_msg_t *reply = s_test_request (client, &request);
    assert (reply && proto_msg_id (reply) == PROTO_MSG_MAP);
    assert (proto_msg_epoch (reply) == 4);
    assert (proto_msg_slots (reply)[5] == 2);
    assert (proto_msg_peers_count (reply) == 4);
    proto_peer_t peer;
    proto_msg_peers_at (reply, 1, &peer);
    assert (streq (peer.name, "s1") && streq (peer.endpoint, "tcp://127.0.0.1:2"));
    assert (peer.slots == 341 && streq (peer.state, "up"));
    proto_msg_peers_at (reply, 2, &peer);
    assert (streq (peer.name, "s2") && streq (peer.state, "unknown"));
    proto_msg_peers_at (reply, 3, &peer);
    assert (streq (peer.name, "r1") && streq (peer.role, "ingestor"));
    proto_msg_destroy (&reply);

    //  Expiry: s0 keeps heartbeating, s1 and r1 fall silent: down after 3 intervals
    for (int beat = 0; beat < 8; beat++) {
        zclock_sleep (50);
        s_test_peer (shard0, PROTO_MSG_HEARTBEAT, "shard", "s0", "", &value);
    }
    char *state = s_test_state (client, "s0");
    assert (streq (state, "up"));
    zstr_free (&state);
    state = s_test_state (client, "s1");
    assert (streq (state, "down"));
    zstr_free (&state);
    state = s_test_state (client, "r1");
    assert (streq (state, "down"));
    zstr_free (&state);

    //  A restarted shard (same name, new connection) replaces the old one
    zsock_t *restarted = s_test_dealer (endpoint);
    assert (s_test_peer (restarted, PROTO_MSG_HELLO, "shard", "s1", "tcp://127.0.0.1:3", &value) ==
            PROTO_MSG_WELCOME);
    assert (value == 5);
    assert (s_test_peer (shard1, PROTO_MSG_HEARTBEAT, "shard", "s1", "", &value) ==
            PROTO_MSG_ERROR);
    assert (value == PROTO_ERROR_UNKNOWN_PEER);
    state = s_test_state (client, "s1");
    assert (streq (state, "up"));
    zstr_free (&state);

    //  Malformed frames: ERROR 400, and the broker keeps serving
    const uint8_t wrong_version[] = {0x94, 0x02, 0x07, 0x00, 0x80};
    const uint8_t unknown_id[] = {0x94, 0x01, 0x63, 0x00, 0x80};
    const uint8_t not_array[] = {0x81, 0xa1, 'a', 0x01};
    const uint8_t truncated[] = {0x94, 0x01, 0x01, 0x00, 0x84, 0xa4, 'r', 'o'};
    s_test_malformed (client, "garbage", 7);
    s_test_malformed (client, "", 0);
    s_test_malformed (client, wrong_version, sizeof wrong_version);
    s_test_malformed (client, unknown_id, sizeof unknown_id);
    s_test_malformed (client, not_array, sizeof not_array);
    s_test_malformed (client, truncated, sizeof truncated);
    zmsg_t *two_frames = zmsg_new ();
    zmsg_addstr (two_frames, "a");
    zmsg_addstr (two_frames, "b");
    zmsg_send (&two_frames, client);
    reply = s_test_receive (client);
    assert (reply && proto_msg_code (reply) == PROTO_ERROR_MALFORMED);
    proto_msg_destroy (&reply);
    request = proto_msg_new (PROTO_MSG_PART);  //  Well-formed but not for the broker
    proto_msg_set_source (request, "r1");
    reply = s_test_request (client, &request);
    assert (reply && proto_msg_code (reply) == PROTO_ERROR_INVALID);
    proto_msg_destroy (&reply);
    state = s_test_state (client, "s0");
    assert (streq (state, "up"));
    zstr_free (&state);
    zstr_send (actor, "EPOCH");
    char *epoch = zstr_recv (actor);
    assert (streq (epoch, "5"));
    zstr_free (&epoch);
    zactor_destroy (&actor);

    //  Restart with other names: the persisted map wins, every peer is unknown again
    options.shards = "a,b";
    broker = broker_new (&options);
    assert (broker);
    assert (broker_epoch (broker) == 5);
    zstr_free (&endpoint);
    endpoint = strdup (broker_endpoint (broker));
    actor = zactor_new (broker_actor, broker);
    zsock_t *after = s_test_dealer (endpoint);
    request = proto_msg_new (PROTO_MSG_MAP_REQUEST);
    reply = s_test_request (after, &request);
    assert (reply && proto_msg_epoch (reply) == 5 && proto_msg_peers_count (reply) == 4);
    assert (proto_msg_slots (reply)[5] == 2);
    proto_msg_peers_at (reply, 1, &peer);
    assert (streq (peer.name, "s1") && streq (peer.endpoint, "tcp://127.0.0.1:3"));
    assert (streq (peer.state, "unknown"));
    proto_msg_destroy (&reply);
    assert (s_test_peer (after, PROTO_MSG_HELLO, "shard", "s1", "tcp://127.0.0.1:3", &value) ==
            PROTO_MSG_WELCOME);
    assert (value == 5);
    zactor_destroy (&actor);

    //  A second broker cannot bind an endpoint in use; no names and no map: refused
    broker_options_t busy = {.endpoint = "tcp://127.0.0.1:*", .data = dir};
    broker_t *first = broker_new (&busy);
    assert (first);
    busy.endpoint = broker_endpoint (first);
    assert (broker_new (&busy) == NULL);
    broker_destroy (&first);
    char *none = zsys_sprintf ("%s/none", dir);
    broker_options_t empty = {.endpoint = "tcp://127.0.0.1:*", .data = none};
    assert (broker_new (&empty) == NULL);
    zsys_dir_delete ("%s", none);
    zstr_free (&none);

    zsock_destroy (&after);
    zsock_destroy (&restarted);
    zsock_destroy (&client);
    zsock_destroy (&ingestor);
    zsock_destroy (&shard1);
    zsock_destroy (&shard0);
    zstr_free (&endpoint);
    broker_map_test_dir_remove (dir);
    zsys_set_logstream (stderr);
    printf ("OK\n");
}
