#!/usr/bin/env bash
# Added cost per syscall of the syscall tracer against libbpf-tools'
# `syscount -L` (which also times every syscall), in one run: a tight
# getppid loop pinned to one CPU, without tracing, with sonde's syscall
# plugin (default config: getppid is traced), and with syscount -L; then
# both attached at once, comparing the CPU time inside their BPF programs.
#   bench/syscall_overhead.sh [CALLS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-3000000}
rounds=${2:-3}
scripts/install-deps.sh libbpf-tools
scripts/build.sh >/dev/null
loop="taskset -c 1 build/bench/getppid_loop $calls"
work=$(mktemp -d)
tracer_pid=
trap 'kill $tracer_pid 2>/dev/null || true; rm -rf "$work"' EXIT
source bench/bpf_side_by_side.sh

measure() { for _ in $(seq "$rounds"); do $loop; done | median; }

printf '[inputs.syscall]\n[sinks.stdout]\n' > "$work/sonde.toml"
base=$(measure)
build/sonde run --config-dir "$work" --plugin-dir build/plugins >/dev/null 2>"$work/log" &
tracer_pid=$!
for _ in $(seq 100); do grep -q "inputs.syscall: tracing" "$work/log" && break; sleep 0.1; done
sonde=$(measure)
kill -TERM $tracer_pid; wait $tracer_pid || true
base2=$(measure)
syscount -L >/dev/null 2>&1 &
tracer_pid=$!
sleep 2
syscount=$(measure)
kill -INT $tracer_pid; wait $tracer_pid || true

awk -v b1="$base" -v b2="$base2" -v s="$sonde" -v c="$syscount" 'BEGIN {
  base = (b1 + b2) / 2;
  printf "getppid: %.1f ns bare, %.1f ns with sonde syscall, %.1f ns with syscount -L\n", base, s, c;
  printf "added: sonde %.1f ns, syscount -L %.1f ns, ratio %.2f\n", s - base, c - base, (s - base) / (c - base);
}'

echo "in-program CPU time, both tracers attached at once (kernel.bpf_stats_enabled):"
side_by_side "[inputs.syscall]\n[sinks.stdout]\n" "syscount -L" "taskset -c 1 build/bench/getppid_loop $calls" "sonde:sys_enter_btf,sys_exit_btf" "syscount:sys_enter,sys_exit"
