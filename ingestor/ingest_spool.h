/*  ingest_spool.h - finds the files nfcapd finished in a spool tree, and watches it.

    nfcapd writes nfcapd.current.PID and renames it to nfcapd.YYYYMMDDhhmm when the
    5-minute interval ends (NFCAPD.md section 8 point 6, section 10), either in the spool
    directory or, with -S, in date subdirectories it creates at that moment (YYYY/MM/DD and
    the like, up to four levels).  Only regular files named exactly nfcapd.YYYYMMDDhhmm
    are candidates; nfcapd.current.*, other names, symbolic links and anything deeper
    than INGEST_SPOOL_DEPTH_MAX levels are ignored.

    ingest_spool_scan walks the whole tree and lists the candidates in block-time order.
    ingest_spool_watch adds a libuv fs event watch to every directory of the tree (inotify
    is not recursive): a rename into a watched directory reports the file at once, a new
    subdirectory is watched and then scanned (so a file renamed into it before its watch
    existed is not missed).  Each later scan adds watches to new directories and closes
    those of removed ones; the caller rescans now and then as a safety net (inotify can
    overflow, or run out of watches: then the rescans alone find the files).
*/
#ifndef INGEST_SPOOL_H_INCLUDED
#define INGEST_SPOOL_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define INGEST_SPOOL_DEPTH_MAX 6  //  Directory levels below the spool that are searched

typedef struct _ingest_spool_t ingest_spool_t;

//  A candidate file: its path relative to the spool and its block start.
typedef struct {
    char *path;            //  Relative to the spool root ("2026/11/20/nfcapd.202611201005")
    int64_t block;         //  Block start, seconds since the epoch (from the name, nfcapd's zone)
    uint32_t skip_blocks;  //  Data blocks delivered before the file grew (0: a new file)
} ingest_spool_file_t;

//  Called for each candidate the watches find (path borrowed for the call).
typedef void (ingest_spool_found_fn) (void *arg, const char *path, int64_t block);

//  A spool rooted at root (kept as given; a trailing slash is dropped).  NULL if root is
//  not a directory that can be read (logged).
ingest_spool_t *ingest_spool_new (const char *root);

//  Destroy.  Call ingest_spool_unwatch and let the loop run first if watching.  NULL-safe.
void ingest_spool_destroy (ingest_spool_t **self_p);

//  The spool root.
const char *ingest_spool_root (ingest_spool_t *self);

//  Every candidate of the tree, sorted by block, then path: a new list of
//  ingest_spool_file_t that the caller destroys (zlistx_destroy frees the entries).
//  Syncs the watches when watching.
zlistx_t *ingest_spool_scan (ingest_spool_t *self);

//  Start watching the tree on loop; found is called on the loop thread for each candidate
//  that appears (possibly more than once for one file: the caller dedupes).  0, or -1 if
//  the root cannot be watched (logged; scans still work).
int ingest_spool_watch (ingest_spool_t *self, uv_loop_t *loop, ingest_spool_found_fn *found,
                        void *arg);

//  Stop every watch (the handles close on the next loop iterations).
void ingest_spool_unwatch (ingest_spool_t *self);

//  Number of directories watched.
size_t ingest_spool_watch_count (ingest_spool_t *self);

//  Compare two ingest_spool_file_t by block, then path (for zlistx).
int ingest_spool_file_compare (const void *item1, const void *item2);

//  A new entry (path copied); destroyed with ingest_spool_file_destroy.
ingest_spool_file_t *ingest_spool_file_new (const char *path, int64_t block);
void ingest_spool_file_destroy (ingest_spool_file_t **self_p);

//  Selftest
void ingest_spool_test (bool verbose);

#endif
