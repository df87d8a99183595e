/*  ingest_decode.c - V3 flow records of one block to flows (see ingest_decode.h).

    V3 record  = 12-byte header (type 11, size, numElements, engine type and id,
                 exporterID, flags, nfversion) + numElements elements
                 { u16 type; u16 length (incl. this header) } in any order

    The element walk is the hot loop of the reader (six or seven elements per flow, six
    million flows in a 5-minute file), so it has a fast path without a branch per element
    type: the payloads of the element ids we use (all below 8) land in a table indexed by
    id, other ids in a dump entry, and "payload shorter than its id needs" is or-ed into
    one flag.  Any problem sends the record through the plain walk again, which finds the
    first faulty element and words the message, so a corrupt file is reported exactly as
    before.
*/
#include "ingestor/ingest_decode.h"
#include "ingestor/ingest_bytes.h"
#include "ingestor/ingest_image.h"  //  Selftest

#include <assert.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECODE_IDS 8          //  Element ids below this have a table entry (0 is the dump)
#define DECODE_ROOM_MIN 1024  //  First allocation of a flows array
//  Smallest record that can be a flow: V3 header, generic and IPv4 elements
#define DECODE_FLOW_RECORD_MIN                                                                     \
    (INGEST_NF_V3_HEADER_SIZE + 2 * INGEST_NF_ELEMENT_HEADER_SIZE + INGEST_NF_EX_GENERIC_SIZE +    \
     INGEST_NF_EX_IPV4_SIZE)

//  Payload bytes each element id needs (0: any length will do).
static const uint8_t s_needed[DECODE_IDS] = {0,
                                             INGEST_NF_EX_GENERIC_SIZE,
                                             INGEST_NF_EX_IPV4_SIZE,
                                             INGEST_NF_EX_IPV6_SIZE,
                                             0,
                                             INGEST_NF_EX_CNT_SIZE,
                                             0,
                                             INGEST_NF_EX_AS_SIZE};

//  proto_addr_from_ipv4, inline for the hot loop: ::ffff:a.b.c.d
static inline void
s_addr_ipv4 (proto_addr_t *addr, uint32_t ipv4)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint32_t big = htobe32 (ipv4);
    memcpy (addr->bytes, prefix, sizeof prefix);
    memcpy (addr->bytes + 12, &big, 4);
}

//  An IPv6 address from the element: two u64 halves, upper half first, each in host order.
static inline void
s_addr_ipv6 (proto_addr_t *addr, const uint8_t *halves)
{
    uint64_t upper = htobe64 (ingest_u64 (halves)), lower = htobe64 (ingest_u64 (halves + 8));
    memcpy (addr->bytes, &upper, 8);
    memcpy (addr->bytes + 8, &lower, 8);
}

//  --------------------------------------------------------------------------
//  The plain element walk, for a record the fast walk found fault with: fails the job on
//  the first element that does not fit, or that is shorter than its id needs.  -1 if it
//  failed, 0 if the record is fine after all (it is not expected to be).

static int
s_walk_slowly (ingest_block_t *job, const uint8_t *record, uint16_t record_size)
{
    uint16_t element_count = ingest_u16 (record + 4);
    size_t at = INGEST_NF_V3_HEADER_SIZE;
    for (uint16_t element = 0; element < element_count; element++) {
        if (record_size - at < INGEST_NF_ELEMENT_HEADER_SIZE)
            return ingest_block_fail (job, "block %u: V3 record declares %u elements, only %u fit",
                                      job->index, element_count, element);
        uint16_t type = ingest_u16 (record + at);
        uint16_t length = ingest_u16 (record + at + 2);
        if (length < INGEST_NF_ELEMENT_HEADER_SIZE || length > record_size - at)
            return ingest_block_fail (job, "block %u: element %u (type %u) has invalid length %u",
                                      job->index, element, type, length);
        uint16_t payload_size = length - INGEST_NF_ELEMENT_HEADER_SIZE;
        uint16_t needed = type < DECODE_IDS ? s_needed[type] : 0;
        if (payload_size < needed)
            return ingest_block_fail (job, "block %u: element type %u is %u bytes, needs %u",
                                      job->index, type, payload_size, needed);
        at += length;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Decode the V3 record of record_size bytes at record.  1 if it is a flow the filters
//  keep (filled in *flow, its mark set), 2 if it is a flow the port filter or out's flow
//  filter drops, 0 if it lacks the flow elements (skipped), -1 if corrupt.  The flow
//  filter sees the fields it reads (ports, protocol, AS numbers, addresses) before the
//  rest is decoded: half of a file's flows go no further.

static inline int
s_decode_v3 (ingest_block_t *job, const ingest_decoded_t *out, const uint8_t *record,
             uint16_t record_size, ingest_flow_t *flow)
{
    if (record_size < INGEST_NF_V3_HEADER_SIZE)
        return ingest_block_fail (job, "block %u: V3 record of %u bytes is shorter than its header",
                                  job->index, record_size);
    uint16_t element_count = ingest_u16 (record + 4);
    const uint8_t *found[DECODE_IDS] = {NULL};
    bool faulty = false;
    size_t at = INGEST_NF_V3_HEADER_SIZE;
    for (uint16_t element = 0; element < element_count; element++) {
        if (record_size - at < INGEST_NF_ELEMENT_HEADER_SIZE) {
            faulty = true;
            break;
        }
        uint16_t type = ingest_u16 (record + at);
        uint16_t length = ingest_u16 (record + at + 2);
        if (length < INGEST_NF_ELEMENT_HEADER_SIZE || length > record_size - at) {
            faulty = true;
            break;
        }
        unsigned id = type < DECODE_IDS ? type : 0;
        found[id] = record + at + INGEST_NF_ELEMENT_HEADER_SIZE;
        faulty |= length - INGEST_NF_ELEMENT_HEADER_SIZE < s_needed[id];
        at += length;
    }
    if (faulty)
        return s_walk_slowly (job, record, record_size) ? -1 : 0;
    const uint8_t *generic = found[INGEST_NF_EX_GENERIC];
    const uint8_t *ipv4 = found[INGEST_NF_EX_IPV4], *ipv6 = found[INGEST_NF_EX_IPV6];
    if (!generic || (!ipv4 && !ipv6))
        return 0;
    uint16_t dst_port = ingest_u16 (generic + 42);
    if (out->port_filter && !((out->port_filter[dst_port / 64] >> (dst_port % 64)) & 1))
        return 2;
    flow->dst_port = dst_port;
    flow->src_port = ingest_u16 (generic + 40);
    flow->protocol = generic[44];
    const uint8_t *as = found[INGEST_NF_EX_AS];
    if (as) {
        flow->src_as = ingest_u32 (as);
        flow->dst_as = ingest_u32 (as + 4);
    }
    else
        flow->src_as = flow->dst_as = 0;
    if (ipv4) {
        s_addr_ipv4 (&flow->src, ingest_u32 (ipv4));
        s_addr_ipv4 (&flow->dst, ingest_u32 (ipv4 + 4));
    }
    else {
        s_addr_ipv6 (&flow->src, ipv6);
        s_addr_ipv6 (&flow->dst, ipv6 + 16);
    }
    flow->exporter = ingest_u16 (record + 8);
    flow->flags = record[10];
    unsigned mark = out->filter ? out->filter (out->filter_arg, flow) : 0;
    if (out->filter && !mark)
        return 2;
    flow->mark = (uint8_t) mark;
    flow->msec_first = ingest_u64 (generic);
    flow->msec_last = ingest_u64 (generic + 8);
    flow->packets = ingest_u64 (generic + 24);
    flow->bytes = ingest_u64 (generic + 32);
    const uint8_t *counters = found[INGEST_NF_EX_CNT];
    if (counters) {
        flow->packets += ingest_u64 (counters + 8);
        flow->bytes += ingest_u64 (counters + 16);
    }
    return 1;
}

//  Make room for most flows in out's two arrays (kept apart and for the sink).  0, or -1
//  with job->error set.
static int
s_reserve (ingest_block_t *job, ingest_decoded_t *out, size_t most)
{
    if (most <= out->room && out->flows && out->sink_flows)
        return 0;
    size_t room = out->room ? out->room : DECODE_ROOM_MIN;
    while (room < most)
        room *= 2;
    ingest_flow_t *flows = (ingest_flow_t *) realloc (out->flows, room * sizeof (ingest_flow_t));
    if (flows)
        out->flows = flows;
    ingest_flow_t *sink_flows =
        flows ? (ingest_flow_t *) realloc (out->sink_flows, room * sizeof (ingest_flow_t)) : NULL;
    if (sink_flows)
        out->sink_flows = sink_flows;
    if (!flows || !sink_flows)
        return ingest_block_fail (job, "out of memory for the flows of block %u", job->index);
    out->room = room;
    return 0;
}

//  --------------------------------------------------------------------------
//  The records of job into out.  0, or -1 with job->error set.

static int
s_decode_records (ingest_block_t *job, ingest_decoded_t *out)
{
    out->count = out->sink_count = 0;
    out->flow_records = out->skipped = 0;
    out->exporter_count = 0;
    //  Hook: type-2 blocks of layout 1 files hold nfdump 1.6 records (ingest_v1.c)
    if (job->type != INGEST_NF_BLOCK_TYPE_3 && !(out->v1 && job->type == INGEST_V1_BLOCK_TYPE)) {
        out->skipped = 1;  //  Array (type 4) blocks, or type 2 outside a 1.6 file
        return 0;
    }
    //  Room for as many flows as the block can hold, so that the walk never grows it (a
    //  1.6 block is sized the same way; its walk grows the array if its records are
    //  shorter than that, below)
    size_t most = job->data_size / DECODE_FLOW_RECORD_MIN;
    if (job->records < most)
        most = job->records;
    if (s_reserve (job, out, most))
        return -1;
    const uint8_t *data = job->data;
    size_t cursor = 0;
    for (uint32_t record = 0; record < job->records; record++) {
        if (job->data_size - cursor < INGEST_NF_RECORD_HEADER_SIZE)
            return ingest_block_fail (job, "block %u: %u more records declared than fit",
                                      job->index, job->records - record);
        uint16_t type = ingest_u16 (data + cursor);
        uint16_t size = ingest_u16 (data + cursor + 2);
        if (size < INGEST_NF_RECORD_HEADER_SIZE || size > job->data_size - cursor)
            return ingest_block_fail (job, "block %u: record at offset %zu has invalid size %u",
                                      job->index, cursor, size);
        bool v1_record = out->v1 && ingest_v1_handles (type);  //  Hook: 1.6 map, flow
        if (v1_record && (out->count == out->room || out->sink_count == out->room) &&
            s_reserve (job, out, 2 * out->room))
            return -1;
        if (type == INGEST_NF_RECORD_V3 || v1_record) {
            ingest_flow_t flow;
            //  Hook: ingest_v1_record returns 3 for a map record
            int rc = v1_record
                         ? ingest_v1_record (out->v1, data + cursor, size, out->port_filter, &flow)
                         : s_decode_v3 (job, out, data + cursor, size, &flow);
            if (rc == -1)
                return v1_record ? ingest_block_fail (job, "block %u: record at offset %zu: %s",
                                                      job->index, cursor, ingest_v1_error (out->v1))
                                 : -1;
            if (rc == 1 && v1_record) {  //  Hook: the flow filter of a 1.6 record
                unsigned mark = out->filter ? out->filter (out->filter_arg, &flow) : 0;
                flow.mark = (uint8_t) mark;
                rc = out->filter && !mark ? 2 : 1;
            }
            out->flow_records += rc == 1 || rc == 2;
            out->skipped += rc == 0;
            //  The decoder sorts the sink's flows apart, so that neither the sink nor the
            //  reader's caller walks the other's
            if (rc == 1 && out->sink && (flow.mark & out->sink_mark))
                out->sink_flows[out->sink_count++] = flow;
            else if (rc == 1)
                out->flows[out->count++] = flow;
        }
        else if (type == INGEST_NF_RECORD_EXPORTER_INFO && size >= INGEST_NF_EXPORTER_INFO_SIZE) {
            uint16_t sysid = ingest_u16 (data + cursor + 26);
            bool known = false;
            for (size_t index = 0; index < out->exporter_count; index++)
                known = known || out->exporters[index] == sysid;
            if (!known && out->exporter_count < INGEST_DECODE_EXPORTERS)
                out->exporters[out->exporter_count++] = sysid;
        }
        else
            out->skipped++;
        cursor += size;
    }
    return 0;
}

//  --------------------------------------------------------------------------
int
ingest_decode_block (ingest_block_t *job)
{
    assert (job);
    ingest_decoded_t *out = (ingest_decoded_t *) job->arg;
    assert (out);
    int rc = s_decode_records (job, out);
    if (out->turn && ingest_turn_try (out->turn, job->index))
        ingest_decode_sink (out, job->index, rc == 0);
    return rc;
}

//  --------------------------------------------------------------------------
void
ingest_decode_sink (ingest_decoded_t *out, uint32_t turn, bool decoded)
{
    assert (out);
    assert (out->turn);
    assert (!out->sunk);
    if (decoded && out->sink)
        out->sink (out->sink_arg, out->sink_flows, out->sink_count);
    ingest_turn_pass (out->turn, turn);
    out->sunk = true;
}

//  --------------------------------------------------------------------------
void
ingest_decode_collected (ingest_decoded_t *out, uint32_t turn, bool decoded)
{
    assert (out);
    if (!out->turn || out->sunk)
        return;
    bool current = ingest_turn_try (out->turn, turn);
    assert (current);  //  Every block before this one was collected, so had its turn
    ingest_decode_sink (out, turn, decoded);
}

//  --------------------------------------------------------------------------
void
ingest_decode_free (ingest_decoded_t *decoded)
{
    assert (decoded);
    free (decoded->flows);
    free (decoded->sink_flows);
    decoded->flows = decoded->sink_flows = NULL;
    decoded->count = decoded->sink_count = decoded->room = 0;
}

//  --------------------------------------------------------------------------
//  Selftest: records built byte by byte; whole files are tested by ingest_reader and
//  tests/system/reader_test.sh against nfdump.

//  A V3 record with a generic element (port dst_port, 10 packets, 1000 bytes), an IPv4
//  element 10.0.0.1 -> 192.0.2.1, an AS element of as_payload bytes and an unknown
//  element 40.
static void
s_put_record (ingest_image_t *payload, uint16_t dst_port, uint16_t as_payload)
{
    ingest_image_put16 (payload, INGEST_NF_RECORD_V3);
    ingest_image_put16 (payload, (uint16_t) (12 + 52 + 12 + 4 + as_payload + 8));
    ingest_image_put16 (payload, 4);
    uint8_t header[6] = {0, 0, 5, 0, 2, 9};
    ingest_image_put (payload, header, 6);
    ingest_image_put16 (payload, INGEST_NF_EX_GENERIC);
    ingest_image_put16 (payload, 52);
    uint64_t generic[6] = {1000, 1250, 0, 10, 1000, 0};
    ingest_image_put (payload, generic, 40);
    ingest_image_put16 (payload, 1234);
    ingest_image_put16 (payload, dst_port);
    ingest_image_put32 (payload, 6);  //  protocol TCP, flags, status, tos
    ingest_image_put16 (payload, INGEST_NF_EX_IPV4);
    ingest_image_put16 (payload, 12);
    ingest_image_put32 (payload, 0x0a000001);
    ingest_image_put32 (payload, 0xc0000201);
    ingest_image_put16 (payload, INGEST_NF_EX_AS);
    ingest_image_put16 (payload, (uint16_t) (4 + as_payload));
    for (uint16_t at = 0; at < as_payload; at += 4)
        ingest_image_put32 (payload, 64500);
    ingest_image_put16 (payload, 40);
    ingest_image_put16 (payload, 8);
    ingest_image_put32 (payload, 0);
}

static unsigned
s_test_filter (void *arg, const ingest_flow_t *flow)
{
    return flow->dst_port == *(uint16_t *) arg ? 7 : 0;
}

//  The sink of the test: the ports of the flows marked 2, in the order received
typedef struct {
    uint16_t ports[8];  //  Ports received
    size_t count;       //  Entries used
    size_t calls;       //  Calls
} s_test_sink_t;

static unsigned
s_test_mark (void *arg, const ingest_flow_t *flow)
{
    (void) arg;
    return flow->dst_port == 25 ? 1 : 2;
}

static void
s_test_sink (void *arg, const ingest_flow_t *flows, size_t count)
{
    s_test_sink_t *sink = (s_test_sink_t *) arg;
    sink->calls++;
    for (size_t index = 0; index < count; index++)
        if (flows[index].mark & 2 && sink->count < 8)
            sink->ports[sink->count++] = flows[index].dst_port;
}

void
ingest_decode_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_decode: ");
    //  A block too small for any flow still gets a flows array (the walk's cursor)
    ingest_image_t payload = {{0}, 0};
    ingest_image_put16 (&payload, INGEST_NF_RECORD_V3);
    ingest_image_put16 (&payload, 16);
    ingest_image_put16 (&payload, 0);
    ingest_image_put16 (&payload, 0);
    ingest_image_put32 (&payload, 0);
    ingest_image_put32 (&payload, 0);
    ingest_decoded_t tiny = {0};
    ingest_block_t tiny_job = {.data = payload.bytes,
                               .data_size = payload.size,
                               .records = 1,
                               .type = INGEST_NF_BLOCK_TYPE_3,
                               .arg = &tiny};
    assert (ingest_decode_block (&tiny_job) == 0);
    assert (tiny.flows && tiny.count == 0 && tiny.skipped == 1);
    ingest_decode_free (&tiny);

    payload.size = 0;
    s_put_record (&payload, 25, 8);
    s_put_record (&payload, 22, 8);
    ingest_image_put16 (&payload, 200);  //  an unknown record
    ingest_image_put16 (&payload, 4);
    ingest_decoded_t decoded = {0};
    ingest_block_t job = {.data = payload.bytes,
                          .data_size = payload.size,
                          .records = 3,
                          .type = INGEST_NF_BLOCK_TYPE_3,
                          .arg = &decoded};
    assert (ingest_decode_block (&job) == 0);
    assert (decoded.count == 2 && decoded.flow_records == 2 && decoded.skipped == 1);
    const ingest_flow_t *flow = &decoded.flows[0];
    proto_addr_t expected;
    proto_addr_from_ipv4 (&expected, 0x0a000001);
    assert (memcmp (&flow->src, &expected, sizeof expected) == 0);
    proto_addr_from_ipv4 (&expected, 0xc0000201);
    assert (memcmp (&flow->dst, &expected, sizeof expected) == 0);
    assert (flow->dst_port == 25 && flow->src_port == 1234 && flow->protocol == 6);
    assert (flow->packets == 10 && flow->bytes == 1000 && flow->msec_last == 1250);
    assert (flow->src_as == 64500 && flow->dst_as == 64500 && flow->exporter == 5);
    assert (flow->flags == 2);

    //  Port filter, then the flow filter: both count the records they drop
    uint64_t ports[1024] = {0};
    ports[0] = 1ULL << 22 | 1ULL << 25;
    uint16_t keep = 22;
    decoded.port_filter = ports;
    decoded.filter = s_test_filter;
    decoded.filter_arg = &keep;
    assert (ingest_decode_block (&job) == 0);
    assert (decoded.count == 1 && decoded.flows[0].dst_port == 22 && decoded.flow_records == 2);
    assert (decoded.flows[0].mark == 7);  //  What the filter returned
    ports[0] = 0;
    assert (ingest_decode_block (&job) == 0);
    assert (decoded.count == 0 && decoded.flow_records == 2);

    //  An AS element too short (4 bytes) before an element of invalid length: the
    //  message names the first fault, element 2
    payload.size = 0;
    s_put_record (&payload, 25, 4);
    job.data_size = payload.size;
    job.records = 1;
    assert (ingest_decode_block (&job) == -1);
    assert (strstr (job.error, "element type 7 is 4 bytes, needs 8"));
    payload.bytes[12 + 52 + 12 + 8 + 2] = 0xff;  //  the unknown element's length
    assert (ingest_decode_block (&job) == -1);
    assert (strstr (job.error, "element type 7 is 4 bytes, needs 8"));
    payload.bytes[12 + 52 + 12 + 2] = 0xff;  //  now the AS element's length
    assert (ingest_decode_block (&job) == -1);
    assert (strstr (job.error, "element 2 (type 7) has invalid length"));
    payload.size = 0;
    s_put_record (&payload, 25, 8);
    payload.bytes[4] = 9;  //  more elements than fit
    job.data_size = payload.size;
    assert (ingest_decode_block (&job) == -1);
    assert (strstr (job.error, "declares 9 elements, only 4 fit"));

    //  A sink takes the flows marked 2 in its turn and they are dropped; a block that
    //  fails has its turn without a call; so does a job without sink (a skipped block);
    //  a block whose turn is not current is left whole until the reader collects it
    ingest_turn_t *turn = ingest_turn_new ();
    assert (turn);
    s_test_sink_t sink = {{0}, 0, 0};
    decoded.port_filter = NULL;
    decoded.filter = s_test_mark;
    decoded.sink = s_test_sink;
    decoded.sink_arg = &sink;
    decoded.sink_mark = 2;
    decoded.turn = turn;
    decoded.sunk = false;
    payload.size = 0;
    s_put_record (&payload, 22, 8);
    s_put_record (&payload, 25, 8);
    s_put_record (&payload, 80, 8);
    job.data_size = payload.size;
    job.records = 3;
    job.index = 0;
    assert (ingest_decode_block (&job) == 0);
    assert (decoded.sunk && sink.calls == 1);
    assert (sink.count == 2 && sink.ports[0] == 22 && sink.ports[1] == 80);
    assert (decoded.count == 1 && decoded.flows[0].dst_port == 25 && decoded.flow_records == 3);
    ingest_decode_collected (&decoded, 0, true);  //  Had its turn: nothing more
    assert (sink.calls == 1 && ingest_turn_try (turn, 1));
    decoded.sunk = false;
    job.records = 4;  //  One more than fit: fails
    job.index = 1;
    assert (ingest_decode_block (&job) == -1);
    assert (decoded.sunk && sink.calls == 1 && ingest_turn_try (turn, 2));
    decoded.sunk = false;
    decoded.sink = NULL;  //  A skipped block: its turn, no call, nothing dropped
    job.records = 3;
    job.index = 2;
    assert (ingest_decode_block (&job) == 0);
    assert (decoded.sunk && sink.calls == 1 && decoded.count == 3);
    decoded.sunk = false;
    decoded.sink = s_test_sink;
    job.index = 4;  //  Turn 3 is current: block 4's sink flows wait apart
    assert (ingest_decode_block (&job) == 0);
    assert (!decoded.sunk && sink.calls == 1 && decoded.count == 1 && decoded.sink_count == 2);
    assert (ingest_turn_try (turn, 3));
    ingest_turn_pass (turn, 3);  //  As block 3's loader would
    ingest_decode_collected (&decoded, 4, true);
    assert (decoded.sunk && sink.calls == 2 && sink.count == 4 && sink.ports[3] == 80);
    assert (decoded.count == 1 && ingest_turn_try (turn, 5));
    ingest_turn_destroy (&turn);
    ingest_decode_free (&decoded);
    ingest_decode_free (&decoded);
    printf ("OK\n");
}
