/*  shard_move.c - a shard's side of a slot move (see shard_move.h).
 */
#include "shard/shard_move.h"
#include "shard/shard_slots.h"

#include <stdarg.h>

static proto_msg_t *
s_error (proto_msg_t *request, uint16_t code, const char *format, ...)
{
    char text[PROTO_TEXT_MAX + 1];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    zsys_warning ("%s: %s", proto_msg_id_name (proto_msg_id (request)), text);
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_ERROR);
    proto_msg_set_code (reply, code);
    proto_msg_set_text (reply, text);
    return reply;
}

//  A store failure as an ERROR reply
static proto_msg_t *
s_store_error (shard_store_t *store, proto_msg_t *request, int rc)
{
    uint16_t code = rc == SHARD_STORE_INVALID ? PROTO_ERROR_UNAVAILABLE
                    : rc == SHARD_STORE_FULL  ? PROTO_ERROR_STORE_FULL
                                              : PROTO_ERROR_INTERNAL;
    return s_error (request, code, "%s", shard_store_error (store));
}

//  SLOTS_DONE after an import or a delete, logged
static proto_msg_t *
s_done (proto_msg_t *request, const char *what, const shard_slots_count_t *count)
{
    zsys_notice ("move: %s %llu records and %llu rows, %llu top lists rebuilt, %llu open "
                 "blocks united",
                 what, (unsigned long long) count->records, (unsigned long long) count->rows,
                 (unsigned long long) count->lists, (unsigned long long) count->blocks);
    proto_msg_t *reply = proto_msg_reply (request, PROTO_MSG_SLOTS_DONE);
    proto_msg_set_count (reply, (uint32_t) (count->records + count->rows));
    return reply;
}

proto_msg_t *
shard_move_handle (shard_store_t *store, proto_msg_t *request, const bool *owned,
                   uint64_t map_epoch, bool *map_stale)
{
    assert (store && request && owned && map_stale);
    *map_stale = false;
    proto_msg_id_t id = proto_msg_id (request);
    shard_slots_t slots;
    shard_slots_count_t count;
    int rc;
    if (id == PROTO_MSG_SLOTS_IMPORT) {
        size_t size;
        const uint8_t *data = proto_msg_data (request, &size);
        rc = shard_slots_import (store, data, size, &count);
        if (rc == SHARD_STORE_INVALID)
            return s_error (request, PROTO_ERROR_INVALID, "%s", shard_store_error (store));
        if (rc == SHARD_SLOTS_BUSY)
            return s_error (request, PROTO_ERROR_UNAVAILABLE, "%s", shard_store_error (store));
        if (rc)
            return s_store_error (store, request, rc);
        return s_done (request, "imported", &count);
    }
    const uint8_t *slotset = proto_msg_slotset (request);
    if (!slotset)
        return s_error (request, PROTO_ERROR_INVALID, "slotset must be %d bytes",
                        PROTO_SLOTSET_SIZE);
    memcpy (slots.bits, slotset, sizeof slots.bits);
    if (id == PROTO_MSG_SLOTS_EXPORT) {
        shard_buffer_t out = {NULL, 0, 0};
        rc = shard_slots_export (store, &slots, &out, &count);
        proto_msg_t *reply;
        if (rc)
            reply = s_store_error (store, request, rc);
        else if (out.size > PROTO_SLOTS_DATA_MAX)
            reply = s_error (request, PROTO_ERROR_INTERNAL,
                             "the slots' data (%zu bytes) is longer than a message", out.size);
        else {
            zsys_notice ("move: exported %llu records and %llu rows, %llu open blocks (%zu "
                         "bytes)",
                         (unsigned long long) count.records, (unsigned long long) count.rows,
                         (unsigned long long) count.blocks, out.size);
            reply = proto_msg_reply (request, PROTO_MSG_SLOTS_DATA);
            proto_msg_set_count (reply, (uint32_t) (count.records + count.rows));
            proto_msg_set_data (reply, out.data, out.size);
        }
        shard_buffer_free (&out);
        return reply;
    }
    //  SLOTS_DELETE: only slots our map gives to another shard
    if (proto_msg_epoch (request) > map_epoch) {
        *map_stale = true;
        return s_error (request, PROTO_ERROR_UNAVAILABLE, "map epoch %llu is older than %llu",
                        (unsigned long long) map_epoch,
                        (unsigned long long) proto_msg_epoch (request));
    }
    for (uint32_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        if (shard_slots_has (&slots, slot) && owned[slot])
            return s_error (request, PROTO_ERROR_WRONG_SHARD, "slot %u is still ours", slot);
    rc = shard_slots_delete (store, &slots, &count);
    if (rc)
        return s_store_error (store, request, rc);
    return s_done (request, "deleted", &count);
}
