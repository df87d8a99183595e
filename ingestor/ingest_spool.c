/*  ingest_spool.c - spool tree scans and libuv watches (see ingest_spool.h).

    Watches are kept in a table keyed by the directory's path relative to the root (""
    for the root).  A scan marks every watch it passes; those left unmarked belong to
    removed directories and are closed.  A watch's memory is freed by its close callback,
    so closing never waits for the loop.
*/
#include "ingestor/ingest_spool.h"
#include "ingestor/ingest_file.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

struct _ingest_spool_t {
    char *root;                    //  Spool directory, no trailing slash
    uv_loop_t *loop;               //  Loop the watches run on, NULL if not watching
    ingest_spool_found_fn *found;  //  Candidate callback of the watches
    void *arg;                     //  Its argument
    zhashx_t *watches;             //  Relative directory -> s_watch_t *
    bool watch_failed;             //  A watch could not be added (logged once)
};

typedef struct {
    uv_fs_event_t handle;   //  libuv watch; handle.data points to this struct
    ingest_spool_t *spool;  //  Owner (NULL once closing)
    char *dir;              //  Directory relative to the root
    int depth;              //  Levels below the root (root: 0)
    bool marked;            //  Passed by the current scan
} s_watch_t;

static void s_walk (ingest_spool_t *self, const char *dir, int depth, zlistx_t *list);

//  --------------------------------------------------------------------------
//  Entries

ingest_spool_file_t *
ingest_spool_file_new (const char *path, int64_t block)
{
    assert (path);
    ingest_spool_file_t *self = (ingest_spool_file_t *) zmalloc (sizeof (ingest_spool_file_t));
    assert (self);
    self->path = strdup (path);
    assert (self->path);
    self->block = block;
    return self;
}

void
ingest_spool_file_destroy (ingest_spool_file_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->path);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_file_destroy (void **item)
{
    ingest_spool_file_destroy ((ingest_spool_file_t **) item);
}

int
ingest_spool_file_compare (const void *item1, const void *item2)
{
    const ingest_spool_file_t *left = (const ingest_spool_file_t *) item1;
    const ingest_spool_file_t *right = (const ingest_spool_file_t *) item2;
    if (left->block != right->block)
        return left->block < right->block ? -1 : 1;
    return strcmp (left->path, right->path);
}

//  --------------------------------------------------------------------------
ingest_spool_t *
ingest_spool_new (const char *root)
{
    assert (root);
    struct stat info;
    errno = 0;
    if (stat (root, &info) || !S_ISDIR (info.st_mode) || access (root, R_OK | X_OK)) {
        zsys_error ("spool: %s is not a readable directory: %s", root,
                    errno ? strerror (errno) : "not a directory");
        return NULL;
    }
    ingest_spool_t *self = (ingest_spool_t *) zmalloc (sizeof (ingest_spool_t));
    assert (self);
    self->root = strdup (root);
    size_t length = strlen (self->root);
    while (length > 1 && self->root[length - 1] == '/')
        self->root[--length] = 0;
    self->watches = zhashx_new ();
    assert (self->watches);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_spool_destroy (ingest_spool_t **self_p)
{
    assert (self_p);
    ingest_spool_t *self = *self_p;
    if (!self)
        return;
    ingest_spool_unwatch (self);
    zhashx_destroy (&self->watches);
    free (self->root);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
const char *
ingest_spool_root (ingest_spool_t *self)
{
    assert (self);
    return self->root;
}

//  --------------------------------------------------------------------------
//  Watches

static void
s_on_watch_closed (uv_handle_t *handle)
{
    s_watch_t *watch = (s_watch_t *) handle->data;
    free (watch->dir);
    free (watch);
}

static void
s_watch_close (s_watch_t *watch)
{
    watch->spool = NULL;
    uv_fs_event_stop (&watch->handle);
    uv_close ((uv_handle_t *) &watch->handle, s_on_watch_closed);
}

static char *
s_join (const char *dir, const char *name)
{
    return *dir ? zsys_sprintf ("%s/%s", dir, name) : strdup (name);
}

//  A change in a watched directory: report the file, or watch and walk a new directory.
static void
s_on_change (uv_fs_event_t *handle, const char *filename, int events, int status)
{
    (void) events;
    s_watch_t *watch = (s_watch_t *) handle->data;
    ingest_spool_t *self = watch->spool;
    if (!self)
        return;
    if (status < 0) {
        zsys_warning ("spool: watch of %s/%s failed: %s", self->root, watch->dir,
                      uv_strerror (status));
        return;
    }
    if (!filename) {
        s_walk (self, watch->dir, watch->depth, NULL);
        return;
    }
    char *relative = s_join (watch->dir, filename);
    char *full = zsys_sprintf ("%s/%s", self->root, relative);
    struct stat info;
    int64_t block;
    if (lstat (full, &info) == 0) {
        if (S_ISDIR (info.st_mode) && watch->depth < INGEST_SPOOL_DEPTH_MAX)
            s_walk (self, relative, watch->depth + 1, NULL);
        else if (S_ISREG (info.st_mode) && ingest_file_block_time (filename, &block) == 0)
            self->found (self->arg, relative, block);
    }
    zstr_free (&full);
    free (relative);
}

//  Make sure dir is watched and mark its watch.
static void
s_watch_require (ingest_spool_t *self, const char *dir, int depth)
{
    s_watch_t *watch = (s_watch_t *) zhashx_lookup (self->watches, dir);
    if (watch) {
        watch->marked = true;
        return;
    }
    watch = (s_watch_t *) zmalloc (sizeof (s_watch_t));
    assert (watch);
    watch->spool = self;
    watch->dir = strdup (dir);
    watch->depth = depth;
    watch->marked = true;
    uv_fs_event_init (self->loop, &watch->handle);
    watch->handle.data = watch;
    char *full = *dir ? zsys_sprintf ("%s/%s", self->root, dir) : strdup (self->root);
    int rc = uv_fs_event_start (&watch->handle, s_on_change, full, 0);
    if (rc) {
        if (!self->watch_failed)
            zsys_warning ("spool: cannot watch %s: %s (rescans will find its files)", full,
                          uv_strerror (rc));
        self->watch_failed = true;
        uv_close ((uv_handle_t *) &watch->handle, s_on_watch_closed);
    }
    else
        zhashx_insert (self->watches, dir, watch);
    zstr_free (&full);
}

//  --------------------------------------------------------------------------
//  Walk dir (relative, at depth): watch it when watching, then its entries.  Candidates
//  go into list, or to the found callback when list is NULL.

static void
s_walk (ingest_spool_t *self, const char *dir, int depth, zlistx_t *list)
{
    if (self->loop)
        s_watch_require (self, dir, depth);
    char *full = *dir ? zsys_sprintf ("%s/%s", self->root, dir) : strdup (self->root);
    DIR *handle = opendir (full);
    if (!handle) {
        if (errno != ENOENT)
            zsys_warning ("spool: cannot read %s: %s", full, strerror (errno));
        zstr_free (&full);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir (handle))) {
        const char *name = entry->d_name;
        if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
            continue;
        int64_t block;
        bool candidate = ingest_file_block_time (name, &block) == 0;
        unsigned char type = entry->d_type;
        if (type == DT_UNKNOWN) {
            struct stat info;
            char *path = zsys_sprintf ("%s/%s", full, name);
            type = lstat (path, &info)      ? DT_UNKNOWN
                   : S_ISDIR (info.st_mode) ? DT_DIR
                   : S_ISREG (info.st_mode) ? DT_REG
                                            : DT_UNKNOWN;
            zstr_free (&path);
        }
        if (type == DT_DIR && depth < INGEST_SPOOL_DEPTH_MAX) {
            char *relative = s_join (dir, name);
            s_walk (self, relative, depth + 1, list);
            free (relative);
        }
        else if (type == DT_REG && candidate) {
            char *relative = s_join (dir, name);
            if (list)
                zlistx_add_end (list, ingest_spool_file_new (relative, block));
            else
                self->found (self->arg, relative, block);
            free (relative);
        }
    }
    closedir (handle);
    zstr_free (&full);
}

//  --------------------------------------------------------------------------
zlistx_t *
ingest_spool_scan (ingest_spool_t *self)
{
    assert (self);
    zlistx_t *list = zlistx_new ();
    assert (list);
    zlistx_set_destructor (list, s_file_destroy);
    zlistx_set_comparator (list, ingest_spool_file_compare);
    for (s_watch_t *watch = (s_watch_t *) zhashx_first (self->watches); watch;
         watch = (s_watch_t *) zhashx_next (self->watches))
        watch->marked = false;
    s_walk (self, "", 0, list);
    if (self->loop) {
        //  Close the watches of directories that are gone
        zlistx_t *gone = zlistx_new ();
        for (s_watch_t *watch = (s_watch_t *) zhashx_first (self->watches); watch;
             watch = (s_watch_t *) zhashx_next (self->watches))
            if (!watch->marked)
                zlistx_add_end (gone, watch);
        for (s_watch_t *watch = (s_watch_t *) zlistx_first (gone); watch;
             watch = (s_watch_t *) zlistx_next (gone)) {
            zhashx_delete (self->watches, watch->dir);
            s_watch_close (watch);
        }
        zlistx_destroy (&gone);
    }
    zlistx_sort (list);
    return list;
}

//  --------------------------------------------------------------------------
int
ingest_spool_watch (ingest_spool_t *self, uv_loop_t *loop, ingest_spool_found_fn *found, void *arg)
{
    assert (self);
    assert (loop);
    assert (found);
    self->loop = loop;
    self->found = found;
    self->arg = arg;
    self->watch_failed = false;
    s_watch_require (self, "", 0);
    if (!zhashx_lookup (self->watches, "")) {
        self->loop = NULL;
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
void
ingest_spool_unwatch (ingest_spool_t *self)
{
    assert (self);
    for (s_watch_t *watch = (s_watch_t *) zhashx_first (self->watches); watch;
         watch = (s_watch_t *) zhashx_next (self->watches))
        s_watch_close (watch);
    zhashx_purge (self->watches);
    self->loop = NULL;
}

//  --------------------------------------------------------------------------
size_t
ingest_spool_watch_count (ingest_spool_t *self)
{
    assert (self);
    return zhashx_size (self->watches);
}

//  --------------------------------------------------------------------------
//  Selftest

static void
s_touch (const char *root, const char *relative)
{
    char *path = zsys_sprintf ("%s/%s", root, relative);
    FILE *file = fopen (path, "w");
    assert (file);
    fclose (file);
    zstr_free (&path);
}

typedef struct {
    zlistx_t *found;  //  Paths reported by the watches
} s_test_t;

static void
s_test_found (void *arg, const char *path, int64_t block)
{
    (void) block;
    s_test_t *test = (s_test_t *) arg;
    zlistx_add_end (test->found, strdup (path));
}

static bool
s_test_has (zlistx_t *list, const char *path)
{
    for (char *item = (char *) zlistx_first (list); item; item = (char *) zlistx_next (list))
        if (strcmp (item, path) == 0)
            return true;
    return false;
}

//  Run the loop until path was reported or about two seconds passed.
static bool
s_test_wait (uv_loop_t *loop, s_test_t *test, const char *path)
{
    for (int round = 0; round < 200 && !s_test_has (test->found, path); round++) {
        uv_run (loop, UV_RUN_NOWAIT);
        zclock_sleep (10);
    }
    return s_test_has (test->found, path);
}

void
ingest_spool_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_spool: ");
    fflush (stdout);
    setenv ("TZ", "UTC", 1);
    tzset ();
    char root[] = "/tmp/ingest_spool_test.XXXXXX";
    assert (mkdtemp (root));
    char *path = zsys_sprintf ("%s/2026/11/20", root);
    assert (zsys_dir_create (path) == 0);
    zstr_free (&path);
    path = zsys_sprintf ("%s/2026/11/19", root);
    assert (zsys_dir_create (path) == 0);
    zstr_free (&path);
    s_touch (root, "nfcapd.202611201000");
    s_touch (root, "2026/11/20/nfcapd.202611200955");
    s_touch (root, "2026/11/19/nfcapd.202611192355");
    s_touch (root, "2026/11/20/nfcapd.202611201000");  //  same block, other file
    s_touch (root, "nfcapd.current.4711");
    s_touch (root, "2026/11/20/nfcapd.current.4711");
    s_touch (root, "nfcapd.20261120100");
    s_touch (root, "nfcapd.202611201000.tmp");
    s_touch (root, "README");
    path = zsys_sprintf ("%s/nfcapd.202611201005", root);
    assert (zsys_dir_create (path) == 0);  //  a directory with a file's name
    zstr_free (&path);
    path = zsys_sprintf ("%s/nfcapd.202611201000", root);
    char *link = zsys_sprintf ("%s/nfcapd.202611201010", root);
    assert (symlink (path, link) == 0);
    zstr_free (&link);
    zstr_free (&path);

    //  Scan: nested directories, block-time order (then path), only finished files
    char *with_slash = zsys_sprintf ("%s/", root);
    ingest_spool_t *spool = ingest_spool_new (with_slash);
    zstr_free (&with_slash);
    assert (spool);
    assert (streq (ingest_spool_root (spool), root));
    zlistx_t *list = ingest_spool_scan (spool);
    const char *expected[] = {"2026/11/19/nfcapd.202611192355", "2026/11/20/nfcapd.202611200955",
                              "2026/11/20/nfcapd.202611201000", "nfcapd.202611201000"};
    assert (zlistx_size (list) == 4);
    size_t index = 0;
    for (ingest_spool_file_t *file = (ingest_spool_file_t *) zlistx_first (list); file;
         file = (ingest_spool_file_t *) zlistx_next (list), index++) {
        assert (streq (file->path, expected[index]));
        int64_t block;
        assert (ingest_file_block_time (file->path, &block) == 0 && block == file->block);
    }
    zlistx_destroy (&list);
    assert (ingest_spool_watch_count (spool) == 0);

    //  Watch: renames into the root and into a new nested directory are reported,
    //  nfcapd.current.* is not
    uv_loop_t loop;
    uv_loop_init (&loop);
    s_test_t test = {zlistx_new ()};
    zlistx_set_destructor (test.found, (zlistx_destructor_fn *) zstr_free);
    assert (ingest_spool_watch (spool, &loop, s_test_found, &test) == 0);
    list = ingest_spool_scan (spool);
    zlistx_destroy (&list);
    assert (ingest_spool_watch_count (spool) == 6);  //  root, 2026, 11, 19, 20, nfcapd.2026...05
    s_touch (root, "nfcapd.current.4712");
    char *from = zsys_sprintf ("%s/nfcapd.current.4712", root);
    char *to = zsys_sprintf ("%s/nfcapd.202611201015", root);
    assert (rename (from, to) == 0);
    zstr_free (&to);
    assert (s_test_wait (&loop, &test, "nfcapd.202611201015"));
    path = zsys_sprintf ("%s/2026/11/21", root);
    assert (zsys_dir_create (path) == 0);
    zstr_free (&path);
    to = zsys_sprintf ("%s/2026/11/21/nfcapd.202611210000", root);
    s_touch (root, "nfcapd.current.4712");
    assert (rename (from, to) == 0);
    zstr_free (&to);
    zstr_free (&from);
    assert (s_test_wait (&loop, &test, "2026/11/21/nfcapd.202611210000"));
    for (char *item = (char *) zlistx_first (test.found); item;
         item = (char *) zlistx_next (test.found))
        assert (!strstr (item, "current"));
    assert (ingest_spool_watch_count (spool) == 7);

    //  A removed directory loses its watch at the next scan
    path = zsys_sprintf ("%s/2026/11/19/nfcapd.202611192355", root);
    unlink (path);
    zstr_free (&path);
    path = zsys_sprintf ("%s/2026/11/19", root);
    rmdir (path);
    zstr_free (&path);
    list = ingest_spool_scan (spool);
    assert (zlistx_size (list) == 5);
    zlistx_destroy (&list);
    assert (ingest_spool_watch_count (spool) == 6);
    ingest_spool_unwatch (spool);
    uv_run (&loop, UV_RUN_DEFAULT);  //  runs the close callbacks
    assert (uv_loop_close (&loop) == 0);
    ingest_spool_destroy (&spool);
    ingest_spool_destroy (&spool);
    zlistx_destroy (&test.found);

    //  Not a directory
    zsys_set_logstream (NULL);
    assert (ingest_spool_new ("/nonexistent/spool") == NULL);
    zsys_set_logstream (stdout);
    char *command = zsys_sprintf ("rm -rf '%s'", root);
    assert (system (command) == 0);
    zstr_free (&command);
    printf ("OK\n");
}
