/*  proto_msg_codec.c - msgpack encoding and decoding of proto_msg, driven by its table.

    Frame: [version, id, request_id, {key: value, ...}] (PROTOCOL.md "Grammar"); list
    entries are positional arrays.  The encoder walks proto_msg_specs and
    proto_msg_body_columns (proto_msg_table.c) writing each field and checking its limit;
    the decoder walks the same table checking each object's type and range before it
    stores anything, and both end with the same cross-field rules.  Reasons name the
    path to what was wrong: "PART: pairs[3].port: 70000 exceeds 65535".

    msgpack-c's unpacker allocates an array's objects as soon as it reads the array's
    header, before its elements (six bytes can ask for 64 GiB).  s_prescan walks the
    bytes first, without allocating, and rejects a frame that is truncated, has trailing
    bytes, or whose containers promise more objects than it has bytes left: after it,
    the object tree holds at most one msgpack_object per frame byte.

    Decoded strings are copied (NUL-terminated) into the message's arena; binary blobs
    (pair peers) are not: they point into the frame, which the caller keeps with the
    message when it comes back with borrows set.
*/
#include "proto/proto_msg_codec.h"

#include <msgpack.h>

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RESERVE_BYTES (16 * 1024 * 1024)  //  Most bytes of a list allocated before it is read

//  --------------------------------------------------------------------------
//  Reasons: each layer puts its part of the path in front ("PART: pairs[3].port: ...")

void
proto_msg_fail (char *reason, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (reason, PROTO_MSG_REASON_MAX, format, args);
    va_end (args);
}

//  --------------------------------------------------------------------------
void
proto_msg_prefix (char *reason, const char *format, ...)
{
    char tail[PROTO_MSG_REASON_MAX];
    memcpy (tail, reason, PROTO_MSG_REASON_MAX);
    va_list args;
    va_start (args, format);
    int size = vsnprintf (reason, PROTO_MSG_REASON_MAX, format, args);
    va_end (args);
    if (size >= 0 && size < PROTO_MSG_REASON_MAX)
        snprintf (reason + size, PROTO_MSG_REASON_MAX - (size_t) size, "%s", tail);
}

//  --------------------------------------------------------------------------
//  Pre-scan: every msgpack object is at least one byte, so a frame whose containers
//  promise more objects than it has bytes left is rejected before msgpack allocates.

static int
s_prescan (const uint8_t *data, size_t size, char *reason)
{
    static const uint8_t s_fixed[32] = {
        //  0xc0..0xdf: total size of fixed-size types, 0 when variable or invalid
        1, 0, 1, 1, 0, 0, 0, 0,  0,  0, 5, 9, 2, 3, 5, 9,
        2, 3, 5, 9, 3, 4, 6, 10, 18, 0, 0, 0, 0, 0, 0, 0};
    size_t pos = 0;
    uint64_t pending = 1;  //  Objects still to read
    while (pending) {
        if (pending > size - pos) {
            proto_msg_fail (reason, "truncated frame (%zu bytes)", size);
            return -1;
        }
        pending--;
        uint8_t type = data[pos];
        uint64_t length = 0;  //  Payload bytes after the header
        uint64_t items = 0;   //  Objects the header promises
        size_t header = 1;    //  Header bytes
        size_t width = 0;     //  Bytes of the big-endian count or length
        if (type <= 0x7f || type >= 0xe0)
            ;
        else if (type <= 0x8f)
            items = 2 * (uint64_t) (type & 0x0f);
        else if (type <= 0x9f)
            items = type & 0x0f;
        else if (type <= 0xbf)
            length = type & 0x1f;
        else if (s_fixed[type - 0xc0])
            header = s_fixed[type - 0xc0];
        else if (type == 0xc1) {
            proto_msg_fail (reason, "not msgpack (byte 0xc1 at %zu)", pos);
            return -1;
        }
        else {
            //  bin, ext, str: 8/16/32-bit length; array, map: 16/32-bit count
            static const uint8_t s_widths[] = {1, 2, 4, 1, 2, 4};  //  0xc4..0xc9
            if (type <= 0xc9)
                width = s_widths[type - 0xc4];
            else if (type >= 0xd9 && type <= 0xdb)
                width = (size_t) 1 << (type - 0xd9);
            else
                width = (type & 1) ? 4 : 2;
            header = 1 + width + (type >= 0xc7 && type <= 0xc9);  //  ext: type byte
        }
        if (header > size - pos) {
            proto_msg_fail (reason, "truncated frame (%zu bytes)", size);
            return -1;
        }
        uint64_t value = 0;
        for (size_t index = 0; index < width; index++)
            value = (value << 8) | data[pos + 1 + index];
        if (type >= 0xdc && type <= 0xdd)
            items = value;
        else if (type >= 0xde)
            items = 2 * value;
        else if (width)
            length = value;
        pos += header;
        if (length > size - pos) {
            proto_msg_fail (reason, "truncated frame (%zu bytes)", size);
            return -1;
        }
        pos += length;
        pending += items;
    }
    if (pos != size) {
        proto_msg_fail (reason, "%zu trailing bytes after the frame", size - pos);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Decoding, one column at a time

static const char *
s_type_name (msgpack_object_type type)
{
    switch (type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "an unsigned integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "a negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "a float";
    case MSGPACK_OBJECT_STR:
        return "a string";
    case MSGPACK_OBJECT_ARRAY:
        return "an array";
    case MSGPACK_OBJECT_MAP:
        return "a map";
    case MSGPACK_OBJECT_BIN:
        return "a binary";
    default:
        return "an extension";
    }
}

//  --------------------------------------------------------------------------
static int
s_expect (const msgpack_object *object, msgpack_object_type type, char *reason)
{
    if (object->type == type)
        return 0;
    proto_msg_fail (reason, ": %s, expected %s", s_type_name (object->type), s_type_name (type));
    return -1;
}

//  --------------------------------------------------------------------------
static int
s_read_uint (const msgpack_object *object, uint64_t limit, uint64_t *value, char *reason)
{
    if (s_expect (object, MSGPACK_OBJECT_POSITIVE_INTEGER, reason))
        return -1;
    if (object->via.u64 > limit) {
        proto_msg_fail (reason, ": %" PRIu64 " exceeds %" PRIu64, object->via.u64, limit);
        return -1;
    }
    *value = object->via.u64;
    return 0;
}

//  --------------------------------------------------------------------------
static int
s_read_int (const msgpack_object *object, int64_t *value, char *reason)
{
    if (object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *value = object->via.i64;
        return 0;
    }
    uint64_t positive;
    if (object->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        proto_msg_fail (reason, ": %s, expected an integer", s_type_name (object->type));
        return -1;
    }
    if (s_read_uint (object, INT64_MAX, &positive, reason))
        return -1;
    *value = (int64_t) positive;
    return 0;
}

//  --------------------------------------------------------------------------
static int
s_read_string (const msgpack_object *object, uint64_t limit, char *reason)
{
    if (s_expect (object, MSGPACK_OBJECT_STR, reason))
        return -1;
    if (object->via.str.size > limit) {
        proto_msg_fail (reason, ": string of %u bytes, at most %" PRIu64, object->via.str.size,
                        limit);
        return -1;
    }
    if (memchr (object->via.str.ptr, 0, object->via.str.size)) {
        proto_msg_fail (reason, ": string contains NUL");
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
static void
s_store_uint (void *at, size_t width, uint64_t value)
{
    if (width == 1)
        *(uint8_t *) at = (uint8_t) value;
    else if (width == 2)
        *(uint16_t *) at = (uint16_t) value;
    else if (width == 4)
        *(uint32_t *) at = (uint32_t) value;
    else
        *(uint64_t *) at = value;
}

//  --------------------------------------------------------------------------
static uint64_t
s_load_uint (const void *at, size_t width)
{
    if (width == 1)
        return *(const uint8_t *) at;
    if (width == 2)
        return *(const uint16_t *) at;
    if (width == 4)
        return *(const uint32_t *) at;
    return *(const uint64_t *) at;
}

static int s_decode_list (proto_msg_t *self, const proto_msg_column_t *column,
                          proto_msg_list_t *list, const msgpack_object *object, char *reason);

//  --------------------------------------------------------------------------
static int
s_decode_stats (proto_msg_t *self, const proto_msg_column_t *column, uint8_t *base,
                const msgpack_object *object, char *reason)
{
    if (s_expect (object, MSGPACK_OBJECT_MAP, reason))
        return -1;
    const msgpack_object_map *map = &object->via.map;
    if (map->size > PROTO_STATS_MAX) {
        proto_msg_fail (reason, ": %u entries, at most %d", map->size, PROTO_STATS_MAX);
        return -1;
    }
    const char **keys = (const char **) (base + column->offset);
    int64_t *values = (int64_t *) (base + column->values_offset);
    for (uint32_t index = 0; index < map->size; index++) {
        if (s_read_string (&map->ptr[index].key, PROTO_MSG_STATS_KEY_MAX, reason)) {
            proto_msg_prefix (reason, " key %u", index);
            return -1;
        }
        keys[index] = proto_msg_strndup (self, map->ptr[index].key.via.str.ptr,
                                         map->ptr[index].key.via.str.size);
        if (s_read_int (&map->ptr[index].val, &values[index], reason)) {
            proto_msg_prefix (reason, ".%s", keys[index]);
            return -1;
        }
    }
    *(size_t *) (base + column->size_offset) = map->size;
    return proto_msg_check_stats (map->size, keys, reason);
}

//  --------------------------------------------------------------------------
static int
s_decode_slots (proto_msg_t *self, const proto_msg_column_t *column, uint8_t *base,
                const msgpack_object *object, char *reason)
{
    if (s_expect (object, MSGPACK_OBJECT_ARRAY, reason))
        return -1;
    if (object->via.array.size != PROTO_SLOT_COUNT) {
        proto_msg_fail (reason, ": %u slots, expected %d", object->via.array.size,
                        PROTO_SLOT_COUNT);
        return -1;
    }
    uint16_t *slots = (uint16_t *) proto_msg_alloc (self, PROTO_SLOT_COUNT * sizeof (uint16_t));
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++) {
        uint64_t value;
        if (s_read_uint (&object->via.array.ptr[slot], column->limit, &value, reason)) {
            proto_msg_prefix (reason, "[%zu]", slot);
            return -1;
        }
        slots[slot] = (uint16_t) value;
    }
    *(uint16_t **) (base + column->offset) = slots;
    return 0;
}

//  --------------------------------------------------------------------------
//  Reads object into the column's member of the struct at base
static int
s_decode_value (proto_msg_t *self, const proto_msg_column_t *column, void *base,
                const msgpack_object *object, char *reason)
{
    uint8_t *at = (uint8_t *) base + column->offset;
    uint64_t value;
    switch (column->kind) {
    case PROTO_MSG_KIND_UINT:
        if (s_read_uint (object, column->limit, &value, reason))
            return -1;
        s_store_uint (at, column->width, value);
        return 0;
    case PROTO_MSG_KIND_INT:
        return s_read_int (object, (int64_t *) at, reason);
    case PROTO_MSG_KIND_BOOL:
        if (s_expect (object, MSGPACK_OBJECT_BOOLEAN, reason))
            return -1;
        *(bool *) at = object->via.boolean;
        return 0;
    case PROTO_MSG_KIND_STR:
        if (s_read_string (object, column->limit, reason))
            return -1;
        *(const char **) at = proto_msg_strndup (self, object->via.str.ptr, object->via.str.size);
        return 0;
    case PROTO_MSG_KIND_BIN16:
    case PROTO_MSG_KIND_BIN:
        if (s_expect (object, MSGPACK_OBJECT_BIN, reason))
            return -1;
        if (column->kind == PROTO_MSG_KIND_BIN16 && object->via.bin.size != PROTO_ADDR_SIZE) {
            proto_msg_fail (reason, ": binary of %u bytes, expected %d", object->via.bin.size,
                            PROTO_ADDR_SIZE);
            return -1;
        }
        if (object->via.bin.size > column->limit) {
            proto_msg_fail (reason, ": binary of %u bytes, at most %" PRIu64, object->via.bin.size,
                            column->limit);
            return -1;
        }
        if (column->kind == PROTO_MSG_KIND_BIN16)
            memcpy (at, object->via.bin.ptr, PROTO_ADDR_SIZE);
        else {
            //  Points into the frame, which the message keeps (self->borrows)
            *(const uint8_t **) at = (const uint8_t *) object->via.bin.ptr;
            *(size_t *) ((uint8_t *) base + column->size_offset) = object->via.bin.size;
            self->borrows = true;
        }
        return 0;
    case PROTO_MSG_KIND_STATS:
        return s_decode_stats (self, column, (uint8_t *) base, object, reason);
    case PROTO_MSG_KIND_SLOTS:
        return s_decode_slots (self, column, (uint8_t *) base, object, reason);
    case PROTO_MSG_KIND_LIST:
        return s_decode_list (self, column, (proto_msg_list_t *) at, object, reason);
    }
    return -1;
}

//  --------------------------------------------------------------------------
static int
s_decode_entry (proto_msg_t *self, const proto_msg_record_t *record, void *entry,
                const msgpack_object *object, char *reason)
{
    if (record->bare)
        return s_decode_value (self, record->columns, entry, object, reason);
    if (s_expect (object, MSGPACK_OBJECT_ARRAY, reason))
        return -1;
    if (object->via.array.size != record->column_count) {
        proto_msg_fail (reason, ": %s entry of %u items, expected %zu", record->name,
                        object->via.array.size, record->column_count);
        return -1;
    }
    for (size_t index = 0; index < record->column_count; index++)
        if (s_decode_value (self, &record->columns[index], entry, &object->via.array.ptr[index],
                            reason)) {
            proto_msg_prefix (reason, ".%s", record->columns[index].key);
            return -1;
        }
    return record->check ? record->check (entry, reason) : 0;
}

//  --------------------------------------------------------------------------
static int
s_decode_list (proto_msg_t *self, const proto_msg_column_t *column, proto_msg_list_t *list,
               const msgpack_object *object, char *reason)
{
    if (s_expect (object, MSGPACK_OBJECT_ARRAY, reason))
        return -1;
    const proto_msg_record_t *record = column->entry;
    //  Reserve what the array claims, up to S_RESERVE_BYTES: a claim is only bounded by
    //  the frame's bytes, and an entry may be far larger than its bytes on the wire
    size_t claimed = object->via.array.size;
    size_t most = S_RESERVE_BYTES / record->size;
    proto_msg_list_reserve (list, claimed < most ? claimed : most, record->size);
    for (uint32_t index = 0; index < object->via.array.size; index++) {
        void *entry = proto_msg_list_push (list, record->size);
        if (s_decode_entry (self, record, entry, &object->via.array.ptr[index], reason)) {
            proto_msg_prefix (reason, "[%u]", index);
            return -1;
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  The body map into self; unknown keys (and keys this id does not carry) are ignored
static int
s_decode_body (proto_msg_t *self, const msgpack_object *object, char *reason)
{
    if (s_expect (object, MSGPACK_OBJECT_MAP, reason)) {
        proto_msg_prefix (reason, "body");
        return -1;
    }
    const proto_msg_spec_t *message = &proto_msg_specs[self->id];
    uint64_t seen = 0;
    for (uint32_t index = 0; index < object->via.map.size; index++) {
        const msgpack_object_kv *pair = &object->via.map.ptr[index];
        if (s_expect (&pair->key, MSGPACK_OBJECT_STR, reason)) {
            proto_msg_prefix (reason, "body key %u", index);
            return -1;
        }
        for (int field = 0; field < PROTO_MSG_FIELD_TOTAL; field++) {
            const proto_msg_column_t *column = &proto_msg_body_columns[field];
            if (!(message->fields & (UINT64_C (1) << field)) ||
                strlen (column->key) != pair->key.via.str.size ||
                memcmp (column->key, pair->key.via.str.ptr, pair->key.via.str.size) != 0)
                continue;
            if (seen & (UINT64_C (1) << field)) {
                proto_msg_fail (reason, "key '%s' appears twice", column->key);
                return -1;
            }
            seen |= UINT64_C (1) << field;
            if (s_decode_value (self, column, self, &pair->val, reason)) {
                proto_msg_prefix (reason, "%s", column->key);
                return -1;
            }
        }
    }
    uint64_t missing = message->fields & ~message->optional & ~seen;
    if (missing) {
        proto_msg_fail (reason, "missing key '%s'",
                        proto_msg_body_columns[__builtin_ctzll (missing)].key);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  The envelope [version, id, request_id, body].  *request_id is set as soon as it can
//  be read, even if the frame is malformed otherwise.  data must outlive *msg_p if it
//  comes back with borrows set.
int
proto_msg_codec_decode (const uint8_t *data, size_t size, proto_msg_t **msg_p, uint64_t *request_id,
                        char *reason)
{
    *msg_p = NULL;
    if (s_prescan (data, size, reason))
        return -2;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    proto_msg_t *self = NULL;
    int rc = -2;
    size_t offset = 0;
    msgpack_unpack_return status =
        msgpack_unpack_next (&unpacked, (const char *) data, size, &offset);
    if (status != MSGPACK_UNPACK_SUCCESS || offset != size) {
        //  s_prescan found the frame complete: what is left is depth (msgpack-c's stack
        //  holds 32 levels) or memory
        proto_msg_fail (reason, "not msgpack (%s)",
                        status == MSGPACK_UNPACK_NOMEM_ERROR ? "nested too deeply or out of memory"
                                                             : "parse error");
        goto done;
    }
    const msgpack_object *root = &unpacked.data;
    if (root->type != MSGPACK_OBJECT_ARRAY) {
        proto_msg_fail (reason, "frame is %s, expected an array", s_type_name (root->type));
        goto done;
    }
    const msgpack_object *items = root->via.array.ptr;
    if (root->via.array.size >= 3 && items[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *request_id = items[2].via.u64;
    if (root->via.array.size != 4) {
        proto_msg_fail (reason, "frame is an array of %u, expected 4", root->via.array.size);
        goto done;
    }
    if (items[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        proto_msg_fail (reason, "version is %s, expected %d", s_type_name (items[0].type),
                        PROTO_VERSION);
        goto done;
    }
    if (items[0].via.u64 != PROTO_VERSION) {
        proto_msg_fail (reason, "version %" PRIu64 ", expected %d", items[0].via.u64,
                        PROTO_VERSION);
        goto done;
    }
    uint64_t id;
    if (s_read_uint (&items[1], PROTO_MSG_ID_MAX, &id, reason) ||
        !proto_msg_id_known ((unsigned) id)) {
        if (items[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            proto_msg_fail (reason, "unknown message id %" PRIu64, items[1].via.u64);
        else
            proto_msg_prefix (reason, "message id");
        goto done;
    }
    uint64_t requested;
    if (s_read_uint (&items[2], UINT64_MAX, &requested, reason)) {
        proto_msg_prefix (reason, "request id");
        goto done;
    }
    self = proto_msg_new ((proto_msg_id_t) id);
    self->request_id = requested;
    if (s_decode_body (self, &items[3], reason) == 0 && proto_msg_check_message (self, reason) == 0)
        rc = 0;
    else
        proto_msg_prefix (reason, "%s: ", proto_msg_specs[id].name);
done:
    msgpack_unpacked_destroy (&unpacked);
    if (rc)
        proto_msg_destroy (&self);
    *msg_p = self;
    return rc;
}

//  --------------------------------------------------------------------------
//  Encoding: the same table, checking each limit before writing

typedef struct {
    char *data;    //  Encoded bytes
    size_t size;   //  Bytes used
    size_t alloc;  //  Bytes allocated
} s_buffer_t;

//  --------------------------------------------------------------------------
static int
s_buffer_write (void *data, const char *bytes, size_t size)
{
    s_buffer_t *buffer = (s_buffer_t *) data;
    if (buffer->alloc - buffer->size < size) {
        size_t alloc = buffer->alloc ? buffer->alloc : 4096;
        while (alloc - buffer->size < size)
            alloc *= 2;
        buffer->data = (char *) realloc (buffer->data, alloc);
        assert (buffer->data);
        buffer->alloc = alloc;
    }
    if (size)  //  msgpack writes empty bodies with a NULL pointer
        memcpy (buffer->data + buffer->size, bytes, size);
    buffer->size += size;
    return 0;
}

//  --------------------------------------------------------------------------
static void
s_pack_string (msgpack_packer *packer, const char *string, size_t size)
{
    msgpack_pack_str (packer, size);
    msgpack_pack_str_body (packer, string, size);
}

//  --------------------------------------------------------------------------
static void
s_pack_bin (msgpack_packer *packer, const void *bytes, size_t size)
{
    msgpack_pack_bin (packer, size);
    msgpack_pack_bin_body (packer, bytes, size);
}

static int s_encode_value (msgpack_packer *packer, const proto_msg_column_t *column,
                           const void *base, char *reason);

//  --------------------------------------------------------------------------
static int
s_encode_entry (msgpack_packer *packer, const proto_msg_record_t *record, const void *entry,
                char *reason)
{
    if (record->bare)
        return s_encode_value (packer, record->columns, entry, reason);
    msgpack_pack_array (packer, record->column_count);
    for (size_t index = 0; index < record->column_count; index++)
        if (s_encode_value (packer, &record->columns[index], entry, reason)) {
            proto_msg_prefix (reason, ".%s", record->columns[index].key);
            return -1;
        }
    return record->check ? record->check (entry, reason) : 0;
}

//  --------------------------------------------------------------------------
//  Writes the column's member of the struct at base
static int
s_encode_value (msgpack_packer *packer, const proto_msg_column_t *column, const void *base,
                char *reason)
{
    const uint8_t *at = (const uint8_t *) base + column->offset;
    switch (column->kind) {
    case PROTO_MSG_KIND_UINT: {
        uint64_t value = s_load_uint (at, column->width);
        if (value > column->limit) {
            proto_msg_fail (reason, ": %" PRIu64 " exceeds %" PRIu64, value, column->limit);
            return -1;
        }
        msgpack_pack_uint64 (packer, value);
        return 0;
    }
    case PROTO_MSG_KIND_INT:
        msgpack_pack_int64 (packer, *(const int64_t *) at);
        return 0;
    case PROTO_MSG_KIND_BOOL:
        return *(const bool *) at ? msgpack_pack_true (packer) : msgpack_pack_false (packer);
    case PROTO_MSG_KIND_STR: {
        const char *string = *(const char *const *) at;
        size_t size = string ? strlen (string) : 0;
        if (size > column->limit) {
            proto_msg_fail (reason, ": string of %zu bytes, at most %" PRIu64, size, column->limit);
            return -1;
        }
        s_pack_string (packer, string, size);
        return 0;
    }
    case PROTO_MSG_KIND_BIN16:
        s_pack_bin (packer, at, PROTO_ADDR_SIZE);
        return 0;
    case PROTO_MSG_KIND_BIN: {
        size_t size = *(const size_t *) ((const uint8_t *) base + column->size_offset);
        if (size > column->limit) {
            proto_msg_fail (reason, ": binary of %zu bytes, at most %" PRIu64, size, column->limit);
            return -1;
        }
        s_pack_bin (packer, *(const uint8_t *const *) at, size);
        return 0;
    }
    case PROTO_MSG_KIND_STATS: {
        size_t count = *(const size_t *) ((const uint8_t *) base + column->size_offset);
        const char *const *keys = (const char *const *) at;
        const int64_t *values = (const int64_t *) ((const uint8_t *) base + column->values_offset);
        if (proto_msg_check_stats (count, keys, reason))
            return -1;
        msgpack_pack_map (packer, count);
        for (size_t index = 0; index < count; index++) {
            s_pack_string (packer, keys[index], strlen (keys[index]));
            msgpack_pack_int64 (packer, values[index]);
        }
        return 0;
    }
    case PROTO_MSG_KIND_SLOTS: {
        const uint16_t *slots = *(const uint16_t *const *) at;
        if (!slots) {
            proto_msg_fail (reason, ": not set");
            return -1;
        }
        msgpack_pack_array (packer, PROTO_SLOT_COUNT);
        for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
            msgpack_pack_uint16 (packer, slots[slot]);
        return 0;
    }
    case PROTO_MSG_KIND_LIST: {
        const proto_msg_list_t *list = (const proto_msg_list_t *) at;
        const proto_msg_record_t *record = column->entry;
        msgpack_pack_array (packer, list->count);
        for (size_t index = 0; index < list->count; index++)
            if (s_encode_entry (packer, record, list->items + index * record->size, reason)) {
                proto_msg_prefix (reason, "[%zu]", index);
                return -1;
            }
        return 0;
    }
    }
    return -1;
}

//  --------------------------------------------------------------------------
zframe_t *
proto_msg_codec_encode (proto_msg_t *self, char *reason)
{
    if (self->id == PROTO_MSG_MALFORMED) {
        proto_msg_fail (reason, "MALFORMED is not a wire message");
        return NULL;
    }
    const proto_msg_spec_t *message = &proto_msg_specs[self->id];
    s_buffer_t buffer = {NULL, 0, 0};
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, s_buffer_write);
    msgpack_pack_array (&packer, 4);
    msgpack_pack_uint64 (&packer, PROTO_VERSION);
    msgpack_pack_uint64 (&packer, self->id);
    msgpack_pack_uint64 (&packer, self->request_id);
    msgpack_pack_map (&packer, (size_t) __builtin_popcountll (message->fields));
    int rc = 0;
    for (int field = 0; field < PROTO_MSG_FIELD_TOTAL && rc == 0; field++) {
        const proto_msg_column_t *column = &proto_msg_body_columns[field];
        if (!(message->fields & (UINT64_C (1) << field)))
            continue;
        s_pack_string (&packer, column->key, strlen (column->key));
        rc = s_encode_value (&packer, column, self, reason);
        if (rc)
            proto_msg_prefix (reason, "%s", column->key);
    }
    if (rc == 0)
        rc = proto_msg_check_message (self, reason);
    zframe_t *frame = rc ? NULL : zframe_new (buffer.data, buffer.size);
    if (rc)
        proto_msg_prefix (reason, "%s: ", message->name);
    free (buffer.data);
    return frame;
}
