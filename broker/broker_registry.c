/*  broker_registry.c - the broker's peers: registration, heartbeats, expiry (see the .h).

    Peers are owned by the by-name table; the by-routing-id table and the expiry list
    only borrow them.  Invariants: a peer is in the expiry list if and only if it is up,
    and the list is ordered by expiry because every insertion is at the tail with the
    latest expiry (now + liveness * interval, with now never going back).
*/
#include "broker/broker_registry.h"

typedef enum { PEER_UNKNOWN, PEER_UP, PEER_DOWN } s_state_t;

typedef struct {
    char *name;                            //  Peer name (key of the by-name table)
    bool is_shard;                         //  Else an ingestor
    char *routing;                         //  Hex routing id of its last HELLO, or NULL
    s_state_t state;                       //  Unknown, up or down
    int64_t last_seen;                     //  Monotonic msecs of the last HELLO/HEARTBEAT
    int64_t expiry;                        //  Monotonic msecs after which it is down
    void *expiry_handle;                   //  Its place in the expiry list while up
    size_t stat_count;                     //  Stats entries used
    char *stat_keys[PROTO_STATS_MAX];      //  Owned stats names
    int64_t stat_values[PROTO_STATS_MAX];  //  Stats values of the last HEARTBEAT
} s_peer_t;

struct _broker_registry_t {
    broker_map_t *map;        //  Borrowed persisted map
    int64_t heartbeat_msecs;  //  Expected heartbeat interval
    int64_t expiry_msecs;     //  Silence after which a peer is down
    zhashx_t *peers;          //  Name -> s_peer_t (owned)
    zhashx_t *routings;       //  Hex routing id -> s_peer_t (borrowed)
    zlistx_t *expiry;         //  Up peers, soonest expiry first (borrowed)
};

static const char *s_state_names[] = {BROKER_REGISTRY_UNKNOWN, BROKER_REGISTRY_UP,
                                      BROKER_REGISTRY_DOWN};

//  --------------------------------------------------------------------------
static void
s_peer_stats_clear (s_peer_t *peer)
{
    for (size_t index = 0; index < peer->stat_count; index++)
        zstr_free (&peer->stat_keys[index]);
    peer->stat_count = 0;
}

//  --------------------------------------------------------------------------
static void
s_peer_destroy (void **item)
{
    s_peer_t *peer = (s_peer_t *) *item;
    if (!peer)
        return;
    s_peer_stats_clear (peer);
    zstr_free (&peer->routing);
    zstr_free (&peer->name);
    free (peer);
    *item = NULL;
}

//  --------------------------------------------------------------------------
static s_peer_t *
s_peer_add (broker_registry_t *self, const char *name, bool is_shard)
{
    s_peer_t *peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
    peer->name = strdup (name);
    assert (peer->name);
    peer->is_shard = is_shard;
    int rc = zhashx_insert (self->peers, name, peer);
    assert (rc == 0);
    return peer;
}

//  --------------------------------------------------------------------------
broker_registry_t *
broker_registry_new (broker_map_t *map, int64_t heartbeat_msecs, int liveness)
{
    assert (map);
    assert (heartbeat_msecs > 0);
    assert (liveness > 0);
    broker_registry_t *self = (broker_registry_t *) zmalloc (sizeof (broker_registry_t));
    self->map = map;
    self->heartbeat_msecs = heartbeat_msecs;
    self->expiry_msecs = heartbeat_msecs * liveness;
    self->peers = zhashx_new ();
    self->routings = zhashx_new ();
    self->expiry = zlistx_new ();
    assert (self->peers && self->routings && self->expiry);
    zhashx_set_destructor (self->peers, s_peer_destroy);
    for (size_t index = 0; index < broker_map_shard_count (map); index++)
        s_peer_add (self, broker_map_shard_name (map, index), true);
    for (size_t index = 0; index < broker_map_ingestor_count (map); index++)
        s_peer_add (self, broker_map_ingestor_name (map, index), false);
    return self;
}

//  --------------------------------------------------------------------------
void
broker_registry_destroy (broker_registry_t **self_p)
{
    assert (self_p);
    broker_registry_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy (&self->expiry);
    zhashx_destroy (&self->routings);
    zhashx_destroy (&self->peers);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  The peer heard from now: up, with a fresh expiry at the tail of the list.

static void
s_peer_refresh (broker_registry_t *self, s_peer_t *peer, int64_t now)
{
    peer->last_seen = now;
    peer->expiry = now + self->expiry_msecs;
    if (peer->expiry_handle)
        zlistx_move_end (self->expiry, peer->expiry_handle);
    else
        peer->expiry_handle = zlistx_add_end (self->expiry, peer);
    peer->state = PEER_UP;
}

//  --------------------------------------------------------------------------
//  Check the HELLO fields of each role and record them in the map.  0 or an error code.

static int
s_hello_check (broker_registry_t *self, proto_msg_t *hello, bool *is_shard, char *error,
               size_t error_size)
{
    const char *role = proto_msg_role (hello);
    const char *name = proto_msg_name (hello);
    *is_shard = streq (role, "shard");
    if (!*is_shard && !streq (role, "ingestor")) {
        snprintf (error, error_size, "HELLO: role '%.32s' is neither shard nor ingestor", role);
        return PROTO_ERROR_INVALID;
    }
    if (!broker_map_name_valid (name)) {
        snprintf (error, error_size,
                  "HELLO: name '%.64s' is invalid: use 1 to %d of A-Z a-z 0-9 . _ -", name,
                  PROTO_NAME_MAX);
        return PROTO_ERROR_INVALID;
    }
    int index = broker_map_shard_index (self->map, name);
    if (*is_shard) {
        const char *endpoint = proto_msg_endpoint (hello);
        if (index < 0) {
            char *names = broker_map_shard_names (self->map);
            snprintf (error, error_size,
                      "HELLO: shard '%s' is not in the map (shards: %.400s); start it with "
                      "one of those names, or give the broker another data directory",
                      name, names);
            zstr_free (&names);
            return PROTO_ERROR_WRONG_SHARD;
        }
        if (*endpoint == 0 || strpbrk (endpoint, " \t\r\n\"")) {
            snprintf (error, error_size, "HELLO: shard '%s' gave no usable endpoint", name);
            return PROTO_ERROR_INVALID;
        }
        if (broker_map_set_shard_endpoint (self->map, (size_t) index, endpoint)) {
            snprintf (error, error_size, "HELLO: the broker cannot persist its map");
            return PROTO_ERROR_INTERNAL;
        }
        return 0;
    }
    if (index >= 0) {
        snprintf (error, error_size, "HELLO: ingestor name '%s' is a shard's name", name);
        return PROTO_ERROR_WRONG_SHARD;
    }
    if (broker_map_add_ingestor (self->map, name, proto_msg_spool (hello))) {
        snprintf (error, error_size, "HELLO: the broker cannot persist its map");
        return PROTO_ERROR_INTERNAL;
    }
    return 0;
}

//  --------------------------------------------------------------------------
int
broker_registry_hello (broker_registry_t *self, proto_msg_t *hello, int64_t now, char *error,
                       size_t error_size)
{
    assert (self);
    assert (hello);
    assert (proto_msg_routing_id (hello));
    assert (error);
    bool is_shard;
    int code = s_hello_check (self, hello, &is_shard, error, error_size);
    if (code)
        return code;
    const char *name = proto_msg_name (hello);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, name);
    if (!peer)
        peer = s_peer_add (self, name, false);  //  A new ingestor, now in the map
    char *routing = zframe_strhex (proto_msg_routing_id (hello));
    s_peer_t *previous = (s_peer_t *) zhashx_lookup (self->routings, routing);
    if (previous && previous != peer) {
        zsys_warning ("registry: %s says HELLO from the connection of %s, which it replaces", name,
                      previous->name);
        zstr_free (&previous->routing);
    }
    if (peer->routing && !streq (peer->routing, routing)) {
        zsys_info ("registry: %s %s registered again from a new connection (restarted): "
                   "the new one wins",
                   is_shard ? "shard" : "ingestor", name);
        zhashx_delete (self->routings, peer->routing);
        zstr_free (&peer->routing);
    }
    if (!peer->routing) {
        peer->routing = routing;
        zhashx_update (self->routings, routing, peer);
    }
    else
        zstr_free (&routing);
    if (peer->state != PEER_UP)
        zsys_info ("registry: %s %s up%s%s", is_shard ? "shard" : "ingestor", name,
                   is_shard ? " at " : "", is_shard ? proto_msg_endpoint (hello) : "");
    s_peer_refresh (self, peer, now);
    return 0;
}

//  --------------------------------------------------------------------------
int
broker_registry_heartbeat (broker_registry_t *self, proto_msg_t *heartbeat, int64_t now)
{
    assert (self);
    assert (heartbeat);
    assert (proto_msg_routing_id (heartbeat));
    char *routing = zframe_strhex (proto_msg_routing_id (heartbeat));
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->routings, routing);
    zstr_free (&routing);
    if (!peer || !streq (peer->name, proto_msg_name (heartbeat)))
        return PROTO_ERROR_UNKNOWN_PEER;
    if (peer->state == PEER_DOWN)
        zsys_info ("registry: %s %s is back up", peer->is_shard ? "shard" : "ingestor", peer->name);
    s_peer_refresh (self, peer, now);
    s_peer_stats_clear (peer);
    size_t count = proto_msg_stats_count (heartbeat);
    for (size_t index = 0; index < count && index < PROTO_STATS_MAX; index++) {
        const char *key;
        int64_t value;
        proto_msg_stats_at (heartbeat, index, &key, &value);
        peer->stat_keys[index] = strdup (key);
        assert (peer->stat_keys[index]);
        peer->stat_values[index] = value;
        peer->stat_count++;
    }
    return 0;
}

//  --------------------------------------------------------------------------
size_t
broker_registry_purge (broker_registry_t *self, int64_t now)
{
    assert (self);
    size_t count = 0;
    s_peer_t *peer;
    while ((peer = (s_peer_t *) zlistx_first (self->expiry)) && peer->expiry <= now) {
        zlistx_delete (self->expiry, peer->expiry_handle);
        peer->expiry_handle = NULL;
        peer->state = PEER_DOWN;
        zsys_warning ("registry: %s %s down: no heartbeat for %" PRId64 " msecs",
                      peer->is_shard ? "shard" : "ingestor", peer->name, now - peer->last_seen);
        count++;
    }
    return count;
}

//  --------------------------------------------------------------------------
int64_t
broker_registry_timeout (broker_registry_t *self, int64_t now)
{
    assert (self);
    s_peer_t *peer = (s_peer_t *) zlistx_first (self->expiry);
    if (!peer || peer->expiry - now > self->heartbeat_msecs)
        return self->heartbeat_msecs;
    return peer->expiry > now ? peer->expiry - now : 0;
}

//  --------------------------------------------------------------------------
//  Append one peer's entry.

static void
s_peer_fill (s_peer_t *peer, proto_msg_t *message, const char *endpoint, const char *spool,
             uint32_t slots, int64_t now, bool with_stats)
{
    proto_peer_t entry = {.role = peer->is_shard ? "shard" : "ingestor",
                          .name = peer->name,
                          .endpoint = endpoint,
                          .spool = spool,
                          .state = s_state_names[peer->state],
                          .slots = slots,
                          .age_msecs =
                              peer->state == PEER_UNKNOWN ? 0 : (uint64_t) (now - peer->last_seen)};
    if (with_stats) {
        entry.stat_count = peer->stat_count;
        for (size_t index = 0; index < peer->stat_count; index++) {
            entry.stat_keys[index] = peer->stat_keys[index];
            entry.stat_values[index] = peer->stat_values[index];
        }
    }
    proto_msg_peers_append (message, &entry);
}

//  --------------------------------------------------------------------------
void
broker_registry_fill (broker_registry_t *self, proto_msg_t *message, int64_t now, bool with_stats)
{
    assert (self);
    assert (message);
    for (size_t index = 0; index < broker_map_shard_count (self->map); index++) {
        s_peer_t *peer =
            (s_peer_t *) zhashx_lookup (self->peers, broker_map_shard_name (self->map, index));
        assert (peer);
        s_peer_fill (peer, message, broker_map_shard_endpoint (self->map, index), "",
                     broker_map_shard_slots (self->map, index), now, with_stats);
    }
    for (size_t index = 0; index < broker_map_ingestor_count (self->map); index++) {
        s_peer_t *peer =
            (s_peer_t *) zhashx_lookup (self->peers, broker_map_ingestor_name (self->map, index));
        assert (peer);
        s_peer_fill (peer, message, "", broker_map_ingestor_spool (self->map, index), 0, now,
                     with_stats);
    }
}

//  --------------------------------------------------------------------------
int
broker_registry_remove_ingestor (broker_registry_t *self, const char *name, int64_t now,
                                 char *error, size_t error_size)
{
    assert (self);
    assert (name);
    assert (error);
    broker_registry_purge (self, now);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, name);
    if (!peer || peer->is_shard) {
        snprintf (error, error_size, "INGESTOR_REMOVE: no ingestor '%.64s' in the map", name);
        return PROTO_ERROR_UNKNOWN_PEER;
    }
    if (peer->state == PEER_UP) {
        snprintf (error, error_size,
                  "INGESTOR_REMOVE: ingestor '%s' is up (heard %.1fs ago): stop it first", name,
                  (double) (now - peer->last_seen) / 1000);
        return PROTO_ERROR_WRONG_SHARD;
    }
    if (broker_map_remove_ingestor (self->map, name)) {
        snprintf (error, error_size, "INGESTOR_REMOVE: the broker cannot persist its map");
        return PROTO_ERROR_INTERNAL;
    }
    if (peer->routing && zhashx_lookup (self->routings, peer->routing) == peer)
        zhashx_delete (self->routings, peer->routing);
    assert (!peer->expiry_handle);      //  Only up peers are in the expiry list
    zhashx_delete (self->peers, name);  //  Frees peer
    return 0;
}

//  --------------------------------------------------------------------------
const char *
broker_registry_state (broker_registry_t *self, const char *name)
{
    assert (self);
    assert (name);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, name);
    return peer ? s_state_names[peer->state] : NULL;
}

//  --------------------------------------------------------------------------
void
broker_registry_add_shard (broker_registry_t *self, const char *name)
{
    assert (self);
    assert (name);
    if (!zhashx_lookup (self->peers, name))
        s_peer_add (self, name, true);
}

//  --------------------------------------------------------------------------
bool
broker_registry_stat (broker_registry_t *self, const char *name, const char *key, int64_t *value)
{
    assert (self);
    assert (name && key && value);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, name);
    for (size_t index = 0; peer && peer->state == PEER_UP && index < peer->stat_count; index++)
        if (streq (peer->stat_keys[index], key)) {
            *value = peer->stat_values[index];
            return true;
        }
    return false;
}

//  --------------------------------------------------------------------------
//  A HELLO or HEARTBEAT as the broker's ROUTER would receive it.

static proto_msg_t *
s_test_message (proto_msg_id_t id, const char *routing, const char *role, const char *name,
                const char *endpoint)
{
    proto_msg_t *message = proto_msg_new (id);
    zframe_t *frame = zframe_new (routing, strlen (routing));
    proto_msg_set_routing_id (message, frame);
    zframe_destroy (&frame);
    proto_msg_set_role (message, role);
    proto_msg_set_name (message, name);
    if (id == PROTO_MSG_HELLO)
        proto_msg_set_endpoint (message, endpoint);
    return message;
}

//  --------------------------------------------------------------------------
//  Register and return the code.

static int
s_test_send (broker_registry_t *self, proto_msg_id_t id, const char *routing, const char *role,
             const char *name, const char *endpoint, int64_t now)
{
    proto_msg_t *message = s_test_message (id, routing, role, name, endpoint);
    char error[PROTO_TEXT_MAX];
    int code = id == PROTO_MSG_HELLO
                   ? broker_registry_hello (self, message, now, error, sizeof error)
                   : broker_registry_heartbeat (self, message, now);
    proto_msg_destroy (&message);
    return code;
}

//  --------------------------------------------------------------------------
void
broker_registry_test (bool verbose)
{
    printf (" * broker_registry: ");
    zsys_set_logstream (verbose ? stderr : NULL);  //  Refusals below are logged on purpose
    char dir_template[] = "/tmp/broker_registry_test.XXXXXX";
    char *dir = mkdtemp (dir_template);
    assert (dir);
    broker_map_t *map = broker_map_new (dir, "s0,s1");
    assert (map);
    broker_registry_t *registry = broker_registry_new (map, 100, 3);
    assert (registry);
    assert (streq (broker_registry_state (registry, "s0"), "unknown"));
    assert (broker_registry_state (registry, "r1") == NULL);
    assert (broker_registry_timeout (registry, 0) == 100);

    //  HELLO: shards of the map and new ingestors register; the rest is refused
    const int hello = PROTO_MSG_HELLO, beat = PROTO_MSG_HEARTBEAT;
    assert (s_test_send (registry, hello, "A", "shard", "s0", "tcp://h:1", 1000) == 0);
    assert (s_test_send (registry, hello, "B", "shard", "s1", "tcp://h:2", 1000) == 0);
    assert (s_test_send (registry, hello, "C", "ingestor", "r1", "", 1000) == 0);
    assert (s_test_send (registry, hello, "D", "shard", "s9", "tcp://h:9", 1000) == 409);
    assert (s_test_send (registry, hello, "D", "ingestor", "s0", "", 1000) == 409);
    assert (s_test_send (registry, hello, "D", "gateway", "g", "", 1000) == 422);
    assert (s_test_send (registry, hello, "D", "ingestor", "a b", "", 1000) == 422);
    assert (s_test_send (registry, hello, "D", "shard", "s0", "", 1000) == 422);
    assert (broker_map_epoch (map) == 4);  //  Two endpoints and one ingestor
    assert (broker_map_ingestor_count (map) == 1);
    assert (streq (broker_registry_state (registry, "r1"), "up"));

    //  Heartbeats: only from the routing id registered under that name
    assert (s_test_send (registry, beat, "A", "shard", "s0", "", 1050) == 0);
    assert (s_test_send (registry, beat, "A", "shard", "s1", "", 1050) == 404);
    assert (s_test_send (registry, beat, "Z", "shard", "s0", "", 1050) == 404);
    proto_msg_t *message = s_test_message (beat, "A", "shard", "s0", "");
    proto_msg_stats_set (message, "hosts", 42);
    assert (broker_registry_heartbeat (registry, message, 1100) == 0);
    proto_msg_destroy (&message);

    //  Expiry: s1 and r1 went silent at 1000, s0 at 1100; down after 300 msecs
    assert (broker_registry_timeout (registry, 1100) == 100);
    assert (broker_registry_timeout (registry, 1299) == 1);
    assert (broker_registry_purge (registry, 1299) == 0);
    assert (broker_registry_purge (registry, 1300) == 2);
    assert (streq (broker_registry_state (registry, "s1"), "down"));
    assert (streq (broker_registry_state (registry, "r1"), "down"));
    assert (streq (broker_registry_state (registry, "s0"), "up"));
    assert (broker_registry_timeout (registry, 1300) == 100);
    assert (broker_registry_timeout (registry, 1500) == 0);

    //  A down peer that heartbeats again is back up
    assert (s_test_send (registry, beat, "B", "shard", "s1", "", 1400) == 0);
    assert (streq (broker_registry_state (registry, "s1"), "up"));

    //  Restart: same name from a new routing id wins, the old one is forgotten
    assert (s_test_send (registry, hello, "E", "shard", "s0", "tcp://h:1", 1400) == 0);
    assert (broker_map_epoch (map) == 4);  //  Same endpoint: no change
    assert (s_test_send (registry, beat, "A", "shard", "s0", "", 1450) == 404);
    assert (s_test_send (registry, beat, "E", "shard", "s0", "", 1450) == 0);

    //  The peer list: shards in index order, then ingestors, with stats on request
    message = proto_msg_new (PROTO_MSG_STATUS);
    broker_registry_fill (registry, message, 1500, true);
    assert (proto_msg_peers_count (message) == 3);
    proto_peer_t peer;
    proto_msg_peers_at (message, 0, &peer);
    assert (streq (peer.name, "s0") && streq (peer.role, "shard") && peer.slots == 512);
    assert (streq (peer.endpoint, "tcp://h:1") && streq (peer.state, "up"));
    assert (peer.age_msecs == 50 && peer.stat_count == 0);  //  The last HEARTBEAT had none
    proto_msg_peers_at (message, 2, &peer);
    assert (streq (peer.name, "r1") && streq (peer.role, "ingestor") && peer.slots == 0);
    assert (streq (peer.state, "down") && peer.age_msecs == 500);
    proto_msg_destroy (&message);

    //  Decommission: refused while up, for a shard or an unknown name; then gone
    char error[PROTO_TEXT_MAX];
    assert (s_test_send (registry, hello, "F", "ingestor", "r2", "", 1500) == 0);
    assert (broker_map_epoch (map) == 5);
    assert (broker_registry_remove_ingestor (registry, "r2", 1600, error, sizeof error) == 409);
    assert (strstr (error, "'r2' is up"));
    assert (broker_registry_remove_ingestor (registry, "s0", 1600, error, sizeof error) == 404);
    assert (broker_registry_remove_ingestor (registry, "r9", 1600, error, sizeof error) == 404);
    assert (broker_registry_remove_ingestor (registry, "r1", 1600, error, sizeof error) == 0);
    assert (broker_map_epoch (map) == 6 && broker_map_ingestor_count (map) == 1);
    assert (broker_registry_state (registry, "r1") == NULL);
    assert (s_test_send (registry, beat, "C", "ingestor", "r1", "", 1600) == 404);
    //  r2 silent from 1500: down at 1800, then it can go
    assert (broker_registry_remove_ingestor (registry, "r2", 1800, error, sizeof error) == 0);
    assert (broker_map_ingestor_count (map) == 0);
    assert (s_test_send (registry, beat, "F", "ingestor", "r2", "", 1800) == 404);
    //  It may come back: registered again
    assert (s_test_send (registry, hello, "F", "ingestor", "r2", "", 1900) == 0);
    assert (broker_map_ingestor_count (map) == 1 && broker_map_epoch (map) == 8);
    message = proto_msg_new (PROTO_MSG_STATUS);
    broker_registry_fill (registry, message, 1900, false);
    assert (proto_msg_peers_count (message) == 3);
    proto_msg_destroy (&message);

    //  A new registry over the same map: every peer unknown
    broker_registry_destroy (&registry);
    broker_registry_destroy (&registry);
    registry = broker_registry_new (map, 100, 3);
    assert (streq (broker_registry_state (registry, "r2"), "unknown"));
    assert (broker_registry_state (registry, "r1") == NULL);
    assert (s_test_send (registry, beat, "E", "shard", "s0", "", 2000) == 404);
    broker_registry_destroy (&registry);
    broker_map_destroy (&map);
    broker_map_test_dir_remove (dir);
    zsys_set_logstream (stderr);
    printf ("OK\n");
}
