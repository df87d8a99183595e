/*  ingest_arena.h - zeroed power-of-two blocks for the aggregation's peer sets.

    An aggregate owns tens of thousands of small peer sets that double as they fill, and
    sketches of 4 KiB: with malloc, a block's aggregation spent a third of its time in
    malloc, free and the page faults of a heap growing 4 KiB at a time.  The arena hands
    out blocks of 2^n bytes (16 B to INGEST_ARENA_CHUNK) from chunks that double from
    INGEST_ARENA_FIRST (a small aggregate stays small) to 2 MiB, mapped with transparent
    huge pages where the kernel allows it (one fault per chunk), keeps a free list per
    size, and gives everything back at once on reset, keeping up to INGEST_ARENA_KEEP
    bytes of chunks for the next block.

    One owner, one thread (the aggregate's); no locking.
*/
#ifndef INGEST_ARENA_H_INCLUDED
#define INGEST_ARENA_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#define INGEST_ARENA_CHUNK (2u * 1024 * 1024)  //  Largest chunk, bytes: one huge page
#define INGEST_ARENA_FIRST (64u * 1024)        //  First chunk, bytes
#define INGEST_ARENA_MIN 16                    //  Smallest block, bytes
#define INGEST_ARENA_KEEP (64u * 1024 * 1024)  //  Chunk bytes a reset keeps for reuse

typedef struct _ingest_arena_t ingest_arena_t;

//  Create an empty arena (no memory until the first alloc).  NULL if out of memory.
ingest_arena_t *ingest_arena_new (void);

//  Destroy the arena and every block it handed out.  NULL-safe, nulls *self_p.
void ingest_arena_destroy (ingest_arena_t **self_p);

//  A zeroed block of size bytes: size is a power of two from INGEST_ARENA_MIN to
//  INGEST_ARENA_CHUNK (asserted), 16-byte aligned.  Belongs to the arena; valid until
//  ingest_arena_free, reset or destroy.  Out of memory asserts, as malloc failure did.
void *ingest_arena_alloc (ingest_arena_t *self, size_t size);

//  Give back a block of size bytes that alloc returned.
void ingest_arena_free (ingest_arena_t *self, void *block, size_t size);

//  Give back every block at once (they become invalid).
void ingest_arena_reset (ingest_arena_t *self);

//  Bytes of chunks the arena holds.
size_t ingest_arena_size (ingest_arena_t *self);

//  Selftest
void ingest_arena_test (bool verbose);

#endif
