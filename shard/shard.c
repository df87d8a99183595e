/*  shard.c - the shard server (see shard.h): one zloop over the ROUTER, the broker
    DEALER and the timers.

    Each request is handled to the end in its handler: decode, check, one store call
    (one transaction), reply.  The store's read transactions end before the reply is
    sent, and nothing waits on a socket inside a transaction.  Errors from outside
    (malformed frames, wrong shard, bad arguments) are answered and logged as warnings;
    store failures are logged as errors.
*/
#include "shard/shard.h"
#include "shard/shard_others.h"
#include "shard/shard_move.h"
#include "shard/shard_compact.h"
#include "shard/shard_segments.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAINTENANCE_START_MSECS 100  //  First retention and archive run after start

struct _shard_t {
    char *name;                    //  Our name in the map
    char *endpoint;                //  Endpoint bound (port resolved)
    char *broker;                  //  Broker endpoint
    bool verbose;                  //  Debug logging
    shard_store_t *store;          //  The LMDB store
    zsock_t *router;               //  Requests from ingestors, gateways, CLI
    zsock_t *dealer;               //  To the broker
    zloop_t *loop;                 //  Reactor
    bool have_map;                 //  A MAP arrived
    uint64_t map_epoch;            //  Its epoch
    int shard_index;               //  Our index in it, -1 if absent
    bool owned[PROTO_SLOT_COUNT];  //  Slots that are ours
    zhash_t *ingestors;            //  Ingestor names of the map (values unused)
    int64_t map_requested;         //  Mono msecs of the last MAP_REQUEST, 0 none
    char *map_path;                //  Where the last MAP is kept across restarts
    proto_curve_t *curve;          //  CURVE (server and client), or NULL (plain)
    size_t unanswered;             //  Heartbeats sent since the broker last spoke
    int64_t heartbeat_sent;        //  Mono msecs of the last heartbeat
    uint64_t request_id;           //  Last request id sent to the broker
    bool maintenance_running;      //  A retention or archive batch is scheduled
    bool finalise_failing;         //  Finalisation failed last time (logged once)
};

static void s_request_map (shard_t *self);

//  --------------------------------------------------------------------------
//  Reply ERROR code with a formatted text to request.

static void
s_error (shard_t *self, proto_msg_t *request, uint16_t code, const char *format, ...)
{
    char text[PROTO_TEXT_MAX + 1];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_ERROR);
    proto_msg_set_code (reply, code);
    proto_msg_set_text (reply, text);
    proto_msg_send (&reply, self->router);
}

//  --------------------------------------------------------------------------
//  Answer a failed store call, logging what is ours to fix.

static void
s_store_error (shard_t *self, proto_msg_t *request, int rc)
{
    const char *name = proto_msg_id_name (proto_msg_id (request));
    const char *text = shard_store_error (self->store);
    if (rc == SHARD_STORE_INVALID) {
        zsys_warning ("%s: invalid: %s", name, text);
        s_error (self, request, PROTO_ERROR_INVALID, "%s", text);
    }
    else if (rc == SHARD_STORE_FULL) {
        zsys_error ("%s: not applied: %s", name, text);
        s_error (self, request, PROTO_ERROR_STORE_FULL, "%s", text);
    }
    else {
        zsys_error ("%s: failed: %s", name, text);
        s_error (self, request, PROTO_ERROR_INTERNAL, "%s", text);
    }
}

//  --------------------------------------------------------------------------
//  True if addr is ours (or we cannot tell yet: no map).

static bool
s_owns (shard_t *self, const proto_addr_t *addr)
{
    return !self->have_map || self->owned[proto_shard_slot (addr)];
}

//  --------------------------------------------------------------------------
//  True if a query about addr (series, host, others) can be answered here: ours, or
//  not ours by our map yet our store holds the host's traffic.  A slot move's target
//  holds the rows from its import on, the source until its delete, and meanwhile
//  nothing of those hosts is ingested (the hold): both have the owner's rows, and a
//  gateway whose map is older or newer than ours asks one of them (PROTOCOL.md "Slot
//  moves").

static bool
s_serves (shard_t *self, proto_msg_t *request, const proto_addr_t *addr)
{
    if (s_owns (self, addr))
        return true;
    uint8_t direction = proto_msg_id (request) == PROTO_MSG_OTHERS_REQUEST
                            ? PROTO_DIRECTION_OUT
                            : proto_msg_direction (request);
    shard_host_info_t info;
    return shard_store_host_direction (self->store, direction, addr, &info, NULL, NULL, NULL) ==
               SHARD_STORE_OK &&
           info.known;
}

//  --------------------------------------------------------------------------
static void
s_wrong_shard (shard_t *self, proto_msg_t *request, const proto_addr_t *addr)
{
    char text[PROTO_ADDR_STRLEN];
    proto_addr_format (addr, text);
    zsys_warning ("%s: host %s (slot %u) is not on this shard",
                  proto_msg_id_name (proto_msg_id (request)), text, proto_shard_slot (addr));
    s_error (self, request, PROTO_ERROR_WRONG_SHARD, "host %s (slot %u) is not on shard %s", text,
             proto_shard_slot (addr), self->name);
}

//  --------------------------------------------------------------------------
static void
s_pair_at (void *pairs, size_t index, proto_pair_t *pair)
{
    proto_msg_pairs_at ((proto_msg_t *) pairs, index, pair);
}

//  --------------------------------------------------------------------------
static void
s_pair_in_at (void *pairs, size_t index, proto_pair_t *pair)
{
    proto_msg_pairs_in_at ((proto_msg_t *) pairs, index, pair);
}

//  --------------------------------------------------------------------------
//  True if this shard owns the host of each of the count pairs pair_at reads from
//  request; else answers ERROR 409 naming the first other host and returns false.

static bool
s_owns_pairs (shard_t *self, proto_msg_t *request, shard_pair_at_fn *pair_at, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        proto_pair_t pair;
        pair_at (request, index, &pair);
        if (!self->owned[proto_shard_slot (&pair.addr)]) {
            s_wrong_shard (self, request, &pair.addr);
            return false;
        }
    }
    return true;
}

//  --------------------------------------------------------------------------
static void
s_on_part (shard_t *self, proto_msg_t *request)
{
    if (!self->have_map) {
        s_error (self, request, PROTO_ERROR_UNAVAILABLE, "shard %s has no slot map yet",
                 self->name);
        return;
    }
    size_t count = proto_msg_pairs_count (request);
    size_t count_in = proto_msg_pairs_in_count (request);
    if (!s_owns_pairs (self, request, s_pair_at, count) ||
        !s_owns_pairs (self, request, s_pair_in_at, count_in))
        return;
    for (size_t index = 0; index < proto_msg_others_count (request); index++) {
        proto_other_t other;
        proto_msg_others_at (request, index, &other);
        if (!self->owned[proto_shard_slot (&other.addr)]) {
            s_wrong_shard (self, request, &other.addr);
            return;
        }
    }
    for (size_t index = 0; index < proto_msg_other_ports_count (request); index++) {
        proto_other_port_t port;
        proto_msg_other_ports_at (request, index, &port);
        if (!self->owned[proto_shard_slot (&port.addr)]) {
            s_wrong_shard (self, request, &port.addr);
            return;
        }
    }
    const char *source = proto_msg_source (request);
    //  A source our map does not list yet (the broker registered it after our last MAP)
    //  must not be taken for a block's only exporter: that would finalise the block
    //  before the other exporters' parts.  Refresh the map; the ingestor retries.
    if (!zhash_lookup (self->ingestors, source)) {
        s_request_map (self);
        s_error (self, request, PROTO_ERROR_UNAVAILABLE,
                 "source %s is not in shard %s's map (epoch %llu) yet: retry", source, self->name,
                 (unsigned long long) self->map_epoch);
        return;
    }
    const char *file = proto_msg_file (request);
    int64_t block = proto_msg_block (request);
    int64_t start = zclock_usecs ();
    shard_part_result_t result;
    shard_pairs_t sets[PROTO_DIRECTION_COUNT] = {{s_pair_at, request, count},
                                                 {s_pair_in_at, request, count_in}};
    int rc = shard_store_apply_directions (self->store, source, file, block, sets, request,
                                           zclock_time () / 1000, &result);
    if (rc != SHARD_STORE_OK) {
        s_store_error (self, request, rc);
        return;
    }
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_PART_ACK);
    proto_msg_set_source (reply, source);
    proto_msg_set_file (reply, file);
    proto_msg_set_block (reply, block);
    proto_msg_set_duplicate (reply, result.duplicate);
    proto_msg_set_expired (reply, result.expired);
    proto_msg_send (&reply, self->router);
    if (result.late)
        zsys_notice ("part: late, applied approximately: source=%s file=%s block=%lld pairs=%zu",
                     source, file, (long long) block, count);
    else if (result.expired)
        zsys_notice ("part: older than retention, not stored: source=%s file=%s block=%lld", source,
                     file, (long long) block);
    if (self->verbose)
        zsys_debug ("part: source=%s file=%s block=%lld pairs=%zu pairs_in=%zu%s%s in %.1f ms",
                    source, file, (long long) block, count, count_in,
                    result.duplicate ? " duplicate" : "", result.final ? " final" : "",
                    (zclock_usecs () - start) / 1000.0);
}

//  --------------------------------------------------------------------------
static void
s_top_append (void *arg, const proto_top_t *entry)
{
    proto_msg_top_append ((proto_msg_t *) arg, entry);
}

static void
s_point_append (void *arg, const proto_point_t *point)
{
    proto_msg_points_append ((proto_msg_t *) arg, point);
}

static void
s_port_append (void *arg, uint16_t port)
{
    proto_msg_ports_append ((proto_msg_t *) arg, port);
}

static void
s_note_append (void *arg, const proto_annotation_t *note)
{
    proto_msg_annotations_append ((proto_msg_t *) arg, note);
}

static void
s_day_append (void *arg, uint32_t day)
{
    proto_msg_days_append ((proto_msg_t *) arg, day);
}

//  A day of a host's other ports, as OTHERS entries
static void
s_other_append (void *arg, const shard_other_day_t *other)
{
    proto_msg_t *reply = (proto_msg_t *) arg;
    proto_other_t entry = {.addr = *proto_msg_host (reply),
                           .day = other->day,
                           .bytes = other->bytes,
                           .packets = other->packets,
                           .flows = other->flows,
                           .truncated = other->truncated};
    proto_msg_others_append (reply, &entry);
    for (size_t index = 0; index < other->port_count; index++) {
        proto_other_port_t port = other->ports[index];
        port.addr = entry.addr;
        port.day = other->day;
        proto_msg_other_ports_append (reply, &port);
    }
}

static void
s_change_append (void *arg, const proto_change_t *change, const uint64_t *spark, size_t spark_count)
{
    proto_msg_changes_append ((proto_msg_t *) arg, change);
    for (size_t index = 0; index < spark_count; index++)
        proto_msg_sparks_append ((proto_msg_t *) arg, spark[index]);
}

static void
s_annotation_at (void *annotations, size_t index, proto_annotation_t *annotation)
{
    proto_msg_annotations_at ((proto_msg_t *) annotations, index, annotation);
}

//  --------------------------------------------------------------------------
//  Send reply if rc is OK, else answer the store's error.

static void
s_reply (shard_t *self, proto_msg_t *request, proto_msg_t **reply_p, int rc)
{
    if (rc == SHARD_STORE_OK)
        proto_msg_send (reply_p, self->router);
    else {
        proto_msg_destroy (reply_p);
        s_store_error (self, request, rc);
    }
}

//  --------------------------------------------------------------------------
static void
s_on_query (shard_t *self, proto_msg_t *request)
{
    proto_msg_t *reply = NULL;
    const proto_addr_t *host = proto_msg_host (request);
    int rc = SHARD_STORE_OK;
    switch (proto_msg_id (request)) {
    case PROTO_MSG_TOP_REQUEST:
        reply = proto_msg_reply (request, PROTO_MSG_TOP);
        proto_msg_set_day (reply, proto_msg_day (request));
        proto_msg_set_op (reply, proto_msg_op (request));
        rc = shard_store_top_direction (self->store, proto_msg_direction (request),
                                        proto_msg_day (request), proto_msg_op (request),
                                        proto_msg_port (request), s_top_append, reply);
        break;
    case PROTO_MSG_CHANGES_REQUEST:
        reply = proto_msg_reply (request, PROTO_MSG_CHANGES);
        proto_msg_set_day (reply, proto_msg_day (request));
        proto_msg_set_op (reply, proto_msg_op (request));
        rc = shard_store_changes (self->store, proto_msg_day (request), proto_msg_op (request),
                                  proto_msg_from (request), proto_msg_spark (request),
                                  s_change_append, reply);
        break;
    case PROTO_MSG_SERIES_REQUEST:
        if (!s_serves (self, request, host)) {
            s_wrong_shard (self, request, host);
            return;
        }
        reply = proto_msg_reply (request, PROTO_MSG_SERIES);
        proto_msg_set_host (reply, host);
        proto_msg_set_feature (reply, proto_msg_feature (request));
        proto_msg_set_op (reply, proto_msg_op (request));
        rc = shard_store_series_direction (self->store, proto_msg_direction (request), host,
                                           proto_msg_port (request), proto_msg_feature (request),
                                           proto_msg_op (request), proto_msg_from (request),
                                           proto_msg_to (request), s_point_append, reply);
        break;
    case PROTO_MSG_HOST_REQUEST: {
        if (!s_serves (self, request, host)) {
            s_wrong_shard (self, request, host);
            return;
        }
        reply = proto_msg_reply (request, PROTO_MSG_HOST);
        shard_host_info_t info;
        rc = shard_store_host_direction (self->store, proto_msg_direction (request), host, &info,
                                         s_port_append, s_note_append, reply);
        proto_msg_set_host (reply, host);
        proto_msg_set_known (reply, info.known);
        proto_msg_set_first_seen (reply, info.first_seen);
        proto_msg_set_last_seen (reply, info.last_seen);
        break;
    }
    case PROTO_MSG_OTHERS_REQUEST:
        if (!s_serves (self, request, host)) {
            s_wrong_shard (self, request, host);
            return;
        }
        reply = proto_msg_reply (request, PROTO_MSG_OTHERS);
        proto_msg_set_host (reply, host);
        rc = shard_store_others (self->store, host, proto_msg_from (request),
                                 proto_msg_to (request), s_other_append, reply);
        break;
    case PROTO_MSG_DAYS_REQUEST:
        reply = proto_msg_reply (request, PROTO_MSG_DAYS);
        rc = shard_store_days (self->store, s_day_append, reply);
        break;
    default:  //  ANNOTATE
        for (size_t index = 0; index < proto_msg_annotations_count (request); index++) {
            proto_annotation_t note;
            proto_msg_annotations_at (request, index, &note);
            if (!s_owns (self, &note.addr)) {
                s_wrong_shard (self, request, &note.addr);
                return;
            }
        }
        size_t stored = 0;
        rc = shard_store_annotate (self->store, s_annotation_at, request,
                                   proto_msg_annotations_count (request), &stored);
        reply = proto_msg_reply (request, PROTO_MSG_ANNOTATE_ACK);
        proto_msg_set_count (reply, (uint32_t) stored);
        break;
    }
    s_reply (self, request, &reply, rc);
}

//  --------------------------------------------------------------------------
static int
s_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    shard_t *self = (shard_t *) arg;
    if (!(zsock_events (self->router) & ZMQ_POLLIN))
        return 0;  //  Never block the loop on a readiness zloop saw earlier
    proto_msg_t *request = proto_msg_recv (self->router);
    if (!request)
        return zsys_interrupted ? -1 : 0;
    proto_msg_id_t id = proto_msg_id (request);
    if (id == PROTO_MSG_MALFORMED) {
        zframe_t *routing_id = proto_msg_routing_id (request);
        char *peer = routing_id ? zframe_strhex (routing_id) : NULL;
        zsys_warning ("router: malformed message from %s: %s", peer ? peer : "?",
                      proto_msg_text (request));
        zstr_free (&peer);
        s_error (self, request, PROTO_ERROR_MALFORMED, "%s", proto_msg_text (request));
    }
    else if (id == PROTO_MSG_PART)
        s_on_part (self, request);
    else if (id == PROTO_MSG_TOP_REQUEST || id == PROTO_MSG_SERIES_REQUEST ||
             id == PROTO_MSG_HOST_REQUEST || id == PROTO_MSG_DAYS_REQUEST ||
             id == PROTO_MSG_ANNOTATE || id == PROTO_MSG_OTHERS_REQUEST ||
             id == PROTO_MSG_CHANGES_REQUEST)
        s_on_query (self, request);
    else if (id >= PROTO_MSG_SLOTS_EXPORT && id <= PROTO_MSG_SLOTS_DELETE) {
        bool stale;
        proto_msg_t *reply =
            shard_move_handle (self->store, request, self->owned, self->map_epoch, &stale);
        proto_msg_send (&reply, self->router);
        if (stale)
            s_request_map (self);
    }
    else {
        zsys_warning ("router: unexpected %s", proto_msg_id_name (id));
        s_error (self, request, PROTO_ERROR_MALFORMED, "a shard does not serve %s",
                 proto_msg_id_name (id));
    }
    proto_msg_destroy (&request);
    return 0;
}

//  --------------------------------------------------------------------------
static void
s_send_broker (shard_t *self, proto_msg_t **msg_p)
{
    proto_msg_set_request_id (*msg_p, ++self->request_id);
    proto_msg_send (msg_p, self->dealer);
}

//  --------------------------------------------------------------------------
static int s_on_dealer (zloop_t *loop, zsock_t *reader, void *arg);

//  (Re)connect to the broker with a fresh DEALER (dropping anything queued) and HELLO.

static void
s_connect_broker (shard_t *self)
{
    if (self->dealer) {
        zloop_reader_end (self->loop, self->dealer);
        zsock_destroy (&self->dealer);
    }
    self->dealer = zsock_new (ZMQ_DEALER);
    assert (self->dealer);
    proto_curve_client (self->curve, self->dealer);
    zsock_set_linger (self->dealer, 0);
    proto_msg_limit_socket_small (self->dealer);
    if (zsock_connect (self->dealer, "%s", self->broker))
        zsys_error ("broker: cannot connect to %s", self->broker);
    zloop_reader (self->loop, self->dealer, s_on_dealer, self);
    zloop_reader_set_tolerant (self->loop, self->dealer);
    self->unanswered = 0;
    self->map_requested = 0;
    proto_msg_t *hello = proto_msg_new (PROTO_MSG_HELLO);
    proto_msg_set_role (hello, "shard");
    proto_msg_set_name (hello, self->name);
    proto_msg_set_endpoint (hello, self->endpoint);
    proto_msg_set_spool (hello, "");
    s_send_broker (self, &hello);
}

//  --------------------------------------------------------------------------
//  Ask the broker for the map, at most once per heartbeat interval.

static void
s_request_map (shard_t *self)
{
    int64_t now = zclock_mono ();
    if (self->map_requested && now - self->map_requested < PROTO_HEARTBEAT_MSECS)
        return;
    self->map_requested = now;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_MAP_REQUEST);
    s_send_broker (self, &request);
}

static void
s_check_epoch (shard_t *self, uint64_t epoch)
{
    if (self->have_map && epoch == self->map_epoch)
        return;
    s_request_map (self);
}

//  --------------------------------------------------------------------------
//  Keep the MAP's encoding in the data directory (write, fsync, rename), so that after a
//  restart the shard serves parts at once instead of waiting for the broker.

static void
s_map_save (shard_t *self, proto_msg_t *map)
{
    zframe_t *frame = proto_msg_encode (map);
    char *temp = zsys_sprintf ("%s.tmp", self->map_path);
    int fd = frame ? open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    bool saved =
        fd >= 0 &&
        write (fd, zframe_data (frame), zframe_size (frame)) == (ssize_t) zframe_size (frame) &&
        fsync (fd) == 0;
    if (fd >= 0 && close (fd))
        saved = false;
    if (saved && rename (temp, self->map_path))
        saved = false;
    if (!saved) {
        zsys_warning ("map: cannot keep it in %s: %s (a restart waits for the broker)",
                      self->map_path, frame ? strerror (errno) : "does not encode");
        unlink (temp);
    }
    zstr_free (&temp);
    zframe_destroy (&frame);
}

static void s_apply_map (shard_t *self, proto_msg_t *map, bool save);

//  The MAP kept by the last run, if any: applied as if the broker had sent it.
static void
s_map_load (shard_t *self)
{
    zfile_t *file = zfile_new (NULL, self->map_path);
    if (!file || !zfile_is_regular (file)) {
        zfile_destroy (&file);
        return;
    }
    zchunk_t *chunk = zfile_input (file) == 0 ? zfile_read (file, zfile_cursize (file), 0) : NULL;
    proto_msg_t *map = NULL;
    char reason[256] = "cannot read it";
    if (chunk &&
        proto_msg_decode (zchunk_data (chunk), zchunk_size (chunk), &map, reason, sizeof reason) ==
            0 &&
        proto_msg_id (map) == PROTO_MSG_MAP) {
        zsys_info ("map: epoch %llu kept from the last run (%s): serving before the broker "
                   "answers",
                   (unsigned long long) proto_msg_epoch (map), self->map_path);
        s_apply_map (self, map, false);
    }
    else
        zsys_warning ("map: %s is not a MAP (%s): ignored, waiting for the broker", self->map_path,
                      map ? "another message" : reason);
    proto_msg_destroy (&map);
    zchunk_destroy (&chunk);
    zfile_destroy (&file);
}

//  --------------------------------------------------------------------------
static void
s_apply_map (shard_t *self, proto_msg_t *map, bool save)
{
    const uint16_t *slots = proto_msg_slots (map);
    if (!slots) {
        zsys_warning ("broker: MAP without slots, ignored");
        return;
    }
    size_t count = proto_msg_peers_count (map);
    const char **ingestors = (const char **) zmalloc ((count + 1) * sizeof (char *));
    size_t ingestor_count = 0, shard_count = 0;
    int index = -1;
    for (size_t peer = 0; peer < count; peer++) {
        proto_peer_t entry;
        proto_msg_peers_at (map, peer, &entry);
        if (streq (entry.role, "shard")) {
            if (streq (entry.name, self->name))
                index = (int) shard_count;
            shard_count++;
        }
        else if (streq (entry.role, "ingestor"))
            ingestors[ingestor_count++] = entry.name;
    }
    zhash_destroy (&self->ingestors);
    self->ingestors = zhash_new ();
    for (size_t ingestor = 0; ingestor < ingestor_count; ingestor++)
        zhash_insert (self->ingestors, ingestors[ingestor], (void *) "");
    size_t owned = 0;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++) {
        self->owned[slot] = index >= 0 && slots[slot] == index;
        owned += self->owned[slot];
    }
    shard_store_set_ingestors (self->store, ingestors, ingestor_count);
    free (ingestors);
    if (index < 0)
        zsys_warning ("map: epoch %llu does not name shard %s: it owns no slot",
                      (unsigned long long) proto_msg_epoch (map), self->name);
    else if (!self->have_map || self->map_epoch != proto_msg_epoch (map) ||
             self->shard_index != index)
        zsys_info ("map: epoch %llu, shard index %d, %zu slots, %zu ingestors",
                   (unsigned long long) proto_msg_epoch (map), index, owned, ingestor_count);
    bool changed = !self->have_map || self->map_epoch != proto_msg_epoch (map);
    self->shard_index = index;
    self->map_epoch = proto_msg_epoch (map);
    self->have_map = true;
    self->map_requested = 0;
    if (save && changed)
        s_map_save (self, map);
}

//  --------------------------------------------------------------------------
static int
s_on_dealer (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    shard_t *self = (shard_t *) arg;
    //  The heartbeat timer drains this socket too (zloop runs timers before readers), so
    //  zloop may call us for a message already taken: a blocking receive would then wait
    //  forever, and the whole shard with it.
    if (!(zsock_events (self->dealer) & ZMQ_POLLIN))
        return 0;
    proto_msg_t *msg = proto_msg_recv (self->dealer);
    if (!msg)
        return zsys_interrupted ? -1 : 0;
    self->unanswered = 0;
    switch (proto_msg_id (msg)) {
    case PROTO_MSG_WELCOME:
    case PROTO_MSG_HEARTBEAT_ACK:
        s_check_epoch (self, proto_msg_epoch (msg));
        break;
    case PROTO_MSG_MAP:
        s_apply_map (self, msg, true);
        break;
    case PROTO_MSG_ERROR:
        if (proto_msg_code (msg) == PROTO_ERROR_UNKNOWN_PEER) {
            zsys_notice ("broker: does not know us (restarted?): HELLO again");
            s_connect_broker (self);
        }
        else
            zsys_warning ("broker: ERROR %u: %s", proto_msg_code (msg), proto_msg_text (msg));
        break;
    case PROTO_MSG_MALFORMED:
        zsys_warning ("broker: malformed reply dropped: %s", proto_msg_text (msg));
        break;
    default:
        zsys_warning ("broker: unexpected %s dropped", proto_msg_id_name (proto_msg_id (msg)));
        break;
    }
    proto_msg_destroy (&msg);
    return 0;
}

//  --------------------------------------------------------------------------
static void
s_stat (proto_msg_t *msg, const char *key, uint64_t value)
{
    proto_msg_stats_set (msg, key, value > INT64_MAX ? INT64_MAX : (int64_t) value);
}

static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    shard_t *self = (shard_t *) arg;
    //  zloop runs timers before readers: read what the broker sent before counting.
    //  Silence is counted in heartbeats unanswered, not in time, so that a long part
    //  (which delays our heartbeats too) is no reason to reconnect.
    while (zsock_events (self->dealer) & ZMQ_POLLIN)
        s_on_dealer (loop, self->dealer, self);
    //  zloop fires a late timer once per missed period, back to back: skip those
    int64_t now = zclock_mono ();
    if (now - self->heartbeat_sent < PROTO_HEARTBEAT_MSECS / 2)
        return 0;
    self->heartbeat_sent = now;
    if (self->unanswered >= PROTO_HEARTBEAT_LIVENESS) {
        zsys_warning ("broker: %zu heartbeats unanswered: reconnecting to %s", self->unanswered,
                      self->broker);
        s_connect_broker (self);
        return 0;
    }
    proto_msg_t *heartbeat = proto_msg_new (PROTO_MSG_HEARTBEAT);
    proto_msg_set_name (heartbeat, self->name);
    proto_msg_set_role (heartbeat, "shard");
    shard_store_stats_t stats;
    if (shard_store_stats (self->store, &stats) == SHARD_STORE_OK) {
        s_stat (heartbeat, "hosts", stats.hosts);
        s_stat (heartbeat, "rows", stats.rows);
        s_stat (heartbeat, "lmdb_bytes", stats.lmdb_bytes);
        s_stat (heartbeat, "map_bytes", stats.map_bytes);
        s_stat (heartbeat, "parts_applied", stats.parts_applied);
        s_stat (heartbeat, "last_block", stats.last_block);
        s_stat (heartbeat, "open_blocks", stats.open_blocks);
        s_stat (heartbeat, "late_parts", stats.late_parts);
        s_stat (heartbeat, "old_parts", stats.old_parts);
    }
    else
        zsys_error ("status: %s", shard_store_error (self->store));
    s_send_broker (self, &heartbeat);
    self->unanswered++;
    return 0;
}

//  --------------------------------------------------------------------------
static int
s_on_finalise (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    shard_t *self = (shard_t *) arg;
    size_t finalised = 0;
    int rc = shard_store_finalise_due (self->store, zclock_time () / 1000, &finalised);
    if (rc != SHARD_STORE_OK && !self->finalise_failing)
        zsys_error ("finalise: %s (retrying every %d ms)", shard_store_error (self->store),
                    SHARD_FINALISE_MSECS);
    self->finalise_failing = rc != SHARD_STORE_OK;
    if (finalised && self->verbose)
        zsys_debug ("finalise: %zu blocks past grace or complete", finalised);
    return 0;
}

//  --------------------------------------------------------------------------
//  One batch of maintenance: retention first, then archiving finished days; schedules
//  the next batch soon while work remains.

static int
s_on_maintenance (zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    shard_t *self = (shard_t *) arg;
    bool more = false;
    int64_t now = zclock_time () / 1000;
    int rc = shard_store_expire (self->store, now, SHARD_EXPIRE_BATCH, &more);
    if (rc != SHARD_STORE_OK)
        zsys_error ("retention: %s", shard_store_error (self->store));
    else if (!more) {
        rc = shard_store_archive (self->store, now, SHARD_ARCHIVE_BATCH, &more);
        if (rc != SHARD_STORE_OK)
            zsys_error ("archive: %s", shard_store_error (self->store));
    }
    if (rc == SHARD_STORE_OK && !more) {
        rc = shard_store_compact (self->store, now, SHARD_COMPACT_BATCH, &more);
        if (rc != SHARD_STORE_OK)
            zsys_error ("compaction: %s", shard_store_error (self->store));
    }
    self->maintenance_running = more;
    if (more)
        zloop_timer (loop, SHARD_MAINTENANCE_BATCH_MSECS, 1, s_on_maintenance, self);
    return 0;
}

static int
s_on_maintenance_period (zloop_t *loop, int timer_id, void *arg)
{
    shard_t *self = (shard_t *) arg;
    return self->maintenance_running ? 0 : s_on_maintenance (loop, timer_id, arg);
}

//  --------------------------------------------------------------------------
shard_t *
shard_new (const shard_config_t *config)
{
    assert (config);
    assert (config->name && config->data);
    shard_t *self = (shard_t *) zmalloc (sizeof (shard_t));
    assert (self);
    self->name = strdup (config->name);
    self->broker = strdup (config->broker);
    self->verbose = config->verbose;
    self->shard_index = -1;
    self->ingestors = zhash_new ();
    self->store = shard_store_new (config->data, config->mapsize_mb << 20);
    if (!self->store)
        goto fail;
    shard_store_set_retention_days (self->store, config->retention_days);
    shard_store_set_grace_secs (self->store, config->grace_secs);
    shard_store_set_verbose (self->store, config->verbose);
    int segment_days = shard_store_set_segment_days (self->store, config->segment_days);
    if (segment_days < 0)
        goto fail;
    if ((uint32_t) segment_days != config->segment_days)
        zsys_info ("store: segments of %d days (set when the store was made; --segment-days %u "
                   "applies to new stores only)",
                   segment_days, config->segment_days);
    self->map_path = zsys_sprintf ("%s/%s", config->data, SHARD_MAP_FILE);
    s_map_load (self);
    bool curve_failed;
    self->curve = proto_curve_new (config->curve_keys, config->name, true, &curve_failed);
    if (curve_failed)
        goto fail;
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    proto_curve_server (self->curve, self->router);
    zsock_set_linger (self->router, 0);
    proto_msg_limit_socket (self->router);
    if (zsock_bind (self->router, "%s", config->endpoint) == -1) {
        zsys_error ("router: cannot bind %s: %s", config->endpoint, zmq_strerror (zmq_errno ()));
        goto fail;
    }
    self->endpoint = zsock_last_endpoint (self->router);
    self->loop = zloop_new ();
    assert (self->loop);
    zloop_reader (self->loop, self->router, s_on_router, self);
    zloop_reader_set_tolerant (self->loop, self->router);
    zloop_timer (self->loop, PROTO_HEARTBEAT_MSECS, 0, s_on_heartbeat, self);
    zloop_timer (self->loop, SHARD_FINALISE_MSECS, 0, s_on_finalise, self);
    zloop_timer (self->loop, SHARD_MAINTENANCE_MSECS, 0, s_on_maintenance_period, self);
    self->maintenance_running = true;
    zloop_timer (self->loop, MAINTENANCE_START_MSECS, 1, s_on_maintenance, self);
    s_connect_broker (self);
    zsys_info ("shard %s: serving on %s, store %s, broker %s", self->name, self->endpoint,
               config->data, self->broker);
    return self;
fail:
    shard_destroy (&self);
    return NULL;
}

//  --------------------------------------------------------------------------
void
shard_destroy (shard_t **self_p)
{
    assert (self_p);
    shard_t *self = *self_p;
    if (self) {
        zloop_destroy (&self->loop);
        zsock_destroy (&self->dealer);
        zsock_destroy (&self->router);
        shard_store_destroy (&self->store);
        zhash_destroy (&self->ingestors);
        zstr_free (&self->map_path);
        proto_curve_destroy (&self->curve);
        zstr_free (&self->endpoint);
        zstr_free (&self->broker);
        zstr_free (&self->name);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
int
shard_run (shard_t *self)
{
    assert (self);
    int rc = zloop_start (self->loop);
    zsys_info ("shard %s: stopping", self->name);
    return rc == 0 || zsys_interrupted ? 0 : -1;
}

//  --------------------------------------------------------------------------
const char *
shard_endpoint (shard_t *self)
{
    assert (self);
    return self->endpoint;
}

//  --------------------------------------------------------------------------
static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    (void) arg;
    char *command = zstr_recv (pipe);
    bool terminate = !command || streq (command, "$TERM");
    zstr_free (&command);
    return terminate ? -1 : 0;
}

void
shard_actor (zsock_t *pipe, void *args)
{
    shard_t *self = shard_new ((const shard_config_t *) args);
    zsock_signal (pipe, 0);
    zstr_send (pipe, self ? self->endpoint : "");
    if (self) {
        zloop_reader (self->loop, pipe, s_on_pipe, self);
        zloop_start (self->loop);
        shard_destroy (&self);
    }
    else {
        //  Wait for $TERM, as every actor must
        char *command = zstr_recv (pipe);
        zstr_free (&command);
    }
}
