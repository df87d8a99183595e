/*  shard_codec.c - encodings of the shard store's values (see shard_codec.h).

    Pure functions over bytes: no LMDB here, so every format is unit-tested on its own,
    including truncated, overlong and wrong-version inputs.
*/
#include "shard/shard_codec.h"
#include "proto/proto_sketch.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_VERSION_SHIFT 4
#define HEADER_FLAGS_MASK 0x0f

//  --------------------------------------------------------------------------
void
shard_buffer_reset (shard_buffer_t *self)
{
    assert (self);
    self->size = 0;
}

//  --------------------------------------------------------------------------
void
shard_buffer_free (shard_buffer_t *self)
{
    assert (self);
    free (self->data);
    self->data = NULL;
    self->size = self->capacity = 0;
}

//  --------------------------------------------------------------------------
static void
s_buffer_reserve (shard_buffer_t *self, size_t more)
{
    if (self->size + more <= self->capacity)
        return;
    size_t capacity = self->capacity ? self->capacity : 256;
    while (capacity < self->size + more)
        capacity *= 2;
    self->data = (uint8_t *) realloc (self->data, capacity);
    assert (self->data);
    self->capacity = capacity;
}

//  --------------------------------------------------------------------------
void
shard_buffer_append (shard_buffer_t *self, const void *data, size_t size)
{
    assert (self);
    if (size == 0)
        return;
    s_buffer_reserve (self, size);
    memcpy (self->data + self->size, data, size);
    self->size += size;
}

//  --------------------------------------------------------------------------
void
shard_buffer_byte (shard_buffer_t *self, uint8_t byte)
{
    assert (self);
    s_buffer_reserve (self, 1);
    self->data[self->size++] = byte;
}

//  --------------------------------------------------------------------------
void
shard_buffer_varint (shard_buffer_t *self, uint64_t value)
{
    assert (self);
    s_buffer_reserve (self, SHARD_VARINT_MAX);
    self->size += shard_varint_put (self->data + self->size, value);
}

//  --------------------------------------------------------------------------
void
shard_buffer_header (shard_buffer_t *self, uint8_t flags)
{
    assert (self);
    assert ((flags & ~HEADER_FLAGS_MASK) == 0);
    shard_buffer_byte (self, (uint8_t) (SHARD_VALUE_VERSION << HEADER_VERSION_SHIFT | flags));
}

//  --------------------------------------------------------------------------
void
shard_reader_init (shard_reader_t *self, const void *data, size_t size)
{
    assert (self);
    self->data = (const uint8_t *) data;
    self->end = self->data + size;
    self->bad = data == NULL && size > 0;
}

//  --------------------------------------------------------------------------
uint8_t
shard_reader_byte (shard_reader_t *self)
{
    assert (self);
    if (self->bad || self->data >= self->end) {
        self->bad = true;
        return 0;
    }
    return *self->data++;
}

//  --------------------------------------------------------------------------
uint64_t
shard_reader_varint (shard_reader_t *self)
{
    assert (self);
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t byte = shard_reader_byte (self);
        if (self->bad)
            return 0;
        //  The tenth byte may only carry the top bit of a u64
        if (shift == 63 && byte > 1)
            break;
        value |= (uint64_t) (byte & 0x7f) << shift;
        if ((byte & 0x80) == 0)
            return value;
    }
    self->bad = true;
    return 0;
}

//  --------------------------------------------------------------------------
const uint8_t *
shard_reader_bytes (shard_reader_t *self, size_t size)
{
    assert (self);
    if (self->bad || (size_t) (self->end - self->data) < size) {
        self->bad = true;
        return NULL;
    }
    const uint8_t *bytes = self->data;
    self->data += size;
    return bytes;
}

//  --------------------------------------------------------------------------
int
shard_reader_header (shard_reader_t *self)
{
    assert (self);
    uint8_t byte = shard_reader_byte (self);
    if (self->bad || byte >> HEADER_VERSION_SHIFT != SHARD_VALUE_VERSION) {
        self->bad = true;
        return -1;
    }
    return byte & HEADER_FLAGS_MASK;
}

//  --------------------------------------------------------------------------
bool
shard_reader_done (shard_reader_t *self)
{
    assert (self);
    return !self->bad && self->data == self->end;
}

//  --------------------------------------------------------------------------
size_t
shard_varint_put (uint8_t *out, uint64_t value)
{
    assert (out);
    size_t size = 0;
    while (value >= 0x80) {
        out[size++] = (uint8_t) (value | 0x80);
        value >>= 7;
    }
    out[size++] = (uint8_t) value;
    return size;
}

//  --------------------------------------------------------------------------
uint64_t
shard_zigzag (int64_t value)
{
    return ((uint64_t) value << 1) ^ (uint64_t) (value >> 63);
}

//  --------------------------------------------------------------------------
int64_t
shard_unzigzag (uint64_t value)
{
    return (int64_t) (value >> 1) ^ -(int64_t) (value & 1);
}

//  --------------------------------------------------------------------------
uint64_t
shard_add (uint64_t a, uint64_t b)
{
    uint64_t sum = a + b;
    return sum < a ? UINT64_MAX : sum;
}

//  --------------------------------------------------------------------------
void
shard_row_start (shard_row_t *self, const proto_values_t *block)
{
    assert (self);
    assert (block);
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
        for (int op = 0; op < PROTO_OP_COUNT; op++)
            self->value[feature][op] = block->value[feature];
    self->flags = block->flags & PROTO_VALUES_PEERS_CAPPED ? SHARD_ROW_PEERS_CAPPED : 0;
}

//  --------------------------------------------------------------------------
void
shard_row_fold (shard_row_t *self, const proto_values_t *block, bool late)
{
    assert (self);
    assert (block);
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        uint64_t *value = self->value[feature];
        uint64_t add = block->value[feature];
        value[PROTO_OP_SUM] = shard_add (value[PROTO_OP_SUM], add);
        if (add > value[PROTO_OP_MAX])
            value[PROTO_OP_MAX] = add;
        if (!late && add < value[PROTO_OP_MIN])
            value[PROTO_OP_MIN] = add;
    }
    if (block->flags & PROTO_VALUES_PEERS_CAPPED)
        self->flags |= SHARD_ROW_PEERS_CAPPED;
}

//  --------------------------------------------------------------------------
size_t
shard_row_encode (const shard_row_t *self, uint8_t *out)
{
    assert (self);
    assert (out);
    size_t size = 0;
    out[size++] = (uint8_t) (SHARD_VALUE_VERSION << HEADER_VERSION_SHIFT | self->flags);
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        const uint64_t *value = self->value[feature];
        assert (value[PROTO_OP_MIN] <= value[PROTO_OP_MAX]);
        assert (value[PROTO_OP_MAX] <= value[PROTO_OP_SUM]);
        size += shard_varint_put (out + size, value[PROTO_OP_MIN]);
        size += shard_varint_put (out + size, value[PROTO_OP_MAX] - value[PROTO_OP_MIN]);
        size += shard_varint_put (out + size, value[PROTO_OP_SUM] - value[PROTO_OP_MAX]);
    }
    return size;
}

//  --------------------------------------------------------------------------
int
shard_row_decode (shard_row_t *self, const void *data, size_t size)
{
    assert (self);
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    int flags = shard_reader_header (&reader);
    self->flags = (uint8_t) (flags & SHARD_ROW_PEERS_CAPPED);
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        uint64_t min = shard_reader_varint (&reader);
        uint64_t to_max = shard_reader_varint (&reader);
        uint64_t to_sum = shard_reader_varint (&reader);
        if (to_max > UINT64_MAX - min || to_sum > UINT64_MAX - min - to_max)
            return -1;
        self->value[feature][PROTO_OP_MIN] = min;
        self->value[feature][PROTO_OP_MAX] = min + to_max;
        self->value[feature][PROTO_OP_SUM] = min + to_max + to_sum;
    }
    return shard_reader_done (&reader) ? 0 : -1;
}

//  --------------------------------------------------------------------------
shard_host_t *
shard_host_new (void)
{
    shard_host_t *self = (shard_host_t *) calloc (1, sizeof (shard_host_t));
    assert (self);
    return self;
}

//  --------------------------------------------------------------------------
void
shard_host_destroy (shard_host_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
shard_host_clear (shard_host_t *self)
{
    assert (self);
    self->flags = 0;
    self->first_seen = self->last_seen = 0;
    self->annotations = 0;
    self->port_count = 0;
    self->days_base = 0;
    self->days_size = 0;
}

//  --------------------------------------------------------------------------
//  Drop leading bytes from the bitmap: those wholly before cutoff_day, and zero ones.

static void
s_host_days_trim (shard_host_t *self, uint32_t cutoff_day)
{
    size_t drop = 0;
    while (drop < self->days_size &&
           (self->days[drop] == 0 || self->days_base + 8 * (drop + 1) <= cutoff_day))
        drop++;
    memmove (self->days, self->days + drop, self->days_size - drop);
    self->days_size -= drop;
    self->days_base += (uint32_t) (8 * drop);
    while (self->days_size > 0 && self->days[self->days_size - 1] == 0)
        self->days_size--;
    if (self->days_size == 0)
        self->days_base = 0;
}

//  --------------------------------------------------------------------------
static void
s_host_add_day (shard_host_t *self, uint32_t day)
{
    uint32_t base = day & ~7u;
    if (self->days_size == 0)
        self->days_base = base;
    else if (base < self->days_base) {
        size_t shift = (self->days_base - base) / 8;
        if (shift + self->days_size > sizeof self->days)
            return;  //  Further back than the bitmap spans
        memmove (self->days + shift, self->days, self->days_size);
        memset (self->days, 0, shift);
        self->days_size += shift;
        self->days_base = base;
    }
    else if ((base - self->days_base) / 8 >= sizeof self->days) {
        //  Past the span: forget the oldest days
        uint32_t new_base = base - 8 * (uint32_t) (sizeof self->days - 1);
        size_t drop = (new_base - self->days_base) / 8;
        if (drop >= self->days_size)
            self->days_size = 0;
        else {
            memmove (self->days, self->days + drop, self->days_size - drop);
            self->days_size -= drop;
        }
        self->days_base = new_base;
    }
    size_t index = (day - self->days_base) / 8;
    if (index >= self->days_size) {
        memset (self->days + self->days_size, 0, index + 1 - self->days_size);
        self->days_size = index + 1;
    }
    self->days[index] |= (uint8_t) (1u << (day & 7));
}

//  --------------------------------------------------------------------------
void
shard_host_seen (shard_host_t *self, int64_t block, uint16_t port, uint32_t cutoff_day)
{
    assert (self);
    assert (block >= 0);
    if (!(self->flags & SHARD_HOST_TRAFFIC)) {
        self->flags |= SHARD_HOST_TRAFFIC;
        self->first_seen = self->last_seen = block;
    }
    if (block < self->first_seen)
        self->first_seen = block;
    if (block > self->last_seen)
        self->last_seen = block;
    //  Ports: sorted insert
    size_t low = 0, high = self->port_count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (self->ports[middle] < port)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == self->port_count || self->ports[low] != port) {
        memmove (self->ports + low + 1, self->ports + low,
                 (self->port_count - low) * sizeof self->ports[0]);
        self->ports[low] = port;
        self->port_count++;
    }
    uint32_t day = proto_day_of (block);
    if (day >= cutoff_day)
        s_host_add_day (self, day);
    s_host_days_trim (self, cutoff_day);
}

//  --------------------------------------------------------------------------
bool
shard_host_has_day (const shard_host_t *self, uint32_t day)
{
    assert (self);
    if (day < self->days_base)
        return false;
    size_t index = (day - self->days_base) / 8;
    return index < self->days_size && (self->days[index] >> (day & 7) & 1);
}

//  --------------------------------------------------------------------------
bool
shard_host_has_port (const shard_host_t *self, uint16_t port)
{
    assert (self);
    size_t low = 0, high = self->port_count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (self->ports[middle] == port)
            return true;
        if (self->ports[middle] < port)
            low = middle + 1;
        else
            high = middle;
    }
    return false;
}

//  --------------------------------------------------------------------------
void
shard_host_encode (const shard_host_t *self, shard_buffer_t *out)
{
    assert (self);
    assert (out);
    assert (self->first_seen >= 0 && self->last_seen >= self->first_seen);
    shard_buffer_reset (out);
    shard_buffer_header (out, self->flags & SHARD_HOST_TRAFFIC);
    shard_buffer_varint (out, (uint64_t) self->first_seen);
    shard_buffer_varint (out, (uint64_t) (self->last_seen - self->first_seen));
    shard_buffer_varint (out, self->annotations);
    shard_buffer_varint (out, self->port_count);
    uint16_t previous = 0;
    for (size_t index = 0; index < self->port_count; index++) {
        shard_buffer_varint (out, (uint64_t) (self->ports[index] - previous));
        previous = self->ports[index];
    }
    shard_buffer_varint (out, self->days_base / 8);
    shard_buffer_varint (out, self->days_size);
    shard_buffer_append (out, self->days, self->days_size);
}

//  --------------------------------------------------------------------------
int
shard_host_decode (shard_host_t *self, const void *data, size_t size)
{
    assert (self);
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    int flags = shard_reader_header (&reader);
    self->flags = (uint8_t) (flags & SHARD_HOST_TRAFFIC);
    uint64_t first_seen = shard_reader_varint (&reader);
    uint64_t span = shard_reader_varint (&reader);
    if (first_seen > INT64_MAX || span > INT64_MAX - first_seen)
        return -1;
    self->first_seen = (int64_t) first_seen;
    self->last_seen = (int64_t) (first_seen + span);
    self->annotations = shard_reader_varint (&reader);
    uint64_t port_count = shard_reader_varint (&reader);
    if (port_count > SHARD_HOST_PORTS_MAX)
        return -1;
    uint64_t port = 0;
    for (size_t index = 0; index < port_count; index++) {
        uint64_t delta = shard_reader_varint (&reader);
        if ((index > 0 && delta == 0) || delta > UINT16_MAX - port)
            return -1;
        port += delta;
        self->ports[index] = (uint16_t) port;
    }
    self->port_count = (size_t) port_count;
    uint64_t base = shard_reader_varint (&reader);
    uint64_t days_size = shard_reader_varint (&reader);
    if (base > UINT32_MAX / 8 || days_size > sizeof self->days)
        return -1;
    const uint8_t *days = shard_reader_bytes (&reader, (size_t) days_size);
    if (!shard_reader_done (&reader))
        return -1;
    self->days_base = (uint32_t) base * 8;
    self->days_size = (size_t) days_size;
    memcpy (self->days, days, self->days_size);
    return 0;
}

//  --------------------------------------------------------------------------
bool
shard_open_has (const shard_open_t *self, const char *source)
{
    assert (self);
    assert (source);
    for (size_t index = 0; index < self->source_count; index++)
        if (strcmp (self->sources[index], source) == 0)
            return true;
    return false;
}

//  --------------------------------------------------------------------------
void
shard_open_add (shard_open_t *self, const char *source)
{
    assert (self);
    assert (source);
    assert (strlen (source) <= SHARD_SOURCE_MAX);
    if (self->source_count < SHARD_SOURCES_MAX && !shard_open_has (self, source))
        strcpy (self->sources[self->source_count++], source);
}

//  --------------------------------------------------------------------------
void
shard_open_encode (const shard_open_t *self, shard_buffer_t *out)
{
    assert (self);
    assert (out);
    assert (self->first_arrival >= 0);
    shard_buffer_reset (out);
    shard_buffer_header (out, 0);
    shard_buffer_varint (out, (uint64_t) self->first_arrival);
    shard_buffer_varint (out, self->source_count);
    for (size_t index = 0; index < self->source_count; index++) {
        size_t size = strlen (self->sources[index]);
        shard_buffer_varint (out, size);
        shard_buffer_append (out, self->sources[index], size);
    }
}

//  --------------------------------------------------------------------------
int
shard_open_decode (shard_open_t *self, const void *data, size_t size)
{
    assert (self);
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    shard_reader_header (&reader);
    uint64_t first_arrival = shard_reader_varint (&reader);
    uint64_t count = shard_reader_varint (&reader);
    if (first_arrival > INT64_MAX || count > SHARD_SOURCES_MAX)
        return -1;
    self->first_arrival = (int64_t) first_arrival;
    self->source_count = 0;
    for (size_t index = 0; index < count; index++) {
        uint64_t length = shard_reader_varint (&reader);
        if (length > SHARD_SOURCE_MAX)
            return -1;
        const uint8_t *name = shard_reader_bytes (&reader, (size_t) length);
        if (!name || memchr (name, 0, (size_t) length))
            return -1;
        memcpy (self->sources[index], name, (size_t) length);
        self->sources[index][length] = 0;
        self->source_count++;
    }
    return shard_reader_done (&reader) ? 0 : -1;
}

//  --------------------------------------------------------------------------
void
shard_final_encode (const shard_final_t *self, shard_buffer_t *out)
{
    assert (self);
    assert (out);
    shard_buffer_reset (out);
    shard_buffer_header (out, 0);
    shard_buffer_varint (out, shard_zigzag (self->finalised));
    shard_buffer_varint (out, self->late_parts);
}

//  --------------------------------------------------------------------------
int
shard_final_decode (shard_final_t *self, const void *data, size_t size)
{
    assert (self);
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    shard_reader_header (&reader);
    self->finalised = shard_unzigzag (shard_reader_varint (&reader));
    self->late_parts = shard_reader_varint (&reader);
    return shard_reader_done (&reader) ? 0 : -1;
}

//  --------------------------------------------------------------------------
void
shard_open_row_encode (const shard_open_row_t *self, shard_buffer_t *out)
{
    assert (self);
    assert (out);
    shard_buffer_reset (out);
    shard_buffer_header (out, self->sketch ? SHARD_OPEN_SKETCH : 0);
    shard_buffer_varint (out, self->bytes);
    shard_buffer_varint (out, self->packets);
    shard_buffer_varint (out, self->durations);
    shard_buffer_append (out, self->peers, self->peers_size);
}

//  --------------------------------------------------------------------------
int
shard_open_row_decode (shard_open_row_t *self, const void *data, size_t size)
{
    assert (self);
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    int flags = shard_reader_header (&reader);
    self->sketch = flags > 0 && (flags & SHARD_OPEN_SKETCH);
    self->bytes = shard_reader_varint (&reader);
    self->packets = shard_reader_varint (&reader);
    self->durations = shard_reader_varint (&reader);
    if (reader.bad)
        return -1;
    self->peers = reader.data;
    self->peers_size = (size_t) (reader.end - reader.data);
    if (self->sketch)
        return self->peers_size == PROTO_SKETCH_REGISTERS ? 0 : -1;
    if (self->peers_size % PROTO_ADDR_SIZE || self->peers_size / PROTO_ADDR_SIZE > PROTO_PEERS_CAP)
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
uint64_t
shard_peers_count (bool sketch, const uint8_t *peers, size_t peers_size)
{
    if (!sketch)
        return peers_size / PROTO_ADDR_SIZE;
    assert (peers && peers_size == PROTO_SKETCH_REGISTERS);
    uint64_t estimate = proto_sketch_estimate (peers);
    return estimate > PROTO_PEERS_CAP ? estimate : PROTO_PEERS_CAP + 1;
}

//  --------------------------------------------------------------------------
void
shard_block_values (proto_values_t *self, uint64_t bytes, uint64_t packets, uint64_t durations,
                    uint64_t peers)
{
    assert (self);
    self->value[PROTO_FEATURE_BYTES] = bytes;
    self->value[PROTO_FEATURE_PACKETS] = packets;
    self->value[PROTO_FEATURE_DURATIONS] = durations;
    self->value[PROTO_FEATURE_PEERS] = peers;
    self->flags = peers >= PROTO_PEERS_CAP ? PROTO_VALUES_PEERS_CAPPED : 0;
}

//  --------------------------------------------------------------------------
void
shard_part_encode (const char *source, const char *file, shard_buffer_t *out)
{
    assert (source);
    assert (file);
    assert (out);
    shard_buffer_reset (out);
    shard_buffer_header (out, 0);
    shard_buffer_append (out, source, strlen (source) + 1);
    shard_buffer_append (out, file, strlen (file));
}

//  --------------------------------------------------------------------------
bool
shard_part_matches (const void *data, size_t size, const char *source, const char *file)
{
    assert (source);
    assert (file);
    size_t source_size = strlen (source) + 1;
    size_t file_size = strlen (file);
    const uint8_t *bytes = (const uint8_t *) data;
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    return shard_reader_header (&reader) == 0 && size == 1 + source_size + file_size &&
           memcmp (bytes + 1, source, source_size) == 0 &&
           memcmp (bytes + 1 + source_size, file, file_size) == 0;
}

//  --------------------------------------------------------------------------
uint64_t
shard_part_hash (const char *source, const char *file)
{
    assert (source);
    assert (file);
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char *next = source;; next++) {
        hash = (hash ^ (uint8_t) *next) * 0x100000001b3ULL;
        if (*next == 0)
            break;
    }
    for (const char *next = file; *next; next++)
        hash = (hash ^ (uint8_t) *next) * 0x100000001b3ULL;
    return hash;
}

//  --------------------------------------------------------------------------
void
shard_note_encode (int64_t first_seen, int64_t last_seen, shard_buffer_t *out)
{
    assert (out);
    shard_buffer_reset (out);
    shard_buffer_header (out, 0);
    shard_buffer_varint (out, shard_zigzag (first_seen));
    shard_buffer_varint (out, shard_zigzag (last_seen));
}

//  --------------------------------------------------------------------------
int
shard_note_decode (const void *data, size_t size, int64_t *first_seen, int64_t *last_seen)
{
    assert (first_seen);
    assert (last_seen);
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    shard_reader_header (&reader);
    *first_seen = shard_unzigzag (shard_reader_varint (&reader));
    *last_seen = shard_unzigzag (shard_reader_varint (&reader));
    return shard_reader_done (&reader) ? 0 : -1;
}

//  --------------------------------------------------------------------------
void
shard_meta_encode (uint64_t value, uint8_t *out)
{
    assert (out);
    out[0] = SHARD_VALUE_VERSION << HEADER_VERSION_SHIFT;
    for (int index = 8; index >= 1; index--, value >>= 8)
        out[index] = (uint8_t) value;
}

//  --------------------------------------------------------------------------
int
shard_meta_decode (const void *data, size_t size, uint64_t *value)
{
    assert (value);
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    shard_reader_header (&reader);
    const uint8_t *bytes = shard_reader_bytes (&reader, 8);
    if (!shard_reader_done (&reader))
        return -1;
    *value = 0;
    for (int index = 0; index < 8; index++)
        *value = *value << 8 | bytes[index];
    return 0;
}

//  --------------------------------------------------------------------------
//  Selftest

static void
s_test_varints (void)
{
    uint64_t values[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX - 1, UINT64_MAX};
    size_t sizes[] = {1, 1, 1, 2, 2, 2, 3, 5, 10, 10};
    for (size_t index = 0; index < sizeof values / sizeof values[0]; index++) {
        uint8_t bytes[SHARD_VARINT_MAX];
        size_t size = shard_varint_put (bytes, values[index]);
        assert (size == sizes[index]);
        shard_reader_t reader;
        shard_reader_init (&reader, bytes, size);
        assert (shard_reader_varint (&reader) == values[index]);
        assert (shard_reader_done (&reader));
        //  Truncated: bad
        shard_reader_init (&reader, bytes, size - 1);
        shard_reader_varint (&reader);
        assert (size == 1 || reader.bad);
    }
    //  Eleven continuation bytes, and a tenth byte above 1, are overlong
    uint8_t overlong[11] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0};
    shard_reader_t reader;
    shard_reader_init (&reader, overlong, sizeof overlong);
    shard_reader_varint (&reader);
    assert (reader.bad);
    int64_t times[] = {0, -1, 1, INT64_MIN, INT64_MAX, 1700000000};
    for (size_t index = 0; index < sizeof times / sizeof times[0]; index++)
        assert (shard_unzigzag (shard_zigzag (times[index])) == times[index]);
    assert (shard_add (UINT64_MAX - 1, 1) == UINT64_MAX);
    assert (shard_add (UINT64_MAX - 1, 2) == UINT64_MAX);
    assert (shard_add (3, 4) == 7);
}

static void
s_test_rows (bool verbose)
{
    //  Blocks (bytes, packets, durations, peers) folded in order; expected sum/max/min
    struct {
        uint64_t blocks[3][4];
        size_t count;
        bool late_last;
        uint64_t sum[4], max[4], min[4];
        size_t size;  //  encoded bytes
    } cases[] = {
        {{{100, 2, 30, 1}}, 1, false, {100, 2, 30, 1}, {100, 2, 30, 1}, {100, 2, 30, 1}, 13},
        {{{100, 2, 30, 1}, {50, 1, 0, 3}, {400, 7, 5, 2}},
         3,
         false,
         {550, 10, 35, 6},
         {400, 7, 30, 3},
         {50, 1, 0, 1},
         0},
        //  A late last part: sums add, max may rise, min stays
        {{{100, 2, 30, 4}, {5, 1, 1, 1}},
         2,
         true,
         {105, 3, 31, 5},
         {100, 2, 30, 4},
         {100, 2, 30, 4},
         0},
        //  Saturation: sums stop at UINT64_MAX instead of wrapping
        {{{UINT64_MAX - 1, 1, 1, 1}, {UINT64_MAX - 1, 1, 1, 1}},
         2,
         false,
         {UINT64_MAX, 2, 2, 2},
         {UINT64_MAX - 1, 1, 1, 1},
         {UINT64_MAX - 1, 1, 1, 1},
         0},
    };
    for (size_t test = 0; test < sizeof cases / sizeof cases[0]; test++) {
        shard_row_t row;
        for (size_t block = 0; block < cases[test].count; block++) {
            proto_values_t values;
            shard_block_values (&values, cases[test].blocks[block][0], cases[test].blocks[block][1],
                                cases[test].blocks[block][2], cases[test].blocks[block][3]);
            if (block == 0)
                shard_row_start (&row, &values);
            else
                shard_row_fold (&row, &values,
                                cases[test].late_last && block == cases[test].count - 1);
        }
        uint8_t bytes[SHARD_ROW_MAX];
        size_t size = shard_row_encode (&row, bytes);
        if (verbose)
            printf ("row %zu: %zu bytes; ", test, size);
        assert (cases[test].size == 0 || size == cases[test].size);
        shard_row_t back;
        assert (shard_row_decode (&back, bytes, size) == 0);
        for (int feature = 0; feature < 4; feature++) {
            assert (back.value[feature][PROTO_OP_SUM] == cases[test].sum[feature]);
            assert (back.value[feature][PROTO_OP_MAX] == cases[test].max[feature]);
            assert (back.value[feature][PROTO_OP_MIN] == cases[test].min[feature]);
        }
        //  Every truncation and a wrong version are rejected
        for (size_t cut = 0; cut < size; cut++)
            assert (shard_row_decode (&back, bytes, cut) == -1);
        bytes[0] = (uint8_t) (bytes[0] + 0x10);
        assert (shard_row_decode (&back, bytes, size) == -1);
    }
    //  A difference that would overflow is rejected
    uint8_t bad[SHARD_ROW_MAX];
    size_t size = 0;
    bad[size++] = SHARD_VALUE_VERSION << 4;
    for (int feature = 0; feature < 4; feature++) {
        size += shard_varint_put (bad + size, UINT64_MAX);
        size += shard_varint_put (bad + size, 1);
        size += shard_varint_put (bad + size, 0);
    }
    shard_row_t row;
    assert (shard_row_decode (&row, bad, size) == -1);
    //  Peers past the cap are flagged
    proto_values_t values;
    shard_block_values (&values, 1, 1, 1, PROTO_PEERS_CAP);
    shard_row_start (&row, &values);
    assert (row.flags == SHARD_ROW_PEERS_CAPPED);
}

static void
s_test_hosts (void)
{
    shard_host_t *host = shard_host_new ();
    shard_host_t *back = shard_host_new ();
    shard_buffer_t buffer = {NULL, 0, 0};
    int64_t day = 86400;
    //  (block, port) seen, in this order, with cutoff day 100
    struct {
        int64_t block;
        uint16_t port;
    } seen[] = {
        {200 * day + 300, 25}, {190 * day, 80}, {200 * day, 22}, {205 * day, 25}, {50 * day, 9050}};
    for (size_t index = 0; index < sizeof seen / sizeof seen[0]; index++)
        shard_host_seen (host, seen[index].block, seen[index].port, 100);
    shard_host_encode (host, &buffer);
    assert (shard_host_decode (back, buffer.data, buffer.size) == 0);
    assert (back->flags == SHARD_HOST_TRAFFIC);
    assert (back->first_seen == 50 * day && back->last_seen == 205 * day);
    assert (back->port_count == 4);
    assert (back->ports[0] == 22 && back->ports[1] == 25 && back->ports[2] == 80);
    assert (back->ports[3] == 9050);
    assert (shard_host_has_port (back, 80) && !shard_host_has_port (back, 81));
    for (uint32_t test = 0; test < 300; test++)
        assert (shard_host_has_day (back, test) == (test == 190 || test == 200 || test == 205));
    //  A cutoff past day 190 forgets it (and 200 stays)
    shard_host_seen (back, 205 * day, 25, 195);
    assert (!shard_host_has_day (back, 190) && shard_host_has_day (back, 200));
    //  Spanning past SHARD_HOST_DAYS_MAX days forgets the oldest
    shard_host_seen (back, (int64_t) (200 + SHARD_HOST_DAYS_MAX) * day, 25, 0);
    assert (!shard_host_has_day (back, 200));
    assert (shard_host_has_day (back, 200 + SHARD_HOST_DAYS_MAX));
    //  Every truncation rejected
    for (size_t cut = 0; cut < buffer.size; cut++)
        assert (shard_host_decode (back, buffer.data, cut) == -1);
    shard_buffer_free (&buffer);
    shard_host_destroy (&host);
    shard_host_destroy (&back);
    assert (host == NULL);
}

static void
s_test_blocks (void)
{
    shard_buffer_t buffer = {NULL, 0, 0};
    shard_open_t open = {1700000000, 0, {{0}}};
    shard_open_add (&open, "router1");
    shard_open_add (&open, "router2");
    shard_open_add (&open, "router1");
    assert (open.source_count == 2);
    shard_open_encode (&open, &buffer);
    shard_open_t back;
    assert (shard_open_decode (&back, buffer.data, buffer.size) == 0);
    assert (back.first_arrival == 1700000000 && back.source_count == 2);
    assert (shard_open_has (&back, "router2") && !shard_open_has (&back, "router3"));
    for (size_t cut = 0; cut < buffer.size; cut++)
        assert (shard_open_decode (&back, buffer.data, cut) == -1);

    shard_final_t final = {1700000300, 2}, final_back;
    shard_final_encode (&final, &buffer);
    assert (shard_final_decode (&final_back, buffer.data, buffer.size) == 0);
    assert (final_back.finalised == 1700000300 && final_back.late_parts == 2);

    uint8_t peers[2 * PROTO_ADDR_SIZE] = {0};
    peers[PROTO_ADDR_SIZE + 15] = 1;
    shard_open_row_t row = {1, 2, 3, false, peers, sizeof peers}, row_back;
    shard_open_row_encode (&row, &buffer);
    assert (shard_open_row_decode (&row_back, buffer.data, buffer.size) == 0);
    assert (row_back.bytes == 1 && row_back.packets == 2 && row_back.durations == 3);
    assert (!row_back.sketch && row_back.peers_size == sizeof peers);
    assert (shard_peers_count (false, row_back.peers, row_back.peers_size) == 2);
    assert (shard_open_row_decode (&row_back, buffer.data, buffer.size - 1) == -1);
    //  A sketch counts at least the cap plus one
    uint8_t *sketch = (uint8_t *) calloc (1, PROTO_SKETCH_REGISTERS);
    assert (sketch);
    assert (shard_peers_count (true, sketch, PROTO_SKETCH_REGISTERS) == PROTO_PEERS_CAP + 1);
    free (sketch);

    shard_part_encode ("router1", "2024/01/01/nfcapd.202401010000", &buffer);
    assert (
        shard_part_matches (buffer.data, buffer.size, "router1", "2024/01/01/nfcapd.202401010000"));
    assert (!shard_part_matches (buffer.data, buffer.size, "router1", "2024/01/01/nfcapd"));
    assert (!shard_part_matches (buffer.data, buffer.size, "router", "1"));
    assert (shard_part_hash ("a", "bc") != shard_part_hash ("ab", "c"));

    int64_t first, last;
    shard_note_encode (-5, 1700000000, &buffer);
    assert (shard_note_decode (buffer.data, buffer.size, &first, &last) == 0);
    assert (first == -5 && last == 1700000000);

    uint8_t meta[SHARD_META_SIZE];
    uint64_t value;
    shard_meta_encode (UINT64_MAX - 7, meta);
    assert (shard_meta_decode (meta, sizeof meta, &value) == 0 && value == UINT64_MAX - 7);
    assert (shard_meta_decode (meta, sizeof meta - 1, &value) == -1);
    shard_buffer_free (&buffer);
}

void
shard_codec_test (bool verbose)
{
    printf (" * shard_codec: ");
    s_test_varints ();
    s_test_rows (verbose);
    s_test_hosts ();
    s_test_blocks ();
    printf ("OK\n");
}
