/*  nf_mutate.c - writes corrupt variants of an nfcapd file (a test tool).

    The bad-input system test (tests/system/reader_badinput_test.sh) feeds the reader files
    that are broken in one known way each, made from a real file written by nfcapd.  This
    tool makes them: it reads IN (layout 2, see ../shared/NFCAPD.md), applies one
    mutation and writes the result to OUT, or to stdout without -o.  Fields are read and
    written at their documented offsets in host byte order, with memcpy; nothing is shared
    with ingestor/.  Mutations that touch records need an uncompressed file (compression 0,
    as `nfdump -r F -w G` writes); the others work on any compression.

    Mutations (what the reader should say in brackets):
        truncate N          keep the first N bytes                              [truncated]
        flip SEED COUNT [FROM]
                            XOR COUNT random bytes at offsets >= FROM (default 0) with a
                            random non-zero value; the same SEED gives the same file
        blocksize [SIZE]    first data block's size = SIZE (default: the file size + 1)
        elemlen0            first V3 flow record's first element length = 0
        elempast            first V3 flow record's first element length runs 4 bytes past
                            the record end
        recsize0            first record of the first data block has size 0
        recpast             last record of the first data block runs 4 bytes past the
                            block end
        numrecords          first data block's NumRecords = real count + 1
        numblocks [ADD]     NumBlocks = real count + ADD (default 1; the extra block the
                            reader finds is the appendix, or nothing)
        appendixpast        offAppendix points past the end of the file
        badmagic            magic = 0x0000                                  [not nfcapd]
        layout3             version = 3 (nfdump 1.8's layout)             [layout version]
        encrypted           encryption = 1                                      [encrypted]
        foreign-endian      every header field byte-swapped, as a big-endian machine
                            would write it                                     [byte order]
        badcomp             compression = 9                                   [compression]

        nf_mutate [-o OUT] IN MUTATION [ARG...]
*/

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NF_MAGIC 0xA50C
#define NF_HEADER_SIZE 40        //  fileHeaderV2_t on LP64
#define NF_BLOCK_HEADER_SIZE 12  //  dataBlock_t
#define NF_RECORD_HEADER_SIZE 4  //  recordHeader_t: u16 type, u16 size
#define NF_V3_HEADER_SIZE 12     //  recordHeaderV3_t
#define NF_V3_RECORD 11          //  V3Record type
#define NF_FILE_MAX (1u << 30)   //  Largest input we load into memory

//  Offsets of the fileHeaderV2_t fields
#define OFF_MAGIC 0
#define OFF_VERSION 2
#define OFF_NFDVERSION 4
#define OFF_CREATED 8
#define OFF_COMPRESSION 16
#define OFF_ENCRYPTION 17
#define OFF_APPENDIX_BLOCKS 18
#define OFF_CREATOR 20
#define OFF_APPENDIX 24
#define OFF_BLOCK_SIZE_MAX 32
#define OFF_NUM_BLOCKS 36

//  Offsets of the dataBlock_t fields
#define OFF_BLOCK_RECORDS 0
#define OFF_BLOCK_SIZE 4

//  Offsets in records and elements
#define OFF_RECORD_TYPE 0
#define OFF_RECORD_SIZE 2
#define OFF_ELEMENT_LENGTH 2

typedef struct {
    const char *path;  //  Input file name, for messages
    uint8_t *data;     //  Whole file
    size_t size;       //  Its size, bytes
} nf_mutate_t;

//  --------------------------------------------------------------------------
//  Print "nf_mutate: message" on stderr and return -1

static int s_error (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static int
s_error (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fputs ("nf_mutate: ", stderr);
    vfprintf (stderr, format, args);
    fputc ('\n', stderr);
    va_end (args);
    return -1;
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

static void
s_put16 (uint8_t *p, uint16_t value)
{
    memcpy (p, &value, sizeof value);
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

static bool
s_streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}

//  Parse an unsigned decimal argument; -1 if it is not one.
static int
s_number (const char *text, uint64_t *value)
{
    char *end;
    errno = 0;
    if (!text || !*text || *text == '-')
        return -1;
    *value = strtoull (text, &end, 0);
    return (*end || errno) ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Load the whole input.  Returns 0 or -1 (reported).

static int
s_load (nf_mutate_t *self)
{
    FILE *file = fopen (self->path, "rb");
    if (!file)
        return s_error ("%s: %s", self->path, strerror (errno));
    struct stat info;
    int rc = -1;
    if (fstat (fileno (file), &info) == -1)
        s_error ("%s: %s", self->path, strerror (errno));
    else if (info.st_size > NF_FILE_MAX)
        s_error ("%s: larger than %u bytes", self->path, NF_FILE_MAX);
    else {
        self->size = (size_t) info.st_size;
        self->data = malloc (self->size ? self->size : 1);
        if (!self->data)
            s_error ("out of memory");
        else if (fread (self->data, 1, self->size, file) != self->size)
            s_error ("%s: short read", self->path);
        else
            rc = 0;
    }
    fclose (file);
    return rc;
}

//  Check that the file has a layout-2 header.  Returns 0 or -1 (reported).
static int
s_need_header (nf_mutate_t *self)
{
    if (self->size < NF_HEADER_SIZE)
        return s_error ("%s: shorter than a file header", self->path);
    if (s_get16 (self->data + OFF_MAGIC) != NF_MAGIC)
        return s_error ("%s: not an nfcapd file of this byte order", self->path);
    if (s_get16 (self->data + OFF_VERSION) != 2)
        return s_error ("%s: not layout version 2", self->path);
    return 0;
}

//  Offset of the first data block's header; checks that it is whole.  -1 if none.
static long
s_first_block (nf_mutate_t *self)
{
    if (s_need_header (self))
        return -1;
    if (s_get32 (self->data + OFF_NUM_BLOCKS) == 0)
        return s_error ("%s: has no data block", self->path);
    if (self->size < NF_HEADER_SIZE + NF_BLOCK_HEADER_SIZE)
        return s_error ("%s: first block header is truncated", self->path);
    uint32_t size = s_get32 (self->data + NF_HEADER_SIZE + OFF_BLOCK_SIZE);
    if (size > self->size - NF_HEADER_SIZE - NF_BLOCK_HEADER_SIZE)
        return s_error ("%s: first block is truncated", self->path);
    return NF_HEADER_SIZE;
}

//  Like s_first_block, for mutations that walk records: the file must be uncompressed.
static long
s_first_plain_block (nf_mutate_t *self)
{
    long block = s_first_block (self);
    if (block < 0)
        return -1;
    if (self->data[OFF_COMPRESSION] != 0)
        return s_error ("%s: compression %u, this mutation needs an uncompressed file "
                        "(nfdump -r F -w G)",
                        self->path, self->data[OFF_COMPRESSION]);
    return block;
}

//  Walk the records of the first data block.  Sets *first_v3 to the offset of the first
//  V3 flow record (-1 if none) and *last to the offset of the last record.  Returns 0,
//  or -1 (reported) if the block is not well formed.
static int
s_walk_first_block (nf_mutate_t *self, long *first_v3, long *last)
{
    long block = s_first_plain_block (self);
    if (block < 0)
        return -1;
    uint32_t records = s_get32 (self->data + block + OFF_BLOCK_RECORDS);
    size_t end =
        (size_t) block + NF_BLOCK_HEADER_SIZE + s_get32 (self->data + block + OFF_BLOCK_SIZE);
    size_t pos = (size_t) block + NF_BLOCK_HEADER_SIZE;
    *first_v3 = -1;
    *last = -1;
    for (uint32_t index = 0; index < records; index++) {
        if (end - pos < NF_RECORD_HEADER_SIZE)
            return s_error ("%s: record %u runs past the first block", self->path, index);
        uint16_t type = s_get16 (self->data + pos + OFF_RECORD_TYPE);
        uint16_t size = s_get16 (self->data + pos + OFF_RECORD_SIZE);
        if (size < NF_RECORD_HEADER_SIZE || size > end - pos)
            return s_error ("%s: record %u has a bad size %u", self->path, index, size);
        if (type == NF_V3_RECORD && *first_v3 < 0) {
            if (size < NF_V3_HEADER_SIZE + 4)
                return s_error ("%s: first V3 record has no element", self->path);
            *first_v3 = (long) pos;
        }
        *last = (long) pos;
        pos += size;
    }
    if (*last < 0)
        return s_error ("%s: first block has no record", self->path);
    return 0;
}

//  --------------------------------------------------------------------------
//  The mutations.  Each returns 0 or -1 (reported).

static int
s_truncate (nf_mutate_t *self, uint64_t length)
{
    if (length > self->size)
        return s_error ("%s: cannot truncate %zu bytes to %llu", self->path, self->size,
                        (unsigned long long) length);
    self->size = (size_t) length;
    return 0;
}

//  splitmix64: small, fast and the same everywhere, so a seed names a variant.
static uint64_t
s_random (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int
s_flip (nf_mutate_t *self, uint64_t seed, uint64_t count, uint64_t from)
{
    if (from >= self->size)
        return s_error ("%s: flip offset %llu is past the end (%zu bytes)", self->path,
                        (unsigned long long) from, self->size);
    uint64_t state = seed;
    for (uint64_t index = 0; index < count; index++) {
        size_t pos = (size_t) (from + s_random (&state) % (self->size - from));
        self->data[pos] ^= (uint8_t) (1 + s_random (&state) % 255);
    }
    return 0;
}

static int
s_blocksize (nf_mutate_t *self, bool given, uint64_t size)
{
    long block = s_first_block (self);
    if (block < 0)
        return -1;
    if (!given)
        size = (uint64_t) self->size + 1;
    if (size > UINT32_MAX)
        return s_error ("block size %llu does not fit 32 bits", (unsigned long long) size);
    s_put32 (self->data + block + OFF_BLOCK_SIZE, (uint32_t) size);
    return 0;
}

static int
s_element_length (nf_mutate_t *self, bool past)
{
    long first_v3, last;
    if (s_walk_first_block (self, &first_v3, &last))
        return -1;
    if (first_v3 < 0)
        return s_error ("%s: first block has no V3 flow record", self->path);
    uint16_t record_size = s_get16 (self->data + first_v3 + OFF_RECORD_SIZE);
    uint8_t *element = self->data + first_v3 + NF_V3_HEADER_SIZE;
    //  The element starts 12 bytes into the record: this length ends 4 bytes after it.
    uint16_t length = past ? (uint16_t) (record_size - NF_V3_HEADER_SIZE + 4) : 0;
    s_put16 (element + OFF_ELEMENT_LENGTH, length);
    return 0;
}

static int
s_recsize0 (nf_mutate_t *self)
{
    long first_v3, last;
    if (s_walk_first_block (self, &first_v3, &last))
        return -1;
    s_put16 (self->data + NF_HEADER_SIZE + NF_BLOCK_HEADER_SIZE + OFF_RECORD_SIZE, 0);
    return 0;
}

static int
s_recpast (nf_mutate_t *self)
{
    long first_v3, last;
    if (s_walk_first_block (self, &first_v3, &last))
        return -1;
    size_t end = NF_HEADER_SIZE + NF_BLOCK_HEADER_SIZE +
                 s_get32 (self->data + NF_HEADER_SIZE + OFF_BLOCK_SIZE);
    size_t size = end - (size_t) last + 4;
    if (size > UINT16_MAX)
        return s_error ("%s: last record too far from the block end", self->path);
    s_put16 (self->data + last + OFF_RECORD_SIZE, (uint16_t) size);
    return 0;
}

static int
s_numrecords (nf_mutate_t *self)
{
    long first_v3, last;
    if (s_walk_first_block (self, &first_v3, &last))
        return -1;
    uint8_t *records = self->data + NF_HEADER_SIZE + OFF_BLOCK_RECORDS;
    s_put32 (records, s_get32 (records) + 1);
    return 0;
}

static int
s_numblocks (nf_mutate_t *self, uint64_t add)
{
    if (s_need_header (self))
        return -1;
    uint64_t blocks = s_get32 (self->data + OFF_NUM_BLOCKS) + add;
    if (blocks > UINT32_MAX)
        blocks = UINT32_MAX;
    s_put32 (self->data + OFF_NUM_BLOCKS, (uint32_t) blocks);
    return 0;
}

static int
s_appendixpast (nf_mutate_t *self)
{
    if (s_need_header (self))
        return -1;
    s_put64 (self->data + OFF_APPENDIX, (uint64_t) self->size + 1000);
    return 0;
}

static void
s_swap (uint8_t *p, size_t size)
{
    for (size_t index = 0; index < size / 2; index++) {
        uint8_t byte = p[index];
        p[index] = p[size - 1 - index];
        p[size - 1 - index] = byte;
    }
}

static int
s_foreign_endian (nf_mutate_t *self)
{
    if (s_need_header (self))
        return -1;
    static const struct {
        size_t offset, size;
    } fields[] = {{OFF_MAGIC, 2},    {OFF_VERSION, 2},         {OFF_NFDVERSION, 4},
                  {OFF_CREATED, 8},  {OFF_APPENDIX_BLOCKS, 2}, {OFF_CREATOR, 4},
                  {OFF_APPENDIX, 8}, {OFF_BLOCK_SIZE_MAX, 4},  {OFF_NUM_BLOCKS, 4}};
    for (size_t index = 0; index < sizeof fields / sizeof fields[0]; index++)
        s_swap (self->data + fields[index].offset, fields[index].size);
    return 0;
}

static int
s_set_header_byte (nf_mutate_t *self, size_t offset, uint8_t value)
{
    if (s_need_header (self))
        return -1;
    self->data[offset] = value;
    return 0;
}

static int
s_set_header16 (nf_mutate_t *self, size_t offset, uint16_t value)
{
    if (s_need_header (self))
        return -1;
    s_put16 (self->data + offset, value);
    return 0;
}

//  --------------------------------------------------------------------------
//  Apply the mutation named by argv[0].  Returns 0, -1 (reported) or -2 (usage).

static int
s_mutate (nf_mutate_t *self, int argc, char *argv[])
{
    const char *name = argv[0];
    uint64_t a = 0, b = 0, c = 0;
    bool has_a = argc >= 2 && s_number (argv[1], &a) == 0;
    bool has_b = argc >= 3 && s_number (argv[2], &b) == 0;
    bool has_c = argc >= 4 && s_number (argv[3], &c) == 0;

    if (s_streq (name, "truncate") && argc == 2 && has_a)
        return s_truncate (self, a);
    if (s_streq (name, "flip") && (argc == 3 || argc == 4) && has_a && has_b &&
        (argc == 3 || has_c))
        return s_flip (self, a, b, c);
    if (s_streq (name, "blocksize") && argc <= 2 && (argc == 1 || has_a))
        return s_blocksize (self, argc == 2, a);
    if (s_streq (name, "elemlen0") && argc == 1)
        return s_element_length (self, false);
    if (s_streq (name, "elempast") && argc == 1)
        return s_element_length (self, true);
    if (s_streq (name, "recsize0") && argc == 1)
        return s_recsize0 (self);
    if (s_streq (name, "recpast") && argc == 1)
        return s_recpast (self);
    if (s_streq (name, "numrecords") && argc == 1)
        return s_numrecords (self);
    if (s_streq (name, "numblocks") && argc <= 2 && (argc == 1 || has_a))
        return s_numblocks (self, argc == 2 ? a : 1);
    if (s_streq (name, "appendixpast") && argc == 1)
        return s_appendixpast (self);
    if (s_streq (name, "badmagic") && argc == 1)
        return s_set_header16 (self, OFF_MAGIC, 0);
    if (s_streq (name, "layout3") && argc == 1)
        return s_set_header16 (self, OFF_VERSION, 3);
    if (s_streq (name, "encrypted") && argc == 1)
        return s_set_header_byte (self, OFF_ENCRYPTION, 1);
    if (s_streq (name, "foreign-endian") && argc == 1)
        return s_foreign_endian (self);
    if (s_streq (name, "badcomp") && argc == 1)
        return s_set_header_byte (self, OFF_COMPRESSION, 9);
    return -2;
}

static void
s_usage (void)
{
    fputs ("usage: nf_mutate [-o OUT] IN MUTATION [ARG...]\n"
           "mutations: truncate N | flip SEED COUNT [FROM] | blocksize [SIZE] | elemlen0 |\n"
           "  elempast | recsize0 | recpast | numrecords | numblocks [ADD] | appendixpast |\n"
           "  badmagic | layout3 | encrypted | foreign-endian | badcomp\n"
           "writes the corrupt copy of the nfcapd file IN to OUT (default stdout)\n",
           stderr);
}

int
main (int argc, char *argv[])
{
    const char *out_path = NULL;
    int opt;
    while ((opt = getopt (argc, argv, "+o:h")) != -1) {
        if (opt == 'o')
            out_path = optarg;
        else {
            s_usage ();
            return 2;
        }
    }
    if (argc - optind < 2) {
        s_usage ();
        return 2;
    }
    nf_mutate_t self = {.path = argv[optind]};
    if (s_load (&self)) {
        free (self.data);
        return 1;
    }
    int rc = s_mutate (&self, argc - optind - 1, argv + optind + 1);
    if (rc == -2) {
        s_error ("unknown mutation or wrong arguments: %s", argv[optind + 1]);
        s_usage ();
        free (self.data);
        return 2;
    }
    if (rc == 0) {
        FILE *out = out_path ? fopen (out_path, "wb") : stdout;
        if (!out)
            rc = s_error ("%s: %s", out_path, strerror (errno));
        else {
            if (fwrite (self.data, 1, self.size, out) != self.size)
                rc = -1;
            if ((out_path ? fclose (out) : fflush (out)) != 0)
                rc = -1;
            if (rc)
                s_error ("%s: write failed: %s", out_path ? out_path : "stdout", strerror (errno));
        }
    }
    free (self.data);
    return rc ? 1 : 0;
}
