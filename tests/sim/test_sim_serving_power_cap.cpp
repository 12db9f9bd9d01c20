// The simulator's power cap (sim/power_cap.h, docs/simulate.md "Power cap"): a long prefill of
// Llama 3.1 8B on hc1-like draws far more than a 250 W card's worth at the full clock; under
// chip.power.cap_w = 250 W its windows run on a stretched clock, the run reports the throttled
// time and its average power fits the cap; a light run is not throttled; the cycle level
// throttles through the same scheduler. Window power comes from power/'s energy function with
// the tech table's event energies (n6, the CLI's default). Every run is a child process.
#include <gtest/gtest.h>

#include "chip/mapping.h"
#include "power/area.h"
#include "power/energy.h"
#include "power/tech_table.h"
#include "tests/sim/sim_test_util.h"

namespace hw::test {
namespace {

constexpr double kWeightBits = 4.0;
constexpr int kKvBits = 8;

sim::SimOptions power_options(const ModelConfig& model, const ChipConfig& chip) {
  sim::SimOptions o;
  o.weight_bits_ = kWeightBits;
  o.kv_bits_ = kKvBits;
  const ChipMapping m = map_model(model, chip, kWeightBits, kKvBits);
  const TechTable tech = load_tech("n6", {});
  o.event_energies_ = event_energies(m, tech, chip_area(m, tech));
  return o;
}

const nlohmann::json& cap_of(const nlohmann::json& j) { return j["power_cap"]; }

TEST(SimPowerCap, LongPrefillIsThrottledUnderTheCap) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const ChipConfig free_chip = load_chip_config("hc1-like", {});
  const ChipConfig capped_chip = load_chip_config("hc1-like", {"chip.power.cap_w=250 W"});
  const auto requests = same_requests(1, 4000, 1);
  const auto free = run_in_child(model, free_chip, requests, power_options(model, free_chip));
  const auto capped =
      run_in_child(model, capped_chip, requests, power_options(model, capped_chip));
  ASSERT_FALSE(free.contains("error")) << free.dump();
  ASSERT_FALSE(capped.contains("error")) << capped.dump();
  // At the full clock the prefill averages far above a 250 W card.
  EXPECT_EQ(cap_of(free)["cap_source"], "none");
  EXPECT_FALSE(cap_of(free)["throttled"].get<bool>());
  const double free_w = cap_of(free)["average_power_w"].get<double>();
  EXPECT_GT(free_w, 1.5 * 250.0);  // 560 W with n6 at 32f2dec
  // Capped: every window fits, so the whole run does; the clock stretches by about the
  // overshoot and the run reports it.
  const auto& c = cap_of(capped);
  EXPECT_EQ(c["cap_source"], "chip.power.cap_w");
  EXPECT_TRUE(c["throttled"].get<bool>());
  EXPECT_LE(c["peak_window_power_w"].get<double>(), 250.0 * (1 + 1e-9));
  EXPECT_LE(c["average_power_w"].get<double>(), 250.0 * (1 + 1e-9));
  EXPECT_GT(c["average_power_w"].get<double>(), 200.0);
  EXPECT_GT(c["peak_window_power_unthrottled_w"].get<double>(), free_w);
  EXPECT_GT(c["throttled_fraction"].get<double>(), 0.9);
  EXPECT_NEAR(c["throttled_s"].get<double>(), capped["simulated_s"].get<double>(),
              0.1 * capped["simulated_s"].get<double>());
  // Same work in the same cycles, more seconds; the energy (dynamic the same, static over a
  // longer time) is a little higher.
  EXPECT_EQ(capped["cycles"], free["cycles"]);
  const double stretch = capped["simulated_s"].get<double>() / free["simulated_s"].get<double>();
  EXPECT_GT(stretch, 1.5);
  EXPECT_NEAR(c["throttle_added_s"].get<double>(),
              capped["simulated_s"].get<double>() - free["simulated_s"].get<double>(),
              1e-9 + 1e-6 * capped["simulated_s"].get<double>());
  EXPECT_GT(capped["ttft_s"]["p50"].get<double>(), 1.5 * free["ttft_s"]["p50"].get<double>());
  // The dynamic energy is the same activity either way: the capped run's energy exceeds the
  // free run's by the static power over the added time.
  EXPECT_NEAR(c["energy_j"].get<double>() - cap_of(free)["energy_j"].get<double>(),
              power_options(model, free_chip).event_energies_->static_w() *
                  c["throttle_added_s"].get<double>(),
              1e-6 * c["energy_j"].get<double>());
}

TEST(SimPowerCap, LightRunIsNotThrottled) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const ChipConfig chip = load_chip_config("hc1-like", {"chip.power.cap_w=250 W"});
  const auto j = run_in_child(model, chip, same_requests(1, 16, 16), power_options(model, chip));
  ASSERT_FALSE(j.contains("error")) << j.dump();
  const auto& c = cap_of(j);
  EXPECT_FALSE(c["throttled"].get<bool>());
  EXPECT_EQ(c["throttled_s"].get<double>(), 0.0);
  EXPECT_LE(c["peak_window_power_unthrottled_w"].get<double>(), 250.0);
  EXPECT_EQ(c["max_clock_stretch"].get<double>(), 1.0);
}

TEST(SimPowerCap, TdpIsTheCapUnlessCapIsSet) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const ChipConfig chip = load_chip_config("hc1-like", {"chip.power.tdp_w=300 W"});
  const auto j = run_in_child(model, chip, same_requests(1, 2000, 1), power_options(model, chip));
  ASSERT_FALSE(j.contains("error")) << j.dump();
  EXPECT_EQ(cap_of(j)["cap_source"], "chip.power.tdp_w");
  EXPECT_EQ(cap_of(j)["cap_w"], 300.0);
  EXPECT_TRUE(cap_of(j)["throttled"].get<bool>());
  // Without event energies a cap cannot be enforced: an error, not a silent uncapped run.
  sim::SimOptions bare;
  bare.weight_bits_ = kWeightBits;
  bare.kv_bits_ = kKvBits;
  const auto e = run_in_child(model, chip, same_requests(1, 16, 1), bare);
  ASSERT_TRUE(e.contains("error"));
  EXPECT_NE(e["error"].get<std::string>().find("chip.power.tdp_w"), std::string::npos);
}

TEST(SimPowerCap, CycleLevelThrottlesThroughTheSameScheduler) {
  // The tiny model on the tiny chip: cap halfway between the static power and the run's
  // average, so the busy windows stretch.
  const ModelConfig model = sim_tiny_model();
  const ChipConfig free_chip = sim_tiny_chip({"chip.power.cap_window_us=2 us"});
  sim::SimOptions o = power_options(model, free_chip);
  o.level_ = sim::SimLevel::kCycle;
  const auto requests = same_requests(2, 24, 8);
  const auto free = run_in_child(model, free_chip, requests, o);
  ASSERT_FALSE(free.contains("error")) << free.dump();
  const double static_w = o.event_energies_->static_w();
  const double peak_w = cap_of(free)["peak_window_power_unthrottled_w"].get<double>();
  ASSERT_GT(peak_w, static_w);
  char cap_text_buf[64];
  std::snprintf(cap_text_buf, sizeof cap_text_buf, "%.15g", static_w + 0.5 * (peak_w - static_w));
  const std::string cap_text = cap_text_buf;
  const double cap_w = std::stod(cap_text);
  const ChipConfig capped_chip =
      sim_tiny_chip({"chip.power.cap_window_us=2 us", "chip.power.cap_w=" + cap_text + " W"});
  const auto capped = run_in_child(model, capped_chip, requests, o);
  ASSERT_FALSE(capped.contains("error")) << capped.dump();
  EXPECT_EQ(capped["level"], "cycle");
  EXPECT_TRUE(cap_of(capped)["throttled"].get<bool>());
  EXPECT_LE(cap_of(capped)["peak_window_power_w"].get<double>(), cap_w * (1 + 1e-9));
  EXPECT_EQ(capped["cycles"], free["cycles"]);
  EXPECT_GT(capped["simulated_s"].get<double>(), free["simulated_s"].get<double>());
  EXPECT_GT(capped["inter_token_latency_s"]["mean"].get<double>(),
            free["inter_token_latency_s"]["mean"].get<double>());
}

TEST(SimPowerCap, WindowsTakeTheKvReadsOfTheTiledSweeps) {
  // One bank makes the tiny chip's attention the bottleneck, so query tiles form in the
  // prefill. The windows' dynamic energy of a tiled run falls short of the untiled run's by the
  // energy of the KV reads the tiles saved (the runs' own activity counts), at both levels.
  const ModelConfig model = sim_tiny_model();
  for (const sim::SimLevel level : {sim::SimLevel::kToken, sim::SimLevel::kCycle}) {
    auto run = [&](int64_t tile) {
      const ChipConfig chip = sim_tiny_chip({"chip.attention.kv_sram.banks=1",
                                             "chip.attention.query_tile=" + std::to_string(tile)});
      sim::SimOptions o = power_options(model, chip);
      o.level_ = level;
      return std::make_pair(run_in_child(model, chip, same_requests(1, 64, 1), o), o);
    };
    const auto [one, o] = run(1);
    const auto [eight, o8] = run(8);
    ASSERT_FALSE(one.contains("error")) << one.dump();
    ASSERT_FALSE(eight.contains("error")) << eight.dump();
    auto dynamic_j = [&](const nlohmann::json& r) {
      return cap_of(r)["energy_j"].get<double>() -
             o.event_energies_->static_w() * r["simulated_s"].get<double>();
    };
    ActivityCounts saved;
    saved.kv_sram_read_bits_ = one["activity"]["kv_sram_read_bits"].get<double>() -
                               eight["activity"]["kv_sram_read_bits"].get<double>();
    ASSERT_GT(saved.kv_sram_read_bits_, 0.0);
    const double saved_j = energy_j(saved, *o.event_energies_, 0.0).total_j();
    EXPECT_NEAR(dynamic_j(one) - dynamic_j(eight), saved_j, 1e-6 * dynamic_j(one))
        << (level == sim::SimLevel::kToken ? "token level" : "cycle level");
  }
}

}  // namespace
}  // namespace hw::test
