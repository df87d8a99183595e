/*  broker_main.c - portevo-broker: the cluster's registry and slot map owner.

    Reads the command line and the config file (portevo/broker/{endpoint,data,shards};
    flags win), builds the broker and serves until SIGINT or SIGTERM.  Exit codes: 0
    after a clean stop, 1 if the broker could not start, 2 for a usage error.
*/
#include "broker/broker.h"

#include <getopt.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: portevo-broker --data DIR (--shards NAME,NAME... | --shard-count N)\n"
             "                      [--endpoint EP] [--config FILE] [-v]\n"
             "  --endpoint EP     ROUTER endpoint to bind (default %s)\n"
             "  --data DIR        where the slot map is persisted\n"
             "  --shards LIST     shard names for a first start (slot s -> shard s mod N)\n"
             "  --shard-count N   the same with names shard-0 .. shard-N-1\n"
             "  --config FILE     the cluster's config file (see proto/CONFIG.md)\n"
             "  -v, --verbose     log every message\n"
             "Once a map is persisted in DIR it wins over --shards: hosts never move.\n",
             BROKER_ENDPOINT_DEFAULT);
}

//  "shard-0,shard-1,..." for a count; NULL if count is not 1..BROKER_MAP_SHARDS_MAX.
static char *
s_shard_names (const char *count_text)
{
    char *end;
    long count = strtol (count_text, &end, 10);
    if (*end || count < 1 || count > BROKER_MAP_SHARDS_MAX)
        return NULL;
    char *names = (char *) zmalloc ((size_t) count * 12 + 1);
    for (long index = 0; index < count; index++)
        sprintf (names + strlen (names), index ? ",shard-%ld" : "shard-%ld", index);
    return names;
}

int
main (int argc, char *argv[])
{
    zsys_set_logident ("portevo-broker");
    const char *endpoint = NULL, *data = NULL, *shards = NULL, *count = NULL, *config = NULL;
    bool verbose = false;
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'}, {"data", required_argument, NULL, 'd'},
        {"shards", required_argument, NULL, 's'},   {"shard-count", required_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},   {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int option;
    while ((option = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (option) {
        case 'e':
            endpoint = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 's':
            shards = optarg;
            break;
        case 'n':
            count = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            s_usage (stdout);
            return 0;
        default:
            s_usage (stderr);
            return 2;
        }
    }
    if (optind < argc || (shards && count)) {
        fprintf (stderr, "portevo-broker: %s\n",
                 optind < argc ? "unexpected argument"
                               : "give --shards or --shard-count, not both");
        s_usage (stderr);
        return 2;
    }
    zconfig_t *root = NULL;
    if (config && !(root = zconfig_load (config))) {
        fprintf (stderr, "portevo-broker: cannot read config file %s\n", config);
        return 1;
    }
    if (root) {
        endpoint = endpoint ? endpoint : zconfig_get (root, "portevo/broker/endpoint", NULL);
        data = data ? data : zconfig_get (root, "portevo/broker/data", NULL);
        if (!count)
            shards = shards ? shards : zconfig_get (root, "portevo/broker/shards", NULL);
    }
    char *names = count ? s_shard_names (count) : NULL;
    int rc = 0;
    if (count && !names) {
        fprintf (stderr, "portevo-broker: --shard-count: '%s' is not a number from 1 to %d\n",
                 count, BROKER_MAP_SHARDS_MAX);
        rc = 2;
    }
    else if (!data) {
        fprintf (stderr, "portevo-broker: no data directory (--data or the config file)\n");
        rc = 2;
    }
    if (rc) {
        s_usage (stderr);
        zstr_free (&names);
        zconfig_destroy (&root);
        return rc;
    }
    broker_options_t broker_options = {
        .endpoint = endpoint ? endpoint : BROKER_ENDPOINT_DEFAULT,
        .data = data,
        .shards = names ? names : shards,
        .curve_keys = root ? zconfig_get (root, "portevo/curve/keys", NULL) : NULL,
        .verbose = verbose};
    broker_t *broker = broker_new (&broker_options);
    if (broker)
        broker_run (broker);
    else
        rc = 1;
    broker_destroy (&broker);
    zstr_free (&names);
    zconfig_destroy (&root);
    return rc;
}
