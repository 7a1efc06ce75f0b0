#!/usr/bin/env bash
# Builds build-asan/ (SONDE_SANITIZE=ON: AddressSanitizer + UndefinedBehavior
# Sanitizer on every target) and runs the whole test suite in it. Fails when a
# test fails or when any process of any test (the agents the tests start
# included) wrote a sanitizer report. Extra arguments go to ctest (-L, -R...).
#
# Expects the dependencies installed (scripts/test.sh does that first).
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
build_dir=${SONDE_ASAN_BUILD_DIR:-build-asan}

# The benchmarks are not run by the suite: build-asan leaves them out.
[ -f "$build_dir/build.ninja" ] ||
  cmake -S . -B "$build_dir" -G Ninja -DSONDE_SANITIZE=ON -DSONDE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"

# Every test writes its ASan/LSan reports to $reports/<test>.asan.<pid>
# (sonde_add_test appends log_path): a report of a child process is a file
# here even when the test itself never looked at the child's stderr. UBSan
# reports halt the process and go to its stderr (g++'s runtime ignores
# log_path next to ASan): a test's own fail it, an agent's fail the test
# through tests/support/agent_process.hpp.
reports=$build_dir/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
# Writable by all, sticky: some tests run the agent as an unprivileged user.
chmod 1777 "$reports"

suppressions=$source_dir/scripts/sanitizers/lsan.supp
# halt_on_error: the first report ends the process; exitcode 1 (ASan) / 23
# (leaks) makes it visible to whoever waits for it; detect_leaks: at exit.
# intercept_tls_get_addr=0: with it, LeakSanitizer's tracer crashed at the
# agent's exit in most runs of a test loading every BPF tracer ("Tracer
# caught signal 11" after "DTLS 9 at 0x...c0e-0x2c00001d10", a stale dynamic
# TLS range of a dlopen'd object; the runtime's known DTLS bug); leaks are
# still checked, dynamic TLS blocks are not scanned as roots.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:check_initialization_order=1:strict_init_order=1:intercept_tls_get_addr=0
export LSAN_OPTIONS=suppressions=$suppressions:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:report_error_type=1
# The BPF tests must run, not skip: the CI machines have BPF (.ci/run sets
# this too; a local run as root gets the same strictness).
[ "$(id -u)" -eq 0 ] && export SONDE_REQUIRE_BPF=${SONDE_REQUIRE_BPF:-1}

status=0
(cd "$build_dir" && ctest --output-on-failure --timeout 900 "$@") || status=$?

shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  echo "sanitizer reports (${#found[@]}), named <test>.<sanitizer>.<pid>:" >&2
  for f in "${found[@]}"; do
    echo "===== ${f#"$reports"/}" >&2
    cat "$f" >&2
  done
  status=1
fi
[ "$status" -eq 0 ] && echo "sanitized suite: every test passed, no sanitizer report"
exit "$status"
