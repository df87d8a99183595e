/*  shard_series.h - the series tier's record: every row of one host over a segment of days.

    A series record is one value of the series tier: all the daily rows of one host over
    a segment of D days (1 .. SHARD_SERIES_DAYS_MAX), every port.  A (host, port) is
    stable over days (its volume, packet size and peer spread), so the record is coded
    port-major at the bit level: each value's bit length is predicted from the same
    column's previous length, and only the bits below its leading one are stored as
    they are.  An ALL* series of the host reads one record per segment and decodes it
    once.  This module is the pure codec; byte layout (STORAGE.md has it too):

        record  [hdr: version | flags mode][varint row count][flags byte: mode CONSTANT
                only][bit stream, least significant bit first, zero-padded to a byte]
        stream  per port, ascending, until the row count is reached:
                  [port: 5 bits: the bit length L of g, then the L - 1 bits of g below
                   its leading one; g: the first port, then port - previous - 1]
                  [days: 1 bit LIST, then LIST: (n - 1) and the n days ascending, each
                   in w = bit length of (D - 1) bits; else a D-bit bitmap, bit d = day d
                   (the smaller; LIST when w (n + 1) < D)]
                  per day of the port, a row:
                    [flags: mode ROWS only: 0 the last row's | 1 + 8 bits]
                    [forms: 2 bits a feature, bytes in bits 0-1 ... peers in bits 6-7:
                     i ones and a zero for the i-th (0-3) of the last 4 distinct forms
                     (the last row's first; at the start 00, ff, 6a, 7f), else 1111 + 8
                     bits; the forms used move to the front]
                    per feature, the values its form stores (shard_chunk.h's forms:
                    ONE min; FLAT min, sum - max; PAIR min, max - min; FULL min,
                    max - min, sum - max, differences modulo 2^64 so that any triple is
                    exact), each as [length code][its L - 1 bits below the leading one]
        length code  columns: feature x {min, max - min, sum - max}, each remembering
                its last bit length and a running average of its nonzero ones (x 8, in
                integers: average += (8 L - average) / 2, truncated; the first value of
                each port replaces it; at the record's start, fixed guesses).  After a 0:
                [0: 0 again | 1 + the code below].  Else the prediction is the rounded
                average ((average + 4) / 8), moved as far as the same column of the
                feature before was from its own prediction this row (packets follow
                bytes, durations packets; both nonzero), within 1 .. 64:
                  0 the prediction;  10s +-1;  110s +-2;  1110 the value 0;
                  11110s +-3;  11111 s + Elias gamma of (|difference| - 3)
                  (bits in the order read; s: 1 for below the prediction)

    The flags mode (the header's low nibble): 0 every row's flags are 0; 1 all rows have
    the flags byte after the count; 2 each row codes its own.  The decoders check what
    they read (lengths, ascending ports and days, forms against values, the count,
    padding, the exact size) and never read past the record: a malformed or truncated
    record gives -1.
*/
#ifndef SHARD_SERIES_H_INCLUDED
#define SHARD_SERIES_H_INCLUDED

#include "shard/shard_codec.h"

#define SHARD_SERIES_DAYS_MAX 64  //  Days a segment may span

//  A row of a series record.
typedef struct {
    uint16_t port;    //  Port
    uint8_t day;      //  Day within the segment, 0 .. days - 1
    shard_row_t row;  //  Its values and flags (shard_codec.h)
} shard_series_row_t;

//  Encode count >= 1 rows, strictly ascending by (port, day), every day < days
//  (1 .. SHARD_SERIES_DAYS_MAX), into out (reset first).  Any values and flags.
void shard_series_encode (const shard_series_row_t *rows, size_t count, uint32_t days,
                          shard_buffer_t *out);

//  The row count of a record, or -1 if malformed (as far as its header shows).
int shard_series_count (const void *data, size_t size);

//  Decode a record of a segment of days into rows (room for capacity).  Returns the
//  count, or -1 if malformed or more than capacity.  Rows come out as they went in.
int shard_series_decode (const void *data, size_t size, uint32_t days, shard_series_row_t *rows,
                         size_t capacity);

//  The row of (port, day): 0 found (into row), 1 absent, -1 malformed (as far as read).
int shard_series_find (const void *data, size_t size, uint32_t days, uint16_t port, uint8_t day,
                       shard_row_t *row);

//  Selftest
void shard_series_test (bool verbose);

#endif
