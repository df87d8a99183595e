/*  ingest_main.c - portevo-ingest: reads nfcapd files and delivers block aggregates.

    Parses the command line, sets the time zone nfcapd writes file names in (--tz), builds
    the matcher and runs the requested mode.  Today: --dry-run, which prints per file what
    was read and, with --json, the aggregates that would be delivered.
*/
#include "ingestor/ingest_dryrun.h"

#include <czmq.h>
#include <getopt.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: portevo-ingest --dry-run [--json] [--local-as N]... [--local-net CIDR]...\n"
             "                      [--ports LIST] [--tz ZONE] FILE...\n"
             "  --dry-run         read the files and print what they hold; deliver nothing\n"
             "  --json            print one JSON object per (block, ip, port) on stdout\n"
             "  --local-as N      a local AS number (repeatable)\n"
             "  --local-net CIDR  a local prefix, IPv4 or IPv6 (repeatable)\n"
             "                    (with neither, every source counts as local)\n"
             "  --ports LIST      monitored destination ports, e.g. 22,25,8080-8081\n"
             "                    (default %s)\n"
             "  --tz ZONE         time zone of nfcapd's file names (default UTC)\n",
             INGEST_MATCH_DEFAULT_PORTS);
}

int
main (int argc, char *argv[])
{
    zsys_set_logident ("portevo-ingest");
    zsys_set_logstream (stderr);  //  stdout carries the --json output
    ingest_match_t *match = ingest_match_new ();
    assert (match);
    bool dry_run = false, json = false;
    const char *zone = "UTC";
    int rc = 0;
    static const struct option options[] = {
        {"dry-run", no_argument, NULL, 'n'},   {"json", no_argument, NULL, 'j'},
        {"local-as", required_argument, NULL, 'a'}, {"local-net", required_argument, NULL, 'l'},
        {"ports", required_argument, NULL, 'p'}, {"tz", required_argument, NULL, 'z'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
    int option;
    while (rc == 0 && (option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
        case 'n': dry_run = true; break;
        case 'j': json = true; break;
        case 'z': zone = optarg; break;
        case 'a':
            if (ingest_match_add_as_text (match, optarg)) {
                fprintf (stderr, "portevo-ingest: --local-as: '%s' is not an AS number\n", optarg);
                rc = 2;
            }
            break;
        case 'l':
            if (ingest_match_add_net (match, optarg)) {
                fprintf (stderr, "portevo-ingest: --local-net: '%s' is not a prefix like "
                                 "10.0.0.0/8 or 2001:db8::/32 (host bits must be zero)\n", optarg);
                rc = 2;
            }
            break;
        case 'p':
            if (ingest_match_set_ports (match, optarg)) {
                fprintf (stderr, "portevo-ingest: --ports: '%s' is not a list of ports like "
                                 "22,25,8080-8081\n", optarg);
                rc = 2;
            }
            break;
        case 'h': s_usage (stdout); ingest_match_destroy (&match); return 0;
        default: rc = 2; break;
        }
    }
    if (rc == 0 && (!dry_run || optind == argc)) {
        fprintf (stderr, dry_run ? "portevo-ingest: no FILE given\n"
                                 : "portevo-ingest: only --dry-run is available yet\n");
        rc = 2;
    }
    if (rc == 2)
        s_usage (stderr);
    else {
        setenv ("TZ", zone, 1);
        tzset ();
        int failed = ingest_dryrun_run (match, argv + optind, argc - optind, json,
                                        json ? stderr : stdout, stdout);
        rc = failed ? 1 : 0;
    }
    ingest_match_destroy (&match);
    return rc;
}
