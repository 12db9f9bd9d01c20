#!/usr/bin/env bash
# Installs the Debian packages hardwire builds against, only those missing. As root it runs
# apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail
packages=(cmake g++ clang libclang-rt-14-dev make libsystemc-dev verilator libeigen3-dev
          libgtest-dev libgmock-dev googletest libbenchmark-dev nlohmann-json3-dev
          libcli11-dev libyaml-cpp-dev yosys libopenmpi-dev openmpi-bin
          gnuplot-nox chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "hardwire: all build dependencies present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "hardwire: missing packages: ${missing[*]}" >&2
  echo "hardwire: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "hardwire: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
