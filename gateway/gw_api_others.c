/*  gw_api_others.c - GET /api/others?ip=IP[&from=D][&to=D]: a host's traffic to the ports
    that are not monitored, day by day.

    Per day: bytes, packets and flows to every port outside the monitored set, and the
    host's top 5 of those ports by bytes (proto_answer "others").  from/to default to the
    retention window ending today, as /api/series.  Only the shard owning the host is
    asked; closed days may be cached long.
*/
#include "gateway/gw_api.h"

//  --------------------------------------------------------------------------
static int
s_on_req (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/api/others", GW_QUERY_OTHERS, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_OTHERS_REQUEST);
    proto_msg_set_host (request, &query.host);
    proto_msg_set_from (request, query.from);
    proto_msg_set_to (request, query.to);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_OTHERS);
    proto_answer_set_host (answer, &query.host);
    proto_answer_set_range (answer, query.from, query.to);
    gw_api_scatter_t options = {&query.host, gw_api_cache_secs (query.to), NULL, NULL};
    gw_api_scatter (api, req, &request, &answer, &options);
    return 0;
}

//  --------------------------------------------------------------------------
void
gw_api_others_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_req);
}
