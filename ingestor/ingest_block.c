/*  ingest_block.c - one nfcapd block: read, check, decompress (see ingest_block.h).

    The loader is a zactor; its pipe carries job pointers both ways ("LOAD" + pointer in,
    the same pointer back), so the job, not shared memory, moves between the threads.
    The thread owns its ZSTD context.
*/
#include "ingestor/ingest_block.h"
#include "ingestor/ingest_reader.h"

#include <assert.h>
#include <bzlib.h>
#include <czmq.h>
#include <errno.h>
#include <lz4.h>
#include <lzo1x.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <zstd.h>

struct _ingest_block_loader_t {
    zactor_t *actor;                              //  The loader thread
    ingest_block_t *pending[INGEST_BLOCK_QUEUE];  //  Jobs with the thread, oldest first
    size_t pending_count;                         //  Entries used
};

//  --------------------------------------------------------------------------
int
ingest_block_fail (ingest_block_t *job, const char *format, ...)
{
    assert (job);
    assert (format);
    va_list args;
    va_start (args, format);
    vsnprintf (job->error, sizeof job->error, format, args);
    va_end (args);
    job->rc = -1;
    return -1;
}

//  --------------------------------------------------------------------------

int
ingest_block_read (ingest_block_t *job, void *buffer, size_t size, uint64_t offset,
                   const char *what)
{
    assert (job);
    assert (buffer);
    assert (what);
    if (offset > job->file_size || size > job->file_size - offset)
        return ingest_block_fail (
            job, "truncated: %s needs %zu bytes at offset %llu, file has %llu", what, size,
            (unsigned long long) offset, (unsigned long long) job->file_size);
    size_t done = 0;
    while (done < size) {
        ssize_t got =
            pread (job->fd, (uint8_t *) buffer + done, size - done, (off_t) (offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return ingest_block_fail (job, "read failed at offset %llu: %s",
                                      (unsigned long long) (offset + done), strerror (errno));
        if (got == 0)
            return ingest_block_fail (job, "truncated: %s ends at offset %llu", what,
                                      (unsigned long long) (offset + done));
        done += (size_t) got;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Decompress size bytes of raw into data with the file's codec; sets data_size.

static int
s_decompress (ingest_block_t *job, uint32_t size, void **zstd)
{
    switch (job->compression) {
    case INGEST_COMPRESS_NONE:
        memcpy (job->data, job->raw, size);
        job->data_size = size;
        return 0;
    case INGEST_COMPRESS_LZO: {
        lzo_uint out_size = INGEST_READER_BUFFSIZE;
        int rc = lzo1x_decompress_safe (job->raw, size, job->data, &out_size, NULL);
        if (rc != LZO_E_OK)
            return ingest_block_fail (job, "block %u: LZO data corrupt (lzo error %d)", job->index,
                                      rc);
        job->data_size = out_size;
        return 0;
    }
    case INGEST_COMPRESS_BZ2: {
        unsigned int out_size = INGEST_READER_BUFFSIZE;
        int rc = BZ2_bzBuffToBuffDecompress ((char *) job->data, &out_size, (char *) job->raw, size,
                                             0, 0);
        if (rc != BZ_OK)
            return ingest_block_fail (job, "block %u: BZ2 data corrupt (bzip2 error %d)",
                                      job->index, rc);
        job->data_size = out_size;
        return 0;
    }
    case INGEST_COMPRESS_LZ4: {
        int out_size = LZ4_decompress_safe ((const char *) job->raw, (char *) job->data, (int) size,
                                            INGEST_READER_BUFFSIZE);
        if (out_size < 0)
            return ingest_block_fail (job, "block %u: LZ4 data corrupt", job->index);
        job->data_size = (size_t) out_size;
        return 0;
    }
    case INGEST_COMPRESS_ZSTD: {
        if (!*zstd)
            *zstd = ZSTD_createDCtx ();
        if (!*zstd)
            return ingest_block_fail (job, "out of memory for a ZSTD context");
        size_t out_size = ZSTD_decompressDCtx ((ZSTD_DCtx *) *zstd, job->data,
                                               INGEST_READER_BUFFSIZE, job->raw, size);
        if (ZSTD_isError (out_size))
            return ingest_block_fail (job, "block %u: ZSTD data corrupt (%s)", job->index,
                                      ZSTD_getErrorName (out_size));
        job->data_size = out_size;
        return 0;
    }
    default:
        return ingest_block_fail (job, "unknown compression %u", job->compression);
    }
}

//  --------------------------------------------------------------------------
int
ingest_block_load_header (ingest_block_t *job)
{
    assert (job);
    job->rc = 0;
    job->error[0] = 0;
    uint8_t header[INGEST_BLOCK_HEADER_SIZE];
    char what[64];
    snprintf (what, sizeof what, "header of block %u", job->index);
    if (ingest_block_read (job, header, sizeof header, job->offset, what))
        return -1;
    uint32_t size;
    memcpy (&job->records, header, 4);
    memcpy (&size, header + 4, 4);
    memcpy (&job->type, header + 8, 2);
    if (size == 0 || job->records == 0)
        return ingest_block_fail (job, "block %u at offset %llu is corrupt: %u records in %u bytes",
                                  job->index, (unsigned long long) job->offset, job->records, size);
    if (size > INGEST_READER_BUFFSIZE - INGEST_BLOCK_HEADER_SIZE)
        return ingest_block_fail (
            job, "block %u at offset %llu is corrupt: size %u exceeds %d bytes", job->index,
            (unsigned long long) job->offset, size, INGEST_READER_BUFFSIZE);
    job->next_offset = job->offset + INGEST_BLOCK_HEADER_SIZE + size;
    if (job->limit && job->next_offset > job->limit && job->next_offset <= job->file_size)
        return ingest_block_fail (job, "corrupt: block %u runs past offset %llu", job->index,
                                  (unsigned long long) job->limit);
    job->raw_size = size;
    job->header_done = true;
    return 0;
}

//  --------------------------------------------------------------------------
int
ingest_block_load (ingest_block_t *job, void **zstd)
{
    assert (job);
    assert (zstd);
    job->rc = 0;
    job->error[0] = 0;
    if (!job->header_done && ingest_block_load_header (job))
        return -1;
    job->header_done = false;  //  Used: the next load of this job reads its header again
    char what[64];
    snprintf (what, sizeof what, "data of block %u", job->index);
    if (ingest_block_read (job, job->raw, job->raw_size, job->offset + INGEST_BLOCK_HEADER_SIZE,
                           what))
        return -1;
    if (s_decompress (job, job->raw_size, zstd))
        return -1;
    if (job->process && job->process (job)) {
        job->rc = -1;
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
void
ingest_block_free_zstd (void **zstd)
{
    assert (zstd);
    ZSTD_freeDCtx ((ZSTD_DCtx *) *zstd);
    *zstd = NULL;
}

//  --------------------------------------------------------------------------
//  The loader thread: "LOAD" + job pointer in, the job pointer back when done.

static void
s_loader_actor (zsock_t *pipe, void *args)
{
    (void) args;
    void *zstd = NULL;
    uint64_t next_offset = 0;  //  Where a chained job starts
    bool broken = false;       //  The previous job failed: chained jobs fail too
    //  No signal may interrupt this thread: a picture message cut by EINTR between its
    //  frames would desynchronise the pipe.  Signals go to the owner's thread.
    sigset_t all;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, NULL);
    zsock_signal (pipe, 0);
    while (true) {
        char *command = NULL;
        void *pointer = NULL;
        if (zsock_recv (pipe, "sp", &command, &pointer) == -1) {
            if (errno == EINTR)
                continue;  //  Not expected (signals are blocked), but never lose a job
            break;         //  The context is terminating
        }
        bool terminate = streq (command, "$TERM");
        if (!terminate) {
            assert (streq (command, "LOAD"));  //  Internal pipe: anything else is a bug
            ingest_block_t *job = (ingest_block_t *) pointer;
            if (job->chained && broken) {
                job->rc = -1;
                snprintf (job->error, sizeof job->error, "block %u follows a failed block",
                          job->index);
            }
            else if (job->chained && job->limit && next_offset >= job->limit) {
                job->rc = -1;
                snprintf (job->error, sizeof job->error,
                          "corrupt: block %u would start in the appendix", job->index);
            }
            else {
                if (job->chained)
                    job->offset = next_offset;
                ingest_block_load (job, &zstd);
            }
            broken = job->rc != 0;
            next_offset = job->next_offset;
            zsock_send (pipe, "p", job);
        }
        zstr_free (&command);
        if (terminate)
            break;
    }
    ingest_block_free_zstd (&zstd);
}

//  --------------------------------------------------------------------------
ingest_block_loader_t *
ingest_block_loader_new (void)
{
    ingest_block_loader_t *self = (ingest_block_loader_t *) zmalloc (sizeof (*self));
    assert (self);
    self->actor = zactor_new (s_loader_actor, NULL);
    if (!self->actor)
        ingest_block_loader_destroy (&self);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_block_loader_destroy (ingest_block_loader_t **self_p)
{
    assert (self_p);
    ingest_block_loader_t *self = *self_p;
    if (!self)
        return;
    while (self->pending_count)
        ingest_block_loader_wait (self);
    zactor_destroy (&self->actor);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_block_loader_start (ingest_block_loader_t *self, ingest_block_t *job)
{
    assert (self);
    assert (job);
    assert (self->pending_count < INGEST_BLOCK_QUEUE);
    job->rc = 0;
    if (!job->header_done)
        job->next_offset = 0;
    self->pending[self->pending_count++] = job;
    zsock_send (self->actor, "sp", "LOAD", job);
}

//  --------------------------------------------------------------------------
ingest_block_t *
ingest_block_loader_wait (ingest_block_loader_t *self)
{
    assert (self);
    if (self->pending_count == 0)
        return NULL;
    ingest_block_t *job = self->pending[0];
    void *returned = NULL;
    //  The job must come back before anyone touches its buffers again, even if a signal
    //  interrupts the first wait.
    //  Ctrl-C (czmq's handler sets zsys_interrupted) fails the job; other signals do not.
    bool interrupted = false;
    while (zsock_recv (self->actor, "p", &returned) == -1 && errno == EINTR)
        interrupted = interrupted || zsys_interrupted;
    assert (returned == job);  //  The thread answers in order, every job
    if (interrupted && job->rc == 0) {
        job->rc = -1;
        snprintf (job->error, sizeof job->error, "interrupted");
    }
    memmove (&self->pending[0], &self->pending[1],
             (self->pending_count - 1) * sizeof (ingest_block_t *));
    self->pending_count--;
    return job;
}

//  --------------------------------------------------------------------------
size_t
ingest_block_loader_pending (ingest_block_loader_t *self)
{
    assert (self);
    return self->pending_count;
}

//  --------------------------------------------------------------------------
bool
ingest_block_loader_busy (ingest_block_loader_t *self)
{
    assert (self);
    return self->pending_count > 0;
}

//  --------------------------------------------------------------------------
static void
s_test_on_alarm (int signum)
{
    (void) signum;
}

void
ingest_block_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_block: ");
    //  A file of one uncompressed block of 3 records (payload bytes are not records here:
    //  the loader does not look inside), then a truncated copy.
    char path[] = "/tmp/ingest_block_test.XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    unlink (path);
    uint8_t file[INGEST_BLOCK_HEADER_SIZE + 8] = {3, 0, 0, 0, 8, 0, 0, 0, 3, 0,
                                                  0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    assert (write (fd, file, sizeof file) == (ssize_t) sizeof file);
    uint8_t *raw = (uint8_t *) malloc (INGEST_READER_BUFFSIZE);
    uint8_t *data = (uint8_t *) malloc (INGEST_READER_BUFFSIZE);
    assert (raw && data);
    ingest_block_t job = {.fd = fd, .file_size = sizeof file, .raw = raw, .data = data};
    void *zstd = NULL;
    assert (ingest_block_load (&job, &zstd) == 0);
    assert (job.records == 3 && job.type == 3 && job.data_size == 8);
    assert (job.next_offset == sizeof file && data[7] == 8);

    ingest_block_loader_t *loader = ingest_block_loader_new ();
    assert (loader);
    assert (ingest_block_loader_wait (loader) == NULL);
    for (int round = 0; round < 100; round++) {
        job.file_size = round % 2 ? sizeof file : sizeof file - 1;
        ingest_block_loader_start (loader, &job);
        assert (ingest_block_loader_busy (loader));
        assert (ingest_block_loader_wait (loader) == &job);
        assert (!ingest_block_loader_busy (loader));
        if (round % 2)
            assert (job.rc == 0 && job.data_size == 8);
        else
            assert (job.rc == -1 && strstr (job.error, "truncated"));
    }
    //  Chained: the second job starts where the first ended (here: the end of the file,
    //  so it is truncated); after a failure, chained jobs fail too
    ingest_block_t second = job, third = job;
    job.file_size = sizeof file;
    job.chained = false;
    second.chained = third.chained = true;
    second.offset = third.offset = 12345;  //  ignored
    ingest_block_loader_start (loader, &job);
    ingest_block_loader_start (loader, &second);
    assert (ingest_block_loader_pending (loader) == INGEST_BLOCK_QUEUE);
    assert (ingest_block_loader_wait (loader) == &job && job.rc == 0);
    ingest_block_loader_start (loader, &third);
    assert (ingest_block_loader_wait (loader) == &second && second.rc == -1);
    assert (second.offset == sizeof file && strstr (second.error, "truncated"));
    assert (ingest_block_loader_wait (loader) == &third && third.rc == -1);
    assert (strstr (third.error, "follows a failed block"));
    //  A storm of harmless signals (an alarm every 100 usecs, no SA_RESTART) that only the
    //  loader thread could take, if it did not block them, must neither lose a job nor
    //  fail one
    struct sigaction action = {.sa_handler = s_test_on_alarm}, previous;
    sigemptyset (&action.sa_mask);
    sigaction (SIGALRM, &action, &previous);
    struct itimerval every = {{0, 100}, {0, 100}}, stop = {{0, 0}, {0, 0}};
    //  Blocked here, so that the loader thread is the one interrupted
    sigset_t alarm_only, old_mask;
    sigemptyset (&alarm_only);
    sigaddset (&alarm_only, SIGALRM);
    pthread_sigmask (SIG_BLOCK, &alarm_only, &old_mask);
    setitimer (ITIMER_REAL, &every, NULL);
    for (int round = 0; round < 2000; round++) {
        job.chained = false;
        job.file_size = sizeof file;
        ingest_block_loader_start (loader, &job);
        assert (ingest_block_loader_wait (loader) == &job);
        assert (job.rc == 0 && job.data_size == 8);
    }
    setitimer (ITIMER_REAL, &stop, NULL);
    pthread_sigmask (SIG_SETMASK, &old_mask, NULL);
    sigaction (SIGALRM, &previous, NULL);
    //  Destroying with a job in progress waits for it
    ingest_block_loader_start (loader, &job);
    ingest_block_loader_destroy (&loader);
    ingest_block_loader_destroy (&loader);
    ingest_block_free_zstd (&zstd);
    close (fd);
    free (raw);
    free (data);
    printf ("OK\n");
}
