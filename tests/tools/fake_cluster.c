/*  fake_cluster.c - a stand-in broker and shards for testing portevo-ingest alone.

    Binds a broker ROUTER and N shard ROUTERs (one process, one zpoller).  The broker
    answers HELLO with WELCOME, HEARTBEAT with HEARTBEAT_ACK (epoch 1) and MAP_REQUEST
    with a MAP giving slot s to shard s mod N; it prints each heartbeat's stats to the log
    when asked (-s).  Each shard applies a PART once per (source, file, block) and answers
    PART_ACK (duplicate true for a part seen before); it writes one line per PART to the log:

        applied|duplicate SHARD SOURCE FILE BLOCK PAIRS

    -u N makes every shard answer the first N parts with ERROR 503; -x FILE makes every
    shard answer parts of FILE with ERROR 400; -d MSECS makes applying a part take that
    long (logged as applied first, acknowledged after: a window for kill -9 tests).

    Usage: fake_cluster -b BROKER_ENDPOINT -l LOG [-s] [-u N] [-x FILE] [-d MSECS] SHARD...
*/
#include "proto/proto_msg.h"

#include <getopt.h>

#define FAKE_SHARDS_MAX 8

int
main (int argc, char *argv[])
{
    const char *broker_endpoint = NULL, *log_path = NULL, *refuse = "";
    bool stats = false;
    int unavailable = 0, delay_msecs = 0, option;
    while ((option = getopt (argc, argv, "b:l:su:x:d:")) != -1) {
        if (option == 'b')
            broker_endpoint = optarg;
        else if (option == 'l')
            log_path = optarg;
        else if (option == 's')
            stats = true;
        else if (option == 'u')
            unavailable = atoi (optarg);
        else if (option == 'x')
            refuse = optarg;
        else if (option == 'd')
            delay_msecs = atoi (optarg);
        else
            return 2;
    }
    int shard_count = argc - optind;
    if (!broker_endpoint || !log_path || shard_count < 1 || shard_count > FAKE_SHARDS_MAX) {
        fprintf (
            stderr,
            "usage: fake_cluster -b BROKER -l LOG [-s] [-u N] [-x FILE] [-d MSECS] SHARD...\n");
        return 2;
    }
    FILE *log = fopen (log_path, "a");
    setvbuf (log, NULL, _IOLBF, 0);
    zsock_t *broker = zsock_new (ZMQ_ROUTER);
    proto_msg_limit_socket (broker);
    if (zsock_bind (broker, "%s", broker_endpoint) < 0)
        return 1;
    zsock_t *shards[FAKE_SHARDS_MAX];
    zpoller_t *poller = zpoller_new (broker, NULL);
    for (int index = 0; index < shard_count; index++) {
        shards[index] = zsock_new (ZMQ_ROUTER);
        proto_msg_limit_socket (shards[index]);
        if (zsock_bind (shards[index], "%s", argv[optind + index]) < 0)
            return 1;
        zpoller_add (poller, shards[index]);
    }
    zhashx_t *applied = zhashx_new ();
    while (!zsys_interrupted) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, -1);
        if (!which)
            break;
        proto_msg_t *msg = proto_msg_recv (which);
        if (!msg)
            break;
        proto_msg_t *reply = NULL;
        proto_msg_id_t id = proto_msg_id (msg);
        if (which == broker) {
            if (id == PROTO_MSG_HELLO || id == PROTO_MSG_HEARTBEAT) {
                reply = proto_msg_reply (msg, id == PROTO_MSG_HELLO ? PROTO_MSG_WELCOME
                                                                    : PROTO_MSG_HEARTBEAT_ACK);
                proto_msg_set_epoch (reply, 1);
                if (id == PROTO_MSG_HEARTBEAT && stats) {
                    fprintf (log, "stats %s", proto_msg_name (msg));
                    for (size_t index = 0; index < proto_msg_stats_count (msg); index++) {
                        const char *key;
                        int64_t value;
                        proto_msg_stats_at (msg, index, &key, &value);
                        fprintf (log, " %s=%" PRId64, key, value);
                    }
                    fprintf (log, "\n");
                }
            }
            else if (id == PROTO_MSG_MAP_REQUEST) {
                reply = proto_msg_reply (msg, PROTO_MSG_MAP);
                proto_msg_set_epoch (reply, 1);
                uint16_t slots[PROTO_SLOT_COUNT];
                for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
                    slots[slot] = (uint16_t) (slot % (size_t) shard_count);
                proto_msg_set_slots (reply, slots);
                for (int index = 0; index < shard_count; index++) {
                    char name[32];
                    snprintf (name, sizeof name, "shard-%d", index);
                    proto_peer_t peer = {"shard", name, argv[optind + index], "", "up", 0, 0, 0,
                                         {0},     {0}};
                    proto_msg_peers_append (reply, &peer);
                }
            }
        }
        else if (id == PROTO_MSG_PART) {
            int index = 0;
            while (shards[index] != which)
                index++;
            if (unavailable > 0) {
                unavailable--;
                reply = proto_msg_reply (msg, PROTO_MSG_ERROR);
                proto_msg_set_code (reply, PROTO_ERROR_UNAVAILABLE);
                proto_msg_set_text (reply, "fake: not yet");
            }
            else if (streq (proto_msg_file (msg), refuse)) {
                reply = proto_msg_reply (msg, PROTO_MSG_ERROR);
                proto_msg_set_code (reply, PROTO_ERROR_MALFORMED);
                proto_msg_set_text (reply, "fake: refused");
            }
            else {
                char *key = zsys_sprintf ("%d %s %s %" PRId64, index, proto_msg_source (msg),
                                          proto_msg_file (msg), proto_msg_block (msg));
                bool duplicate = zhashx_lookup (applied, key) != NULL;
                zhashx_update (applied, key, (void *) 1);
                fprintf (log, "%s shard-%d %s %s %" PRId64 " %zu\n",
                         duplicate ? "duplicate" : "applied", index, proto_msg_source (msg),
                         proto_msg_file (msg), proto_msg_block (msg), proto_msg_pairs_count (msg));
                zstr_free (&key);
                if (!duplicate && delay_msecs)
                    zclock_sleep (delay_msecs);
                reply = proto_msg_reply (msg, PROTO_MSG_PART_ACK);
                proto_msg_set_source (reply, proto_msg_source (msg));
                proto_msg_set_file (reply, proto_msg_file (msg));
                proto_msg_set_block (reply, proto_msg_block (msg));
                proto_msg_set_duplicate (reply, duplicate);
            }
        }
        if (reply)
            proto_msg_send (&reply, which);
        proto_msg_destroy (&msg);
    }
    zhashx_destroy (&applied);
    zpoller_destroy (&poller);
    for (int index = 0; index < shard_count; index++)
        zsock_destroy (&shards[index]);
    zsock_destroy (&broker);
    fclose (log);
    return 0;
}
