/*  ingest_anon.c - Crypto-PAn over nettle's AES-128 (see ingest_anon.h).

    Addresses are handled as two 64-bit halves, high then low, bit 0 being the most
    significant bit of the high half (network order).  The AES input for position pos is
    the address's first pos bits followed by the pad's bits pos..127; the one-time pad bit
    pos is the most significant bit of its encryption.  Position pos depends on the first
    pos bits only, so the pad bits of positions 0..15 form a table indexed by the first 16
    bits; IPv4 addresses are the first 32 bits of the same construction (with the pad's
    other 96 bits), so one table serves both families.
*/
#include "ingestor/ingest_anon.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <nettle/aes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ANON_TABLE_BITS 16                       //  Positions looked up, not encrypted
#define ANON_TABLE_SIZE (1u << ANON_TABLE_BITS)  //  Entries of the table
#define ANON_BLOCK 16                            //  AES block size
#define ANON_BATCH 128                           //  Blocks encrypted per call at most
#define ANON_FILE_MAX 256                        //  Bytes read from a key file at most
#define ANON_CACHE_BITS 16                       //  The cache has 2^16 entries (2 MiB)

//  A cache entry: an address and its pseudonym.  Every entry is valid: a new cache holds
//  the all-zero address (::) and its pseudonym everywhere.
typedef struct {
    proto_addr_t original;   //  Real address
    proto_addr_t pseudonym;  //  Its pseudonym
} s_cached_t;

struct _ingest_anon_t {
    struct aes128_ctx aes;          //  Expanded AES-128 key (key bytes 0..15)
    uint64_t pad_high;              //  Pad bits 0..63: AES of key bytes 16..31
    uint64_t pad_low;               //  Pad bits 64..127
    uint16_t top[ANON_TABLE_SIZE];  //  One-time pad bits 0..15 by the first 16 bits
    s_cached_t *cache;              //  Recent addresses, direct-mapped by a hash
};

//  --------------------------------------------------------------------------
//  Big-endian 64-bit load and store.

static uint64_t
s_load (const uint8_t *bytes)
{
    uint64_t value;
    memcpy (&value, bytes, sizeof value);
    return be64toh (value);
}

static void
s_store (uint8_t *bytes, uint64_t value)
{
    value = htobe64 (value);
    memcpy (bytes, &value, sizeof value);
}

//  The first bits of 64 set (0 to 64).
static uint64_t
s_mask (int bits)
{
    return bits == 0 ? 0 : ~0ULL << (64 - bits);
}

//  --------------------------------------------------------------------------
//  One-time pad bits for positions [from, to) of the address (high, low), to - from <=
//  ANON_BATCH, as bits of a 128-bit value (position pos in bit 127 - pos of high:low).

static void
s_pad_bits (const ingest_anon_t *self, uint64_t high, uint64_t low, int from, int to,
            uint64_t *pad_high, uint64_t *pad_low)
{
    uint8_t input[ANON_BATCH * ANON_BLOCK], output[ANON_BATCH * ANON_BLOCK];
    assert (to - from <= ANON_BATCH);
    for (int pos = from; pos < to; pos++) {
        uint8_t *block = input + (pos - from) * ANON_BLOCK;
        if (pos < 64) {
            uint64_t mask = s_mask (pos);
            s_store (block, (high & mask) | (self->pad_high & ~mask));
            s_store (block + 8, self->pad_low);
        }
        else {
            uint64_t mask = s_mask (pos - 64);
            s_store (block, high);
            s_store (block + 8, (low & mask) | (self->pad_low & ~mask));
        }
    }
    aes128_encrypt (&self->aes, (size_t) (to - from) * ANON_BLOCK, output, input);
    uint64_t bits_high = 0, bits_low = 0;
    for (int pos = from; pos < to; pos++) {
        uint64_t bit = output[(pos - from) * ANON_BLOCK] >> 7;
        if (pos < 64)
            bits_high |= bit << (63 - pos);
        else
            bits_low |= bit << (127 - pos);
    }
    *pad_high = bits_high;
    *pad_low = bits_low;
}

//  --------------------------------------------------------------------------
//  Fill the table: for each prefix length pos < 16, one AES block per pos-bit prefix.

static int
s_fill_table (ingest_anon_t *self)
{
    //  bits[(1 << pos) - 1 + prefix] is the pad bit of position pos after that prefix
    uint8_t *bits = (uint8_t *) malloc (ANON_TABLE_SIZE);
    uint8_t *input = (uint8_t *) malloc (ANON_BATCH * ANON_BLOCK * 2);
    if (!bits || !input) {
        free (input);
        free (bits);
        return -1;
    }
    uint8_t *output = input + ANON_BATCH * ANON_BLOCK;
    for (int pos = 0; pos < ANON_TABLE_BITS; pos++) {
        uint64_t mask = s_mask (pos);
        uint32_t count = 1u << pos;
        for (uint32_t first = 0; first < count; first += ANON_BATCH) {
            uint32_t batch = count - first < ANON_BATCH ? count - first : ANON_BATCH;
            for (uint32_t index = 0; index < batch; index++) {
                uint64_t prefix = pos ? (uint64_t) (first + index) << (64 - pos) : 0;
                s_store (input + index * ANON_BLOCK, prefix | (self->pad_high & ~mask));
                s_store (input + index * ANON_BLOCK + 8, self->pad_low);
            }
            aes128_encrypt (&self->aes, batch * ANON_BLOCK, output, input);
            for (uint32_t index = 0; index < batch; index++)
                bits[count - 1 + first + index] = output[index * ANON_BLOCK] >> 7;
        }
    }
    for (uint32_t prefix = 0; prefix < ANON_TABLE_SIZE; prefix++) {
        uint16_t pad = 0;
        for (int pos = 0; pos < ANON_TABLE_BITS; pos++)
            pad |= (uint16_t) (bits[(1u << pos) - 1 + (prefix >> (ANON_TABLE_BITS - pos))]
                               << (ANON_TABLE_BITS - 1 - pos));
        self->top[prefix] = pad;
    }
    free (input);
    free (bits);
    return 0;
}

//  --------------------------------------------------------------------------
ingest_anon_t *
ingest_anon_new (const uint8_t *key)
{
    assert (key);
    ingest_anon_t *self = (ingest_anon_t *) calloc (1, sizeof (ingest_anon_t));
    if (!self)
        return NULL;
    aes128_set_encrypt_key (&self->aes, key);
    uint8_t pad[ANON_BLOCK];
    aes128_encrypt (&self->aes, ANON_BLOCK, pad, key + 16);
    self->pad_high = s_load (pad);
    self->pad_low = s_load (pad + 8);
    explicit_bzero (pad, sizeof pad);
    self->cache = (s_cached_t *) calloc ((size_t) 1 << ANON_CACHE_BITS, sizeof (s_cached_t));
    if (!self->cache || s_fill_table (self)) {
        ingest_anon_destroy (&self);
        return NULL;
    }
    proto_addr_t zero = {{0}}, pseudonym;
    ingest_anon_ipv6 (self, zero.bytes, pseudonym.bytes);
    for (size_t index = 0; index < (size_t) 1 << ANON_CACHE_BITS; index++)
        self->cache[index].pseudonym = pseudonym;
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_anon_destroy (ingest_anon_t **self_p)
{
    assert (self_p);
    ingest_anon_t *self = *self_p;
    if (!self)
        return;
    if (self->cache)
        explicit_bzero (self->cache, ((size_t) 1 << ANON_CACHE_BITS) * sizeof (s_cached_t));
    free (self->cache);
    explicit_bzero (self, sizeof *self);  //  The key schedule gives the key away
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Value of a hex digit, -1 if c is not one.

static int
s_hex (int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

//  --------------------------------------------------------------------------
ingest_anon_t *
ingest_anon_load (const char *path, char *error, size_t error_size)
{
    assert (path);
    assert (error);
    FILE *file = fopen (path, "rb");
    if (!file) {
        snprintf (error, error_size, "%s: cannot read the anonymisation key: %s", path,
                  strerror (errno));
        return NULL;
    }
    uint8_t text[ANON_FILE_MAX + 1], key[INGEST_ANON_KEY_SIZE];
    size_t size = fread (text, 1, sizeof text, file);
    bool failed = ferror (file);
    fclose (file);
    if (failed) {
        snprintf (error, error_size, "%s: cannot read the anonymisation key", path);
        return NULL;
    }
    size_t digits = size;
    while (digits > 0 && (text[digits - 1] == '\n' || text[digits - 1] == '\r'))
        digits--;
    bool hex = size != INGEST_ANON_KEY_SIZE && digits == 2 * INGEST_ANON_KEY_SIZE;
    for (size_t index = 0; hex && index < digits; index += 2) {
        int high = s_hex (text[index]), low = s_hex (text[index + 1]);
        hex = high >= 0 && low >= 0;
        if (hex)
            key[index / 2] = (uint8_t) (high << 4 | low);
    }
    ingest_anon_t *self = NULL;
    if (size == INGEST_ANON_KEY_SIZE)
        self = ingest_anon_new (text);
    else if (hex)
        self = ingest_anon_new (key);
    else
        snprintf (error, error_size,
                  "%s: an anonymisation key file holds %d bytes (16 of AES key, 16 of pad) or "
                  "%d hex digits; this one has %s%zu bytes",
                  path, INGEST_ANON_KEY_SIZE, 2 * INGEST_ANON_KEY_SIZE,
                  size > ANON_FILE_MAX ? "more than " : "",
                  size > ANON_FILE_MAX ? ANON_FILE_MAX : size);
    if ((size == INGEST_ANON_KEY_SIZE || hex) && !self)
        snprintf (error, error_size, "%s: out of memory", path);
    explicit_bzero (text, sizeof text);
    explicit_bzero (key, sizeof key);
    return self;
}

//  --------------------------------------------------------------------------
uint32_t
ingest_anon_ipv4 (const ingest_anon_t *self, uint32_t ipv4)
{
    assert (self);
    uint64_t pad_high, pad_low;
    s_pad_bits (self, (uint64_t) ipv4 << 32, 0, ANON_TABLE_BITS, 32, &pad_high, &pad_low);
    uint32_t pad = (uint32_t) self->top[ipv4 >> 16] << 16 | (uint32_t) (pad_high >> 32);
    return ipv4 ^ pad;
}

//  --------------------------------------------------------------------------
void
ingest_anon_ipv6 (const ingest_anon_t *self, const uint8_t *in, uint8_t *out)
{
    assert (self);
    assert (in);
    assert (out);
    uint64_t high = s_load (in), low = s_load (in + 8);
    uint64_t pad_high, pad_low;
    s_pad_bits (self, high, low, ANON_TABLE_BITS, 128, &pad_high, &pad_low);
    pad_high |= (uint64_t) self->top[high >> 48] << 48;
    s_store (out, high ^ pad_high);
    s_store (out + 8, low ^ pad_low);
}

//  --------------------------------------------------------------------------
void
ingest_anon_addr (ingest_anon_t *self, proto_addr_t *addr)
{
    assert (self);
    assert (addr);
    uint64_t high, low;
    memcpy (&high, addr->bytes, sizeof high);
    memcpy (&low, addr->bytes + 8, sizeof low);
    uint64_t hash = high * 0x9e3779b97f4a7c15ULL ^ low;
    hash = (hash ^ (hash >> 31)) * 0xbf58476d1ce4e5b9ULL;
    s_cached_t *entry = &self->cache[hash >> (64 - ANON_CACHE_BITS)];
    if (memcmp (&entry->original, addr, sizeof *addr) == 0) {
        *addr = entry->pseudonym;
        return;
    }
    entry->original = *addr;
    if (proto_addr_is_ipv4 (addr))
        proto_addr_from_ipv4 (addr, ingest_anon_ipv4 (self, proto_addr_ipv4 (addr)));
    else
        ingest_anon_ipv6 (self, addr->bytes, addr->bytes);
    entry->pseudonym = *addr;
}

//  --------------------------------------------------------------------------
//  Selftest

//  splitmix64: the test's own reproducible random numbers
static uint64_t
s_random (uint64_t *state)
{
    uint64_t value = (*state += 0x9e3779b97f4a7c15ULL);
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

//  Length of the common prefix of two byte strings, in bits.
static int
s_common_bits (const uint8_t *a, const uint8_t *b, int size)
{
    for (int index = 0; index < size; index++)
        if (a[index] != b[index])
            return index * 8 + __builtin_clz ((unsigned) (a[index] ^ b[index])) - 24;
    return size * 8;
}

//  An address of size bytes sharing exactly common bits with a (common < size * 8), the
//  bits after the first different one random.
static void
s_partner (const uint8_t *a, uint8_t *b, int size, int common, uint64_t *state)
{
    for (int index = 0; index < size; index++)
        b[index] = (uint8_t) s_random (state);
    for (int bit = 0; bit <= common; bit++) {
        uint8_t mask = (uint8_t) (0x80 >> (bit % 8));
        bool set = (a[bit / 8] & mask) != 0;
        if (bit == common)
            set = !set;
        b[bit / 8] = (uint8_t) (set ? b[bit / 8] | mask : b[bit / 8] & ~mask);
    }
}

void
ingest_anon_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_anon: ");
    //  The Crypto-PAn reference implementation's sample: its key, and addresses of
    //  sample_trace_raw.dat with their lines in sample_trace_sanitized.dat
    const uint8_t key[INGEST_ANON_KEY_SIZE] = {21,  34, 23,  141, 51, 164, 207, 128, 19,  10,  91,
                                               22,  73, 144, 125, 16, 216, 152, 143, 131, 121, 121,
                                               101, 39, 98,  87,  76, 45,  42,  132, 34,  2};
    const char *vectors[][2] = {{"128.11.68.132", "135.242.180.132"},
                                {"129.118.74.4", "134.136.186.123"},
                                {"130.132.252.244", "133.68.164.234"},
                                {"141.223.7.43", "141.167.8.160"},
                                {"141.233.145.108", "141.129.237.235"},
                                {"152.163.225.39", "151.140.114.167"},
                                {"156.29.3.236", "147.225.12.42"},
                                {"165.247.96.84", "162.9.99.234"},
                                {"166.107.77.190", "160.132.178.185"},
                                {"192.102.249.13", "252.138.62.131"},
                                {"192.215.32.125", "252.43.47.189"},
                                {"192.233.80.103", "252.25.108.8"},
                                {"192.41.57.43", "252.222.221.184"},
                                {"193.150.244.223", "253.169.52.216"},
                                {"195.205.63.100", "255.186.223.5"},
                                {"198.200.171.101", "249.199.68.213"},
                                {"198.26.132.101", "249.36.123.202"},
                                {"198.36.213.5", "249.7.21.132"},
                                {"198.51.77.238", "249.18.186.254"},
                                {"199.217.79.101", "248.38.184.213"},
                                {"202.49.198.20", "245.206.7.234"},
                                {"203.12.160.252", "244.248.163.4"},
                                {"204.184.162.189", "243.192.77.90"},
                                {"205.188.147.153", "242.96.16.101"},
                                {"207.105.49.5", "241.118.205.138"},
                                {"208.147.89.59", "227.237.98.191"},
                                {"209.238.72.3", "226.6.119.243"},
                                {"212.120.124.31", "228.135.163.231"},
                                {"216.148.237.145", "235.84.194.111"},
                                {"24.0.250.221", "100.15.198.226"},
                                {"24.5.0.80", "100.9.15.210"},
                                {"38.15.67.68", "64.3.66.187"},
                                {"4.3.88.225", "124.60.155.63"},
                                {"63.14.55.111", "95.9.215.7"},
                                {"64.14.118.196", "0.255.183.58"},
                                {"64.34.154.117", "0.221.154.117"},
                                {"10.185.25.118", "117.161.29.118"},
                                //  IPv6 with the same key, as other implementations give them
                                {"::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
                                {"::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"},
                                {"::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"},
                                {"2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
                                {"2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"}};
    ingest_anon_t *anon = ingest_anon_new (key);
    assert (anon);
    char text[PROTO_ADDR_STRLEN];
    for (size_t index = 0; index < sizeof vectors / sizeof vectors[0]; index++) {
        proto_addr_t addr, want;
        assert (proto_addr_parse (&addr, vectors[index][0]) == 0);
        assert (proto_addr_parse (&want, vectors[index][1]) == 0);
        ingest_anon_addr (anon, &addr);
        if (memcmp (&addr, &want, sizeof addr) != 0) {
            printf ("%s -> %s, want %s\n", vectors[index][0], proto_addr_format (&addr, text),
                    vectors[index][1]);
            assert (false);
        }
    }
    //  An IPv4 address is the first 32 bits of the 128-bit construction
    uint64_t state = 1;
    for (int round = 0; round < 1000; round++) {
        uint32_t ipv4 = (uint32_t) s_random (&state);
        uint8_t bytes[16] = {(uint8_t) (ipv4 >> 24), (uint8_t) (ipv4 >> 16), (uint8_t) (ipv4 >> 8),
                             (uint8_t) ipv4};
        for (int index = 4; index < 16; index++)
            bytes[index] = (uint8_t) s_random (&state);
        ingest_anon_ipv6 (anon, bytes, bytes);
        uint32_t high = (uint32_t) bytes[0] << 24 | (uint32_t) bytes[1] << 16 |
                        (uint32_t) bytes[2] << 8 | bytes[3];
        assert (high == ingest_anon_ipv4 (anon, ipv4));
    }

    //  Prefix preserving: 10^5 pairs per family, common prefix lengths spread evenly (and
    //  equal addresses); the anonymised pair shares exactly as many bits
    for (int size = 4; size <= 16; size += 12) {
        for (int round = 0; round < 100000; round++) {
            uint8_t a[16], b[16], anon_a[16], anon_b[16];
            for (int index = 0; index < size; index++)
                a[index] = (uint8_t) s_random (&state);
            int common = (int) (s_random (&state) % (uint64_t) (size * 8 + 1));
            if (common == size * 8)
                memcpy (b, a, (size_t) size);
            else
                s_partner (a, b, size, common, &state);
            assert (s_common_bits (a, b, size) == common);
            if (size == 4) {
                uint32_t values[2];
                for (int which = 0; which < 2; which++) {
                    const uint8_t *in = which ? b : a;
                    values[which] =
                        ingest_anon_ipv4 (anon, (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16 |
                                                    (uint32_t) in[2] << 8 | in[3]);
                    uint8_t *out = which ? anon_b : anon_a;
                    for (int index = 0; index < 4; index++)
                        out[index] = (uint8_t) (values[which] >> (24 - 8 * index));
                }
            }
            else {
                ingest_anon_ipv6 (anon, a, anon_a);
                ingest_anon_ipv6 (anon, b, anon_b);
            }
            assert (s_common_bits (anon_a, anon_b, size) == common);
        }
    }
    //  Through the cache (hits, misses, evictions, the zero address) as without it
    for (int round = 0; round < 300000; round++) {
        proto_addr_t addr, want;
        memset (&addr, 0, sizeof addr);
        uint64_t value = s_random (&state) % 100000;  //  Repeats, and collisions in the cache
        if (round % 3 == 0)
            proto_addr_from_ipv4 (&addr, (uint32_t) value);
        else if (round % 3 == 1) {
            addr.bytes[0] = 0x20;
            memcpy (addr.bytes + 8, &value, sizeof value);
        }
        if (round % 3 == 0)
            proto_addr_from_ipv4 (&want, ingest_anon_ipv4 (anon, (uint32_t) value));
        else  //  round % 3 == 2: the all-zero address, which fills a new cache
            ingest_anon_ipv6 (anon, addr.bytes, want.bytes);
        ingest_anon_addr (anon, &addr);
        assert (memcmp (&addr, &want, sizeof addr) == 0);
    }

    //  v4-mapped stays v4-mapped; another key gives another mapping
    proto_addr_t addr;
    assert (proto_addr_parse (&addr, "10.1.0.10") == 0);
    ingest_anon_addr (anon, &addr);
    assert (proto_addr_is_ipv4 (&addr));
    uint8_t other_key[INGEST_ANON_KEY_SIZE];
    memcpy (other_key, key, sizeof other_key);
    other_key[31] ^= 1;
    ingest_anon_t *other = ingest_anon_new (other_key);
    assert (other);
    assert (ingest_anon_ipv4 (other, 0x800b4484) != ingest_anon_ipv4 (anon, 0x800b4484));
    ingest_anon_destroy (&other);

    //  Key files: 32 raw bytes, 64 hex digits (with a newline), and refusals naming the file
    char path[] = "/tmp/ingest_anon_test.XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    FILE *file = fdopen (fd, "wb");
    assert (file);
    struct {
        const char *content;
        size_t size;
        bool valid;
    } files[] = {
        {(const char *) key, sizeof key, true},
        {"1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a842202\n", 65, true},
        {"1522178D33A4CF80130A5B1649907D10D8988F837979652762574C2D2A842202", 64, true},
        {(const char *) key, 16, false},
        {"", 0, false},
        {"1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a8422xx\n", 65, false},
        {"1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a842202 \n", 66, false},
    };
    char error[INGEST_ANON_ERROR_MAX];
    for (size_t index = 0; index < sizeof files / sizeof files[0]; index++) {
        assert (freopen (path, "wb", file));
        assert (fwrite (files[index].content, 1, files[index].size, file) == files[index].size);
        fflush (file);
        error[0] = 0;
        ingest_anon_t *loaded = ingest_anon_load (path, error, sizeof error);
        assert ((loaded != NULL) == files[index].valid);
        if (loaded)
            assert (ingest_anon_ipv4 (loaded, 0x800b4484) == ingest_anon_ipv4 (anon, 0x800b4484));
        else
            assert (strstr (error, path) && strstr (error, "32 bytes"));
        ingest_anon_destroy (&loaded);
    }
    fclose (file);
    unlink (path);
    assert (ingest_anon_load ("/nonexistent/key", error, sizeof error) == NULL);
    assert (strstr (error, "/nonexistent/key: cannot read"));
    ingest_anon_destroy (&anon);
    ingest_anon_destroy (&anon);
    printf ("OK\n");
}
