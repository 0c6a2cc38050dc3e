#!/usr/bin/env bash
# Runs convolve-cli's main commands under valgrind's leak checker on data
# the script makes itself (a tiny CIFAR-10 binary folder and a PNG), and
# prints "definitely lost: N bytes" per command. Fails when any command
# fails, reports a memory error, or loses memory for certain.
#
#   scripts/valgrind-cli.sh [BUILD_DIR]     (default: build)
#
# Needs valgrind (apt-get install valgrind) and python3. Not part of the
# test suite: it takes a few minutes.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$top/build}
cli=$build/src/cli/convolve-cli

command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed to write the test data" >&2; exit 2; }
[ -x "$cli" ] || { echo "no $cli: build first (meson setup build && meson compile -C build)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/convolve-valgrind-XXXXXX")
# VALGRIND_KEEP=1 keeps the data and the logs.
[ "${VALGRIND_KEEP:-}" = 1 ] && echo "logs in $work" || trap 'rm -rf "$work"' EXIT

# A CIFAR-10 binary folder (1 label byte + 3x32x32 pixels a record; each
# class a brighter band, so training learns something) and one 32x32 PNG.
python3 - "$work" <<'EOF'
import os, random, struct, sys, zlib
work = sys.argv[1]
data = os.path.join(work, "cifar")
os.makedirs(data)
names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
rng = random.Random(1)
def batch(path, n):
    with open(path, "wb") as f:
        for i in range(n):
            label = i % 10
            pixels = bytes(180 if (p // 128) % 10 == label else rng.randrange(100) for p in range(3 * 1024))
            f.write(bytes([label]) + pixels)
batch(os.path.join(data, "data_batch_1.bin"), 120)
batch(os.path.join(data, "test_batch.bin"), 40)
with open(os.path.join(data, "batches.meta.txt"), "w") as f:
    f.write("\n".join(names) + "\n")
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
rows = b"".join(b"\0" + bytes((x * 8 + y * 3 + c * 50) % 256 for x in range(32) for c in range(3)) for y in range(32))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
with open(os.path.join(work, "image.png"), "wb") as f:
    f.write(png)
EOF

spec="conv2d(4,3,same,relu),maxpool(2),flatten,dense(16,relu),dropout(0.2),dense(10,softmax)"
supp=()
for file in /usr/share/glib-2.0/valgrind/glib.supp "$top/scripts/valgrind-cli.supp"; do
  [ -f "$file" ] && supp+=("--suppressions=$file")
done
export OPENBLAS_NUM_THREADS=1 G_DEBUG=gc-friendly G_SLICE=always-malloc

status=0
results=()

# run NAME ARGS...: one command under valgrind, its log in $work/NAME.log.
run() {
  local name=$1; shift
  local log=$work/$name.log
  local rc=0 lost

  echo "== $name: convolve-cli $*"
  valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
    --show-leak-kinds=definite --num-callers=30 "${supp[@]}" --log-file="$log" \
    "$cli" "$@" >"$work/$name.out" 2>&1 || rc=$?
  # "All heap blocks were freed" prints no summary line: nothing lost.
  lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1 | tr -d ,)
  lost=${lost:-0}
  results+=("$name: definitely lost: $lost bytes")
  echo "$name: definitely lost: $lost bytes (exit $rc)"
  if [ "$rc" != 0 ] || [ "$lost" != 0 ]; then
    status=1
    echo "--- output of $name" >&2
    tail -n 20 "$work/$name.out" >&2
    echo "--- valgrind log of $name" >&2
    grep -v '^==[0-9]*== *$' "$log" | tail -n 80 >&2
  fi
}

run summary summary --spec "$spec"
run bench bench --steps 1 --warmup 0 --predictions 2 --threads 1
run train train --data "$work/cifar" --limit 60 --epochs 1 --augment-epochs 1 --batch-size 16 \
  --spec "$spec" --threads 1 --save "$work/model.safetensors" --checkpoint "$work/run.safetensors" \
  --log-json "$work/epochs.jsonl"
run resume train --data "$work/cifar" --limit 60 --epochs 2 --threads 1 \
  --resume "$work/run.safetensors" --save "$work/model2.safetensors"
run evaluate evaluate --model "$work/model.safetensors" --data "$work/cifar" --limit 40 \
  --threads 1 --report "$work/report"
run predict predict --model "$work/model.safetensors" "$work/image.png"
run explain explain --model "$work/model.safetensors" --out "$work/explain" "$work/image.png"

echo
printf '%s\n' "${results[@]}"
exit $status
