#!/usr/bin/env bash
# Installs onnxruntime-node from the npm registry into DIR/node_modules, for
# the ONNX export test (tests/test-onnx-runtime.c, which looks in
# $CONVOLVE_ONNXRUNTIME_DIR, else <build>/onnxruntime-node).
#
# usage: scripts/install-onnxruntime.sh DIR
#
# The package ships the CPU runtime for linux-x64 inside it, so it is
# installed with --ignore-scripts: no post-install download, no scripts of
# any dependency run. A pinned version; nothing is done when DIR already
# holds it (CI keeps DIR in its build dir between runs). npm's own cache
# lives in DIR/.npm-cache, not the user's home. Retried, since a registry
# hiccup should not fail a test run.
set -euo pipefail
version=1.30.0
dir=${1:?usage: scripts/install-onnxruntime.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
installed="$dir/node_modules/onnxruntime-node/package.json"

if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then
  echo "onnxruntime-node $version already in $dir"
  exit 0
fi
command -v npm >/dev/null || { echo "install-onnxruntime: no npm (Debian: npm)" >&2; exit 1; }

# A package.json of its own, so npm installs here and not into a parent
# project.
[ -f "$dir/package.json" ] || echo '{ "name": "convolve-onnxruntime", "private": true }' > "$dir/package.json"

for attempt in 1 2 3; do
  if npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --no-save \
       --cache "$dir/.npm-cache" --fetch-retries 4 --loglevel error \
       "onnxruntime-node@$version"; then
    break
  fi
  if [ "$attempt" = 3 ]; then
    echo "install-onnxruntime: npm install failed 3 times" >&2
    exit 1
  fi
  echo "install-onnxruntime: npm install failed, trying again in $((attempt * 10)) s" >&2
  sleep $((attempt * 10))
done
test -f "$installed"
echo "onnxruntime-node $version installed in $dir"
