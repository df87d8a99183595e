/*  gw_fake.c - a fake broker, fake shards and an HTTP client, for the gateway selftests.

    Each fake peer is a ROUTER with a uv_poll_t on its ZMQ_FD, drained like the
    gateway's sockets.  Replies are built with proto_msg from the request's fields, so a
    test that reads the gateway's JSON checks the whole path: request encoding, routing
    by slot, matching by request id, merging and printing.
*/
#include "gateway/gw_fake.h"

typedef struct {
    gw_fake_t *fake;  //  Owner
    size_t index;     //  Shard index, SIZE_MAX for the broker
    zsock_t *router;  //  Bound to tcp://127.0.0.1:*
    char *endpoint;   //  Where it is bound
    uv_poll_t poll;   //  Readable events of its ZMQ_FD
    bool silent;      //  Hold requests instead of answering
    bool down;        //  Reported down in the map
    zlist_t *held;    //  Held requests (proto_msg_t *)
    size_t requests;  //  Requests received
} s_peer_t;

struct _gw_fake_t {
    uv_loop_t *loop;     //  Serving loop
    s_peer_t *broker;    //  The fake broker
    s_peer_t **shards;   //  The fake shards
    size_t shard_count;  //  Entries in shards
    uint64_t epoch;      //  Map epoch
};

//  --------------------------------------------------------------------------
static void
s_on_peer_closed (uv_handle_t *handle)
{
    s_peer_t *peer = (s_peer_t *) handle->data;
    zstr_free (&peer->endpoint);
    free (peer);
}

//  --------------------------------------------------------------------------
//  The peer entries of the map and status.

static void
s_append_peers (gw_fake_t *self, proto_msg_t *reply, bool stats)
{
    for (size_t index = 0; index < self->shard_count; index++) {
        char name[32];
        snprintf (name, sizeof name, "shard-%zu", index);
        proto_peer_t peer = {"shard",
                             name,
                             self->shards[index]->endpoint,
                             "",
                             self->shards[index]->down ? "down" : "up",
                             PROTO_SLOT_COUNT / (uint32_t) self->shard_count,
                             100,
                             0,
                             {NULL},
                             {0}};
        if (stats) {
            peer.stat_count = 1;
            peer.stat_keys[0] = "hosts";
            peer.stat_values[0] = 100 + (int64_t) index;
        }
        proto_msg_peers_append (reply, &peer);
    }
}

//  --------------------------------------------------------------------------
//  The canned answer of a shard to request (see gw_fake.h).

static proto_msg_t *
s_shard_answer (s_peer_t *peer, proto_msg_t *request)
{
    proto_msg_t *reply = NULL;
    uint32_t port = proto_msg_port (request);
    bool all = port == PROTO_PORT_ALL;
    switch (proto_msg_id (request)) {
    case PROTO_MSG_DAYS_REQUEST:
        reply = proto_msg_reply (request, PROTO_MSG_DAYS);
        proto_msg_days_append (reply, GW_FAKE_DAY + (uint32_t) peer->index);
        proto_msg_days_append (reply, GW_FAKE_DAY + 10);
        break;
    case PROTO_MSG_TOP_REQUEST:
        reply = proto_msg_reply (request, PROTO_MSG_TOP);
        proto_msg_set_day (reply, proto_msg_day (request));
        proto_msg_set_op (reply, proto_msg_op (request));
        for (uint8_t feature = 0; (all || port == 25) && feature < PROTO_FEATURE_COUNT; feature++) {
            //  Shard 1's peers entry reached the cap
            proto_top_t top = {25,
                               feature,
                               {{0}},
                               (peer->index + 1) * 1000 + feature,
                               (uint32_t) peer->index,
                               feature == PROTO_FEATURE_PEERS && peer->index == 1};
            proto_addr_from_ipv4 (&top.addr, 0x0A000001 + (uint32_t) peer->index);
            proto_msg_top_append (reply, &top);
        }
        break;
    case PROTO_MSG_SERIES_REQUEST:
        reply = proto_msg_reply (request, PROTO_MSG_SERIES);
        proto_msg_set_host (reply, proto_msg_host (request));
        proto_msg_set_feature (reply, proto_msg_feature (request));
        proto_msg_set_op (reply, proto_msg_op (request));
        for (uint16_t point_port = 22; point_port <= 25; point_port += 3) {
            if (!(all || point_port == port) || (point_port == 22 && !all))
                continue;
            uint32_t from = proto_msg_from (request), to = proto_msg_to (request);
            for (uint32_t day = from; day <= to && day <= from + 1; day++) {
                //  Peers of port 22 reached the cap on the first day
                proto_point_t point = {point_port, day, point_port + day - from + 1,
                                       proto_msg_feature (request) == PROTO_FEATURE_PEERS &&
                                           point_port == 22 && day == from};
                proto_msg_points_append (reply, &point);
            }
        }
        break;
    case PROTO_MSG_HOST_REQUEST: {
        reply = proto_msg_reply (request, PROTO_MSG_HOST);
        proto_msg_set_host (reply, proto_msg_host (request));
        proto_msg_set_known (reply, true);
        proto_msg_set_first_seen (reply, GW_FAKE_TIME);
        proto_msg_set_last_seen (reply, GW_FAKE_TIME + 300);
        proto_msg_ports_append (reply, 25);
        proto_annotation_t annotation = {*proto_msg_host (request), "<b>x</b>\"", "PTR",
                                         GW_FAKE_TIME, GW_FAKE_TIME};
        proto_msg_annotations_append (reply, &annotation);
        break;
    }
    default:
        reply = proto_msg_reply (request, PROTO_MSG_ERROR);
        proto_msg_set_code (reply, PROTO_ERROR_INVALID);
        proto_msg_set_text (reply, "fake shard: unexpected request");
    }
    bool routed = proto_msg_id (request) == PROTO_MSG_SERIES_REQUEST ||
                  proto_msg_id (request) == PROTO_MSG_HOST_REQUEST;
    if (routed &&
        proto_shard_slot (proto_msg_host (request)) % peer->fake->shard_count != peer->index) {
        proto_msg_destroy (&reply);
        reply = proto_msg_reply (request, PROTO_MSG_ERROR);
        proto_msg_set_code (reply, PROTO_ERROR_WRONG_SHARD);
        proto_msg_set_text (reply, "fake shard: not my host");
    }
    return reply;
}

//  --------------------------------------------------------------------------
//  The canned answer of the broker.

static proto_msg_t *
s_broker_answer (gw_fake_t *self, proto_msg_t *request)
{
    proto_msg_t *reply;
    if (proto_msg_id (request) == PROTO_MSG_MAP_REQUEST) {
        reply = proto_msg_reply (request, PROTO_MSG_MAP);
        uint16_t slots[PROTO_SLOT_COUNT];
        for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
            slots[slot] = (uint16_t) (slot % self->shard_count);
        proto_msg_set_slots (reply, slots);
        s_append_peers (self, reply, false);
    }
    else {
        reply = proto_msg_reply (request, PROTO_MSG_STATUS);
        s_append_peers (self, reply, true);
    }
    proto_msg_set_epoch (reply, self->epoch);
    return reply;
}

//  --------------------------------------------------------------------------
static void
s_peer_answer (s_peer_t *peer, proto_msg_t **request_p)
{
    proto_msg_t *reply = peer->index == SIZE_MAX ? s_broker_answer (peer->fake, *request_p)
                                                 : s_shard_answer (peer, *request_p);
    proto_msg_destroy (request_p);
    proto_msg_send (&reply, peer->router);
}

//  --------------------------------------------------------------------------
static void
s_on_peer_poll (uv_poll_t *handle, int status, int events)
{
    (void) status;
    (void) events;
    s_peer_t *peer = (s_peer_t *) handle->data;
    while (zsock_events (peer->router) & ZMQ_POLLIN) {
        proto_msg_t *request = proto_msg_recv (peer->router);
        if (!request)
            break;
        assert (proto_msg_id (request) != PROTO_MSG_MALFORMED);
        if (peer->index != SIZE_MAX)
            peer->requests++;
        if (peer->silent)
            zlist_append (peer->held, request);
        else
            s_peer_answer (peer, &request);
    }
}

//  --------------------------------------------------------------------------
static s_peer_t *
s_peer_new (gw_fake_t *self, size_t index)
{
    s_peer_t *peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
    assert (peer);
    peer->fake = self;
    peer->index = index;
    peer->router = zsock_new (ZMQ_ROUTER);
    assert (peer->router);
    int port = zsock_bind (peer->router, "tcp://127.0.0.1:*");
    assert (port > 0);
    peer->endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    peer->held = zlist_new ();
    peer->poll.data = peer;
    uv_poll_init (self->loop, &peer->poll, zsock_fd (peer->router));
    uv_poll_start (&peer->poll, UV_READABLE, s_on_peer_poll);
    return peer;
}

static void
s_peer_destroy (s_peer_t *peer)
{
    proto_msg_t *request;
    while ((request = (proto_msg_t *) zlist_pop (peer->held)))
        proto_msg_destroy (&request);
    zlist_destroy (&peer->held);
    uv_close ((uv_handle_t *) &peer->poll, s_on_peer_closed);
    zsock_destroy (&peer->router);
}

//  --------------------------------------------------------------------------
gw_fake_t *
gw_fake_new (uv_loop_t *loop, size_t shard_count)
{
    assert (loop);
    assert (shard_count > 0);
    gw_fake_t *self = (gw_fake_t *) zmalloc (sizeof (gw_fake_t));
    assert (self);
    self->loop = loop;
    self->epoch = 1;
    self->broker = s_peer_new (self, SIZE_MAX);
    self->shards = (s_peer_t **) zmalloc (shard_count * sizeof (s_peer_t *));
    assert (self->shards);
    self->shard_count = shard_count;
    for (size_t index = 0; index < shard_count; index++)
        self->shards[index] = s_peer_new (self, index);
    return self;
}

//  --------------------------------------------------------------------------
void
gw_fake_destroy (gw_fake_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        gw_fake_t *self = *self_p;
        for (size_t index = 0; index < self->shard_count; index++)
            s_peer_destroy (self->shards[index]);
        free (self->shards);
        s_peer_destroy (self->broker);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
const char *
gw_fake_broker (gw_fake_t *self)
{
    assert (self);
    return self->broker->endpoint;
}

void
gw_fake_set_silent (gw_fake_t *self, size_t shard, bool silent)
{
    assert (self && shard < self->shard_count);
    self->shards[shard]->silent = silent;
}

void
gw_fake_release (gw_fake_t *self, size_t shard)
{
    assert (self && shard < self->shard_count);
    proto_msg_t *request;
    while ((request = (proto_msg_t *) zlist_pop (self->shards[shard]->held)))
        s_peer_answer (self->shards[shard], &request);
}

void
gw_fake_set_down (gw_fake_t *self, size_t shard, bool down)
{
    assert (self && shard < self->shard_count);
    self->shards[shard]->down = down;
}

void
gw_fake_set_epoch (gw_fake_t *self, uint64_t epoch)
{
    assert (self);
    self->epoch = epoch;
}

size_t
gw_fake_requests (gw_fake_t *self, size_t shard)
{
    assert (self && shard < self->shard_count);
    return self->shards[shard]->requests;
}

//  --------------------------------------------------------------------------
static void
s_on_guard (uv_timer_t *handle)
{
    (void) handle;  //  Only wakes the loop up
}

static void
s_on_guard_closed (uv_handle_t *handle)
{
    *(bool *) handle->data = true;
}

bool
gw_fake_run_until (uv_loop_t *loop, bool *flag, int timeout_msecs)
{
    assert (loop && flag);
    uv_timer_t guard;
    bool closed = false;
    uv_timer_init (loop, &guard);
    guard.data = &closed;
    uv_timer_start (&guard, s_on_guard, 10, 10);
    int64_t until = zclock_mono () + timeout_msecs;
    while (!*flag && zclock_mono () < until)
        uv_run (loop, UV_RUN_ONCE);
    uv_close ((uv_handle_t *) &guard, s_on_guard_closed);
    while (!closed)
        uv_run (loop, UV_RUN_ONCE);
    return *flag;
}

//  --------------------------------------------------------------------------
//  The HTTP client.

typedef struct {
    uv_tcp_t tcp;          //  The connection
    uv_connect_t connect;  //  Connect request
    uv_write_t write;      //  Write request
    char *request;         //  What to send
    char *response;        //  What came back (grown)
    size_t size;           //  Bytes in response
    bool done;             //  Closed
} s_client_t;

static void
s_on_client_closed (uv_handle_t *handle)
{
    ((s_client_t *) handle->data)->done = true;
}

static void
s_on_client_alloc (uv_handle_t *handle, size_t suggested, uv_buf_t *buffer)
{
    s_client_t *client = (s_client_t *) handle->data;
    client->response = (char *) realloc (client->response, client->size + suggested + 1);
    assert (client->response);
    *buffer = uv_buf_init (client->response + client->size, (unsigned) suggested);
}

static void
s_on_client_read (uv_stream_t *stream, ssize_t size, const uv_buf_t *buffer)
{
    (void) buffer;
    s_client_t *client = (s_client_t *) stream->data;
    if (size > 0)
        client->size += (size_t) size;
    else if (size < 0)
        uv_close ((uv_handle_t *) stream, s_on_client_closed);
}

static void
s_on_client_written (uv_write_t *write, int status)
{
    (void) write;
    (void) status;
}

static void
s_on_client_connected (uv_connect_t *connect, int status)
{
    s_client_t *client = (s_client_t *) connect->data;
    if (status < 0) {
        uv_close ((uv_handle_t *) &client->tcp, s_on_client_closed);
        return;
    }
    uv_buf_t buffer = uv_buf_init (client->request, (unsigned) strlen (client->request));
    uv_write (&client->write, (uv_stream_t *) &client->tcp, &buffer, 1, s_on_client_written);
    uv_read_start ((uv_stream_t *) &client->tcp, s_on_client_alloc, s_on_client_read);
}

char *
gw_fake_http (uv_loop_t *loop, int port, const char *request, int timeout_msecs)
{
    assert (loop && request);
    s_client_t client;
    memset (&client, 0, sizeof client);
    client.request = strdup (request);
    client.tcp.data = &client;
    client.connect.data = &client;
    struct sockaddr_in address;
    uv_ip4_addr ("127.0.0.1", port, &address);
    uv_tcp_init (loop, &client.tcp);
    int rc = uv_tcp_connect (&client.connect, &client.tcp, (const struct sockaddr *) &address,
                             s_on_client_connected);
    assert (rc == 0);
    if (!gw_fake_run_until (loop, &client.done, timeout_msecs)) {
        if (!uv_is_closing ((uv_handle_t *) &client.tcp))
            uv_close ((uv_handle_t *) &client.tcp, s_on_client_closed);
        gw_fake_run_until (loop, &client.done, 1000);
        zstr_free (&client.response);
    }
    else if (client.response)
        client.response[client.size] = 0;
    else
        client.response = strdup ("");
    free (client.request);
    return client.response;
}

//  --------------------------------------------------------------------------
void
gw_fake_test (bool verbose)
{
    (void) verbose;
    printf (" * gw_fake: ");
    uv_loop_t loop;
    uv_loop_init (&loop);
    gw_fake_t *fake = gw_fake_new (&loop, 2);
    assert (strncmp (gw_fake_broker (fake), "tcp://127.0.0.1:", 16) == 0);
    //  One real round trip through the fake broker, the way the gateway talks.
    zsock_t *dealer = zsock_new_dealer (gw_fake_broker (fake));
    assert (dealer);
    proto_msg_t *request = proto_msg_new (PROTO_MSG_MAP_REQUEST);
    proto_msg_set_request_id (request, 7);
    proto_msg_send (&request, dealer);
    bool ready = false;
    while (!ready) {
        uv_run (&loop, UV_RUN_NOWAIT);
        ready = zsock_events (dealer) & ZMQ_POLLIN;
    }
    proto_msg_t *map = proto_msg_recv (dealer);
    assert (map && proto_msg_id (map) == PROTO_MSG_MAP && proto_msg_request_id (map) == 7);
    assert (proto_msg_peers_count (map) == 2 && proto_msg_slots (map)[3] == 1);
    proto_msg_destroy (&map);
    zsock_destroy (&dealer);
    //  No server on the port: the client gives up with what it got (nothing).
    char *nothing = gw_fake_http (&loop, 1, "GET / HTTP/1.1\r\n\r\n", 1000);
    assert (nothing && *nothing == 0);
    free (nothing);
    gw_fake_destroy (&fake);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert (uv_loop_close (&loop) == 0);
    printf ("OK\n");
}
