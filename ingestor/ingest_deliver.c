/*  ingest_deliver.c - parts to shards, until acknowledged (see ingest_deliver.h).

    Each shard has a heap struct (the poll callback's argument, so it must not move) with
    its socket and its state in the current delivery: the frame, whether it acknowledged,
    when to send next and the backoff.  Times are zclock_mono () msecs.
*/
#include "ingestor/ingest_deliver.h"
#include "ingestor/ingest_poll.h"

#include <assert.h>

typedef struct _s_shard_t s_shard_t;

struct _ingest_deliver_t {
    uv_loop_t *loop;                    //  Loop the sockets are watched on
    char *source;                       //  Our name, the parts' source
    ingest_deliver_fn *on_result;       //  Outcome callback
    ingest_deliver_stale_fn *on_stale;  //  Map-is-stale callback
    void *arg;                          //  Callbacks' argument
    proto_curve_t *curve;               //  Borrowed CURVE keys, or NULL (plain)
    s_shard_t **shards;                 //  One per shard of the map, in index order
    size_t shard_count;                 //  Entries in shards
    bool busy;                          //  A delivery is in progress
    char *file;                         //  Its file (relative path)
    int64_t block;                      //  Its block
    uint64_t request_id;                //  Its request id
    size_t acked;                       //  Shards that acknowledged it
    size_t expired;                     //  Of them, shards that refused it as too old
    bool verbose;                       //  Log traffic
};

struct _s_shard_t {
    ingest_deliver_t *owner;  //  The delivery object
    size_t index;             //  Shard index in the map
    char *name;               //  Shard name
    char *endpoint;           //  Where it listens, "" if unknown yet
    zsock_t *dealer;          //  To the shard, NULL without an endpoint
    ingest_poll_t *poll;      //  Watches dealer
    int64_t unreachable;      //  Mono msecs since sends fail for lack of a connection, 0 if not
    bool warned;              //  The unreachable shard was logged
    zframe_t *frame;          //  The current part, NULL when idle
    bool acked;               //  The shard acknowledged the current part
    int64_t send_at;          //  Next send due, mono msecs
    int64_t backoff;          //  Wait after the next send, msecs
    int64_t retry;            //  Wait after the next ERROR 503 or 500, msecs
    bool outstanding;         //  Sent, no answer yet
    bool lost;                //  The connection went away since it was sent
    uint16_t error;           //  Last ERROR code logged for this part (once each)
};

//  --------------------------------------------------------------------------
//  Shard sockets

static void s_on_ready (void *arg);

static void
s_shard_close (s_shard_t *shard)
{
    ingest_poll_destroy (&shard->poll);
    zsock_destroy (&shard->dealer);
}

static void
s_shard_destroy (s_shard_t **shard_p)
{
    s_shard_t *shard = *shard_p;
    if (!shard)
        return;
    s_shard_close (shard);
    zframe_destroy (&shard->frame);
    free (shard->endpoint);
    free (shard->name);
    free (shard);
    *shard_p = NULL;
}

static void
s_shard_connect (s_shard_t *shard)
{
    s_shard_close (shard);
    if (!*shard->endpoint)
        return;
    shard->dealer = zsock_new (ZMQ_DEALER);
    assert (shard->dealer);
    proto_curve_client (shard->owner->curve, shard->dealer);
    proto_msg_limit_socket_small (shard->dealer);
    zsock_set_immediate (shard->dealer, 1);
    zsock_set_linger (shard->dealer, 0);
    zsock_set_sndtimeo (shard->dealer, 0);
    zsock_set_heartbeat_ivl (shard->dealer, PROTO_HEARTBEAT_MSECS);
    zsock_set_heartbeat_timeout (shard->dealer, PROTO_HEARTBEAT_LIVENESS * PROTO_HEARTBEAT_MSECS);
    if (zsock_connect (shard->dealer, "%s", shard->endpoint)) {
        zsys_error ("deliver: shard %s: cannot connect to '%s'", shard->name, shard->endpoint);
        zsock_destroy (&shard->dealer);
        return;
    }
    shard->poll = ingest_poll_new (shard->owner->loop, shard->dealer, s_on_ready, shard);
    if (!shard->poll)
        zsock_destroy (&shard->dealer);
}

//  --------------------------------------------------------------------------
ingest_deliver_t *
ingest_deliver_new (uv_loop_t *loop, const char *source, ingest_deliver_fn *on_result,
                    ingest_deliver_stale_fn *on_stale, void *arg)
{
    assert (loop);
    assert (source);
    assert (on_result);
    assert (on_stale);
    ingest_deliver_t *self = (ingest_deliver_t *) zmalloc (sizeof (ingest_deliver_t));
    assert (self);
    self->loop = loop;
    self->source = strdup (source);
    self->on_result = on_result;
    self->on_stale = on_stale;
    self->arg = arg;
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_deliver_destroy (ingest_deliver_t **self_p)
{
    assert (self_p);
    ingest_deliver_t *self = *self_p;
    if (!self)
        return;
    ingest_deliver_cancel (self);
    for (size_t index = 0; index < self->shard_count; index++)
        s_shard_destroy (&self->shards[index]);
    free (self->shards);
    free (self->source);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_deliver_set_map (ingest_deliver_t *self, proto_msg_t *map, size_t shard_count)
{
    assert (self);
    assert (map);
    assert (shard_count <= proto_msg_peers_count (map));
    if (shard_count != self->shard_count)
        ingest_deliver_cancel (self);
    for (size_t index = shard_count; index < self->shard_count; index++)
        s_shard_destroy (&self->shards[index]);
    self->shards = (s_shard_t **) realloc (self->shards, shard_count * sizeof (s_shard_t *));
    assert (self->shards || shard_count == 0);
    for (size_t index = self->shard_count; index < shard_count; index++)
        self->shards[index] = NULL;
    self->shard_count = shard_count;
    for (size_t index = 0; index < shard_count; index++) {
        proto_peer_t peer;
        proto_msg_peers_at (map, index, &peer);
        s_shard_t *shard = self->shards[index];
        if (!shard) {
            shard = (s_shard_t *) zmalloc (sizeof (s_shard_t));
            assert (shard);
            shard->owner = self;
            shard->index = index;
            shard->name = strdup (peer.name);
            shard->endpoint = strdup ("");
            self->shards[index] = shard;
        }
        else if (!streq (shard->name, peer.name)) {
            free (shard->name);
            shard->name = strdup (peer.name);
        }
        if (!streq (shard->endpoint, peer.endpoint)) {
            if (*shard->endpoint)
                zsys_info ("deliver: shard %s moved from %s to '%s'", shard->name, shard->endpoint,
                           peer.endpoint);
            free (shard->endpoint);
            shard->endpoint = strdup (peer.endpoint);
            s_shard_connect (shard);
            shard->send_at = 0;  //  Send at once to the new endpoint
        }
    }
}

//  --------------------------------------------------------------------------
bool
ingest_deliver_ready (ingest_deliver_t *self)
{
    assert (self);
    if (self->shard_count == 0)
        return false;
    for (size_t index = 0; index < self->shard_count; index++)
        if (!self->shards[index]->dealer)
            return false;
    return true;
}

//  --------------------------------------------------------------------------
void
ingest_deliver_start (ingest_deliver_t *self, const char *file, int64_t block, uint64_t request_id,
                      zframe_t **frames, size_t count)
{
    assert (self);
    assert (file);
    assert (frames);
    assert (count == self->shard_count);
    ingest_deliver_cancel (self);
    self->busy = true;
    self->file = strdup (file);
    self->block = block;
    self->request_id = request_id;
    self->acked = 0;
    self->expired = 0;
    for (size_t index = 0; index < count; index++) {
        s_shard_t *shard = self->shards[index];
        shard->frame = frames[index];
        frames[index] = NULL;
        shard->acked = false;
        shard->send_at = 0;
        shard->backoff = INGEST_DELIVER_RESEND_MSECS;
        shard->retry = INGEST_DELIVER_RETRY_MSECS;
        shard->outstanding = false;
        shard->lost = false;
        shard->error = 0;
    }
    ingest_deliver_tick (self);
}

//  --------------------------------------------------------------------------
void
ingest_deliver_cancel (ingest_deliver_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->shard_count; index++)
        zframe_destroy (&self->shards[index]->frame);
    zstr_free (&self->file);
    self->busy = false;
}

bool
ingest_deliver_busy (ingest_deliver_t *self)
{
    assert (self);
    return self->busy;
}

size_t
ingest_deliver_acked (ingest_deliver_t *self)
{
    assert (self);
    return self->busy ? self->acked : 0;
}

void
ingest_deliver_set_curve (ingest_deliver_t *self, proto_curve_t *curve)
{
    assert (self);
    self->curve = curve;
}

size_t
ingest_deliver_expired (ingest_deliver_t *self)
{
    assert (self);
    return self->expired;
}

void
ingest_deliver_set_verbose (ingest_deliver_t *self, bool verbose)
{
    assert (self);
    self->verbose = verbose;
}

//  --------------------------------------------------------------------------
//  End the delivery and tell the owner (who may start the next one).

static void
s_finish (ingest_deliver_t *self, ingest_deliver_result_t result, const char *reason)
{
    ingest_deliver_cancel (self);
    self->on_result (self->arg, result, reason);
}

//  --------------------------------------------------------------------------
void
ingest_deliver_tick (ingest_deliver_t *self)
{
    assert (self);
    if (!self->busy)
        return;
    int64_t now = zclock_mono ();
    for (size_t index = 0; index < self->shard_count; index++) {
        s_shard_t *shard = self->shards[index];
        if (shard->acked)
            continue;
        if (shard->outstanding && shard->dealer) {
            //  Without a connection there is no POLLOUT (ZMQ_IMMEDIATE): a part sent
            //  before the connection went away is lost, send it again once it is back
            bool connected = (zsock_events (shard->dealer) & ZMQ_POLLOUT) != 0;
            if (!connected)
                shard->lost = true;
            else if (shard->lost) {
                if (self->verbose)
                    zsys_debug ("deliver: shard %s connected again: resending %s", shard->name,
                                self->file);
                shard->lost = false;
                shard->send_at = now;
            }
        }
        if (now < shard->send_at)
            continue;
        if (shard->dealer &&
            zframe_send (&shard->frame, shard->dealer, ZFRAME_REUSE | ZFRAME_DONTWAIT) == 0) {
            if (self->verbose)
                zsys_debug ("deliver: %s -> shard %s (%zu bytes)", self->file, shard->name,
                            zframe_size (shard->frame));
            if (shard->warned)
                zsys_notice ("deliver: shard %s reachable again", shard->name);
            shard->unreachable = 0;
            shard->warned = false;
            shard->outstanding = true;
            shard->lost = false;
            shard->send_at = now + shard->backoff;
            shard->backoff = shard->backoff * 2 < INGEST_DELIVER_RESEND_MAX_MSECS
                                 ? shard->backoff * 2
                                 : INGEST_DELIVER_RESEND_MAX_MSECS;
        }
        else {
            //  A connection takes a moment at start: warn only when it lasts
            if (!shard->unreachable)
                shard->unreachable = now;
            if (!shard->warned && now - shard->unreachable >= INGEST_DELIVER_WARN_MSECS) {
                zsys_warning ("deliver: shard %s (%s) not connected for %d secs: parts wait for it",
                              shard->name, *shard->endpoint ? shard->endpoint : "no endpoint",
                              INGEST_DELIVER_WARN_MSECS / 1000);
                shard->warned = true;
            }
            shard->send_at = now + INGEST_DELIVER_CONNECT_MSECS;
        }
    }
}

//  --------------------------------------------------------------------------
//  An answer from a shard.

static void
s_handle_error (s_shard_t *shard, proto_msg_t *msg)
{
    ingest_deliver_t *self = shard->owner;
    uint16_t code = proto_msg_code (msg);
    bool first = shard->error != code;
    shard->error = code;
    shard->outstanding = false;  //  It answered: the retry timer decides
    int64_t now = zclock_mono ();
    if (code == PROTO_ERROR_MALFORMED || code == PROTO_ERROR_INVALID) {
        char reason[INGEST_DELIVER_ERROR_MAX];
        snprintf (reason, sizeof reason, "shard %s refused the part: ERROR %u: %s", shard->name,
                  code, proto_msg_text (msg));
        s_finish (self, INGEST_DELIVER_FAILED, reason);
        return;
    }
    if (code == PROTO_ERROR_STORE_FULL) {
        if (first)
            zsys_error ("deliver: %s: shard %s store full (ERROR 507: %s): retrying every %d "
                        "secs",
                        self->file, shard->name, proto_msg_text (msg),
                        INGEST_DELIVER_FULL_MSECS / 1000);
        shard->send_at = now + INGEST_DELIVER_FULL_MSECS;
    }
    else if (code == PROTO_ERROR_WRONG_SHARD) {
        if (first)
            zsys_warning ("deliver: %s: shard %s does not own some of its hosts (ERROR 409: "
                          "%s): asking for the map",
                          self->file, shard->name, proto_msg_text (msg));
        shard->send_at = now + INGEST_DELIVER_RETRY_MAX_MSECS;
        self->on_stale (self->arg);
    }
    else {
        if (code != PROTO_ERROR_UNAVAILABLE && first)
            zsys_warning ("deliver: %s: shard %s: ERROR %u: %s (retrying)", self->file, shard->name,
                          code, proto_msg_text (msg));
        else if (self->verbose)
            zsys_debug ("deliver: %s: shard %s unavailable: %s", self->file, shard->name,
                        proto_msg_text (msg));
        shard->send_at = now + shard->retry;
        shard->retry = shard->retry * 2 < INGEST_DELIVER_RETRY_MAX_MSECS
                           ? shard->retry * 2
                           : INGEST_DELIVER_RETRY_MAX_MSECS;
    }
}

static void
s_handle (s_shard_t *shard, proto_msg_t *msg)
{
    ingest_deliver_t *self = shard->owner;
    proto_msg_id_t id = proto_msg_id (msg);
    if (id == PROTO_MSG_MALFORMED)
        zsys_warning ("deliver: shard %s: malformed answer dropped: %s", shard->name,
                      proto_msg_text (msg));
    else if (id == PROTO_MSG_PART_ACK) {
        if (!self->busy || shard->acked || !streq (proto_msg_source (msg), self->source) ||
            !streq (proto_msg_file (msg), self->file) || proto_msg_block (msg) != self->block)
            return;  //  The answer to an earlier resend
        if (self->verbose)
            zsys_debug ("deliver: %s acknowledged by shard %s%s", self->file, shard->name,
                        proto_msg_duplicate (msg) ? " (duplicate)" : "");
        shard->acked = true;
        self->expired += proto_msg_expired (msg);
        zframe_destroy (&shard->frame);
        if (++self->acked == self->shard_count)
            s_finish (self, INGEST_DELIVER_DONE, "");
    }
    else if (id == PROTO_MSG_ERROR) {
        if (self->busy && !shard->acked && proto_msg_request_id (msg) == self->request_id)
            s_handle_error (shard, msg);
        else if (self->verbose)
            zsys_debug ("deliver: shard %s: stale ERROR %u dropped", shard->name,
                        proto_msg_code (msg));
    }
    else
        zsys_warning ("deliver: shard %s: unexpected %s dropped", shard->name,
                      proto_msg_id_name (id));
}

//  --------------------------------------------------------------------------
size_t
ingest_deliver_drain (ingest_deliver_t *self)
{
    assert (self);
    size_t handled = 0;
    for (size_t index = 0; index < self->shard_count; index++) {
        s_shard_t *shard = self->shards[index];
        while (shard->dealer && (zsock_events (shard->dealer) & ZMQ_POLLIN)) {
            proto_msg_t *msg = proto_msg_recv (shard->dealer);
            if (!msg)
                break;
            s_handle (shard, msg);
            proto_msg_destroy (&msg);
            handled++;
        }
    }
    return handled;
}

static void
s_on_ready (void *arg)
{
    ingest_deliver_drain (((s_shard_t *) arg)->owner);
}

//  --------------------------------------------------------------------------
//  Selftest: two ROUTERs play the shards.

typedef struct {
    int results[2];  //  Callbacks per result
    int stale;       //  on_stale calls
    char reason[INGEST_DELIVER_ERROR_MAX];
} s_test_t;

static void
s_test_result (void *arg, ingest_deliver_result_t result, const char *reason)
{
    s_test_t *test = (s_test_t *) arg;
    test->results[result]++;
    snprintf (test->reason, sizeof test->reason, "%s", reason);
}

static void
s_test_stale (void *arg)
{
    ((s_test_t *) arg)->stale++;
}

//  Run the loop until router has a message; return it.
static proto_msg_t *
s_test_recv (uv_loop_t *loop, ingest_deliver_t *deliver, zsock_t *router)
{
    for (int round = 0; round < 500; round++) {
        if (zsock_events (router) & ZMQ_POLLIN)
            return proto_msg_recv (router);
        uv_run (loop, UV_RUN_NOWAIT);
        ingest_deliver_tick (deliver);
        ingest_deliver_drain (deliver);
        zclock_sleep (10);
    }
    return NULL;
}

static void
s_test_spin (uv_loop_t *loop, ingest_deliver_t *deliver)
{
    for (int round = 0; round < 20; round++) {
        uv_run (loop, UV_RUN_NOWAIT);
        ingest_deliver_drain (deliver);
        zclock_sleep (5);
    }
}

static void
s_test_answer (zsock_t *router, proto_msg_t *part, uint16_t code)
{
    proto_msg_t *reply = proto_msg_reply (part, code ? PROTO_MSG_ERROR : PROTO_MSG_PART_ACK);
    if (code) {
        proto_msg_set_code (reply, code);
        proto_msg_set_text (reply, "test");
    }
    else {
        proto_msg_set_source (reply, proto_msg_source (part));
        proto_msg_set_file (reply, proto_msg_file (part));
        proto_msg_set_block (reply, proto_msg_block (part));
    }
    proto_msg_send (&reply, router);
}

static zframe_t *
s_test_part (const char *file, int64_t block, uint64_t request_id)
{
    proto_msg_t *part = proto_msg_new (PROTO_MSG_PART);
    proto_msg_set_request_id (part, request_id);
    proto_msg_set_source (part, "router1");
    proto_msg_set_file (part, file);
    proto_msg_set_block (part, block);
    zframe_t *frame = proto_msg_encode (part);
    proto_msg_destroy (&part);
    return frame;
}

void
ingest_deliver_test (bool verbose)
{
    printf (" * ingest_deliver: ");
    fflush (stdout);
    if (!verbose)
        zsys_set_logstream (NULL);
    zsock_t *routers[2];
    char endpoints[2][64];
    proto_msg_t *map = proto_msg_new (PROTO_MSG_MAP);
    for (size_t index = 0; index < 2; index++) {
        routers[index] = zsock_new (ZMQ_ROUTER);
        //  Below the kernel's ephemeral range (32768-60999): the dealer's reconnects to a
        //  closed ephemeral port can land on that port itself (a TCP self-connect), and the
        //  shard's rebind below would then fail
        int port = zsock_bind (routers[index], "tcp://127.0.0.1:![20000-32000]");
        assert (port > 0);
        char name[16];
        snprintf (endpoints[index], sizeof endpoints[index], "tcp://127.0.0.1:%d", port);
        snprintf (name, sizeof name, "shard-%zu", index);
        proto_peer_t peer = {"shard", name, index ? endpoints[index] : "", "", "up", 0, 0, 0,
                             {0},     {0}};
        proto_msg_peers_append (map, &peer);
    }
    uv_loop_t loop;
    uv_loop_init (&loop);
    s_test_t test;
    memset (&test, 0, sizeof test);
    ingest_deliver_t *deliver =
        ingest_deliver_new (&loop, "router1", s_test_result, s_test_stale, &test);
    ingest_deliver_set_verbose (deliver, verbose);
    assert (!ingest_deliver_ready (deliver));
    ingest_deliver_set_map (deliver, map, 2);
    assert (!ingest_deliver_ready (deliver));  //  shard-0 has no endpoint yet
    proto_msg_destroy (&map);
    map = proto_msg_new (PROTO_MSG_MAP);
    for (size_t index = 0; index < 2; index++) {
        char name[16];
        snprintf (name, sizeof name, "shard-%zu", index);
        proto_peer_t peer = {"shard", name, endpoints[index], "", "up", 0, 0, 0, {0}, {0}};
        proto_msg_peers_append (map, &peer);
    }
    ingest_deliver_set_map (deliver, map, 2);
    assert (ingest_deliver_ready (deliver));

    //  Shard 0 acknowledges at once; shard 1 is unavailable, then acknowledges a resend
    zframe_t *frames[2] = {s_test_part ("nfcapd.197001010005", 300, 1),
                           s_test_part ("nfcapd.197001010005", 300, 1)};
    ingest_deliver_start (deliver, "nfcapd.197001010005", 300, 1, frames, 2);
    assert (frames[0] == NULL && ingest_deliver_busy (deliver));
    proto_msg_t *part = s_test_recv (&loop, deliver, routers[0]);
    assert (part && proto_msg_id (part) == PROTO_MSG_PART);
    s_test_answer (routers[0], part, 0);
    proto_msg_destroy (&part);
    part = s_test_recv (&loop, deliver, routers[1]);
    assert (part);
    s_test_answer (routers[1], part, PROTO_ERROR_UNAVAILABLE);
    proto_msg_destroy (&part);
    s_test_spin (&loop, deliver);
    assert (ingest_deliver_acked (deliver) == 1 && test.results[INGEST_DELIVER_DONE] == 0);
    part = s_test_recv (&loop, deliver, routers[1]);  //  the resend
    assert (part && streq (proto_msg_file (part), "nfcapd.197001010005"));
    s_test_answer (routers[1], part, 0);
    s_test_answer (routers[1], part, 0);  //  a second ack changes nothing
    proto_msg_destroy (&part);
    s_test_spin (&loop, deliver);
    assert (test.results[INGEST_DELIVER_DONE] == 1 && !ingest_deliver_busy (deliver));

    //  409 asks for the map; 400 fails the delivery
    frames[0] = s_test_part ("nfcapd.197001010010", 600, 2);
    frames[1] = s_test_part ("nfcapd.197001010010", 600, 2);
    ingest_deliver_start (deliver, "nfcapd.197001010010", 600, 2, frames, 2);
    part = s_test_recv (&loop, deliver, routers[0]);
    s_test_answer (routers[0], part, PROTO_ERROR_WRONG_SHARD);
    proto_msg_destroy (&part);
    part = s_test_recv (&loop, deliver, routers[1]);
    s_test_answer (routers[1], part, PROTO_ERROR_MALFORMED);
    proto_msg_destroy (&part);
    s_test_spin (&loop, deliver);
    assert (test.stale == 1);
    assert (test.results[INGEST_DELIVER_FAILED] == 1 && !ingest_deliver_busy (deliver));
    assert (strstr (test.reason, "shard-1") && strstr (test.reason, "400"));

    //  A shard that dies after taking a part gets it again as soon as it is back, not
    //  after the safety resend interval
    frames[0] = s_test_part ("nfcapd.197001010020", 1200, 4);
    frames[1] = s_test_part ("nfcapd.197001010020", 1200, 4);
    ingest_deliver_start (deliver, "nfcapd.197001010020", 1200, 4, frames, 2);
    part = s_test_recv (&loop, deliver, routers[0]);
    s_test_answer (routers[0], part, 0);
    proto_msg_destroy (&part);
    part = s_test_recv (&loop, deliver, routers[1]);
    assert (part);
    proto_msg_destroy (&part);
    zsock_destroy (&routers[1]);
    for (int round = 0; round < 30; round++) {
        ingest_deliver_tick (deliver);
        zclock_sleep (10);
    }
    routers[1] = zsock_new (ZMQ_ROUTER);
    assert (zsock_bind (routers[1], "%s", endpoints[1]) >= 0);
    int64_t back = zclock_mono ();
    part = s_test_recv (&loop, deliver, routers[1]);
    assert (part && streq (proto_msg_file (part), "nfcapd.197001010020"));
    assert (zclock_mono () - back < INGEST_DELIVER_RESEND_MSECS / 4);
    s_test_answer (routers[1], part, 0);
    proto_msg_destroy (&part);
    s_test_spin (&loop, deliver);
    assert (test.results[INGEST_DELIVER_DONE] == 2);

    //  A smaller map drops a shard and cancels a delivery in progress
    frames[0] = s_test_part ("nfcapd.197001010015", 900, 3);
    frames[1] = s_test_part ("nfcapd.197001010015", 900, 3);
    ingest_deliver_start (deliver, "nfcapd.197001010015", 900, 3, frames, 2);
    ingest_deliver_set_map (deliver, map, 1);
    assert (!ingest_deliver_busy (deliver) && ingest_deliver_ready (deliver));
    proto_msg_destroy (&map);

    ingest_deliver_destroy (&deliver);
    ingest_deliver_destroy (&deliver);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert (uv_loop_close (&loop) == 0);
    zsock_destroy (&routers[0]);
    zsock_destroy (&routers[1]);
    zsys_set_logstream (stdout);
    printf ("OK\n");
}
