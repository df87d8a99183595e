/*  proto_answer.h - the answer documents of DESIGN.md, built from shard replies.

    A query goes to every shard (top, days) or to the shard owning a host (series, host);
    the replies come back one by one.  An answer object collects them: each reply is
    merged in as it arrives (top: per (port, feature) the ten highest scores over all
    shards, ties by address ascending; days: the union; series and host: the owning
    shard's data), the shards that did not answer are named, and the result is printed
    as the one JSON shape that the `portevo` CLI and the gateway's HTTP API both use
    (DESIGN.md "Answers"), or read back entry by entry for other renderings.

        top:    {"date","op","ports":[{"port","service","features":{"bytes":[{"ip","score",
                "annotations"}],"packets":[...],"durations":[...],"peers":[{"ip","score",
                "annotations","peers_capped"}]}}],"missing_shards":[]}
        series: {"host","feature","op","series":[{"port","points":[["YYYY-MM-DD",score]]
                (feature peers: ,"peers_capped":[bool per point])}],"missing_shards":[]}
        host:   {"ip","first_seen","last_seen","ports":[...],"annotations":[{"rrname",
                "rrtype","first_seen","last_seen"}]}   (times null when the host is unknown)
        days:   {"days":["YYYY-MM-DD",...]}
        others: {"ip","from","to","days":[{"date","bytes","packets","flows","truncated",
                "top_ports":[{"port","service","bytes","packets","flows"}]}],
                "missing_shards":[]}   (days with traffic to ports not monitored, ascending;
                top_ports: at most PROTO_ANSWER_OTHERS_TOP, most bytes first)
        error:  {"error":"..."}

    peers_capped (peers only) says the score reached PROTO_PEERS_CAP and so may be an
    HyperLogLog estimate; it travels with its entry or point through every merge.
    Ports are listed ascending: in top and series, the ports some shard reported, plus
    the requested port when one port was asked for (so it is listed even when empty).
    Each feature list is complete with all four keys.  Replies are borrowed: everything
    kept is copied, so the reply may be destroyed right after proto_answer_merge.
*/
#ifndef PROTO_ANSWER_H_INCLUDED
#define PROTO_ANSWER_H_INCLUDED

#include "proto/proto_changes.h"
#include "proto/proto_msg.h"

#define PROTO_ANSWER_TOP_MAX 10    //  Entries per (port, feature) in a top answer
#define PROTO_ANSWER_OTHERS_TOP 5  //  Other ports per day in an others answer

typedef enum {
    PROTO_ANSWER_TOP = 1,      //  TOP replies of every shard
    PROTO_ANSWER_SERIES = 2,   //  SERIES reply of the host's shard
    PROTO_ANSWER_HOST = 3,     //  HOST reply of the host's shard
    PROTO_ANSWER_DAYS = 4,     //  DAYS replies of every shard
    PROTO_ANSWER_OTHERS = 5,   //  OTHERS reply of the host's shard
    PROTO_ANSWER_CHANGES = 6,  //  CHANGES replies of every shard (proto_changes.h)
    PROTO_ANSWER_SPARKS = 7    //  CHANGES replies with sparklines (proto_changes.h)
} proto_answer_kind_t;

typedef struct _proto_answer_t proto_answer_t;

//  Create an empty answer of the given kind.
proto_answer_t *proto_answer_new (proto_answer_kind_t kind);

//  Destroy; NULL-safe, nulls *self_p.
void proto_answer_destroy (proto_answer_t **self_p);

//  The query, echoed by the answer (set before merging): day (top), op (top, series),
//  port (top, series: a port or PROTO_PORT_ALL, the default), feature (series), host
//  (series, host).  Replies whose echoed day, op, feature or host differ are refused.
void proto_answer_set_day (proto_answer_t *self, uint32_t day);
void proto_answer_set_op (proto_answer_t *self, proto_op_t op);
void proto_answer_set_port (proto_answer_t *self, uint32_t port);
void proto_answer_set_feature (proto_answer_t *self, proto_feature_t feature);
void proto_answer_set_host (proto_answer_t *self, const proto_addr_t *host);
//  Others: the day range asked (echoed in the JSON).
void proto_answer_set_range (proto_answer_t *self, uint32_t from, uint32_t to);

//  Changes, sparks: the answer's rows and query (borrowed for the answer's life; NULL
//  for other kinds).  Set its query with proto_changes_set before merging.
proto_changes_t *proto_answer_changes (proto_answer_t *self);

//  Merge one shard's reply (borrowed).  0 if merged; -1 if it is not a reply of this
//  answer's kind (an ERROR, say) or does not echo the query: the caller then counts
//  that shard as missing.  Entries with an unknown feature or port are skipped.
int proto_answer_merge (proto_answer_t *self, proto_msg_t *reply);

//  Name a shard that did not answer (copied), in the order given.
void proto_answer_add_missing (proto_answer_t *self, const char *shard);

//  Replies merged so far, and the shards named missing.
size_t proto_answer_replies (proto_answer_t *self);
size_t proto_answer_missing_count (proto_answer_t *self);
const char *proto_answer_missing_at (proto_answer_t *self, size_t index);

//  The answer as DESIGN.md's JSON, compact, without a newline: a new string the caller
//  frees with free.
char *proto_answer_json (proto_answer_t *self);

//  {"error":"text"}: a new string the caller frees with free.
char *proto_answer_error_json (const char *text);

//  Readers (pointers borrowed until the next merge or the answer's destruction).
//  Series: the feature asked (proto_answer_set_feature).
proto_feature_t proto_answer_feature (proto_answer_t *self);
//  Top and series: the ports listed, ascending.
size_t proto_answer_port_count (proto_answer_t *self);
uint16_t proto_answer_port_at (proto_answer_t *self, size_t port_index);
//  Top: the entries of a (port, feature), highest score first.
size_t proto_answer_top_count (proto_answer_t *self, size_t port_index, proto_feature_t feature);
const proto_top_t *proto_answer_top_at (proto_answer_t *self, size_t port_index,
                                        proto_feature_t feature, size_t index);
//  Series: the points of a port, ascending by day.
size_t proto_answer_point_count (proto_answer_t *self, size_t port_index);
const proto_point_t *proto_answer_point_at (proto_answer_t *self, size_t port_index, size_t index);
//  Host: known, first and last seen (0 when unknown), ports (port_count/port_at above),
//  annotations in the shard's order.
bool proto_answer_known (proto_answer_t *self);
int64_t proto_answer_first_seen (proto_answer_t *self);
int64_t proto_answer_last_seen (proto_answer_t *self);
size_t proto_answer_annotation_count (proto_answer_t *self);
const proto_annotation_t *proto_answer_annotation_at (proto_answer_t *self, size_t index);
//  Others: the days (ascending) and each day's top ports (at most
//  PROTO_ANSWER_OTHERS_TOP, most bytes first).
size_t proto_answer_other_count (proto_answer_t *self);
const proto_other_t *proto_answer_other_at (proto_answer_t *self, size_t index);
size_t proto_answer_other_port_count (proto_answer_t *self, size_t index);
const proto_other_port_t *proto_answer_other_port_at (proto_answer_t *self, size_t index,
                                                      size_t port_index);
//  Days: ascending, without repeats.
size_t proto_answer_day_count (proto_answer_t *self);
uint32_t proto_answer_day_at (proto_answer_t *self, size_t index);

//  Selftest
void proto_answer_test (bool verbose);

#endif
