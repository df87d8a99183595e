/*  shard_migrate.h - schema 2 to 3: re-encode the chunks of finished days compressed.

    Schema 2 chunks hold their rows uncompressed (shard_chunk.h); schema 3 writes them
    as zstd-compressed columns, which hold about 15 % more rows a page.  The repack
    reads the chunks in key order from the position saved in meta ("repack_at"),
    decodes each schema 2 chunk, deletes it and writes its rows again, as many a chunk
    as fit (shard_chunk_fit), one (day, port, family) at a time.  The new chunks cover
    the same hosts (their keys lie between the old chunk's and the next old one's), so
    the store answers the same at every commit, and an interrupted repack resumes at the
    saved position.  Chunks already compressed are left as they are.
*/
#ifndef SHARD_MIGRATE_H_INCLUDED
#define SHARD_MIGRATE_H_INCLUDED

#include "shard/shard_kv.h"

//  Re-encode the rows of schema 2 chunks, at least budget rows unless fewer remain
//  (whole chunks).  *moved counts them; *more is true if some chunks remain.  0 or -1.
int shard_migrate_repack (shard_txn_t *txn, size_t budget, size_t *moved, bool *more);

#endif
