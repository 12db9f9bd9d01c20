#!/usr/bin/env bash
# Quick start, command 2 (and what CI runs): build everything and run every test through ctest,
# then the model/ and CLI suites again under AddressSanitizer + UBSan with clang, which also
# builds the libFuzzer targets and runs each for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
grep '^-- hardwire:' build.configure.log || true
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure --timeout 600

CC=clang CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DHARDWIRE_SANITIZE=ON -DHARDWIRE_SANITIZE_SCOPE_ONLY=ON -DHARDWIRE_BENCH=OFF \
  > build-asan.configure.log 2>&1 || { cat build-asan.configure.log; exit 1; }
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 600 -L 'common|model|cli|fuzz'
