#!/usr/bin/env bash
# Soak benchmark: trains in the app for MINUTES (default 30) under Xvfb,
# with an image in the predictor and the Training and Evaluation views
# taking turns on screen, and samples the app's memory (VmRSS, and VmHWM,
# the peak) every 10 s, with the epochs finished so far (read from the
# run store the app records into, a private one in the output folder).
# Prints the series as JSON and whether RSS stayed flat after the first
# epoch (when the evaluation's buffers arrive): max - min of VmRSS from the
# first sample after it on within 5 % of the min plus 20 MB. Exits 1 when
# it did not, or when no epoch finished.
#
#   scripts/soak.sh [MINUTES]
#
# Environment: BUILD (default build), SOAK_APP (the app binary, default
# BUILD/src/app/convolve), SOAK_DATASET (a dataset folder, or
# "generated" for a CIFAR-10 folder of 5000 images made here, whose epochs
# take about a minute; default /usr/share/datasets/fashion-mnist when it
# is there, else generated), SOAK_INTERVAL (seconds between samples, default 10),
# SOAK_OUT (folder for the JSON and a final screenshot; default a
# temporary folder, kept).
#
# The app is driven without pixel coordinates where it can be: a dataset
# folder on the command line, the window's actions (win.train,
# win.show-view) over D-Bus with gdbus. Only dragging a sample into the
# predictor needs xdotool (and is skipped without it).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minutes=${1:-30}
build=${BUILD:-$top/build}
app=${SOAK_APP:-$build/src/app/convolve}
app_id=io.github.convolve.Convolve
window_path=/io/github/convolve/Convolve/window/1

if [ -z "${CONVOLVE_SOAK_INNER:-}" ]; then
  [ -x "$app" ] || { echo "no $app: build first (meson setup build && meson compile -C build)" >&2; exit 2; }
  for tool in xvfb-run dbus-run-session gdbus python3; do
    command -v "$tool" >/dev/null || { echo "soak.sh needs $tool" >&2; exit 2; }
  done
  export CONVOLVE_SOAK_INNER=1
  exec dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' bash "$0" "$@"
fi

interval=${SOAK_INTERVAL:-10}
out=${SOAK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/convolve-soak-XXXXXX")}
mkdir -p "$out"

dataset=${SOAK_DATASET:-/usr/share/datasets/fashion-mnist}
if [ "$dataset" = generated ] || [ ! -d "$dataset" ]; then
  dataset=$out/cifar
  python3 - "$dataset" <<'EOF'
import os, random, sys
data = sys.argv[1]
os.makedirs(data, exist_ok=True)
rng = random.Random(1)
def batch(path, n):
    with open(path, "wb") as f:
        for i in range(n):
            label = i % 10
            f.write(bytes([label]) + bytes(180 if (p // 128) % 10 == label else rng.randrange(100)
                                           for p in range(3 * 1024)))
batch(os.path.join(data, "data_batch_1.bin"), 5000)
batch(os.path.join(data, "test_batch.bin"), 1000)
with open(os.path.join(data, "batches.meta.txt"), "w") as f:
    f.write("\n".join(["airplane", "automobile", "bird", "cat", "deer",
                       "dog", "frog", "horse", "ship", "truck"]) + "\n")
EOF
fi

export GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR=$build/data
export NO_AT_BRIDGE=1 GTK_A11Y=none
export CONVOLVE_RUNS_DB=$out/runs.sqlite
"$app" "$dataset" >"$out/app.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT

action() {
  gdbus call --session --dest "$app_id" --object-path "$window_path" \
    --method org.gtk.Actions.Activate "$@" '{}' >/dev/null
}
action_enabled() {
  gdbus call --session --dest "$app_id" --object-path "$window_path" \
    --method org.gtk.Actions.Describe "$1" 2>/dev/null | grep -q '^((true'
}

# The window is up and the dataset loaded when Train is enabled.
for _ in $(seq 120); do
  action_enabled train && break
  kill -0 "$pid" 2>/dev/null || { echo "the app exited:" >&2; cat "$out/app.log" >&2; exit 1; }
  sleep 1
done
action_enabled train || { echo "Train never became enabled" >&2; exit 1; }

# The first sample of the grid into the predictor (positions at 1280x800,
# the window maximised by the window manager's absence: see the screenshot).
predictor=no
if command -v xdotool >/dev/null; then
  window=$(xdotool search --sync --pid "$pid" 2>/dev/null | tail -1 || true)
  if [ -n "$window" ]; then
    xdotool windowsize "$window" 1280 800 windowmove "$window" 0 0 2>/dev/null || true
    sleep 2
    xdotool mousemove 362 165 mousedown 1 sleep 0.3 mousemove 420 190 sleep 0.3 \
      mousemove 900 220 sleep 0.3 mousemove 1030 230 sleep 0.5 mouseup 1 2>/dev/null || true
    predictor=dragged
  fi
fi

action train '[]'
start=$(date +%s)
end=$((start + minutes * 60))
samples=()
runs=1
view=training
echo "soak: pid $pid, dataset $dataset, $minutes min, a sample every $interval s, output in $out"
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$interval"
  kill -0 "$pid" 2>/dev/null || { echo "the app died:" >&2; tail -n 20 "$out/app.log" >&2; exit 1; }
  now=$(($(date +%s) - start))
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  epochs=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
print(db.execute("SELECT count(*) FROM epochs").fetchone()[0])' "$CONVOLVE_RUNS_DB" 2>/dev/null || echo 0)
  samples+=("{\"t\": $now, \"rss_kb\": $rss, \"hwm_kb\": $hwm, \"epochs\": $epochs}")
  echo "t=${now}s VmRSS=${rss} kB VmHWM=${hwm} kB epochs=${epochs}"
  # Both views redraw in turn: the predictor's bars, then the confusion
  # matrix and the per-class table (refreshed after every epoch).
  if [ $((now / 60 % 2)) = 1 ] && [ "$view" = training ]; then
    action show-view "[<'evaluation'>]"; view=evaluation
  elif [ $((now / 60 % 2)) = 0 ] && [ "$view" = evaluation ]; then
    action show-view "[<'training'>]"; view=training
  fi
  # A run that finished is followed by another, so the soak keeps training.
  if action_enabled train; then
    action train '[]'; runs=$((runs + 1))
  fi
done

action show-view "[<'training'>]" || true
sleep 2
command -v import >/dev/null && import -window root "$out/soak-end.png" 2>/dev/null || true

json="$out/soak.json"
(IFS=,; echo "[${samples[*]}]") >"$json"
python3 - "$json" "$minutes" "$runs" "$predictor" <<'EOF'
import json, sys
samples = json.load(open(sys.argv[1]))
minutes, runs, predictor = sys.argv[2], sys.argv[3], sys.argv[4]
rss = [s["rss_kb"] for s in samples]
hwm = [s["hwm_kb"] for s in samples]
after = [s for s in samples if s["epochs"] >= 1]
if not after:
    print("no epoch finished in %s min: nothing to judge" % minutes)
    sys.exit(1)
settle = after[0]["t"]
half = [s["rss_kb"] for s in after]
low, high = min(half), max(half)
allowed = 0.05 * low + 20 * 1024
flat = high - low <= allowed
print(json.dumps({"minutes": float(minutes), "runs": int(runs), "predictor": predictor,
                  "samples": samples}, indent=None))
print("epochs finished: %d, the first by %d s" % (samples[-1]["epochs"], settle))
print("VmRSS MB: first %.1f, min %.1f, max %.1f; from %d s on %.1f..%.1f (spread %.1f MB, allowed %.1f MB)"
      % (rss[0] / 1024, min(rss) / 1024, max(rss) / 1024, settle, low / 1024, high / 1024,
         (high - low) / 1024, allowed / 1024))
print("VmHWM MB: at the half %.1f, at the end %.1f" % (hwm[len(hwm) // 2] / 1024, hwm[-1] / 1024))
print("RSS flat after the first epoch:", "yes" if flat else "NO")
sys.exit(0 if flat else 1)
EOF
