#!/usr/bin/env bash
# An hour (or MINUTES) of the shipped configuration plus file and OTLP sinks
# while the receiver goes down and up and the disk fills and empties; RSS, CPU
# and the accounting identity every minute (bench/soak.py). Needs root (tmpfs).
#   bench/soak.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh python3
scripts/build.sh >/dev/null
exec python3 bench/soak.py "${1:-60}"
