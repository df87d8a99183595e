/*  ingest_journal.h - an append-only, fsync'ed record of files: done, or failed.

    The ingestor writes a file's line to STATE/done.journal only once every shard has
    acknowledged the file's part, and a corrupt or unreadable file's line to
    STATE/failed.journal with the reason.  Both are loaded at start, so a restart neither
    skips a file (not recorded: it is delivered again, and the shards drop the resent parts
    by their ids) nor delivers a recorded one again.  One line per file:

        PATH <TAB> BLOCK <TAB> RECORDED <TAB> NOTE <LF>

    PATH is the file's path relative to the spool (no tab, no newline), BLOCK the block
    start in seconds since the epoch, RECORDED the ISO 8601 UTC time of the append and
    NOTE free text (the failure; tabs and newlines become spaces; on a done line,
    "blocks=N size=S": the file's data blocks and bytes when it was read, so that blocks
    nfcapd appends to it later are noticed and delivered; a later line of the same file,
    for its appended blocks, replaces the earlier one).  Each append is one
    write followed by fsync, so a crash leaves at most one torn last line (no LF): loading
    ignores it and cuts it off, so that the next append starts a clean line.  A line that
    does not parse is skipped with a warning.  The operator may edit the file (removing a
    failed file's line has it retried): ingest_journal_reload notices the change.
*/
#ifndef INGEST_JOURNAL_H_INCLUDED
#define INGEST_JOURNAL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_JOURNAL_NOTE_MAX 512  //  Longest note kept on a line

typedef struct _ingest_journal_t ingest_journal_t;

//  Open the journal at path, creating it if absent, and load its lines.  NULL if it
//  cannot be opened, read or created (logged, naming the path and the reason).
ingest_journal_t *ingest_journal_new (const char *path);

//  Close.  NULL-safe, nulls *self_p.
void ingest_journal_destroy (ingest_journal_t **self_p);

//  True if file has a line.
bool ingest_journal_has (ingest_journal_t *self, const char *file);

//  Append a line for file (made durable with fsync before returning).  note may be NULL.
//  0, or -1 if the write or the fsync failed (logged): the file is then remembered in
//  memory only, so this process goes on, and a restart delivers it again.
int ingest_journal_append (ingest_journal_t *self, const char *file, int64_t block,
                           const char *note);

//  Same, for a delivered file: the note records its extent when read, blocks data blocks
//  and size bytes (see ingest_journal_extent).
int ingest_journal_append_extent (ingest_journal_t *self, const char *file, int64_t block,
                                  uint32_t blocks, uint64_t size);

//  The extent recorded by file's latest line: true with *blocks and *size set, false if
//  the file has no line or its line records none (a failure, or a line of an older
//  version).
bool ingest_journal_extent (ingest_journal_t *self, const char *file, uint32_t *blocks,
                            uint64_t *size);

//  Number of distinct files recorded.
size_t ingest_journal_size (ingest_journal_t *self);

//  The latest block recorded, or -1 if none.
int64_t ingest_journal_newest_block (ingest_journal_t *self);

//  If the file on disk changed since it was last loaded or appended to (edited or
//  replaced by the operator), load it again.  1 if reloaded, 0 if unchanged, -1 if it can
//  no longer be read (logged; the entries loaded before stay).
int ingest_journal_reload (ingest_journal_t *self);

//  Selftest
void ingest_journal_test (bool verbose);

#endif
