/*  ingest_match.h - which flows count: the paper's definition (1), made configurable.

    A flow counts when its source is local and its destination port is monitored.  A
    source is local when its AS is one of the local AS numbers, or its address lies in one
    of the local prefixes (IPv4 or IPv6 CIDR); exporters often send no AS numbers, so the
    prefix list can replace or complement the AS list.  With neither configured, every
    source is local.  Monitored ports default to the paper's Table I (ALL*).  ICMP and
    ICMPv6 flows never count: their "destination port" is a type and code.

    With exclude_internal set, a flow whose destination is local too (destination AS one
    of the local AS numbers, or destination address in a local prefix) does not count: only
    peers outside the local networks are counted, as the paper's "machines in other AS".
    With no local AS and no local prefix, no destination is internal.

    The incoming direction (ingest_match_directions) mirrors this: a flow counts "in"
    when its destination is local and its destination port monitored; the host is the
    destination and the peers are the sources.
*/
#ifndef INGEST_MATCH_H_INCLUDED
#define INGEST_MATCH_H_INCLUDED

#include "ingestor/ingest_reader.h"

#define INGEST_MATCH_DEFAULT_PORTS "21,22,25,80,445,1194,3128,8080,8081,8118,8123,9050"

typedef struct _ingest_match_t ingest_match_t;

//  A matcher with the default ports, no local AS and no local prefix.
ingest_match_t *ingest_match_new (void);
void ingest_match_destroy (ingest_match_t **self_p);

//  Add a local AS number.  Returns 0, or -1 if there are too many.
int ingest_match_add_as (ingest_match_t *self, uint32_t asn);

//  Parse and add a local AS number given as text ("64500" or "AS64500").  0, or -1.
int ingest_match_add_as_text (ingest_match_t *self, const char *text);

//  Add a local prefix, "10.0.0.0/8", "2001:db8::/32" or a bare address.  0, or -1 if
//  malformed (bad address, prefix length out of range, host bits set).
int ingest_match_add_net (ingest_match_t *self, const char *cidr);

//  Replace the monitored ports with a list "21,22,25" (ranges "8080-8081" allowed).
//  0, or -1 if malformed (the set is left unchanged).
int ingest_match_set_ports (ingest_match_t *self, const char *list);

//  Count only flows whose destination is outside the local networks (default false).
void ingest_match_set_exclude_internal (ingest_match_t *self, bool exclude_internal);

//  True if internal destinations are excluded.
bool ingest_match_exclude_internal (ingest_match_t *self);

//  True if the flow counts.
bool ingest_match_flow (ingest_match_t *self, const ingest_flow_t *flow);

//  True if the flow would count were its port monitored: a local source (and, with
//  exclude_internal, an outside destination), not ICMP.  The rule of the other ports.
bool ingest_match_source (ingest_match_t *self, const ingest_flow_t *flow);

//  Whether the flows of local sources to the ports not monitored are aggregated too
//  (ingest_others.h; default true).  Without, the reader skips them undecoded.
void ingest_match_set_others (ingest_match_t *self, bool others);
bool ingest_match_others (ingest_match_t *self);
//  The directions in which the flow counts, INGEST_MATCH_OUT | INGEST_MATCH_IN bits (0:
//  none).  Out: ingest_match_flow.  In: the destination port is monitored (not ICMP) and
//  the destination is local (destination AS or address, as for sources); with
//  exclude_internal, only if the source is not local.  With no local AS and no local
//  prefix every address is local: a matched flow counts in both directions.
#define INGEST_MATCH_OUT 1u
#define INGEST_MATCH_IN 2u
unsigned ingest_match_directions (ingest_match_t *self, const ingest_flow_t *flow);

//  What a flow is for the aggregation, in one matching of its addresses: the directions
//  of ingest_match_directions, or, with the other ports on (ingest_match_others) and a
//  port not monitored, INGEST_MATCH_OTHER if ingest_match_source is true; 0: neither.
#define INGEST_MATCH_OTHER 4u
unsigned ingest_match_classify (ingest_match_t *self, const ingest_flow_t *flow);

//  True if port is monitored.
bool ingest_match_port (ingest_match_t *self, uint16_t port);

//  The monitored ports as a bitmap of 65536 bits (port p is bit p % 64 of word p / 64);
//  borrowed, valid while the matcher lives and its ports are not set again.
const uint64_t *ingest_match_port_bitmap (ingest_match_t *self);

//  The monitored ports in ascending order into ports (room for 65536); returns the count.
size_t ingest_match_ports (ingest_match_t *self, uint16_t *ports);

//  Selftest
void ingest_match_test (bool verbose);

#endif
