#!/usr/bin/env bash
# CPU per scrape of the prometheus sink serving N series (the generator input
# emits N gauge series once per second), side by side with
# prometheus-node-exporter's scrape of this host (its default collectors),
# both scraped by curl as fast as they answer. CPU is utime + stime of the
# server process; sonde's own collection (one cycle a second) is measured
# separately without scrapes and subtracted.
#   bench/prometheus_scrape.sh [SERIES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-1000}
seconds=${2:-10}
scripts/install-deps.sh prometheus-node-exporter curl
scripts/build.sh >/dev/null
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
work=$(mktemp -d)
sonde_pid=; ne_pid=
trap 'kill $sonde_pid $ne_pid 2>/dev/null || true; rm -rf "$work"' EXIT

printf '[inputs.generator]\npoints_per_tick = %d\npoints_per_emit = %d\n[sinks.prometheus]\nlisten = "127.0.0.1:19465"\n' \
  "$series" "$series" > "$work/sonde.toml"
build/sonde run --config-dir "$work" --plugin-dir build/plugins --plugin-dir build/bench/plugins >/dev/null 2>"$work/log" &
sonde_pid=$!
sleep 2
idle_before=$(cpu_ticks $sonde_pid); sleep "$seconds"; idle=$(( $(cpu_ticks $sonde_pid) - idle_before ))
lines=$(curl -sf http://127.0.0.1:19465/metrics | grep -vc '^#')
scrape() {  # scrape URL for $seconds; prints scrapes and CPU ticks of PID
  local url=$1 pid=$2 n=0 before end
  before=$(cpu_ticks "$pid"); end=$((SECONDS + seconds))
  while [ $SECONDS -lt $end ]; do curl -sf "$url" >/dev/null; n=$((n + 1)); done
  echo "$n $(( $(cpu_ticks "$pid") - before ))"
}
read -r sonde_scrapes sonde_ticks < <(scrape http://127.0.0.1:19465/metrics $sonde_pid)
kill -TERM $sonde_pid; wait $sonde_pid || true

prometheus-node-exporter --web.listen-address=127.0.0.1:19100 >/dev/null 2>&1 &
ne_pid=$!
sleep 2
ne_lines=$(curl -sf http://127.0.0.1:19100/metrics | grep -vc '^#')
read -r ne_scrapes ne_ticks < <(scrape http://127.0.0.1:19100/metrics $ne_pid)

awk -v hz="$hz" -v ss="$sonde_scrapes" -v st="$sonde_ticks" -v idle="$idle" -v sl="$lines" \
    -v ns="$ne_scrapes" -v nt="$ne_ticks" -v nl="$ne_lines" 'BEGIN {
  so = (st - idle) / hz / ss * 1000; ne = nt / hz / ns * 1000;
  printf "sonde prometheus sink: %d sample lines, %d scrapes, %.3f ms CPU per scrape (collection subtracted)\n", sl, ss, so;
  printf "node_exporter:         %d sample lines, %d scrapes, %.3f ms CPU per scrape\n", nl, ns, ne;
  printf "per 1,000 sample lines: sonde %.3f ms, node_exporter %.3f ms, ratio %.3f\n", so / sl * 1000, ne / nl * 1000, (so / sl) / (ne / nl);
}'
