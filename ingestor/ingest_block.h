/*  ingest_block.h - reads and decompresses one nfcapd data block, here or on a thread.

    A block is a 12-byte header (NumRecords, size, type, flags) and `size` bytes of
    payload compressed as one unit with the file's codec (none, LZO, BZ2, LZ4, ZSTD).
    ingest_block_load does it in the caller's thread; an ingest_block_loader_t does it on
    its own thread (a zactor), so that the reader walks block n while block n+1 is read
    and decompressed: decompression is a third of the cost of reading a file.

    A job is handed over whole: the caller must not touch it (nor its buffers) between
    ingest_block_loader_start and ingest_block_loader_wait.
*/
#ifndef INGEST_BLOCK_H_INCLUDED
#define INGEST_BLOCK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_BLOCK_HEADER_SIZE 12  //  dataBlock_t
#define INGEST_BLOCK_QUEUE 2         //  Jobs a loader holds at most

typedef struct _ingest_block_t ingest_block_t;

//  Work done on the block right after it loaded, on the same thread (for the reader: walk
//  the records).  Returns 0, or -1 with job->error set.
typedef int (ingest_block_fn) (ingest_block_t *job);

struct _ingest_block_t {
    //  In
    int fd;                    //  File to read (pread: the file offset is not used)
    uint64_t file_size;        //  Its size, for truncation messages
    uint64_t offset;           //  Offset of the block header (ignored when chained)
    bool chained;              //  Loader: the block right after the previous job's block
    bool header_done;          //  The header was read (ingest_block_load_header): load the rest
    uint64_t limit;            //  The block must end at or before this offset
    uint32_t index;            //  Block number, for messages
    uint8_t compression;       //  ingest_compression_t of the file
    uint8_t *raw;              //  Buffer of INGEST_READER_BUFFSIZE for the compressed payload
    uint8_t *data;             //  Buffer of INGEST_READER_BUFFSIZE for the payload
    ingest_block_fn *process;  //  Run after a successful load, or NULL
    void *arg;                 //  For process: lent with the job, like the buffers
    //  Out
    int rc;                //  0 loaded, -1 failed (see error)
    uint32_t records;      //  NumRecords of the header
    uint16_t type;         //  Block type (3 = records with headers)
    uint32_t raw_size;     //  Bytes of payload in the file (compressed)
    size_t data_size;      //  Bytes of payload in data
    uint64_t next_offset;  //  Offset just after the block
    char error[256];       //  What went wrong, without the file name
};

typedef struct _ingest_block_loader_t ingest_block_loader_t;

//  Record a failure of job: rc -1 and the formatted error (no file name: the reader adds
//  it).  Returns -1.  Also for process functions.
int ingest_block_fail (ingest_block_t *job, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Read exactly size bytes at offset of job's file into buffer.  0, or -1 with job->error
//  saying the file is truncated (what names the part being read) or the read failed.
int ingest_block_read (ingest_block_t *job, void *buffer, size_t size, uint64_t offset,
                       const char *what);

//  Read and check the header of the block at job->offset, in the caller's thread: sets
//  records, type, raw_size, next_offset and header_done.  Returns job->rc (0, or -1 with
//  job->error set).
int ingest_block_load_header (ingest_block_t *job);

//  Load job (and run job->process) in the caller's thread, its header too unless
//  job->header_done, with *zstd as the ZSTD context (made on first use, freed by the
//  caller with ingest_block_free_zstd).  Returns job->rc.
int ingest_block_load (ingest_block_t *job, void **zstd);
void ingest_block_free_zstd (void **zstd);

//  A loader thread.  NULL if the thread could not be started.  A reader may run several,
//  each with its own jobs.
ingest_block_loader_t *ingest_block_loader_new (void);

//  Stop the thread (waits for a job in progress).  NULL-safe, nulls *self_p.
void ingest_block_loader_destroy (ingest_block_loader_t **self_p);

//  Hand job to the thread, behind those already given (at most INGEST_BLOCK_QUEUE).  A
//  chained job loads the block that follows the previous job's block, so a reader can
//  queue several blocks before it knows where they start; after a failed job, chained
//  jobs fail too.
void ingest_block_loader_start (ingest_block_loader_t *self, ingest_block_t *job);

//  Wait for the oldest job given and return it (NULL if none is pending).  If the wait
//  is interrupted, the job is still collected, with rc -1 and "interrupted".
ingest_block_t *ingest_block_loader_wait (ingest_block_loader_t *self);

//  Jobs with the thread.
size_t ingest_block_loader_pending (ingest_block_loader_t *self);
bool ingest_block_loader_busy (ingest_block_loader_t *self);

//  Selftest
void ingest_block_test (bool verbose);

#endif
