/*  query_load.c - fill the stores of a 2-shard (or N-shard) cluster for bench/query.

    Writes DAYS days (ending yesterday, so retention keeps them) of HOSTS IPv4 hosts
    (10.0.0.1 upwards), each talking on PORTS of the 12 monitored ports every day, into
    DIR/shard-0 .. DIR/shard-N-1 through the shard store API, each host into the store
    of the shard that owns it in the broker's first map (slot mod N), one part per
    (shard, day) from one source (final on arrival).  Volumes are heavy-tailed, peers
    exact (1 to 4), so the top lists are full and ties rare.  After each day the
    finished days are archived, as a shard's maintenance does.  The stores must not be
    open elsewhere; start the shards on them afterwards.

    build: see bench/query (links build/obj/libshard.a and build/obj/libproto.a)
    run:   query_load -o DIR [-s SHARDS] [-h HOSTS] [-d DAYS] [-p PORTS]
*/
#include "shard/shard_store.h"

#include <getopt.h>

#define S_PEERS_MAX 4  //  Peers of a pair at most

static const uint16_t s_ports[] = {21, 22, 25, 80, 445, 1194, 3128, 8080, 8081, 8118, 8123, 9050};

//  shard_store_apply_part reads the pairs from a plain array.
static void
s_pair_at (void *pairs, size_t index, proto_pair_t *pair)
{
    *pair = ((proto_pair_t *) pairs)[index];
}

//  The values of (host, day, port): a hash, so a host's traffic does not depend on the
//  order of loading (splitmix64 finaliser).
static uint64_t
s_mix (uint64_t value)
{
    value += 0x9E3779B97F4A7C15ULL;
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
    value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
    return value ^ (value >> 31);
}

//  The pairs of one shard on day into pairs (peer addresses into peers): every owned
//  host on its ports, ascending by (host, port).  Returns the pair count.
static size_t
s_fill (proto_pair_t *pairs, uint8_t *peers, size_t shard, size_t shards, size_t hosts,
        size_t ports, size_t day)
{
    size_t count = 0;
    for (uint32_t host = 1; host <= hosts; host++) {
        proto_addr_t addr;
        proto_addr_from_ipv4 (&addr, 0x0A000000 + host);
        if (proto_shard_slot (&addr) % shards != shard)
            continue;
        //  A host's ports are consecutive in s_ports: ascending, as the store wants
        for (size_t port = host % (13 - ports); port < host % (13 - ports) + ports; port++) {
            proto_pair_t *pair = &pairs[count];
            uint8_t *addresses = peers + count * S_PEERS_MAX * PROTO_ADDR_SIZE;
            uint64_t value = s_mix (((uint64_t) host << 24) ^ (day << 4) ^ port);
            pair->addr = addr;
            pair->port = s_ports[port];
            //  Heavy-tailed volumes: most pairs small, a few very large
            pair->bytes = 40 + (value % 1500) * (1ULL << (value >> 59));
            pair->packets = 1 + (value >> 20) % 50;
            pair->durations = (value >> 32) % 60000;
            size_t peer_count = 1 + (value >> 40) % S_PEERS_MAX;
            for (size_t peer = 0; peer < peer_count; peer++) {
                proto_addr_t peer_addr;
                proto_addr_from_ipv4 (&peer_addr,
                                      0xC6120000 + (uint32_t) (peer * 64 + (value & 63)));
                memcpy (addresses + peer * PROTO_ADDR_SIZE, peer_addr.bytes, PROTO_ADDR_SIZE);
            }
            pair->peers_kind = PROTO_PEERS_EXACT;
            pair->peers = addresses;
            pair->peers_size = peer_count * PROTO_ADDR_SIZE;
            count++;
        }
    }
    return count;
}

int
main (int argc, char *argv[])
{
    size_t shards = 2, hosts = 100000, days = 180, ports = 2;
    const char *dir = NULL;
    int option;
    while ((option = getopt (argc, argv, "o:s:h:d:p:")) != -1) {
        if (option == 'o')
            dir = optarg;
        else if (option == 's')
            shards = strtoul (optarg, NULL, 10);
        else if (option == 'h')
            hosts = strtoul (optarg, NULL, 10);
        else if (option == 'd')
            days = strtoul (optarg, NULL, 10);
        else if (option == 'p')
            ports = strtoul (optarg, NULL, 10);
        else
            dir = NULL;
    }
    if (!dir || optind < argc || !shards || !hosts || !days || ports < 1 || ports > 12) {
        fprintf (stderr, "usage: query_load -o DIR [-s SHARDS] [-h HOSTS] [-d DAYS] [-p PORTS]\n");
        return 2;
    }
    zsys_init ();
    proto_pair_t *pairs = (proto_pair_t *) calloc (hosts * ports, sizeof (proto_pair_t));
    uint8_t *peers = (uint8_t *) calloc (hosts * ports, S_PEERS_MAX * PROTO_ADDR_SIZE);
    assert (pairs && peers);
    int64_t now = zclock_time () / 1000;
    size_t today = proto_day_of (now);
    int64_t start = zclock_mono ();
    size_t rows = 0;
    for (size_t shard = 0; shard < shards; shard++) {
        char path[1024];
        snprintf (path, sizeof path, "%s/shard-%zu", dir, shard);
        shard_store_t *store = shard_store_new (path, 64ULL << 30);
        if (!store)
            return 1;
        for (size_t day = today - days; day < today; day++) {
            size_t count = s_fill (pairs, peers, shard, shards, hosts, ports, day);
            char file[64];
            snprintf (file, sizeof file, "bench/%zu", day);
            int64_t block = (int64_t) day * 86400 + 12 * 3600;
            shard_part_result_t result;
            if (shard_store_apply_part (store, "bench", file, block, s_pair_at, pairs, count, now,
                                        &result)) {
                fprintf (stderr, "query_load: apply failed: %s\n", shard_store_error (store));
                return 1;
            }
            rows += count;
            //  A shard's maintenance moves finished days to the archive
            bool more = true;
            while (more)
                if (shard_store_archive (store, block + 86400, SHARD_ARCHIVE_BATCH, &more))
                    return 1;
        }
        shard_store_stats_t stats;
        shard_store_stats (store, &stats);
        printf ("query_load: shard-%zu: %" PRIu64 " hosts, %" PRIu64 " rows, %.1f MiB\n", shard,
                stats.hosts, stats.rows, stats.lmdb_bytes / 1048576.0);
        shard_store_destroy (&store);
    }
    double secs = (zclock_mono () - start) / 1000.0;
    printf ("query_load: %zu rows (%zu hosts x %zu ports x %zu days) in %.1f s, %.0f rows/s\n",
            rows, hosts, ports, days, secs, rows / secs);
    free (pairs);
    free (peers);
    return 0;
}
