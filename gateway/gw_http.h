/*  gw_http.h - the gateway's HTTP server: h2o (libuv flavour) wired to the API and web/.

    The one place where URL paths meet handlers:
        /api/days  /api/top  /api/series  /api/host  /api/status   the JSON API (gw_api_*)
        /health                                                   200 once a map is known
        /api/...   anything else                                  404 {"error": ...}
        /          the web UI: static files of the web directory, index.html for "/"
    Static files get their MIME type from the extension (text/javascript for .js and
    .mjs, text/css, text/html, image/svg+xml, application/json...), an ETag, "Cache-
    Control: no-cache" and security headers (a Content-Security-Policy that allows no
    inline script, X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
    Referrer-Policy: no-referrer).  h2o resolves "." and ".." segments (also when
    percent-encoded) before matching, so no path leaves the web directory, and
    directories are never listed.

    The server listens on one TCP address, loopback by default (DESIGN.md: the web UI
    binds elsewhere only when configured).
*/
#ifndef GW_HTTP_H_INCLUDED
#define GW_HTTP_H_INCLUDED

#include "gateway/gw_auth.h"
#include "gateway/gw_scatter.h"

#include <uv.h>

#define GW_HTTP_DEFAULT "127.0.0.1:8080"              //  Where the server listens by default
#define GW_HTTP_WEB_DEFAULT "/usr/share/portevo/web"  //  Installed UI (CONFIG.md)
#define GW_HTTP_BACKLOG 1024                          //  listen(2) backlog

typedef struct _gw_http_t gw_http_t;

//  Create the server on loop, listening on address ("a.b.c.d:PORT" or "[v6]:PORT"; port
//  0 picks a free one), answering the API through scatter (borrowed, must outlive the
//  server) and serving the directory web (NULL: no UI).  retention_days bounds series
//  ranges.  auth (borrowed, must outlive the server; NULL: open) guards every path but
//  /health.  NULL if the address is invalid or cannot be bound (logged).
gw_http_t *gw_http_new (uv_loop_t *loop, gw_scatter_t *scatter, const char *address,
                        const char *web, uint32_t retention_days, gw_auth_t *auth);

//  Destroy.  Connections still open are not closed here (see gw_http_shutdown); the
//  listener is closed through libuv, so run the loop afterwards.  NULL-safe, nulls
//  *self_p.
void gw_http_destroy (gw_http_t **self_p);

//  Log each request at debug level.
void gw_http_set_verbose (gw_http_t *self, bool verbose);

//  /api/changes defaults for a request without k or window (PROTO_CHANGES_*_DEFAULT
//  until set): k 1 to PROTO_CHANGES_K_MAX, window 1 to the retention.
void gw_http_set_changes (gw_http_t *self, uint32_t k, uint32_t window);

//  The TCP port listened on.
int gw_http_port (gw_http_t *self);

//  Stop accepting, and ask open connections to close once their request is answered.
void gw_http_shutdown (gw_http_t *self);

//  HTTP connections open now.
size_t gw_http_connections (gw_http_t *self);

//  The web directory to serve: configured if not NULL (it must exist), else the
//  first existing of <binary>/../web, <binary>/../../../web (sanitizer builds under
//  build/san/bin) and GW_HTTP_WEB_DEFAULT.  A new string, or NULL if none exists (then
//  the gateway serves the API only; logged).
char *gw_http_find_web (const char *configured);

//  Selftest
void gw_http_test (bool verbose);

#endif
