/*  broker_cli.c - what the `portevo` subcommands share (see broker_cli.h).
 */
#include "broker/broker_cli.h"

#include <unistd.h>

//  --------------------------------------------------------------------------
void
broker_cli_common_init (broker_cli_common_t *common)
{
    assert (common);
    memset (common, 0, sizeof *common);
    common->timeout_msecs = BROKER_CLI_TIMEOUT_MSECS;
}

//  --------------------------------------------------------------------------
int
broker_cli_common_option (broker_cli_common_t *common, const char *command, int option,
                          const char *value)
{
    assert (common);
    if (option == BROKER_CLI_OPTION_BROKER)
        common->broker = value;
    else if (option == BROKER_CLI_OPTION_CONFIG)
        common->config = value;
    else if (option == BROKER_CLI_OPTION_TIMEOUT) {
        char *end;
        long msecs = strtol (value, &end, 10);
        if (*value == 0 || *end || msecs < 1 || msecs > 3600000) {
            if (command)
                fprintf (stderr, "%s: --timeout: '%s' is not a number of msecs from 1 to 3600000\n",
                         command, value);
            return -1;
        }
        common->timeout_msecs = (int) msecs;
    }
    else
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
zconfig_t *
broker_cli_config_load (const char *config, const char *command, bool *failed)
{
    assert (failed);
    *failed = false;
    if (!config && getenv (BROKER_CLI_CONFIG_ENV) && *getenv (BROKER_CLI_CONFIG_ENV))
        config = getenv (BROKER_CLI_CONFIG_ENV);
    const char *path = config ? config : BROKER_CLI_DATA_DEFAULT "/" BROKER_CLI_CONFIG_FILE;
    if (!config && access (path, F_OK))
        return NULL;
    zconfig_t *root = zconfig_load (path);
    if (!root) {
        if (command)
            fprintf (stderr, "%s: cannot read the config file %s\n", command, path);
        *failed = true;
    }
    return root;
}

//  --------------------------------------------------------------------------
char *
broker_cli_broker_endpoint (broker_cli_common_t *common, const char *command)
{
    assert (common);
    bool failed;
    zconfig_t *root = broker_cli_config_load (common->config, command, &failed);
    if (failed)
        return NULL;
    char *endpoint =
        strdup (common->broker ? common->broker
                : root ? zconfig_get (root, "portevo/broker/endpoint", BROKER_ENDPOINT_DEFAULT)
                       : BROKER_ENDPOINT_DEFAULT);
    proto_curve_destroy (&common->curve);
    common->curve = proto_curve_new (root ? zconfig_get (root, "portevo/curve/keys", NULL) : NULL,
                                     "portevo", false, &failed);
    if (failed) {
        if (command)
            fprintf (stderr, "%s: cannot load the CURVE keys the config names (see above)\n",
                     command);
        zstr_free (&endpoint);
    }
    zconfig_destroy (&root);
    return endpoint;
}

//  --------------------------------------------------------------------------
proto_msg_t *
broker_cli_request (const char *endpoint, proto_msg_t **request_p, int timeout_msecs,
                    const char *command, proto_curve_t *curve)
{
    assert (endpoint);
    assert (request_p && *request_p);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (dealer);
    proto_curve_client (curve, dealer);
    proto_msg_limit_socket_small (dealer);
    proto_msg_t *reply = NULL;
    if (zsock_connect (dealer, "%s", endpoint)) {
        if (command)
            fprintf (stderr, "%s: '%s' is not a valid endpoint (e.g. tcp://127.0.0.1:5570)\n",
                     command, endpoint);
        proto_msg_destroy (request_p);
        goto cleanup;
    }
    if (proto_msg_send (request_p, dealer)) {
        if (command)
            fprintf (stderr, "%s: cannot send to %s\n", command, endpoint);
        goto cleanup;
    }
    zpoller_t *poller = zpoller_new (dealer, NULL);
    assert (poller);
    if (zpoller_wait (poller, timeout_msecs))
        reply = proto_msg_recv (dealer);
    else if (command)
        fprintf (stderr, "%s: no answer from %s within %d msecs%s\n", command, endpoint,
                 timeout_msecs, zsys_interrupted ? " (interrupted)" : "");
    zpoller_destroy (&poller);
    if (reply && proto_msg_id (reply) == PROTO_MSG_MALFORMED) {
        if (command)
            fprintf (stderr, "%s: malformed reply from %s: %s\n", command, endpoint,
                     proto_msg_text (reply));
        proto_msg_destroy (&reply);
    }
cleanup:
    zsock_destroy (&dealer);
    return reply;
}

//  --------------------------------------------------------------------------
void
broker_cli_say_refusal (proto_msg_t *reply, const char *command, const char *endpoint)
{
    if (reply && proto_msg_id (reply) == PROTO_MSG_ERROR)
        fprintf (stderr, "%s: the broker refused (%u): %s\n", command, proto_msg_code (reply),
                 proto_msg_text (reply));
    else if (reply)
        fprintf (stderr, "%s: unexpected answer %s from %s\n", command,
                 proto_msg_id_name (proto_msg_id (reply)), endpoint);
}

//  --------------------------------------------------------------------------
void
broker_cli_test (bool verbose)
{
    (void) verbose;
    printf (" * broker_cli: ");
    broker_cli_common_t common;
    broker_cli_common_init (&common);
    assert (common.timeout_msecs == BROKER_CLI_TIMEOUT_MSECS && !common.broker);
    assert (broker_cli_common_option (&common, "t", BROKER_CLI_OPTION_TIMEOUT, "250") == 0);
    assert (common.timeout_msecs == 250);
    assert (broker_cli_common_option (&common, NULL, BROKER_CLI_OPTION_TIMEOUT, "0") == -1);
    assert (broker_cli_common_option (&common, NULL, BROKER_CLI_OPTION_TIMEOUT, "5x") == -1);
    assert (broker_cli_common_option (&common, NULL, 'x', "y") == -1);
    assert (common.timeout_msecs == 250);

    //  The endpoint: --broker, else the config file, else the default
    char path_template[] = "/tmp/broker_cli_test.XXXXXX";
    int fd = mkstemp (path_template);
    assert (fd >= 0);
    const char *text = "portevo\n    broker\n        endpoint = \"tcp://127.0.0.1:6000\"\n";
    assert (write (fd, text, strlen (text)) == (ssize_t) strlen (text));
    close (fd);
    assert (broker_cli_common_option (&common, "t", BROKER_CLI_OPTION_CONFIG, path_template) == 0);
    char *endpoint = broker_cli_broker_endpoint (&common, "t");
    assert (streq (endpoint, "tcp://127.0.0.1:6000"));
    zstr_free (&endpoint);
    common.broker = "tcp://127.0.0.1:7000";
    endpoint = broker_cli_broker_endpoint (&common, "t");
    assert (streq (endpoint, "tcp://127.0.0.1:7000"));
    zstr_free (&endpoint);
    common.broker = NULL;
    common.config = "/nonexistent/portevo.cfg";
    assert (broker_cli_broker_endpoint (&common, NULL) == NULL);
    unlink (path_template);

    //  Nobody answers: NULL within the timeout; a bad endpoint: NULL at once
    int64_t start = zclock_mono ();
    proto_msg_t *request = proto_msg_new (PROTO_MSG_STATUS_REQUEST);
    assert (broker_cli_request ("tcp://127.0.0.1:1", &request, 200, NULL, NULL) == NULL);
    assert (request == NULL);
    assert (zclock_mono () - start < 1000);
    request = proto_msg_new (PROTO_MSG_STATUS_REQUEST);
    assert (broker_cli_request ("nonsense", &request, 200, NULL, NULL) == NULL);
    assert (request == NULL);
    printf ("OK\n");
}
