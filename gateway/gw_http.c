/*  gw_http.c - the gateway's HTTP server: h2o (libuv flavour) wired to the API and web/.

    h2o is used as a library the way its libuv example does: one global configuration
    with one host, path configurations in registration order (h2o picks the first whose
    path prefixes the request path at a segment boundary, so longer paths go first), one
    context on our loop, and a libuv TCP listener whose accepted connections are handed
    to h2o_accept.  The connection handle is ours (freed in its close callback), the
    rest of the connection is h2o's.

    Per-file note: h2o.h is included through gw_api.h; it compiles cleanly with the
    project's warnings, no exception needed.
*/
#include "gateway/gw_http.h"
#include "gateway/gw_api.h"

#include <sys/stat.h>

//  Security headers of the static UI: scripts and styles from the gateway only, no
//  inline script, no framing, no sniffing, no referrer.
#define S_CSP                                                                                      \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                    \
    "frame-ancestors 'none'; form-action 'self'"
#define S_HEADER_COUNT 5  //  Security and cache headers of static files

struct _gw_http_t {
    uv_loop_t *loop;                           //  The gateway's loop
    h2o_globalconf_t config;                   //  h2o configuration: hosts, paths, handlers
    h2o_context_t context;                     //  h2o state on our loop
    bool context_ready;                        //  context initialised
    h2o_accept_ctx_t accept;                   //  What h2o_accept needs
    uv_tcp_t *listener;                        //  Listening socket (closed through libuv)
    h2o_linklist_t connections;                //  Open connections (s_connection_t)
    int port;                                  //  Port listened on
    gw_api_t api;                              //  Shared by the API handlers
    h2o_iovec_t header_names[S_HEADER_COUNT];  //  Names of the static headers
    h2o_headers_command_t header_commands[S_HEADER_COUNT + 1];  //  h2o_headers_register
};

//  An accepted connection: its handle is ours, the rest of it is h2o's.
typedef struct {
    uv_tcp_t tcp;         //  Must come first: libuv and h2o see this handle
    h2o_linklist_t link;  //  In connections of the server
} s_connection_t;

//  The routes: API families first, then the catch-alls (gw_http_new).
static const struct {
    const char *path;                                       //  Exact path
    void (*add) (h2o_pathconf_t *pathconf, gw_api_t *api);  //  Its family's registration
} s_routes[] = {
    {"/api/days", gw_api_days_register},       {"/api/top", gw_api_top_register},
    {"/api/series", gw_api_series_register},   {"/api/host", gw_api_host_register},
    {"/api/status", gw_api_status_register},   {"/health", gw_api_health_register},
    {"/api/changes", gw_api_changes_register}, {"/api/sparks", gw_api_sparks_register},
    {"/api/others", gw_api_others_register},
};

//  --------------------------------------------------------------------------
//  Anything under an API path that no handler took: 404 as JSON.

static int
s_on_not_found (h2o_handler_t *self, h2o_req_t *req)
{
    (void) self;
    char text[160];
    snprintf (text, sizeof text, "no such endpoint: %.*s", (int) MIN (req->path_normalized.len, 64),
              req->path_normalized.base);
    gw_api_send_error (req, 404, text);
    return 0;
}

//  --------------------------------------------------------------------------
static void
s_on_handle_closed (uv_handle_t *handle)
{
    free (handle);
}

static void
s_on_connection_closed (uv_handle_t *handle)
{
    s_connection_t *connection = (s_connection_t *) handle;
    if (h2o_linklist_is_linked (&connection->link))
        h2o_linklist_unlink (&connection->link);
    free (connection);
}

static void
s_on_connection (uv_stream_t *listener, int status)
{
    gw_http_t *self = (gw_http_t *) listener->data;
    if (status < 0) {
        zsys_warning ("http: accept failed: %s", uv_strerror (status));
        return;
    }
    s_connection_t *connection = (s_connection_t *) h2o_mem_alloc (sizeof (s_connection_t));
    memset (connection, 0, sizeof (s_connection_t));
    uv_tcp_init (self->loop, &connection->tcp);
    if (uv_accept (listener, (uv_stream_t *) &connection->tcp) != 0) {
        uv_close ((uv_handle_t *) &connection->tcp, s_on_connection_closed);
        return;
    }
    uv_tcp_nodelay (&connection->tcp, 1);
    h2o_linklist_insert (&self->connections, &connection->link);
    h2o_socket_t *sock =
        h2o_uv_socket_create ((uv_stream_t *) &connection->tcp, s_on_connection_closed);
    h2o_accept (&self->accept, sock);
}

//  --------------------------------------------------------------------------
//  "a.b.c.d:PORT" or "[v6]:PORT" into address.  0, or -1 if malformed.

static int
s_parse_address (const char *text, struct sockaddr_storage *address)
{
    char host[64];
    const char *colon = strrchr (text, ':');
    if (!colon || colon == text || strlen (colon + 1) == 0 || strlen (colon + 1) > 5 ||
        strspn (colon + 1, "0123456789") != strlen (colon + 1) || atoi (colon + 1) > 65535)
        return -1;
    int port = atoi (colon + 1);
    size_t length = (size_t) (colon - text);
    bool ipv6 = text[0] == '[';
    if (ipv6 && (length < 3 || text[length - 1] != ']'))
        return -1;
    if (ipv6)
        text++, length -= 2;
    if (length >= sizeof host)
        return -1;
    memcpy (host, text, length);
    host[length] = 0;
    if (ipv6)
        return uv_ip6_addr (host, port, (struct sockaddr_in6 *) address) ? -1 : 0;
    return uv_ip4_addr (host, port, (struct sockaddr_in *) address) ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Listen on address.  0, or -1 (logged).

static int
s_listen (gw_http_t *self, const char *address)
{
    struct sockaddr_storage storage;
    memset (&storage, 0, sizeof storage);
    if (s_parse_address (address, &storage)) {
        zsys_error ("http: '%s' is not ADDRESS:PORT (a.b.c.d:8080 or [::1]:8080)", address);
        return -1;
    }
    self->listener = (uv_tcp_t *) h2o_mem_alloc (sizeof (uv_tcp_t));
    uv_tcp_init (self->loop, self->listener);
    self->listener->data = self;
    int rc = uv_tcp_bind (self->listener, (const struct sockaddr *) &storage, 0);
    if (rc == 0)
        rc = uv_listen ((uv_stream_t *) self->listener, GW_HTTP_BACKLOG, s_on_connection);
    if (rc) {
        zsys_error ("http: cannot listen on %s: %s", address, uv_strerror (rc));
        return -1;
    }
    int size = sizeof storage;
    uv_tcp_getsockname (self->listener, (struct sockaddr *) &storage, &size);
    self->port =
        ntohs (storage.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &storage)->sin6_port
                                             : ((struct sockaddr_in *) &storage)->sin_port);
    return 0;
}

//  --------------------------------------------------------------------------
//  "/": static files with the security headers.

static void
s_register_web (gw_http_t *self, h2o_hostconf_t *host, const char *web, gw_auth_t *auth)
{
    h2o_pathconf_t *pathconf = h2o_config_register_path (host, "/", 0);
    if (auth)
        gw_auth_register (auth, pathconf);
    struct {
        const char *name;
        const char *value;
    } headers[S_HEADER_COUNT] = {{"content-security-policy", S_CSP},
                                 {"x-content-type-options", "nosniff"},
                                 {"x-frame-options", "DENY"},
                                 {"referrer-policy", "no-referrer"},
                                 {"cache-control", "no-cache"}};
    for (size_t index = 0; index < S_HEADER_COUNT; index++) {
        self->header_names[index] =
            h2o_iovec_init (headers[index].name, strlen (headers[index].name));
        const h2o_token_t *token =
            h2o_lookup_token (headers[index].name, strlen (headers[index].name));
        self->header_commands[index].cmd = H2O_HEADERS_CMD_SET;
        self->header_commands[index].name =
            token ? (h2o_iovec_t *) &token->buf : &self->header_names[index];
        self->header_commands[index].value =
            h2o_iovec_init (headers[index].value, strlen (headers[index].value));
    }
    self->header_commands[S_HEADER_COUNT].cmd = H2O_HEADERS_CMD_NULL;
    h2o_headers_register (pathconf, self->header_commands);
    h2o_mimemap_t *mimemap = h2o_mimemap_create ();
    const char *types[][2] = {{"html", "text/html; charset=utf-8"},
                              {"js", "text/javascript; charset=utf-8"},
                              {"mjs", "text/javascript; charset=utf-8"},
                              {"css", "text/css; charset=utf-8"},
                              {"json", "application/json"},
                              {"map", "application/json"},
                              {"svg", "image/svg+xml"},
                              {"txt", "text/plain; charset=utf-8"},
                              {"woff2", "font/woff2"}};
    for (size_t index = 0; index < sizeof types / sizeof types[0]; index++)
        h2o_mimemap_define_mimetype (mimemap, types[index][0], types[index][1], NULL);
    static const char *index_files[] = {"index.html", NULL};
    h2o_file_register (pathconf, web, index_files, mimemap, 0);
    h2o_mem_release_shared (mimemap);
}

//  --------------------------------------------------------------------------
gw_http_t *
gw_http_new (uv_loop_t *loop, gw_scatter_t *scatter, const char *address, const char *web,
             uint32_t retention_days, gw_auth_t *auth)
{
    assert (loop && scatter && address);
    assert (retention_days > 0);
    gw_http_t *self = (gw_http_t *) zmalloc (sizeof (gw_http_t));
    assert (self);
    self->loop = loop;
    h2o_linklist_init_anchor (&self->connections);
    self->api.scatter = scatter;
    self->api.retention_days = retention_days;
    self->api.changes_k = PROTO_CHANGES_K_DEFAULT;
    self->api.changes_window = PROTO_CHANGES_WINDOW_DEFAULT;
    h2o_config_init (&self->config);
    self->config.server_name = h2o_iovec_init (H2O_STRLIT ("portevo"));
    h2o_hostconf_t *host =
        h2o_config_register_host (&self->config, h2o_iovec_init (H2O_STRLIT ("default")), 65535);
    for (size_t index = 0; index < sizeof s_routes / sizeof s_routes[0]; index++) {
        h2o_pathconf_t *pathconf = h2o_config_register_path (host, s_routes[index].path, 0);
        if (auth && !streq (s_routes[index].path, "/health"))
            gw_auth_register (auth, pathconf);
        s_routes[index].add (pathconf, &self->api);
        //  A longer path under it ("/api/top/x") is declined by the family: 404 here.
        h2o_create_handler (pathconf, sizeof (h2o_handler_t))->on_req = s_on_not_found;
    }
    h2o_pathconf_t *api = h2o_config_register_path (host, "/api", 0);
    if (auth)
        gw_auth_register (auth, api);
    h2o_create_handler (api, sizeof (h2o_handler_t))->on_req = s_on_not_found;
    if (web)
        s_register_web (self, host, web, auth);
    h2o_context_init (&self->context, loop, &self->config);
    self->context_ready = true;
    self->accept.ctx = &self->context;
    self->accept.hosts = self->config.hosts;
    if (s_listen (self, address))
        gw_http_destroy (&self);
    else
        zsys_info ("http: listening on %s (port %d), web %s", address, self->port,
                   web ? web : "(none: API only)");
    return self;
}

//  --------------------------------------------------------------------------
void
gw_http_destroy (gw_http_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        gw_http_t *self = *self_p;
        if (self->listener && !uv_is_closing ((uv_handle_t *) self->listener))
            uv_close ((uv_handle_t *) self->listener, s_on_handle_closed);
        *self_p = NULL;
        if (self->context_ready && gw_http_connections (self) > 0) {
            //  h2o cannot dispose a context under live connections (it asserts): the
            //  memory is left to the process exit; the caller closes the loop's handles.
            zsys_warning ("http: %zu connections still open at exit", gw_http_connections (self));
            return;
        }
        if (self->context_ready) {
            //  gw_http_shutdown armed h2o's one-second HTTP/2 GOAWAY timer: disarm it.
            if (h2o_timeout_is_linked (&self->context.http2._graceful_shutdown_timeout))
                h2o_timeout_unlink (&self->context.http2._graceful_shutdown_timeout);
            h2o_context_dispose (&self->context);
        }
        h2o_config_dispose (&self->config);
        free (self);
    }
}

//  --------------------------------------------------------------------------
void
gw_http_set_changes (gw_http_t *self, uint32_t k, uint32_t window)
{
    assert (self);
    assert (k >= 1 && k <= PROTO_CHANGES_K_MAX);
    assert (window >= 1 && window <= self->api.retention_days);
    self->api.changes_k = k;
    self->api.changes_window = window;
}

//  --------------------------------------------------------------------------
void
gw_http_set_verbose (gw_http_t *self, bool verbose)
{
    assert (self);
    self->api.verbose = verbose;
}

int
gw_http_port (gw_http_t *self)
{
    assert (self);
    return self->port;
}

//  --------------------------------------------------------------------------
void
gw_http_shutdown (gw_http_t *self)
{
    assert (self);
    if (self->listener && !uv_is_closing ((uv_handle_t *) self->listener))
        uv_close ((uv_handle_t *) self->listener, s_on_handle_closed);
    self->listener = NULL;
    h2o_context_request_shutdown (&self->context);
    //  HTTP/1 connections idle in keep-alive would wait for their timeout: end their
    //  read side, so h2o sees end of input and closes them itself.  A connection with a
    //  request in flight does not read until it is answered, then closes (h2o sends
    //  "Connection: close" once shutdown was requested).
    for (h2o_linklist_t *node = self->connections.next; node != &self->connections;
         node = node->next) {
        s_connection_t *connection = H2O_STRUCT_FROM_MEMBER (s_connection_t, link, node);
        uv_os_fd_t fd;
        if (uv_fileno ((uv_handle_t *) &connection->tcp, &fd) == 0)
            shutdown (fd, SHUT_RD);
    }
}

//  --------------------------------------------------------------------------
size_t
gw_http_connections (gw_http_t *self)
{
    assert (self);
    size_t count = 0;
    for (h2o_linklist_t *node = self->connections.next; node != &self->connections;
         node = node->next)
        count++;
    return count;
}

//  --------------------------------------------------------------------------
char *
gw_http_find_web (const char *configured)
{
    struct stat info;
    if (configured) {
        if (stat (configured, &info) == 0 && S_ISDIR (info.st_mode))
            return realpath (configured, NULL);
        zsys_error ("http: web directory %s does not exist", configured);
        return NULL;
    }
    char binary[PATH_MAX];
    ssize_t size = readlink ("/proc/self/exe", binary, sizeof binary - 1);
    binary[size > 0 ? size : 0] = 0;
    char *slash = strrchr (binary, '/');
    if (slash)
        *slash = 0;
    char candidates[2][PATH_MAX + 16];
    snprintf (candidates[0], sizeof candidates[0], "%s/../web", binary);
    snprintf (candidates[1], sizeof candidates[1], "%s/../../../web", binary);
    for (size_t index = 0; index < 2 && slash; index++)
        if (stat (candidates[index], &info) == 0 && S_ISDIR (info.st_mode))
            return realpath (candidates[index], NULL);
    if (stat (GW_HTTP_WEB_DEFAULT, &info) == 0 && S_ISDIR (info.st_mode))
        return strdup (GW_HTTP_WEB_DEFAULT);
    zsys_warning ("http: no web directory found (use --web DIR): serving the API only");
    return NULL;
}

//  --------------------------------------------------------------------------
//  Selftest: the whole gateway in one loop, against gw_fake's broker and shards.

#include "gateway/gw_fake.h"

typedef struct {
    uv_loop_t *loop;  //  Shared loop
    int port;         //  Gateway port
    bool verbose;     //  Print each exchange
} s_test_t;

//  GET (or another method) path; returns the status, with the whole response in
//  *response (caller frees) when response is not NULL.
static int
s_test_request (s_test_t *test, const char *method, const char *path, char **response)
{
    char request[1024];
    snprintf (request, sizeof request,
              "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", method, path);
    char *text = gw_fake_http (test->loop, test->port, request, 5000);
    assert (text);
    if (test->verbose)
        fprintf (stderr, "\n    %s %s\n%s", method, path, text);
    int status = strncmp (text, "HTTP/1.1 ", 9) == 0 ? atoi (text + 9) : -1;
    if (response)
        *response = text;
    else
        free (text);
    return status;
}

//  Expect status, a body equal to body (if not NULL) and a header line (if not NULL).
static void
s_test_expect (s_test_t *test, const char *path, int status, const char *body, const char *header)
{
    char *response;
    int got = s_test_request (test, "GET", path, &response);
    const char *start = strstr (response, "\r\n\r\n");
    assert (start);
    if (got != status || (body && !streq (start + 4, body)) ||
        (header && !strcasestr (response, header)))
        fprintf (stderr, "\n    GET %s: expected %d %s [%s], got:\n%s\n", path, status,
                 body ? body : "", header ? header : "", response);
    assert (got == status);
    assert (!body || streq (start + 4, body));
    assert (!header || strcasestr (response, header));
    free (response);
}

static void
s_test_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
}

static void
s_test_static (s_test_t *test)
{
    s_test_expect (test, "/", 200, "<!doctype html><p>portevo</p>\n",
                   "\r\ncontent-type: text/html; charset=utf-8\r\n");
    s_test_expect (test, "/index.html", 200, NULL, "\r\ncontent-security-policy: default-src");
    s_test_expect (test, "/js/app.js", 200, "export const x = 1;\n",
                   "\r\ncontent-type: text/javascript; charset=utf-8\r\n");
    s_test_expect (test, "/style.css", 200, NULL, "\r\ncontent-type: text/css; charset=utf-8\r\n");
    s_test_expect (test, "/style.css", 200, NULL, "\r\nx-content-type-options: nosniff\r\n");
    s_test_expect (test, "/nope.js", 404, NULL, NULL);
    s_test_expect (test, "/js/", 404, NULL, NULL);  //  No listing
    const char *escapes[] = {"/../secret.txt",       "/%2e%2e/secret.txt",
                             "/js/../../secret.txt", "/..%2fsecret.txt",
                             "/%2E%2E%2Fsecret.txt", "/js/%2e%2e/%2e%2e/secret.txt",
                             "/./../secret.txt",     "//../secret.txt"};
    for (size_t index = 0; index < sizeof escapes / sizeof escapes[0]; index++) {
        char *response;
        int status = s_test_request (test, "GET", escapes[index], &response);
        if (strstr (response, "TOP SECRET") || status != 404)
            fprintf (stderr, "\n    traversal %s: %s\n", escapes[index], response);
        assert (!strstr (response, "TOP SECRET") && status == 404);
        free (response);
    }
}

static void
s_test_api (s_test_t *test, gw_fake_t *fake, gw_scatter_t *scatter)
{
    s_test_expect (test, "/health", 200,
                   "{\"status\":\"ok\",\"epoch\":1,\"shards\":2,\"pending\":0}",
                   "\r\ncache-control: no-store\r\n");
    s_test_expect (test, "/api/days", 200,
                   "{\"days\":[\"2025-11-20\",\"2025-11-21\",\"2025-11-30\"]}",
                   "\r\ncontent-type: application/json; charset=utf-8\r\n");
    const char *top =
        "{\"date\":\"2025-11-20\",\"op\":\"max\",\"ports\":[{\"port\":25,\"service\":\"SMTP\","
        "\"features\":{\"bytes\":[{\"ip\":\"10.0.0.2\",\"score\":2000,\"annotations\":1},"
        "{\"ip\":\"10.0.0.1\",\"score\":1000,\"annotations\":0}],"
        "\"packets\":[{\"ip\":\"10.0.0.2\",\"score\":2001,\"annotations\":1},"
        "{\"ip\":\"10.0.0.1\",\"score\":1001,\"annotations\":0}],"
        "\"durations\":[{\"ip\":\"10.0.0.2\",\"score\":2002,\"annotations\":1},"
        "{\"ip\":\"10.0.0.1\",\"score\":1002,\"annotations\":0}],"
        "\"peers\":[{\"ip\":\"10.0.0.2\",\"score\":2003,\"annotations\":1,\"peers_capped\":true},"
        "{\"ip\":\"10.0.0.1\",\"score\":1003,\"annotations\":0,\"peers_capped\":false}]}}],"
        "\"missing_shards\":[]}";
    s_test_expect (test, "/api/top?date=2025-11-20&op=max&port=25", 200, top,
                   "\r\ncache-control: private, max-age=3600\r\n");
    s_test_expect (test, "/api/top?date=2025-11-20&op=max", 200, top, NULL);
    s_test_expect (test,
                   "/api/series?host=10.0.0.1&port=all&feature=peers&op=sum&from=2025-11-20"
                   "&to=2025-11-21",
                   200,
                   "{\"host\":\"10.0.0.1\",\"feature\":\"peers\",\"op\":\"sum\",\"series\":["
                   "{\"port\":22,\"points\":[[\"2025-11-20\",23],[\"2025-11-21\",24]],"
                   "\"peers_capped\":[true,false]},"
                   "{\"port\":25,\"points\":[[\"2025-11-20\",26],[\"2025-11-21\",27]],"
                   "\"peers_capped\":[false,false]}],"
                   "\"missing_shards\":[]}",
                   NULL);
    s_test_expect (test,
                   "/api/series?host=10.0.0.1&port=all&feature=peers&op=max&from=2025-11-20"
                   "&to=2025-11-21&format=csv",
                   200,
                   "port,date,score,peers_capped\n22,2025-11-20,23,true\n22,2025-11-21,24,false\n"
                   "25,2025-11-20,26,false\n25,2025-11-21,27,false\n",
                   NULL);
    s_test_expect (test,
                   "/api/series?host=10.0.0.2&port=25&feature=bytes&op=min&from=2025-11-20"
                   "&to=2025-11-21&format=csv",
                   200, "port,date,score\n25,2025-11-20,26\n25,2025-11-21,27\n",
                   "\r\ncontent-type: text/csv; charset=utf-8\r\n");
    s_test_expect (test, "/api/host?ip=10.0.0.3", 200,
                   "{\"ip\":\"10.0.0.3\",\"first_seen\":\"2025-11-27T09:35:00Z\",\"last_seen\":"
                   "\"2025-11-27T09:40:00Z\",\"ports\":[25],\"annotations\":[{\"rrname\":"
                   "\"<b>x</b>\\\"\",\"rrtype\":\"PTR\",\"first_seen\":\"2025-11-27T09:35:00Z\","
                   "\"last_seen\":\"2025-11-27T09:35:00Z\"}]}",
                   "\r\ncache-control: private, max-age=10\r\n");
    char *response;
    assert (s_test_request (test, "GET", "/api/status", &response) == 200);
    assert (strstr (response, "\r\n\r\n{\"broker\":\"tcp://127.0.0.1:"));
    assert (strstr (response, "\"name\":\"shard-1\",\"state\":\"up\""));
    free (response);
    //  Bad input: 400 naming the parameter; unknown paths and methods.
    s_test_expect (test, "/api/top?date=2026-02-30&op=sum", 400,
                   "{\"error\":\"date: '2026-02-30' is not a valid date (YYYY-MM-DD)\"}",
                   "\r\ncache-control: no-store\r\n");
    s_test_expect (test, "/api/days?x=%22%3Cb%3E", 400,
                   "{\"error\":\"unknown parameter 'x': this endpoint takes no parameters\"}",
                   NULL);
    s_test_expect (test, "/api/host?ip=1.2.3", 400, NULL, "\r\n\r\n{\"error\":\"ip: ");
    s_test_expect (test, "/api/nope", 404, "{\"error\":\"no such endpoint: /api/nope\"}", NULL);
    s_test_expect (test, "/api/top/x?date=2025-11-20", 404, NULL, "{\"error\":\"no such endpoint");
    s_test_expect (test, "/health/x", 404, NULL, NULL);
    assert (s_test_request (test, "POST", "/api/days", &response) == 405);
    assert (strcasestr (response, "\r\nallow: GET, HEAD\r\n"));
    free (response);
    assert (s_test_request (test, "HEAD", "/api/days", &response) == 200);
    assert (strcasestr (response, "\r\ncontent-length: 49\r\n"));
    assert (streq (strstr (response, "\r\n\r\n"), "\r\n\r\n"));
    free (response);
    //  A silent shard: partial answer within the deadline, not cacheable.
    gw_fake_set_silent (fake, 1, true);
    int64_t start = zclock_mono ();
    s_test_expect (test, "/api/days", 200, "{\"days\":[\"2025-11-20\",\"2025-11-30\"]}",
                   "\r\ncache-control: no-store\r\n");
    s_test_expect (
        test, "/api/top?date=2025-11-20&op=sum&port=22", 200,
        "{\"date\":\"2025-11-20\",\"op\":\"sum\",\"ports\":[{\"port\":22,\"service\":"
        "\"SSH\",\"features\":{\"bytes\":[],\"packets\":[],\"durations\":[],\"peers\":[]}}"
        "],\"missing_shards\":[\"shard-1\"]}",
        NULL);
    assert (zclock_mono () - start < 1000);
    //  ...and for a host it owns, or with both silent: 503.
    proto_addr_t host;
    uint32_t ipv4 = 0x0A000001;
    do
        proto_addr_from_ipv4 (&host, ++ipv4);
    while (proto_shard_slot (&host) % 2 != 1);
    char path[64], text[PROTO_ADDR_STRLEN];
    snprintf (path, sizeof path, "/api/host?ip=%s", proto_addr_format (&host, text));
    s_test_expect (test, path, 503, "{\"error\":\"no shard answered in time; asked: shard-1\"}",
                   NULL);
    gw_fake_set_silent (fake, 0, true);
    s_test_expect (test, "/api/top?date=2025-11-20&op=sum", 503,
                   "{\"error\":\"no shard answered in time; asked: shard-0, shard-1\"}", NULL);
    //  A client that goes away: HTTP/1 only notices when it answers (at the deadline);
    //  the pending state outlives the client, then goes.
    char request[] = "GET /api/days HTTP/1.1\r\nHost: x\r\n\r\n";
    char *nothing = gw_fake_http (test->loop, test->port, request, 30);
    assert (nothing == NULL);
    bool never = false;
    gw_fake_run_until (test->loop, &never, 250);
    assert (gw_scatter_pending_count (scatter) == 0);
    gw_fake_release (fake, 0);
    gw_fake_release (fake, 1);
    gw_fake_set_silent (fake, 0, false);
    gw_fake_set_silent (fake, 1, false);
    gw_fake_run_until (test->loop, &never, 50);
}

void
gw_http_test (bool verbose)
{
    printf (" * gw_http: ");
    zsys_set_logstream (verbose ? stderr : NULL);  //  Failures below are logged on purpose
    uv_loop_t loop;
    uv_loop_init (&loop);
    s_test_t test = {&loop, 0, verbose};
    char root[] = "/tmp/gw_http_test.XXXXXX";
    assert (mkdtemp (root));
    char path[256];
    snprintf (path, sizeof path, "%s/secret.txt", root);
    s_test_write (path, "TOP SECRET\n");
    snprintf (path, sizeof path, "%s/web", root);
    assert (mkdir (path, 0700) == 0);
    snprintf (path, sizeof path, "%s/web/js", root);
    assert (mkdir (path, 0700) == 0);
    snprintf (path, sizeof path, "%s/web/index.html", root);
    s_test_write (path, "<!doctype html><p>portevo</p>\n");
    snprintf (path, sizeof path, "%s/web/style.css", root);
    s_test_write (path, "p {}\n");
    snprintf (path, sizeof path, "%s/web/js/app.js", root);
    s_test_write (path, "export const x = 1;\n");
    snprintf (path, sizeof path, "%s/web", root);
    char *web = gw_http_find_web (path);
    assert (web);

    //  No broker: no map, so /health and queries answer 503; bad addresses fail.
    gw_scatter_t *scatter = gw_scatter_new (&loop, "tcp://127.0.0.1:1", 200, NULL);
    assert (!gw_http_new (&loop, scatter, "127.0.0.1", web, 180, NULL));
    assert (!gw_http_new (&loop, scatter, "[::1:80", web, 180, NULL));
    assert (!gw_http_new (&loop, scatter, "1.2.3:80", web, 180, NULL));
    assert (!gw_http_new (&loop, scatter, "127.0.0.1:65536", web, 180, NULL));
    gw_http_t *http = gw_http_new (&loop, scatter, "127.0.0.1:0", NULL, 180, NULL);
    assert (http);
    test.port = gw_http_port (http);
    s_test_expect (&test, "/health", 503, "{\"error\":\"no shard map from the broker yet\"}", NULL);
    s_test_expect (&test, "/api/days", 503, "{\"error\":\"no shard map from the broker yet\"}",
                   NULL);
    s_test_expect (&test, "/", 404, NULL, NULL);  //  No UI configured
    gw_http_destroy (&http);
    gw_scatter_destroy (&scatter);

    //  The fake cluster.
    gw_fake_t *fake = gw_fake_new (&loop, 2);
    scatter = gw_scatter_new (&loop, gw_fake_broker (fake), 200, NULL);
    http = gw_http_new (&loop, scatter, "127.0.0.1:0", web, 180, NULL);
    assert (http);
    gw_http_set_verbose (http, verbose);
    test.port = gw_http_port (http);
    int64_t until = zclock_mono () + 5000;
    while (!gw_scatter_has_map (scatter) && zclock_mono () < until)
        uv_run (&loop, UV_RUN_ONCE);
    s_test_static (&test);
    s_test_api (&test, fake, scatter);

    //  Shutdown: an idle keep-alive connection is closed once asked.
    assert (gw_http_connections (http) == 0);
    int idle = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address;
    uv_ip4_addr ("127.0.0.1", test.port, &address);
    assert (connect (idle, (struct sockaddr *) &address, sizeof address) == 0);
    const char *request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    assert (write (idle, request, strlen (request)) == (ssize_t) strlen (request));
    bool never = false;
    gw_fake_run_until (&loop, &never, 50);
    assert (gw_http_connections (http) == 1);
    gw_http_shutdown (http);
    gw_fake_run_until (&loop, &never, 50);
    assert (gw_http_connections (http) == 0);
    char buffer[1024];
    ssize_t size;
    while ((size = read (idle, buffer, sizeof buffer)) > 0)
        ;  //  The answer to /health, then end of file
    assert (size == 0);
    close (idle);
    gw_http_destroy (&http);
    gw_scatter_destroy (&scatter);
    gw_fake_destroy (&fake);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert (uv_loop_close (&loop) == 0);
    free (web);
    char command[300];
    snprintf (command, sizeof command, "rm -rf '%s'", root);
    assert (system (command) == 0);
    zsys_set_logstream (stderr);
    printf ("OK\n");
}
