#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build (incrementally) and run the main job on
# built-in defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
grep '^-- hardwire:' build.configure.log || true
cmake --build build -j"$(nproc)" --target hardwire
bin=build/bin/hardwire
set -x
"$bin" info llama-3.1-8b
"$bin" ref generate --model tiny-llama --synthetic-seed 1 --tokens 1,2,3 --n 8
"$bin" emulate --model tiny-llama --synthetic-seed 1 --numerics hc1-mix --tokens 1,2,3 --n 8
"$bin" estimate --model llama-3.1-8b --chip hc1-like --users 1 --prompt 1024 --gen 1024
"$bin" simulate --model llama-3.1-8b --chip hc1-like --users 64 --prompt 1024 --gen 1024 --out out/quickstart
"$bin" estimate --model llama-3.1-8b --chip h100 --users 4096 --prompt 1000 --gen 1000
"$bin" cost
# The main job ends in the cost report (hardwired ASIC vs GPUs vs cloud) on built-in defaults.
"$bin" report --out out/report
set +x
echo "hardwire: cost report: $(pwd)/out/report/report.html"
