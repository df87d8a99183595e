/*  gw_api_days.c - GET /api/days: the days some shard holds data for.

    No parameters.  Every shard is asked (DAYS_REQUEST); the answer is the union,
    ascending: {"days": ["YYYY-MM-DD", ...]}.  The list grows every day and shrinks
    with retention, so it is only cached briefly.
*/
#include "gateway/gw_api.h"

//  --------------------------------------------------------------------------
static int
s_on_req (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/api/days", GW_QUERY_NONE, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_DAYS_REQUEST);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_DAYS);
    gw_api_scatter_t options = {NULL, GW_API_CACHE_OPEN_SECS, NULL, NULL};
    gw_api_scatter (api, req, &request, &answer, &options);
    return 0;
}

//  --------------------------------------------------------------------------
void
gw_api_days_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_req);
}
