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
    proto_answer_kind_t kind;     //  What the answer is
    uint32_t day;                 //  Top: the day asked
    proto_op_t op;                //  Top, series: the operation asked
    uint32_t port;                //  Top, series: port asked or PROTO_PORT_ALL
    proto_feature_t feature;      //  Series: the feature asked
    proto_addr_t host;            //  Series, host: the host asked
    size_t replies;               //  Replies merged
    s_port_t *ports;              //  Top, series: ascending by port
    size_t port_count;            //  Ports used
    size_t port_capacity;         //  Ports allocated
    uint32_t *host_ports;         //  Host: ports seen, ascending
    size_t host_port_count;       //  Host ports used
    size_t host_port_capacity;    //  Host ports allocated
    bool known;                   //  Host: seen in traffic
    int64_t first_seen;           //  Host: secs since the epoch, 0 if unknown
    int64_t last_seen;            //  Host: secs since the epoch, 0 if unknown
    s_annotation_t *annotations;  //  Host: in the shard's order
    size_t annotation_count;      //  Annotations used
    size_t annotation_capacity;   //  Annotations allocated
    uint32_t *days;               //  Days: ascending, unique
    size_t day_count;             //  Days used
    size_t day_capacity;          //  Days allocated
    char **missing;               //  Shards that did not answer
    size_t missing_count;         //  Names used
    size_t missing_capacity;      //  Names allocated
};

//  --------------------------------------------------------------------------
proto_answer_t *
proto_answer_new (proto_answer_kind_t kind)
{
    assert (kind >= PROTO_ANSWER_TOP && kind <= PROTO_ANSWER_DAYS);
    proto_answer_t *self = (proto_answer_t *) calloc (1, sizeof (proto_answer_t));
    assert (self);
    self->kind = kind;
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
        for (size_t index = 0; index < self->annotation_count; index++) {
            free (self->annotations[index].rrname);
            free (self->annotations[index].rrtype);
        }
        free (self->annotations);
        free (self->host_ports);
        for (size_t index = 0; index < self->port_count; index++)
            free (self->ports[index].points);
        free (self->ports);
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
int
proto_answer_merge (proto_answer_t *self, proto_msg_t *reply)
{
    assert (self);
    assert (reply);
    static const proto_msg_id_t expected[] = {[PROTO_ANSWER_TOP] = PROTO_MSG_TOP,
                                              [PROTO_ANSWER_SERIES] = PROTO_MSG_SERIES,
                                              [PROTO_ANSWER_HOST] = PROTO_MSG_HOST,
                                              [PROTO_ANSWER_DAYS] = PROTO_MSG_DAYS};
    if (proto_msg_id (reply) != expected[self->kind])
        return -1;
    int rc;
    if (self->kind == PROTO_ANSWER_TOP)
        rc = s_merge_top (self, reply);
    else if (self->kind == PROTO_ANSWER_SERIES)
        rc = s_merge_series (self, reply);
    else if (self->kind == PROTO_ANSWER_HOST)
        rc = s_merge_host (self, reply);
    else
        rc = s_merge_days (self, reply);
    if (rc == 0)
        self->replies++;
    return rc;
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

//  --------------------------------------------------------------------------
//  Selftest

typedef struct {
    uint16_t port;         //  Destination port
    uint8_t feature;       //  proto_feature_t (or an unknown one)
    const char *ip;        //  Host
    uint64_t score;        //  Daily score
    uint32_t annotations;  //  Annotation count
} s_top_case_t;

static proto_msg_t *
s_test_top_reply (uint32_t day, proto_op_t op, const s_top_case_t *cases, size_t count)
{
    proto_msg_t *reply = proto_msg_new (PROTO_MSG_TOP);
    proto_msg_set_day (reply, day);
    proto_msg_set_op (reply, (uint8_t) op);
    for (size_t index = 0; index < count; index++) {
        proto_top_t entry = {.port = cases[index].port,
                             .feature = cases[index].feature,
                             .score = cases[index].score,
                             .annotations = cases[index].annotations};
        int rc = proto_addr_parse (&entry.addr, cases[index].ip);
        assert (rc == 0);
        proto_msg_top_append (reply, &entry);
    }
    return reply;
}

static void
s_test_expect (proto_answer_t *answer, const char *expected, bool verbose)
{
    char *json = proto_answer_json (answer);
    if (verbose || strcmp (json, expected) != 0)
        printf ("\n   got:  %s\n   want: %s\n", json, expected);
    assert (strcmp (json, expected) == 0);
    free (json);
}

static void
s_test_top (bool verbose)
{
    uint32_t day;
    int rc = proto_day_parse ("2026-11-20", &day);
    assert (rc == 0);
    //  Three shards' TOP replies, each sorted as a shard sends them; 13 entries for
    //  (25, bytes) of which ten survive, with ties at 500 and at 40 broken by address
    //  (IPv4, being v4-mapped, sorts before 2001:db8::/32).
    static const s_top_case_t shard0[] = {{25, PROTO_FEATURE_BYTES, "10.0.0.5", 900, 2},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.1", 500, 0},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.7", 40, 0},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.8", 30, 0},
                                          {25, 7, "10.0.0.99", 99999, 0}};  //  Bad feature
    static const s_top_case_t shard1[] = {{25, PROTO_FEATURE_BYTES, "10.0.0.2", 500, 0},
                                          {25, PROTO_FEATURE_BYTES, "2001:db8::1", 500, 1},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.9", 60, 0},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.10", 40, 0},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.11", 20, 0},
                                          {80, PROTO_FEATURE_PACKETS, "2001:db8::2", 3, 0}};
    static const s_top_case_t shard2[] = {{25, PROTO_FEATURE_BYTES, "10.0.0.3", 500, 0},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.4", 40, 0},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.12", 40, 0},
                                          {25, PROTO_FEATURE_BYTES, "10.0.0.13", 10, 0},
                                          {22, PROTO_FEATURE_PEERS, "10.0.0.1", 4096, 0}};
    const char *expected =
        "{\"date\":\"2026-11-20\",\"op\":\"max\",\"ports\":["
        "{\"port\":22,\"service\":\"SSH\",\"features\":{\"bytes\":[],\"packets\":[],"
        "\"durations\":[],\"peers\":[{\"ip\":\"10.0.0.1\",\"score\":4096,\"annotations\":0}]}},"
        "{\"port\":25,\"service\":\"SMTP\",\"features\":{\"bytes\":["
        "{\"ip\":\"10.0.0.5\",\"score\":900,\"annotations\":2},"
        "{\"ip\":\"10.0.0.1\",\"score\":500,\"annotations\":0},"
        "{\"ip\":\"10.0.0.2\",\"score\":500,\"annotations\":0},"
        "{\"ip\":\"10.0.0.3\",\"score\":500,\"annotations\":0},"
        "{\"ip\":\"2001:db8::1\",\"score\":500,\"annotations\":1},"
        "{\"ip\":\"10.0.0.9\",\"score\":60,\"annotations\":0},"
        "{\"ip\":\"10.0.0.4\",\"score\":40,\"annotations\":0},"
        "{\"ip\":\"10.0.0.7\",\"score\":40,\"annotations\":0},"
        "{\"ip\":\"10.0.0.10\",\"score\":40,\"annotations\":0},"
        "{\"ip\":\"10.0.0.12\",\"score\":40,\"annotations\":0}],"
        "\"packets\":[],\"durations\":[],\"peers\":[]}},"
        "{\"port\":80,\"service\":\"Web\",\"features\":{\"bytes\":[],"
        "\"packets\":[{\"ip\":\"2001:db8::2\",\"score\":3,\"annotations\":0}],"
        "\"durations\":[],\"peers\":[]}}],"
        "\"missing_shards\":[\"shard-3\"]}";
    proto_msg_t *replies[3] = {
        s_test_top_reply (day, PROTO_OP_MAX, shard0, sizeof shard0 / sizeof shard0[0]),
        s_test_top_reply (day, PROTO_OP_MAX, shard1, sizeof shard1 / sizeof shard1[0]),
        s_test_top_reply (day, PROTO_OP_MAX, shard2, sizeof shard2 / sizeof shard2[0])};
    proto_msg_t *error = proto_msg_new (PROTO_MSG_ERROR);
    proto_msg_t *wrong_day = s_test_top_reply (day + 1, PROTO_OP_MAX, shard0, 1);

    //  The merge does not depend on the order the replies arrive in
    static const size_t orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}};
    for (size_t order = 0; order < 3; order++) {
        proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_TOP);
        proto_answer_set_day (answer, day);
        proto_answer_set_op (answer, PROTO_OP_MAX);
        for (size_t index = 0; index < 3; index++) {
            rc = proto_answer_merge (answer, replies[orders[order][index]]);
            assert (rc == 0);
        }
        assert (proto_answer_merge (answer, error) == -1);  //  shard-3 sent an ERROR
        assert (proto_answer_merge (answer, wrong_day) == -1);
        proto_answer_add_missing (answer, "shard-3");
        assert (proto_answer_replies (answer) == 3);
        assert (proto_answer_missing_count (answer) == 1);
        assert (streq (proto_answer_missing_at (answer, 0), "shard-3"));
        s_test_expect (answer, expected, verbose);
        assert (proto_answer_port_count (answer) == 3);
        assert (proto_answer_port_at (answer, 1) == 25);
        assert (proto_answer_top_count (answer, 1, PROTO_FEATURE_BYTES) == 10);
        assert (proto_answer_top_at (answer, 1, PROTO_FEATURE_BYTES, 9)->score == 40);
        assert (proto_answer_top_count (answer, 0, PROTO_FEATURE_BYTES) == 0);
        proto_answer_destroy (&answer);
    }

    //  One port asked: only it is listed, even when no shard has entries for it
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_TOP);
    proto_answer_set_day (answer, day);
    proto_answer_set_op (answer, PROTO_OP_MAX);
    proto_answer_set_port (answer, 443);
    rc = proto_answer_merge (answer, replies[0]);
    assert (rc == 0);
    s_test_expect (answer,
                   "{\"date\":\"2026-11-20\",\"op\":\"max\",\"ports\":[{\"port\":443,"
                   "\"service\":\"\",\"features\":{\"bytes\":[],\"packets\":[],"
                   "\"durations\":[],\"peers\":[]}}],\"missing_shards\":[]}",
                   verbose);
    proto_answer_destroy (&answer);

    for (size_t index = 0; index < 3; index++)
        proto_msg_destroy (&replies[index]);
    proto_msg_destroy (&error);
    proto_msg_destroy (&wrong_day);
}

static void
s_test_series (bool verbose)
{
    uint32_t day;
    int rc = proto_day_parse ("2026-11-20", &day);
    assert (rc == 0);
    proto_addr_t host;
    rc = proto_addr_parse (&host, "10.0.0.1");
    assert (rc == 0);
    proto_msg_t *reply = proto_msg_new (PROTO_MSG_SERIES);
    proto_msg_set_host (reply, &host);
    proto_msg_set_feature (reply, PROTO_FEATURE_BYTES);
    proto_msg_set_op (reply, PROTO_OP_SUM);
    const proto_point_t points[] = {{25, day + 1, 9},
                                    {22, day + 1, 5},
                                    {25, day, 7},
                                    {25, 4000000, 1}};  //  After 9999: dropped
    for (size_t index = 0; index < sizeof points / sizeof points[0]; index++)
        proto_msg_points_append (reply, &points[index]);

    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_SERIES);
    proto_answer_set_host (answer, &host);
    proto_answer_set_feature (answer, PROTO_FEATURE_BYTES);
    proto_answer_set_op (answer, PROTO_OP_SUM);
    rc = proto_answer_merge (answer, reply);
    assert (rc == 0);
    s_test_expect (answer,
                   "{\"host\":\"10.0.0.1\",\"feature\":\"bytes\",\"op\":\"sum\",\"series\":["
                   "{\"port\":22,\"points\":[[\"2026-11-21\",5]]},"
                   "{\"port\":25,\"points\":[[\"2026-11-20\",7],[\"2026-11-21\",9]]}],"
                   "\"missing_shards\":[]}",
                   verbose);
    assert (proto_answer_point_count (answer, 1) == 2);
    assert (proto_answer_point_at (answer, 1, 1)->score == 9);
    proto_answer_destroy (&answer);

    //  Another feature echoed: refused.  One port asked: listed even when empty.
    answer = proto_answer_new (PROTO_ANSWER_SERIES);
    proto_answer_set_host (answer, &host);
    proto_answer_set_feature (answer, PROTO_FEATURE_PEERS);
    proto_answer_set_op (answer, PROTO_OP_SUM);
    proto_answer_set_port (answer, 443);
    assert (proto_answer_merge (answer, reply) == -1);
    proto_msg_t *empty = proto_msg_new (PROTO_MSG_SERIES);
    proto_msg_set_host (empty, &host);
    proto_msg_set_feature (empty, PROTO_FEATURE_PEERS);
    assert (proto_answer_merge (answer, empty) == 0);
    proto_msg_destroy (&empty);
    proto_answer_add_missing (answer, "shard-1");
    s_test_expect (answer,
                   "{\"host\":\"10.0.0.1\",\"feature\":\"peers\",\"op\":\"sum\",\"series\":["
                   "{\"port\":443,\"points\":[]}],\"missing_shards\":[\"shard-1\"]}",
                   verbose);
    proto_answer_destroy (&answer);
    proto_msg_destroy (&reply);
}

static void
s_test_host (bool verbose)
{
    proto_addr_t host;
    int rc = proto_addr_parse (&host, "2001:db8:0:0::1");
    assert (rc == 0);
    proto_msg_t *reply = proto_msg_new (PROTO_MSG_HOST);
    proto_msg_set_host (reply, &host);
    proto_msg_set_known (reply, true);
    proto_msg_set_first_seen (reply, 1795168800);  //  2026-11-20T10:00:00Z
    proto_msg_set_last_seen (reply, 1795255200);
    proto_msg_ports_append (reply, 80);
    proto_msg_ports_append (reply, 22);
    proto_msg_ports_append (reply, 80);
    proto_annotation_t annotation = {host, "<img src=x onerror=alert(1)>", "PTR", 0, 1795168800};
    proto_msg_annotations_append (reply, &annotation);
    annotation.rrname = "mail.example.org";
    annotation.rrtype = "AAAA";
    annotation.last_seen = INT64_MAX;  //  Not printable: null
    proto_msg_annotations_append (reply, &annotation);

    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_HOST);
    proto_answer_set_host (answer, &host);
    rc = proto_answer_merge (answer, reply);
    assert (rc == 0);
    proto_msg_destroy (&reply);  //  The answer kept copies
    s_test_expect (answer,
                   "{\"ip\":\"2001:db8::1\",\"first_seen\":\"2026-11-20T10:00:00Z\","
                   "\"last_seen\":\"2026-11-21T10:00:00Z\",\"ports\":[22,80],"
                   "\"annotations\":[{\"rrname\":\"<img src=x onerror=alert(1)>\","
                   "\"rrtype\":\"PTR\",\"first_seen\":\"1970-01-01T00:00:00Z\","
                   "\"last_seen\":\"2026-11-20T10:00:00Z\"},"
                   "{\"rrname\":\"mail.example.org\",\"rrtype\":\"AAAA\","
                   "\"first_seen\":\"1970-01-01T00:00:00Z\",\"last_seen\":null}]}",
                   verbose);
    assert (proto_answer_known (answer));
    assert (proto_answer_first_seen (answer) == 1795168800);
    assert (proto_answer_last_seen (answer) == 1795255200);
    assert (proto_answer_port_count (answer) == 2);
    assert (proto_answer_port_at (answer, 1) == 80);
    assert (proto_answer_annotation_count (answer) == 2);
    assert (streq (proto_answer_annotation_at (answer, 1)->rrtype, "AAAA"));
    proto_answer_destroy (&answer);

    //  Unknown host: null times; a reply about another host is refused
    reply = proto_msg_new (PROTO_MSG_HOST);
    proto_msg_set_host (reply, &host);
    answer = proto_answer_new (PROTO_ANSWER_HOST);
    proto_answer_set_host (answer, &host);
    rc = proto_answer_merge (answer, reply);
    assert (rc == 0);
    s_test_expect (answer,
                   "{\"ip\":\"2001:db8::1\",\"first_seen\":null,\"last_seen\":null,"
                   "\"ports\":[],\"annotations\":[]}",
                   verbose);
    proto_addr_t other;
    rc = proto_addr_parse (&other, "10.0.0.1");
    assert (rc == 0);
    proto_msg_set_host (reply, &other);
    assert (proto_answer_merge (answer, reply) == -1);
    proto_answer_destroy (&answer);
    proto_msg_destroy (&reply);
}

static void
s_test_days (bool verbose)
{
    uint32_t day;
    int rc = proto_day_parse ("2026-11-20", &day);
    assert (rc == 0);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_DAYS);
    for (uint32_t shard = 0; shard < 2; shard++) {
        proto_msg_t *reply = proto_msg_new (PROTO_MSG_DAYS);
        proto_msg_days_append (reply, day + shard);  //  day, day + 2; day + 1, day + 2
        proto_msg_days_append (reply, day + 2);
        rc = proto_answer_merge (answer, reply);
        assert (rc == 0);
        proto_msg_destroy (&reply);
    }
    s_test_expect (answer, "{\"days\":[\"2026-11-20\",\"2026-11-21\",\"2026-11-22\"]}", verbose);
    assert (proto_answer_day_count (answer) == 3);
    assert (proto_answer_day_at (answer, 2) == day + 2);
    proto_answer_destroy (&answer);
    answer = proto_answer_new (PROTO_ANSWER_DAYS);
    s_test_expect (answer, "{\"days\":[]}", verbose);
    proto_answer_destroy (&answer);
    proto_answer_destroy (&answer);
}

void
proto_answer_test (bool verbose)
{
    printf (" * proto_answer: ");
    s_test_top (verbose);
    s_test_series (verbose);
    s_test_host (verbose);
    s_test_days (verbose);
    char *error = proto_answer_error_json ("bad \"date\": 2026-02-30");
    assert (streq (error, "{\"error\":\"bad \\\"date\\\": 2026-02-30\"}"));
    free (error);
    printf ("OK\n");
}
