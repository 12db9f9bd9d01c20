// Tests of the area and transistor model: the hc1-like die block by block from its declared
// sizes (ROM capacity, folds, engine widths, SRAM capacity), and how area follows the design
// knobs (fold, SRAM, dies).
#include <gtest/gtest.h>

#include <cmath>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "model/model_config.h"
#include "power/area.h"
#include "power/tech_table.h"

namespace hw {
namespace {

double lanes(double weights, double fold) { return std::ceil(weights / fold); }

TEST(Area, Hc1LikeByHand) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const ChipConfig chip = load_chip_config("hc1-like", {});
  const TechTable t = load_tech("n6", {});
  const ChipMapping m = map_model(model, chip, 3.5, 8);
  ASSERT_EQ(chip.activation_bits_, 16);
  ASSERT_EQ(chip.qkv_.fold_cycles_, 300);

  const BlockTransistors bt = die_transistors(m, t, 0);
  // ROM: one transistor per 4-bit cell of the declared capacity.
  EXPECT_DOUBLE_EQ(bt.rom_cells_, 32121044992.0 / 4);
  // Matrix lanes at fold 300 (d 4096, q 4096, kv 1024, f 14336, V 128256): each lane an adder
  // of 16 + 4 + 2 = 22 bits (28 transistors per bit), a 7-adder product bank of 20-bit adders
  // per 64 lanes.
  const double head = lanes(128256.0 * 4096, 300);
  auto block = [](double l) { return l * 22 * 28 + std::ceil(l / 64) * 7 * 20 * 28; };
  const double mac = 32 * (block(lanes(4096.0 * 6144, 300)) + block(lanes(4096.0 * 4096, 300)) +
                           block(lanes(2 * 14336.0 * 4096, 300)) +
                           block(lanes(14336.0 * 4096, 300))) +
                     block(head);
  EXPECT_NEAR(bt.mac_trees_, mac, 1e-6 * mac);
  // Attention: MAC units per layer, each an 11-bit multiplier (121 full adders) + 26-bit add.
  EXPECT_DOUBLE_EQ(bt.attention_,
                   32.0 * double(chip.attention_.macs_per_cycle_) * (121 * 28 + 26 * 28));
  // KV SRAM bits: 256 MiB.
  EXPECT_DOUBLE_EQ(bt.kv_sram_bits_, 256.0 * 1048576 * 8);
  // Clocked registers: one lane register of 22 bits per lane, 26 bits per attention MAC unit,
  // 16 bits per vector lane (per layer: softmax, 2 norms, RoPE, activation; on the last die
  // the final norm and the sampler).
  double all_lanes = 0;
  for (double w : {4096.0 * 6144, 4096.0 * 4096, 2 * 14336.0 * 4096, 14336.0 * 4096}) {
    all_lanes += 32 * lanes(w, 300);
  }
  all_lanes += head;
  const double norm = double(chip.norm_.elements_per_cycle_);
  const double vector_lanes =
      32.0 * (double(chip.attention_.softmax_elements_per_cycle_) + 2 * norm +
              double(chip.rope_.elements_per_cycle_) + double(chip.activation_.elements_per_cycle_)) +
      norm + double(chip.sampler_.elements_per_cycle_);
  EXPECT_DOUBLE_EQ(bt.flops_, all_lanes * 22 +
                                  32.0 * double(chip.attention_.macs_per_cycle_) * 26 +
                                  vector_lanes * 16);
  EXPECT_NEAR(bt.control_, t.control_area_fraction_ * (bt.mac_trees_ + bt.attention_ + bt.nonlinear_),
              1.0);

  const AreaBreakdown a = chip_area(m, t);
  const double um2 = 1e-6;
  EXPECT_NEAR(a.rom_weights_mm2_, bt.rom_cells_ * t.rom_cell_um2_ * um2, 1e-9);
  EXPECT_NEAR(a.kv_sram_mm2_, bt.kv_sram_bits_ * 0.027 / 0.70 * um2, 1e-9);
  EXPECT_NEAR(a.mac_trees_mm2_, mac * t.logic_transistor_um2_ * um2, 1e-6);
  EXPECT_NEAR(a.io_mm2_, t.io_area_mm2_, 1e-12);
  EXPECT_NEAR(a.total_mm2_,
              a.rom_weights_mm2_ + a.mac_trees_mm2_ + a.attention_mm2_ + a.kv_sram_mm2_ +
                  a.nonlinear_mm2_ + a.control_interconnect_mm2_ + a.io_mm2_,
              1e-9);
  EXPECT_NEAR(a.logic_mm2_ + a.sram_mm2_ + a.io_mm2_, a.total_mm2_, 1e-9);
  EXPECT_DOUBLE_EQ(a.largest_die_mm2_, a.total_mm2_);
  EXPECT_NEAR(a.transistors_,
              bt.rom_cells_ + bt.mac_trees_ + bt.attention_ + bt.nonlinear_ + bt.control_ +
                  6 * (bt.kv_sram_bits_ + bt.buffer_sram_bits_),
              1e-6 * a.transistors_);
}

TEST(Area, FollowsTheDesignKnobs) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const TechTable t = load_tech("n6", {});
  auto area_with = [&](const std::vector<std::string>& sets) {
    return chip_area(map_model(model, load_chip_config("hc1-like", sets), 3.5, 8), t);
  };
  const AreaBreakdown base = area_with({});
  // Doubling every fold halves the lanes: the adder trees shrink by about half.
  const AreaBreakdown folded =
      area_with({"chip.qkv.fold=600", "chip.o_proj.fold=600", "chip.ffn_gate_up.fold=600",
                 "chip.ffn_down.fold=600", "chip.lm_head.fold=600"});
  EXPECT_NEAR(folded.mac_trees_mm2_ / base.mac_trees_mm2_, 0.5, 0.01);
  EXPECT_DOUBLE_EQ(folded.rom_weights_mm2_, base.rom_weights_mm2_);
  // KV SRAM area is linear in capacity.
  const AreaBreakdown big = area_with({"chip.attention.kv_sram.capacity=1 GiB"});
  EXPECT_NEAR(big.kv_sram_mm2_ / base.kv_sram_mm2_, 4.0, 1e-9);
  // A smaller node shrinks everything but the fixed I/O area by the bitcell ratio (the n5 file
  // rounds its derived transistor area to 4 significant digits).
  const AreaBreakdown n5 = chip_area(
      map_model(model, load_chip_config("hc1-like", {}), 3.5, 8), load_tech("n5", {}));
  EXPECT_NEAR((n5.total_mm2_ - n5.io_mm2_) / (base.total_mm2_ - base.io_mm2_), 0.021 / 0.027,
              1e-3);
}

TEST(Area, MultiDieSumsDies) {
  const ModelConfig model = load_model_config("llama-3.1-70b");
  const ChipConfig chip = load_chip_config("multi-die-70b", {});
  const TechTable t = load_tech("n6", {});
  const ChipMapping m = map_model(model, chip, 3.5, 8);
  const AreaBreakdown a = chip_area(m, t);
  double sum = 0;
  for (int64_t d = 0; d < m.dies_used_; ++d) {
    const BlockTransistors bt = die_transistors(m, t, d);
    EXPECT_DOUBLE_EQ(bt.rom_cells_, double(chip.rom_capacity_bits_) / 4);
    sum += bt.rom_cells_;
  }
  EXPECT_NEAR(a.rom_weights_mm2_, sum * t.rom_cell_um2_ * 1e-6, 1e-6);
  EXPECT_NEAR(a.io_mm2_, double(m.dies_used_) * t.io_area_mm2_, 1e-9);
  EXPECT_LT(a.largest_die_mm2_, a.total_mm2_);
  EXPECT_GT(a.largest_die_mm2_ * double(m.dies_used_), a.total_mm2_ * 0.99);
}

}  // namespace
}  // namespace hw
