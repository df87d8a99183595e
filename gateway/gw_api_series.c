/*  gw_api_series.c - GET /api/series: one host's daily scores over a date range.

    Parameters: host=IP, port=N|all, feature=bytes|packets|durations|peers,
    op=sum|max|min, optional from/to (default: the retention window ending today) and
    format=json|csv.  Only the shard owning the host is asked.  JSON is DESIGN.md's
    series shape; CSV is one line per point under the header `port,date,score`
    (feature peers: `port,date,score,peers_capped`, true or false), ascending by port
    then date, for spreadsheets and scripts.
*/
#include "gateway/gw_api.h"

#define S_CSV_LINE_MAX 56  //  "65535,9999-12-31,18446744073709551615,false\n" fits

//  --------------------------------------------------------------------------
//  The series as CSV: a new string.

static char *
s_render_csv (proto_answer_t *answer)
{
    size_t lines = 1;
    for (size_t port = 0; port < proto_answer_port_count (answer); port++)
        lines += proto_answer_point_count (answer, port);
    char *text = (char *) malloc (lines * S_CSV_LINE_MAX + 1);
    assert (text);
    bool peers = proto_answer_feature (answer) == PROTO_FEATURE_PEERS;
    size_t used = (size_t) sprintf (text, "port,date,score%s\n", peers ? ",peers_capped" : "");
    for (size_t port = 0; port < proto_answer_port_count (answer); port++)
        for (size_t index = 0; index < proto_answer_point_count (answer, port); index++) {
            const proto_point_t *point = proto_answer_point_at (answer, port, index);
            char day[16];
            used +=
                (size_t) snprintf (text + used, S_CSV_LINE_MAX, "%u,%s,%" PRIu64 "%s\n",
                                   point->port, proto_day_format (point->day, day), point->score,
                                   !peers                ? ""
                                   : point->peers_capped ? ",true"
                                                         : ",false");
        }
    return text;
}

//  --------------------------------------------------------------------------
static int
s_on_req (h2o_handler_t *self, h2o_req_t *req)
{
    gw_api_t *api = gw_api_of (self);
    gw_query_t query;
    int rc = gw_api_begin (api, req, "/api/series", GW_QUERY_SERIES, &query);
    if (rc != GW_API_PROCEED)
        return rc;
    proto_msg_t *request = proto_msg_new (PROTO_MSG_SERIES_REQUEST);
    proto_msg_set_host (request, &query.host);
    proto_msg_set_port (request, query.port);
    proto_msg_set_feature (request, (uint8_t) query.feature);
    proto_msg_set_op (request, (uint8_t) query.op);
    proto_msg_set_from (request, query.from);
    proto_msg_set_to (request, query.to);
    proto_msg_set_direction (request, query.direction);
    proto_answer_t *answer = proto_answer_new (PROTO_ANSWER_SERIES);
    proto_answer_set_host (answer, &query.host);
    proto_answer_set_port (answer, query.port);
    proto_answer_set_feature (answer, query.feature);
    proto_answer_set_op (answer, query.op);
    gw_api_scatter_t options = {&query.host, gw_api_cache_secs (query.to),
                                query.csv ? s_render_csv : NULL, query.csv ? GW_API_CSV : NULL};
    gw_api_scatter (api, req, &request, &answer, &options);
    return 0;
}

//  --------------------------------------------------------------------------
void
gw_api_series_register (h2o_pathconf_t *pathconf, gw_api_t *api)
{
    gw_api_handler_add (pathconf, api, s_on_req);
}
