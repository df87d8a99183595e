/*  proto_curve.c - CURVE on every ZeroMQ socket (see proto_curve.h).

    Keys are czmq certificates (zcert: a public file and a _secret file, ZPL text);
    authentication is czmq's zauth actor over the allowed directory, with a ZAP domain
    set on each server socket so that libzmq asks it for every connection.
*/
#include "proto/proto_curve.h"

#include <sys/stat.h>
#include <unistd.h>

struct _proto_curve_t {
    zcert_t *own;         //  This process's key (client side)
    zcert_t *server;      //  The cluster's server key (secret only on servers)
    char *server_public;  //  Its public half, Z85
    zactor_t *auth;       //  zauth, on servers only
};

//  --------------------------------------------------------------------------
//  Load a certificate; need_secret: the _secret file must be there.  NULL if not (logged).

static zcert_t *
s_load (const char *keys, const char *name, bool need_secret)
{
    char *path = zsys_sprintf ("%s/%s.cert", keys, name);
    char *secret = zsys_sprintf ("%s_secret", path);
    zcert_t *cert = NULL;
    if (access (need_secret ? secret : path, R_OK))
        zsys_error ("curve: cannot read %s: %s (make keys with `portevo keygen --keys %s %s`)",
                    need_secret ? secret : path, strerror (errno), keys, name);
    else if (!(cert = zcert_load (path)))
        zsys_error ("curve: %s is not a key file", need_secret ? secret : path);
    zstr_free (&secret);
    zstr_free (&path);
    return cert;
}

//  --------------------------------------------------------------------------
proto_curve_t *
proto_curve_new (const char *keys, const char *name, bool server, bool *failed)
{
    assert (name || server);
    assert (failed);
    *failed = false;
    if (!keys || !*keys)
        return NULL;
    proto_curve_t *self = (proto_curve_t *) zmalloc (sizeof (proto_curve_t));
    self->own = name ? s_load (keys, name, true) : NULL;
    self->server = s_load (keys, PROTO_CURVE_SERVER, server);
    if ((name && !self->own) || !self->server) {
        proto_curve_destroy (&self);
        *failed = true;
        return NULL;
    }
    self->server_public = strdup (zcert_public_txt (self->server));
    if (server) {
        char *allowed = zsys_sprintf ("%s/%s", keys, PROTO_CURVE_ALLOWED);
        struct stat info;
        if (stat (allowed, &info) || !S_ISDIR (info.st_mode)) {
            zsys_error ("curve: no directory of allowed keys %s", allowed);
            *failed = true;
        }
        else {
            self->auth = zactor_new (zauth, NULL);
            assert (self->auth);
            zstr_sendx (self->auth, "VERBOSE", NULL);  //  Logs each refusal (and each pass)
            zsock_wait (self->auth);
            zstr_sendx (self->auth, "CURVE", allowed, NULL);
            zsock_wait (self->auth);
        }
        zstr_free (&allowed);
        if (*failed)
            proto_curve_destroy (&self);
    }
    return self;
}

//  --------------------------------------------------------------------------
void
proto_curve_destroy (proto_curve_t **self_p)
{
    assert (self_p);
    proto_curve_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy (&self->auth);
    zstr_free (&self->server_public);
    zcert_destroy (&self->server);
    zcert_destroy (&self->own);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
proto_curve_client (proto_curve_t *self, zsock_t *sock)
{
    assert (sock);
    if (!self)
        return;
    assert (self->own);  //  Made with a name
    zcert_apply (self->own, sock);
    zsock_set_curve_serverkey (sock, self->server_public);
}

//  --------------------------------------------------------------------------
void
proto_curve_server (proto_curve_t *self, zsock_t *sock)
{
    assert (sock);
    if (!self)
        return;
    assert (self->auth);  //  Made with server true
    zcert_apply (self->server, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, PROTO_CURVE_ZAP_DOMAIN);
}

//  --------------------------------------------------------------------------
const char *
proto_curve_public (proto_curve_t *self)
{
    return self && self->own ? zcert_public_txt (self->own) : "";
}

//  --------------------------------------------------------------------------
//  Make name's key in keys unless it exists; with allowed, copy its public half there.

static int
s_keygen_one (const char *keys, const char *name, const char *allowed, FILE *out, FILE *err)
{
    char *path = zsys_sprintf ("%s/%s.cert", keys, name);
    int rc = 0;
    zcert_t *cert = access (path, F_OK) == 0 ? zcert_load (path) : NULL;
    bool made = !cert;
    if (made) {
        cert = zcert_new ();
        assert (cert);
        zcert_set_meta (cert, "name", "%s", name);
        if (zcert_save (cert, path)) {
            fprintf (err, "portevo keygen: cannot write %s: %s\n", path, strerror (errno));
            rc = -1;
        }
    }
    if (rc == 0 && allowed) {
        char *public_path = zsys_sprintf ("%s/%s.cert", allowed, name);
        if (zcert_save_public (cert, public_path)) {
            fprintf (err, "portevo keygen: cannot write %s: %s\n", public_path, strerror (errno));
            rc = -1;
        }
        zstr_free (&public_path);
    }
    if (rc == 0)
        fprintf (out, "%-12s %s  %s%s\n", name, zcert_public_txt (cert), path,
                 made ? " (new)" : " (kept)");
    zcert_destroy (&cert);
    zstr_free (&path);
    return rc;
}

//  --------------------------------------------------------------------------
int
proto_curve_keygen (const char *keys, char **names, int count, FILE *out, FILE *err)
{
    assert (keys);
    assert (names || count == 0);
    assert (out);
    char *allowed = zsys_sprintf ("%s/%s", keys, PROTO_CURVE_ALLOWED);
    int rc = zsys_dir_create ("%s", allowed);
    if (rc)
        fprintf (err, "portevo keygen: cannot make %s: %s\n", allowed, strerror (errno));
    else {
        chmod (keys, 0700);  //  Secrets inside
        rc = s_keygen_one (keys, PROTO_CURVE_SERVER, NULL, out, err);
    }
    for (int index = 0; rc == 0 && index < count; index++) {
        if (streq (names[index], PROTO_CURVE_SERVER)) {
            fprintf (err, "portevo keygen: '%s' is the server key's name\n", names[index]);
            rc = -1;
        }
        else
            rc = s_keygen_one (keys, names[index], allowed, out, err);
    }
    zstr_free (&allowed);
    return rc;
}

//  --------------------------------------------------------------------------
//  True if a message from client reaches server within timeout_msecs.

static bool
s_test_reaches (zsock_t *server, zsock_t *client, int timeout_msecs)
{
    zstr_send (client, "hello");
    zpoller_t *poller = zpoller_new (server, NULL);
    bool reached = zpoller_wait (poller, timeout_msecs) == server;
    zpoller_destroy (&poller);
    if (reached) {
        zmsg_t *msg = zmsg_recv (server);
        zmsg_destroy (&msg);
    }
    return reached;
}

void
proto_curve_test (bool verbose)
{
    printf (" * proto_curve: ");
    zsys_set_logstream (verbose ? stdout : NULL);  //  zauth's refusals below are expected
    char dir_template[] = "/tmp/proto_curve_test.XXXXXX";
    char *keys = mkdtemp (dir_template);
    assert (keys);
    bool failed;
    assert (proto_curve_new (NULL, "x", true, &failed) == NULL && !failed);
    assert (proto_curve_new ("", "x", false, &failed) == NULL && !failed);
    assert (proto_curve_new (keys, "shard-0", true, &failed) == NULL && failed);

    FILE *sink = fopen ("/dev/null", "w");
    assert (sink);
    char *names[] = {(char *) "shard-0", (char *) "router1"};
    assert (proto_curve_keygen (keys, names, 2, sink, sink) == 0);
    assert (proto_curve_keygen (keys, names, 1, sink, sink) == 0);  //  Kept, not replaced
    char *bad[] = {(char *) "server"};
    assert (proto_curve_keygen (keys, bad, 1, sink, sink) == -1);
    fclose (sink);

    proto_curve_t *server = proto_curve_new (keys, "shard-0", true, &failed);
    proto_curve_t *client = proto_curve_new (keys, "router1", false, &failed);
    assert (server && client && !failed);
    assert (strlen (proto_curve_public (client)) == 40);
    assert (streq (proto_curve_public (NULL), ""));

    //  An allowed client reaches the server
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    proto_curve_server (server, router);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert (port > 0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    proto_curve_client (client, dealer);
    assert (zsock_connect (dealer, "tcp://127.0.0.1:%d", port) == 0);
    assert (s_test_reaches (router, dealer, 2000));
    zsock_destroy (&dealer);

    //  A client without CURVE, or with a key not in allowed/, does not
    dealer = zsock_new (ZMQ_DEALER);
    assert (zsock_connect (dealer, "tcp://127.0.0.1:%d", port) == 0);
    assert (!s_test_reaches (router, dealer, 300));
    zsock_destroy (&dealer);
    char *allowed_key = zsys_sprintf ("%s/%s/router1.cert", keys, PROTO_CURVE_ALLOWED);
    assert (unlink (allowed_key) == 0);
    zclock_sleep (1100);  //  zcertstore notices the directory changed by its mtime
    dealer = zsock_new (ZMQ_DEALER);
    proto_curve_client (client, dealer);
    assert (zsock_connect (dealer, "tcp://127.0.0.1:%d", port) == 0);
    assert (!s_test_reaches (router, dealer, 500));
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    proto_curve_destroy (&client);
    proto_curve_destroy (&server);
    proto_curve_destroy (&server);

    //  Without the server secret a process cannot serve, but can be a client
    char *secret = zsys_sprintf ("%s/server.cert_secret", keys);
    assert (unlink (secret) == 0);
    assert (proto_curve_new (keys, "shard-0", true, &failed) == NULL && failed);
    client = proto_curve_new (keys, "shard-0", false, &failed);
    assert (client && !failed);
    proto_curve_destroy (&client);

    zstr_free (&secret);
    zstr_free (&allowed_key);
    zdir_t *dir = zdir_new (keys, NULL);
    zdir_remove (dir, true);
    zdir_destroy (&dir);
    zsys_set_logstream (stdout);
    printf ("OK\n");
}
