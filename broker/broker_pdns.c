/*  broker_pdns.c - passive-DNS Common Output Format lines -> host annotations.

    A recursive-descent parser over [cursor, end): every read checks the end first, so
    it never reads past the line.  Recursion only happens while skipping nested values and
    stops at BROKER_PDNS_DEPTH_MAX.  Strings are decoded (escapes, surrogate pairs) into
    fixed buffers of the record, or only validated when their field is not used.  Errors
    name a byte offset and a field, never echo the input (it is attacker-controlled).
*/
#include "broker/broker_pdns.h"
#include "proto/proto_json.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define BROKER_PDNS_KEY_MAX 32  //  Longest field name we compare (longer ones: other fields)

typedef struct {
    const uint8_t *start;   //  First byte of the line
    const uint8_t *cursor;  //  Next byte to read
    const uint8_t *end;     //  One past the last byte
    size_t members;         //  Object members seen, any depth
    char *error;            //  Where the reason goes
    size_t error_size;      //  Its size
} s_parser_t;

//  Which used fields a line had (bits)
#define S_HAS_RRNAME 0x01
#define S_HAS_RRTYPE 0x02
#define S_HAS_RDATA 0x04
#define S_HAS_TIME_FIRST 0x08
#define S_HAS_TIME_LAST 0x10
#define S_HAS_ALL 0x1F

//  --------------------------------------------------------------------------
//  Record the reason (with the byte offset) and return -2.

static int
s_fail (s_parser_t *self, const char *format, ...)
{
    char reason[256];
    va_list args;
    va_start (args, format);
    vsnprintf (reason, sizeof reason, format, args);
    va_end (args);
    snprintf (self->error, self->error_size, "byte %zu: %s",
              (size_t) (self->cursor - self->start) + 1, reason);
    return -2;
}

//  --------------------------------------------------------------------------

static void
s_skip_space (s_parser_t *self)
{
    while (self->cursor < self->end && (*self->cursor == ' ' || *self->cursor == '\t' ||
                                        *self->cursor == '\n' || *self->cursor == '\r'))
        self->cursor++;
}

//  --------------------------------------------------------------------------
//  Four hex digits of a \u escape.  -1 if malformed.

static int32_t
s_hex4 (s_parser_t *self)
{
    if (self->end - self->cursor < 4)
        return -1;
    int32_t value = 0;
    for (int digit = 0; digit < 4; digit++) {
        uint8_t byte = *self->cursor++;
        value <<= 4;
        if (byte >= '0' && byte <= '9')
            value |= byte - '0';
        else if (byte >= 'a' && byte <= 'f')
            value |= byte - 'a' + 10;
        else if (byte >= 'A' && byte <= 'F')
            value |= byte - 'A' + 10;
        else
            return -1;
    }
    return value;
}

//  --------------------------------------------------------------------------
//  Append bytes to the output of a string; sets *overflow if out is too small.

static void
s_out (char *out, size_t out_size, size_t *length, bool *overflow, const void *bytes, size_t size)
{
    if (!out)
        return;
    if (*length + size >= out_size) {
        *overflow = true;
        return;
    }
    memcpy (out + *length, bytes, size);
    *length += size;
    out[*length] = 0;
}

//  --------------------------------------------------------------------------
//  A string at the cursor (which is on its opening quote).  Decoded into out (NUL-
//  terminated, *overflow set if it does not fit) unless out is NULL.  0 or -2.

static int
s_string (s_parser_t *self, char *out, size_t out_size, bool *overflow)
{
    size_t length = 0;
    *overflow = false;
    if (out)
        out[0] = 0;
    self->cursor++;  //  Opening quote
    while (true) {
        if (self->cursor >= self->end)
            return s_fail (self, "unterminated string");
        uint8_t byte = *self->cursor;
        if (byte == '"') {
            self->cursor++;
            return 0;
        }
        if (byte < 0x20)
            return s_fail (self, "control character in a string");
        if (byte != '\\') {
            size_t size =
                proto_json_utf8_length (self->cursor, (size_t) (self->end - self->cursor));
            if (size == 0)
                return s_fail (self, "invalid UTF-8");
            s_out (out, out_size, &length, overflow, self->cursor, size);
            self->cursor += size;
            continue;
        }
        self->cursor++;
        if (self->cursor >= self->end)
            return s_fail (self, "unterminated escape");
        uint8_t escape = *self->cursor++;
        static const char escapes[] = "\"\\/bfnrt";
        static const char decoded[] = "\"\\/\b\f\n\r\t";
        const char *simple = escape ? strchr (escapes, escape) : NULL;
        if (simple) {
            s_out (out, out_size, &length, overflow, &decoded[simple - escapes], 1);
            continue;
        }
        if (escape != 'u')
            return s_fail (self, "bad escape");
        int32_t code = s_hex4 (self);
        if (code < 0)
            return s_fail (self, "bad \\u escape");
        if (code >= 0xDC00 && code <= 0xDFFF)
            return s_fail (self, "lone low surrogate");
        if (code >= 0xD800 && code <= 0xDBFF) {
            if (self->end - self->cursor < 2 || self->cursor[0] != '\\' || self->cursor[1] != 'u')
                return s_fail (self, "lone high surrogate");
            self->cursor += 2;
            int32_t low = s_hex4 (self);
            if (low < 0xDC00 || low > 0xDFFF)
                return s_fail (self, "lone high surrogate");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        }
        if (code == 0)
            return s_fail (self, "\\u0000 in a string");
        uint8_t utf8[4];
        size_t size;
        if (code < 0x80) {
            utf8[0] = (uint8_t) code;
            size = 1;
        }
        else if (code < 0x800) {
            utf8[0] = (uint8_t) (0xC0 | code >> 6);
            utf8[1] = (uint8_t) (0x80 | (code & 0x3F));
            size = 2;
        }
        else if (code < 0x10000) {
            utf8[0] = (uint8_t) (0xE0 | code >> 12);
            utf8[1] = (uint8_t) (0x80 | ((code >> 6) & 0x3F));
            utf8[2] = (uint8_t) (0x80 | (code & 0x3F));
            size = 3;
        }
        else {
            utf8[0] = (uint8_t) (0xF0 | code >> 18);
            utf8[1] = (uint8_t) (0x80 | ((code >> 12) & 0x3F));
            utf8[2] = (uint8_t) (0x80 | ((code >> 6) & 0x3F));
            utf8[3] = (uint8_t) (0x80 | (code & 0x3F));
            size = 4;
        }
        s_out (out, out_size, &length, overflow, utf8, size);
    }
}

//  --------------------------------------------------------------------------
//  A number at the cursor (RFC 8259 grammar).  *integer is set when it has neither
//  fraction nor exponent and fits an int64_t, with its value in *value.  0 or -2.

static int
s_number (s_parser_t *self, int64_t *value, bool *integer)
{
    bool negative = false;
    uint64_t magnitude = 0;
    bool fits = true;
    *integer = false;
    if (self->cursor < self->end && *self->cursor == '-') {
        negative = true;
        self->cursor++;
    }
    if (self->cursor >= self->end || *self->cursor < '0' || *self->cursor > '9')
        return s_fail (self, "bad number");
    if (*self->cursor == '0') {
        self->cursor++;
        if (self->cursor < self->end && *self->cursor >= '0' && *self->cursor <= '9')
            return s_fail (self, "leading zero in a number");
    }
    else
        while (self->cursor < self->end && *self->cursor >= '0' && *self->cursor <= '9') {
            unsigned digit = *self->cursor++ - '0';
            if (magnitude > (UINT64_MAX - digit) / 10)
                fits = false;
            else
                magnitude = magnitude * 10 + digit;
        }
    bool plain = true;
    if (self->cursor < self->end && *self->cursor == '.') {
        plain = false;
        self->cursor++;
        if (self->cursor >= self->end || *self->cursor < '0' || *self->cursor > '9')
            return s_fail (self, "bad fraction");
        while (self->cursor < self->end && *self->cursor >= '0' && *self->cursor <= '9')
            self->cursor++;
    }
    if (self->cursor < self->end && (*self->cursor == 'e' || *self->cursor == 'E')) {
        plain = false;
        self->cursor++;
        if (self->cursor < self->end && (*self->cursor == '+' || *self->cursor == '-'))
            self->cursor++;
        if (self->cursor >= self->end || *self->cursor < '0' || *self->cursor > '9')
            return s_fail (self, "bad exponent");
        while (self->cursor < self->end && *self->cursor >= '0' && *self->cursor <= '9')
            self->cursor++;
    }
    if (plain && fits && magnitude <= (uint64_t) INT64_MAX + negative) {
        *integer = true;
        *value = negative ? (int64_t) (0 - magnitude) : (int64_t) magnitude;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  A literal (true, false, null).

static int
s_literal (s_parser_t *self)
{
    static const char *literals[] = {"true", "false", "null"};
    for (size_t index = 0; index < 3; index++) {
        size_t size = strlen (literals[index]);
        if ((size_t) (self->end - self->cursor) >= size &&
            memcmp (self->cursor, literals[index], size) == 0) {
            self->cursor += size;
            return 0;
        }
    }
    return s_fail (self, "unexpected character");
}

static int s_skip_value (s_parser_t *self, int depth);

//  --------------------------------------------------------------------------
//  Skip an object or array at the cursor, checking it.

static int
s_skip_container (s_parser_t *self, int depth)
{
    bool object = *self->cursor == '{';
    uint8_t close = object ? '}' : ']';
    if (depth >= BROKER_PDNS_DEPTH_MAX)
        return s_fail (self, "nested deeper than %d", BROKER_PDNS_DEPTH_MAX);
    self->cursor++;
    s_skip_space (self);
    if (self->cursor < self->end && *self->cursor == close) {
        self->cursor++;
        return 0;
    }
    while (true) {
        if (object) {
            bool overflow;
            if (++self->members > BROKER_PDNS_MEMBERS_MAX)
                return s_fail (self, "more than %d members", BROKER_PDNS_MEMBERS_MAX);
            if (self->cursor >= self->end || *self->cursor != '"')
                return s_fail (self, "expected a member name");
            if (s_string (self, NULL, 0, &overflow))
                return -2;
            s_skip_space (self);
            if (self->cursor >= self->end || *self->cursor != ':')
                return s_fail (self, "expected ':'");
            self->cursor++;
        }
        if (s_skip_value (self, depth + 1))
            return -2;
        s_skip_space (self);
        if (self->cursor < self->end && *self->cursor == ',') {
            self->cursor++;
            s_skip_space (self);
            continue;
        }
        if (self->cursor < self->end && *self->cursor == close) {
            self->cursor++;
            return 0;
        }
        return s_fail (self, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

//  --------------------------------------------------------------------------
//  Skip any value at the cursor (after white space), checking it.

static int
s_skip_value (s_parser_t *self, int depth)
{
    s_skip_space (self);
    if (self->cursor >= self->end)
        return s_fail (self, "expected a value");
    uint8_t byte = *self->cursor;
    if (byte == '{' || byte == '[')
        return s_skip_container (self, depth);
    if (byte == '"') {
        bool overflow;
        return s_string (self, NULL, 0, &overflow);
    }
    if (byte == '-' || (byte >= '0' && byte <= '9')) {
        int64_t value;
        bool integer;
        return s_number (self, &value, &integer);
    }
    return s_literal (self);
}

//  --------------------------------------------------------------------------
//  A string field into out; malformed if it is not a string or too long.

static int
s_string_field (s_parser_t *self, const char *name, char *out, size_t out_size)
{
    bool overflow;
    if (self->cursor >= self->end || *self->cursor != '"')
        return s_fail (self, "%s is not a string", name);
    if (s_string (self, out, out_size, &overflow))
        return -2;
    if (overflow)
        return s_fail (self, "%s longer than %zu bytes", name, out_size - 1);
    return 0;
}

//  --------------------------------------------------------------------------
//  One rdata value.  Too long or too many values only mark the record truncated: the
//  field may belong to a type that is skipped anyway (a long TXT, a big RRset).

static int
s_rdata_value (s_parser_t *self, broker_pdns_record_t *record)
{
    bool overflow;
    if (self->cursor >= self->end || *self->cursor != '"')
        return s_fail (self, "rdata is not a string");
    char *out = NULL;
    if (record->rdata_count < BROKER_PDNS_RDATA_MAX)
        out = record->rdata[record->rdata_count++];
    else
        record->rdata_truncated = true;
    if (s_string (self, out, sizeof record->rdata[0], &overflow))
        return -2;
    if (overflow)
        record->rdata_truncated = true;
    return 0;
}

//  --------------------------------------------------------------------------
//  rdata: a string or an array of strings.

static int
s_rdata_field (s_parser_t *self, broker_pdns_record_t *record)
{
    if (self->cursor >= self->end || *self->cursor != '[')
        return s_rdata_value (self, record);
    self->cursor++;
    s_skip_space (self);
    if (self->cursor < self->end && *self->cursor == ']') {
        self->cursor++;
        return 0;
    }
    while (true) {
        if (s_rdata_value (self, record))
            return -2;
        s_skip_space (self);
        if (self->cursor < self->end && *self->cursor == ',') {
            self->cursor++;
            s_skip_space (self);
            continue;
        }
        if (self->cursor < self->end && *self->cursor == ']') {
            self->cursor++;
            return 0;
        }
        return s_fail (self, "expected ',' or ']' in rdata");
    }
}

//  --------------------------------------------------------------------------
//  A time field: an integer from 0 to BROKER_PDNS_TIME_MAX.

static int
s_time_field (s_parser_t *self, const char *name, int64_t *time)
{
    bool integer;
    if (self->cursor >= self->end ||
        (*self->cursor != '-' && (*self->cursor < '0' || *self->cursor > '9')))
        return s_fail (self, "%s is not a number", name);
    if (s_number (self, time, &integer))
        return -2;
    if (!integer || *time < 0 || *time > BROKER_PDNS_TIME_MAX)
        return s_fail (self, "%s is not a time in seconds from 1970 to 9999", name);
    return 0;
}

//  --------------------------------------------------------------------------
//  One member of the top object: a used field into the record, any other skipped.

static int
s_member (s_parser_t *self, broker_pdns_record_t *record, unsigned *has)
{
    static const char *names[] = {"rrname", "rrtype", "rdata", "time_first", "time_last"};
    char key[BROKER_PDNS_KEY_MAX + 1];
    bool overflow;
    if (self->cursor >= self->end || *self->cursor != '"')
        return s_fail (self, "expected a member name");
    if (s_string (self, key, sizeof key, &overflow))
        return -2;
    s_skip_space (self);
    if (self->cursor >= self->end || *self->cursor != ':')
        return s_fail (self, "expected ':'");
    self->cursor++;
    s_skip_space (self);
    int field = -1;
    for (int index = 0; index < 5 && !overflow; index++)
        if (strcmp (key, names[index]) == 0)
            field = index;
    if (field < 0)
        return s_skip_value (self, 1);
    if (*has & (1u << field))
        return s_fail (self, "%s given twice", names[field]);
    *has |= 1u << field;
    if (field == 0)
        return s_string_field (self, "rrname", record->rrname, sizeof record->rrname);
    if (field == 1)
        return s_string_field (self, "rrtype", record->rrtype, sizeof record->rrtype);
    if (field == 2)
        return s_rdata_field (self, record);
    return s_time_field (self, names[field], field == 3 ? &record->time_first : &record->time_last);
}

//  --------------------------------------------------------------------------
//  Drop one trailing dot of a name.

static void
s_strip_dot (char *name)
{
    size_t length = strlen (name);
    if (length > 0 && name[length - 1] == '.')
        name[length - 1] = 0;
}

//  --------------------------------------------------------------------------
int
broker_pdns_parse (const char *line, size_t size, broker_pdns_record_t *record, char *error,
                   size_t error_size)
{
    assert (line || size == 0);
    assert (record);
    assert (error && error_size > 0);
    s_parser_t parser = {(const uint8_t *) line,
                         (const uint8_t *) line,
                         (const uint8_t *) line + size,
                         0,
                         error,
                         error_size};
    s_parser_t *self = &parser;
    memset (record, 0, sizeof *record);
    error[0] = 0;
    if (size > BROKER_PDNS_LINE_MAX)
        return s_fail (self, "line longer than %d bytes", BROKER_PDNS_LINE_MAX);
    s_skip_space (self);
    if (self->cursor == self->end)
        return 1;
    if (*self->cursor != '{')
        return s_fail (self, "not a JSON object");
    self->cursor++;
    s_skip_space (self);
    unsigned has = 0;
    if (self->cursor < self->end && *self->cursor == '}')
        self->cursor++;
    else
        while (true) {
            if (++self->members > BROKER_PDNS_MEMBERS_MAX)
                return s_fail (self, "more than %d members", BROKER_PDNS_MEMBERS_MAX);
            if (s_member (self, record, &has))
                return -2;
            s_skip_space (self);
            if (self->cursor < self->end && *self->cursor == ',') {
                self->cursor++;
                s_skip_space (self);
                continue;
            }
            if (self->cursor < self->end && *self->cursor == '}') {
                self->cursor++;
                break;
            }
            return s_fail (self, "expected ',' or '}'");
        }
    s_skip_space (self);
    if (self->cursor != self->end)
        return s_fail (self, "text after the object");
    static const char *required[] = {"rrname", "rrtype", "rdata", "time_first", "time_last"};
    for (int field = 0; field < 5; field++)
        if (!(has & (1u << field))) {
            snprintf (error, error_size, "no %s field", required[field]);
            return -2;
        }
    s_strip_dot (record->rrname);
    for (size_t index = 0; index < record->rdata_count; index++)
        s_strip_dot (record->rdata[index]);
    return 0;
}

//  --------------------------------------------------------------------------
//  The address spelled by a reverse name (d.c.b.a.in-addr.arpa or 32 nibbles.ip6.arpa).

static int
s_reverse_address (const char *name, proto_addr_t *addr)
{
    static const char v4_suffix[] = ".in-addr.arpa";
    static const char v6_suffix[] = ".ip6.arpa";
    size_t length = strlen (name);
    if (length > sizeof v4_suffix - 1 &&
        strcasecmp (name + length - (sizeof v4_suffix - 1), v4_suffix) == 0) {
        uint32_t octets[4];
        const char *cursor = name;
        for (int index = 0; index < 4; index++) {
            size_t digits = 0;
            uint32_t value = 0;
            while (cursor[digits] >= '0' && cursor[digits] <= '9' && digits < 4)
                value = value * 10 + (uint32_t) (cursor[digits++] - '0');
            if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && cursor[0] == '0') ||
                cursor[digits] != '.')
                return -1;
            octets[index] = value;
            cursor += digits + 1;
        }
        if (cursor != name + length - (sizeof v4_suffix - 2))
            return -1;  //  Not exactly four labels
        proto_addr_from_ipv4 (addr, octets[3] << 24 | octets[2] << 16 | octets[1] << 8 | octets[0]);
        return 0;
    }
    if (length == 63 + sizeof v6_suffix - 1 && strcasecmp (name + 63, v6_suffix) == 0) {
        uint8_t bytes[PROTO_ADDR_SIZE] = {0};
        for (int nibble = 0; nibble < 32; nibble++) {
            char digit = name[nibble * 2];
            if ((nibble > 0 && name[nibble * 2 - 1] != '.') || !isxdigit ((unsigned char) digit))
                return -1;
            uint8_t value = (uint8_t) (digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10);
            int position = 31 - nibble;  //  The first label is the last nibble
            bytes[position / 2] |= (uint8_t) (position % 2 ? value : value << 4);
        }
        proto_addr_from_ipv6 (addr, bytes);
        return 0;
    }
    return -1;
}

//  --------------------------------------------------------------------------
int
broker_pdns_annotation (const broker_pdns_record_t *record, size_t index,
                        proto_annotation_t *annotation, char *error, size_t error_size)
{
    assert (record);
    assert (index < record->rdata_count);
    assert (annotation);
    assert (error && error_size > 0);
    const char *rdata = record->rdata[index];
    memset (annotation, 0, sizeof *annotation);
    bool used = strcasecmp (record->rrtype, "A") == 0 || strcasecmp (record->rrtype, "AAAA") == 0 ||
                strcasecmp (record->rrtype, "PTR") == 0;
    if (!used)
        return 1;
    if (record->rdata_truncated) {
        snprintf (error, error_size,
                  "%s record with more than %d rdata values or one longer "
                  "than %d bytes",
                  record->rrtype, BROKER_PDNS_RDATA_MAX, PROTO_RRNAME_MAX);
        return -2;
    }
    annotation->first_seen = record->time_first;
    annotation->last_seen = record->time_last;
    if (strcasecmp (record->rrtype, "A") == 0) {
        struct in_addr v4;
        if (inet_pton (AF_INET, rdata, &v4) != 1) {
            snprintf (error, error_size, "A record whose rdata is not an IPv4 address");
            return -2;
        }
        proto_addr_from_ipv4 (&annotation->addr, ntohl (v4.s_addr));
        annotation->rrtype = "A";
        annotation->rrname = record->rrname;
    }
    else if (strcasecmp (record->rrtype, "AAAA") == 0) {
        struct in6_addr v6;
        if (inet_pton (AF_INET6, rdata, &v6) != 1) {
            snprintf (error, error_size, "AAAA record whose rdata is not an IPv6 address");
            return -2;
        }
        proto_addr_from_ipv6 (&annotation->addr, v6.s6_addr);
        annotation->rrtype = "AAAA";
        annotation->rrname = record->rrname;
    }
    else if (strcasecmp (record->rrtype, "PTR") == 0) {
        if (s_reverse_address (record->rrname, &annotation->addr)) {
            snprintf (error, error_size, "PTR record whose rrname is not a reversed address");
            return -2;
        }
        annotation->rrtype = "PTR";
        annotation->rrname = rdata;
    }
    else
        return 1;
    if (annotation->rrname[0] == 0) {
        snprintf (error, error_size, "%s record with an empty name", annotation->rrtype);
        return -2;
    }
    if (record->time_first > record->time_last) {
        snprintf (error, error_size, "time_first after time_last");
        return -2;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Selftest

typedef struct {
    const char *line;    //  Input line
    int parse_rc;        //  Expected broker_pdns_parse result
    int annotation_rc;   //  Expected broker_pdns_annotation result for value 0
    const char *ip;      //  Expected address (annotation_rc 0)
    const char *name;    //  Expected name (annotation_rc 0)
    const char *rrtype;  //  Expected type (annotation_rc 0)
} s_pdns_case_t;

#define S_NONE NULL, NULL, NULL  //  No annotation expected
#define S_TIMES "\"time_first\":1700000000,\"time_last\":1700086400"
#define S_V6_PTR "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"

static void
s_test_hostile (bool verbose)
{
    char error[256];
    broker_pdns_record_t record;
    //  Deep nesting in an ignored field: refused at the depth limit, no stack growth
    static char deep[100100];
    size_t size = (size_t) snprintf (deep, sizeof deep, "{\"x\":");
    memset (deep + size, '[', 60000);
    size += 60000;
    assert (broker_pdns_parse (deep, size, &record, error, sizeof error) == -2);
    assert (strstr (error, "nested deeper"));
    //  Too many members
    size = (size_t) snprintf (deep, sizeof deep, "{");
    for (int index = 0; index < 300; index++)
        size += (size_t) snprintf (deep + size, sizeof deep - size, "\"k%d\":1,", index);
    size += (size_t) snprintf (deep + size, sizeof deep - size, "\"z\":1}");
    assert (broker_pdns_parse (deep, size, &record, error, sizeof error) == -2);
    assert (strstr (error, "members"));
    //  An overlong line
    memset (deep, ' ', sizeof deep);
    assert (broker_pdns_parse (deep, BROKER_PDNS_LINE_MAX + 1, &record, error, sizeof error) == -2);
    //  NUL bytes inside a string, and the parser never reads past size
    static const char nul[] = "{\"rrname\":\"a\0b\",\"rrtype\":\"A\"}";
    assert (broker_pdns_parse (nul, sizeof nul - 1, &record, error, sizeof error) == -2);
    static const char cut[] = "{\"rrname\":\"abc\"}";
    for (size_t length = 0; length < sizeof cut - 1; length++)
        assert (broker_pdns_parse (cut, length, &record, error, sizeof error) != 0);
    //  A tiny error buffer truncates the reason
    assert (broker_pdns_parse ("[", 1, &record, error, 4) == -2);
    assert (strlen (error) == 3);
    if (verbose)
        printf ("   hostile input refused\n");
}

void
broker_pdns_test (bool verbose)
{
    printf (" * broker_pdns: ");
    if (verbose)
        printf ("\n");
    static const s_pdns_case_t cases[] = {
        {"{\"rrname\":\"mail.example.org.\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\"," S_TIMES
         ",\"count\":3}\n",
         0, 0, "192.0.2.1", "mail.example.org", "A"},
        {" { \"count\" : 1 , \"rdata\" : \"2001:DB8::1\" , \"rrtype\" : \"aaaa\" , \"rrname\" : "
         "\"v6.example.org\" , " S_TIMES " } \r\n",
         0, 0, "2001:db8::1", "v6.example.org", "AAAA"},
        {"{\"rrname\":\"1.2.0.192.in-addr.arpa.\",\"rrtype\":\"PTR\",\"rdata\":\"host.example.net."
         "\"," S_TIMES "}",
         0, 0, "192.0.2.1", "host.example.net", "PTR"},
        {"{\"rrname\":\"" S_V6_PTR "\",\"rrtype\":\"PTR\",\"rdata\":\"v6.example.net\"," S_TIMES
         "}",
         0, 0, "2001:db8::1", "v6.example.net", "PTR"},
        {"{\"rrname\":\"\\u003cimg src=x onerror=alert(1)\\u003e\",\"rrtype\":\"A\",\"rdata\":"
         "\"10.0.0.1\",\"extra\":{\"a\":[1,-2.5e+3,{\"b\":null,\"c\":true}],\"d\":false}," S_TIMES
         "}",
         0, 0, "10.0.0.1", "<img src=x onerror=alert(1)>", "A"},
        {"{\"rrname\":\"\\ud83d\\ude00.\\u00e9\\/x\",\"rrtype\":\"A\",\"rdata\":[\"10.0.0.2\","
         "\"10.0.0.3\"]," S_TIMES "}",
         0, 0, "10.0.0.2", "\xF0\x9F\x98\x80.\xC3\xA9/x", "A"},
        {"{\"rrname\":\"t.example.org\",\"rrtype\":\"TXT\",\"rdata\":\""
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "\"," S_TIMES "}",
         0, 1, NULL, NULL, NULL},
        {"{\"rrname\":\"example.org\",\"rrtype\":\"NS\",\"rdata\":\"ns.example.org\"," S_TIMES "}",
         0, 1, NULL, NULL, NULL},
        //  Records that parse but give no annotation
        {"{\"rrname\":\"x.org\",\"rrtype\":\"A\",\"rdata\":\"not-an-ip\"," S_TIMES "}", 0, -2,
         S_NONE},
        {"{\"rrname\":\"x.org\",\"rrtype\":\"AAAA\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", 0, -2,
         S_NONE},
        {"{\"rrname\":\"example.org\",\"rrtype\":\"PTR\",\"rdata\":\"x.org\"," S_TIMES "}", 0, -2,
         S_NONE},
        {"{\"rrname\":\"2.0.192.in-addr.arpa\",\"rrtype\":\"PTR\",\"rdata\":\"x\"," S_TIMES "}", 0,
         -2, S_NONE},
        {"{\"rrname\":\"256.2.0.192.in-addr.arpa\",\"rrtype\":\"PTR\",\"rdata\":\"x\"," S_TIMES "}",
         0, -2, S_NONE},
        {"{\"rrname\":\"01.2.0.192.in-addr.arpa\",\"rrtype\":\"PTR\",\"rdata\":\"x\"," S_TIMES "}",
         0, -2, S_NONE},
        {"{\"rrname\":\"1.1.2.0.192.in-addr.arpa\",\"rrtype\":\"PTR\",\"rdata\":\"x\"," S_TIMES "}",
         0, -2, S_NONE},
        {"{\"rrname\":\"" S_V6_PTR "x\",\"rrtype\":\"PTR\",\"rdata\":\"x\"," S_TIMES "}", 0, -2,
         S_NONE},
        {"{\"rrname\":\"1.2.0.192.in-addr.arpa\",\"rrtype\":\"PTR\",\"rdata\":\".\"," S_TIMES "}",
         0, -2, S_NONE},
        {"{\"rrname\":\"x.org\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\",\"time_first\":5,"
         "\"time_last\":4}",
         0, -2, S_NONE},
        //  Blank lines
        {"", 1, 0, S_NONE},
        {"  \t\r\n", 1, 0, S_NONE},
        //  Malformed lines
        {"[1,2]", -2, 0, S_NONE},
        {"{", -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\",\"time_first\":1}", -2, 0,
         S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\",\"time_first\":\"1\","
         "\"time_last\":2}",
         -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\",\"time_first\":1.5,"
         "\"time_last\":2}",
         -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\",\"time_first\":-1,"
         "\"time_last\":2}",
         -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\",\"time_first\":1e3,"
         "\"time_last\":2}",
         -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\",\"time_first\":1,"
         "\"time_last\":99999999999999999999}",
         -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrname\":\"y\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}",
         -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "} x", -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}{}", -2, 0, S_NONE},
        {"{\"rrname\":\"bad\xC3(\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"rrname\":\"sur\xED\xA0\x80\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2,
         0, S_NONE},
        {"{\"rrname\":\"tab\there\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"rrname\":\"\\ud800\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"rrname\":\"\\udc00\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"rrname\":\"\\ud800\\u0041\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2,
         0, S_NONE},
        {"{\"rrname\":\"nul\\u0000\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"rrname\":\"\\x41\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"rrname\":\"\\u12G4\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"n\":0123,\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{'rrname':'x'}", -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES ",}", -2, 0, S_NONE},
        {"{\"n\":NaN,\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"n\":[1,],\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"n\":tru,\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"rrname\":1,\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":[1]," S_TIMES "}", -2, 0, S_NONE},
        {"{\"rrname\":\"x\",\"rrtype\":\"ABCDEFGHIJKLMNOPQ\",\"rdata\":\"1\"," S_TIMES "}", -2, 0,
         S_NONE},
        {"{\"rrname\":\"x\" \"rrtype\":\"A\"}", -2, 0, S_NONE},
        {"{\"rrname\" \"x\"}", -2, 0, S_NONE},
        {"\xEF\xBB\xBF{\"rrname\":\"x\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.1\"," S_TIMES "}", -2,
         0, S_NONE},
    };
    char error[256];
    broker_pdns_record_t record;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        const s_pdns_case_t *test = &cases[index];
        int rc = broker_pdns_parse (test->line, strlen (test->line), &record, error, sizeof error);
        if (verbose || rc != test->parse_rc)
            printf ("   case %zu: parse %d (want %d) %s\n", index, rc, test->parse_rc, error);
        assert (rc == test->parse_rc);
        assert (rc != -2 || error[0]);
        if (rc != 0)
            continue;
        proto_annotation_t annotation;
        rc = broker_pdns_annotation (&record, 0, &annotation, error, sizeof error);
        if (verbose || rc != test->annotation_rc)
            printf ("   case %zu: annotation %d (want %d) %s\n", index, rc, test->annotation_rc,
                    rc == -2 ? error : "");
        assert (rc == test->annotation_rc);
        if (rc != 0)
            continue;
        char ip[PROTO_ADDR_STRLEN];
        assert (strcmp (proto_addr_format (&annotation.addr, ip), test->ip) == 0);
        assert (strcmp (annotation.rrname, test->name) == 0);
        assert (strcmp (annotation.rrtype, test->rrtype) == 0);
        assert (annotation.first_seen == 1700000000 && annotation.last_seen == 1700086400);
    }
    //  The array form gives every value
    const char *two = cases[5].line;
    assert (broker_pdns_parse (two, strlen (two), &record, error, sizeof error) == 0);
    assert (record.rdata_count == 2);
    proto_annotation_t annotation;
    assert (broker_pdns_annotation (&record, 1, &annotation, error, sizeof error) == 0);
    assert (proto_addr_ipv4 (&annotation.addr) == 0x0A000003);
    s_test_hostile (verbose);
    printf ("OK\n");
}
