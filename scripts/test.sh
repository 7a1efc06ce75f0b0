#!/usr/bin/env bash
# Install what is missing, build, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also need a real Prometheus (and promtool), and Node.js for the
# OTLP receiver (images often bring their own node and npm).
test_packages=(prometheus openssl)
command -v node >/dev/null && command -v npm >/dev/null || test_packages+=(nodejs npm)
scripts/install-deps.sh "${test_packages[@]}"
# The OTLP tests decode with an independent implementation from npm.
receiver=sinks/otlp/tests/receiver
[ -d "$receiver/node_modules" ] || npm ci --prefix "$receiver" --silent --no-audit --no-fund
scripts/build.sh
cd build && ctest --output-on-failure --timeout 600
