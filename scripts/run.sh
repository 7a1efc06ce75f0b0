#!/usr/bin/env bash
# Quick start: install what is missing, build, run sonde on the shipped conf.d.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/sonde run --config-dir conf.d "$@"
