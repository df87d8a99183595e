/*  gw_auth.c - optional HTTP authentication of the gateway (see gw_auth.h).

    Each credential is kept as the whole Authorization value it must match ("Bearer T",
    "Basic base64(user:password)"), so a check is a length test and a comparison that
    looks at every byte.
*/
#include "gateway/gw_auth.h"

#include <sys/stat.h>

#define S_CREDENTIALS_MAX 64  //  Credentials a file may hold
#define S_LINE_MAX 1024       //  Longest line

struct _gw_auth_t {
    char *expected[S_CREDENTIALS_MAX];  //  Authorization values accepted
    size_t count;                       //  Entries used
    bool basic;                         //  A basic credential exists: challenge Basic
    char challenge[64];                 //  WWW-Authenticate value
};

typedef struct {
    h2o_handler_t super;  //  Must come first
    gw_auth_t *auth;      //  Borrowed
} s_handler_t;

//  --------------------------------------------------------------------------
void
gw_auth_destroy (gw_auth_t **self_p)
{
    assert (self_p);
    gw_auth_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->count; index++)
        zstr_free (&self->expected[index]);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Take one line ("bearer TOKEN" or "basic USER:PASSWORD", trimmed).  0, or -1.

static int
s_take_line (gw_auth_t *self, char *line)
{
    char *value = strchr (line, ' ');
    if (!value || self->count == S_CREDENTIALS_MAX)
        return -1;
    *value++ = 0;
    while (*value == ' ')
        value++;
    if (!*value || strpbrk (value, " \t"))
        return -1;
    if (streq (line, "bearer"))
        self->expected[self->count++] = zsys_sprintf ("Bearer %s", value);
    else if (streq (line, "basic") && strchr (value, ':') && *value != ':') {
        size_t length = strlen (value);
        char *encoded = (char *) zmalloc (h2o_base64_encode_capacity (length) + 1);
        h2o_base64_encode (encoded, value, length, 0);
        self->expected[self->count++] = zsys_sprintf ("Basic %s", encoded);
        free (encoded);
        self->basic = true;
    }
    else
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
gw_auth_t *
gw_auth_load (const char *path)
{
    assert (path);
    FILE *file = fopen (path, "r");
    if (!file) {
        zsys_error ("auth: cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    struct stat info;
    if (fstat (fileno (file), &info) || (info.st_mode & 077)) {
        zsys_error ("auth: %s holds secrets but others may read it: chmod 600 it", path);
        fclose (file);
        return NULL;
    }
    gw_auth_t *self = (gw_auth_t *) zmalloc (sizeof (gw_auth_t));
    char line[S_LINE_MAX];
    int number = 0;
    while (self && fgets (line, sizeof line, file)) {
        number++;
        line[strcspn (line, "\r\n")] = 0;
        char *start = line;
        while (*start == ' ' || *start == '\t')
            start++;
        if (*start == 0 || *start == '#')
            continue;
        if (s_take_line (self, start)) {
            zsys_error ("auth: %s line %d is not 'bearer TOKEN' or 'basic USER:PASSWORD' "
                        "(at most %d credentials)",
                        path, number, S_CREDENTIALS_MAX);
            gw_auth_destroy (&self);
        }
    }
    fclose (file);
    if (self && self->count == 0) {
        zsys_error ("auth: %s holds no credential", path);
        gw_auth_destroy (&self);
    }
    if (self)
        snprintf (self->challenge, sizeof self->challenge, "%s realm=\"%s\"",
                  self->basic ? "Basic" : "Bearer", GW_AUTH_REALM);
    return self;
}

//  --------------------------------------------------------------------------
bool
gw_auth_check (gw_auth_t *self, const char *value, size_t length)
{
    assert (self);
    bool allowed = false;
    for (size_t index = 0; index < self->count; index++) {
        const char *expected = self->expected[index];
        size_t size = strlen (expected);
        unsigned char differ = size != length;
        for (size_t at = 0; at < size; at++)
            differ |= (unsigned char) expected[at] ^ (unsigned char) (at < length ? value[at] : 0);
        allowed |= !differ;
    }
    return allowed;
}

//  --------------------------------------------------------------------------
static int
s_on_req (h2o_handler_t *handler, h2o_req_t *req)
{
    gw_auth_t *self = ((s_handler_t *) handler)->auth;
    ssize_t at = h2o_find_header (&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (at >= 0 && gw_auth_check (self, req->headers.entries[at].value.base,
                                  req->headers.entries[at].value.len))
        return -1;  //  The next handler answers
    h2o_add_header (&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                    self->challenge, strlen (self->challenge));
    gw_api_send_error (req, 401,
                       at >= 0 ? "authentication failed: these credentials are not accepted"
                               : "authentication required (Authorization header)");
    return 0;
}

//  --------------------------------------------------------------------------
void
gw_auth_register (gw_auth_t *self, h2o_pathconf_t *pathconf)
{
    assert (self);
    assert (pathconf);
    s_handler_t *handler = (s_handler_t *) h2o_create_handler (pathconf, sizeof (s_handler_t));
    handler->super.on_req = s_on_req;
    handler->auth = self;
}

//  --------------------------------------------------------------------------
void
gw_auth_test (bool verbose)
{
    printf (" * gw_auth: ");
    zsys_set_logstream (verbose ? stdout : NULL);  //  The refusals below are expected
    char path[] = "/tmp/gw_auth_test.XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    const char *text = "# credentials\n"
                       "bearer s3cr3t-token\n"
                       "  basic alice:open sesame\n";  //  A space in a password: refused
    assert (write (fd, text, strlen (text)) == (ssize_t) strlen (text));
    close (fd);
    assert (gw_auth_load (path) == NULL);  //  Line 3
    FILE *file = fopen (path, "w");
    fputs ("bearer s3cr3t-token\nbasic alice:sesame\n", file);
    fclose (file);
    chmod (path, 0644);
    assert (gw_auth_load (path) == NULL);  //  Readable by others
    chmod (path, 0600);
    gw_auth_t *auth = gw_auth_load (path);
    assert (auth && auth->basic && auth->count == 2);
    assert (streq (auth->challenge, "Basic realm=\"portevo\""));
    const struct {
        const char *value;
        bool allowed;
    } cases[] = {{"Bearer s3cr3t-token", true},     {"Bearer s3cr3t-toke", false},
                 {"Bearer s3cr3t-token2", false},   {"bearer s3cr3t-token", false},
                 {"Basic YWxpY2U6c2VzYW1l", true},  //  alice:sesame
                 {"Basic YWxpY2U6c2VzYW1m", false}, {"", false}};
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++)
        assert (gw_auth_check (auth, cases[index].value, strlen (cases[index].value)) ==
                cases[index].allowed);
    gw_auth_destroy (&auth);
    gw_auth_destroy (&auth);
    file = fopen (path, "w");
    fputs ("# nothing\n", file);
    fclose (file);
    assert (gw_auth_load (path) == NULL);
    unlink (path);
    assert (gw_auth_load (path) == NULL);  //  Missing
    zsys_set_logstream (stderr);
    printf ("OK\n");
}
