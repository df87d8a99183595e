/*  shard_query.c - top lists, series, host records, days (see shard_query.h).

    Series are served by point lookups guided by the host record: its ports and its
    days bitmap say which days rows exist, so a query reads only those rows instead of
    scanning the day-major days sub-database.
*/
#include "shard/shard_query.h"
#include "shard/shard_days.h"
#include "shard/shard_keys.h"
#include "shard/shard_top.h"

#include <assert.h>
#include <string.h>

//  --------------------------------------------------------------------------
int
shard_query_host_read (shard_txn_t *txn, shard_host_t *scratch, const proto_addr_t *host)
{
    uint8_t key[SHARD_HOST_KEY_MAX];
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_HOSTS, key, shard_key_host (key, host), &value);
    if (rc == 0 && shard_host_decode (scratch, value.data, value.size)) {
        shard_txn_fail (txn, SHARD_DB_HOSTS, "host record does not decode");
        return -1;
    }
    if (rc == 1)
        shard_host_clear (scratch);
    return rc;
}

//  --------------------------------------------------------------------------
//  The annotations of host, whose record (of txn's direction) is in scratch.  The out
//  direction's record counts them; in the in direction, they are counted in notes
//  (annotations belong to the host, not to a direction).

static uint64_t
s_annotations (shard_txn_t *txn, const shard_host_t *scratch, const proto_addr_t *host)
{
    if (shard_txn_direction (txn) == PROTO_DIRECTION_OUT)
        return scratch->annotations;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_NOTES);
    if (!cursor)
        return 0;
    uint64_t count = 0;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, host->bytes, PROTO_ADDR_SIZE, &key, &value);
    while (rc == 0 && key.size > PROTO_ADDR_SIZE &&
           memcmp (key.data, host->bytes, PROTO_ADDR_SIZE) == 0) {
        count++;
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return count;
}

//  --------------------------------------------------------------------------
//  True if the daily peers score of row for op reached PROTO_PEERS_CAP, and so may be
//  an estimate (PROTOCOL.md "Estimated peers").  A block's peers are exact below the cap
//  and a HyperLogLog estimate from it on; the row's flag says some block of the day
//  reached it.
//  - sum: every block is a term, so one capped block makes the sum an estimate;
//  - max: a capped block (>= the cap) is above every uncapped one (< the cap), so the
//    largest block is a capped one exactly when some block is;
//  - min: the smallest block is capped only if every block is, i.e. min >= the cap;
//    otherwise the smallest is an exact count below the cap.
//  A late part's peers count as a block of their own (shard_store.h), so the rule holds
//  for them too.

static bool
s_peers_capped (const shard_row_t *row, uint8_t op)
{
    bool some_block = (row->flags & SHARD_ROW_PEERS_CAPPED) != 0;
    if (op == PROTO_OP_MIN)
        return some_block && row->value[PROTO_FEATURE_PEERS][PROTO_OP_MIN] >= PROTO_PEERS_CAP;
    return some_block;
}

//  --------------------------------------------------------------------------
static int
s_top_emit (shard_txn_t *txn, shard_host_t *scratch, const shard_days_where_t *where, uint16_t day,
            uint16_t port, uint8_t op, const shard_topset_t *set, shard_top_fn *top_fn, void *arg)
{
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        const shard_toplist_t *list = &set->lists[feature * PROTO_OP_COUNT + op];
        for (size_t index = 0; index < list->count && index < SHARD_TOP_SHOW; index++) {
            if (shard_query_host_read (txn, scratch, &list->entries[index].addr) == -1)
                return -1;
            proto_top_t entry;
            entry.port = port;
            entry.feature = (uint8_t) feature;
            entry.addr = list->entries[index].addr;
            entry.score = list->entries[index].score;
            uint64_t annotations = s_annotations (txn, scratch, &entry.addr);
            entry.annotations = annotations > UINT32_MAX ? UINT32_MAX : (uint32_t) annotations;
            entry.peers_capped = false;
            if (feature == PROTO_FEATURE_PEERS && entry.score >= PROTO_PEERS_CAP) {
                //  The lists keep scores only: the flag is in the host's days row (a
                //  point read, a record's decoding for a compacted day).  Below the cap
                //  it is false whatever the op: a capped block's peers are >= the cap
                //  (shard_block_values), so are the sum and the max of a day with one,
                //  and s_peers_capped asks min >= the cap
                shard_row_t row;
                int rc = shard_days_get (txn, where, day, port, &entry.addr, &row, NULL);
                if (rc == -1)
                    return -1;
                entry.peers_capped = rc == 0 && s_peers_capped (&row, op);
            }
            top_fn (arg, &entry);
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
int
shard_query_top (shard_txn_t *txn, shard_host_t *scratch, uint32_t day, uint8_t op, uint32_t port,
                 shard_top_fn *top_fn, void *arg)
{
    assert (txn);
    assert (scratch);
    assert (top_fn);
    if (day > SHARD_DAY_MAX)
        return 0;
    shard_days_where_t where;
    if (shard_days_where (txn, &where) == -1)
        return -1;
    shard_topset_t set;
    if (port != PROTO_PORT_ALL) {
        int rc = shard_top_read (txn, (uint16_t) day, (uint16_t) port, &set);
        if (rc == 0)
            rc = s_top_emit (txn, scratch, &where, (uint16_t) day, (uint16_t) port, op, &set,
                             top_fn, arg);
        return rc == -1 ? -1 : 0;
    }
    uint8_t prefix[2];
    shard_put16 (prefix, (uint16_t) day);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_TOP);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, prefix, sizeof prefix, &key, &value);
    while (rc == 0 && key.size == SHARD_KEY_TOP_SIZE && memcmp (key.data, prefix, 2) == 0) {
        uint16_t key_port = shard_get16 (key.data + 2);
        //  The cursor's bytes die with the next read: read the lists by key
        rc = shard_top_read (txn, (uint16_t) day, key_port, &set);
        if (rc == 0)
            rc = s_top_emit (txn, scratch, &where, (uint16_t) day, key_port, op, &set, top_fn, arg);
        if (rc == 0)
            rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_query_series (shard_txn_t *txn, shard_host_t *scratch, const proto_addr_t *host,
                    uint32_t port, uint8_t feature, uint8_t op, uint32_t from, uint32_t to,
                    shard_point_fn *point_fn, void *arg)
{
    assert (txn);
    assert (scratch);
    assert (host);
    assert (point_fn);
    int rc = shard_query_host_read (txn, scratch, host);
    if (rc)
        return rc == -1 ? -1 : 0;
    if (scratch->days_size == 0)
        return 0;
    uint32_t first = from > scratch->days_base ? from : scratch->days_base;
    uint32_t last = scratch->days_base + (uint32_t) (8 * scratch->days_size) - 1;
    if (to < last)
        last = to;
    if (last > SHARD_DAY_MAX)
        last = SHARD_DAY_MAX;
    shard_days_reader_t reader;
    if (shard_days_reader_open (&reader, txn) == -1)
        return -1;
    for (size_t index = 0; index < scratch->port_count && rc != -1; index++) {
        uint16_t row_port = scratch->ports[index];
        if (port != PROTO_PORT_ALL && port != row_port)
            continue;
        for (uint32_t day = first; day <= last && rc != -1; day++) {
            if (!shard_host_has_day (scratch, day))
                continue;
            shard_row_t row;
            rc = shard_days_reader_get (&reader, (uint16_t) day, row_port, host, &row);
            if (rc == 0) {
                proto_point_t point = {row_port, day, row.value[feature][op],
                                       feature == PROTO_FEATURE_PEERS && s_peers_capped (&row, op)};
                point_fn (arg, &point);
            }
        }
    }
    shard_days_reader_close (&reader);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_query_host (shard_txn_t *txn, shard_host_t *scratch, const proto_addr_t *host,
                  shard_host_info_t *info, shard_port_fn *port_fn, shard_note_fn *note_fn,
                  void *arg)
{
    assert (txn);
    assert (scratch);
    assert (host);
    assert (info);
    int rc = shard_query_host_read (txn, scratch, host);
    if (rc == -1)
        return -1;
    info->known = (scratch->flags & SHARD_HOST_TRAFFIC) != 0;
    info->first_seen = info->known ? scratch->first_seen : 0;
    info->last_seen = info->known ? scratch->last_seen : 0;
    info->annotations = s_annotations (txn, scratch, host);
    for (size_t index = 0; port_fn && index < scratch->port_count; index++)
        port_fn (arg, scratch->ports[index]);
    if (!note_fn)
        return 0;
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_NOTES);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    rc = shard_cursor_seek (cursor, host->bytes, PROTO_ADDR_SIZE, &key, &value);
    while (rc == 0 && key.size > PROTO_ADDR_SIZE &&
           memcmp (key.data, host->bytes, PROTO_ADDR_SIZE) == 0) {
        size_t type_size = key.data[PROTO_ADDR_SIZE];
        size_t name_size = key.size - PROTO_ADDR_SIZE - 1 - type_size;
        char rrtype[SHARD_KEY_NOTE_MAX], rrname[SHARD_KEY_NOTE_MAX];
        proto_annotation_t note;
        if (PROTO_ADDR_SIZE + 1 + type_size > key.size ||
            shard_note_decode (value.data, value.size, &note.first_seen, &note.last_seen)) {
            shard_txn_fail (txn, SHARD_DB_NOTES, "annotation does not decode");
            rc = -1;
            break;
        }
        memcpy (rrtype, key.data + PROTO_ADDR_SIZE + 1, type_size);
        rrtype[type_size] = 0;
        memcpy (rrname, key.data + PROTO_ADDR_SIZE + 1 + type_size, name_size);
        rrname[name_size] = 0;
        note.addr = *host;
        note.rrtype = rrtype;
        note.rrname = rrname;
        note_fn (arg, &note);
        rc = shard_cursor_next (cursor, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_query_days (shard_txn_t *txn, shard_day_fn *day_fn, void *arg)
{
    assert (txn);
    assert (day_fn);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_TOP);
    if (!cursor)
        return -1;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0 && key.size == SHARD_KEY_TOP_SIZE) {
        uint16_t day = shard_get16 (key.data);
        day_fn (arg, day);
        if (day == SHARD_DAY_MAX)
            break;
        //  Jump to the next day
        uint8_t next[2];
        shard_put16 (next, (uint16_t) (day + 1));
        rc = shard_cursor_seek (cursor, next, sizeof next, &key, &value);
    }
    shard_cursor_destroy (&cursor);
    return rc == -1 ? -1 : 0;
}
