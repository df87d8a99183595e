/*  gw_api.h - what the HTTP API endpoints share, and their registration functions.

    Each URL family lives in its own gw_api_<family>.c with a static
    `s_on_req (h2o_handler_t *self, h2o_req_t *req)` and a registration function below;
    gw_http.c is the one place that maps paths to them.  A handler:
      1. gw_api_begin: declines other paths, answers 405 to methods other than GET and
         HEAD and 400 to a bad query string (gw_query), else hands back the query;
      2. builds the shard request and the proto_answer that will collect the replies;
      3. gw_api_scatter: the query goes out, the handler returns 0, and the answer is
         sent from the scatter's callback: 200 with the JSON (missing_shards named),
         or 503 {"error": ...} when no shard answered.
    The state of a request in flight is allocated in the request's pool with a dispose
    callback that cancels its query, so a client that goes away cancels it and nothing
    touches the request afterwards (STYLE.md §7).

    Responses carry Content-Type, Cache-Control and X-Content-Type-Options: nosniff.
    An answer about closed days only (before today, UTC) may be cached for
    GW_API_CACHE_CLOSED_SECS, others for GW_API_CACHE_OPEN_SECS; partial answers and
    errors are not cached.
*/
#ifndef GW_API_H_INCLUDED
#define GW_API_H_INCLUDED

#include "gateway/gw_query.h"
#include "gateway/gw_scatter.h"
#include "proto/proto_answer.h"

#include <h2o.h>

#define GW_API_CACHE_CLOSED_SECS 3600  //  max-age of a complete answer about closed days
#define GW_API_CACHE_OPEN_SECS 10      //  max-age of an answer that may still change
#define GW_API_JSON "application/json; charset=utf-8"
#define GW_API_CSV "text/csv; charset=utf-8"

//  What every handler reads (owned by gw_http; borrowed by handlers for their life).
typedef struct {
    gw_scatter_t *scatter;    //  Fan-out to the shards and the broker
    uint32_t retention_days;  //  Longest series range
    uint32_t changes_k;       //  /api/changes: k when the request has none
    uint32_t changes_window;  //  /api/changes: window (days) when the request has none
    bool verbose;             //  Log each request
} gw_api_t;

//  Registration, one function per family: add its handler to pathconf.
void gw_api_days_register (h2o_pathconf_t *pathconf, gw_api_t *api);     //  /api/days
void gw_api_top_register (h2o_pathconf_t *pathconf, gw_api_t *api);      //  /api/top
void gw_api_series_register (h2o_pathconf_t *pathconf, gw_api_t *api);   //  /api/series
void gw_api_host_register (h2o_pathconf_t *pathconf, gw_api_t *api);     //  /api/host
void gw_api_others_register (h2o_pathconf_t *pathconf, gw_api_t *api);   //  /api/others
void gw_api_status_register (h2o_pathconf_t *pathconf, gw_api_t *api);   //  /api/status
void gw_api_changes_register (h2o_pathconf_t *pathconf, gw_api_t *api);  //  /api/changes
void gw_api_sparks_register (h2o_pathconf_t *pathconf, gw_api_t *api);   //  /api/sparks
void gw_api_health_register (h2o_pathconf_t *pathconf, gw_api_t *api);   //  /health

//  Add a handler to pathconf whose on_req finds api with gw_api_of.
typedef int (gw_api_on_req_fn) (h2o_handler_t *self, h2o_req_t *req);
void gw_api_handler_add (h2o_pathconf_t *pathconf, gw_api_t *api, gw_api_on_req_fn *on_req);
gw_api_t *gw_api_of (h2o_handler_t *handler);

//  Results of gw_api_begin
#define GW_API_DECLINE (-1)  //  Not this handler's path: return -1
#define GW_API_ANSWERED 0    //  An error was sent: return 0
#define GW_API_PROCEED 1     //  Go on with *query

//  Check req against the handler's exact path, its method and its query of kind.
int gw_api_begin (gw_api_t *api, h2o_req_t *req, const char *path, gw_query_kind_t kind,
                  gw_query_t *query);

//  Render an answer in another format than JSON: a new string (freed with free).
typedef char *(gw_api_render_fn) (proto_answer_t *answer);

typedef struct {
    const proto_addr_t *host;  //  Ask only the shard owning host; NULL: every shard
    int cache_secs;            //  max-age of a complete answer
    gw_api_render_fn *render;  //  NULL: proto_answer_json
    const char *content_type;  //  Of render's output (NULL: JSON)
} gw_api_scatter_t;

//  Send request (taken) as the options say, merge the replies into answer (taken) and
//  answer req with it when done (503 if no shard answered, or if there is no map yet).
void gw_api_scatter (gw_api_t *api, h2o_req_t *req, proto_msg_t **request_p,
                     proto_answer_t **answer_p, const gw_api_scatter_t *options);

//  Send request (taken) to the broker; answer req with the cluster status document
//  (proto_status) or 503 if the broker did not answer.
void gw_api_ask_broker (gw_api_t *api, h2o_req_t *req, proto_msg_t **request_p);

//  max-age for an answer whose latest day is last_day: closed days may be cached long.
int gw_api_cache_secs (uint32_t last_day);

//  Today's UTC day.
uint32_t gw_api_today (void);

//  Send a complete response: status, content type, body (copied), cache_secs (<= 0:
//  "no-store").  HEAD gets the headers only.
void gw_api_send (h2o_req_t *req, int status, const char *content_type, const char *body,
                  size_t size, int cache_secs);

//  Send {"error": text} with status (400, 404, 405, 503...), not cacheable.
void gw_api_send_error (h2o_req_t *req, int status, const char *text);

#endif
