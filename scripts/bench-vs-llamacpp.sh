#!/bin/bash
# Decode speed of hardwire's golden model against llama.cpp on the same synthetic Llama 3.2 1B
# GGUF files (docs/benchmarks.md): w4a8 vs Q4_0, w8a8 vs Q8_0, and hc1-mix, at each thread count
# in $THREADS, $REPS repetitions. The two programs run interleaved (one after the other for each
# pair, the order alternating between repetitions) so that load from other jobs falls on both.
# Each program runs twice, decoding $N and $N_SHORT tokens: the wall-clock rate is what the
# program reports for the long run (llama-bench's tg, hardwire's token_passes_per_s), and the CPU
# time per token is (CPU(long) - CPU(short)) / (N - N_SHORT), user + system of the whole process,
# which cancels loading and warm-up and is the figure to compare on a busy machine.
# Needs a built hardwire ($HARDWIRE, default build/bin/hardwire), llama.cpp's llama-bench
# ($LLAMA_BENCH) and a scratch folder with ~5 GB free ($WORK, default /tmp/hw-vs-llamacpp).
# Writes $WORK/runs.csv (one row per run) and prints medians with their range.
set -euo pipefail
H=${HARDWIRE:-build/bin/hardwire}
LB=${LLAMA_BENCH:?set LLAMA_BENCH to the llama-bench of a llama.cpp build}
WORK=${WORK:-/tmp/hw-vs-llamacpp}
REPS=${REPS:-5}
THREADS=${THREADS:-"1 2"}
N=${N:-32}
N_SHORT=${N_SHORT:-4}
PAIRS=${PAIRS:-"q4_0 q8_0 hc1"}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
for t in q4_0 q8_0; do
  [ -f "$WORK/l1b-$t.gguf" ] || python3 "$HERE/make_synthetic_gguf.py" --preset llama-3.2-1b --type $t --out "$WORK/l1b-$t.gguf"
done
quantize() {  # source profile image
  [ -f "$WORK/$3" ] && return
  /usr/bin/time -f "quantize $2: %e s wall, %U s user, %S s sys, %M KiB peak RSS, load $(cut -d' ' -f1 /proc/loadavg)" \
    "$H" quantize --model "$WORK/$1" --numerics "$2" --out "$WORK/$3" > /dev/null
}
quantize l1b-q4_0.gguf w4a8 l1b.w4a8.hwchip
quantize l1b-q8_0.gguf w8a8 l1b.w8a8.hwchip
quantize l1b-q8_0.gguf hc1-mix l1b.hc1.hwchip

CSV="$WORK/runs.csv"
echo "rep,threads,program,weights,tokens,tokens_per_s,cpu_s,wall_s,load1" > "$CSV"
# run <program> <weights> <threads> <tokens>: appends one row.
run() {
  local prog=$1 wt=$2 th=$3 n=$4 tps out
  local tf
  tf=$(mktemp)
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$prog" = llama.cpp ]; then
    out=$(/usr/bin/time -o "$tf" -f "%U %S %e" "$LB" -m "$WORK/l1b-$wt.gguf" -p 0 -n "$n" -t "$th" -r 1 -o csv 2>/dev/null)
    tps=$(echo "$out" | tail -1 | awk -F, '{gsub(/"/, "", $(NF-1)); print $(NF-1)}')
  else
    out=$(/usr/bin/time -o "$tf" -f "%U %S %e" "$H" emulate --model "$WORK/l1b.$wt.hwchip" --tokens 1 --n $((n + 1)) --threads "$th" --json)
    tps=$(echo "$out" | grep '"token_passes_per_s"' | tr -d ' ,' | cut -d: -f2)
  fi
  read -r u s e < "$tf"
  rm -f "$tf"
  echo "$rep,$th,$prog,$wt,$n,$tps,$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }'),$e,$load" >> "$CSV"
}
pair() {  # weights of llama.cpp, hardwire image; order alternates with the repetition
  local lw=$1 hwimg=$2 th=$3
  for n in "$N_SHORT" "$N"; do
    if [ -z "$lw" ]; then
      run hardwire "$hwimg" "$th" "$n"
    elif [ $((rep % 2)) = 1 ]; then
      run llama.cpp "$lw" "$th" "$n"
      run hardwire "$hwimg" "$th" "$n"
    else
      run hardwire "$hwimg" "$th" "$n"
      run llama.cpp "$lw" "$th" "$n"
    fi
  done
}
for rep in $(seq 1 "$REPS"); do
  for th in $THREADS; do
    echo "== rep $rep threads $th $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    for p in $PAIRS; do
      case $p in
        q4_0) pair q4_0 w4a8 "$th" ;;
        q8_0) pair q8_0 w8a8 "$th" ;;
        hc1) pair "" hc1 "$th" ;;
      esac
    done
  done
done
python3 - "$CSV" "$N" "$N_SHORT" <<'PY'
import csv, statistics, sys
from collections import defaultdict
path, n, n_short = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = list(csv.DictReader(open(path)))
rate, cpu, load = defaultdict(list), defaultdict(list), defaultdict(list)
runs = {}
for r in rows:
    key = (int(r["threads"]), r["program"], r["weights"])
    runs[(r["rep"],) + key + (int(r["tokens"]),)] = r
    load[key].append(float(r["load1"]))
    if int(r["tokens"]) == n:
        rate[key].append(float(r["tokens_per_s"]))
for (rep, th, prog, wt, tokens), r in runs.items():
    if tokens != n:
        continue
    short = runs.get((rep, th, prog, wt, n_short))
    if short:
        cpu[(th, prog, wt)].append((float(r["cpu_s"]) - float(short["cpu_s"])) / (n - n_short) * 1e3)
def fmt(v, d):
    return f"{statistics.median(v):.{d}f} ({min(v):.{d}f}-{max(v):.{d}f})" if v else "-"
print(f"{'threads':>7}  {'program':<9} {'weights':<7} {'tokens/s median (range)':<26} "
      f"{'CPU ms/token median (range)':<28} load1")
for key in sorted(rate):
    th, prog, wt = key
    print(f"{th:>7}  {prog:<9} {wt:<7} {fmt(rate[key], 2):<26} {fmt(cpu[key], 1):<28} "
          f"{min(load[key]):.1f}-{max(load[key]):.1f}")
PY
