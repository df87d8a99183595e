/*  gw_main.c - portevo-gateway: the HTTP API and the web UI in front of the shards.

    Reads the options (flags override the config file of --config, CONFIG.md), sets up
    logging and signals, builds the scatter (ZeroMQ side) and the HTTP server, and runs
    the libuv loop.  The loop owns the signals: czmq's handler is switched off before the
    first socket.  SIGINT or SIGTERM stops accepting, lets open requests finish (at most
    GW_MAIN_LINGER_MSECS), then destroys everything and leaves the loop.
*/
#include "gateway/gw_http.h"
#include "gateway/gw_scatter.h"

#include <getopt.h>

#define GW_MAIN_LINGER_MSECS 2000  //  Longest wait for open connections at shutdown
#define GW_MAIN_CHECK_MSECS 50     //  How often to look during that wait

typedef struct {
    gw_scatter_t *scatter;   //  ZeroMQ side
    gw_http_t *http;         //  HTTP side
    uv_signal_t signals[2];  //  SIGINT, SIGTERM
    uv_timer_t linger;       //  Shutdown wait
    int64_t linger_until;    //  Monotonic msecs
    proto_curve_t *curve;    //  CURVE keys (portevo/curve/keys), or NULL
    gw_auth_t *auth;         //  HTTP credentials (--auth-file), or NULL: open
} s_gateway_t;

static void
s_on_walk_close (uv_handle_t *handle, void *arg)
{
    (void) arg;
    if (!uv_is_closing (handle))
        uv_close (handle, NULL);
}

static void
s_on_linger (uv_timer_t *timer)
{
    s_gateway_t *gateway = (s_gateway_t *) timer->data;
    if (gw_http_connections (gateway->http) > 0 && zclock_mono () < gateway->linger_until)
        return;
    uv_close ((uv_handle_t *) timer, NULL);
    for (int index = 0; index < 2; index++)
        uv_close ((uv_handle_t *) &gateway->signals[index], NULL);
    bool clean = gw_http_connections (gateway->http) == 0;
    gw_http_destroy (&gateway->http);
    gw_scatter_destroy (&gateway->scatter);
    if (!clean)  //  Connections that outlived the wait: close their handles too
        uv_walk (timer->loop, s_on_walk_close, NULL);
}

static void
s_on_signal (uv_signal_t *handle, int signum)
{
    s_gateway_t *gateway = (s_gateway_t *) handle->data;
    if (gateway->linger_until)
        return;
    zsys_notice ("gateway: %s, shutting down", strsignal (signum));
    gw_http_shutdown (gateway->http);
    gateway->linger_until = zclock_mono () + GW_MAIN_LINGER_MSECS;
    uv_timer_start (&gateway->linger, s_on_linger, 0, GW_MAIN_CHECK_MSECS);
}

//  Settings with a flag and a config path; flags win over the config file (CONFIG.md).
enum {
    S_BROKER,
    S_HTTP,
    S_WEB,
    S_DEADLINE,
    S_RETENTION,
    S_AUTH,
    S_CHANGES_K,
    S_CHANGES_WINDOW,
    S_CONFIG,
    S_COUNT
};
static const struct {
    const char *flag;      //  --flag VALUE
    const char *path;      //  In the config file
    const char *fallback;  //  Default
} s_settings[S_COUNT] = {{"broker", "portevo/broker/endpoint", GW_SCATTER_BROKER_DEFAULT},
                         {"http", "portevo/gateway/http", GW_HTTP_DEFAULT},
                         {"web", "portevo/gateway/web", NULL},
                         {"deadline-msecs", "portevo/gateway/deadline_msecs", "500"},
                         {"retention-days", "portevo/shard/retention_days", "180"},
                         {"auth-file", "portevo/gateway/auth_file", NULL},
                         {"changes-k", "portevo/gateway/changes_k", "4"},
                         {"changes-window", "portevo/gateway/changes_window", "28"},
                         {"config", NULL, NULL}};

static int
s_usage (FILE *out, int rc)
{
    fprintf (out,
             "usage: portevo-gateway [--config FILE] [--broker EP] [--http ADDR:PORT] "
             "[--web DIR]\n                       [--deadline-msecs N] [--retention-days N] "
             "[--auth-file FILE]\n                       [--changes-k N] "
             "[--changes-window DAYS] [-v]\nServes the JSON API (gateway/API.md) and the web UI, "
             "asking the shards "
             "of the broker's map.\nDefaults: --broker " GW_SCATTER_BROKER_DEFAULT
             ", --http " GW_HTTP_DEFAULT ", --deadline-msecs 500, --retention-days 180.\n");
    return rc;
}

//  A number setting in [1, maximum], or -1 (said on stderr).
static long
s_number (int setting, const char *text, long maximum)
{
    char *end;
    long value = strtol (text, &end, 10);
    if (*text && !*end && value >= 1 && value <= maximum)
        return value;
    fprintf (stderr, "portevo-gateway: --%s must be a number from 1 to %ld, not '%s'\n",
             s_settings[setting].flag, maximum, text);
    return -1;
}

int
main (int argc, char *argv[])
{
    zsys_handler_set (NULL);  //  Before any socket: the loop owns the signals
    zsys_set_logident ("gateway");
    signal (SIGPIPE, SIG_IGN);
    const char *values[S_COUNT] = {NULL};
    bool verbose = false;
    struct option options[S_COUNT + 3] = {{"verbose", no_argument, NULL, 'v'},
                                          {"help", no_argument, NULL, 'h'}};
    for (int index = 0; index < S_COUNT; index++)
        options[index + 2] =
            (struct option){s_settings[index].flag, required_argument, NULL, 0x100 + index};
    int option;
    while ((option = getopt_long (argc, argv, "vh", options, NULL)) != -1)
        if (option >= 0x100)
            values[option - 0x100] = optarg;
        else if (option == 'v')
            verbose = true;
        else
            return option == 'h' ? s_usage (stdout, 0) : s_usage (stderr, 2);
    if (optind < argc)
        return s_usage (stderr, 2);
    zconfig_t *config =
        values[S_CONFIG] ? zconfig_load (values[S_CONFIG]) : zconfig_new ("root", NULL);
    if (values[S_CONFIG] && !config) {
        fprintf (stderr, "portevo-gateway: cannot read config %s\n", values[S_CONFIG]);
        return 2;
    }
    bool web_given = values[S_WEB] || zconfig_get (config, s_settings[S_WEB].path, NULL);
    for (int index = 0; index < S_CONFIG; index++)
        if (!values[index])
            values[index] =
                zconfig_get (config, s_settings[index].path, s_settings[index].fallback);
    long deadline = s_number (S_DEADLINE, values[S_DEADLINE], 60000);
    long retention = s_number (S_RETENTION, values[S_RETENTION], 36500);
    long changes_k = s_number (S_CHANGES_K, values[S_CHANGES_K], PROTO_CHANGES_K_MAX);
    //  A window longer than the retention is cut to it (the default 28 with a short one)
    long changes_window = s_number (S_CHANGES_WINDOW, values[S_CHANGES_WINDOW], 36500);
    if (retention > 0 && changes_window > retention)
        changes_window = retention;
    char *web = deadline > 0 && retention > 0 ? gw_http_find_web (values[S_WEB]) : NULL;
    int rc = 1;
    if (deadline < 0 || retention < 0 || changes_k < 0 || changes_window < 0 || (web_given && !web))
        goto done;
    uv_loop_t *loop = uv_default_loop ();
    s_gateway_t gateway;
    memset (&gateway, 0, sizeof gateway);
    bool curve_failed;
    gateway.curve = proto_curve_new (zconfig_get (config, "portevo/curve/keys", NULL), "gateway",
                                     false, &curve_failed);
    if (values[S_AUTH] && !(gateway.auth = gw_auth_load (values[S_AUTH])))
        curve_failed = true;  //  Said; nothing starts
    if (!curve_failed)
        gateway.scatter = gw_scatter_new (loop, values[S_BROKER], (int) deadline, gateway.curve);
    if (gateway.scatter)
        gateway.http = gw_http_new (loop, gateway.scatter, values[S_HTTP], web,
                                    (uint32_t) retention, gateway.auth);
    if (!gateway.http) {
        gw_scatter_destroy (&gateway.scatter);
        proto_curve_destroy (&gateway.curve);
        gw_auth_destroy (&gateway.auth);
        uv_run (loop, UV_RUN_DEFAULT);
        goto done;
    }
    gw_scatter_set_verbose (gateway.scatter, verbose);
    gw_http_set_verbose (gateway.http, verbose);
    gw_http_set_changes (gateway.http, (uint32_t) changes_k, (uint32_t) changes_window);
    int signums[2] = {SIGINT, SIGTERM};
    for (int index = 0; index < 2; index++) {
        uv_signal_init (loop, &gateway.signals[index]);
        gateway.signals[index].data = &gateway;
        uv_signal_start (&gateway.signals[index], s_on_signal, signums[index]);
    }
    uv_timer_init (loop, &gateway.linger);
    gateway.linger.data = &gateway;
    zsys_notice ("gateway: broker %s, deadline %ld msecs, retention %ld days", values[S_BROKER],
                 deadline, retention);
    uv_run (loop, UV_RUN_DEFAULT);
    rc = uv_loop_close (loop) == 0 ? 0 : 1;
    proto_curve_destroy (&gateway.curve);
    gw_auth_destroy (&gateway.auth);
    zsys_notice ("gateway: stopped");
done:
    free (web);
    zconfig_destroy (&config);
    return rc;
}
