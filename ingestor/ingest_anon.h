/*  ingest_anon.h - prefix-preserving address anonymisation (Crypto-PAn).

    Crypto-PAn (Xu, Fan, Ammar, Moon, "Prefix-preserving IP address anonymization", 2002)
    maps every address to another so that two addresses sharing a k-bit prefix map to two
    addresses sharing exactly a k-bit prefix, one to one, and the same way wherever the same
    key is used: a team can share a portevo instance without real addresses, and every
    ingestor given the key file maps a host to the same pseudonym.

    The key is 32 bytes: a 16-byte AES-128 key, then 16 bytes whose encryption under that
    key is the pad (as in the reference implementation).  Bit i of the result is bit i of
    the address XOR the first bit of AES(the address's first i bits, then the pad's bits
    from i on).  IPv4 addresses use 32 positions (the reference's sample trace is the
    selftest), IPv6 addresses the same construction over 128 positions; a v4-mapped
    address is anonymised as IPv4 and stays v4-mapped.

    Cost: the first 16 positions are looked up in a table made once per key (65,535 AES
    blocks, 128 KiB); the rest are encrypted in one call of nettle's AES (AES-NI where the
    CPU has it): 16 blocks per IPv4 address, 112 per IPv6 address.  ingest_anon_addr goes
    through a cache of recent addresses (2^16 entries, direct-mapped): flows repeat their
    hosts and popular peers.  Like every object, one thread uses it at a time
    (ingest_anon_ipv4 and ingest_anon_ipv6 only read it).
*/
#ifndef INGEST_ANON_H_INCLUDED
#define INGEST_ANON_H_INCLUDED

#include "proto/proto_host.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_ANON_KEY_SIZE 32    //  16-byte AES key + 16-byte pad secret
#define INGEST_ANON_ERROR_MAX 512  //  Room for a key file error message

typedef struct _ingest_anon_t ingest_anon_t;

//  An anonymiser for the 32 key bytes (copied).  NULL if out of memory.
ingest_anon_t *ingest_anon_new (const uint8_t *key);

//  An anonymiser keyed from a file holding exactly 32 bytes, or 64 hex digits (optionally
//  followed by a newline, as `openssl rand -hex 32` writes).  NULL on failure, with a
//  message naming the file in error (error_size bytes; INGEST_ANON_ERROR_MAX is enough).
ingest_anon_t *ingest_anon_load (const char *path, char *error, size_t error_size);

//  Destroy.  NULL-safe, nulls *self_p.
void ingest_anon_destroy (ingest_anon_t **self_p);

//  Anonymise addr in place: IPv4 (v4-mapped) over 32 bits, IPv6 over 128 bits; through
//  the cache.
void ingest_anon_addr (ingest_anon_t *self, proto_addr_t *addr);

//  The anonymised IPv4 address (host byte order in, host byte order out).
uint32_t ingest_anon_ipv4 (const ingest_anon_t *self, uint32_t ipv4);

//  The anonymised IPv6 address of in (16 bytes, network order) into out (may be in).
void ingest_anon_ipv6 (const ingest_anon_t *self, const uint8_t *in, uint8_t *out);

//  Selftest
void ingest_anon_test (bool verbose);

#endif
