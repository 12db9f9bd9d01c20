// Speed of the analytic estimator (power/estimator.h), recorded in docs/benchmarks.md.
// BM_EvaluatePoint is the sweep inner loop: one design point = one plan (chip + model + tech +
// widths) at one workload point (users, prompt, output, shared prefix) and clock, evaluated to
// tokens/s, latency, TTFT / inter-token percentiles, admission, KV peak, power and energy per
// token. The points cycle through 4096 precomputed combinations over two chips (KV in SRAM and
// in DRAM) so neither the branch predictor nor the cache sees one repeated input.
// BM_MakePlan and BM_MapAndPlan give the per-design cost when the chip itself changes.
#include <benchmark/benchmark.h>

#include <vector>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "model/model_config.h"
#include "power/estimator.h"
#include "power/tech_table.h"

namespace {

struct Fixture {
  hw::ModelConfig model_ = hw::load_model_config("llama-3.1-8b");
  hw::ChipConfig sram_chip_ = hw::load_chip_config("hc1-like", {});
  hw::ChipConfig dram_chip_ = hw::load_chip_config("kv-in-dram", {});
  hw::TechTable tech_ = hw::load_tech("n6", {});
  hw::ChipMapping sram_map_ = hw::map_model(model_, sram_chip_, 3.89, 8);
  hw::ChipMapping dram_map_ = hw::map_model(model_, dram_chip_, 3.89, 8);
  std::vector<hw::EstimatorPlan> plans_;
  std::vector<hw::WorkloadPoint> points_;

  Fixture() {
    const hw::EstimatorPlan a = hw::make_plan(sram_map_, tech_);
    const hw::EstimatorPlan b = hw::make_plan(dram_map_, tech_);
    // Plans differing in clock: a design knob the plan carries as a plain number.
    for (double ghz : {0.8, 1.0, 1.2, 1.5}) {
      for (const hw::EstimatorPlan* p : {&a, &b}) {
        hw::EstimatorPlan q = *p;
        q.clock_hz_ = ghz * 1e9;
        plans_.push_back(q);
      }
    }
    const int64_t users[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    const int64_t contexts[] = {128, 256, 512, 1024, 2048, 4096, 8192};
    for (int i = 0; i < 4096; ++i) {
      hw::WorkloadPoint w;
      w.users_ = users[i % 9];
      const int64_t prompt = contexts[(i / 9) % 7];
      const int64_t output = contexts[(i / 63) % 7];
      w.prompt_tokens_ = double(prompt);
      w.output_tokens_ = double(output);
      w.max_context_tokens_ = prompt + output - 1;
      w.shared_prefix_tokens_ = (i / 441) % 2 ? prompt / 2 : 0;
      points_.push_back(w);
    }
  }
};

const Fixture& fixture() {
  static const Fixture kFixture;
  return kFixture;
}

void BM_EvaluatePoint(benchmark::State& state) {
  const Fixture& f = fixture();
  const size_t np = f.points_.size();
  const size_t nplans = f.plans_.size();
  size_t i = 0;
  for (auto _ : state) {
    const hw::EstimatePoint r = hw::evaluate_point(f.plans_[i % nplans], f.points_[i % np]);
    benchmark::DoNotOptimize(r);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluatePoint);

void BM_MakePlan(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) {
    hw::EstimatorPlan p = hw::make_plan(f.sram_map_, f.tech_);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MakePlan);

void BM_MapAndPlan(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) {
    const hw::ChipMapping m = hw::map_model(f.model_, f.sram_chip_, 3.89, 8);
    hw::EstimatorPlan p = hw::make_plan(m, f.tech_);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MapAndPlan);

}  // namespace
