// Tests of the one activity-to-energy function: counts x per-event energies by hand, local clock
// per busy event, static power x time, die to card through the VRM, and the per-event energies a
// mapped hc1-like chip gets from the cell model and the n6 table.
#include <gtest/gtest.h>

#include <cmath>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
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
  e.qkv_clock_pj_ = 0.2;
  e.o_proj_clock_pj_ = 0.3;
  e.ffn_clock_pj_ = 0.4;
  e.lm_head_clock_pj_ = 0.5;
  e.attention_clock_pj_ = 0.6;
  e.vector_clock_pj_ = 0.7;
  e.clock_spine_w_ = 4.0;
  e.leakage_w_ = 3.0;
  e.io_w_ = 2.0;
  e.vrm_efficiency_ = 0.8;
  e.board_w_ = 1.0;

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
  // Local clocks of busy units: per weight use by block, per attention MAC, per vector event.
  const double clock = 100 * 0.2 + 10 * 0.3 + 1000 * 0.4 + 1 * 0.5 + 20 * 0.6 +
                       (2 + 3 + 4 + 5 + 6 + 7) * 0.7;
  EXPECT_NEAR(b.matrix_fabric_j_, fabric * pj, 1e-20);
  EXPECT_NEAR(b.attention_j_, attention * pj, 1e-20);
  EXPECT_NEAR(b.kv_memory_j_, (kv_sram + kv_dram) * pj, 1e-20);
  EXPECT_NEAR(b.nonlinear_j_, nonlinear * pj, 1e-20);
  EXPECT_NEAR(b.interconnect_j_, (buffers + links) * pj, 1e-20);
  EXPECT_NEAR(b.clock_j_, clock * pj, 1e-20);
  EXPECT_DOUBLE_EQ(b.clock_idle_j_, 2.0);
  EXPECT_DOUBLE_EQ(b.io_j_, 1.0);
  EXPECT_DOUBLE_EQ(b.leakage_j_, 1.5);
  const double die =
      (fabric + attention + kv_sram + kv_dram + nonlinear + buffers + links + clock) * pj + 4.5;
  EXPECT_NEAR(b.die_j(), die, 1e-15);
  // Card: die / 0.8 + 1 W x 0.5 s.
  EXPECT_NEAR(b.total_j(), die / 0.8 + 0.5, 1e-12);
  EXPECT_NEAR(b.board_j_, die * 0.25 + 0.5, 1e-12);
  const auto p = b.power_json(0.5);
  EXPECT_DOUBLE_EQ(p["io"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(p["leakage"].get<double>(), 3.0);
  EXPECT_NEAR(p["clock"].get<double>(), 4.0 + clock * pj / 0.5, 1e-12);
  double parts = 0;
  for (const auto& [k, v] : p.items()) parts += v.get<double>();
  EXPECT_NEAR(parts, b.total_j() / 0.5, 1e-9);
  EXPECT_NEAR(e.static_w(), 9.0 / 0.8 + 1.0, 1e-12);

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
  const ChipFabric f = chip_fabric(m, t, mapping_widths(m));
  const AreaBreakdown area = chip_area(m, t, f);
  const EventEnergies e = event_energies(m, t, f, area);
  EXPECT_DOUBLE_EQ(e.qkv_mac_pj_, f.qkv_.data_pj_per_weight_);
  EXPECT_DOUBLE_EQ(e.lm_head_clock_pj_, f.lm_head_.clock_pj_per_weight_);
  EXPECT_NEAR(e.ffn_mac_pj_,
              (2 * f.ffn_gate_up_.data_pj_per_weight_ + f.ffn_down_.data_pj_per_weight_) / 3,
              1e-15);
  // 16-bit activation (no profile: the chip's width) x 8-bit KV: multiply at round(sqrt(128))
  // = 11 bits, add at 26 bits.
  EXPECT_DOUBLE_EQ(e.attention_mac_pj_, t.mult_pj(11) + t.add_pj(26));
  EXPECT_DOUBLE_EQ(e.attention_clock_pj_, 26 * t.flop_clock_pj_);
  // A KV bank: 256 MiB over 32 layer engines of 128 banks = 64 KiB.
  const double bank = double(chip.attention_.kv_sram_.capacity_bytes_) / (32.0 * 128.0);
  EXPECT_DOUBLE_EQ(bank, 65536.0);
  EXPECT_DOUBLE_EQ(e.kv_sram_read_pj_per_bit_, t.sram_read_pj_per_bit(bank));
  EXPECT_DOUBLE_EQ(e.softmax_exp_pj_, 4 * (t.fp16_mult_pj_ + t.fp16_add_pj_));
  // Leakage by kind: logic transistors, ROM cells, SRAM bits.
  EXPECT_NEAR(e.leakage_w_,
              area.logic_transistors_ * t.leakage_logic_w_per_transistor_ +
                  area.rom_cells_ * t.leakage_rom_w_per_cell_ +
                  area.sram_bits_ * t.leakage_sram_w_per_bit_,
              1e-9 * e.leakage_w_);
  EXPECT_DOUBLE_EQ(e.io_w_, t.host_phy_w_);
  // Clock spine: 1.5 x die area / 50 um of wire at 0.2 fF/um, doubled by its buffers, 1 GHz.
  const double spine_ff = 1.5 * area.total_mm2_ * 1e6 / 50 * 0.2 * 2;
  EXPECT_NEAR(e.clock_spine_w_, spine_ff * 1e-15 * 0.75 * 0.75 * 1e9, 1e-9 * e.clock_spine_w_);

  // One decode token at 1k context: the fabric dominates the dynamic energy.
  const EnergyBreakdown b = energy_j(m.decode_activity(1024), e, 0.0);
  EXPECT_GT(b.matrix_fabric_j_, b.attention_j_ + b.kv_memory_j_ + b.nonlinear_j_);
}

TEST(Energy, DramAndMultiDieStaticPower) {
  // KV in DRAM: each die pays its DRAM PHY and device background on top of the host PHY; a
  // multi-die system pays the PHYs and the board overhead per die.
  const TechTable t = load_tech("n6", {});
  const ChipMapping dram = map_model(load_model_config("llama-3.1-8b"),
                                     load_chip_config("kv-in-dram", {}), 3.5, 8);
  const EventEnergies e = event_energies(dram, t, chip_area(dram, t));
  EXPECT_DOUBLE_EQ(e.io_w_, (t.host_phy_w_ + t.dram_background_w_) * double(dram.dies_used_));
  EXPECT_DOUBLE_EQ(e.kv_dram_pj_per_bit_, t.dram_pj_per_bit_);
  const ChipMapping multi = map_model(load_model_config("llama-3.1-70b"),
                                      load_chip_config("multi-die-70b", {}), 3.5, 8);
  ASSERT_GT(multi.dies_used_, 1);
  const EventEnergies m = event_energies(multi, t, chip_area(multi, t));
  EXPECT_DOUBLE_EQ(m.board_w_, t.board_overhead_w_ * double(multi.dies_used_));
  EXPECT_DOUBLE_EQ(m.io_w_, t.host_phy_w_ * double(multi.dies_used_));
}

TEST(Energy, ProfileWidthsChangeTheEnergy) {
  // hc1-mix (a 3/6-bit mix, its LM head at 6 bits, int8 activations) and w3a8 (3 bits
  // everywhere) cost different energy per weight use (before: 0.0920 vs 0.0925 pJ); int8
  // activations cost less than the chip's 16-bit buffer width.
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const ChipConfig chip = load_chip_config("hc1-like", {});
  const TechTable t = load_tech("n6", {});
  const NumericsProfile mix = load_numerics_profile("hc1-mix", {});
  const NumericsProfile w3 = load_numerics_profile("w3a8", {});
  ASSERT_EQ(mix.weight_bits_for(WeightKind::kLmHead, 0), 6);
  ASSERT_EQ(w3.weight_bits_for(WeightKind::kLmHead, 0), 3);
  auto head = [&](const NumericsProfile& p) {
    const ChipMapping m = map_model(model, chip, p.mean_weight_bits(model), p.kv_bits());
    return chip_fabric(m, t, profile_widths(p, model)).lm_head_.data_pj_per_weight_;
  };
  EXPECT_GT(head(mix), 1.3 * head(w3));
  const ChipMapping m = map_model(model, chip, 3.0, 8);
  // 8 + 3 product bits instead of 16 + 3, but on a shared tree input of more cells (U = fold / P
  // grows as P shrinks) and with the wires' share, which logic scaling does not shrink: 20% or
  // more cheaper (25% on n6).
  EXPECT_LT(chip_fabric(m, t, uniform_widths(3.0, 8)).ffn_down_.data_pj_per_weight_,
            chip_fabric(m, t, uniform_widths(3.0, 16)).ffn_down_.data_pj_per_weight_ / 1.2);
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
      (plan.dynamic_j_base_ + plan.dynamic_j_per_context_ * 1536.0) * rate / plan.vrm_efficiency_ +
      plan.static_w_;
  EXPECT_NEAR(j["power_w"].get<double>(), expected, 1e-9 * expected);
  EXPECT_NEAR(j["energy_per_token_j"].get<double>(), expected / rate, 1e-9 * expected / rate);
  double parts = 0;
  for (const auto& [k, v] : j["power_breakdown_w"].items()) parts += v.get<double>();
  EXPECT_NEAR(parts, expected, 1e-9 * expected);
}

}  // namespace
}  // namespace hw
