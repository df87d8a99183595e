/*  shard_changes_test.c - selftest of shard_changes through shard_store_changes.

    A store with one ingestor (parts are final on arrival) over five days: a steady host,
    a host that jumps on the last day, a host new on the last day, and a host back on a
    port after a day away; each entry of the answer is checked.
*/
#include "shard/shard_changes.h"
#include "shard/shard_store_testlib.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    proto_change_t changes[64];  //  Collected entries
    uint64_t sparks[64][8];      //  Their sparklines
    size_t count;                //  Entries used
} s_changes_t;

static void
s_on_change (void *arg, const proto_change_t *change, const uint64_t *spark, size_t spark_count)
{
    s_changes_t *changes = (s_changes_t *) arg;
    assert (changes->count < 64 && spark_count <= 8);
    memcpy (changes->sparks[changes->count], spark, spark_count * sizeof *spark);
    changes->changes[changes->count++] = *change;
}

//  The entry of host, port, feature with exactly flags set; NULL if none.
static const proto_change_t *
s_find (const s_changes_t *changes, const char *host, uint16_t port, uint8_t feature, uint8_t flags)
{
    proto_addr_t addr;
    assert (proto_addr_parse (&addr, host) == 0);
    for (size_t index = 0; index < changes->count; index++) {
        const proto_change_t *change = &changes->changes[index];
        if (change->port == port && change->feature == feature && change->flags == flags &&
            proto_addr_compare (&change->addr, &addr) == 0)
            return change;
    }
    return NULL;
}

void
shard_changes_test (bool verbose)
{
    printf (" * shard_changes: ");
    char dir[] = "/tmp/shard_changes_test.XXXXXX";
    assert (mkdtemp (dir));
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    shard_part_result_t result;
    //  Days D0..D0+4; 10.0.0.1 steady 100 bytes, 10.0.0.2 10, 20, 30, 40 then 1000,
    //  10.0.0.3 only on the last day, 10.0.0.4 on port 22 days 0 and 4 only
    uint64_t jumps[] = {10, 20, 30, 40, 1000};
    for (int day = 0; day < 5; day++) {
        int64_t block = (int64_t) (D0 + day) * DAY + 3600;
        shard_testlib_spec_t specs[] = {{"10.0.0.1", 25, 100, 1, 1, 0, 1},
                                        {"10.0.0.2", 25, jumps[day], 1, 1, 0, 1},
                                        {"10.0.0.4", 22, 5, 1, 1, 0, 1},
                                        {"10.0.0.3", 25, 7, 1, 1, 0, 1}};
        size_t count = day == 0 || day == 4 ? (day == 4 ? 4 : 3) : 2;
        char file[32];
        snprintf (file, sizeof file, "f%d", day);
        assert (shard_testlib_apply (store, "r1", file, block, specs, count, block + 60, &result) ==
                0);
        assert (result.final);
    }
    uint32_t day = D0 + 4;
    s_changes_t changes = {.count = 0};
    assert (shard_store_changes (store, day, PROTO_OP_SUM, day - 4, 0, s_on_change, &changes) == 0);
    if (verbose)
        printf ("%zu entries ", changes.count);
    const proto_change_t *steady = s_find (&changes, "10.0.0.1", 25, 0, PROTO_CHANGE_TOP);
    assert (steady && steady->score == 100 && steady->median == 100 && steady->days == 4);
    const proto_change_t *jump = s_find (&changes, "10.0.0.2", 25, 0, PROTO_CHANGE_TOP);
    assert (jump && jump->score == 1000 && jump->median == 20 && jump->days == 4);
    const proto_change_t *fresh =
        s_find (&changes, "10.0.0.3", 25, 0, PROTO_CHANGE_TOP | PROTO_CHANGE_FIRST);
    assert (fresh && fresh->score == 7 && fresh->median == 0 && fresh->days == 0);
    //  First-ever pairs come once more, alone, from the scan of the day's rows
    assert (s_find (&changes, "10.0.0.3", 25, 0, PROTO_CHANGE_FIRST));
    assert (!s_find (&changes, "10.0.0.1", 25, 0, PROTO_CHANGE_FIRST));
    //  Back after silence on 22: not first, no day with traffic in the window but day 0
    const proto_change_t *back = s_find (&changes, "10.0.0.4", 22, 0, PROTO_CHANGE_TOP);
    assert (back && back->days == 1 && back->median == 5);
    assert (!s_find (&changes, "10.0.0.4", 22, 0, PROTO_CHANGE_FIRST));
    //  The day before's lists: 10.0.0.2 scored 40, 10.0.0.3 was not there
    const proto_change_t *prev = s_find (&changes, "10.0.0.2", 25, 0, PROTO_CHANGE_PREV);
    assert (prev && prev->score == 40);
    assert (!s_find (&changes, "10.0.0.3", 25, 0, PROTO_CHANGE_PREV));
    //  A shorter window: 10.0.0.4 has no day with traffic in it
    changes.count = 0;
    assert (shard_store_changes (store, day, PROTO_OP_SUM, day - 2, 0, s_on_change, &changes) == 0);
    back = s_find (&changes, "10.0.0.4", 22, 0, PROTO_CHANGE_TOP);
    assert (back && back->days == 0 && back->median == 0);
    jump = s_find (&changes, "10.0.0.2", 25, 0, PROTO_CHANGE_TOP);
    assert (jump && jump->median == 30 && jump->days == 2);
    //  The first day: everyone is first, nothing before
    changes.count = 0;
    assert (shard_store_changes (store, D0, PROTO_OP_MAX, D0, 0, s_on_change, &changes) == 0);
    assert (s_find (&changes, "10.0.0.4", 22, 0, PROTO_CHANGE_TOP | PROTO_CHANGE_FIRST));
    assert (!s_find (&changes, "10.0.0.4", 22, 0, PROTO_CHANGE_PREV));
    //  Sparklines of 6 days: the top entries only, oldest day first, 0 without traffic
    changes.count = 0;
    assert (shard_store_changes (store, day, PROTO_OP_SUM, day, 6, s_on_change, &changes) == 0);
    jump = s_find (&changes, "10.0.0.2", 25, 0, PROTO_CHANGE_TOP);
    assert (jump);
    uint64_t expected[6] = {0, 10, 20, 30, 40, 1000};
    assert (memcmp (changes.sparks[jump - changes.changes], expected, sizeof expected) == 0);
    back = s_find (&changes, "10.0.0.4", 22, 0, PROTO_CHANGE_TOP);
    uint64_t silence[6] = {0, 5, 0, 0, 0, 5};
    assert (back && memcmp (changes.sparks[back - changes.changes], silence, sizeof silence) == 0);
    assert (!s_find (&changes, "10.0.0.2", 25, 0, PROTO_CHANGE_PREV));
    assert (!s_find (&changes, "10.0.0.3", 25, 0, PROTO_CHANGE_FIRST));
    //  Bad arguments
    assert (shard_store_changes (store, day, 3, day, 0, s_on_change, &changes) ==
            SHARD_STORE_INVALID);
    assert (shard_store_changes (store, day, 0, day + 1, 0, s_on_change, &changes) ==
            SHARD_STORE_INVALID);
    assert (shard_store_changes (store, day, 0, day, PROTO_SPARK_MAX + 1, s_on_change, &changes) ==
            SHARD_STORE_INVALID);
    shard_store_destroy (&store);
    shard_testlib_remove (dir);
    printf ("OK\n");
}
