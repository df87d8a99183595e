/*  proto_msg.c - every message on the wire: the class's lifecycle, memory and sockets.

    proto_msg (see proto_msg.h) is split in five files: this one (lifecycle, owned
    memory, the encode/decode entry points, sending and receiving over ZeroMQ),
    proto_msg_fields.c (the accessors), proto_msg_table.c (which keys each message id
    carries, their wire types, limits and cross-field rules), proto_msg_codec.c (the
    msgpack encoder and decoder driven by that table) and proto_msg_test.c (the
    selftest); proto_msg_codec.h is private to them.

    Memory: a message owns its strings, appended blobs and slots in an arena (a list of
    chunks freed together by proto_msg_destroy), so setters and appends copy without a
    malloc each, and a list entry's pointers stay valid until the message is destroyed.
    A received PART keeps its frame: the pairs' peer blobs point into it, uncopied.
*/
#include "proto/proto_msg_codec.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CHUNK_SIZE 65536  //  Bytes of an arena chunk (a larger blob gets its own)

//  Owned memory: chunks freed together when the message is destroyed
typedef struct _proto_msg_chunk_t {
    struct _proto_msg_chunk_t *next;  //  Older chunk
    size_t size;                      //  Bytes at data
    size_t used;                      //  Bytes handed out
    uint8_t data[];                   //  8-aligned (three 8-byte members before it)
} s_chunk_t;

//  --------------------------------------------------------------------------
//  Owned memory

void *
proto_msg_alloc (proto_msg_t *self, size_t size)
{
    size = (size + 7) & ~(size_t) 7;
    s_chunk_t *chunk = self->arena;
    if (!chunk || chunk->size - chunk->used < size) {
        size_t chunk_size = size > S_CHUNK_SIZE ? size : S_CHUNK_SIZE;
        chunk = (s_chunk_t *) malloc (sizeof (s_chunk_t) + chunk_size);
        assert (chunk);
        chunk->size = chunk_size;
        chunk->used = 0;
        chunk->next = self->arena;
        self->arena = chunk;
    }
    void *memory = chunk->data + chunk->used;
    chunk->used += size;
    return memory;
}

//  --------------------------------------------------------------------------
const char *
proto_msg_strndup (proto_msg_t *self, const char *string, size_t size)
{
    char *copy = (char *) proto_msg_alloc (self, size + 1);
    memcpy (copy, string, size);
    copy[size] = 0;
    return copy;
}

//  --------------------------------------------------------------------------
//  A new zeroed entry at the end of list
void *
proto_msg_list_push (proto_msg_list_t *list, size_t item_size)
{
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 16;
        list->items = (uint8_t *) realloc (list->items, list->capacity * item_size);
        assert (list->items);
    }
    void *item = list->items + list->count++ * item_size;
    memset (item, 0, item_size);
    return item;
}

//  --------------------------------------------------------------------------
void
proto_msg_list_reserve (proto_msg_list_t *list, size_t count, size_t item_size)
{
    if (count <= list->capacity)
        return;
    list->capacity = count;
    list->items = (uint8_t *) realloc (list->items, list->capacity * item_size);
    assert (list->items);
}

//  --------------------------------------------------------------------------
//  Lifecycle

bool
proto_msg_id_known (unsigned id)
{
    return id >= 1 && id <= PROTO_MSG_ID_MAX && proto_msg_specs[id].name;
}

proto_msg_t *
proto_msg_new (proto_msg_id_t id)
{
    assert ((unsigned) id <= PROTO_MSG_ID_MAX && proto_msg_specs[id].name);
    proto_msg_t *self = (proto_msg_t *) zmalloc (sizeof (proto_msg_t));
    assert (self);
    self->id = id;
    return self;
}

//  --------------------------------------------------------------------------
void
proto_msg_destroy (proto_msg_t **self_p)
{
    assert (self_p);
    proto_msg_t *self = *self_p;
    if (!self)
        return;
    zframe_destroy (&self->frame);
    while (self->arena) {
        s_chunk_t *next = self->arena->next;
        free (self->arena);
        self->arena = next;
    }
    proto_msg_list_t *lists[] = {
        &self->peers,   &self->pairs,  &self->entries, &self->points, &self->annotations,
        &self->ports,   &self->days,   &self->capped,  &self->others, &self->other_ports,
        &self->changes, &self->sparks, &self->pairs_in};
    for (size_t index = 0; index < sizeof lists / sizeof lists[0]; index++)
        free (lists[index]->items);
    zframe_destroy (&self->routing_id);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
proto_msg_t *
proto_msg_reply (proto_msg_t *request, proto_msg_id_t reply_id)
{
    assert (request);
    proto_msg_t *reply = proto_msg_new (reply_id);
    reply->request_id = request->request_id;
    proto_msg_set_routing_id (reply, request->routing_id);
    return reply;
}

//  --------------------------------------------------------------------------
proto_msg_id_t
proto_msg_id (proto_msg_t *self)
{
    assert (self);
    return self->id;
}

//  --------------------------------------------------------------------------
const char *
proto_msg_id_name (proto_msg_id_t id)
{
    return (unsigned) id <= PROTO_MSG_ID_MAX && proto_msg_specs[id].name ? proto_msg_specs[id].name
                                                                         : "UNKNOWN";
}

//  --------------------------------------------------------------------------
uint64_t
proto_msg_request_id (proto_msg_t *self)
{
    assert (self);
    return self->request_id;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_request_id (proto_msg_t *self, uint64_t request_id)
{
    assert (self);
    self->request_id = request_id;
}

//  --------------------------------------------------------------------------
zframe_t *
proto_msg_routing_id (proto_msg_t *self)
{
    assert (self);
    return self->routing_id;
}

//  --------------------------------------------------------------------------
void
proto_msg_set_routing_id (proto_msg_t *self, zframe_t *routing_id)
{
    assert (self);
    zframe_destroy (&self->routing_id);
    if (routing_id)
        self->routing_id = zframe_dup (routing_id);
}

//  --------------------------------------------------------------------------
//  Codec entry points

zframe_t *
proto_msg_encode (proto_msg_t *self)
{
    assert (self);
    char reason[PROTO_MSG_REASON_MAX];
    return proto_msg_codec_encode (self, reason);
}

//  --------------------------------------------------------------------------
int
proto_msg_decode (const void *data, size_t size, proto_msg_t **msg_p, char *error,
                  size_t error_size)
{
    assert (data || size == 0);
    assert (msg_p);
    //  The message may keep pointers into its frame: decode a copy it can own
    zframe_t *frame = zframe_new (data, size);
    char reason[PROTO_MSG_REASON_MAX];
    uint64_t request_id = 0;
    int rc = proto_msg_codec_decode (zframe_data (frame), size, msg_p, &request_id, reason);
    if (rc == 0 && (*msg_p)->borrows)
        (*msg_p)->frame = frame;
    else
        zframe_destroy (&frame);
    if (rc && error && error_size)
        snprintf (error, error_size, "%s", reason);
    return rc;
}

//  --------------------------------------------------------------------------
int
proto_msg_send (proto_msg_t **self_p, zsock_t *sock)
{
    assert (self_p);
    assert (*self_p);
    assert (sock);
    proto_msg_t *self = *self_p;
    char reason[PROTO_MSG_REASON_MAX];
    zframe_t *frame = proto_msg_codec_encode (self, reason);
    int rc = -1;
    if (!frame)
        zsys_error ("proto_msg: cannot encode: %s", reason);
    else if (zsock_type (sock) == ZMQ_ROUTER && !self->routing_id)
        zsys_error ("proto_msg: %s on a ROUTER without a routing id",
                    proto_msg_specs[self->id].name);
    else {
        rc = 0;
        if (zsock_type (sock) == ZMQ_ROUTER)
            rc = zframe_send (&self->routing_id, sock, ZFRAME_MORE);
        if (rc == 0)
            rc = zframe_send (&frame, sock, 0);
        if (rc)
            zsys_warning ("proto_msg: send %s failed: %s", proto_msg_specs[self->id].name,
                          zmq_strerror (zmq_errno ()));
    }
    zframe_destroy (&frame);
    proto_msg_destroy (self_p);
    return rc;
}

//  --------------------------------------------------------------------------
proto_msg_t *
proto_msg_recv (zsock_t *sock)
{
    assert (sock);
    zmsg_t *zmsg = zmsg_recv (sock);
    if (!zmsg)
        return NULL;
    bool router = zsock_type (sock) == ZMQ_ROUTER;
    size_t frames = zmsg_size (zmsg);
    zframe_t *routing_id = router ? zmsg_pop (zmsg) : NULL;
    zframe_t *frame = zmsg_pop (zmsg);
    char reason[PROTO_MSG_REASON_MAX];
    uint64_t request_id = 0;
    proto_msg_t *self = NULL;
    if (frames != (router ? 2u : 1u))
        proto_msg_fail (reason, "expected %s, got %zu frames",
                        router ? "[routing id, frame]" : "one frame", frames);
    else if (proto_msg_codec_decode (zframe_data (frame), zframe_size (frame), &self, &request_id,
                                     reason) == 0 &&
             self->borrows) {
        self->frame = frame;
        frame = NULL;
    }
    if (!self) {
        self = proto_msg_new (PROTO_MSG_MALFORMED);
        self->request_id = request_id;
        self->text = proto_msg_strndup (self, reason, strlen (reason));
    }
    self->routing_id = routing_id;
    zframe_destroy (&frame);
    zmsg_destroy (&zmsg);
    return self;
}

//  --------------------------------------------------------------------------
void
proto_msg_limit_socket (zsock_t *sock)
{
    assert (sock);
    zsock_set_maxmsgsize (sock, (int) PROTO_FRAME_MAX);
}

//  --------------------------------------------------------------------------
void
proto_msg_limit_socket_small (zsock_t *sock)
{
    assert (sock);
    zsock_set_maxmsgsize (sock, (int) PROTO_FRAME_SMALL_MAX);
}

//  The selftest, proto_msg_test, is in proto_msg_test.c.
