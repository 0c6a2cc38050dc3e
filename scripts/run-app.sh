#!/usr/bin/env bash
# Installs what Convolve needs, builds it and starts the app from the build tree.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh
[ -d build ] || meson setup build
meson compile -C build
export GSETTINGS_SCHEMA_DIR="$top/build/data"
exec ./build/src/app/convolve "$@"
