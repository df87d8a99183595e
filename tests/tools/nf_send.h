/*  nf_send.h - what nf_send.c (the exporter: CSV, NetFlow v9/v5 packets, command line)
    and nf_send_gen.c (the seeded flow generator) share: the flow, the options, the
    exporter and a few helpers.  A test tool, not part of portevo.
*/
#ifndef NF_SEND_H_INCLUDED
#define NF_SEND_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define NF_SEND_MTU_DEFAULT 1400          //  UDP payload bytes per packet, as routers send
#define NF_SEND_MTU_MAX 65000             //  Largest payload we build (loopback allows it)
#define NF_SEND_TEMPLATE_EVERY 20         //  v9: resend templates every N packets
#define NF_SEND_V5_MAX_FLOWS 30           //  v5: records per packet (protocol limit)
#define NF_SEND_V9_HEADER 20              //  v9 packet header bytes
#define NF_SEND_V5_HEADER 24              //  v5 packet header bytes
#define NF_SEND_V5_RECORD 48              //  v5 record bytes
#define NF_SEND_MAX_NETS 16               //  --local-net prefixes
#define NF_SEND_MAX_AS 16                 //  --local-as numbers
#define NF_SEND_POPULAR_PEERS 1000        //  generator: shared server pool
#define NF_SEND_UPTIME_MARGIN_MSECS 1000  //  v9 uptime mode: boot this long before first

//  v9 field type ids (RFC 3954 section 8 and IANA IPFIX ids for the msec times)
#define V9_IN_BYTES 1
#define V9_IN_PKTS 2
#define V9_PROTOCOL 4
#define V9_TCP_FLAGS 6
#define V9_L4_SRC_PORT 7
#define V9_IPV4_SRC_ADDR 8
#define V9_L4_DST_PORT 11
#define V9_IPV4_DST_ADDR 12
#define V9_SRC_AS 16
#define V9_DST_AS 17
#define V9_LAST_SWITCHED 21
#define V9_FIRST_SWITCHED 22
#define V9_OUT_BYTES 23
#define V9_OUT_PKTS 24
#define V9_IPV6_SRC_ADDR 27
#define V9_IPV6_DST_ADDR 28
#define V9_ICMP_TYPE 32
#define V9_FLOW_START_MSECS 152
#define V9_FLOW_END_MSECS 153

//  One flow.  Addresses in network byte order; IPv4 uses the first 4 bytes.
typedef struct {
    int family;            //  AF_INET or AF_INET6
    uint8_t src[16];       //  Source address
    uint8_t dst[16];       //  Destination address
    uint16_t sport;        //  Source port
    uint16_t dport;        //  Destination port (ICMP: type * 256 + code)
    uint8_t proto;         //  IP protocol
    uint8_t tcp_flags;     //  TCP flags (generator only)
    uint64_t packets;      //  Packets, forward direction
    uint64_t bytes;        //  Bytes, forward direction
    uint64_t out_packets;  //  Packets, reverse direction (--out-counters)
    uint64_t out_bytes;    //  Bytes, reverse direction (--out-counters)
    uint64_t first_msec;   //  Flow start, msecs since the epoch
    uint64_t last_msec;    //  Flow end, msecs since the epoch
    uint32_t src_as;       //  Source AS
    uint32_t dst_as;       //  Destination AS
} flow_t;

//  One template: the fields of a v9 data record.
typedef struct {
    uint16_t id;           //  Template id (256...)
    int family;            //  AF_INET or AF_INET6
    uint16_t count;        //  Number of fields
    uint16_t types[16];    //  Field types
    uint16_t lengths[16];  //  Field lengths (bytes)
    size_t record_size;    //  Sum of lengths
} template_t;

//  A local prefix of the generator.
typedef struct {
    int family;        //  AF_INET or AF_INET6
    uint8_t base[16];  //  Network address
    int bits;          //  Prefix length
} net_t;

//  Options.
typedef struct {
    int version;            //  5 or 9
    bool with_as;           //  Send SRC_AS/DST_AS
    bool with_out;          //  Send OUT_PKTS/OUT_BYTES (v9)
    bool time_uptime;       //  v9: FIRST/LAST_SWITCHED + sysUptime instead of msec times
    uint32_t source_id;     //  v9 source id / v5 engine id
    const char *host;       //  Collector address
    int port;               //  Collector UDP port
    const char *bind_addr;  //  Local source address, or NULL
    double rate;            //  Flows per second, 0 = unpaced
    size_t mtu;             //  Payload bytes per packet
    int template_every;     //  v9: templates every N packets
    const char *csv_path;   //  Copy of the flows as CSV, or NULL
    bool send;              //  False with --no-send
    bool verbose;           //  Summary on stderr
    //  Generator
    uint64_t generate;                  //  Number of flows to generate, 0 = read CSV
    uint64_t seed;                      //  PRNG seed
    uint64_t hosts;                     //  Local hosts
    double v6_share;                    //  Share of local hosts (and foreign sources) that are IPv6
    double match_share;                 //  Share of flows from local sources to monitored ports
    uint64_t start_msec;                //  Earliest flow start
    uint64_t span_msecs;                //  Flow starts are spread over this
    net_t nets[NF_SEND_MAX_NETS];       //  Local prefixes
    int net_count;                      //  Entries in nets
    uint32_t local_as[NF_SEND_MAX_AS];  //  Local AS numbers
    int as_count;                       //  Entries in local_as
    uint16_t ports[64];                 //  Monitored ports
    int port_count;                     //  Entries in ports
} options_t;

//  The exporter: socket, packet under construction, counters, pacing.
typedef struct {
    const options_t *options;  //  Borrowed
    int fd;                    //  UDP socket, -1 with --no-send
    FILE *csv;                 //  CSV copy or NULL
    template_t templates[2];   //  [0] IPv4, [1] IPv6
    flow_t *pending;           //  Flows of the packet under construction
    size_t pending_count;      //  Entries in pending
    size_t pending_bytes;      //  v9: bytes these flows take in the packet
    size_t pending_sets;       //  v9: data flowsets needed (1 or 2)
    size_t pending_max;        //  Room in pending
    uint8_t *buffer;           //  Packet buffer (NF_SEND_MTU_MAX)
    uint32_t sequence;         //  v9 packet sequence / v5 flow sequence
    uint64_t packets_sent;     //  Packets sent
    uint64_t flows_sent;       //  Flows sent
    struct timespec started;   //  Pacing origin (CLOCK_MONOTONIC)
} exporter_t;

//  Print "nf_send: ..." on stderr and exit 1 (a test tool may).
void nf_send_die (const char *format, ...) __attribute__ ((format (printf, 1, 2), noreturn));

//  Store a big-endian value at p; return p past it.
uint8_t *nf_send_put32 (uint8_t *p, uint32_t value);
uint8_t *nf_send_put64 (uint8_t *p, uint64_t value);

//  True if addr (family) lies in net.
bool nf_send_net_contains (const net_t *net, int family, const uint8_t *addr);

//  Set the host bits of addr (length bytes, prefix of bits) to value.
void nf_send_set_host_bits (uint8_t *addr, int length, int bits, uint64_t value);

//  Queue a flow for sending (and the CSV copy).
void nf_send_exporter_add (exporter_t *self, const flow_t *flow);

//  Generate options->generate flows into the exporter.
void nf_send_generate (exporter_t *self, const options_t *options);

#endif
