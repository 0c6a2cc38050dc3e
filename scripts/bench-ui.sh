#!/usr/bin/env bash
# The app's main loop while it trains, and its speed against the CLI's.
# Runs the real window under Xvfb (tests/bench-ui.c: the window's own
# "train" action, an image in the predictor, the Training view on screen,
# then the Evaluation view until its evaluation is in) on a generated
# CIFAR-10 folder, then `convolve-cli train` on the same folder with the
# same recipe, and prints one JSON object: the app's figures (main-loop
# stall percentiles, images/s), the CLI's images/s, and app/CLI.
#
#   scripts/bench-ui.sh [BUILD_DIR] [EPOCHS] [APP_THREADS] [CLI_THREADS]
#
# APP_THREADS 0 (default) is the app's own choice; CLI_THREADS defaults to
# every core, as the CLI does. Training speed is images per second of epoch
# wall time (validation included), from the same trainer in both. The
# targets (issue 12): stall p99 < 16 ms and max < 50 ms, app >= 90% of the
# CLI. Timings on a shared machine vary by 30% or more between runs: repeat,
# and quote ratios.
#
# Environment: BENCH_UI_RENDERER (GSK_RENDERER for the app, default cairo:
# under Xvfb GTK's GL renderer is Mesa's llvmpipe, whose two threads would
# take the cores a desktop's GPU spares; "gl" measures that anyway),
# BENCH_UI_IMAGES (training images, default 5000; a fifth as many test
# images), BENCH_UI_OUT (folder for the dataset and logs; default temporary,
# removed).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
epochs=${2:-2}
app_threads=${3:-0}
cli_threads=${4:-$(nproc)}

for tool in xvfb-run dbus-run-session python3; do
  command -v "$tool" >/dev/null || { echo "bench-ui.sh needs $tool" >&2; exit 2; }
done
[ -x "$build/tests/bench-ui" ] || { echo "no $build/tests/bench-ui (a build with -Dgui=true)" >&2; exit 2; }

out=${BENCH_UI_OUT:-}
if [ -z "$out" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/convolve-bench-ui-XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
images=${BENCH_UI_IMAGES:-5000}

# A CIFAR-10 binary folder whose classes can be learnt (a bright band per
# class over noise), as scripts/soak.sh makes.
python3 - "$out/cifar" "$images" <<'EOF'
import os, random, sys
data, n = sys.argv[1], int(sys.argv[2])
os.makedirs(data, exist_ok=True)
rng = random.Random(1)
def batch(path, n):
    with open(path, "wb") as f:
        for i in range(n):
            label = i % 10
            f.write(bytes([label]) + bytes(180 if (p // 128) % 10 == label else rng.randrange(100)
                                           for p in range(3 * 1024)))
batch(os.path.join(data, "data_batch_1.bin"), n)
batch(os.path.join(data, "test_batch.bin"), max(1, n // 5))
with open(os.path.join(data, "batches.meta.txt"), "w") as f:
    f.write("\n".join(["airplane", "automobile", "bird", "cat", "deer",
                       "dog", "frog", "horse", "ship", "truck"]) + "\n")
EOF

GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR="$build/data" NO_AT_BRIDGE=1 GTK_A11Y=none \
GSK_RENDERER=${BENCH_UI_RENDERER:-cairo} CONVOLVE_RUNS_DB="$out/runs.sqlite" \
  xvfb-run -a -s '-screen 0 1400x900x24' dbus-run-session -- \
  "$build/tests/bench-ui" --data "$out/cifar" --epochs "$epochs" --threads "$app_threads" \
  >"$out/app.json" 2>"$out/app.log" || { cat "$out/app.log" >&2; exit 1; }

"$build/src/cli/convolve-cli" train --data "$out/cifar" --epochs "$epochs" --threads "$cli_threads" \
  --runs-db "$out/runs.sqlite" --log-json "$out/cli.jsonl" >"$out/cli.log" 2>&1 \
  || { cat "$out/cli.log" >&2; exit 1; }

python3 - "$out/app.json" "$out/cli.jsonl" "$images" "$epochs" "$cli_threads" <<'EOF'
import json, sys
app = json.load(open(sys.argv[1]))
epochs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
images, n_epochs, cli_threads = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
seconds = sum(e["seconds"] for e in epochs)
cli = {"threads": cli_threads, "train_seconds": round(seconds, 3),
       "images_per_second": round(images * n_epochs / seconds, 1)}
print(json.dumps({"app": app, "cli": cli,
                  "app_over_cli": round(app["images_per_second"] / cli["images_per_second"], 3)}))
EOF
