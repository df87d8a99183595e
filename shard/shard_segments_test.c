/*  shard_segments_test.c - selftest of the series tier (shard_segments.h).

    Two stores get the same parts, in both directions: A without compaction (segment
    days 0: days and chunks only, the layout before the tier) and B with segments of 3
    days.  Every answer (top lists, every series, host records, days: the hash of
    shard_testlib_answers) must be the same in both after each day, after every small
    compaction batch (markers half way through a segment), after late parts to days
    held in series, after a slot set is exported, imported into two fresh stores (with
    and without the tier) and deleted, and after retention.  A is the oracle: its code
    paths do not touch the tier.
*/
#include "shard/shard_days.h"
#include "shard/shard_keys.h"
#include "shard/shard_pack.h"
#include "shard/shard_slots.h"
#include "shard/shard_store.h"
#include "shard/shard_store_testlib.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEG_HOSTS 90
#define SEG_FIRST 20001  //  Segments of 3 days: 6667 is 20001 .. 20003
#define SEG_DAYS 10
#define SEG_PEERS 64

static const uint16_t s_ports[] = {22, 25, 80, 443};
#define SEG_PORTS (sizeof s_ports / sizeof s_ports[0])

typedef struct {
    proto_pair_t pairs[SEG_HOSTS * SEG_PORTS];
    size_t count;
} s_part_t;

static uint8_t s_peers[SEG_PEERS * PROTO_ADDR_SIZE];
static proto_addr_t s_hosts[SEG_HOSTS];

static uint64_t
s_next (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void
s_pair_at (void *part, size_t index, proto_pair_t *pair)
{
    *pair = ((s_part_t *) part)->pairs[index];
}

//  Pairs of about density % of the (host, port)s, values of any size
static void
s_build (s_part_t *part, uint64_t *state, uint32_t density)
{
    part->count = 0;
    for (size_t host = 0; host < SEG_HOSTS; host++)
        for (size_t port = 0; port < SEG_PORTS; port++) {
            if (s_next (state) % 100 >= density)
                continue;
            proto_pair_t *pair = &part->pairs[part->count++];
            memset (pair, 0, sizeof *pair);
            pair->addr = s_hosts[host];
            pair->port = s_ports[port];
            pair->bytes = 1 + s_next (state) % (2ULL << (s_next (state) % 40));
            pair->packets = 1 + pair->bytes / (40 + s_next (state) % 1400);
            pair->durations = (s_next (state) & 1) ? s_next (state) % 100000 : 0;
            pair->peers_kind = PROTO_PEERS_EXACT;
            pair->peers = s_peers;
            pair->peers_size = (1 + s_next (state) % SEG_PEERS) * PROTO_ADDR_SIZE;
        }
}

static void
s_apply (shard_store_t **stores, size_t count, const char *source, int64_t block, s_part_t *part,
         int64_t now)
{
    char file[64];
    snprintf (file, sizeof file, "nfcapd.%lld", (long long) block);
    shard_pairs_t sets[PROTO_DIRECTION_COUNT] = {{s_pair_at, part, part->count},
                                                 {s_pair_at, part, part->count / 2}};
    for (size_t index = 0; index < count; index++) {
        shard_part_result_t result;
        assert (shard_store_apply_directions (stores[index], source, file, block, sets, NULL, now,
                                              &result) == SHARD_STORE_OK);
        assert (!result.duplicate);
    }
}

static bool s_bare_records = false;  //  A store's packs were split (s_unpack)

static bool
s_count_record (void *arg, const proto_addr_t *addr)
{
    (void) addr;
    (*(size_t *) arg)++;
    return true;
}

//  The rows in series recounted from its packs equal the meta counter, and the records
//  of a segment share packs
static void
s_check_packs (shard_store_t *store)
{
    uint64_t rows = 0;
    size_t records = 0, packs = 0;
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        shard_txn_t *txn = shard_store_begin (store, false);
        assert (txn);
        shard_txn_set_direction (txn, direction);
        assert (shard_segments_walk (txn, SHARD_SEGMENTS_ALL, s_count_record, NULL, &records, false,
                                     &rows) == 0);
        packs += shard_kv_count (txn, SHARD_DB_SERIES);
        assert (shard_store_end (txn, false) == SHARD_STORE_OK);
    }
    assert (rows == shard_testlib_stats (store).series_rows);
    assert (s_bare_records || packs * 4 <= records);
}

//  A store compacted before packs (schema 3) holds one bare record a value: every pack
//  of store is split so, to check that they are read, and rewritten as packs when they
//  change
static void
s_unpack (shard_store_t *store)
{
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        shard_txn_t *txn = shard_store_begin (store, true);
        assert (txn);
        shard_txn_set_direction (txn, direction);
        shard_buffer_t keys = {NULL, 0, 0}, values = {NULL, 0, 0};
        shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_SERIES);
        shard_bytes_t key, value;
        int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
        for (; rc == 0; rc = shard_cursor_next (cursor, &key, &value)) {
            uint16_t segment;
            proto_addr_t first;
            assert (shard_key_series_parse (key.data, key.size, &segment, &first) == 0);
            shard_pack_iter_t iter;
            shard_pack_entry_t entry;
            assert (shard_pack_open (&iter, &first, value.data, value.size) == 0 && !iter.whole);
            while (shard_pack_next (&iter, &entry) == 0) {
                uint8_t record_key[SHARD_KEY_SERIES_MAX];
                size_t size = shard_key_series (record_key, segment, &entry.addr);
                shard_buffer_byte (&keys, (uint8_t) size);
                shard_buffer_append (&keys, record_key, size);
                shard_buffer_varint (&values, entry.size);
                shard_buffer_append (&values, entry.record, entry.size);
            }
            assert (shard_cursor_del (cursor) == 0);
        }
        assert (rc == 1);
        shard_cursor_destroy (&cursor);
        shard_reader_t reader;
        shard_reader_init (&reader, values.data, values.size);
        for (size_t offset = 0; offset < keys.size; offset += 1 + keys.data[offset]) {
            size_t size = (size_t) shard_reader_varint (&reader);
            const uint8_t *record = shard_reader_bytes (&reader, size);
            assert (record && shard_kv_put (txn, SHARD_DB_SERIES, keys.data + offset + 1,
                                            keys.data[offset], record, size) == 0);
        }
        assert (shard_reader_done (&reader));
        shard_buffer_free (&keys);
        shard_buffer_free (&values);
        assert (shard_store_end (txn, true) == SHARD_STORE_OK);
    }
    s_bare_records = true;
}

//  Compacted in batches with no late rows, a segment's records fill its packs: no
//  more than two packs per page of bytes, and one more (batches go on filling the last)
static void
s_check_full (shard_store_t *store)
{
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        shard_txn_t *txn = shard_store_begin (store, false);
        assert (txn);
        shard_txn_set_direction (txn, direction);
        shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_SERIES);
        shard_bytes_t key, value;
        uint8_t group[3] = {0};
        size_t packs = 0, bytes = 0, groups = 0;
        int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
        while (rc != -1) {
            if (rc == 1 || memcmp (key.data, group, sizeof group)) {
                assert (packs <= 2 * bytes / SHARD_PACK_PAYLOAD + 1);
                if (rc == 1)
                    break;
                memcpy (group, key.data, sizeof group);
                packs = bytes = 0;
                groups++;
            }
            packs++;
            bytes += value.size;
            assert (shard_pack_rows (value.data, value.size) > 1);
            rc = shard_cursor_next (cursor, &key, &value);
        }
        assert (rc == 1 && groups > 0);
        shard_cursor_destroy (&cursor);
        assert (shard_store_end (txn, false) == SHARD_STORE_OK);
    }
}

static uint64_t
s_answers (shard_store_t *store)
{
    s_check_packs (store);
    return shard_testlib_answers (store, SEG_FIRST - 1, SEG_FIRST + SEG_DAYS, 25, s_hosts,
                                  SEG_HOSTS, PROTO_DIRECTION_COUNT);
}

static shard_segments_t s_state (shard_store_t *store, uint8_t direction);
static shard_store_t *s_store (char *path, uint32_t segment_days);

static void
s_hash_point (void *arg, const proto_point_t *point)
{
    uint64_t *hash = (uint64_t *) arg;
    uint64_t values[] = {point->port, point->day, point->score};
    for (size_t index = 0; index < sizeof values; index++)
        *hash = (*hash ^ ((const uint8_t *) values)[index]) * 0x100000001b3ULL;
}

//  Every series (both directions, every feature x op, all ports) of the hosts in slots
static uint64_t
s_series_hash (shard_store_t *store, const shard_slots_t *slots)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (size_t host = 0; host < SEG_HOSTS; host++) {
        if (!shard_slots_has (slots, proto_shard_slot (&s_hosts[host])))
            continue;
        for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++)
            for (uint8_t feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
                for (uint8_t op = 0; op < PROTO_OP_COUNT; op++)
                    assert (shard_store_series_direction (store, direction, &s_hosts[host],
                                                          PROTO_PORT_ALL, feature, op, 0, 70000,
                                                          s_hash_point, &hash) == 0);
    }
    return hash;
}

//  A slot set exported from both stores and imported into fresh stores without the
//  tier: the same answers (once, while a segment is half compacted: its chunks still
//  hold copies of the rows already in series)
static void
s_check_export (shard_store_t *store, shard_store_t *oracle)
{
    static bool checked = false;
    if (checked)
        return;
    checked = true;
    shard_slots_t slots;
    memset (&slots, 0, sizeof slots);
    for (uint32_t slot = 1; slot < PROTO_SLOT_COUNT; slot += 5)
        shard_slots_add (&slots, slot);
    uint64_t answers[2];
    shard_store_t *sources[] = {store, oracle};
    for (size_t index = 0; index < 2; index++) {
        char path[] = "/tmp/shard_segments_x.XXXXXX";
        shard_store_t *target = s_store (path, 0);
        shard_buffer_t exported = {NULL, 0, 0};
        shard_slots_count_t count;
        assert (shard_slots_export (sources[index], &slots, &exported, &count) == SHARD_STORE_OK);
        assert (shard_slots_import (target, exported.data, exported.size, &count) ==
                SHARD_STORE_OK);
        answers[index] = s_answers (target);
        //  And the moved hosts' series equal the oracle's own
        assert (s_series_hash (target, &slots) == s_series_hash (oracle, &slots));
        shard_buffer_free (&exported);
        shard_store_destroy (&target);
        shard_testlib_remove (path);
    }
    assert (answers[0] == answers[1]);
}

//  Archive, then compact in batches of batch rows, comparing with oracle every batch;
//  with an oracle, a late part (a few pairs) to the segment under compaction after
//  each batch that leaves work, so that rows arrive on both sides of the marker
static size_t
s_maintain (shard_store_t *store, shard_store_t *oracle, int64_t now, size_t batch, uint64_t *state)
{
    bool more = true;
    while (more)
        assert (shard_store_archive (store, now, 1000, &more) == SHARD_STORE_OK);
    if (oracle) {
        more = true;
        while (more)
            assert (shard_store_archive (oracle, now, 1000, &more) == SHARD_STORE_OK);
    }
    size_t batches = 0;
    for (more = true; more; batches++) {
        assert (shard_store_compact (store, now, batch, &more) == SHARD_STORE_OK);
        shard_segments_t segments = s_state (store, PROTO_DIRECTION_OUT);
        if (oracle && more && segments.phase == 1) {
            static s_part_t late;
            static int sequence = 0;
            char source[32];
            snprintf (source, sizeof source, "late-%d", sequence++);
            s_build (&late, state, 4);
            shard_store_t *stores[] = {store, oracle};
            s_apply (stores, 2, source, (int64_t) (segments.compacted * 3 + 1) * DAY + 3600, &late,
                     now);
        }
        if (oracle)
            assert (s_answers (store) == s_answers (oracle));
        if (oracle && more && s_state (store, PROTO_DIRECTION_OUT).phase == 1)
            s_check_export (store, oracle);
    }
    return batches;
}

static shard_segments_t
s_state (shard_store_t *store, uint8_t direction)
{
    shard_txn_t *txn = shard_store_begin (store, false);
    assert (txn);
    shard_txn_set_direction (txn, direction);
    shard_segments_t segments;
    assert (shard_segments_load (txn, &segments) == 0);
    shard_store_end (txn, false);
    return segments;
}

static shard_store_t *
s_store (char *path, uint32_t segment_days)
{
    assert (mkdtemp (path));
    shard_store_t *store = shard_store_new (path, 1ULL << 30);
    assert (store);
    assert (shard_store_set_segment_days (store, segment_days) == (int) segment_days);
    return store;
}

//  --------------------------------------------------------------------------
void
shard_segments_test (bool verbose)
{
    (void) verbose;
    printf (" * shard_segments: ");
    for (uint32_t index = 0; index < SEG_HOSTS; index++) {
        if (index % 7 == 6) {
            char text[64];
            snprintf (text, sizeof text, "2001:db8:%x::%x", index % 3, index);
            assert (proto_addr_parse (&s_hosts[index], text) == 0);
        }
        else
            proto_addr_from_ipv4 (&s_hosts[index], 0x0a000000 + index * 53);
    }
    for (uint32_t peer = 0; peer < SEG_PEERS; peer++) {
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, 0xc6120000 + peer);
        memcpy (s_peers + peer * PROTO_ADDR_SIZE, addr.bytes, PROTO_ADDR_SIZE);
    }
    char path_a[] = "/tmp/shard_segments_a.XXXXXX", path_b[] = "/tmp/shard_segments_b.XXXXXX";
    shard_store_t *a = s_store (path_a, 0), *b = s_store (path_b, 3);
    //  The value set first is kept
    assert (shard_store_set_segment_days (b, 7) == 3);
    shard_store_t *both[] = {a, b};
    static s_part_t part;
    uint64_t state = 0x9e3779b97f4a7c15ULL;

    //  Ten days of parts; archive and compact after each day, as a shard's maintenance,
    //  in small batches
    size_t batches = 0;
    for (uint32_t day = SEG_FIRST; day < SEG_FIRST + SEG_DAYS; day++) {
        for (int64_t block = 0; block < 4; block++) {
            s_build (&part, &state, day % 4 == 0 ? 60 : 25);
            int64_t start = (int64_t) day * DAY + block * 3600;
            s_apply (both, 2, "t", start, &part, start + 400);
        }
        batches += s_maintain (b, a, (int64_t) (day + 1) * DAY + 3600, 37, &state);
    }
    //  Today SEG_FIRST + 10: segments up to the one ending SEG_FIRST + 5 are compacted
    int64_t now = (int64_t) (SEG_FIRST + SEG_DAYS) * DAY + 3600;
    batches += s_maintain (b, a, now, 37, &state);
    for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++) {
        shard_segments_t segments = s_state (b, direction);
        assert (segments.days == 3 && segments.compacted == 6669 && segments.phase == 0);
        assert (s_state (a, direction).days == 0);
    }
    shard_store_stats_t stats_a = shard_testlib_stats (a), stats_b = shard_testlib_stats (b);
    assert (stats_b.series_rows > 0 && stats_a.series_rows == 0);
    assert (stats_b.rows == stats_a.rows);
    assert (stats_b.archived_rows + stats_b.series_rows == stats_a.archived_rows);
    assert (batches > 10);
    //  From here, b holds bare records (a store compacted by schema 3), rewritten as packs
    //  as they change (late rows, slot moves, retention)
    s_unpack (b);
    assert (s_answers (a) == s_answers (b));

    //  Late parts (another source's, for blocks final long ago): to compacted days (new
    //  rows and old ones), to a day still in chunks
    uint32_t late_days[] = {SEG_FIRST + 1, SEG_FIRST + 4, SEG_FIRST + 7};
    for (size_t index = 0; index < 3; index++) {
        s_build (&part, &state, 40);
        int64_t start = (int64_t) late_days[index] * DAY + 7200;
        s_apply (both, 2, "late", start, &part, now);
        assert (s_answers (a) == s_answers (b));
    }
    assert (shard_testlib_stats (b).rows == shard_testlib_stats (a).rows);

    //  A slot set leaves both: the exports give equal stores, with or without the tier
    shard_slots_t slots;
    memset (&slots, 0, sizeof slots);
    for (uint32_t slot = 0; slot < PROTO_SLOT_COUNT; slot += 3)
        shard_slots_add (&slots, slot);
    char path_c[] = "/tmp/shard_segments_c.XXXXXX", path_d[] = "/tmp/shard_segments_d.XXXXXX";
    shard_store_t *c = s_store (path_c, 0), *d = s_store (path_d, 3);
    shard_buffer_t exported = {NULL, 0, 0};
    shard_slots_count_t count_a, count_b, count;
    assert (shard_slots_export (a, &slots, &exported, &count_a) == SHARD_STORE_OK);
    assert (shard_slots_import (c, exported.data, exported.size, &count) == SHARD_STORE_OK);
    assert (shard_slots_export (b, &slots, &exported, &count_b) == SHARD_STORE_OK);
    assert (count_a.rows == count_b.rows && count_a.rows > 0);
    assert (shard_slots_import (d, exported.data, exported.size, &count) == SHARD_STORE_OK);
    uint64_t moved = s_answers (c);
    assert (s_answers (d) == moved);
    s_maintain (d, NULL, now, 50, &state);
    assert (s_state (d, PROTO_DIRECTION_OUT).compacted == 6669);
    s_check_full (d);
    assert (s_answers (d) == moved);
    assert (shard_slots_delete (a, &slots, &count_a) == SHARD_STORE_OK);
    assert (shard_slots_delete (b, &slots, &count_b) == SHARD_STORE_OK);
    assert (count_a.rows == count_b.rows);
    assert (s_answers (a) == s_answers (b));
    assert (shard_testlib_stats (b).rows == shard_testlib_stats (a).rows);
    //  ... and they come back (into b's compacted segments: record writes)
    assert (shard_slots_export (c, &slots, &exported, &count) == SHARD_STORE_OK);
    assert (shard_slots_import (a, exported.data, exported.size, &count) == SHARD_STORE_OK);
    assert (shard_slots_export (d, &slots, &exported, &count) == SHARD_STORE_OK);
    assert (shard_slots_import (b, exported.data, exported.size, &count) == SHARD_STORE_OK);
    assert (s_answers (a) == s_answers (b));
    assert (shard_testlib_stats (b).rows == shard_testlib_stats (a).rows);

    //  Retention: the first segment goes whole, the second (it straddles the cutoff) is
    //  rewritten without its expired days' rows, 7 records a batch
    uint64_t series_before = shard_testlib_stats (b).series_rows;
    for (size_t index = 0; index < 2; index++) {
        shard_store_set_retention_days (both[index], 6);
        bool more = true;
        while (more)
            assert (shard_store_expire (both[index], now, 7, &more) == SHARD_STORE_OK);
    }
    assert (shard_testlib_stats (b).series_rows < series_before);
    assert (s_answers (a) == s_answers (b));
    //  The straddling segment lost its expired days' rows: as many rows as the chunks
    assert (shard_testlib_stats (b).rows == shard_testlib_stats (a).rows);

    //  An old spool replayed into a store that compacted before it came: it goes to
    //  days and chunks, then into series in bulk
    char path_e[] = "/tmp/shard_segments_e.XXXXXX", path_f[] = "/tmp/shard_segments_f.XXXXXX";
    shard_store_t *e = s_store (path_e, 3), *f = s_store (path_f, 0);
    shard_store_t *old[] = {e, f};
    int64_t later = now + 40 * (int64_t) DAY;
    bool more = true;
    while (more)
        assert (shard_store_compact (e, later, 100, &more) == SHARD_STORE_OK);
    //  First with a retention that refuses the spool, then one that takes it
    for (size_t index = 0; index < 2; index++) {
        shard_store_set_retention_days (old[index], 5);
        for (more = true; more;)
            assert (shard_store_expire (old[index], later, 100, &more) == SHARD_STORE_OK);
        shard_store_set_retention_days (old[index], 4000);
        for (more = true; more;)
            assert (shard_store_expire (old[index], later, 100, &more) == SHARD_STORE_OK);
    }
    uint64_t replay = 0x2545f4914f6cdd1dULL;
    for (uint32_t day = SEG_FIRST; day < SEG_FIRST + 4; day++)
        for (int64_t block = 0; block < 3; block++) {
            s_build (&part, &replay, 30);
            s_apply (old, 2, "t", (int64_t) day * DAY + block * 3600, &part, later);
        }
    assert (shard_testlib_stats (e).series_rows == 0);
    assert (s_answers (e) == s_answers (f));
    s_maintain (e, f, later, 37, &replay);
    assert (s_answers (e) == s_answers (f));
    assert (shard_testlib_stats (e).series_rows == shard_testlib_stats (f).rows);

    //  A new store's first compaction with nothing to compact moves nothing: yesterday's
    //  rows, and older ones, go to days; the older are compacted by the next run
    char path_g[] = "/tmp/shard_segments_g.XXXXXX";
    shard_store_t *g = s_store (path_g, 1);
    const char *sources[] = {"t"};
    shard_store_set_ingestors (g, sources, 1);
    s_maintain (g, NULL, now, 50, &state);
    shard_testlib_spec_t spec[] = {{"10.0.0.1", 22, 1000, 10, 50, 0, 3}};
    shard_part_result_t result;
    int64_t today = now / DAY;
    assert (shard_testlib_apply (g, "t", "y", (today - 1) * DAY + 86100, spec, 1, now, &result) ==
            SHARD_STORE_OK);
    assert (result.final && shard_testlib_stats (g).series_rows == 0);
    assert (shard_testlib_apply (g, "t", "o", (today - 3) * DAY, spec, 1, now, &result) ==
            SHARD_STORE_OK);
    assert (shard_testlib_stats (g).series_rows == 0);
    s_maintain (g, NULL, now, 50, &state);
    assert (shard_testlib_stats (g).series_rows == 1);
    assert (s_state (g, PROTO_DIRECTION_OUT).compacted == (uint32_t) today - 2);

    //  A store holding only today's rows (a new shard's first blocks, or after a gap):
    //  compaction skips no segment that ended less than SHARD_SEGMENT_LAG_DAYS ago, so
    //  yesterday's late rows still go to days
    char path_h[] = "/tmp/shard_segments_h.XXXXXX";
    shard_store_t *h = s_store (path_h, 1);
    shard_store_set_ingestors (h, sources, 1);
    assert (shard_testlib_apply (h, "t", "t", today * DAY + 60, spec, 1, now, &result) ==
            SHARD_STORE_OK);
    s_maintain (h, NULL, now, 50, &state);
    assert (shard_testlib_apply (h, "t", "y", (today - 1) * DAY + 86100, spec, 1, now, &result) ==
            SHARD_STORE_OK);
    assert (result.final && shard_testlib_stats (h).series_rows == 0);

    shard_buffer_free (&exported);
    shard_store_t *stores[] = {a, b, c, d, e, f, g, h};
    const char *paths[] = {path_a, path_b, path_c, path_d, path_e, path_f, path_g, path_h};
    for (size_t index = 0; index < 8; index++) {
        shard_store_destroy (&stores[index]);
        shard_testlib_remove (paths[index]);
    }
    printf ("OK\n");
}
