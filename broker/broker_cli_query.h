/*  broker_cli_query.h - `portevo top | series | host | days`: ask the shards, print.

        portevo top --date YYYY-MM-DD --op sum|max|min [--port N|all] [--json]
        portevo series --host IP --port N|all --feature bytes|packets|durations|peers
                       --op sum|max|min [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]
        portevo host IP [--json]
        portevo days [--json]
    each also with --broker EP, --config FILE, --timeout MSECS (the broker's MAP) and
    --deadline-msecs MSECS (how long the shards are waited for, default 2000).

    Each command checks every parameter before any network traffic (a bad one: a message
    naming it, exit 2), gets the slot map from the broker, sends its request to every
    shard (top, days) or to the shard owning the host (series, host), gathers the
    replies until all came or the deadline passed, and prints the answer: with --json
    exactly DESIGN.md's JSON (proto_answer, the same bytes the gateway serves), else a
    table in human units.  Shards that did not answer are named (missing_shards); if none
    answered, or the broker did not, the answer is {"error": ...} and the exit code 1.
*/
#ifndef BROKER_CLI_QUERY_H_INCLUDED
#define BROKER_CLI_QUERY_H_INCLUDED

#include "broker/broker_cli.h"
#include "proto/proto_answer.h"

#define BROKER_CLI_DEADLINE_MSECS 2000  //  Default wait for the shards
#define BROKER_CLI_DEADLINE_MAX 600000  //  Longest --deadline-msecs accepted

//  A query's parameters, checked.
typedef struct {
    proto_answer_kind_t kind;    //  Which command
    uint32_t day;                //  top: --date
    proto_op_t op;               //  top, series: --op
    uint32_t port;               //  top, series: --port (PROTO_PORT_ALL for all)
    proto_feature_t feature;     //  series: --feature
    proto_addr_t host;           //  series: --host; host: the argument
    uint32_t from;               //  series: --from (default 1970-01-01)
    uint32_t to;                 //  series: --to (default 9999-12-31)
    bool json;                   //  --json
    uint8_t direction;           //  top, series, host: --direction (proto_direction_t)
    int deadline_msecs;          //  --deadline-msecs
    broker_cli_common_t common;  //  --broker, --config, --timeout
} broker_cli_query_t;

//  The subcommands (argv[0] is "portevo NAME"); the exit code: 0 answered, 1 no answer
//  (or no shard answered), 2 bad parameters.
int broker_cli_top (int argc, char *argv[]);
int broker_cli_series (int argc, char *argv[]);
int broker_cli_host (int argc, char *argv[]);
int broker_cli_days (int argc, char *argv[]);

//  Parse and check a command's arguments (argv is permuted by getopt_long; option
//  strings are borrowed from it).  0 with *query filled; 1 if --help was asked; 2 if
//  bad, with the reason naming the parameter in error.
int broker_cli_query_parse (proto_answer_kind_t kind, int argc, char *argv[],
                            broker_cli_query_t *query, char *error, size_t error_size);

//  Print text for a terminal: control characters and ill-formed UTF-8 (attacker-
//  controlled DNS names may carry escape sequences) become '?'.
void broker_cli_print_safe (FILE *file, const char *text);

//  A feature's value in human units into buffer (>= 32 bytes): bytes as B/kB/MB/GB/TB
//  (powers of 1000), durations (msecs) as ms/s/h, packets and peers as counts.
char *broker_cli_human (proto_feature_t feature, uint64_t value, char *buffer);

//  Selftest
void broker_cli_query_test (bool verbose);

#endif
