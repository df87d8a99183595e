/*  broker_cli_keygen.c - `portevo keygen --keys DIR NAME...`: CURVE keys for a cluster.

    Makes the keys directory that portevo/curve/keys names (proto/proto_curve.h): the
    cluster's server key once, and one key per process name (shard-0, router1, gateway,
    portevo for this command) whose public half goes into DIR/allowed.  Existing keys are
    kept, so it can be run again to add a process.  Each host needs the server key's
    public file (server.cert), its processes' own keys and, on the broker's and shards'
    hosts, server.cert_secret and allowed/.
*/
#include "broker/broker_cli.h"

//  --------------------------------------------------------------------------
static void
s_usage (FILE *out)
{
    fprintf (out, "usage: portevo keygen --keys DIR NAME...\n"
                  "Makes CURVE keys in DIR: the cluster's server key (server.cert, kept if it\n"
                  "exists) and one key per NAME (a shard, an ingestor, gateway, or portevo for\n"
                  "the CLI), allowed by the servers (its public key goes into DIR/allowed).\n"
                  "Then set portevo/curve/keys = \"DIR\" in the config (proto/CONFIG.md).\n");
}

//  --------------------------------------------------------------------------
int
broker_cli_keygen (int argc, char *argv[])
{
    static const struct option options[] = {{"keys", required_argument, NULL, 'k'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *keys = NULL;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        if (option == 'k')
            keys = optarg;
        else {
            s_usage (option == 'h' ? stdout : stderr);
            return option == 'h' ? 0 : 2;
        }
    }
    if (!keys || optind >= argc) {
        s_usage (stderr);
        return 2;
    }
    for (int index = optind; index < argc; index++)
        if (!broker_map_name_valid (argv[index])) {
            fprintf (stderr, "%s: '%s' is not a process name (1 to %d of A-Z a-z 0-9 . _ -)\n",
                     argv[0], argv[index], PROTO_NAME_MAX);
            return 2;
        }
    return proto_curve_keygen (keys, argv + optind, argc - optind, stdout, stderr) ? 1 : 0;
}
