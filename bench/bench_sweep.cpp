// Sweep throughput (issue 12: a 1,000,000-point estimate sweep in under a minute on 2 cores,
// CSV writing not the bottleneck). The design space is the hc1-like one of docs/sweeps.md:
// 16 clocks x 5 matrix input-lane counts x 5 KV SRAM sizes = 400 designs, times 250 user counts x
// 10 prompt lengths = 1,000,000 points. Three measurements: the whole sweep to a CSV with every
// metric column, the same with three metric columns (the difference is CSV formatting and writing),
// and the engine alone on one thread (no rows at all).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sweep/sweep.h"

namespace {

namespace fs = std::filesystem;
using namespace hw::sweep;

// CPU seconds of the whole process (every thread): on a shared machine the wall time depends on
// the other jobs, the CPU time does not; divided by the worker threads it is the wall time the
// sweep takes with that many free cores (the workers share nothing but a short append).
double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

std::vector<Axis> hc1_space() {
  return {parse_axis("chip.clock=0.5GHz:2GHz:0.1GHz"),
          parse_axis("chip.*.input_lanes=14,24,48,96,192"),
          parse_axis("chip.attention.kv_sram.capacity=64MiB:1GiB:*2"),
          parse_axis("workload.users=1:250:1"), parse_axis("workload.prompt.tokens=128:1280:128")};
}

void run(benchmark::State& state, const std::vector<std::string>& metrics) {
  const auto engine = make_estimate_engine();
  const PointSet points(hc1_space());
  const fs::path csv = fs::temp_directory_path() / "hardwire_bench_sweep.csv";
  uint64_t evaluated = 0;
  for (auto _ : state) {
    fs::remove(csv);
    fs::remove(fs::temp_directory_path() / "hardwire_bench_sweep.resolved_config.json");
    SweepOptions o;
    o.out_csv_ = csv.string();
    o.threads_ = unsigned(state.range(0));
    o.progress_ = false;
    o.metrics_ = metrics;
    const double cpu0 = process_cpu_s();
    const SweepResult r = run_sweep(BaseDesign{}, points, *engine, o);
    const double cpu = process_cpu_s() - cpu0;
    state.counters["process_cpu_s"] = cpu;
    state.counters["cpu_s_per_thread"] = cpu / double(state.range(0));
    evaluated += r.evaluated_;
    state.counters["errors"] = double(r.errors_);
    state.counters["csv_MB"] = double(fs::file_size(csv)) / 1e6;
  }
  state.counters["points"] = double(points.size());
  state.counters["points_per_s"] =
      benchmark::Counter(double(evaluated), benchmark::Counter::kIsRate);
  fs::remove(csv);
}

void BM_Sweep1MAllColumns(benchmark::State& state) { run(state, {}); }
BENCHMARK(BM_Sweep1MAllColumns)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

void BM_Sweep1MThreeColumns(benchmark::State& state) {
  run(state, {"tokens_per_s_per_user", "power_w", "area_mm2"});
}
BENCHMARK(BM_Sweep1MThreeColumns)->Arg(2)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

// The engine alone: 100,000 points of the same space in grid order, one thread, no rows.
void BM_EstimateEngineOnly(benchmark::State& state) {
  const auto engine = make_estimate_engine();
  const PointSet points(hc1_space());
  auto ctx = engine->make_context();
  uint64_t n = 0;
  for (auto _ : state) {
    for (uint64_t i = 0; i < 100000; ++i) {
      try {
        benchmark::DoNotOptimize(engine->evaluate(point_config(BaseDesign{}, points, i), *ctx));
      } catch (const std::exception&) {
      }
    }
    n += 100000;
  }
  state.counters["points_per_s"] = benchmark::Counter(double(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EstimateEngineOnly)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
