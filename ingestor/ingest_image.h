/*  ingest_image.h - byte-by-byte builder of nfcapd file images for the ingestor's
    selftests (ingest_reader, ingest_decode, ingest_v1).

    The selftests lay files out as ../shared/NFCAPD.md draws them, in host byte order as
    nfcapd writes them.  An image is a value (copies make corrupt variants); putting past
    its capacity is a bug in the test and asserts.  Test code only: nothing else uses it.
*/
#ifndef INGEST_IMAGE_H_INCLUDED
#define INGEST_IMAGE_H_INCLUDED

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define INGEST_IMAGE_MAX 8192  //  Bytes an image holds

typedef struct {
    uint8_t bytes[INGEST_IMAGE_MAX];  //  What is being built
    size_t size;                      //  Bytes used
} ingest_image_t;

static inline void
ingest_image_put (ingest_image_t *image, const void *data, size_t size)
{
    assert (image->size + size <= sizeof image->bytes);
    memcpy (image->bytes + image->size, data, size);
    image->size += size;
}

static inline void
ingest_image_put8 (ingest_image_t *image, uint8_t value)
{
    ingest_image_put (image, &value, 1);
}

static inline void
ingest_image_put16 (ingest_image_t *image, uint16_t value)
{
    ingest_image_put (image, &value, 2);
}

static inline void
ingest_image_put32 (ingest_image_t *image, uint32_t value)
{
    ingest_image_put (image, &value, 4);
}

static inline void
ingest_image_put64 (ingest_image_t *image, uint64_t value)
{
    ingest_image_put (image, &value, 8);
}

#endif
