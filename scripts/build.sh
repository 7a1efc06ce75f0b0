#!/usr/bin/env bash
# Configures (once) and builds sonde into build/. Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache shares objects between build trees (build/, build-minimal/): paths
# relative to the source tree, the build directory left out of the key.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja "$@" >/dev/null
cmake --build build --parallel "$(nproc)"
