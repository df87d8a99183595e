/*  proto_curve.h - CURVE encryption and authentication on every ZeroMQ socket.

    Off unless the config names a keys directory (portevo/curve/keys, CONFIG.md), made
    by `portevo keygen`:

        KEYS/server.cert, server.cert_secret   the cluster's server key: broker and
                                               shards bind with it, every client knows
                                               its public half
        KEYS/NAME.cert, NAME.cert_secret       a process's own (client) key: NAME is its
                                               name (shard-0, router1, gateway, portevo
                                               for the CLI)
        KEYS/allowed/NAME.cert                 the public keys servers accept

    A server (broker, shard) runs czmq's zauth actor over KEYS/allowed: a client whose key
    is not there is refused during the handshake, and the refusal is logged by zauth
    ("zauth: - denied (CURVE) client_key=..."); nothing of it reaches the application.
    Every socket method is a no-op on a NULL object, so callers need no "if".
*/
#ifndef PROTO_CURVE_H_INCLUDED
#define PROTO_CURVE_H_INCLUDED

#include <czmq.h>

#define PROTO_CURVE_SERVER "server"       //  The cluster's server key name
#define PROTO_CURVE_ALLOWED "allowed"     //  Subdirectory of allowed public keys
#define PROTO_CURVE_ZAP_DOMAIN "portevo"  //  ZAP domain of the server sockets

typedef struct _proto_curve_t proto_curve_t;

//  CURVE for the process called name, with the keys directory keys.  server: it binds
//  server sockets (broker, shard), so it also needs the server secret and runs zauth.
//  A server with no client socket (the broker) gives name NULL and needs no key of its own.
//  Returns the object, or NULL with *failed false if keys is NULL or empty (CURVE off),
//  or NULL with *failed true if a key cannot be loaded (logged, naming the file).
proto_curve_t *proto_curve_new (const char *keys, const char *name, bool server, bool *failed);

//  Destroy (stops zauth); NULL-safe, nulls *self_p.
void proto_curve_destroy (proto_curve_t **self_p);

//  Make sock a CURVE client of the cluster's servers (before it connects).
void proto_curve_client (proto_curve_t *self, zsock_t *sock);

//  Make sock a CURVE server that zauth checks (before it binds).
void proto_curve_server (proto_curve_t *self, zsock_t *sock);

//  The client's public key (Z85, 40 characters), borrowed; "" on a NULL object.
const char *proto_curve_public (proto_curve_t *self);

//  `portevo keygen`: in keys (created if needed), make the server key unless it exists,
//  and a key for each name that has none, with its public half copied into allowed/.
//  Says what it did on out.  0, or -1 (said on err, naming the file).
int proto_curve_keygen (const char *keys, char **names, int count, FILE *out, FILE *err);

//  Selftest
void proto_curve_test (bool verbose);

#endif
