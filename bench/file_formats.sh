#!/bin/sh
# Bytes per record of the file sink's two formats, on the same records: one
# agent runs the shipped inputs (procfs, net, syscall, sched) for DURATION
# seconds and sends every record to a JSON-lines sink and a binary sink side
# by side, in three pairs: slow-syscall events, latency histograms, and all
# other metric points. A load makes slow syscalls: readers blocked on pipes
# whose writers wait 10-40 ms, and stress-ng's fsync stressor.
# Usage: bench/file_formats.sh [DURATION]   (root; after scripts/build.sh)
set -eu
duration=${1:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${SONDE_BUILD_DIR:-$here/build}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/conf"
pair() {  # name, subscription lines
    for format in jsonl binary; do
        printf '[sinks.%s_%s]\nplugin = "file"\nformat = "%s"\ndirectory = "%s/%s/%s"\n%s\n' \
            "$1" "$format" "$format" "$work" "$1" "$format" "$2"
    done
}
{
    printf '[agent]\ninterval = "1s"\n[inputs.procfs]\n[inputs.net]\n[inputs.syscall]\n[inputs.sched]\n'
    pair events 'match = ["syscall.slow"]'
    pair histograms 'match = ["*.latency"]'
    pair metrics 'kinds = ["metric"]
exclude = ["*.latency"]'
} > "$work/conf/bench.toml"

"$build/sonde" run --config-dir "$work/conf" --plugin-dir "$build/plugins" --plugin-dir "$build/sinks" \
    2> "$work/agent.log" &
agent=$!
sleep 2

# Slow syscalls: 4 pipe readers, each woken after 10-40 ms.
python3 - "$duration" <<'EOF' &
import os, random, sys, threading, time
end = time.time() + float(sys.argv[1])
def pair(seed):
    r, w = os.pipe()
    rng = random.Random(seed)
    def writer():
        while time.time() < end:
            time.sleep(rng.uniform(0.010, 0.040))
            os.write(w, b"x")
        os.close(w)
    threading.Thread(target=writer).start()
    while os.read(r, 1):
        pass
threads = [threading.Thread(target=pair, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
EOF
load=$!
if command -v stress-ng >/dev/null; then
    stress-ng --sync-file 1 --timeout "${duration}s" --temp-path "$work" >/dev/null 2>&1 &
    load="$load $!"
fi
wait $load
kill -TERM $agent
wait $agent

printf '%-11s %9s %14s %14s %10s %10s %7s\n' records count jsonl_bytes binary_bytes jsonl/rec binary/rec ratio
for name in events histograms metrics; do
    "$build/sonde" trace dump "$work/$name"/binary/* > "$work/dumped"
    cat "$work/$name"/jsonl/* > "$work/written"
    cmp -s "$work/dumped" "$work/written" || { echo "$name: the binary files do not dump to the JSON lines" >&2; exit 1; }
    count=$(wc -l < "$work/written")
    j=$(cat "$work/$name"/jsonl/* | wc -c)
    b=$(cat "$work/$name"/binary/* | wc -c)
    awk -v n="$name" -v c="$count" -v j="$j" -v b="$b" \
        'BEGIN { printf "%-11s %9d %14d %14d %10.1f %10.2f %7.3f\n", n, c, j, b, j / c, b / c, b / j }'
done
