# tests/lib/nfdump16.sh - Debian 11's nfdump 1.6.22, to write layout 1 (nfdump 1.6) files.
#
# Sourced after tests/lib/nfcapd.sh.  The bullseye package is fetched once with apt's own
# client into a private apt state under build/nfdump16 (its own sources.list, lists and
# cache: the system's apt state is not touched) and unpacked with `dpkg -x` into
# build/nfdump16/root; it is never installed.  (The apt parts directory is etc/apt/parts,
# not sources.list.d: the Makefile includes every *.d under build/ as a dependency file.)  Its nfcapd runs from there (it needs only
# libc and libbz2, which bookworm has; its own library directory goes on
# LD_LIBRARY_PATH in case a build needs it).  Concurrent callers wait on a lock.
#
#   nf16_fetch      make sure build/nfdump16/root/usr/bin/nfcapd exists; 1 with the reason
#                   in NF16_WHY if it cannot be had (no network, no such package)
#   nf16_use        make nfc_start (nfcapd.sh) run 1.6.22's nfcapd (-l DIR instead of -w)
#   nf17_use        back to Debian 12's nfcapd 1.7.1
#
# Facts (nfcapd 1.6.22): -l DIR is the spool directory (-w means "sync rotation" there),
# -z LZO, -j BZ2, -y LZ4 (the Debian build has all three); -T all stores every extension
# the exporter sends, without -T only interfaces and AS numbers; -B sets the socket
# buffer (its default loses flows above about 20,000 flows/s here).  Extension maps and
# the exporter record go into the first data block only: later blocks of the file use
# the maps registered there.  nfdump 1.7.1 reads its files (-r, -I, -E, -o csv).

NF16_DIR=${NF16_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/nfdump16}
NF16_VERSION=${NF16_VERSION:-1.6.22-2}
NF16_NFCAPD=$NF16_DIR/root/usr/bin/nfcapd
NF16_WHY=

nf16_fetch () {
  [ -x "$NF16_NFCAPD" ] && return 0
  mkdir -p "$NF16_DIR/etc/apt/parts" "$NF16_DIR/lists/partial" \
           "$NF16_DIR/cache/archives/partial" || { NF16_WHY="cannot create $NF16_DIR"; return 1; }
  (
    flock 9
    [ -x "$NF16_NFCAPD" ] && exit 0
    echo "deb http://deb.debian.org/debian bullseye main" > "$NF16_DIR/etc/apt/sources.list"
    apt_opts=(-o "Dir::Etc::sourcelist=$NF16_DIR/etc/apt/sources.list"
              -o "Dir::Etc::sourceparts=$NF16_DIR/etc/apt/parts"
              -o "Dir::State::lists=$NF16_DIR/lists" -o "Dir::Cache=$NF16_DIR/cache"
              -o Dir::State::status=/dev/null)
    apt-get "${apt_opts[@]}" -q update > "$NF16_DIR/fetch.log" 2>&1 &&
      (cd "$NF16_DIR" && apt-get "${apt_opts[@]}" -q download "nfdump=$NF16_VERSION") \
        >> "$NF16_DIR/fetch.log" 2>&1 &&
      rm -rf "$NF16_DIR/root.tmp" &&
      dpkg -x "$NF16_DIR/nfdump_${NF16_VERSION}_amd64.deb" "$NF16_DIR/root.tmp" &&
      "$NF16_DIR/root.tmp/usr/bin/nfcapd" -V > /dev/null 2>&1 &&
      mv "$NF16_DIR/root.tmp" "$NF16_DIR/root"
  ) 9> "$NF16_DIR/lock"
  if [ ! -x "$NF16_NFCAPD" ]; then
    NF16_WHY="could not fetch nfdump $NF16_VERSION from bullseye ($(tail -n 2 "$NF16_DIR/fetch.log" 2>/dev/null | tr '\n' ' '))"
    return 1
  fi
}

nf16_use () {
  NFC_NFCAPD=$NF16_NFCAPD NFC_DIR_OPT=-l NFC_LIBDIR=$NF16_DIR/root/usr/lib/x86_64-linux-gnu
}

nf17_use () {
  NFC_NFCAPD=nfcapd NFC_DIR_OPT=-w NFC_LIBDIR=
}
