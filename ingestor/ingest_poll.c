/*  ingest_poll.c - a ZeroMQ socket on the libuv loop (see ingest_poll.h).
 */
#include "ingestor/ingest_poll.h"

#include <assert.h>

struct _ingest_poll_t {
    uv_poll_t handle;       //  Watches zsock_fd; handle.data points here
    ingest_poll_fn *ready;  //  Owner's drain callback
    void *arg;              //  Its argument
};

static void
s_on_poll (uv_poll_t *handle, int status, int events)
{
    (void) events;
    ingest_poll_t *self = (ingest_poll_t *) handle->data;
    if (status < 0)
        zsys_warning ("poll: %s", uv_strerror (status));
    self->ready (self->arg);  //  Drain in any case: the edge may be all we get
}

static void
s_on_closed (uv_handle_t *handle)
{
    free (handle->data);
}

//  --------------------------------------------------------------------------
ingest_poll_t *
ingest_poll_new (uv_loop_t *loop, zsock_t *sock, ingest_poll_fn *ready, void *arg)
{
    assert (loop);
    assert (sock);
    assert (ready);
    ingest_poll_t *self = (ingest_poll_t *) zmalloc (sizeof (ingest_poll_t));
    assert (self);
    self->ready = ready;
    self->arg = arg;
    self->handle.data = self;
    int rc = uv_poll_init (loop, &self->handle, zsock_fd (sock));
    if (rc) {
        zsys_error ("poll: cannot watch a socket: %s", uv_strerror (rc));
        free (self);
        return NULL;
    }
    rc = uv_poll_start (&self->handle, UV_READABLE, s_on_poll);
    if (rc) {
        zsys_error ("poll: cannot watch a socket: %s", uv_strerror (rc));
        uv_close ((uv_handle_t *) &self->handle, s_on_closed);
        return NULL;
    }
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_poll_destroy (ingest_poll_t **self_p)
{
    assert (self_p);
    ingest_poll_t *self = *self_p;
    if (!self)
        return;
    uv_poll_stop (&self->handle);
    uv_close ((uv_handle_t *) &self->handle, s_on_closed);
    *self_p = NULL;
}
