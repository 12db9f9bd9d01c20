// Tests of the area and transistor model: the hc1-like die built from its structures (cells per
// weight at the tensor's width, scales, adder-tree inputs from the cell model, flops, SRAM at
// array efficiency, wiring overhead), how area follows the design knobs, multi-die sums, and the
// reticle limit.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/area.h"
#include "power/estimator.h"
#include "power/tech_table.h"

namespace hw {
namespace {

TEST(Area, ChipDeclaredProductBitsBuildTheCells) {
  // hc1-like with every matrix block declaring bit-parallel cells (s = a + d = 16 + 3 bits: a
  // whole product per cycle, which is the timing the mapping charges today): the fabric is the
  // declared structure, whatever tech.rom.trees_from and tech.rom.product_bits_per_cycle say,
  // each select cell 19 transistors and 19 times as wide, and the timing is met.
  const ModelConfig model = load_model_config("llama-3.1-8b");
  std::vector<std::string> sets;
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down", "lm_head"}) {
    sets.push_back(std::string("chip.") + b + ".product_bits_per_cycle=19");
  }
  const ChipConfig chip = load_chip_config("hc1-like", sets);
  const TechTable t = load_tech("n6", {"tech.rom.trees_from=timing"});
  const ChipMapping m = map_model(model, chip, 3.0, 8);
  const ChipFabric f = chip_fabric(m, t, mapping_widths(m));
  EXPECT_TRUE(f.timing_met_);
  EXPECT_EQ(f.qkv_.product_bits_per_cycle_, 19);
  EXPECT_DOUBLE_EQ(f.qkv_.cycles_per_use_, 1.0);
  EXPECT_NEAR(f.qkv_.tree_inputs_, double(m.chip_.qkv_.input_lanes_) * 6144, 1e-6);
  EXPECT_NEAR(f.qkv_.select_transistors_, 19 * f.qkv_.cells_, 1e-3);
  EXPECT_NEAR(f.qkv_.cell_area_um2_, f.qkv_.cells_ * 19 * t.rom_cell_um2(3), 1e-6 * f.qkv_.cell_area_um2_);
  // Declaring bit-serial cells (s = 1) while the mapping charges one cycle per product: the
  // declared lanes cannot meet the fold, and the estimate says so (fabric_timing_met false)
  // until chip/mapping.h charges product_cycles() per product.
  std::vector<std::string> serial;
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down", "lm_head"}) {
    serial.push_back(std::string("chip.") + b + ".product_bits_per_cycle=1");
  }
  const ChipMapping ms = map_model(model, load_chip_config("hc1-like", serial), 3.0, 8);
  const int64_t p = ms.chip_.qkv_.cycles_per_product(16, 3);
  const ChipFabric fs = chip_fabric(ms, t, mapping_widths(ms));
  EXPECT_EQ(fs.qkv_.product_bits_per_cycle_, 1);
  EXPECT_EQ(fs.timing_met_, ms.chip_.qkv_.fold_cycles_ >=
                                p * ((4096 + ms.chip_.qkv_.input_lanes_ - 1) / ms.chip_.qkv_.input_lanes_));
}

TEST(Area, Hc1LikeByHand) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const ChipConfig chip = load_chip_config("hc1-like", {});
  // The tree inputs as the chip declares them (tech.rom.trees_from=structure).
  const TechTable t = load_tech("n6", {"tech.rom.trees_from=structure"});
  const ChipMapping m = map_model(model, chip, 3.0, 8);
  ASSERT_EQ(chip.activation_bits_, 16);
  const ChipFabric f = chip_fabric(m, t, mapping_widths(m));

  // 3-bit weights, no profile: one 3-bit digit cell per weight, 16-bit activations. The tree
  // inputs are the declared structure: input_lanes x rows (output_mux 1) per block.
  const double per_layer = 4096.0 * (4096 + 2 * 1024) + 4096.0 * 4096 + 2 * 14336.0 * 4096 +
                           14336.0 * 4096;
  const double head = 128256.0 * 4096;
  const BlockTransistors bt = die_transistors(m, t, f, 0);
  // One select cell per weight, and the embedding table at one bit per transistor.
  EXPECT_NEAR(bt.rom_cells_, 32 * per_layer + head + 3 * head, 1.0);
  const ChipConfig& c = m.chip_;
  for (const MatrixBlockConfig* b : {&c.qkv_, &c.o_proj_, &c.ffn_gate_up_, &c.ffn_down_, &c.lm_head_}) {
    ASSERT_EQ(b->output_mux_, 1);
  }
  const double inputs =
      32 * (double(c.qkv_.input_lanes_) * 6144 + double(c.o_proj_.input_lanes_) * 4096 +
            double(c.ffn_gate_up_.input_lanes_) * 28672 + double(c.ffn_down_.input_lanes_) * 4096) +
      double(c.lm_head_.input_lanes_) * 128256;
  EXPECT_NEAR(f.qkv_.tree_inputs_ * 32 + f.o_proj_.tree_inputs_ * 32 +
                  f.ffn_gate_up_.tree_inputs_ * 32 + f.ffn_down_.tree_inputs_ * 32 +
                  f.lm_head_.tree_inputs_,
              inputs, 1e-6 * inputs);
  // Each tree input serves C / input_lanes weights per token: the mapping's fold.
  EXPECT_NEAR(f.qkv_.uses_per_input_, 4096.0 / double(c.qkv_.input_lanes_), 1e-9);
  EXPECT_NEAR(f.qkv_.uses_per_input_, double(c.qkv_.fold_cycles_), 1.0);
  // ROM area: select cells under 9 tracks of 40 nm, 57 nm wide, 85% array efficiency; storage
  // bits under 2 tracks.
  const AreaBreakdown a = chip_area(m, t, f);
  const double cell_mm2 = 9 * 0.040 * 0.057 / 0.85 * 1e-6;
  const double bit_mm2 = 2 * 0.040 * 0.057 / 0.85 * 1e-6;
  EXPECT_NEAR(a.rom_weights_mm2_, (32 * per_layer + head) * cell_mm2 + 3 * head * bit_mm2,
              1e-6 * a.rom_weights_mm2_);
  // Attention units: 11-bit multiplier (121 full adders) + 26-bit add + 26 register bits.
  EXPECT_DOUBLE_EQ(bt.attention_, 32.0 * double(chip.attention_.macs_per_cycle_) *
                                      (121 * 28 + 26 * 28 + 26 * 24));
  EXPECT_DOUBLE_EQ(bt.kv_sram_bits_, 256.0 * 1048576 * 8);
  // Flops: 2 per tree input (sum and carry), 26 per attention unit, 16 per vector lane, plus the
  // product banks' registers.
  const double norm = double(chip.norm_.elements_per_cycle_);
  const double vector_lanes =
      32.0 * (double(chip.attention_.softmax_elements_per_cycle_) + 2 * norm +
              double(chip.rope_.elements_per_cycle_) +
              double(chip.activation_.elements_per_cycle_)) +
      norm + double(chip.sampler_.elements_per_cycle_);
  const double bank_flops = 32 * (f.qkv_.product_banks_ + f.o_proj_.product_banks_ +
                                  f.ffn_gate_up_.product_banks_ + f.ffn_down_.product_banks_) *
                                (3 + 8) +
                            f.lm_head_.product_banks_ * (3 + 8);
  EXPECT_NEAR(bt.flops_,
              2 * inputs + 32.0 * double(chip.attention_.macs_per_cycle_) * 26 +
                  vector_lanes * 16 + bank_flops,
              1e-6 * bt.flops_);
  EXPECT_NEAR(bt.control_, 0.10 * (bt.mac_trees_ + bt.attention_ + bt.nonlinear_), 1.0);

  // Logic at 107.6 MTr/mm2 placed at 70%; SRAM 0.027 / 0.70 um2 per bit; 15% wiring on top of
  // the placed blocks; 20 mm2 host PHY.
  const double lt = 1.0 / (107.6e6 * 0.7);
  EXPECT_NEAR(a.mac_trees_mm2_, bt.mac_trees_ * lt, 1e-6 * a.mac_trees_mm2_);
  EXPECT_NEAR(a.kv_sram_mm2_, bt.kv_sram_bits_ * 0.027 / 0.70 * 1e-6, 1e-9);
  const double placed = a.rom_weights_mm2_ + a.mac_trees_mm2_ + a.attention_mm2_ +
                        a.kv_sram_mm2_ + a.nonlinear_mm2_ + a.control_interconnect_mm2_;
  EXPECT_NEAR(a.wiring_mm2_, 0.15 * placed, 1e-9);
  EXPECT_NEAR(a.io_mm2_, 20.0, 1e-12);
  EXPECT_NEAR(a.total_mm2_, placed * 1.15 + 20.0, 1e-9);
  EXPECT_DOUBLE_EQ(a.largest_die_mm2_, a.total_mm2_);
  EXPECT_NEAR(a.transistors_,
              bt.rom_cells_ + bt.mac_trees_ + bt.attention_ + bt.nonlinear_ + bt.control_ +
                  6 * (bt.kv_sram_bits_ + bt.buffer_sram_bits_),
              1e-6 * a.transistors_);
}

TEST(Area, FollowsTheDesignKnobs) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const TechTable t = load_tech("n6", {});
  auto area_with = [&](const std::vector<std::string>& sets, double bits = 3.0) {
    return chip_area(map_model(model, load_chip_config("hc1-like", sets), bits, 8), t);
  };
  const AreaBreakdown base = area_with({});
  // Halving every block's input lanes (doubling its fold) halves the tree inputs.
  const ChipConfig c = load_chip_config("hc1-like", {});
  auto half = [](const char* block, int64_t lanes) {
    return std::string("chip.") + block + ".input_lanes=" + std::to_string(lanes / 2);
  };
  const AreaBreakdown folded = area_with(
      {half("qkv", c.qkv_.input_lanes_), half("o_proj", c.o_proj_.input_lanes_),
       half("ffn_gate_up", c.ffn_gate_up_.input_lanes_), half("ffn_down", c.ffn_down_.input_lanes_),
       half("lm_head", c.lm_head_.input_lanes_)});
  EXPECT_NEAR(folded.mac_trees_mm2_ / base.mac_trees_mm2_, 0.5, 0.02);
  EXPECT_DOUBLE_EQ(folded.rom_weights_mm2_, base.rom_weights_mm2_);
  // KV SRAM area is linear in capacity.
  const AreaBreakdown big = area_with({"chip.attention.kv_sram.capacity=1 GiB"});
  EXPECT_NEAR(big.kv_sram_mm2_ / base.kv_sram_mm2_, 4.0, 1e-9);
  // ROM area at 2, 3 and 4 bits differs (5, 9, 17 tracks per cell).
  EXPECT_LT(area_with({}, 2.0).rom_weights_mm2_, base.rom_weights_mm2_);
  EXPECT_LT(base.rom_weights_mm2_, area_with({}, 4.0).rom_weights_mm2_);
  // Across nodes logic, SRAM and ROM scale by different rules: n5 logic by the density ratio,
  // SRAM by the bitcell ratio, ROM cells by pitch x pitch.
  const AreaBreakdown n5 = chip_area(
      map_model(model, load_chip_config("hc1-like", {}), 3.0, 8), load_tech("n5", {}));
  EXPECT_NEAR(n5.kv_sram_mm2_ / base.kv_sram_mm2_, 0.021 / 0.027, 1e-9);
  EXPECT_NEAR(n5.rom_weights_mm2_ / base.rom_weights_mm2_, (28.0 * 51) / (40.0 * 57), 1e-9);
  EXPECT_LT(n5.mac_trees_mm2_ / base.mac_trees_mm2_, 107.6 / 164.2 * 1.3);
}

TEST(Area, MultiDieSumsDies) {
  const ModelConfig model = load_model_config("llama-3.1-70b");
  const ChipConfig chip = load_chip_config("multi-die-70b", {});
  const TechTable t = load_tech("n6", {});
  const ChipMapping m = map_model(model, chip, 3.5, 8);
  const ChipFabric f = chip_fabric(m, t, mapping_widths(m));
  const AreaBreakdown a = chip_area(m, t, f);
  double cells = 0;
  for (int64_t d = 0; d < m.dies_used_; ++d) cells += die_transistors(m, t, f, d).rom_cells_;
  EXPECT_NEAR(a.rom_cells_, cells, 1e-6 * cells);
  EXPECT_NEAR(a.io_mm2_, double(m.dies_used_) * t.host_phy_area_mm2_, 1e-9);
  EXPECT_LT(a.largest_die_mm2_, a.total_mm2_);
  EXPECT_GT(a.largest_die_mm2_ * double(m.dies_used_), a.total_mm2_ * 0.99);
}

TEST(Area, OverTheReticleIsReported) {
  // Llama 3.1 8B on one 45 nm die: many times the 858 mm2 field; the estimate names the die
  // count it needs (before: a single 8,919 mm2 die without a word).
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const NumericsProfile mix = load_numerics_profile("hc1-mix", {});
  const Estimate e = estimate(model, load_chip_config("hc1-like", {}), load_tech("n45", {}), mix,
                              load_workload("chat-1k-1k", {}));
  EXPECT_FALSE(e.area_.fits_reticle());
  EXPECT_EQ(e.dies_needed_for_reticle_,
            static_cast<int64_t>(std::ceil(e.area_.largest_die_mm2_ / 858.0)));
  EXPECT_GE(e.dies_needed_for_reticle_, 5);
  const auto j = e.to_json();
  EXPECT_TRUE(j["over_reticle"].get<bool>());
  EXPECT_DOUBLE_EQ(j["reticle_limit_mm2"].get<double>(), 858.0);
  // The same design on n3 fits one field.
  const Estimate n3 = estimate(model, load_chip_config("hc1-like", {}), load_tech("n3", {}), mix,
                               load_workload("chat-1k-1k", {}));
  EXPECT_TRUE(n3.area_.fits_reticle());
  EXPECT_EQ(n3.dies_needed_for_reticle_, 1);
}

}  // namespace
}  // namespace hw
