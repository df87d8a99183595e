/*  selftest.c - runs every module's <module>_test.

    `selftest` runs them all, `selftest -t NAME` only one, `-v` is verbose.  Each test
    prints " * name: " then OK, and asserts on failure; the last line counts the modules
    in the `N passed, N failed` form that tests/run.sh and CI read.
*/
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    void (*test) (bool verbose);
} selftest_t;

//  Each folder lists its modules in <folder>/*_selftest.inc, one SELFTEST (module) line
//  each, in the order they should run (a module after those it builds on).

#define SELFTEST(module) void module##_test (bool verbose);
#include "proto/proto_selftest.inc"
#include "ingestor/ingest_selftest.inc"
#include "shard/shard_selftest.inc"
#include "broker/broker_selftest.inc"
#include "gateway/gw_selftest.inc"
#undef SELFTEST

#define SELFTEST(module) {#module, module##_test},
static const selftest_t s_tests[] = {
#include "proto/proto_selftest.inc"
#include "ingestor/ingest_selftest.inc"
#include "shard/shard_selftest.inc"
#include "broker/broker_selftest.inc"
#include "gateway/gw_selftest.inc"
};
#undef SELFTEST

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
