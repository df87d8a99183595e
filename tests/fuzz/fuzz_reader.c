/*  fuzz_reader.c - libFuzzer target for the nfcapd reader (ingestor/ingest_reader).

    The reader is the one piece of portevo that parses files written by someone else, so it
    is fuzzed: each input is written into an anonymous memory file (memfd_create: no disk
    I/O) and read exactly as the ingestor reads a spool file, ingest_reader_open_fd then
    ingest_reader_next until it returns 0 (end) or -1 (corrupt).  Any crash, sanitizer
    report, leak or failed assertion is a reader bug: the reader must turn every input into
    flows or an error message.  The accessors are called too, since they return what open
    and next stored.

    Like the ingestor, one reader (and one memfd) serves every input: open_fd must reset all
    per-file state, and the reader's two 5 MiB block buffers are not allocated again for each
    run (which made runs about ten times slower under ASan).  A crash file is therefore
    replayed on a fresh reader; should it not reproduce alone, run it after the inputs that
    preceded it (libFuzzer prints them with -print_final_stats / the corpus order).

    Built by `make fuzz` (clang -fsanitize=fuzzer,address,undefined) as
    build/fuzz/fuzz_reader; run by tests/fuzz/run-fuzz.sh with a corpus of real nfcapd files.
*/

#include "ingestor/ingest_reader.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

//  Upper bound on flows read from one input, so that a reader bug that never ends cannot
//  hang a run (a real 5 MiB block holds about 45,000 flows; the inputs are far smaller).
#define FUZZ_FLOWS_MAX 10000000

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static ingest_reader_t *s_reader;  //  Reused for every input, destroyed at exit
static int s_fd = -1;              //  memfd holding the current input

//  --------------------------------------------------------------------------
//  Write the whole input at offset 0 of fd.  Returns 0 or -1.

static int
s_write_all (int fd, const uint8_t *data, size_t size)
{
    off_t offset = 0;
    while (size > 0) {
        ssize_t written = pwrite (fd, data, size, offset);
        if (written <= 0)
            return -1;
        data += written;
        offset += written;
        size -= (size_t) written;
    }
    return 0;
}

//  The reader owns a loader thread (a zactor): it must end before czmq's own exit
//  handler terminates the ZeroMQ context under it.  Registered after the reader was made
//  (and so after czmq's handler), it runs first.
static void
s_destroy_reader (void)
{
    ingest_reader_destroy (&s_reader);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    s_reader = ingest_reader_new ();
    assert (s_reader);
    atexit (s_destroy_reader);
    s_fd = memfd_create ("fuzz_reader", MFD_CLOEXEC);
    assert (s_fd >= 0);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    int rc = ftruncate (s_fd, 0);
    assert (rc == 0);
    rc = s_write_all (s_fd, data, size);
    assert (rc == 0);

    if (ingest_reader_open_fd (s_reader, s_fd, "fuzz-input") == 0) {
        ingest_flow_t flow;
        uint64_t flows = 0;
        while ((rc = ingest_reader_next (s_reader, &flow)) == 1) {
            //  Use every field, so that uninitialised values are reported where they are read
            volatile uint64_t sink = flow.msec_first + flow.msec_last + flow.packets + flow.bytes +
                                     flow.src_as + flow.dst_as + flow.src_port + flow.dst_port +
                                     flow.exporter + flow.protocol + flow.flags +
                                     flow.src.bytes[0] + flow.dst.bytes[15];
            (void) sink;
            if (++flows >= FUZZ_FLOWS_MAX)
                break;
        }
        assert (rc == 1 || rc == 0 || rc == -1);
        if (rc == -1)
            assert (strlen (ingest_reader_error (s_reader)) > 0);
        assert (ingest_reader_compression (s_reader) <= INGEST_COMPRESS_ZSTD);
        assert (ingest_reader_compression_name (s_reader));
        assert (ingest_reader_ident (s_reader));
        assert (ingest_reader_flows_read (s_reader) == flows);
        (void) ingest_reader_stat_flows (s_reader);
        (void) ingest_reader_block_count (s_reader);
        (void) ingest_reader_exporter_count (s_reader);
        (void) ingest_reader_skipped_records (s_reader);
    }
    else
        assert (strlen (ingest_reader_error (s_reader)) > 0);
    ingest_reader_close (s_reader);
    return 0;
}
