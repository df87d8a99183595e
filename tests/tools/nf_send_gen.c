/*  nf_send_gen.c - the seeded flow generator of nf_send (--generate N --seed S).

    Draws a realistic mix (see nf_send.c's header): local hosts in the --local-net
    prefixes with the --local-as numbers, a --match-share of their flows to monitored
    ports (skewed: a few busy hosts, some scanners), the rest to other ports, ICMP, and
    foreign sources.  Deterministic for a given seed: xoshiro256** seeded by splitmix64.
*/
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tests/tools/nf_send.h"

//  --------------------------------------------------------------------------
//  Prefixes
bool
nf_send_net_contains (const net_t *net, int family, const uint8_t *addr)
{
    if (family != net->family)
        return false;
    int full = net->bits / 8, rest = net->bits % 8;
    if (memcmp (net->base, addr, (size_t) full))
        return false;
    if (rest) {
        uint8_t mask = (uint8_t) (0xff << (8 - rest));
        if ((net->base[full] & mask) != (addr[full] & mask))
            return false;
    }
    return true;
}

//  Set the low `bits` bits (at most 64) of the address to value.
void
nf_send_set_host_bits (uint8_t *addr, int length, int bits, uint64_t value)
{
    for (int i = 0; i < bits; i++) {
        int bit = length * 8 - 1 - i;
        uint8_t mask = (uint8_t) (1u << (7 - bit % 8));
        if ((value >> i) & 1)
            addr[bit / 8] |= mask;
        else
            addr[bit / 8] &= (uint8_t) ~mask;
    }
}

//  --------------------------------------------------------------------------
//  PRNG: xoshiro256** seeded with splitmix64 (deterministic for a given --seed)

typedef struct {
    uint64_t s[4];  //  State
} rng_t;

static uint64_t
s_splitmix (uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void
s_rng_seed (rng_t *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = s_splitmix (&seed);
}

static uint64_t
s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t
s_rng_next (rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = s_rotl (s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl (s[3], 45);
    return result;
}

//  Uniform in [0, 1)
static double
s_rng_unit (rng_t *rng)
{
    return (double) (s_rng_next (rng) >> 11) * 0x1.0p-53;
}

//  Uniform in [0, bound)
static uint64_t
s_rng_below (rng_t *rng, uint64_t bound)
{
    return bound ? s_rng_next (rng) % bound : 0;
}

//  --------------------------------------------------------------------------
//  Generator

typedef struct {
    int family;        //  AF_INET or AF_INET6
    uint8_t addr[16];  //  Address
    uint32_t as;       //  Its AS
} host_t;

//  Monitored ports with weights (the busy ones first); others get weight 3.
static uint16_t
s_pick_monitored (const options_t *options, rng_t *rng)
{
    static const struct {
        uint16_t port;
        unsigned weight;
    } weights[] = {{80, 30}, {25, 15}, {22, 15}, {445, 8}, {8080, 8}, {21, 5}};
    unsigned total = 0;
    unsigned weight_of[64];
    for (int i = 0; i < options->port_count; i++) {
        weight_of[i] = 3;
        for (size_t w = 0; w < sizeof weights / sizeof weights[0]; w++)
            if (weights[w].port == options->ports[i])
                weight_of[i] = weights[w].weight;
        total += weight_of[i];
    }
    uint64_t pick = s_rng_below (rng, total);
    for (int i = 0; i < options->port_count; i++) {
        if (pick < weight_of[i])
            return options->ports[i];
        pick -= weight_of[i];
    }
    return options->ports[0];
}

static bool
s_is_monitored (const options_t *options, uint16_t port)
{
    for (int i = 0; i < options->port_count; i++)
        if (options->ports[i] == port)
            return true;
    return false;
}

//  A random address outside every local prefix.
static void
s_foreign_addr (const options_t *options, rng_t *rng, int family, uint8_t *addr)
{
    for (;;) {
        memset (addr, 0, 16);
        if (family == AF_INET) {
            //  1.0.0.0 - 126.255.255.255
            uint32_t value = (uint32_t) (0x01000000u + s_rng_below (rng, 126u << 24));
            nf_send_put32 (addr, value);
        }
        else {
            //  2a00::/12, random below
            uint64_t high = (0x2a00ull << 48) | (s_rng_next (rng) >> 12);
            nf_send_put64 (addr, high);
            nf_send_put64 (addr + 8, s_rng_next (rng));
        }
        bool local = false;
        for (int i = 0; i < options->net_count; i++)
            if (nf_send_net_contains (&options->nets[i], family, addr))
                local = true;
        if (!local)
            return;
    }
}

static uint32_t
s_foreign_as (const options_t *options, rng_t *rng)
{
    for (;;) {
        uint32_t as = (uint32_t) (64512 + s_rng_below (rng, 1000));
        if (options->version != 5 && s_rng_below (rng, 4) == 0)
            as = (uint32_t) (4200000000u + s_rng_below (rng, 1000000));
        bool local = false;
        for (int i = 0; i < options->as_count; i++)
            if (options->local_as[i] == as)
                local = true;
        if (!local)
            return as;
    }
}

void
nf_send_generate (exporter_t *self, const options_t *options)
{
    rng_t rng;
    s_rng_seed (&rng, options->seed);

    //  Local hosts: host i of a prefix is base + ((i + 1) * odd constant mod 2^hostbits),
    //  a bijection, so hosts of one prefix are distinct.
    int v4_nets[NF_SEND_MAX_NETS], v6_nets[NF_SEND_MAX_NETS], v4_count = 0, v6_count = 0;
    for (int i = 0; i < options->net_count; i++) {
        if (options->nets[i].family == AF_INET)
            v4_nets[v4_count++] = i;
        else
            v6_nets[v6_count++] = i;
    }
    if (!v4_count && !v6_count)
        nf_send_die ("--generate needs at least one --local-net");
    host_t *hosts = calloc (options->hosts, sizeof (host_t));
    if (!hosts)
        nf_send_die ("out of memory");
    uint64_t index_in_net[NF_SEND_MAX_NETS] = {0};
    for (uint64_t i = 0; i < options->hosts; i++) {
        bool v6 = v6_count && (!v4_count || s_rng_unit (&rng) < options->v6_share);
        int net_index = v6 ? v6_nets[i % (uint64_t) v6_count] : v4_nets[i % (uint64_t) v4_count];
        const net_t *net = &options->nets[net_index];
        int length = net->family == AF_INET ? 4 : 16;
        int bits = length * 8 - net->bits;
        if (bits > 64)
            bits = 64;
        uint64_t space = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
        uint64_t n = ++index_in_net[net_index];
        if (n >= space)
            nf_send_die ("prefix %d too small for %" PRIu64 " hosts", net_index, options->hosts);
        uint64_t value = (n * 0x9E3779B97F4A7C15ull) & space;
        if (value == 0)
            value = 1;
        hosts[i].family = net->family;
        memcpy (hosts[i].addr, net->base, 16);
        nf_send_set_host_bits (hosts[i].addr, length, bits, value);
        hosts[i].as = options->as_count ? options->local_as[i % (uint64_t) options->as_count] : 0;
    }

    //  A shared pool of popular servers, per family, so peer sets overlap.
    uint8_t (*popular4)[16] = calloc (NF_SEND_POPULAR_PEERS, 16);
    uint8_t (*popular6)[16] = calloc (NF_SEND_POPULAR_PEERS, 16);
    if (!popular4 || !popular6)
        nf_send_die ("out of memory");
    for (int i = 0; i < NF_SEND_POPULAR_PEERS; i++) {
        s_foreign_addr (options, &rng, AF_INET, popular4[i]);
        s_foreign_addr (options, &rng, AF_INET6, popular6[i]);
    }

    static const uint16_t other_ports[] = {443, 53, 123, 993, 3389, 5060, 8443, 1723, 6881, 27015};
    for (uint64_t n = 0; n < options->generate; n++) {
        flow_t flow;
        memset (&flow, 0, sizeof flow);
        double kind = s_rng_unit (&rng);
        //  Skewed host choice: host 0 is the busiest
        double u = s_rng_unit (&rng);
        const host_t *host = &hosts[(uint64_t) ((double) options->hosts * u * u * u)];
        bool local_source = true;
        flow.proto = 6;
        if (kind < options->match_share)
            flow.dport = s_pick_monitored (options, &rng);
        else {
            double rest = s_rng_unit (&rng);
            if (rest < 0.40) {
                //  Local source, other port
                flow.dport = other_ports[s_rng_below (&rng, sizeof other_ports / 2)];
                if (s_rng_below (&rng, 5) == 0)
                    flow.dport = (uint16_t) (1024 + s_rng_below (&rng, 64000));
                if (s_is_monitored (options, flow.dport))
                    flow.dport = 443;
                if (flow.dport == 53 || flow.dport == 123 || flow.dport == 5060)
                    flow.proto = 17;
            }
            else if (rest < 0.50) {
                //  ICMP from a local source; some type/code values read as 22 or 25
                static const uint16_t icmp[] = {0x0000, 0x0800, 0x0303, 0x0B00,
                                                0x0016, 0x0019, 0x0050};
                flow.dport = icmp[s_rng_below (&rng, sizeof icmp / 2)];
                flow.proto = host->family == AF_INET ? 1 : 58;
            }
            else {
                //  Foreign source, to any port (half of them monitored)
                local_source = false;
                flow.dport = s_rng_below (&rng, 2) ? s_pick_monitored (options, &rng)
                                                   : other_ports[s_rng_below (&rng, 10)];
            }
        }
        flow.family = host->family;
        if (local_source) {
            memcpy (flow.src, host->addr, 16);
            flow.src_as = host->as;
        }
        else {
            bool v6 = s_rng_unit (&rng) < options->v6_share;
            flow.family = v6 && v6_count ? AF_INET6 : AF_INET;
            s_foreign_addr (options, &rng, flow.family, flow.src);
            flow.src_as = s_foreign_as (options, &rng);
        }
        //  Destination: popular server, or anywhere (scanners reach thousands of peers)
        if (s_rng_below (&rng, 2))
            memcpy (flow.dst,
                    flow.family == AF_INET ? popular4[s_rng_below (&rng, NF_SEND_POPULAR_PEERS)]
                                           : popular6[s_rng_below (&rng, NF_SEND_POPULAR_PEERS)],
                    16);
        else
            s_foreign_addr (options, &rng, flow.family, flow.dst);
        flow.dst_as = s_foreign_as (options, &rng);
        if (flow.proto == 1 || flow.proto == 58)
            flow.sport = 0;
        else
            flow.sport = (uint16_t) (1024 + s_rng_below (&rng, 64511));
        flow.tcp_flags = flow.proto == 6 ? (uint8_t) (0x02 | s_rng_below (&rng, 0x20)) : 0;
        flow.packets = 1 + (uint64_t) (-log (1.0 - s_rng_unit (&rng)) * 20);
        flow.bytes = flow.packets * (40 + s_rng_below (&rng, 1461));
        if (options->with_out && flow.proto == 6 && s_rng_below (&rng, 4) == 0) {
            flow.out_packets = 1 + s_rng_below (&rng, flow.packets + 1);
            flow.out_bytes = flow.out_packets * (40 + s_rng_below (&rng, 1461));
        }
        flow.first_msec = options->start_msec + s_rng_below (&rng, options->span_msecs + 1);
        uint64_t duration =
            s_rng_below (&rng, 10) < 7 ? s_rng_below (&rng, 2001) : s_rng_below (&rng, 120001);
        if (flow.packets == 1 && s_rng_below (&rng, 2))
            duration = 0;
        flow.last_msec = flow.first_msec + duration;
        if (options->version == 5) {
            flow.src_as &= 0xffff;
            flow.dst_as &= 0xffff;
        }
        nf_send_exporter_add (self, &flow);
    }
    free (popular6);
    free (popular4);
    free (hosts);
}
