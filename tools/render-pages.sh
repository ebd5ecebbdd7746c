#!/usr/bin/env bash
# Renders tools/ood-pages/*.html to PNG with headless Chromium (Debian's `chromium`), for the gate's
# out-of-distribution fixtures: then `.venv/bin/python tools/make-ood-fixtures.py --screenshots DIR`.
#   bash tools/render-pages.sh DIR
set -euo pipefail
out=${1:?give the folder to write the PNGs to}
mkdir -p "$out"
for page in "$(dirname "$0")"/ood-pages/*.html; do
  name=$(basename "$page" .html)
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --hide-scrollbars --window-size=1280,800 --screenshot="$out/$name.png" "file://$(realpath "$page")" 2>/dev/null
done
ls "$out"
