#!/usr/bin/env bash
# Builds the libFuzzer targets (a clang build in build-fuzz/, SONDE_FUZZ=ON)
# and runs each for SECONDS (default 10) on a working copy of its seed corpus,
# with AddressSanitizer, UndefinedBehaviorSanitizer and leak detection.
# Fails (exit 1) on any crash, leak, timeout, out-of-memory or sanitizer
# report, printing the path of the input that caused it. Prints, per target,
# executions, executions per second, coverage and corpus size.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 600 config_fuzz
#
# The working corpora (build-fuzz/fuzz/work/<target>/corpus) are kept between
# runs, so runs add up; FUZZ_FRESH=1 starts them again from the seeds. The
# source tree's corpora are only read. A reproducer worth keeping is copied by
# hand into the target's fuzz/corpus/<target>/ once the bug is fixed; it then
# replays in the normal test suite (ctest -L fuzz). docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-10}
shift || true
only=("$@")
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }

# clang and the compiler's runtime libraries, libFuzzer's among them
# (libclang-rt-14-dev is only recommended by clang, so not always there).
scripts/install-deps.sh libclang-rt-14-dev

build=$root/build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSONDE_FUZZ=ON -DSONDE_BUILD_TESTS=OFF -DSONDE_BUILD_BENCH=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; exit 1; }
fi
echo "building the fuzz targets in build-fuzz/ ..." >&2
cmake --build "$build" --target sonde_fuzz --parallel "$(nproc)" >"$build/fuzz-build.log" 2>&1 ||
  { tail -50 "$build/fuzz-build.log" >&2; exit 1; }

manifest=$build/fuzz/targets.tsv
[ -s "$manifest" ] || { echo "no fuzz targets in $manifest" >&2; exit 1; }

# The number after the last match of a pattern in a libFuzzer log, or "?".
last_number() {
  grep -oE "$1[0-9]+" "$2" | tail -1 | grep -oE '[0-9]+$' || echo '?'
}

# One line per target: name, binary, dictionary ("-": none), corpus paths.
failed=()
ran=0
printf '%-24s %12s %10s %8s %8s %8s  %s\n' target executions exec/s cov ft corpus result
while IFS=$'\t' read -r name binary dictionary corpus_paths; do
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $name "* ]]; then continue; fi
  work=$build/fuzz/work/$name
  [ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  rm -f "$work"/artifacts/*
  IFS=$'\t' read -r -a seeds <<<"$corpus_paths"
  for seed in "${seeds[@]}"; do
    if [ -d "$seed" ]; then
      find "$seed" -type f -exec cp -n -t "$work/corpus" {} +
    else
      cp -n "$seed" "$work/corpus/"
    fi
  done
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$work/artifacts/")
  [ "$dictionary" != - ] && args+=(-dict="$dictionary")
  log=$work/last-run.log
  status=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$binary" "${args[@]}" "$work/corpus" >"$log" 2>&1 || status=$?
  ran=$((ran + 1))
  executions=$(last_number 'stat::number_of_executed_units: *' "$log")
  per_second=$(last_number 'stat::average_exec_per_sec: *' "$log")
  cov=$(last_number 'cov: ' "$log")
  ft=$(last_number 'ft: ' "$log")
  corpus_size=$(find "$work/corpus" -type f | wc -l)
  # A sanitizer report without a crash (e.g. a recovered one) also fails.
  if [ $status -eq 0 ] && grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|Undefined|Leak)Sanitizer)|runtime error:' "$log"; then
    status=1
  fi
  result=ok
  if [ $status -ne 0 ]; then
    result="FAILED (exit $status)"
    failed+=("$name")
  fi
  printf '%-24s %12s %10s %8s %8s %8s  %s\n' "$name" "$executions" "$per_second" "$cov" "$ft" "$corpus_size" "$result"
  if [ $status -ne 0 ]; then
    {
      echo "---- $name: last lines of $log"
      grep -E 'ERROR|SUMMARY|runtime error|fuzz property|Test unit written|deadly signal|timeout|out-of-memory' "$log" | head -20
      for artifact in "$work"/artifacts/*; do
        [ -e "$artifact" ] && echo "reproducer: $artifact  (replay: $binary $artifact)"
      done
      echo "----"
    } >&2
  fi
done <"$manifest"

[ $ran -gt 0 ] || { echo "no target matched: ${only[*]}" >&2; exit 2; }
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: $ran targets, ${seconds}s each, no finding"
