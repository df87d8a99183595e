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

    Only blocks of type 3 hold records.  Every size is checked against what is left
    before it is used; any violation ends the file with -1 and a message saying where.
    The appendix (ident and stat record) is read at open, to report and cross-check.
*/
#include "ingestor/ingest_reader.h"
#include "ingestor/ingest_block.h"
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
#define NF_BLOCK_TYPE_3 3
#define NF_RECORD_HEADER_SIZE 4
#define NF_V3_HEADER_SIZE 12
#define NF_ELEMENT_HEADER_SIZE 4

//  Record types (NFCAPD.md §3)
#define NF_RECORD_EXPORTER_INFO 7
#define NF_RECORD_V3 11
#define NF_RECORD_IDENT 0x8001
#define NF_RECORD_STAT 0x8002
#define NF_EXPORTER_INFO_SIZE 32
#define NF_STAT_RECORD_SIZE 144

//  V3 element ids and payload sizes (NFCAPD.md §4)
#define NF_EX_GENERIC 1
#define NF_EX_GENERIC_SIZE 48
#define NF_EX_IPV4 2
#define NF_EX_IPV4_SIZE 8
#define NF_EX_IPV6 3
#define NF_EX_IPV6_SIZE 32
#define NF_EX_CNT 5
#define NF_EX_CNT_SIZE 24
#define NF_EX_AS 7
#define NF_EX_AS_SIZE 8

#define READER_IDENT_MAX 128                   //  Longest ident string kept
#define READER_EXPORTERS_MAX 1024              //  Distinct exporter ids remembered per file
#define READER_BLOCK_EXPORTERS 64              //  Distinct exporter ids a block reports
#define READER_SLOTS (INGEST_BLOCK_QUEUE + 1)  //  Blocks loading, plus the one walked

//  What the loader thread makes of one data block: the flows the port filter keeps,
//  decoded, and what else the block held.  Lent to the thread with its job.
typedef struct {
    ingest_flow_t *flows;   //  Decoded flows
    size_t count;           //  Entries used
    size_t room;            //  Entries allocated
    size_t next;            //  Next to hand out (reader's thread)
    uint64_t flow_records;  //  V3 flow records of the block, kept or filtered out
    uint64_t skipped;       //  Records (or the block) skipped
    uint16_t exporters[READER_BLOCK_EXPORTERS];  //  Exporter sysids of the block
    size_t exporter_count;                       //  Entries used
    const uint64_t *port_filter;                 //  The reader's filter, NULL for none (read-only)
    ingest_v1_t *v1;  //  Hook: the file's V1 extension maps (lent), NULL for layout 2
} s_decoded_t;

struct _ingest_reader_t {
    int fd;                                    //  Open file, or -1
    bool own_fd;                               //  Close fd on close
    char name[256];                            //  File name for messages
    char error[INGEST_READER_ERROR_MAX];       //  Last error, "" if none
    uint64_t file_size;                        //  Bytes in the file
    uint8_t compression;                       //  ingest_compression_t of the header
    uint32_t block_count;                      //  NumBlocks of the header
    uint64_t appendix_offset;                  //  offAppendix, 0 if none
    uint64_t offset;                           //  File offset of the next block to load
    uint32_t blocks_issued;                    //  Data blocks handed to the loader so far
    uint32_t blocks_read;                      //  Data blocks loaded so far
    ingest_block_t jobs[READER_SLOTS];         //  Block being walked, blocks being loaded
    s_decoded_t decoded[READER_SLOTS];         //  Their flows, decoded by the loader
    s_decoded_t *current;                      //  The block being handed out, or NULL
    int issue;                                 //  jobs[issue] is the next to hand out
    ingest_block_loader_t *loader;             //  Thread that reads and decompresses ahead
    void *zstd;                                //  ZSTD context for the appendix (this thread)
    const uint8_t *data;                       //  Records of the block being walked
    size_t data_size;                          //  Bytes of records in data
    uint64_t flows_read;                       //  V3 flow records handed out
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

static inline uint16_t
s_u16 (const uint8_t *p)
{
    uint16_t value;
    memcpy (&value, p, sizeof value);
    return value;
}

static inline uint32_t
s_u32 (const uint8_t *p)
{
    uint32_t value;
    memcpy (&value, p, sizeof value);
    return value;
}

static inline uint64_t
s_u64 (const uint8_t *p)
{
    uint64_t value;
    memcpy (&value, p, sizeof value);
    return value;
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
    self->loader = ingest_block_loader_new ();
    if (!ok || !self->loader)
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
    ingest_block_loader_destroy (&self->loader);
    ingest_block_free_zstd (&self->zstd);
    ingest_v1_destroy (&self->v1);  //  Hook: nfdump 1.6 files
    for (int index = 0; index < READER_SLOTS; index++) {
        free (self->jobs[index].raw);
        free (self->jobs[index].data);
        free (self->decoded[index].flows);
    }
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_reader_close (ingest_reader_t *self)
{
    assert (self);
    //  Jobs still with the loader read fd and our buffers: collect every one of them
    while (self->loader && ingest_block_loader_busy (self->loader))
        ingest_block_loader_wait (self->loader);
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
            uint16_t record_type = s_u16 (self->data + cursor);
            uint16_t record_size = s_u16 (self->data + cursor + 2);
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
                self->stat_flows = (int64_t) s_u64 (payload);
                //  firstseen and lastseen (msecs) are the 16th and 17th of 18 u64s
                uint64_t first = s_u64 (payload + 15 * 8), last = s_u64 (payload + 16 * 8);
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
    self->issue = 0;
    self->current = NULL;
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
    uint16_t magic = s_u16 (header);
    uint16_t layout = s_u16 (header + 2);
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
    uint16_t appendix_blocks = s_u16 (header + 18);
    self->appendix_offset = s_u64 (header + 24);
    self->block_count = s_u32 (header + 36);
    uint64_t created = s_u64 (header + 8);
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

static int s_walk_block (ingest_block_t *job);

//  --------------------------------------------------------------------------
//  Keep the loader INGEST_BLOCK_QUEUE blocks ahead of the one being walked (the slots
//  cycle, so a slot is reused only after its block was walked).  -1 if block 0 would
//  start in the appendix.

static int
s_issue_block (ingest_reader_t *self)
{
    while (self->blocks_issued < self->block_count &&
           ingest_block_loader_pending (self->loader) < INGEST_BLOCK_QUEUE) {
        if (self->blocks_issued == 0 && self->appendix_offset &&
            self->offset >= self->appendix_offset)
            return s_fail (self, "corrupt: block 0 of %u would start in the appendix",
                           self->block_count);
        ingest_block_t *job = s_job (self, self->issue, self->offset, self->blocks_issued);
        job->chained = self->blocks_issued++ > 0;  //  the loader knows where it starts
        s_decoded_t *decoded = &self->decoded[self->issue];
        decoded->port_filter = self->filtering ? self->port_filter : NULL;
        decoded->v1 = self->v1_file ? self->v1 : NULL;  //  Hook: nfdump 1.6 files
        job->process = s_walk_block;
        job->arg = decoded;
        self->issue = (self->issue + 1) % READER_SLOTS;
        ingest_block_loader_start (self->loader, job);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Make the next data block of type 3 current, skipping others, while the loader reads
//  the one after.  0 ok, 1 no more blocks, -1 error.

static int
s_next_block (ingest_reader_t *self)
{
    if (self->blocks_issued == 0 && s_issue_block (self))
        return -1;
    if (!ingest_block_loader_busy (self->loader))
        return 1;
    ingest_block_t *job = ingest_block_loader_wait (self->loader);
    if (job->rc)
        return s_fail (self, "%s", job->error);
    self->blocks_read++;
    self->offset = job->next_offset;
    s_decoded_t *decoded = (s_decoded_t *) job->arg;
    self->flows_read += decoded->flow_records;
    self->skipped += decoded->skipped;
    for (size_t index = 0; index < decoded->exporter_count; index++)
        s_note_exporter (self, decoded->exporters[index]);
    self->current = decoded;
    return s_issue_block (self);
}

//  --------------------------------------------------------------------------
//  Decode a V3 record at data[cursor] of record_size bytes.  1 if it is a flow (filled in
//  *flow), 2 if it is a flow the port filter skips, 0 if it lacks the flow elements
//  (skipped), -1 if corrupt.

static int
s_decode_v3 (ingest_block_t *job, const uint64_t *port_filter, const uint8_t *record,
             uint16_t record_size, ingest_flow_t *flow)
{
    if (record_size < NF_V3_HEADER_SIZE)
        return ingest_block_fail (job, "block %u: V3 record of %u bytes is shorter than its header",
                                  job->index, record_size);
    uint16_t element_count = s_u16 (record + 4);
    flow->exporter = s_u16 (record + 8);
    flow->flags = record[10];
    const uint8_t *generic = NULL, *ipv4 = NULL, *ipv6 = NULL, *counters = NULL, *as = NULL;
    size_t at = NF_V3_HEADER_SIZE;
    for (uint16_t element = 0; element < element_count; element++) {
        if (record_size - at < NF_ELEMENT_HEADER_SIZE)
            return ingest_block_fail (job, "block %u: V3 record declares %u elements, only %u fit",
                                      job->index, element_count, element);
        uint16_t type = s_u16 (record + at);
        uint16_t length = s_u16 (record + at + 2);
        if (length < NF_ELEMENT_HEADER_SIZE || length > record_size - at)
            return ingest_block_fail (job, "block %u: element %u (type %u) has invalid length %u",
                                      job->index, element, type, length);
        const uint8_t *payload = record + at + NF_ELEMENT_HEADER_SIZE;
        uint16_t payload_size = length - NF_ELEMENT_HEADER_SIZE;
        uint16_t needed = 0;
        switch (type) {
        case NF_EX_GENERIC:
            generic = payload;
            needed = NF_EX_GENERIC_SIZE;
            break;
        case NF_EX_IPV4:
            ipv4 = payload;
            needed = NF_EX_IPV4_SIZE;
            break;
        case NF_EX_IPV6:
            ipv6 = payload;
            needed = NF_EX_IPV6_SIZE;
            break;
        case NF_EX_CNT:
            counters = payload;
            needed = NF_EX_CNT_SIZE;
            break;
        case NF_EX_AS:
            as = payload;
            needed = NF_EX_AS_SIZE;
            break;
        default:
            break;  //  Elements we do not use, whatever their id, are skipped by length
        }
        if (payload_size < needed)
            return ingest_block_fail (job, "block %u: element type %u is %u bytes, needs %u",
                                      job->index, type, payload_size, needed);
        at += length;
    }
    if (!generic || (!ipv4 && !ipv6))
        return 0;
    flow->dst_port = s_u16 (generic + 42);
    if (port_filter && !((port_filter[flow->dst_port / 64] >> (flow->dst_port % 64)) & 1))
        return 2;
    flow->msec_first = s_u64 (generic);
    flow->msec_last = s_u64 (generic + 8);
    flow->packets = s_u64 (generic + 24);
    flow->bytes = s_u64 (generic + 32);
    flow->src_port = s_u16 (generic + 40);
    flow->protocol = generic[44];
    if (counters) {
        flow->packets += s_u64 (counters + 8);
        flow->bytes += s_u64 (counters + 16);
    }
    if (as) {
        flow->src_as = s_u32 (as);
        flow->dst_as = s_u32 (as + 4);
    }
    else
        flow->src_as = flow->dst_as = 0;
    if (ipv4) {
        proto_addr_from_ipv4 (&flow->src, s_u32 (ipv4));
        proto_addr_from_ipv4 (&flow->dst, s_u32 (ipv4 + 4));
    }
    else {
        //  Each address is two u64 halves, upper half first, each in host order
        uint8_t bytes[PROTO_ADDR_SIZE];
        for (int half = 0; half < 4; half++) {
            uint64_t word = s_u64 (ipv6 + half * 8);
            for (int index = 0; index < 8; index++)
                bytes[(half % 2) * 8 + index] = (uint8_t) (word >> (56 - 8 * index));
            if (half == 1)
                proto_addr_from_ipv6 (&flow->src, bytes);
            else if (half == 3)
                proto_addr_from_ipv6 (&flow->dst, bytes);
        }
    }
    return 1;
}

//  --------------------------------------------------------------------------
//  Walk the records of a loaded block (on the loader thread): decode the V3 flow records
//  the port filter keeps into job->arg (an s_decoded_t), note exporters, count the rest.
//  0, or -1 with job->error set if a record does not fit.

static int
s_walk_block (ingest_block_t *job)
{
    s_decoded_t *out = (s_decoded_t *) job->arg;
    out->count = out->next = 0;
    out->flow_records = out->skipped = 0;
    out->exporter_count = 0;
    //  Hook: type-2 blocks of layout 1 files hold nfdump 1.6 records (ingest_v1.c)
    if (job->type != NF_BLOCK_TYPE_3 && !(out->v1 && job->type == INGEST_V1_BLOCK_TYPE)) {
        out->skipped = 1;  //  V1 (type 2) or array (type 4) blocks: not written by 1.7
        return 0;
    }
    const uint8_t *data = job->data;
    size_t cursor = 0;
    for (uint32_t record = 0; record < job->records; record++) {
        if (job->data_size - cursor < NF_RECORD_HEADER_SIZE)
            return ingest_block_fail (job, "block %u: %u more records declared than fit",
                                      job->index, job->records - record);
        uint16_t type = s_u16 (data + cursor);
        uint16_t size = s_u16 (data + cursor + 2);
        if (size < NF_RECORD_HEADER_SIZE || size > job->data_size - cursor)
            return ingest_block_fail (job, "block %u: record at offset %zu has invalid size %u",
                                      job->index, cursor, size);
        bool v1_record = out->v1 && ingest_v1_handles (type);  //  Hook: 1.6 map, flow
        if (type == NF_RECORD_V3 || v1_record) {
            if (out->count == out->room) {
                out->room = out->room ? out->room * 2 : 1024;
                out->flows =
                    (ingest_flow_t *) realloc (out->flows, out->room * sizeof (ingest_flow_t));
                if (!out->flows)
                    return ingest_block_fail (job, "out of memory for the flows of block %u",
                                              job->index);
            }
            int rc = v1_record  //  Hook: ingest_v1_record returns 3 for a map record
                         ? ingest_v1_record (out->v1, data + cursor, size, out->port_filter,
                                             &out->flows[out->count])
                         : s_decode_v3 (job, out->port_filter, data + cursor, size,
                                        &out->flows[out->count]);
            if (rc == -1)
                return v1_record ? ingest_block_fail (job, "block %u: record at offset %zu: %s",
                                                      job->index, cursor, ingest_v1_error (out->v1))
                                 : -1;
            out->count += rc == 1;
            out->flow_records += rc == 1 || rc == 2;
            out->skipped += rc == 0;
        }
        else if (type == NF_RECORD_EXPORTER_INFO && size >= NF_EXPORTER_INFO_SIZE) {
            uint16_t sysid = s_u16 (data + cursor + 26);
            bool known = false;
            for (size_t index = 0; index < out->exporter_count; index++)
                known = known || out->exporters[index] == sysid;
            if (!known && out->exporter_count < READER_BLOCK_EXPORTERS)
                out->exporters[out->exporter_count++] = sysid;
        }
        else
            out->skipped++;
        cursor += size;
    }
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
        s_decoded_t *current = self->current;
        if (current && current->next < current->count) {
            *flow = current->flows[current->next++];
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
    assert (!ingest_block_loader_busy (self->loader));  //  Not while a block is loading
    self->filtering = ports != NULL;
    if (ports)
        memcpy (self->port_filter, ports, sizeof self->port_filter);
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

typedef struct {
    uint8_t bytes[4096];  //  The file being built
    size_t size;          //  Bytes used
} s_image_t;

static void
s_put (s_image_t *image, const void *data, size_t size)
{
    assert (image->size + size <= sizeof image->bytes);
    memcpy (image->bytes + image->size, data, size);
    image->size += size;
}

static void
s_put16 (s_image_t *image, uint16_t value)
{
    s_put (image, &value, 2);
}

static void
s_put32 (s_image_t *image, uint32_t value)
{
    s_put (image, &value, 4);
}

static void
s_put64 (s_image_t *image, uint64_t value)
{
    s_put (image, &value, 8);
}

static void
s_put_generic (s_image_t *image, uint64_t first, uint64_t packets, uint64_t bytes,
               uint16_t dst_port, uint8_t protocol)
{
    s_put16 (image, NF_EX_GENERIC);
    s_put16 (image, 4 + NF_EX_GENERIC_SIZE);
    s_put64 (image, first);
    s_put64 (image, first + 1500);
    s_put64 (image, first + 2000);
    s_put64 (image, packets);
    s_put64 (image, bytes);
    s_put16 (image, 40000);
    s_put16 (image, dst_port);
    uint8_t tail[4] = {protocol, 0x1b, 0, 0};
    s_put (image, tail, 4);
}

//  Writes a file of one data block (exporter, IPv4 flow with AS, IPv6 flow with out
//  counters, an unknown record) and an appendix, compressed with compression.
static void
s_build_file (s_image_t *image, uint8_t compression)
{
    s_image_t payload = {{0}, 0};
    //  Exporter info record: type 7, 32 bytes, sysid 3
    s_put16 (&payload, NF_RECORD_EXPORTER_INFO);
    s_put16 (&payload, NF_EXPORTER_INFO_SIZE);
    s_put32 (&payload, 9);
    uint8_t ip[16] = {0};
    s_put (&payload, ip, 16);
    s_put16 (&payload, 2);
    s_put16 (&payload, 3);
    s_put32 (&payload, 0);
    //  V3 record, IPv4: generic + ipv4 + AS + an unknown element 99
    s_put16 (&payload, NF_RECORD_V3);
    s_put16 (&payload, 12 + 52 + 12 + 12 + 8);
    s_put16 (&payload, 4);
    uint8_t v3_header[6] = {0, 0, 3, 0, 0, 9};
    s_put (&payload, v3_header, 6);
    s_put_generic (&payload, 1700000000000ULL, 10, 1500, 25, 6);
    s_put16 (&payload, NF_EX_IPV4);
    s_put16 (&payload, 12);
    s_put32 (&payload, 0x0a010203);
    s_put32 (&payload, 0xc0000207);
    s_put16 (&payload, NF_EX_AS);
    s_put16 (&payload, 12);
    s_put32 (&payload, 64500);
    s_put32 (&payload, 64501);
    s_put16 (&payload, 99);
    s_put16 (&payload, 8);
    s_put32 (&payload, 0xdeadbeef);
    //  Unknown record type 200
    s_put16 (&payload, 200);
    s_put16 (&payload, 8);
    s_put32 (&payload, 0);
    //  V3 record, IPv6 with out counters
    s_put16 (&payload, NF_RECORD_V3);
    s_put16 (&payload, 12 + 52 + 36 + 28);
    s_put16 (&payload, 3);
    s_put (&payload, v3_header, 6);
    s_put_generic (&payload, 1700000001000ULL, 3, 300, 22, 17);
    s_put16 (&payload, NF_EX_IPV6);
    s_put16 (&payload, 36);
    s_put64 (&payload, 0x20010db800000000ULL);
    s_put64 (&payload, 0x0000000000000001ULL);
    s_put64 (&payload, 0x20010db8000000ffULL);
    s_put64 (&payload, 0x0000000000000002ULL);
    s_put16 (&payload, NF_EX_CNT);
    s_put16 (&payload, 28);
    s_put64 (&payload, 1);
    s_put64 (&payload, 2);
    s_put64 (&payload, 200);

    s_image_t appendix = {{0}, 0};
    s_put16 (&appendix, NF_RECORD_IDENT);
    s_put16 (&appendix, 4 + 5);
    s_put (&appendix, "test", 5);
    s_put16 (&appendix, NF_RECORD_STAT);
    s_put16 (&appendix, 4 + NF_STAT_RECORD_SIZE);
    s_put64 (&appendix, 2);  //  numflows
    uint8_t zeros[NF_STAT_RECORD_SIZE - 8] = {0};
    s_put (&appendix, zeros, sizeof zeros);

    image->size = 0;
    s_put16 (image, NF_MAGIC);
    s_put16 (image, 2);
    s_put32 (image, 0x01070100);
    s_put64 (image, 1700000000);
    uint8_t flags[4] = {compression, 0, 1, 0};
    s_put (image, flags, 4);
    s_put32 (image, 0);
    size_t appendix_offset_at = image->size;
    s_put64 (image, 0);
    s_put32 (image, 0);
    s_put32 (image, 1);
    s_image_t *parts[2] = {&payload, &appendix};
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
        s_put32 (image, counts[part]);
        s_put32 (image, (uint32_t) packed_size);
        s_put16 (image, NF_BLOCK_TYPE_3);
        s_put16 (image, 0);
        s_put (image, packed, (size_t) packed_size);
    }
}

//  Opens the first size bytes of image through a memfd.  Returns the open result.
static int
s_open_image (ingest_reader_t *reader, const s_image_t *image, size_t size, int *fd)
{
    *fd = memfd_create ("ingest_reader_test", MFD_CLOEXEC);
    assert (*fd >= 0);
    assert (write (*fd, image->bytes, size) == (ssize_t) size);
    return ingest_reader_open_fd (reader, *fd, "image");
}

static void
s_expect_error (const s_image_t *image, size_t size, const char *what)
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
    s_image_t image;
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
        assert (ingest_reader_exporter_count (reader) == 1);
        assert (ingest_reader_skipped_records (reader) == 1);
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
    s_image_t bad = image;
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
