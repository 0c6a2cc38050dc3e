#!/usr/bin/env bash
# Side-by-side speed of Convolve's engine and the PyTorch peer
# (../shared/bench/torch_seed_model.py, needs Debian's python3-torch), run
# alternately on the same machine so that noise hits both alike. Prints the
# ratios; quote those, not the absolute numbers. Each pair names the
# OpenBLAS kernels ours ran with: OPENBLAS_CORETYPE in the environment
# (some machines set one) overrides the CPU's own choice for both sides
# (Debian's PyTorch uses OpenBLAS too); `env -u OPENBLAS_CORETYPE` measures
# what a user gets.
#
# With SPEC set (a model spec text, as `convolve-cli bench --spec` takes),
# both sides train that model instead: ours through --spec, PyTorch's
# built from the same text by scripts/torch-spec-model.py.
#
# usage: [SPEC=TEXT] scripts/bench-vs-torch.sh [BUILD_DIR] [THREADS] [PAIRS] [STEPS]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$top/build}
threads=${2:-$(nproc)}
pairs=${3:-3}
steps=${4:-100}
peer=${TORCH_PEER:-$top/../shared/bench/torch_seed_model.py}
python=${TORCH_PYTHON:-/usr/bin/python3}
spec=${SPEC:-}
ours_args=()
if [ -n "$spec" ]; then
  peer=$top/scripts/torch-spec-model.py
  ours_args=(--spec "$spec")
fi

[ -x "$build/src/cli/convolve-cli" ] || { echo "build $build first (meson setup/compile)" >&2; exit 1; }
[ -f "$peer" ] || { echo "PyTorch peer not found at $peer (set TORCH_PEER)" >&2; exit 1; }

ours_ips=(); ours_us=(); torch_ips=(); torch_us=()
for ((i = 1; i <= pairs; i++)); do
  line=$("$build/src/cli/convolve-cli" bench --steps "$steps" --threads "$threads" "${ours_args[@]}" | tail -n 1)
  ours_ips+=("$(sed -E 's/.*"train_images_per_second": ([0-9.]+).*/\1/' <<<"$line")")
  kernels=$(sed -nE 's/.*"blas_kernels": "([^"]*)".*/\1/p' <<<"$line")
  ours_us+=("$(sed -E 's/.*"predict_one_microseconds": ([0-9.]+).*/\1/' <<<"$line")")
  floor=$(sed -nE 's/.*"params_read_microseconds": ([0-9.]+).*/\1/p' <<<"$line")
  if [ -n "$spec" ]; then
    out=$(THREADS=$threads "$python" "$peer" throughput "$steps" "$spec")
  else
    out=$(THREADS=$threads "$python" "$peer" throughput "$steps")
  fi
  torch_ips+=("$(sed -nE 's/^train ([0-9.]+) img\/s.*/\1/p' <<<"$out")")
  torch_us+=("$(sed -nE 's/^predict one image ([0-9.]+) us.*/\1/p' <<<"$out")")
  echo "pair $i: convolve ${ours_ips[-1]} img/s, ${ours_us[-1]} us/predict (weights read once ${floor} us; OpenBLAS ${kernels}); torch ${torch_ips[-1]} img/s, ${torch_us[-1]} us/predict"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
oi=$(median "${ours_ips[@]}"); ti=$(median "${torch_ips[@]}")
ou=$(median "${ours_us[@]}"); tu=$(median "${torch_us[@]}")
awk -v oi="$oi" -v ti="$ti" -v ou="$ou" -v tu="$tu" -v t="$threads" 'BEGIN {
  printf "median over pairs, %d threads: training %.0f vs %.0f img/s (%.2fx), predict one %.0f vs %.0f us (%.2fx faster)\n", t, oi, ti, oi / ti, ou, tu, tu / ou }'
