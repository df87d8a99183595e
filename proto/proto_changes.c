/*  proto_changes.c - the "what changed" answer: CHANGES replies merged and ranked.

    See proto_changes.h.  The entries of every reply are kept as they came; ranking
    sorts a copy per (port, feature, kind), cuts the top lists to 10, decides the
    reasons and sorts the rows.  Sizes are small (per port at most a few hundred
    entries per shard), so plain arrays and qsort do.
*/
#include "proto/proto_changes.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _proto_changes_t {
    uint32_t day;               //  Day asked
    proto_op_t op;              //  Operation asked
    uint32_t k;                 //  Spike factor
    uint32_t window;            //  Days of the median window
    proto_change_t *entries;    //  Every entry merged
    size_t entry_count;         //  Entries used
    size_t entry_capacity;      //  Entries allocated
    proto_changes_row_t *rows;  //  Ranked rows
    size_t row_count;           //  Rows used
    bool ranked;                //  rows reflect every entry
    uint32_t spark_days;        //  Sparkline mode: scores per entry, 0: changes mode
    uint64_t *sparks;           //  Sparkline mode: spark_days scores per entry
};

//  --------------------------------------------------------------------------
proto_changes_t *
proto_changes_new (void)
{
    proto_changes_t *self = (proto_changes_t *) calloc (1, sizeof (proto_changes_t));
    assert (self);
    self->k = PROTO_CHANGES_K_DEFAULT;
    self->window = PROTO_CHANGES_WINDOW_DEFAULT;
    return self;
}

void
proto_changes_destroy (proto_changes_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->entries);
        free ((*self_p)->rows);
        free ((*self_p)->sparks);
        free (*self_p);
        *self_p = NULL;
    }
}

void
proto_changes_set (proto_changes_t *self, uint32_t day, proto_op_t op, uint32_t k, uint32_t window)
{
    assert (self);
    self->day = day;
    self->op = op;
    self->k = k;
    self->window = window;
}

void
proto_changes_set_spark (proto_changes_t *self, uint32_t days)
{
    assert (self);
    assert (days >= 1 && days <= PROTO_SPARK_MAX);
    self->spark_days = days;
}

//  --------------------------------------------------------------------------
int
proto_changes_merge (proto_changes_t *self, proto_msg_t *reply)
{
    assert (self);
    assert (reply);
    if (proto_msg_id (reply) != PROTO_MSG_CHANGES || proto_msg_day (reply) != self->day ||
        proto_msg_op (reply) != self->op)
        return -1;
    size_t count = proto_msg_changes_count (reply);
    if (count && proto_msg_sparks_count (reply) != count * self->spark_days)
        return -1;
    if (self->entry_count + count > self->entry_capacity) {
        self->entry_capacity = 2 * (self->entry_count + count);
        self->entries = (proto_change_t *) realloc (self->entries,
                                                    self->entry_capacity * sizeof (proto_change_t));
        assert (self->entries);
        if (self->spark_days) {
            self->sparks = (uint64_t *) realloc (
                self->sparks, self->entry_capacity * self->spark_days * sizeof (uint64_t));
            assert (self->sparks);
        }
    }
    for (size_t index = 0; index < count * self->spark_days; index++)
        self->sparks[self->entry_count * self->spark_days + index] =
            proto_msg_sparks_at (reply, index);
    for (size_t index = 0; index < count; index++)
        proto_msg_changes_at (reply, index, &self->entries[self->entry_count++]);
    self->ranked = false;
    return 0;
}

//  --------------------------------------------------------------------------
//  Entries: port, then kind (TOP, PREV, FIRST alone), feature, score descending,
//  address ascending: each top list is then a run in the order of a merged top list.

static int
s_kind (const proto_change_t *entry)
{
    return entry->flags & PROTO_CHANGE_TOP ? 0 : entry->flags & PROTO_CHANGE_PREV ? 1 : 2;
}

static int
s_compare_entries (const void *left, const void *right)
{
    const proto_change_t *a = (const proto_change_t *) left;
    const proto_change_t *b = (const proto_change_t *) right;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    if (s_kind (a) != s_kind (b))
        return s_kind (a) - s_kind (b);
    //  First-ever pairs rank by bytes whatever their feature says
    if (s_kind (a) < 2 && a->feature != b->feature)
        return a->feature - b->feature;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return proto_addr_compare (&a->addr, &b->addr);
}

//  --------------------------------------------------------------------------
//  How unusual: a lower tier first, then (spikes) a larger score/median, a larger
//  score, the feature, the address.

static int
s_tier (unsigned reasons)
{
    if (reasons & PROTO_CHANGES_FIRST_EVER)
        return 0;
    if (reasons & PROTO_CHANGES_BACK)
        return 1;
    return reasons & PROTO_CHANGES_SPIKE ? 2 : 3;
}

static int
s_compare_rows (const void *left, const void *right)
{
    const proto_changes_row_t *a = (const proto_changes_row_t *) left;
    const proto_changes_row_t *b = (const proto_changes_row_t *) right;
    if (a->entry.port != b->entry.port)
        return a->entry.port < b->entry.port ? -1 : 1;
    if (s_tier (a->reasons) != s_tier (b->reasons))
        return s_tier (a->reasons) - s_tier (b->reasons);
    if (s_tier (a->reasons) == 2) {
        //  a.score / a.median against b.score / b.median, exactly
        unsigned __int128 left_ratio = (unsigned __int128) a->entry.score * b->entry.median;
        unsigned __int128 right_ratio = (unsigned __int128) b->entry.score * a->entry.median;
        if (left_ratio != right_ratio)
            return left_ratio > right_ratio ? -1 : 1;
    }
    if (a->entry.score != b->entry.score)
        return a->entry.score > b->entry.score ? -1 : 1;
    if (a->entry.feature != b->entry.feature)
        return a->entry.feature - b->entry.feature;
    return proto_addr_compare (&a->entry.addr, &b->entry.addr);
}

//  --------------------------------------------------------------------------
//  Is addr among the first count entries of list?

static bool
s_listed (const proto_change_t *list, size_t count, const proto_addr_t *addr)
{
    for (size_t index = 0; index < count; index++)
        if (proto_addr_compare (&list[index].addr, addr) == 0)
            return true;
    return false;
}

//  The reasons of a top entry of the day, prev the day before's top list of its
//  (port, feature) (prev_count entries).

static unsigned
s_reasons (proto_changes_t *self, const proto_change_t *entry, const proto_change_t *prev,
           size_t prev_count)
{
    unsigned reasons = 0;
    if (entry->flags & PROTO_CHANGE_FIRST)
        reasons |= PROTO_CHANGES_FIRST_EVER;
    else if (entry->days == 0)
        reasons |= PROTO_CHANGES_BACK;
    if (!s_listed (prev, prev_count, &entry->addr))
        reasons |= PROTO_CHANGES_NEW_TOP;
    if (entry->days > 0 && entry->median > 0 &&
        (unsigned __int128) entry->score > (unsigned __int128) self->k * entry->median)
        reasons |= PROTO_CHANGES_SPIKE;
    return reasons;
}

//  --------------------------------------------------------------------------
//  The end of the run of entries from start that share port, kind and (but for
//  first-ever pairs) feature.

static size_t
s_run_end (const proto_change_t *entries, size_t count, size_t start)
{
    size_t end = start + 1;
    while (end < count && entries[end].port == entries[start].port &&
           s_kind (&entries[end]) == s_kind (&entries[start]) &&
           (s_kind (&entries[start]) == 2 || entries[end].feature == entries[start].feature))
        end++;
    return end;
}

static void
s_add_row (proto_changes_t *self, const proto_change_t *entry, unsigned reasons)
{
    proto_changes_row_t *row = &self->rows[self->row_count++];
    row->entry = *entry;
    row->reasons = reasons;
}

//  --------------------------------------------------------------------------
void
proto_changes_rank (proto_changes_t *self)
{
    assert (self);
    if (self->ranked)
        return;
    if (self->entry_count)  //  entries is NULL before the first one (qsort wants an array)
        qsort (self->entries, self->entry_count, sizeof (proto_change_t), s_compare_entries);
    free (self->rows);
    self->rows =
        (proto_changes_row_t *) calloc (self->entry_count + 1, sizeof (proto_changes_row_t));
    assert (self->rows);
    self->row_count = 0;
    const proto_change_t *entries = self->entries;
    size_t port_start = 0;
    for (size_t start = 0; start < self->entry_count;) {
        size_t end = s_run_end (entries, self->entry_count, start);
        if (start == 0 || entries[start].port != entries[start - 1].port)
            port_start = self->row_count;
        if (s_kind (&entries[start]) == 0) {
            //  The day before's run of the same feature, if any, follows the day's runs
            size_t prev = end, prev_count = 0;
            while (
                prev < self->entry_count && entries[prev].port == entries[start].port &&
                !(s_kind (&entries[prev]) == 1 && entries[prev].feature == entries[start].feature))
                prev++;
            if (prev < self->entry_count && entries[prev].port == entries[start].port)
                prev_count = MIN (s_run_end (entries, self->entry_count, prev) - prev,
                                  (size_t) PROTO_CHANGES_TOP);
            for (size_t index = start; index < end && index - start < PROTO_CHANGES_TOP; index++) {
                unsigned reasons = s_reasons (self, &entries[index], entries + prev, prev_count);
                if (reasons)
                    s_add_row (self, &entries[index], reasons);
            }
        }
        else if (s_kind (&entries[start]) == 2)
            for (size_t index = start; index < end && index - start < PROTO_CHANGES_FIRST_MAX;
                 index++) {
                bool has_row = false;
                for (size_t row = port_start; row < self->row_count && !has_row; row++)
                    has_row =
                        proto_addr_compare (&self->rows[row].entry.addr, &entries[index].addr) == 0;
                if (!has_row)
                    s_add_row (self, &entries[index], PROTO_CHANGES_FIRST_EVER);
            }
        start = end;
    }
    qsort (self->rows, self->row_count, sizeof (proto_changes_row_t), s_compare_rows);
    self->ranked = true;
}

//  --------------------------------------------------------------------------
size_t
proto_changes_row_count (proto_changes_t *self)
{
    assert (self);
    proto_changes_rank (self);
    return self->row_count;
}

const proto_changes_row_t *
proto_changes_row_at (proto_changes_t *self, size_t index)
{
    assert (self);
    proto_changes_rank (self);
    assert (index < self->row_count);
    return &self->rows[index];
}

//  --------------------------------------------------------------------------
static void
s_json_row (proto_json_t *json, const proto_changes_row_t *row)
{
    static const char *names[] = {"first_ever", "back", "spike", "new_top"};
    char text[PROTO_ADDR_STRLEN];
    proto_json_object_open (json);
    proto_json_key_string (json, "ip", proto_addr_format (&row->entry.addr, text));
    proto_json_key_string (json, "feature", proto_feature_name (row->entry.feature));
    proto_json_key_uint (json, "score", row->entry.score);
    proto_json_key_uint (json, "median", row->entry.median);
    proto_json_key_uint (json, "days", row->entry.days);
    proto_json_key (json, "reasons");
    proto_json_array_open (json);
    for (unsigned bit = 0; bit < 4; bit++)
        if (row->reasons & (1u << bit))
            proto_json_string (json, names[bit]);
    proto_json_array_close (json);
    proto_json_key_uint (json, "annotations", row->entry.annotations);
    proto_json_object_close (json);
}

void
proto_changes_json (proto_changes_t *self, proto_json_t *json)
{
    assert (self);
    assert (json);
    proto_changes_rank (self);
    char text[16];
    proto_json_key_string (json, "date", proto_day_format (self->day, text));
    proto_json_key_string (json, "op", proto_op_name (self->op));
    proto_json_key_uint (json, "k", self->k);
    proto_json_key_uint (json, "window", self->window);
    proto_json_key (json, "ports");
    proto_json_array_open (json);
    for (size_t index = 0; index < self->row_count; index++) {
        uint16_t port = self->rows[index].entry.port;
        if (index == 0 || self->rows[index - 1].entry.port != port) {
            proto_json_object_open (json);
            proto_json_key_uint (json, "port", port);
            proto_json_key_string (json, "service", proto_port_service (port));
            proto_json_key (json, "changes");
            proto_json_array_open (json);
        }
        s_json_row (json, &self->rows[index]);
        if (index + 1 == self->row_count || self->rows[index + 1].entry.port != port) {
            proto_json_array_close (json);
            proto_json_object_close (json);
        }
    }
    proto_json_array_close (json);
}

//  --------------------------------------------------------------------------
//  Sparkline mode: the top 10 of each (port, feature), with their scores of the days.

typedef struct {
    const proto_change_t *entry;  //  Top entry
    const uint64_t *spark;        //  Its scores, spark_days of them
} s_spark_t;

static int
s_compare_sparks (const void *left, const void *right)
{
    const proto_change_t *a = ((const s_spark_t *) left)->entry;
    const proto_change_t *b = ((const s_spark_t *) right)->entry;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    if (a->feature != b->feature)
        return a->feature - b->feature;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return proto_addr_compare (&a->addr, &b->addr);
}

void
proto_changes_sparks_json (proto_changes_t *self, proto_json_t *json)
{
    assert (self);
    assert (json);
    char text[PROTO_ADDR_STRLEN];
    proto_json_key_string (json, "date", proto_day_format (self->day, text));
    proto_json_key_string (json, "op", proto_op_name (self->op));
    proto_json_key (json, "days");
    proto_json_array_open (json);
    for (uint32_t index = self->spark_days; index-- > 0;)
        proto_json_string (json, self->day >= index ? proto_day_format (self->day - index, text)
                                                    : "1970-01-01");
    proto_json_array_close (json);
    s_spark_t *sorted = (s_spark_t *) calloc (self->entry_count + 1, sizeof (s_spark_t));
    assert (sorted);
    size_t count = 0;
    for (size_t index = 0; index < self->entry_count; index++)
        if (self->entries[index].flags & PROTO_CHANGE_TOP)
            sorted[count++] =
                (s_spark_t){&self->entries[index], self->sparks + index * self->spark_days};
    qsort (sorted, count, sizeof (s_spark_t), s_compare_sparks);
    proto_json_key (json, "ports");
    proto_json_array_open (json);
    for (size_t index = 0; index < count;) {
        uint16_t port = sorted[index].entry->port;
        proto_json_object_open (json);
        proto_json_key_uint (json, "port", port);
        proto_json_key_string (json, "service", proto_port_service (port));
        proto_json_key (json, "features");
        proto_json_object_open (json);
        for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
            proto_json_key (json, proto_feature_name ((proto_feature_t) feature));
            proto_json_array_open (json);
            for (size_t rank = 0; index < count && sorted[index].entry->port == port &&
                                  sorted[index].entry->feature == feature;
                 index++, rank++) {
                if (rank >= PROTO_CHANGES_TOP)
                    continue;
                proto_json_object_open (json);
                proto_json_key_string (json, "ip",
                                       proto_addr_format (&sorted[index].entry->addr, text));
                proto_json_key_uint (json, "score", sorted[index].entry->score);
                proto_json_key (json, "spark");
                proto_json_array_open (json);
                for (uint32_t day = 0; day < self->spark_days; day++)
                    proto_json_uint (json, sorted[index].spark[day]);
                proto_json_array_close (json);
                proto_json_object_close (json);
            }
            proto_json_array_close (json);
        }
        proto_json_object_close (json);
        proto_json_object_close (json);
    }
    proto_json_array_close (json);
    free (sorted);
}

//  --------------------------------------------------------------------------
//  Selftest: two shards' replies, every reason, the ranking and the JSON.

static void
s_test_add (proto_msg_t *reply, uint16_t port, uint8_t feature, const char *host, uint64_t score,
            uint64_t median, uint32_t days, uint8_t flags)
{
    proto_change_t change = {port, feature, {{0}}, score, median, days, flags, 0};
    assert (proto_addr_parse (&change.addr, host) == 0);
    proto_msg_changes_append (reply, &change);
}

void
proto_changes_test (bool verbose)
{
    printf (" * proto_changes: ");
    proto_changes_t *changes = proto_changes_new ();
    proto_changes_set (changes, 20000, PROTO_OP_SUM, 4, 28);
    proto_msg_t *one = proto_msg_new (PROTO_MSG_CHANGES);
    proto_msg_set_day (one, 20000);
    proto_msg_set_op (one, PROTO_OP_SUM);
    //  Shard one: a steady host, a spike (x5 > 4), a first-ever host in the top
    s_test_add (one, 25, 0, "10.0.0.1", 100, 100, 20, PROTO_CHANGE_TOP);
    s_test_add (one, 25, 0, "10.0.0.2", 500, 100, 20, PROTO_CHANGE_TOP);
    s_test_add (one, 25, 0, "10.0.0.3", 50, 0, 0, PROTO_CHANGE_TOP | PROTO_CHANGE_FIRST);
    s_test_add (one, 25, 0, "10.0.0.3", 50, 0, 0, PROTO_CHANGE_FIRST);
    s_test_add (one, 25, 0, "10.0.0.1", 90, 0, 0, PROTO_CHANGE_PREV);
    s_test_add (one, 25, 0, "10.0.0.2", 80, 0, 0, PROTO_CHANGE_PREV);
    //  Shard two: back after silence, a spike of x4 exactly (not above k), and a
    //  first-ever pair outside any top list
    proto_msg_t *two = proto_msg_new (PROTO_MSG_CHANGES);
    proto_msg_set_day (two, 20000);
    proto_msg_set_op (two, PROTO_OP_SUM);
    s_test_add (two, 25, 0, "10.0.1.1", 70, 0, 0, PROTO_CHANGE_TOP);
    s_test_add (two, 25, 0, "10.0.1.2", 400, 100, 3, PROTO_CHANGE_TOP);
    s_test_add (two, 25, 0, "10.0.1.2", 85, 0, 0, PROTO_CHANGE_PREV);
    s_test_add (two, 22, 0, "10.0.1.3", 5, 0, 0, PROTO_CHANGE_FIRST);
    assert (proto_changes_merge (changes, one) == 0);
    assert (proto_changes_merge (changes, two) == 0);
    proto_msg_set_op (two, PROTO_OP_MAX);
    assert (proto_changes_merge (changes, two) == -1);
    proto_msg_destroy (&one);
    proto_msg_destroy (&two);
    struct {
        uint16_t port;
        const char *host;
        unsigned reasons;
    } expected[] = {
        {22, "10.0.1.3", PROTO_CHANGES_FIRST_EVER},
        {25, "10.0.0.3", PROTO_CHANGES_FIRST_EVER | PROTO_CHANGES_NEW_TOP},
        {25, "10.0.1.1", PROTO_CHANGES_BACK | PROTO_CHANGES_NEW_TOP},
        {25, "10.0.0.2", PROTO_CHANGES_SPIKE},
    };
    size_t count = sizeof expected / sizeof expected[0];
    if (verbose)
        printf ("%zu rows ", proto_changes_row_count (changes));
    assert (proto_changes_row_count (changes) == count);
    for (size_t index = 0; index < count; index++) {
        const proto_changes_row_t *row = proto_changes_row_at (changes, index);
        proto_addr_t addr;
        assert (proto_addr_parse (&addr, expected[index].host) == 0);
        assert (row->entry.port == expected[index].port);
        assert (proto_addr_compare (&row->entry.addr, &addr) == 0);
        assert (row->reasons == expected[index].reasons);
    }
    proto_json_t *json = proto_json_new ();
    proto_json_object_open (json);
    proto_changes_json (changes, json);
    proto_json_object_close (json);
    char *text = proto_json_take (json);
    assert (strstr (text, "\"k\":4,\"window\":28,\"ports\":[{\"port\":22,\"service\":\"SSH\""));
    assert (strstr (text, "\"reasons\":[\"first_ever\",\"new_top\"]"));
    free (text);
    proto_json_destroy (&json);
    proto_changes_destroy (&changes);
    proto_changes_destroy (&changes);

    //  No entry at all (a day without data): no rows, no ports
    changes = proto_changes_new ();
    assert (proto_changes_row_count (changes) == 0);
    json = proto_json_new ();
    proto_json_object_open (json);
    proto_changes_json (changes, json);
    proto_json_object_close (json);
    text = proto_json_take (json);
    assert (strstr (text, "\"ports\":[]"));
    free (text);
    proto_json_destroy (&json);
    proto_changes_destroy (&changes);

    //  Sparkline mode: 2 days; a reply without the sparklines asked is refused
    changes = proto_changes_new ();
    proto_changes_set (changes, 20000, PROTO_OP_SUM, 4, 28);
    proto_changes_set_spark (changes, 2);
    one = proto_msg_new (PROTO_MSG_CHANGES);
    proto_msg_set_day (one, 20000);
    proto_msg_set_op (one, PROTO_OP_SUM);
    s_test_add (one, 25, 0, "10.0.0.1", 100, 0, 0, PROTO_CHANGE_TOP);
    assert (proto_changes_merge (changes, one) == -1);
    proto_msg_sparks_append (one, 7);
    proto_msg_sparks_append (one, 100);
    s_test_add (one, 25, 0, "10.0.0.2", 300, 0, 0, PROTO_CHANGE_TOP);
    proto_msg_sparks_append (one, 0);
    proto_msg_sparks_append (one, 300);
    assert (proto_changes_merge (changes, one) == 0);
    proto_msg_destroy (&one);
    json = proto_json_new ();
    proto_json_object_open (json);
    proto_changes_sparks_json (changes, json);
    proto_json_object_close (json);
    text = proto_json_take (json);
    if (verbose)
        printf ("%s ", text);
    assert (streq (text,
                   "{\"date\":\"2024-10-04\",\"op\":\"sum\",\"days\":[\"2024-10-03\","
                   "\"2024-10-04\"],\"ports\":[{\"port\":25,\"service\":\"SMTP\",\"features\":"
                   "{\"bytes\":[{\"ip\":\"10.0.0.2\",\"score\":300,\"spark\":[0,300]},{\"ip\":"
                   "\"10.0.0.1\",\"score\":100,\"spark\":[7,100]}],\"packets\":[],\"durations\":[],"
                   "\"peers\":[]}}]}"));
    free (text);
    proto_json_destroy (&json);
    proto_changes_destroy (&changes);
    printf ("OK\n");
}
