/*  broker_cli.h - the `portevo` subcommands and what they share.

    Each subcommand lives in its own file (broker_cli_status.c, broker_cli_up.c, ...) and
    is one entry of the table in portevo_main.c.  They share how the cluster is found:
    `--broker EP` wins, then the config file of `--config FILE`, then the config that a
    plain `portevo up` writes into ./portevo-data, then BROKER_ENDPOINT_DEFAULT (where a
    plain `portevo up` puts the broker); and how one request is asked (a fresh DEALER,
    bounded wait, a clear message when nobody answers).

    The CLI is not a service: it speaks to the user on stdout (answers) and stderr
    (errors, prefixed "portevo NAME: "), not through zsys logging.  Below, command is
    that prefix; NULL says nothing (for tests).
*/
#ifndef BROKER_CLI_H_INCLUDED
#define BROKER_CLI_H_INCLUDED

#include "broker/broker.h"
#include "proto/proto_curve.h"

#include <getopt.h>

#define BROKER_CLI_DATA_DEFAULT "portevo-data"  //  `portevo up` data directory
#define BROKER_CLI_CONFIG_FILE "portevo.cfg"    //  Config file name inside it
#define BROKER_CLI_TIMEOUT_MSECS 3000           //  Default wait for one reply
#define BROKER_CLI_CONFIG_ENV "PORTEVO_CONFIG"  //  The config file when --config is not given

//  A subcommand: argv[0] is "portevo NAME", options follow (getopt_long-ready: the
//  dispatcher resets optind).  Returns the exit code: 0 done, 1 failed (said on
//  stderr), 2 usage error (usage on stderr).
typedef int (broker_cli_fn_t) (int argc, char *argv[]);

int broker_cli_status (int argc, char *argv[]);    //  broker_cli_status.c
int broker_cli_up (int argc, char *argv[]);        //  broker_cli_up.c
int broker_cli_ingestor (int argc, char *argv[]);  //  broker_cli_ingestor.c
int broker_cli_shard (int argc, char *argv[]);     //  broker_cli_shard.c
int broker_cli_keygen (int argc, char *argv[]);    //  broker_cli_keygen.c

//  Options of every subcommand that talks to the cluster: put BROKER_CLI_COMMON_OPTIONS
//  in the getopt_long table and hand the option codes >= BROKER_CLI_OPTION_BROKER to
//  broker_cli_common_option.  BROKER_CLI_COMMON_USAGE documents them.
typedef struct {
    const char *broker;    //  --broker EP, or NULL
    const char *config;    //  --config FILE, or NULL
    int timeout_msecs;     //  --timeout MSECS (BROKER_CLI_TIMEOUT_MSECS unless given)
    proto_curve_t *curve;  //  CURVE keys of the config (portevo/curve/keys) as "portevo", or
                           //  NULL; set by broker_cli_broker_endpoint, freed by the command
} broker_cli_common_t;

#define BROKER_CLI_OPTION_BROKER 0x100
#define BROKER_CLI_OPTION_CONFIG 0x101
#define BROKER_CLI_OPTION_TIMEOUT 0x102
#define BROKER_CLI_COMMON_OPTIONS                                                                  \
    {"broker", required_argument, NULL, BROKER_CLI_OPTION_BROKER},                                 \
        {"config", required_argument, NULL, BROKER_CLI_OPTION_CONFIG},                             \
    {                                                                                              \
        "timeout", required_argument, NULL, BROKER_CLI_OPTION_TIMEOUT                              \
    }
#define BROKER_CLI_COMMON_USAGE                                                                    \
    "  --broker EP       the broker (default: from the config, else " BROKER_ENDPOINT_DEFAULT      \
    ")\n"                                                                                          \
    "  --config FILE     the cluster's config file (default: $PORTEVO_CONFIG, else "               \
    "./" BROKER_CLI_DATA_DEFAULT "/" BROKER_CLI_CONFIG_FILE " if present)\n"                       \
    "  --timeout MSECS   how long to wait for an answer (default 3000)\n"

//  Defaults of the common options.
void broker_cli_common_init (broker_cli_common_t *common);

//  Take one common option (code and value from getopt_long).  0 if taken; -1 if the code
//  is not a common option or the value is bad (then said on stderr, prefixed by command).
int broker_cli_common_option (broker_cli_common_t *common, const char *command, int option,
                              const char *value);

//  The cluster's config: the file named by config, else by $PORTEVO_CONFIG, else the
//  default data directory's if present.  NULL if there is none (not an error) or if the one named
//  cannot be read (then *failed is set and it is said on stderr).  The caller destroys the tree.
zconfig_t *broker_cli_config_load (const char *config, const char *command, bool *failed);

//  The broker endpoint for these options (see the top of this file): a new string, or
//  NULL if --config names a file that cannot be read or its CURVE keys cannot be loaded
//  (said on stderr).  Loads common->curve when the config names CURVE keys.
char *broker_cli_broker_endpoint (broker_cli_common_t *common, const char *command);

//  Send the request (taken over) to endpoint over a fresh DEALER (a CURVE client if curve
//  is not NULL) and wait at most
//  timeout_msecs for the reply.  The reply (the caller destroys it), or NULL if none
//  came in time or it was malformed (said on stderr, naming the endpoint).
proto_msg_t *broker_cli_request (const char *endpoint, proto_msg_t **request_p, int timeout_msecs,
                                 const char *command, proto_curve_t *curve);

//  Say on stderr why reply (not the answer hoped for; may be NULL: already said) is
//  not: the broker's refusal, or an unexpected answer from endpoint.
void broker_cli_say_refusal (proto_msg_t *reply, const char *command, const char *endpoint);

//  Selftests
void broker_cli_test (bool verbose);
void broker_cli_status_test (bool verbose);

#endif
