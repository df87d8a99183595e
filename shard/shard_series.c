/*  shard_series.c - STUB codec. */
#include "shard/shard_series.h"
#include <assert.h>
#include <stdlib.h>
void
shard_series_encode (const shard_series_row_t *rows, size_t count, uint32_t days,
                     shard_buffer_t *out)
{
    (void) days;
    shard_buffer_reset (out);
    shard_buffer_header (out, 0);
    shard_buffer_varint (out, count);
    for (size_t i = 0; i < count; i++) {
        uint8_t bytes[SHARD_ROW_MAX];
        shard_buffer_varint (out, rows[i].port);
        shard_buffer_byte (out, rows[i].day);
        size_t n = shard_row_encode (&rows[i].row, bytes);
        shard_buffer_varint (out, n);
        shard_buffer_append (out, bytes, n);
    }
}
int
shard_series_count (const void *data, size_t size)
{
    shard_reader_t r;
    shard_reader_init (&r, data, size);
    if (shard_reader_header (&r) < 0)
        return -1;
    uint64_t n = shard_reader_varint (&r);
    return n > 1000000 ? -1 : (int) n;
}
int
shard_series_decode (const void *data, size_t size, uint32_t days, shard_series_row_t *rows,
                     size_t capacity)
{
    (void) days;
    shard_reader_t r;
    shard_reader_init (&r, data, size);
    if (shard_reader_header (&r) < 0)
        return -1;
    uint64_t n = shard_reader_varint (&r);
    if (n > capacity)
        return -1;
    for (size_t i = 0; i < n; i++) {
        rows[i].port = (uint16_t) shard_reader_varint (&r);
        rows[i].day = shard_reader_byte (&r);
        uint64_t len = shard_reader_varint (&r);
        const uint8_t *b = shard_reader_bytes (&r, len);
        if (!b || shard_row_decode (&rows[i].row, b, len))
            return -1;
    }
    return (int) n;
}
int
shard_series_find (const void *data, size_t size, uint32_t days, uint16_t port, uint8_t day,
                   shard_row_t *row)
{
    int n = shard_series_count (data, size);
    if (n < 0)
        return -1;
    shard_series_row_t *rows = malloc ((n + 1) * sizeof *rows);
    int got = shard_series_decode (data, size, days, rows, n);
    int rc = got < 0 ? -1 : 1;
    for (int i = 0; i < got; i++)
        if (rows[i].port == port && rows[i].day == day) {
            *row = rows[i].row;
            rc = 0;
        }
    free (rows);
    return rc;
}
void
shard_series_test (bool verbose)
{
    (void) verbose;
}
