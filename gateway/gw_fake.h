/*  gw_fake.h - a fake broker, fake shards and an HTTP client, for the gateway selftests.

    The gateway's modules only make sense against peers, so their selftests run a whole
    cluster inside one libuv loop: a fake broker and fake shards (ROUTER sockets on
    tcp://127.0.0.1 ephemeral ports, each watched by a uv_poll_t like the gateway's own)
    answer with canned replies that the tests know, and a small HTTP/1.1 client talks to
    the gateway's listener over real TCP.  Not used by the gateway program.

    Canned replies (shard i of n; slot s belongs to shard s mod n):
      MAP       epoch (gw_fake_set_epoch, default 1), slots, peers "shard-i" with their
                endpoints, state "down" if gw_fake_set_down, else "up"
      STATUS    epoch and the same peers, with stats {"hosts": 100 + i}
      DAYS      {GW_FAKE_DAY + i, GW_FAKE_DAY + 10}
      TOP       for port 25 (if asked or ALL*), every feature f: one entry, host
                10.0.0.(i+1), score (i+1) * 1000 + f, annotations i
      SERIES    the echoed host/feature/op; for port 25 (if asked or ALL*) and port 22
                (if ALL*): one point per day of [from, min(to, from+1)], score
                port + day - from + 1
      HOST      known, first_seen GW_FAKE_TIME, last_seen GW_FAKE_TIME + 300, ports {25},
                one annotation {rrname "<b>x</b>\"", rrtype "PTR"}
      a host request to a shard that does not own the host: ERROR 409.
*/
#ifndef GW_FAKE_H_INCLUDED
#define GW_FAKE_H_INCLUDED

#include "proto/proto_msg.h"

#include <uv.h>

#define GW_FAKE_DAY 20412        //  2025-11-20: the first day fake shards know
#define GW_FAKE_TIME 1764236100  //  2025-11-27T09:35:00Z: the fake hosts' first_seen

typedef struct _gw_fake_t gw_fake_t;

//  Start a fake broker and shard_count fake shards served by loop.
gw_fake_t *gw_fake_new (uv_loop_t *loop, size_t shard_count);

//  Stop them; memory goes in close callbacks (run the loop afterwards).  Nulls *self_p.
void gw_fake_destroy (gw_fake_t **self_p);

//  The fake broker's endpoint (borrowed).
const char *gw_fake_broker (gw_fake_t *self);

//  A silent shard keeps requests instead of answering; release answers them (late).
void gw_fake_set_silent (gw_fake_t *self, size_t shard, bool silent);
void gw_fake_release (gw_fake_t *self, size_t shard);

//  Map contents: the shard's state "down" (still answering), the epoch.
void gw_fake_set_down (gw_fake_t *self, size_t shard, bool down);
void gw_fake_set_epoch (gw_fake_t *self, uint64_t epoch);

//  Requests a shard received so far (answered or held).
size_t gw_fake_requests (gw_fake_t *self, size_t shard);

//  Run loop until *flag is true or timeout_msecs passed.  Returns *flag.
bool gw_fake_run_until (uv_loop_t *loop, bool *flag, int timeout_msecs);

//  Send request (a whole HTTP/1.1 request, normally with "Connection: close") to
//  127.0.0.1:port, run loop until the server closes, and return everything it sent (a
//  new string; the caller frees it), or NULL if that took more than timeout_msecs.
char *gw_fake_http (uv_loop_t *loop, int port, const char *request, int timeout_msecs);

//  Selftest of the fakes themselves (tiny: they are exercised by the other tests).
void gw_fake_test (bool verbose);

#endif
