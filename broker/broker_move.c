/*  broker_move.c - the broker runs a slot move (see broker_move.h).

    One request at a time: `waiting` is the id of the request out (0: none), `sock` the
    DEALER it went on.  Replies are read without blocking at each tick.  The SLOTS_DATA
    of the batch is kept in memory between the export and the import; after a broker
    restart the phase COPY starts again with the export.
*/
#include "broker/broker_move.h"

#include <unistd.h>

struct _broker_move_t {
    broker_map_t *map;            //  Borrowed
    broker_registry_t *registry;  //  Borrowed
    proto_curve_t *curve;         //  CURVE client, or NULL
    zsock_t *sock;                //  DEALER of the request out, or NULL
    char *endpoint;               //  Where sock connects
    proto_msg_id_t waiting;       //  Request out, 0 if none
    uint64_t request_id;          //  Its id
    int64_t sent_at;              //  When it went
    int64_t not_before;           //  No request before (retry delay)
    proto_msg_t *data;            //  SLOTS_DATA of the batch, once exported
    int64_t switched_at;          //  When the batch switched (0: not in this run)
    int64_t waiting_logged;       //  Last "waiting for ingestors" log
    int64_t rehold_at;            //  Hold lifted (open blocks): when it begins again
    bool disabled;                //  CURVE on but no key named "broker": no moves
    int64_t disabled_logged;      //  Last "a move waits for the key" log
};

//  --------------------------------------------------------------------------
broker_move_t *
broker_move_new (broker_map_t *map, broker_registry_t *registry, const char *curve_keys)
{
    assert (map);
    assert (registry);
    broker_move_t *self = (broker_move_t *) zmalloc (sizeof (broker_move_t));
    self->map = map;
    self->registry = registry;
    if (curve_keys && *curve_keys) {
        //  A cluster whose keys predate slot moves has no "broker" key: it runs, moves wait
        char *secret = zsys_sprintf ("%s/broker.cert_secret", curve_keys);
        self->disabled = access (secret, F_OK) != 0;
        zstr_free (&secret);
        if (self->disabled) {
            zsys_warning ("move: no CURVE key named 'broker' in %s: slot moves (portevo shard "
                          "add/remove) are refused until it exists (portevo keygen --keys %s "
                          "broker, then restart the broker)",
                          curve_keys, curve_keys);
            return self;
        }
    }
    bool failed = false;
    self->curve = proto_curve_new (curve_keys, "broker", false, &failed);
    if (failed) {
        zsys_error ("move: slot moves need a CURVE key named 'broker' (portevo keygen)");
        broker_move_destroy (&self);
    }
    return self;
}

//  --------------------------------------------------------------------------
bool
broker_move_available (broker_move_t *self)
{
    assert (self);
    return !self->disabled;
}

//  --------------------------------------------------------------------------
void
broker_move_destroy (broker_move_t **self_p)
{
    assert (self_p);
    broker_move_t *self = *self_p;
    if (!self)
        return;
    proto_msg_destroy (&self->data);
    zsock_destroy (&self->sock);
    zstr_free (&self->endpoint);
    proto_curve_destroy (&self->curve);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Send request to shard index on a DEALER of its own.

static void
s_send (broker_move_t *self, size_t shard, proto_msg_t **request_p, int64_t now)
{
    const char *endpoint = broker_map_shard_endpoint (self->map, shard);
    if (!self->sock || !streq (self->endpoint, endpoint)) {
        zsock_destroy (&self->sock);
        zstr_free (&self->endpoint);
        self->sock = zsock_new (ZMQ_DEALER);
        assert (self->sock);
        zsock_set_linger (self->sock, 0);
        proto_msg_limit_socket (self->sock);
        proto_curve_client (self->curve, self->sock);
        if (zsock_connect (self->sock, "%s", endpoint)) {
            zsys_warning ("move: cannot connect to %s", endpoint);
            zsock_destroy (&self->sock);
            proto_msg_destroy (request_p);
            self->not_before = now + BROKER_MOVE_RETRY_MSECS;
            return;
        }
        self->endpoint = strdup (endpoint);
    }
    self->waiting = proto_msg_id (*request_p);
    proto_msg_set_request_id (*request_p, ++self->request_id);
    self->sent_at = now;
    if (proto_msg_send (request_p, self->sock)) {
        self->waiting = 0;
        self->not_before = now + BROKER_MOVE_RETRY_MSECS;
    }
}

//  --------------------------------------------------------------------------
//  Slots in the batch under way.

static uint32_t
s_batch_slots (broker_move_t *self)
{
    size_t source, target;
    uint8_t slotset[PROTO_SLOTSET_SIZE];
    broker_map_batch (self->map, &source, &target, slotset);
    uint32_t count = 0;
    for (size_t byte = 0; byte < PROTO_SLOTSET_SIZE; byte++)
        count += (uint32_t) __builtin_popcount (slotset[byte]);
    return count;
}

//  --------------------------------------------------------------------------
//  The reply to the request out.

static void
s_on_reply (broker_move_t *self, proto_msg_t **reply_p, int64_t now)
{
    proto_msg_t *reply = *reply_p;
    proto_msg_id_t asked = self->waiting;
    self->waiting = 0;
    size_t source, target;
    broker_map_batch (self->map, &source, &target, NULL);
    if (proto_msg_id (reply) == PROTO_MSG_ERROR && asked == PROTO_MSG_SLOTS_EXPORT &&
        proto_msg_code (reply) == PROTO_ERROR_UNAVAILABLE &&
        strstr (proto_msg_text (reply), "open blocks")) {
        //  An older source (its open blocks do not move): ingestors hold parts those
        //  blocks wait for, let them go on a moment
        zsys_info ("move: %s has open blocks of the moving hosts: hold lifted for %d msecs",
                   broker_map_shard_name (self->map, source), BROKER_MOVE_PULSE_MSECS);
        if (broker_map_set_hold (self->map, false) == 0)
            self->rehold_at = now + BROKER_MOVE_PULSE_MSECS;
        self->not_before = now + BROKER_MOVE_RETRY_MSECS;
    }
    else if (proto_msg_id (reply) == PROTO_MSG_ERROR) {
        zsys_warning (
            "move: %s to %s: ERROR %u %s", proto_msg_id_name (asked),
            broker_map_shard_name (self->map, asked == PROTO_MSG_SLOTS_IMPORT ? target : source),
            proto_msg_code (reply), proto_msg_text (reply));
        //  A refused import is retried with a new export: the source's blocks may have
        //  become final meanwhile (a target that finalised one of them refuses the old)
        if (asked == PROTO_MSG_SLOTS_IMPORT)
            proto_msg_destroy (&self->data);
        self->not_before = now + BROKER_MOVE_RETRY_MSECS;
    }
    else if (asked == PROTO_MSG_SLOTS_EXPORT && proto_msg_id (reply) == PROTO_MSG_SLOTS_DATA) {
        proto_msg_destroy (&self->data);
        self->data = reply;
        *reply_p = NULL;
    }
    else if (asked == PROTO_MSG_SLOTS_IMPORT && proto_msg_id (reply) == PROTO_MSG_SLOTS_DONE) {
        if (broker_map_batch_switch (self->map) == 0) {
            zsys_notice ("move: %u slots switched from %s to %s (%u records and rows): map "
                         "epoch %" PRIu64,
                         s_batch_slots (self), broker_map_shard_name (self->map, source),
                         broker_map_shard_name (self->map, target), proto_msg_count (reply),
                         broker_map_epoch (self->map));
            proto_msg_destroy (&self->data);
            self->switched_at = now;
        }
        else
            self->not_before = now + BROKER_MOVE_RETRY_MSECS;
    }
    else if (asked == PROTO_MSG_SLOTS_DELETE && proto_msg_id (reply) == PROTO_MSG_SLOTS_DONE) {
        char *name = strdup (broker_map_shard_name (self->map, source));
        if (broker_map_batch_end (self->map) == 0) {
            zsys_notice ("move: %s deleted its copy (%u records and rows)", name,
                         proto_msg_count (reply));
            self->switched_at = 0;
        }
        else
            self->not_before = now + BROKER_MOVE_RETRY_MSECS;
        zstr_free (&name);
    }
    else
        zsys_warning ("move: unexpected %s to %s", proto_msg_id_name (proto_msg_id (reply)),
                      proto_msg_id_name (asked));
}

//  --------------------------------------------------------------------------
//  Read replies; forget a request unanswered too long (it goes again).

static void
s_receive (broker_move_t *self, int64_t now)
{
    while (self->sock && (zsock_events (self->sock) & ZMQ_POLLIN)) {
        proto_msg_t *reply = proto_msg_recv (self->sock);
        if (!reply)
            break;
        if (self->waiting && proto_msg_request_id (reply) == self->request_id)
            s_on_reply (self, &reply, now);
        proto_msg_destroy (&reply);
    }
    if (self->waiting && now - self->sent_at > BROKER_MOVE_TIMEOUT_MSECS) {
        zsys_warning ("move: no answer to %s from %s in %d msecs: sending it again",
                      proto_msg_id_name (self->waiting), self->endpoint, BROKER_MOVE_TIMEOUT_MSECS);
        self->waiting = 0;
        zsock_destroy (&self->sock);  //  Its queue may hold the lost request
    }
}

//  --------------------------------------------------------------------------
//  Every ingestor holds: its `held` stat is at or past the epoch the hold began at.

static bool
s_ingestors_hold (broker_move_t *self, int64_t now)
{
    for (size_t index = 0; index < broker_map_ingestor_count (self->map); index++) {
        const char *name = broker_map_ingestor_name (self->map, index);
        int64_t held = 0;
        if (!broker_registry_stat (self->registry, name, "held", &held) ||
            (uint64_t) held < broker_map_hold_epoch (self->map)) {
            if (now - self->waiting_logged > 10000) {
                zsys_info ("move: waiting for ingestor %s to hold (it must be up)", name);
                self->waiting_logged = now;
            }
            return false;
        }
    }
    return true;
}

//  --------------------------------------------------------------------------
int64_t
broker_move_tick (broker_move_t *self, int64_t now)
{
    assert (self);
    if (self->disabled) {
        if (broker_map_move_pending (self->map) > 0 &&
            (!self->disabled_logged || now - self->disabled_logged > 60000)) {
            zsys_warning ("move: a slot move is planned but waits for the broker's CURVE key "
                          "(portevo keygen ... broker, then restart the broker)");
            self->disabled_logged = now;
        }
        return -1;
    }
    s_receive (self, now);
    if (self->waiting)
        return BROKER_MOVE_POLL_MSECS;
    if (now < self->not_before)
        return self->not_before - now;
    size_t source, target;
    uint8_t slotset[PROTO_SLOTSET_SIZE];
    broker_map_phase_t phase = broker_map_batch (self->map, &source, &target, slotset);
    if (phase == BROKER_MAP_PHASE_NONE) {
        if (!broker_map_hold (self->map) && broker_map_move_pending (self->map) == 0)
            return -1;
        int rc = broker_map_batch_begin (self->map);
        if (rc == 1)
            zsys_notice ("move: done, ingestors go on: map epoch %" PRIu64,
                         broker_map_epoch (self->map));
        else if (rc == 0) {
            broker_map_batch (self->map, &source, &target, NULL);
            zsys_notice ("move: batch of %u slots from %s to %s (%u to go)", s_batch_slots (self),
                         broker_map_shard_name (self->map, source),
                         broker_map_shard_name (self->map, target),
                         broker_map_move_pending (self->map));
        }
        else
            self->not_before = now + BROKER_MOVE_RETRY_MSECS;
        return 0;
    }
    if (phase == BROKER_MAP_PHASE_COPY) {
        if (!broker_map_hold (self->map)) {
            if (now < self->rehold_at)
                return self->rehold_at - now;
            if (broker_map_set_hold (self->map, true)) {
                self->not_before = now + BROKER_MOVE_RETRY_MSECS;
                return BROKER_MOVE_RETRY_MSECS;
            }
        }
        if (!s_ingestors_hold (self, now)) {
            self->not_before = now + 200;
            return 200;
        }
        proto_msg_t *request;
        if (!self->data) {
            request = proto_msg_new (PROTO_MSG_SLOTS_EXPORT);
            proto_msg_set_epoch (request, broker_map_epoch (self->map));
            proto_msg_set_slotset (request, slotset);
            s_send (self, source, &request, now);
        }
        else {
            size_t size;
            const uint8_t *data = proto_msg_data (self->data, &size);
            request = proto_msg_new (PROTO_MSG_SLOTS_IMPORT);
            proto_msg_set_epoch (request, broker_map_epoch (self->map));
            proto_msg_set_data (request, data, size);
            s_send (self, target, &request, now);
        }
        return BROKER_MOVE_POLL_MSECS;
    }
    //  DELETE: after the settle time (counted again after a restart)
    if (!self->switched_at)
        self->switched_at = now;
    if (now - self->switched_at < BROKER_MOVE_SETTLE_MSECS)
        return self->switched_at + BROKER_MOVE_SETTLE_MSECS - now;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_SLOTS_DELETE);
    proto_msg_set_epoch (request, broker_map_epoch (self->map));
    proto_msg_set_slotset (request, slotset);
    s_send (self, source, &request, now);
    return BROKER_MOVE_POLL_MSECS;
}
