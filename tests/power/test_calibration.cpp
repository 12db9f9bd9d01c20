// HC1 as a prediction (docs/calibration.md): nothing in configs/tech is fitted to Taalas HC1, so
// hc1-like + Llama 3.1 8B + the hc1-mix numerics on n6 is computed from the components and
// compared with HC1's published figures (../shared/reference/public-figures.md): card power
// 200-250 W, 815 mm2, 53e9 transistors. The test prints the errors and holds the prediction to a
// factor-2 band around the published figure: the sensitivity of the [choice] parameters
// (`hardwire estimate --sensitivity`) spans about that, so a wider miss means a component broke,
// a narrower band would be a fit. Speed (17k tokens/s per user) is the chip description's
// timing, checked by the chip helper's tests; here only power and area.
#include <gtest/gtest.h>

#include <cstdio>

#include "chip/chip_config.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/estimator.h"
#include "power/tech_table.h"

namespace hw {
namespace {

Estimate hc1(const std::vector<std::string>& sets) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const NumericsProfile numerics = load_numerics_profile("hc1-mix", {});
  return estimate(model, load_chip_config("hc1-like", sets), load_tech("n6", sets), numerics,
                  load_workload("chat-1k-1k", sets));
}

// Error of `predicted` against a published range [lo, hi]: 0 inside, else the relative distance
// to the nearer end.
double error_vs(double predicted, double lo, double hi) {
  if (predicted < lo) return predicted / lo - 1.0;
  if (predicted > hi) return predicted / hi - 1.0;
  return 0.0;
}

TEST(Calibration, Hc1IsPredictedNotFitted) {
  const Estimate e = hc1({});
  const Estimate one = hc1({"workload.users=1"});
  const Estimate full = hc1({"workload.users=32", "workload.prompt.tokens=64",
                             "workload.output.tokens=64"});
  std::printf("HC1 prediction (hc1-like, Llama 3.1 8B, hc1-mix, n6) vs published:\n");
  std::printf("  card power idle            %7.1f W\n", e.power_idle_w_);
  std::printf("  card power 1 user 1k/1k    %7.1f W  (error vs 200-250 W: %+.0f%%)\n",
              one.point_.power_w_, 100 * error_vs(one.point_.power_w_, 200, 250));
  std::printf("  card power 1k/1k, %lld users %7.1f W  (error vs 200-250 W: %+.0f%%)\n",
              static_cast<long long>(e.point_.users_concurrent_), e.point_.power_w_,
              100 * error_vs(e.point_.power_w_, 200, 250));
  std::printf("  card power 32 x 64/64      %7.1f W  (error vs 200-250 W: %+.0f%%)\n",
              full.point_.power_w_, 100 * error_vs(full.point_.power_w_, 200, 250));
  std::printf("  die area                   %7.0f mm2 (error vs 815: %+.0f%%)\n",
              e.area_.largest_die_mm2_, 100 * (e.area_.largest_die_mm2_ / 815 - 1));
  std::printf("  transistors                %7.1f e9  (error vs 53e9: %+.0f%%)\n",
              e.area_.transistors_ / 1e9, 100 * (e.area_.transistors_ / 53e9 - 1));
  EXPECT_GT(e.area_.transistors_, 53e9 / 2);
  EXPECT_LT(e.area_.transistors_, 53e9 * 2);
  EXPECT_GT(e.area_.largest_die_mm2_, 815.0 / 2);
  EXPECT_LT(e.area_.largest_die_mm2_, 815.0 * 2);
  EXPECT_GT(e.point_.power_w_, 200.0 / 2);
  EXPECT_LT(e.point_.power_w_, 250.0 * 2);
  // Load-dependent: idle < one user < the KV-limited load < a full pipeline of short contexts.
  EXPECT_LT(e.power_idle_w_, one.point_.power_w_);
  EXPECT_LE(one.point_.power_w_, e.point_.power_w_);
  EXPECT_LT(e.point_.power_w_, full.point_.power_w_);
}

}  // namespace
}  // namespace hw
