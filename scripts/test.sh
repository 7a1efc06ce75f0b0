#!/usr/bin/env bash
# Install what is missing, build, run the whole test suite; then build it
# with AddressSanitizer + UBSan and run it again (scripts/test-sanitized.sh);
# then run every fuzz target briefly (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also need a real Prometheus (and promtool), yamllint, and
# systemd-analyze (package systemd) and strace for deploy/, and Node.js for the
# OTLP receiver and the Kubernetes schemas (images often bring their own node and npm);
# python3, dpkg-dev, file (CPack's dpkg-shlibdeps step) and lintian for the
# packages (packaging/tests).
test_packages=(prometheus openssl yamllint systemd strace python3 dpkg-dev file lintian)
command -v node >/dev/null && command -v npm >/dev/null || test_packages+=(nodejs npm)
scripts/install-deps.sh "${test_packages[@]}"
# The OTLP tests decode with an independent implementation from npm.
receiver=sinks/otlp/tests/receiver
[ -d "$receiver/node_modules" ] || npm ci --prefix "$receiver" --silent --no-audit --no-fund
# deploy/kubernetes/ is validated against the Kubernetes schemas from npm.
manifests=deploy/tests/kubernetes
[ -d "$manifests/node_modules" ] || npm ci --prefix "$manifests" --silent --no-audit --no-fund
scripts/build.sh
(cd build && ctest --output-on-failure --timeout 600)
# The packager's minimal build (procfs + stdout, no eBPF): builds, passes its
# tests, packages. SONDE_SKIP_MINIMAL=1 skips it locally; CI never sets it.
if [ "${SONDE_SKIP_MINIMAL:-0}" = 1 ]; then
  echo "SONDE_SKIP_MINIMAL=1: the minimal build was not tested" >&2
else
  scripts/test-minimal.sh
fi
# Then the same suite built with AddressSanitizer + UBSan (build-asan/), any
# report failing it. SONDE_SKIP_SANITIZED=1 skips it locally; CI never sets it.
if [ "${SONDE_SKIP_SANITIZED:-0}" = 1 ]; then
  echo "SONDE_SKIP_SANITIZED=1: the sanitized suite was not run" >&2
else
  scripts/test-sanitized.sh
fi
# Last, every fuzz target for a few seconds (docs/fuzzing.md): a crash, leak or
# sanitizer report fails. SONDE_SKIP_FUZZ=1 skips it locally; CI never sets it.
if [ "${SONDE_SKIP_FUZZ:-0}" = 1 ]; then
  echo "SONDE_SKIP_FUZZ=1: the fuzz targets were not run" >&2
else
  scripts/fuzz.sh "${SONDE_FUZZ_SECONDS:-10}"
fi
