/*  broker_cli_ingestor.c - `portevo ingestor remove NAME`: decommission an ingestor.

    An ingestor that registered once stays in the broker's map, and every block then waits
    for its part until the grace period ends.  When a router or spool is retired for good,
    this asks the broker (INGESTOR_REMOVE, PROTOCOL.md) to drop it from the map: the
    shards follow the new map at their next heartbeat and blocks stop waiting for it.  The
    broker refuses while the ingestor is up, so stop it first.
*/
#include "broker/broker_cli.h"

//  --------------------------------------------------------------------------
static void
s_usage (FILE *out)
{
    fprintf (out, "usage: portevo ingestor remove NAME [--broker EP | --config FILE] "
                  "[--timeout MSECS]\n"
                  "Decommissions the ingestor NAME (it must be stopped): the broker drops it from\n"
                  "the map, so blocks no longer wait for its part.\n" BROKER_CLI_COMMON_USAGE);
}

//  --------------------------------------------------------------------------
int
broker_cli_ingestor (int argc, char *argv[])
{
    const char *command = argv[0];
    static const struct option options[] = {
        BROKER_CLI_COMMON_OPTIONS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    broker_cli_common_t common;
    broker_cli_common_init (&common);
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        if (option == 'h') {
            s_usage (stdout);
            return 0;
        }
        if (broker_cli_common_option (&common, command, option, optarg)) {
            s_usage (stderr);
            return 2;
        }
    }
    if (argc - optind != 2 || !streq (argv[optind], "remove")) {
        s_usage (stderr);
        return 2;
    }
    const char *name = argv[optind + 1];
    if (!broker_map_name_valid (name)) {
        fprintf (stderr, "%s: '%s' is not an ingestor name (1 to %d of A-Z a-z 0-9 . _ -)\n",
                 command, name, PROTO_NAME_MAX);
        return 2;
    }
    char *endpoint = broker_cli_broker_endpoint (&common, command);
    if (!endpoint)
        return 1;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_INGESTOR_REMOVE);
    proto_msg_set_name (request, name);
    proto_msg_t *reply =
        broker_cli_request (endpoint, &request, common.timeout_msecs, command, common.curve);
    int rc = 1;
    if (reply && proto_msg_id (reply) == PROTO_MSG_INGESTOR_REMOVED) {
        printf ("ingestor %s removed from the map (epoch %" PRIu64
                "): blocks no longer wait for it\n",
                proto_msg_name (reply), proto_msg_epoch (reply));
        rc = 0;
    }
    else
        broker_cli_say_refusal (reply, command, endpoint);
    proto_msg_destroy (&reply);
    zstr_free (&endpoint);
    proto_curve_destroy (&common.curve);
    return rc;
}
