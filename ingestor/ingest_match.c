/*  ingest_match.c - the flow filter: local source (AS or prefix), monitored port and,
    with exclude_internal, a destination outside the local networks.

    Ports are a 65536-bit bitmap.  Local AS numbers and prefixes are short arrays scanned
    in order: deployments configure a handful, and the port test (which rejects most
    flows) runs first.  Prefixes are kept as 16-byte v4-mapped addresses with a length
    counted in bits of the 128, so one test serves IPv4 and IPv6.
*/
#include "ingestor/ingest_match.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATCH_AS_MAX 64     //  Local AS numbers
#define MATCH_NETS_MAX 256  //  Local prefixes
#define IP_PROTO_ICMP 1
#define IP_PROTO_ICMPV6 58

typedef struct {
    proto_addr_t addr;  //  Network address, host bits zero
    uint8_t bits;       //  Prefix length out of 128 (IPv4 /n is 96 + n)
} s_net_t;

struct _ingest_match_t {
    uint64_t ports[65536 / 64];      //  Monitored destination ports, one bit each
    uint32_t as_list[MATCH_AS_MAX];  //  Local AS numbers
    size_t as_count;                 //  Entries used in as_list
    s_net_t nets[MATCH_NETS_MAX];    //  Local prefixes
    size_t net_count;                //  Entries used in nets
    bool exclude_internal;           //  Flows to a local destination do not count
    bool no_others;                  //  Do not aggregate the ports not monitored
};

//  --------------------------------------------------------------------------
ingest_match_t *
ingest_match_new (void)
{
    ingest_match_t *self = (ingest_match_t *) calloc (1, sizeof (ingest_match_t));
    if (self && ingest_match_set_ports (self, INGEST_MATCH_DEFAULT_PORTS))
        ingest_match_destroy (&self);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_match_destroy (ingest_match_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
int
ingest_match_add_as (ingest_match_t *self, uint32_t asn)
{
    assert (self);
    if (self->as_count == MATCH_AS_MAX)
        return -1;
    self->as_list[self->as_count++] = asn;
    return 0;
}

//  --------------------------------------------------------------------------
//  Parse a whole decimal number in [0, max]; -1 if text is not one.

static int
s_parse_number (const char *text, size_t length, uint64_t max, uint64_t *value)
{
    if (length == 0 || length > 20)
        return -1;
    uint64_t result = 0;
    for (size_t index = 0; index < length; index++) {
        if (!isdigit ((unsigned char) text[index]))
            return -1;
        result = result * 10 + (uint64_t) (text[index] - '0');
        if (result > max)
            return -1;
    }
    *value = result;
    return 0;
}

//  --------------------------------------------------------------------------
int
ingest_match_add_as_text (ingest_match_t *self, const char *text)
{
    assert (self);
    assert (text);
    if (strncasecmp (text, "AS", 2) == 0)
        text += 2;
    uint64_t asn;
    if (s_parse_number (text, strlen (text), UINT32_MAX, &asn))
        return -1;
    return ingest_match_add_as (self, (uint32_t) asn);
}

//  --------------------------------------------------------------------------
int
ingest_match_add_net (ingest_match_t *self, const char *cidr)
{
    assert (self);
    assert (cidr);
    if (self->net_count == MATCH_NETS_MAX)
        return -1;
    char address[PROTO_ADDR_STRLEN];
    const char *slash = strchr (cidr, '/');
    size_t length = slash ? (size_t) (slash - cidr) : strlen (cidr);
    if (length >= sizeof address)
        return -1;
    memcpy (address, cidr, length);
    address[length] = 0;
    s_net_t net;
    if (proto_addr_parse (&net.addr, address))
        return -1;
    bool ipv4 = proto_addr_is_ipv4 (&net.addr) && strchr (address, '.');
    uint64_t bits = ipv4 ? 32 : 128;
    if (slash && s_parse_number (slash + 1, strlen (slash + 1), bits, &bits))
        return -1;
    net.bits = (uint8_t) (ipv4 ? 96 + bits : bits);
    //  Host bits must be zero: 10.1.2.3/8 is more likely a mistake than a prefix
    for (int bit = net.bits; bit < 128; bit++)
        if (net.addr.bytes[bit / 8] & (0x80 >> (bit % 8)))
            return -1;
    self->nets[self->net_count++] = net;
    return 0;
}

//  --------------------------------------------------------------------------
int
ingest_match_set_ports (ingest_match_t *self, const char *list)
{
    assert (self);
    assert (list);
    uint64_t ports[65536 / 64] = {0};
    const char *cursor = list;
    bool any = false;
    while (*cursor) {
        size_t length = strcspn (cursor, ",");
        const char *dash = memchr (cursor, '-', length);
        uint64_t low, high;
        if (dash) {
            if (s_parse_number (cursor, (size_t) (dash - cursor), 65535, &low) ||
                s_parse_number (dash + 1, length - (size_t) (dash - cursor) - 1, 65535, &high) ||
                high < low)
                return -1;
        }
        else if (s_parse_number (cursor, length, 65535, &low))
            return -1;
        else
            high = low;
        for (uint64_t port = low; port <= high; port++)
            ports[port / 64] |= 1ULL << (port % 64);
        any = true;
        cursor += length;
        if (*cursor == ',' && *++cursor == 0)
            return -1;  //  A trailing comma
    }
    if (!any)
        return -1;
    memcpy (self->ports, ports, sizeof ports);
    return 0;
}

//  --------------------------------------------------------------------------
bool
ingest_match_port (ingest_match_t *self, uint16_t port)
{
    assert (self);
    return (self->ports[port / 64] >> (port % 64)) & 1;
}

//  --------------------------------------------------------------------------
const uint64_t *
ingest_match_port_bitmap (ingest_match_t *self)
{
    assert (self);
    return self->ports;
}

//  --------------------------------------------------------------------------
size_t
ingest_match_ports (ingest_match_t *self, uint16_t *ports)
{
    assert (self);
    assert (ports);
    size_t count = 0;
    for (uint32_t port = 0; port < 65536; port++)
        if (ingest_match_port (self, (uint16_t) port))
            ports[count++] = (uint16_t) port;
    return count;
}

//  --------------------------------------------------------------------------
//  True if addr lies in net.

static bool
s_net_contains (const s_net_t *net, const proto_addr_t *addr)
{
    int whole = net->bits / 8;
    if (memcmp (net->addr.bytes, addr->bytes, (size_t) whole) != 0)
        return false;
    int rest = net->bits % 8;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t) (0xff << (8 - rest));
    return (addr->bytes[whole] & mask) == net->addr.bytes[whole];
}

//  --------------------------------------------------------------------------
void
ingest_match_set_exclude_internal (ingest_match_t *self, bool exclude_internal)
{
    assert (self);
    self->exclude_internal = exclude_internal;
}

//  --------------------------------------------------------------------------
bool
ingest_match_exclude_internal (ingest_match_t *self)
{
    assert (self);
    return self->exclude_internal;
}

//  --------------------------------------------------------------------------
void
ingest_match_set_others (ingest_match_t *self, bool others)
{
    assert (self);
    self->no_others = !others;
}

//  --------------------------------------------------------------------------
bool
ingest_match_others (ingest_match_t *self)
{
    assert (self);
    return !self->no_others;
}

//  --------------------------------------------------------------------------
//  True if (asn, addr) is in a local AS or a local prefix.

static bool
s_is_local (ingest_match_t *self, uint32_t asn, const proto_addr_t *addr)
{
    for (size_t index = 0; index < self->as_count; index++)
        if (asn == self->as_list[index])
            return true;
    for (size_t index = 0; index < self->net_count; index++)
        if (s_net_contains (&self->nets[index], addr))
            return true;
    return false;
}

//  --------------------------------------------------------------------------
bool
ingest_match_flow (ingest_match_t *self, const ingest_flow_t *flow)
{
    assert (self);
    assert (flow);
    return ingest_match_port (self, flow->dst_port) && ingest_match_source (self, flow);
}

//  --------------------------------------------------------------------------
bool
ingest_match_source (ingest_match_t *self, const ingest_flow_t *flow)
{
    assert (self);
    assert (flow);
    if (flow->protocol == IP_PROTO_ICMP || flow->protocol == IP_PROTO_ICMPV6)
        return false;
    if (self->as_count == 0 && self->net_count == 0)
        return true;
    if (!s_is_local (self, flow->src_as, &flow->src))
        return false;
    return !self->exclude_internal || !s_is_local (self, flow->dst_as, &flow->dst);
}

//  --------------------------------------------------------------------------
unsigned
ingest_match_directions (ingest_match_t *self, const ingest_flow_t *flow)
{
    assert (self);
    assert (flow);
    if (!ingest_match_port (self, flow->dst_port))
        return 0;
    if (flow->protocol == IP_PROTO_ICMP || flow->protocol == IP_PROTO_ICMPV6)
        return 0;
    if (self->as_count == 0 && self->net_count == 0)
        return INGEST_MATCH_OUT | INGEST_MATCH_IN;
    bool src_local = s_is_local (self, flow->src_as, &flow->src);
    bool dst_local = s_is_local (self, flow->dst_as, &flow->dst);
    unsigned directions = 0;
    if (src_local && !(self->exclude_internal && dst_local))
        directions |= INGEST_MATCH_OUT;
    if (dst_local && !(self->exclude_internal && src_local))
        directions |= INGEST_MATCH_IN;
    return directions;
}

//  --------------------------------------------------------------------------
unsigned
ingest_match_classify (ingest_match_t *self, const ingest_flow_t *flow)
{
    assert (self);
    assert (flow);
    if (ingest_match_port (self, flow->dst_port))
        return ingest_match_directions (self, flow);
    if (self->no_others)
        return 0;
    return ingest_match_source (self, flow) ? INGEST_MATCH_OTHER : 0;
}

//  --------------------------------------------------------------------------
void
ingest_match_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_match: ");
    ingest_match_t *match = ingest_match_new ();
    assert (match);
    uint16_t *ports = (uint16_t *) malloc (65536 * sizeof (uint16_t));
    assert (ports);
    uint16_t table_one[] = {21, 22, 25, 80, 445, 1194, 3128, 8080, 8081, 8118, 8123, 9050};
    assert (ingest_match_ports (match, ports) == 12);
    assert (memcmp (ports, table_one, sizeof table_one) == 0);

    //  Port lists: valid and malformed (a malformed list leaves the set unchanged)
    const char *bad_lists[] = {"", ",", "25,", "x", "65536", "9-1", "1--2", "-5", "25,,80"};
    for (size_t index = 0; index < sizeof bad_lists / sizeof bad_lists[0]; index++)
        assert (ingest_match_set_ports (match, bad_lists[index]) == -1);
    assert (ingest_match_ports (match, ports) == 12);
    assert (ingest_match_set_ports (match, "0,22,8080-8082,65535") == 0);
    assert (ingest_match_ports (match, ports) == 6);
    assert (ports[0] == 0 && ports[2] == 8080 && ports[4] == 8082 && ports[5] == 65535);
    const uint64_t *bitmap = ingest_match_port_bitmap (match);
    assert (bitmap[0] == (1ULL | 1ULL << 22) && bitmap[65535 / 64] == 1ULL << 63);

    //  AS numbers and prefixes
    assert (ingest_match_add_as_text (match, "AS64500") == 0);
    assert (ingest_match_add_as_text (match, "4200000000") == 0);
    assert (ingest_match_add_as_text (match, "4294967296") == -1);
    assert (ingest_match_add_as_text (match, "AS") == -1);
    assert (ingest_match_add_as_text (match, "12a") == -1);
    const char *bad_nets[] = {"10.0.0.0/33", "10.1.0.0/8",     "10.0.0.0/", "10.0.0/8",
                              "::/129",      "2001:db8::1/32", "x/8",       "10.0.0.0/-1"};
    for (size_t index = 0; index < sizeof bad_nets / sizeof bad_nets[0]; index++)
        assert (ingest_match_add_net (match, bad_nets[index]) == -1);
    assert (ingest_match_add_net (match, "10.0.0.0/8") == 0);
    assert (ingest_match_add_net (match, "192.0.2.128/25") == 0);
    assert (ingest_match_add_net (match, "2001:db8::/32") == 0);
    assert (ingest_match_add_net (match, "198.51.100.7") == 0);

    assert (!ingest_match_exclude_internal (match));
    assert (ingest_match_others (match));
    ingest_match_set_others (match, false);
    assert (!ingest_match_others (match));
    ingest_match_set_others (match, true);
    struct {
        const char *src;
        uint32_t src_as;
        uint16_t port;
        uint8_t protocol;
        bool expected;
    } cases[] = {
        {"203.0.113.1", 64500, 22, 6, true},        //  local by AS
        {"203.0.113.1", 4200000000, 22, 17, true},  //  local by 32-bit AS
        {"203.0.113.1", 64501, 22, 6, false},       //  other AS, no prefix
        {"10.255.0.1", 0, 22, 6, true},             //  local by prefix
        {"11.0.0.1", 0, 22, 6, false},
        {"192.0.2.128", 0, 8081, 6, true},
        {"192.0.2.127", 0, 8081, 6, false},
        {"198.51.100.7", 0, 65535, 6, true},
        {"198.51.100.8", 0, 65535, 6, false},
        {"2001:db8:ffff::1", 0, 0, 6, true},
        {"2001:db9::1", 0, 0, 6, false},
        {"10.0.0.1", 0, 25, 6, false},   //  port not monitored
        {"10.0.0.1", 0, 22, 1, false},   //  ICMP type 0 code 22
        {"10.0.0.1", 0, 22, 58, false},  //  ICMPv6
        {"::ffff:10.0.0.1", 0, 22, 6, true},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        ingest_flow_t flow;
        memset (&flow, 0, sizeof flow);
        assert (proto_addr_parse (&flow.src, cases[index].src) == 0);
        flow.src_as = cases[index].src_as;
        flow.dst_port = cases[index].port;
        flow.protocol = cases[index].protocol;
        assert (ingest_match_flow (match, &flow) == cases[index].expected);
    }

    //  Internal destinations: by AS or prefix, either family; only with exclude_internal
    struct {
        const char *dst;
        uint32_t dst_as;
        bool internal;
    } destinations[] = {
        {"203.0.113.9", 0, false},
        {"203.0.113.9", 64500, true},
        {"203.0.113.9", 4200000000, true},
        {"203.0.113.9", 64501, false},
        {"10.0.0.9", 0, true},
        {"11.0.0.9", 65001, false},
        {"192.0.2.200", 0, true},
        {"192.0.2.100", 0, false},
        {"2001:db8:1::9", 0, true},
        {"2001:db9::9", 0, false},
        {"::ffff:10.9.9.9", 0, true},
        {"198.51.100.7", 0, true},
    };
    for (int exclude = 0; exclude < 2; exclude++) {
        ingest_match_set_exclude_internal (match, exclude);
        assert (ingest_match_exclude_internal (match) == exclude);
        for (size_t index = 0; index < sizeof destinations / sizeof destinations[0]; index++) {
            ingest_flow_t flow;
            memset (&flow, 0, sizeof flow);
            assert (proto_addr_parse (&flow.src, "10.0.0.1") == 0);
            assert (proto_addr_parse (&flow.dst, destinations[index].dst) == 0);
            flow.dst_as = destinations[index].dst_as;
            flow.dst_port = 22;
            flow.protocol = 6;
            assert (ingest_match_flow (match, &flow) ==
                    (!exclude || !destinations[index].internal));
            //  Local source: out as above; in when the destination is local, unless
            //  internal flows are excluded
            unsigned expected = (!exclude || !destinations[index].internal ? INGEST_MATCH_OUT : 0) |
                                (destinations[index].internal && !exclude ? INGEST_MATCH_IN : 0);
            assert (ingest_match_directions (match, &flow) == expected);
            flow.src_as = 64501;  //  A foreign source never counts, whatever the destination
            assert (proto_addr_parse (&flow.src, "11.0.0.1") == 0);
            assert (!ingest_match_flow (match, &flow));
            //  ... but makes the flow incoming to a local destination, excluded or not
            assert (ingest_match_directions (match, &flow) ==
                    (destinations[index].internal ? INGEST_MATCH_IN : 0));
            flow.protocol = 1;  //  ICMP counts in neither direction
            assert (ingest_match_directions (match, &flow) == 0);
        }
    }
    ingest_match_destroy (&match);
    ingest_match_destroy (&match);

    //  With no AS and no prefix every source is local
    match = ingest_match_new ();
    ingest_flow_t flow;
    memset (&flow, 0, sizeof flow);
    flow.dst_port = 25, flow.protocol = 6;
    assert (ingest_match_flow (match, &flow));
    assert (ingest_match_directions (match, &flow) == (INGEST_MATCH_OUT | INGEST_MATCH_IN));
    ingest_match_set_exclude_internal (match, true);  //  No local network: none internal
    assert (ingest_match_flow (match, &flow));
    assert (ingest_match_directions (match, &flow) == (INGEST_MATCH_OUT | INGEST_MATCH_IN));
    flow.dst_port = 26;
    assert (ingest_match_directions (match, &flow) == 0);
    ingest_match_destroy (&match);
    free (ports);
    printf ("OK\n");
}
