/*  ingest_broker.c - the ingestor's link to the broker (see ingest_broker.h).

    Times are zclock_mono () msecs.  heard_at is when the broker last said anything; a
    liveness gap resets the socket.  map_asked_at spaces MAP_REQUESTs; map_wanted stays
    set until a map with the wanted epoch (or any valid map) arrives.
*/
#include "ingestor/ingest_broker.h"
#include "ingestor/ingest_poll.h"

#include <assert.h>

struct _ingest_broker_t {
    uv_loop_t *loop;                   //  Loop the socket is watched on
    char *endpoint;                    //  Broker ROUTER
    char *name;                        //  Our name
    char *spool;                       //  Our spool, for the broker's status
    ingest_broker_map_fn *on_map;      //  New map callback
    ingest_broker_stats_fn *on_stats;  //  Heartbeat stats callback
    proto_curve_t *curve;              //  Borrowed CURVE keys, or NULL
    void *arg;                         //  Callbacks' argument
    zsock_t *dealer;                   //  To the broker
    ingest_poll_t *poll;               //  Watches dealer
    proto_msg_t *map;                  //  Current valid map, NULL until one came
    size_t shard_count;                //  Shards in map
    bool map_wanted;                   //  A map (other than ours) is wanted
    int64_t map_asked_at;              //  Last MAP_REQUEST, mono msecs
    int64_t heartbeat_at;              //  Next HEARTBEAT due, mono msecs
    int64_t heard_at;                  //  Last message from the broker, mono msecs
    bool silent;                       //  The broker is silent (logged once)
    bool welcomed;                     //  WELCOME seen on this socket
    uint64_t request_id;               //  Last request id used
    bool verbose;                      //  Log traffic
};

//  --------------------------------------------------------------------------
//  Send a message; never blocks (zero send timeout).

static void
s_send (ingest_broker_t *self, proto_msg_t **msg_p)
{
    proto_msg_set_request_id (*msg_p, ++self->request_id);
    if (self->verbose)
        zsys_debug ("broker: send %s", proto_msg_id_name (proto_msg_id (*msg_p)));
    proto_msg_send (msg_p, self->dealer);
}

static void
s_ask_map (ingest_broker_t *self)
{
    proto_msg_t *request = proto_msg_new (PROTO_MSG_MAP_REQUEST);
    s_send (self, &request);
    self->map_asked_at = zclock_mono ();
}

static void
s_hello (ingest_broker_t *self)
{
    proto_msg_t *hello = proto_msg_new (PROTO_MSG_HELLO);
    proto_msg_set_role (hello, "ingestor");
    proto_msg_set_name (hello, self->name);
    proto_msg_set_endpoint (hello, "");
    proto_msg_set_spool (hello, self->spool);
    s_send (self, &hello);
    self->welcomed = false;
    s_ask_map (self);
}

static void s_on_ready (void *arg);

//  (Re)create the socket and say HELLO.
static int
s_connect (ingest_broker_t *self)
{
    ingest_poll_destroy (&self->poll);
    zsock_destroy (&self->dealer);
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer)
        return -1;
    proto_curve_client (self->curve, self->dealer);
    proto_msg_limit_socket_small (self->dealer);
    zsock_set_sndtimeo (self->dealer, 0);
    zsock_set_linger (self->dealer, 0);
    if (zsock_connect (self->dealer, "%s", self->endpoint)) {
        zsys_error ("broker: cannot connect to %s", self->endpoint);
        return -1;
    }
    self->poll = ingest_poll_new (self->loop, self->dealer, s_on_ready, self);
    if (!self->poll)
        return -1;
    self->heard_at = zclock_mono ();
    s_hello (self);
    return 0;
}

//  --------------------------------------------------------------------------
ingest_broker_t *
ingest_broker_new (uv_loop_t *loop, const char *endpoint, const char *name, const char *spool,
                   proto_curve_t *curve, ingest_broker_map_fn *on_map,
                   ingest_broker_stats_fn *on_stats, void *arg)
{
    assert (loop);
    assert (endpoint);
    assert (name);
    assert (spool);
    assert (on_map);
    assert (on_stats);
    ingest_broker_t *self = (ingest_broker_t *) zmalloc (sizeof (ingest_broker_t));
    assert (self);
    self->loop = loop;
    self->endpoint = strdup (endpoint);
    self->name = strdup (name);
    self->spool = strdup (spool);
    self->on_map = on_map;
    self->on_stats = on_stats;
    self->arg = arg;
    self->curve = curve;
    self->map_wanted = true;
    self->heartbeat_at = zclock_mono () + PROTO_HEARTBEAT_MSECS;
    if (s_connect (self))
        ingest_broker_destroy (&self);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_broker_destroy (ingest_broker_t **self_p)
{
    assert (self_p);
    ingest_broker_t *self = *self_p;
    if (!self)
        return;
    ingest_poll_destroy (&self->poll);
    zsock_destroy (&self->dealer);
    proto_msg_destroy (&self->map);
    free (self->spool);
    free (self->name);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
int
ingest_broker_map_check (proto_msg_t *map, size_t *shard_count, char *error, size_t error_size)
{
    assert (map);
    assert (shard_count);
    assert (error);
    const uint16_t *slots = proto_msg_slots (map);
    if (!slots) {
        snprintf (error, error_size, "no slots");
        return -1;
    }
    size_t shards = 0;
    for (; shards < proto_msg_peers_count (map); shards++) {
        proto_peer_t peer;
        proto_msg_peers_at (map, shards, &peer);
        if (!streq (peer.role, "shard"))
            break;
    }
    if (shards == 0) {
        snprintf (error, error_size, "no shard");
        return -1;
    }
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        if (slots[slot] >= shards) {
            snprintf (error, error_size, "slot %zu names shard %u, but the map has %zu", slot,
                      slots[slot], shards);
            return -1;
        }
    *shard_count = shards;
    return 0;
}

//  --------------------------------------------------------------------------
//  The broker told its epoch: ask for the map if ours is another.

static void
s_check_epoch (ingest_broker_t *self, uint64_t epoch)
{
    if (self->map && proto_msg_epoch (self->map) == epoch)
        return;
    if (!self->map_wanted || zclock_mono () - self->map_asked_at >= PROTO_HEARTBEAT_MSECS) {
        self->map_wanted = true;
        s_ask_map (self);
    }
}

static void
s_handle (ingest_broker_t *self, proto_msg_t **msg_p)
{
    proto_msg_t *msg = *msg_p;
    proto_msg_id_t id = proto_msg_id (msg);
    if (self->verbose)
        zsys_debug ("broker: recv %s", proto_msg_id_name (id));
    if (id == PROTO_MSG_MALFORMED) {
        zsys_warning ("broker: malformed message dropped: %s", proto_msg_text (msg));
        return;
    }
    self->heard_at = zclock_mono ();
    if (self->silent) {
        zsys_notice ("broker: %s answers again", self->endpoint);
        self->silent = false;
    }
    if (id == PROTO_MSG_WELCOME) {
        if (!self->welcomed)
            zsys_info ("broker: registered with %s (map epoch %" PRIu64 ")", self->endpoint,
                       proto_msg_epoch (msg));
        self->welcomed = true;
        s_check_epoch (self, proto_msg_epoch (msg));
    }
    else if (id == PROTO_MSG_HEARTBEAT_ACK)
        s_check_epoch (self, proto_msg_epoch (msg));
    else if (id == PROTO_MSG_MAP) {
        char error[256];
        size_t shard_count;
        if (ingest_broker_map_check (msg, &shard_count, error, sizeof error)) {
            zsys_error ("broker: map epoch %" PRIu64 " ignored: %s", proto_msg_epoch (msg), error);
            return;
        }
        bool fresh = !self->map || proto_msg_epoch (self->map) != proto_msg_epoch (msg);
        proto_msg_destroy (&self->map);
        self->map = msg;
        *msg_p = NULL;
        self->shard_count = shard_count;
        self->map_wanted = false;
        if (fresh)
            zsys_info ("broker: map epoch %" PRIu64 " with %zu shards", proto_msg_epoch (msg),
                       shard_count);
        self->on_map (self->arg, self->map);
    }
    else if (id == PROTO_MSG_ERROR && proto_msg_code (msg) == PROTO_ERROR_UNKNOWN_PEER) {
        zsys_notice ("broker: does not know us (restarted?): saying HELLO again");
        s_hello (self);
    }
    else if (id == PROTO_MSG_ERROR)
        zsys_warning ("broker: ERROR %u: %s", proto_msg_code (msg), proto_msg_text (msg));
    else
        zsys_warning ("broker: unexpected %s dropped", proto_msg_id_name (id));
}

//  --------------------------------------------------------------------------
size_t
ingest_broker_drain (ingest_broker_t *self)
{
    assert (self);
    size_t handled = 0;
    while (self->dealer && (zsock_events (self->dealer) & ZMQ_POLLIN)) {
        proto_msg_t *msg = proto_msg_recv (self->dealer);
        if (!msg)
            break;
        s_handle (self, &msg);
        proto_msg_destroy (&msg);
        handled++;
    }
    return handled;
}

static void
s_on_ready (void *arg)
{
    ingest_broker_drain ((ingest_broker_t *) arg);
}

//  --------------------------------------------------------------------------
void
ingest_broker_tick (ingest_broker_t *self)
{
    assert (self);
    int64_t now = zclock_mono ();
    if (now - self->heard_at > PROTO_HEARTBEAT_LIVENESS * PROTO_HEARTBEAT_MSECS) {
        if (!self->silent)
            zsys_warning ("broker: %s silent for %d msecs: reconnecting", self->endpoint,
                          PROTO_HEARTBEAT_LIVENESS * PROTO_HEARTBEAT_MSECS);
        self->silent = true;
        if (s_connect (self))
            zsys_error ("broker: cannot reconnect to %s", self->endpoint);
        self->heartbeat_at = now + PROTO_HEARTBEAT_MSECS;
        return;
    }
    if (now >= self->heartbeat_at) {
        proto_msg_t *heartbeat = proto_msg_new (PROTO_MSG_HEARTBEAT);
        proto_msg_set_name (heartbeat, self->name);
        proto_msg_set_role (heartbeat, "ingestor");
        self->on_stats (self->arg, heartbeat);
        s_send (self, &heartbeat);
        self->heartbeat_at = now + PROTO_HEARTBEAT_MSECS;
    }
    if (self->map_wanted && now - self->map_asked_at >= 2 * PROTO_HEARTBEAT_MSECS)
        s_ask_map (self);
}

//  --------------------------------------------------------------------------
void
ingest_broker_request_map (ingest_broker_t *self)
{
    assert (self);
    self->map_wanted = true;
    if (zclock_mono () - self->map_asked_at >= PROTO_HEARTBEAT_MSECS)
        s_ask_map (self);
}

//  --------------------------------------------------------------------------
proto_msg_t *
ingest_broker_map (ingest_broker_t *self)
{
    assert (self);
    return self->map;
}

size_t
ingest_broker_shard_count (ingest_broker_t *self)
{
    assert (self);
    return self->map ? self->shard_count : 0;
}

void
ingest_broker_set_verbose (ingest_broker_t *self, bool verbose)
{
    assert (self);
    self->verbose = verbose;
}

//  --------------------------------------------------------------------------
//  Selftest: a ROUTER plays the broker.

typedef struct {
    size_t maps;        //  on_map calls
    size_t heartbeats;  //  on_stats calls
} s_test_t;

static void
s_test_map (void *arg, proto_msg_t *map)
{
    (void) map;
    ((s_test_t *) arg)->maps++;
}

static void
s_test_stats (void *arg, proto_msg_t *heartbeat)
{
    ((s_test_t *) arg)->heartbeats++;
    proto_msg_stats_set (heartbeat, "files_done", 7);
}

//  Run the loop and the ticks until the router has a message; return it.
static proto_msg_t *
s_test_recv (uv_loop_t *loop, ingest_broker_t *broker, zsock_t *router)
{
    for (int round = 0; round < 300; round++) {
        if (zsock_events (router) & ZMQ_POLLIN)
            return proto_msg_recv (router);
        uv_run (loop, UV_RUN_NOWAIT);
        ingest_broker_tick (broker);
        ingest_broker_drain (broker);
        zclock_sleep (10);
    }
    return NULL;
}

static proto_msg_t *
s_test_map_msg (proto_msg_t *request, uint64_t epoch, size_t shards, uint16_t bad_slot)
{
    proto_msg_t *map = proto_msg_reply (request, PROTO_MSG_MAP);
    proto_msg_set_epoch (map, epoch);
    uint16_t slots[PROTO_SLOT_COUNT];
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        slots[slot] = (uint16_t) (slot % shards);
    slots[7] = bad_slot ? bad_slot : slots[7];
    proto_msg_set_slots (map, slots);
    for (size_t shard = 0; shard < shards; shard++) {
        proto_peer_t peer = {"shard", "shard-x", "tcp://127.0.0.1:1", "", "up", 0, 0, 0, {0}, {0}};
        proto_msg_peers_append (map, &peer);
    }
    return map;
}

void
ingest_broker_test (bool verbose)
{
    printf (" * ingest_broker: ");
    fflush (stdout);
    if (!verbose)
        zsys_set_logstream (NULL);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert (port > 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    uv_loop_t loop;
    uv_loop_init (&loop);
    s_test_t test = {0, 0};
    ingest_broker_t *broker = ingest_broker_new (&loop, endpoint, "router1", "/spool", NULL,
                                                 s_test_map, s_test_stats, &test);
    assert (broker);
    ingest_broker_set_verbose (broker, verbose);
    assert (ingest_broker_map (broker) == NULL);

    //  HELLO then MAP_REQUEST; an invalid map is ignored, a valid one taken
    proto_msg_t *msg = s_test_recv (&loop, broker, router);
    assert (msg && proto_msg_id (msg) == PROTO_MSG_HELLO);
    assert (streq (proto_msg_role (msg), "ingestor") && streq (proto_msg_name (msg), "router1"));
    assert (streq (proto_msg_spool (msg), "/spool"));
    proto_msg_t *reply = proto_msg_reply (msg, PROTO_MSG_WELCOME);
    proto_msg_set_epoch (reply, 3);
    proto_msg_send (&reply, router);
    proto_msg_destroy (&msg);
    msg = s_test_recv (&loop, broker, router);
    assert (msg && proto_msg_id (msg) == PROTO_MSG_MAP_REQUEST);
    reply = s_test_map_msg (msg, 3, 2, 5);
    proto_msg_send (&reply, router);
    reply = s_test_map_msg (msg, 3, 2, 0);
    proto_msg_send (&reply, router);
    proto_msg_destroy (&msg);

    //  Heartbeats carry the stats; a new epoch in the ack brings a MAP_REQUEST
    msg = s_test_recv (&loop, broker, router);
    assert (msg && proto_msg_id (msg) == PROTO_MSG_HEARTBEAT);
    assert (test.maps == 1 && ingest_broker_shard_count (broker) == 2);
    assert (proto_msg_epoch (ingest_broker_map (broker)) == 3);
    int64_t value;
    assert (proto_msg_stats_get (msg, "files_done", &value) && value == 7);
    reply = proto_msg_reply (msg, PROTO_MSG_HEARTBEAT_ACK);
    proto_msg_set_epoch (reply, 4);
    proto_msg_send (&reply, router);
    proto_msg_destroy (&msg);
    msg = s_test_recv (&loop, broker, router);
    assert (msg && proto_msg_id (msg) == PROTO_MSG_MAP_REQUEST);
    reply = s_test_map_msg (msg, 4, 3, 0);
    proto_msg_send (&reply, router);
    proto_msg_destroy (&msg);

    //  ERROR 404 brings a new HELLO
    msg = s_test_recv (&loop, broker, router);
    assert (msg && proto_msg_id (msg) == PROTO_MSG_HEARTBEAT);
    assert (test.maps == 2 && ingest_broker_shard_count (broker) == 3);
    reply = proto_msg_reply (msg, PROTO_MSG_ERROR);
    proto_msg_set_code (reply, PROTO_ERROR_UNKNOWN_PEER);
    proto_msg_set_text (reply, "who are you");
    proto_msg_send (&reply, router);
    proto_msg_destroy (&msg);
    msg = s_test_recv (&loop, broker, router);
    assert (msg && proto_msg_id (msg) == PROTO_MSG_HELLO);
    proto_msg_destroy (&msg);
    assert (test.heartbeats >= 2);

    ingest_broker_destroy (&broker);
    ingest_broker_destroy (&broker);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert (uv_loop_close (&loop) == 0);
    zsock_destroy (&router);
    zsys_set_logstream (stdout);
    printf ("OK\n");
}
