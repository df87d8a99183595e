/*  ingest_options.h - portevo-ingest's command line and configuration file.

    Flags (getopt_long) override the configuration file (proto/CONFIG.md, zconfig):

        portevo/broker/endpoint                 --broker (default tcp://127.0.0.1:5570)
        portevo/ingestor/local_as               --local-as N (repeatable; comma lists too)
        portevo/ingestor/local_net              --local-net CIDR (repeatable; comma lists)
        portevo/ingestor/ports                  --ports LIST
        portevo/ingestor/tz                     --tz ZONE (default UTC)
        portevo/ingestor/exclude_internal       --exclude-internal ("1" in the file)
        portevo/ingestor/others                 --no-others ("0" in the file; default "1")
        portevo/ingestor/anonymise_key          --anonymise-key FILE
        portevo/ingestor/NAME/spool             --spool DIR
        portevo/ingestor/NAME/state             --state DIR

    A --local-as or --local-net flag replaces the file's list of that kind.  The service
    needs a name, a spool and a state directory; --dry-run needs only FILEs.
    --exclude-internal needs a local AS or prefix.  The key file is read while parsing: a
    missing or malformed one is a usage error naming the file.
*/
#ifndef INGEST_OPTIONS_H_INCLUDED
#define INGEST_OPTIONS_H_INCLUDED

#include "ingestor/ingest_anon.h"
#include "ingestor/ingest_match.h"

#include <stdio.h>

#define INGEST_BROKER_DEFAULT "tcp://127.0.0.1:5570"  //  Broker endpoint by default

typedef struct {
    char *name;             //  --name: this ingestor (= spool) in the cluster
    char *spool;            //  --spool: the nfcapd spool directory
    char *state;            //  --state: where the journals live
    char *broker;           //  --broker: the broker's endpoint
    char *zone;             //  --tz: nfcapd's time zone
    char *config;           //  --config: the file read, NULL if none
    char *block_time;       //  --block-time (with --dry-run): the files' block, or NULL
    ingest_match_t *match;  //  Local AS, local prefixes, monitored ports, exclude_internal
    char *anonymise_key;    //  --anonymise-key: the Crypto-PAn key file, or NULL
    char *curve_keys;       //  portevo/curve/keys: CURVE keys directory, or NULL
    ingest_anon_t *anon;    //  Its anonymiser, NULL without a key
    bool verbose;           //  -v: debug logging
    bool dry_run;           //  --dry-run: read and print, deliver nothing
    bool json;              //  --json (with --dry-run)
    bool others_json;       //  --others-json (with --dry-run): the other ports' lines
    bool json_in;           //  --direction in (with --json): print the in direction's pairs
    char **files;           //  FILE arguments (borrowed from argv)
    int file_count;         //  Number of FILE arguments
} ingest_options_t;

//  Empty options (defaults applied by ingest_options_parse).
ingest_options_t *ingest_options_new (void);
void ingest_options_destroy (ingest_options_t **self_p);

//  Parse argv (and the --config file).  0 to run, 1 if --help was printed on out
//  (exit 0), 2 on a usage error (printed on err, exit 2).
int ingest_options_parse (ingest_options_t *self, int argc, char **argv, FILE *out, FILE *err);

//  Selftest
void ingest_options_test (bool verbose);

#endif
