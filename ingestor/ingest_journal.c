/*  ingest_journal.c - the done / failed journals (see ingest_journal.h).

    The lines live in a zhashx (path -> block).  The descriptor is opened O_APPEND so each
    append lands at the end even if an editor grew the file meanwhile; identity, size and
    mtime taken after each load or append tell ingest_journal_reload whether someone else
    touched the file.
*/
#include "ingestor/ingest_journal.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

struct _ingest_journal_t {
    char *path;            //  Journal file
    int fd;                //  Open for append, -1 if closed
    zhashx_t *files;       //  Path -> s_entry_t *
    int64_t newest_block;  //  Latest block recorded, -1 if none
    struct stat seen;      //  The file as of our last load or append
};

typedef struct {
    int64_t block;   //  Block start
    int64_t blocks;  //  Data blocks delivered, -1 if not recorded
    int64_t size;    //  File size then, -1 if not recorded
} s_entry_t;

static void
s_entry_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

//  --------------------------------------------------------------------------
//  Record one entry in memory (a later line of the same file replaces an earlier one).

static void
s_remember (ingest_journal_t *self, const char *file, int64_t block, int64_t blocks, int64_t size)
{
    s_entry_t *entry = (s_entry_t *) malloc (sizeof (s_entry_t));
    assert (entry);
    *entry = (s_entry_t){block, blocks, size};
    zhashx_update (self->files, file, entry);
    if (block > self->newest_block)
        self->newest_block = block;
}

//  The extent in a done line's NOTE ("blocks=N size=S"): 0 with both set, else -1.
static int
s_parse_extent (const char *note, int64_t *blocks, int64_t *size)
{
    unsigned long long n, bytes;
    char end;
    if (sscanf (note, "blocks=%llu size=%llu%c", &n, &bytes, &end) != 2 || n > UINT32_MAX ||
        bytes > INT64_MAX)
        return -1;
    *blocks = (int64_t) n;
    *size = (int64_t) bytes;
    return 0;
}

//  Parse one line (without its LF) into the table.  -1 if it does not parse.
static int
s_parse_line (ingest_journal_t *self, char *line)
{
    char *tab = strchr (line, '\t');
    if (!tab || tab == line)
        return -1;
    *tab = 0;
    char *block_text = tab + 1, *end = NULL;
    errno = 0;
    long long block = strtoll (block_text, &end, 10);
    if (errno || end == block_text || block < 0 || (*end != 0 && *end != '\t'))
        return -1;
    int64_t blocks = -1, size = -1;
    char *note = *end ? strchr (end + 1, '\t') : NULL;  //  After RECORDED
    if (note && s_parse_extent (note + 1, &blocks, &size))
        blocks = size = -1;
    s_remember (self, line, (int64_t) block, blocks, size);
    return 0;
}

//  --------------------------------------------------------------------------
//  (Re)open the file and load every complete line; cut off a torn last line.

static int
s_load (ingest_journal_t *self)
{
    if (self->fd >= 0)
        close (self->fd);
    bool existed = access (self->path, F_OK) == 0;
    self->fd = open (self->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (self->fd < 0) {
        zsys_error ("journal: cannot open %s: %s", self->path, strerror (errno));
        return -1;
    }
    if (!existed) {
        //  Make the new file's name durable too
        char *dir = strdup (self->path);
        char *slash = strrchr (dir, '/');
        if (slash)
            *slash = 0;
        int dir_fd = open (slash ? (*dir ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd >= 0) {
            fsync (dir_fd);
            close (dir_fd);
        }
        free (dir);
    }
    struct stat info;
    if (fstat (self->fd, &info)) {
        zsys_error ("journal: cannot stat %s: %s", self->path, strerror (errno));
        return -1;
    }
    size_t size = (size_t) info.st_size;
    char *text = (char *) malloc (size + 1);
    assert (text);
    size_t done = 0;
    while (done < size) {
        ssize_t got = pread (self->fd, text + done, size - done, (off_t) done);
        if (got <= 0) {
            zsys_error ("journal: cannot read %s: %s", self->path,
                        got < 0 ? strerror (errno) : "file shrank while reading");
            free (text);
            return -1;
        }
        done += (size_t) got;
    }
    zhashx_purge (self->files);
    self->newest_block = -1;
    size_t start = 0, line_number = 0;
    for (size_t at = 0; at < size; at++) {
        if (text[at] != '\n')
            continue;
        text[at] = 0;
        line_number++;
        if (at > start && s_parse_line (self, text + start))
            zsys_warning ("journal: %s line %zu does not parse, ignored", self->path, line_number);
        start = at + 1;
    }
    if (start < size) {
        zsys_warning ("journal: %s ends with a torn line (%zu bytes), dropped", self->path,
                      size - start);
        if (ftruncate (self->fd, (off_t) start) || fsync (self->fd))
            zsys_error ("journal: cannot cut %s: %s", self->path, strerror (errno));
    }
    free (text);
    fstat (self->fd, &self->seen);
    return 0;
}

//  --------------------------------------------------------------------------
ingest_journal_t *
ingest_journal_new (const char *path)
{
    assert (path);
    ingest_journal_t *self = (ingest_journal_t *) zmalloc (sizeof (ingest_journal_t));
    assert (self);
    self->path = strdup (path);
    self->fd = -1;
    self->files = zhashx_new ();
    assert (self->files);
    zhashx_set_destructor (self->files, s_entry_destroy);
    self->newest_block = -1;
    if (s_load (self))
        ingest_journal_destroy (&self);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_journal_destroy (ingest_journal_t **self_p)
{
    assert (self_p);
    ingest_journal_t *self = *self_p;
    if (!self)
        return;
    if (self->fd >= 0)
        close (self->fd);
    zhashx_destroy (&self->files);
    free (self->path);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
bool
ingest_journal_has (ingest_journal_t *self, const char *file)
{
    assert (self);
    assert (file);
    return zhashx_lookup (self->files, file) != NULL;
}

//  --------------------------------------------------------------------------
bool
ingest_journal_extent (ingest_journal_t *self, const char *file, uint32_t *blocks, uint64_t *size)
{
    assert (self);
    assert (file);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->files, file);
    if (!entry || entry->blocks < 0)
        return false;
    *blocks = (uint32_t) entry->blocks;
    *size = (uint64_t) entry->size;
    return true;
}

//  --------------------------------------------------------------------------
static int s_append (ingest_journal_t *self, const char *file, int64_t block, const char *note,
                     int64_t blocks, int64_t size);

int
ingest_journal_append (ingest_journal_t *self, const char *file, int64_t block, const char *note)
{
    return s_append (self, file, block, note, -1, -1);
}

int
ingest_journal_append_extent (ingest_journal_t *self, const char *file, int64_t block,
                              uint32_t blocks, uint64_t size)
{
    assert (size <= INT64_MAX);
    char note[64];
    snprintf (note, sizeof note, "blocks=%" PRIu32 " size=%" PRIu64, blocks, size);
    return s_append (self, file, block, note, blocks, (int64_t) size);
}

static int
s_append (ingest_journal_t *self, const char *file, int64_t block, const char *note, int64_t blocks,
          int64_t size)
{
    assert (self);
    assert (file);
    assert (*file && !strpbrk (file, "\t\n"));
    assert (block >= 0);
    char recorded[32], clean[INGEST_JOURNAL_NOTE_MAX];
    time_t now = time (NULL);
    struct tm utc;
    gmtime_r (&now, &utc);
    strftime (recorded, sizeof recorded, "%Y-%m-%dT%H:%M:%SZ", &utc);
    snprintf (clean, sizeof clean, "%s", note ? note : "");
    for (char *cursor = clean; *cursor; cursor++)
        if (*cursor == '\t' || *cursor == '\n' || *cursor == '\r')
            *cursor = ' ';
    char *line = zsys_sprintf ("%s\t%" PRId64 "\t%s\t%s\n", file, block, recorded, clean);
    assert (line);
    size_t length = strlen (line);
    //  One write: a crash can tear only this line, and loading cuts a torn line off
    ssize_t written = write (self->fd, line, length);
    int rc = 0;
    if (written != (ssize_t) length || fsync (self->fd)) {
        zsys_error ("journal: cannot append to %s: %s", self->path,
                    written < 0 || written == (ssize_t) length ? strerror (errno) : "short write");
        if (written > 0 && written != (ssize_t) length) {
            //  Cut the partial line off again so the next append starts clean
            struct stat info;
            if (fstat (self->fd, &info) == 0 && ftruncate (self->fd, info.st_size - written))
                zsys_error ("journal: cannot cut %s: %s", self->path, strerror (errno));
        }
        rc = -1;
    }
    s_remember (self, file, block, blocks, size);  //  Even on failure: not redone here
    zstr_free (&line);
    fstat (self->fd, &self->seen);
    return rc;
}

//  --------------------------------------------------------------------------
size_t
ingest_journal_size (ingest_journal_t *self)
{
    assert (self);
    return zhashx_size (self->files);
}

//  --------------------------------------------------------------------------
int64_t
ingest_journal_newest_block (ingest_journal_t *self)
{
    assert (self);
    return self->newest_block;
}

//  --------------------------------------------------------------------------
int
ingest_journal_reload (ingest_journal_t *self)
{
    assert (self);
    struct stat info;
    if (stat (self->path, &info) == 0 && info.st_ino == self->seen.st_ino &&
        info.st_dev == self->seen.st_dev && info.st_size == self->seen.st_size &&
        info.st_mtim.tv_sec == self->seen.st_mtim.tv_sec &&
        info.st_mtim.tv_nsec == self->seen.st_mtim.tv_nsec)
        return 0;
    return s_load (self) ? -1 : 1;
}

//  --------------------------------------------------------------------------
//  Selftest

static void
s_write_file (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
}

static char *
s_read_file (const char *path)
{
    FILE *file = fopen (path, "r");
    assert (file);
    static const size_t room = 4096;
    char *text = (char *) zmalloc (room);
    size_t got = fread (text, 1, room - 1, file);
    text[got] = 0;
    fclose (file);
    return text;
}

void
ingest_journal_test (bool verbose)
{
    printf (" * ingest_journal: ");
    fflush (stdout);
    if (!verbose)
        zsys_set_logstream (NULL);  //  The warnings below are expected
    char dir[] = "/tmp/ingest_journal_test.XXXXXX";
    assert (mkdtemp (dir));
    char *path = zsys_sprintf ("%s/done.journal", dir);

    //  A new journal is empty and created on disk
    ingest_journal_t *journal = ingest_journal_new (path);
    assert (journal);
    assert (ingest_journal_size (journal) == 0);
    assert (ingest_journal_newest_block (journal) == -1);
    assert (access (path, F_OK) == 0);
    assert (ingest_journal_reload (journal) == 0);
    assert (ingest_journal_append (journal, "2026/11/20/nfcapd.202611201000", 1795168800, NULL) ==
            0);
    assert (ingest_journal_append (journal, "nfcapd.202611201005", 1795169100, "bad\tnote\n") == 0);
    assert (ingest_journal_reload (journal) == 0);  //  our own appends are no change
    assert (ingest_journal_has (journal, "nfcapd.202611201005"));
    assert (!ingest_journal_has (journal, "nfcapd.202611201010"));
    assert (ingest_journal_size (journal) == 2);
    assert (ingest_journal_newest_block (journal) == 1795169100);
    ingest_journal_destroy (&journal);
    ingest_journal_destroy (&journal);
    char *text = s_read_file (path);
    assert (strstr (text, "nfcapd.202611201005\t1795169100\t"));
    assert (strstr (text, "\tbad note \n"));  //  note cleaned up
    zstr_free (&text);

    //  Reload after a torn last line: the complete lines stay, the torn one is cut off
    FILE *file = fopen (path, "a");
    fputs ("nfcapd.202611201010\t17951", file);
    fclose (file);
    journal = ingest_journal_new (path);
    assert (journal);
    assert (ingest_journal_size (journal) == 2);
    assert (!ingest_journal_has (journal, "nfcapd.202611201010"));
    assert (ingest_journal_append (journal, "nfcapd.202611201010", 1795169400, NULL) == 0);
    ingest_journal_destroy (&journal);
    journal = ingest_journal_new (path);
    assert (ingest_journal_size (journal) == 3);
    assert (ingest_journal_has (journal, "nfcapd.202611201010"));
    assert (ingest_journal_newest_block (journal) == 1795169400);

    //  The operator edits the file (removes lines, adds junk): reload notices
    s_write_file (path, "nfcapd.202611201005\t1795169100\t2026-11-20T10:06:00Z\t\n"
                        "garbage line\n\nnfcapd.x\tnotanumber\n");
    assert (ingest_journal_reload (journal) == 1);
    assert (ingest_journal_size (journal) == 1);
    assert (ingest_journal_has (journal, "nfcapd.202611201005"));
    assert (!ingest_journal_has (journal, "nfcapd.202611201010"));
    assert (ingest_journal_reload (journal) == 0);
    //  Appends still go to the end of the edited file
    assert (ingest_journal_append (journal, "nfcapd.202611201015", 1795169700, "x") == 0);
    ingest_journal_destroy (&journal);
    journal = ingest_journal_new (path);
    assert (ingest_journal_size (journal) == 2);

    //  Extents: none on old lines and failures; the latest line of a file wins, reloaded
    uint32_t blocks;
    uint64_t size;
    assert (!ingest_journal_extent (journal, "nfcapd.202611201005", &blocks, &size));
    assert (!ingest_journal_extent (journal, "nfcapd.202611201020", &blocks, &size));
    assert (ingest_journal_append_extent (journal, "nfcapd.202611201020", 1795170000, 3, 4096) ==
            0);
    assert (ingest_journal_extent (journal, "nfcapd.202611201020", &blocks, &size));
    assert (blocks == 3 && size == 4096);
    assert (ingest_journal_append_extent (journal, "nfcapd.202611201020", 1795170000, 5,
                                          8000000000ULL) == 0);
    ingest_journal_destroy (&journal);
    journal = ingest_journal_new (path);
    assert (ingest_journal_size (journal) == 3);
    assert (ingest_journal_extent (journal, "nfcapd.202611201020", &blocks, &size));
    assert (blocks == 5 && size == 8000000000ULL);
    text = s_read_file (path);
    assert (strstr (text, "\tblocks=5 size=8000000000\n"));
    zstr_free (&text);
    s_write_file (path,
                  "nfcapd.202611201005\t1795169100\t2026-11-20T10:06:00Z\tblocks=x size=1\n"
                  "nfcapd.202611201010\t1795169400\t2026-11-20T10:11:00Z\tblocks=2 size=9 z\n");
    assert (ingest_journal_reload (journal) == 1);
    assert (ingest_journal_size (journal) == 2);
    assert (!ingest_journal_extent (journal, "nfcapd.202611201005", &blocks, &size));
    assert (!ingest_journal_extent (journal, "nfcapd.202611201010", &blocks, &size));
    ingest_journal_destroy (&journal);

    //  A journal that cannot be opened gives NULL
    char *bad = zsys_sprintf ("%s/missing/dir/done.journal", dir);
    assert (ingest_journal_new (bad) == NULL);
    zstr_free (&bad);

    unlink (path);
    rmdir (dir);
    zstr_free (&path);
    zsys_set_logstream (stdout);
    printf ("OK\n");
}
