#!/usr/bin/env bash
# Data-parallel training on this machine: images per second of the tutorial
# model (CIFAR-10 shape, 8.4 M parameters, 33.6 MB of gradients) for
#   single    one process, the engine's fused step (dense backward + Adam)
#   dist-1    one rank of --distributed: the plain step and the allreduce calls
#   dist-2    two ranks, each with half of every global batch
# every run at 1 thread per process, interleaved (single, dist-1, dist-2,
# single, ...) so that load from elsewhere hits all three alike, and the
# gradient allreduce's time per step and its share of the step (as rank 0
# measured it: on one machine it includes waiting for the slower rank).
#
# usage: scripts/bench-mpi.sh [BUILD_DIR] [REPEATS] [IMAGES] [BATCH]
#   defaults: build 3 1024 32 (BATCH is the global batch)
# Needs a build with MPI (meson setup -Dmpi=enabled) and mpirun (openmpi-bin).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$top/build}
repeats=${2:-3}
images=${3:-1024}
batch=${4:-32}
cli=$build/src/cli/convolve-cli
[ -x "$cli" ] || { echo "no $cli: build first" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "mpirun is missing: apt-get install openmpi-bin" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A CIFAR-10 binary folder of random images (the speed does not depend on them).
python3 - "$tmp/cifar" "$images" <<'EOF'
import os, random, sys
folder, n = sys.argv[1], int(sys.argv[2])
os.makedirs(folder)
rng = random.Random(1)
for name, count in (('data_batch_1.bin', n), ('test_batch.bin', 10)):
    with open(os.path.join(folder, name), 'wb') as f:
        for i in range(count):
            f.write(bytes([i % 10]) + rng.randbytes(3072))
with open(os.path.join(folder, 'batches.meta.txt'), 'w') as f:
    f.write('\n'.join('class%d' % i for i in range(10)))
EOF

export OPENBLAS_NUM_THREADS=1
export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
# Shared memory with cross-memory attach (CMA, the default) is about 5x as
# fast for 33.6 MB as without (OMPI_MCA_btl_vader_single_copy_mechanism=none,
# which containers without ptrace rights need).
export OMPI_MCA_plm=${OMPI_MCA_plm:-isolated}
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none
root=()
[ "$(id -u)" = 0 ] && root=(--allow-run-as-root)

train_args=(train --data "$tmp/cifar" --epochs 1 --batch-size "$batch" --threads 1 --seed 1
            --runs-db "$tmp/runs.sqlite")

# Prints "images_per_s allreduce_ms step_ms share" of one run.
measure() {
  local kind=$1 out=$tmp/out.txt
  case $kind in
    single) "$cli" "${train_args[@]}" --log-json "$tmp/log.json" > "$out" ;;
    dist-1) mpirun "${root[@]}" -np 1 "$cli" "${train_args[@]}" --distributed --log-json "$tmp/log.json" > "$out" ;;
    dist-2) mpirun "${root[@]}" --oversubscribe -np 2 "$cli" "${train_args[@]}" --distributed \
              --log-json "$tmp/log.json" > "$out" ;;
  esac
  python3 - "$tmp/log.json" "$out" "$images" <<'EOF'
import json, re, sys
epoch = json.loads(open(sys.argv[1]).readline())
text = open(sys.argv[2]).read()
m = re.search(r'allreduce_ms_per_step: ([0-9.]+) - step_ms: ([0-9.]+) - allreduce_share: ([0-9.]+)', text)
ar, step, share = m.groups() if m else ('-', '-', '-')
print('%.1f %s %s %s' % (int(sys.argv[3]) / epoch['seconds'], ar, step, share))
EOF
}

echo "tutorial model, $images images, global batch $batch, 1 thread per process, $repeats rounds"
printf '%-8s %6s %12s %14s %10s %8s\n' run round images/s allreduce_ms step_ms share
for round in $(seq 1 "$repeats"); do
  for kind in single dist-1 dist-2; do
    read -r ips ar step share < <(measure "$kind")
    printf '%-8s %6d %12s %14s %10s %8s\n' "$kind" "$round" "$ips" "$ar" "$step" "$share"
    echo "$kind $ips $ar $step $share" >> "$tmp/all.txt"
  done
done

echo "medians:"
python3 - "$tmp/all.txt" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kind, *values = line.split()
    rows.setdefault(kind, []).append(values)
base = statistics.median(float(v[0]) for v in rows['single'])
for kind, values in rows.items():
    ips = statistics.median(float(v[0]) for v in values)
    extra = ''
    if values[0][1] != '-':
        extra = ' - allreduce %.1f ms/step of %.1f ms (%.1f%%)' % (
            statistics.median(float(v[1]) for v in values), statistics.median(float(v[2]) for v in values),
            100 * statistics.median(float(v[3]) for v in values))
    print('%-8s %8.1f images/s  x%.2f of single%s' % (kind, ips, ips / base, extra))
EOF
