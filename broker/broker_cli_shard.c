/*  broker_cli_shard.c - `portevo shard add NAME ENDPOINT` and `portevo shard remove NAME`.

    Scale out or in: the broker plans which slots move (SHARD_ADD / SHARD_REMOVE,
    PROTOCOL.md "Slot moves") and runs the move itself, batch by batch; this command
    only asks for it and, with --wait, polls the broker until the move is done (no slot
    left to move, the hold ended).  Start the new shard (portevo-shard --name NAME
    --bind ENDPOINT) after `add`: the broker refuses a name that is not in its map.  Stop
    a removed shard after the move: it then owns nothing.
*/
#include "broker/broker_cli.h"

//  --------------------------------------------------------------------------
static void
s_usage (FILE *out)
{
    fprintf (out, "usage: portevo shard add NAME ENDPOINT [--wait] [--broker EP | --config FILE]\n"
                  "       portevo shard remove NAME [--wait] [--broker EP | --config FILE]\n"
                  "add: a new shard NAME (then start it, bound at ENDPOINT) takes 1024/N of the\n"
                  "slots; remove: the slots of NAME go to the other shards, then NAME leaves the\n"
                  "map.  The broker moves the slots' data; ingestors hold new files meanwhile.\n"
                  "  --wait       return when the move is done\n" BROKER_CLI_COMMON_USAGE);
}

//  --------------------------------------------------------------------------
//  Poll the broker until the move is done: STATUS says no slot is left to move (no
//  batch in any phase) and the MAP's hold ended.  The hold alone is not enough: the
//  broker lifts it for a moment while a source has open blocks of the moving hosts
//  (PROTOCOL.md "Slot moves", Limits).  0, or 1 if the broker stopped answering.

static proto_msg_t *
s_ask (const char *endpoint, broker_cli_common_t *common, const char *command, proto_msg_id_t id,
       proto_msg_id_t want)
{
    proto_msg_t *request = proto_msg_new (id);
    proto_msg_t *reply =
        broker_cli_request (endpoint, &request, common->timeout_msecs, command, common->curve);
    if (reply && proto_msg_id (reply) != want)
        proto_msg_destroy (&reply);
    return reply;
}

static int
s_wait (const char *endpoint, broker_cli_common_t *common, const char *command)
{
    while (!zsys_interrupted) {
        proto_msg_t *status =
            s_ask (endpoint, common, command, PROTO_MSG_STATUS_REQUEST, PROTO_MSG_STATUS);
        if (!status)
            return 1;
        uint32_t pending = proto_msg_count (status);
        proto_msg_destroy (&status);
        if (pending == 0) {
            proto_msg_t *map =
                s_ask (endpoint, common, command, PROTO_MSG_MAP_REQUEST, PROTO_MSG_MAP);
            if (!map)
                return 1;
            bool hold = proto_msg_hold (map);
            uint64_t epoch = proto_msg_epoch (map);
            proto_msg_destroy (&map);
            if (!hold) {
                printf ("move done: map epoch %" PRIu64 "\n", epoch);
                return 0;
            }
        }
        zclock_sleep (250);
    }
    return 1;
}

//  --------------------------------------------------------------------------
int
broker_cli_shard (int argc, char *argv[])
{
    const char *command = argv[0];
    static const struct option options[] = {BROKER_CLI_COMMON_OPTIONS,
                                            {"wait", no_argument, NULL, 'w'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    broker_cli_common_t common;
    broker_cli_common_init (&common);
    bool wait = false;
    int option;
    while ((option = getopt_long (argc, argv, "hw", options, NULL)) != -1) {
        if (option == 'h') {
            s_usage (stdout);
            return 0;
        }
        if (option == 'w')
            wait = true;
        else if (broker_cli_common_option (&common, command, option, optarg)) {
            s_usage (stderr);
            return 2;
        }
    }
    int args = argc - optind;
    bool add = args == 3 && streq (argv[optind], "add");
    if (!add && !(args == 2 && streq (argv[optind], "remove"))) {
        s_usage (stderr);
        return 2;
    }
    const char *name = argv[optind + 1];
    if (!broker_map_name_valid (name)) {
        fprintf (stderr, "%s: '%s' is not a shard name (1 to %d of A-Z a-z 0-9 . _ -)\n", command,
                 name, PROTO_NAME_MAX);
        return 2;
    }
    char *endpoint = broker_cli_broker_endpoint (&common, command);
    if (!endpoint)
        return 1;
    proto_msg_t *request = proto_msg_new (add ? PROTO_MSG_SHARD_ADD : PROTO_MSG_SHARD_REMOVE);
    proto_msg_set_name (request, name);
    if (add)
        proto_msg_set_endpoint (request, argv[optind + 2]);
    proto_msg_t *reply =
        broker_cli_request (endpoint, &request, common.timeout_msecs, command, common.curve);
    int rc = 1;
    if (reply && proto_msg_id (reply) == PROTO_MSG_MOVE_PLANNED) {
        printf ("shard %s %s: %u slots to move (map epoch %" PRIu64 ")\n", proto_msg_name (reply),
                add ? "added" : "to be removed", proto_msg_count (reply), proto_msg_epoch (reply));
        fflush (stdout);
        rc = wait ? s_wait (endpoint, &common, command) : 0;
    }
    else
        broker_cli_say_refusal (reply, command, endpoint);
    proto_msg_destroy (&reply);
    zstr_free (&endpoint);
    proto_curve_destroy (&common.curve);
    return rc;
}
