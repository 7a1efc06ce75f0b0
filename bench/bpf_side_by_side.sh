# Sourced by the tracer benchmarks: median, and side_by_side SONDE_CONF PEER_CMD WORKLOAD OURS PEER:
# runs sonde (with SONDE_CONF) and the peer at once with the kernel's BPF
# run-time accounting on, runs WORKLOAD, and compares the CPU time spent in
# each side's programs (bench/bpf_cost.py).
# The median of numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

side_by_side() {
  local conf=$1 peer=$2 workload=$3 ours=$4 theirs=$5 dir stats_was sonde_pid peer_pid
  dir=$(mktemp -d)
  printf '%b' "$conf" > "$dir/sonde.toml"
  stats_was=$(sysctl -n kernel.bpf_stats_enabled)
  sysctl -qw kernel.bpf_stats_enabled=1
  build/sonde run --config-dir "$dir" --plugin-dir build/plugins >/dev/null 2>"$dir/log" &
  sonde_pid=$!
  $peer >/dev/null 2>&1 &
  peer_pid=$!
  sleep 2
  bench/bpf_cost.py snapshot > "$dir/before.json"
  $workload >/dev/null
  bench/bpf_cost.py snapshot > "$dir/after.json"
  kill -TERM $sonde_pid; kill -INT $peer_pid; wait $sonde_pid $peer_pid 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled="$stats_was"
  bench/bpf_cost.py compare "$dir/before.json" "$dir/after.json" "$ours" "$theirs"
  rm -rf "$dir"
}
