#!/usr/bin/env bash
# CPU per collection cycle and resident memory: sonde (procfs + net, JSON to a
# file) against prometheus-node-exporter with the equivalent collectors, in
# the same run. CPU is read from /proc/PID/stat (utime + stime).
#   bench/collect_vs_node_exporter.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
scripts/install-deps.sh prometheus-node-exporter curl
scripts/build.sh >/dev/null

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
work=$(mktemp -d)
ne_pid=; sonde_pid=
trap 'kill $ne_pid $sonde_pid 2>/dev/null || true; rm -rf "$work"' EXIT

# measure LABEL TCPSTAT(yes|no): one side-by-side pass.
measure() {
  local label=$1 tcp=$2 ne_flags=() sonde_net=""
  [ "$tcp" = yes ] && ne_flags=(--collector.tcpstat) || sonde_net="tcp_states = false"

  # node_exporter: scrape as fast as curl allows for $seconds.
  prometheus-node-exporter --web.listen-address=127.0.0.1:19100 --collector.disable-defaults \
    --collector.cpu --collector.stat --collector.meminfo --collector.loadavg --collector.diskstats \
    --collector.netdev --collector.netstat "${ne_flags[@]}" >/dev/null 2>&1 &
  ne_pid=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:19100/metrics >/dev/null && break; sleep 0.1; done
  for _ in $(seq 20); do curl -sf http://127.0.0.1:19100/metrics >/dev/null; done  # warm up
  local before scrapes=0 end
  before=$(cpu_ticks $ne_pid); end=$((SECONDS + seconds))
  while [ $SECONDS -lt $end ]; do curl -sf http://127.0.0.1:19100/metrics >/dev/null; scrapes=$((scrapes + 1)); done
  local ne_ticks=$(( $(cpu_ticks $ne_pid) - before )) ne_rss; ne_rss=$(rss_kib $ne_pid)
  kill $ne_pid; wait $ne_pid 2>/dev/null || true

  # sonde: procfs + net every 10 ms, every record as JSON into a file.
  rm -rf "$work/conf.d"; mkdir "$work/conf.d"
  printf '[agent]\ninterval = "10ms"\n[inputs.procfs]\n[inputs.net]\n%s\n[sinks.stdout]\n' "$sonde_net" \
    > "$work/conf.d/sonde.toml"
  build/sonde run --config-dir "$work/conf.d" --plugin-dir build/plugins >"$work/out.jsonl" 2>"$work/log" &
  sonde_pid=$!
  sleep 1
  local lines_before cycles records sonde_ticks sonde_rss
  before=$(cpu_ticks $sonde_pid); lines_before=$(grep -c load_average.1m "$work/out.jsonl" || true)
  sleep "$seconds"
  sonde_ticks=$(( $(cpu_ticks $sonde_pid) - before )); sonde_rss=$(rss_kib $sonde_pid)
  cycles=$(( $(grep -c load_average.1m "$work/out.jsonl") - lines_before ))
  records=$(( $(wc -l < "$work/out.jsonl") / (cycles + lines_before) ))
  kill -TERM $sonde_pid; wait $sonde_pid || true

  awk -v label="$label" -v nt="$ne_ticks" -v ns="$scrapes" -v st="$sonde_ticks" -v sc="$cycles" -v hz="$hz" \
      -v nr="$ne_rss" -v sr="$sonde_rss" -v rec="$records" 'BEGIN {
    ne = nt / hz / ns * 1000; so = st / hz / sc * 1000;
    printf "[%s]\n", label;
    printf "  node_exporter: %d scrapes, %.3f ms CPU per scrape, RSS %.1f MiB\n", ns, ne, nr / 1024;
    printf "  sonde:         %d cycles (%d records each), %.3f ms CPU per cycle, RSS %.1f MiB\n", sc, rec, so, sr / 1024;
    printf "  ratio (sonde / node_exporter): CPU %.3f, RSS %.2f\n", so / ne, sr / nr;
  }'
}

measure "with TCP states (tcpstat)" yes
measure "without TCP states" no
