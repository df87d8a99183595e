/*  shard_chunk.c - rows packed in chunks (see shard_chunk.h and STORAGE.md).
 */
#include "shard/shard_chunk.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_ONE 0   //  sum = max = min
#define FORM_FLAT 1  //  max = min < sum
#define FORM_PAIR 2  //  sum = max + min
#define FORM_FULL 3  //  any other
#define CAPPED_V6 0x80

static const uint8_t s_form_values[4] = {1, 2, 2, 3};  //  Varints per form

//  Varints a row's values take, by its forms byte.

static uint8_t
s_form_varints (uint8_t forms)
{
    return (uint8_t) (s_form_values[forms & 3] + s_form_values[forms >> 2 & 3] +
                      s_form_values[forms >> 4 & 3] + s_form_values[forms >> 6]);
}

//  --------------------------------------------------------------------------
static uint32_t
s_ipv4 (const proto_addr_t *addr)
{
    const uint8_t *bytes = addr->bytes + 12;
    return (uint32_t) bytes[0] << 24 | (uint32_t) bytes[1] << 16 | (uint32_t) bytes[2] << 8 |
           bytes[3];
}

//  --------------------------------------------------------------------------
static int
s_form (const uint64_t *value)
{
    uint64_t min = value[PROTO_OP_MIN], max = value[PROTO_OP_MAX], sum = value[PROTO_OP_SUM];
    if (min == max)
        return sum == max ? FORM_ONE : FORM_FLAT;
    if (max <= UINT64_MAX - min && sum == max + min)
        return FORM_PAIR;
    return FORM_FULL;
}

//  --------------------------------------------------------------------------
//  Write row's host (after previous, NULL for the first) and values into out
//  (>= SHARD_CHUNK_ROW_MAX bytes).  Returns the bytes written.

static size_t
s_row_put (uint8_t *out, const proto_addr_t *previous, const shard_chunk_row_t *row)
{
    size_t size = 0;
    bool capped = (row->row.flags & SHARD_ROW_PEERS_CAPPED) != 0;
    if (proto_addr_is_ipv4 (&row->addr)) {
        uint64_t delta = previous ? s_ipv4 (&row->addr) - s_ipv4 (previous) : 0;
        size += shard_varint_put (out, delta << 1 | capped);
    }
    else {
        size_t shared = 0;
        if (!previous)
            shared = PROTO_ADDR_SIZE;
        else
            while (shared < PROTO_ADDR_SIZE - 1 &&
                   row->addr.bytes[shared] == previous->bytes[shared])
                shared++;
        out[size++] = (uint8_t) (shared | (capped ? CAPPED_V6 : 0));
        memcpy (out + size, row->addr.bytes + shared, PROTO_ADDR_SIZE - shared);
        size += PROTO_ADDR_SIZE - shared;
    }
    uint8_t forms = 0;
    size_t forms_at = size++;
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        const uint64_t *value = row->row.value[feature];
        uint64_t min = value[PROTO_OP_MIN], max = value[PROTO_OP_MAX], sum = value[PROTO_OP_SUM];
        assert (min <= max && max <= sum);
        int form = s_form (value);
        forms |= (uint8_t) (form << (2 * feature));
        size += shard_varint_put (out + size, min);
        if (form == FORM_FLAT)
            size += shard_varint_put (out + size, sum - max);
        else if (form != FORM_ONE)
            size += shard_varint_put (out + size, max - min);
        if (form == FORM_FULL)
            size += shard_varint_put (out + size, sum - max);
    }
    out[forms_at] = forms;
    return size;
}

//  --------------------------------------------------------------------------
size_t
shard_chunk_row_size (const proto_addr_t *previous, const shard_chunk_row_t *row)
{
    assert (row);
    uint8_t bytes[SHARD_CHUNK_ROW_MAX];
    return s_row_put (bytes, previous, row);
}

//  --------------------------------------------------------------------------
void
shard_chunk_encode (const shard_chunk_row_t *rows, size_t count, shard_buffer_t *out)
{
    assert (rows);
    assert (count >= 1 && count <= SHARD_CHUNK_ROWS_MAX);
    assert (out);
    bool ipv4 = proto_addr_is_ipv4 (&rows[0].addr);
    shard_buffer_t body = {NULL, 0, 0};
    uint64_t skips[SHARD_CHUNK_ROWS_MAX / SHARD_CHUNK_SKIP_ROWS][2];
    size_t skip_count = 0;
    for (size_t index = 0; index < count; index++) {
        const proto_addr_t *previous = index ? &rows[index - 1].addr : NULL;
        assert (proto_addr_is_ipv4 (&rows[index].addr) == ipv4);
        assert (!previous || memcmp (previous->bytes, rows[index].addr.bytes, PROTO_ADDR_SIZE) < 0);
        if (ipv4 && index && index % SHARD_CHUNK_SKIP_ROWS == 0) {
            skips[skip_count][0] = s_ipv4 (previous) - s_ipv4 (&rows[0].addr);
            skips[skip_count++][1] = body.size;
        }
        uint8_t bytes[SHARD_CHUNK_ROW_MAX];
        shard_buffer_append (&body, bytes, s_row_put (bytes, previous, &rows[index]));
    }
    shard_buffer_reset (out);
    shard_buffer_header (out, 0);
    shard_buffer_varint (out, count);
    for (size_t skip = 0; skip < skip_count; skip++) {
        shard_buffer_varint (out, skips[skip][0]);
        shard_buffer_varint (out, skips[skip][1]);
    }
    shard_buffer_append (out, body.data, body.size);
    shard_buffer_free (&body);
}

//  --------------------------------------------------------------------------
size_t
shard_chunk_overhead (size_t count)
{
    return 3 + SHARD_CHUNK_SKIP_MAX * (count ? (count - 1) / SHARD_CHUNK_SKIP_ROWS : 0);
}

//  --------------------------------------------------------------------------
//  Read the next row's host into addr (previous: the host before, or the chunk's
//  first for the first row) and its capped flag.  False if malformed.

static bool
s_host_read (shard_reader_t *reader, bool ipv4, bool first_row, const proto_addr_t *previous,
             proto_addr_t *addr, bool *capped)
{
    if (ipv4) {
        uint64_t field = shard_reader_varint (reader);
        uint64_t delta = field >> 1;
        *capped = field & 1;
        uint64_t host = (uint64_t) s_ipv4 (previous) + delta;
        if (reader->bad || (first_row ? delta != 0 : delta == 0) || host > UINT32_MAX)
            return false;
        proto_addr_from_ipv4 (addr, (uint32_t) host);
        return true;
    }
    uint8_t field = shard_reader_byte (reader);
    size_t shared = field & ~CAPPED_V6;
    *capped = (field & CAPPED_V6) != 0;
    if (reader->bad || (first_row ? shared != PROTO_ADDR_SIZE : shared >= PROTO_ADDR_SIZE))
        return false;
    const uint8_t *rest = shard_reader_bytes (reader, PROTO_ADDR_SIZE - shared);
    if (!rest)
        return false;
    memcpy (addr->bytes, previous->bytes, shared);
    memcpy (addr->bytes + shared, rest, PROTO_ADDR_SIZE - shared);
    //  Ascending, and never a v4-mapped address (those are stored as IPv4)
    return (first_row || memcmp (addr->bytes, previous->bytes, PROTO_ADDR_SIZE) > 0) &&
           !proto_addr_is_ipv4 (addr);
}

//  --------------------------------------------------------------------------
//  Read a row's values (after its host).  False if malformed.

static bool
s_values_read (shard_reader_t *reader, bool capped, shard_row_t *row)
{
    uint8_t forms = shard_reader_byte (reader);
    row->flags = capped ? SHARD_ROW_PEERS_CAPPED : 0;
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        int form = forms >> (2 * feature) & 3;
        uint64_t min = shard_reader_varint (reader), max = min, sum = min;
        if (form == FORM_FLAT) {
            uint64_t to_sum = shard_reader_varint (reader);
            if (to_sum > UINT64_MAX - max)
                return false;
            sum = max + to_sum;
        }
        else if (form != FORM_ONE) {
            uint64_t to_max = shard_reader_varint (reader);
            if (to_max > UINT64_MAX - min)
                return false;
            max = min + to_max;
            if (form == FORM_PAIR) {
                if (min > UINT64_MAX - max)
                    return false;
                sum = max + min;
            }
            else {
                uint64_t to_sum = shard_reader_varint (reader);
                if (to_sum > UINT64_MAX - max)
                    return false;
                sum = max + to_sum;
            }
        }
        row->value[feature][PROTO_OP_MIN] = min;
        row->value[feature][PROTO_OP_MAX] = max;
        row->value[feature][PROTO_OP_SUM] = sum;
    }
    return !reader->bad;
}

//  --------------------------------------------------------------------------
//  Skip a row's values.  False if malformed.

static bool
s_values_skip (shard_reader_t *reader)
{
    size_t varints = s_form_varints (shard_reader_byte (reader));
    //  A varint ends at its first byte below 0x80 (lengths are checked on decode)
    while (varints > 0 && !reader->bad)
        if (shard_reader_byte (reader) < 0x80)
            varints--;
    return !reader->bad;
}

//  --------------------------------------------------------------------------
//  Read the header: the row count, or -1.

static int
s_header_read (shard_reader_t *reader)
{
    if (shard_reader_header (reader) != 0)
        return -1;
    uint64_t count = shard_reader_varint (reader);
    if (reader->bad || count < 1 || count > SHARD_CHUNK_ROWS_MAX)
        return -1;
    return (int) count;
}

//  --------------------------------------------------------------------------
//  Read the skip entries of a chunk of count rows (IPv4 only): host of the row before
//  row (j + 1) x SHARD_CHUNK_SKIP_ROWS, less the first host, and that row's offset
//  from the first row.  Returns how many, or -1.

static int
s_skips_read (shard_reader_t *reader, bool ipv4, int count,
              uint64_t skips[SHARD_CHUNK_ROWS_MAX / SHARD_CHUNK_SKIP_ROWS][2])
{
    int skip_count = ipv4 ? (count - 1) / SHARD_CHUNK_SKIP_ROWS : 0;
    for (int skip = 0; skip < skip_count; skip++) {
        skips[skip][0] = shard_reader_varint (reader);
        skips[skip][1] = shard_reader_varint (reader);
    }
    return reader->bad ? -1 : skip_count;
}

//  --------------------------------------------------------------------------
int
shard_chunk_count (const void *data, size_t size)
{
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    return s_header_read (&reader);
}

//  --------------------------------------------------------------------------
int
shard_chunk_reader_open (shard_chunk_reader_t *self, const proto_addr_t *first, const void *data,
                         size_t size)
{
    assert (self);
    assert (first);
    shard_reader_init (&self->reader, data, size);
    self->first = self->previous = *first;
    self->ipv4 = proto_addr_is_ipv4 (first);
    self->index = 0;
    self->count = s_header_read (&self->reader);
    self->skip_count =
        self->count < 0 ? -1 : s_skips_read (&self->reader, self->ipv4, self->count, self->skips);
    self->body = self->reader.data;
    if (self->skip_count < 0)
        self->count = -1;
    return self->count;
}

//  Read the next row's host (0), 1 if none is left, -1 if malformed; checks the skip
//  entry that points at the row, if any.
static int
s_reader_host (shard_chunk_reader_t *self, proto_addr_t *addr, bool *capped)
{
    if (self->count < 0)
        return -1;
    if (self->index == self->count)
        return shard_reader_done (&self->reader) ? 1 : -1;
    if (self->ipv4 && self->index && self->index % SHARD_CHUNK_SKIP_ROWS == 0) {
        const uint64_t *skip = self->skips[self->index / SHARD_CHUNK_SKIP_ROWS - 1];
        if (skip[0] != (uint64_t) (s_ipv4 (&self->previous) - s_ipv4 (&self->first)) ||
            skip[1] != (uint64_t) (self->reader.data - self->body))
            return -1;
    }
    return s_host_read (&self->reader, self->ipv4, self->index == 0, &self->previous, addr, capped)
               ? 0
               : -1;
}

//  --------------------------------------------------------------------------
int
shard_chunk_reader_next (shard_chunk_reader_t *self, shard_chunk_row_t *row)
{
    assert (self);
    assert (row);
    bool capped;
    int rc = s_reader_host (self, &row->addr, &capped);
    if (rc)
        return rc;
    if (!s_values_read (&self->reader, capped, &row->row))
        return -1;
    self->previous = row->addr;
    self->index++;
    return 0;
}

//  --------------------------------------------------------------------------
int
shard_chunk_reader_pass (shard_chunk_reader_t *self, const proto_addr_t *addr)
{
    assert (self);
    assert (addr);
    if (self->count < 0)
        return -1;
    if (self->ipv4 && self->index == 0 && proto_addr_is_ipv4 (addr)) {
        //  From the last skip entry whose row's predecessor is at most addr
        uint32_t target = s_ipv4 (addr);
        uint64_t first = s_ipv4 (&self->first);
        int skip = self->skip_count - 1;
        while (skip >= 0 && first + self->skips[skip][0] > target)
            skip--;
        if (skip >= 0) {
            if (self->skips[skip][1] >= (uint64_t) (self->reader.end - self->body) ||
                first + self->skips[skip][0] > UINT32_MAX)
                return -1;
            self->reader.data = self->body + self->skips[skip][1];
            proto_addr_from_ipv4 (&self->previous, (uint32_t) (first + self->skips[skip][0]));
            self->index = (skip + 1) * SHARD_CHUNK_SKIP_ROWS;
        }
    }
    while (true) {
        shard_reader_t before = self->reader;
        proto_addr_t host;
        bool capped;
        int rc = s_reader_host (self, &host, &capped);
        if (rc)
            return rc == 1 ? 0 : -1;
        if (memcmp (host.bytes, addr->bytes, PROTO_ADDR_SIZE) > 0) {
            self->reader = before;  //  The next row read
            return 0;
        }
        if (!s_values_skip (&self->reader))
            return -1;
        self->previous = host;
        self->index++;
    }
}

//  --------------------------------------------------------------------------
int
shard_chunk_decode (const proto_addr_t *first, const void *data, size_t size,
                    shard_chunk_row_t *rows)
{
    assert (first);
    assert (rows);
    shard_chunk_reader_t reader;
    int count = shard_chunk_reader_open (&reader, first, data, size);
    for (int index = 0; index < count; index++)
        if (shard_chunk_reader_next (&reader, &rows[index]))
            return -1;
    return count < 0 || shard_chunk_reader_next (&reader, &rows[0]) != 1 ? -1 : count;
}

//  --------------------------------------------------------------------------
//  find for IPv4 chunks, on raw bytes: the hot path of series queries, which skips
//  most rows of a chunk.  Every read is bounds-checked; a row found is decoded with
//  the checked reader.

static int
s_find_ipv4 (const proto_addr_t *first, shard_reader_t *reader, int count, const proto_addr_t *addr,
             shard_row_t *row)
{
    uint64_t skips[SHARD_CHUNK_ROWS_MAX / SHARD_CHUNK_SKIP_ROWS][2];
    int skip_count = s_skips_read (reader, true, count, skips);
    if (skip_count < 0)
        return -1;
    const uint8_t *data = reader->data, *end = reader->end;
    uint64_t host = s_ipv4 (first), target = s_ipv4 (addr);
    int index = 0;
    //  Start after the last skip entry whose row's predecessor is below the target
    int skip = skip_count - 1;
    while (skip >= 0 && host + skips[skip][0] >= target)
        skip--;
    if (skip >= 0) {
        if (skips[skip][1] >= (uint64_t) (end - data))
            return -1;
        index = (skip + 1) * SHARD_CHUNK_SKIP_ROWS;
        data += skips[skip][1];
        host += skips[skip][0];
    }
    for (; index < count; index++) {
        uint64_t field = 0;
        int shift = 0;
        while (true) {
            if (data == end || shift > 35)
                return -1;
            uint8_t byte = *data++;
            field |= (uint64_t) (byte & 0x7f) << shift;
            shift += 7;
            if (byte < 0x80)
                break;
        }
        uint64_t delta = field >> 1;
        if ((index == 0) != (delta == 0))
            return -1;
        host += delta;
        if (host > target)
            return 1;
        if (data == end)
            return -1;
        if (host == target) {
            reader->data = data;
            return s_values_read (reader, field & 1, row) ? 0 : -1;
        }
        size_t varints = s_form_varints (*data++);
        while (varints > 0) {
            if (data == end)
                return -1;
            if (*data++ < 0x80)
                varints--;
        }
    }
    return 1;
}

//  --------------------------------------------------------------------------
int
shard_chunk_find (const proto_addr_t *first, const void *data, size_t size,
                  const proto_addr_t *addr, shard_row_t *row)
{
    assert (first);
    assert (addr);
    assert (row);
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    int count = s_header_read (&reader);
    if (count < 0)
        return -1;
    bool ipv4 = proto_addr_is_ipv4 (first);
    if (proto_addr_is_ipv4 (addr) != ipv4)
        return 1;
    if (ipv4)
        return s_find_ipv4 (first, &reader, count, addr, row);
    proto_addr_t host = *first;
    for (int index = 0; index < count; index++) {
        bool capped;
        proto_addr_t previous = host;
        if (!s_host_read (&reader, ipv4, index == 0, &previous, &host, &capped))
            return -1;
        int order = memcmp (host.bytes, addr->bytes, PROTO_ADDR_SIZE);
        if (order > 0)
            return 1;
        if (order == 0)
            return s_values_read (&reader, capped, row) ? 0 : -1;
        if (!s_values_skip (&reader))
            return -1;
    }
    return 1;
}

//  --------------------------------------------------------------------------
//  Selftest

static void
s_row_set (shard_chunk_row_t *row, const char *host, const uint64_t values[4][3], uint8_t flags)
{
    assert (proto_addr_parse (&row->addr, host) == 0);
    for (int feature = 0; feature < 4; feature++)
        for (int op = 0; op < 3; op++)
            row->row.value[feature][op] = values[feature][op];
    row->row.flags = flags;
}

static void
s_check_rows (const shard_chunk_row_t *rows, size_t count, size_t expect_size, bool verbose)
{
    shard_buffer_t buffer = {NULL, 0, 0};
    shard_chunk_encode (rows, count, &buffer);
    if (verbose)
        printf ("%zu rows: %zu bytes; ", count, buffer.size);
    if (expect_size)
        assert (buffer.size == expect_size);
    uint8_t header[SHARD_VARINT_MAX];
    size_t sum = 1 + shard_varint_put (header, count);
    for (size_t index = 0; index < count; index++)
        sum += shard_chunk_row_size (index ? &rows[index - 1].addr : NULL, &rows[index]);
    //  Skip entries (IPv4, from 33 rows) come on top, within the bound the writer uses
    assert (count <= SHARD_CHUNK_SKIP_ROWS ? buffer.size == sum : buffer.size > sum);
    assert (buffer.size - sum + 1 + shard_varint_put (header, count) <=
            shard_chunk_overhead (count) + 1 + shard_varint_put (header, count));
    shard_chunk_row_t *back =
        (shard_chunk_row_t *) malloc (SHARD_CHUNK_ROWS_MAX * sizeof (shard_chunk_row_t));
    assert (back);
    assert (shard_chunk_count (buffer.data, buffer.size) == (int) count);
    assert (shard_chunk_decode (&rows[0].addr, buffer.data, buffer.size, back) == (int) count);
    for (size_t index = 0; index < count; index++) {
        assert (memcmp (&back[index].addr, &rows[index].addr, sizeof (proto_addr_t)) == 0);
        assert (memcmp (back[index].row.value, rows[index].row.value,
                        sizeof rows[index].row.value) == 0);
        assert (back[index].row.flags == rows[index].row.flags);
        shard_row_t found;
        assert (shard_chunk_find (&rows[0].addr, buffer.data, buffer.size, &rows[index].addr,
                                  &found) == 0);
        assert (memcmp (found.value, rows[index].row.value, sizeof found.value) == 0);
        assert (found.flags == rows[index].row.flags);
        //  A reader that passes a row's host goes on at the next row (1 after the last);
        //  one that passes the host just below the first row's reads it first
        shard_chunk_reader_t reader;
        shard_chunk_row_t next;
        proto_addr_t below = rows[index].addr;
        below.bytes[15]--;
        for (int pass = 0; pass < (index == 0 && below.bytes[15] != 0xff ? 2 : 1); pass++) {
            assert (shard_chunk_reader_open (&reader, &rows[0].addr, buffer.data, buffer.size) ==
                    (int) count);
            assert (shard_chunk_reader_pass (&reader, pass ? &below : &rows[index].addr) == 0);
            size_t expect = pass ? index : index + 1;
            int rc = shard_chunk_reader_next (&reader, &next);
            assert (rc == (expect == count ? 1 : 0));
            if (rc == 0)
                assert (memcmp (&next.addr, &rows[expect].addr, sizeof next.addr) == 0 &&
                        memcmp (next.row.value, rows[expect].row.value, sizeof next.row.value) ==
                            0 &&
                        next.row.flags == rows[expect].row.flags);
        }
        //  A host just above a row's, below the next one's, is absent
        proto_addr_t gap = rows[index].addr;
        gap.bytes[15]++;
        if (gap.bytes[15] && (index + 1 == count ||
                              memcmp (gap.bytes, rows[index + 1].addr.bytes, PROTO_ADDR_SIZE) < 0))
            assert (shard_chunk_find (&rows[0].addr, buffer.data, buffer.size, &gap, &found) == 1);
    }
    //  A wrong skip entry is refused by the full decode
    if (count > SHARD_CHUNK_SKIP_ROWS && proto_addr_is_ipv4 (&rows[0].addr)) {
        size_t at = 1 + shard_varint_put (header, count);
        buffer.data[at] ^= 1;
        assert (shard_chunk_decode (&rows[0].addr, buffer.data, buffer.size, back) == -1);
        buffer.data[at] ^= 1;
    }
    //  Every truncation and a trailing byte are refused, never read past; so by a reader
    //  that passes every row but the last one (the skip entries jump over most)
    for (size_t cut = 0; cut < buffer.size; cut++) {
        assert (shard_chunk_decode (&rows[0].addr, buffer.data, cut, back) == -1);
        shard_chunk_reader_t reader;
        shard_chunk_reader_open (&reader, &rows[0].addr, buffer.data, cut);
        int rc = count > 1 ? shard_chunk_reader_pass (&reader, &rows[count - 2].addr) : 0;
        if (rc == 0)
            rc = shard_chunk_reader_next (&reader, back);
        if (rc == 0)
            rc = shard_chunk_reader_next (&reader, back);
        assert (rc == -1);
    }
    shard_buffer_byte (&buffer, 0);
    assert (shard_chunk_decode (&rows[0].addr, buffer.data, buffer.size, back) == -1);
    free (back);
    shard_buffer_free (&buffer);
}

void
shard_chunk_test (bool verbose)
{
    printf (" * shard_chunk: ");
    //  Table: each form, edge values, capped flags, IPv4 and IPv6
    const uint64_t one[4][3] = {{1500, 1500, 1500}, {3, 3, 3}, {20, 20, 20}, {1, 1, 1}};
    const uint64_t pair[4][3] = {{3000, 2000, 1000}, {5, 3, 2}, {0, 0, 0}, {2, 1, 1}};
    const uint64_t flat[4][3] = {{30, 10, 10}, {6, 2, 2}, {3, 1, 1}, {288, 1, 1}};
    const uint64_t full[4][3] = {
        {UINT64_MAX, UINT64_MAX, 0}, {UINT64_MAX, 7, 1}, {9, 5, 1}, {4097 + 4096 + 5, 4097, 5}};
    //  max + min overflows: not PAIR
    const uint64_t edge[4][3] = {{UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 2},
                                 {UINT64_MAX, UINT64_MAX, UINT64_MAX},
                                 {0, 0, 0},
                                 {UINT64_MAX, UINT64_MAX / 2 + 1, UINT64_MAX / 2}};
    shard_chunk_row_t rows[6];
    //  One row seen in one block: 1 host + 1 forms + 2 + 1 + 1 + 1 = 7 bytes, + 2 header
    s_row_set (&rows[0], "10.0.0.1", one, 0);
    s_check_rows (rows, 1, 9, verbose);
    s_row_set (&rows[1], "10.0.0.2", pair, SHARD_ROW_PEERS_CAPPED);
    s_row_set (&rows[2], "10.0.0.200", flat, 0);
    s_row_set (&rows[3], "10.0.1.5", full, SHARD_ROW_PEERS_CAPPED);
    s_row_set (&rows[4], "10.200.0.0", edge, 0);
    s_row_set (&rows[5], "255.255.255.255", one, SHARD_ROW_PEERS_CAPPED);
    s_check_rows (rows, 6, 0, verbose);
    //  Absent hosts: before, between, after, other family
    shard_buffer_t buffer = {NULL, 0, 0};
    shard_chunk_encode (rows, 6, &buffer);
    const char *absent[] = {"10.0.0.0", "10.0.0.3", "10.0.1.4", "10.255.0.0", "2001:db8::1"};
    for (size_t index = 0; index < 5; index++) {
        proto_addr_t addr;
        shard_row_t row;
        assert (proto_addr_parse (&addr, absent[index]) == 0);
        assert (shard_chunk_find (&rows[0].addr, buffer.data, buffer.size, &addr, &row) == 1);
    }
    //  A bad version, a zero count, a repeated host are refused
    shard_chunk_row_t back[SHARD_CHUNK_ROWS_MAX];
    buffer.data[0] ^= 0x30;
    assert (shard_chunk_decode (&rows[0].addr, buffer.data, buffer.size, back) == -1);
    assert (shard_chunk_count (buffer.data, buffer.size) == -1);
    buffer.data[0] ^= 0x30;
    uint8_t zero[] = {buffer.data[0], 0};
    assert (shard_chunk_count (zero, 2) == -1);
    shard_chunk_encode (rows, 2, &buffer);
    buffer.data[2 + 7] = 0;  //  The second row's delta << 1 | capped: 0 (delta 0)
    assert (shard_chunk_decode (&rows[0].addr, buffer.data, buffer.size, back) == -1);
    shard_buffer_free (&buffer);

    //  IPv6: shared prefixes, capped, the largest address
    s_row_set (&rows[0], "2001:db8::1", full, SHARD_ROW_PEERS_CAPPED);
    s_row_set (&rows[1], "2001:db8::2", one, 0);
    s_row_set (&rows[2], "2001:db8:1::", pair, SHARD_ROW_PEERS_CAPPED);
    s_row_set (&rows[3], "2a00::", flat, 0);
    s_row_set (&rows[4], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", edge, 0);
    s_check_rows (rows, 5, 0, verbose);

    //  A full chunk of random rows
    shard_chunk_row_t *many =
        (shard_chunk_row_t *) malloc (SHARD_CHUNK_ROWS_MAX * sizeof (shard_chunk_row_t));
    assert (many);
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    uint32_t host = 0x0a000000;
    for (size_t index = 0; index < SHARD_CHUNK_ROWS_MAX; index++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        host += 1 + (uint32_t) (state >> 54);
        proto_addr_from_ipv4 (&many[index].addr, host);
        many[index].row.flags = (state >> 20) % 7 == 0 ? SHARD_ROW_PEERS_CAPPED : 0;
        for (int feature = 0; feature < 4; feature++) {
            uint64_t *value = many[index].row.value[feature];
            value[PROTO_OP_MIN] = (state >> (feature * 8)) % 1000;
            value[PROTO_OP_MAX] = value[PROTO_OP_MIN] + (state >> 40) % (feature * 50 + 1);
            value[PROTO_OP_SUM] = value[PROTO_OP_MAX] + (state >> 44) % 3 * value[PROTO_OP_MIN];
        }
    }
    s_check_rows (many, SHARD_CHUNK_ROWS_MAX, 0, false);
    free (many);
    printf ("OK\n");
}
