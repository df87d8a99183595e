/*  proto_msg.h - every message on the wire: typed API over the msgpack codec.

    proto/PROTOCOL.md is the specification; this class is its only implementation and the
    only code in portevo that calls msgpack_pack_* or msgpack_unpack_next.  A message has
    an id, a request id, an optional routing id (on ROUTER sockets) and the body fields
    of its id.  Scalar fields have a getter and a setter each; list fields are appended
    one entry at a time and read back by index into small entry structs whose pointers
    are borrowed from the message (valid until it is destroyed).

    Decoding is defensive (PROTOCOL.md "Grammar"): a frame that is not a four-element
    array, has another version, an unknown id, a missing required key or a key of the
    wrong type, an oversized string or list, or trailing bytes, is malformed.  Unknown
    keys are ignored.

    Typical use:
        proto_msg_t *request = proto_msg_recv (router);   //  NULL: interrupted
        if (proto_msg_id (request) == PROTO_MSG_MALFORMED) {
            proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_ERROR);
            proto_msg_set_code (reply, PROTO_ERROR_MALFORMED);
            proto_msg_set_text (reply, proto_msg_text (request));
            proto_msg_send (&reply, router);
        }
        proto_msg_destroy (&request);
*/
#ifndef PROTO_MSG_H_INCLUDED
#define PROTO_MSG_H_INCLUDED

#include "proto/proto_host.h"
#include "proto/proto_shard.h"
#include "proto/proto_sketch.h"

#include <czmq.h>

#define PROTO_VERSION 1                             //  Wire version (PROTOCOL.md "Versioning")
#define PROTO_FRAME_MAX (512LL * 1024 * 1024)       //  ZMQ_MAXMSGSIZE of a shard's ROUTER (PARTs)
#define PROTO_FRAME_SMALL_MAX (16LL * 1024 * 1024)  //  ZMQ_MAXMSGSIZE of every other socket
#define PROTO_PORT_ALL 65536                        //  "port" value meaning ALL*
#define PROTO_HEARTBEAT_MSECS 1000                  //  Heartbeat interval
#define PROTO_HEARTBEAT_LIVENESS 3                  //  Intervals missed before "down"
#define PROTO_STATS_MAX 32                          //  Stats entries per peer
#define PROTO_NAME_MAX 64                           //  Longest name / source / role
#define PROTO_ENDPOINT_MAX 256                      //  Longest endpoint
#define PROTO_PATH_MAX 1024                         //  Longest spool / file path
#define PROTO_TEXT_MAX 512                          //  Longest error text
#define PROTO_RRNAME_MAX 256                        //  Longest annotation name
#define PROTO_RRTYPE_MAX 16                         //  Longest annotation type
#define PROTO_SPARK_MAX 31                          //  Days of a sparkline (CHANGES_REQUEST)

typedef enum {
    PROTO_MSG_MALFORMED = 0,  //  Not on the wire: what proto_msg_recv returns for a bad frame
    PROTO_MSG_HELLO = 1,
    PROTO_MSG_WELCOME = 2,
    PROTO_MSG_HEARTBEAT = 3,
    PROTO_MSG_HEARTBEAT_ACK = 4,
    PROTO_MSG_MAP_REQUEST = 5,
    PROTO_MSG_MAP = 6,
    PROTO_MSG_STATUS_REQUEST = 7,
    PROTO_MSG_STATUS = 8,
    PROTO_MSG_PART = 9,
    PROTO_MSG_PART_ACK = 10,
    PROTO_MSG_TOP_REQUEST = 11,
    PROTO_MSG_TOP = 12,
    PROTO_MSG_SERIES_REQUEST = 13,
    PROTO_MSG_SERIES = 14,
    PROTO_MSG_HOST_REQUEST = 15,
    PROTO_MSG_HOST = 16,
    PROTO_MSG_DAYS_REQUEST = 17,
    PROTO_MSG_DAYS = 18,
    PROTO_MSG_ANNOTATE = 19,
    PROTO_MSG_ANNOTATE_ACK = 20,
    PROTO_MSG_ERROR = 21,
    PROTO_MSG_INGESTOR_REMOVE = 22,
    PROTO_MSG_INGESTOR_REMOVED = 23,
    PROTO_MSG_CHANGES_REQUEST = 24,
    PROTO_MSG_CHANGES = 25,
    PROTO_MSG_OTHERS_REQUEST = 28,
    PROTO_MSG_OTHERS = 29,
    PROTO_MSG_SHARD_ADD = 30,  //  Slot moves (PROTOCOL.md "Slot moves")
    PROTO_MSG_SHARD_REMOVE = 31,
    PROTO_MSG_MOVE_PLANNED = 32,
    PROTO_MSG_SLOTS_EXPORT = 33,
    PROTO_MSG_SLOTS_DATA = 34,
    PROTO_MSG_SLOTS_IMPORT = 35,
    PROTO_MSG_SLOTS_DELETE = 36,
    PROTO_MSG_SLOTS_DONE = 37
} proto_msg_id_t;

#define PROTO_MSG_ID_MAX 37  //  Highest id on the wire (ids without a name are unknown)
#define PROTO_SLOTSET_SIZE                                                                         \
    128  //  A `slotset`: PROTO_SLOT_COUNT bits, slot s = bit s % 8
         //  of byte s / 8
#define PROTO_SLOTS_DATA_MAX (PROTO_FRAME_MAX - 4096)  //  Longest `data` of SLOTS_DATA

typedef enum {
    PROTO_ERROR_MALFORMED = 400,
    PROTO_ERROR_UNKNOWN_PEER = 404,
    PROTO_ERROR_WRONG_SHARD = 409,
    PROTO_ERROR_INVALID = 422,
    PROTO_ERROR_INTERNAL = 500,
    PROTO_ERROR_UNAVAILABLE = 503,
    PROTO_ERROR_STORE_FULL = 507
} proto_error_t;

#define PROTO_PEERS_EXACT 0   //  pair peers: sorted 16-byte addresses
#define PROTO_PEERS_SKETCH 1  //  pair peers: a proto_sketch of PROTO_SKETCH_REGISTERS bytes

//  List entries.  Pointers are borrowed from the message they were read from; when
//  appending, everything is copied into the message.
typedef struct {
    const char *role;                        //  "shard" or "ingestor"
    const char *name;                        //  Peer name
    const char *endpoint;                    //  Shard endpoint, "" for ingestors
    const char *spool;                       //  Ingestor spool, "" for shards
    const char *state;                       //  "up", "down" or "unknown"
    uint32_t slots;                          //  Slots owned (shards)
    uint64_t age_msecs;                      //  Since the last heartbeat
    size_t stat_count;                       //  Entries used below
    const char *stat_keys[PROTO_STATS_MAX];  //  Stats names
    int64_t stat_values[PROTO_STATS_MAX];    //  Stats values
} proto_peer_t;

typedef struct {
    proto_addr_t addr;     //  Source host
    uint16_t port;         //  Destination port
    uint64_t bytes;        //  Block sum of bytes
    uint64_t packets;      //  Block sum of packets
    uint64_t durations;    //  Block sum of durations, msecs
    uint8_t peers_kind;    //  PROTO_PEERS_EXACT or PROTO_PEERS_SKETCH
    const uint8_t *peers;  //  Sorted addresses (16 bytes each) or sketch registers
    size_t peers_size;     //  Bytes at peers
} proto_pair_t;

typedef struct {
    uint16_t port;         //  Destination port
    uint8_t feature;       //  proto_feature_t
    proto_addr_t addr;     //  Host
    uint64_t score;        //  Daily score
    uint32_t annotations;  //  Annotations known for the host
    bool peers_capped;     //  Feature peers only: the score reached PROTO_PEERS_CAP (see
                           //  PROTOCOL.md "Estimated peers"); from the cap on, an estimate
} proto_top_t;

typedef struct {
    uint16_t port;      //  Destination port
    uint32_t day;       //  Days since 1970-01-01 (UTC)
    uint64_t score;     //  Daily score
    bool peers_capped;  //  Feature peers only: the score reached PROTO_PEERS_CAP
} proto_point_t;

//  change entry flags (CHANGES, PROTOCOL.md): what the entry is
#define PROTO_CHANGE_TOP 1    //  In the shard's top list of (day, port, feature, op)
#define PROTO_CHANGE_PREV 2   //  In the shard's top list of the day before (score of that day)
#define PROTO_CHANGE_FIRST 4  //  The host's first day on the port in the store (ever)
#define PROTO_CHANGE_FLAGS 7  //  Every flag

typedef struct {
    uint16_t port;         //  Destination port
    uint8_t feature;       //  proto_feature_t
    proto_addr_t addr;     //  Host
    uint64_t score;        //  Daily score (of the day before for PROTO_CHANGE_PREV)
    uint64_t median;       //  Median score over the days with traffic of the window
    uint32_t days;         //  Days with traffic on the port in the window
    uint8_t flags;         //  PROTO_CHANGE_* bits
    uint32_t annotations;  //  Annotations known for the host
} proto_change_t;

typedef struct {
    proto_addr_t addr;   //  Host the name belongs to
    const char *rrname;  //  Name (attacker-controlled text: escape before display)
    const char *rrtype;  //  "PTR", "A", "AAAA"...
    int64_t first_seen;  //  Secs since the epoch
    int64_t last_seen;   //  Secs since the epoch
} proto_annotation_t;

//  Traffic of a host to ports that are not monitored (PROTOCOL.md "The other ports"):
//  totals of one block (PART) or one day (OTHERS), and per port.
typedef struct {
    proto_addr_t addr;  //  Source host
    uint32_t day;       //  Days since 1970-01-01 (UTC): the block's day in a PART
    uint64_t bytes;     //  Sum of bytes to every port not monitored
    uint64_t packets;   //  Sum of packets
    uint64_t flows;     //  Flows
    bool truncated;     //  Some port's traffic is in the totals but not in the port list
} proto_other_t;

typedef struct {
    proto_addr_t addr;  //  Source host
    uint32_t day;       //  As in proto_other_t
    uint16_t port;      //  Destination port (not monitored)
    uint64_t bytes;     //  Sum of bytes to that port
    uint64_t packets;   //  Sum of packets
    uint64_t flows;     //  Flows
} proto_other_port_t;

typedef struct _proto_msg_t proto_msg_t;

//  Create an empty message of the given id (request id 0, no routing id).
proto_msg_t *proto_msg_new (proto_msg_id_t id);

//  Destroy; NULL-safe, nulls *self_p.
void proto_msg_destroy (proto_msg_t **self_p);

//  A new message of id reply_id with the routing id and request id of request.
proto_msg_t *proto_msg_reply (proto_msg_t *request, proto_msg_id_t reply_id);

//  True if id is a message id of this build (1..PROTO_MSG_ID_MAX, not a gap).
bool proto_msg_id_known (unsigned id);

//  Id, its name ("PART"), request id, routing id (borrowed; NULL if none).
proto_msg_id_t proto_msg_id (proto_msg_t *self);
const char *proto_msg_id_name (proto_msg_id_t id);
uint64_t proto_msg_request_id (proto_msg_t *self);
void proto_msg_set_request_id (proto_msg_t *self, uint64_t request_id);
zframe_t *proto_msg_routing_id (proto_msg_t *self);
void proto_msg_set_routing_id (proto_msg_t *self, zframe_t *routing_id);  //  copies

//  Scalar fields (PROTOCOL.md says which message carries which).  String getters return
//  "" when unset; setters copy and truncate nothing: a string longer than the protocol
//  allows makes proto_msg_encode fail (returns NULL).  Setting a field, stats, slots or
//  appending to a list that the message's id does not carry is a programmer error and
//  asserts (a MALFORMED message carries text only); getters of such fields return 0/"".
const char *proto_msg_role (proto_msg_t *self);
void proto_msg_set_role (proto_msg_t *self, const char *role);
const char *proto_msg_name (proto_msg_t *self);
void proto_msg_set_name (proto_msg_t *self, const char *name);
const char *proto_msg_endpoint (proto_msg_t *self);
void proto_msg_set_endpoint (proto_msg_t *self, const char *endpoint);
const char *proto_msg_spool (proto_msg_t *self);
void proto_msg_set_spool (proto_msg_t *self, const char *spool);
const char *proto_msg_source (proto_msg_t *self);
void proto_msg_set_source (proto_msg_t *self, const char *source);
const char *proto_msg_file (proto_msg_t *self);
void proto_msg_set_file (proto_msg_t *self, const char *file);
const char *proto_msg_text (proto_msg_t *self);
void proto_msg_set_text (proto_msg_t *self, const char *text);
uint64_t proto_msg_epoch (proto_msg_t *self);
void proto_msg_set_epoch (proto_msg_t *self, uint64_t epoch);
int64_t proto_msg_block (proto_msg_t *self);
void proto_msg_set_block (proto_msg_t *self, int64_t block);
bool proto_msg_duplicate (proto_msg_t *self);
void proto_msg_set_duplicate (proto_msg_t *self, bool duplicate);
bool proto_msg_expired (proto_msg_t *self);
void proto_msg_set_expired (proto_msg_t *self, bool expired);
uint32_t proto_msg_day (proto_msg_t *self);
void proto_msg_set_day (proto_msg_t *self, uint32_t day);
uint32_t proto_msg_from (proto_msg_t *self);
void proto_msg_set_from (proto_msg_t *self, uint32_t from);
uint32_t proto_msg_to (proto_msg_t *self);
void proto_msg_set_to (proto_msg_t *self, uint32_t to);
uint8_t proto_msg_op (proto_msg_t *self);
void proto_msg_set_op (proto_msg_t *self, uint8_t op);
uint8_t proto_msg_feature (proto_msg_t *self);
void proto_msg_set_feature (proto_msg_t *self, uint8_t feature);
uint32_t proto_msg_port (proto_msg_t *self);
void proto_msg_set_port (proto_msg_t *self, uint32_t port);
const proto_addr_t *proto_msg_host (proto_msg_t *self);
void proto_msg_set_host (proto_msg_t *self, const proto_addr_t *host);
bool proto_msg_known (proto_msg_t *self);
void proto_msg_set_known (proto_msg_t *self, bool known);
int64_t proto_msg_first_seen (proto_msg_t *self);
void proto_msg_set_first_seen (proto_msg_t *self, int64_t first_seen);
int64_t proto_msg_last_seen (proto_msg_t *self);
void proto_msg_set_last_seen (proto_msg_t *self, int64_t last_seen);
uint16_t proto_msg_code (proto_msg_t *self);
void proto_msg_set_code (proto_msg_t *self, uint16_t code);
uint32_t proto_msg_count (proto_msg_t *self);
void proto_msg_set_count (proto_msg_t *self, uint32_t count);
uint8_t proto_msg_spark (proto_msg_t *self);
void proto_msg_set_spark (proto_msg_t *self, uint8_t spark);
//  TOP_REQUEST, SERIES_REQUEST, HOST_REQUEST: proto_direction_t (optional key: absent
//  reads as PROTO_DIRECTION_OUT)
uint8_t proto_msg_direction (proto_msg_t *self);
void proto_msg_set_direction (proto_msg_t *self, uint8_t direction);
bool proto_msg_hold (proto_msg_t *self);
void proto_msg_set_hold (proto_msg_t *self, bool hold);

//  Binary fields: `slotset` (SLOTS_EXPORT, SLOTS_DELETE; the getter returns NULL unless
//  it is exactly PROTO_SLOTSET_SIZE bytes) and `data` (SLOTS_DATA, SLOTS_IMPORT; bytes
//  borrowed from the message, *size set).  Setters copy.
const uint8_t *proto_msg_slotset (proto_msg_t *self);
void proto_msg_set_slotset (proto_msg_t *self, const uint8_t *slotset);
const uint8_t *proto_msg_data (proto_msg_t *self, size_t *size);
void proto_msg_set_data (proto_msg_t *self, const void *data, size_t size);

//  HEARTBEAT stats: set (replaces a key; -1 when PROTO_STATS_MAX are used), get by key
//  (false if absent), or walk by index.
int proto_msg_stats_set (proto_msg_t *self, const char *key, int64_t value);
bool proto_msg_stats_get (proto_msg_t *self, const char *key, int64_t *value);
size_t proto_msg_stats_count (proto_msg_t *self);
void proto_msg_stats_at (proto_msg_t *self, size_t index, const char **key, int64_t *value);

//  MAP slots: PROTO_SLOT_COUNT shard indexes (copied), NULL until set.
void proto_msg_set_slots (proto_msg_t *self, const uint16_t *slots);
const uint16_t *proto_msg_slots (proto_msg_t *self);

//  A peer entry's stat by name: true with *value set, false if the peer did not report it.
bool proto_peer_stat (const proto_peer_t *peer, const char *key, int64_t *value);

//  Lists: append copies the entry; count; at fills *entry (index < count).  The
//  peers_capped flag of a top entry or point travels in the message's own `peers_capped`
//  list (PROTOCOL.md): append records it there, at reads it back.
void proto_msg_peers_append (proto_msg_t *self, const proto_peer_t *peer);
size_t proto_msg_peers_count (proto_msg_t *self);
void proto_msg_peers_at (proto_msg_t *self, size_t index, proto_peer_t *peer);
void proto_msg_pairs_append (proto_msg_t *self, const proto_pair_t *pair);
size_t proto_msg_pairs_count (proto_msg_t *self);
void proto_msg_pairs_at (proto_msg_t *self, size_t index, proto_pair_t *pair);
//  PART's pairs of the in direction (optional key `pairs_in`: absent reads as none).
void proto_msg_pairs_in_append (proto_msg_t *self, const proto_pair_t *pair);
size_t proto_msg_pairs_in_count (proto_msg_t *self);
void proto_msg_pairs_in_at (proto_msg_t *self, size_t index, proto_pair_t *pair);
void proto_msg_top_append (proto_msg_t *self, const proto_top_t *top);
size_t proto_msg_top_count (proto_msg_t *self);
void proto_msg_top_at (proto_msg_t *self, size_t index, proto_top_t *top);
void proto_msg_points_append (proto_msg_t *self, const proto_point_t *point);
size_t proto_msg_points_count (proto_msg_t *self);
void proto_msg_points_at (proto_msg_t *self, size_t index, proto_point_t *point);
void proto_msg_annotations_append (proto_msg_t *self, const proto_annotation_t *annotation);
size_t proto_msg_annotations_count (proto_msg_t *self);
void proto_msg_annotations_at (proto_msg_t *self, size_t index, proto_annotation_t *annotation);
void proto_msg_ports_append (proto_msg_t *self, uint16_t port);
size_t proto_msg_ports_count (proto_msg_t *self);
uint16_t proto_msg_ports_at (proto_msg_t *self, size_t index);
void proto_msg_changes_append (proto_msg_t *self, const proto_change_t *change);
size_t proto_msg_changes_count (proto_msg_t *self);
void proto_msg_changes_at (proto_msg_t *self, size_t index, proto_change_t *change);
//  CHANGES sparklines: per change entry, in entry order, the same number of daily
//  scores (oldest first); sparks_count is that number times the entries (PROTOCOL.md).
void proto_msg_sparks_append (proto_msg_t *self, uint64_t score);
size_t proto_msg_sparks_count (proto_msg_t *self);
uint64_t proto_msg_sparks_at (proto_msg_t *self, size_t index);
void proto_msg_days_append (proto_msg_t *self, uint32_t day);
size_t proto_msg_days_count (proto_msg_t *self);
uint32_t proto_msg_days_at (proto_msg_t *self, size_t index);
void proto_msg_others_append (proto_msg_t *self, const proto_other_t *other);
size_t proto_msg_others_count (proto_msg_t *self);
void proto_msg_others_at (proto_msg_t *self, size_t index, proto_other_t *other);
void proto_msg_other_ports_append (proto_msg_t *self, const proto_other_port_t *port);
size_t proto_msg_other_ports_count (proto_msg_t *self);
void proto_msg_other_ports_at (proto_msg_t *self, size_t index, proto_other_port_t *port);

//  Encode the body (not the routing id) into a new frame; NULL if a field breaks the
//  protocol's limits (the message is unchanged).
zframe_t *proto_msg_encode (proto_msg_t *self);

//  Decode a frame's bytes.  0 with a new message in *msg_p, or -2 if malformed with the
//  reason in error (at most error_size bytes, NUL-terminated) and *msg_p NULL.
int proto_msg_decode (const void *data, size_t size, proto_msg_t **msg_p, char *error,
                      size_t error_size);

//  Send and destroy the message (on a ROUTER socket its routing id goes first).
//  0 on success, -1 if it could not be encoded or sent (logged).  *self_p is nulled.
int proto_msg_send (proto_msg_t **self_p, zsock_t *sock);

//  Receive one message.  NULL when interrupted (or the socket closed).  A frame that does
//  not decode gives a PROTO_MSG_MALFORMED message carrying the routing id, the request id
//  if it could be read (else 0) and the reason as its text, so that the caller can answer
//  ERROR 400.  On a ROUTER, a message without exactly [routing id, frame] is malformed too.
proto_msg_t *proto_msg_recv (zsock_t *sock);

//  Set PROTO_FRAME_MAX as the socket's ZMQ_MAXMSGSIZE (call before bind/connect): for a
//  socket that receives PARTs (a shard's ROUTER).
void proto_msg_limit_socket (zsock_t *sock);

//  Set PROTO_FRAME_SMALL_MAX instead: for every socket that never receives a PART, so
//  that a hostile frame cannot make the decoder build a huge object tree (up to about
//  24 times the frame size).
void proto_msg_limit_socket_small (zsock_t *sock);

//  Selftest
void proto_msg_test (bool verbose);

#endif
