/*  shard_slots_test.c - selftest of slot moves in the store: export, import, delete.

    One store gets parts of 3 days for 136 hosts (IPv4 and IPv6, 3 ports, rows in
    chunks and in `days`, rows of an archived day changed afterwards) and annotations;
    every answer (days, top lists of every day and op, each host's record and ALL*
    series of every feature and op) is written out as text.  Then a third of the slots
    moves to a second store (export, import twice: idempotent; delete twice) and the
    same text is computed from both stores, merging their top lists as the gateway
    does: it must be the same, byte for byte, and each host must be known to its new
    owner only.  The same holds for the in direction (its rows, top lists and host
    records, filled with other values) and the traffic to other ports (shard_others.h).
    Also: a damaged export string changes nothing; open blocks move (s_open_test): a
    block two ingestors straddle (one delivered it before the move, the other delivers
    it after, to the new owner) is final on the new owner at the second part, with
    both parts' values; a target that finalised a block the source still holds open
    refuses the import; a block the source finalises between two imports counts once.
*/
#include "shard/shard_others.h"
#include "shard/shard_slots.h"
#include "shard/shard_store_testlib.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOSTS 136
#define V4_HOSTS 128
#define TOPS_MAX 4096

typedef struct {
    proto_top_t entries[TOPS_MAX];
    size_t count;
} s_tops_t;

static void
s_on_top (void *arg, const proto_top_t *entry)
{
    s_tops_t *tops = (s_tops_t *) arg;
    assert (tops->count < TOPS_MAX);
    tops->entries[tops->count++] = *entry;
}

static int
s_top_compare (const void *a, const void *b)
{
    const proto_top_t *x = (const proto_top_t *) a, *y = (const proto_top_t *) b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    if (x->feature != y->feature)
        return x->feature < y->feature ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return proto_addr_compare (&x->addr, &y->addr);
}

static void
s_on_point (void *arg, const proto_point_t *point)
{
    fprintf ((FILE *) arg, " %u/%u=%llu", point->port, point->day,
             (unsigned long long) point->score);
}

static void
s_on_port (void *arg, uint16_t port)
{
    fprintf ((FILE *) arg, " p%u", port);
}

static void
s_on_note (void *arg, const proto_annotation_t *note)
{
    fprintf ((FILE *) arg, " %s/%s/%lld-%lld", note->rrname, note->rrtype,
             (long long) note->first_seen, (long long) note->last_seen);
}

static void
s_on_day (void *arg, uint32_t day)
{
    uint32_t *days = (uint32_t *) arg;
    assert (days[0] < 15);
    days[++days[0]] = day;
}

static void
s_on_other (void *arg, const shard_other_day_t *other)
{
    fprintf ((FILE *) arg, " %u=%llu/%llu/%llu/%d", other->day, (unsigned long long) other->bytes,
             (unsigned long long) other->packets, (unsigned long long) other->flows,
             other->truncated);
}

static void
s_host_name (size_t index, char *name)
{
    if (index < V4_HOSTS)
        sprintf (name, "10.1.%zu.%zu", index / 16, index % 16 * 7 + 1);
    else
        sprintf (name, "2001:db8::%zx", index * 97);
}

//  Every answer of the stores, as text: days (union), top lists merged, and each
//  host's record and series from the one store that knows it.
static char *
s_answers (shard_store_t **stores, size_t store_count)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    uint32_t all[16] = {0};
    for (size_t store = 0; store < store_count; store++) {
        uint32_t days[16] = {0};
        assert (shard_store_days (stores[store], s_on_day, days) == 0);
        for (uint32_t index = 1; index <= days[0]; index++) {
            bool known = false;
            for (uint32_t other = 1; other <= all[0]; other++)
                known |= all[other] == days[index];
            if (!known)
                all[++all[0]] = days[index];
        }
    }
    fprintf (out, "days %u\n", all[0]);
    s_tops_t *tops = (s_tops_t *) malloc (sizeof (s_tops_t));
    assert (tops);
    for (uint32_t at = 0; at < 3 * PROTO_DIRECTION_COUNT; at++)
        for (uint8_t op = 0; op < PROTO_OP_COUNT; op++) {
            uint32_t day = D0 + at % 3;
            uint8_t direction = (uint8_t) (at / 3);
            tops->count = 0;
            for (size_t store = 0; store < store_count; store++)
                assert (shard_store_top_direction (stores[store], direction, day, op,
                                                   PROTO_PORT_ALL, s_on_top, tops) == 0);
            fprintf (out, "direction %u\n", direction);
            qsort (tops->entries, tops->count, sizeof (proto_top_t), s_top_compare);
            size_t rank = 0;
            for (size_t index = 0; index < tops->count; index++) {
                const proto_top_t *entry = &tops->entries[index];
                rank = index > 0 && entry->port == entry[-1].port &&
                               entry->feature == entry[-1].feature
                           ? rank + 1
                           : 0;
                char addr[PROTO_ADDR_STRLEN];
                if (rank < 10)
                    fprintf (out, "top %u %u %u %u %s %llu %u\n", day, op, entry->port,
                             entry->feature, proto_addr_format (&entry->addr, addr),
                             (unsigned long long) entry->score, entry->annotations);
            }
        }
    free (tops);
    for (size_t index = 0; index < HOSTS; index++) {
        char name[64];
        s_host_name (index, name);
        proto_addr_t addr;
        assert (proto_addr_parse (&addr, name) == 0);
        size_t owners = 0;
        for (size_t store = 0; store < store_count; store++) {
            shard_host_info_t info;
            fprintf (out, "host %s", name);
            assert (shard_store_host (stores[store], &addr, &info, s_on_port, s_on_note, out) == 0);
            if (!info.known && info.annotations == 0) {
                fprintf (out, " (not here)\n");
                continue;
            }
            owners++;
            fprintf (out, " %lld %lld %llu\n", (long long) info.first_seen,
                     (long long) info.last_seen, (unsigned long long) info.annotations);
            fprintf (out, "host in %s", name);
            assert (shard_store_host_direction (stores[store], PROTO_DIRECTION_IN, &addr, &info,
                                                s_on_port, s_on_note, out) == 0);
            fprintf (out, " %d %lld %lld\nothers %s:", info.known, (long long) info.first_seen,
                     (long long) info.last_seen, name);
            assert (shard_store_others (stores[store], &addr, D0, D0 + 2, s_on_other, out) == 0);
            fprintf (out, "\n");
            for (uint8_t direction = 0; direction < PROTO_DIRECTION_COUNT; direction++)
                for (uint8_t feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
                    for (uint8_t op = 0; op < PROTO_OP_COUNT; op++) {
                        fprintf (out, "series %u %s %u %u:", direction, name, feature, op);
                        assert (shard_store_series_direction (stores[store], direction, &addr,
                                                              PROTO_PORT_ALL, feature, op, D0,
                                                              D0 + 2, s_on_point, out) == 0);
                        fprintf (out, "\n");
                    }
        }
        assert (owners == 1);  //  Every host lives in exactly one store
    }
    fclose (out);
    return text;
}

//  Remove the "(not here)" lines, which differ between one store and two.
static void
s_strip_absent (char *text)
{
    char *out = text;
    for (char *line = text; *line;) {
        char *end = strchr (line, '\n');
        size_t length = end ? (size_t) (end - line + 1) : strlen (line);
        if (!strstr (line, " (not here)") || (end && strstr (line, " (not here)") > end)) {
            memmove (out, line, length);
            out += length;
        }
        line += length;
    }
    *out = 0;
}

static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

//  Three days of parts, archive the first two, then a late-ish change to day 0.
static void
s_fill (shard_store_t *store)
{
    static const uint16_t ports[] = {25, 80, 8080};
    uint64_t state = 0x9e3779b97f4a7c15ull;
    char names[HOSTS][64];
    shard_testlib_spec_t specs[HOSTS * 3];
    for (size_t index = 0; index < HOSTS; index++)
        s_host_name (index, names[index]);
    int64_t now = (int64_t) (D0 + 3) * DAY;
    for (int block = 0; block < 3 * 4 + 1; block++) {
        int day = block < 12 ? block / 4 : 0;
        int64_t start = (int64_t) (D0 + day) * DAY + (block % 4) * 300 + (block == 12) * 3600;
        size_t count = 0;
        for (size_t index = 0; index < HOSTS; index++)
            for (size_t port = 0; port < 3; port++)
                if (s_random (&state) % 3 == 0)
                    specs[count++] = (shard_testlib_spec_t){names[index],
                                                            ports[port],
                                                            1 + s_random (&state) % 100000,
                                                            1 + s_random (&state) % 100,
                                                            s_random (&state) % 5000,
                                                            (uint32_t) (s_random (&state) % 50),
                                                            1 + (uint32_t) (s_random (&state) % 9)};
        //  The in direction: every other pair, with other values; the other ports: a host
        //  in five, one port each
        shard_testlib_spec_t in_specs[HOSTS * 3];
        size_t in_count = 0;
        proto_msg_t *others = proto_msg_new (PROTO_MSG_PART);
        for (size_t index = 0; index < count; index++) {
            if (index % 2 == 0) {
                in_specs[in_count] = specs[index];
                in_specs[in_count].bytes = specs[index].bytes * 3 + 7;
                in_specs[in_count++].peers_count = 1 + (uint32_t) (index % 5);
            }
            if (index % 5 == 0) {
                proto_other_t other = {.day = proto_day_of (start),
                                       .bytes = specs[index].bytes + 1,
                                       .packets = 2,
                                       .flows = 1};
                assert (proto_addr_parse (&other.addr, specs[index].host) == 0);
                proto_msg_others_append (others, &other);
                proto_other_port_t entry = {other.addr, other.day, 443, other.bytes, 2, 1};
                proto_msg_other_ports_append (others, &entry);
            }
        }
        shard_testlib_part_t *out = shard_testlib_part_new (specs, count);
        shard_testlib_part_t *in = shard_testlib_part_new (in_specs, in_count);
        shard_pairs_t sets[PROTO_DIRECTION_COUNT] = {{shard_testlib_pair_at, out, count},
                                                     {shard_testlib_pair_at, in, in_count}};
        char file[32];
        sprintf (file, "f%d", block);
        shard_part_result_t result;
        assert (shard_store_apply_directions (store, "r1", file, start, sets, others, now,
                                              &result) == 0);
        shard_testlib_part_destroy (&in);
        shard_testlib_part_destroy (&out);
        proto_msg_destroy (&others);
        if (block == 11) {  //  Days 0 and 1 into chunks
            bool more = true;
            while (more)
                assert (shard_store_archive (store, now, 100, &more) == 0);
            assert (shard_testlib_stats (store).archived_rows > 0);
        }
    }
    proto_annotation_t notes[3];
    const char *noted[] = {"10.1.0.1", "10.1.3.8", "2001:db8::2af8"};
    for (size_t index = 0; index < 3; index++) {
        notes[index] = (proto_annotation_t){.rrname = "n.example",
                                            .rrtype = "PTR",
                                            .first_seen = 100,
                                            .last_seen = 200 + (int64_t) index};
        assert (proto_addr_parse (&notes[index].addr, noted[index]) == 0);
    }
    assert (shard_store_annotate (store, shard_testlib_note_at, notes, 3, NULL) == 0);
}

static uint64_t
s_bytes (shard_store_t *store, const char *host, int64_t block)
{
    uint64_t score = shard_testlib_score (store, host, 25, proto_day_of (block),
                                          PROTO_FEATURE_BYTES, PROTO_OP_SUM);
    return score == UINT64_MAX - 7 ? 0 : score;  //  No row: 0
}

//  Open blocks move with the slots: two stores, two ingestors r1 and r2.
static void
s_open_test (void)
{
    char dirs[2][32] = {"/tmp/shard_slots_test_XXXXXX", "/tmp/shard_slots_test_XXXXXX"};
    assert (mkdtemp (dirs[0]) && mkdtemp (dirs[1]));
    shard_store_t *source = shard_store_new (dirs[0], 16 << 20);
    shard_store_t *target = shard_store_new (dirs[1], 16 << 20);
    assert (source && target);
    const char *ingestors[] = {"r1", "r2"};
    shard_store_set_ingestors (source, ingestors, 2);
    shard_store_set_ingestors (target, ingestors, 2);
    //  X moves, Y stays
    proto_addr_t x, y;
    assert (proto_addr_parse (&x, "10.1.0.1") == 0 && proto_addr_parse (&y, "10.1.0.2") == 0);
    assert (proto_shard_slot (&x) != proto_shard_slot (&y));
    shard_slots_t one;
    memset (&one, 0, sizeof one);
    shard_slots_add (&one, proto_shard_slot (&x));
    int64_t block = (int64_t) (D0 + 2) * DAY + 3600, now = block + 60;
    shard_testlib_spec_t r1[] = {{"10.1.0.1", 25, 1000, 2, 10, 0, 3},
                                 {"10.1.0.2", 25, 70, 1, 10, 0, 1}};
    shard_testlib_spec_t r2[] = {{"10.1.0.1", 25, 500, 1, 10, 2, 3},
                                 {"10.1.0.2", 25, 30, 1, 10, 0, 1}};
    shard_part_result_t result;
    //  r1 delivered block and block + 300 (Y only) before the move, r2 neither
    assert (shard_testlib_apply (source, "r1", "f1", block, r1, 2, now, &result) == 0);
    assert (!result.final);
    assert (shard_testlib_apply (source, "r1", "f2", block + 300, r1 + 1, 1, now, &result) == 0);
    shard_buffer_t exported = {NULL, 0, 0};
    shard_slots_count_t count;
    assert (shard_slots_export (source, &one, &exported, &count) == 0);
    assert (count.blocks == 2 && count.rows == 1);
    for (int round = 0; round < 2; round++) {  //  Twice: a resumed move
        assert (shard_slots_import (target, exported.data, exported.size, &count) == 0);
        assert (count.blocks == 2 && count.rows == 1);
    }
    for (int round = 0; round < 2; round++) {
        assert (shard_slots_delete (source, &one, &count) == 0);
        assert (count.rows == (round == 0 ? 1u : 0u));
    }
    assert (shard_testlib_stats (target).open_blocks == 2);
    assert (shard_testlib_stats (source).open_blocks == 2);
    //  r2 delivers after the move: the new owner has r1's part, the block is final
    assert (shard_testlib_apply (target, "r2", "g1", block, r2, 1, now, &result) == 0);
    assert (result.final && !result.late);
    assert (s_bytes (target, "10.1.0.1", block) == 1500);
    assert (shard_testlib_apply (target, "r2", "g2", block + 300, NULL, 0, now, &result) == 0);
    assert (result.final && shard_testlib_stats (target).open_blocks == 0);
    assert (shard_testlib_apply (source, "r2", "g1", block, r2 + 1, 1, now, &result) == 0);
    assert (result.final && s_bytes (source, "10.1.0.2", block) == 100);
    assert (s_bytes (source, "10.1.0.1", block) == 0);

    //  The target finalised a block (grace) the source still holds open with values of
    //  Z, the next batch's host: refused, then taken once the source finalised it too
    proto_addr_t z;
    assert (proto_addr_parse (&z, "10.1.0.3") == 0);
    assert (proto_shard_slot (&z) != proto_shard_slot (&x));
    memset (&one, 0, sizeof one);
    shard_slots_add (&one, proto_shard_slot (&z));
    shard_testlib_spec_t r1z[] = {{"10.1.0.3", 25, 4000, 2, 10, 0, 3}};
    int64_t later = block + 600;
    assert (shard_testlib_apply (source, "r1", "f3", later, r1z, 1, now, &result) == 0);
    assert (shard_testlib_apply (target, "r1", "f3", later, NULL, 0, now, &result) == 0);
    size_t finalised = 0;
    assert (shard_store_finalise_due (target, now + 100000, &finalised) == 0 && finalised == 1);
    assert (shard_slots_export (source, &one, &exported, &count) == 0 && count.rows == 1);
    assert (shard_slots_import (target, exported.data, exported.size, &count) == SHARD_SLOTS_BUSY);
    assert (s_bytes (target, "10.1.0.3", later) == 0);
    assert (shard_store_finalise_due (source, now + 100000, &finalised) == 0 && finalised >= 1);
    assert (shard_slots_export (source, &one, &exported, &count) == 0 && count.rows == 1);
    assert (shard_slots_import (target, exported.data, exported.size, &count) == 0);
    assert (s_bytes (target, "10.1.0.3", later) == 4000);
    assert (s_bytes (target, "10.1.0.1", block) == 1500);
    assert (shard_testlib_stats (target).open_blocks == 0);

    //  Imported twice, the source finalising a block (grace) in between: the second
    //  import's daily row replaces the first's open values, W counts once
    proto_addr_t w;
    assert (proto_addr_parse (&w, "10.1.0.4") == 0);
    assert (proto_shard_slot (&w) != proto_shard_slot (&x) &&
            proto_shard_slot (&w) != proto_shard_slot (&z));
    memset (&one, 0, sizeof one);
    shard_slots_add (&one, proto_shard_slot (&w));
    shard_testlib_spec_t r1w[] = {{"10.1.0.4", 25, 700, 2, 10, 0, 3}};
    int64_t last = block + 900;
    assert (shard_testlib_apply (source, "r1", "f4", last, r1w, 1, now, &result) == 0);
    assert (shard_slots_export (source, &one, &exported, &count) == 0 && count.rows == 1);
    assert (shard_slots_import (target, exported.data, exported.size, &count) == 0);
    assert (shard_testlib_stats (target).open_blocks == 1);
    assert (shard_store_finalise_due (source, now + 100000, &finalised) == 0 && finalised == 1);
    assert (shard_slots_export (source, &one, &exported, &count) == 0 && count.rows == 1);
    assert (shard_slots_import (target, exported.data, exported.size, &count) == 0);
    assert (s_bytes (target, "10.1.0.4", last) == 700);
    assert (shard_store_finalise_due (target, now + 100000, &finalised) == 0 && finalised == 1);
    assert (s_bytes (target, "10.1.0.4", last) == 700);

    shard_buffer_free (&exported);
    shard_store_destroy (&source);
    shard_store_destroy (&target);
    shard_testlib_remove (dirs[0]);
    shard_testlib_remove (dirs[1]);
}

void
shard_slots_test (bool verbose)
{
    printf (" * shard_slots: ");
    char source_dir[] = "/tmp/shard_slots_test_XXXXXX",
         target_dir[] = "/tmp/shard_slots_test_XXXXXX";
    assert (mkdtemp (source_dir) && mkdtemp (target_dir));
    shard_store_t *source = shard_store_new (source_dir, 64 << 20);
    shard_store_t *target = shard_store_new (target_dir, 64 << 20);
    assert (source && target);
    s_fill (source);
    shard_store_t *both[] = {source, target};
    char *before = s_answers (both, 1);
    shard_store_stats_t stats = shard_testlib_stats (source);

    //  A third of the slots moves
    shard_slots_t slots;
    memset (&slots, 0, sizeof slots);
    for (uint32_t slot = 0; slot < PROTO_SLOT_COUNT; slot += 3)
        shard_slots_add (&slots, slot);
    shard_buffer_t exported = {NULL, 0, 0};
    shard_slots_count_t count;
    assert (shard_slots_export (source, &slots, &exported, &count) == 0);
    assert (count.rows > 0 && count.records > 0);
    uint64_t rows = count.rows, records = count.records;

    //  A damaged string: nothing written
    assert (shard_slots_import (target, exported.data, exported.size - 1, &count) ==
            SHARD_STORE_INVALID);
    uint8_t bad_table = 7;
    assert (shard_slots_import (target, &bad_table, 1, &count) == SHARD_STORE_INVALID);
    assert (shard_testlib_stats (target).hosts == 0 && shard_testlib_stats (target).rows == 0);

    for (int round = 0; round < 2; round++) {  //  Twice: a resumed move
        assert (shard_slots_import (target, exported.data, exported.size, &count) == 0);
        assert (count.rows == rows && count.records == records && count.lists > 0);
    }
    for (int round = 0; round < 2; round++) {
        assert (shard_slots_delete (source, &slots, &count) == 0);
        assert (round == 1 || (count.rows == rows && count.records == records));
        assert (round == 0 || (count.rows == 0 && count.records == 0));
    }
    shard_store_stats_t moved = shard_testlib_stats (target), kept = shard_testlib_stats (source);
    assert (moved.hosts + kept.hosts == stats.hosts);
    assert (moved.rows + kept.rows == stats.rows);
    assert (moved.hosts > 0 && kept.hosts > 0);

    char *after = s_answers (both, 2);
    s_strip_absent (after);
    if (strcmp (before, after)) {
        FILE *file = fopen ("/tmp/shard_slots_before.txt", "w");
        fputs (before, file);
        fclose (file);
        file = fopen ("/tmp/shard_slots_after.txt", "w");
        fputs (after, file);
        fclose (file);
        printf ("answers differ: /tmp/shard_slots_before.txt, /tmp/shard_slots_after.txt\n");
        assert (false);
    }
    //  Archiving the imported rows changes nothing either
    bool more = true;
    while (more)
        assert (shard_store_archive (target, (int64_t) (D0 + 3) * DAY, 100, &more) == 0);
    char *archived = s_answers (both, 2);
    s_strip_absent (archived);
    assert (strcmp (before, archived) == 0);
    if (verbose)
        printf ("%llu rows, %llu records moved; ", (unsigned long long) rows,
                (unsigned long long) records);
    free (before);
    free (after);
    free (archived);

    s_open_test ();

    shard_buffer_free (&exported);
    shard_store_destroy (&source);
    shard_store_destroy (&target);
    shard_testlib_remove (source_dir);
    shard_testlib_remove (target_dir);
    printf ("OK\n");
}
