/*  proto_host.h - the host key and the block aggregate, shared by every process.

    A host is a 16-byte address: IPv6 as is, IPv4 as the v4-mapped ::ffff:a.b.c.d, so that
    one key type, one hash and one LMDB key layout serve both families.  An aggregate holds
    the four features of the paper (bytes, packets, durations in msecs, distinct peers) for
    one (host, destination port, block).  Peers are exact up to PROTO_PEERS_CAP; a value
    above the cap is an estimate and carries PROTO_VALUES_PEERS_CAPPED.
*/
#ifndef PROTO_HOST_H_INCLUDED
#define PROTO_HOST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_ADDR_SIZE 16     //  Bytes of an address, v4-mapped for IPv4
#define PROTO_ADDR_STRLEN 46   //  Room for inet_ntop of any address, with NUL
#define PROTO_PEERS_CAP 4096   //  Distinct peers counted exactly per block (the paper's cap)
#define PROTO_FEATURE_COUNT 4  //  bytes, packets, durations, peers
#define PROTO_OP_COUNT 3       //  sum, max, min

typedef struct {
    uint8_t bytes[PROTO_ADDR_SIZE];  //  Network byte order; IPv4 is ::ffff:a.b.c.d
} proto_addr_t;

typedef enum {
    PROTO_FEATURE_BYTES = 0,
    PROTO_FEATURE_PACKETS = 1,
    PROTO_FEATURE_DURATIONS = 2,
    PROTO_FEATURE_PEERS = 3
} proto_feature_t;

typedef enum { PROTO_OP_SUM = 0, PROTO_OP_MAX = 1, PROTO_OP_MIN = 2 } proto_op_t;

//  Direction of a profile: out, the host is a local source talking to monitored ports
//  (peers: its destinations); in, the host is a local destination reached on a monitored
//  port (peers: its sources).
typedef enum { PROTO_DIRECTION_OUT = 0, PROTO_DIRECTION_IN = 1 } proto_direction_t;
#define PROTO_DIRECTION_COUNT 2

//  Flag bits of proto_values_t.flags
#define PROTO_VALUES_PEERS_CAPPED 0x01  //  peers reached PROTO_PEERS_CAP; above it, an estimate

typedef struct {
    uint64_t value[PROTO_FEATURE_COUNT];  //  Indexed by proto_feature_t; durations in msecs
    uint32_t flags;                       //  PROTO_VALUES_* bits
} proto_values_t;

//  Build an address from an IPv4 address in host byte order (as nfcapd stores it).
void proto_addr_from_ipv4 (proto_addr_t *self, uint32_t ipv4);

//  Build an address from 16 bytes in network order.  A v4-mapped input stays v4-mapped.
void proto_addr_from_ipv6 (proto_addr_t *self, const uint8_t *bytes);

//  True if the address is v4-mapped (an IPv4 host).
bool proto_addr_is_ipv4 (const proto_addr_t *self);

//  The IPv4 address in host byte order; only meaningful if proto_addr_is_ipv4.
uint32_t proto_addr_ipv4 (const proto_addr_t *self);

//  Parse "a.b.c.d" or any IPv6 text form.  Returns 0 on success, -1 if malformed.
int proto_addr_parse (proto_addr_t *self, const char *text);

//  Print as inet_ntop does (dotted quad for IPv4, RFC 5952 for IPv6) into buffer, which
//  holds at least PROTO_ADDR_STRLEN bytes.  Returns buffer.
char *proto_addr_format (const proto_addr_t *self, char *buffer);

//  Compare two addresses byte-wise (IPv4 sorts before global IPv6 as in memcmp).
int proto_addr_compare (const proto_addr_t *a, const proto_addr_t *b);

//  Name of a feature or operation ("bytes", "sum"...); lookup by name returns -1 if unknown.
const char *proto_feature_name (proto_feature_t feature);
int proto_feature_lookup (const char *name);
const char *proto_op_name (proto_op_t op);
int proto_op_lookup (const char *name);

//  Days are UTC calendar days counted from 1970-01-01 (day 0); times are secs since the
//  epoch.  The day of a time; "YYYY-MM-DD" of a day into buffer (>= 11 bytes); ISO 8601
//  UTC "YYYY-MM-DDThh:mm:ssZ" of a time into buffer (>= 21 bytes); parse "YYYY-MM-DD"
//  (0 ok, -1 if not a valid date from 1970 to 9999).  Formatting clamps to 1970..9999.
uint32_t proto_day_of (int64_t time);
char *proto_day_format (uint32_t day, char *buffer);
char *proto_time_format (int64_t time, char *buffer);
int proto_day_parse (const char *text, uint32_t *day);

//  The service assumed for a port (the paper's Table I: "SMTP" for 25...), or "" if none.
const char *proto_port_service (uint16_t port);

//  Selftest
void proto_host_test (bool verbose);

#endif
