/*  reader_floor.c - what reading an nfcapd file costs before any aggregation.

    bench/reader compares portevo-ingest with nfdump; this tool says where the floor is.
    On one thread, with the reader's own code (ingest_block for reading and decompressing,
    ingest_decode for the record walk with the monitored-port filter), it times three
    stages over every data block of FILE, best of RUNS, in thread CPU seconds:

        read           pread of each block (the kernel copies it from the page cache)
        + decompress   and the block's codec (LZ4 for the bench file)
        + walk         and the record walk that decodes the flows on monitored ports

    Whatever portevo-ingest spends above the last figure is aggregation, matching and
    threading.  Usage: build/bench/reader_floor FILE [RUNS]
*/
#include "ingestor/ingest_block.h"
#include "ingestor/ingest_decode.h"
#include "ingestor/ingest_match.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_HEADER_SIZE 40  //  fileHeaderV2_t (NFCAPD.md §1)

typedef enum { STAGE_READ, STAGE_DECOMPRESS, STAGE_WALK, STAGES } s_stage_t;

static double
s_thread_seconds (void)
{
    struct timespec now;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

//  One pass over the blocks up to stage; returns 0 and the flow records seen, or -1.
static int
s_pass (ingest_block_t *job, uint32_t blocks, s_stage_t stage, uint64_t *records)
{
    void *zstd = NULL;
    uint64_t offset = FLOOR_HEADER_SIZE;
    *records = 0;
    for (uint32_t index = 0; index < blocks; index++) {
        job->offset = offset;
        job->index = index;
        if (ingest_block_load_header (job))
            break;
        offset = job->next_offset;
        int rc;
        if (stage == STAGE_READ) {
            rc = ingest_block_read (job, job->raw, job->raw_size,
                                    job->offset + INGEST_BLOCK_HEADER_SIZE, "block");
            job->header_done = false;
        }
        else
            rc = ingest_block_load (job, &zstd);
        if (rc)
            break;
        if (stage == STAGE_WALK)
            *records += ((ingest_decoded_t *) job->arg)->flow_records;
    }
    ingest_block_free_zstd (&zstd);
    if (job->rc)
        fprintf (stderr, "reader_floor: %s\n", job->error);
    return job->rc;
}

int
main (int argc, char *argv[])
{
    if (argc < 2) {
        fprintf (stderr, "usage: reader_floor FILE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi (argv[2]) : 5;
    int fd = open (argv[1], O_RDONLY);
    struct stat info;
    uint8_t header[FLOOR_HEADER_SIZE];
    if (fd < 0 || fstat (fd, &info) || pread (fd, header, sizeof header, 0) != sizeof header) {
        fprintf (stderr, "reader_floor: cannot read %s\n", argv[1]);
        return 1;
    }
    uint32_t blocks;
    memcpy (&blocks, header + 36, 4);
    ingest_match_t *match = ingest_match_new ();
    ingest_decoded_t decoded = {.port_filter = ingest_match_port_bitmap (match)};
    ingest_block_t job = {.fd = fd,
                          .file_size = (uint64_t) info.st_size,
                          .compression = header[16],
                          .raw = (uint8_t *) malloc (INGEST_READER_BUFFSIZE),
                          .data = (uint8_t *) malloc (INGEST_READER_BUFFSIZE),
                          .arg = &decoded};
    const char *names[STAGES] = {"read (pread)", "read + decompress",
                                 "read + decompress + record walk"};
    double best[STAGES];
    uint64_t records = 0;
    for (int stage = 0; stage < STAGES; stage++) {
        job.process = stage == STAGE_WALK ? ingest_decode_block : NULL;
        best[stage] = 1e9;
        for (int run = 0; run < runs; run++) {
            double start = s_thread_seconds ();
            if (s_pass (&job, blocks, (s_stage_t) stage, &records))
                return 1;
            double seconds = s_thread_seconds () - start;
            if (seconds < best[stage])
                best[stage] = seconds;
        }
    }
    printf ("floor: %u blocks, %llu flow records, one thread, CPU seconds, best of %d\n", blocks,
            (unsigned long long) records, runs);
    for (int stage = 0; stage < STAGES; stage++)
        printf ("  %-34s %.3f s\n", names[stage], best[stage]);
    ingest_decode_free (&decoded);
    ingest_match_destroy (&match);
    free (job.raw);
    free (job.data);
    close (fd);
    return 0;
}
