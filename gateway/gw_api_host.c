/*  gw_api_host.c - GET /api/host?ip=IP: first and last seen, ports and annotations.

    Only the shard owning the host is asked.  Last seen moves with every block, so the
    answer is only cached briefly; 503 if that shard did not answer.
*/
#include "gateway/gw_api.h"

//  --------------------------------------------------------------------------
static int
s_on_req (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/api/host", GW_QUERY_HOST, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_HOST_REQUEST);
    proto_msg_set_host (request, &query.host);
    proto_msg_set_direction (request, query.direction);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_HOST);
    proto_answer_set_host (answer, &query.host);
    gw_api_scatter_t options = {&query.host, GW_API_CACHE_OPEN_SECS, NULL, NULL};
    gw_api_scatter (api, req, &request, &answer, &options);
    return 0;
}

//  --------------------------------------------------------------------------
void
gw_api_host_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_req);
}
