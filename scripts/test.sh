#!/usr/bin/env bash
# Installs what Convolve needs, then builds and runs the whole test suite
# twice: a normal optimised build, then an ASan+UBSan build. GTK tests need a
# display and a session bus, so everything runs inside xvfb-run and
# dbus-run-session.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
if [ "${CONVOLVE_SKIP_DEPS:-}" != 1 ]; then
  bash scripts/install-deps.sh
fi

run_suite() {
  local dir=$1; shift
  [ -d "$dir" ] || meson setup "$dir" "$@"
  meson compile -C "$dir"
  xvfb-run -a -s '-screen 0 1400x900x24' dbus-run-session -- \
    meson test -C "$dir" --print-errorlogs --num-processes 2
}

echo "== normal build =="
run_suite build-tests

echo "== sanitizer build (address, undefined) =="
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
run_suite build-sanitize -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
