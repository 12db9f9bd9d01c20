// The cost model: die cost and yield limits, API totals, sizing and energy behaviour, power taken
// from the estimator, and the default scenario against the usage profile of public-figures.md.
#include <gtest/gtest.h>

#include <cmath>

#include "../cli/cli_test_util.h"
#include "chip/chip_config.h"
#include "common/error.h"
#include "cost/cost_model.h"
#include "power/tech_table.h"

namespace hw {
namespace {

CostDesign hc1_design(const std::vector<std::string>& tech_sets = {}) {
  CostDesign d;
  d.model_ = load_model_config("llama-3.1-8b");
  d.chip_ = load_chip_config("hc1-like", {});
  d.tech_ = load_tech("n6", tech_sets);
  d.weight_bits_ = 4;
  d.kv_bits_ = 8;
  d.widths_ = uniform_widths(4, int(d.chip_.activation_bits_));
  return d;
}

CostResult run(const std::vector<std::string>& sets = {},
               const std::vector<std::string>& tech_sets = {}) {
  return compute_costs(load_cost_scenario(kDefaultCostScenario, sets),
                       load_cost_inputs(kDefaultCostInputs, sets), hc1_design(tech_sets), {});
}

TEST(DieCost, YieldLimits) {
  AsicCostInputs in = load_cost_inputs(kDefaultCostInputs, {}).asic_;
  // No defects: every candidate is good.
  in.defect_density_per_cm2_ = 0;
  const DieCost perfect = die_cost(in, 815);
  EXPECT_DOUBLE_EQ(perfect.yield_, 1.0);
  EXPECT_DOUBLE_EQ(perfect.die_usd_, in.wafer_usd_ / perfect.dies_per_wafer_);
  // Very weak clustering tends to the Poisson yield exp(-D0 A).
  in.defect_density_per_cm2_ = 0.09;
  in.yield_alpha_ = 1e6;
  EXPECT_NEAR(die_cost(in, 815).yield_, std::exp(-0.09 * 8.15), 1e-4);
  // Bigger dies: fewer per wafer, lower yield, dearer per mm2.
  in.yield_alpha_ = 2;
  const DieCost small = die_cost(in, 100), big = die_cost(in, 800);
  EXPECT_GT(small.dies_per_wafer_, 8 * big.dies_per_wafer_);
  EXPECT_GT(small.yield_, big.yield_);
  EXPECT_GT(big.die_usd_ / 800, small.die_usd_ / 100);
  // A die larger than the wafer is an error.
  EXPECT_THROW(die_cost(in, 80000), Error);
}

TEST(CostModel, ApiTotalsAreTokensTimesPrice) {
  const CostResult r = run();
  const CostOption& mid = r.option("api-mid");
  // 394M x $0.15/M + 1,600M x $0.45/M = $779.10 a month, 36 months.
  EXPECT_NEAR(mid.total_.total(), 779.1 * 36, 1e-6);
  EXPECT_EQ(mid.total_.dominant(), "api");
  EXPECT_EQ(r.options_.size(), 7u);
}

TEST(CostModel, EveryOptionHasACostPerTokenAndADominantPart) {
  const CostResult r = run();
  for (const CostOption& o : r.options_) {
    EXPECT_GT(o.usd_per_m_output_, 0) << o.id_;
    EXPECT_GT(o.total_.total(), 0) << o.id_;
    EXPECT_EQ(o.cumulative_usd_.size(), size_t(r.scenario_.horizon_months_ + 1)) << o.id_;
    EXPECT_NEAR(o.cumulative_usd_.back(), o.total_.total(), 1e-6 * o.total_.total()) << o.id_;
    if (o.has_hardware()) {
      EXPECT_GE(o.units_, 1) << o.id_;
      EXPECT_LE(o.busy_fraction_, 1.0 + 1e-9) << o.id_;
    }
  }
  const CostOption& asic = r.option("asic");
  EXPECT_GT(asic.total_.nre_usd_, 0);
  EXPECT_EQ(r.option("rented-h100").total_.dominant(), "rental");
}

TEST(CostModel, LocalBoxEnergyWithinTheProfilesWorstCase) {
  // public-figures.md: worst case 240 W x 720 h = 172 kWh a month for the $3k box.
  const CostOption& box = run().option("local-gb10");
  EXPECT_LE(box.energy_kwh_per_month_ / double(box.units_), 240 * 730.5 / 1000.0);
  EXPECT_GT(box.energy_kwh_per_month_, 0);
}

TEST(CostModel, ElectricityPriceScalesOnlyEnergy) {
  const CostResult base = run();
  const CostResult free_power = run({"scenario.electricity_price=0"});
  for (const char* id : {"asic", "local-gb10"}) {
    EXPECT_GT(base.option(id).total_.energy_usd_, 0) << id;
    EXPECT_EQ(free_power.option(id).total_.energy_usd_, 0) << id;
    EXPECT_DOUBLE_EQ(free_power.option(id).total_.hardware_usd_,
                     base.option(id).total_.hardware_usd_) << id;
  }
}

TEST(CostModel, AsicPowerComesFromTheEstimator) {
  // The supply voltage is a tech input of the estimator (energy ~ V^2); the cost model follows.
  const CostOption low = run({}, {"tech.scaling.vdd=0.65V"}).option("asic");
  const CostOption high = run({}, {"tech.scaling.vdd=0.85V"}).option("asic");
  EXPECT_LT(low.perf_.busy_power_w_, high.perf_.busy_power_w_);
  EXPECT_LT(low.energy_kwh_per_month_, high.energy_kwh_per_month_);
}

TEST(CostModel, MoreTokensMeanMoreUnitsAndEarlierBreakEven) {
  const CostResult base = run();
  const CostResult heavy =
      run({"scenario.monthly_output_tokens=16000Mtokens", "scenario.monthly_input_tokens=3940Mtokens",
           "scenario.concurrency=256"});
  for (const char* id : {"asic", "local-gb10", "rented-h100"}) {
    EXPECT_GE(heavy.option(id).units_, base.option(id).units_) << id;
  }
  EXPECT_GT(heavy.option("local-gb10").units_, base.option("local-gb10").units_);
  const int64_t b = base.option("asic").break_even_month_;
  const int64_t h = heavy.option("asic").break_even_month_;
  ASSERT_GE(h, 1);
  if (b >= 1) {
    EXPECT_LE(h, b);
  }
}

TEST(CostModel, ContextThatFitsNoChipIsAnError) {
  EXPECT_THROW(run({"scenario.request.prompt_tokens=100000"}), Error);
}

TEST(CostCommand, TableAndJson) {
  const auto t = test::run_hardwire("cost");
  ASSERT_EQ(t.exit_code_, 0) << t.output_;
  for (const char* s : {"hardwired ASIC card", "local GPU box", "rented h100", "rented h200",
                        "cloud API (low price)", "break-even", "dominant"}) {
    EXPECT_NE(t.output_.find(s), std::string::npos) << s;
  }
  const auto j = test::run_hardwire("cost --scenario chat-light --json");
  ASSERT_EQ(j.exit_code_, 0) << j.output_;
  const auto doc = nlohmann::json::parse(j.output_);
  EXPECT_EQ(doc["scenario"], "chat-light");
  for (const auto& o : doc["options"]) {
    for (const char* k : {"usd_per_m_input_tokens", "usd_per_m_output_tokens", "total_usd",
                          "break_even_month", "dominant", "cost_breakdown_usd"}) {
      EXPECT_TRUE(o.contains(k)) << k;
    }
  }
  const auto bad = test::run_hardwire("cost --set cost.asic.wafer_prise=1", true);
  EXPECT_EQ(bad.exit_code_, 2);
  EXPECT_NE(bad.output_.find("wafer_price"), std::string::npos) << bad.output_;
}

}  // namespace
}  // namespace hw
