/*  ingest_reader.c - the nfcapd file reader (layout version 2, nfdump 1.7.x).

    File layout (../shared/NFCAPD.md §1-5; all integers in the writer's byte order, which
    the magic 0xA50C lets us check):

        fileHeaderV2 (40 B) | data block 0 .. data block NumBlocks-1 | appendix block(s)
        data block = dataBlock header (12 B: NumRecords, size, type, flags) + payload of
                     `size` bytes, compressed as one unit with the file's codec
        payload    = records, each starting with { u16 type; u16 size } (size includes it)
        V3 record  = 12-byte header (type 11, size, numElements, ..., exporterID, flags)
                     + numElements elements { u16 type; u16 length (incl. header) } in any
                     order

    Only blocks of type 3 hold records (decoded by ingest_decode on the loader threads).
    Every size is checked against what is left before it is used; any violation ends the
    file with -1 and a message saying where.  The appendix (ident and stat record) is read
    at open, to report and cross-check.

    This thread reads each block header (12 bytes) to learn where the next block starts,
    then hands the block to the loaders in turn; jobs come back in order from each loader,
    so collecting them slot by slot gives the file order.  A header that fails fails its
    job, reported when the blocks before it were handed out.
*/
#include "ingestor/ingest_reader.h"
#include "ingestor/ingest_block.h"
#include "ingestor/ingest_bytes.h"
#include "ingestor/ingest_image.h"  //  Selftest
#include "ingestor/ingest_decode.h"
#include "ingestor/ingest_v1.h"  //  Hook: nfdump 1.6 files (issue 10)

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NF_MAGIC 0xA50C
#define NF_MAGIC_SWAPPED 0x0CA5
#define NF_HEADER_SIZE 40
#define NF_BLOCK_HEADER_SIZE INGEST_BLOCK_HEADER_SIZE
#define NF_BLOCK_TYPE_3 INGEST_NF_BLOCK_TYPE_3
#define NF_RECORD_HEADER_SIZE INGEST_NF_RECORD_HEADER_SIZE
#define NF_RECORD_EXPORTER_INFO INGEST_NF_RECORD_EXPORTER_INFO
#define NF_RECORD_V3 INGEST_NF_RECORD_V3
#define NF_RECORD_IDENT INGEST_NF_RECORD_IDENT
#define NF_RECORD_STAT INGEST_NF_RECORD_STAT
#define NF_EXPORTER_INFO_SIZE INGEST_NF_EXPORTER_INFO_SIZE
#define NF_STAT_RECORD_SIZE INGEST_NF_STAT_RECORD_SIZE
#define NF_EX_GENERIC INGEST_NF_EX_GENERIC
#define NF_EX_GENERIC_SIZE INGEST_NF_EX_GENERIC_SIZE
#define NF_EX_IPV4 INGEST_NF_EX_IPV4
#define NF_EX_IPV6 INGEST_NF_EX_IPV6
#define NF_EX_CNT INGEST_NF_EX_CNT
#define NF_EX_AS INGEST_NF_EX_AS

#define READER_IDENT_MAX 128       //  Longest ident string kept
#define READER_EXPORTERS_MAX 1024  //  Distinct exporter ids remembered per file
#define READER_LOADERS 2           //  Loader threads: blocks are read and decoded in parallel
#define READER_AHEAD (READER_LOADERS * INGEST_BLOCK_QUEUE)  //  Blocks loading at most
//  Blocks loading plus the one handed out, rounded up to a multiple of the loaders: block
//  b takes slot b % READER_SLOTS and loader b % READER_LOADERS, so each slot's buffers
//  stay with one loader (one core's cache) instead of moving between them
#define READER_SLOTS (READER_LOADERS * (INGEST_BLOCK_QUEUE + 1))

struct _ingest_reader_t {
    int fd;                                          //  Open file, or -1
    bool own_fd;                                     //  Close fd on close
    char name[256];                                  //  File name for messages
    char error[INGEST_READER_ERROR_MAX];             //  Last error, "" if none
    uint64_t file_size;                              //  Bytes in the file
    uint8_t compression;                             //  ingest_compression_t of the header
    uint32_t block_count;                            //  NumBlocks of the header
    uint64_t appendix_offset;                        //  offAppendix, 0 if none
    uint64_t offset;                                 //  File offset of the next block to load
    uint32_t blocks_issued;                          //  Data blocks handed to the loaders so far
    uint32_t blocks_read;                            //  Data blocks loaded so far
    uint32_t skip_blocks;                            //  Data blocks whose flows are dropped
    ingest_block_t jobs[READER_SLOTS];               //  Block handed out, blocks being loaded
    ingest_decoded_t decoded[READER_SLOTS];          //  Their flows, decoded by the loaders
    int owner[READER_SLOTS];                         //  Loader of each job, -1: failed at issue
    ingest_decoded_t *current;                       //  The block being handed out, or NULL
    size_t next;                                     //  Next flow of current to hand out
    int issue;                                       //  jobs[issue] is the next to issue
    int collect;                                     //  jobs[collect] is the next to collect
    int in_flight;                                   //  Jobs issued, not collected
    int next_loader;                                 //  Loader for the next job (round robin)
    bool issue_failed;                               //  A job failed at issue: issue no more
    ingest_block_loader_t *loaders[READER_LOADERS];  //  Threads that read and decode ahead
    void *zstd;                                      //  ZSTD context for the appendix (this thread)
    const uint8_t *data;                             //  Records of the block being walked
    size_t data_size;                                //  Bytes of records in data
    uint64_t flows_read;                             //  V3 flow records handed out
    uint64_t skipped;                          //  Records and blocks skipped (unknown or unused)
    int64_t stat_flows;                        //  Appendix stat numflows, -1 if none
    int64_t stat_first_msecs;                  //  Appendix stat first seen, -1 if none
    int64_t stat_last_msecs;                   //  Appendix stat last seen, -1 if none
    int64_t created;                           //  Header creation time, seconds (0: none)
    char ident[READER_IDENT_MAX];              //  Appendix ident, "" if none
    uint16_t exporters[READER_EXPORTERS_MAX];  //  Distinct exporter sysids seen
    uint32_t exporter_count;                   //  Entries used in exporters
    uint64_t port_filter[65536 / 64];          //  Ports to hand out (copy of the bitmap)
    bool filtering;                            //  port_filter applies
    ingest_flow_filter_fn *filter;             //  Flows to hand out among those, or NULL
    void *filter_arg;                          //  For filter (read by the loader threads)
    ingest_flow_sink_fn *sink;                 //  Flows marked with sink_mark go there, or NULL
    void *sink_arg;                            //  For sink (the loaders', in turns)
    unsigned sink_mark;                        //  Mark bits of the flows for sink
    ingest_turn_t *turn;                       //  Block order of the sink's calls
    bool failed;                               //  Sticky: -1 once, -1 forever until close
    bool open;                                 //  A file is open
    ingest_v1_t *v1;  //  Hook: extension maps of layout 1 files (made at the first one)
    bool v1_file;     //  Hook: the open file is layout 1 (nfdump 1.6)
};

static const char *s_compression_names[] = {"none", "lzo", "bz2", "lz4", "zstd"};

//  --------------------------------------------------------------------------
//  Record an error "name: what" and make the reader fail from now on.  Returns -1.

static int s_fail (ingest_reader_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
s_fail (ingest_reader_t *self, const char *format, ...)
{
    char what[256];
    va_list args;
    va_start (args, format);
    vsnprintf (what, sizeof what, format, args);
    va_end (args);
    snprintf (self->error, sizeof self->error, "%s: %s", self->name, what);
    self->failed = true;
    return -1;
}

//  --------------------------------------------------------------------------
ingest_reader_t *
ingest_reader_new (void)
{
    ingest_reader_t *self = (ingest_reader_t *) calloc (1, sizeof (ingest_reader_t));
    if (!self)
        return NULL;
    self->fd = -1;
    self->stat_flows = -1;
    self->stat_first_msecs = self->stat_last_msecs = -1;
    self->created = 0;
    bool ok = true;
    for (int index = 0; index < READER_SLOTS; index++) {
        self->jobs[index].raw = (uint8_t *) malloc (INGEST_READER_BUFFSIZE);
        self->jobs[index].data = (uint8_t *) malloc (INGEST_READER_BUFFSIZE);
        ok = ok && self->jobs[index].raw && self->jobs[index].data;
    }
    for (int index = 0; index < READER_LOADERS; index++) {
        self->loaders[index] = ingest_block_loader_new ();
        ok = ok && self->loaders[index];
    }
    self->turn = ingest_turn_new ();
    ok = ok && self->turn;
    if (!ok)
        ingest_reader_destroy (&self);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_reader_destroy (ingest_reader_t **self_p)
{
    assert (self_p);
    ingest_reader_t *self = *self_p;
    if (!self)
        return;
    ingest_reader_close (self);
    for (int index = 0; index < READER_LOADERS; index++)
        ingest_block_loader_destroy (&self->loaders[index]);
    ingest_block_free_zstd (&self->zstd);
    ingest_v1_destroy (&self->v1);  //  Hook: nfdump 1.6 files
    for (int index = 0; index < READER_SLOTS; index++) {
        free (self->jobs[index].raw);
        free (self->jobs[index].data);
        ingest_decode_free (&self->decoded[index]);
    }
    ingest_turn_destroy (&self->turn);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_reader_close (ingest_reader_t *self)
{
    assert (self);
    //  Jobs still with the loaders read fd and our buffers: collect every one of them, in
    //  file order, giving those that did not have their turn theirs (nothing to the sink)
    while (self->in_flight > 0) {
        int slot = self->collect;
        if (self->owner[slot] >= 0)
            ingest_block_loader_wait (self->loaders[self->owner[slot]]);
        ingest_decode_collected (&self->decoded[slot], self->jobs[slot].index, false);
        self->collect = (slot + 1) % READER_SLOTS;
        self->in_flight--;
    }
    for (int index = 0; index < READER_LOADERS; index++)
        while (self->loaders[index] && ingest_block_loader_busy (self->loaders[index]))
            ingest_block_loader_wait (self->loaders[index]);
    self->in_flight = 0;
    if (self->fd >= 0 && self->own_fd)
        close (self->fd);
    self->fd = -1;
    self->open = false;
}

//  --------------------------------------------------------------------------
//  Set up job (one of self->jobs) for the block at offset.

static ingest_block_t *
s_job (ingest_reader_t *self, int slot, uint64_t offset, uint32_t index)
{
    ingest_block_t *job = &self->jobs[slot];
    job->fd = self->fd;
    job->file_size = self->file_size;
    job->offset = offset;
    job->limit = self->appendix_offset;
    job->index = index;
    job->compression = self->compression;
    job->chained = false;
    job->header_done = false;
    job->process = NULL;
    job->arg = NULL;
    return job;
}

//  Read size bytes at offset for the header, or fail saying the file is truncated.
static int
s_read_at (ingest_reader_t *self, void *buffer, size_t size, uint64_t offset, const char *what)
{
    ingest_block_t *job = s_job (self, 0, offset, 0);
    if (ingest_block_read (job, buffer, size, offset, what))
        return s_fail (self, "%s", job->error);
    return 0;
}

//  --------------------------------------------------------------------------
//  Read the appendix: ident and stat record.

static int
s_read_appendix (ingest_reader_t *self, uint16_t appendix_blocks)
{
    uint64_t offset = self->appendix_offset;
    for (uint16_t block = 0; block < appendix_blocks; block++) {
        ingest_block_t *job = s_job (self, 0, offset, self->block_count + block);
        job->limit = 0;
        if (ingest_block_load (job, &self->zstd))
            return s_fail (self, "appendix: %s", job->error);
        uint32_t records = job->records;
        offset = job->next_offset;
        self->data = job->data;
        self->data_size = job->data_size;
        size_t cursor = 0;
        for (uint32_t record = 0; record < records; record++) {
            if (self->data_size - cursor < NF_RECORD_HEADER_SIZE)
                return s_fail (self, "appendix: %u records declared, only %u fit", records, record);
            uint16_t record_type = ingest_u16 (self->data + cursor);
            uint16_t record_size = ingest_u16 (self->data + cursor + 2);
            if (record_size < NF_RECORD_HEADER_SIZE || record_size > self->data_size - cursor)
                return s_fail (self, "appendix: record %u has invalid size %u", record,
                               record_size);
            const uint8_t *payload = self->data + cursor + NF_RECORD_HEADER_SIZE;
            size_t payload_size = record_size - NF_RECORD_HEADER_SIZE;
            if (record_type == NF_RECORD_IDENT) {
                size_t length = strnlen ((const char *) payload, payload_size);
                if (length >= READER_IDENT_MAX)
                    length = READER_IDENT_MAX - 1;
                memcpy (self->ident, payload, length);
                self->ident[length] = 0;
            }
            else if (record_type == NF_RECORD_STAT && payload_size >= NF_STAT_RECORD_SIZE) {
                self->stat_flows = (int64_t) ingest_u64 (payload);
                //  firstseen and lastseen (msecs) are the 16th and 17th of 18 u64s
                uint64_t first = ingest_u64 (payload + 15 * 8),
                         last = ingest_u64 (payload + 16 * 8);
                if (first && first <= last && last <= INT64_MAX) {
                    self->stat_first_msecs = (int64_t) first;
                    self->stat_last_msecs = (int64_t) last;
                }
            }
            cursor += record_size;
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Hook (issue 10): open a layout 1 file (nfdump 1.6; ingest_v1.c).  Its header and stat
//  record stand for the V2 header and appendix; its type-2 blocks are loaded like V2
//  blocks and their records walked by ingest_v1_record with the file's extension maps,
//  which the loader thread borrows with each job (blocks are walked in file order).

static int
s_open_v1 (ingest_reader_t *self)
{
    uint8_t bytes[INGEST_V1_DATA_OFFSET];
    if (s_read_at (self, bytes, sizeof bytes, 0, "layout version 1 header and stat record"))
        return -1;
    ingest_v1_header_t header;
    char error[INGEST_V1_ERROR_MAX];
    if (ingest_v1_header_parse (&header, bytes, sizeof bytes, error, sizeof error))
        return s_fail (self, "layout version 1: %s", error);
    //  Each block takes at least a header and one byte
    uint64_t most = (self->file_size - INGEST_V1_DATA_OFFSET) / (NF_BLOCK_HEADER_SIZE + 1);
    if (header.block_count > most)
        return s_fail (self,
                       "truncated or corrupt: layout version 1 header declares %u blocks, "
                       "%llu bytes hold at most %llu",
                       header.block_count, (unsigned long long) self->file_size,
                       (unsigned long long) most);
    if (!self->v1)
        self->v1 = ingest_v1_new ();
    if (!self->v1)
        return s_fail (self, "out of memory for the extension maps");
    ingest_v1_reset (self->v1);
    self->v1_file = true;
    self->compression = header.compression;
    self->block_count = header.block_count;
    self->appendix_offset = 0;
    self->offset = INGEST_V1_DATA_OFFSET;
    self->stat_flows = header.stat_flows;
    self->stat_first_msecs = header.stat_first_msecs;
    self->stat_last_msecs = header.stat_last_msecs;
    size_t length = strnlen (header.ident, READER_IDENT_MAX - 1);
    memcpy (self->ident, header.ident, length);
    self->ident[length] = 0;
    return 0;
}

//  --------------------------------------------------------------------------
int
ingest_reader_open (ingest_reader_t *self, const char *path)
{
    assert (self);
    assert (path);
    ingest_reader_close (self);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf (self->name, sizeof self->name, "%s", path);
        return s_fail (self, "cannot open: %s", strerror (errno));
    }
    int rc = ingest_reader_open_fd (self, fd, path);
    self->own_fd = true;
    if (rc)
        ingest_reader_close (self);
    return rc;
}

//  --------------------------------------------------------------------------
int
ingest_reader_open_fd (ingest_reader_t *self, int fd, const char *name)
{
    assert (self);
    assert (fd >= 0);
    assert (name);
    ingest_reader_close (self);
    snprintf (self->name, sizeof self->name, "%s", name);
    self->fd = fd;
    self->own_fd = false;
    self->open = true;
    self->failed = false;
    self->error[0] = 0;
    self->ident[0] = 0;
    self->stat_flows = -1;
    self->stat_first_msecs = self->stat_last_msecs = -1;
    self->created = 0;
    self->flows_read = 0;
    self->skipped = 0;
    self->exporter_count = 0;
    self->blocks_read = 0;
    self->blocks_issued = 0;
    self->issue = self->collect = self->in_flight = self->next_loader = 0;
    self->issue_failed = false;
    ingest_turn_reset (self->turn);  //  No job is out: close collected them
    self->current = NULL;
    self->next = 0;
    self->data_size = 0;
    self->v1_file = false;  //  Hook: nfdump 1.6 files

    struct stat info;
    if (fstat (fd, &info))
        return s_fail (self, "cannot stat: %s", strerror (errno));
    if (!S_ISREG (info.st_mode))
        return s_fail (self, "not a regular file");
    self->file_size = (uint64_t) info.st_size;

    uint8_t header[NF_HEADER_SIZE];
    if (self->file_size < 4)
        return s_fail (self, "not an nfcapd file: only %llu bytes",
                       (unsigned long long) self->file_size);
    if (s_read_at (self, header, 4, 0, "file header"))
        return -1;
    uint16_t magic = ingest_u16 (header);
    uint16_t layout = ingest_u16 (header + 2);
    if (magic == NF_MAGIC_SWAPPED)
        return s_fail (self,
                       "written with the other byte order (magic 0x%04x): "
                       "read it on a machine of that byte order",
                       magic);
    if (magic != NF_MAGIC)
        return s_fail (self, "not an nfcapd file (magic 0x%04x, expected 0x%04x)", magic, NF_MAGIC);
    if (layout == INGEST_V1_LAYOUT)  //  Hook: nfdump 1.6 files (ingest_v1.c)
        return s_open_v1 (self);
    if (layout == 3)
        return s_fail (self, "layout version 3 (nfdump 1.8) is not supported yet");
    if (layout != 2)
        return s_fail (self, "unknown layout version %u", layout);
    if (s_read_at (self, header, NF_HEADER_SIZE, 0, "file header"))
        return -1;
    self->compression = header[16];
    uint8_t encryption = header[17];
    uint16_t appendix_blocks = ingest_u16 (header + 18);
    self->appendix_offset = ingest_u64 (header + 24);
    self->block_count = ingest_u32 (header + 36);
    uint64_t created = ingest_u64 (header + 8);
    self->created = created <= INT64_MAX ? (int64_t) created : 0;
    if (encryption != 0)
        return s_fail (self, "encrypted files are not supported (encryption %u)", encryption);
    if (self->compression > INGEST_COMPRESS_ZSTD)
        return s_fail (self, "unknown compression %u", self->compression);
    self->offset = NF_HEADER_SIZE;
    if (self->appendix_offset) {
        if (self->appendix_offset < NF_HEADER_SIZE || self->appendix_offset >= self->file_size)
            return s_fail (self, "truncated or corrupt: appendix offset %llu, file has %llu bytes",
                           (unsigned long long) self->appendix_offset,
                           (unsigned long long) self->file_size);
        if (s_read_appendix (self, appendix_blocks))
            return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Remember an exporter sysid (from an exporter record).

static void
s_note_exporter (ingest_reader_t *self, uint16_t sysid)
{
    for (uint32_t index = 0; index < self->exporter_count; index++)
        if (self->exporters[index] == sysid)
            return;
    if (self->exporter_count < READER_EXPORTERS_MAX)
        self->exporters[self->exporter_count++] = sysid;
}

//  --------------------------------------------------------------------------
//  Keep READER_AHEAD blocks loading, round robin over the loaders (the slots cycle, so a
//  slot is reused only after its block was handed out).  The headers are read here, so
//  that each job knows where its block starts; a header that fails fails its job, which
//  is reported in its turn, after the blocks before it.

static void
s_issue_blocks (ingest_reader_t *self)
{
    //  Hook: a layout 1 file uses loader 0 alone (see below), which holds
    //  INGEST_BLOCK_QUEUE jobs at most
    int ahead = self->v1_file ? INGEST_BLOCK_QUEUE : READER_AHEAD;
    while (self->blocks_issued < self->block_count && self->in_flight < ahead &&
           !self->issue_failed) {
        int slot = self->issue;
        ingest_block_t *job = s_job (self, slot, self->offset, self->blocks_issued);
        ingest_decoded_t *decoded = &self->decoded[slot];
        decoded->port_filter = self->filtering ? self->port_filter : NULL;
        decoded->filter = self->filter;
        decoded->filter_arg = self->filter_arg;
        decoded->v1 = self->v1_file ? self->v1 : NULL;  //  Hook: nfdump 1.6 files
        bool sink = self->sink && self->blocks_issued >= self->skip_blocks;
        decoded->sink = sink ? self->sink : NULL;
        decoded->sink_arg = self->sink_arg;
        decoded->sink_mark = self->sink_mark;
        decoded->turn = self->sink ? self->turn : NULL;
        decoded->sunk = false;
        job->process = ingest_decode_block;
        job->arg = decoded;
        job->rc = 0;
        self->issue = (self->issue + 1) % READER_SLOTS;
        self->in_flight++;
        if (self->appendix_offset && self->offset >= self->appendix_offset) {
            if (self->blocks_issued == 0)
                ingest_block_fail (job, "corrupt: block 0 of %u would start in the appendix",
                                   self->block_count);
            else
                ingest_block_fail (job, "corrupt: block %u would start in the appendix",
                                   self->blocks_issued);
        }
        else
            ingest_block_load_header (job);
        self->blocks_issued++;
        if (job->rc) {
            self->owner[slot] = -1;
            self->issue_failed = true;
            break;
        }
        self->offset = job->next_offset;
        self->owner[slot] = self->next_loader;
        ingest_block_loader_start (self->loaders[self->next_loader], job);
        //  Hook: a layout 1 file keeps to loader 0, so that its blocks are decoded one
        //  after the other, in file order: nfcapd 1.6 writes the extension maps that
        //  later blocks use in the first block only (ingest_v1.c)
        if (!self->v1_file)
            self->next_loader = (self->next_loader + 1) % READER_LOADERS;
    }
}

//  --------------------------------------------------------------------------
//  Make the next data block current, while the loaders read the ones after.  0 ok, 1 no
//  more blocks, -1 error.

static int
s_next_block (ingest_reader_t *self)
{
    s_issue_blocks (self);
    if (self->in_flight == 0)
        return 1;
    int slot = self->collect;
    ingest_block_t *job = &self->jobs[slot];
    if (self->owner[slot] >= 0) {
        ingest_block_t *returned = ingest_block_loader_wait (self->loaders[self->owner[slot]]);
        assert (returned == job);  //  Each loader answers in order, and slots are in order
    }
    self->collect = (self->collect + 1) % READER_SLOTS;
    self->in_flight--;
    ingest_decode_collected (&self->decoded[slot], job->index, job->rc == 0);
    if (job->rc)
        return s_fail (self, "%s", job->error);
    self->blocks_read++;
    if (job->index < self->skip_blocks) {
        //  Delivered before (ingest_reader_set_skip_blocks): read and decoded, since a
        //  layout 1 file's first block holds the maps later blocks use, but not handed out
        self->current = NULL;
        return s_next_block (self);
    }
    ingest_decoded_t *decoded = (ingest_decoded_t *) job->arg;
    self->flows_read += decoded->flow_records;
    self->skipped += decoded->skipped;
    for (size_t index = 0; index < decoded->exporter_count; index++)
        s_note_exporter (self, decoded->exporters[index]);
    self->current = decoded;
    self->next = 0;
    s_issue_blocks (self);
    return 0;
}

//  --------------------------------------------------------------------------
int
ingest_reader_next (ingest_reader_t *self, ingest_flow_t *flow)
{
    assert (self);
    assert (flow);
    if (!self->open || self->failed)
        return -1;
    while (true) {
        ingest_decoded_t *current = self->current;
        if (current && self->next < current->count) {
            *flow = current->flows[self->next++];
            return 1;
        }
        int rc = s_next_block (self);
        if (rc)
            return rc == 1 ? 0 : -1;
    }
}

//  --------------------------------------------------------------------------
int
ingest_reader_next_batch (ingest_reader_t *self, const ingest_flow_t **flows, size_t *count)
{
    assert (self);
    assert (flows);
    assert (count);
    if (!self->open || self->failed)
        return -1;
    while (true) {
        ingest_decoded_t *current = self->current;
        if (current && self->next < current->count) {
            *flows = current->flows + self->next;
            *count = current->count - self->next;
            self->next = current->count;
            return 1;
        }
        int rc = s_next_block (self);
        if (rc)
            return rc == 1 ? 0 : -1;
    }
}

//  --------------------------------------------------------------------------
void
ingest_reader_set_port_filter (ingest_reader_t *self, const uint64_t *ports)
{
    assert (self);
    assert (self->in_flight == 0);  //  Not while a block is loading
    self->filtering = ports != NULL;
    if (ports)
        memcpy (self->port_filter, ports, sizeof self->port_filter);
}

//  --------------------------------------------------------------------------
void
ingest_reader_set_skip_blocks (ingest_reader_t *self, uint32_t blocks)
{
    assert (self);
    assert (self->in_flight == 0);  //  Not while a block is loading
    self->skip_blocks = blocks;
}

//  --------------------------------------------------------------------------
void
ingest_reader_set_flow_filter (ingest_reader_t *self, ingest_flow_filter_fn *filter, void *arg)
{
    assert (self);
    assert (self->in_flight == 0);  //  Not while a block is loading
    self->filter = filter;
    self->filter_arg = arg;
}

//  --------------------------------------------------------------------------
void
ingest_reader_set_sink (ingest_reader_t *self, unsigned mark, ingest_flow_sink_fn *sink, void *arg)
{
    assert (self);
    assert (self->in_flight == 0);  //  Not while a block is loading
    self->sink = sink;
    self->sink_arg = arg;
    self->sink_mark = sink ? mark : 0;
}

//  --------------------------------------------------------------------------
const char *
ingest_reader_error (ingest_reader_t *self)
{
    assert (self);
    return self->error;
}

ingest_compression_t
ingest_reader_compression (ingest_reader_t *self)
{
    assert (self);
    return (ingest_compression_t) self->compression;
}

const char *
ingest_reader_compression_name (ingest_reader_t *self)
{
    assert (self);
    return self->compression <= INGEST_COMPRESS_ZSTD ? s_compression_names[self->compression]
                                                     : "unknown";
}

uint64_t
ingest_reader_flows_read (ingest_reader_t *self)
{
    assert (self);
    return self->flows_read;
}

int64_t
ingest_reader_stat_flows (ingest_reader_t *self)
{
    assert (self);
    return self->stat_flows;
}

int64_t
ingest_reader_stat_first_msecs (ingest_reader_t *self)
{
    assert (self);
    return self->stat_first_msecs;
}

int64_t
ingest_reader_stat_last_msecs (ingest_reader_t *self)
{
    assert (self);
    return self->stat_last_msecs;
}

int64_t
ingest_reader_created (ingest_reader_t *self)
{
    assert (self);
    return self->created;
}

const char *
ingest_reader_ident (ingest_reader_t *self)
{
    assert (self);
    return self->ident;
}

uint32_t
ingest_reader_block_count (ingest_reader_t *self)
{
    assert (self);
    return self->block_count;
}

uint64_t
ingest_reader_file_size (ingest_reader_t *self)
{
    assert (self);
    return self->file_size;
}

uint32_t
ingest_reader_exporter_count (ingest_reader_t *self)
{
    assert (self);
    return self->exporter_count;
}

uint64_t
ingest_reader_skipped_records (ingest_reader_t *self)
{
    assert (self);
    return self->skipped;
}

//  --------------------------------------------------------------------------
//  Selftest: a small file built in memory, byte by byte as NFCAPD.md §1-5 lays it out
//  (real files written by Debian's nfdump are checked by tests/system/reader_test.sh).

static void
s_put_generic (ingest_image_t *image, uint64_t first, uint64_t packets, uint64_t bytes,
               uint16_t dst_port, uint8_t protocol)
{
    ingest_image_put16 (image, NF_EX_GENERIC);
    ingest_image_put16 (image, 4 + NF_EX_GENERIC_SIZE);
    ingest_image_put64 (image, first);
    ingest_image_put64 (image, first + 1500);
    ingest_image_put64 (image, first + 2000);
    ingest_image_put64 (image, packets);
    ingest_image_put64 (image, bytes);
    ingest_image_put16 (image, 40000);
    ingest_image_put16 (image, dst_port);
    uint8_t tail[4] = {protocol, 0x1b, 0, 0};
    ingest_image_put (image, tail, 4);
}

//  Writes a file of one data block (exporter, IPv4 flow with AS, IPv6 flow with out
//  counters, an unknown record) and an appendix, compressed with compression.
static void
s_build_file (ingest_image_t *image, uint8_t compression)
{
    ingest_image_t payload = {{0}, 0};
    //  Exporter info record: type 7, 32 bytes, sysid 3
    ingest_image_put16 (&payload, NF_RECORD_EXPORTER_INFO);
    ingest_image_put16 (&payload, NF_EXPORTER_INFO_SIZE);
    ingest_image_put32 (&payload, 9);
    uint8_t ip[16] = {0};
    ingest_image_put (&payload, ip, 16);
    ingest_image_put16 (&payload, 2);
    ingest_image_put16 (&payload, 3);
    ingest_image_put32 (&payload, 0);
    //  V3 record, IPv4: generic + ipv4 + AS + an unknown element 99
    ingest_image_put16 (&payload, NF_RECORD_V3);
    ingest_image_put16 (&payload, 12 + 52 + 12 + 12 + 8);
    ingest_image_put16 (&payload, 4);
    uint8_t v3_header[6] = {0, 0, 3, 0, 0, 9};
    ingest_image_put (&payload, v3_header, 6);
    s_put_generic (&payload, 1700000000000ULL, 10, 1500, 25, 6);
    ingest_image_put16 (&payload, NF_EX_IPV4);
    ingest_image_put16 (&payload, 12);
    ingest_image_put32 (&payload, 0x0a010203);
    ingest_image_put32 (&payload, 0xc0000207);
    ingest_image_put16 (&payload, NF_EX_AS);
    ingest_image_put16 (&payload, 12);
    ingest_image_put32 (&payload, 64500);
    ingest_image_put32 (&payload, 64501);
    ingest_image_put16 (&payload, 99);
    ingest_image_put16 (&payload, 8);
    ingest_image_put32 (&payload, 0xdeadbeef);
    //  Unknown record type 200
    ingest_image_put16 (&payload, 200);
    ingest_image_put16 (&payload, 8);
    ingest_image_put32 (&payload, 0);
    //  V3 record, IPv6 with out counters
    ingest_image_put16 (&payload, NF_RECORD_V3);
    ingest_image_put16 (&payload, 12 + 52 + 36 + 28);
    ingest_image_put16 (&payload, 3);
    ingest_image_put (&payload, v3_header, 6);
    s_put_generic (&payload, 1700000001000ULL, 3, 300, 22, 17);
    ingest_image_put16 (&payload, NF_EX_IPV6);
    ingest_image_put16 (&payload, 36);
    ingest_image_put64 (&payload, 0x20010db800000000ULL);
    ingest_image_put64 (&payload, 0x0000000000000001ULL);
    ingest_image_put64 (&payload, 0x20010db8000000ffULL);
    ingest_image_put64 (&payload, 0x0000000000000002ULL);
    ingest_image_put16 (&payload, NF_EX_CNT);
    ingest_image_put16 (&payload, 28);
    ingest_image_put64 (&payload, 1);
    ingest_image_put64 (&payload, 2);
    ingest_image_put64 (&payload, 200);

    ingest_image_t appendix = {{0}, 0};
    ingest_image_put16 (&appendix, NF_RECORD_IDENT);
    ingest_image_put16 (&appendix, 4 + 5);
    ingest_image_put (&appendix, "test", 5);
    ingest_image_put16 (&appendix, NF_RECORD_STAT);
    ingest_image_put16 (&appendix, 4 + NF_STAT_RECORD_SIZE);
    ingest_image_put64 (&appendix, 2);  //  numflows
    uint8_t zeros[NF_STAT_RECORD_SIZE - 8] = {0};
    ingest_image_put (&appendix, zeros, sizeof zeros);

    image->size = 0;
    ingest_image_put16 (image, NF_MAGIC);
    ingest_image_put16 (image, 2);
    ingest_image_put32 (image, 0x01070100);
    ingest_image_put64 (image, 1700000000);
    uint8_t flags[4] = {compression, 0, 1, 0};
    ingest_image_put (image, flags, 4);
    ingest_image_put32 (image, 0);
    size_t appendix_offset_at = image->size;
    ingest_image_put64 (image, 0);
    ingest_image_put32 (image, 0);
    ingest_image_put32 (image, 1);
    ingest_image_t *parts[2] = {&payload, &appendix};
    uint32_t counts[2] = {4, 2};
    for (int part = 0; part < 2; part++) {
        if (part == 1) {
            uint64_t offset = image->size;
            memcpy (image->bytes + appendix_offset_at, &offset, 8);
        }
        uint8_t packed[4096];
        int packed_size = (int) parts[part]->size;
        if (compression == INGEST_COMPRESS_LZ4)
            packed_size = LZ4_compress_default ((const char *) parts[part]->bytes, (char *) packed,
                                                (int) parts[part]->size, sizeof packed);
        else
            memcpy (packed, parts[part]->bytes, parts[part]->size);
        assert (packed_size > 0);
        ingest_image_put32 (image, counts[part]);
        ingest_image_put32 (image, (uint32_t) packed_size);
        ingest_image_put16 (image, NF_BLOCK_TYPE_3);
        ingest_image_put16 (image, 0);
        ingest_image_put (image, packed, (size_t) packed_size);
    }
}

//  Opens the first size bytes of image through a memfd.  Returns the open result.
static int
s_open_image (ingest_reader_t *reader, const ingest_image_t *image, size_t size, int *fd)
{
    *fd = memfd_create ("ingest_reader_test", MFD_CLOEXEC);
    assert (*fd >= 0);
    assert (write (*fd, image->bytes, size) == (ssize_t) size);
    return ingest_reader_open_fd (reader, *fd, "image");
}

static unsigned
s_test_ipv6_only (void *arg, const ingest_flow_t *flow)
{
    (void) arg;
    return !proto_addr_is_ipv4 (&flow->src);
}

static void
s_expect_error (const ingest_image_t *image, size_t size, const char *what)
{
    ingest_reader_t *reader = ingest_reader_new ();
    int fd;
    int rc = s_open_image (reader, image, size, &fd);
    if (rc == 0) {
        ingest_flow_t flow;
        while ((rc = ingest_reader_next (reader, &flow)) == 1)
            ;
    }
    assert (rc == -1);
    assert (strstr (ingest_reader_error (reader), what));
    ingest_reader_destroy (&reader);
    close (fd);
}

void
ingest_reader_test (bool verbose)
{
    printf (" * ingest_reader: ");
    ingest_image_t image;
    uint8_t compressions[] = {INGEST_COMPRESS_NONE, INGEST_COMPRESS_LZ4};
    for (size_t variant = 0; variant < sizeof compressions; variant++) {
        s_build_file (&image, compressions[variant]);
        ingest_reader_t *reader = ingest_reader_new ();
        assert (reader);
        int fd;
        assert (s_open_image (reader, &image, image.size, &fd) == 0);
        assert (strcmp (ingest_reader_ident (reader), "test") == 0);
        assert (ingest_reader_stat_flows (reader) == 2);
        assert (ingest_reader_compression (reader) == compressions[variant]);
        ingest_flow_t flow;
        char text[PROTO_ADDR_STRLEN];
        assert (ingest_reader_next (reader, &flow) == 1);
        assert (strcmp (proto_addr_format (&flow.src, text), "10.1.2.3") == 0);
        assert (strcmp (proto_addr_format (&flow.dst, text), "192.0.2.7") == 0);
        assert (flow.bytes == 1500 && flow.packets == 10);
        assert (flow.dst_port == 25 && flow.src_port == 40000 && flow.protocol == 6);
        assert (flow.src_as == 64500 && flow.dst_as == 64501);
        assert (flow.msec_last - flow.msec_first == 1500);
        assert (flow.exporter == 3);
        assert (ingest_reader_next (reader, &flow) == 1);
        assert (strcmp (proto_addr_format (&flow.src, text), "2001:db8::1") == 0);
        assert (strcmp (proto_addr_format (&flow.dst, text), "2001:db8:0:ff::2") == 0);
        assert (flow.bytes == 500 && flow.packets == 5 && flow.src_as == 0);
        assert (ingest_reader_next (reader, &flow) == 0);
        assert (ingest_reader_flows_read (reader) == 2);
        //  Again with a port filter keeping 22 only: one flow out, both counted
        uint64_t ports[1024] = {0};
        ports[0] = 1ULL << 22;
        ingest_reader_set_port_filter (reader, ports);
        assert (ingest_reader_open_fd (reader, fd, "image") == 0);
        assert (ingest_reader_next (reader, &flow) == 1 && flow.dst_port == 22);
        assert (ingest_reader_next (reader, &flow) == 0);
        assert (ingest_reader_flows_read (reader) == 2);
        ingest_reader_set_port_filter (reader, NULL);
        //  A flow filter keeping IPv6 sources, and the flows of a block at once
        ingest_reader_set_flow_filter (reader, s_test_ipv6_only, NULL);
        assert (ingest_reader_open_fd (reader, fd, "image") == 0);
        const ingest_flow_t *flows;
        size_t count;
        assert (ingest_reader_next_batch (reader, &flows, &count) == 1 && count == 1);
        assert (flows[0].dst_port == 22 && !proto_addr_is_ipv4 (&flows[0].src));
        assert (ingest_reader_next_batch (reader, &flows, &count) == 0);
        assert (ingest_reader_flows_read (reader) == 2);
        ingest_reader_set_flow_filter (reader, NULL, NULL);
        assert (ingest_reader_open_fd (reader, fd, "image") == 0);
        assert (ingest_reader_next (reader, &flow) == 1 && flow.dst_port == 25);
        assert (ingest_reader_next_batch (reader, &flows, &count) == 1 && count == 1);
        assert (flows[0].dst_port == 22);
        assert (ingest_reader_next_batch (reader, &flows, &count) == 0);
        assert (ingest_reader_exporter_count (reader) == 1);
        assert (ingest_reader_skipped_records (reader) == 1);
        //  Its one data block delivered before: read, nothing handed out or counted
        ingest_reader_set_skip_blocks (reader, 1);
        assert (ingest_reader_open_fd (reader, fd, "image") == 0);
        assert (ingest_reader_next_batch (reader, &flows, &count) == 0);
        assert (ingest_reader_flows_read (reader) == 0);
        assert (ingest_reader_exporter_count (reader) == 0);
        assert (ingest_reader_block_count (reader) == 1);
        assert (ingest_reader_file_size (reader) == image.size);
        ingest_reader_set_skip_blocks (reader, 0);
        ingest_reader_destroy (&reader);
        close (fd);
        if (verbose)
            printf ("%s file of %zu bytes read; ", compressions[variant] ? "lz4" : "plain",
                    image.size);
    }
    //  Every truncation of the plain file fails cleanly.
    s_build_file (&image, INGEST_COMPRESS_NONE);
    for (size_t size = 0; size < image.size; size++)
        s_expect_error (&image, size, size < 4 ? "only" : "truncated");
    //  Refusals named in the message
    ingest_image_t bad = image;
    bad.bytes[0] = 0xA5, bad.bytes[1] = 0x0C;
    s_expect_error (&bad, bad.size, "byte order");
    bad = image, bad.bytes[0] = 'x';
    s_expect_error (&bad, bad.size, "not an nfcapd file");
    bad = image, bad.bytes[2] = 1;
    s_expect_error (&bad, bad.size, "layout version 1");
    bad = image, bad.bytes[2] = 3;
    s_expect_error (&bad, bad.size, "layout version 3");
    bad = image, bad.bytes[17] = 1;
    s_expect_error (&bad, bad.size, "encrypted");
    bad = image, bad.bytes[16] = 7;
    s_expect_error (&bad, bad.size, "compression");
    bad = image, bad.bytes[16] = INGEST_COMPRESS_LZ4;
    s_expect_error (&bad, bad.size, "LZ4 data corrupt");
    //  Element length 0 and past the record (first V3 record starts at 40 + 12 + 32)
    size_t element = NF_HEADER_SIZE + NF_BLOCK_HEADER_SIZE + NF_EXPORTER_INFO_SIZE + 12;
    bad = image, bad.bytes[element + 2] = 0, bad.bytes[element + 3] = 0;
    s_expect_error (&bad, bad.size, "invalid length 0");
    bad = image, bad.bytes[element + 2] = 0xff;
    s_expect_error (&bad, bad.size, "invalid length");
    //  Record size 0 and a block size larger than the file
    bad = image, bad.bytes[element - 12 + 2] = 0, bad.bytes[element - 12 + 3] = 0;
    s_expect_error (&bad, bad.size, "invalid size 0");
    bad = image, bad.bytes[NF_HEADER_SIZE + 6] = 0x10;
    s_expect_error (&bad, bad.size, "truncated");
    //  A missing file
    ingest_reader_t *reader = ingest_reader_new ();
    assert (ingest_reader_open (reader, "/nonexistent/nfcapd.202401010000") == -1);
    assert (strstr (ingest_reader_error (reader), "cannot open"));
    ingest_reader_destroy (&reader);
    ingest_reader_destroy (&reader);
    printf ("OK\n");
}
