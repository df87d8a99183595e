/*  gw_api_changes.c - GET /api/changes?date=YYYY-MM-DD[&op=][&k=][&window=]: what changed;
    GET /api/sparks?date=YYYY-MM-DD[&op=][&days=]: the overview's sparklines.

    Every shard is asked once (CHANGES_REQUEST) for the facts about its own hosts: its
    top entries of the day with their median over the window, its top entries of the day
    before, its first-ever pairs of the day.  proto_changes merges them into the exact
    top 10s of both days and decides and ranks the rows (gateway/API.md).  Shards that
    did not answer in time are named in missing_shards, as for /api/top.  The sparklines
    are the same request with `spark` days: each shard answers its top entries of the day
    with their scores of the days before, so the overview's 480 sparklines cost one
    request, not one series per row.
*/
#include "gateway/gw_api.h"

//  --------------------------------------------------------------------------
static int
s_on_req (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/api/changes", GW_QUERY_CHANGES, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    uint32_t k = query.k ? query.k : api->changes_k;
    uint32_t window = query.window ? query.window : MIN (api->changes_window, api->retention_days);
    proto_msg_t *request = proto_msg_new (PROTO_MSG_CHANGES_REQUEST);
    proto_msg_set_day (request, query.day);
    proto_msg_set_op (request, (uint8_t) query.op);
    proto_msg_set_from (request, query.day > window ? query.day - window : 0);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_CHANGES);
    proto_changes_set (proto_answer_changes (answer), query.day, query.op, k, window);
    gw_api_scatter_t options = {NULL, gw_api_cache_secs (query.day), NULL, NULL};
    gw_api_scatter (api, req, &request, &answer, &options);
    return 0;
}

//  --------------------------------------------------------------------------
static int
s_on_sparks (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/api/sparks", GW_QUERY_SPARKS, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_CHANGES_REQUEST);
    proto_msg_set_day (request, query.day);
    proto_msg_set_op (request, (uint8_t) query.op);
    proto_msg_set_from (request, query.day);
    proto_msg_set_spark (request, (uint8_t) query.days);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_SPARKS);
    proto_changes_t *changes = proto_answer_changes (answer);
    proto_changes_set (changes, query.day, query.op, PROTO_CHANGES_K_DEFAULT, 1);
    proto_changes_set_spark (changes, query.days);
    gw_api_scatter_t options = {NULL, gw_api_cache_secs (query.day), NULL, NULL};
    gw_api_scatter (api, req, &request, &answer, &options);
    return 0;
}

//  --------------------------------------------------------------------------
void
gw_api_changes_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_req);
}

void
gw_api_sparks_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_sparks);
}
