/*  shard_store_query.c - the store's read-only queries (shard_store.h): top lists, what
    changed, series, other ports, host records and days, each in one read transaction of
    shard_store.c, in the direction asked, the work done by shard_query / shard_changes /
    shard_others.
*/
#include "shard/shard_changes.h"
#include "shard/shard_keys.h"
#include "shard/shard_kv.h"
#include "shard/shard_others.h"
#include "shard/shard_query.h"
#include "shard/shard_store.h"

#include <assert.h>
#include <czmq.h>
#include <string.h>

//  --------------------------------------------------------------------------
int
shard_store_top (shard_store_t *self, uint32_t day, uint8_t op, uint32_t port, shard_top_fn *top_fn,
                 void *arg)
{
    return shard_store_top_direction (self, PROTO_DIRECTION_OUT, day, op, port, top_fn, arg);
}

//  --------------------------------------------------------------------------
static int
s_invalid_direction (shard_store_t *self)
{
    return shard_store_invalid (self, "direction: not out or in");
}

//  --------------------------------------------------------------------------
int
shard_store_top_direction (shard_store_t *self, uint8_t direction, uint32_t day, uint8_t op,
                           uint32_t port, shard_top_fn *top_fn, void *arg)
{
    assert (self);
    assert (top_fn);
    if (direction >= PROTO_DIRECTION_COUNT)
        return s_invalid_direction (self);
    if (op >= PROTO_OP_COUNT)
        return shard_store_invalid (self, "op: not sum, max or min");
    if (port > PROTO_PORT_ALL)
        return shard_store_invalid (self, "port: above 65535 and not ALL");
    shard_txn_t *txn = shard_store_begin (self, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    shard_txn_set_direction (txn, direction);
    shard_query_top (txn, shard_store_scratch (self), day, op, port, top_fn, arg);
    return shard_store_end (txn, false);
}

//  --------------------------------------------------------------------------
int
shard_store_changes (shard_store_t *self, uint32_t day, uint8_t op, uint32_t from, uint8_t spark,
                     shard_change_fn *change_fn, void *arg)
{
    assert (self);
    assert (change_fn);
    if (op >= PROTO_OP_COUNT)
        return shard_store_invalid (self, "op: not sum, max or min");
    if (from > day)
        return shard_store_invalid (self, "from: after day");
    if (spark > PROTO_SPARK_MAX)
        return shard_store_invalid (self, "spark: more days than PROTO_SPARK_MAX");
    shard_txn_t *txn = shard_store_begin (self, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    shard_changes_query (txn, shard_store_scratch (self), day, op, from, spark, change_fn, arg);
    return shard_store_end (txn, false);
}

//  --------------------------------------------------------------------------
int
shard_store_series (shard_store_t *self, const proto_addr_t *host, uint32_t port, uint8_t feature,
                    uint8_t op, uint32_t from, uint32_t to, shard_point_fn *point_fn, void *arg)
{
    return shard_store_series_direction (self, PROTO_DIRECTION_OUT, host, port, feature, op, from,
                                         to, point_fn, arg);
}

//  --------------------------------------------------------------------------
int
shard_store_series_direction (shard_store_t *self, uint8_t direction, const proto_addr_t *host,
                              uint32_t port, uint8_t feature, uint8_t op, uint32_t from,
                              uint32_t to, shard_point_fn *point_fn, void *arg)
{
    assert (self);
    if (direction >= PROTO_DIRECTION_COUNT)
        return s_invalid_direction (self);
    assert (host);
    assert (point_fn);
    if (feature >= PROTO_FEATURE_COUNT)
        return shard_store_invalid (self, "feature: not bytes, packets, durations or peers");
    if (op >= PROTO_OP_COUNT)
        return shard_store_invalid (self, "op: not sum, max or min");
    if (port > PROTO_PORT_ALL)
        return shard_store_invalid (self, "port: above 65535 and not ALL");
    if (from > to)
        return shard_store_invalid (self, "from: after to");
    shard_txn_t *txn = shard_store_begin (self, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    shard_txn_set_direction (txn, direction);
    shard_query_series (txn, shard_store_scratch (self), host, port, feature, op, from, to,
                        point_fn, arg);
    return shard_store_end (txn, false);
}

//  --------------------------------------------------------------------------
int
shard_store_others (shard_store_t *self, const proto_addr_t *host, uint32_t from, uint32_t to,
                    shard_other_fn *other_fn, void *arg)
{
    assert (self);
    assert (host);
    assert (other_fn);
    if (from > to)
        return shard_store_invalid (self, "from: after to");
    if (to - from >= SHARD_OTHERS_RANGE_MAX)
        return shard_store_invalid (self, "from: range longer than 4096 days");
    shard_txn_t *txn = shard_store_begin (self, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    shard_other_day_t other;
    for (uint32_t day = from; day <= to && day <= SHARD_DAY_MAX; day++)
        if (shard_others_get (txn, host, day, &other) == 0)
            other_fn (arg, &other);
    return shard_store_end (txn, false);
}

//  --------------------------------------------------------------------------
int
shard_store_host (shard_store_t *self, const proto_addr_t *host, shard_host_info_t *info,
                  shard_port_fn *port_fn, shard_note_fn *note_fn, void *arg)
{
    return shard_store_host_direction (self, PROTO_DIRECTION_OUT, host, info, port_fn, note_fn,
                                       arg);
}

//  --------------------------------------------------------------------------
int
shard_store_host_direction (shard_store_t *self, uint8_t direction, const proto_addr_t *host,
                            shard_host_info_t *info, shard_port_fn *port_fn, shard_note_fn *note_fn,
                            void *arg)
{
    assert (self);
    assert (host);
    assert (info);
    memset (info, 0, sizeof *info);
    if (direction >= PROTO_DIRECTION_COUNT)
        return s_invalid_direction (self);
    shard_txn_t *txn = shard_store_begin (self, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    shard_txn_set_direction (txn, direction);
    shard_query_host (txn, shard_store_scratch (self), host, info, port_fn, note_fn, arg);
    return shard_store_end (txn, false);
}

//  --------------------------------------------------------------------------
static void
s_day_seen (void *arg, uint32_t day)
{
    uint64_t *seen = (uint64_t *) arg;
    seen[day / 64] |= UINT64_C (1) << (day % 64);
}

//  --------------------------------------------------------------------------
int
shard_store_days (shard_store_t *self, shard_day_fn *day_fn, void *arg)
{
    assert (self);
    assert (day_fn);
    shard_txn_t *txn = shard_store_begin (self, false);
    if (!txn)
        return SHARD_STORE_FAILED;
    //  The union of both directions' days, in a bitmap of every day a key can hold
    uint64_t *seen = (uint64_t *) zmalloc ((SHARD_DAY_MAX / 64 + 1) * sizeof (uint64_t));
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        shard_txn_set_direction (txn, direction);
        shard_query_days (txn, s_day_seen, seen);
    }
    int rc = shard_store_end (txn, false);
    for (uint32_t day = 0; day <= SHARD_DAY_MAX && rc == SHARD_STORE_OK; day++)
        if (seen[day / 64] & (UINT64_C (1) << (day % 64)))
            day_fn (arg, day);
    free (seen);
    return rc;
}
