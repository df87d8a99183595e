/*  lab_chunks.c - the codec labs' chunk reader and clocks (see lab_chunks.h).
 */
#include "bench/lab_chunks.h"
#include "shard/shard_keys.h"
#include "shard/shard_kv.h"
#include "shard/shard_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
s_clock (clockid_t clock)
{
    struct timespec now;
    clock_gettime (clock, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

double
lab_now (void)
{
    return s_clock (CLOCK_MONOTONIC);
}

double
lab_cpu (void)
{
    return s_clock (CLOCK_THREAD_CPUTIME_ID);
}

int
lab_chunks_read (const char *path, long days_max, lab_chunk_fn *on_chunk, void *arg)
{
    zsys_init ();
    shard_store_t *store = shard_store_new (path, 256ULL << 30);
    if (!store)
        return -1;
    shard_txn_t *txn = shard_store_begin (store, false);
    shard_cursor_t *cursor = shard_cursor_new (txn, SHARD_DB_CHUNKS);
    shard_chunk_row_t *rows = (shard_chunk_row_t *) malloc (SHARD_CHUNK_ROWS_MAX * sizeof *rows);
    int result = 0;
    long days = 0;
    uint16_t last_day = 0;
    shard_bytes_t key, value;
    int rc = shard_cursor_seek (cursor, NULL, 0, &key, &value);
    for (; rc == 0; rc = shard_cursor_next (cursor, &key, &value)) {
        uint16_t day, port;
        proto_addr_t first;
        if (shard_key_chunk_parse (key.data, key.size, &day, &port, &first) ||
            !proto_addr_is_ipv4 (&first))
            continue;
        if ((days == 0 || day != last_day) && ++days > days_max)
            break;
        last_day = day;
        int count = shard_chunk_decode (&first, value.data, value.size, rows);
        if (count < 0) {
            fprintf (stderr, "lab: a chunk does not decode (day %u, port %u)\n", day, port);
            result = -1;
            break;
        }
        if (!on_chunk (arg, day, port, rows, (size_t) count, value.data, value.size))
            break;
    }
    free (rows);
    shard_cursor_destroy (&cursor);
    shard_store_end (txn, false);
    shard_store_destroy (&store);
    return result;
}
