#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer (issue 9).
#
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Builds the harnesses of tests/fuzz/ in a clang build dir with ASan+UBSan
# (build-fuzz, or $CONVOLVE_FUZZ_BUILD), then runs each target (all of
# tests/fuzz/meson.build's list, or the ones named) for SECONDS (default 60),
# $CONVOLVE_FUZZ_JOBS (default 2) at a time, niced. Each run starts from the
# committed seeds (tests/fuzz/corpus/<target>) and keeps what it finds in
# <build>/fuzz-runs/<target>/corpus, so later runs go on from there.
#
# Prints per target the executions, the coverage (libFuzzer's cov and ft
# at the end) and any crash, leak, timeout or out-of-memory input, which is
# left in <build>/fuzz-runs/<target>/artifacts: copy it to
# tests/fuzz/regressions/<target>/ so the test suite replays it.
# Exits non-zero when any target found something.
#
# Targets marked fuzz-blocked in tests/fuzz/known-bugs.txt (an unfixed bug
# the fuzzer hits within seconds) only replay their seeds (-runs=0) unless
# CONVOLVE_FUZZ_KNOWN=run, so CI stays green until the parser is fixed and
# the line is removed.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

seconds=${1:-60}
[ $# -gt 0 ] && shift
case $seconds in
  ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
build=${CONVOLVE_FUZZ_BUILD:-build-fuzz}
jobs=${CONVOLVE_FUZZ_JOBS:-2}
fuzz_dir=tests/fuzz

# clang (libFuzzer and the sanitizer runtimes) and llvm-symbolizer for the
# stack traces, on Debian 12 as scripts/install-deps.sh installs the rest.
# libclang-rt-dev holds libFuzzer and the sanitizer runtimes; clang only
# recommends it.
if ! command -v clang >/dev/null || ! command -v llvm-symbolizer >/dev/null ||
   { command -v dpkg >/dev/null && ! dpkg -s libclang-rt-dev >/dev/null 2>&1; }; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-dev llvm
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(sed -n "s/^  \['\([a-z0-9-]*\)',.*/\1/p" "$fuzz_dir/meson.build")
fi

if [ ! -d "$build" ]; then
  CC=clang meson setup "$build" -Dfuzzing=enabled -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized -Dgui=false
elif ! meson configure "$build" | grep -qE '^ *fuzzing +enabled'; then
  echo "fuzz: $build is not a fuzzing build dir (CC=clang, -Dfuzzing=enabled); remove it or set CONVOLVE_FUZZ_BUILD" >&2
  exit 2
fi
meson compile -C "$build" "${targets[@]/#/fuzz-}"

# Known bugs: "target/file fuzz-blocked …" lines name targets that would
# hit an unfixed bug within a run; those only replay their seeds.
known_target() {
  [ "${CONVOLVE_FUZZ_KNOWN:-}" = run ] && return 1
  [ -f "$fuzz_dir/known-bugs.txt" ] || return 1
  sed 's/#.*//' "$fuzz_dir/known-bugs.txt" | awk '$2 == "fuzz-blocked" { print $1 }' | grep -q "^$1/"
}

dictionary() {
  local name=$1
  case $name in
    cifar10-python) name=pickle ;;
    idx-gzip|cifar10-binary) name=idx ;;
  esac
  [ -f "$fuzz_dir/$name.dict" ] && echo "-dict=$fuzz_dir/$name.dict"
  return 0
}

run_target() {
  local target=$1 dir=$build/fuzz-runs/$1 mode
  local -a limit
  rm -rf "$dir/artifacts"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if known_target "$target"; then
    limit=(-runs=0); mode=seeds
  else
    limit=(-max_total_time="$seconds"); mode=fuzz
  fi
  echo "$mode" > "$dir/mode"
  echo 1 > "$dir/rc"
  local rc=0
  # shellcheck disable=SC2046
  ASAN_OPTIONS=detect_leaks=1:symbolize=1:allocator_may_return_null=1:handle_sigtrap=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    nice -n "${CONVOLVE_FUZZ_NICE:-10}" "$build/tests/fuzz/fuzz-$target" \
      "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/" $(dictionary "$target") \
      "$dir/corpus" "$fuzz_dir/corpus/$target" > "$dir/log" 2>&1 || rc=$?
  echo "$rc" > "$dir/rc"
}

echo "== fuzzing ${#targets[@]} targets, ${seconds} s each, $jobs at a time =="
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  run_target "$target" &
done
wait

failed=0
printf '%-16s %-6s %12s %8s %8s  %s\n' target mode executions cov ft result
for target in "${targets[@]}"; do
  dir=$build/fuzz-runs/$target
  log=$dir/log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  artifacts=$(find "$dir/artifacts" -type f | sort)
  rc=$(cat "$dir/rc")
  result=ok
  if [ "$rc" != 0 ] || [ -n "$artifacts" ]; then
    result="FAILED (exit $rc)"
    failed=$((failed + 1))
  fi
  printf '%-16s %-6s %12s %8s %8s  %s\n' "$target" "$(cat "$dir/mode")" \
    "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
  if [ "$result" != ok ]; then
    grep -E '^(==[0-9]+== ?ERROR|SUMMARY|.*runtime error|fuzz: .*-(CRITICAL|WARNING|ERROR))' "$log" \
      | head -n 5 | sed 's/^/    /' || true
    for file in $artifacts; do echo "    input: $file"; done
    echo "    log: $log"
  fi
done

if [ "$failed" -gt 0 ]; then
  echo "fuzz: $failed of ${#targets[@]} targets found a problem"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, nothing found"
