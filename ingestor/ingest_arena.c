/*  ingest_arena.c - power-of-two blocks from huge-page chunks (see ingest_arena.h).

    Chunks are mapped 2 MiB-aligned (a larger mapping, trimmed) so that the kernel can
    back each with one huge page.  Blocks are cut from the current chunk by a bump
    offset; when the next block does not fit, the rest of the chunk is cut into free
    blocks of decreasing powers of two and the next chunk starts.  A freed block goes on
    the free list of its size, linked through its first 8 bytes.

    Blocks are handed out zeroed.  Fresh mappings are zero already, so each chunk
    remembers the offset from which it was never handed out (clean_from), and only
    bytes below it are cleared; a block from a free list is always cleared.
*/
#include "ingestor/ingest_arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_CLASSES 22  //  Sizes 2^0 .. 2^21 (only 2^4 .. 2^21 are used)

typedef struct {
    uint8_t *base;      //  size bytes; 2 MiB-aligned when size is INGEST_ARENA_CHUNK
    size_t size;        //  INGEST_ARENA_FIRST, doubling up to INGEST_ARENA_CHUNK
    size_t clean_from;  //  Bytes from this offset on were never handed out (zero)
} s_chunk_t;

struct _ingest_arena_t {
    s_chunk_t *chunks;                //  Mapped chunks, in the order they are cut
    size_t chunk_count;               //  Entries used
    size_t chunk_room;                //  Entries allocated
    size_t current;                   //  Chunk being cut (== chunk_count: none yet)
    size_t used;                      //  Bytes cut from the current chunk
    void *free_lists[ARENA_CLASSES];  //  Freed blocks per log2 size, linked by first word
};

//  --------------------------------------------------------------------------
ingest_arena_t *
ingest_arena_new (void)
{
    return (ingest_arena_t *) calloc (1, sizeof (ingest_arena_t));
}

//  --------------------------------------------------------------------------
void
ingest_arena_destroy (ingest_arena_t **self_p)
{
    assert (self_p);
    ingest_arena_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->chunk_count; index++)
        munmap (self->chunks[index].base, self->chunks[index].size);
    free (self->chunks);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Map one more chunk of at least min_size bytes: twice the last one, up to a huge page
//  (aligned to its size, so that the kernel can back it with one).

static void
s_map_chunk (ingest_arena_t *self, size_t min_size)
{
    if (self->chunk_count == self->chunk_room) {
        self->chunk_room = self->chunk_room ? self->chunk_room * 2 : 16;
        self->chunks = (s_chunk_t *) realloc (self->chunks, self->chunk_room * sizeof (s_chunk_t));
        assert (self->chunks);  //  Out of memory: nothing sensible to do in an aggregation
    }
    size_t size = INGEST_ARENA_FIRST;
    if (self->chunk_count) {
        size = self->chunks[self->chunk_count - 1].size * 2;
        if (size > INGEST_ARENA_CHUNK)
            size = INGEST_ARENA_CHUNK;
    }
    while (size < min_size)
        size *= 2;
    uint8_t *base;
    if (size < INGEST_ARENA_CHUNK) {
        base = (uint8_t *) mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                 -1, 0);
        assert (base != MAP_FAILED);
    }
    else {
        size_t span = 2 * (size_t) INGEST_ARENA_CHUNK;
        uint8_t *mapped = (uint8_t *) mmap (NULL, span, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert (mapped != MAP_FAILED);
        uintptr_t start =
            ((uintptr_t) mapped + INGEST_ARENA_CHUNK - 1) & ~(uintptr_t) (INGEST_ARENA_CHUNK - 1);
        base = (uint8_t *) start;
        if (base > mapped)
            munmap (mapped, (size_t) (base - mapped));
        size_t tail = (size_t) (mapped + span - (base + INGEST_ARENA_CHUNK));
        if (tail)
            munmap (base + INGEST_ARENA_CHUNK, tail);
        madvise (base, INGEST_ARENA_CHUNK, MADV_HUGEPAGE);  //  A hint: small pages work too
    }
    self->chunks[self->chunk_count].base = base;
    self->chunks[self->chunk_count].size = size;
    self->chunks[self->chunk_count].clean_from = 0;
    self->chunk_count++;
}

//  log2 of a power of two.
static inline unsigned
s_class (size_t size)
{
    return (unsigned) __builtin_ctzll ((unsigned long long) size);
}

//  Push a block on the free list of its size.
static inline void
s_push (ingest_arena_t *self, void *block, size_t size)
{
    void **link = (void **) block;
    *link = self->free_lists[s_class (size)];
    self->free_lists[s_class (size)] = block;
}

//  --------------------------------------------------------------------------
void *
ingest_arena_alloc (ingest_arena_t *self, size_t size)
{
    assert (self);
    assert (size >= INGEST_ARENA_MIN && size <= INGEST_ARENA_CHUNK);
    assert ((size & (size - 1)) == 0);
    unsigned class_index = s_class (size);
    void *block = self->free_lists[class_index];
    if (block) {
        self->free_lists[class_index] = *(void **) block;
        memset (block, 0, size);
        return block;
    }
    while (self->current == self->chunk_count ||
           self->used + size > self->chunks[self->current].size) {
        //  Cut what is left of this chunk into free blocks, then take the next chunk
        if (self->current < self->chunk_count) {
            s_chunk_t *chunk = &self->chunks[self->current];
            while (chunk->size - self->used >= INGEST_ARENA_MIN) {
                size_t rest = chunk->size - self->used;
                size_t piece = (size_t) 1 << (63 - __builtin_clzll ((unsigned long long) rest));
                s_push (self, chunk->base + self->used, piece);
                self->used += piece;
            }
            if (chunk->clean_from < self->used)
                chunk->clean_from = self->used;  //  Free blocks get cleared when taken
            self->current++;
        }
        else
            self->current = 0;
        if (self->current == self->chunk_count)
            s_map_chunk (self, size);
        self->used = 0;
    }
    s_chunk_t *chunk = &self->chunks[self->current];
    block = chunk->base + self->used;
    if (self->used < chunk->clean_from) {
        size_t dirty = chunk->clean_from - self->used;
        memset (block, 0, dirty < size ? dirty : size);
    }
    self->used += size;
    if (chunk->clean_from < self->used)
        chunk->clean_from = self->used;
    return block;
}

//  --------------------------------------------------------------------------
void
ingest_arena_free (ingest_arena_t *self, void *block, size_t size)
{
    assert (self);
    assert (size >= INGEST_ARENA_MIN && size <= INGEST_ARENA_CHUNK);
    if (block)
        s_push (self, block, size);
}

//  --------------------------------------------------------------------------
void
ingest_arena_reset (ingest_arena_t *self)
{
    assert (self);
    size_t kept = 0, index = 0;
    while (index < self->chunk_count && kept + self->chunks[index].size <= INGEST_ARENA_KEEP)
        kept += self->chunks[index++].size;
    while (self->chunk_count > index) {
        self->chunk_count--;
        munmap (self->chunks[self->chunk_count].base, self->chunks[self->chunk_count].size);
    }
    memset (self->free_lists, 0, sizeof self->free_lists);
    self->current = 0;
    self->used = 0;
}

//  --------------------------------------------------------------------------
size_t
ingest_arena_size (ingest_arena_t *self)
{
    assert (self);
    size_t size = 0;
    for (size_t index = 0; index < self->chunk_count; index++)
        size += self->chunks[index].size;
    return size;
}

//  --------------------------------------------------------------------------
void
ingest_arena_test (bool verbose)
{
    printf (" * ingest_arena: ");
    ingest_arena_t *arena = ingest_arena_new ();
    assert (arena);
    assert (ingest_arena_size (arena) == 0);
    //  A small aggregate costs a small chunk
    ingest_arena_free (arena, ingest_arena_alloc (arena, 64), 64);
    assert (ingest_arena_size (arena) == INGEST_ARENA_FIRST);
    //  Many blocks of every size: zeroed, aligned, disjoint (each filled with its own byte)
    size_t count = 0, total = 0;
    uint8_t *blocks[4000];
    size_t sizes[4000];
    for (size_t round = 0; round < 4000; round++) {
        size_t size = (size_t) INGEST_ARENA_MIN << (round * 7 % 14);
        uint8_t *block = (uint8_t *) ingest_arena_alloc (arena, size);
        assert (((uintptr_t) block & 15) == 0);
        for (size_t at = 0; at < size; at++)
            assert (block[at] == 0);
        memset (block, (int) (round % 251) + 1, size);
        blocks[count] = block, sizes[count++] = size;
        total += size;
        //  Free one block in three: reused (and cleared) by later allocations
        if (round % 3 == 2) {
            count--;
            ingest_arena_free (arena, blocks[count], sizes[count]);
            total -= sizes[count];
        }
    }
    for (size_t index = 0; index < count; index++)
        for (size_t at = 0; at < sizes[index]; at += 7)
            assert (blocks[index][at] == blocks[index][0] && blocks[index][0]);
    assert (ingest_arena_size (arena) >= total);
    //  A chunk-sized block, then a small one that must start a new chunk
    uint8_t *large = (uint8_t *) ingest_arena_alloc (arena, INGEST_ARENA_CHUNK);
    memset (large, 0xff, INGEST_ARENA_CHUNK);
    uint8_t *small = (uint8_t *) ingest_arena_alloc (arena, 64);
    assert (small < large || small >= large + INGEST_ARENA_CHUNK);
    //  Reset: the memory comes back zeroed, the chunks are kept
    size_t held = ingest_arena_size (arena);
    ingest_arena_reset (arena);
    assert (ingest_arena_size (arena) == held);
    for (size_t round = 0; round < 200; round++) {
        uint8_t *block = (uint8_t *) ingest_arena_alloc (arena, 4096);
        for (size_t at = 0; at < 4096; at++)
            assert (block[at] == 0);
        memset (block, 0xaa, 4096);
    }
    ingest_arena_free (arena, NULL, 64);
    if (verbose)
        printf ("%zu bytes of chunks; ", ingest_arena_size (arena));
    ingest_arena_destroy (&arena);
    ingest_arena_destroy (&arena);
    printf ("OK\n");
}
