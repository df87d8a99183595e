#!/usr/bin/env bash
# tests/system/install_test.sh - `make install` stages what README "Several servers" says:
# the five programs, the web UI with its chart library, and the systemd units, each unit
# starting an installed program with the config file and (for templates) the instance
# name; an installed program runs.
source "$(dirname "$0")/../lib/common.sh"
STAGE=$WORK/root
(cd "$ROOT" && make install DESTDIR="$STAGE" PREFIX=/usr/local > "$WORK/install.log" 2>&1)
check "make install DESTDIR=...: exit 0" test $? -eq 0 || { tail "$WORK/install.log"; finish; }
for program in portevo portevo-broker portevo-shard portevo-ingest portevo-gateway; do
  check "installed /usr/local/bin/$program" test -x "$STAGE/usr/local/bin/$program"
done
check "the installed portevo runs (portevo --help)" "$STAGE/usr/local/bin/portevo" --help
check "installed web/index.html" test -s "$STAGE/usr/local/share/portevo/web/index.html"
check "installed web/vendor/uPlot.iife.min.js" \
  test -s "$STAGE/usr/local/share/portevo/web/vendor/uPlot.iife.min.js"
for unit in "$ROOT"/deploy/*.service; do
  name=$(basename "$unit")
  installed=$STAGE/etc/systemd/system/$name
  check "installed unit $name" test -s "$installed"
  exec_start=$(sed -n 's/^ExecStart=//p' "$installed")
  program=$(echo "$exec_start" | cut -d' ' -f1)
  check "$name starts an installed program ($program)" test -x "$STAGE$program"
  check "$name passes the config file" grep -q -- '--config /etc/portevo/portevo.cfg' <<< "$exec_start"
  case "$name" in
    *@.service) check "$name passes its instance as --name" grep -q -- '--name %i' <<< "$exec_start" ;;
  esac
done
finish
