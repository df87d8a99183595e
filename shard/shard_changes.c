/*  shard_changes.c - what changed on a day: the candidates of /api/changes.

    See shard_changes.h.  Everything is read in the caller's read transaction: the top
    lists of the day and of the day before (one value per (day, port)), the host records
    of the candidates (their active-days bitmap guides the row reads) and the rows of
    the day's ports (a scan per port, for first-ever pairs).  The gateway merges the
    shards' answers and decides (proto_changes.h); a shard only reports facts about its
    own hosts: scores, medians, days, first days.
*/
#include "shard/shard_changes.h"
#include "shard/shard_days.h"
#include "shard/shard_keys.h"
#include "shard/shard_query.h"
#include "shard/shard_top.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    proto_addr_t addr;  //  Host
    uint64_t score;     //  Its bytes score of the day for the op
} s_row_t;

typedef struct {
    uint8_t op;       //  Operation asked
    s_row_t *rows;    //  Rows of the (day, port) scanned
    size_t count;     //  Entries used
    size_t capacity;  //  Entries allocated
} s_scan_t;

typedef struct {
    shard_txn_t *txn;             //  Read transaction
    shard_host_t *scratch;        //  Host record buffer
    shard_days_reader_t *reader;  //  Row reader
    uint32_t day;                 //  Day asked
    uint8_t op;                   //  Operation asked
    uint32_t from;                //  First day of the window
    uint8_t spark;                //  Days of sparkline per entry, 0: changes
    shard_change_fn *change_fn;   //  Where entries go
    void *arg;                    //  Its argument
} s_context_t;

//  --------------------------------------------------------------------------
static void
s_on_row (void *arg, const proto_addr_t *addr, const shard_row_t *row)
{
    s_scan_t *scan = (s_scan_t *) arg;
    if (scan->count == scan->capacity) {
        scan->capacity = scan->capacity ? 2 * scan->capacity : 256;
        scan->rows = (s_row_t *) realloc (scan->rows, scan->capacity * sizeof (s_row_t));
        assert (scan->rows);
    }
    scan->rows[scan->count].addr = *addr;
    scan->rows[scan->count].score = row->value[PROTO_FEATURE_BYTES][scan->op];
    scan->count++;
}

//  --------------------------------------------------------------------------
//  Highest score first, ties by address ascending (the top lists' order).

static int
s_compare_rows (const void *left, const void *right)
{
    const s_row_t *a = (const s_row_t *) left;
    const s_row_t *b = (const s_row_t *) right;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return proto_addr_compare (&a->addr, &b->addr);
}

static int
s_compare_scores (const void *left, const void *right)
{
    uint64_t a = *(const uint64_t *) left, b = *(const uint64_t *) right;
    return a < b ? -1 : a > b;
}

//  --------------------------------------------------------------------------
//  Is day the first of host on port?  scratch must hold host's record.  1 yes, 0 no,
//  -1 failed.

static int
s_first_day (s_context_t *self, uint16_t port, const proto_addr_t *host)
{
    const shard_host_t *record = self->scratch;
    if (self->day == 0 || self->day <= record->days_base)
        return 1;
    uint32_t last = record->days_base + (uint32_t) (8 * record->days_size);
    for (uint32_t day = MIN (self->day, last); day-- > record->days_base;) {
        if (!shard_host_has_day (record, day))
            continue;
        shard_row_t row;
        int rc = shard_days_reader_get (self->reader, (uint16_t) day, port, host, &row);
        if (rc != 1)
            return rc == 0 ? 0 : -1;
    }
    return 1;
}

//  --------------------------------------------------------------------------
//  The median and the count of host's scores on (port, feature) over the window's days
//  with traffic: the lower middle of the sorted scores (0 and 0 without any).

static int
s_median (s_context_t *self, uint16_t port, uint8_t feature, const proto_addr_t *host,
          uint64_t *median, uint32_t *days)
{
    uint64_t scores[SHARD_HOST_DAYS_MAX];
    size_t count = 0;
    const shard_host_t *record = self->scratch;
    for (uint32_t day = self->from; day < self->day; day++) {
        if (!shard_host_has_day (record, day))
            continue;
        shard_row_t row;
        int rc = shard_days_reader_get (self->reader, (uint16_t) day, port, host, &row);
        if (rc == -1)
            return -1;
        if (rc == 0 && count < SHARD_HOST_DAYS_MAX)
            scores[count++] = row.value[feature][self->op];
    }
    qsort (scores, count, sizeof scores[0], s_compare_scores);
    *median = count ? scores[(count - 1) / 2] : 0;
    *days = (uint32_t) count;
    return 0;
}

//  --------------------------------------------------------------------------
//  Emit one entry of host on port; reads its record.  0 or -1.

static int
s_emit (s_context_t *self, uint16_t port, uint8_t feature, const proto_addr_t *host, uint64_t score,
        uint8_t flags)
{
    if (shard_query_host_read (self->txn, self->scratch, host) == -1)
        return -1;
    proto_change_t change = {port, feature, *host, score, 0, 0, flags, 0};
    uint64_t notes = self->scratch->annotations;
    change.annotations = notes > UINT32_MAX ? UINT32_MAX : (uint32_t) notes;
    if ((flags & PROTO_CHANGE_TOP) && !self->spark) {
        int first = s_first_day (self, port, host);
        if (first == -1 || s_median (self, port, feature, host, &change.median, &change.days))
            return -1;
        if (first)
            change.flags |= PROTO_CHANGE_FIRST;
    }
    uint64_t spark[PROTO_SPARK_MAX] = {0};
    for (uint32_t index = 0; index < self->spark && index <= self->day; index++) {
        uint32_t day = self->day - index;
        shard_row_t row;
        int rc = shard_host_has_day (self->scratch, day)
                     ? shard_days_reader_get (self->reader, (uint16_t) day, port, host, &row)
                     : 1;
        if (rc == -1)
            return -1;
        spark[self->spark - 1 - index] = rc == 0 ? row.value[feature][self->op] : 0;
    }
    self->change_fn (self->arg, &change, spark, self->spark);
    return 0;
}

//  --------------------------------------------------------------------------
//  The top entries of (day, port) and of the day before.  0 or -1.

static int
s_port_tops (s_context_t *self, uint16_t port)
{
    for (int back = 0; back < (self->spark ? 1 : 2); back++) {
        if (back && self->day == 0)
            break;
        shard_topset_t set;
        int rc = shard_top_read (self->txn, (uint16_t) (self->day - (uint32_t) back), port, &set);
        if (rc == -1)
            return -1;
        for (int feature = 0; rc == 0 && feature < PROTO_FEATURE_COUNT; feature++) {
            const shard_toplist_t *list = &set.lists[feature * PROTO_OP_COUNT + self->op];
            for (size_t index = 0; index < list->count && index < SHARD_TOP_SHOW; index++) {
                shard_rank_t rank = list->entries[index];
                if (s_emit (self, port, (uint8_t) feature, &rank.addr, rank.score,
                            back ? PROTO_CHANGE_PREV : PROTO_CHANGE_TOP))
                    return -1;
            }
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  The first-ever pairs of (day, port), at most SHARD_CHANGES_FIRST_MAX.  0 or -1.

static int
s_port_firsts (s_context_t *self, uint16_t port)
{
    s_scan_t scan = {self->op, NULL, 0, 0};
    int rc = shard_days_scan (self->txn, (uint16_t) self->day, port, s_on_row, &scan);
    if (rc == 0 && scan.count)  //  rows is NULL without any (qsort wants an array)
        qsort (scan.rows, scan.count, sizeof (s_row_t), s_compare_rows);
    size_t found = 0;
    for (size_t index = 0; rc == 0 && index < scan.count && found < SHARD_CHANGES_FIRST_MAX;
         index++) {
        //  Most hosts of a day were there the day before: one row read, no record
        shard_row_t row;
        rc = self->day ? shard_days_reader_get (self->reader, (uint16_t) (self->day - 1), port,
                                                &scan.rows[index].addr, &row)
                       : 1;
        if (rc == 0 || rc == -1)
            continue;
        rc = shard_query_host_read (self->txn, self->scratch, &scan.rows[index].addr);
        if (rc == 1)
            rc = 0;  //  A row without a host record: cannot tell, not reported
        else if (rc == 0) {
            int first = s_first_day (self, port, &scan.rows[index].addr);
            if (first == 1) {
                found++;
                rc = s_emit (self, port, PROTO_FEATURE_BYTES, &scan.rows[index].addr,
                             scan.rows[index].score, PROTO_CHANGE_FIRST);
            }
            else
                rc = first;
        }
    }
    free (scan.rows);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_changes_query (shard_txn_t *txn, shard_host_t *scratch, uint32_t day, uint8_t op,
                     uint32_t from, uint8_t spark, shard_change_fn *change_fn, void *arg)
{
    assert (txn);
    assert (scratch);
    assert (change_fn);
    assert (from <= day);
    if (day > SHARD_DAY_MAX)
        return 0;
    //  The ports of the day first: the cursor's bytes die with the next read
    uint16_t *ports = (uint16_t *) malloc ((SHARD_DAY_MAX + 1) * sizeof (uint16_t));
    assert (ports);
    size_t port_count = 0;
    uint8_t prefix[2];
    shard_put16 (prefix, (uint16_t) day);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_TOP);
    int rc = cursor ? 0 : -1;
    shard_bytes_t key, value;
    if (cursor)
        rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
    while (rc == 0 && key.size == SHARD_KEY_TOP_SIZE && memcmp (key.data, prefix, 2) == 0) {
        ports[port_count++] = shard_get16 (key.data + 2);
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    shard_days_reader_t reader;
    if (rc != -1)
        rc = shard_days_reader_open (&reader, txn);
    if (rc != -1) {
        s_context_t context = {txn, scratch, &reader, day, op, from, spark, change_fn, arg};
        for (size_t index = 0; index < port_count && rc != -1; index++) {
            rc = s_port_tops (&context, ports[index]);
            if (rc != -1 && !spark)
                rc = s_port_firsts (&context, ports[index]);
        }
        shard_days_reader_close (&reader);
    }
    free (ports);
    return rc == -1 ? -1 : 0;
}
