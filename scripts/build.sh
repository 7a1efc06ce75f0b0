#!/usr/bin/env bash
# Configures (once) and builds sonde into build/. Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja "$@" >/dev/null
cmake --build build --parallel "$(nproc)"
