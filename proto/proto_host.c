/*  proto_host.c - host addresses (16 bytes, v4-mapped) and feature/operation names.

    Text conversion uses inet_pton/inet_ntop so that every process prints addresses the way
    DESIGN.md asks (RFC 5952 for IPv6).  Nothing here allocates.
*/
#include "proto/proto_host.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const uint8_t s_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const char *s_feature_names[PROTO_FEATURE_COUNT] = {"bytes", "packets", "durations",
                                                           "peers"};
static const char *s_op_names[PROTO_OP_COUNT] = {"sum", "max", "min"};

//  --------------------------------------------------------------------------
void
proto_addr_from_ipv4 (proto_addr_t *self, uint32_t ipv4)
{
    assert (self);
    memcpy (self->bytes, s_v4_prefix, sizeof s_v4_prefix);
    self->bytes[12] = (uint8_t) (ipv4 >> 24);
    self->bytes[13] = (uint8_t) (ipv4 >> 16);
    self->bytes[14] = (uint8_t) (ipv4 >> 8);
    self->bytes[15] = (uint8_t) ipv4;
}

//  --------------------------------------------------------------------------
void
proto_addr_from_ipv6 (proto_addr_t *self, const uint8_t *bytes)
{
    assert (self);
    assert (bytes);
    memcpy (self->bytes, bytes, PROTO_ADDR_SIZE);
}

//  --------------------------------------------------------------------------
bool
proto_addr_is_ipv4 (const proto_addr_t *self)
{
    assert (self);
    return memcmp (self->bytes, s_v4_prefix, sizeof s_v4_prefix) == 0;
}

//  --------------------------------------------------------------------------
uint32_t
proto_addr_ipv4 (const proto_addr_t *self)
{
    assert (self);
    return (uint32_t) self->bytes[12] << 24 | (uint32_t) self->bytes[13] << 16 |
           (uint32_t) self->bytes[14] << 8 | self->bytes[15];
}

//  --------------------------------------------------------------------------
int
proto_addr_parse (proto_addr_t *self, const char *text)
{
    assert (self);
    assert (text);
    struct in_addr v4;
    if (inet_pton (AF_INET, text, &v4) == 1) {
        proto_addr_from_ipv4 (self, ntohl (v4.s_addr));
        return 0;
    }
    struct in6_addr v6;
    if (inet_pton (AF_INET6, text, &v6) == 1) {
        proto_addr_from_ipv6 (self, v6.s6_addr);
        return 0;
    }
    return -1;
}

//  --------------------------------------------------------------------------
char *
proto_addr_format (const proto_addr_t *self, char *buffer)
{
    assert (self);
    assert (buffer);
    if (proto_addr_is_ipv4 (self))
        inet_ntop (AF_INET, self->bytes + 12, buffer, PROTO_ADDR_STRLEN);
    else
        inet_ntop (AF_INET6, self->bytes, buffer, PROTO_ADDR_STRLEN);
    return buffer;
}

//  --------------------------------------------------------------------------
int
proto_addr_compare (const proto_addr_t *a, const proto_addr_t *b)
{
    assert (a);
    assert (b);
    return memcmp (a->bytes, b->bytes, PROTO_ADDR_SIZE);
}

//  --------------------------------------------------------------------------
const char *
proto_feature_name (proto_feature_t feature)
{
    assert ((unsigned) feature < PROTO_FEATURE_COUNT);
    return s_feature_names[feature];
}

//  --------------------------------------------------------------------------
int
proto_feature_lookup (const char *name)
{
    assert (name);
    for (int index = 0; index < PROTO_FEATURE_COUNT; index++)
        if (strcmp (name, s_feature_names[index]) == 0)
            return index;
    return -1;
}

//  --------------------------------------------------------------------------
const char *
proto_op_name (proto_op_t op)
{
    assert ((unsigned) op < PROTO_OP_COUNT);
    return s_op_names[op];
}

//  --------------------------------------------------------------------------
int
proto_op_lookup (const char *name)
{
    assert (name);
    for (int index = 0; index < PROTO_OP_COUNT; index++)
        if (strcmp (name, s_op_names[index]) == 0)
            return index;
    return -1;
}

//  --------------------------------------------------------------------------
uint32_t
proto_day_of (int64_t time)
{
    return time < 0 ? 0 : (uint32_t) (time / 86400);
}

//  --------------------------------------------------------------------------
char *
proto_day_format (uint32_t day, char *buffer)
{
    assert (buffer);
    time_t seconds = (time_t) day * 86400;
    struct tm utc;
    if (!gmtime_r (&seconds, &utc) || utc.tm_year > 9999 - 1900)
        snprintf (buffer, 11, "9999-12-31");  //  Beyond what the format can say
    else
        strftime (buffer, 11, "%Y-%m-%d", &utc);
    return buffer;
}

//  --------------------------------------------------------------------------
char *
proto_time_format (int64_t time, char *buffer)
{
    assert (buffer);
    time_t seconds = (time_t) time;
    struct tm utc;
    if (time < 0 || !gmtime_r (&seconds, &utc) || utc.tm_year > 9999 - 1900)
        snprintf (buffer, 21, "%s", time < 0 ? "1970-01-01T00:00:00Z" : "9999-12-31T23:59:59Z");
    else
        strftime (buffer, 21, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
}

//  --------------------------------------------------------------------------
int
proto_day_parse (const char *text, uint32_t *day)
{
    assert (text);
    assert (day);
    int fields[3] = {0, 0, 0};
    const int widths[3] = {4, 2, 2};
    const char *cursor = text;
    for (int field = 0; field < 3; field++) {
        if (field > 0 && *cursor++ != '-')
            return -1;
        for (int digit = 0; digit < widths[field]; digit++, cursor++) {
            if (*cursor < '0' || *cursor > '9')
                return -1;
            fields[field] = fields[field] * 10 + (*cursor - '0');
        }
    }
    if (*cursor || fields[0] < 1970 || fields[1] < 1 || fields[1] > 12 || fields[2] < 1)
        return -1;
    struct tm utc = {0};
    utc.tm_year = fields[0] - 1900;
    utc.tm_mon = fields[1] - 1;
    utc.tm_mday = fields[2];
    time_t seconds = timegm (&utc);
    if (seconds == (time_t) -1 || utc.tm_mday != fields[2])
        return -1;  //  2026-02-30 rolled over
    *day = (uint32_t) (seconds / 86400);
    return 0;
}

//  --------------------------------------------------------------------------
const char *
proto_port_service (uint16_t port)
{
    static const struct {
        uint16_t port;
        const char *service;
    } table[] = {{21, "FTP"},
                 {22, "SSH"},
                 {25, "SMTP"},
                 {80, "Web"},
                 {445, "Netbios"},
                 {1194, "OpenVPN"},
                 {3128, "Squid proxy"},
                 {8080, "Webproxy"},
                 {8081, "Webproxy"},
                 {8118, "Privoxy"},
                 {8123, "Polipo web proxy"},
                 {9050, "Tor"}};
    for (size_t index = 0; index < sizeof table / sizeof table[0]; index++)
        if (table[index].port == port)
            return table[index].service;
    return "";
}

//  --------------------------------------------------------------------------
void
proto_host_test (bool verbose)
{
    (void) verbose;
    printf (" * proto_host: ");
    struct {
        const char *input;
        const char *printed;
        bool ipv4;
    } cases[] = {
        {"10.1.2.3", "10.1.2.3", true},
        {"0.0.0.0", "0.0.0.0", true},
        {"255.255.255.255", "255.255.255.255", true},
        {"::ffff:192.0.2.7", "192.0.2.7", true},
        {"2001:db8:0:0:0:0:0:1", "2001:db8::1", false},
        {"2001:DB8::A:0:0:1", "2001:db8::a:0:0:1", false},
        {"::", "::", false},
        {"fe80::1", "fe80::1", false},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        proto_addr_t addr;
        char text[PROTO_ADDR_STRLEN];
        assert (proto_addr_parse (&addr, cases[index].input) == 0);
        assert (proto_addr_is_ipv4 (&addr) == cases[index].ipv4);
        assert (strcmp (proto_addr_format (&addr, text), cases[index].printed) == 0);
    }
    const char *bad[] = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", "1.2.3.4/24", " 1.2.3.4"};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        proto_addr_t addr;
        assert (proto_addr_parse (&addr, bad[index]) == -1);
    }
    proto_addr_t addr, other;
    proto_addr_from_ipv4 (&addr, 0x0a010203);
    assert (proto_addr_ipv4 (&addr) == 0x0a010203);
    assert (proto_addr_parse (&other, "10.1.2.3") == 0);
    assert (proto_addr_compare (&addr, &other) == 0);
    proto_addr_from_ipv4 (&other, 0x0a010204);
    assert (proto_addr_compare (&addr, &other) < 0);

    for (int index = 0; index < PROTO_FEATURE_COUNT; index++)
        assert (proto_feature_lookup (proto_feature_name (index)) == index);
    for (int index = 0; index < PROTO_OP_COUNT; index++)
        assert (proto_op_lookup (proto_op_name (index)) == index);
    assert (proto_feature_lookup ("flows") == -1);

    //  Days and times
    char day_text[11], time_text[21];
    uint32_t day;
    assert (proto_day_of (0) == 0 && proto_day_of (86399) == 0 && proto_day_of (86400) == 1);
    assert (proto_day_parse ("1970-01-01", &day) == 0 && day == 0);
    assert (proto_day_parse ("2026-11-27", &day) == 0 && day == 20784);
    assert (strcmp (proto_day_format (day, day_text), "2026-11-27") == 0);
    assert (proto_day_parse ("2024-02-29", &day) == 0);
    const char *bad_days[] = {"",           "2026-11-27x", "2026-13-01", "2026-02-30",
                              "2025-02-29", "1969-12-31",  "2026-1-01",  "26-11-27",
                              "2026/11/27", "2026-11-00"};
    for (size_t index = 0; index < sizeof bad_days / sizeof bad_days[0]; index++)
        assert (proto_day_parse (bad_days[index], &day) == -1);
    assert (strcmp (proto_time_format (1764236100, time_text), "2025-11-27T09:35:00Z") == 0);
    //  Out of the format's range: clamped, never a buffer overflow
    assert (strcmp (proto_day_format (UINT32_MAX, day_text), "9999-12-31") == 0);
    assert (strcmp (proto_time_format (INT64_MAX, time_text), "9999-12-31T23:59:59Z") == 0);
    assert (strcmp (proto_time_format (-1, time_text), "1970-01-01T00:00:00Z") == 0);
    assert (strcmp (proto_port_service (25), "SMTP") == 0);
    assert (strcmp (proto_port_service (9050), "Tor") == 0);
    assert (strcmp (proto_port_service (443), "") == 0);
    assert (proto_op_lookup ("avg") == -1);
    printf ("OK\n");
}
