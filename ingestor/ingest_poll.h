/*  ingest_poll.h - a ZeroMQ socket on the libuv loop.

    libzmq gives each socket a descriptor (zsock_fd) that becomes readable when the
    socket's events may have changed.  It is edge-triggered: the callback must drain the
    socket while zsock_events () says ZMQ_POLLIN, and a send can swallow the edge, so the
    owner drains again after sending (the ingestor also drains every socket before the
    loop sleeps, from a uv_prepare_t).  STYLE.md section 7.

    The uv_poll_t lives on the heap until libuv has closed it, so ingest_poll_destroy can
    be called at any time, also from inside the callback; the socket must outlive only
    the ingest_poll_destroy call (libuv stops watching the descriptor at once).
*/
#ifndef INGEST_POLL_H_INCLUDED
#define INGEST_POLL_H_INCLUDED

#include <czmq.h>
#include <uv.h>

typedef struct _ingest_poll_t ingest_poll_t;

//  Called on the loop thread when sock may have input; the callee drains it.
typedef void (ingest_poll_fn) (void *arg);

//  Watch sock on loop.  NULL if libuv refuses the descriptor (logged).
ingest_poll_t *ingest_poll_new (uv_loop_t *loop, zsock_t *sock, ingest_poll_fn *ready, void *arg);

//  Stop watching (at once) and free the handle once libuv closed it.  NULL-safe.
void ingest_poll_destroy (ingest_poll_t **self_p);

#endif
