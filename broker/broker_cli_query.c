/*  broker_cli_query.c - `portevo top | series | host | days`: ask the shards, print.

    Parsing is one getopt_long table for the four commands with a mask of the options
    each accepts, so that an option of another command is refused by name.  Running is
    one function for all: the request differs per command (s_request), the merge and the
    JSON are proto_answer's, the tables are ours (s_print_*).
*/
#include "broker/broker_cli_query.h"
#include "broker/broker_cli_scatter.h"
#include "proto/proto_json.h"

#include <inttypes.h>
#include <strings.h>

//  Option codes (beyond the common ones) and which commands take them
#define S_OPTION_DATE 0x200
#define S_OPTION_OP 0x201
#define S_OPTION_PORT 0x202
#define S_OPTION_FEATURE 0x203
#define S_OPTION_HOST 0x204
#define S_OPTION_FROM 0x205
#define S_OPTION_TO 0x206
#define S_OPTION_JSON 0x207
#define S_OPTION_DEADLINE 0x208
#define S_OPTION_DIRECTION 0x209
#define S_OPTION_HELP 'h'

#define S_FOR(kind) (1u << (kind))
#define S_FOR_ALL                                                                                  \
    (S_FOR (PROTO_ANSWER_TOP) | S_FOR (PROTO_ANSWER_SERIES) | S_FOR (PROTO_ANSWER_HOST) |          \
     S_FOR (PROTO_ANSWER_DAYS))

#define S_DAY_LAST 2932896  //  9999-12-31

static const struct option s_options[] = {
    {"date", required_argument, NULL, S_OPTION_DATE},
    {"op", required_argument, NULL, S_OPTION_OP},
    {"port", required_argument, NULL, S_OPTION_PORT},
    {"feature", required_argument, NULL, S_OPTION_FEATURE},
    {"host", required_argument, NULL, S_OPTION_HOST},
    {"from", required_argument, NULL, S_OPTION_FROM},
    {"to", required_argument, NULL, S_OPTION_TO},
    {"json", no_argument, NULL, S_OPTION_JSON},
    {"deadline-msecs", required_argument, NULL, S_OPTION_DEADLINE},
    {"direction", required_argument, NULL, S_OPTION_DIRECTION},
    {"help", no_argument, NULL, S_OPTION_HELP},
    BROKER_CLI_COMMON_OPTIONS,
    {NULL, 0, NULL, 0}};

//  --------------------------------------------------------------------------
//  The long name of an option code.

static const char *
s_option_name (int option)
{
    for (size_t index = 0; s_options[index].name; index++)
        if (s_options[index].val == option)
            return s_options[index].name;
    return "?";
}

//  --------------------------------------------------------------------------
//  Which commands take an option code.

static unsigned
s_option_commands (int option)
{
    switch (option) {
    case S_OPTION_DATE:
        return S_FOR (PROTO_ANSWER_TOP);
    case S_OPTION_OP:
    case S_OPTION_PORT:
        return S_FOR (PROTO_ANSWER_TOP) | S_FOR (PROTO_ANSWER_SERIES);
    case S_OPTION_FEATURE:
    case S_OPTION_HOST:
    case S_OPTION_FROM:
    case S_OPTION_TO:
        return S_FOR (PROTO_ANSWER_SERIES);
    case S_OPTION_DIRECTION:
        return S_FOR (PROTO_ANSWER_TOP) | S_FOR (PROTO_ANSWER_SERIES) | S_FOR (PROTO_ANSWER_HOST);
    default:
        return S_FOR_ALL;
    }
}

static const char *s_usage[] = {
    [PROTO_ANSWER_TOP] = "usage: portevo top --date YYYY-MM-DD --op sum|max|min [--port N|all] "
                         "[--direction out|in] [--json]\n  the ten hosts with the highest score "
                         "of each port and feature on a day\n  (--direction in: local hosts as "
                         "destinations, peers their sources)\n",
    [PROTO_ANSWER_SERIES] = "usage: portevo series --host IP --port N|all --feature "
                            "bytes|packets|durations|peers\n"
                            "                      --op sum|max|min [--from YYYY-MM-DD] "
                            "[--to YYYY-MM-DD] [--direction out|in] [--json]\n"
                            "  the daily scores of one host (all: one series per port)\n",
    [PROTO_ANSWER_HOST] =
        "usage: portevo host IP [--direction out|in] [--json]\n  first and last seen, ports and "
        "annotations of one host\n",
    [PROTO_ANSWER_DAYS] = "usage: portevo days [--json]\n  the days for which data exists\n"};

//  --------------------------------------------------------------------------
//  Parse an unsigned decimal number in [low, high] (digits only).  0 or -1.

static int
s_number (const char *text, uint64_t low, uint64_t high, uint64_t *value)
{
    if (!*text || strlen (text) > 10)
        return -1;
    uint64_t result = 0;
    for (const char *cursor = text; *cursor; cursor++) {
        if (*cursor < '0' || *cursor > '9')
            return -1;
        result = result * 10 + (uint64_t) (*cursor - '0');
    }
    if (result < low || result > high)
        return -1;
    *value = result;
    return 0;
}

//  --------------------------------------------------------------------------
//  Check one option's value into the query.  0 or -1 with the reason in error.

static int
s_take_option (broker_cli_query_t *query, int option, const char *value, char *error,
               size_t error_size)
{
    uint64_t number;
    int found;
    switch (option) {
    case S_OPTION_DATE:
        if (proto_day_parse (value, &query->day) == 0)
            return 0;
        snprintf (error, error_size, "--date: '%s' is not a date YYYY-MM-DD", value);
        return -1;
    case S_OPTION_FROM:
    case S_OPTION_TO:
        if (proto_day_parse (value, option == S_OPTION_FROM ? &query->from : &query->to) == 0)
            return 0;
        snprintf (error, error_size, "--%s: '%s' is not a date YYYY-MM-DD",
                  option == S_OPTION_FROM ? "from" : "to", value);
        return -1;
    case S_OPTION_OP:
        found = proto_op_lookup (value);
        if (found >= 0) {
            query->op = (proto_op_t) found;
            return 0;
        }
        snprintf (error, error_size, "--op: '%s' is not sum, max or min", value);
        return -1;
    case S_OPTION_FEATURE:
        found = proto_feature_lookup (value);
        if (found >= 0) {
            query->feature = (proto_feature_t) found;
            return 0;
        }
        snprintf (error, error_size, "--feature: '%s' is not bytes, packets, durations or peers",
                  value);
        return -1;
    case S_OPTION_PORT:
        if (strcasecmp (value, "all") == 0 || strcasecmp (value, "all*") == 0) {
            query->port = PROTO_PORT_ALL;
            return 0;
        }
        if (s_number (value, 0, 65535, &number) == 0) {
            query->port = (uint32_t) number;
            return 0;
        }
        snprintf (error, error_size, "--port: '%s' is not a port from 0 to 65535 or all", value);
        return -1;
    case S_OPTION_HOST:
        if (proto_addr_parse (&query->host, value) == 0)
            return 0;
        snprintf (error, error_size, "--host: '%s' is not an IPv4 or IPv6 address", value);
        return -1;
    case S_OPTION_DEADLINE:
        if (s_number (value, 1, BROKER_CLI_DEADLINE_MAX, &number) == 0) {
            query->deadline_msecs = (int) number;
            return 0;
        }
        snprintf (error, error_size, "--deadline-msecs: '%s' is not a number of msecs from 1 to %d",
                  value, BROKER_CLI_DEADLINE_MAX);
        return -1;
    case S_OPTION_DIRECTION:
        if (streq (value, "out") || streq (value, "in")) {
            query->direction = streq (value, "in") ? PROTO_DIRECTION_IN : PROTO_DIRECTION_OUT;
            return 0;
        }
        snprintf (error, error_size, "--direction: '%s' is not out or in", value);
        return -1;
    case S_OPTION_JSON:
        query->json = true;
        return 0;
    default:
        if (broker_cli_common_option (&query->common, NULL, option, value) == 0)
            return 0;
        snprintf (error, error_size,
                  "--timeout: '%s' is not a number of msecs from 1 to "
                  "3600000",
                  value);
        return -1;
    }
}

//  --------------------------------------------------------------------------
int
broker_cli_query_parse (proto_answer_kind_t kind, int argc, char *argv[], broker_cli_query_t *query,
                        char *error, size_t error_size)
{
    assert (kind >= PROTO_ANSWER_TOP && kind <= PROTO_ANSWER_DAYS);
    assert (argc >= 1 && argv);
    assert (query);
    assert (error && error_size > 0);
    memset (query, 0, sizeof *query);
    query->kind = kind;
    query->port = PROTO_PORT_ALL;
    query->to = S_DAY_LAST;
    query->deadline_msecs = BROKER_CLI_DEADLINE_MSECS;
    broker_cli_common_init (&query->common);
    error[0] = 0;
    unsigned given = 0;  //  Bit (option - S_OPTION_DATE) per option given
    bool help = false;
    opterr = 0;
    optind = 0;  //  GNU: full reinitialisation
    int option;
    while ((option = getopt_long (argc, argv, ":h", s_options, NULL)) != -1) {
        if (option == '?' || option == ':') {
            const char *text = argv[optind - 1];
            if (option == ':')
                snprintf (error, error_size, "%s needs a value", text);
            else
                snprintf (error, error_size, "unknown option '%s'", text);
            return 2;
        }
        if (!(s_option_commands (option) & S_FOR (kind))) {
            snprintf (error, error_size, "--%s is not an option of this command",
                      s_option_name (option));
            return 2;
        }
        if (option == S_OPTION_HELP)
            help = true;
        else if (s_take_option (query, option, optarg, error, error_size))
            return 2;
        if (option >= S_OPTION_DATE && option <= S_OPTION_DEADLINE)
            given |= 1u << (option - S_OPTION_DATE);
    }
    if (help)
        return 1;
    int positional = kind == PROTO_ANSWER_HOST ? 1 : 0;
    if (argc - optind > positional) {
        snprintf (error, error_size, "unexpected argument '%s'", argv[optind + positional]);
        return 2;
    }
    if (kind == PROTO_ANSWER_HOST) {
        if (optind == argc) {
            snprintf (error, error_size, "the host IP address is required");
            return 2;
        }
        if (proto_addr_parse (&query->host, argv[optind])) {
            snprintf (error, error_size, "host: '%s' is not an IPv4 or IPv6 address", argv[optind]);
            return 2;
        }
    }
    static const struct {
        proto_answer_kind_t kind;  //  Command
        int option;                //  Option it requires
        const char *name;          //  Its name
    } required[] = {{PROTO_ANSWER_TOP, S_OPTION_DATE, "--date"},
                    {PROTO_ANSWER_TOP, S_OPTION_OP, "--op"},
                    {PROTO_ANSWER_SERIES, S_OPTION_HOST, "--host"},
                    {PROTO_ANSWER_SERIES, S_OPTION_PORT, "--port"},
                    {PROTO_ANSWER_SERIES, S_OPTION_FEATURE, "--feature"},
                    {PROTO_ANSWER_SERIES, S_OPTION_OP, "--op"}};
    for (size_t index = 0; index < sizeof required / sizeof required[0]; index++)
        if (required[index].kind == kind &&
            !(given & (1u << (required[index].option - S_OPTION_DATE)))) {
            snprintf (error, error_size, "%s is required", required[index].name);
            return 2;
        }
    if (query->from > query->to) {
        char from[16], to[16];
        snprintf (error, error_size, "--from %s is after --to %s",
                  proto_day_format (query->from, from), proto_day_format (query->to, to));
        return 2;
    }
    return 0;
}

//  --------------------------------------------------------------------------
void
broker_cli_print_safe (FILE *file, const char *text)
{
    assert (file);
    assert (text);
    const uint8_t *bytes = (const uint8_t *) text;
    size_t size = strlen (text);
    for (size_t index = 0; index < size;) {
        size_t length = proto_json_utf8_length (bytes + index, size - index);
        bool control = length == 0 || bytes[index] < 0x20 || bytes[index] == 0x7F ||
                       (length == 2 && bytes[index] == 0xC2 && bytes[index + 1] < 0xA0);
        if (control)
            fputc ('?', file);
        else
            fwrite (bytes + index, 1, length, file);
        index += length ? length : 1;
    }
}

//  --------------------------------------------------------------------------
char *
broker_cli_human (proto_feature_t feature, uint64_t value, char *buffer)
{
    assert (buffer);
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    if (feature == PROTO_FEATURE_BYTES) {
        if (value < 1000) {
            snprintf (buffer, 32, "%" PRIu64 " B", value);
            return buffer;
        }
        double scaled = (double) value;
        size_t unit = 0;
        while (scaled >= 999.95 && unit < 6) {
            scaled /= 1000;
            unit++;
        }
        snprintf (buffer, 32, "%.1f %s", scaled, units[unit]);
    }
    else if (feature == PROTO_FEATURE_DURATIONS) {
        if (value < 1000)
            snprintf (buffer, 32, "%" PRIu64 " ms", value);
        else if (value < 3600000)
            snprintf (buffer, 32, "%.1f s", (double) value / 1000);
        else
            snprintf (buffer, 32, "%.1f h", (double) value / 3600000);
    }
    else
        snprintf (buffer, 32, "%" PRIu64, value);
    return buffer;
}

//  --------------------------------------------------------------------------
//  Text tables

static void
s_print_missing (proto_answer_t *answer)
{
    size_t count = proto_answer_missing_count (answer);
    if (count == 0)
        return;
    printf ("missing shards:");
    for (size_t index = 0; index < count; index++)
        printf (" %s", proto_answer_missing_at (answer, index));
    printf (" (their hosts are not in this answer)\n");
}

static void
s_print_port_title (uint16_t port)
{
    const char *service = proto_port_service (port);
    if (*service)
        printf ("\nport %u (%s)\n", port, service);
    else
        printf ("\nport %u\n", port);
}

//  A score in human units; a peers score that reached the cap as "~5012": an estimate.
//  buffer holds 33 bytes.
static const char *
s_human_marked (proto_feature_t feature, uint64_t score, bool capped, char *buffer)
{
    broker_cli_human (feature, score, buffer + 1);
    if (!capped)
        return buffer + 1;
    buffer[0] = '~';
    return buffer;
}

static void
s_print_estimate_note (bool any)
{
    if (any)
        printf ("\n~ estimate: more than %d distinct peers in a 5-minute block; counted "
                "exactly up to %d, estimated beyond\n",
                PROTO_PEERS_CAP, PROTO_PEERS_CAP);
}

static void
s_print_top (broker_cli_query_t *query, proto_answer_t *answer)
{
    char day[16], ip[PROTO_ADDR_STRLEN], value[33];
    bool estimates = false;
    printf ("top 10 of %s, operation %s\n", proto_day_format (query->day, day),
            proto_op_name (query->op));
    s_print_missing (answer);
    size_t ports = proto_answer_port_count (answer);
    if (ports == 0)
        printf ("\nno traffic\n");
    for (size_t port = 0; port < ports; port++) {
        s_print_port_title (proto_answer_port_at (answer, port));
        for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
            size_t count = proto_answer_top_count (answer, port, (proto_feature_t) feature);
            const char *name = proto_feature_name ((proto_feature_t) feature);
            if (count == 0)
                printf ("  %-10s -\n", name);
            for (size_t rank = 0; rank < count; rank++) {
                const proto_top_t *entry =
                    proto_answer_top_at (answer, port, (proto_feature_t) feature, rank);
                printf ("  %-10s %2zu  %-39s %12s", rank == 0 ? name : "", rank + 1,
                        proto_addr_format (&entry->addr, ip),
                        s_human_marked ((proto_feature_t) feature, entry->score,
                                        entry->peers_capped, value));
                estimates |= entry->peers_capped;
                if (entry->annotations)
                    printf ("  (%u annotation%s)", entry->annotations,
                            entry->annotations == 1 ? "" : "s");
                printf ("\n");
            }
        }
    }
    s_print_estimate_note (estimates);
}

static void
s_print_series (broker_cli_query_t *query, proto_answer_t *answer)
{
    char day[16], ip[PROTO_ADDR_STRLEN], value[33];
    bool estimates = false;
    printf ("%s: daily %s of %s\n", proto_addr_format (&query->host, ip), proto_op_name (query->op),
            proto_feature_name (query->feature));
    s_print_missing (answer);
    size_t ports = proto_answer_port_count (answer);
    if (ports == 0)
        printf ("\nno traffic\n");
    for (size_t port = 0; port < ports; port++) {
        s_print_port_title (proto_answer_port_at (answer, port));
        size_t count = proto_answer_point_count (answer, port);
        if (count == 0)
            printf ("  no traffic\n");
        for (size_t index = 0; index < count; index++) {
            const proto_point_t *point = proto_answer_point_at (answer, port, index);
            printf ("  %s  %12s\n", proto_day_format (point->day, day),
                    s_human_marked (query->feature, point->score, point->peers_capped, value));
            estimates |= point->peers_capped;
        }
    }
    s_print_estimate_note (estimates);
}

static void
s_print_host (broker_cli_query_t *query, proto_answer_t *answer)
{
    char ip[PROTO_ADDR_STRLEN], first[32], last[32];
    printf ("host         %s\n", proto_addr_format (&query->host, ip));
    if (proto_answer_known (answer)) {
        printf ("first seen   %s\n", proto_time_format (proto_answer_first_seen (answer), first));
        printf ("last seen    %s\n", proto_time_format (proto_answer_last_seen (answer), last));
    }
    else
        printf ("first seen   never\nlast seen    never\n");
    printf ("ports       ");
    for (size_t index = 0; index < proto_answer_port_count (answer); index++)
        printf (" %u", proto_answer_port_at (answer, index));
    printf ("%s\n", proto_answer_port_count (answer) ? "" : " none");
    size_t count = proto_answer_annotation_count (answer);
    printf ("annotations  %zu\n", count);
    for (size_t index = 0; index < count; index++) {
        const proto_annotation_t *entry = proto_answer_annotation_at (answer, index);
        printf ("  %-5s ", entry->rrtype);
        broker_cli_print_safe (stdout, entry->rrname);
        printf ("  (%s .. %s)\n", proto_time_format (entry->first_seen, first),
                proto_time_format (entry->last_seen, last));
    }
}

static void
s_print_days (proto_answer_t *answer)
{
    char day[16];
    size_t count = proto_answer_day_count (answer);
    for (size_t index = 0; index < count; index++)
        printf ("%s\n", proto_day_format (proto_answer_day_at (answer, index), day));
    if (count == 0)
        printf ("no data yet\n");
}

//  --------------------------------------------------------------------------
//  The request for one shard.

static proto_msg_t *
s_request (broker_cli_query_t *query)
{
    static const proto_msg_id_t ids[] = {[PROTO_ANSWER_TOP] = PROTO_MSG_TOP_REQUEST,
                                         [PROTO_ANSWER_SERIES] = PROTO_MSG_SERIES_REQUEST,
                                         [PROTO_ANSWER_HOST] = PROTO_MSG_HOST_REQUEST,
                                         [PROTO_ANSWER_DAYS] = PROTO_MSG_DAYS_REQUEST};
    proto_msg_t *request = proto_msg_new (ids[query->kind]);
    if (query->kind == PROTO_ANSWER_TOP) {
        proto_msg_set_day (request, query->day);
        proto_msg_set_op (request, (uint8_t) query->op);
        proto_msg_set_port (request, query->port);
        proto_msg_set_direction (request, query->direction);
    }
    else if (query->kind == PROTO_ANSWER_SERIES) {
        proto_msg_set_host (request, &query->host);
        proto_msg_set_port (request, query->port);
        proto_msg_set_feature (request, (uint8_t) query->feature);
        proto_msg_set_op (request, (uint8_t) query->op);
        proto_msg_set_from (request, query->from);
        proto_msg_set_to (request, query->to);
        proto_msg_set_direction (request, query->direction);
    }
    else if (query->kind == PROTO_ANSWER_HOST) {
        proto_msg_set_host (request, &query->host);
        proto_msg_set_direction (request, query->direction);
    }
    return request;
}

//  --------------------------------------------------------------------------
//  Say what failed: on stderr, and as the answer with --json.  Returns 1.

static int
s_fail (broker_cli_query_t *query, const char *command, const char *text)
{
    fprintf (stderr, "%s: %s\n", command, text);
    if (query->json) {
        char *json = proto_answer_error_json (text);
        printf ("%s\n", json);
        free (json);
    }
    return 1;
}

//  --------------------------------------------------------------------------
//  Scatter, gather, merge; the answer or NULL (said).

static proto_answer_t *
s_gather (broker_cli_query_t *query, broker_cli_scatter_t *scatter, const char *command)
{
    proto_answer_t *answer = proto_answer_new (query->kind);
    proto_answer_set_day (answer, query->day);
    proto_answer_set_op (answer, query->op);
    proto_answer_set_feature (answer, query->feature);
    proto_answer_set_host (answer, &query->host);
    if (query->kind == PROTO_ANSWER_TOP || query->kind == PROTO_ANSWER_SERIES)
        proto_answer_set_port (answer, query->port);
    size_t shards = broker_cli_scatter_shard_count (scatter);
    size_t first = 0, last = shards;  //  Shards asked: [first, last)
    if (query->kind == PROTO_ANSWER_SERIES || query->kind == PROTO_ANSWER_HOST) {
        first = broker_cli_scatter_shard_of (scatter, &query->host);
        last = first + 1;
    }
    for (size_t shard = first; shard < last; shard++) {
        proto_msg_t *request = s_request (query);
        broker_cli_scatter_send (scatter, shard, &request);
    }
    int64_t deadline = zclock_mono () + query->deadline_msecs;
    bool *merged = (bool *) zmalloc (shards * sizeof (bool));
    proto_msg_t *reply;
    size_t shard;
    while ((reply = broker_cli_scatter_recv (scatter, deadline, &shard))) {
        if (proto_answer_merge (answer, reply) == 0)
            merged[shard] = true;
        else if (proto_msg_id (reply) == PROTO_MSG_ERROR)
            fprintf (stderr, "%s: %s answered error %u: %s\n", command,
                     broker_cli_scatter_shard_name (scatter, shard), proto_msg_code (reply),
                     proto_msg_text (reply));
        else
            fprintf (stderr, "%s: %s answered %s, which does not fit the request\n", command,
                     broker_cli_scatter_shard_name (scatter, shard),
                     proto_msg_id_name (proto_msg_id (reply)));
        proto_msg_destroy (&reply);
    }
    char names[1024] = "";
    for (shard = first; shard < last; shard++)
        if (!merged[shard]) {
            const char *name = broker_cli_scatter_shard_name (scatter, shard);
            proto_answer_add_missing (answer, name);
            if (strlen (names) + strlen (name) + 8 < sizeof names)
                snprintf (names + strlen (names), sizeof names - strlen (names), "%s%s",
                          *names ? ", " : "", name);
        }
    free (merged);
    if (proto_answer_replies (answer) == 0) {
        char text[1200];
        snprintf (text, sizeof text, "no shard answered within %d msecs (%s)",
                  query->deadline_msecs, names);
        s_fail (query, command, text);
        proto_answer_destroy (&answer);
    }
    else if (*names)
        fprintf (stderr, "%s: no answer from %s within %d msecs: the answer is partial\n", command,
                 names, query->deadline_msecs);
    return answer;
}

//  --------------------------------------------------------------------------

static int
s_run (proto_answer_kind_t kind, int argc, char *argv[])
{
    const char *command = argv[0];
    broker_cli_query_t query;
    char error[512];
    int rc = broker_cli_query_parse (kind, argc, argv, &query, error, sizeof error);
    if (rc == 1) {
        printf ("%s%s  --deadline-msecs N  how long to wait for the shards (default %d)\n"
                "  --json            print the answer as JSON\n",
                s_usage[kind], BROKER_CLI_COMMON_USAGE, BROKER_CLI_DEADLINE_MSECS);
        return 0;
    }
    if (rc == 2) {
        fprintf (stderr, "%s: %s\n%s", command, error, s_usage[kind]);
        for (int index = 1; index < argc; index++)
            if (streq (argv[index], "--json"))
                query.json = true;
        if (query.json) {
            char *json = proto_answer_error_json (error);
            printf ("%s\n", json);
            free (json);
        }
        return 2;
    }
    char *endpoint = broker_cli_broker_endpoint (&query.common, command);
    if (!endpoint)
        return s_fail (&query, command, "cannot read the config file");
    broker_cli_scatter_t *scatter =
        broker_cli_scatter_new (endpoint, query.common.timeout_msecs, command, query.common.curve);
    if (!scatter) {
        snprintf (error, sizeof error, "no slot map from the broker at %s", endpoint);
        zstr_free (&endpoint);
        proto_curve_destroy (&query.common.curve);
        return s_fail (&query, command, error);
    }
    zstr_free (&endpoint);
    proto_answer_t *answer = s_gather (&query, scatter, command);
    broker_cli_scatter_destroy (&scatter);
    proto_curve_destroy (&query.common.curve);
    if (!answer)
        return 1;
    if (query.json) {
        char *json = proto_answer_json (answer);
        printf ("%s\n", json);
        free (json);
    }
    else if (kind == PROTO_ANSWER_TOP)
        s_print_top (&query, answer);
    else if (kind == PROTO_ANSWER_SERIES)
        s_print_series (&query, answer);
    else if (kind == PROTO_ANSWER_HOST)
        s_print_host (&query, answer);
    else
        s_print_days (answer);
    proto_answer_destroy (&answer);
    return 0;
}

//  --------------------------------------------------------------------------
int
broker_cli_top (int argc, char *argv[])
{
    return s_run (PROTO_ANSWER_TOP, argc, argv);
}

//  --------------------------------------------------------------------------
int
broker_cli_series (int argc, char *argv[])
{
    return s_run (PROTO_ANSWER_SERIES, argc, argv);
}

//  --------------------------------------------------------------------------
int
broker_cli_host (int argc, char *argv[])
{
    return s_run (PROTO_ANSWER_HOST, argc, argv);
}

//  --------------------------------------------------------------------------
int
broker_cli_days (int argc, char *argv[])
{
    return s_run (PROTO_ANSWER_DAYS, argc, argv);
}

//  --------------------------------------------------------------------------
//  Selftest

typedef struct {
    proto_answer_kind_t kind;  //  Command
    const char *args;          //  Arguments after the command, space-separated
    int rc;                    //  Expected broker_cli_query_parse result
    const char *error;         //  Expected part of the reason (rc 2)
} s_parse_case_t;

//  Parse the arguments of a case; *copy_p holds the words the query may borrow.
static int
s_test_parse (const s_parse_case_t *test, broker_cli_query_t *query, char *error, size_t error_size,
              char **copy_p)
{
    free (*copy_p);
    *copy_p = strdup (test->args);
    char *argv[32] = {(char *) "portevo test"};
    int argc = 1;
    for (char *word = strtok (*copy_p, " "); word && argc < 31; word = strtok (NULL, " "))
        argv[argc++] = word;
    return broker_cli_query_parse (test->kind, argc, argv, query, error, error_size);
}

void
broker_cli_query_test (bool verbose)
{
    printf (" * broker_cli_query: ");
    if (verbose)
        printf ("\n");
    static const s_parse_case_t cases[] = {
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum", 0, NULL},
        {PROTO_ANSWER_TOP, "--op=max --date=2026-11-20 --port 25 --json", 0, NULL},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op min --port all --deadline-msecs 50", 0, NULL},
        {PROTO_ANSWER_TOP, "--date 2026-02-30 --op sum", 2, "--date: '2026-02-30'"},
        {PROTO_ANSWER_TOP, "--date 20261120 --op sum", 2, "--date"},
        {PROTO_ANSWER_TOP, "--date 1969-12-31 --op sum", 2, "--date"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op avg", 2, "--op: 'avg' is not"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --port 65536", 2, "--port: '65536'"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --port -1", 2, "--port"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --port 25x", 2, "--port"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --port 99999999999", 2, "--port"},
        {PROTO_ANSWER_TOP, "--op sum", 2, "--date is required"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20", 2, "--op is required"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --feature bytes", 2,
         "--feature is not an option"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum extra", 2, "unexpected argument 'extra'"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --bogus", 2, "unknown option '--bogus'"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op", 2, "--op needs a value"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --deadline-msecs 0", 2, "--deadline-msecs"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --timeout x", 2, "--timeout"},
        {PROTO_ANSWER_TOP, "--help", 1, NULL},
        {PROTO_ANSWER_SERIES, "--host 10.0.0.1 --port all --feature peers --op max", 0, NULL},
        {PROTO_ANSWER_SERIES,
         "--host 2001:db8::1 --port 22 --feature durations --op sum --from 2026-11-01 --to "
         "2026-11-01",
         0, NULL},
        {PROTO_ANSWER_SERIES, "--host 10.0.0.256 --port all --feature peers --op max", 2,
         "--host: '10.0.0.256'"},
        {PROTO_ANSWER_SERIES, "--host 10.0.0.1 --port all --feature flows --op max", 2,
         "--feature: 'flows'"},
        {PROTO_ANSWER_SERIES, "--host 10.0.0.1 --port all --feature bytes --op max --from x", 2,
         "--from: 'x'"},
        {PROTO_ANSWER_SERIES,
         "--host 10.0.0.1 --port 1 --feature bytes --op max --from 2026-11-21 --to 2026-11-20", 2,
         "--from 2026-11-21 is after --to 2026-11-20"},
        {PROTO_ANSWER_SERIES, "--port all --feature bytes --op max", 2, "--host is required"},
        {PROTO_ANSWER_SERIES, "--host 10.0.0.1 --feature bytes --op max", 2, "--port is required"},
        {PROTO_ANSWER_SERIES, "--host 10.0.0.1 --port 1 --op max", 2, "--feature is required"},
        {PROTO_ANSWER_SERIES, "--host 10.0.0.1 --port 1 --feature bytes --date 2026-11-20", 2,
         "--date is not an option"},
        {PROTO_ANSWER_HOST, "10.0.0.1 --json", 0, NULL},
        {PROTO_ANSWER_HOST, "--json ::ffff:10.0.0.1", 0, NULL},
        {PROTO_ANSWER_HOST, "", 2, "host IP address is required"},
        {PROTO_ANSWER_HOST, "10.0.0.1 10.0.0.2", 2, "unexpected argument '10.0.0.2'"},
        {PROTO_ANSWER_HOST, "example.org", 2, "host: 'example.org'"},
        {PROTO_ANSWER_HOST, "10.0.0.1 --op sum", 2, "--op is not an option"},
        {PROTO_ANSWER_DAYS, "--json --broker tcp://127.0.0.1:1 --deadline-msecs 10", 0, NULL},
        {PROTO_ANSWER_DAYS, "today", 2, "unexpected argument"},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --direction in", 0, NULL},
        {PROTO_ANSWER_TOP, "--date 2026-11-20 --op sum --direction up", 2,
         "--direction: 'up' is not out or in"},
        {PROTO_ANSWER_HOST, "10.0.0.1 --direction in", 0, NULL},
    };
    broker_cli_query_t query;
    char error[512];
    char *copy = NULL;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        const s_parse_case_t *test = &cases[index];
        int rc = s_test_parse (test, &query, error, sizeof error, &copy);
        if (verbose || rc != test->rc || (test->error && !strstr (error, test->error)))
            printf ("   case %zu '%s': %d '%s'\n", index, test->args, rc, error);
        assert (rc == test->rc);
        assert (!test->error || strstr (error, test->error));
    }
    //  Values land in the query
    s_test_parse (&cases[1], &query, error, sizeof error, &copy);
    assert (query.op == PROTO_OP_MAX && query.port == 25 && query.json);
    assert (query.deadline_msecs == BROKER_CLI_DEADLINE_MSECS);
    char day[16];
    assert (streq (proto_day_format (query.day, day), "2026-11-20"));
    s_test_parse (&cases[2], &query, error, sizeof error, &copy);
    assert (query.port == PROTO_PORT_ALL && query.deadline_msecs == 50);
    s_test_parse (&cases[21], &query, error, sizeof error, &copy);
    assert (query.feature == PROTO_FEATURE_DURATIONS && query.port == 22);
    assert (query.from == query.to && !proto_addr_is_ipv4 (&query.host));
    s_test_parse (&cases[20], &query, error, sizeof error, &copy);
    assert (query.from == 0 && query.to == S_DAY_LAST);
    s_test_parse (&cases[31], &query, error, sizeof error, &copy);
    assert (proto_addr_is_ipv4 (&query.host) && proto_addr_ipv4 (&query.host) == 0x0A000001);
    s_test_parse (&cases[36], &query, error, sizeof error, &copy);
    assert (streq (query.common.broker, "tcp://127.0.0.1:1"));
    s_test_parse (&cases[sizeof cases / sizeof cases[0] - 3], &query, error, sizeof error, &copy);
    assert (query.direction == PROTO_DIRECTION_IN);
    s_test_parse (&cases[0], &query, error, sizeof error, &copy);
    assert (query.direction == PROTO_DIRECTION_OUT);
    free (copy);

    //  Human units
    static const struct {
        proto_feature_t feature;  //  Feature
        uint64_t value;           //  Value
        const char *text;         //  Expected text
    } units[] = {{PROTO_FEATURE_BYTES, 0, "0 B"},
                 {PROTO_FEATURE_BYTES, 999, "999 B"},
                 {PROTO_FEATURE_BYTES, 1000, "1.0 kB"},
                 {PROTO_FEATURE_BYTES, 1234567, "1.2 MB"},
                 {PROTO_FEATURE_BYTES, 999999, "1.0 MB"},
                 {PROTO_FEATURE_BYTES, 5000000000000, "5.0 TB"},
                 {PROTO_FEATURE_BYTES, UINT64_MAX, "18.4 EB"},
                 {PROTO_FEATURE_DURATIONS, 250, "250 ms"},
                 {PROTO_FEATURE_DURATIONS, 1500, "1.5 s"},
                 {PROTO_FEATURE_DURATIONS, 5400000, "1.5 h"},
                 {PROTO_FEATURE_PACKETS, 6000000000, "6000000000"},
                 {PROTO_FEATURE_PEERS, 4096, "4096"}};
    char text[32];
    for (size_t index = 0; index < sizeof units / sizeof units[0]; index++) {
        broker_cli_human (units[index].feature, units[index].value, text);
        if (verbose || !streq (text, units[index].text))
            printf ("   %" PRIu64 ": '%s' want '%s'\n", units[index].value, text,
                    units[index].text);
        assert (streq (text, units[index].text));
    }

    //  Terminal-safe text: escapes, C1 controls and bad UTF-8 become '?'
    char *buffer = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&buffer, &size);
    assert (file);
    broker_cli_print_safe (file, "ok.example \x1b[31mred\x7f caf\xC3\xA9 \xC2\x9b \xFF end");
    fclose (file);
    assert (streq (buffer, "ok.example ?[31mred? caf\xC3\xA9 ? ? end"));
    free (buffer);
    printf ("OK\n");
}
