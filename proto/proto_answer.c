/*  proto_answer.c - the answer documents of DESIGN.md, built from shard replies.

    Storage is a sorted array of ports, each with its four top-10 lists (kept sorted and
    capped while merging, so merging N shards costs N * entries * 10 at most) and its
    series points; plus the host facts, the days and the missing shards.  Everything is
    copied out of the replies.  Days and times that proto_host cannot print (after
    9999-12-31, before 1970) come from a broken peer: points are dropped, times print null.
*/
#include "proto/proto_answer.h"
#include "proto/proto_json.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_ANSWER_DAY_LAST 2932896LL        //  9999-12-31, the last printable day
#define PROTO_ANSWER_TIME_LAST 253402300799LL  //  9999-12-31T23:59:59Z

typedef struct {
    uint16_t port;                                               //  Destination port
    size_t top_count[PROTO_FEATURE_COUNT];                       //  Entries used
    proto_top_t top[PROTO_FEATURE_COUNT][PROTO_ANSWER_TOP_MAX];  //  Best first
    proto_point_t *points;                                       //  Ascending by day
    size_t point_count;                                          //  Points used
    size_t point_capacity;                                       //  Points allocated
} s_port_t;

typedef struct {
    proto_annotation_t entry;  //  Public view; its strings point to the copies below
    char *rrname;              //  Copy of the name
    char *rrtype;              //  Copy of the type
} s_annotation_t;

struct _proto_answer_t {
    proto_answer_kind_t kind;         //  What the answer is
    uint32_t day;                     //  Top: the day asked
    proto_op_t op;                    //  Top, series: the operation asked
    uint32_t port;                    //  Top, series: port asked or PROTO_PORT_ALL
    proto_feature_t feature;          //  Series: the feature asked
    proto_addr_t host;                //  Series, host: the host asked
    size_t replies;                   //  Replies merged
    s_port_t *ports;                  //  Top, series: ascending by port
    size_t port_count;                //  Ports used
    size_t port_capacity;             //  Ports allocated
    uint32_t *host_ports;             //  Host: ports seen, ascending
    size_t host_port_count;           //  Host ports used
    size_t host_port_capacity;        //  Host ports allocated
    bool known;                       //  Host: seen in traffic
    int64_t first_seen;               //  Host: secs since the epoch, 0 if unknown
    int64_t last_seen;                //  Host: secs since the epoch, 0 if unknown
    s_annotation_t *annotations;      //  Host: in the shard's order
    size_t annotation_count;          //  Annotations used
    size_t annotation_capacity;       //  Annotations allocated
    uint32_t *days;                   //  Days: ascending, unique
    size_t day_count;                 //  Days used
    size_t day_capacity;              //  Days allocated
    uint32_t from;                    //  Others: first day asked
    uint32_t to;                      //  Others: last day asked
    proto_other_t *others;            //  Others: one a day, ascending
    size_t other_count;               //  Others used
    size_t other_capacity;            //  Others allocated
    proto_other_port_t *other_ports;  //  Others: PROTO_ANSWER_OTHERS_TOP slots a day
    size_t *other_port_counts;        //  Others: slots used a day
    char **missing;                   //  Shards that did not answer
    size_t missing_count;             //  Names used
    size_t missing_capacity;          //  Names allocated
    proto_changes_t *changes;         //  Changes: the merged rows
};

//  --------------------------------------------------------------------------
proto_answer_t *
proto_answer_new (proto_answer_kind_t kind)
{
    assert (kind >= PROTO_ANSWER_TOP && kind <= PROTO_ANSWER_SPARKS);
    proto_answer_t *self = (proto_answer_t *) calloc (1, sizeof (proto_answer_t));
    assert (self);
    self->kind = kind;
    if (kind == PROTO_ANSWER_CHANGES || kind == PROTO_ANSWER_SPARKS)
        self->changes = proto_changes_new ();
    self->port = PROTO_PORT_ALL;
    return self;
}

//  --------------------------------------------------------------------------
void
proto_answer_destroy (proto_answer_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        proto_answer_t *self = *self_p;
        for (size_t index = 0; index < self->missing_count; index++)
            free (self->missing[index]);
        free (self->missing);
        free (self->days);
        free (self->others);
        free (self->other_ports);
        free (self->other_port_counts);
        for (size_t index = 0; index < self->annotation_count; index++) {
            free (self->annotations[index].rrname);
            free (self->annotations[index].rrtype);
        }
        free (self->annotations);
        free (self->host_ports);
        for (size_t index = 0; index < self->port_count; index++)
            free (self->ports[index].points);
        free (self->ports);
        proto_changes_destroy (&self->changes);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Make room for one more element in a growable array.

static void
s_grow (void **array, size_t *capacity, size_t count, size_t element_size)
{
    if (count < *capacity)
        return;
    size_t new_capacity = *capacity ? *capacity * 2 : 8;
    void *grown = realloc (*array, new_capacity * element_size);
    assert (grown);
    *array = grown;
    *capacity = new_capacity;
}

//  --------------------------------------------------------------------------
//  The entry of a port, created (in order) if absent.

static s_port_t *
s_port_require (proto_answer_t *self, uint16_t port)
{
    size_t low = 0, high = self->port_count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (self->ports[middle].port < port)
            low = middle + 1;
        else
            high = middle;
    }
    if (low < self->port_count && self->ports[low].port == port)
        return &self->ports[low];
    s_grow ((void **) &self->ports, &self->port_capacity, self->port_count, sizeof (s_port_t));
    memmove (&self->ports[low + 1], &self->ports[low],
             (self->port_count - low) * sizeof (s_port_t));
    self->port_count++;
    memset (&self->ports[low], 0, sizeof (s_port_t));
    self->ports[low].port = port;
    return &self->ports[low];
}

//  --------------------------------------------------------------------------
void
proto_answer_set_day (proto_answer_t *self, uint32_t day)
{
    assert (self);
    self->day = day;
}

//  --------------------------------------------------------------------------
void
proto_answer_set_op (proto_answer_t *self, proto_op_t op)
{
    assert (self);
    assert (op < PROTO_OP_COUNT);
    self->op = op;
}

//  --------------------------------------------------------------------------
void
proto_answer_set_port (proto_answer_t *self, uint32_t port)
{
    assert (self);
    assert (port <= PROTO_PORT_ALL);
    self->port = port;
    if (port != PROTO_PORT_ALL && self->kind != PROTO_ANSWER_HOST)
        s_port_require (self, (uint16_t) port);
}

//  --------------------------------------------------------------------------
void
proto_answer_set_feature (proto_answer_t *self, proto_feature_t feature)
{
    assert (self);
    assert (feature < PROTO_FEATURE_COUNT);
    self->feature = feature;
}

//  --------------------------------------------------------------------------
void
proto_answer_set_host (proto_answer_t *self, const proto_addr_t *host)
{
    assert (self);
    assert (host);
    self->host = *host;
}

//  --------------------------------------------------------------------------
void
proto_answer_set_range (proto_answer_t *self, uint32_t from, uint32_t to)
{
    assert (self);
    self->from = from;
    self->to = to;
}

//  --------------------------------------------------------------------------
//  True if entry a ranks before entry b: higher score, then lower address.

static bool
s_top_before (const proto_top_t *a, const proto_top_t *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    return proto_addr_compare (&a->addr, &b->addr) < 0;
}

//  --------------------------------------------------------------------------
//  Insert an entry into a sorted, capped list.  A host appears once: its best entry.

static void
s_top_insert (proto_top_t *list, size_t *count, const proto_top_t *entry)
{
    for (size_t index = 0; index < *count; index++)
        if (proto_addr_compare (&list[index].addr, &entry->addr) == 0) {
            if (!s_top_before (entry, &list[index]))
                return;
            memmove (&list[index], &list[index + 1], (*count - index - 1) * sizeof *list);
            (*count)--;
            break;
        }
    size_t position = *count;
    while (position > 0 && s_top_before (entry, &list[position - 1]))
        position--;
    if (position >= PROTO_ANSWER_TOP_MAX)
        return;
    size_t kept = *count < PROTO_ANSWER_TOP_MAX ? *count : PROTO_ANSWER_TOP_MAX - 1;
    memmove (&list[position + 1], &list[position], (kept - position) * sizeof *list);
    list[position] = *entry;
    *count = kept + 1;
}

//  --------------------------------------------------------------------------

static int
s_merge_top (proto_answer_t *self, proto_msg_t *reply)
{
    if (proto_msg_day (reply) != self->day || proto_msg_op (reply) != self->op)
        return -1;
    size_t count = proto_msg_top_count (reply);
    for (size_t index = 0; index < count; index++) {
        proto_top_t entry;
        proto_msg_top_at (reply, index, &entry);
        if (entry.feature >= PROTO_FEATURE_COUNT ||
            (self->port != PROTO_PORT_ALL && entry.port != self->port))
            continue;
        s_port_t *port = s_port_require (self, entry.port);
        s_top_insert (port->top[entry.feature], &port->top_count[entry.feature], &entry);
    }
    return 0;
}

//  --------------------------------------------------------------------------

static int
s_point_compare (const void *a, const void *b)
{
    const proto_point_t *left = (const proto_point_t *) a;
    const proto_point_t *right = (const proto_point_t *) b;
    return left->day < right->day ? -1 : left->day > right->day;
}

//  --------------------------------------------------------------------------

static int
s_merge_series (proto_answer_t *self, proto_msg_t *reply)
{
    if (proto_msg_feature (reply) != self->feature || proto_msg_op (reply) != self->op ||
        proto_addr_compare (proto_msg_host (reply), &self->host) != 0)
        return -1;
    size_t count = proto_msg_points_count (reply);
    for (size_t index = 0; index < count; index++) {
        proto_point_t point;
        proto_msg_points_at (reply, index, &point);
        if (point.day > PROTO_ANSWER_DAY_LAST ||
            (self->port != PROTO_PORT_ALL && point.port != self->port))
            continue;
        s_port_t *port = s_port_require (self, point.port);
        s_grow ((void **) &port->points, &port->point_capacity, port->point_count,
                sizeof (proto_point_t));
        port->points[port->point_count++] = point;
    }
    for (size_t index = 0; index < self->port_count; index++)
        if (self->ports[index].point_count > 1)
            qsort (self->ports[index].points, self->ports[index].point_count,
                   sizeof (proto_point_t), s_point_compare);
    return 0;
}

//  --------------------------------------------------------------------------
//  Insert a value into a sorted array of unique values.

static void
s_insert_unique_u32 (uint32_t **array, size_t *count, size_t *capacity, uint32_t value)
{
    size_t position = *count;
    while (position > 0 && (*array)[position - 1] > value)
        position--;
    if (position > 0 && (*array)[position - 1] == value)
        return;
    s_grow ((void **) array, capacity, *count, sizeof (uint32_t));
    memmove (&(*array)[position + 1], &(*array)[position], (*count - position) * sizeof **array);
    (*array)[position] = value;
    (*count)++;
}

//  --------------------------------------------------------------------------

static int
s_merge_host (proto_answer_t *self, proto_msg_t *reply)
{
    if (proto_addr_compare (proto_msg_host (reply), &self->host) != 0)
        return -1;
    if (proto_msg_known (reply)) {
        int64_t first_seen = proto_msg_first_seen (reply);
        int64_t last_seen = proto_msg_last_seen (reply);
        if (!self->known || first_seen < self->first_seen)
            self->first_seen = first_seen;
        if (!self->known || last_seen > self->last_seen)
            self->last_seen = last_seen;
        self->known = true;
    }
    size_t count = proto_msg_ports_count (reply);
    for (size_t index = 0; index < count; index++)
        s_insert_unique_u32 (&self->host_ports, &self->host_port_count, &self->host_port_capacity,
                             proto_msg_ports_at (reply, index));
    count = proto_msg_annotations_count (reply);
    for (size_t index = 0; index < count; index++) {
        proto_annotation_t entry;
        proto_msg_annotations_at (reply, index, &entry);
        s_grow ((void **) &self->annotations, &self->annotation_capacity, self->annotation_count,
                sizeof (s_annotation_t));
        s_annotation_t *annotation = &self->annotations[self->annotation_count++];
        annotation->rrname = strdup (entry.rrname ? entry.rrname : "");
        annotation->rrtype = strdup (entry.rrtype ? entry.rrtype : "");
        assert (annotation->rrname && annotation->rrtype);
        annotation->entry = entry;
        annotation->entry.rrname = annotation->rrname;
        annotation->entry.rrtype = annotation->rrtype;
    }
    return 0;
}

//  --------------------------------------------------------------------------

static int
s_merge_days (proto_answer_t *self, proto_msg_t *reply)
{
    size_t count = proto_msg_days_count (reply);
    for (size_t index = 0; index < count; index++) {
        uint32_t day = proto_msg_days_at (reply, index);
        if (day <= PROTO_ANSWER_DAY_LAST)
            s_insert_unique_u32 (&self->days, &self->day_count, &self->day_capacity, day);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Others: the host's days in range, ascending and unique, each with its first
//  PROTO_ANSWER_OTHERS_TOP ports (the shard lists them most bytes first)

static int
s_merge_others (proto_answer_t *self, proto_msg_t *reply)
{
    if (proto_addr_compare (proto_msg_host (reply), &self->host) != 0)
        return -1;
    size_t count = proto_msg_others_count (reply);
    size_t port_count = proto_msg_other_ports_count (reply);
    size_t next = 0;
    for (size_t index = 0; index < count; index++) {
        proto_other_t other;
        proto_msg_others_at (reply, index, &other);
        if (proto_addr_compare (&other.addr, &self->host) != 0 || other.day < self->from ||
            other.day > self->to || other.day > PROTO_ANSWER_DAY_LAST ||
            (self->other_count && other.day <= self->others[self->other_count - 1].day))
            continue;  //  Not asked for, or out of order: skipped
        size_t capacity = self->other_capacity;
        s_grow ((void **) &self->others, &self->other_capacity, self->other_count,
                sizeof (proto_other_t));
        if (self->other_capacity != capacity) {
            self->other_ports = (proto_other_port_t *) realloc (
                self->other_ports,
                self->other_capacity * PROTO_ANSWER_OTHERS_TOP * sizeof (proto_other_port_t));
            self->other_port_counts = (size_t *) realloc (self->other_port_counts,
                                                          self->other_capacity * sizeof (size_t));
            assert (self->other_ports && self->other_port_counts);
        }
        size_t at = self->other_count++;
        self->others[at] = other;
        self->other_port_counts[at] = 0;
        for (; next < port_count; next++) {
            proto_other_port_t port;
            proto_msg_other_ports_at (reply, next, &port);
            if (port.day > other.day)
                break;
            if (port.day == other.day && self->other_port_counts[at] < PROTO_ANSWER_OTHERS_TOP)
                self->other_ports[at * PROTO_ANSWER_OTHERS_TOP + self->other_port_counts[at]++] =
                    port;
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
int
proto_answer_merge (proto_answer_t *self, proto_msg_t *reply)
{
    assert (self);
    assert (reply);
    static const proto_msg_id_t expected[] = {
        [PROTO_ANSWER_TOP] = PROTO_MSG_TOP,       [PROTO_ANSWER_SERIES] = PROTO_MSG_SERIES,
        [PROTO_ANSWER_HOST] = PROTO_MSG_HOST,     [PROTO_ANSWER_DAYS] = PROTO_MSG_DAYS,
        [PROTO_ANSWER_OTHERS] = PROTO_MSG_OTHERS, [PROTO_ANSWER_CHANGES] = PROTO_MSG_CHANGES,
        [PROTO_ANSWER_SPARKS] = PROTO_MSG_CHANGES};
    if (proto_msg_id (reply) != expected[self->kind])
        return -1;
    int rc;
    if (self->changes)
        rc = proto_changes_merge (self->changes, reply);
    else if (self->kind == PROTO_ANSWER_TOP)
        rc = s_merge_top (self, reply);
    else if (self->kind == PROTO_ANSWER_SERIES)
        rc = s_merge_series (self, reply);
    else if (self->kind == PROTO_ANSWER_HOST)
        rc = s_merge_host (self, reply);
    else if (self->kind == PROTO_ANSWER_OTHERS)
        rc = s_merge_others (self, reply);
    else
        rc = s_merge_days (self, reply);
    if (rc == 0)
        self->replies++;
    return rc;
}

//  --------------------------------------------------------------------------
proto_changes_t *
proto_answer_changes (proto_answer_t *self)
{
    assert (self);
    return self->changes;
}

//  --------------------------------------------------------------------------
void
proto_answer_add_missing (proto_answer_t *self, const char *shard)
{
    assert (self);
    assert (shard);
    s_grow ((void **) &self->missing, &self->missing_capacity, self->missing_count,
            sizeof (char *));
    self->missing[self->missing_count] = strdup (shard);
    assert (self->missing[self->missing_count]);
    self->missing_count++;
}

//  --------------------------------------------------------------------------
size_t
proto_answer_replies (proto_answer_t *self)
{
    assert (self);
    return self->replies;
}

//  --------------------------------------------------------------------------
size_t
proto_answer_missing_count (proto_answer_t *self)
{
    assert (self);
    return self->missing_count;
}

//  --------------------------------------------------------------------------
const char *
proto_answer_missing_at (proto_answer_t *self, size_t index)
{
    assert (self);
    assert (index < self->missing_count);
    return self->missing[index];
}

//  --------------------------------------------------------------------------
//  JSON pieces

static void
s_json_day (proto_json_t *json, uint32_t day)
{
    char text[16];
    proto_json_string (json, proto_day_format (day, text));
}

static void
s_json_time (proto_json_t *json, int64_t time)
{
    char text[32];
    if (time < 0 || time > PROTO_ANSWER_TIME_LAST)
        proto_json_null (json);
    else
        proto_json_string (json, proto_time_format (time, text));
}

static void
s_json_addr (proto_json_t *json, const proto_addr_t *addr)
{
    char text[PROTO_ADDR_STRLEN];
    proto_json_string (json, proto_addr_format (addr, text));
}

static void
s_json_missing (proto_answer_t *self, proto_json_t *json)
{
    proto_json_key (json, "missing_shards");
    proto_json_array_open (json);
    for (size_t index = 0; index < self->missing_count; index++)
        proto_json_string (json, self->missing[index]);
    proto_json_array_close (json);
}

//  --------------------------------------------------------------------------

static void
s_json_top (proto_answer_t *self, proto_json_t *json)
{
    proto_json_key (json, "date");
    s_json_day (json, self->day);
    proto_json_key_string (json, "op", proto_op_name (self->op));
    proto_json_key (json, "ports");
    proto_json_array_open (json);
    for (size_t index = 0; index < self->port_count; index++) {
        s_port_t *port = &self->ports[index];
        proto_json_object_open (json);
        proto_json_key_uint (json, "port", port->port);
        proto_json_key_string (json, "service", proto_port_service (port->port));
        proto_json_key (json, "features");
        proto_json_object_open (json);
        for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
            proto_json_key (json, proto_feature_name ((proto_feature_t) feature));
            proto_json_array_open (json);
            for (size_t rank = 0; rank < port->top_count[feature]; rank++) {
                const proto_top_t *entry = &port->top[feature][rank];
                proto_json_object_open (json);
                proto_json_key (json, "ip");
                s_json_addr (json, &entry->addr);
                proto_json_key_uint (json, "score", entry->score);
                proto_json_key_uint (json, "annotations", entry->annotations);
                if (feature == PROTO_FEATURE_PEERS) {
                    proto_json_key (json, "peers_capped");
                    proto_json_bool (json, entry->peers_capped);
                }
                proto_json_object_close (json);
            }
            proto_json_array_close (json);
        }
        proto_json_object_close (json);
        proto_json_object_close (json);
    }
    proto_json_array_close (json);
    s_json_missing (self, json);
}

//  --------------------------------------------------------------------------

static void
s_json_series (proto_answer_t *self, proto_json_t *json)
{
    proto_json_key (json, "host");
    s_json_addr (json, &self->host);
    proto_json_key_string (json, "feature", proto_feature_name (self->feature));
    proto_json_key_string (json, "op", proto_op_name (self->op));
    proto_json_key (json, "series");
    proto_json_array_open (json);
    for (size_t index = 0; index < self->port_count; index++) {
        s_port_t *port = &self->ports[index];
        proto_json_object_open (json);
        proto_json_key_uint (json, "port", port->port);
        proto_json_key (json, "points");
        proto_json_array_open (json);
        for (size_t point = 0; point < port->point_count; point++) {
            proto_json_array_open (json);
            s_json_day (json, port->points[point].day);
            proto_json_uint (json, port->points[point].score);
            proto_json_array_close (json);
        }
        proto_json_array_close (json);
        //  Beside points, not inside them: a [date, score] pair stays a pair for the
        //  clients that unpack it so (API.md "Estimated peers")
        if (self->feature == PROTO_FEATURE_PEERS) {
            proto_json_key (json, "peers_capped");
            proto_json_array_open (json);
            for (size_t point = 0; point < port->point_count; point++)
                proto_json_bool (json, port->points[point].peers_capped);
            proto_json_array_close (json);
        }
        proto_json_object_close (json);
    }
    proto_json_array_close (json);
    s_json_missing (self, json);
}

//  --------------------------------------------------------------------------

static void
s_json_host (proto_answer_t *self, proto_json_t *json)
{
    proto_json_key (json, "ip");
    s_json_addr (json, &self->host);
    proto_json_key (json, "first_seen");
    if (self->known)
        s_json_time (json, self->first_seen);
    else
        proto_json_null (json);
    proto_json_key (json, "last_seen");
    if (self->known)
        s_json_time (json, self->last_seen);
    else
        proto_json_null (json);
    proto_json_key (json, "ports");
    proto_json_array_open (json);
    for (size_t index = 0; index < self->host_port_count; index++)
        proto_json_uint (json, self->host_ports[index]);
    proto_json_array_close (json);
    proto_json_key (json, "annotations");
    proto_json_array_open (json);
    for (size_t index = 0; index < self->annotation_count; index++) {
        const proto_annotation_t *entry = &self->annotations[index].entry;
        proto_json_object_open (json);
        proto_json_key_string (json, "rrname", entry->rrname);
        proto_json_key_string (json, "rrtype", entry->rrtype);
        proto_json_key (json, "first_seen");
        s_json_time (json, entry->first_seen);
        proto_json_key (json, "last_seen");
        s_json_time (json, entry->last_seen);
        proto_json_object_close (json);
    }
    proto_json_array_close (json);
}

//  --------------------------------------------------------------------------

static void
s_json_others (proto_answer_t *self, proto_json_t *json)
{
    proto_json_key (json, "ip");
    s_json_addr (json, &self->host);
    proto_json_key (json, "from");
    s_json_day (json, self->from);
    proto_json_key (json, "to");
    s_json_day (json, self->to);
    proto_json_key (json, "days");
    proto_json_array_open (json);
    for (size_t index = 0; index < self->other_count; index++) {
        const proto_other_t *other = &self->others[index];
        proto_json_object_open (json);
        proto_json_key (json, "date");
        s_json_day (json, other->day);
        proto_json_key_uint (json, "bytes", other->bytes);
        proto_json_key_uint (json, "packets", other->packets);
        proto_json_key_uint (json, "flows", other->flows);
        proto_json_key (json, "truncated");
        proto_json_bool (json, other->truncated);
        proto_json_key (json, "top_ports");
        proto_json_array_open (json);
        for (size_t rank = 0; rank < self->other_port_counts[index]; rank++) {
            const proto_other_port_t *port =
                &self->other_ports[index * PROTO_ANSWER_OTHERS_TOP + rank];
            proto_json_object_open (json);
            proto_json_key_uint (json, "port", port->port);
            proto_json_key_string (json, "service", proto_port_service (port->port));
            proto_json_key_uint (json, "bytes", port->bytes);
            proto_json_key_uint (json, "packets", port->packets);
            proto_json_key_uint (json, "flows", port->flows);
            proto_json_object_close (json);
        }
        proto_json_array_close (json);
        proto_json_object_close (json);
    }
    proto_json_array_close (json);
    s_json_missing (self, json);
}

//  --------------------------------------------------------------------------
char *
proto_answer_json (proto_answer_t *self)
{
    assert (self);
    proto_json_t *json = proto_json_new ();
    proto_json_object_open (json);
    if (self->kind == PROTO_ANSWER_TOP)
        s_json_top (self, json);
    else if (self->kind == PROTO_ANSWER_SERIES)
        s_json_series (self, json);
    else if (self->kind == PROTO_ANSWER_HOST)
        s_json_host (self, json);
    else if (self->kind == PROTO_ANSWER_OTHERS)
        s_json_others (self, json);
    else if (self->changes) {
        if (self->kind == PROTO_ANSWER_SPARKS)
            proto_changes_sparks_json (self->changes, json);
        else
            proto_changes_json (self->changes, json);
        s_json_missing (self, json);
    }
    else {
        proto_json_key (json, "days");
        proto_json_array_open (json);
        for (size_t index = 0; index < self->day_count; index++)
            s_json_day (json, self->days[index]);
        proto_json_array_close (json);
    }
    proto_json_object_close (json);
    char *text = proto_json_take (json);
    proto_json_destroy (&json);
    return text;
}

//  --------------------------------------------------------------------------
char *
proto_answer_error_json (const char *text)
{
    assert (text);
    proto_json_t *json = proto_json_new ();
    proto_json_object_open (json);
    proto_json_key_string (json, "error", text);
    proto_json_object_close (json);
    char *result = proto_json_take (json);
    proto_json_destroy (&json);
    return result;
}

//  --------------------------------------------------------------------------
size_t
proto_answer_port_count (proto_answer_t *self)
{
    assert (self);
    return self->kind == PROTO_ANSWER_HOST ? self->host_port_count : self->port_count;
}

//  --------------------------------------------------------------------------
uint16_t
proto_answer_port_at (proto_answer_t *self, size_t port_index)
{
    assert (self);
    assert (port_index < proto_answer_port_count (self));
    return self->kind == PROTO_ANSWER_HOST ? (uint16_t) self->host_ports[port_index]
                                           : self->ports[port_index].port;
}

//  --------------------------------------------------------------------------
proto_feature_t
proto_answer_feature (proto_answer_t *self)
{
    assert (self);
    return self->feature;
}

//  --------------------------------------------------------------------------
size_t
proto_answer_top_count (proto_answer_t *self, size_t port_index, proto_feature_t feature)
{
    assert (self);
    assert (self->kind == PROTO_ANSWER_TOP);
    assert (port_index < self->port_count);
    assert (feature < PROTO_FEATURE_COUNT);
    return self->ports[port_index].top_count[feature];
}

//  --------------------------------------------------------------------------
const proto_top_t *
proto_answer_top_at (proto_answer_t *self, size_t port_index, proto_feature_t feature, size_t index)
{
    assert (index < proto_answer_top_count (self, port_index, feature));
    return &self->ports[port_index].top[feature][index];
}

//  --------------------------------------------------------------------------
size_t
proto_answer_point_count (proto_answer_t *self, size_t port_index)
{
    assert (self);
    assert (self->kind == PROTO_ANSWER_SERIES);
    assert (port_index < self->port_count);
    return self->ports[port_index].point_count;
}

//  --------------------------------------------------------------------------
const proto_point_t *
proto_answer_point_at (proto_answer_t *self, size_t port_index, size_t index)
{
    assert (index < proto_answer_point_count (self, port_index));
    return &self->ports[port_index].points[index];
}

//  --------------------------------------------------------------------------
bool
proto_answer_known (proto_answer_t *self)
{
    assert (self);
    return self->known;
}

//  --------------------------------------------------------------------------
int64_t
proto_answer_first_seen (proto_answer_t *self)
{
    assert (self);
    return self->known ? self->first_seen : 0;
}

//  --------------------------------------------------------------------------
int64_t
proto_answer_last_seen (proto_answer_t *self)
{
    assert (self);
    return self->known ? self->last_seen : 0;
}

//  --------------------------------------------------------------------------
size_t
proto_answer_annotation_count (proto_answer_t *self)
{
    assert (self);
    return self->annotation_count;
}

//  --------------------------------------------------------------------------
const proto_annotation_t *
proto_answer_annotation_at (proto_answer_t *self, size_t index)
{
    assert (self);
    assert (index < self->annotation_count);
    return &self->annotations[index].entry;
}

//  --------------------------------------------------------------------------
size_t
proto_answer_other_count (proto_answer_t *self)
{
    assert (self);
    return self->other_count;
}

//  --------------------------------------------------------------------------
const proto_other_t *
proto_answer_other_at (proto_answer_t *self, size_t index)
{
    assert (self);
    assert (index < self->other_count);
    return &self->others[index];
}

//  --------------------------------------------------------------------------
size_t
proto_answer_other_port_count (proto_answer_t *self, size_t index)
{
    assert (self);
    assert (index < self->other_count);
    return self->other_port_counts[index];
}

//  --------------------------------------------------------------------------
const proto_other_port_t *
proto_answer_other_port_at (proto_answer_t *self, size_t index, size_t port_index)
{
    assert (self);
    assert (index < self->other_count);
    assert (port_index < self->other_port_counts[index]);
    return &self->other_ports[index * PROTO_ANSWER_OTHERS_TOP + port_index];
}

//  --------------------------------------------------------------------------
size_t
proto_answer_day_count (proto_answer_t *self)
{
    assert (self);
    return self->day_count;
}

//  --------------------------------------------------------------------------
uint32_t
proto_answer_day_at (proto_answer_t *self, size_t index)
{
    assert (self);
    assert (index < self->day_count);
    return self->days[index];
}

//  The selftest, proto_answer_test, is in proto_answer_test.c.
