#!/usr/bin/env bash
# Installs the Debian 12 packages sonde builds and tests with. Idempotent:
# does nothing when everything is present; uses sudo when not root.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config util-linux help2man
  libboost-dev nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev doctest-dev libcli11-dev
  clang llvm libbpf-dev bpftool linux-libc-dev libelf-dev zlib1g-dev
  libprotobuf-dev protobuf-compiler libssl-dev
  libsystemd-dev libcap-dev
)
# Extra packages a caller needs (e.g. the benchmarks' peers), one per argument.
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "missing packages and not root: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
