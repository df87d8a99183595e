/*  broker_cli_annotate.c - `portevo annotate FILE`: import passive-DNS names.

    Lines are read with a fixed buffer (an overlong line is consumed but not kept, so a
    hostile file cannot make us allocate), parsed by broker_pdns, and each annotation is
    queued for its shard.  A full queue is sent and its acknowledgement awaited before
    reading on: one batch in flight keeps memory bounded and makes a failing shard
    visible at once.
*/
#include "broker/broker_cli_annotate.h"
#include "broker/broker_cli_query.h"
#include "broker/broker_cli_scatter.h"
#include "broker/broker_pdns.h"

#define S_OPTION_BATCH 0x300
#define S_OPTION_DEADLINE 0x301
#define S_RETRY_PAUSE_MSECS 200  //  Pause before resending after "unavailable"

typedef struct {
    proto_addr_t addr;                  //  Host
    char rrname[PROTO_RRNAME_MAX + 1];  //  Name
    char rrtype[PROTO_RRTYPE_MAX + 1];  //  Type
    int64_t first_seen;                 //  Secs since the epoch
    int64_t last_seen;                  //  Secs since the epoch
} s_entry_t;

typedef struct {
    s_entry_t *entries;  //  The batch being filled (batch entries allocated)
    size_t count;        //  Entries used
    bool failed;         //  Given up: did not acknowledge
} s_queue_t;

typedef struct {
    const char *command;            //  "portevo annotate"
    const char *path;               //  FILE as given
    broker_cli_scatter_t *scatter;  //  The map and the shard sockets
    s_queue_t *queues;              //  One per shard
    size_t batch;                   //  Annotations per ANNOTATE
    int deadline_msecs;             //  Wait for one acknowledgement
    uint64_t lines;                 //  Lines read
    uint64_t annotations;           //  Annotations found
    uint64_t skipped;               //  Records of other types
    uint64_t malformed;             //  Malformed lines
    uint64_t stored;                //  Acknowledged as stored by the shards
    uint64_t lost;                  //  Not delivered (shard gave up)
    int64_t next_progress;          //  zclock_mono of the next progress line
} s_import_t;

//  --------------------------------------------------------------------------
//  Read one line into buffer (capacity bytes, NUL-terminated; the newline dropped).
//  false at the end of the file.  A line longer than capacity - 1 is consumed to its
//  end; *size is then its full length (> capacity - 1) and buffer holds its start.

static bool
s_read_line (FILE *file, char *buffer, size_t capacity, size_t *size)
{
    size_t length = 0;
    int byte;
    while ((byte = getc_unlocked (file)) != EOF && byte != '\n') {
        if (length < capacity - 1)
            buffer[length] = (char) byte;
        length++;
    }
    buffer[length < capacity - 1 ? length : capacity - 1] = 0;
    *size = length;
    return byte != EOF || length > 0;
}

//  --------------------------------------------------------------------------
//  Send a shard's queue until acknowledged (or given up).

static void
s_flush (s_import_t *self, size_t shard)
{
    s_queue_t *queue = &self->queues[shard];
    if (queue->count == 0)
        return;
    const char *name = broker_cli_scatter_shard_name (self->scatter, shard);
    for (int attempt = 1; attempt <= BROKER_CLI_ANNOTATE_ATTEMPTS && !queue->failed; attempt++) {
        proto_msg_t *request = proto_msg_new (PROTO_MSG_ANNOTATE);
        for (size_t index = 0; index < queue->count; index++) {
            s_entry_t *entry = &queue->entries[index];
            proto_annotation_t annotation = {entry->addr, entry->rrname, entry->rrtype,
                                             entry->first_seen, entry->last_seen};
            proto_msg_annotations_append (request, &annotation);
        }
        if (broker_cli_scatter_send (self->scatter, shard, &request)) {
            fprintf (stderr, "%s: %s cannot be reached (no endpoint)\n", self->command, name);
            queue->failed = true;
            break;
        }
        size_t index;
        proto_msg_t *reply =
            broker_cli_scatter_recv (self->scatter, zclock_mono () + self->deadline_msecs, &index);
        if (reply && proto_msg_id (reply) == PROTO_MSG_ANNOTATE_ACK) {
            self->stored += proto_msg_count (reply);
            proto_msg_destroy (&reply);
            queue->count = 0;
            return;
        }
        if (reply && proto_msg_id (reply) == PROTO_MSG_ERROR) {
            fprintf (stderr, "%s: %s refused a batch: error %u: %s\n", self->command, name,
                     proto_msg_code (reply), proto_msg_text (reply));
            if (proto_msg_code (reply) != PROTO_ERROR_UNAVAILABLE)
                queue->failed = true;
            else
                zclock_sleep (S_RETRY_PAUSE_MSECS);
        }
        else if (reply)
            fprintf (stderr, "%s: %s answered %s to ANNOTATE\n", self->command, name,
                     proto_msg_id_name (proto_msg_id (reply)));
        else if (zsys_interrupted)
            queue->failed = true;
        else
            fprintf (stderr, "%s: no acknowledgement from %s within %d msecs (attempt %d of %d)\n",
                     self->command, name, self->deadline_msecs, attempt,
                     BROKER_CLI_ANNOTATE_ATTEMPTS);
        proto_msg_destroy (&reply);
    }
    queue->failed = true;
    fprintf (stderr, "%s: giving up on %s: its annotations are not stored\n", self->command, name);
    self->lost += queue->count;
    queue->count = 0;
}

//  --------------------------------------------------------------------------
//  Queue one annotation for its shard.

static void
s_queue (s_import_t *self, const proto_annotation_t *annotation)
{
    size_t shard = broker_cli_scatter_shard_of (self->scatter, &annotation->addr);
    s_queue_t *queue = &self->queues[shard];
    self->annotations++;
    if (queue->failed) {
        self->lost++;
        return;
    }
    s_entry_t *entry = &queue->entries[queue->count++];
    entry->addr = annotation->addr;
    snprintf (entry->rrname, sizeof entry->rrname, "%s", annotation->rrname);
    snprintf (entry->rrtype, sizeof entry->rrtype, "%s", annotation->rrtype);
    entry->first_seen = annotation->first_seen;
    entry->last_seen = annotation->last_seen;
    if (queue->count == self->batch)
        s_flush (self, shard);
}

//  --------------------------------------------------------------------------
//  One line: parse, convert, queue; report a malformed one.

static void
s_line (s_import_t *self, const char *line, size_t size, broker_pdns_record_t *record)
{
    char error[300];
    int rc = broker_pdns_parse (line, size, record, error, sizeof error);
    bool found = false;
    for (size_t index = 0; rc == 0 && index < record->rdata_count; index++) {
        proto_annotation_t annotation;
        int used = broker_pdns_annotation (record, index, &annotation, error, sizeof error);
        if (used == 0) {
            s_queue (self, &annotation);
            found = true;
        }
        else if (used == -2)
            rc = -2;
    }
    if (rc == 0 && !found)
        self->skipped++;
    if (rc != -2)
        return;
    self->malformed++;
    if (self->malformed <= BROKER_CLI_ANNOTATE_REPORT_MAX)
        fprintf (stderr, "%s: %s:%" PRIu64 ": %s\n", self->command, self->path, self->lines, error);
    if (self->malformed == BROKER_CLI_ANNOTATE_REPORT_MAX)
        fprintf (stderr, "%s: %s: further malformed lines are only counted\n", self->command,
                 self->path);
}

//  --------------------------------------------------------------------------
//  Read the whole file.  0, or -1 on a read error (said).

static int
s_import (s_import_t *self, FILE *file)
{
    char *buffer = (char *) zmalloc (BROKER_PDNS_LINE_MAX + 1);
    broker_pdns_record_t *record = (broker_pdns_record_t *) zmalloc (sizeof *record);
    size_t size;
    self->next_progress = zclock_mono () + BROKER_CLI_ANNOTATE_PROGRESS_MSECS;
    while (!zsys_interrupted && s_read_line (file, buffer, BROKER_PDNS_LINE_MAX + 1, &size)) {
        self->lines++;
        //  An overlong line is passed with its full size: the parser refuses it by size
        s_line (self, buffer, size, record);
        if (zclock_mono () >= self->next_progress) {
            fprintf (stderr,
                     "%s: %s: %" PRIu64 " lines, %" PRIu64 " annotations, %" PRIu64
                     " stored, %" PRIu64 " malformed\n",
                     self->command, self->path, self->lines, self->annotations, self->stored,
                     self->malformed);
            self->next_progress = zclock_mono () + BROKER_CLI_ANNOTATE_PROGRESS_MSECS;
        }
    }
    int rc = 0;
    if (ferror (file)) {
        fprintf (stderr, "%s: %s: read error after line %" PRIu64 ": %s\n", self->command,
                 self->path, self->lines, strerror (errno));
        rc = -1;
    }
    if (zsys_interrupted) {
        fprintf (stderr, "%s: interrupted after line %" PRIu64 "\n", self->command, self->lines);
        rc = -1;
    }
    for (size_t shard = 0; shard < broker_cli_scatter_shard_count (self->scatter); shard++)
        s_flush (self, shard);
    free (record);
    free (buffer);
    return rc;
}

//  --------------------------------------------------------------------------
int
broker_cli_annotate (int argc, char *argv[])
{
    const char *command = argv[0];
    static const struct option options[] = {
        {"batch", required_argument, NULL, S_OPTION_BATCH},
        {"deadline-msecs", required_argument, NULL, S_OPTION_DEADLINE},
        {"help", no_argument, NULL, 'h'},
        BROKER_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *usage = "usage: portevo annotate [--batch N] [--deadline-msecs MSECS] FILE|-\n"
                        "  import passive-DNS names (Common Output Format JSON lines)\n";
    broker_cli_common_t common;
    broker_cli_common_init (&common);
    s_import_t import = {.command = command,
                         .batch = BROKER_CLI_ANNOTATE_BATCH,
                         .deadline_msecs = BROKER_CLI_DEADLINE_MSECS};
    int option;
    char *end;
    opterr = 0;
    optind = 0;
    while ((option = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        long value = optarg ? strtol (optarg, &end, 10) : 0;
        bool number = optarg && *optarg && !*end;
        if (option == 'h') {
            printf ("%s  --batch N           annotations per message (default %d)\n"
                    "  --deadline-msecs N  wait for each acknowledgement (default %d)\n%s",
                    usage, BROKER_CLI_ANNOTATE_BATCH, BROKER_CLI_DEADLINE_MSECS,
                    BROKER_CLI_COMMON_USAGE);
            return 0;
        }
        if (option == S_OPTION_BATCH && number && value >= 1 &&
            value <= BROKER_CLI_ANNOTATE_BATCH_MAX)
            import.batch = (size_t) value;
        else if (option == S_OPTION_DEADLINE && number && value >= 1 &&
                 value <= BROKER_CLI_DEADLINE_MAX)
            import.deadline_msecs = (int) value;
        else if (option == '?' || option == ':' || option == S_OPTION_BATCH ||
                 option == S_OPTION_DEADLINE ||
                 broker_cli_common_option (&common, command, option, optarg)) {
            fprintf (stderr, "%s: %s '%s'\n%s", command,
                     option == '?' ? "unknown option" : "bad or missing value of", argv[optind - 1],
                     usage);
            return 2;
        }
    }
    if (argc - optind != 1) {
        fprintf (stderr, "%s: %s\n%s", command,
                 optind == argc ? "FILE is required" : "only one FILE, please", usage);
        return 2;
    }
    import.path = argv[optind];
    FILE *file = streq (import.path, "-") ? stdin : fopen (import.path, "r");
    if (!file) {
        fprintf (stderr, "%s: FILE: cannot open %s: %s\n", command, import.path, strerror (errno));
        return 2;
    }
    char *endpoint = broker_cli_broker_endpoint (&common, command);
    if (endpoint)
        import.scatter =
            broker_cli_scatter_new (endpoint, common.timeout_msecs, command, common.curve);
    zstr_free (&endpoint);
    int rc = 1;
    if (import.scatter) {
        size_t shards = broker_cli_scatter_shard_count (import.scatter);
        import.queues = (s_queue_t *) zmalloc (shards * sizeof (s_queue_t));
        for (size_t shard = 0; shard < shards; shard++)
            import.queues[shard].entries =
                (s_entry_t *) zmalloc (import.batch * sizeof (s_entry_t));
        rc = s_import (&import, file) == 0 && import.lost == 0 ? 0 : 1;
        fprintf (stderr,
                 "%s: %s: %" PRIu64 " lines: %" PRIu64 " annotations, %" PRIu64 " stored, %" PRIu64
                 " not delivered; %" PRIu64 " records of other types, %" PRIu64
                 " malformed lines\n",
                 command, import.path, import.lines, import.annotations, import.stored, import.lost,
                 import.skipped, import.malformed);
        for (size_t shard = 0; shard < shards; shard++)
            free (import.queues[shard].entries);
        free (import.queues);
        broker_cli_scatter_destroy (&import.scatter);
    }
    proto_curve_destroy (&common.curve);
    if (file != stdin)
        fclose (file);
    return rc;
}

//  --------------------------------------------------------------------------
//  Selftest

void
broker_cli_annotate_test (bool verbose)
{
    printf (" * broker_cli_annotate: ");
    if (verbose)
        printf ("\n");
    //  The line reader: last line without a newline, empty lines, NUL bytes, overlong
    static const char text[] = "first\n\nwith\0nul\n0123456789abcdef\nlast";
    FILE *file = fmemopen ((void *) text, sizeof text - 1, "r");
    assert (file);
    char buffer[8];
    size_t size;
    assert (s_read_line (file, buffer, sizeof buffer, &size) && size == 5);
    assert (streq (buffer, "first"));
    assert (s_read_line (file, buffer, sizeof buffer, &size) && size == 0);
    assert (s_read_line (file, buffer, sizeof buffer, &size) && size == 8);
    assert (memcmp (buffer, "with\0nu", 8) == 0);
    assert (s_read_line (file, buffer, sizeof buffer, &size) && size == 16);
    assert (streq (buffer, "0123456"));
    assert (s_read_line (file, buffer, sizeof buffer, &size) && size == 4);
    assert (streq (buffer, "last"));
    assert (!s_read_line (file, buffer, sizeof buffer, &size));
    fclose (file);

    //  Bad parameters: exit 2 before any traffic
    static const char *bad[][4] = {{"portevo annotate", NULL},
                                   {"portevo annotate", "/nonexistent/pdns.json", NULL},
                                   {"portevo annotate", "--batch", "0", NULL},
                                   {"portevo annotate", "--batch", "x", NULL},
                                   {"portevo annotate", "--bogus", "f", NULL},
                                   {"portevo annotate", "a", "b", NULL}};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *argv[4] = {NULL};
        int argc = 0;
        while (bad[index][argc]) {
            argv[argc] = (char *) bad[index][argc];
            argc++;
        }
        if (verbose)
            printf ("   bad case %zu:\n", index);
        int saved = dup (STDERR_FILENO);
        if (!verbose)
            freopen ("/dev/null", "w", stderr);
        int rc = broker_cli_annotate (argc, argv);
        fflush (stderr);
        dup2 (saved, STDERR_FILENO);
        close (saved);
        assert (rc == 2);
    }
    printf ("OK\n");
}
