/*  broker_cli_annotate.h - `portevo annotate FILE`: import passive-DNS names.

        portevo annotate [--batch N] [--deadline-msecs MSECS] FILE|-
    with --broker EP, --config FILE, --timeout MSECS as every cluster command.

    FILE holds passive-DNS Common Output Format records, one JSON object per line
    (broker_pdns).  A/AAAA records name their rdata address, PTR records the address of
    their reversed rrname; other types are skipped.  Each annotation goes to the shard
    owning its host (the broker's slot map), in batches of N (default 1000): ANNOTATE,
    answered ANNOTATE_ACK once stored.  A batch without an acknowledgement within the
    deadline is sent again (a shard stores an annotation once per (host, name, type),
    so resending is safe), up to BROKER_CLI_ANNOTATE_ATTEMPTS times; then that shard is
    given up and its annotations are counted as not delivered.

    A malformed line never stops the import: it is reported with its line number (the
    first BROKER_CLI_ANNOTATE_REPORT_MAX of them) and counted.  A progress line goes to
    stderr every BROKER_CLI_ANNOTATE_PROGRESS_MSECS, a summary at the end.  Exit code 0
    if every annotation was stored, 1 if some were not (or the file could not be read),
    2 for bad parameters (checked, and the file opened, before any network traffic).
*/
#ifndef BROKER_CLI_ANNOTATE_H_INCLUDED
#define BROKER_CLI_ANNOTATE_H_INCLUDED

#include "broker/broker_cli.h"

#define BROKER_CLI_ANNOTATE_BATCH 1000           //  Default annotations per ANNOTATE
#define BROKER_CLI_ANNOTATE_BATCH_MAX 10000      //  Largest --batch
#define BROKER_CLI_ANNOTATE_ATTEMPTS 3           //  Sends of one batch before giving up
#define BROKER_CLI_ANNOTATE_REPORT_MAX 100       //  Malformed lines reported one by one
#define BROKER_CLI_ANNOTATE_PROGRESS_MSECS 2000  //  Interval of the progress line

//  The subcommand (argv[0] is "portevo annotate"); returns the exit code.
int broker_cli_annotate (int argc, char *argv[]);

//  Selftest
void broker_cli_annotate_test (bool verbose);

#endif
