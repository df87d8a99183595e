/*  ingest_service.c - the delivery service (see ingest_service.h).

    A file moves through four places, and its path is in `queued` from the first to the
    last:

        pending (sorted by block, path) -> job (worker: read, split, encode)
            -> ready (parts made) -> delivering (ingest_deliver) -> done or failed journal

    Only the loop thread touches the service; a job's fields are the worker's between
    uv_queue_work and its after-work callback, which runs on the loop thread again.  The
    reader (ingest_file_t) is lent to one job at a time.  A job split with a map whose
    slots changed since is read again.
*/
#include "ingestor/ingest_service.h"
#include "ingestor/ingest_broker.h"
#include "ingestor/ingest_deliver.h"
#include "ingestor/ingest_file.h"
#include "ingestor/ingest_journal.h"
#include "ingestor/ingest_part.h"
#include "ingestor/ingest_spool.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_SECS 300  //  A block is five minutes

typedef struct {
    uv_work_t work;                    //  libuv request; work.data points here
    ingest_service_t *service;         //  Owner
    ingest_spool_file_t *entry;        //  The file (path relative to the spool, block)
    char *path;                        //  Path to open
    uint16_t slots[PROTO_SLOT_COUNT];  //  Map the parts were split with
    size_t shard_count;                //  Its shard count
    uint64_t request_id;               //  Request id of the parts
    char *part_file;  //  The parts' file: the path, or PATH#FIRST-END for appended blocks
    int rc;           //  0 read and split, -1 failed, -2 file gone
    char error[INGEST_READER_ERROR_MAX + 256];  //  Why it failed, naming the file
    ingest_file_stats_t stats;                  //  What the file held
    zframe_t **frames;                          //  One part per shard
    int64_t started;                            //  Mono msecs when the job was queued
    int64_t read_msecs;                         //  Reading and aggregating took
    int64_t split_msecs;                        //  Splitting and encoding took
} s_job_t;

typedef struct {
    int64_t at;      //  Mono msecs when a file was done
    uint64_t flows;  //  Its flows
} s_rate_t;

struct _ingest_service_t {
    ingest_options_t *options;         //  Borrowed configuration
    uv_loop_t loop;                    //  The event loop
    uv_signal_t sigint, sigterm;       //  Shutdown signals
    uv_timer_t tick;                   //  Housekeeping
    uv_timer_t rescan;                 //  Periodic spool scan (service mode)
    uv_prepare_t drain;                //  Drains the sockets before the loop sleeps
    char *spool_root;                  //  Real path of the spool
    int lock_fd;                       //  STATE/lock, flock'ed
    ingest_journal_t *done;            //  Files every shard acknowledged
    ingest_journal_t *failed;          //  Files that could not be read or were refused
    ingest_spool_t *spool;             //  The spool (service mode only)
    ingest_broker_t *broker;           //  Broker link
    ingest_deliver_t *deliver;         //  Shard sockets and the current delivery
    ingest_file_t *reader;             //  Lent to the running job
    zlistx_t *pending;                 //  ingest_spool_file_t waiting, sorted
    zhashx_t *queued;                  //  Paths from pending to delivered
    zhashx_t *too_old;                 //  Paths refused as too old by this process
    zhashx_t *append_failed;           //  Path -> size of a grown done file not readable
    proto_curve_t *curve;              //  CURVE keys for every socket, or NULL (plain)
    s_job_t *job;                      //  Running in the worker, or NULL
    s_job_t *ready;                    //  Parts made, waiting for the delivery, or NULL
    s_job_t *delivering;               //  With ingest_deliver, or NULL
    uint16_t slots[PROTO_SLOT_COUNT];  //  Current map's slots
    size_t shard_count;                //  Current map's shards, 0 before a map
    bool hold;                         //  The map says hold: a slot move is under way
    zhashx_t *begun;                   //  Paths whose delivery began and did not end
    uint64_t map_epoch;                //  Current map's epoch
    uint64_t request_seq;              //  Last request id given to parts
    bool file_mode;                    //  FILEs given: stop when they are all handled
    bool stopping;                     //  Shutting down
    int exit_code;                     //  What ingest_service_run returns
    size_t failed_here;                //  Files failed by this process
    size_t appended_here;              //  Appended blocks delivered by this process
    zlistx_t *rates;                   //  s_rate_t of the files done lately
    int64_t started;                   //  Mono msecs at start
    int64_t waiting_logged;            //  Mono msecs of the last "waiting for map" log
};

//  --------------------------------------------------------------------------
//  Jobs

static s_job_t *
s_job_new (ingest_service_t *self, ingest_spool_file_t *entry)
{
    s_job_t *job = (s_job_t *) zmalloc (sizeof (s_job_t));
    assert (job);
    job->work.data = job;
    job->service = self;
    job->entry = entry;
    job->path = entry->path[0] == '/' ? strdup (entry->path)
                                      : zsys_sprintf ("%s/%s", self->spool_root, entry->path);
    memcpy (job->slots, self->slots, sizeof job->slots);
    job->shard_count = self->shard_count;
    job->request_id = ++self->request_seq;
    job->started = zclock_mono ();
    return job;
}

static void
s_job_destroy (s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    if (job->frames)
        for (size_t shard = 0; shard < job->shard_count; shard++)
            zframe_destroy (&job->frames[shard]);
    free (job->frames);
    ingest_spool_file_destroy (&job->entry);
    zstr_free (&job->path);
    zstr_free (&job->part_file);
    free (job);
    *job_p = NULL;
}

//  The worker: read, aggregate, split, encode.  No socket; of the service it uses only
//  the options (constant) and the reader (lent to this job).
static void
s_work (uv_work_t *request)
{
    s_job_t *job = (s_job_t *) request->data;
    int64_t start = zclock_mono ();
    ingest_agg_t *agg = NULL;
    uint32_t skip = job->entry->skip_blocks;
    ingest_file_set_skip_blocks (job->service->reader, skip);
    if (ingest_file_read (job->service->reader, job->path, job->entry->block, &agg, &job->stats)) {
        struct stat info;
        job->rc = stat (job->path, &info) && errno == ENOENT ? -2 : -1;
        snprintf (job->error, sizeof job->error, "%s", ingest_file_error (job->service->reader));
        return;
    }
    job->read_msecs = zclock_mono () - start;
    if (skip && job->stats.data_blocks <= skip) {
        //  Grown, but its header does not count more blocks yet (nfcapd rewrites it last)
        job->rc = -3;
        ingest_agg_destroy (&agg);
        return;
    }
    //  Blocks appended after delivery are a part of their own: a new id, never a resend
    job->part_file = skip ? zsys_sprintf ("%s#%" PRIu32 "-%" PRIu32, job->entry->path, skip,
                                          job->stats.data_blocks)
                          : strdup (job->entry->path);
    ingest_part_info_t info = {job->service->options->name,
                               job->part_file,
                               job->entry->block,
                               job->request_id,
                               job->slots,
                               job->shard_count};
    job->frames = (zframe_t **) calloc (job->shard_count, sizeof (zframe_t *));
    assert (job->frames);
    char error[256];
    if (ingest_part_split (agg, &info, job->frames, NULL, error, sizeof error)) {
        snprintf (job->error, sizeof job->error, "%s: cannot make its parts: %s", job->path, error);
        job->rc = -1;
    }
    ingest_agg_destroy (&agg);
    job->split_msecs = zclock_mono () - start - job->read_msecs;
}

//  --------------------------------------------------------------------------
//  The queue

static void s_schedule (ingest_service_t *self);

//  A done file of the spool that grew since it was read (nfcapd appends to a file that
//  exists when it rotates, e.g. after a restart within the interval): true with *skip
//  set to the data blocks delivered.  Only files whose line records their extent, of the
//  last INGEST_SERVICE_APPEND_SECS before the newest block done, and not failed.
static bool
s_grown (ingest_service_t *self, const char *path, int64_t block, uint32_t *skip)
{
    uint32_t blocks;
    uint64_t size;
    if (self->file_mode || ingest_journal_has (self->failed, path) ||
        !ingest_journal_extent (self->done, path, &blocks, &size) ||
        block < ingest_journal_newest_block (self->done) - INGEST_SERVICE_APPEND_SECS)
        return false;
    char *full = zsys_sprintf ("%s/%s", self->spool_root, path);
    struct stat info;
    int rc = stat (full, &info);
    zstr_free (&full);
    if (rc || (uint64_t) info.st_size <= size)
        return false;
    int64_t *failed_size = (int64_t *) zhashx_lookup (self->append_failed, path);
    if (failed_size && *failed_size == (int64_t) info.st_size)
        return false;  //  Read at this size and found nothing new or unreadable
    *skip = blocks;
    return true;
}

static void
s_enqueue (ingest_service_t *self, const char *path, int64_t block)
{
    uint32_t skip = 0;
    if (zhashx_lookup (self->queued, path) || zhashx_lookup (self->too_old, path) ||
        (ingest_journal_has (self->done, path) && !s_grown (self, path, block, &skip)) ||
        (!self->file_mode && !skip && ingest_journal_has (self->failed, path)))
        return;
    ingest_spool_file_t *entry = ingest_spool_file_new (path, block);
    entry->skip_blocks = skip;
    zlistx_insert (self->pending, entry, false);
    zhashx_insert (self->queued, path, (void *) 1);
    if (self->options->verbose || skip)
        zsys_debug ("queued %s%s", path, skip ? " (grew after delivery)" : "");
}

static void
s_size_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

//  A grown done file's new blocks could not be read (-1) or are not counted yet (-3):
//  remembered with its size, tried again once the file changes.
static void
s_append_wait (ingest_service_t *self, s_job_t *job)
{
    struct stat info;
    int64_t *size = (int64_t *) malloc (sizeof (int64_t));
    assert (size);
    *size = stat (job->path, &info) ? -1 : (int64_t) info.st_size;
    zhashx_update (self->append_failed, job->entry->path, size);
    zhashx_delete (self->queued, job->entry->path);
    if (job->rc == -1)
        zsys_warning ("%s: grew after delivery, but its new blocks cannot be read (yet): %s; "
                      "tried again when it changes",
                      job->entry->path, job->error);
}

static void
s_on_found (void *arg, const char *path, int64_t block)
{
    ingest_service_t *self = (ingest_service_t *) arg;
    s_enqueue (self, path, block);
    s_schedule (self);
}

//  Put a job's file back in the queue (its parts are dropped) to be read again.
static void
s_requeue (ingest_service_t *self, s_job_t **job_p)
{
    zlistx_insert (self->pending, (*job_p)->entry, true);
    (*job_p)->entry = NULL;
    s_job_destroy (job_p);
}

//  A file that cannot be delivered: logged once, recorded, never tried again.
static void
s_fail (ingest_service_t *self, ingest_spool_file_t *entry, const char *reason)
{
    zsys_error ("%s (recorded in %s/failed.journal; remove its line there to retry)", reason,
                self->options->state);
    ingest_journal_append (self->failed, entry->path, entry->block, reason);
    zhashx_delete (self->queued, entry->path);
    self->failed_here++;
}

static void
s_stop (ingest_service_t *self, int exit_code)
{
    if (self->stopping)
        return;
    self->stopping = true;
    self->exit_code = exit_code;
    uv_stop (&self->loop);
}

//  --------------------------------------------------------------------------
//  Worker done (loop thread).

static void
s_on_work_done (uv_work_t *request, int status)
{
    s_job_t *job = (s_job_t *) request->data;
    ingest_service_t *self = job->service;
    self->job = NULL;
    if (status == UV_ECANCELED || self->stopping) {
        s_job_destroy (&job);
        return;
    }
    if (job->rc == -2) {
        zsys_notice ("%s: gone before it could be read", job->path);
        zhashx_delete (self->queued, job->entry->path);
        s_job_destroy (&job);
    }
    else if (job->entry->skip_blocks && job->rc < 0) {
        s_append_wait (self, job);
        s_job_destroy (&job);
    }
    else if (job->rc == -1) {
        s_fail (self, job->entry, job->error);
        s_job_destroy (&job);
    }
    else
        self->ready = job;
    s_schedule (self);
}

//  --------------------------------------------------------------------------
//  Delivery outcome.

static void
s_on_result (void *arg, ingest_deliver_result_t result, const char *reason)
{
    ingest_service_t *self = (ingest_service_t *) arg;
    s_job_t *job = self->delivering;
    assert (job);
    self->delivering = NULL;
    zhashx_delete (self->begun, job->entry->path);
    char block[32];
    if (result == INGEST_DELIVER_DONE && ingest_deliver_expired (self->deliver)) {
        //  Not marked done: a restart with a longer retention takes it in
        zhashx_delete (self->queued, job->entry->path);
        zhashx_insert (self->too_old, job->entry->path, (void *) 1);
        zsys_warning ("%s: block %s is older than the shards' retention: %zu of %zu shards "
                      "refused it, nothing stored (not marked done: raise retention_days, "
                      "e.g. portevo up --retention-days N, and restart to take it in)",
                      job->entry->path, proto_time_format (job->entry->block, block),
                      ingest_deliver_expired (self->deliver), job->shard_count);
    }
    else if (result == INGEST_DELIVER_DONE) {
        ingest_journal_append_extent (self->done, job->entry->path, job->entry->block,
                                      job->stats.data_blocks, job->stats.file_size);
        zhashx_delete (self->queued, job->entry->path);
        zhashx_delete (self->append_failed, job->entry->path);
        char appended[64] = "";
        if (job->entry->skip_blocks) {
            snprintf (appended, sizeof appended, " (data blocks %" PRIu32 "-%" PRIu32 " appended)",
                      job->entry->skip_blocks, job->stats.data_blocks);
            self->appended_here++;
        }
        zsys_info ("%s: delivered%s, block %s, %" PRIu64 " flows, %" PRIu64 " matched, %" PRIu64
                   " pairs, %" PRIu64 " matched in, %" PRIu64 " pairs in, %zu shards, %" PRId64
                   " msecs (read %" PRId64 ", parts %" PRId64 ")",
                   job->entry->path, appended, proto_time_format (job->entry->block, block),
                   job->stats.flows, job->stats.matched, job->stats.pairs, job->stats.matched_in,
                   job->stats.pairs_in, job->shard_count, zclock_mono () - job->started,
                   job->read_msecs, job->split_msecs);
        s_rate_t *rate = (s_rate_t *) zmalloc (sizeof (s_rate_t));
        rate->at = zclock_mono ();
        rate->flows = job->stats.flows;
        zlistx_add_end (self->rates, rate);
    }
    else {
        char *text = zsys_sprintf ("%s: delivery failed: %s", job->path, reason);
        s_fail (self, job->entry, text);
        zstr_free (&text);
    }
    s_job_destroy (&job);
    s_schedule (self);
}

static void
s_on_stale (void *arg)
{
    ingest_broker_request_map (((ingest_service_t *) arg)->broker);
}

//  --------------------------------------------------------------------------
//  A new map: follow it; parts split with other slots are made again.

static void
s_on_map (void *arg, proto_msg_t *map)
{
    ingest_service_t *self = (ingest_service_t *) arg;
    size_t shard_count = ingest_broker_shard_count (self->broker);
    bool changed = shard_count != self->shard_count ||
                   memcmp (self->slots, proto_msg_slots (map), sizeof self->slots) != 0;
    if (changed && self->shard_count)
        zsys_notice ("map: the slots changed: parts not yet acknowledged are made again");
    memcpy (self->slots, proto_msg_slots (map), sizeof self->slots);
    self->shard_count = shard_count;
    if (proto_msg_hold (map) != self->hold)
        zsys_notice ("map: %s", proto_msg_hold (map) ? "a slot move is under way: new files wait"
                                                     : "the slot move is done: files go on");
    self->hold = proto_msg_hold (map);
    self->map_epoch = proto_msg_epoch (map);
    if (changed && self->delivering) {
        ingest_deliver_cancel (self->deliver);
        s_requeue (self, &self->delivering);
    }
    ingest_deliver_set_map (self->deliver, map, shard_count);
    s_schedule (self);
}

//  --------------------------------------------------------------------------
//  Heartbeat stats.

static void
s_on_stats (void *arg, proto_msg_t *heartbeat)
{
    ingest_service_t *self = (ingest_service_t *) arg;
    int64_t now = zclock_mono ();
    uint64_t flows = 0;
    s_rate_t *rate;
    while ((rate = (s_rate_t *) zlistx_first (self->rates)) &&
           now - rate->at > INGEST_SERVICE_RATE_SECS * 1000) {
        free (rate);
        zlistx_delete (self->rates, NULL);
    }
    for (rate = (s_rate_t *) zlistx_first (self->rates); rate;
         rate = (s_rate_t *) zlistx_next (self->rates))
        flows += rate->flows;
    int64_t window = (now - self->started) / 1000;
    if (window > INGEST_SERVICE_RATE_SECS)
        window = INGEST_SERVICE_RATE_SECS;
    proto_msg_stats_set (heartbeat, "files_done", (int64_t) ingest_journal_size (self->done));
    proto_msg_stats_set (heartbeat, "files_pending", (int64_t) zhashx_size (self->queued));
    proto_msg_stats_set (heartbeat, "files_failed", (int64_t) ingest_journal_size (self->failed));
    proto_msg_stats_set (heartbeat, "files_too_old", (int64_t) zhashx_size (self->too_old));
    proto_msg_stats_set (heartbeat, "files_appended", (int64_t) self->appended_here);
    proto_msg_stats_set (heartbeat, "flows_per_sec", (int64_t) flows / (window ? window : 1));
    //  Holding for a slot move: no delivery under way, none starts (PROTOCOL.md)
    proto_msg_stats_set (heartbeat, "held",
                         self->hold && zhashx_size (self->begun) == 0 ? (int64_t) self->map_epoch
                                                                      : 0);
    int64_t newest = ingest_journal_newest_block (self->done);
    if (newest >= 0) {
        proto_msg_stats_set (heartbeat, "lag_secs", (int64_t) time (NULL) - (newest + BLOCK_SECS));
        proto_msg_stats_set (heartbeat, "last_block", newest);
    }
}

//  --------------------------------------------------------------------------
//  Move files along: start a delivery, start a read, notice the end (FILE mode).

static void
s_schedule (ingest_service_t *self)
{
    if (self->stopping)
        return;
    //  Holding (a slot move): files whose delivery began are delivered to the end, with a
    //  split of the map they are read with now; no other file starts (PROTOCOL.md)
    if (self->hold && self->ready && zhashx_size (self->begun) &&
        !zhashx_lookup (self->begun, self->ready->entry->path))
        s_requeue (self, &self->ready);
    if (self->ready && !self->delivering && self->shard_count &&
        (!self->hold || zhashx_lookup (self->begun, self->ready->entry->path))) {
        s_job_t *job = self->ready;
        self->ready = NULL;
        if (job->shard_count != self->shard_count ||
            memcmp (job->slots, self->slots, sizeof job->slots) != 0)
            s_requeue (self, &job);  //  split with an older map
        else {
            self->delivering = job;
            zhashx_insert (self->begun, job->entry->path, (void *) 1);
            ingest_deliver_start (self->deliver, job->part_file, job->entry->block, job->request_id,
                                  job->frames, job->shard_count);
        }
    }
    while (!self->job && !self->ready && self->shard_count && zlistx_size (self->pending)) {
        ingest_spool_file_t *entry = (ingest_spool_file_t *) zlistx_first (self->pending);
        while (self->hold && entry && !zhashx_lookup (self->begun, entry->path))
            entry = (ingest_spool_file_t *) zlistx_next (self->pending);
        if (!entry)
            break;  //  Holding: nothing started waits
        if (!self->file_mode) {
            char *path = zsys_sprintf ("%s/%s", self->spool_root, entry->path);
            struct stat info;
            int rc = stat (path, &info);
            zstr_free (&path);
            if (rc && errno == ENOENT) {
                zhashx_delete (self->queued, entry->path);
                zlistx_delete (self->pending, NULL);
                continue;  //  removed meanwhile (nfexpire): nothing to deliver
            }
            int64_t age = (int64_t) time (NULL) * 1000 - (int64_t) info.st_mtim.tv_sec * 1000 -
                          info.st_mtim.tv_nsec / 1000000;
            if (rc == 0 && age < INGEST_SERVICE_SETTLE_MSECS)
                break;  //  still being written: the tick comes back
        }
        zlistx_detach (self->pending, NULL);
        self->job = s_job_new (self, entry);
        int rc = uv_queue_work (&self->loop, &self->job->work, s_work, s_on_work_done);
        assert (rc == 0);
    }
    if (self->file_mode && zhashx_size (self->queued) == 0)
        s_stop (self, self->failed_here || zhashx_size (self->too_old) ? 1 : 0);
}

//  --------------------------------------------------------------------------
//  Loop callbacks

static void
s_on_signal (uv_signal_t *handle, int signum)
{
    ingest_service_t *self = (ingest_service_t *) handle->data;
    zsys_notice ("%s: shutting down", strsignal (signum));
    //  A service stopped on request succeeded; FILE mode promised every file delivered,
    //  which an interrupted run did not do
    s_stop (self, self->file_mode ? 1 : 0);
}

static void
s_on_drain (uv_prepare_t *handle)
{
    ingest_service_t *self = (ingest_service_t *) handle->data;
    while (!self->stopping &&
           ingest_broker_drain (self->broker) + ingest_deliver_drain (self->deliver) > 0)
        ;
}

static void
s_on_tick (uv_timer_t *handle)
{
    ingest_service_t *self = (ingest_service_t *) handle->data;
    ingest_broker_tick (self->broker);
    ingest_deliver_tick (self->deliver);
    int64_t now = zclock_mono ();
    if (self->shard_count && !ingest_deliver_ready (self->deliver))
        ingest_broker_request_map (self->broker);  //  a shard has no endpoint yet
    if (!self->shard_count && zhashx_size (self->queued) && now - self->waiting_logged > 10000) {
        if (self->waiting_logged)
            zsys_warning ("no map from the broker %s yet: %zu files wait", self->options->broker,
                          zhashx_size (self->queued));
        self->waiting_logged = now;
    }
    s_schedule (self);
}

static void
s_on_rescan (uv_timer_t *handle)
{
    ingest_service_t *self = (ingest_service_t *) handle->data;
    if (ingest_journal_reload (self->failed) == 1)
        zsys_notice ("failed.journal changed: files no longer in it will be tried again");
    zlistx_t *files = ingest_spool_scan (self->spool);
    for (ingest_spool_file_t *file = (ingest_spool_file_t *) zlistx_first (files); file;
         file = (ingest_spool_file_t *) zlistx_next (files))
        s_enqueue (self, file->path, file->block);
    zlistx_destroy (&files);
    s_schedule (self);
}

//  --------------------------------------------------------------------------
//  Setup

//  The state directory: created, locked.  0, or -1 (logged).
static int
s_open_state (ingest_service_t *self)
{
    const char *state = self->options->state;
    if (zsys_dir_create ("%s", state)) {
        zsys_error ("state: cannot create %s: %s", state, strerror (errno));
        return -1;
    }
    char *path = zsys_sprintf ("%s/lock", state);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    zstr_free (&path);
    if (self->lock_fd < 0 || flock (self->lock_fd, LOCK_EX | LOCK_NB)) {
        zsys_error ("state: %s is %s", state,
                    self->lock_fd < 0 ? strerror (errno) : "used by another portevo-ingest");
        return -1;
    }
    path = zsys_sprintf ("%s/done.journal", state);
    self->done = ingest_journal_new (path);
    zstr_free (&path);
    path = zsys_sprintf ("%s/failed.journal", state);
    self->failed = ingest_journal_new (path);
    zstr_free (&path);
    return self->done && self->failed ? 0 : -1;
}

//  Queue the FILE arguments: their id is the path relative to the spool when inside it.
static void
s_queue_files (ingest_service_t *self)
{
    size_t root_length = strlen (self->spool_root);
    for (int index = 0; index < self->options->file_count; index++) {
        const char *given = self->options->files[index];
        int64_t block;
        char *real = realpath (given, NULL);
        if (!real || ingest_file_block_time (real, &block)) {
            zsys_error ("%s: %s", given,
                        real ? "cannot tell the block time: the name is not nfcapd.YYYYMMDDhhmm"
                             : strerror (errno));
            self->failed_here++;
            free (real);
            continue;
        }
        const char *id = real;
        if (strncmp (real, self->spool_root, root_length) == 0 && real[root_length] == '/')
            id = real + root_length + 1;
        if (ingest_journal_has (self->done, id))
            zsys_info ("%s: delivered before (in done.journal): skipped", given);
        else
            s_enqueue (self, id, block);
        free (real);
    }
}

ingest_service_t *
ingest_service_new (ingest_options_t *options)
{
    assert (options);
    assert (options->name && options->spool && options->state && options->broker);
    ingest_service_t *self = (ingest_service_t *) zmalloc (sizeof (ingest_service_t));
    assert (self);
    self->options = options;
    self->lock_fd = -1;
    self->file_mode = options->file_count > 0;
    self->started = zclock_mono ();
    uv_loop_init (&self->loop);
    self->pending = zlistx_new ();
    zlistx_set_comparator (self->pending, ingest_spool_file_compare);
    self->queued = zhashx_new ();
    self->append_failed = zhashx_new ();
    assert (self->append_failed);
    zhashx_set_destructor (self->append_failed, s_size_destroy);
    self->begun = zhashx_new ();
    self->too_old = zhashx_new ();
    self->rates = zlistx_new ();
    self->spool_root = realpath (options->spool, NULL);
    if (!self->spool_root) {
        zsys_error ("spool: %s: %s", options->spool, strerror (errno));
        ingest_service_destroy (&self);
        return NULL;
    }
    if (s_open_state (self)) {
        ingest_service_destroy (&self);
        return NULL;
    }
    self->reader = ingest_file_new (options->match);
    if (self->reader && options->anon) {
        ingest_file_set_anon (self->reader, options->anon);
        zsys_info ("addresses are anonymised (Crypto-PAn, key %s)", options->anonymise_key);
    }
    bool curve_failed;
    self->curve = proto_curve_new (options->curve_keys, options->name, false, &curve_failed);
    self->broker = curve_failed ? NULL
                                : ingest_broker_new (&self->loop, options->broker, options->name,
                                                     self->spool_root, self->curve, s_on_map,
                                                     s_on_stats, self);
    self->deliver = ingest_deliver_new (&self->loop, options->name, s_on_result, s_on_stale, self);
    if (self->deliver)
        ingest_deliver_set_curve (self->deliver, self->curve);
    if (!self->file_mode)
        self->spool = ingest_spool_new (self->spool_root);
    if (!self->reader || !self->broker || !self->deliver || (!self->file_mode && !self->spool)) {
        ingest_service_destroy (&self);
        return NULL;
    }
    ingest_broker_set_verbose (self->broker, options->verbose);
    ingest_deliver_set_verbose (self->deliver, options->verbose);
    if (self->file_mode)
        s_queue_files (self);
    else {
        //  Watch first, then scan: a file renamed in between is found by one or the other
        ingest_spool_watch (self->spool, &self->loop, s_on_found, self);
        zlistx_t *files = ingest_spool_scan (self->spool);
        for (ingest_spool_file_t *file = (ingest_spool_file_t *) zlistx_first (files); file;
             file = (ingest_spool_file_t *) zlistx_next (files))
            s_enqueue (self, file->path, file->block);
        zlistx_destroy (&files);
        zsys_info ("spool %s: %zu files to deliver, %zu done before, %zu failed before",
                   self->spool_root, zhashx_size (self->queued), ingest_journal_size (self->done),
                   ingest_journal_size (self->failed));
    }
    return self;
}

//  --------------------------------------------------------------------------
static void
s_close_handle (uv_handle_t *handle)
{
    if (handle->loop && !uv_is_closing (handle))
        uv_close (handle, NULL);
}

void
ingest_service_destroy (ingest_service_t **self_p)
{
    assert (self_p);
    ingest_service_t *self = *self_p;
    if (!self)
        return;
    self->stopping = true;
    if (self->spool)
        ingest_spool_unwatch (self->spool);
    ingest_deliver_destroy (&self->deliver);
    ingest_broker_destroy (&self->broker);
    proto_curve_destroy (&self->curve);
    s_close_handle ((uv_handle_t *) &self->sigint);
    s_close_handle ((uv_handle_t *) &self->sigterm);
    s_close_handle ((uv_handle_t *) &self->tick);
    s_close_handle ((uv_handle_t *) &self->rescan);
    s_close_handle ((uv_handle_t *) &self->drain);
    if (self->job)
        uv_cancel ((uv_req_t *) &self->job->work);
    //  Close the handles, wait for a running job (the first run may only consume a stop)
    while (uv_run (&self->loop, UV_RUN_DEFAULT))
        ;
    int rc = uv_loop_close (&self->loop);
    assert (rc == 0);
    s_job_destroy (&self->ready);
    s_job_destroy (&self->delivering);
    ingest_spool_destroy (&self->spool);
    ingest_file_destroy (&self->reader);
    ingest_journal_destroy (&self->failed);
    ingest_journal_destroy (&self->done);
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    for (s_rate_t *rate = (s_rate_t *) zlistx_first (self->rates); rate;
         rate = (s_rate_t *) zlistx_next (self->rates))
        free (rate);
    zlistx_destroy (&self->rates);
    zhashx_destroy (&self->queued);
    zhashx_destroy (&self->begun);
    zhashx_destroy (&self->too_old);
    zhashx_destroy (&self->append_failed);
    for (ingest_spool_file_t *entry = (ingest_spool_file_t *) zlistx_first (self->pending); entry;
         entry = (ingest_spool_file_t *) zlistx_next (self->pending))
        ingest_spool_file_destroy (&entry);
    zlistx_destroy (&self->pending);
    free (self->spool_root);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
int
ingest_service_run (ingest_service_t *self)
{
    assert (self);
    uv_signal_init (&self->loop, &self->sigint);
    uv_signal_init (&self->loop, &self->sigterm);
    self->sigint.data = self->sigterm.data = self;
    uv_signal_start (&self->sigint, s_on_signal, SIGINT);
    uv_signal_start (&self->sigterm, s_on_signal, SIGTERM);
    uv_timer_init (&self->loop, &self->tick);
    self->tick.data = self;
    uv_timer_start (&self->tick, s_on_tick, INGEST_SERVICE_TICK_MSECS, INGEST_SERVICE_TICK_MSECS);
    uv_timer_init (&self->loop, &self->rescan);
    self->rescan.data = self;
    if (!self->file_mode)
        uv_timer_start (&self->rescan, s_on_rescan, INGEST_SERVICE_RESCAN_MSECS,
                        INGEST_SERVICE_RESCAN_MSECS);
    uv_prepare_init (&self->loop, &self->drain);
    self->drain.data = self;
    uv_prepare_start (&self->drain, s_on_drain);
    s_schedule (self);
    if (!self->stopping)
        uv_run (&self->loop, UV_RUN_DEFAULT);
    return self->exit_code;
}

//  --------------------------------------------------------------------------
//  Selftest: catch-up order and what is skipped (no broker answers here).

void
ingest_service_test (bool verbose)
{
    printf (" * ingest_service: ");
    fflush (stdout);
    if (!verbose)
        zsys_set_logstream (NULL);
    setenv ("TZ", "UTC", 1);
    tzset ();
    char root[] = "/tmp/ingest_service_test.XXXXXX";
    assert (mkdtemp (root));
    char *spool = zsys_sprintf ("%s/spool", root), *state = zsys_sprintf ("%s/state", root);
    const char *names[] = {"2026/11/20/nfcapd.202611201005", "nfcapd.202611201000",
                           "2026/11/20/nfcapd.202611200955", "nfcapd.202611201010",
                           "nfcapd.current.77"};
    for (size_t index = 0; index < 5; index++) {
        char *path = zsys_sprintf ("%s/%s", spool, names[index]);
        char *dir = strdup (path);
        *strrchr (dir, '/') = 0;
        assert (zsys_dir_create ("%s", dir) == 0);
        FILE *file = fopen (path, "w");
        assert (file);
        fclose (file);
        free (dir);
        zstr_free (&path);
    }
    assert (zsys_dir_create ("%s", state) == 0);
    char *journal_path = zsys_sprintf ("%s/done.journal", state);
    ingest_journal_t *journal = ingest_journal_new (journal_path);
    assert (ingest_journal_append (journal, "nfcapd.202611201010", 1795169400, NULL) == 0);
    ingest_journal_destroy (&journal);
    zstr_free (&journal_path);

    ingest_options_t *options = ingest_options_new ();
    options->name = strdup ("router1");
    options->spool = strdup (spool);
    options->state = strdup (state);
    options->broker = strdup ("tcp://127.0.0.1:1");
    ingest_service_t *service = ingest_service_new (options);
    assert (service);
    //  Pending in block order; done and nfcapd.current.* left out
    const char *expected[] = {"2026/11/20/nfcapd.202611200955", "nfcapd.202611201000",
                              "2026/11/20/nfcapd.202611201005"};
    assert (zlistx_size (service->pending) == 3);
    size_t index = 0;
    for (ingest_spool_file_t *entry = (ingest_spool_file_t *) zlistx_first (service->pending);
         entry; entry = (ingest_spool_file_t *) zlistx_next (service->pending), index++)
        assert (streq (entry->path, expected[index]));
    //  Found again by a watch or a rescan: no duplicate
    s_enqueue (service, "nfcapd.202611201000", 1795168800);
    s_enqueue (service, "nfcapd.202611201010", 1795169400);
    assert (zlistx_size (service->pending) == 3);
    //  A second service on the same state is refused
    assert (ingest_service_new (options) == NULL);
    ingest_service_destroy (&service);
    ingest_service_destroy (&service);
    ingest_options_destroy (&options);

    char *command = zsys_sprintf ("rm -rf '%s'", root);
    assert (system (command) == 0);
    zstr_free (&command);
    zstr_free (&spool);
    zstr_free (&state);
    zsys_set_logstream (stdout);
    printf ("OK\n");
}
