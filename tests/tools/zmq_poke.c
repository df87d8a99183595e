/*  zmq_poke.c - test tool: raw frames to a ROUTER, and a stand-in peer for the broker.

        zmq_poke ENDPOINT HEX [--timeout MSECS]       send the bytes as one frame
        zmq_poke ENDPOINT --size N [--timeout MSECS]  send N bytes (0xc1, never valid msgpack)
        zmq_poke ENDPOINT --status [--timeout MSECS]  send a well-formed STATUS_REQUEST
        zmq_poke ENDPOINT --map [--timeout MSECS]     send MAP_REQUEST, print the slots too
        zmq_poke ENDPOINT --peer ROLE NAME [EP]       say HELLO, then HEARTBEAT every
                                                      PROTO_HEARTBEAT_MSECS until SIGTERM

    The first three send over a DEALER (with PROTO_FRAME_MAX as its ZMQ_MAXMSGSIZE, like
    every portevo socket) and print the reply decoded on one line, e.g.
    "ERROR 400 version 2, expected 1", "STATUS epoch 3 peers 4" or "MAP epoch 3 peers 4
    slots 0,1,2,0,..."; exit 0 if a reply came,
    1 if none came within the timeout (default 2000 msecs), 2 for a usage error.  HEX is
    hex digits, spaces allowed ("94 02 07 00 80").  The peer mode lets a system test stand
    in for a process that does not exist yet; it says HELLO again after an ERROR 404.
*/
#include "proto/proto_msg.h"

static int
s_usage (void)
{
    fprintf (stderr, "usage: zmq_poke ENDPOINT (HEX | --size N | --status | --map) "
                     "[--timeout MSECS]\n"
                     "       zmq_poke ENDPOINT --peer ROLE NAME [ENDPOINT_OF_PEER]\n");
    return 2;
}

//  Hex text to a new frame; NULL if it is not hex.
static zframe_t *
s_frame_from_hex (const char *text)
{
    size_t size = 0;
    uint8_t *bytes = (uint8_t *) zmalloc (strlen (text) / 2 + 1);
    int high = -1;
    for (const char *cursor = text; *cursor; cursor++) {
        if (isspace ((unsigned char) *cursor))
            continue;
        if (!isxdigit ((unsigned char) *cursor)) {
            free (bytes);
            return NULL;
        }
        int digit = isdigit ((unsigned char) *cursor)
                        ? *cursor - '0'
                        : tolower ((unsigned char) *cursor) - 'a' + 10;
        if (high < 0)
            high = digit;
        else {
            bytes[size++] = (uint8_t) (high << 4 | digit);
            high = -1;
        }
    }
    zframe_t *frame = high < 0 ? zframe_new (bytes, size) : NULL;
    free (bytes);
    return frame;
}

//  Print a reply on one line.
static void
s_print (proto_msg_t *reply)
{
    proto_msg_id_t id = proto_msg_id (reply);
    if (id == PROTO_MSG_ERROR)
        printf ("ERROR %u %s\n", proto_msg_code (reply), proto_msg_text (reply));
    else if (id == PROTO_MSG_MALFORMED)
        printf ("MALFORMED %s\n", proto_msg_text (reply));
    else if (id == PROTO_MSG_STATUS || id == PROTO_MSG_MAP) {
        printf ("%s epoch %" PRIu64 " peers %zu", proto_msg_id_name (id), proto_msg_epoch (reply),
                proto_msg_peers_count (reply));
        const uint16_t *slots = id == PROTO_MSG_MAP ? proto_msg_slots (reply) : NULL;
        for (size_t slot = 0; slots && slot < PROTO_SLOT_COUNT; slot++)
            printf (slot ? ",%u" : " slots %u", slots[slot]);
        printf ("\n");
    }
    else
        printf ("%s\n", proto_msg_id_name (id));
}

//  Wait for one reply; NULL after timeout_msecs.
static proto_msg_t *
s_receive (zsock_t *dealer, int timeout_msecs)
{
    zpoller_t *poller = zpoller_new (dealer, NULL);
    proto_msg_t *reply = zpoller_wait (poller, timeout_msecs) ? proto_msg_recv (dealer) : NULL;
    zpoller_destroy (&poller);
    return reply;
}

//  The stand-in peer: HELLO, then heartbeats until interrupted.
static int
s_peer (zsock_t *dealer, const char *role, const char *name, const char *endpoint)
{
    bool registered = false;
    while (!zsys_interrupted) {
        proto_msg_t *request = proto_msg_new (registered ? PROTO_MSG_HEARTBEAT : PROTO_MSG_HELLO);
        proto_msg_set_role (request, role);
        proto_msg_set_name (request, name);
        if (!registered) {
            proto_msg_set_endpoint (request, endpoint);
            proto_msg_set_spool (request, "");
        }
        else
            proto_msg_stats_set (request, "hosts", 0);
        proto_msg_send (&request, dealer);
        proto_msg_t *reply = s_receive (dealer, PROTO_HEARTBEAT_MSECS);
        proto_msg_id_t id = reply ? proto_msg_id (reply) : PROTO_MSG_MALFORMED;
        registered = id == PROTO_MSG_WELCOME || id == PROTO_MSG_HEARTBEAT_ACK;
        proto_msg_destroy (&reply);
        zclock_sleep (registered ? PROTO_HEARTBEAT_MSECS : 200);
    }
    return 0;
}

int
main (int argc, char *argv[])
{
    if (argc < 3)
        return s_usage ();
    const char *endpoint = argv[1];
    int timeout_msecs = 2000;
    if (argc >= 5 && streq (argv[argc - 2], "--timeout")) {
        timeout_msecs = atoi (argv[argc - 1]);
        argc -= 2;
    }
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (dealer);
    proto_msg_limit_socket (dealer);
    if (zsock_connect (dealer, "%s", endpoint)) {
        fprintf (stderr, "zmq_poke: bad endpoint %s\n", endpoint);
        zsock_destroy (&dealer);
        return 2;
    }
    int rc = 2;
    zframe_t *frame = NULL;
    if (streq (argv[2], "--peer") && (argc == 5 || argc == 6)) {
        rc = s_peer (dealer, argv[3], argv[4], argc == 6 ? argv[5] : "");
        zsock_destroy (&dealer);
        return rc;
    }
    if (streq (argv[2], "--size") && argc == 4) {
        size_t size = strtoull (argv[3], NULL, 10);
        frame = zframe_new (NULL, size);
        if (frame)
            memset (zframe_data (frame), 0xc1, size);
    }
    else if ((streq (argv[2], "--status") || streq (argv[2], "--map")) && argc == 3) {
        proto_msg_t *request = proto_msg_new (streq (argv[2], "--map") ? PROTO_MSG_MAP_REQUEST
                                                                       : PROTO_MSG_STATUS_REQUEST);
        frame = proto_msg_encode (request);
        proto_msg_destroy (&request);
    }
    else if (argc == 3)
        frame = s_frame_from_hex (argv[2]);
    if (!frame) {
        zsock_destroy (&dealer);
        return s_usage ();
    }
    zframe_send (&frame, dealer, 0);
    proto_msg_t *reply = s_receive (dealer, timeout_msecs);
    if (reply) {
        s_print (reply);
        rc = 0;
    }
    else {
        printf ("no reply\n");
        rc = 1;
    }
    proto_msg_destroy (&reply);
    zsock_destroy (&dealer);
    return rc;
}
