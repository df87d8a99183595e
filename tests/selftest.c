/*  selftest.c - runs every module's <module>_test.

    `selftest` runs them all, `selftest -t NAME` only one, `-v` is verbose.  Each test
    prints " * name: " then OK, and asserts on failure; the last line counts the modules
    in the `N passed, N failed` form that tests/run.sh and CI read.
*/
#include "proto/proto_host.h"
#include "proto/proto_shard.h"
#include "ingestor/ingest_reader.h"
#include "ingestor/ingest_agg.h"
#include "ingestor/ingest_match.h"
#include "ingestor/ingest_file.h"
#include "ingestor/ingest_dryrun.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    void (*test) (bool verbose);
} selftest_t;

static const selftest_t s_tests[] = {
    {"proto_host", proto_host_test},
    {"proto_shard", proto_shard_test},
    {"ingest_match", ingest_match_test},
    {"ingest_reader", ingest_reader_test},
    {"ingest_agg", ingest_agg_test},
    {"ingest_file", ingest_file_test},
    {"ingest_dryrun", ingest_dryrun_test},
};

int
main (int argc, char *argv[])
{
    bool verbose = false;
    const char *only = NULL;
    for (int index = 1; index < argc; index++) {
        if (strcmp (argv[index], "-v") == 0)
            verbose = true;
        else if (strcmp (argv[index], "-t") == 0 && index + 1 < argc)
            only = argv[++index];
        else {
            fprintf (stderr, "usage: selftest [-v] [-t MODULE]\n");
            return 2;
        }
    }
    int passed = 0;
    for (size_t index = 0; index < sizeof s_tests / sizeof s_tests[0]; index++) {
        if (only && strcmp (only, s_tests[index].name) != 0)
            continue;
        s_tests[index].test (verbose);  //  asserts on failure: a failed test aborts
        passed++;
    }
    if (only && passed == 0) {
        fprintf (stderr, "selftest: no module named %s\n", only);
        return 2;
    }
    printf ("%d passed, 0 failed\n", passed);
    return 0;
}
