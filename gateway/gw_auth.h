/*  gw_auth.h - optional HTTP authentication of the gateway: a bearer token, basic auth.

    Off unless the config names a credentials file (portevo/gateway/auth_file, or
    --auth-file), one credential a line, '#' comments:

        bearer TOKEN               accepts "Authorization: Bearer TOKEN" (API clients)
        basic USER:PASSWORD        accepts basic auth (browsers ask for it themselves)

    The file holds secrets: it is refused unless only its owner can read it.  With it,
    every path but /health answers 401 with a WWW-Authenticate challenge (basic if any
    basic credential is configured, so that a browser asks for a password, else bearer)
    and a JSON error, unless the request carries one of the credentials.  Comparisons
    take the same time whatever the input.
*/
#ifndef GW_AUTH_H_INCLUDED
#define GW_AUTH_H_INCLUDED

#include "gateway/gw_api.h"

#define GW_AUTH_REALM "portevo"  //  Realm of the challenge

typedef struct _gw_auth_t gw_auth_t;

//  Load the credentials file.  NULL if it cannot be read, is readable by others, has a
//  malformed line or no credential (logged, naming the file and the line).
gw_auth_t *gw_auth_load (const char *path);

//  Destroy; NULL-safe, nulls *self_p.
void gw_auth_destroy (gw_auth_t **self_p);

//  True if an Authorization header value (value[0..length)) is one of the credentials.
bool gw_auth_check (gw_auth_t *self, const char *value, size_t length);

//  Put the check in front of pathconf's handlers (call before registering them): it
//  declines a request with good credentials (the next handler answers) and answers 401
//  otherwise.  self must outlive the server.
void gw_auth_register (gw_auth_t *self, h2o_pathconf_t *pathconf);

//  Selftest
void gw_auth_test (bool verbose);

#endif
