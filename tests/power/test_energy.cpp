// Tests of the one activity-to-energy function: counts x per-event energies by hand, the clock
// overhead on on-die energy only, static power x time, and the per-event energies a mapped
// hc1-like chip gets from the n6 table.
#include <gtest/gtest.h>

#include <cmath>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "model/model_config.h"
#include "power/area.h"
#include "power/energy.h"
#include "power/estimator.h"
#include "power/tech_table.h"

namespace hw {
namespace {

TEST(Energy, CountsTimesEnergiesByHand) {
  EventEnergies e;
  e.qkv_mac_pj_ = 1.0;
  e.o_proj_mac_pj_ = 2.0;
  e.ffn_mac_pj_ = 3.0;
  e.lm_head_mac_pj_ = 4.0;
  e.weight_bits_ = 4.0;
  e.rom_lookup_pj_per_bit_ = 0.5;
  e.attention_mac_pj_ = 5.0;
  e.softmax_exp_pj_ = 6.0;
  e.norm_element_pj_ = 7.0;
  e.rope_element_pj_ = 8.0;
  e.activation_element_pj_ = 9.0;
  e.residual_add_pj_ = 10.0;
  e.sampler_element_pj_ = 11.0;
  e.kv_sram_read_pj_per_bit_ = 0.25;
  e.kv_sram_write_pj_per_bit_ = 0.5;
  e.kv_dram_pj_per_bit_ = 4.0;
  e.buffer_pj_per_bit_ = 0.125;
  e.link_pj_per_bit_ = 2.0;
  e.busy_flop_clock_pj_ = 0.01;
  e.weight_mac_flops_ = 20;
  e.attention_mac_flops_ = 30;
  e.vector_flops_ = 16;
  e.clock_idle_w_ = 4.0;
  e.leakage_w_ = 3.0;
  e.io_w_ = 2.0;

  ActivityCounts n;
  n.qkv_macs_ = 100;
  n.o_proj_macs_ = 10;
  n.ffn_macs_ = 1000;
  n.lm_head_macs_ = 1;
  n.weight_macs_ = 1111;
  n.rom_bits_read_ = (1111 + 8) * 4.0;  // 8 embedding values of 4 bits
  n.attention_macs_ = 20;
  n.softmax_exps_ = 2;
  n.norm_elements_ = 3;
  n.rope_elements_ = 4;
  n.activation_elements_ = 5;
  n.residual_adds_ = 6;
  n.sampler_elements_ = 7;
  n.kv_sram_read_bits_ = 400;
  n.kv_sram_write_bits_ = 40;
  n.kv_dram_read_bits_ = 10;
  n.kv_dram_write_bits_ = 5;
  n.buffer_bits_ = 80;
  n.link_bits_ = 3;

  const EnergyBreakdown b = energy_j(n, e, 0.5);
  const double pj = 1e-12;
  const double fabric = 100 * 1.0 + 10 * 2.0 + 1000 * 3.0 + 1 * 4.0 + 32 * 0.5;  // 3140
  const double attention = 20 * 5.0 + 2 * 6.0;                                  // 112
  const double kv_sram = 400 * 0.25 + 40 * 0.5;                                 // 120
  const double kv_dram = 15 * 4.0;                                              // 60
  const double nonlinear = 3 * 7.0 + 4 * 8.0 + 5 * 9.0 + 6 * 10.0 + 7 * 11.0;   // 235
  const double buffers = 80 * 0.125;                                            // 10
  const double links = 3 * 2.0;                                                 // 6
  // Busy clock: 1111 weight MACs x 20 flops + 20 attention MACs x 30 + 27 vector events x 16.
  const double clock = 0.01 * (1111 * 20 + 20 * 30 + (2 + 3 + 4 + 5 + 6 + 7) * 16);
  EXPECT_NEAR(b.matrix_fabric_j_, fabric * pj, 1e-20);
  EXPECT_NEAR(b.attention_j_, attention * pj, 1e-20);
  EXPECT_NEAR(b.kv_memory_j_, (kv_sram + kv_dram) * pj, 1e-20);
  EXPECT_NEAR(b.nonlinear_j_, nonlinear * pj, 1e-20);
  EXPECT_NEAR(b.interconnect_j_, (buffers + links) * pj, 1e-20);
  EXPECT_NEAR(b.clock_j_, clock * pj, 1e-20);
  EXPECT_DOUBLE_EQ(b.clock_idle_j_, 2.0);
  EXPECT_DOUBLE_EQ(b.io_j_, 1.0);
  EXPECT_DOUBLE_EQ(b.leakage_j_, 1.5);
  EXPECT_NEAR(b.total_j(),
              (fabric + attention + kv_sram + kv_dram + nonlinear + buffers + links + clock) * pj +
                  4.5,
              1e-15);
  const auto p = b.power_json(0.5);
  EXPECT_DOUBLE_EQ(p["io"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(p["leakage"].get<double>(), 3.0);
  EXPECT_NEAR(p["clock"].get<double>(), 4.0 + clock * pj / 0.5, 1e-12);

  // Linear: twice the counts, twice the dynamic energy.
  ActivityCounts twice = n;
  twice += n;
  EXPECT_NEAR(energy_j(twice, e, 0).dynamic_j(), 2 * b.dynamic_j(), 1e-18);
}

TEST(Energy, EventEnergiesOfHc1Like) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const ChipConfig chip = load_chip_config("hc1-like", {});
  const TechTable t = load_tech("n6", {});
  const ChipMapping m = map_model(model, chip, 3.5, 8);
  const AreaBreakdown area = chip_area(m, t);
  const EventEnergies e = event_energies(m, t, area);
  const int act = static_cast<int>(chip.activation_bits_);
  EXPECT_DOUBLE_EQ(e.qkv_mac_pj_, t.rom_mac_pj(3.5, act, chip.qkv_.fold_cycles_));
  EXPECT_DOUBLE_EQ(e.lm_head_mac_pj_, t.rom_mac_pj(3.5, act, chip.lm_head_.fold_cycles_));
  // 16-bit activation x 8-bit KV: multiply at round(sqrt(128)) = 11 bits, add at 26 bits.
  EXPECT_DOUBLE_EQ(e.attention_mac_pj_, t.mult_pj(11) + t.add_pj(26));
  // A KV bank: 256 MiB over 32 layer engines of 128 banks = 64 KiB.
  const double bank = double(chip.attention_.kv_sram_.capacity_bytes_) / (32.0 * 128.0);
  EXPECT_DOUBLE_EQ(bank, 65536.0);
  EXPECT_DOUBLE_EQ(e.kv_sram_read_pj_per_bit_, t.sram_read_pj_per_bit(bank));
  EXPECT_DOUBLE_EQ(e.softmax_exp_pj_, 4 * (t.fp16_mult_pj_ + t.fp16_add_pj_));
  EXPECT_DOUBLE_EQ(e.leakage_w_, t.leakage_logic_w_per_mm2_ * area.logic_mm2_ +
                                     t.leakage_sram_w_per_mm2_ * area.sram_mm2_);
  EXPECT_DOUBLE_EQ(e.io_w_, t.io_power_w_);
  // Lane registers: 16 + ceil(3.5) + 2 bits per weight MAC; 16 + 8 + 2 per attention MAC.
  EXPECT_DOUBLE_EQ(e.weight_mac_flops_, 22);
  EXPECT_DOUBLE_EQ(e.attention_mac_flops_, 26);
  // Ungated clock: every flop of the die, every cycle, for the ungated share.
  EXPECT_NEAR(e.clock_idle_w_,
              (1 - t.clock_gating_) * t.flop_clock_pj_ * 1e-12 * area.flops_ * chip.clock_hz_,
              1e-9 * e.clock_idle_w_);
  EXPECT_DOUBLE_EQ(e.busy_flop_clock_pj_, t.clock_gating_ * t.flop_clock_pj_);

  // One decode token at 1k context: the fabric dominates (every weight used once).
  const EnergyBreakdown b = energy_j(m.decode_activity(1024), e, 0.0);
  EXPECT_GT(b.matrix_fabric_j_, b.attention_j_ + b.kv_memory_j_ + b.nonlinear_j_);
  EXPECT_NEAR(b.matrix_fabric_j_,
              1e-12 * (m.decode_activity(1024).weight_macs_ * e.qkv_mac_pj_ +
                       4096 * 3.5 * e.rom_lookup_pj_per_bit_),
              1e-9 * b.matrix_fabric_j_);
}

TEST(Energy, SimulatedActivityPowerMatchesTheEstimateAtOneContext) {
  // A run that decodes 1000 tokens all at context 1536 at the rate the estimator predicts for
  // that context must give the estimator's power: the two paths share energy_j.
  const ChipMapping m = map_model(load_model_config("llama-3.1-8b"),
                                  load_chip_config("hc1-like", {}), 3.89, 8);
  const TechTable t = load_tech("n6", {});
  const EstimatorPlan plan = make_plan(m, t);
  ActivityCounts run;
  const ActivityCounts one = m.decode_activity(1536);
  for (int i = 0; i < 1000; ++i) run += one;
  const double rate = 34000.0;
  const nlohmann::json j = activity_power_json(m, t, run, 1000.0 / rate, 1000.0);
  const double expected =
      (plan.dynamic_j_base_ + plan.dynamic_j_per_context_ * 1536.0) * rate + plan.static_w_;
  EXPECT_NEAR(j["power_w"].get<double>(), expected, 1e-9 * expected);
  EXPECT_NEAR(j["energy_per_token_j"].get<double>(), expected / rate, 1e-9 * expected / rate);
  double parts = 0;
  for (const auto& [k, v] : j["power_breakdown_w"].items()) parts += v.get<double>();
  EXPECT_NEAR(parts, expected, 1e-9 * expected);
}

}  // namespace
}  // namespace hw
