/*  ingest_options.c - command line and configuration file (see ingest_options.h).
 */
#include "ingestor/ingest_options.h"
#include "proto/proto_msg.h"

#include <assert.h>
#include <czmq.h>
#include <getopt.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
ingest_options_t *
ingest_options_new (void)
{
    ingest_options_t *self = (ingest_options_t *) zmalloc (sizeof (ingest_options_t));
    assert (self);
    self->match = ingest_match_new ();
    assert (self->match);
    return self;
}

void
ingest_options_destroy (ingest_options_t **self_p)
{
    assert (self_p);
    ingest_options_t *self = *self_p;
    if (!self)
        return;
    ingest_anon_destroy (&self->anon);
    zstr_free (&self->anonymise_key);
    zstr_free (&self->curve_keys);
    ingest_match_destroy (&self->match);
    zstr_free (&self->config);
    zstr_free (&self->zone);
    zstr_free (&self->broker);
    zstr_free (&self->state);
    zstr_free (&self->spool);
    zstr_free (&self->name);
    zstr_free (&self->block_time);
    free (self);
    *self_p = NULL;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: portevo-ingest --name NAME --spool DIR --state DIR [--broker ENDPOINT]\n"
             "                      [--local-as N]... [--local-net CIDR]... [--ports LIST]\n"
             "                      [--tz ZONE] [--exclude-internal] [--no-others]\n"
             "                      [--anonymise-key FILE] [--config FILE] [-v] [FILE...]\n"
             "       portevo-ingest --dry-run [--json [--direction out|in]] [--others-json]\n"
             "                      [--local-as N]... [--local-net CIDR]... [--ports LIST]\n"
             "                      [--tz ZONE] [--exclude-internal] [--no-others]\n"
             "                      [--anonymise-key FILE] [--block-time TIME] FILE...\n"
             "  Without FILE: watch the spool and deliver every nfcapd file nfcapd finishes\n"
             "  (those already there first, oldest block first).  With FILEs: deliver them\n"
             "  and exit (0 when every shard acknowledged each, 1 if one failed).\n"
             "  --name NAME       this ingestor's name (one per spool)\n"
             "  --spool DIR       nfcapd's spool directory (-w DIR; -S subdirectories too)\n"
             "  --state DIR       where the done and failed journals live\n"
             "  --broker ENDPOINT the broker (default %s)\n"
             "  --config FILE     the cluster configuration (flags override it)\n"
             "  --dry-run         read the files and print what they hold; deliver nothing\n"
             "  --json            with --dry-run: one JSON object per (block, ip, port)\n"
             "  --others-json     with --dry-run: one JSON object per (block, ip) of the\n"
             "                    traffic to ports not monitored (totals, top 16 ports)\n"
             "  --no-others       do not count the traffic to ports not monitored (the\n"
             "                    reader then skips those flows undecoded)\n"
             "  --direction D     with --json: out (default: local sources) or in (local\n"
             "                    destinations, peers their sources; lines carry\n"
             "                    \"direction\":\"in\")\n"
             "  --block-time TIME with --dry-run: the block of every FILE, as YYYYMMDDhhmm in\n"
             "                    --tz or YYYY-MM-DDThh:mmZ (default: from a name\n"
             "                    nfcapd.YYYYMMDDhhmm, else from the file's own times)\n"
             "  --local-as N      a local AS number (repeatable)\n"
             "  --local-net CIDR  a local prefix, IPv4 or IPv6 (repeatable)\n"
             "                    (with neither, every source counts as local)\n"
             "  --ports LIST      monitored destination ports, e.g. 22,25,8080-8081\n"
             "                    (default %s)\n"
             "  --tz ZONE         time zone of nfcapd's file names (default UTC)\n"
             "  --exclude-internal\n"
             "                    count only flows whose destination is outside the local\n"
             "                    networks (destination AS or prefix not local)\n"
             "  --anonymise-key FILE\n"
             "                    replace every address by its Crypto-PAn pseudonym\n"
             "                    (prefix-preserving) under this key: 32 bytes, or 64 hex\n"
             "                    digits (e.g. openssl rand -hex 32 > FILE)\n"
             "  -v                log every message (debug)\n",
             INGEST_BROKER_DEFAULT, INGEST_MATCH_DEFAULT_PORTS);
}

//  Add each element of a comma-separated list; -1 at the first that does not parse.
static int
s_add_list (ingest_options_t *self, const char *list, bool net, FILE *err)
{
    char *copy = strdup (list);
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r (copy, ", ", &save); item && rc == 0;
         item = strtok_r (NULL, ", ", &save)) {
        if (net ? ingest_match_add_net (self->match, item)
                : ingest_match_add_as_text (self->match, item)) {
            fprintf (err,
                     net ? "portevo-ingest: local net '%s' is not a prefix like 10.0.0.0/8 or "
                           "2001:db8::/32 (host bits must be zero)\n"
                         : "portevo-ingest: local AS '%s' is not an AS number\n",
                     item);
            rc = -1;
        }
    }
    free (copy);
    return rc;
}

//  Take a string option from the file unless a flag set it.
static void
s_take (char **field, zconfig_t *config, const char *path)
{
    const char *value = config ? zconfig_get (config, path, NULL) : NULL;
    if (!*field && value && *value)
        *field = strdup (value);
}

//  --------------------------------------------------------------------------
int
ingest_options_parse (ingest_options_t *self, int argc, char **argv, FILE *out, FILE *err)
{
    assert (self);
    assert (argv);
    static const struct option options[] = {{"dry-run", no_argument, NULL, 'n'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"direction", required_argument, NULL, 'D'},
                                            {"local-as", required_argument, NULL, 'a'},
                                            {"local-net", required_argument, NULL, 'l'},
                                            {"ports", required_argument, NULL, 'p'},
                                            {"tz", required_argument, NULL, 'z'},
                                            {"name", required_argument, NULL, 'N'},
                                            {"spool", required_argument, NULL, 's'},
                                            {"state", required_argument, NULL, 'S'},
                                            {"broker", required_argument, NULL, 'b'},
                                            {"config", required_argument, NULL, 'c'},
                                            {"verbose", no_argument, NULL, 'v'},
                                            {"block-time", required_argument, NULL, 'B'},
                                            {"exclude-internal", no_argument, NULL, 'x'},
                                            {"anonymise-key", required_argument, NULL, 'k'},
                                            {"no-others", no_argument, NULL, 'O'},
                                            {"others-json", no_argument, NULL, 'J'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    zlistx_t *as_list = zlistx_new (), *net_list = zlistx_new ();
    const char *ports = NULL;
    bool exclude_internal = false;
    int rc = 0, option;
    optind = 0;  //  GNU getopt: start over (the selftest parses several times)
    while (rc == 0 && (option = getopt_long (argc, argv, "hv", options, NULL)) != -1) {
        char **field = option == 'z'   ? &self->zone
                       : option == 'N' ? &self->name
                       : option == 's' ? &self->spool
                       : option == 'S' ? &self->state
                       : option == 'b' ? &self->broker
                       : option == 'c' ? &self->config
                       : option == 'B' ? &self->block_time
                       : option == 'k' ? &self->anonymise_key
                                       : NULL;
        if (field) {
            zstr_free (field);
            *field = strdup (optarg);
        }
        else if (option == 'n')
            self->dry_run = true;
        else if (option == 'j')
            self->json = true;
        else if (option == 'J')
            self->others_json = true;
        else if (option == 'O')
            ingest_match_set_others (self->match, false);
        else if (option == 'D' && (streq (optarg, "out") || streq (optarg, "in")))
            self->json_in = streq (optarg, "in");
        else if (option == 'D') {
            fprintf (err, "portevo-ingest: --direction '%s' is not out or in\n", optarg);
            rc = 2;
        }
        else if (option == 'x')
            exclude_internal = true;
        else if (option == 'v')
            self->verbose = true;
        else if (option == 'a' || option == 'l')
            zlistx_add_end (option == 'a' ? as_list : net_list, optarg);
        else if (option == 'p')
            ports = optarg;
        else
            rc = option == 'h' ? 1 : 2;
    }
    zconfig_t *config = NULL;
    if (rc == 0 && self->config) {
        config = zconfig_load (self->config);
        if (!config) {
            fprintf (err, "portevo-ingest: --config: cannot read '%s'\n", self->config);
            rc = 2;
        }
    }
    if (rc == 0) {
        s_take (&self->broker, config, "portevo/broker/endpoint");
        s_take (&self->zone, config, "portevo/ingestor/tz");
        s_take (&self->anonymise_key, config, "portevo/ingestor/anonymise_key");
        s_take (&self->curve_keys, config, "portevo/curve/keys");
        if (self->name && config) {
            char *path = zsys_sprintf ("portevo/ingestor/%s/spool", self->name);
            s_take (&self->spool, config, path);
            zstr_free (&path);
            path = zsys_sprintf ("portevo/ingestor/%s/state", self->name);
            s_take (&self->state, config, path);
            zstr_free (&path);
        }
        if (!self->broker)
            self->broker = strdup (INGEST_BROKER_DEFAULT);
        if (!self->zone)
            self->zone = strdup ("UTC");
        const char *file_as = config ? zconfig_get (config, "portevo/ingestor/local_as", "") : "";
        const char *file_net = config ? zconfig_get (config, "portevo/ingestor/local_net", "") : "";
        if (zlistx_size (as_list) == 0 && *file_as)
            zlistx_add_end (as_list, (void *) file_as);
        if (zlistx_size (net_list) == 0 && *file_net)
            zlistx_add_end (net_list, (void *) file_net);
        for (const char *item = (const char *) zlistx_first (as_list); item && rc == 0;
             item = (const char *) zlistx_next (as_list))
            rc = s_add_list (self, item, false, err) ? 2 : 0;
        for (const char *item = (const char *) zlistx_first (net_list); item && rc == 0;
             item = (const char *) zlistx_next (net_list))
            rc = s_add_list (self, item, true, err) ? 2 : 0;
        if (!ports && config)
            ports = zconfig_get (config, "portevo/ingestor/ports", NULL);
        if (rc == 0 && ports && ingest_match_set_ports (self->match, ports)) {
            fprintf (err, "portevo-ingest: ports '%s' is not a list like 22,25,8080-8081\n", ports);
            rc = 2;
        }
        const char *file_exclude =
            config ? zconfig_get (config, "portevo/ingestor/exclude_internal", "0") : "0";
        if (rc == 0 && !exclude_internal && *file_exclude && strcmp (file_exclude, "0") != 0) {
            if (strcmp (file_exclude, "1") == 0)
                exclude_internal = true;
            else {
                fprintf (err, "portevo-ingest: exclude_internal '%s' is not 0 or 1\n",
                         file_exclude);
                rc = 2;
            }
        }
        if (rc == 0 && exclude_internal && zlistx_size (as_list) == 0 &&
            zlistx_size (net_list) == 0) {
            fprintf (err, "portevo-ingest: --exclude-internal needs the local networks "
                          "(--local-as or --local-net)\n");
            rc = 2;
        }
        ingest_match_set_exclude_internal (self->match, exclude_internal);
        const char *file_others =
            config ? zconfig_get (config, "portevo/ingestor/others", "1") : "1";
        if (rc == 0 && strcmp (file_others, "0") == 0)
            ingest_match_set_others (self->match, false);
        else if (rc == 0 && strcmp (file_others, "1") != 0) {
            fprintf (err, "portevo-ingest: others '%s' is not 0 or 1\n", file_others);
            rc = 2;
        }
        if (rc == 0 && self->anonymise_key) {
            char error[INGEST_ANON_ERROR_MAX];
            self->anon = ingest_anon_load (self->anonymise_key, error, sizeof error);
            if (!self->anon) {
                fprintf (err, "portevo-ingest: --anonymise-key: %s\n", error);
                rc = 2;
            }
        }
    }
    self->files = argv + optind;
    self->file_count = argc - optind;
    if (rc == 0 && self->dry_run && self->file_count == 0) {
        fprintf (err, "portevo-ingest: --dry-run needs FILEs\n");
        rc = 2;
    }
    if (rc == 0 && self->json_in && !self->json) {
        fprintf (err, "portevo-ingest: --direction goes with --dry-run --json\n");
        rc = 2;
    }
    if (rc == 0 && self->block_time && !self->dry_run) {
        fprintf (err, "portevo-ingest: --block-time goes with --dry-run\n");
        rc = 2;
    }
    if (rc == 0 && !self->dry_run) {
        const char *missing = !self->name    ? "--name"
                              : !self->spool ? "--spool"
                              : !self->state ? "--state"
                                             : NULL;
        if (missing) {
            fprintf (err, "portevo-ingest: %s is required (or in --config)\n", missing);
            rc = 2;
        }
        else if (!*self->name || strlen (self->name) > PROTO_NAME_MAX || strchr (self->name, '/')) {
            fprintf (err, "portevo-ingest: --name must have 1 to %d characters, no '/'\n",
                     PROTO_NAME_MAX);
            rc = 2;
        }
    }
    zconfig_destroy (&config);
    zlistx_destroy (&net_list);
    zlistx_destroy (&as_list);
    if (rc)
        s_usage (rc == 1 ? out : err);
    return rc;
}

//  --------------------------------------------------------------------------
//  Selftest

void
ingest_options_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_options: ");
    char path[] = "/tmp/ingest_options_test.XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    const char *text = "portevo\n"
                       "    broker\n"
                       "        endpoint = \"tcp://127.0.0.1:6000\"\n"
                       "    ingestor\n"
                       "        local_as = \"64500,64501\"\n"
                       "        ports = \"22,25\"\n"
                       "        exclude_internal = \"1\"\n"
                       "        others = \"0\"\n"
                       "        tz = \"Europe/Luxembourg\"\n"
                       "        router1\n"
                       "            spool = \"/var/cache/nfdump/router1\"\n"
                       "            state = \"/var/lib/portevo/ingest-router1\"\n";
    assert (write (fd, text, strlen (text)) == (ssize_t) strlen (text));
    close (fd);
    FILE *sink = fopen ("/dev/null", "w");

    //  The file fills what the flags leave out; flags win
    const char *argv1[] = {"portevo-ingest", "--config",   path, "--name", "router1", "--tz", "UTC",
                           "--local-net",    "10.0.0.0/8", "a",  "b",      NULL};
    ingest_options_t *options = ingest_options_new ();
    assert (ingest_options_parse (options, 11, (char **) argv1, sink, sink) == 0);
    assert (streq (options->broker, "tcp://127.0.0.1:6000"));
    assert (streq (options->spool, "/var/cache/nfdump/router1"));
    assert (streq (options->state, "/var/lib/portevo/ingest-router1"));
    assert (streq (options->zone, "UTC"));
    assert (!ingest_match_others (options->match));  //  others = "0"
    assert (options->file_count == 2 && streq (options->files[1], "b"));
    assert (ingest_match_port (options->match, 22) && !ingest_match_port (options->match, 80));
    ingest_flow_t flow;
    memset (&flow, 0, sizeof flow);
    flow.dst_port = 22;
    flow.protocol = 6;
    flow.src_as = 64501;  //  the file's AS list stays (only --local-as replaces it)
    proto_addr_parse (&flow.src, "192.0.2.1");
    assert (ingest_match_flow (options->match, &flow));
    assert (ingest_match_exclude_internal (options->match) && !options->anon);
    proto_addr_parse (&flow.dst, "10.9.9.9");  //  Internal destination (--local-net)
    assert (!ingest_match_flow (options->match, &flow));
    ingest_options_destroy (&options);

    //  Defaults; missing requirements and bad values are usage errors
    const char *argv2[] = {"portevo-ingest", "--name", "r", "--spool", "/s", "--state", "/t", NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 7, (char **) argv2, sink, sink) == 0);
    assert (streq (options->broker, INGEST_BROKER_DEFAULT) && streq (options->zone, "UTC"));
    assert (options->file_count == 0 && !options->dry_run);
    assert (ingest_match_others (options->match) && !options->others_json);
    ingest_options_destroy (&options);
    const char *argv2b[] = {"portevo-ingest", "--dry-run", "--no-others",
                            "--others-json",  "f",         NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 5, (char **) argv2b, sink, sink) == 0);
    assert (!ingest_match_others (options->match) && options->others_json);
    ingest_options_destroy (&options);
    const char *argv3[] = {"portevo-ingest", "--name", "r", "--spool", "/s", NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 5, (char **) argv3, sink, sink) == 2);
    ingest_options_destroy (&options);
    const char *argv4[] = {"portevo-ingest", "--dry-run", "--local-as", "x1", "f", NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 5, (char **) argv4, sink, sink) == 2);
    ingest_options_destroy (&options);
    const char *argv5[] = {"portevo-ingest", "--help", NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 2, (char **) argv5, sink, sink) == 1);
    ingest_options_destroy (&options);
    const char *argv6[] = {"portevo-ingest", "--config", "/nonexistent", "--dry-run", "f", NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 5, (char **) argv6, sink, sink) == 2);
    ingest_options_destroy (&options);

    //  --exclude-internal needs local networks; --anonymise-key loads its file at once
    char key_path[] = "/tmp/ingest_options_key.XXXXXX";
    fd = mkstemp (key_path);
    assert (fd >= 0);
    ssize_t written = write (fd, "0123456789abcdef0123456789abcdef", 32);
    assert (written == 32);
    close (fd);
    const char *argv7[] = {"portevo-ingest", "--dry-run", "--exclude-internal",
                           "--local-as",     "64500",     "--anonymise-key",
                           key_path,         "f",         NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 8, (char **) argv7, sink, sink) == 0);
    assert (ingest_match_exclude_internal (options->match) && options->anon);
    assert (streq (options->anonymise_key, key_path));
    ingest_options_destroy (&options);
    const char *argv8[] = {"portevo-ingest", "--dry-run", "--exclude-internal", "f", NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 4, (char **) argv8, sink, sink) == 2);
    ingest_options_destroy (&options);
    int truncated = truncate (key_path, 31);
    assert (truncated == 0);
    const char *argv9[] = {"portevo-ingest", "--dry-run", "--anonymise-key", key_path, "f", NULL};
    options = ingest_options_new ();
    assert (ingest_options_parse (options, 5, (char **) argv9, sink, sink) == 2);
    assert (!options->anon);
    ingest_options_destroy (&options);
    unlink (key_path);
    fclose (sink);
    unlink (path);
    printf ("OK\n");
}
