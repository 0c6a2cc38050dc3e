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

passed=0
failed=0
status=0
failures=""

# onnxruntime-node (npm) for the ONNX export test, once for both builds,
# kept in the first build dir so a second run needs no registry. The test
# must then run, not skip.
bash scripts/install-onnxruntime.sh build-tests/onnxruntime-node
export CONVOLVE_ONNXRUNTIME_DIR="$top/build-tests/onnxruntime-node"
export CONVOLVE_REQUIRE_ONNXRUNTIME=1

# Counts one build's results from meson's JSON test log.
count_results() {
  local log=$1/meson-logs/testlog.json
  [ -f "$log" ] || return 0
  passed=$((passed + $(grep -c '"result": "OK"' "$log" || true)))
  failed=$((failed + $(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)))
  # The failed tests, each with the end of its output, for the summary at the
  # very end (CI shows the head and the tail of a long log).
  failures+=$(python3 - "$1" "$log" <<'PY'
import json, sys
build, log = sys.argv[1], sys.argv[2]
for line in open(log, encoding="utf-8", errors="replace"):
    row = json.loads(line)
    if row.get("result") in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
        print(f"--- {build}: {row['name']}: {row['result']} after {row['duration']:.1f} s")
        out = (row.get("stdout") or "") + (row.get("stderr") or "")
        for tail in out.splitlines()[-25:]:
            print("    " + tail[:300])
PY
)$'\n'
}

run_suite() {
  local dir=$1; shift
  # (the folder may exist unconfigured: onnxruntime-node is installed into it first)
  [ -d "$dir/meson-private" ] || meson setup "$dir" "$@"
  meson compile -C "$dir"
  rm -f "$dir/meson-logs/testlog.json"
  xvfb-run -a -s '-screen 0 1400x900x24' dbus-run-session -- \
    meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
  count_results "$dir"
}

echo "== normal build =="
run_suite build-tests

echo "== sanitizer build (address, undefined) =="
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1"
# Full stacks for leaks, so the suppressions (by library) match allocations
# made deep inside fontconfig too.
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
run_suite build-sanitize -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized

# --- fuzzing (issue 9) ---
# Each libFuzzer target for 45 s, two at a time, in a clang build
# (build-fuzz); any crash, leak, timeout or OOM fails the run and counts as
# one failed test. CONVOLVE_SKIP_FUZZ=1 leaves it out.
if [ "${CONVOLVE_SKIP_FUZZ:-}" != 1 ]; then
  echo "== fuzzing (scripts/fuzz.sh 45) =="
  if bash scripts/fuzz.sh 45; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    status=1
  fi
fi
# --- end fuzzing ---

if [ -n "${failures//[[:space:]]/}" ]; then
  echo "== failed =="
  echo "$failures"
fi
echo "tests: $passed passed, $failed failed"
exit $status
