#!/usr/bin/env bash
# The control plane of a running agent: reload by diff against a restart,
# hot-enable to first record, loss across 100 reloads at 1 M points/s, and
# the cost of the self-metrics (bench/control_plane.py says how). Builds what
# it needs into build-bench/ (SONDE_BUILD=dir to use another build tree).
# Needs root for the syscall tracer. About 3-4 minutes.
#   bench/control_plane.sh [reload|enable|loss|throughput|scrape]...
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SONDE_BUILD:-build-bench}
scripts/install-deps.sh python3 curl
[ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target sonde sonde_procfs sonde_net sonde_syscall sonde_sched sonde_iolatency \
  sonde_bpfinventory sonde_pagefault sonde_file sonde_stdout sonde_prometheus sonde_otlp \
  bench_generator bench_discard >/dev/null
SONDE_BUILD=$build exec python3 bench/control_plane.py "$@"
