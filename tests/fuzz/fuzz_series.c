/*  fuzz_series.c - libFuzzer target for the series record decoder (shard_series.h).

    The first byte of an input gives the segment's days (1 + byte % 64), the rest is the
    record.  It is counted, decoded and looked up in; a record that decodes must hold
    rows that the encoder accepts (ascending ports and days, days within the segment),
    each found by shard_series_find, and their encoding must decode to the same rows.
    The decoders must never read past the record (ASan) nor fail differently from one
    another on the same bytes.  The same bytes are read as a pack of records
    (shard_pack.h): its entries must lie within it, hosts ascending, and the rows it
    counts must be its records' rows.

        make build/fuzz/fuzz_series
        build/fuzz/fuzz_series -max_total_time=60
*/
#include "shard/shard_pack.h"
#include "shard/shard_series.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define ROWS_MAX 4096
#define FIND_MAX 64  //  Rows of a record looked up one by one (each lookup decodes up to it)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Values and flags equal (not the struct's padding)
static bool
s_row_equal (const shard_row_t *one, const shard_row_t *other)
{
    return memcmp (one->value, other->value, sizeof one->value) == 0 && one->flags == other->flags;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t days = 1 + data[0] % SHARD_SERIES_DAYS_MAX;
    //  A copy of exactly the record's bytes, so that ASan sees any read past them
    size_t record_size = size - 1;
    uint8_t *record = (uint8_t *) malloc (record_size ? record_size : 1);
    memcpy (record, data + 1, record_size);
    //  The target's own scratch, as a main's (allocating it per input slows ASan 10-fold)
    static shard_series_row_t rows[ROWS_MAX], again[ROWS_MAX];
    int count = shard_series_decode (record, record_size, days, rows, ROWS_MAX);
    int header = shard_series_count (record, record_size);
    assert (count == -1 || count == header);
    shard_row_t found;
    if (count < 0)
        (void) shard_series_find (record, record_size, days, 80, 0, &found);
    for (int index = 0; index < count; index++) {
        assert (rows[index].day < days);
        assert (
            index == 0 || rows[index - 1].port < rows[index].port ||
            (rows[index - 1].port == rows[index].port && rows[index - 1].day < rows[index].day));
        if (index >= FIND_MAX)
            continue;
        assert (shard_series_find (record, record_size, days, rows[index].port, rows[index].day,
                                   &found) == 0);
        assert (s_row_equal (&found, &rows[index].row));
    }
    if (count > 0) {
        shard_buffer_t buffer = {NULL, 0, 0};
        shard_series_encode (rows, (size_t) count, days, &buffer);
        assert (shard_series_decode (buffer.data, buffer.size, days, again, ROWS_MAX) == count);
        for (int index = 0; index < count; index++)
            assert (again[index].port == rows[index].port && again[index].day == rows[index].day &&
                    s_row_equal (&again[index].row, &rows[index].row));
        shard_buffer_free (&buffer);
    }
    //  As a pack
    int pack_rows = shard_pack_rows (record, record_size);
    shard_pack_iter_t iter;
    if (shard_pack_open (&iter, NULL, record, record_size) == 0) {
        shard_pack_entry_t entry;
        proto_addr_t previous;
        int rc, rows_seen = 0, entries = 0;
        while ((rc = shard_pack_next (&iter, &entry)) == 0) {
            assert (entry.record >= record && entry.record + entry.size <= record + record_size);
            assert (iter.whole || entries == 0 ||
                    memcmp (previous.bytes, entry.addr.bytes, PROTO_ADDR_SIZE) < 0);
            previous = entry.addr;
            entries++;
            int entry_rows = shard_series_count (entry.record, entry.size);
            rows_seen = entry_rows < 0 || rows_seen < 0 ? -1 : rows_seen + entry_rows;
        }
        assert (pack_rows == (rc == 1 ? rows_seen : -1));
    }
    else
        assert (pack_rows == -1);
    free (record);
    return 0;
}
