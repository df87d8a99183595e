/*  proto_changes.h - the "what changed" answer: CHANGES replies merged and ranked.

    Every shard answers CHANGES_REQUEST for its own hosts (PROTOCOL.md): its top entries
    of the day with each host's median over the window, its top entries of the day
    before, and its first-ever pairs.  Hosts live on one shard, so merging the top
    entries gives the exact top 10 of each (port, feature) for the day and for the day
    before, and every decision below is exact (gateway/API.md "/api/changes"):

      first_ever  the day is the host's first on the port (within retention);
      new_top     in the day's top 10 of (port, feature, op), not in the day before's;
      spike       in the day's top 10, with traffic on some days of the window, and a
                  score above k times its median over those days (median > 0);
      back        in the day's top 10, no traffic on the port in the window, not first.

    A row is (port, feature, host) for the top 10 entries with a reason; a first-ever
    pair that is in no top 10 is a row of feature bytes (at most PROTO_CHANGES_FIRST_MAX
    per port, the highest bytes first).  Rows are ranked per port by how unusual they
    are: first_ever, then back, then spike by score/median descending, then new_top;
    ties by score descending, feature, address.  JSON:

      {"date","op","k","window","ports":[{"port","service","changes":[{"ip","feature",
       "score","median","days","reasons":["first_ever"|"new_top"|"spike"|"back"],
       "annotations"}]}],"missing_shards":[]}
*/
#ifndef PROTO_CHANGES_H_INCLUDED
#define PROTO_CHANGES_H_INCLUDED

#include "proto/proto_json.h"
#include "proto/proto_msg.h"

#define PROTO_CHANGES_K_DEFAULT 4        //  Spike factor
#define PROTO_CHANGES_K_MAX 1000         //  Largest k accepted
#define PROTO_CHANGES_WINDOW_DEFAULT 28  //  Days before the day for the median
#define PROTO_CHANGES_FIRST_MAX 100      //  First-ever rows per port
#define PROTO_CHANGES_TOP 10             //  Top list length

//  Reasons, as bits of a row
#define PROTO_CHANGES_FIRST_EVER 1
#define PROTO_CHANGES_BACK 2
#define PROTO_CHANGES_SPIKE 4
#define PROTO_CHANGES_NEW_TOP 8

typedef struct _proto_changes_t proto_changes_t;

//  A ranked row (after proto_changes_rank).
typedef struct {
    proto_change_t entry;  //  Port, feature, host, score, median, days, annotations
    unsigned reasons;      //  PROTO_CHANGES_* bits
} proto_changes_row_t;

proto_changes_t *proto_changes_new (void);
void proto_changes_destroy (proto_changes_t **self_p);

//  The query: day, op, k (spike factor) and window (days); set before merging.
void proto_changes_set (proto_changes_t *self, uint32_t day, proto_op_t op, uint32_t k,
                        uint32_t window);

//  Sparkline mode (/api/sparks): replies carry days scores per top entry (1 to
//  PROTO_SPARK_MAX); the JSON is then that of proto_changes_sparks_json.
void proto_changes_set_spark (proto_changes_t *self, uint32_t days);

//  Merge one shard's CHANGES reply (borrowed): 0, or -1 if it is not a CHANGES of this
//  day and op (in sparkline mode: or its sparklines are not of the days asked).
int proto_changes_merge (proto_changes_t *self, proto_msg_t *reply);

//  Decide and rank the rows (idempotent; merging afterwards ranks again).
void proto_changes_rank (proto_changes_t *self);

//  Ranked rows: ports ascending, then by rank.  Borrowed until the next merge.
size_t proto_changes_row_count (proto_changes_t *self);
const proto_changes_row_t *proto_changes_row_at (proto_changes_t *self, size_t index);

//  Write the members "date", "op", "k", "window" and "ports" into the open object.
void proto_changes_json (proto_changes_t *self, proto_json_t *json);

//  Sparkline mode: the members "date", "op", "days" (the dates, oldest first) and
//  "ports": [{"port","service","features":{"bytes":[{"ip","score","spark":[...]}],
//  "packets","durations","peers"}}] where each list is the merged top 10 of the day
//  (the order of /api/top) and spark the host's scores of the days (0: no traffic).
void proto_changes_sparks_json (proto_changes_t *self, proto_json_t *json);

//  Selftest
void proto_changes_test (bool verbose);

#endif
