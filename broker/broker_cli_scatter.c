/*  broker_cli_scatter.c - the CLI's scatter-gather to the shards of the slot map.

    Each shard has at most one awaited request id; a reply counts only if it carries it.
    Polling uses zmq_poll over the DEALERs that await something, so a shard that already
    answered (or never got a request) costs nothing while the others are waited for.
*/
#include "broker/broker_cli_scatter.h"
#include "broker/broker_cli.h"

#include <stdarg.h>
#include <unistd.h>

typedef struct {
    char *name;        //  Shard name from the map
    char *endpoint;    //  Where it listens ("" if it never registered)
    zsock_t *dealer;   //  Connected on the first request, or NULL
    uint64_t awaited;  //  Request id whose reply is awaited, 0 if none
    bool answered;     //  The awaited reply came
} s_shard_t;

struct _broker_cli_scatter_t {
    s_shard_t *shards;                 //  In map order
    size_t shard_count;                //  Shards in the map
    uint16_t slots[PROTO_SLOT_COUNT];  //  Shard index of each slot
    uint64_t next_request_id;          //  Request id of the next request
    char *command;                     //  Prefix of messages on stderr (NULL: quiet)
    proto_curve_t *curve;              //  Borrowed CURVE keys, or NULL (plain)
};

//  --------------------------------------------------------------------------
//  Say something on stderr, prefixed by the command (quiet without a command).

static void
s_say (broker_cli_scatter_t *self, const char *format, ...)
{
    if (!self->command)
        return;
    va_list args;
    va_start (args, format);
    fprintf (stderr, "%s: ", self->command);
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
}

//  --------------------------------------------------------------------------
//  Check the MAP and copy what we use.  0 or -1 (said on stderr).

static int
s_load_map (broker_cli_scatter_t *self, proto_msg_t *map, const char *endpoint)
{
    if (proto_msg_id (map) == PROTO_MSG_ERROR) {
        s_say (self, "the broker at %s refused the map request: %s", endpoint,
               proto_msg_text (map));
        return -1;
    }
    const uint16_t *slots = proto_msg_slots (map);
    if (proto_msg_id (map) != PROTO_MSG_MAP || !slots) {
        s_say (self, "the broker at %s sent %s instead of a MAP", endpoint,
               proto_msg_id_name (proto_msg_id (map)));
        return -1;
    }
    size_t peer_count = proto_msg_peers_count (map);
    self->shards = (s_shard_t *) zmalloc ((peer_count ? peer_count : 1) * sizeof (s_shard_t));
    for (size_t index = 0; index < peer_count; index++) {
        proto_peer_t peer;
        proto_msg_peers_at (map, index, &peer);
        if (!streq (peer.role, "shard"))
            continue;
        s_shard_t *shard = &self->shards[self->shard_count++];
        shard->name = strdup (peer.name);
        shard->endpoint = strdup (peer.endpoint);
        assert (shard->name && shard->endpoint);
    }
    if (self->shard_count == 0) {
        s_say (self, "the broker at %s knows no shard", endpoint);
        return -1;
    }
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++) {
        if (slots[slot] >= self->shard_count) {
            s_say (self, "the broker's map gives slot %zu to shard %u of %zu", slot, slots[slot],
                   self->shard_count);
            return -1;
        }
        self->slots[slot] = slots[slot];
    }
    return 0;
}

//  --------------------------------------------------------------------------
broker_cli_scatter_t *
broker_cli_scatter_new (const char *endpoint, int timeout_msecs, const char *command,
                        proto_curve_t *curve)
{
    assert (endpoint);
    broker_cli_scatter_t *self = (broker_cli_scatter_t *) zmalloc (sizeof (broker_cli_scatter_t));
    self->curve = curve;
    self->command = command ? strdup (command) : NULL;
    self->next_request_id = ((uint64_t) zclock_time () << 20) ^ (uint64_t) getpid ();
    proto_msg_t *request = proto_msg_new (PROTO_MSG_MAP_REQUEST);
    proto_msg_set_request_id (request, self->next_request_id++);
    proto_msg_t *map = broker_cli_request (endpoint, &request, timeout_msecs, command, curve);
    if (!map || s_load_map (self, map, endpoint))
        broker_cli_scatter_destroy (&self);
    proto_msg_destroy (&map);
    return self;
}

//  --------------------------------------------------------------------------
void
broker_cli_scatter_destroy (broker_cli_scatter_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        broker_cli_scatter_t *self = *self_p;
        for (size_t index = 0; index < self->shard_count; index++) {
            zsock_destroy (&self->shards[index].dealer);
            zstr_free (&self->shards[index].endpoint);
            zstr_free (&self->shards[index].name);
        }
        free (self->shards);
        zstr_free (&self->command);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
size_t
broker_cli_scatter_shard_count (broker_cli_scatter_t *self)
{
    assert (self);
    return self->shard_count;
}

//  --------------------------------------------------------------------------
const char *
broker_cli_scatter_shard_name (broker_cli_scatter_t *self, size_t index)
{
    assert (self);
    assert (index < self->shard_count);
    return self->shards[index].name;
}

//  --------------------------------------------------------------------------
const char *
broker_cli_scatter_shard_endpoint (broker_cli_scatter_t *self, size_t index)
{
    assert (self);
    assert (index < self->shard_count);
    return self->shards[index].endpoint;
}

//  --------------------------------------------------------------------------
size_t
broker_cli_scatter_shard_of (broker_cli_scatter_t *self, const proto_addr_t *host)
{
    assert (self);
    assert (host);
    return self->slots[proto_shard_slot (host)];
}

//  --------------------------------------------------------------------------
int
broker_cli_scatter_send (broker_cli_scatter_t *self, size_t index, proto_msg_t **request_p)
{
    assert (self);
    assert (index < self->shard_count);
    assert (request_p && *request_p);
    s_shard_t *shard = &self->shards[index];
    shard->awaited = 0;
    shard->answered = false;
    if (!shard->dealer && *shard->endpoint) {
        shard->dealer = zsock_new (ZMQ_DEALER);
        assert (shard->dealer);
        proto_curve_client (self->curve, shard->dealer);
        proto_msg_limit_socket_small (shard->dealer);
        if (zsock_connect (shard->dealer, "%s", shard->endpoint)) {
            s_say (self, "%s has a bad endpoint '%s'", shard->name, shard->endpoint);
            zsock_destroy (&shard->dealer);
        }
    }
    if (!shard->dealer) {
        proto_msg_destroy (request_p);
        return -1;
    }
    uint64_t request_id = self->next_request_id++;
    proto_msg_set_request_id (*request_p, request_id);
    if (proto_msg_send (request_p, shard->dealer))
        return -1;
    shard->awaited = request_id;
    return 0;
}

//  --------------------------------------------------------------------------
bool
broker_cli_scatter_waiting (broker_cli_scatter_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->shard_count; index++)
        if (self->shards[index].awaited)
            return true;
    return false;
}

//  --------------------------------------------------------------------------
proto_msg_t *
broker_cli_scatter_recv (broker_cli_scatter_t *self, int64_t deadline, size_t *index)
{
    assert (self);
    assert (index);
    zmq_pollitem_t *items =
        (zmq_pollitem_t *) zmalloc (self->shard_count * sizeof (zmq_pollitem_t));
    size_t *owners = (size_t *) zmalloc (self->shard_count * sizeof (size_t));
    proto_msg_t *reply = NULL;
    while (!reply && !zsys_interrupted) {
        int count = 0;
        for (size_t shard = 0; shard < self->shard_count; shard++)
            if (self->shards[shard].awaited) {
                items[count] =
                    (zmq_pollitem_t){zsock_resolve (self->shards[shard].dealer), 0, ZMQ_POLLIN, 0};
                owners[count++] = shard;
            }
        int64_t wait = deadline - zclock_mono ();
        if (count == 0 || wait <= 0)
            break;
        int rc = zmq_poll (items, count, (long) wait);
        if (rc < 0 && errno != EINTR)
            break;
        for (int item = 0; item < count && !reply && rc > 0; item++) {
            if (!(items[item].revents & ZMQ_POLLIN))
                continue;
            s_shard_t *shard = &self->shards[owners[item]];
            proto_msg_t *message = proto_msg_recv (shard->dealer);
            if (message && proto_msg_id (message) != PROTO_MSG_MALFORMED &&
                proto_msg_request_id (message) == shard->awaited) {
                shard->awaited = 0;
                shard->answered = true;
                *index = owners[item];
                reply = message;
            }
            else
                proto_msg_destroy (&message);  //  Late, foreign or malformed
        }
    }
    free (owners);
    free (items);
    return reply;
}

//  --------------------------------------------------------------------------
bool
broker_cli_scatter_answered (broker_cli_scatter_t *self, size_t index)
{
    assert (self);
    assert (index < self->shard_count);
    return self->shards[index].answered;
}

//  --------------------------------------------------------------------------
//  Selftest: a fake broker (an actor) serves a MAP of three shards, of which the test
//  thread plays two (ROUTERs) and the third never registered.

static void
s_fake_broker (zsock_t *pipe, void *args)
{
    const char **endpoints = (const char **) args;
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    assert (router);
    zsock_signal (pipe, 0);
    zstr_send (pipe, zsock_endpoint (router));
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (zpoller_wait (poller, -1) == router) {
        proto_msg_t *request = proto_msg_recv (router);
        proto_msg_t *map = proto_msg_reply (request, PROTO_MSG_MAP);
        uint16_t slots[PROTO_SLOT_COUNT];
        for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
            slots[slot] = (uint16_t) (slot % 3);
        proto_msg_set_slots (map, slots);
        const char *names[] = {"shard-0", "shard-1", "shard-2"};
        for (size_t index = 0; index < 3; index++) {
            proto_peer_t peer = {.role = "shard",
                                 .name = names[index],
                                 .endpoint = endpoints[index],
                                 .spool = "",
                                 .state = "up"};
            proto_msg_peers_append (map, &peer);
        }
        proto_peer_t ingestor = {
            .role = "ingestor", .name = "router1", .endpoint = "", .spool = "/s", .state = "up"};
        proto_msg_peers_append (map, &ingestor);
        proto_msg_send (&map, router);
        proto_msg_destroy (&request);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

void
broker_cli_scatter_test (bool verbose)
{
    printf (" * broker_cli_scatter: ");
    if (verbose)
        printf ("\n");
    zsock_t *routers[2] = {zsock_new_router ("tcp://127.0.0.1:*"),
                           zsock_new_router ("tcp://127.0.0.1:*")};
    assert (routers[0] && routers[1]);
    const char *endpoints[3] = {zsock_endpoint (routers[0]), zsock_endpoint (routers[1]), ""};
    zactor_t *broker = zactor_new (s_fake_broker, (void *) endpoints);
    char *broker_endpoint = zstr_recv (broker);
    broker_cli_scatter_t *scatter = broker_cli_scatter_new (broker_endpoint, 2000, NULL, NULL);
    assert (scatter);
    assert (broker_cli_scatter_shard_count (scatter) == 3);
    assert (streq (broker_cli_scatter_shard_name (scatter, 2), "shard-2"));
    assert (streq (broker_cli_scatter_shard_endpoint (scatter, 2), ""));
    proto_addr_t host;
    proto_addr_from_ipv4 (&host, 0x0A000001);
    assert (broker_cli_scatter_shard_of (scatter, &host) == proto_shard_slot (&host) % 3);

    for (size_t shard = 0; shard < 3; shard++) {
        proto_msg_t *request = proto_msg_new (PROTO_MSG_DAYS_REQUEST);
        assert (broker_cli_scatter_send (scatter, shard, &request) == (shard < 2 ? 0 : -1));
        assert (request == NULL);
    }
    assert (broker_cli_scatter_waiting (scatter));
    //  shard-0 first sends a stale reply and garbage, then the awaited one
    proto_msg_t *request = proto_msg_recv (routers[0]);
    assert (request && proto_msg_id (request) == PROTO_MSG_DAYS_REQUEST);
    proto_msg_t *stale = proto_msg_reply (request, PROTO_MSG_DAYS);
    proto_msg_set_request_id (stale, proto_msg_request_id (request) - 1);
    proto_msg_send (&stale, routers[0]);
    zframe_t *routing_id = zframe_dup (proto_msg_routing_id (request));
    zmsg_t *garbage = zmsg_new ();
    zmsg_append (garbage, &routing_id);
    zmsg_addstr (garbage, "not msgpack");
    zmsg_send (&garbage, routers[0]);
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_DAYS);
    proto_msg_days_append (reply, 20000);
    proto_msg_send (&reply, routers[0]);
    proto_msg_destroy (&request);
    //  shard-1 receives but never answers
    request = proto_msg_recv (routers[1]);
    assert (request);
    proto_msg_destroy (&request);

    size_t index = 99;
    int64_t start = zclock_mono ();
    reply = broker_cli_scatter_recv (scatter, start + 2000, &index);
    assert (reply && index == 0);
    assert (proto_msg_days_count (reply) == 1 && proto_msg_days_at (reply, 0) == 20000);
    proto_msg_destroy (&reply);
    assert (broker_cli_scatter_answered (scatter, 0));
    assert (!broker_cli_scatter_answered (scatter, 1));
    assert (broker_cli_scatter_waiting (scatter));
    start = zclock_mono ();
    assert (broker_cli_scatter_recv (scatter, start + 200, &index) == NULL);
    assert (zclock_mono () - start >= 190);
    assert (!broker_cli_scatter_answered (scatter, 1));
    broker_cli_scatter_destroy (&scatter);
    broker_cli_scatter_destroy (&scatter);

    //  Nobody at the broker endpoint: NULL within the timeout
    zactor_destroy (&broker);
    assert (broker_cli_scatter_new (broker_endpoint, 200, NULL, NULL) == NULL);
    zstr_free (&broker_endpoint);
    zsock_destroy (&routers[1]);
    zsock_destroy (&routers[0]);
    printf ("OK\n");
}
