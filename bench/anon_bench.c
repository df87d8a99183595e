/*  anon_bench.c - what Crypto-PAn (ingest_anon) costs per address and per key.

    Times the key setup (AES key schedule, pad, the 16-bit table), then the anonymisation
    of N random IPv4 and N random IPv6 addresses (one call each, as ingest_file makes
    them: nearly all miss the cache, the worst case), then N addresses drawn from 5,000
    IPv4 and 5,000 IPv6 hosts (the cache's best case), and prints nanoseconds per address
    and addresses per second.  A checksum of
    the results keeps the compiler from dropping the work.

    build: make build/bench/anon_bench
    run:   build/bench/anon_bench [-n ADDRESSES]   (default 2,000,000 per family)
*/
#include "ingestor/ingest_anon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static uint64_t
s_random (uint64_t *state)
{
    uint64_t value = (*state += 0x9e3779b97f4a7c15ULL);
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

int
main (int argc, char *argv[])
{
    long count = 2000000;
    int option;
    while ((option = getopt (argc, argv, "n:")) != -1) {
        if (option == 'n' && atol (optarg) > 0)
            count = atol (optarg);
        else {
            fprintf (stderr, "usage: anon_bench [-n ADDRESSES]\n");
            return 2;
        }
    }
    uint64_t state = 42;
    uint8_t key[INGEST_ANON_KEY_SIZE];
    for (size_t index = 0; index < sizeof key; index++)
        key[index] = (uint8_t) s_random (&state);
    double start = s_now ();
    ingest_anon_t *anon = ingest_anon_new (key);
    double setup = s_now () - start;
    if (!anon)
        return 1;
    printf ("key setup: %.2f ms (AES key schedule, pad, 65,535-block table)\n", setup * 1e3);

    proto_addr_t *addrs = (proto_addr_t *) malloc ((size_t) count * sizeof (proto_addr_t));
    if (!addrs)
        return 1;
    uint64_t checksum = 0;
    const char *names[3] = {"IPv4, all distinct", "IPv6, all distinct", "10,000 hosts repeating"};
    for (int kind = 0; kind < 3; kind++) {
        for (long index = 0; index < count; index++) {
            uint64_t draw = kind == 2 ? s_random (&state) % 10000 : s_random (&state);
            if (kind == 0 || (kind == 2 && draw % 2))
                proto_addr_from_ipv4 (&addrs[index], (uint32_t) (draw * 2654435761u));
            else {
                uint64_t high = kind == 2 ? draw * 0xd6e8feb86659fd93ULL : s_random (&state);
                memcpy (addrs[index].bytes, &high, 8);
                memcpy (addrs[index].bytes + 8, &draw, 8);
                addrs[index].bytes[0] = 0x20;  //  Global unicast, never v4-mapped
            }
        }
        start = s_now ();
        for (long index = 0; index < count; index++)
            ingest_anon_addr (anon, &addrs[index]);
        double secs = s_now () - start;
        for (long index = 0; index < count; index++)
            checksum += addrs[index].bytes[15];
        printf ("%s: %ld addresses in %.3f s: %.0f ns per address, %.2f M addresses/s\n",
                names[kind], count, secs, secs * 1e9 / (double) count, (double) count / secs / 1e6);
    }
    printf ("(checksum %llu)\n", (unsigned long long) checksum);
    free (addrs);
    ingest_anon_destroy (&anon);
    return 0;
}
