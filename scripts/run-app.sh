#!/usr/bin/env bash
# Installs what Convolve needs, builds it and starts the app from the build tree.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh
[ -d build ] || meson setup build
meson compile -C build
# Uninstalled, the app finds its schema and its translations in the build tree.
export GSETTINGS_SCHEMA_DIR="$top/build/data"
export CONVOLVE_LOCALEDIR="$top/build/po"
# A locale that was never generated falls back to English, silently: say so.
if locale 2>&1 >/dev/null | grep -q 'Cannot set'; then
  echo "run-app.sh: the locale ${LC_ALL:-${LANG:-}} is not available, so the app shows English;" \
       "see README.md, \"Languages\", to generate it" >&2
fi
exec ./build/src/app/convolve "$@"
