/*  gw_scatter.c - the gateway's ZeroMQ side: fan a query out to shards, gather replies.

    A link is one DEALER with its uv_poll_t: the broker's, and one per shard of the map
    (index i of the map's shard list = link i).  Links are heap objects because libuv
    owns a closing handle until its close callback; a link is closed when its endpoint
    changes and freed there.  Every link has a serial id that never repeats, so a reply
    is credited to a target only if it came back on the link the request went out on,
    even when the map changed in between.

    Socket options (why): shard DEALERs queue while a shard reconnects (ZMQ_IMMEDIATE off,
    bounded by GW_SCATTER_SHARD_HWM), so a query sent right after the map arrives is not
    lost to the connection handshake; the deadline covers a shard that never comes.  The
    broker DEALER is ZMQ_IMMEDIATE: MAP requests to an absent broker fail at once instead
    of piling up for its return.  Every send is ZMQ_DONTWAIT: a full queue makes the
    target missing, never blocks the loop.

    Pending entries live in a zhashx keyed by their 64-bit request id (the key points
    into the entry).  Each has its own uv_timer_t deadline and is freed in that timer's
    close callback.
*/
#include "gateway/gw_scatter.h"

typedef struct {
    gw_scatter_t *scatter;  //  Owner
    uint64_t id;            //  Serial number, unique within the scatter
    char *name;             //  "broker" or the shard's name
    char *endpoint;         //  Where the DEALER connects ("" if the map has none yet)
    bool down;              //  The broker reports the shard down: not asked
    zsock_t *sock;          //  DEALER, NULL without endpoint
    uv_poll_t poll;         //  Readable events of zsock_fd (sock)
} s_link_t;

typedef struct {
    uint64_t link_id;    //  Link the request went out on, 0 if it could not be sent
    char *name;          //  Target name (copied: the map may change meanwhile)
    proto_msg_t *reply;  //  The reply, NULL until one arrives
} s_target_t;

struct _gw_pending_t {
    gw_scatter_t *scatter;  //  Owner
    uint64_t request_id;    //  Key in scatter->pending; replies echo it
    gw_scatter_fn *fn;      //  Completion callback
    void *arg;              //  Its argument
    uv_timer_t deadline;    //  Fires when the wait is over
    bool completing;        //  The callback is running
    size_t waiting;         //  Targets asked that have not answered
    size_t answered;        //  Targets that answered
    size_t target_count;    //  Entries in targets
    zframe_t *retry;        //  A host query's request, until it was sent again once
    proto_addr_t host;      //  That host
    bool retrying;          //  The deadline timer now sends the request again
    s_target_t targets[];   //  One per target
};

struct _gw_scatter_t {
    uv_loop_t *loop;                   //  The gateway's loop
    int deadline_msecs;                //  Wait for replies
    bool verbose;                      //  Debug logging
    bool destroying;                   //  No new queries
    s_link_t *broker;                  //  DEALER to the broker
    proto_curve_t *curve;              //  Borrowed CURVE keys, or NULL (plain)
    s_link_t **shards;                 //  One link per shard of the map, in map order
    size_t shard_count;                //  Links in shards
    uint16_t slots[PROTO_SLOT_COUNT];  //  Slot -> shard index
    bool have_map;                     //  A valid MAP arrived
    uint64_t epoch;                    //  Its epoch
    int64_t map_msecs;                 //  Monotonic time of the last MAP
    bool broker_silent;                //  Warned that the broker stopped answering
    uv_timer_t map_timer;              //  Sends MAP_REQUEST periodically
    uv_idle_t drain_idle;              //  Deferred drain after a send (re-check)
    zhashx_t *pending;                 //  Request id -> gw_pending_t
    uint64_t next_request_id;          //  Request ids (MAP and queries)
    uint64_t next_link_id;             //  Link serial numbers
    int handles_open;                  //  Own handles not yet closed; freed at 0
};

static void s_link_drain (s_link_t *link);

//  --------------------------------------------------------------------------
//  zhashx key callbacks for uint64_t keys stored by pointer.

static size_t
s_key_hash (const void *key)
{
    return (size_t) (*(const uint64_t *) key * 0x9E3779B97F4A7C15ULL >> 16);
}

static int
s_key_compare (const void *a, const void *b)
{
    uint64_t left = *(const uint64_t *) a, right = *(const uint64_t *) b;
    return left < right ? -1 : left > right;
}

//  --------------------------------------------------------------------------
//  uv callbacks that free what they close.

static void
s_on_link_closed (uv_handle_t *handle)
{
    s_link_t *link = (s_link_t *) handle->data;
    zstr_free (&link->name);
    zstr_free (&link->endpoint);
    free (link);
}

static void
s_on_scatter_closed (uv_handle_t *handle)
{
    gw_scatter_t *self = (gw_scatter_t *) handle->data;
    if (--self->handles_open == 0)
        free (self);
}

static void
s_on_pending_closed (uv_handle_t *handle)
{
    free (handle->data);
}

//  --------------------------------------------------------------------------
//  Readable ZMQ_FD: drain.  The idle handle does the same for sends' re-checks.

static void
s_on_poll (uv_poll_t *handle, int status, int events)
{
    (void) events;
    s_link_t *link = (s_link_t *) handle->data;
    if (status < 0)
        zsys_warning ("scatter: poll %s failed: %s", link->name, uv_strerror (status));
    s_link_drain (link);
}

static void
s_on_drain_idle (uv_idle_t *handle)
{
    gw_scatter_t *self = (gw_scatter_t *) handle->data;
    uv_idle_stop (handle);
    //  The broker first: a MAP replaces shard links, which are then walked afresh.
    s_link_drain (self->broker);
    for (size_t index = 0; index < self->shard_count; index++)
        s_link_drain (self->shards[index]);
}

//  --------------------------------------------------------------------------
//  A new link; a DEALER connected to endpoint unless endpoint is "".  On a bad
//  endpoint the link stays without socket (logged).

static s_link_t *
s_link_new (gw_scatter_t *self, const char *name, const char *endpoint, bool immediate)
{
    s_link_t *link = (s_link_t *) zmalloc (sizeof (s_link_t));
    assert (link);
    link->scatter = self;
    link->id = ++self->next_link_id;
    link->name = strdup (name);
    link->endpoint = strdup (endpoint);
    assert (link->name && link->endpoint);
    link->poll.data = link;
    if (*endpoint == 0)
        return link;
    link->sock = zsock_new (ZMQ_DEALER);
    assert (link->sock);
    proto_curve_client (self->curve, link->sock);
    proto_msg_limit_socket_small (link->sock);
    zsock_set_linger (link->sock, 0);
    zsock_set_sndhwm (link->sock, GW_SCATTER_SHARD_HWM);
    zsock_set_immediate (link->sock, immediate);
    if (zsock_connect (link->sock, "%s", endpoint)) {
        zsys_warning ("scatter: cannot connect to %s at '%s'", name, endpoint);
        zsock_destroy (&link->sock);
        return link;
    }
    int rc = uv_poll_init (self->loop, &link->poll, zsock_fd (link->sock));
    assert (rc == 0);
    rc = uv_poll_start (&link->poll, UV_READABLE, s_on_poll);
    assert (rc == 0);
    return link;
}

//  --------------------------------------------------------------------------
//  Close a link: the socket now, the memory in the poll handle's close callback.

static void
s_link_close (s_link_t *link)
{
    if (!link)
        return;
    if (link->sock) {
        uv_close ((uv_handle_t *) &link->poll, s_on_link_closed);
        zsock_destroy (&link->sock);
    }
    else
        s_on_link_closed ((uv_handle_t *) &link->poll);
}

//  --------------------------------------------------------------------------
//  Send frame (kept) on a link without waiting; then re-check input, since a send can
//  consume the descriptor's edge.  true if queued.

static bool
s_link_send (s_link_t *link, zframe_t *frame)
{
    if (!link->sock)
        return false;
    int rc = zframe_send (&frame, link->sock, ZFRAME_REUSE | ZFRAME_DONTWAIT);
    if (zsock_events (link->sock) & ZMQ_POLLIN)
        uv_idle_start (&link->scatter->drain_idle, s_on_drain_idle);
    return rc == 0;
}

//  --------------------------------------------------------------------------
//  Free a pending query that is out of the table: replies and names now, the entry in
//  its timer's close callback.

static void
s_pending_release (gw_pending_t *pending)
{
    zframe_destroy (&pending->retry);
    for (size_t index = 0; index < pending->target_count; index++) {
        proto_msg_destroy (&pending->targets[index].reply);
        zstr_free (&pending->targets[index].name);
    }
    uv_close ((uv_handle_t *) &pending->deadline, s_on_pending_closed);
}

//  --------------------------------------------------------------------------
//  Complete a pending query: out of the table, callback, free.

static void
s_pending_complete (gw_pending_t *pending)
{
    gw_scatter_t *self = pending->scatter;
    zhashx_delete (self->pending, &pending->request_id);
    uv_timer_stop (&pending->deadline);
    pending->completing = true;
    pending->fn (pending, pending->arg);
    s_pending_release (pending);
}

static void s_map_request (gw_scatter_t *self);
static void s_on_deadline (uv_timer_t *handle);

//  A host query's owner said the host is not its own (ERROR 409: a slot moved and our
//  map or the shard's is older): once, ask for the map now and send the query again,
//  GW_SCATTER_RETRY_MSECS later, to the owner of the map then.  True if it goes again.
static bool
s_pending_retry (gw_pending_t *pending, s_target_t *target, proto_msg_t *reply)
{
    if (!pending->retry || proto_msg_id (reply) != PROTO_MSG_ERROR ||
        proto_msg_code (reply) != PROTO_ERROR_WRONG_SHARD)
        return false;
    gw_scatter_t *self = pending->scatter;
    zsys_info ("scatter: %s answered '%s': asking again after a map refresh", target->name,
               proto_msg_text (reply));
    target->link_id = 0;
    pending->waiting--;
    pending->retrying = true;
    s_map_request (self);
    uv_timer_start (&pending->deadline, s_on_deadline, GW_SCATTER_RETRY_MSECS, 0);
    return true;
}

//  Send a host query again to its owner (s_pending_retry); the deadline runs again.
static void
s_pending_resend (gw_pending_t *pending)
{
    gw_scatter_t *self = pending->scatter;
    s_link_t *link = self->shards[self->slots[proto_shard_slot (&pending->host)]];
    s_target_t *target = &pending->targets[0];
    zstr_free (&target->name);
    target->name = strdup (link->name);
    assert (target->name);
    if (!link->down && s_link_send (link, pending->retry)) {
        target->link_id = link->id;
        pending->waiting++;
    }
    zframe_destroy (&pending->retry);
    uv_timer_start (&pending->deadline, s_on_deadline,
                    pending->waiting ? (uint64_t) self->deadline_msecs : 0, 0);
}

static void
s_on_deadline (uv_timer_t *handle)
{
    gw_pending_t *pending = (gw_pending_t *) handle->data;
    if (pending->retrying) {
        pending->retrying = false;
        s_pending_resend (pending);
        return;
    }
    if (pending->scatter->verbose && pending->waiting)
        zsys_debug ("scatter: request %" PRIu64 " deadline, %zu of %zu answered",
                    pending->request_id, pending->answered, pending->target_count);
    s_pending_complete (pending);
}

//  --------------------------------------------------------------------------
//  A new pending query with target_count targets, in the table, with a request id.

static gw_pending_t *
s_pending_new (gw_scatter_t *self, size_t target_count, gw_scatter_fn *fn, void *arg)
{
    gw_pending_t *pending =
        (gw_pending_t *) zmalloc (sizeof (gw_pending_t) + target_count * sizeof (s_target_t));
    assert (pending);
    pending->scatter = self;
    pending->request_id = ++self->next_request_id;
    pending->fn = fn;
    pending->arg = arg;
    pending->target_count = target_count;
    uv_timer_init (self->loop, &pending->deadline);
    pending->deadline.data = pending;
    int rc = zhashx_insert (self->pending, &pending->request_id, pending);
    assert (rc == 0);
    return pending;
}

//  --------------------------------------------------------------------------
//  Send request (taken) to the targets' links (links[index] for target index), then arm
//  the deadline: now if nothing could be sent.

static void
s_pending_send (gw_pending_t *pending, proto_msg_t **request_p, s_link_t **links,
                const proto_addr_t *host)
{
    gw_scatter_t *self = pending->scatter;
    proto_msg_set_request_id (*request_p, pending->request_id);
    zframe_t *frame = proto_msg_encode (*request_p);
    assert (frame);  //  Requests are built by the gateway within the protocol's limits
    for (size_t index = 0; index < pending->target_count; index++) {
        s_link_t *link = links[index];
        s_target_t *target = &pending->targets[index];
        target->name = strdup (link->name);
        assert (target->name);
        if (!link->down && s_link_send (link, frame)) {
            target->link_id = link->id;
            pending->waiting++;
        }
        else if (self->verbose)
            zsys_debug ("scatter: request %" PRIu64 " not sent to %s (%s)", pending->request_id,
                        link->name, link->down ? "down" : "no connection or queue full");
    }
    if (self->verbose)
        zsys_debug ("scatter: request %" PRIu64 " %s sent to %zu of %zu", pending->request_id,
                    proto_msg_id_name (proto_msg_id (*request_p)), pending->waiting,
                    pending->target_count);
    if (host && pending->waiting) {
        pending->retry = frame;  //  Kept for one retry (s_pending_retry)
        pending->host = *host;
    }
    else
        zframe_destroy (&frame);
    proto_msg_destroy (request_p);
    uv_timer_start (&pending->deadline, s_on_deadline,
                    pending->waiting ? (uint64_t) self->deadline_msecs : 0, 0);
}

//  --------------------------------------------------------------------------
//  A reply (taken) on link: credit it to its pending query, or drop it.

static void
s_on_reply (gw_scatter_t *self, s_link_t *link, proto_msg_t **reply_p)
{
    uint64_t request_id = proto_msg_request_id (*reply_p);
    gw_pending_t *pending = (gw_pending_t *) zhashx_lookup (self->pending, &request_id);
    if (pending)
        for (size_t index = 0; index < pending->target_count; index++) {
            s_target_t *target = &pending->targets[index];
            if (target->link_id == link->id && !target->reply) {
                if (s_pending_retry (pending, target, *reply_p)) {
                    proto_msg_destroy (reply_p);
                    return;
                }
                target->reply = *reply_p;
                *reply_p = NULL;
                pending->answered++;
                if (--pending->waiting == 0)
                    s_pending_complete (pending);
                return;
            }
        }
    if (self->verbose)
        zsys_debug ("scatter: dropped %s from %s for request %" PRIu64 " (late or unknown)",
                    proto_msg_id_name (proto_msg_id (*reply_p)), link->name, request_id);
    proto_msg_destroy (reply_p);
}

//  --------------------------------------------------------------------------
//  A MAP from the broker: check it, then keep, replace or open shard links.

static void
s_on_map (gw_scatter_t *self, proto_msg_t *map)
{
    const uint16_t *slots = proto_msg_slots (map);
    size_t count = 0;
    for (size_t index = 0; index < proto_msg_peers_count (map); index++) {
        proto_peer_t peer;
        proto_msg_peers_at (map, index, &peer);
        count += streq (peer.role, "shard");
    }
    bool valid = slots && count > 0;
    for (size_t slot = 0; valid && slot < PROTO_SLOT_COUNT; slot++)
        valid = slots[slot] < count;
    if (!valid) {
        zsys_warning ("scatter: ignored a MAP with %zu shards and %s slots", count,
                      slots ? "invalid" : "no");
        return;
    }
    s_link_t **links = (s_link_t **) zmalloc (count * sizeof (s_link_t *));
    assert (links);
    size_t shard = 0;
    for (size_t index = 0; index < proto_msg_peers_count (map); index++) {
        proto_peer_t peer;
        proto_msg_peers_at (map, index, &peer);
        if (!streq (peer.role, "shard"))
            continue;
        s_link_t *old = shard < self->shard_count ? self->shards[shard] : NULL;
        if (old && streq (old->endpoint, peer.endpoint) && streq (old->name, peer.name)) {
            links[shard] = old;
            self->shards[shard] = NULL;
        }
        else
            links[shard] = s_link_new (self, peer.name, peer.endpoint, false);
        links[shard]->down = streq (peer.state, "down");
        shard++;
    }
    for (size_t index = 0; index < self->shard_count; index++)
        s_link_close (self->shards[index]);
    free (self->shards);
    self->shards = links;
    self->shard_count = count;
    memcpy (self->slots, slots, sizeof self->slots);
    if (!self->have_map || self->epoch != proto_msg_epoch (map))
        zsys_notice ("scatter: map epoch %" PRIu64 " with %zu shards", proto_msg_epoch (map),
                     count);
    if (!self->have_map)
        uv_timer_set_repeat (&self->map_timer, GW_SCATTER_MAP_MSECS);
    self->have_map = true;
    self->epoch = proto_msg_epoch (map);
    self->map_msecs = zclock_mono ();
    if (self->broker_silent)
        zsys_notice ("scatter: broker %s answers again", self->broker->endpoint);
    self->broker_silent = false;
}

//  --------------------------------------------------------------------------
//  Read every message waiting on a link.

static void
s_link_drain (s_link_t *link)
{
    gw_scatter_t *self = link->scatter;
    while (link->sock && (zsock_events (link->sock) & ZMQ_POLLIN)) {
        proto_msg_t *msg = proto_msg_recv (link->sock);
        if (!msg)
            break;
        if (proto_msg_id (msg) == PROTO_MSG_MALFORMED)
            zsys_warning ("scatter: malformed message from %s dropped: %s", link->name,
                          proto_msg_text (msg));
        else if (link == self->broker && proto_msg_id (msg) == PROTO_MSG_MAP)
            s_on_map (self, msg);
        else
            s_on_reply (self, link, &msg);
        proto_msg_destroy (&msg);
    }
}

//  --------------------------------------------------------------------------
//  Map timer: ask the broker for the map; warn once when it stopped answering.

static void
s_map_request (gw_scatter_t *self)
{
    proto_msg_t *request = proto_msg_new (PROTO_MSG_MAP_REQUEST);
    proto_msg_set_request_id (request, ++self->next_request_id);
    zframe_t *frame = proto_msg_encode (request);
    assert (frame);
    s_link_send (self->broker, frame);
    zframe_destroy (&frame);
    proto_msg_destroy (&request);
}

static void
s_on_map_timer (uv_timer_t *handle)
{
    gw_scatter_t *self = (gw_scatter_t *) handle->data;
    s_map_request (self);
    int64_t silent_msecs = zclock_mono () - self->map_msecs;
    if (self->have_map && !self->broker_silent &&
        silent_msecs > PROTO_HEARTBEAT_LIVENESS * GW_SCATTER_MAP_MSECS) {
        zsys_warning ("scatter: broker %s silent for %" PRId64 " msecs, keeping map epoch %" PRIu64,
                      self->broker->endpoint, silent_msecs, self->epoch);
        self->broker_silent = true;
    }
}

//  --------------------------------------------------------------------------
gw_scatter_t *
gw_scatter_new (uv_loop_t *loop, const char *broker, int deadline_msecs, proto_curve_t *curve)
{
    assert (loop);
    assert (broker);
    assert (deadline_msecs > 0);
    gw_scatter_t *self = (gw_scatter_t *) zmalloc (sizeof (gw_scatter_t));
    assert (self);
    self->loop = loop;
    self->deadline_msecs = deadline_msecs;
    self->curve = curve;
    self->pending = zhashx_new ();
    assert (self->pending);
    zhashx_set_key_duplicator (self->pending, NULL);
    zhashx_set_key_destructor (self->pending, NULL);
    zhashx_set_key_hasher (self->pending, s_key_hash);
    zhashx_set_key_comparator (self->pending, s_key_compare);
    uv_timer_init (loop, &self->map_timer);
    uv_idle_init (loop, &self->drain_idle);
    self->map_timer.data = self;
    self->drain_idle.data = self;
    self->handles_open = 2;
    self->broker = s_link_new (self, "broker", broker, true);
    if (!self->broker->sock) {
        gw_scatter_destroy (&self);
        return NULL;
    }
    uv_timer_start (&self->map_timer, s_on_map_timer, 0, GW_SCATTER_MAP_EARLY_MSECS);
    return self;
}

//  --------------------------------------------------------------------------
void
gw_scatter_destroy (gw_scatter_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        gw_scatter_t *self = *self_p;
        self->destroying = true;
        gw_pending_t *pending;
        while ((pending = (gw_pending_t *) zhashx_first (self->pending)))
            s_pending_complete (pending);
        zhashx_destroy (&self->pending);
        for (size_t index = 0; index < self->shard_count; index++)
            s_link_close (self->shards[index]);
        free (self->shards);
        s_link_close (self->broker);
        uv_close ((uv_handle_t *) &self->map_timer, s_on_scatter_closed);
        uv_close ((uv_handle_t *) &self->drain_idle, s_on_scatter_closed);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
void
gw_scatter_set_verbose (gw_scatter_t *self, bool verbose)
{
    assert (self);
    self->verbose = verbose;
}

//  --------------------------------------------------------------------------
gw_pending_t *
gw_scatter_shards (gw_scatter_t *self, proto_msg_t **request_p, const proto_addr_t *host,
                   gw_scatter_fn *fn, void *arg)
{
    assert (self);
    assert (request_p && *request_p);
    assert (fn);
    if (!self->have_map || self->destroying) {
        proto_msg_destroy (request_p);
        return NULL;
    }
    s_link_t **links = self->shards;
    size_t count = self->shard_count;
    if (host) {
        links = &self->shards[self->slots[proto_shard_slot (host)]];
        count = 1;
    }
    gw_pending_t *pending = s_pending_new (self, count, fn, arg);
    s_pending_send (pending, request_p, links, host);
    return pending;
}

//  --------------------------------------------------------------------------
gw_pending_t *
gw_scatter_broker (gw_scatter_t *self, proto_msg_t **request_p, gw_scatter_fn *fn, void *arg)
{
    assert (self);
    assert (request_p && *request_p);
    assert (fn);
    if (self->destroying) {
        proto_msg_destroy (request_p);
        return NULL;
    }
    gw_pending_t *pending = s_pending_new (self, 1, fn, arg);
    s_pending_send (pending, request_p, &self->broker, NULL);
    return pending;
}

//  --------------------------------------------------------------------------
void
gw_pending_cancel (gw_pending_t **pending_p)
{
    assert (pending_p);
    gw_pending_t *pending = *pending_p;
    if (!pending)
        return;
    assert (!pending->completing);  //  Cancelling from its own callback is a bug
    gw_scatter_t *self = pending->scatter;
    if (self->verbose)
        zsys_debug ("scatter: request %" PRIu64 " cancelled", pending->request_id);
    zhashx_delete (self->pending, &pending->request_id);
    uv_timer_stop (&pending->deadline);
    s_pending_release (pending);
    *pending_p = NULL;
}

//  --------------------------------------------------------------------------
size_t
gw_pending_target_count (gw_pending_t *self)
{
    assert (self);
    return self->target_count;
}

const char *
gw_pending_target_name (gw_pending_t *self, size_t index)
{
    assert (self);
    assert (index < self->target_count);
    return self->targets[index].name;
}

proto_msg_t *
gw_pending_reply (gw_pending_t *self, size_t index)
{
    assert (self);
    assert (index < self->target_count);
    return self->targets[index].reply;
}

size_t
gw_pending_answered (gw_pending_t *self)
{
    assert (self);
    return self->answered;
}

//  --------------------------------------------------------------------------
bool
gw_scatter_has_map (gw_scatter_t *self)
{
    assert (self);
    return self->have_map;
}

uint64_t
gw_scatter_epoch (gw_scatter_t *self)
{
    assert (self);
    return self->epoch;
}

size_t
gw_scatter_shard_count (gw_scatter_t *self)
{
    assert (self);
    return self->shard_count;
}

const char *
gw_scatter_broker_endpoint (gw_scatter_t *self)
{
    assert (self);
    return self->broker->endpoint;
}

size_t
gw_scatter_pending_count (gw_scatter_t *self)
{
    assert (self);
    return zhashx_size (self->pending);
}

//  --------------------------------------------------------------------------
//  Selftest against the fake cluster of gw_fake.

#include "gateway/gw_fake.h"

#define S_TEST_TARGETS 4  //  Most targets a test query has

typedef struct {
    bool done;                                   //  Callback called
    size_t targets;                              //  Targets of the query
    size_t answered;                             //  Replies
    char names[S_TEST_TARGETS][PROTO_NAME_MAX];  //  Target names
    proto_msg_id_t ids[S_TEST_TARGETS];          //  Reply ids, MALFORMED when missing
    int64_t msecs;                               //  When the callback ran (monotonic)
} s_test_result_t;

static void
s_test_on_done (gw_pending_t *pending, void *arg)
{
    s_test_result_t *result = (s_test_result_t *) arg;
    result->done = true;
    result->msecs = zclock_mono ();
    result->targets = gw_pending_target_count (pending);
    result->answered = gw_pending_answered (pending);
    assert (result->targets <= S_TEST_TARGETS);
    for (size_t index = 0; index < result->targets; index++) {
        snprintf (result->names[index], PROTO_NAME_MAX, "%s",
                  gw_pending_target_name (pending, index));
        proto_msg_t *reply = gw_pending_reply (pending, index);
        result->ids[index] = reply ? proto_msg_id (reply) : PROTO_MSG_MALFORMED;
    }
}

static void
s_test_wait_epoch (uv_loop_t *loop, gw_scatter_t *self, uint64_t epoch)
{
    int64_t until = zclock_mono () + 5000;
    while ((!self->have_map || self->epoch != epoch) && zclock_mono () < until)
        uv_run (loop, UV_RUN_ONCE);
    assert (self->have_map && self->epoch == epoch);
}

static void
s_test_query (uv_loop_t *loop, gw_scatter_t *self, proto_msg_id_t id, const proto_addr_t *host,
              s_test_result_t *result)
{
    memset (result, 0, sizeof (s_test_result_t));
    proto_msg_t *request = proto_msg_new (id);
    if (host)
        proto_msg_set_host (request, host);
    gw_pending_t *pending = gw_scatter_shards (self, &request, host, s_test_on_done, result);
    assert (pending && !request && !result->done);
    assert (gw_fake_run_until (loop, &result->done, 5000));
}

void
gw_scatter_test (bool verbose)
{
    printf (" * gw_scatter: ");
    zsys_set_logstream (verbose ? stderr : NULL);  //  Failures below are logged on purpose
    uv_loop_t loop;
    uv_loop_init (&loop);
    gw_fake_t *fake = gw_fake_new (&loop, 2);
    gw_scatter_t *self = gw_scatter_new (&loop, gw_fake_broker (fake), 200, NULL);
    assert (self);
    gw_scatter_set_verbose (self, verbose);
    assert (streq (gw_scatter_broker_endpoint (self), gw_fake_broker (fake)));
    //  No map yet: no query.
    s_test_result_t result;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_DAYS_REQUEST);
    assert (!gw_scatter_shards (self, &request, NULL, s_test_on_done, &result) && !request);
    s_test_wait_epoch (&loop, self, 1);
    assert (gw_scatter_shard_count (self) == 2);

    //  Every shard answers.
    s_test_query (&loop, self, PROTO_MSG_DAYS_REQUEST, NULL, &result);
    assert (result.targets == 2 && result.answered == 2);
    assert (streq (result.names[0], "shard-0") && streq (result.names[1], "shard-1"));
    assert (result.ids[0] == PROTO_MSG_DAYS && result.ids[1] == PROTO_MSG_DAYS);

    //  A host goes to its owner only (the fake answers ERROR 409 otherwise).
    for (uint32_t ipv4 = 0x0A000001; ipv4 < 0x0A000009; ipv4++) {
        proto_addr_t host;
        proto_addr_from_ipv4 (&host, ipv4);
        s_test_query (&loop, self, PROTO_MSG_HOST_REQUEST, &host, &result);
        assert (result.targets == 1 && result.answered == 1 && result.ids[0] == PROTO_MSG_HOST);
        char expected[16];
        snprintf (expected, sizeof expected, "shard-%u", proto_shard_slot (&host) % 2);
        assert (streq (result.names[0], expected));
    }

    //  A stale map (a slot moved): the old owner answers 409, the map is asked for at
    //  once and the query goes again, once, to the owner of the new map.
    proto_addr_t moved;
    proto_addr_from_ipv4 (&moved, 0x0A000001);
    uint32_t slot = proto_shard_slot (&moved);
    self->slots[slot] = (uint16_t) (1 - slot % 2);
    size_t asked_before = gw_fake_requests (fake, slot % 2);
    s_test_query (&loop, self, PROTO_MSG_HOST_REQUEST, &moved, &result);
    assert (result.targets == 1 && result.answered == 1 && result.ids[0] == PROTO_MSG_HOST);
    assert (streq (result.names[0], slot % 2 ? "shard-1" : "shard-0"));
    assert (gw_fake_requests (fake, slot % 2) == asked_before + 1);
    assert (self->slots[slot] == slot % 2);

    //  A silent shard: the deadline answers with what arrived; its late reply is dropped.
    gw_fake_set_silent (fake, 1, true);
    int64_t start = zclock_mono ();
    s_test_query (&loop, self, PROTO_MSG_DAYS_REQUEST, NULL, &result);
    assert (result.answered == 1 && result.ids[0] == PROTO_MSG_DAYS);
    assert (result.ids[1] == PROTO_MSG_MALFORMED);
    assert (result.msecs - start >= 190 && result.msecs - start < 1000);
    gw_fake_release (fake, 1);
    gw_fake_set_silent (fake, 1, false);
    bool never = false;
    gw_fake_run_until (&loop, &never, 50);
    assert (gw_scatter_pending_count (self) == 0);

    //  A shard the broker reports down is not asked: no waiting for it.
    gw_fake_set_down (fake, 1, true);
    gw_fake_set_epoch (fake, 2);
    s_test_wait_epoch (&loop, self, 2);
    size_t asked = gw_fake_requests (fake, 1);
    start = zclock_mono ();
    s_test_query (&loop, self, PROTO_MSG_DAYS_REQUEST, NULL, &result);
    assert (result.answered == 1 && result.ids[1] == PROTO_MSG_MALFORMED);
    assert (result.msecs - start < 150);
    assert (gw_fake_requests (fake, 1) == asked);
    gw_fake_set_down (fake, 1, false);
    gw_fake_set_epoch (fake, 3);
    s_test_wait_epoch (&loop, self, 3);

    //  Cancelled: no callback, the reply is dropped.
    memset (&result, 0, sizeof result);
    request = proto_msg_new (PROTO_MSG_DAYS_REQUEST);
    gw_pending_t *pending = gw_scatter_shards (self, &request, NULL, s_test_on_done, &result);
    assert (pending && gw_scatter_pending_count (self) == 1);
    gw_pending_cancel (&pending);
    assert (!pending && gw_scatter_pending_count (self) == 0);
    gw_pending_cancel (&pending);
    gw_fake_run_until (&loop, &never, 300);
    assert (!result.done);

    //  The broker answers STATUS.
    memset (&result, 0, sizeof result);
    request = proto_msg_new (PROTO_MSG_STATUS_REQUEST);
    assert (gw_scatter_broker (self, &request, s_test_on_done, &result));
    assert (gw_fake_run_until (&loop, &result.done, 5000));
    assert (result.targets == 1 && streq (result.names[0], "broker"));
    assert (result.ids[0] == PROTO_MSG_STATUS);

    //  Destroying completes what is still pending.
    gw_fake_set_silent (fake, 0, true);
    memset (&result, 0, sizeof result);
    request = proto_msg_new (PROTO_MSG_DAYS_REQUEST);
    assert (gw_scatter_shards (self, &request, NULL, s_test_on_done, &result));
    gw_fake_run_until (&loop, &never, 20);
    gw_scatter_destroy (&self);
    assert (!self && result.done && result.targets == 2);
    gw_scatter_destroy (&self);
    gw_fake_destroy (&fake);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert (uv_loop_close (&loop) == 0);
    //  A bad broker endpoint.
    uv_loop_init (&loop);
    assert (gw_scatter_new (&loop, "tcp://no-such-host-name:x", 100, NULL) == NULL);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert (uv_loop_close (&loop) == 0);
    zsys_set_logstream (stderr);
    printf ("OK\n");
}
