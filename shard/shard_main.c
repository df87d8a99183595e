/*  shard_main.c - portevo-shard: one shard of a portevo cluster.

    Reads the config file (if any) for its --name, applies the flags over it, and runs
    the shard server until SIGINT or SIGTERM.  Exit code 0 after a clean stop, 1 if
    the shard could not start, 2 for a usage error.  With --migrate it converts the
    store in --data to this build's schema (shard_store_migrate) and exits: 0 done,
    1 failed; --name is then optional (it only selects the config file's section).
*/
#include "shard/shard.h"

#include <getopt.h>

#define OVERRIDES_MAX 16

static void
s_usage (FILE *stream)
{
    fprintf (stream,
             "usage: portevo-shard --name NAME [--endpoint tcp://127.0.0.1:5571] --data DIR\n"
             "                     [--broker tcp://127.0.0.1:5570] [--config FILE]\n"
             "                     [--retention-days N] [--grace-secs N] [--mapsize-mb N]\n"
             "                     [--segment-days N] [-v]\n"
             "       portevo-shard --migrate --data DIR [--name NAME --config FILE] "
             "[--mapsize-mb N]\n");
}

int
main (int argc, char *argv[])
{
    static const struct option options[] = {{"name", required_argument, NULL, 'n'},
                                            {"endpoint", required_argument, NULL, 'e'},
                                            {"data", required_argument, NULL, 'd'},
                                            {"broker", required_argument, NULL, 'b'},
                                            {"config", required_argument, NULL, 'c'},
                                            {"retention-days", required_argument, NULL, 'r'},
                                            {"grace-secs", required_argument, NULL, 'g'},
                                            {"mapsize-mb", required_argument, NULL, 'm'},
                                            {"segment-days", required_argument, NULL, 's'},
                                            {"verbose", no_argument, NULL, 'v'},
                                            {"migrate", no_argument, NULL, 'M'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *name = NULL, *config_path = NULL;
    const char *keys[OVERRIDES_MAX], *values[OVERRIDES_MAX];
    size_t overrides = 0;
    bool verbose = false, migrate = false;
    int option;
    while ((option = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        if (option == 'n')
            name = optarg;
        else if (option == 'c')
            config_path = optarg;
        else if (option == 'v')
            verbose = true;
        else if (option == 'M')
            migrate = true;
        else if (option == 'h') {
            s_usage (stdout);
            return 0;
        }
        else if (option != '?' && overrides < OVERRIDES_MAX) {
            for (const struct option *known = options; known->name; known++)
                if (known->val == option)
                    keys[overrides] = known->name;
            values[overrides++] = optarg;
        }
        else {
            s_usage (stderr);
            return 2;
        }
    }
    if (migrate && !name)
        name = "migrate";
    if (optind < argc || !name || !*name) {
        s_usage (stderr);
        return 2;
    }
    //  Log as "shard-NAME", or as NAME if it already says shard-
    char *ident =
        strncmp (name, "shard-", 6) == 0 ? strdup (name) : zsys_sprintf ("shard-%s", name);
    zsys_set_logident (ident);
    zsys_init ();

    shard_config_t *config = shard_config_new ();
    int rc = shard_config_set (config, "name", name);
    if (rc == 0 && config_path)
        rc = shard_config_load (config, config_path);
    for (size_t index = 0; index < overrides && rc == 0; index++)
        rc = shard_config_set (config, keys[index], values[index]);
    config->verbose = verbose;
    if (rc == 0)
        rc = shard_config_check (config);
    shard_t *shard = rc == 0 && !migrate ? shard_new (config) : NULL;
    if (rc == 0 && migrate) {
        uint64_t moved = 0;
        rc = shard_store_migrate (config->data, config->mapsize_mb << 20, &moved);
        if (rc == 0)
            zsys_notice ("migrate: %s is at schema %d (%llu daily rows converted)", config->data,
                         SHARD_SCHEMA_VERSION, (unsigned long long) moved);
    }
    else if (shard) {
        rc = shard_run (shard);
        shard_destroy (&shard);
    }
    else
        rc = -1;
    shard_config_destroy (&config);
    zstr_free (&ident);
    return rc == 0 ? 0 : 1;
}
