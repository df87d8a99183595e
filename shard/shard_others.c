/*  shard_others.c - the `others` sub-database: per (day, host) traffic to the ports
    that are not monitored (see shard_others.h).
*/
#include "shard/shard_others.h"
#include "shard/shard_codec.h"
#include "shard/shard_keys.h"
#include "shard/shard_store_testlib.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
static uint64_t
s_add (uint64_t a, uint64_t b)
{
    uint64_t sum = a + b;
    return sum < a ? UINT64_MAX : sum;
}

//  --------------------------------------------------------------------------
//  Encode other into out (SHARD_OTHERS_VALUE_MAX bytes); returns the size.
static size_t
s_encode (const shard_other_day_t *other, uint8_t *out)
{
    out[0] = (uint8_t) (SHARD_VALUE_VERSION << 4 | (other->truncated ? SHARD_OTHERS_TRUNCATED : 0));
    shard_put64 (out + 1, other->bytes);
    shard_put64 (out + 9, other->packets);
    shard_put64 (out + 17, other->flows);
    out[25] = (uint8_t) other->port_count;
    uint8_t *cursor = out + 26;
    for (size_t index = 0; index < other->port_count; index++, cursor += 26) {
        shard_put16 (cursor, other->ports[index].port);
        shard_put64 (cursor + 2, other->ports[index].bytes);
        shard_put64 (cursor + 10, other->ports[index].packets);
        shard_put64 (cursor + 18, other->ports[index].flows);
    }
    return (size_t) (cursor - out);
}

//  Decode size bytes at in into *other (day left alone).  0, or -1 if malformed.
static int
s_decode (const uint8_t *in, size_t size, shard_other_day_t *other)
{
    if (size < 26 || in[0] >> 4 != SHARD_VALUE_VERSION || in[25] > SHARD_OTHERS_PORTS ||
        size != 26 + (size_t) in[25] * 26)
        return -1;
    other->truncated = in[0] & SHARD_OTHERS_TRUNCATED;
    other->bytes = shard_get64 (in + 1);
    other->packets = shard_get64 (in + 9);
    other->flows = shard_get64 (in + 17);
    other->port_count = in[25];
    const uint8_t *cursor = in + 26;
    for (size_t index = 0; index < other->port_count; index++, cursor += 26) {
        memset (&other->ports[index], 0, sizeof other->ports[index]);
        other->ports[index].port = shard_get16 (cursor);
        other->ports[index].bytes = shard_get64 (cursor + 2);
        other->ports[index].packets = shard_get64 (cursor + 10);
        other->ports[index].flows = shard_get64 (cursor + 18);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Most bytes first, then the lower port
static int
s_compare_ports (const void *a, const void *b)
{
    const proto_other_port_t *left = (const proto_other_port_t *) a;
    const proto_other_port_t *right = (const proto_other_port_t *) b;
    if (left->bytes != right->bytes)
        return left->bytes > right->bytes ? -1 : 1;
    return (int) left->port - (int) right->port;
}

//  Add port's counters to other's list; when the list is full and the port is not in
//  it, keep the SHARD_OTHERS_PORTS with the most bytes and mark other truncated.
static void
s_add_port (shard_other_day_t *other, const proto_other_port_t *port)
{
    for (size_t index = 0; index < other->port_count; index++) {
        proto_other_port_t *kept = &other->ports[index];
        if (kept->port == port->port) {
            kept->bytes = s_add (kept->bytes, port->bytes);
            kept->packets = s_add (kept->packets, port->packets);
            kept->flows = s_add (kept->flows, port->flows);
            qsort (other->ports, other->port_count, sizeof other->ports[0], s_compare_ports);
            return;
        }
    }
    proto_other_port_t all[SHARD_OTHERS_PORTS + 1];
    memcpy (all, other->ports, other->port_count * sizeof all[0]);
    all[other->port_count] = (proto_other_port_t){
        .port = port->port, .bytes = port->bytes, .packets = port->packets, .flows = port->flows};
    size_t count = other->port_count + 1;
    qsort (all, count, sizeof all[0], s_compare_ports);
    if (count > SHARD_OTHERS_PORTS) {
        count = SHARD_OTHERS_PORTS;
        other->truncated = true;
    }
    memcpy (other->ports, all, count * sizeof all[0]);
    other->port_count = count;
}

//  --------------------------------------------------------------------------
//  Read (day, host) into *other (empty if absent).  0, or -1 failed.
static int
s_load (shard_txn_t *txn, const uint8_t *key, size_t key_size, shard_other_day_t *other)
{
    memset (other, 0, sizeof *other);
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_OTHERS, key, key_size, &value);
    if (rc == 1)
        return 0;
    if (rc == 0 && s_decode (value.data, value.size, other)) {
        shard_txn_fail (txn, SHARD_DB_OTHERS, "others value does not decode");
        return -1;
    }
    return rc;
}

static int
s_store (shard_txn_t *txn, const uint8_t *key, size_t key_size, const shard_other_day_t *other)
{
    uint8_t value[SHARD_OTHERS_VALUE_MAX];
    size_t size = s_encode (other, value);
    return shard_kv_put (txn, SHARD_DB_OTHERS, key, key_size, value, size);
}

//  --------------------------------------------------------------------------
int
shard_others_apply (shard_txn_t *txn, uint32_t day, proto_msg_t *part)
{
    assert (txn);
    assert (part);
    size_t host_count = proto_msg_others_count (part);
    size_t port_count = proto_msg_other_ports_count (part);
    bool *used = (bool *) calloc (port_count ? port_count : 1, sizeof (bool));
    assert (used);
    uint8_t key[SHARD_KEY_OTHERS_MAX];
    shard_other_day_t other;
    size_t next = 0;  //  The ingestor lists each host's ports right after the previous host's
    int rc = 0;
    for (size_t index = 0; index < host_count && rc == 0; index++) {
        proto_other_t entry;
        proto_msg_others_at (part, index, &entry);
        size_t key_size = shard_key_others (key, (uint16_t) day, &entry.addr);
        rc = s_load (txn, key, key_size, &other);
        if (rc)
            break;
        other.bytes = s_add (other.bytes, entry.bytes);
        other.packets = s_add (other.packets, entry.packets);
        other.flows = s_add (other.flows, entry.flows);
        other.truncated |= entry.truncated;
        for (; next < port_count; next++) {
            proto_other_port_t port;
            proto_msg_other_ports_at (part, next, &port);
            if (proto_addr_compare (&port.addr, &entry.addr) != 0)
                break;
            s_add_port (&other, &port);
            used[next] = true;
        }
        rc = s_store (txn, key, key_size, &other);
    }
    //  Ports listed elsewhere than after their host: one read and write each
    for (size_t index = 0; index < port_count && rc == 0; index++) {
        if (used[index])
            continue;
        proto_other_port_t port;
        proto_msg_other_ports_at (part, index, &port);
        size_t key_size = shard_key_others (key, (uint16_t) day, &port.addr);
        rc = s_load (txn, key, key_size, &other);
        if (rc == 0) {
            s_add_port (&other, &port);
            rc = s_store (txn, key, key_size, &other);
        }
    }
    free (used);
    return rc ? -1 : 0;
}

//  --------------------------------------------------------------------------
int
shard_others_get (shard_txn_t *txn, const proto_addr_t *host, uint32_t day,
                  shard_other_day_t *other)
{
    assert (txn);
    assert (host);
    assert (other);
    if (day > SHARD_DAY_MAX)
        return 1;
    uint8_t key[SHARD_KEY_OTHERS_MAX];
    size_t key_size = shard_key_others (key, (uint16_t) day, host);
    shard_bytes_t value;
    int rc = shard_kv_get (txn, SHARD_DB_OTHERS, key, key_size, &value);
    if (rc)
        return rc;
    memset (other, 0, sizeof *other);
    if (s_decode (value.data, value.size, other)) {
        shard_txn_fail (txn, SHARD_DB_OTHERS, "others value does not decode");
        return -1;
    }
    other->day = day;
    return 0;
}

//  --------------------------------------------------------------------------
//  Selftest through the store: a part's others apply with it, once

static void
s_test_on_day (void *arg, const shard_other_day_t *other)
{
    shard_other_day_t *days = (shard_other_day_t *) arg;
    size_t at = 0;
    while (days[at].flows)
        at++;
    days[at] = *other;
}

//  A PART of block with host's others (bytes, 1 flow) to port and, if port2, to port2
static proto_msg_t *
s_test_part (const char *host, int64_t block, uint64_t bytes, uint16_t port, uint16_t port2)
{
    proto_msg_t *part = proto_msg_new (PROTO_MSG_PART);
    proto_other_t other = {.day = proto_day_of (block), .bytes = bytes, .packets = 1, .flows = 1};
    assert (proto_addr_parse (&other.addr, host) == 0);
    proto_msg_others_append (part, &other);
    proto_other_port_t entry = {other.addr, other.day, port, bytes, 1, 1};
    proto_msg_other_ports_append (part, &entry);
    if (port2) {
        entry.port = port2;
        entry.bytes = 0;
        proto_msg_other_ports_append (part, &entry);
    }
    return part;
}

static void
s_test_store (const char *dir)
{
    shard_store_t *store = shard_store_new (dir, 64 << 20);
    assert (store);
    int64_t now = 850 * (int64_t) DAY;
    shard_store_set_retention_days (store, 100);
    shard_part_result_t result;
    proto_msg_t *part = s_test_part ("10.6.0.1", 840 * (int64_t) DAY, 1000, 443, 53);
    assert (shard_store_apply_part_others (store, "r1", "f1", 840 * (int64_t) DAY, NULL, NULL, 0,
                                           part, now, &result) == 0);
    //  Resent: a duplicate adds nothing
    assert (shard_store_apply_part_others (store, "r1", "f1", 840 * (int64_t) DAY, NULL, NULL, 0,
                                           part, now, &result) == 0);
    assert (result.duplicate);
    proto_msg_destroy (&part);
    //  Another block of the same day adds; one of the next day is its own day
    part = s_test_part ("10.6.0.1", 840 * (int64_t) DAY + 300, 500, 443, 0);
    assert (shard_store_apply_part_others (store, "r1", "f2", 840 * (int64_t) DAY + 300, NULL, NULL,
                                           0, part, now, &result) == 0);
    proto_msg_destroy (&part);
    part = s_test_part ("10.6.0.1", 841 * (int64_t) DAY, 7, 22222, 0);
    assert (shard_store_apply_part_others (store, "r1", "f3", 841 * (int64_t) DAY, NULL, NULL, 0,
                                           part, now, &result) == 0);
    proto_msg_destroy (&part);
    //  Older than retention: not stored
    part = s_test_part ("10.6.0.1", 700 * (int64_t) DAY, 9, 80, 0);
    assert (shard_store_apply_part_others (store, "r1", "f4", 700 * (int64_t) DAY, NULL, NULL, 0,
                                           part, now, &result) == 0);
    assert (result.expired);
    proto_msg_destroy (&part);
    proto_addr_t host;
    assert (proto_addr_parse (&host, "10.6.0.1") == 0);
    shard_other_day_t days[4];
    memset (days, 0, sizeof days);
    assert (shard_store_others (store, &host, 600, 900, s_test_on_day, days) == 0);
    assert (days[0].day == 840 && days[0].bytes == 1500 && days[0].flows == 2);
    assert (days[0].port_count == 2 && days[0].ports[0].port == 443);
    assert (days[0].ports[0].bytes == 1500 && days[0].ports[1].port == 53);
    assert (days[1].day == 841 && days[1].bytes == 7 && days[1].ports[0].port == 22222);
    assert (days[2].flows == 0);
    assert (shard_store_others (store, &host, 841, 840, s_test_on_day, days) ==
            SHARD_STORE_INVALID);
    //  Retention takes the day with its others
    bool more = true;
    while (more)
        assert (shard_store_expire (store, 941 * (int64_t) DAY, 100, &more) == 0);
    memset (days, 0, sizeof days);
    assert (shard_store_others (store, &host, 600, 900, s_test_on_day, days) == 0);
    assert (days[0].day == 841 && days[1].flows == 0);
    shard_store_destroy (&store);
}

//  --------------------------------------------------------------------------
void
shard_others_test (bool verbose)
{
    (void) verbose;
    printf (" * shard_others: ");
    //  Merging ports: sums, order by bytes then port, truncation past the list
    shard_other_day_t other = {0};
    proto_other_port_t port = {.port = 443, .bytes = 100, .packets = 2, .flows = 1};
    s_add_port (&other, &port);
    port.port = 53;
    s_add_port (&other, &port);
    assert (other.port_count == 2 && other.ports[0].port == 53 && other.ports[1].port == 443);
    port.port = 443;
    s_add_port (&other, &port);
    assert (other.ports[0].port == 443 && other.ports[0].bytes == 200 && other.ports[0].flows == 2);
    for (uint16_t extra = 0; extra < SHARD_OTHERS_PORTS; extra++) {
        proto_other_port_t small = {.port = (uint16_t) (2000 + extra), .bytes = 1 + extra};
        s_add_port (&other, &small);
    }
    assert (other.port_count == SHARD_OTHERS_PORTS && other.truncated);
    assert (other.ports[0].port == 443 && other.ports[1].port == 53);
    assert (other.ports[SHARD_OTHERS_PORTS - 1].port == 2002);  //  2000, 2001 fell out
    port.bytes = UINT64_MAX;
    s_add_port (&other, &port);
    assert (other.ports[0].bytes == UINT64_MAX);  //  Saturated

    //  The value round-trips; malformed values are refused
    other.bytes = UINT64_MAX;
    other.packets = 7;
    other.flows = 3;
    uint8_t value[SHARD_OTHERS_VALUE_MAX];
    size_t size = s_encode (&other, value);
    assert (size == SHARD_OTHERS_VALUE_MAX);
    shard_other_day_t read;
    assert (s_decode (value, size, &read) == 0);
    assert (read.bytes == UINT64_MAX && read.packets == 7 && read.flows == 3 && read.truncated);
    assert (read.port_count == SHARD_OTHERS_PORTS);
    assert (memcmp (read.ports, other.ports, sizeof read.ports) == 0);
    assert (s_decode (value, size - 1, &read) == -1);
    assert (s_decode (value, 25, &read) == -1);
    value[25] = SHARD_OTHERS_PORTS + 1;
    assert (s_decode (value, size + 26, &read) == -1);
    value[25] = SHARD_OTHERS_PORTS;
    value[0] = 0x20;
    assert (s_decode (value, size, &read) == -1);

    char dir[] = "/tmp/shard_others_test.XXXXXX";
    assert (mkdtemp (dir));
    s_test_store (dir);
    shard_testlib_remove (dir);
    printf ("OK\n");
}
