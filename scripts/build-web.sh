#!/usr/bin/env bash
# scripts/build-web.sh - `make web`: copies the chart library the UI loads (uPlot, from
# npm's node_modules, installed by `npm ci`) into web/vendor/.  No CDN, no bundler: the rest
# of web/ is served as written.  web/vendor/ is generated and ignored by git.
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/uplot/dist
if [ ! -f "$src/uPlot.iife.min.js" ]; then
  echo "build-web: $src/uPlot.iife.min.js missing: run 'npm ci' (make deps)" >&2
  exit 1
fi
mkdir -p web/vendor
for f in uPlot.iife.min.js uPlot.min.css; do
  if ! cmp -s "$src/$f" "web/vendor/$f"; then cp "$src/$f" "web/vendor/$f"; echo "build-web: web/vendor/$f"; fi
done
cp -u node_modules/uplot/LICENSE web/vendor/uPlot.LICENSE 2>/dev/null || true
