/*  proto_json.c - a small JSON writer into a growable buffer.

    The writer keeps a stack of open containers, each with a "first member" flag, so that
    commas and colons are placed automatically and misuse asserts.  Strings are validated
    as UTF-8 while they are escaped (Unicode 15, table 3-7 "well-formed UTF-8 byte
    sequences"); each maximal ill-formed subpart becomes U+FFFD, so the output is valid
    JSON and valid UTF-8 for any input bytes.
*/
#include "proto/proto_json.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_JSON_CAPACITY_MIN 256  //  First allocation, bytes

typedef enum { S_OBJECT = 1, S_ARRAY = 2 } s_container_t;

struct _proto_json_t {
    char *data;                               //  Text written, NUL-terminated (or NULL)
    size_t size;                              //  Bytes of text, without the NUL
    size_t capacity;                          //  Bytes allocated at data
    size_t depth;                             //  Containers open
    uint8_t container[PROTO_JSON_DEPTH_MAX];  //  s_container_t of each open container
    bool first[PROTO_JSON_DEPTH_MAX];         //  No member written yet in the container
    bool key_pending;                         //  A key was written, its value is due
    bool complete;                            //  The top-level value is written
};

//  --------------------------------------------------------------------------
proto_json_t *
proto_json_new (void)
{
    proto_json_t *self = (proto_json_t *) calloc (1, sizeof (proto_json_t));
    assert (self);
    return self;
}

//  --------------------------------------------------------------------------
void
proto_json_destroy (proto_json_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        proto_json_t *self = *self_p;
        free (self->data);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Make room for size more bytes plus the NUL.

static void
s_reserve (proto_json_t *self, size_t size)
{
    if (self->size + size + 1 <= self->capacity)
        return;
    size_t capacity = self->capacity ? self->capacity : PROTO_JSON_CAPACITY_MIN;
    while (capacity < self->size + size + 1) {
        assert (capacity <= SIZE_MAX / 2);
        capacity *= 2;
    }
    char *data = (char *) realloc (self->data, capacity);
    assert (data);
    self->data = data;
    self->capacity = capacity;
}

//  --------------------------------------------------------------------------

static void
s_put (proto_json_t *self, const char *bytes, size_t size)
{
    s_reserve (self, size);
    memcpy (self->data + self->size, bytes, size);
    self->size += size;
    self->data[self->size] = 0;
}

//  --------------------------------------------------------------------------

static void
s_put_char (proto_json_t *self, char byte)
{
    s_put (self, &byte, 1);
}

//  --------------------------------------------------------------------------
//  Before any value: the comma in an array, the pending key in an object.

static void
s_value_begin (proto_json_t *self)
{
    if (self->depth == 0) {
        assert (!self->complete);  //  One top-level value only
        return;
    }
    size_t top = self->depth - 1;
    if (self->container[top] == S_OBJECT) {
        assert (self->key_pending);  //  A member needs its key first
        self->key_pending = false;
    }
    else {
        if (!self->first[top])
            s_put_char (self, ',');
        self->first[top] = false;
    }
}

//  --------------------------------------------------------------------------

static void
s_value_end (proto_json_t *self)
{
    if (self->depth == 0)
        self->complete = true;
}

//  --------------------------------------------------------------------------
//  Length of the well-formed UTF-8 sequence at bytes (1..4), or 0 if ill-formed; in that
//  case *skip is the length of its maximal ill-formed subpart (at least 1).

static size_t
s_utf8_length (const uint8_t *bytes, size_t size, size_t *skip)
{
    uint8_t lead = bytes[0];
    size_t length;
    uint8_t low = 0x80, high = 0xBF;  //  Range of the second byte
    if (lead < 0x80)
        return 1;
    else if (lead >= 0xC2 && lead <= 0xDF)
        length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            low = 0xA0;  //  Overlong
        else if (lead == 0xED)
            high = 0x9F;  //  Surrogates
    }
    else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            low = 0x90;  //  Overlong
        else if (lead == 0xF4)
            high = 0x8F;  //  Above U+10FFFF
    }
    else {
        *skip = 1;  //  80..C1, F5..FF never start a sequence
        return 0;
    }
    for (size_t index = 1; index < length; index++) {
        bool valid = index < size && (index == 1 ? bytes[index] >= low && bytes[index] <= high
                                                 : bytes[index] >= 0x80 && bytes[index] <= 0xBF);
        if (!valid) {
            *skip = index;
            return 0;
        }
    }
    return length;
}

//  --------------------------------------------------------------------------
size_t
proto_json_utf8_length (const uint8_t *bytes, size_t size)
{
    assert (bytes);
    assert (size > 0);
    size_t skip = 0;
    return s_utf8_length (bytes, size, &skip);
}

//  --------------------------------------------------------------------------

static void
s_put_string (proto_json_t *self, const char *text, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    static const char replacement[] = "\xEF\xBF\xBD";  //  U+FFFD
    const uint8_t *bytes = (const uint8_t *) text;
    s_reserve (self, size + 2);
    s_put_char (self, '"');
    size_t index = 0;
    while (index < size) {
        //  Copy the longest run that needs no escape in one go
        size_t run = index;
        while (run < size && bytes[run] >= 0x20 && bytes[run] < 0x7F && bytes[run] != '"' &&
               bytes[run] != '\\')
            run++;
        if (run > index) {
            s_put (self, text + index, run - index);
            index = run;
            continue;
        }
        uint8_t byte = bytes[index];
        if (byte == '"' || byte == '\\') {
            char escape[2] = {'\\', (char) byte};
            s_put (self, escape, 2);
            index++;
        }
        else if (byte < 0x20 || byte == 0x7F) {
            char escape[6] = {'\\', 'u', '0', '0', hex[byte >> 4], hex[byte & 15]};
            s_put (self, escape, 6);
            index++;
        }
        else {
            size_t skip = 0;
            size_t length = s_utf8_length (bytes + index, size - index, &skip);
            if (length == 0) {
                s_put (self, replacement, 3);
                index += skip;
            }
            else if (length == 3 && bytes[index] == 0xE2 && bytes[index + 1] == 0x80 &&
                     (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9)) {
                s_put (self, bytes[index + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                index += 3;
            }
            else {
                s_put (self, text + index, length);
                index += length;
            }
        }
    }
    s_put_char (self, '"');
}

//  --------------------------------------------------------------------------

static void
s_open (proto_json_t *self, s_container_t container)
{
    s_value_begin (self);
    assert (self->depth < PROTO_JSON_DEPTH_MAX);
    self->container[self->depth] = (uint8_t) container;
    self->first[self->depth] = true;
    self->depth++;
    s_put_char (self, container == S_OBJECT ? '{' : '[');
}

//  --------------------------------------------------------------------------

static void
s_close (proto_json_t *self, s_container_t container)
{
    assert (self->depth > 0);
    assert (self->container[self->depth - 1] == container);
    assert (!self->key_pending);
    self->depth--;
    s_put_char (self, container == S_OBJECT ? '}' : ']');
    s_value_end (self);
}

//  --------------------------------------------------------------------------
void
proto_json_object_open (proto_json_t *self)
{
    assert (self);
    s_open (self, S_OBJECT);
}

//  --------------------------------------------------------------------------
void
proto_json_object_close (proto_json_t *self)
{
    assert (self);
    s_close (self, S_OBJECT);
}

//  --------------------------------------------------------------------------
void
proto_json_array_open (proto_json_t *self)
{
    assert (self);
    s_open (self, S_ARRAY);
}

//  --------------------------------------------------------------------------
void
proto_json_array_close (proto_json_t *self)
{
    assert (self);
    s_close (self, S_ARRAY);
}

//  --------------------------------------------------------------------------
void
proto_json_key (proto_json_t *self, const char *key)
{
    assert (self);
    assert (key);
    assert (self->depth > 0 && self->container[self->depth - 1] == S_OBJECT);
    assert (!self->key_pending);
    size_t top = self->depth - 1;
    if (!self->first[top])
        s_put_char (self, ',');
    self->first[top] = false;
    s_put_string (self, key, strlen (key));
    s_put_char (self, ':');
    self->key_pending = true;
}

//  --------------------------------------------------------------------------
void
proto_json_string_n (proto_json_t *self, const char *text, size_t size)
{
    assert (self);
    assert (text || size == 0);
    s_value_begin (self);
    s_put_string (self, text ? text : "", size);
    s_value_end (self);
}

//  --------------------------------------------------------------------------
void
proto_json_string (proto_json_t *self, const char *text)
{
    assert (self);
    if (text)
        proto_json_string_n (self, text, strlen (text));
    else
        proto_json_null (self);
}

//  --------------------------------------------------------------------------

static void
s_put_scalar (proto_json_t *self, const char *text)
{
    s_value_begin (self);
    s_put (self, text, strlen (text));
    s_value_end (self);
}

//  --------------------------------------------------------------------------
void
proto_json_int (proto_json_t *self, int64_t value)
{
    assert (self);
    char text[24];
    snprintf (text, sizeof text, "%" PRId64, value);
    s_put_scalar (self, text);
}

//  --------------------------------------------------------------------------
void
proto_json_uint (proto_json_t *self, uint64_t value)
{
    assert (self);
    char text[24];
    snprintf (text, sizeof text, "%" PRIu64, value);
    s_put_scalar (self, text);
}

//  --------------------------------------------------------------------------
void
proto_json_bool (proto_json_t *self, bool value)
{
    assert (self);
    s_put_scalar (self, value ? "true" : "false");
}

//  --------------------------------------------------------------------------
void
proto_json_null (proto_json_t *self)
{
    assert (self);
    s_put_scalar (self, "null");
}

//  --------------------------------------------------------------------------
void
proto_json_key_string (proto_json_t *self, const char *key, const char *text)
{
    proto_json_key (self, key);
    proto_json_string (self, text);
}

//  --------------------------------------------------------------------------
void
proto_json_key_int (proto_json_t *self, const char *key, int64_t value)
{
    proto_json_key (self, key);
    proto_json_int (self, value);
}

//  --------------------------------------------------------------------------
void
proto_json_key_uint (proto_json_t *self, const char *key, uint64_t value)
{
    proto_json_key (self, key);
    proto_json_uint (self, value);
}

//  --------------------------------------------------------------------------
const char *
proto_json_data (proto_json_t *self)
{
    assert (self);
    return self->data ? self->data : "";
}

//  --------------------------------------------------------------------------
size_t
proto_json_size (proto_json_t *self)
{
    assert (self);
    return self->size;
}

//  --------------------------------------------------------------------------
bool
proto_json_complete (proto_json_t *self)
{
    assert (self);
    return self->complete;
}

//  --------------------------------------------------------------------------
void
proto_json_reset (proto_json_t *self)
{
    assert (self);
    free (self->data);
    self->data = NULL;
    self->size = 0;
    self->capacity = 0;
    self->depth = 0;
    self->key_pending = false;
    self->complete = false;
}

//  --------------------------------------------------------------------------
char *
proto_json_take (proto_json_t *self)
{
    assert (self);
    char *text = self->data;
    if (!text) {
        text = strdup ("");
        assert (text);
    }
    self->data = NULL;
    proto_json_reset (self);
    return text;
}

//  --------------------------------------------------------------------------
//  Selftest

typedef struct {
    const char *input;     //  Bytes in
    size_t size;           //  Their count (NULs allowed)
    const char *expected;  //  JSON string out, quotes included
} s_string_case_t;

#define S_CASE(input, expected)                                                                    \
    {                                                                                              \
        input, sizeof (input) - 1, expected                                                        \
    }

void
proto_json_test (bool verbose)
{
    printf (" * proto_json: ");
    if (verbose)
        printf ("\n");

    static const s_string_case_t cases[] = {
        S_CASE ("", "\"\""), S_CASE ("plain text", "\"plain text\""),
        S_CASE ("say \"hi\"", "\"say \\\"hi\\\"\""), S_CASE ("back\\slash", "\"back\\\\slash\""),
        S_CASE ("slash / stays", "\"slash / stays\""),
        S_CASE ("<img src=x onerror=alert(1)>", "\"<img src=x onerror=alert(1)>\""),
        S_CASE ("</script><script>alert(1)</script>", "\"</script><script>alert(1)</script>\""),
        S_CASE ("tab\there\nnew\rcr", "\"tab\\u0009here\\u000anew\\u000dcr\""),
        S_CASE ("nul\0byte", "\"nul\\u0000byte\""),
        S_CASE ("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""),
        S_CASE ("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
                "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\""),
        S_CASE ("max \xF4\x8F\xBF\xBF", "\"max \xF4\x8F\xBF\xBF\""),
        S_CASE ("ls\xE2\x80\xA8ps\xE2\x80\xA9", "\"ls\\u2028ps\\u2029\""),
        //  Ill-formed UTF-8: one U+FFFD per maximal ill-formed subpart
        S_CASE ("\x80", "\"\xEF\xBF\xBD\""),
        S_CASE ("a\xFF"
                "b",
                "\"a\xEF\xBF\xBD"
                "b\""),
        S_CASE ("\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""),  //  Overlong '/'
        S_CASE ("\xC3", "\"\xEF\xBF\xBD\""),                  //  Truncated at the end
        S_CASE ("\xC3(", "\"\xEF\xBF\xBD(\""),                //  Bad continuation
        S_CASE ("\xE0\x80\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""),  //  Overlong
        S_CASE ("\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""),  //  Surrogate
        S_CASE ("\xE2\x82", "\"\xEF\xBF\xBD\""),                              //  Truncated 3-byte
        S_CASE ("\xE2\x82x", "\"\xEF\xBF\xBDx\""),
        S_CASE ("\xF0\x9F\x98", "\"\xEF\xBF\xBD\""),  //  Truncated 4-byte
        S_CASE ("\xF4\x90\x80\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""),
        S_CASE ("\xF5\xBF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""),
        S_CASE ("\xC3\"", "\"\xEF\xBF\xBD\\\"\""),  //  Quote after a lead
    };
    proto_json_t *json = proto_json_new ();
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        proto_json_string_n (json, cases[index].input, cases[index].size);
        if (verbose || strcmp (proto_json_data (json), cases[index].expected) != 0)
            printf ("   case %zu: got %s want %s\n", index, proto_json_data (json),
                    cases[index].expected);
        assert (strcmp (proto_json_data (json), cases[index].expected) == 0);
        assert (proto_json_complete (json));
        proto_json_reset (json);
    }

    //  Random bytes always give a string of well-formed UTF-8 without raw controls
    uint32_t seed = 12345;
    for (int round = 0; round < 2000; round++) {
        uint8_t random_bytes[16];
        for (size_t index = 0; index < sizeof random_bytes; index++) {
            seed = seed * 1103515245 + 12345;
            random_bytes[index] = (uint8_t) (seed >> 16);
        }
        proto_json_string_n (json, (const char *) random_bytes, sizeof random_bytes);
        const uint8_t *out = (const uint8_t *) proto_json_data (json);
        size_t out_size = proto_json_size (json);
        assert (out_size >= 2 && out[0] == '"' && out[out_size - 1] == '"');
        for (size_t index = 0; index < out_size;) {
            size_t skip = 0;
            size_t length = s_utf8_length (out + index, out_size - index, &skip);
            assert (length > 0);
            assert (out[index] >= 0x20 && out[index] != 0x7F);
            index += length;
        }
        proto_json_reset (json);
    }

    //  Structure: commas, keys, nesting, numbers at their limits
    proto_json_object_open (json);
    proto_json_key_string (json, "date", "2026-11-20");
    proto_json_key (json, "list");
    proto_json_array_open (json);
    proto_json_int (json, INT64_MIN);
    proto_json_int (json, INT64_MAX);
    proto_json_uint (json, UINT64_MAX);
    proto_json_uint (json, 0);
    proto_json_bool (json, true);
    proto_json_bool (json, false);
    proto_json_null (json);
    proto_json_string (json, NULL);
    proto_json_array_open (json);
    proto_json_array_close (json);
    proto_json_object_open (json);
    proto_json_object_close (json);
    proto_json_array_close (json);
    assert (!proto_json_complete (json));
    proto_json_key_int (json, "k\"ey", -1);
    proto_json_key_uint (json, "n", 42);
    proto_json_object_close (json);
    assert (proto_json_complete (json));
    const char *expected = "{\"date\":\"2026-11-20\",\"list\":[-9223372036854775808,"
                           "9223372036854775807,18446744073709551615,0,true,false,null,"
                           "null,[],{}],\"k\\\"ey\":-1,\"n\":42}";
    assert (strcmp (proto_json_data (json), expected) == 0);
    assert (proto_json_size (json) == strlen (expected));

    //  Take hands the text over and leaves the writer empty and reusable
    char *text = proto_json_take (json);
    assert (strcmp (text, expected) == 0);
    free (text);
    assert (proto_json_size (json) == 0);
    assert (strcmp (proto_json_data (json), "") == 0);
    text = proto_json_take (json);
    assert (strcmp (text, "") == 0);
    free (text);

    assert (proto_json_utf8_length ((const uint8_t *) "\xE2\x82\xAC", 3) == 3);
    assert (proto_json_utf8_length ((const uint8_t *) "\xE2\x82\xAC", 2) == 0);
    assert (proto_json_utf8_length ((const uint8_t *) "\xED\xA0\x80", 3) == 0);
    assert (proto_json_utf8_length ((const uint8_t *) "a", 1) == 1);

    //  Growth: a long string crosses several reallocations
    size_t long_size = 100000;
    char *long_text = (char *) malloc (long_size);
    assert (long_text);
    memset (long_text, 'x', long_size);
    long_text[500] = '"';
    proto_json_string_n (json, long_text, long_size);
    assert (proto_json_size (json) == long_size + 3);
    assert (proto_json_data (json)[501] == '\\');
    free (long_text);

    //  Deep nesting up to the limit
    proto_json_reset (json);
    for (int depth = 0; depth < PROTO_JSON_DEPTH_MAX; depth++)
        proto_json_array_open (json);
    for (int depth = 0; depth < PROTO_JSON_DEPTH_MAX; depth++)
        proto_json_array_close (json);
    assert (proto_json_complete (json));
    assert (proto_json_size (json) == 2 * PROTO_JSON_DEPTH_MAX);

    proto_json_destroy (&json);
    proto_json_destroy (&json);  //  Idempotent
    assert (json == NULL);
    printf ("OK\n");
}
