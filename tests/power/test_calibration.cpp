// The HC1 calibration (docs/calibration.md): hc1-like + Llama 3.1 8B + the hc1-mix 3/6-bit
// numerics at 1k in / 1k out on n6 must land inside Taalas's published figures
// (../shared/reference/public-figures.md): 14k-20k tokens/s per user (17k quoted, 14.4k-15.8k
// observed, bursts to 20k), 150-300 W (200 W / 250 W quoted), 650-1000 mm2 (815 mm2 die), and
// the transistor count within 10% of the published 53e9.
#include <gtest/gtest.h>

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
  return estimate(model, load_chip_config("hc1-like", sets), load_tech("n6", sets),
                  numerics.mean_weight_bits(model), numerics.kv_bits(),
                  load_workload("chat-1k-1k", sets));
}

TEST(Calibration, Hc1LandsInsideThePublishedFigures) {
  const Estimate e = hc1({});
  const EstimatePoint& r = e.point_;
  EXPECT_GE(r.tokens_per_s_per_user_, 14000.0);
  EXPECT_LE(r.tokens_per_s_per_user_, 20000.0);
  EXPECT_GE(r.power_w_, 150.0);
  EXPECT_LE(r.power_w_, 300.0);
  EXPECT_GE(e.area_.total_mm2_, 650.0);
  EXPECT_LE(e.area_.total_mm2_, 1000.0);
  EXPECT_NEAR(e.area_.transistors_, 53e9, 0.1 * 53e9);
  EXPECT_GE(r.users_concurrent_, 1);
}

TEST(Calibration, OneUserStillInsideTheSpeedRange) {
  const Estimate e = hc1({"workload.users=1"});
  EXPECT_GE(e.point_.tokens_per_s_per_user_, 14000.0);
  EXPECT_LE(e.point_.tokens_per_s_per_user_, 20000.0);
  // Fewer tokens per second, less dynamic power; static power unchanged.
  EXPECT_LT(e.point_.power_w_, hc1({}).point_.power_w_);
  EXPECT_GT(e.point_.power_w_, e.plan_.static_w_);
}

}  // namespace
}  // namespace hw
