#!/usr/bin/env bash
# Install what is missing, build, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The OTLP tests decode with an independent implementation from npm.
receiver=sinks/otlp/tests/receiver
[ -d "$receiver/node_modules" ] || npm ci --prefix "$receiver" --silent --no-audit --no-fund
scripts/build.sh
cd build && ctest --output-on-failure --timeout 600
