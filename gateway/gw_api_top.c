/*  gw_api_top.c - GET /api/top?date=YYYY-MM-DD&op=sum|max|min[&port=N]: the overview.

    Every shard is asked for its top-10 lists of the day (one port, or every port it
    has); proto_answer merges them into the exact top 10 per (port, feature), since a
    host lives on one shard only.  Shards that did not answer in time are named in
    missing_shards and the answer is then not cacheable.
*/
#include "gateway/gw_api.h"

//  --------------------------------------------------------------------------
static int
s_on_req (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/api/top", GW_QUERY_TOP, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_TOP_REQUEST);
    proto_msg_set_day (request, query.day);
    proto_msg_set_op (request, (uint8_t) query.op);
    proto_msg_set_port (request, query.port);
    proto_msg_set_direction (request, query.direction);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_TOP);
    proto_answer_set_day (answer, query.day);
    proto_answer_set_op (answer, query.op);
    proto_answer_set_port (answer, query.port);
    gw_api_scatter_t options = {NULL, gw_api_cache_secs (query.day), NULL, NULL};
    gw_api_scatter (api, req, &request, &answer, &options);
    return 0;
}

//  --------------------------------------------------------------------------
void
gw_api_top_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_req);
}
