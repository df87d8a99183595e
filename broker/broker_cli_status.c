/*  broker_cli_status.c - `portevo status`: the cluster as the broker sees it.

    Asks the broker for STATUS and prints its shards and ingestors as a table, or with
    --json as one JSON document, built by proto_status (shape documented there), the
    same bytes `GET /api/status` serves.

    Exit codes: 0 when the broker answered, 1 when it did not (within --timeout),
    2 for a usage error.
*/
#include "broker/broker_cli.h"

#include "proto/proto_status.h"

//  --------------------------------------------------------------------------
//  Human forms of a stat into buffer (at least 32 bytes): "-" when not reported.

static const char *
s_text_number (const proto_peer_t *peer, const char *key, char *buffer)
{
    int64_t value;
    if (!proto_peer_stat (peer, key, &value))
        return "-";
    snprintf (buffer, 32, "%" PRId64, value);
    return buffer;
}

static const char *
s_text_bytes (const proto_peer_t *peer, const char *key, char *buffer)
{
    int64_t value;
    if (!proto_peer_stat (peer, key, &value))
        return "-";
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double size = (double) value;
    size_t unit = 0;
    while (size >= 1024 && unit + 1 < sizeof units / sizeof units[0]) {
        size /= 1024;
        unit++;
    }
    snprintf (buffer, 32, unit ? "%.1f %s" : "%.0f %s", size, units[unit]);
    return buffer;
}

static const char *
s_text_secs (int64_t secs, char *buffer)
{
    if (secs < 120)
        snprintf (buffer, 32, "%" PRId64 "s", secs);
    else if (secs < 7200)
        snprintf (buffer, 32, "%" PRId64 "m", secs / 60);
    else if (secs < 172800)
        snprintf (buffer, 32, "%" PRId64 "h", secs / 3600);
    else
        snprintf (buffer, 32, "%" PRId64 "d", secs / 86400);
    return buffer;
}

static const char *
s_text_block (const proto_peer_t *peer, char *buffer)
{
    int64_t value;
    if (!proto_peer_stat (peer, "last_block", &value) || value <= 0)
        return "-";
    proto_time_format (value, buffer);
    buffer[16] = 0;  //  YYYY-MM-DDThh:mm
    buffer[10] = ' ';
    return buffer;
}

static const char *
s_text_age (const proto_peer_t *peer, char *buffer)
{
    if (streq (peer->state, BROKER_REGISTRY_UNKNOWN))
        return "never";
    if (peer->age_msecs < 10000) {
        snprintf (buffer, 32, "%.1fs ago", (double) peer->age_msecs / 1000);
        return buffer;
    }
    s_text_secs ((int64_t) (peer->age_msecs / 1000), buffer);
    strcat (buffer, " ago");
    return buffer;
}

//  --------------------------------------------------------------------------
//  Text from the network, made safe for a terminal: control bytes become '?'.  Returns
//  buffer (PROTO_PATH_MAX + 1 bytes).

static const char *
s_text_clean (const char *text, char *buffer)
{
    if (*text == 0)
        return "-";
    size_t index = 0;
    for (; text[index] && index < PROTO_PATH_MAX; index++)
        buffer[index] =
            (unsigned char) text[index] < 0x20 || text[index] == 0x7f ? '?' : text[index];
    buffer[index] = 0;
    return buffer;
}

//  --------------------------------------------------------------------------
//  The status as two tables.

static void
s_status_print (proto_msg_t *status, const char *broker, FILE *out)
{
    size_t count = proto_msg_peers_count (status);
    int name_width = 8, where_width = 8;
    size_t shards = 0, shards_up = 0, ingestors = 0, ingestors_up = 0;
    for (size_t index = 0; index < count; index++) {
        proto_peer_t peer;
        proto_msg_peers_at (status, index, &peer);
        bool is_shard = streq (peer.role, "shard");
        const char *where = is_shard ? peer.endpoint : peer.spool;
        name_width = MAX (name_width, (int) strlen (peer.name));
        where_width = MAX (where_width, (int) strlen (where));
        shards += is_shard;
        ingestors += !is_shard;
        shards_up += is_shard && streq (peer.state, BROKER_REGISTRY_UP);
        ingestors_up += !is_shard && streq (peer.state, BROKER_REGISTRY_UP);
    }
    fprintf (out, "broker %s, map epoch %" PRIu64 ", %zu/%zu shards up, %zu/%zu ingestors up\n",
             broker, proto_msg_epoch (status), shards_up, shards, ingestors_up, ingestors);
    char a[32], b[32], c[32], d[32], e[32], f[32], g[32], where[PROTO_PATH_MAX + 1];
    fprintf (out, "\n%-*s  %-7s  %-*s  %5s  %10s  %10s  %8s  %-16s  %s\n", name_width, "SHARD",
             "STATE", where_width, "ENDPOINT", "SLOTS", "HOSTS", "LMDB", "TOO OLD", "LAST BLOCK",
             "HEARD");
    for (size_t index = 0; index < count; index++) {
        proto_peer_t peer;
        proto_msg_peers_at (status, index, &peer);
        if (streq (peer.role, "shard"))
            fprintf (out, "%-*s  %-7s  %-*s  %5u  %10s  %10s  %8s  %-16s  %s\n", name_width,
                     peer.name, peer.state, where_width, s_text_clean (peer.endpoint, where),
                     peer.slots, s_text_number (&peer, "hosts", a),
                     s_text_bytes (&peer, "lmdb_bytes", b), s_text_number (&peer, "old_parts", e),
                     s_text_block (&peer, c), s_text_age (&peer, d));
    }
    if (ingestors == 0) {
        fprintf (out, "\nno ingestor has registered yet\n");
        return;
    }
    fprintf (out, "\n%-*s  %-7s  %-*s  %8s  %8s  %6s  %7s  %8s  %5s  %-16s  %s\n", name_width,
             "INGESTOR", "STATE", where_width, "SPOOL", "DONE", "PENDING", "FAILED", "TOO OLD",
             "FLOWS/S", "LAG", "LAST BLOCK", "HEARD");
    for (size_t index = 0; index < count; index++) {
        proto_peer_t peer;
        proto_msg_peers_at (status, index, &peer);
        if (streq (peer.role, "shard"))
            continue;
        int64_t lag;
        char too_old[32];
        fprintf (out, "%-*s  %-7s  %-*s  %8s  %8s  %6s  %7s  %8s  %5s  %-16s  %s\n", name_width,
                 peer.name, peer.state, where_width, s_text_clean (peer.spool, where),
                 s_text_number (&peer, "files_done", a), s_text_number (&peer, "files_pending", b),
                 s_text_number (&peer, "files_failed", c),
                 s_text_number (&peer, "files_too_old", too_old),
                 s_text_number (&peer, "flows_per_sec", d),
                 proto_peer_stat (&peer, "lag_secs", &lag) ? s_text_secs (lag, e) : "-",
                 s_text_block (&peer, f), s_text_age (&peer, g));
    }
}

//  --------------------------------------------------------------------------
static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: portevo status [--json] [--broker EP | --config FILE] [--timeout MSECS]\n"
             "Shows the shards and ingestors the broker knows: state, slots, hosts,\n"
             "store size and last block of each shard; files, flows/s and lag of each\n"
             "ingestor.\n"
             "  --json            one JSON document instead of tables\n" BROKER_CLI_COMMON_USAGE);
}

//  --------------------------------------------------------------------------
int
broker_cli_status (int argc, char *argv[])
{
    assert (argv);
    const char *command = argv[0];
    broker_cli_common_t common;
    broker_cli_common_init (&common);
    bool json = false;
    static const struct option options[] = {{"json", no_argument, NULL, 'j'},
                                            {"help", no_argument, NULL, 'h'},
                                            BROKER_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        if (option == 'j')
            json = true;
        else if (option == 'h') {
            s_usage (stdout);
            return 0;
        }
        else if (broker_cli_common_option (&common, command, option, optarg)) {
            s_usage (stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "%s: unexpected argument '%s'\n", command, argv[optind]);
        s_usage (stderr);
        return 2;
    }
    char *broker = broker_cli_broker_endpoint (&common, command);
    if (!broker)
        return 1;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_STATUS_REQUEST);
    proto_msg_set_request_id (request, (uint64_t) zclock_time ());
    proto_msg_t *reply =
        broker_cli_request (broker, &request, common.timeout_msecs, command, common.curve);
    int rc = 1;
    if (!reply)
        fprintf (stderr, "%s: is the broker running? (`portevo up` starts a local cluster)\n",
                 command);
    else if (proto_msg_id (reply) != PROTO_MSG_STATUS)
        fprintf (stderr, "%s: the broker at %s answered %s %u: %s\n", command, broker,
                 proto_msg_id_name (proto_msg_id (reply)), proto_msg_code (reply),
                 proto_msg_text (reply));
    else if (json) {
        char *text = proto_status_json (reply, broker);
        printf ("%s\n", text);
        free (text);
        rc = 0;
    }
    else {
        s_status_print (reply, broker, stdout);
        rc = 0;
    }
    proto_msg_destroy (&reply);
    zstr_free (&broker);
    proto_curve_destroy (&common.curve);
    return rc;
}

//  --------------------------------------------------------------------------
void
broker_cli_status_test (bool verbose)
{
    (void) verbose;
    printf (" * broker_cli_status: ");
    proto_msg_t *status = proto_msg_new (PROTO_MSG_STATUS);
    proto_msg_set_epoch (status, 5);
    proto_peer_t shard = {.role = "shard",
                          .name = "shard-0",
                          .endpoint = "tcp://127.0.0.1:5571",
                          .spool = "",
                          .state = "up",
                          .slots = 1024,
                          .age_msecs = 230,
                          .stat_count = 2,
                          .stat_keys = {"hosts", "last_block"},
                          .stat_values = {1234, 1763633100}};
    proto_msg_peers_append (status, &shard);
    proto_peer_t ingestor = {.role = "ingestor",
                             .name = "router1",
                             .endpoint = "",
                             .spool = "/spool/\"r1\"\x1b[2J",
                             .state = "unknown"};
    proto_msg_peers_append (status, &ingestor);
    char *text = proto_status_json (status, "tcp://127.0.0.1:5570");
    const char *expected =
        "{\"broker\":\"tcp://127.0.0.1:5570\",\"epoch\":5,\"slots\":1024,\"shards\":[{\"name\":"
        "\"shard-0\",\"state\":\"up\",\"endpoint\":\"tcp://127.0.0.1:5571\",\"slots\":1024,"
        "\"age_msecs\":230,\"hosts\":1234,\"rows\":null,\"lmdb_bytes\":null,\"map_bytes\":null,"
        "\"parts_applied\":null,\"open_blocks\":null,\"old_parts\":null,"
        "\"last_block\":\"2025-11-20T10:05:00Z\","
        "\"stats\":{\"hosts\":1234,\"last_block\":1763633100}}],\"ingestors\":[{\"name\":"
        "\"router1\",\"state\":\"unknown\",\"spool\":\"/spool/"
        "\\\"r1\\\"\\u001b[2J\",\"age_msecs\":null,"
        "\"files_done\":null,\"files_pending\":null,\"files_failed\":null,\"files_too_old\":null,"
        "\"flows_per_sec\":null,"
        "\"lag_secs\":null,\"last_block\":null,\"stats\":{}}]}";
    if (!streq (text, expected))
        printf ("\n%s\n", text);
    assert (streq (text, expected));
    free (text);

    char *table = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&table, &size);
    assert (out);
    s_status_print (status, "tcp://127.0.0.1:5570", out);
    fclose (out);
    if (verbose)
        printf ("\n%s", table);
    assert (strstr (table, "map epoch 5, 1/1 shards up, 0/1 ingestors up"));
    assert (strstr (table, "2025-11-20 10:05  0.2s ago"));
    assert (strstr (table, "router1   unknown  /spool/\"r1\"?[2J"));
    free (table);
    proto_msg_destroy (&status);
    printf ("OK\n");
}
