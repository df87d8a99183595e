#!/usr/bin/env bash
# tests/system/make_bootstrap_test.sh - `make run` and `make test` work on the first try
# on a machine that has neither pkg-config nor the -dev packages when make starts.
#
# A copy of the checkout (the files git knows, as they are in the working tree) is built
# with stand-ins that make a bare machine visible without needing one:
#   DEPS        the installer: it only creates the file "installed"
#   PKG_CONFIG  fails (as a missing pkg-config would) until "installed" exists, then
#               answers marker flags; every call is logged with the state at that time
#   CC          logs its arguments and creates its -o output (no real compile)
#   FUZZ_CC, RUN_TESTS, DEMO  log that they ran
# The checks: nothing asks pkg-config before the installer ran, and every compile and
# link line carries the flags pkg-config gives once the packages are there.  Before the
# fix, the flags were computed when make parsed the Makefile, so `make run` built
# without them on the first try and failed (lzo1x.h: No such file or directory).
source "$(dirname "$0")/../lib/common.sh"

COPY=$WORK/checkout
FAKE=$WORK/fake
mkdir -p "$COPY" "$FAKE"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar -c --null -T - -f -) |
  (cd "$COPY" && tar -xf -)
# The web step copies uPlot from node_modules (npm ci, part of the install): stand-ins
mkdir -p "$COPY/node_modules/uplot/dist"
touch "$COPY/node_modules/uplot/dist/uPlot.iife.min.js" "$COPY/node_modules/uplot/dist/uPlot.min.css"

cat > "$FAKE/deps" <<EOF
#!/bin/sh
echo "install" >> "$FAKE/order.log"
touch "$FAKE/installed"
EOF
cat > "$FAKE/pkg-config" <<EOF
#!/bin/sh
if [ ! -e "$FAKE/installed" ]; then
  echo "pkg-config before install: \$*" >> "$FAKE/early.log"
  exit 127
fi
echo "pkg-config \$*" >> "$FAKE/order.log"
case "\$*" in
  *--cflags*) echo "-I/fake/after-install/include" ;;
  *) echo "-lfake_after_install" ;;
esac
EOF
cat > "$FAKE/cc" <<EOF
#!/bin/sh
echo "\$*" >> "$FAKE/cc.log"
while [ \$# -gt 0 ]; do
  if [ "\$1" = "-o" ]; then mkdir -p "\$(dirname "\$2")"; : > "\$2"; fi
  shift
done
EOF
cat > "$FAKE/ran" <<EOF
#!/bin/sh
echo "\$(basename "\$0") \$*" >> "$FAKE/order.log"
EOF
chmod +x "$FAKE/deps" "$FAKE/pkg-config" "$FAKE/cc" "$FAKE/ran"
ln -s ran "$FAKE/demo"
ln -s ran "$FAKE/run-tests"
ln -s cc "$FAKE/fuzz-cc"

# bootstrap TARGET: make TARGET in a fresh copy of the build state, with the stand-ins
bootstrap () {
  local target=$1
  rm -rf "$COPY/build" "$COPY/bin" "$FAKE"/*.log "$FAKE/installed"
  (cd "$COPY" && env -u MAKEFLAGS -u MAKELEVEL make "$target" DEPS="$FAKE/deps" \
    PKG_CONFIG="$FAKE/pkg-config" CC="$FAKE/cc" FUZZ_CC="$FAKE/fuzz-cc" \
    DEMO="$FAKE/demo" RUN_TESTS="$FAKE/run-tests") > "$WORK/make-$target.log" 2>&1
  local rc=$?
  check "make $target on a bare machine: exit 0" test $rc -eq 0
  [ $rc -eq 0 ] || tail -n 20 "$WORK/make-$target.log" | sed 's/^/  /'
  if [ -s "$FAKE/early.log" ]; then
    fail "make $target: pkg-config was asked before the install: $(head -n 3 "$FAKE/early.log" | tr '\n' ' ')"
  else
    pass "make $target: pkg-config is asked only after the install"
  fi
  check "make $target: the installer ran first" \
    test "$(head -n 1 "$FAKE/order.log" 2> /dev/null)" = install
  local compiles links
  compiles=$(grep -c -- ' -c ' "$FAKE/cc.log" 2> /dev/null || echo 0)
  check "make $target: sources were compiled ($compiles)" test "$compiles" -gt 40
  check "make $target: every compile has the package flags" \
    test "$(grep -- ' -c ' "$FAKE/cc.log" | grep -vc -- '-I/fake/after-install/include')" -eq 0
  links=$(grep -v -- ' -c ' "$FAKE/cc.log" | grep -E -- '-o [^ ]*bin/portevo[-a-z]*( |$)' | wc -l)
  check "make $target: the five programs were linked ($links)" test "$links" -ge 5
  check "make $target: every program's link has the package libraries" \
    test "$(grep -v -- ' -c ' "$FAKE/cc.log" | grep -E -- '-o [^ ]*bin/portevo' |
            grep -vc -- '-lfake_after_install')" -eq 0
}

bootstrap run
check "make run: the demo starts after the build" \
  test "$(tail -n 1 "$FAKE/order.log" | cut -d' ' -f1)" = demo
bootstrap test
check "make test: the suites run after both builds" \
  grep -q '^run-tests --bin bin --san-bin build/san/bin' "$FAKE/order.log"
check "make test: the sanitizer build was compiled with the package flags" \
  grep -q -- '-fsanitize=address,undefined .*-I/fake/after-install/include' "$FAKE/cc.log"
check "make test: the fuzz targets were built with the package flags" \
  grep -q -- '-fsanitize=fuzzer.*-I/fake/after-install/include' "$FAKE/cc.log"

finish
