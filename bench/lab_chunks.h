/*  lab_chunks.h - what the codec labs share: reading a kept store's chunks, clocks.

    bench/chunk_lab and bench/series_lab read the IPv4 chunks of a store kept by
    bench/scale -k (or any schema 2 store) and repack their rows; this reads them, in
    key order ((day, port, first host)), and decodes each.
*/
#ifndef LAB_CHUNKS_H_INCLUDED
#define LAB_CHUNKS_H_INCLUDED

#include "shard/shard_chunk.h"

//  One chunk: its key's day and port, its rows (valid during the call), its value
//  (valid during the call).  Return false to stop.
typedef bool (lab_chunk_fn) (void *arg, uint16_t day, uint16_t port, const shard_chunk_row_t *rows,
                             size_t count, const void *value, size_t value_size);

//  Call on_chunk for each IPv4 chunk of the out direction of the store in directory
//  path, over its first days_max days.  0, or -1 if the store did not open or a chunk
//  did not decode (said on stderr).
int lab_chunks_read (const char *path, long days_max, lab_chunk_fn *on_chunk, void *arg);

double lab_now (void);  //  Monotonic seconds
double lab_cpu (void);  //  The calling thread's CPU seconds

#endif
