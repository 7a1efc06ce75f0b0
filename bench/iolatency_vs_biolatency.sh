#!/usr/bin/env bash
# sonde's iolatency and libbpf-tools' biolatency attached at once to the same
# fio random-read workload on the build tree's disk: operation counts and
# p50/p99 compared (bench/iolatency_vs_biolatency.py).
#   bench/iolatency_vs_biolatency.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
scripts/install-deps.sh libbpf-tools fio python3
scripts/build.sh >/dev/null
disk=$(basename "$(readlink -f "/sys/dev/block/$(stat -c '%Hd:%Ld' .)")")
[ -e "/sys/class/block/$disk/partition" ] && disk=$(basename "$(dirname "$(readlink -f "/sys/class/block/$disk")")")
work=$(mktemp -d -p .)
sonde_pid=; bio_pid=
trap 'kill $sonde_pid $bio_pid 2>/dev/null || true; rm -rf "$work"' EXIT

fio --name=prepare --filename="$work/data" --size=256M --rw=write --bs=1M --direct=1 >/dev/null
printf '[agent]\ninterval = "1s"\n[inputs.iolatency]\n[sinks.stdout]\nmatch = ["block.io.latency", "block.io.dropped"]\n' > "$work/sonde.toml"
build/sonde run --config-dir "$work" --plugin-dir build/plugins >"$work/sonde.jsonl" 2>"$work/log" &
sonde_pid=$!
for _ in $(seq 100); do grep -q "inputs.iolatency: block I/O latency" "$work/log" && break; sleep 0.1; done
sleep 1.2  # a first point before the workload
ios() { awk -v d="$disk" '$3 == d {print $4 + $8 + $15 + $19}' /proc/diskstats; }
ios_before=$(ios)
biolatency -d "$disk" $((seconds + 2)) 1 >"$work/biolatency.txt" 2>&1 &
bio_pid=$!
sleep 1
fio --name=randread --filename="$work/data" --size=256M --rw=randread --bs=4k --direct=1 --iodepth=8 \
    --ioengine=libaio --runtime="$seconds" --time_based >/dev/null
wait $bio_pid
ios_after=$(ios)
sleep 1.2  # a last point after biolatency's window
kill -TERM $sonde_pid; wait $sonde_pid || true
echo "disk $disk, fio 4k random reads, iodepth 8, ${seconds}s; /proc/diskstats counted $((ios_after - ios_before)) completions meanwhile:"
python3 bench/iolatency_vs_biolatency.py "$work/sonde.jsonl" "$work/biolatency.txt" "$disk"
