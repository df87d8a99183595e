/*  portevo_main.c - portevo: the operator's command.

    `portevo SUBCOMMAND [OPTIONS]`: finds the subcommand in the table below and runs it
    with argv[0] set to "portevo SUBCOMMAND" (so getopt's and our messages name it).
    Exit codes: the subcommand's (0 done, 1 failed, 2 usage error); 2 for an unknown
    subcommand.
*/
#include "broker/broker_cli.h"
#include "broker/broker_cli_annotate.h"
#include "broker/broker_cli_query.h"

//  The subcommands.  Each is `int broker_cli_NAME (int argc, char *argv[])` (the
//  broker_cli_fn_t of broker/broker_cli.h, declared there or in the module's own header
//  under broker/), in its own file broker/broker_cli_NAME.c: argv[0] is "portevo NAME"
//  and optind is reset, so it parses its options with getopt_long; it returns the exit
//  code: 0 done, 1 failed (said on stderr), 2 usage error (usage on stderr).  Those that
//  talk to the cluster take BROKER_CLI_COMMON_OPTIONS (--broker, --config, --timeout).
//  To add one: one line here (and its prototype).
static const struct {
    const char *name;      //  As typed after `portevo`
    broker_cli_fn_t *run;  //  The subcommand
    const char *summary;   //  One line for the usage
} s_commands[] = {
    {"status", broker_cli_status, "show the shards and ingestors of the cluster"},
    {"up", broker_cli_up, "start a local cluster (broker, shards, ingestors, gateway)"},
    {"top", broker_cli_top, "the top 10 hosts of each port and feature on a day"},
    {"series", broker_cli_series, "the daily scores of one host"},
    {"host", broker_cli_host, "first/last seen, ports and annotations of one host"},
    {"days", broker_cli_days, "the days for which data exists"},
    {"annotate", broker_cli_annotate, "import passive-DNS names (COF JSON lines)"},
    {"ingestor", broker_cli_ingestor, "ingestor remove NAME: decommission a stopped ingestor"},
    {"shard", broker_cli_shard, "shard add NAME ENDPOINT | remove NAME: move slots"},
    {"keygen", broker_cli_keygen, "make CURVE keys for the cluster's processes"},
};

#define COMMAND_COUNT (sizeof s_commands / sizeof s_commands[0])

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: portevo COMMAND [OPTIONS]   (portevo COMMAND --help for its options)\n"
                  "commands:\n");
    for (size_t index = 0; index < COMMAND_COUNT; index++)
        fprintf (out, "  %-10s %s\n", s_commands[index].name, s_commands[index].summary);
}

int
main (int argc, char *argv[])
{
    if (argc < 2) {
        s_usage (stderr);
        return 2;
    }
    if (streq (argv[1], "help") || streq (argv[1], "--help") || streq (argv[1], "-h")) {
        s_usage (stdout);
        return 0;
    }
    for (size_t index = 0; index < COMMAND_COUNT; index++) {
        if (!streq (argv[1], s_commands[index].name))
            continue;
        char *name = zsys_sprintf ("portevo %s", s_commands[index].name);
        argv[1] = name;
        optind = 1;
        int rc = s_commands[index].run (argc - 1, argv + 1);
        zstr_free (&name);
        return rc;
    }
    fprintf (stderr, "portevo: unknown command '%s'\n", argv[1]);
    s_usage (stderr);
    return 2;
}
