/*  proto_status.h - the cluster status document, from the broker's STATUS reply.

    `portevo status --json` prints it and the gateway serves it as GET /api/status, so
    both must print it byte for byte alike: it lives in proto/ with the other answer
    documents (proto_answer.h).  Its shape (compact, no white space in the real output):

        {"broker": "tcp://127.0.0.1:5570",       the endpoint asked
         "epoch": 5,                             the map's epoch
         "slots": 1024,                          slots in the map (PROTO_SLOT_COUNT)
         "shards": [                             in slot-map index order
           {"name": "shard-0", "state": "up",    "up", "down" or "unknown" (not seen
                                                 since the broker started)
            "endpoint": "tcp://127.0.0.1:5571", "slots": 512,
            "age_msecs": 230,                    since the last heartbeat; null if unknown
            "hosts": 1234, "rows": 5678, "lmdb_bytes": 1048576, "map_bytes": 68719476736,
            "parts_applied": 42, "open_blocks": 1,
            "last_block": "2026-11-20T10:05:00Z",
            "stats": {"hosts": 1234, ...}}],     every stat as the shard reported it
         "ingestors": [                          in registration order
           {"name": "router1", "state": "up", "spool": "/var/cache/nfdump/router1",
            "age_msecs": 120, "files_done": 12, "files_pending": 0, "files_failed": 0,
            "flows_per_sec": 35000, "lag_secs": 40,
            "last_block": "2026-11-20T10:05:00Z",
            "stats": {...}}]}

    A documented stat (PROTOCOL.md "Status stats keys") the peer did not report is null;
    last_block is null when absent or 0.
*/
#ifndef PROTO_STATUS_H_INCLUDED
#define PROTO_STATUS_H_INCLUDED

#include "proto/proto_msg.h"

//  The document above for a STATUS message (borrowed) from the broker at endpoint
//  broker: a new string the caller frees with free.
char *proto_status_json (proto_msg_t *status, const char *broker);

//  Selftest
void proto_status_test (bool verbose);

#endif
