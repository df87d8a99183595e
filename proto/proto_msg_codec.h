/*  proto_msg_codec.h - private to proto_msg: its fields, its message table and its codec.

    No file outside proto_msg*.c includes this header; everyone else sees the opaque
    proto_msg_t of proto_msg.h.  The class is split for readability (see proto_msg.c):
    the table (proto_msg_table.c) addresses the fields below by offset, the codec
    (proto_msg_codec.c) walks the table, and the accessors and the selftest read the
    fields directly, so the struct lives here.
*/
#ifndef PROTO_MSG_CODEC_H_INCLUDED
#define PROTO_MSG_CODEC_H_INCLUDED

#include "proto/proto_msg.h"

#define PROTO_MSG_REASON_MAX 256    //  Longest reason of a malformed frame, with NUL
#define PROTO_MSG_STATS_KEY_MAX 32  //  Longest stats key (PROTOCOL.md "HEARTBEAT")

//  A growable array of fixed-size entries
typedef struct {
    uint8_t *items;   //  count entries of the record's size
    size_t count;     //  Entries used
    size_t capacity;  //  Entries allocated
} proto_msg_list_t;

struct _proto_msg_t {
    proto_msg_id_t id;                       //  Message id
    uint64_t request_id;                     //  Echoed by replies
    zframe_t *routing_id;                    //  ROUTER peer, or NULL
    const char *role;                        //  Body fields (proto_msg_body_columns);
    const char *name;                        //  strings live in the arena, NULL means ""
    const char *endpoint;                    //  Shard endpoint
    const char *spool;                       //  Ingestor spool
    const char *source;                      //  Ingestor of a part
    const char *file;                        //  File of a part, relative to the spool
    const char *text;                        //  Error text (or malformed reason)
    uint64_t epoch;                          //  Map version
    int64_t block;                           //  Block start, secs since the epoch
    bool duplicate;                          //  Part was applied before
    bool expired;                            //  Part is older than the shard's retention
    uint32_t day;                            //  Days since 1970-01-01
    uint32_t from;                           //  First day of a series
    uint32_t to;                             //  Last day of a series
    uint8_t op;                              //  proto_op_t
    uint8_t feature;                         //  proto_feature_t
    uint32_t port;                           //  Port or PROTO_PORT_ALL
    proto_addr_t host;                       //  Host asked about
    bool known;                              //  Host was seen
    int64_t first_seen;                      //  Secs since the epoch
    int64_t last_seen;                       //  Secs since the epoch
    uint16_t code;                           //  proto_error_t
    uint32_t count;                          //  Annotations stored, slots moved
    bool hold;                               //  MAP: ingestors hold new files (slot move)
    const uint8_t *slotset;                  //  Slot set (arena or frame), see slotset_size
    size_t slotset_size;                     //  Its bytes
    const uint8_t *data;                     //  Slot data (arena or frame)
    size_t data_size;                        //  Its bytes
    size_t stat_count;                       //  HEARTBEAT stats used
    const char *stat_keys[PROTO_STATS_MAX];  //  Stats names (arena)
    int64_t stat_values[PROTO_STATS_MAX];    //  Stats values
    uint16_t *slots;                         //  PROTO_SLOT_COUNT shard indexes, or NULL
    proto_msg_list_t peers;                  //  proto_peer_t
    proto_msg_list_t pairs;                  //  proto_pair_t
    proto_msg_list_t entries;                //  proto_top_t
    proto_msg_list_t points;                 //  proto_point_t
    proto_msg_list_t annotations;            //  proto_annotation_t
    proto_msg_list_t ports;                  //  uint16_t
    proto_msg_list_t days;                   //  uint32_t
    proto_msg_list_t capped;                 //  uint32_t: indexes of entries or points
                                             //  whose peers reached the cap, ascending
    proto_msg_list_t others;                 //  proto_other_t
    proto_msg_list_t other_ports;            //  proto_other_port_t
    proto_msg_list_t changes;                //  proto_change_t
    proto_msg_list_t sparks;                 //  uint64_t: sparkline scores of changes
    uint8_t spark;                           //  Days of sparkline asked (CHANGES_REQUEST)
    uint8_t direction;                       //  proto_direction_t of a query (optional key)
    proto_msg_list_t pairs_in;               //  proto_pair_t of the in direction (PART)
    struct _proto_msg_chunk_t *arena;        //  Newest chunk of owned memory
    zframe_t *frame;                         //  Decoded frame that peer blobs point into
    bool borrows;                            //  Some entry points into the decoded bytes
};

//  Body keys, in the order they are written
typedef enum {
    PROTO_MSG_FIELD_ROLE,
    PROTO_MSG_FIELD_NAME,
    PROTO_MSG_FIELD_ENDPOINT,
    PROTO_MSG_FIELD_SPOOL,
    PROTO_MSG_FIELD_SOURCE,
    PROTO_MSG_FIELD_FILE,
    PROTO_MSG_FIELD_TEXT,
    PROTO_MSG_FIELD_EPOCH,
    PROTO_MSG_FIELD_BLOCK,
    PROTO_MSG_FIELD_DUPLICATE,
    PROTO_MSG_FIELD_EXPIRED,
    PROTO_MSG_FIELD_DAY,
    PROTO_MSG_FIELD_FROM,
    PROTO_MSG_FIELD_TO,
    PROTO_MSG_FIELD_OP,
    PROTO_MSG_FIELD_FEATURE,
    PROTO_MSG_FIELD_PORT,
    PROTO_MSG_FIELD_HOST,
    PROTO_MSG_FIELD_KNOWN,
    PROTO_MSG_FIELD_FIRST_SEEN,
    PROTO_MSG_FIELD_LAST_SEEN,
    PROTO_MSG_FIELD_CODE,
    PROTO_MSG_FIELD_COUNT,
    PROTO_MSG_FIELD_STATS,
    PROTO_MSG_FIELD_SLOTS,
    PROTO_MSG_FIELD_PEERS,
    PROTO_MSG_FIELD_PAIRS,
    PROTO_MSG_FIELD_ENTRIES,
    PROTO_MSG_FIELD_POINTS,
    PROTO_MSG_FIELD_ANNOTATIONS,
    PROTO_MSG_FIELD_PORTS,
    PROTO_MSG_FIELD_DAYS,
    PROTO_MSG_FIELD_PEERS_CAPPED,
    PROTO_MSG_FIELD_OTHERS,
    PROTO_MSG_FIELD_OTHER_PORTS,
    PROTO_MSG_FIELD_CHANGES,
    PROTO_MSG_FIELD_SPARK,
    PROTO_MSG_FIELD_SPARKS,
    PROTO_MSG_FIELD_DIRECTION,
    PROTO_MSG_FIELD_PAIRS_IN,
    PROTO_MSG_FIELD_HOLD,
    PROTO_MSG_FIELD_SLOTSET,
    PROTO_MSG_FIELD_DATA,
    PROTO_MSG_FIELD_TOTAL
} proto_msg_field_t;

typedef enum {
    PROTO_MSG_KIND_UINT,   //  Unsigned integer at most limit; C integer of width bytes
    PROTO_MSG_KIND_INT,    //  int64_t, any value
    PROTO_MSG_KIND_BOOL,   //  bool
    PROTO_MSG_KIND_STR,    //  const char *, at most limit bytes, no NUL inside
    PROTO_MSG_KIND_BIN16,  //  proto_addr_t: a binary of exactly 16 bytes
    PROTO_MSG_KIND_BIN,    //  const uint8_t *, size_t at size_offset, at most limit bytes
    PROTO_MSG_KIND_STATS,  //  Map str -> i64: keys at offset, values at values_offset,
                           //  count at size_offset; at most limit distinct keys
    PROTO_MSG_KIND_SLOTS,  //  uint16_t * of PROTO_SLOT_COUNT values, each at most limit
    PROTO_MSG_KIND_LIST    //  proto_msg_list_t of entries of the record entry
} proto_msg_kind_t;

typedef struct _proto_msg_record_t proto_msg_record_t;

typedef struct {
    const char *key;                  //  Body key, or entry column name (for reasons)
    proto_msg_kind_t kind;            //  Wire type and C representation
    uint64_t limit;                   //  Largest value (UINT, SLOTS), size (STR, BIN) or
                                      //  entries (STATS)
    size_t offset;                    //  Where the value lives in its struct
    size_t width;                     //  Bytes of the C member (UINT)
    size_t size_offset;               //  BIN: its size; STATS: its count
    size_t values_offset;             //  STATS: its values
    const proto_msg_record_t *entry;  //  LIST: what each element is
} proto_msg_column_t;

struct _proto_msg_record_t {
    const char *name;                                //  Entry name ("pair")
    size_t size;                                     //  Bytes of one C entry
    bool bare;                                       //  One column, not wrapped in an array
    size_t column_count;                             //  Columns, in wire order
    const proto_msg_column_t *columns;               //  Column table
    int (*check) (const void *entry, char *reason);  //  Cross-column rules, or NULL
};

typedef struct {
    const char *name;   //  Id name ("PART")
    uint64_t fields;    //  Keys carried: bits 1 << proto_msg_field_t
    uint64_t optional;  //  Keys among them that may be absent (PROTOCOL.md: "optional")
} proto_msg_spec_t;

//  proto_msg_table.c: the table, indexed by field and by message id
extern const proto_msg_column_t proto_msg_body_columns[PROTO_MSG_FIELD_TOTAL];
extern const proto_msg_spec_t proto_msg_specs[PROTO_MSG_ID_MAX + 1];

//  Cross-field rules, shared by the encoder and the decoder: 0 ok, -1 with the reason.
int proto_msg_check_stats (size_t count, const char *const *keys, char *reason);
int proto_msg_check_message (proto_msg_t *self, char *reason);

//  proto_msg_codec.c: the frame of self (NULL with the reason if a field breaks a limit),
//  and the message of a frame (0, or -2 with the reason; *request_id is set whenever it
//  was readable).  A decoded message with borrows set points into data.  reason holds
//  PROTO_MSG_REASON_MAX bytes.
zframe_t *proto_msg_codec_encode (proto_msg_t *self, char *reason);
int proto_msg_codec_decode (const uint8_t *data, size_t size, proto_msg_t **msg_p,
                            uint64_t *request_id, char *reason);

//  Reasons: set one, or put a path element in front of it ("pairs[3]" + ".port: ...")
void proto_msg_fail (char *reason, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
void proto_msg_prefix (char *reason, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  proto_msg.c: memory owned by self until it is destroyed, and list growth
void *proto_msg_alloc (proto_msg_t *self, size_t size);
const char *proto_msg_strndup (proto_msg_t *self, const char *string, size_t size);
void *proto_msg_list_push (proto_msg_list_t *list, size_t item_size);
void proto_msg_list_reserve (proto_msg_list_t *list, size_t count, size_t item_size);

#endif
