/*  proto_json.h - a small JSON writer into a growable buffer.

    Every answer portevo prints (the `portevo` CLI) or serves (the gateway) is JSON of the
    shapes DESIGN.md fixes, and both must print it byte for byte alike, so the writer lives
    in proto/.  It only writes: objects, arrays, keys, strings, 64-bit integers, booleans
    and null, compact (no white space), with commas placed automatically.

    Strings are always emitted as valid JSON whatever the input bytes: quote and backslash
    are escaped, control characters (and DEL, U+2028, U+2029, which break some JavaScript
    parsers) become \u00XX / \u2028 escapes, and every ill-formed UTF-8 sequence (overlong
    forms, surrogates, code points above U+10FFFF, truncated or stray bytes) is replaced by
    U+FFFD, one per maximal ill-formed subpart as Unicode recommends.  HTML is not escaped:
    `<img src=x onerror=alert(1)>` stays text in JSON; escaping it for display is the
    browser's job (textContent, never innerHTML).

    Misuse (a value where a key is due, closing what is not open, nesting deeper than
    PROTO_JSON_DEPTH_MAX) is a programmer error and asserts.

    Typical use:
        proto_json_t *json = proto_json_new ();
        proto_json_object_open (json);
        proto_json_key (json, "days");
        proto_json_array_open (json);
        proto_json_string (json, "2026-11-20");
        proto_json_array_close (json);
        proto_json_object_close (json);
        char *text = proto_json_take (json);   //  {"days":["2026-11-20"]}
        proto_json_destroy (&json);
*/
#ifndef PROTO_JSON_H_INCLUDED
#define PROTO_JSON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_JSON_DEPTH_MAX 32  //  Deepest nesting of objects and arrays

typedef struct _proto_json_t proto_json_t;

//  Create an empty writer.  Allocation failures abort (czmq's zmalloc policy).
proto_json_t *proto_json_new (void);

//  Destroy; NULL-safe, nulls *self_p.
void proto_json_destroy (proto_json_t **self_p);

//  Open and close an object or an array (as a value: after a key, in an array, or at
//  the top).
void proto_json_object_open (proto_json_t *self);
void proto_json_object_close (proto_json_t *self);
void proto_json_array_open (proto_json_t *self);
void proto_json_array_close (proto_json_t *self);

//  The key of the next member of the innermost object (escaped like a string).
void proto_json_key (proto_json_t *self, const char *key);

//  Values.  string copies text (NUL-terminated; NULL writes null); string_n copies size
//  bytes, NULs included (escaped as \u0000).
void proto_json_string (proto_json_t *self, const char *text);
void proto_json_string_n (proto_json_t *self, const char *text, size_t size);
void proto_json_int (proto_json_t *self, int64_t value);
void proto_json_uint (proto_json_t *self, uint64_t value);
void proto_json_bool (proto_json_t *self, bool value);
void proto_json_null (proto_json_t *self);

//  Shorthands for a key followed by a value.
void proto_json_key_string (proto_json_t *self, const char *key, const char *text);
void proto_json_key_int (proto_json_t *self, const char *key, int64_t value);
void proto_json_key_uint (proto_json_t *self, const char *key, uint64_t value);

//  The text written so far (borrowed until the next call on self; always NUL-terminated)
//  and its length in bytes.
const char *proto_json_data (proto_json_t *self);
size_t proto_json_size (proto_json_t *self);

//  True when the top-level value is complete (every object and array closed).
bool proto_json_complete (proto_json_t *self);

//  Hand over the text (a new string the caller frees with free) and start again empty.
char *proto_json_take (proto_json_t *self);

//  Forget everything written and start again empty.
void proto_json_reset (proto_json_t *self);

//  The length (1 to 4) of the well-formed UTF-8 sequence that starts bytes (size > 0
//  bytes available), or 0 if it is ill-formed (Unicode table 3-7).  For parsers that
//  must reject what this writer would replace.
size_t proto_json_utf8_length (const uint8_t *bytes, size_t size);

//  Selftest
void proto_json_test (bool verbose);

#endif
