/*  shard_series.h - STUB (lead's placeholder until the series branch lands). */
#ifndef SHARD_SERIES_H_INCLUDED
#define SHARD_SERIES_H_INCLUDED
#include "shard/shard_codec.h"
#define SHARD_SERIES_DAYS_MAX 64
typedef struct {
    uint16_t port;
    uint8_t day;
    shard_row_t row;
} shard_series_row_t;
void shard_series_encode (const shard_series_row_t *rows, size_t count, uint32_t days,
                          shard_buffer_t *out);
int shard_series_count (const void *data, size_t size);
int shard_series_decode (const void *data, size_t size, uint32_t days, shard_series_row_t *rows,
                         size_t capacity);
int shard_series_find (const void *data, size_t size, uint32_t days, uint16_t port, uint8_t day,
                       shard_row_t *row);
void shard_series_test (bool verbose);
#endif
