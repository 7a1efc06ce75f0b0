#!/usr/bin/env bash
# Ring buffer path: events per second delivered from the kernel to a null
# sink before the first loss. The syscall plugin with threshold 0 turns every
# getppid of a paced loop into an event (ring buffer 1 MiB, 64-byte records);
# each rate runs for a fixed number of calls, and the agent's summary says how
# many events arrived and how many the kernel dropped.
#   bench/ringbuf_throughput.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-1000000}
scripts/build.sh >/dev/null
work=$(mktemp -d)
sonde_pid=
trap 'kill $sonde_pid 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/sonde.toml" <<TOML
[inputs.syscall]
threshold = "0ns"
include = ["getppid"]
comm = "getppid_loop"
[sinks.discard]
match = ["syscall.slow"]
TOML
for rate in 250000 500000 1000000 2000000 0; do
  build/sonde run --config-dir "$work" --plugin-dir build/plugins --plugin-dir build/tests/abi_plugins \
    >/dev/null 2>"$work/log" &
  sonde_pid=$!
  for _ in $(seq 100); do grep -q "inputs.syscall: tracing" "$work/log" && break; sleep 0.1; done
  start=$(date +%s.%N)
  taskset -c 1 build/bench/getppid_loop "$calls" "$rate" >/dev/null
  end=$(date +%s.%N)
  sleep 0.5
  kill -TERM $sonde_pid; wait $sonde_pid || true
  summary=$(grep "shutdown summary" "$work/log")
  delivered=$(sed -n 's/.*sinks.discard delivered=\([0-9]*\).*/\1/p' <<<"$summary")
  lost=$(sed -n 's/.*ringbuf_full=\([0-9]*\).*/\1/p' <<<"$summary")
  awk -v r="$rate" -v c="$calls" -v d="$delivered" -v l="${lost:-0}" -v s="$start" -v e="$end" 'BEGIN {
    printf "offered %s/s: %d events in %.2f s (%.0f/s), delivered %d, lost %d\n",
           r == 0 ? "unpaced" : r, c, e - s, c / (e - s), d, l }'
done
