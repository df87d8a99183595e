/*  proto_sketch.h - the HyperLogLog sketch that counts peers beyond the exact cap.

    A pair (source, port) of a block counts its distinct peers exactly up to
    PROTO_PEERS_CAP; past that it keeps a sketch of PROTO_SKETCH_REGISTERS one-byte
    registers (precision 12: about 1.6 % standard error).  Sketches travel between
    processes (ingestor -> shard) and merge register by register, so the register layout
    and the hash (proto_hash64) are part of the wire contract and defined here once.
*/
#ifndef PROTO_SKETCH_H_INCLUDED
#define PROTO_SKETCH_H_INCLUDED

#include "proto/proto_host.h"

#define PROTO_SKETCH_BITS 12                              //  Register index bits
#define PROTO_SKETCH_REGISTERS (1u << PROTO_SKETCH_BITS)  //  Bytes in a sketch

//  Count peer in the sketch.
void proto_sketch_add (uint8_t *registers, const proto_addr_t *peer);

//  Unite from into into (register-wise maximum).
void proto_sketch_merge (uint8_t *into, const uint8_t *from);

//  The estimated number of distinct peers counted.
uint64_t proto_sketch_estimate (const uint8_t *registers);

//  Selftest
void proto_sketch_test (bool verbose);

#endif
