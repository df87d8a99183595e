/*  gw_api_status.c - the operations family: GET /api/status and GET /health.

    /api/status asks the broker for STATUS and serves the document `portevo status
    --json` prints (proto_status), never cached.  /health answers from the gateway's own
    state, without asking anyone: 200 {"status":"ok","epoch":N,"shards":N,"pending":N}
    once a map arrived (the gateway can route queries), else 503 with an error.
*/
#include "gateway/gw_api.h"
#include "proto/proto_json.h"

//  --------------------------------------------------------------------------
static int
s_on_status (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/api/status", GW_QUERY_NONE, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_STATUS_REQUEST);
    gw_api_ask_broker (api, req, &request);
    return 0;
}

//  --------------------------------------------------------------------------
static int
s_on_health (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/health", GW_QUERY_NONE, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    if (!gw_scatter_has_map (api->scatter)) {
        gw_api_send_error (req, 503, "no shard map from the broker yet");
        return 0;
    }
    proto_json_t *json = proto_json_new ();
    proto_json_object_open (json);
    proto_json_key_string (json, "status", "ok");
    proto_json_key_uint (json, "epoch", gw_scatter_epoch (api->scatter));
    proto_json_key_uint (json, "shards", gw_scatter_shard_count (api->scatter));
    proto_json_key_uint (json, "pending", gw_scatter_pending_count (api->scatter));
    proto_json_object_close (json);
    gw_api_send (req, 200, GW_API_JSON, proto_json_data (json), proto_json_size (json), 0);
    proto_json_destroy (&json);
    return 0;
}

//  --------------------------------------------------------------------------
void
gw_api_status_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_status);
}

void
gw_api_health_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_health);
}
