#!/bin/bash
# Decode speed of hardwire's golden model against llama.cpp on the same synthetic Llama 3.2 1B
# GGUF files, interleaved, 1 and 2 threads, 3 repetitions (docs/benchmarks.md). Needs a built
# hardwire ($HARDWIRE, default build/bin/hardwire), llama.cpp's llama-bench ($LLAMA_BENCH) and
# a scratch folder with ~5 GB free ($WORK, default /tmp/hw-vs-llamacpp).
set -euo pipefail
H=${HARDWIRE:-build/bin/hardwire}
LB=${LLAMA_BENCH:?set LLAMA_BENCH to llama.cpp's llama-bench}
WORK=${WORK:-/tmp/hw-vs-llamacpp}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
for t in q4_0 q8_0; do
  [ -f "$WORK/l1b-$t.gguf" ] || python3 "$HERE/make_synthetic_gguf.py" --preset llama-3.2-1b --type $t --out "$WORK/l1b-$t.gguf"
done
/usr/bin/time -f "quantize w4a8: %e s wall, %U s user, %S s sys, %M KiB peak RSS" \
  "$H" quantize --model "$WORK/l1b-q4_0.gguf" --numerics w4a8 --out "$WORK/l1b.w4a8.hwchip" > /dev/null
"$H" quantize --model "$WORK/l1b-q8_0.gguf" --numerics w8a8 --out "$WORK/l1b.w8a8.hwchip" > /dev/null
"$H" quantize --model "$WORK/l1b-q8_0.gguf" --numerics hc1-mix --out "$WORK/l1b.hc1.hwchip" > /dev/null
rate() { grep token_passes_per_s | tr -d ' ,' | cut -d: -f2; }
for rep in 1 2 3; do
  for th in 1 2; do
    echo "== rep $rep threads $th $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    echo "llama.cpp Q4_0 $("$LB" -m "$WORK/l1b-q4_0.gguf" -p 0 -n 32 -t $th -r 1 -o csv 2>/dev/null | tail -1 | awk -F, '{print $(NF-1)}')"
    echo "hardwire w4a8 $("$H" emulate --model "$WORK/l1b.w4a8.hwchip" --tokens 1 --n 33 --threads $th --json | rate)"
    echo "llama.cpp Q8_0 $("$LB" -m "$WORK/l1b-q8_0.gguf" -p 0 -n 32 -t $th -r 1 -o csv 2>/dev/null | tail -1 | awk -F, '{print $(NF-1)}')"
    echo "hardwire w8a8 $("$H" emulate --model "$WORK/l1b.w8a8.hwchip" --tokens 1 --n 33 --threads $th --json | rate)"
    echo "hardwire hc1-mix $("$H" emulate --model "$WORK/l1b.hc1.hwchip" --tokens 1 --n 33 --threads $th --json | rate)"
  done
done
