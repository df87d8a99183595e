/*  ingest_file.c - one nfcapd file to one block aggregate (see ingest_file.h).
 */
#include "ingestor/ingest_file.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_PREFIX "nfcapd."
#define FILE_DIGITS 12  //  YYYYMMDDhhmm

//  A file's flows to the other ports, batched into its aggregate's others.  Without an
//  anonymiser the reader feeds it (s_on_others, in file order, one block at a time: on
//  a loader when the block before is through, else on this thread as it reaches the
//  block); with one (which only this thread may use), this thread does.
typedef struct {
    ingest_others_t *others;                          //  The scratch aggregate's others
    ingest_others_flow_t batch[INGEST_OTHERS_BATCH];  //  Flows not yet added
    size_t batched;                                   //  Entries used in batch
    uint64_t flows;                                   //  Flows to the other ports
} s_others_sink_t;

struct _ingest_file_t {
    ingest_match_t *match;                         //  Borrowed matcher
    ingest_anon_t *anon;                           //  Borrowed anonymiser, NULL for none
    ingest_reader_t *reader;                       //  Reused for every file
    ingest_agg_t *scratch;                         //  The current file's aggregate
    ingest_agg_flow_t batch[INGEST_AGG_BATCH];     //  Matched flows not yet aggregated
    ingest_agg_flow_t batch_in[INGEST_AGG_BATCH];  //  ... of the in direction
    s_others_sink_t others;                        //  Flows to the other ports
    char error[INGEST_READER_ERROR_MAX + 64];      //  Last error
};

//  --------------------------------------------------------------------------
ingest_file_t *
ingest_file_new (ingest_match_t *match)
{
    assert (match);
    ingest_file_t *self = (ingest_file_t *) calloc (1, sizeof (ingest_file_t));
    if (!self)
        return NULL;
    self->match = match;
    self->reader = ingest_reader_new ();
    self->scratch = ingest_agg_new ();
    if (!self->reader || !self->scratch)
        ingest_file_destroy (&self);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_file_destroy (ingest_file_t **self_p)
{
    assert (self_p);
    ingest_file_t *self = *self_p;
    if (!self)
        return;
    ingest_agg_destroy (&self->scratch);
    ingest_reader_destroy (&self->reader);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_file_set_anon (ingest_file_t *self, ingest_anon_t *anon)
{
    assert (self);
    self->anon = anon;
}

//  --------------------------------------------------------------------------
int
ingest_file_block_time (const char *path, int64_t *block)
{
    assert (path);
    assert (block);
    const char *name = strrchr (path, '/');
    name = name ? name + 1 : path;
    size_t prefix = strlen (FILE_PREFIX);
    if (strncmp (name, FILE_PREFIX, prefix) != 0 || strlen (name) != prefix + FILE_DIGITS)
        return -1;
    int fields[5];
    const int widths[5] = {4, 2, 2, 2, 2};
    const char *cursor = name + prefix;
    for (int field = 0; field < 5; field++) {
        fields[field] = 0;
        for (int digit = 0; digit < widths[field]; digit++, cursor++) {
            if (!isdigit ((unsigned char) *cursor))
                return -1;
            fields[field] = fields[field] * 10 + (*cursor - '0');
        }
    }
    if (fields[0] < 1970 || fields[1] < 1 || fields[1] > 12 || fields[2] < 1 || fields[2] > 31 ||
        fields[3] > 23 || fields[4] > 59)
        return -1;
    struct tm local = {0};
    local.tm_year = fields[0] - 1900;
    local.tm_mon = fields[1] - 1;
    local.tm_mday = fields[2];
    local.tm_hour = fields[3];
    local.tm_min = fields[4];
    local.tm_isdst = -1;  //  nfcapd's local time: let the zone rules decide DST
    time_t seconds = mktime (&local);
    if (seconds == (time_t) -1 || local.tm_mday != fields[2])
        return -1;  //  e.g. 20260231
    *block = (int64_t) seconds;
    return 0;
}

//  --------------------------------------------------------------------------
//  The reader's flow filter: the matcher, which only reads itself.  The flow's mark
//  carries its directions, or INGEST_MATCH_OTHER.

static unsigned
s_match_flow (void *arg, const ingest_flow_t *flow)
{
    return ingest_match_classify ((ingest_match_t *) arg, flow);
}

//  --------------------------------------------------------------------------
//  Fill a batch entry: host (the source out, the destination in), peer, values.

static void
s_batch_entry (ingest_agg_flow_t *entry, const ingest_flow_t *flow, const proto_addr_t *host,
               const proto_addr_t *peer, ingest_anon_t *anon)
{
    entry->src = *host;
    entry->dst = *peer;
    entry->port = flow->dst_port;
    entry->bytes = flow->bytes;
    entry->packets = flow->packets;
    entry->durations = flow->msec_last > flow->msec_first ? flow->msec_last - flow->msec_first : 0;
    if (anon) {  //  After matching, which saw the real addresses
        ingest_anon_addr (anon, &entry->src);
        ingest_anon_addr (anon, &entry->dst);
    }
}

//  --------------------------------------------------------------------------
//  Add a flow to the other ports to the sink's batch, its source anonymised with anon.

static void
s_others_push (s_others_sink_t *sink, const ingest_flow_t *flow, ingest_anon_t *anon)
{
    ingest_others_flow_t *entry = &sink->batch[sink->batched++];
    entry->src = flow->src;
    if (anon)
        ingest_anon_addr (anon, &entry->src);
    entry->port = flow->dst_port;
    entry->bytes = flow->bytes;
    entry->packets = flow->packets;
    if (sink->batched == INGEST_OTHERS_BATCH) {
        ingest_others_add_batch (sink->others, sink->batch, sink->batched);
        sink->flows += sink->batched;
        sink->batched = 0;
    }
}

static void
s_others_flush (s_others_sink_t *sink)
{
    ingest_others_add_batch (sink->others, sink->batch, sink->batched);
    sink->flows += sink->batched;
    sink->batched = 0;
}

//  The reader's sink: a block's flows, in its turn (no anonymiser)
static void
s_on_others (void *arg, const ingest_flow_t *flows, size_t count)
{
    s_others_sink_t *sink = (s_others_sink_t *) arg;
    for (size_t index = 0; index < count; index++)
        s_others_push (sink, &flows[index], NULL);  //  Each marked INGEST_MATCH_OTHER
    s_others_flush (sink);
}

//  --------------------------------------------------------------------------
int
ingest_file_parse_block_time (const char *text, int64_t *block)
{
    assert (text);
    assert (block);
    int64_t start = -1;
    if (strlen (text) == FILE_DIGITS) {
        char name[sizeof FILE_PREFIX + FILE_DIGITS];
        snprintf (name, sizeof name, "%s%s", FILE_PREFIX, text);
        if (ingest_file_block_time (name, &start))
            return -1;
    }
    else {
        struct tm utc = {0};
        const char *end = strptime (text, "%Y-%m-%dT%H:%M", &utc);
        if (!end || strcmp (end, "Z") != 0)
            return -1;
        start = (int64_t) timegm (&utc);
    }
    if (start < 0 || start % INGEST_FILE_BLOCK_SECS)
        return -1;
    *block = start;
    return 0;
}

//  --------------------------------------------------------------------------
const char *
ingest_file_block_from_times (int64_t created, int64_t first_msecs, int64_t last_msecs,
                              int64_t *block)
{
    assert (block);
    bool have_flows = first_msecs >= 0 && last_msecs >= first_msecs;
    int64_t first = have_flows ? first_msecs / 1000 : 0, last = have_flows ? last_msecs / 1000 : 0;
    //  nfcapd creates the file as its interval starts; flows may have started long
    //  before it (the exporter's active timeout), and ended up to an interval after it
    //  (export delay).  A creation time far from the flows is a later copy's (nfdump -w).
    if (created > 0 && (!have_flows || (first <= created + INGEST_FILE_BLOCK_SECS &&
                                        created <= last + 2 * INGEST_FILE_BLOCK_SECS))) {
        *block = created - created % INGEST_FILE_BLOCK_SECS;
        return "header";
    }
    if (have_flows && last > 0) {
        //  A flow is exported (and filed) after it ends: the last end is in the block
        *block = last - last % INGEST_FILE_BLOCK_SECS;
        return "stat";
    }
    return NULL;
}

//  --------------------------------------------------------------------------
void
ingest_file_set_skip_blocks (ingest_file_t *self, uint32_t blocks)
{
    assert (self);
    ingest_reader_set_skip_blocks (self->reader, blocks);
}

//  --------------------------------------------------------------------------
int
ingest_file_read (ingest_file_t *self, const char *path, int64_t block, ingest_agg_t **agg_p,
                  ingest_file_stats_t *stats)
{
    assert (self);
    assert (path);
    assert (agg_p);
    assert (stats);
    memset (stats, 0, sizeof *stats);
    self->error[0] = 0;
    stats->block_source = block >= 0 ? "option" : "name";
    bool from_file = block < 0 && ingest_file_block_time (path, &block) != 0;
    if (ingest_reader_open (self->reader, path)) {
        snprintf (self->error, sizeof self->error, "%s", ingest_reader_error (self->reader));
        return -1;
    }
    if (from_file) {
        stats->block_source = ingest_file_block_from_times (
            ingest_reader_created (self->reader), ingest_reader_stat_first_msecs (self->reader),
            ingest_reader_stat_last_msecs (self->reader), &block);
        if (!stats->block_source) {
            snprintf (self->error, sizeof self->error,
                      "%s: cannot tell the block time: the name is not nfcapd.YYYYMMDDhhmm and "
                      "the file records no creation or flow time (give --block-time)",
                      path);
            ingest_reader_close (self->reader);
            return -1;
        }
    }
    stats->block = block;
    ingest_agg_reset (self->scratch);
    const uint64_t *monitored = ingest_match_port_bitmap (self->match);
    bool with_others = ingest_match_others (self->match);
    ingest_reader_set_port_filter (self->reader, with_others ? NULL : monitored);
    ingest_reader_set_flow_filter (self->reader, s_match_flow, self->match);
    s_others_sink_t *sink = &self->others;
    sink->others = ingest_agg_others (self->scratch);
    sink->batched = 0;
    sink->flows = 0;
    ingest_reader_set_sink (self->reader, INGEST_MATCH_OTHER,
                            with_others && !self->anon ? s_on_others : NULL, sink);
    const ingest_flow_t *flows;
    size_t count;
    int rc;
    uint64_t matched = 0, matched_in = 0;
    size_t batched = 0, batched_in = 0;
    ingest_agg_t *incoming = ingest_agg_incoming (self->scratch);
    while ((rc = ingest_reader_next_batch (self->reader, &flows, &count)) == 1) {
        for (const ingest_flow_t *flow = flows; flow < flows + count; flow++) {
            if (flow->mark & INGEST_MATCH_OTHER) {  //  Only with an anonymiser
                s_others_push (sink, flow, self->anon);
                continue;
            }
            unsigned directions = flow->mark;
            matched += (directions & INGEST_MATCH_OUT) != 0;
            matched_in += (directions & INGEST_MATCH_IN) != 0;
            if (directions & INGEST_MATCH_OUT)
                s_batch_entry (&self->batch[batched++], flow, &flow->src, &flow->dst, self->anon);
            if (directions & INGEST_MATCH_IN)
                s_batch_entry (&self->batch_in[batched_in++], flow, &flow->dst, &flow->src,
                               self->anon);
            if (batched == INGEST_AGG_BATCH) {
                ingest_agg_add_batch (self->scratch, self->batch, batched);
                batched = 0;
            }
            if (batched_in == INGEST_AGG_BATCH) {
                ingest_agg_add_batch (incoming, self->batch_in, batched_in);
                batched_in = 0;
            }
        }
    }
    ingest_agg_add_batch (self->scratch, self->batch, batched);
    ingest_agg_add_batch (incoming, self->batch_in, batched_in);
    if (rc == -1) {
        snprintf (self->error, sizeof self->error, "%s", ingest_reader_error (self->reader));
        ingest_reader_close (self->reader);
        ingest_agg_reset (self->scratch);
        return -1;
    }
    s_others_flush (sink);  //  Every block is done: the loaders are through with it
    stats->flows = ingest_reader_flows_read (self->reader);
    stats->matched = matched;
    stats->matched_in = matched_in;
    stats->others = sink->flows;
    stats->pairs = ingest_agg_size (self->scratch);
    stats->pairs_in = ingest_agg_size (incoming);
    stats->stat_flows = ingest_reader_stat_flows (self->reader);
    stats->exporters = ingest_reader_exporter_count (self->reader);
    stats->compression = ingest_reader_compression_name (self->reader);
    stats->data_blocks = ingest_reader_block_count (self->reader);
    stats->file_size = ingest_reader_file_size (self->reader);
    ingest_reader_close (self->reader);
    if (*agg_p == NULL) {
        *agg_p = self->scratch;
        self->scratch = ingest_agg_new ();
    }
    else
        ingest_agg_merge (*agg_p, self->scratch);
    return 0;
}

//  --------------------------------------------------------------------------
const char *
ingest_file_error (ingest_file_t *self)
{
    assert (self);
    return self->error;
}

//  --------------------------------------------------------------------------
void
ingest_file_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_file: ");
    //  Block times from names, in UTC (the selftest runs with the process's TZ as set by
    //  tests/run.sh; set it here to be sure)
    setenv ("TZ", "UTC", 1);
    tzset ();
    int64_t block;
    assert (ingest_file_block_time ("/spool/2026/11/20/nfcapd.202611201005", &block) == 0);
    char text[32];
    assert (strcmp (proto_time_format (block, text), "2026-11-20T10:05:00Z") == 0);
    assert (ingest_file_block_time ("nfcapd.197001010000", &block) == 0 && block == 0);
    const char *bad[] = {"nfcapd.current.1234", "nfcapd.20261120100",  "nfcapd.2026112010050",
                         "nfcapd.202613201005", "nfcapd.202602301005", "nfcapd.202611202405",
                         "nfcapd.2026112010x5", "x.202611201005",      "nfcapd.202611201005/"};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++)
        assert (ingest_file_block_time (bad[index], &block) == -1);
    //  nfcapd's local time: Europe/Luxembourg is UTC+1 in November, UTC+2 in July
    setenv ("TZ", "Europe/Luxembourg", 1);
    tzset ();
    assert (ingest_file_block_time ("nfcapd.202611201005", &block) == 0);
    assert (strcmp (proto_time_format (block, text), "2026-11-20T09:05:00Z") == 0);
    assert (ingest_file_block_time ("nfcapd.202607201005", &block) == 0);
    assert (strcmp (proto_time_format (block, text), "2026-07-20T08:05:00Z") == 0);
    setenv ("TZ", "UTC", 1);
    tzset ();

    //  A failed read names the file and leaves the aggregate alone (also when anonymising:
    //  real files are covered by tests/system/reader_exclude_anon_test.sh)
    ingest_match_t *match = ingest_match_new ();
    ingest_file_t *file = ingest_file_new (match);
    assert (file);
    const uint8_t key[INGEST_ANON_KEY_SIZE] = {1};
    ingest_anon_t *anon = ingest_anon_new (key);
    assert (anon);
    ingest_file_set_anon (file, anon);
    ingest_agg_t *agg = NULL;
    ingest_file_stats_t stats;
    assert (ingest_file_read (file, "/nonexistent/nfcapd.202611201005", -1, &agg, &stats) == -1);
    assert (strstr (ingest_file_error (file), "/nonexistent/nfcapd.202611201005"));
    assert (agg == NULL);
    assert (ingest_file_read (file, "/nonexistent/foo", -1, &agg, &stats) == -1);
    assert (strstr (ingest_file_error (file), "cannot open"));

    //  Block times from a file's own times (a name that is not nfcapd.YYYYMMDDhhmm):
    //  created 3 s into the block, flows from 200 s before it to 453 s after its start
    const int64_t start = 1795788000;
    assert (strcmp (ingest_file_block_from_times (start + 3, (start - 200) * 1000,
                                                  (start + 453) * 1000, &block),
                    "header") == 0);
    assert (block == start);
    assert (strcmp (ingest_file_block_from_times (start + 299, -1, -1, &block), "header") == 0);
    assert (block == start);
    //  Written a day later (nfdump -w): the flows' last end decides
    assert (strcmp (ingest_file_block_from_times (start + 86400, (start - 200) * 1000,
                                                  (start + 120) * 1000, &block),
                    "stat") == 0);
    assert (block == start);
    assert (strcmp (ingest_file_block_from_times (0, start * 1000, (start + 299) * 1000, &block),
                    "stat") == 0);
    assert (block == start);
    assert (ingest_file_block_from_times (0, -1, -1, &block) == NULL);
    assert (ingest_file_parse_block_time ("202611271400", &block) == 0 && block == start);
    assert (ingest_file_parse_block_time ("2026-11-27T14:00Z", &block) == 0 && block == start);
    const char *bad_times[] = {"202611271401",      "2026-11-27T14:01Z", "2026-11-27T14:00",
                               "2026-11-27 14:00Z", "20261127140",       "",
                               "yesterday"};
    for (size_t index = 0; index < sizeof bad_times / sizeof bad_times[0]; index++)
        assert (ingest_file_parse_block_time (bad_times[index], &block) == -1);
    ingest_file_set_anon (file, NULL);
    ingest_file_destroy (&file);
    ingest_file_destroy (&file);
    ingest_anon_destroy (&anon);
    ingest_match_destroy (&match);
    printf ("OK\n");
}
