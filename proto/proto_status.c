/*  proto_status.c - the cluster status document, from the broker's STATUS reply.

    Shards and ingestors come in the order of the STATUS peers (shards first, in map
    order; then ingestors in registration order), each with its documented stats
    promoted to named members and every stat again under "stats".
*/
#include "proto/proto_status.h"
#include "proto/proto_json.h"

//  Documented stats (PROTOCOL.md "Status stats keys"), in output order, last_block apart.
static const char *s_shard_stats[] = {"hosts",         "rows",        "lmdb_bytes", "map_bytes",
                                      "parts_applied", "open_blocks", "old_parts",  NULL};
static const char *s_ingestor_stats[] = {
    "files_done", "files_pending", "files_failed", "files_too_old", "flows_per_sec", "lag_secs",
    NULL};

//  --------------------------------------------------------------------------
static void
s_json_peer (proto_json_t *json, const proto_peer_t *peer, bool is_shard)
{
    proto_json_object_open (json);
    proto_json_key_string (json, "name", peer->name);
    proto_json_key_string (json, "state", peer->state);
    if (is_shard) {
        proto_json_key_string (json, "endpoint", peer->endpoint);
        proto_json_key_uint (json, "slots", peer->slots);
    }
    else
        proto_json_key_string (json, "spool", peer->spool);
    proto_json_key (json, "age_msecs");
    if (streq (peer->state, "unknown"))
        proto_json_null (json);
    else
        proto_json_uint (json, peer->age_msecs);
    int64_t value;
    for (const char **key = is_shard ? s_shard_stats : s_ingestor_stats; *key; key++) {
        proto_json_key (json, *key);
        if (proto_peer_stat (peer, *key, &value))
            proto_json_int (json, value);
        else
            proto_json_null (json);
    }
    char time_text[32];
    proto_json_key (json, "last_block");
    if (proto_peer_stat (peer, "last_block", &value) && value > 0)
        proto_json_string (json, proto_time_format (value, time_text));
    else
        proto_json_null (json);
    proto_json_key (json, "stats");
    proto_json_object_open (json);
    for (size_t index = 0; index < peer->stat_count; index++)
        proto_json_key_int (json, peer->stat_keys[index], peer->stat_values[index]);
    proto_json_object_close (json);
    proto_json_object_close (json);
}

//  --------------------------------------------------------------------------
char *
proto_status_json (proto_msg_t *status, const char *broker)
{
    assert (status);
    assert (broker);
    proto_json_t *json = proto_json_new ();
    proto_json_object_open (json);
    proto_json_key_string (json, "broker", broker);
    proto_json_key_uint (json, "epoch", proto_msg_epoch (status));
    proto_json_key_uint (json, "slots", PROTO_SLOT_COUNT);
    for (int pass = 0; pass < 2; pass++) {
        bool shards = pass == 0;
        proto_json_key (json, shards ? "shards" : "ingestors");
        proto_json_array_open (json);
        for (size_t index = 0; index < proto_msg_peers_count (status); index++) {
            proto_peer_t peer;
            proto_msg_peers_at (status, index, &peer);
            if (streq (peer.role, "shard") == shards)
                s_json_peer (json, &peer, shards);
        }
        proto_json_array_close (json);
    }
    proto_json_object_close (json);
    char *text = proto_json_take (json);
    proto_json_destroy (&json);
    return text;
}

//  --------------------------------------------------------------------------
void
proto_status_test (bool verbose)
{
    printf (" * proto_status: ");
    proto_msg_t *status = proto_msg_new (PROTO_MSG_STATUS);
    proto_msg_set_epoch (status, 5);
    proto_peer_t shard = {"shard",
                          "shard-0",
                          "tcp://127.0.0.1:5571",
                          "",
                          "up",
                          512,
                          230,
                          2,
                          {"hosts", "last_block"},
                          {1234, 1764236100}};
    proto_peer_t silent = {"shard", "shard-1", "", "", "unknown", 512, 0, 0, {NULL}, {0}};
    proto_peer_t ingestor = {"ingestor", "r\"1", "", "/spool",     "down",
                             0,          4000,   1,  {"lag_secs"}, {40}};
    proto_msg_peers_append (status, &ingestor);
    proto_msg_peers_append (status, &shard);
    proto_msg_peers_append (status, &silent);
    char *text = proto_status_json (status, "tcp://127.0.0.1:5570");
    const char *expected =
        "{\"broker\":\"tcp://127.0.0.1:5570\",\"epoch\":5,\"slots\":1024,\"shards\":["
        "{\"name\":\"shard-0\",\"state\":\"up\",\"endpoint\":\"tcp://127.0.0.1:5571\","
        "\"slots\":512,\"age_msecs\":230,\"hosts\":1234,\"rows\":null,\"lmdb_bytes\":null,"
        "\"map_bytes\":null,\"parts_applied\":null,\"open_blocks\":null,\"old_parts\":null,"
        "\"last_block\":\"2025-11-27T09:35:00Z\",\"stats\":{\"hosts\":1234,"
        "\"last_block\":1764236100}},"
        "{\"name\":\"shard-1\",\"state\":\"unknown\",\"endpoint\":\"\",\"slots\":512,"
        "\"age_msecs\":null,\"hosts\":null,\"rows\":null,\"lmdb_bytes\":null,"
        "\"map_bytes\":null,\"parts_applied\":null,\"open_blocks\":null,\"old_parts\":null,"
        "\"last_block\":null,"
        "\"stats\":{}}],"
        "\"ingestors\":[{\"name\":\"r\\\"1\",\"state\":\"down\",\"spool\":\"/spool\","
        "\"age_msecs\":4000,\"files_done\":null,\"files_pending\":null,\"files_failed\":null,"
        "\"files_too_old\":null,\"flows_per_sec\":null,\"lag_secs\":40,\"last_block\":null,"
        "\"stats\":{\"lag_secs\":40}}]}";
    if (verbose || !streq (text, expected))
        printf ("\n    %s\n    %s\n", text, expected);
    assert (streq (text, expected));
    free (text);
    proto_msg_destroy (&status);
    printf ("OK\n");
}
