/*  proto_sketch.c - HyperLogLog peer sketch (see proto_sketch.h).

    Register = the top PROTO_SKETCH_BITS bits of proto_hash64 (peer); its value is the
    largest rank seen, rank = 1 + leading zeros of the remaining bits.  The estimate is
    the classic one (Flajolet et al. 2007) with linear counting in the small range.
*/
#include "proto/proto_sketch.h"
#include "proto/proto_shard.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

//  --------------------------------------------------------------------------
void
proto_sketch_add (uint8_t *registers, const proto_addr_t *peer)
{
    assert (registers);
    assert (peer);
    uint64_t hash = proto_hash64 (peer);
    uint32_t index = (uint32_t) (hash >> (64 - PROTO_SKETCH_BITS));
    uint64_t rest = hash << PROTO_SKETCH_BITS;
    uint8_t rank = rest ? (uint8_t) (__builtin_clzll (rest) + 1) : 64 - PROTO_SKETCH_BITS + 1;
    if (rank > registers[index])
        registers[index] = rank;
}

//  --------------------------------------------------------------------------
void
proto_sketch_merge (uint8_t *into, const uint8_t *from)
{
    assert (into);
    assert (from);
    for (uint32_t index = 0; index < PROTO_SKETCH_REGISTERS; index++)
        if (from[index] > into[index])
            into[index] = from[index];
}

//  --------------------------------------------------------------------------
uint64_t
proto_sketch_estimate (const uint8_t *registers)
{
    assert (registers);
    double sum = 0;
    uint32_t zeros = 0;
    for (uint32_t index = 0; index < PROTO_SKETCH_REGISTERS; index++) {
        sum += ldexp (1.0, -registers[index]);
        zeros += registers[index] == 0;
    }
    double m = PROTO_SKETCH_REGISTERS;
    double estimate = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (estimate <= 2.5 * m && zeros)
        estimate = m * log (m / zeros);
    return (uint64_t) llround (estimate);
}

//  --------------------------------------------------------------------------
void
proto_sketch_test (bool verbose)
{
    printf (" * proto_sketch: ");
    uint8_t *a = (uint8_t *) calloc (1, PROTO_SKETCH_REGISTERS);
    uint8_t *b = (uint8_t *) calloc (1, PROTO_SKETCH_REGISTERS);
    assert (a && b);
    assert (proto_sketch_estimate (a) == 0);
    //  Within 5 % (three standard errors) from 5,000 to 1,000,000 distinct peers, with
    //  repeats not counted; a merge of overlapping halves counts the union.
    uint32_t sizes[] = {5000, 20000, 100000, 1000000};
    for (size_t test = 0; test < sizeof sizes / sizeof sizes[0]; test++) {
        for (uint32_t index = 0; index < PROTO_SKETCH_REGISTERS; index++)
            a[index] = b[index] = 0;
        uint32_t size = sizes[test];
        for (uint32_t host = 0; host < size; host++) {
            proto_addr_t peer;
            proto_addr_from_ipv4 (&peer, 0x0a000000 + host);
            if (host < size * 2 / 3)
                proto_sketch_add (a, &peer);
            if (host >= size / 3) {
                proto_sketch_add (b, &peer);
                proto_sketch_add (b, &peer);
            }
        }
        proto_sketch_merge (a, b);
        double estimate = (double) proto_sketch_estimate (a);
        if (verbose)
            printf ("%u -> %.0f; ", size, estimate);
        assert (fabs (estimate - size) < 0.05 * size);
    }
    free (a);
    free (b);
    printf ("OK\n");
}
