#!/usr/bin/env bash
# Installs Convolve's build, run and test dependencies on Debian 12.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
packages=$(grep -v '^#' "$here/debian-packages.txt" | xargs)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $packages

# The ONNX export test runs exported files in onnxruntime-node, from npm
# (scripts/install-onnxruntime.sh). Debian's nodejs and npm, unless a node
# with npm is installed already: NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package, so naming both in the list above
# would fail on such a system.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  $sudo apt-get install -y -qq --no-install-recommends nodejs npm
fi
