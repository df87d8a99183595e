/*  ingest_bytes.h - nfcapd's integers read at any alignment.

    nfcapd writes its structures in host byte order (NFCAPD.md: the magic tells a foreign
    file, which the reader refuses), often unaligned (a stat record after an odd-length
    ident), so fields are read with memcpy, never through a cast pointer.  Shared by the
    reader (ingest_reader), the record walk (ingest_decode) and the 1.6 records
    (ingest_v1); inline, as they run for every record.
*/
#ifndef INGEST_BYTES_H_INCLUDED
#define INGEST_BYTES_H_INCLUDED

#include <stdint.h>
#include <string.h>

static inline uint16_t
ingest_u16 (const uint8_t *p)
{
    uint16_t value;
    memcpy (&value, p, sizeof value);
    return value;
}

static inline uint32_t
ingest_u32 (const uint8_t *p)
{
    uint32_t value;
    memcpy (&value, p, sizeof value);
    return value;
}

static inline uint64_t
ingest_u64 (const uint8_t *p)
{
    uint64_t value;
    memcpy (&value, p, sizeof value);
    return value;
}

#endif
