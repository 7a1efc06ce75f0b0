#!/usr/bin/env bash
# Builds every Debian package into build/packages/ (packaging/CMakeLists.txt):
# sonde, sonde-dev, one sonde-plugin-<name> or sonde-sink-<name> per plugin.
# BUILD_DIR=dir packages another build tree (e.g. a minimal build).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
scripts/install-deps.sh dpkg-dev file lintian
[ -n "${BUILD_DIR:-}" ] || scripts/build.sh
rm -rf "$build/packages"
(cd "$build" && cpack -G DEB)
ls -1 "$build"/packages/*.deb
