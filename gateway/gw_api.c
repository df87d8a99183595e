/*  gw_api.c - what the HTTP API endpoints share.

    A request in flight is an s_call_t in the request's memory pool.  Two owners could
    end it: the scatter's callback (the answer is ready) and the pool's dispose (the
    client went away, or h2o is done with the request).  Whichever comes first clears
    call->pending, so the other does nothing with it: the callback never runs after
    dispose (dispose cancels the query) and dispose never cancels a completed query.
*/
#include "gateway/gw_api.h"
#include "proto/proto_status.h"

typedef struct {
    h2o_handler_t super;  //  Must come first: h2o sees this
    gw_api_t *api;        //  Shared state
} s_handler_t;

typedef struct {
    h2o_req_t *req;            //  The request to answer
    gw_api_t *api;             //  Shared state
    gw_pending_t *pending;     //  Query in flight; NULL once completed or cancelled
    proto_answer_t *answer;    //  Collects shard replies; NULL when asking the broker
    int cache_secs;            //  max-age of a complete answer
    gw_api_render_fn *render;  //  NULL: JSON
    const char *content_type;  //  Of the rendered answer
    int64_t start_msecs;       //  Monotonic start, for the verbose log
} s_call_t;

//  --------------------------------------------------------------------------
void
gw_api_handler_add (h2o_pathconf_t *pathconf, gw_api_t *api, gw_api_on_req_fn *on_req)
{
    assert (pathconf && api && on_req);
    s_handler_t *handler = (s_handler_t *) h2o_create_handler (pathconf, sizeof (s_handler_t));
    assert (handler);
    handler->super.on_req = on_req;
    handler->api = api;
}

gw_api_t *
gw_api_of (h2o_handler_t *handler)
{
    assert (handler);
    return ((s_handler_t *) handler)->api;
}

//  --------------------------------------------------------------------------
uint32_t
gw_api_today (void)
{
    return proto_day_of ((int64_t) time (NULL));
}

int
gw_api_cache_secs (uint32_t last_day)
{
    return last_day < gw_api_today () ? GW_API_CACHE_CLOSED_SECS : GW_API_CACHE_OPEN_SECS;
}

//  --------------------------------------------------------------------------
static const char *
s_reason (int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

void
gw_api_send (h2o_req_t *req, int status, const char *content_type, const char *body, size_t size,
             int cache_secs)
{
    assert (req && content_type && body);
    req->res.status = status;
    req->res.reason = s_reason (status);
    req->res.content_length = size;
    h2o_add_header (&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                    strlen (content_type));
    char cache[48] = "no-store";
    if (cache_secs > 0)
        snprintf (cache, sizeof cache, "private, max-age=%d", cache_secs);
    h2o_iovec_t value = h2o_strdup (&req->pool, cache, strlen (cache));
    h2o_add_header (&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, value.base,
                    value.len);
    h2o_add_header_by_str (&req->pool, &req->res.headers, H2O_STRLIT ("x-content-type-options"), 0,
                           NULL, H2O_STRLIT ("nosniff"));
    h2o_send_inline (req, body, size);
}

void
gw_api_send_error (h2o_req_t *req, int status, const char *text)
{
    assert (req && text);
    char *body = proto_answer_error_json (text);
    gw_api_send (req, status, GW_API_JSON, body, strlen (body), 0);
    free (body);
}

//  --------------------------------------------------------------------------
int
gw_api_begin (gw_api_t *api, h2o_req_t *req, const char *path, gw_query_kind_t kind,
              gw_query_t *query)
{
    assert (api && req && path && query);
    if (!h2o_memis (req->path_normalized.base, req->path_normalized.len, path, strlen (path)))
        return GW_API_DECLINE;
    if (api->verbose)
        zsys_debug ("api: %.*s %.*s", (int) req->method.len, req->method.base,
                    (int) MIN (req->path.len, 512), req->path.base);
    if (!h2o_memis (req->method.base, req->method.len, H2O_STRLIT ("GET")) &&
        !h2o_memis (req->method.base, req->method.len, H2O_STRLIT ("HEAD"))) {
        h2o_add_header (&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                        H2O_STRLIT ("GET, HEAD"));
        gw_api_send_error (req, 405, "method not allowed: this endpoint answers GET and HEAD");
        return GW_API_ANSWERED;
    }
    const char *text = NULL;
    size_t size = 0;
    if (req->query_at != SIZE_MAX) {
        text = req->path.base + req->query_at + 1;
        size = req->path.len - req->query_at - 1;
    }
    char error[GW_QUERY_ERROR_MAX];
    if (gw_query_parse (query, kind, text, size, gw_api_today (), api->retention_days, error,
                        sizeof error)) {
        gw_api_send_error (req, 400, error);
        return GW_API_ANSWERED;
    }
    return GW_API_PROCEED;
}

//  --------------------------------------------------------------------------
//  The client went away or h2o is done with the request.

static void
s_on_call_dispose (void *data)
{
    s_call_t *call = (s_call_t *) data;
    gw_pending_cancel (&call->pending);
    proto_answer_destroy (&call->answer);
}

//  --------------------------------------------------------------------------
//  Merge the shards' replies and answer.

static void
s_finish_answer (s_call_t *call, gw_pending_t *pending)
{
    size_t merged = 0;
    const char *refused = NULL;  //  A shard's error text, for the 503
    for (size_t index = 0; index < gw_pending_target_count (pending); index++) {
        proto_msg_t *reply = gw_pending_reply (pending, index);
        const char *name = gw_pending_target_name (pending, index);
        if (reply && proto_answer_merge (call->answer, reply) == 0)
            merged++;
        else {
            if (reply) {
                zsys_warning ("api: %s answered %s %u '%s', counted missing", name,
                              proto_msg_id_name (proto_msg_id (reply)), proto_msg_code (reply),
                              proto_msg_text (reply));
                refused = proto_msg_text (reply);
            }
            proto_answer_add_missing (call->answer, name);
        }
    }
    if (merged == 0) {
        char text[PROTO_TEXT_MAX] = "no shard answered in time; asked:";
        size_t used = strlen (text);
        for (size_t index = 0; index < gw_pending_target_count (pending); index++)
            if (used < sizeof text)
                used +=
                    (size_t) snprintf (text + used, sizeof text - used, "%s %s", index ? "," : "",
                                       gw_pending_target_name (pending, index));
        if (refused && used < sizeof text)
            snprintf (text + used, sizeof text - used, " (a shard said: %s)", refused);
        gw_api_send_error (call->req, 503, text);
        return;
    }
    bool complete = proto_answer_missing_count (call->answer) == 0;
    char *body = call->render ? call->render (call->answer) : proto_answer_json (call->answer);
    gw_api_send (call->req, 200, call->content_type, body, strlen (body),
                 complete ? call->cache_secs : 0);
    free (body);
}

//  --------------------------------------------------------------------------
//  The broker's STATUS as the status document.

static void
s_finish_status (s_call_t *call, gw_pending_t *pending)
{
    proto_msg_t *reply = gw_pending_reply (pending, 0);
    if (!reply || proto_msg_id (reply) != PROTO_MSG_STATUS) {
        gw_api_send_error (call->req, 503, "the broker did not answer STATUS in time");
        return;
    }
    char *body = proto_status_json (reply, gw_scatter_broker_endpoint (call->api->scatter));
    gw_api_send (call->req, 200, GW_API_JSON, body, strlen (body), 0);
    free (body);
}

//  --------------------------------------------------------------------------
static void
s_on_done (gw_pending_t *pending, void *arg)
{
    s_call_t *call = (s_call_t *) arg;
    call->pending = NULL;  //  Before any send: a send may dispose the request at once
    if (call->api->verbose)
        zsys_debug ("api: %.*s answered by %zu of %zu in %" PRId64 " msecs",
                    (int) MIN (call->req->path.len, 512), call->req->path.base,
                    gw_pending_answered (pending), gw_pending_target_count (pending),
                    zclock_mono () - call->start_msecs);
    if (call->answer)
        s_finish_answer (call, pending);
    else
        s_finish_status (call, pending);
}

//  --------------------------------------------------------------------------
static s_call_t *
s_call_new (gw_api_t *api, h2o_req_t *req)
{
    s_call_t *call =
        (s_call_t *) h2o_mem_alloc_shared (&req->pool, sizeof (s_call_t), s_on_call_dispose);
    memset (call, 0, sizeof (s_call_t));
    call->req = req;
    call->api = api;
    call->content_type = GW_API_JSON;
    call->start_msecs = zclock_mono ();
    return call;
}

void
gw_api_scatter (gw_api_t *api, h2o_req_t *req, proto_msg_t **request_p, proto_answer_t **answer_p,
                const gw_api_scatter_t *options)
{
    assert (api && req && request_p && answer_p && options);
    s_call_t *call = s_call_new (api, req);
    call->answer = *answer_p;
    *answer_p = NULL;
    call->cache_secs = options->cache_secs;
    call->render = options->render;
    if (options->content_type)
        call->content_type = options->content_type;
    call->pending = gw_scatter_shards (api->scatter, request_p, options->host, s_on_done, call);
    if (!call->pending)
        gw_api_send_error (req, 503, "no shard map from the broker yet");
}

void
gw_api_ask_broker (gw_api_t *api, h2o_req_t *req, proto_msg_t **request_p)
{
    assert (api && req && request_p);
    s_call_t *call = s_call_new (api, req);
    call->pending = gw_scatter_broker (api->scatter, request_p, s_on_done, call);
    if (!call->pending)
        gw_api_send_error (req, 503, "the gateway is shutting down");
}
