#!/usr/bin/env python3
"""tests/lib/cryptopan.py - Crypto-PAn in Python, written apart from portevo's C code, to
check `portevo-ingest --anonymise-key`.

Crypto-PAn (Xu, Fan, Ammar, Moon 2002) as the reference implementation defines it: the
32-byte key is an AES-128 key (bytes 0..15) and a secret whose encryption under that key
is the pad (bytes 16..31).  Bit i of the anonymised address is bit i of the address XOR
the most significant bit of AES(the address's first i bits followed by the pad's bits
i..127).  IPv4 uses positions 0..31 with the address in the block's first 32 bits; IPv6
the same over 128 positions.  AES comes from the `cryptography` module when it is
installed, else from the small AES-128 below (FIPS-197, encryption only); both are checked
against FIPS-197's example and the reference's sample trace by --self-test.

  cryptopan.py --key FILE map [IN]     read JSON lines as `portevo-ingest --dry-run --json`
                                       prints them, replace each "ip" by its pseudonym,
                                       print them in the contract's order (block, IPv4
                                       before IPv6, address, port), compact
  cryptopan.py [--key FILE] --self-test
  cryptopan.py --key FILE ADDRESS...   print each address's pseudonym

A key FILE holds 32 bytes, or 64 hex digits and an optional newline.
"""

import argparse
import ipaddress
import json
import socket
import sys

KEYS = ["block", "ip", "port", "bytes", "packets", "durations", "peers", "peers_capped"]

# ---------------------------------------------------------------------------------------
# AES-128 encryption (FIPS-197), used when `cryptography` is missing

SBOX = bytes.fromhex(
    "637c777bf26b6fc53001672bfed7ab76ca82c97dfa5947f0add4a2af9ca472c0"
    "b7fd9326363ff7cc34a5e5f171d8311504c723c31896059a071280e2eb27b275"
    "09832c1a1b6e5aa0523bd6b329e32f8453d100ed20fcb15b6acbbe394a4c58cf"
    "d0efaafb434d338545f9027f503c9fa851a3408f929d38f5bcb6da2110fff3d2"
    "cd0c13ec5f974417c4a77e3d645d197360814fdc222a908846eeb814de5e0bdb"
    "e0323a0a4906245cc2d3ac629195e479e7c8376d8dd54ea96c56f4ea657aae08"
    "ba78252e1ca6b4c6e8dd741f4bbd8b8a703eb5664803f60e613557b986c11d9e"
    "e1f8981169d98e949b1e87e9ce5528df8ca1890dbfe6426841992d0fb054bb16")


def _xtime(value):
    value <<= 1
    return (value ^ 0x11B) if value & 0x100 else value


def _expand_key(key):
    words = [list(key[i:i + 4]) for i in range(0, 16, 4)]
    rcon = 1
    for i in range(4, 44):
        word = list(words[i - 1])
        if i % 4 == 0:
            word = [SBOX[b] for b in word[1:] + word[:1]]
            word[0] ^= rcon
            rcon = _xtime(rcon)
        words.append([a ^ b for a, b in zip(words[i - 4], word)])
    return [sum(words[4 * r:4 * r + 4], []) for r in range(11)]


def _encrypt_block(round_keys, block):
    state = [b ^ k for b, k in zip(block, round_keys[0])]
    for rnd in range(1, 11):
        state = [SBOX[b] for b in state]
        # ShiftRows: state is column-major (byte 4c + r is row r of column c)
        state = [state[(4 * ((c + r) % 4)) + r] for c in range(4) for r in range(4)]
        if rnd != 10:
            mixed = []
            for c in range(4):
                a = state[4 * c:4 * c + 4]
                total = a[0] ^ a[1] ^ a[2] ^ a[3]
                mixed += [a[r] ^ total ^ _xtime(a[r] ^ a[(r + 1) % 4]) for r in range(4)]
            state = mixed
        state = [b ^ k for b, k in zip(state, round_keys[rnd])]
    return bytes(state)


def aes_ecb(key, backend=None):
    """A function encrypting a multiple of 16 bytes with AES-128-ECB under key."""
    if backend in (None, "cryptography"):
        try:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
            encryptor = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
            return encryptor.update
        except ImportError:
            if backend == "cryptography":
                raise
    round_keys = _expand_key(bytes(key))
    return lambda data: b"".join(_encrypt_block(round_keys, data[i:i + 16])
                                 for i in range(0, len(data), 16))


# ---------------------------------------------------------------------------------------
# Crypto-PAn

class CryptoPAn:
    def __init__(self, key, backend=None):
        if len(key) != 32:
            raise ValueError("a Crypto-PAn key has 32 bytes")
        self._encrypt = aes_ecb(key[:16], backend)
        self._pad = int.from_bytes(self._encrypt(bytes(key[16:])), "big")
        self._bits = {}  # (position, first `position` bits) -> one-time pad bit

    def _pad_bits(self, value, count):
        """One-time pad of the first count positions of value (128-bit int)."""
        wanted = []
        for pos in range(count):
            memo = (pos, value >> (128 - pos) if pos else 0)
            if memo not in self._bits:
                wanted.append((pos, memo))
        if wanted:
            blocks = b""
            full = (1 << 128) - 1
            for pos, _ in wanted:
                mask = full ^ ((1 << (128 - pos)) - 1)
                blocks += ((value & mask) | (self._pad & ~mask & full)).to_bytes(16, "big")
            out = self._encrypt(blocks)
            for index, (_, memo) in enumerate(wanted):
                self._bits[memo] = out[16 * index] >> 7
        otp = 0
        for pos in range(count):
            otp = otp << 1 | self._bits[(pos, value >> (128 - pos) if pos else 0)]
        return otp

    def anonymise_int(self, value, bits):
        """Pseudonym of an address of bits (32 or 128) bits given as an integer."""
        return value ^ self._pad_bits(value << (128 - bits), bits)

    def anonymise(self, text):
        """Pseudonym of an address as text (inet_ntop's form); v4-mapped is IPv4."""
        address = ipaddress.ip_address(text)
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.version == 4:
            value = self.anonymise_int(int(address), 32)
            return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
        value = self.anonymise_int(int(address), 128)
        return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


def load_key(path):
    with open(path, "rb") as file:
        data = file.read(257)
    if len(data) == 32:
        return data
    text = data.rstrip(b"\r\n")
    if len(text) == 64:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except ValueError:
            pass
    raise ValueError("%s: holds neither 32 bytes nor 64 hex digits" % path)


# ---------------------------------------------------------------------------------------
# Checks and the command line

REFERENCE_KEY = bytes([21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
                       216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2])
# From the reference distribution's sample_trace_raw.dat / sample_trace_sanitized.dat
REFERENCE = [("128.11.68.132", "135.242.180.132"), ("129.118.74.4", "134.136.186.123"),
             ("130.132.252.244", "133.68.164.234"), ("141.223.7.43", "141.167.8.160"),
             ("152.163.225.39", "151.140.114.167"), ("192.102.249.13", "252.138.62.131"),
             ("24.0.250.221", "100.15.198.226"), ("64.14.118.196", "0.255.183.58"),
             ("10.185.25.118", "117.161.29.118"),
             ("2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e")]


def self_test(key=None):
    for backend in ("cryptography", "python"):
        try:
            encrypt = aes_ecb(bytes(range(16)), backend)
        except ImportError:
            print("cryptopan: no cryptography module, AES in Python only", file=sys.stderr)
            continue
        got = encrypt(bytes.fromhex("00112233445566778899aabbccddeeff")).hex()
        assert got == "69c4e0d86a7b0430d8cdb78070b4c55a", (backend, got)
        cp = CryptoPAn(REFERENCE_KEY, backend)
        for raw, anonymised in REFERENCE:
            assert cp.anonymise(raw) == anonymised, (backend, raw, cp.anonymise(raw))
    if key is not None:
        CryptoPAn(key).anonymise("192.0.2.1")
    print("cryptopan: self-test OK")


def sort_key(row):
    address = ipaddress.ip_address(row["ip"])
    return (row["block"], address.version, address.packed, row["port"])


def main():
    parser = argparse.ArgumentParser(description="Crypto-PAn for portevo's tests")
    parser.add_argument("--key", help="key file (32 bytes or 64 hex digits)")
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("words", nargs="*", help="'map' [FILE], or addresses")
    args = parser.parse_args()
    key = load_key(args.key) if args.key else None
    if args.self_test:
        self_test(key)
        return 0
    if key is None:
        parser.error("--key is required")
    cp = CryptoPAn(key)
    if args.words[:1] == ["map"]:
        source = open(args.words[1]) if len(args.words) > 1 else sys.stdin
        rows = [json.loads(line) for line in source if line.strip()]
        for row in rows:
            row["ip"] = cp.anonymise(row["ip"])
        rows.sort(key=sort_key)
        for row in rows:
            keys = KEYS + ["direction"] if "direction" in row else KEYS  # --direction in
            print(json.dumps({k: row[k] for k in keys}, separators=(",", ":")))
        return 0
    for word in args.words:
        print(cp.anonymise(word))
    return 0


if __name__ == "__main__":
    sys.exit(main())
