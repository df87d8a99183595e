/*  nf_zstd.c - rewrites an nfcapd file with ZSTD block compression (a test tool).

    Debian 12's nfdump 1.7.1 reads and writes nfcapd files compressed with LZO, BZ2 or LZ4,
    but not ZSTD (compression 4), which only nfdump >= 1.7.3 writes.  So that the reader's
    ZSTD path is tested on real data, this tool takes a layout-2 file written by the real
    tools (uncompressed, as `nfdump -r F -w G` writes by default, or LZO, BZ2, LZ4, even ZSTD)
    and writes the same blocks again, each data block and the appendix block as one
    ZSTD_compress frame, the way nfdump >= 1.7.3's nfwrite does (level 3 unless -l says
    otherwise).  The header gets compression = 4, offAppendix moves to where the appendix now
    starts, NumBlocks is the number of data blocks written and BlockSize is kept (nfdump
    never sets it: 0).  Block headers keep NumRecords, type and flags; size becomes the
    compressed length.

    It has its own small parser (no code is shared with ingestor/, so a bug in the reader is
    not copied here): fields are read at their documented offsets (../shared/NFCAPD.md,
    host byte order) and every length is checked.  Any inconsistency is an error naming the
    block and the offset; the output file is removed then.

        nf_zstd [-l LEVEL] IN OUT
*/

#include <bzlib.h>
#include <errno.h>
#include <limits.h>
#include <lz4.h>
#include <lzo/lzo1x.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define NF_MAGIC 0xA50C
#define NF_LAYOUT_VERSION_2 2
#define NF_HEADER_SIZE 40              //  fileHeaderV2_t on LP64
#define NF_BLOCK_HEADER_SIZE 12        //  dataBlock_t
#define NF_BUFFSIZE (5 * 1024 * 1024)  //  Largest block nfdump reads (header included)

//  Offsets of the fileHeaderV2_t fields we use
#define OFF_MAGIC 0
#define OFF_VERSION 2
#define OFF_COMPRESSION 16
#define OFF_ENCRYPTION 17
#define OFF_APPENDIX_BLOCKS 18
#define OFF_APPENDIX 24
#define OFF_NUM_BLOCKS 36

//  Offsets of the dataBlock_t fields we use
#define OFF_BLOCK_RECORDS 0
#define OFF_BLOCK_SIZE 4

enum { COMP_NONE, COMP_LZO, COMP_BZ2, COMP_LZ4, COMP_ZSTD };

typedef struct {
    const char *in_path;             //  Input file name, for messages
    const char *out_path;            //  Output file name
    FILE *in;                        //  Input stream
    FILE *out;                       //  Output stream
    int level;                       //  ZSTD compression level
    uint8_t header[NF_HEADER_SIZE];  //  Input file header, rewritten for the output
    uint64_t file_size;              //  Input size, bytes
    unsigned compression;            //  Input compression type
    uint64_t off_appendix;           //  Input appendix offset, 0 if none
    unsigned appendix_blocks;        //  Appendix block count from the header
    uint32_t num_blocks;             //  Data block count from the header
    uint8_t *payload;                //  Compressed payload as read
    uint8_t *plain;                  //  Decompressed payload
    uint8_t *packed;                 //  ZSTD output
    size_t packed_capacity;          //  Size of packed
} nf_zstd_t;

//  --------------------------------------------------------------------------
//  Print "nf_zstd: IN: message" on stderr

static void s_error (nf_zstd_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_error (nf_zstd_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "nf_zstd: %s: ", self->in_path);
    vfprintf (stderr, format, args);
    fputc ('\n', stderr);
    va_end (args);
}

static uint16_t
s_get16 (const uint8_t *p)
{
    uint16_t value;
    memcpy (&value, p, sizeof value);
    return value;
}

static uint32_t
s_get32 (const uint8_t *p)
{
    uint32_t value;
    memcpy (&value, p, sizeof value);
    return value;
}

static uint64_t
s_get64 (const uint8_t *p)
{
    uint64_t value;
    memcpy (&value, p, sizeof value);
    return value;
}

static void
s_put32 (uint8_t *p, uint32_t value)
{
    memcpy (p, &value, sizeof value);
}

static void
s_put64 (uint8_t *p, uint64_t value)
{
    memcpy (p, &value, sizeof value);
}

//  --------------------------------------------------------------------------
//  Read and check the file header.  Returns 0 or -1 (reported).

static int
s_read_header (nf_zstd_t *self)
{
    struct stat info;
    if (fstat (fileno (self->in), &info) == -1) {
        s_error (self, "stat: %s", strerror (errno));
        return -1;
    }
    self->file_size = (uint64_t) info.st_size;
    if (fread (self->header, 1, NF_HEADER_SIZE, self->in) != NF_HEADER_SIZE) {
        s_error (self, "shorter than a file header (%d bytes)", NF_HEADER_SIZE);
        return -1;
    }
    uint16_t magic = s_get16 (self->header + OFF_MAGIC);
    if (magic != NF_MAGIC) {
        if (magic == 0x0CA5)
            s_error (self, "written on a machine of the other byte order (magic 0x%04X)", magic);
        else
            s_error (self, "not an nfcapd file (magic 0x%04X, expected 0x%04X)", magic, NF_MAGIC);
        return -1;
    }
    uint16_t version = s_get16 (self->header + OFF_VERSION);
    if (version != NF_LAYOUT_VERSION_2) {
        s_error (self, "layout version %u, only version 2 (nfdump 1.7.x) is handled", version);
        return -1;
    }
    if (self->header[OFF_ENCRYPTION] != 0) {
        s_error (self, "encrypted (encryption %u)", self->header[OFF_ENCRYPTION]);
        return -1;
    }
    self->compression = self->header[OFF_COMPRESSION];
    if (self->compression > COMP_ZSTD) {
        s_error (self, "unknown compression %u", self->compression);
        return -1;
    }
    self->appendix_blocks = s_get16 (self->header + OFF_APPENDIX_BLOCKS);
    self->off_appendix = s_get64 (self->header + OFF_APPENDIX);
    self->num_blocks = s_get32 (self->header + OFF_NUM_BLOCKS);
    if (self->appendix_blocks > 0 &&
        (self->off_appendix < NF_HEADER_SIZE || self->off_appendix >= self->file_size)) {
        s_error (self, "appendix offset %llu outside the file (%llu bytes)",
                 (unsigned long long) self->off_appendix, (unsigned long long) self->file_size);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Decompress self->payload (size bytes) into self->plain.  Returns the plain size,
//  or -1 (reported).

static long
s_decompress (nf_zstd_t *self, uint32_t size, unsigned index, uint64_t offset)
{
    const size_t capacity = NF_BUFFSIZE - NF_BLOCK_HEADER_SIZE;
    long plain_size = -1;
    const char *codec = "?";
    switch (self->compression) {
    case COMP_NONE:
        memcpy (self->plain, self->payload, size);
        plain_size = (long) size;
        break;
    case COMP_LZO: {
        codec = "LZO";
        lzo_uint out_len = capacity;
        if (lzo1x_decompress_safe (self->payload, size, self->plain, &out_len, NULL) == LZO_E_OK)
            plain_size = (long) out_len;
        break;
    }
    case COMP_BZ2: {
        codec = "BZ2";
        unsigned int out_len = (unsigned int) capacity;
        if (BZ2_bzBuffToBuffDecompress ((char *) self->plain, &out_len, (char *) self->payload,
                                        size, 0, 0) == BZ_OK)
            plain_size = (long) out_len;
        break;
    }
    case COMP_LZ4: {
        codec = "LZ4";
        int out_len = LZ4_decompress_safe ((const char *) self->payload, (char *) self->plain,
                                           (int) size, (int) capacity);
        if (out_len > 0)
            plain_size = out_len;
        break;
    }
    case COMP_ZSTD: {
        codec = "ZSTD";
        size_t out_len = ZSTD_decompress (self->plain, capacity, self->payload, size);
        if (!ZSTD_isError (out_len))
            plain_size = (long) out_len;
        break;
    }
    }
    if (plain_size <= 0)
        s_error (self, "block %u at offset %llu: %s decompression failed", index,
                 (unsigned long long) offset, codec);
    return plain_size;
}

//  --------------------------------------------------------------------------
//  Copy every block, recompressed.  Returns 0 or -1 (reported).

static int
s_convert (nf_zstd_t *self)
{
    uint8_t out_header[NF_HEADER_SIZE];
    memcpy (out_header, self->header, NF_HEADER_SIZE);
    if (fwrite (out_header, 1, NF_HEADER_SIZE, self->out) != NF_HEADER_SIZE)
        goto write_failed;

    uint64_t in_pos = NF_HEADER_SIZE;
    uint64_t out_pos = NF_HEADER_SIZE;
    uint64_t new_off_appendix = 0;
    uint32_t data_blocks = 0;
    unsigned appendix_seen = 0;
    unsigned index = 0;
    while (in_pos < self->file_size) {
        uint8_t block[NF_BLOCK_HEADER_SIZE];
        if (self->file_size - in_pos < NF_BLOCK_HEADER_SIZE) {
            s_error (self, "truncated block header at offset %llu", (unsigned long long) in_pos);
            return -1;
        }
        if (fread (block, 1, NF_BLOCK_HEADER_SIZE, self->in) != NF_BLOCK_HEADER_SIZE) {
            s_error (self, "read failed at offset %llu", (unsigned long long) in_pos);
            return -1;
        }
        uint32_t size = s_get32 (block + OFF_BLOCK_SIZE);
        if (size == 0 || size > NF_BUFFSIZE - NF_BLOCK_HEADER_SIZE) {
            s_error (self, "block %u at offset %llu: bad size %u (1..%d)", index,
                     (unsigned long long) in_pos, size, NF_BUFFSIZE - NF_BLOCK_HEADER_SIZE);
            return -1;
        }
        if (size > self->file_size - in_pos - NF_BLOCK_HEADER_SIZE) {
            s_error (self,
                     "block %u at offset %llu: size %u runs past the end of the file "
                     "(%llu bytes): truncated",
                     index, (unsigned long long) in_pos, size,
                     (unsigned long long) self->file_size);
            return -1;
        }
        if (fread (self->payload, 1, size, self->in) != size) {
            s_error (self, "read failed at offset %llu", (unsigned long long) in_pos);
            return -1;
        }
        bool appendix = false;
        if (self->appendix_blocks > 0 && in_pos == self->off_appendix) {
            new_off_appendix = out_pos;
            appendix = true;
        }
        else if (appendix_seen > 0 && appendix_seen < self->appendix_blocks)
            appendix = true;
        if (appendix)
            appendix_seen++;
        else if (appendix_seen > 0) {
            s_error (self, "block %u at offset %llu follows the appendix", index,
                     (unsigned long long) in_pos);
            return -1;
        }
        else
            data_blocks++;

        long plain_size = s_decompress (self, size, index, in_pos);
        if (plain_size < 0)
            return -1;
        size_t packed_size = ZSTD_compress (self->packed, self->packed_capacity, self->plain,
                                            (size_t) plain_size, self->level);
        if (ZSTD_isError (packed_size)) {
            s_error (self, "block %u: ZSTD_compress: %s", index, ZSTD_getErrorName (packed_size));
            return -1;
        }
        s_put32 (block + OFF_BLOCK_SIZE, (uint32_t) packed_size);
        if (fwrite (block, 1, NF_BLOCK_HEADER_SIZE, self->out) != NF_BLOCK_HEADER_SIZE ||
            fwrite (self->packed, 1, packed_size, self->out) != packed_size)
            goto write_failed;
        in_pos += NF_BLOCK_HEADER_SIZE + size;
        out_pos += NF_BLOCK_HEADER_SIZE + packed_size;
        index++;
    }
    if (self->appendix_blocks > 0 && appendix_seen != self->appendix_blocks) {
        s_error (self,
                 "appendix offset %llu is not at a block start, or %u appendix blocks "
                 "missing",
                 (unsigned long long) self->off_appendix, self->appendix_blocks - appendix_seen);
        return -1;
    }
    if (data_blocks != self->num_blocks) {
        s_error (self, "header says %u data blocks, the file has %u", self->num_blocks,
                 data_blocks);
        return -1;
    }
    out_header[OFF_COMPRESSION] = COMP_ZSTD;
    s_put64 (out_header + OFF_APPENDIX, new_off_appendix);
    s_put32 (out_header + OFF_NUM_BLOCKS, data_blocks);
    if (fseek (self->out, 0, SEEK_SET) != 0 ||
        fwrite (out_header, 1, NF_HEADER_SIZE, self->out) != NF_HEADER_SIZE)
        goto write_failed;
    return 0;

write_failed:
    fprintf (stderr, "nf_zstd: %s: write failed: %s\n", self->out_path, strerror (errno));
    return -1;
}

//  --------------------------------------------------------------------------

static void
s_usage (void)
{
    fprintf (stderr,
             "usage: nf_zstd [-l LEVEL] IN OUT\n"
             "  rewrites the nfcapd file IN (layout 2, any compression) as OUT with\n"
             "  every block ZSTD-compressed (compression 4, as nfdump >= 1.7.3 writes);\n"
             "  LEVEL 1..%d, default %d\n",
             ZSTD_maxCLevel (), ZSTD_CLEVEL_DEFAULT);
}

int
main (int argc, char *argv[])
{
    nf_zstd_t self = {.level = ZSTD_CLEVEL_DEFAULT};
    int opt;
    while ((opt = getopt (argc, argv, "l:h")) != -1) {
        if (opt == 'l') {
            char *end;
            long level = strtol (optarg, &end, 10);
            if (*end || level < 1 || level > ZSTD_maxCLevel ()) {
                fprintf (stderr, "nf_zstd: bad level '%s'\n", optarg);
                return 2;
            }
            self.level = (int) level;
        }
        else {
            s_usage ();
            return 2;
        }
    }
    if (argc - optind != 2) {
        s_usage ();
        return 2;
    }
    self.in_path = argv[optind];
    self.out_path = argv[optind + 1];
    if (lzo_init () != LZO_E_OK) {
        fprintf (stderr, "nf_zstd: lzo_init failed\n");
        return 1;
    }

    int rc = 1;
    bool created = false;
    self.in = fopen (self.in_path, "rb");
    if (!self.in) {
        fprintf (stderr, "nf_zstd: %s: %s\n", self.in_path, strerror (errno));
        goto cleanup;
    }
    struct stat in_info, out_info;
    if (fstat (fileno (self.in), &in_info) == 0 && stat (self.out_path, &out_info) == 0 &&
        in_info.st_dev == out_info.st_dev && in_info.st_ino == out_info.st_ino) {
        fprintf (stderr, "nf_zstd: %s: input and output are the same file\n", self.out_path);
        goto cleanup;
    }
    if (s_read_header (&self))
        goto cleanup;

    self.packed_capacity = ZSTD_compressBound (NF_BUFFSIZE);
    self.payload = malloc (NF_BUFFSIZE);
    self.plain = malloc (NF_BUFFSIZE);
    self.packed = malloc (self.packed_capacity);
    if (!self.payload || !self.plain || !self.packed) {
        fprintf (stderr, "nf_zstd: out of memory\n");
        goto cleanup;
    }
    self.out = fopen (self.out_path, "wb");
    if (!self.out) {
        fprintf (stderr, "nf_zstd: %s: %s\n", self.out_path, strerror (errno));
        goto cleanup;
    }
    created = true;
    if (s_convert (&self) == 0)
        rc = 0;

cleanup:
    if (self.out && fclose (self.out) != 0 && rc == 0) {
        fprintf (stderr, "nf_zstd: %s: write failed: %s\n", self.out_path, strerror (errno));
        rc = 1;
    }
    if (rc != 0 && created)
        remove (self.out_path);
    if (self.in)
        fclose (self.in);
    free (self.packed);
    free (self.plain);
    free (self.payload);
    return rc;
}
