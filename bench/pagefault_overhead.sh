#!/usr/bin/env bash
# Added cost per page fault of the pagefault tracer (libbpf-tools has no
# peer): touching fresh anonymous pages, bare and with the plugin loaded
# (default config), alternating, as absolute ns per fault and as a ratio.
#   bench/pagefault_overhead.sh [MIB] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-256}
rounds=${2:-5}
scripts/build.sh >/dev/null
work=$(mktemp -d)
tracer_pid=
trap 'kill $tracer_pid 2>/dev/null || true; rm -rf "$work"' EXIT
source bench/bpf_side_by_side.sh
measure() { for _ in $(seq "$rounds"); do taskset -c 1 build/bench/touch_pages "$mib" 4; done | median; }

printf '[inputs.pagefault]\n[sinks.stdout]\n' > "$work/sonde.toml"
base=$(measure)
build/sonde run --config-dir "$work" --plugin-dir build/plugins >/dev/null 2>"$work/log" &
tracer_pid=$!
for _ in $(seq 100); do grep -q "inputs.pagefault: page faults" "$work/log" && break; sleep 0.1; done
traced=$(measure)
kill -TERM $tracer_pid; wait $tracer_pid || true
base2=$(measure)
awk -v b1="$base" -v b2="$base2" -v t="$traced" 'BEGIN {
  base = (b1 + b2) / 2;
  printf "page fault: %.1f ns bare, %.1f ns with sonde pagefault: +%.1f ns per fault, ratio %.2f\n", base, t, t - base, t / base;
}'
