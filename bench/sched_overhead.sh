#!/usr/bin/env bash
# Added cost per context switch of the sched tracer against libbpf-tools'
# `runqlat`, in one run: a pipe ping-pong between two threads pinned to one
# CPU (two context switches per round trip), bare, with sonde's sched plugin
# (default config) and with runqlat; then both attached at once, comparing
# the CPU time inside their BPF programs.
#   bench/sched_overhead.sh [ROUND_TRIPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
trips=${1:-300000}
rounds=${2:-3}
scripts/install-deps.sh libbpf-tools
scripts/build.sh >/dev/null
cpu=$(( $(nproc) - 1 ))
work=$(mktemp -d)
tracer_pid=
trap 'kill $tracer_pid 2>/dev/null || true; rm -rf "$work"' EXIT
source bench/bpf_side_by_side.sh

measure() { for _ in $(seq "$rounds"); do build/bench/pipe_pingpong "$trips" "$cpu"; done | median; }

printf '[inputs.sched]\n[sinks.stdout]\n' > "$work/sonde.toml"
base=$(measure)
build/sonde run --config-dir "$work" --plugin-dir build/plugins >/dev/null 2>"$work/log" &
tracer_pid=$!
for _ in $(seq 100); do grep -q "inputs.sched: run-queue latency via" "$work/log" && break; sleep 0.1; done
sonde=$(measure)
kill -TERM $tracer_pid; wait $tracer_pid || true
base2=$(measure)
runqlat 60 1 >/dev/null 2>&1 &
tracer_pid=$!
sleep 2
runqlat=$(measure)
kill -INT $tracer_pid; wait $tracer_pid || true

awk -v b1="$base" -v b2="$base2" -v s="$sonde" -v r="$runqlat" 'BEGIN {
  base = (b1 + b2) / 2;
  printf "round trip: %.1f ns bare, %.1f ns with sonde sched, %.1f ns with runqlat\n", base, s, r;
  printf "added per context switch: sonde %.1f ns, runqlat %.1f ns, ratio %.2f\n", (s - base) / 2, (r - base) / 2, (s - base) / (r - base);
}'

echo "in-program CPU time, both tracers attached at once (kernel.bpf_stats_enabled):"
side_by_side "[inputs.sched]\n[sinks.stdout]\n" "runqlat 60 1" "build/bench/pipe_pingpong $trips $cpu" "sonde:switch_btf,wakeup_btf,wakeup_new_btf" "runqlat:sched_switch,sched_wakeup,sched_wakeup_new"
