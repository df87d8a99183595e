/*  nf_send.c - a NetFlow v5 / v9 exporter that feeds nfcapd in tests and benchmarks.

    portevo's tests need real nfcapd files with known contents.  nf_send plays the router:
    it reads flows as CSV lines on stdin, or makes them up with a fast, seeded generator,
    and sends them over UDP to a collector (Debian's nfcapd) as NetFlow v9 (default: IPv4
    and IPv6 templates, 64-bit counters, 4-byte SRC_AS/DST_AS, millisecond start and end
    times) or NetFlow v5 (-5: IPv4 only, 32-bit counters, 16-bit AS numbers).  Every
    timestamp is chosen so that nfcapd 1.7.1 reconstructs the CSV's milliseconds exactly
    (see s_v9_packet_flush and s_v5_packet_flush).  Several exporters are simulated with
    --source-id (v9 source id / v5 engine id) and -b (another loopback source address).
    nfcapd's socket buffer is small, so sending is paced (--rate, flows per second) and a
    refused port ends the run with an error instead of a silent loss.

    CSV (input and --csv output), one flow per line, '#' lines and a "src,..." header are
    skipped; times are msecs since the epoch (UTC); two optional trailing columns carry the
    reverse direction of a bidirectional flow (sent only with --out-counters):

        src,dst,sport,dport,proto,packets,bytes,first_msec,last_msec,src_as,dst_as[,out_packets,out_bytes]

    For ICMP and ICMPv6 the dport column is type * 256 + code, as nfcapd stores it.

    The generator (--generate N --seed S) draws a realistic mix: --hosts local hosts in the
    --local-net prefixes (IPv4 and IPv6, --v6-share of them IPv6) with the --local-as
    numbers, of which --match-share of the flows go to monitored ports (skewed: a few hosts
    are very busy, some scan thousands of peers); the rest are local sources to other ports,
    ICMP (some with type/code that reads as port 22 or 25), and foreign sources (other AS,
    addresses outside the local prefixes) to any port.  Local sources always carry a local
    AS and foreign ones never do, so --local-as and --local-net select the same flows.

    Usage: nf_send --help
*/

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/nf_send.h"

//  --------------------------------------------------------------------------
//  Small helpers

void
nf_send_die (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fputs ("nf_send: ", stderr);
    vfprintf (stderr, format, args);
    fputc ('\n', stderr);
    va_end (args);
    exit (1);
}

static uint8_t *
s_put16 (uint8_t *p, uint16_t value)
{
    p[0] = (uint8_t) (value >> 8);
    p[1] = (uint8_t) value;
    return p + 2;
}

uint8_t *
nf_send_put32 (uint8_t *p, uint32_t value)
{
    p[0] = (uint8_t) (value >> 24);
    p[1] = (uint8_t) (value >> 16);
    p[2] = (uint8_t) (value >> 8);
    p[3] = (uint8_t) value;
    return p + 4;
}

uint8_t *
nf_send_put64 (uint8_t *p, uint64_t value)
{
    nf_send_put32 (p, (uint32_t) (value >> 32));
    return nf_send_put32 (p + 4, (uint32_t) value);
}

static uint64_t
s_parse_u64 (const char *text, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno || end == text || *end || *text == '-')
        nf_send_die ("bad %s: '%s'", what, text);
    return (uint64_t) value;
}

static double
s_parse_double (const char *text, const char *what)
{
    char *end;
    errno = 0;
    double value = strtod (text, &end);
    if (errno || end == text || *end || !isfinite (value) || value < 0)
        nf_send_die ("bad %s: '%s'", what, text);
    return value;
}

static uint64_t
s_now_msec (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
}

//  --------------------------------------------------------------------------
//  Addresses and prefixes

static int
s_parse_addr (const char *text, int *family, uint8_t *addr)
{
    memset (addr, 0, 16);
    if (inet_pton (AF_INET, text, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton (AF_INET6, text, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

static void
s_parse_net (const char *text, net_t *net)
{
    char copy[64];
    if (strlen (text) >= sizeof copy)
        nf_send_die ("bad prefix '%s'", text);
    strcpy (copy, text);
    char *slash = strchr (copy, '/');
    if (slash)
        *slash++ = 0;
    if (s_parse_addr (copy, &net->family, net->base))
        nf_send_die ("bad prefix '%s'", text);
    int max_bits = net->family == AF_INET ? 32 : 128;
    net->bits = slash ? (int) s_parse_u64 (slash, "prefix length") : max_bits;
    if (net->bits > max_bits || max_bits - net->bits < 4)
        nf_send_die ("prefix '%s': need at least 4 host bits", text);
}

static void
s_format_addr (int family, const uint8_t *addr, char *text)
{
    inet_ntop (family, addr, text, INET6_ADDRSTRLEN);
}

//  --------------------------------------------------------------------------
//  CSV

static void
s_csv_write (FILE *file, const flow_t *flow, bool with_out)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    s_format_addr (flow->family, flow->src, src);
    s_format_addr (flow->family, flow->dst, dst);
    fprintf (file, "%s,%s,%u,%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%u", src, dst,
             flow->sport, flow->dport, flow->proto, flow->packets, flow->bytes, flow->first_msec,
             flow->last_msec, flow->src_as, flow->dst_as);
    if (with_out || flow->out_packets || flow->out_bytes)
        fprintf (file, ",%" PRIu64 ",%" PRIu64, flow->out_packets, flow->out_bytes);
    fputc ('\n', file);
}

//  Parse one CSV line into flow.  1 flow, 0 line to skip; dies on a malformed line.
static int
s_csv_parse (char *line, unsigned long line_number, flow_t *flow)
{
    char *fields[14];
    int count = 0;
    line[strcspn (line, "\r\n")] = 0;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#' || strncmp (p, "src,", 4) == 0)
        return 0;
    while (count < 14) {
        fields[count++] = p;
        char *comma = strchr (p, ',');
        if (!comma)
            break;
        *comma = 0;
        p = comma + 1;
    }
    if (count != 11 && count != 13)
        nf_send_die ("line %lu: want 11 or 13 fields, got %d", line_number, count);
    for (int i = 0; i < count; i++) {
        char *field = fields[i];
        while (*field == ' ')
            field++;
        char *end = field + strlen (field);
        while (end > field && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = 0;
        fields[i] = field;
    }
    memset (flow, 0, sizeof *flow);
    int family_dst;
    if (s_parse_addr (fields[0], &flow->family, flow->src) ||
        s_parse_addr (fields[1], &family_dst, flow->dst))
        nf_send_die ("line %lu: bad address", line_number);
    if (family_dst != flow->family)
        nf_send_die ("line %lu: source and destination families differ", line_number);
    uint64_t sport = s_parse_u64 (fields[2], "sport");
    uint64_t dport = s_parse_u64 (fields[3], "dport");
    uint64_t proto = s_parse_u64 (fields[4], "proto");
    if (sport > 65535 || dport > 65535 || proto > 255)
        nf_send_die ("line %lu: port or protocol out of range", line_number);
    flow->sport = (uint16_t) sport;
    flow->dport = (uint16_t) dport;
    flow->proto = (uint8_t) proto;
    flow->packets = s_parse_u64 (fields[5], "packets");
    flow->bytes = s_parse_u64 (fields[6], "bytes");
    flow->first_msec = s_parse_u64 (fields[7], "first_msec");
    flow->last_msec = s_parse_u64 (fields[8], "last_msec");
    if (flow->last_msec < flow->first_msec)
        nf_send_die ("line %lu: last_msec before first_msec", line_number);
    uint64_t src_as = s_parse_u64 (fields[9], "src_as");
    uint64_t dst_as = s_parse_u64 (fields[10], "dst_as");
    if (src_as > UINT32_MAX || dst_as > UINT32_MAX)
        nf_send_die ("line %lu: AS out of range", line_number);
    flow->src_as = (uint32_t) src_as;
    flow->dst_as = (uint32_t) dst_as;
    if (count == 13) {
        flow->out_packets = s_parse_u64 (fields[11], "out_packets");
        flow->out_bytes = s_parse_u64 (fields[12], "out_bytes");
    }
    if (flow->proto == 6)
        flow->tcp_flags = 0x1b;
    return 1;
}

//  --------------------------------------------------------------------------
//  v9 templates

static void
s_template_add (template_t *template, uint16_t type, uint16_t length)
{
    if (template->count >= 16)
        nf_send_die ("internal: template too long");
    template->types[template->count] = type;
    template->lengths[template->count] = length;
    template->count++;
    template->record_size += length;
}

static void
s_template_build (template_t *template, uint16_t id, int family, const options_t *options)
{
    memset (template, 0, sizeof *template);
    template->id = id;
    template->family = family;
    if (family == AF_INET) {
        s_template_add (template, V9_IPV4_SRC_ADDR, 4);
        s_template_add (template, V9_IPV4_DST_ADDR, 4);
    }
    else {
        s_template_add (template, V9_IPV6_SRC_ADDR, 16);
        s_template_add (template, V9_IPV6_DST_ADDR, 16);
    }
    s_template_add (template, V9_L4_SRC_PORT, 2);
    s_template_add (template, V9_L4_DST_PORT, 2);
    s_template_add (template, V9_PROTOCOL, 1);
    s_template_add (template, V9_TCP_FLAGS, 1);
    s_template_add (template, V9_ICMP_TYPE, 2);
    s_template_add (template, V9_IN_PKTS, 8);
    s_template_add (template, V9_IN_BYTES, 8);
    if (options->with_out) {
        s_template_add (template, V9_OUT_PKTS, 8);
        s_template_add (template, V9_OUT_BYTES, 8);
    }
    if (options->time_uptime) {
        s_template_add (template, V9_FIRST_SWITCHED, 4);
        s_template_add (template, V9_LAST_SWITCHED, 4);
    }
    else {
        s_template_add (template, V9_FLOW_START_MSECS, 8);
        s_template_add (template, V9_FLOW_END_MSECS, 8);
    }
    if (options->with_as) {
        s_template_add (template, V9_SRC_AS, 4);
        s_template_add (template, V9_DST_AS, 4);
    }
}

//  Bytes of the template flowset holding both templates.
static size_t
s_templates_size (const exporter_t *self)
{
    return 4 + 2 * 4 + 4 * (size_t) (self->templates[0].count + self->templates[1].count);
}

//  --------------------------------------------------------------------------
//  Sending and pacing

static void
s_send (exporter_t *self, const uint8_t *data, size_t size)
{
    if (self->fd >= 0) {
        while (send (self->fd, data, size, 0) < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS || errno == EAGAIN) {
                struct timespec pause = {0, 100000};
                nanosleep (&pause, NULL);
                continue;
            }
            nf_send_die ("send to %s:%d: %s (is the collector listening?)", self->options->host,
                         self->options->port, strerror (errno));
        }
    }
    self->packets_sent++;
}

//  Sleep until flows_sent flows are due at the configured rate.
static void
s_pace (exporter_t *self)
{
    if (self->options->rate <= 0 || self->fd < 0)
        return;
    double due = (double) self->flows_sent / self->options->rate;
    struct timespec target = self->started;
    double whole = floor (due);
    target.tv_sec += (time_t) whole;
    target.tv_nsec += (long) ((due - whole) * 1e9);
    if (target.tv_nsec >= 1000000000L) {
        target.tv_sec++;
        target.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL) == EINTR)
        ;
}

//  --------------------------------------------------------------------------
//  NetFlow v9.  Header: version, count (records incl. templates), sysUptime (msecs),
//  unix_secs, sequence (packets), source id.  Times: either flowStart/EndMilliseconds
//  (absolute msecs, ids 152/153) or FIRST/LAST_SWITCHED relative to sysUptime, with
//  unix_secs and sysUptime chosen per packet so that boot = unix_secs * 1000 - sysUptime
//  is a whole msec just before the packet's earliest flow start.

static void
s_v9_packet_flush (exporter_t *self)
{
    if (self->pending_count == 0)
        return;
    const options_t *options = self->options;
    uint64_t min_first = UINT64_MAX, max_last = 0;
    for (size_t i = 0; i < self->pending_count; i++) {
        if (self->pending[i].first_msec < min_first)
            min_first = self->pending[i].first_msec;
        if (self->pending[i].last_msec > max_last)
            max_last = self->pending[i].last_msec;
    }
    //  Export time: just after the last flow ended
    uint64_t unix_secs = max_last / 1000 + 1;
    uint64_t boot_msec =
        min_first >= NF_SEND_UPTIME_MARGIN_MSECS ? min_first - NF_SEND_UPTIME_MARGIN_MSECS : 0;
    uint64_t uptime = unix_secs * 1000 - boot_msec;
    if (options->time_uptime && (uptime > UINT32_MAX || unix_secs > UINT32_MAX))
        nf_send_die ("flows of one packet span more than 49 days; use msec times");
    if (!options->time_uptime)
        uptime = 3600000 + (self->packets_sent % 1000000);

    bool with_templates = self->packets_sent % (uint64_t) options->template_every == 0;
    uint8_t *p = self->buffer;
    size_t records = self->pending_count + (with_templates ? 2 : 0);
    p = s_put16 (p, 9);
    p = s_put16 (p, (uint16_t) records);
    p = nf_send_put32 (p, (uint32_t) uptime);
    p = nf_send_put32 (p, (uint32_t) unix_secs);
    p = nf_send_put32 (p, self->sequence++);
    p = nf_send_put32 (p, options->source_id);
    if (with_templates) {
        p = s_put16 (p, 0);
        p = s_put16 (p, (uint16_t) s_templates_size (self));
        for (int t = 0; t < 2; t++) {
            const template_t *template = &self->templates[t];
            p = s_put16 (p, template->id);
            p = s_put16 (p, template->count);
            for (int f = 0; f < template->count; f++) {
                p = s_put16 (p, template->types[f]);
                p = s_put16 (p, template->lengths[f]);
            }
        }
    }
    for (int t = 0; t < 2; t++) {
        const template_t *template = &self->templates[t];
        uint8_t *set = p;
        size_t in_set = 0;
        p += 4;
        for (size_t i = 0; i < self->pending_count; i++) {
            const flow_t *flow = &self->pending[i];
            if (flow->family != template->family)
                continue;
            in_set++;
            for (int f = 0; f < template->count; f++) {
                switch (template->types[f]) {
                case V9_IPV4_SRC_ADDR:
                    memcpy (p, flow->src, 4);
                    p += 4;
                    break;
                case V9_IPV4_DST_ADDR:
                    memcpy (p, flow->dst, 4);
                    p += 4;
                    break;
                case V9_IPV6_SRC_ADDR:
                    memcpy (p, flow->src, 16);
                    p += 16;
                    break;
                case V9_IPV6_DST_ADDR:
                    memcpy (p, flow->dst, 16);
                    p += 16;
                    break;
                case V9_L4_SRC_PORT:
                    p = s_put16 (p, flow->sport);
                    break;
                case V9_L4_DST_PORT:
                    p = s_put16 (p, flow->dport);
                    break;
                case V9_PROTOCOL:
                    *p++ = flow->proto;
                    break;
                case V9_TCP_FLAGS:
                    *p++ = flow->tcp_flags;
                    break;
                case V9_ICMP_TYPE:
                    p = s_put16 (p, flow->proto == 1 || flow->proto == 58 ? flow->dport : 0);
                    break;
                case V9_IN_PKTS:
                    p = nf_send_put64 (p, flow->packets);
                    break;
                case V9_IN_BYTES:
                    p = nf_send_put64 (p, flow->bytes);
                    break;
                case V9_OUT_PKTS:
                    p = nf_send_put64 (p, flow->out_packets);
                    break;
                case V9_OUT_BYTES:
                    p = nf_send_put64 (p, flow->out_bytes);
                    break;
                case V9_FIRST_SWITCHED:
                    p = nf_send_put32 (p, (uint32_t) (flow->first_msec - boot_msec));
                    break;
                case V9_LAST_SWITCHED:
                    p = nf_send_put32 (p, (uint32_t) (flow->last_msec - boot_msec));
                    break;
                case V9_FLOW_START_MSECS:
                    p = nf_send_put64 (p, flow->first_msec);
                    break;
                case V9_FLOW_END_MSECS:
                    p = nf_send_put64 (p, flow->last_msec);
                    break;
                case V9_SRC_AS:
                    p = nf_send_put32 (p, flow->src_as);
                    break;
                case V9_DST_AS:
                    p = nf_send_put32 (p, flow->dst_as);
                    break;
                default:
                    nf_send_die ("internal: field %u", template->types[f]);
                }
            }
        }
        if (in_set == 0) {
            p = set;
            continue;
        }
        while ((p - set) % 4)
            *p++ = 0;
        s_put16 (set, template->id);
        s_put16 (set + 2, (uint16_t) (p - set));
    }
    s_send (self, self->buffer, (size_t) (p - self->buffer));
    self->flows_sent += self->pending_count;
    self->pending_count = 0;
    self->pending_bytes = 0;
    self->pending_sets = 0;
    s_pace (self);
}

//  Bytes the packet takes with the pending flows plus flow (worst case: templates, two
//  padded flowsets).
static size_t
s_v9_size_with (exporter_t *self, const flow_t *flow)
{
    size_t record = self->templates[flow->family == AF_INET ? 0 : 1].record_size;
    return NF_SEND_V9_HEADER + s_templates_size (self) + 2 * (4 + 3) + self->pending_bytes + record;
}

static void
s_v9_add (exporter_t *self, const flow_t *flow)
{
    if (self->pending_count == self->pending_max ||
        s_v9_size_with (self, flow) > self->options->mtu)
        s_v9_packet_flush (self);
    self->pending[self->pending_count++] = *flow;
    self->pending_bytes += self->templates[flow->family == AF_INET ? 0 : 1].record_size;
}

//  --------------------------------------------------------------------------
//  NetFlow v5.  Header: version, count, sysUptime, unix_secs, unix_nsecs, flow_sequence,
//  engine_type, engine_id, sampling_interval.  First/Last are sysUptime msecs; boot time =
//  unix_secs * 1000 + unix_nsecs / 1e6 - sysUptime, chosen as for v9 uptime mode.

static void
s_v5_packet_flush (exporter_t *self)
{
    if (self->pending_count == 0)
        return;
    uint64_t min_first = UINT64_MAX, max_last = 0;
    for (size_t i = 0; i < self->pending_count; i++) {
        if (self->pending[i].first_msec < min_first)
            min_first = self->pending[i].first_msec;
        if (self->pending[i].last_msec > max_last)
            max_last = self->pending[i].last_msec;
    }
    uint64_t unix_secs = max_last / 1000 + 1;
    uint64_t boot_msec =
        min_first >= NF_SEND_UPTIME_MARGIN_MSECS ? min_first - NF_SEND_UPTIME_MARGIN_MSECS : 0;
    uint64_t uptime = unix_secs * 1000 - boot_msec;
    if (uptime > UINT32_MAX || unix_secs > UINT32_MAX)
        nf_send_die ("flows of one packet span more than 49 days");

    uint8_t *p = self->buffer;
    p = s_put16 (p, 5);
    p = s_put16 (p, (uint16_t) self->pending_count);
    p = nf_send_put32 (p, (uint32_t) uptime);
    p = nf_send_put32 (p, (uint32_t) unix_secs);
    p = nf_send_put32 (p, 0);
    p = nf_send_put32 (p, self->sequence);
    *p++ = 0;                                   //  engine type
    *p++ = (uint8_t) self->options->source_id;  //  engine id
    p = s_put16 (p, 0);                         //  sampling interval
    for (size_t i = 0; i < self->pending_count; i++) {
        const flow_t *flow = &self->pending[i];
        memcpy (p, flow->src, 4);
        memcpy (p + 4, flow->dst, 4);
        memset (p + 8, 0, 4);     //  next hop
        p = s_put16 (p + 12, 1);  //  input
        p = s_put16 (p, 2);       //  output
        p = nf_send_put32 (p, (uint32_t) flow->packets);
        p = nf_send_put32 (p, (uint32_t) flow->bytes);
        p = nf_send_put32 (p, (uint32_t) (flow->first_msec - boot_msec));
        p = nf_send_put32 (p, (uint32_t) (flow->last_msec - boot_msec));
        p = s_put16 (p, flow->sport);
        p = s_put16 (p, flow->dport);
        *p++ = 0;  //  pad
        *p++ = flow->tcp_flags;
        *p++ = flow->proto;
        *p++ = 0;  //  tos
        p = s_put16 (p, self->options->with_as ? (uint16_t) flow->src_as : 0);
        p = s_put16 (p, self->options->with_as ? (uint16_t) flow->dst_as : 0);
        *p++ = 0;            //  src mask
        *p++ = 0;            //  dst mask
        p = s_put16 (p, 0);  //  pad
    }
    s_send (self, self->buffer, (size_t) (p - self->buffer));
    self->sequence += (uint32_t) self->pending_count;
    self->flows_sent += self->pending_count;
    self->pending_count = 0;
    s_pace (self);
}

static void
s_v5_add (exporter_t *self, const flow_t *flow)
{
    if (flow->family != AF_INET)
        nf_send_die ("NetFlow v5 carries IPv4 only");
    if (flow->packets > UINT32_MAX || flow->bytes > UINT32_MAX)
        nf_send_die ("NetFlow v5 counters are 32-bit");
    if (self->options->with_as && (flow->src_as > 65535 || flow->dst_as > 65535))
        nf_send_die ("NetFlow v5 AS numbers are 16-bit");
    if (flow->out_packets || flow->out_bytes)
        nf_send_die ("NetFlow v5 has no reverse counters");
    if (self->pending_count == NF_SEND_V5_MAX_FLOWS ||
        NF_SEND_V5_HEADER + (self->pending_count + 1) * NF_SEND_V5_RECORD > self->options->mtu)
        s_v5_packet_flush (self);
    self->pending[self->pending_count++] = *flow;
}

//  --------------------------------------------------------------------------
//  Exporter

static void
s_exporter_init (exporter_t *self, const options_t *options)
{
    memset (self, 0, sizeof *self);
    self->options = options;
    self->fd = -1;
    self->pending_max = options->mtu / 8;
    self->pending = calloc (self->pending_max, sizeof (flow_t));
    self->buffer = calloc (1, NF_SEND_MTU_MAX + 64);
    if (!self->pending || !self->buffer)
        nf_send_die ("out of memory");
    s_template_build (&self->templates[0], 256, AF_INET, options);
    s_template_build (&self->templates[1], 257, AF_INET6, options);
    if (options->csv_path) {
        if (strcmp (options->csv_path, "-") == 0)
            self->csv = stdout;
        else
            self->csv = fopen (options->csv_path, "w");
        if (!self->csv)
            nf_send_die ("%s: %s", options->csv_path, strerror (errno));
    }
    if (options->send) {
        struct sockaddr_storage to, from;
        socklen_t to_size, from_size = 0;
        memset (&to, 0, sizeof to);
        memset (&from, 0, sizeof from);
        int family;
        uint8_t addr[16];
        if (s_parse_addr (options->host, &family, addr))
            nf_send_die ("bad collector address '%s'", options->host);
        if (family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *) &to;
            sin->sin_family = AF_INET;
            sin->sin_port = htons ((uint16_t) options->port);
            memcpy (&sin->sin_addr, addr, 4);
            to_size = sizeof *sin;
        }
        else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &to;
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons ((uint16_t) options->port);
            memcpy (&sin6->sin6_addr, addr, 16);
            to_size = sizeof *sin6;
        }
        if (options->bind_addr) {
            int bind_family;
            if (s_parse_addr (options->bind_addr, &bind_family, addr) || bind_family != family)
                nf_send_die ("bad source address '%s'", options->bind_addr);
            if (family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &from;
                sin->sin_family = AF_INET;
                memcpy (&sin->sin_addr, addr, 4);
                from_size = sizeof *sin;
            }
            else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &from;
                sin6->sin6_family = AF_INET6;
                memcpy (&sin6->sin6_addr, addr, 16);
                from_size = sizeof *sin6;
            }
        }
        self->fd = socket (family, SOCK_DGRAM, 0);
        if (self->fd < 0)
            nf_send_die ("socket: %s", strerror (errno));
        int size = 4 * 1024 * 1024;
        setsockopt (self->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        if (from_size && bind (self->fd, (struct sockaddr *) &from, from_size) < 0)
            nf_send_die ("bind %s: %s", options->bind_addr, strerror (errno));
        if (connect (self->fd, (struct sockaddr *) &to, to_size) < 0)
            nf_send_die ("connect %s:%d: %s", options->host, options->port, strerror (errno));
    }
    clock_gettime (CLOCK_MONOTONIC, &self->started);
}

void
nf_send_exporter_add (exporter_t *self, const flow_t *flow)
{
    if (self->csv)
        s_csv_write (self->csv, flow, self->options->with_out);
    if (!self->options->send) {
        self->flows_sent++;
        return;
    }
    if (self->options->version == 5)
        s_v5_add (self, flow);
    else
        s_v9_add (self, flow);
}

static void
s_exporter_finish (exporter_t *self)
{
    if (self->options->send) {
        if (self->options->version == 5)
            s_v5_packet_flush (self);
        else
            s_v9_packet_flush (self);
    }
    if (self->csv && fflush (self->csv))
        nf_send_die ("writing CSV: %s", strerror (errno));
    if (self->csv && self->csv != stdout)
        fclose (self->csv);
    if (self->fd >= 0)
        close (self->fd);
    free (self->pending);
    free (self->buffer);
}

//  --------------------------------------------------------------------------
//  Command line

static void
s_usage (FILE *file)
{
    fprintf (file,
             "usage: nf_send [options] -p PORT < flows.csv\n"
             "       nf_send [options] -p PORT --generate N [--seed S] [generator options]\n"
             "\n"
             "Sends flows to nfcapd as NetFlow v9 (default) or v5.  CSV lines (also --csv):\n"
             "  src,dst,sport,dport,proto,packets,bytes,first_msec,last_msec,src_as,dst_as"
             "[,out_packets,out_bytes]\n"
             "\n"
             "  -p, --port PORT        collector UDP port (required unless --no-send)\n"
             "  -H, --host ADDR        collector address (default 127.0.0.1)\n"
             "  -b, --bind ADDR        send from this source address (e.g. 127.0.0.2)\n"
             "  -5                     NetFlow v5 (IPv4, 32-bit counters, 16-bit AS)\n"
             "  --source-id N          v9 source id / v5 engine id (default 0)\n"
             "  --no-as                send no AS numbers (v9: no SRC_AS/DST_AS; v5: zeros)\n"
             "  --out-counters         v9: also send OUT_PKTS/OUT_BYTES (13-column CSV)\n"
             "  --uptime-times         v9: FIRST/LAST_SWITCHED + sysUptime instead of\n"
             "                         flowStart/EndMilliseconds\n"
             "  --rate N               pace to N flows per second (default 50000, 0 = unpaced)\n"
             "  --mtu BYTES            payload per packet (default %d, max %d)\n"
             "  --csv FILE             also write the flows as CSV to FILE ('-' = stdout)\n"
             "  --no-send              do not send (with --csv: just print the flows)\n"
             "  -v, --verbose          print a summary on stderr\n"
             "generator:\n"
             "  --generate N           make up N flows instead of reading stdin\n"
             "  --seed S               PRNG seed (default 1)\n"
             "  --local-net CIDR       local prefix, repeatable (default 10.10.0.0/16 and\n"
             "                         2001:db8:10::/48)\n"
             "  --local-as N           local AS, repeatable (default 64500)\n"
             "  --hosts N              local hosts (default 3000)\n"
             "  --v6-share F           share of IPv6 hosts and foreign sources (default 0.1)\n"
             "  --match-share F        share of local flows to monitored ports (default 0.2)\n"
             "  --ports LIST           monitored ports (default "
             "21,22,25,80,445,1194,3128,8080,8081,8118,8123,9050)\n"
             "  --start MSEC           earliest flow start (default now - 300 s)\n"
             "  --span MSECS           flow starts spread over this (default 300000)\n",
             NF_SEND_MTU_DEFAULT, NF_SEND_MTU_MAX);
}

static void
s_parse_ports (options_t *options, const char *list)
{
    char copy[512];
    if (strlen (list) >= sizeof copy)
        nf_send_die ("port list too long");
    strcpy (copy, list);
    options->port_count = 0;
    for (char *save = NULL, *item = strtok_r (copy, ",", &save); item;
         item = strtok_r (NULL, ",", &save)) {
        uint64_t low = 0, high = 0;
        char *dash = strchr (item, '-');
        if (dash) {
            *dash = 0;
            low = s_parse_u64 (item, "port");
            high = s_parse_u64 (dash + 1, "port");
        }
        else
            low = high = s_parse_u64 (item, "port");
        if (high > 65535 || low > high)
            nf_send_die ("bad port range");
        for (uint64_t port = low; port <= high; port++) {
            if (options->port_count == 64)
                nf_send_die ("at most 64 monitored ports");
            options->ports[options->port_count++] = (uint16_t) port;
        }
    }
    if (options->port_count == 0)
        nf_send_die ("empty port list");
}

int
main (int argc, char *argv[])
{
    enum {
        OPT_SOURCE_ID = 1000,
        OPT_NO_AS,
        OPT_OUT_COUNTERS,
        OPT_UPTIME,
        OPT_RATE,
        OPT_MTU,
        OPT_CSV,
        OPT_NO_SEND,
        OPT_GENERATE,
        OPT_SEED,
        OPT_LOCAL_NET,
        OPT_LOCAL_AS,
        OPT_HOSTS,
        OPT_V6_SHARE,
        OPT_MATCH_SHARE,
        OPT_PORTS,
        OPT_START,
        OPT_SPAN,
        OPT_TEMPLATE_EVERY,
    };
    static const struct option long_options[] = {
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},
        {"bind", required_argument, NULL, 'b'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"source-id", required_argument, NULL, OPT_SOURCE_ID},
        {"no-as", no_argument, NULL, OPT_NO_AS},
        {"out-counters", no_argument, NULL, OPT_OUT_COUNTERS},
        {"uptime-times", no_argument, NULL, OPT_UPTIME},
        {"rate", required_argument, NULL, OPT_RATE},
        {"mtu", required_argument, NULL, OPT_MTU},
        {"csv", required_argument, NULL, OPT_CSV},
        {"no-send", no_argument, NULL, OPT_NO_SEND},
        {"generate", required_argument, NULL, OPT_GENERATE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"local-net", required_argument, NULL, OPT_LOCAL_NET},
        {"local-as", required_argument, NULL, OPT_LOCAL_AS},
        {"hosts", required_argument, NULL, OPT_HOSTS},
        {"v6-share", required_argument, NULL, OPT_V6_SHARE},
        {"match-share", required_argument, NULL, OPT_MATCH_SHARE},
        {"ports", required_argument, NULL, OPT_PORTS},
        {"start", required_argument, NULL, OPT_START},
        {"span", required_argument, NULL, OPT_SPAN},
        {"template-every", required_argument, NULL, OPT_TEMPLATE_EVERY},
        {NULL, 0, NULL, 0},
    };
    options_t options;
    memset (&options, 0, sizeof options);
    options.version = 9;
    options.with_as = true;
    options.host = "127.0.0.1";
    options.port = -1;
    options.rate = 50000;
    options.mtu = NF_SEND_MTU_DEFAULT;
    options.template_every = NF_SEND_TEMPLATE_EVERY;
    options.send = true;
    options.seed = 1;
    options.hosts = 3000;
    options.v6_share = 0.1;
    options.match_share = 0.2;
    options.span_msecs = 300000;
    options.start_msec = s_now_msec () - options.span_msecs;
    s_parse_ports (&options, "21,22,25,80,445,1194,3128,8080,8081,8118,8123,9050");

    int option;
    while ((option = getopt_long (argc, argv, "p:H:b:5vh", long_options, NULL)) != -1) {
        switch (option) {
        case 'p':
            options.port = (int) s_parse_u64 (optarg, "port");
            break;
        case 'H':
            options.host = optarg;
            break;
        case 'b':
            options.bind_addr = optarg;
            break;
        case '5':
            options.version = 5;
            break;
        case 'v':
            options.verbose = true;
            break;
        case 'h':
            s_usage (stdout);
            return 0;
        case OPT_SOURCE_ID:
            options.source_id = (uint32_t) s_parse_u64 (optarg, "source id");
            break;
        case OPT_NO_AS:
            options.with_as = false;
            break;
        case OPT_OUT_COUNTERS:
            options.with_out = true;
            break;
        case OPT_UPTIME:
            options.time_uptime = true;
            break;
        case OPT_RATE:
            options.rate = s_parse_double (optarg, "rate");
            break;
        case OPT_MTU:
            options.mtu = (size_t) s_parse_u64 (optarg, "mtu");
            break;
        case OPT_CSV:
            options.csv_path = optarg;
            break;
        case OPT_NO_SEND:
            options.send = false;
            break;
        case OPT_GENERATE:
            options.generate = s_parse_u64 (optarg, "flow count");
            break;
        case OPT_SEED:
            options.seed = s_parse_u64 (optarg, "seed");
            break;
        case OPT_LOCAL_NET:
            if (options.net_count == NF_SEND_MAX_NETS)
                nf_send_die ("too many --local-net");
            s_parse_net (optarg, &options.nets[options.net_count++]);
            break;
        case OPT_LOCAL_AS:
            if (options.as_count == NF_SEND_MAX_AS)
                nf_send_die ("too many --local-as");
            options.local_as[options.as_count++] = (uint32_t) s_parse_u64 (optarg, "AS");
            break;
        case OPT_HOSTS:
            options.hosts = s_parse_u64 (optarg, "host count");
            break;
        case OPT_V6_SHARE:
            options.v6_share = s_parse_double (optarg, "share");
            break;
        case OPT_MATCH_SHARE:
            options.match_share = s_parse_double (optarg, "share");
            break;
        case OPT_PORTS:
            s_parse_ports (&options, optarg);
            break;
        case OPT_START:
            options.start_msec = s_parse_u64 (optarg, "start");
            break;
        case OPT_SPAN:
            options.span_msecs = s_parse_u64 (optarg, "span");
            break;
        case OPT_TEMPLATE_EVERY:
            options.template_every = (int) s_parse_u64 (optarg, "template interval");
            break;
        default:
            s_usage (stderr);
            return 2;
        }
    }
    if (optind != argc) {
        s_usage (stderr);
        return 2;
    }
    if (options.send && (options.port <= 0 || options.port > 65535))
        nf_send_die ("need -p PORT (or --no-send)");
    if (options.mtu < 200 || options.mtu > NF_SEND_MTU_MAX)
        nf_send_die ("--mtu must be 200..%d", NF_SEND_MTU_MAX);
    if (options.template_every < 1)
        options.template_every = 1;
    if (options.version == 5 && options.with_out)
        nf_send_die ("--out-counters needs NetFlow v9");
    if (options.generate) {
        if (options.net_count == 0) {
            s_parse_net ("10.10.0.0/16", &options.nets[options.net_count++]);
            if (options.version == 9)
                s_parse_net ("2001:db8:10::/48", &options.nets[options.net_count++]);
        }
        if (options.as_count == 0)
            options.local_as[options.as_count++] = 64500;
        if (options.hosts == 0)
            nf_send_die ("--hosts must be positive");
        if (options.version == 5) {
            options.v6_share = 0;
            int kept = 0;
            for (int i = 0; i < options.net_count; i++)
                if (options.nets[i].family == AF_INET)
                    options.nets[kept++] = options.nets[i];
            options.net_count = kept;
            for (int i = 0; i < options.as_count; i++)
                if (options.local_as[i] > 65535)
                    nf_send_die ("NetFlow v5 AS numbers are 16-bit");
        }
    }

    exporter_t exporter;
    s_exporter_init (&exporter, &options);
    if (options.generate)
        nf_send_generate (&exporter, &options);
    else {
        char *line = NULL;
        size_t room = 0;
        unsigned long line_number = 0;
        flow_t flow;
        while (getline (&line, &room, stdin) != -1) {
            line_number++;
            if (s_csv_parse (line, line_number, &flow)) {
                if (flow.out_packets || flow.out_bytes) {
                    if (!options.with_out && options.send)
                        nf_send_die ("line %lu: reverse counters need --out-counters", line_number);
                }
                nf_send_exporter_add (&exporter, &flow);
            }
        }
        free (line);
    }
    s_exporter_finish (&exporter);
    uint64_t flows = exporter.flows_sent, packets = exporter.packets_sent;
    if (options.verbose)
        fprintf (stderr, "nf_send: %" PRIu64 " flows in %" PRIu64 " packets (NetFlow v%d, %s %u)\n",
                 flows, packets, options.version, options.version == 5 ? "engine id" : "source id",
                 options.source_id);
    return 0;
}
