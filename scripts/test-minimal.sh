#!/usr/bin/env bash
# The packager's minimal build: only the procfs input and the stdout sink,
# without eBPF, in build-minimal/. It must build, pass its tests (the
# packaging test among them: its packages build, pass lintian and run) and
# package.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache shares objects between build trees (build/, build-minimal/): paths
# relative to the source tree, the build directory left out of the key.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
[ -f build-minimal/build.ninja ] || cmake -S . -B build-minimal -G Ninja \
  -DSONDE_PLUGINS=procfs -DSONDE_SINKS=stdout -DSONDE_WITH_BPF=OFF -DSONDE_BUILD_BENCH=OFF >/dev/null
cmake --build build-minimal --parallel "$(nproc)"
(cd build-minimal && ctest --output-on-failure --timeout 600)
BUILD_DIR=build-minimal scripts/package.sh
