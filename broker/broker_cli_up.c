/*  broker_cli_up.c - `portevo up`: a whole local cluster in one command.

    Starts, as child processes of the binaries next to this one (/proc/self/exe), a
    broker, N shards (default 2), one ingestor per --spool and portevo-gateway when that
    binary exists, on consecutive free loopback ports from 5570 (broker first).  It
    writes the cluster's config file (proto/CONFIG.md) into the data directory, passes
    --config to every child, prints what it started, waits, restarts a child that dies
    (broker_supervisor: logged, with backoff) and stops them all on SIGINT or SIGTERM.

    The data directory (default ./portevo-data) holds: portevo.cfg, broker/ (the slot
    map), shard-N/, ingest-NAME/ (done journals) and logs/NAME.log (each child's output);
    it is locked (flock) while a `portevo up` runs from it.  A second start from the same
    directory keeps the persisted shard names (the map wins: hosts never move).
*/
#include "broker/broker_cli.h"
#include "broker/broker_supervisor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define UP_PORT_BASE 5570    //  First port tried (the broker's default)
#define UP_PORT_SPAN 1000    //  Ports tried above it
#define UP_SHARDS_DEFAULT 2  //  Shards of a new cluster
#define UP_HTTP_DEFAULT "127.0.0.1:8080"
#define UP_READY_MSECS 10000  //  How long to wait for every peer to say HELLO
#define UP_POLL_MSECS 200     //  Supervision interval

//  Settings `portevo up` passes to its processes through the config file it writes
//  (CONFIG.md): flag, what it takes, where in the file, and the range a number must be in.
enum {
    UP_RETENTION,
    UP_GRACE,
    UP_MAPSIZE,
    UP_SEGMENT,
    UP_DEADLINE,
    UP_WEB,
    UP_EXCLUDE_INTERNAL,
    UP_ANONYMISE_KEY,
    UP_SETTINGS
};
static const struct {
    const char *flag;   //  --flag VALUE
    const char *value;  //  "N" (a number), "DIR", "FILE" (made absolute), NULL: no value ("1")
    const char *path;   //  Under portevo/ in the config file
    uint64_t minimum;   //  Smallest number accepted
    uint64_t maximum;   //  Largest number accepted
    const char *help;   //  Usage line
} s_settings[UP_SETTINGS] = {
    {"retention-days", "N", "shard/retention_days", 1, 36500,
     "days kept; older blocks are refused (default 180)"},
    {"grace-secs", "N", "shard/grace_secs", 0, 7 * 86400,
     "how long a block waits for every exporter (default 600)"},
    {"mapsize-mb", "N", "shard/mapsize_mb", 1, 1ULL << 30,
     "each shard's LMDB map size (default 65536)"},
    {"segment-days", "N", "shard/segment_days", 0, 64,
     "days a compacted segment of a new store spans (default 16; 0: none)"},
    {"deadline-msecs", "N", "gateway/deadline_msecs", 1, 60000,
     "how long the gateway waits for shards (default 500)"},
    {"web", "DIR", "gateway/web", 0, 0, "the web UI's folder (default: web/ beside bin/)"},
    {"exclude-internal", NULL, "ingestor/exclude_internal", 0, 0,
     "count only flows to destinations outside the local networks"},
    {"anonymise-key", "FILE", "ingestor/anonymise_key", 0, 0,
     "show Crypto-PAn pseudonyms, not addresses (32-byte key)"}};

typedef struct {
    const char *command;                //  "portevo up", for messages
    zlist_t *spools;                    //  --spool values (borrowed from argv)
    zlist_t *local_as;                  //  --local-as values
    zlist_t *local_nets;                //  --local-net values
    const char *ports;                  //  --ports or NULL
    const char *tz;                     //  --tz or NULL
    const char *http;                   //  --http
    const char *data;                   //  --data
    int shard_count;                    //  --shards, 0 if not given
    const char *settings[UP_SETTINGS];  //  s_settings values given, NULL if not
    char *paths[UP_SETTINGS];           //  Absolute paths of FILE values (owned)
} s_up_t;

//  --------------------------------------------------------------------------
static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: portevo up [--spool DIR]... [--local-as N]... [--local-net CIDR]...\n"
             "                  [--ports LIST] [--shards N] [--data DIR] [--http ADDR] [--tz Z]\n"
             "                  [--retention-days N] [--grace-secs N] [--mapsize-mb N]\n"
             "                  [--segment-days N] [--deadline-msecs N] [--web DIR]\n"
             "                  [--exclude-internal] [--anonymise-key FILE]\n"
             "Starts a local cluster (broker, shards, one ingestor per spool, gateway) and\n"
             "stops it on Ctrl-C.\n"
             "  --spool DIR       an nfcapd spool directory (repeatable: one ingestor each)\n"
             "  --local-as N      a local AS number (repeatable)\n"
             "  --local-net CIDR  a local prefix (repeatable)\n"
             "  --ports LIST      monitored destination ports (default: the paper's ALL*)\n"
             "  --shards N        shards of a new cluster (default %d)\n"
             "  --data DIR        data directory (default ./%s)\n"
             "  --http ADDR       the web UI's address (default %s)\n"
             "  --tz ZONE         time zone of nfcapd's file names (default UTC)\n",
             UP_SHARDS_DEFAULT, BROKER_CLI_DATA_DEFAULT, UP_HTTP_DEFAULT);
    for (size_t index = 0; index < UP_SETTINGS; index++) {
        char flag[40];
        snprintf (flag, sizeof flag, "--%s%s%s", s_settings[index].flag,
                  s_settings[index].value ? " " : "",
                  s_settings[index].value ? s_settings[index].value : "");
        if (strlen (flag) > 17)  //  Too long for the column: the help on its own line
            fprintf (out, "  %s\n  %-17s %s\n", flag, "", s_settings[index].help);
        else
            fprintf (out, "  %-17s %s\n", flag, s_settings[index].help);
    }
}

//  --------------------------------------------------------------------------
//  Parse the command line.  0 ok, 2 usage error (said), -1 help asked.

static int
s_parse (s_up_t *up, int argc, char *argv[])
{
    struct option options[9 + UP_SETTINGS + 1] = {{"spool", required_argument, NULL, 's'},
                                                  {"local-as", required_argument, NULL, 'a'},
                                                  {"local-net", required_argument, NULL, 'l'},
                                                  {"ports", required_argument, NULL, 'p'},
                                                  {"shards", required_argument, NULL, 'n'},
                                                  {"data", required_argument, NULL, 'd'},
                                                  {"http", required_argument, NULL, 'w'},
                                                  {"tz", required_argument, NULL, 'z'},
                                                  {"help", no_argument, NULL, 'h'}};
    for (int index = 0; index < UP_SETTINGS; index++)
        options[9 + index] = (struct option){
            s_settings[index].flag, s_settings[index].value ? required_argument : no_argument, NULL,
            0x100 + index};
    int option;
    char *end;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        if (option >= 0x100 && option < 0x100 + UP_SETTINGS) {
            int index = option - 0x100;
            if (!s_settings[index].value) {
                up->settings[index] = "1";
                continue;
            }
            if (streq (s_settings[index].value, "FILE")) {
                zstr_free (&up->paths[index]);
                up->paths[index] = realpath (optarg, NULL);
                if (!up->paths[index] || access (up->paths[index], R_OK)) {
                    fprintf (stderr, "%s: --%s: cannot read '%s': %s\n", up->command,
                             s_settings[index].flag, optarg, strerror (errno));
                    return 2;
                }
                up->settings[index] = up->paths[index];
                continue;
            }
            unsigned long long number = strtoull (optarg, &end, 10);
            if (s_settings[index].maximum &&
                (!isdigit ((unsigned char) *optarg) || *end || number < s_settings[index].minimum ||
                 number > s_settings[index].maximum)) {
                fprintf (stderr, "%s: --%s: '%s' is not a number from %llu to %llu\n", up->command,
                         s_settings[index].flag, optarg,
                         (unsigned long long) s_settings[index].minimum,
                         (unsigned long long) s_settings[index].maximum);
                return 2;
            }
            up->settings[index] = optarg;
            continue;
        }
        switch (option) {
        case 's':
            zlist_append (up->spools, optarg);
            break;
        case 'a':
            zlist_append (up->local_as, optarg);
            break;
        case 'l':
            zlist_append (up->local_nets, optarg);
            break;
        case 'p':
            up->ports = optarg;
            break;
        case 'd':
            up->data = optarg;
            break;
        case 'w':
            up->http = optarg;
            break;
        case 'z':
            up->tz = optarg;
            break;
        case 'n':
            up->shard_count = (int) strtol (optarg, &end, 10);
            if (*optarg == 0 || *end || up->shard_count < 1 || up->shard_count > 64) {
                fprintf (stderr, "%s: --shards: '%s' is not a number from 1 to 64\n", up->command,
                         optarg);
                return 2;
            }
            break;
        case 'h':
            return -1;
        default:
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "%s: unexpected argument '%s'\n", up->command, argv[optind]);
        return 2;
    }
    const char *texts[] = {up->data,
                           up->http,
                           up->ports,
                           up->tz,
                           up->settings[UP_WEB],
                           up->settings[UP_ANONYMISE_KEY]};
    if (up->settings[UP_EXCLUDE_INTERNAL] && zlist_size (up->local_as) == 0 &&
        zlist_size (up->local_nets) == 0) {
        fprintf (stderr,
                 "%s: --exclude-internal needs the local networks (--local-as or "
                 "--local-net)\n",
                 up->command);
        return 2;
    }
    for (size_t index = 0; index < sizeof texts / sizeof texts[0]; index++)
        if (texts[index] && strpbrk (texts[index], "\"\n")) {
            fprintf (stderr, "%s: '%s' cannot hold '\"' or a newline\n", up->command, texts[index]);
            return 2;
        }
    return 0;
}

//  --------------------------------------------------------------------------
//  True if a TCP port is free on loopback (as ZeroMQ binds: with SO_REUSEADDR).

static bool
s_port_free (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bool free = bind (fd, (struct sockaddr *) &address, sizeof address) == 0;
    close (fd);
    return free;
}

//  The first of count consecutive free ports from UP_PORT_BASE, or -1.
static int
s_ports_find (int count)
{
    for (int base = UP_PORT_BASE; base < UP_PORT_BASE + UP_PORT_SPAN; base++) {
        int port = base;
        while (port < base + count && s_port_free (port))
            port++;
        if (port == base + count)
            return base;
        base = port;  //  The next try starts after the port in use
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  A valid ingestor name from a spool path, unique among taken (names, comma-joined
//  between commas: ",a,b,").  A new string.

static char *
s_ingestor_name (const char *spool, const char *taken)
{
    char *copy = strdup (spool);
    char base[48];
    snprintf (base, sizeof base, "%s", basename (copy));
    free (copy);
    for (char *cursor = base; *cursor; cursor++)
        if (!isalnum ((unsigned char) *cursor) && !strchr ("._-", *cursor))
            *cursor = '-';
    if (!broker_map_name_valid (base) || streq (base, ".") || streq (base, ".."))
        snprintf (base, sizeof base, "ingest");
    char *name = strdup (base);
    for (int suffix = 2;; suffix++) {
        char *needle = zsys_sprintf (",%s,", name);
        bool used = strstr (taken, needle) != NULL;
        zstr_free (&needle);
        if (!used)
            return name;
        zstr_free (&name);
        name = zsys_sprintf ("%s-%d", base, suffix);
    }
}

//  --------------------------------------------------------------------------
//  Join a list with commas (a new string).

static char *
s_join (zlist_t *list)
{
    char *text = strdup ("");
    for (const char *item = (const char *) zlist_first (list); item;
         item = (const char *) zlist_next (list)) {
        char *longer = zsys_sprintf ("%s%s%s", text, *text ? "," : "", item);
        zstr_free (&text);
        text = longer;
    }
    return text;
}

//  --------------------------------------------------------------------------
//  The shard names: the persisted map's, else shard-0..N-1.  NULL on conflict (said).
//  Adds the ingestors that the map knows to ingestors.

static zlist_t *
s_shard_names (s_up_t *up, const char *data, zlist_t *ingestors)
{
    char *directory = zsys_sprintf ("%s/broker", data);
    char *path = zsys_sprintf ("%s/%s", directory, BROKER_MAP_FILE);
    bool exists = access (path, F_OK) == 0;
    broker_map_t *map = exists ? broker_map_load (directory) : NULL;
    zstr_free (&path);
    zstr_free (&directory);
    if (exists && !map) {
        fprintf (stderr, "%s: the broker's map in %s/broker is invalid (see above)\n", up->command,
                 data);
        return NULL;
    }
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    size_t count = map ? broker_map_shard_count (map)
                       : (size_t) (up->shard_count ? up->shard_count : UP_SHARDS_DEFAULT);
    if (map && up->shard_count && (size_t) up->shard_count != count) {
        fprintf (stderr,
                 "%s: %s holds a cluster of %zu shards; portevo cannot reshard it: drop "
                 "--shards or use another --data\n",
                 up->command, data, count);
        zlist_destroy (&names);
    }
    for (size_t index = 0; names && index < count; index++) {
        char *name =
            map ? strdup (broker_map_shard_name (map, index)) : zsys_sprintf ("shard-%zu", index);
        zlist_append (names, name);
        zstr_free (&name);
    }
    for (size_t index = 0; map && index < broker_map_ingestor_count (map); index++)
        zlist_append (ingestors, (void *) broker_map_ingestor_name (map, index));
    broker_map_destroy (&map);
    return names;
}

//  --------------------------------------------------------------------------
//  Add a child with a log in DATA/logs; argv is NULL-terminated.

static void
s_add (broker_supervisor_t *supervisor, const char *data, const char *name, zlist_t *argv)
{
    const char **vector = (const char **) zmalloc ((zlist_size (argv) + 1) * sizeof (char *));
    size_t count = 0;
    for (const char *arg = (const char *) zlist_first (argv); arg;
         arg = (const char *) zlist_next (argv))
        vector[count++] = arg;
    char *log = zsys_sprintf ("%s/logs/%s.log", data, name);
    broker_supervisor_add (supervisor, name, vector, log);
    zstr_free (&log);
    free (vector);
}

//  A new argument list: program path, then the arguments given (NULL-terminated).
static zlist_t *
s_argv (const char *bin, const char *program, ...)
{
    zlist_t *argv = zlist_new ();
    zlist_autofree (argv);
    char *path = zsys_sprintf ("%s/%s", bin, program);
    zlist_append (argv, path);
    zstr_free (&path);
    va_list args;
    va_start (args, program);
    for (const char *arg = va_arg (args, const char *); arg; arg = va_arg (args, const char *))
        zlist_append (argv, (void *) arg);
    va_end (args);
    return argv;
}

//  --------------------------------------------------------------------------
//  Write the config, add every child to the supervisor, print the plan.  0 or 1.

static int
s_plan (s_up_t *up, const char *bin, const char *data, zlist_t *shards, zlist_t *known,
        broker_supervisor_t *supervisor, char **broker_p)
{
    int base = s_ports_find ((int) zlist_size (shards) + 1);
    if (base < 0) {
        fprintf (stderr, "%s: no %zu consecutive free ports from %d\n", up->command,
                 zlist_size (shards) + 1, UP_PORT_BASE);
        return 1;
    }
    char *config_path = zsys_sprintf ("%s/%s", data, BROKER_CLI_CONFIG_FILE);
    char *broker = zsys_sprintf ("tcp://127.0.0.1:%d", base);
    char *names = s_join (shards);
    zconfig_t *root = zconfig_new ("root", NULL);
    zconfig_t *top = zconfig_new ("portevo", root);
    zconfig_set_comment (top, " written by `portevo up`; rewritten at each start");
    zconfig_put (top, "broker/endpoint", broker);
    zconfig_putf (top, "broker/data", "%s/broker", data);
    zconfig_put (top, "broker/shards", names);
    zlist_t *argv = s_argv (bin, "portevo-broker", "--config", config_path, NULL);
    s_add (supervisor, data, "broker", argv);
    zlist_destroy (&argv);
    printf ("  broker     %s\n", broker);
    zconfig_t *shard_section = zconfig_new ("shard", top);
    zconfig_t *ingestor = zconfig_new ("ingestor", top);
    for (size_t index = 0; index < UP_SETTINGS; index++)
        if (up->settings[index])
            zconfig_put (top, s_settings[index].path, up->settings[index]);
    int port = base + 1;
    for (const char *name = (const char *) zlist_first (shards); name;
         name = (const char *) zlist_next (shards), port++) {
        char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
        char *shard_data = zsys_sprintf ("%s/%s", data, name);
        zconfig_t *entry = zconfig_new (name, shard_section);
        zconfig_put (entry, "endpoint", endpoint);
        zconfig_put (entry, "data", shard_data);
        argv = s_argv (bin, "portevo-shard", "--name", name, "--endpoint", endpoint, "--data",
                       shard_data, "--broker", broker, "--config", config_path, NULL);
        s_add (supervisor, data, name, argv);
        zlist_destroy (&argv);
        printf ("  %-10s %s\n", name, endpoint);
        zstr_free (&shard_data);
        zstr_free (&endpoint);
    }
    char *local_as = s_join (up->local_as), *local_nets = s_join (up->local_nets);
    if (*local_as)
        zconfig_put (ingestor, "local_as", local_as);
    if (*local_nets)
        zconfig_put (ingestor, "local_net", local_nets);
    if (up->ports)
        zconfig_put (ingestor, "ports", up->ports);
    zconfig_put (ingestor, "tz", up->tz ? up->tz : "UTC");
    char *taken = zsys_sprintf (",broker,gateway,%s,", names);  //  Names in use
    for (const char *spool = (const char *) zlist_first (up->spools); spool;
         spool = (const char *) zlist_next (up->spools)) {
        char *name = s_ingestor_name (spool, taken);
        char *longer = zsys_sprintf ("%s%s,", taken, name);
        zstr_free (&taken);
        taken = longer;
        char *state = zsys_sprintf ("%s/ingest-%s", data, name);
        zconfig_t *entry = zconfig_new (name, ingestor);
        zconfig_put (entry, "spool", spool);
        zconfig_put (entry, "state", state);
        argv = s_argv (bin, "portevo-ingest", "--name", name, "--spool", spool, "--state", state,
                       "--broker", broker, "--config", config_path, NULL);
        for (const char *as = (const char *) zlist_first (up->local_as); as;
             as = (const char *) zlist_next (up->local_as)) {
            zlist_append (argv, (void *) "--local-as");
            zlist_append (argv, (void *) as);
        }
        for (const char *net = (const char *) zlist_first (up->local_nets); net;
             net = (const char *) zlist_next (up->local_nets)) {
            zlist_append (argv, (void *) "--local-net");
            zlist_append (argv, (void *) net);
        }
        const char *flags[] = {"--ports", up->ports, "--tz", up->tz};
        for (size_t index = 0; index < 4; index += 2)
            if (flags[index + 1]) {
                zlist_append (argv, (void *) flags[index]);
                zlist_append (argv, (void *) flags[index + 1]);
            }
        s_add (supervisor, data, name, argv);
        zlist_destroy (&argv);
        printf ("  %-10s %s\n", name, spool);
        zstr_free (&state);
        zstr_free (&name);
    }
    for (const char *name = (const char *) zlist_first (known); name;
         name = (const char *) zlist_next (known)) {
        char *needle = zsys_sprintf (",%s,", name);
        if (!strstr (taken, needle))
            printf ("  (ingestor %s registered before and is not started now: blocks wait "
                    "grace_secs for its part)\n",
                    name);
        zstr_free (&needle);
    }
    zconfig_put (top, "gateway/http", up->http);
    char *gateway = zsys_sprintf ("%s/portevo-gateway", bin);
    if (access (gateway, X_OK) == 0) {
        argv = s_argv (bin, "portevo-gateway", "--http", up->http, "--config", config_path, NULL);
        s_add (supervisor, data, "gateway", argv);
        zlist_destroy (&argv);
        printf ("  gateway    http://%s/\n", up->http);
    }
    else
        printf ("  (no portevo-gateway in %s yet: no web UI)\n", bin);
    char *temp = zsys_sprintf ("%s.tmp", config_path);
    int rc = zconfig_save (root, temp) == 0 && rename (temp, config_path) == 0 ? 0 : 1;
    if (rc)
        fprintf (stderr, "%s: cannot write %s: %s\n", up->command, config_path, strerror (errno));
    printf ("  config     %s\n  logs       %s/logs/\n", config_path, data);
    *broker_p = broker;
    zstr_free (&temp);
    zstr_free (&gateway);
    zstr_free (&taken);
    zstr_free (&local_nets);
    zstr_free (&local_as);
    zconfig_destroy (&root);
    zstr_free (&names);
    zstr_free (&config_path);
    return rc;
}

//  --------------------------------------------------------------------------
//  Wait (bounded) until the broker reports every peer up; say how it went.

static void
s_wait_ready (s_up_t *up, broker_supervisor_t *supervisor, const char *broker, size_t peers)
{
    int64_t deadline = zclock_mono () + UP_READY_MSECS;
    size_t up_count = 0;
    while (!zsys_interrupted && zclock_mono () < deadline) {
        broker_supervisor_check (supervisor);
        proto_msg_t *request = proto_msg_new (PROTO_MSG_STATUS_REQUEST);
        proto_msg_t *reply = broker_cli_request (broker, &request, 500, NULL, NULL);
        up_count = 0;
        for (size_t index = 0; reply && index < proto_msg_peers_count (reply); index++) {
            proto_peer_t peer;
            proto_msg_peers_at (reply, index, &peer);
            up_count += streq (peer.state, BROKER_REGISTRY_UP);
        }
        proto_msg_destroy (&reply);
        if (up_count >= peers)
            break;
        zclock_sleep (UP_POLL_MSECS);
    }
    if (up_count >= peers)
        printf ("%s: cluster ready (%zu peers up); Ctrl-C stops it, `portevo status` shows "
                "it\n",
                up->command, up_count);
    else
        printf ("%s: %zu of %zu peers up after %d s: see the logs and `portevo status`\n",
                up->command, up_count, peers, UP_READY_MSECS / 1000);
    fflush (stdout);
}

//  --------------------------------------------------------------------------
//  Start, supervise until interrupted, stop.  Returns the exit code.

static int
s_run (s_up_t *up, const char *bin, const char *data)
{
    const char *programs[] = {"portevo-broker", "portevo-shard", "portevo-ingest"};
    size_t needed = zlist_size (up->spools) ? 3 : 2;
    for (size_t index = 0; index < needed; index++) {
        char *path = zsys_sprintf ("%s/%s", bin, programs[index]);
        int rc = access (path, X_OK);
        zstr_free (&path);
        if (rc) {
            fprintf (stderr, "%s: no %s next to portevo in %s (build it with make)\n", up->command,
                     programs[index], bin);
            return 1;
        }
    }
    zlist_t *known = zlist_new ();
    zlist_autofree (known);
    zlist_t *shards = s_shard_names (up, data, known);
    if (!shards) {
        zlist_destroy (&known);
        return 1;
    }
    for (const char *spool = (const char *) zlist_first (up->spools); spool;
         spool = (const char *) zlist_next (up->spools)) {
        struct stat status;
        if (stat (spool, &status) || !S_ISDIR (status.st_mode)) {
            fprintf (stderr, "%s: --spool %s is not a directory\n", up->command, spool);
            zlist_destroy (&known);
            zlist_destroy (&shards);
            return 1;
        }
    }
    char *logs = zsys_sprintf ("%s/logs", data);
    zsys_dir_create ("%s", logs);
    zstr_free (&logs);
    broker_supervisor_t *supervisor = broker_supervisor_new ();
    char *broker = NULL;
    printf ("%s: starting a cluster from %s\n", up->command, data);
    int rc = s_plan (up, bin, data, shards, known, supervisor, &broker);
    fflush (stdout);
    zsys_catch_interrupts ();
    if (rc == 0 && broker_supervisor_start (supervisor)) {
        fprintf (stderr, "%s: a process could not be started (see above)\n", up->command);
        rc = 1;
    }
    if (rc == 0) {
        s_wait_ready (up, supervisor, broker, zlist_size (shards) + zlist_size (up->spools));
        while (!zsys_interrupted) {
            broker_supervisor_check (supervisor);
            zclock_sleep (UP_POLL_MSECS);
        }
        printf ("%s: stopping the cluster\n", up->command);
    }
    broker_supervisor_stop (supervisor, BROKER_SUPERVISOR_STOP_MSECS);
    broker_supervisor_destroy (&supervisor);
    zstr_free (&broker);
    zlist_destroy (&shards);
    zlist_destroy (&known);
    return rc;
}

//  --------------------------------------------------------------------------
//  The absolute form of each spool (kept in spools, which owns them).

static int
s_spools_resolve (s_up_t *up, zlist_t *resolved)
{
    for (const char *spool = (const char *) zlist_first (up->spools); spool;
         spool = (const char *) zlist_next (up->spools)) {
        char *path = realpath (spool, NULL);
        if (!path || strpbrk (path, "\"\n")) {
            fprintf (stderr, "%s: --spool %s: %s\n", up->command, spool,
                     path ? "cannot hold '\"' or a newline" : strerror (errno));
            free (path);
            return -1;
        }
        zlist_append (resolved, path);
        free (path);
    }
    zlist_destroy (&up->spools);
    up->spools = zlist_dup (resolved);
    return 0;
}

//  --------------------------------------------------------------------------
int
broker_cli_up (int argc, char *argv[])
{
    assert (argv);
    s_up_t up = {.command = argv[0],
                 .spools = zlist_new (),
                 .local_as = zlist_new (),
                 .local_nets = zlist_new (),
                 .http = UP_HTTP_DEFAULT,
                 .data = BROKER_CLI_DATA_DEFAULT};
    zsys_set_logident ("portevo-up");
    int rc = s_parse (&up, argc, argv);
    if (rc)
        s_usage (rc == 2 ? stderr : stdout);
    char self[4096];
    ssize_t size = rc ? -1 : readlink ("/proc/self/exe", self, sizeof self - 1);
    char *bin = NULL, *data = NULL;
    zlist_t *resolved = zlist_new ();
    zlist_autofree (resolved);
    if (rc == 0 && size > 0) {
        self[size] = 0;
        bin = strdup (dirname (self));
        zsys_dir_create ("%s", up.data);
        data = realpath (up.data, NULL);
    }
    int lock = data ? open (data, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc)
        rc = rc == -1 ? 0 : rc;
    else if (!bin || !data || lock < 0) {
        fprintf (stderr, "%s: cannot use the data directory %s: %s\n", up.command, up.data,
                 strerror (errno));
        rc = 1;
    }
    else if (flock (lock, LOCK_EX | LOCK_NB)) {
        fprintf (stderr, "%s: another `portevo up` runs from %s\n", up.command, data);
        rc = 1;
    }
    else if (s_spools_resolve (&up, resolved))
        rc = 1;
    else
        rc = s_run (&up, bin, data);
    if (lock >= 0)
        close (lock);
    zlist_destroy (&resolved);
    free (data);
    free (bin);
    for (size_t index = 0; index < UP_SETTINGS; index++)
        zstr_free (&up.paths[index]);
    zlist_destroy (&up.local_nets);
    zlist_destroy (&up.local_as);
    zlist_destroy (&up.spools);
    return rc;
}
