#!/usr/bin/env bash
# scripts/install-deps.sh - installs, from Debian's packages and npm, whatever portevo's
# build, tests and demo need and this machine lacks.  Idempotent and quick when all is
# there: it asks dpkg first and runs apt-get only for what is missing.
#
#   scripts/install-deps.sh         install what is missing (make run, make test)
#   scripts/install-deps.sh --all   apt-get install every package of the list (CI, after
#                                   its own apt-get update)
#
# Node.js and npm count as present when `node` and `npm` are on PATH (e.g. a newer Node
# from elsewhere, whose npm is bundled: Debian's npm package would conflict with it).
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=0
[ "${1:-}" = "--all" ] && ALL=1

mapfile -t PACKAGES < <(grep -v '^#' scripts/packages.txt | grep -v '^$')
missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$ALL" = 1 ]; then missing+=("$p"); continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm and nodejs may come from elsewhere (a newer node): accept them if on PATH.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    nodejs) command -v node >/dev/null || filtered+=("$p") ;;
    npm) command -v npm >/dev/null || filtered+=("$p") ;;
    python3) command -v python3 >/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if [ ${#filtered[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${filtered[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "install-deps: installing ${filtered[*]}"
  export DEBIAN_FRONTEND=noninteractive
  [ "$ALL" = 1 ] || apt-get update -q
  apt-get install -y -q --no-install-recommends "${filtered[@]}"
  # Debian starts an nfcapd service on install on some setups: we run our own.
  systemctl disable --now nfdump.service >/dev/null 2>&1 || true
fi
if [ -f package.json ] && { [ "$ALL" = 1 ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; }; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
fi
