/*  ingest_dryrun.c - `portevo-ingest --dry-run` (see ingest_dryrun.h).

    Blocks are few (one per 5 minutes of input), so they are kept in a small array sorted
    by time; each holds the merged aggregate of its files.
*/
#include "ingestor/ingest_dryrun.h"
#include "ingestor/ingest_file.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>

typedef struct {
    int64_t start;      //  Block start, seconds since the epoch
    ingest_agg_t *agg;  //  Merged aggregate of the block's files
} s_block_t;

//  The block entry for start, created in time order if absent.
static s_block_t *
s_block_require (s_block_t **blocks, size_t *count, int64_t start)
{
    size_t at = 0;
    while (at < *count && (*blocks)[at].start < start)
        at++;
    if (at < *count && (*blocks)[at].start == start)
        return &(*blocks)[at];
    *blocks = (s_block_t *) realloc (*blocks, (*count + 1) * sizeof (s_block_t));
    assert (*blocks);
    memmove (&(*blocks)[at + 1], &(*blocks)[at], (*count - at) * sizeof (s_block_t));
    (*count)++;
    (*blocks)[at].start = start;
    (*blocks)[at].agg = NULL;
    return &(*blocks)[at];
}

//  Append text to a line being built.
static char *
s_put_text (char *cursor, const char *text)
{
    size_t length = strlen (text);
    memcpy (cursor, text, length);
    return cursor + length;
}

//  Append value in decimal.
static char *
s_put_number (char *cursor, uint64_t value)
{
    char digits[20];
    size_t count = 0;
    do {
        digits[count++] = (char) ('0' + value % 10);
        value /= 10;
    } while (value);
    while (count)
        *cursor++ = digits[--count];
    return cursor;
}

//  One JSON line per pair, built by hand: printf-ing 35,000 lines cost a tenth of a
//  second's wall time after the reading was done.
static void
s_print_json (FILE *out, int64_t start, ingest_agg_t *agg, bool incoming)
{
    char block[32], addr[PROTO_ADDR_STRLEN];
    proto_time_format (start, block);
    ingest_pair_t *pairs = ingest_agg_pairs (agg);
    size_t count = ingest_agg_size (agg);
    char line[512];
    for (size_t index = 0; index < count; index++) {
        const proto_values_t *values = &pairs[index].values;
        char *cursor = s_put_text (line, "{\"block\":\"");
        cursor = s_put_text (cursor, block);
        cursor = s_put_text (cursor, "\",\"ip\":\"");
        cursor = s_put_text (cursor, proto_addr_format (&pairs[index].addr, addr));
        cursor = s_put_text (cursor, "\",\"port\":");
        cursor = s_put_number (cursor, pairs[index].port);
        cursor = s_put_text (cursor, ",\"bytes\":");
        cursor = s_put_number (cursor, values->value[PROTO_FEATURE_BYTES]);
        cursor = s_put_text (cursor, ",\"packets\":");
        cursor = s_put_number (cursor, values->value[PROTO_FEATURE_PACKETS]);
        cursor = s_put_text (cursor, ",\"durations\":");
        cursor = s_put_number (cursor, values->value[PROTO_FEATURE_DURATIONS]);
        cursor = s_put_text (cursor, ",\"peers\":");
        cursor = s_put_number (cursor, values->value[PROTO_FEATURE_PEERS]);
        cursor = s_put_text (cursor, ",\"peers_capped\":");
        cursor = s_put_text (cursor, values->flags & PROTO_VALUES_PEERS_CAPPED ? "true" : "false");
        cursor = s_put_text (cursor, incoming ? ",\"direction\":\"in\"}\n" : "}\n");
        fwrite (line, 1, (size_t) (cursor - line), out);
    }
    free (pairs);
}

//  By address
static int
s_compare_others (const void *a, const void *b)
{
    return proto_addr_compare (&((const ingest_other_t *) a)->addr,
                               &((const ingest_other_t *) b)->addr);
}

//  One JSON line per host of others (few: printf is fine)
static void
s_print_others (FILE *out, int64_t start, ingest_others_t *others)
{
    char block[32], addr[PROTO_ADDR_STRLEN];
    proto_time_format (start, block);
    size_t count = ingest_others_size (others);
    ingest_other_t *hosts = (ingest_other_t *) malloc ((count ? count : 1) * sizeof *hosts);
    assert (hosts);
    for (size_t index = 0; index < count; index++)
        ingest_others_at (others, index, &hosts[index]);
    qsort (hosts, count, sizeof *hosts, s_compare_others);
    for (size_t index = 0; index < count; index++) {
        const ingest_other_t *host = &hosts[index];
        fprintf (out,
                 "{\"block\":\"%s\",\"ip\":\"%s\",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64
                 ",\"flows\":%" PRIu64 ",\"truncated\":%s,\"ports\":[",
                 block, proto_addr_format (&host->addr, addr), host->bytes, host->packets,
                 host->flows, host->truncated ? "true" : "false");
        for (size_t port = 0; port < host->port_count; port++)
            fprintf (out, "%s[%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", port ? "," : "",
                     host->ports[port].port, host->ports[port].bytes, host->ports[port].packets,
                     host->ports[port].flows);
        fprintf (out, "]}\n");
    }
    free (hosts);
}

//  --------------------------------------------------------------------------
int
ingest_dryrun_run (ingest_match_t *match, ingest_anon_t *anon, char **files, int count,
                   const char *block_time, int json, bool json_in, FILE *summary_out,
                   FILE *json_out)
{
    assert (match);
    assert (files || count == 0);
    int64_t given = -1;
    if (block_time && ingest_file_parse_block_time (block_time, &given)) {
        zsys_error ("--block-time '%s' is not YYYYMMDDhhmm or YYYY-MM-DDThh:mmZ on a 5-minute "
                    "boundary",
                    block_time);
        return count;
    }
    ingest_file_t *file = ingest_file_new (match);
    if (!file) {
        zsys_error ("dry-run: out of memory");
        return count;
    }
    ingest_file_set_anon (file, anon);
    s_block_t *blocks = NULL;
    size_t block_count = 0;
    int failed = 0;
    for (int index = 0; index < count; index++) {
        //  The file's aggregate is read apart, then merged into its block's: the block
        //  may come from the file's own times, known only once it is open
        ingest_agg_t *agg = NULL;
        ingest_file_stats_t stats;
        if (ingest_file_read (file, files[index], given, &agg, &stats)) {
            zsys_error ("%s", ingest_file_error (file));
            failed++;
            continue;
        }
        s_block_t *block = s_block_require (&blocks, &block_count, stats.block);
        if (block->agg) {
            ingest_agg_merge (block->agg, agg);
            ingest_agg_destroy (&agg);
        }
        else
            block->agg = agg;
        char time_text[32], in_counts[64] = "";
        if (json_in)  //  The line stays as it always was for the out direction
            snprintf (in_counts, sizeof in_counts, " matched_in=%" PRIu64 " pairs_in=%" PRIu64,
                      stats.matched_in, stats.pairs_in);
        fprintf (summary_out,
                 "%s block=%s flows=%" PRIu64 " matched=%" PRIu64 " pairs=%" PRIu64
                 "%s compression=%s exporters=%u block_from=%s\n",
                 files[index], proto_time_format (stats.block, time_text), stats.flows,
                 stats.matched, stats.pairs, in_counts, stats.compression, stats.exporters,
                 stats.block_source);
        if (strcmp (stats.block_source, "header") == 0 || strcmp (stats.block_source, "stat") == 0)
            zsys_notice ("%s: not named nfcapd.YYYYMMDDhhmm: block %s taken from the file's %s "
                         "(--block-time sets it)",
                         files[index], time_text,
                         strcmp (stats.block_source, "header") == 0
                             ? "creation time"
                             : "last flow end (stat record)");
        if (stats.stat_flows >= 0 && (uint64_t) stats.stat_flows != stats.flows)
            zsys_warning ("%s: the stat record counts %" PRId64 " flows, the blocks held %" PRIu64,
                          files[index], stats.stat_flows, stats.flows);
    }
    for (size_t index = 0; index < block_count; index++) {
        if ((json & INGEST_DRYRUN_PAIRS) && blocks[index].agg)
            s_print_json (json_out, blocks[index].start,
                          json_in ? ingest_agg_incoming (blocks[index].agg) : blocks[index].agg,
                          json_in);
        if ((json & INGEST_DRYRUN_OTHERS) && blocks[index].agg)
            s_print_others (json_out, blocks[index].start, ingest_agg_others (blocks[index].agg));
        ingest_agg_destroy (&blocks[index].agg);
    }
    fflush (json_out);
    free (blocks);
    ingest_file_destroy (&file);
    return failed;
}

//  --------------------------------------------------------------------------
void
ingest_dryrun_test (bool verbose)
{
    printf (" * ingest_dryrun: ");
    //  Files that cannot be read are counted and reported; real files are covered by
    //  tests/system/reader_test.sh against nfdump's own output.
    ingest_match_t *match = ingest_match_new ();
    char *files[] = {(char *) "/nonexistent/nfcapd.202611201005", (char *) "/dev/null"};
    FILE *sink = fopen ("/dev/null", "w");
    assert (sink);
    zsys_set_logstream (verbose ? stdout : NULL);  //  The two errors below are expected
    assert (ingest_dryrun_run (match, NULL, files, 2, NULL, INGEST_DRYRUN_PAIRS, false, sink,
                               sink) == 2);
    assert (ingest_dryrun_run (match, NULL, files, 2, "202611201003", INGEST_DRYRUN_PAIRS, true,
                               sink, sink) == 2);
    assert (ingest_dryrun_run (match, NULL, files, 2, "202611201003", INGEST_DRYRUN_OTHERS, false,
                               sink, sink) == 2);
    zsys_set_logstream (stdout);
    assert (ingest_dryrun_run (match, NULL, NULL, 0, "202611201005", INGEST_DRYRUN_PAIRS, false,
                               sink, sink) == 0);
    fclose (sink);
    ingest_match_destroy (&match);
    printf ("OK\n");
}
