/*  shard_store_migrate_test.c - selftest of the schema 1 -> 2 migration.

    Builds a schema 1 store the way the schema 1 code left it: rows of the days under
    way in `days`, rows of finished days moved one a record, in key order, to
    `archive` (s_old_archive below is schema 1's shard_days_archive), meta schema 1.
    Then checks that this build refuses it, that shard_store_migrate converts it with
    every answer unchanged (top lists, series of every host and port, host records,
    days, row counts, the peers-capped flag of a row), that an interrupted migration
    is refused and resumed, and that migrating a current store does nothing.
*/
#include "shard/shard_days.h"
#include "shard/shard_keys.h"
#include "shard/shard_store.h"
#include "shard/shard_store_testlib.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MIGRATE_HOSTS 300
#define MIGRATE_DAYS 4
#define MIGRATE_FIRST_DAY 880

static const uint16_t s_ports[] = {22, 25, 80};

typedef struct {
    proto_pair_t pairs[MIGRATE_HOSTS * 3];
    uint8_t peers[MIGRATE_HOSTS * 3][PROTO_ADDR_SIZE];
    uint8_t sketch[PROTO_SKETCH_REGISTERS];
    size_t count;
} s_part_t;

static void
s_pair_at (void *part, size_t index, proto_pair_t *pair)
{
    *pair = ((s_part_t *) part)->pairs[index];
}

static void
s_host (uint32_t index, proto_addr_t *addr)
{
    if (index % 5 == 4) {
        char text[64];
        snprintf (text, sizeof text, "2001:db8:%x::%x", index % 3, index);
        assert (proto_addr_parse (addr, text) == 0);
    }
    else
        proto_addr_from_ipv4 (addr, 0x0a000000 + index * 37);
}

static uint64_t
s_answers (shard_store_t *store)
{
    proto_addr_t hosts[MIGRATE_HOSTS];
    for (uint32_t index = 0; index < MIGRATE_HOSTS; index++)
        s_host (index, &hosts[index]);
    return shard_testlib_answers (store, MIGRATE_FIRST_DAY - 1, MIGRATE_FIRST_DAY + MIGRATE_DAYS,
                                  25, hosts, MIGRATE_HOSTS, 1);
}

//  Schema 1's archive run: rows of days before before_day from `days` to `archive`,
//  appended in key order.  Returns the rows moved.
static size_t
s_old_archive (shard_store_t *store, uint32_t before_day)
{
    shard_txn_t *txn = shard_store_begin (store, true);
    assert (txn);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_DAYS);
    shard_bytes_t key, value;
    size_t moved = 0;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0 && shard_get16 (key.data) < before_day) {
        uint8_t copy[SHARD_KEY_DAY_MAX + SHARD_ROW_MAX];
        memcpy (copy, key.data, key.size);
        memcpy (copy + key.size, value.data, value.size);
        rc = shard_kv_append (txn, SHARD_DB_ARCHIVE, copy, key.size, copy + key.size, value.size);
        if (rc == 1)
            rc = shard_kv_put (txn, SHARD_DB_ARCHIVE, copy, key.size, copy + key.size, value.size);
        assert (rc == 0);
        assert (shard_cursor_del (cursor) == 0);
        moved++;
        rc = shard_cursor_next (cursor, &key, &value);
    }
    assert (rc != -1);
    shard_cursor_destroy (&cursor);
    assert (shard_kv_count (txn, SHARD_DB_CHUNKS) == 0);
    uint8_t schema[SHARD_META_SIZE];
    shard_meta_encode (SHARD_SCHEMA_OLD, schema);
    assert (shard_kv_put (txn, SHARD_DB_META, "schema", 6, schema, sizeof schema) == 0);
    assert (shard_store_end (txn, true) == SHARD_STORE_OK);
    return moved;
}

static void
s_set_schema (shard_store_t *store, uint64_t version)
{
    shard_txn_t *txn = shard_store_begin (store, true);
    uint8_t schema[SHARD_META_SIZE];
    shard_meta_encode (version, schema);
    assert (shard_kv_put (txn, SHARD_DB_META, "schema", 6, schema, sizeof schema) == 0);
    assert (shard_store_end (txn, true) == SHARD_STORE_OK);
}

//  The peers-capped flag of (day, port, host), read where the row is
static bool
s_capped (shard_store_t *store, uint16_t day, uint16_t port, const proto_addr_t *host)
{
    shard_txn_t *txn = shard_store_begin (store, false);
    shard_days_where_t where;
    shard_days_where (txn, &where);
    shard_row_t row;
    assert (shard_days_get (txn, &where, day, port, host, &row, NULL) == 0);
    assert (shard_store_end (txn, false) == SHARD_STORE_OK);
    return (row.flags & SHARD_ROW_PEERS_CAPPED) != 0;
}

static void
s_remove (const char *dir)
{
    const char *files[] = {"data.mdb", "lock.mdb", "shard.lock"};
    for (size_t index = 0; index < 3; index++) {
        char path[PATH_MAX];
        snprintf (path, sizeof path, "%s/%s", dir, files[index]);
        unlink (path);
    }
    rmdir (dir);
}

void
shard_store_migrate_test (bool verbose)
{
    printf (" * shard_store_migrate: ");
    char dir[] = "/tmp/shard_migrate_test.XXXXXX";
    assert (mkdtemp (dir));
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    int64_t now = (MIGRATE_FIRST_DAY + MIGRATE_DAYS) * (int64_t) DAY + 3600;
    s_part_t *part = (s_part_t *) zmalloc (sizeof (s_part_t));
    uint64_t state = 0x2545f4914f6cdd1dULL;
    //  Hosts on 1 to 3 ports, in 1 to 4 blocks a day, values of every form
    for (uint32_t day = MIGRATE_FIRST_DAY; day < MIGRATE_FIRST_DAY + MIGRATE_DAYS; day++)
        for (int block = 0; block < 4; block++) {
            part->count = 0;
            for (uint32_t index = 0; index < MIGRATE_HOSTS; index++)
                for (uint32_t port = 0; port < 3; port++) {
                    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                    bool scanner = index == 7 && port == 0 && block == 1;
                    if (port > index % 3 || (block > 0 && (state >> 61) < 4 && !scanner))
                        continue;
                    proto_pair_t *pair = &part->pairs[part->count];
                    s_host (index, &pair->addr);
                    pair->port = s_ports[port];
                    pair->bytes = 40 + (state >> 20) % 5000 * (1 + (state >> 58));
                    pair->packets = 1 + (state >> 33) % 7;
                    pair->durations = (state >> 40) % 3 ? (state >> 40) % 100000 : 0;
                    if (scanner) {
                        //  A scanner: a sketch past the cap (flag PEERS_CAPPED)
                        memset (part->sketch, 0, sizeof part->sketch);
                        for (uint32_t peer = 0; peer < 5000; peer++) {
                            proto_addr_t peer_addr;
                            proto_addr_from_ipv4 (&peer_addr, 0xc6120000 + peer);
                            proto_sketch_add (part->sketch, &peer_addr);
                        }
                        pair->peers_kind = PROTO_PEERS_SKETCH;
                        pair->peers = part->sketch;
                        pair->peers_size = PROTO_SKETCH_REGISTERS;
                    }
                    else {
                        proto_addr_t peer_addr;
                        proto_addr_from_ipv4 (&peer_addr, 0xc6120000 + (uint32_t) (state & 255));
                        memcpy (part->peers[part->count], peer_addr.bytes, PROTO_ADDR_SIZE);
                        pair->peers_kind = PROTO_PEERS_EXACT;
                        pair->peers = part->peers[part->count];
                        pair->peers_size = PROTO_ADDR_SIZE;
                    }
                    part->count++;
                }
            char file[32];
            snprintf (file, sizeof file, "nfcapd.%u.%d", day, block);
            shard_part_result_t result;
            assert (shard_store_apply_part (store, "r1", file, (int64_t) day * DAY + block * 3600,
                                            s_pair_at, part, part->count, now,
                                            &result) == SHARD_STORE_OK);
            assert (result.final && !result.late);
        }
    free (part);
    proto_addr_t scanner;
    s_host (7, &scanner);
    assert (s_capped (store, MIGRATE_FIRST_DAY, 22, &scanner));
    uint64_t answers = s_answers (store);
    shard_store_stats_t before;
    assert (shard_store_stats (store, &before) == 0);

    //  The schema 1 layout: every day but the last archived one a record
    size_t old_rows = s_old_archive (store, MIGRATE_FIRST_DAY + MIGRATE_DAYS - 1);
    assert (old_rows > 0 && old_rows < before.rows);
    shard_store_destroy (&store);

    //  Refused as it is; converted with every answer kept
    if (!verbose)
        zsys_set_logstream (NULL);
    assert (shard_store_new (dir, 64 << 20) == NULL);
    zsys_set_logstream (stdout);
    uint64_t moved = 0;
    assert (shard_store_migrate (dir, 64 << 20, &moved) == SHARD_STORE_OK);
    assert (moved == old_rows);
    store = shard_store_new (dir, 64 << 20);
    assert (store);
    assert (s_answers (store) == answers);
    shard_store_stats_t after;
    assert (shard_store_stats (store, &after) == 0);
    assert (after.rows == before.rows && after.archived_rows == old_rows);
    assert (after.hosts == before.hosts);
    assert (s_capped (store, MIGRATE_FIRST_DAY, 22, &scanner));
    proto_addr_t other;
    s_host (8, &other);
    assert (!s_capped (store, MIGRATE_FIRST_DAY, 22, &other));
    if (verbose)
        printf ("%zu rows converted, daily rows %.0f -> %.0f bytes; ", old_rows,
                (double) before.rows_bytes, (double) after.rows_bytes);

    //  An interrupted migration is refused, then resumed
    s_set_schema (store, SHARD_SCHEMA_MIGRATING);
    shard_store_destroy (&store);
    if (!verbose)
        zsys_set_logstream (NULL);
    assert (shard_store_new (dir, 64 << 20) == NULL);
    zsys_set_logstream (stdout);
    assert (shard_store_migrate (dir, 64 << 20, &moved) == SHARD_STORE_OK && moved == 0);
    //  A current store: nothing to do
    assert (shard_store_migrate (dir, 64 << 20, &moved) == SHARD_STORE_OK && moved == 0);
    store = shard_store_new (dir, 64 << 20);
    assert (store);
    assert (s_answers (store) == answers);
    //  Archiving the last day and expiring everything leave nothing
    bool more = true;
    while (more)
        assert (shard_store_archive (store, now + 2 * DAY, 100, &more) == SHARD_STORE_OK);
    assert (s_answers (store) == answers);
    assert (shard_store_expire (store, now + 400 * (int64_t) DAY, 100000, &more) == 0);
    assert (shard_store_stats (store, &after) == 0);
    assert (after.rows == 0 && after.archived_rows == 0);
    shard_store_destroy (&store);
    s_remove (dir);
    printf ("OK\n");
}
