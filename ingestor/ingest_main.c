/*  ingest_main.c - portevo-ingest: reads nfcapd files and delivers block aggregates.

    Parses the command line and the configuration file (ingest_options), sets the time
    zone nfcapd writes file names in (--tz), then either prints what files hold
    (--dry-run, ingest_dryrun) or runs the delivery service (ingest_service): watching the
    spool, or delivering the FILEs given and exiting.
*/
#include "ingestor/ingest_dryrun.h"
#include "ingestor/ingest_options.h"
#include "ingestor/ingest_service.h"

#include <czmq.h>

int
main (int argc, char *argv[])
{
    //  Signals are the service's (libuv), not czmq's: before any socket exists
    zsys_handler_set (NULL);
    zsys_set_logident ("portevo-ingest");
    zsys_set_logstream (stderr);  //  stdout carries the --dry-run --json output
    ingest_options_t *options = ingest_options_new ();
    int rc = ingest_options_parse (options, argc, argv, stdout, stderr);
    if (rc) {
        ingest_options_destroy (&options);
        return rc == 1 ? 0 : 2;
    }
    setenv ("TZ", options->zone, 1);
    tzset ();
    if (options->dry_run) {
        int json = (options->json ? INGEST_DRYRUN_PAIRS : 0) |
                   (options->others_json ? INGEST_DRYRUN_OTHERS : 0);
        int failed = ingest_dryrun_run (options->match, options->anon, options->files,
                                        options->file_count, options->block_time, json,
                                        options->json_in, json ? stderr : stdout, stdout);
        rc = failed ? 1 : 0;
    }
    else {
        char *ident = zsys_sprintf ("ingest-%s", options->name);
        zsys_set_logident (ident);
        zstr_free (&ident);
        ingest_service_t *service = ingest_service_new (options);
        rc = service ? ingest_service_run (service) : 1;
        ingest_service_destroy (&service);
    }
    ingest_options_destroy (&options);
    return rc;
}
