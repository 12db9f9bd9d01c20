// Tests of the one cell model of a hardwired weight use (power/cell_model.h): a block computed by
// hand, the three views (energy, area, timing) agreeing with each other, and the widths that must
// now matter (each tensor's width, the numerics activation width, bit-serial vs bit-parallel).
#include <gtest/gtest.h>

#include <cmath>

#include "chip/chip_config.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/cell_model.h"
#include "power/tech_table.h"

namespace hw {
namespace {

TEST(CellModel, DigitsAndCycles) {
  // g = 4, s = 1 (bit-serial): b bits -> ceil(b / 4) digits of ceil(b / digits) bits, each use
  // a + d cycles.
  EXPECT_EQ(digit_use_cycles(8, 3, 1), 11);
  EXPECT_EQ(digit_use_cycles(8, 4, 1), 12);
  EXPECT_EQ(digit_use_cycles(16, 4, 1), 20);
  EXPECT_EQ(digit_use_cycles(8, 4, 12), 1);  // bit-parallel: the whole product in one cycle
  EXPECT_EQ(digit_use_cycles(8, 4, 5), 3);
  // The chip's timing uses the same formula; 0 declares whole products (one cycle).
  EXPECT_EQ(product_cycles(8, 3, 1), 11);
  EXPECT_EQ(product_cycles(8, 3, 0), 1);
  MatrixBlockConfig b;
  b.product_bits_per_cycle_ = 4;
  EXPECT_EQ(b.cycles_per_product(8, 3), 3);
}

TEST(CellModel, ChipDeclaredCellTimingAgrees) {
  // A block whose chip description declares s (chip.<block>.product_bits_per_cycle): Li input
  // lanes into R adder trees (output_mux 1), a token's compute is ceil(C / Li) slices of P =
  // ceil((a + d) / s) cycles each (what chip/mapping.h charges for a declared s). Energy, area
  // and timing of a weight use must describe that one structure:
  // timing: each tree input serves U = C / Li weights of P cycles in the fold;
  // area: cells = tree inputs x U, s transistors each, the ROM cell s transistors wide;
  // energy: the local clock charged per weight use, over a token, equals every flop of the
  // block clocked for the whole fold.
  const TechTable t = load_tech("n6", {});  // tech s = 1: the chip's declaration must win
  const double c = 4096, r = 6144, lanes = 16;
  for (int s : {1, 2, 4, 11}) {
    for (int bits : {3, 4}) {
      const int a = 8;
      const int p = static_cast<int>(product_cycles(a, bits, s));
      const int64_t fold = int64_t(std::ceil(c / lanes)) * p;
      const BlockFabric f = block_fabric(c * r, WidthMix::from_mean(bits), a, fold, 0, 0, t,
                                         lanes * r, s);
      EXPECT_TRUE(f.timing_met_) << s << " " << bits;
      EXPECT_EQ(f.product_bits_per_cycle_, s);
      EXPECT_DOUBLE_EQ(f.cycles_per_use_, p);
      EXPECT_DOUBLE_EQ(f.uses_per_input_, c / lanes);
      EXPECT_NEAR(f.uses_per_input_ * f.cycles_per_use_, double(fold), 1e-9);
      EXPECT_NEAR(f.busy_cycles_, double(fold), 1e-9);
      EXPECT_NEAR(f.tree_inputs_, lanes * r, 1e-9);
      EXPECT_NEAR(f.tree_inputs_ * f.uses_per_input_, f.cells_, 1e-6 * f.cells_);
      EXPECT_NEAR(f.select_transistors_, f.cells_ * s, 1e-6 * f.cells_);
      EXPECT_NEAR(f.cell_area_um2_, f.cells_ * t.rom_cell_um2(bits) * s, 1e-6 * f.cell_area_um2_);
      const double clock_per_token = c * r * f.clock_pj_per_weight_;
      const double busy_clock = f.flops_ * double(fold) * t.flop_clock_pj_;
      EXPECT_NEAR(clock_per_token, busy_clock, 1e-9 * busy_clock) << s << " " << bits;
      // A timing that charges one cycle per product (the mapping without P) cannot be met by
      // cells that need P > 1 cycles.
      if (p > 1) {
        EXPECT_FALSE(block_fabric(c * r, WidthMix::from_mean(bits), a, fold / p, 0, 0, t,
                                  lanes * r, s)
                         .timing_met_);
      }
    }
  }
}

TEST(CellModel, OneBlockByHand) {
  const TechTable t = load_tech("n6", {});
  ASSERT_EQ(t.rom_bits_per_cell_, 4);
  ASSERT_EQ(t.rom_product_bits_per_cycle_, 1);
  // 4096 x 4096 weights of 4 bits, 8-bit activations, 300 cycles per token: one 4-bit digit
  // per weight, 12 cycles per use, 25 uses per tree input.
  const double w = 4096.0 * 4096.0;
  const BlockFabric f = block_fabric(w, WidthMix::from_mean(4), 8, 300, 0, 0, t);
  EXPECT_DOUBLE_EQ(f.cells_, w);
  EXPECT_DOUBLE_EQ(f.uses_per_input_, 25.0);
  EXPECT_DOUBLE_EQ(f.cycles_per_use_, 12.0);
  EXPECT_DOUBLE_EQ(f.tree_inputs_, w / 25);
  EXPECT_TRUE(f.timing_met_);
  EXPECT_NEAR(f.cell_area_um2_, w * 17 * 0.040 * 0.057 / 0.85, 1e-6 * f.cell_area_um2_);

  // Energy of one use, term by term (fF, pJ at 0.75 V).
  const double v2 = 0.75 * 0.75 * 1e-3;  // pJ per fF
  const double ct = t.transistor_cap_ff_;
  const double line = 16 * 0.057 * 0.2 + ct;          // 16 lines over a 57 nm cell + its via
  const double node = 25 * (ct + 17 * 0.040 * 0.2);  // 25 cells on the tree input, 17 tracks tall
  const double bits = 12 * 0.5 * (line + node) * v2;
  const double adds = 14 * t.add_pj(8) / 8;
  const double flop_data = 2 * 12 * 0.25 * (24 - 8) * ct * v2;
  const double bank = 7 * 12 * (t.add_pj(8) / 8) / 256;
  EXPECT_NEAR(f.data_pj_per_weight_, bits + adds + flop_data + bank, 1e-12);
  // Clock: 2 tree flops plus the bank's 7 adder + 16 line registers shared by 256 columns.
  EXPECT_NEAR(f.clock_pj_per_weight_, (2 + 23.0 / 256) * 12 * t.flop_clock_pj_, 1e-15);
  // Transistors: per tree input a 1-bit full adder and 2 flops; per bank (one per 256 inputs)
  // 7 serial adders with a flop each and 16 line registers.
  const double banks = (w / 25) / 256;
  EXPECT_NEAR(f.logic_transistors_, (w / 25) * (28 + 2 * 24) + banks * (7 * (28 + 24) + 16 * 24),
              1e-6 * f.logic_transistors_);
}

TEST(CellModel, EnergyAreaAndTimingAgree) {
  // The three views of the same block must describe the same hardware:
  // timing: a tree input is busy uses x cycles per use = the block's service cycles;
  // area: cells = tree inputs x uses, each cell s transistors;
  // energy: the local clock charged per weight use, summed over a token, equals every flop the
  // area model counts in the block clocked for every cycle of the service time.
  const TechTable t = load_tech("n6", {});
  for (int bits : {2, 3, 4, 6, 8}) {
    for (int act : {8, 16}) {
      const int64_t fold = 1200;
      const double w = 8192.0 * 3000.0;
      const BlockFabric f = block_fabric(w, WidthMix::from_mean(bits), act, fold, 0, 0, t);
      const int digits = (bits + 3) / 4;
      const int d = (bits + digits - 1) / digits;
      const int cycles = act + d;
      EXPECT_DOUBLE_EQ(f.cycles_per_use_, cycles) << bits << " " << act;
      EXPECT_NEAR(f.uses_per_input_ * f.cycles_per_use_, double(fold), 1e-9);
      EXPECT_NEAR(f.tree_inputs_ * f.uses_per_input_, f.cells_, 1e-6 * f.cells_);
      EXPECT_DOUBLE_EQ(f.cells_, w * digits);
      const double clock_per_token = w * f.clock_pj_per_weight_;
      const double busy_tree_clock = f.flops_ * double(fold) * t.flop_clock_pj_;
      EXPECT_NEAR(clock_per_token, busy_tree_clock, 1e-9 * busy_tree_clock) << bits << " " << act;
      // The declared structure that matches this timing gives the same block.
      const BlockFabric d2 = block_fabric(w, WidthMix::from_mean(bits), act, fold, 0, 0, t,
                                          w * cycles / double(fold));
      EXPECT_TRUE(d2.timing_met_);
      EXPECT_NEAR(d2.tree_inputs_, f.tree_inputs_, 1e-9 * f.tree_inputs_);
      EXPECT_NEAR(d2.data_pj_per_weight_, f.data_pj_per_weight_, 1e-12);
    }
  }
}

TEST(CellModel, WidthsMatter) {
  const TechTable t = load_tech("n6", {});
  const double w = 4096.0 * 14336.0;
  // A declared structure of w / 25 tree inputs (each serves 25 weights per token).
  auto at = [&](double bits, int act) {
    return block_fabric(w, WidthMix::from_mean(bits), act, 300, 0, 0, t, w / 25);
  };
  // Energy per weight use grows with the weight width (w3 is not w6) and the activation width.
  double previous = 0;
  for (int b : {2, 3, 4, 6, 8}) {
    const double e = at(b, 8).data_pj_per_weight_;
    EXPECT_GT(e, previous) << b;
    previous = e;
  }
  EXPECT_GT(at(4, 16).data_pj_per_weight_, 1.3 * at(4, 8).data_pj_per_weight_);
  // ROM area per weight grows with the width: 2-, 3- and 4-bit digits sit under 5, 9, 17 tracks.
  EXPECT_NEAR(at(3, 8).cell_area_um2_ / at(2, 8).cell_area_um2_, 9.0 / 5.0, 1e-9);
  EXPECT_NEAR(at(4, 8).cell_area_um2_ / at(3, 8).cell_area_um2_, 17.0 / 9.0, 1e-9);
  // A 6-bit weight is two 3-bit digits.
  EXPECT_NEAR(at(6, 8).cell_area_um2_ / at(3, 8).cell_area_um2_, 2.0, 1e-9);
  // A mix interpolates the cells exactly.
  EXPECT_NEAR(at(3.5, 8).cells_, w, 1e-3);
  // Too short a service time for one digit use: timing not met.
  EXPECT_FALSE(block_fabric(w, WidthMix::from_mean(4), 8, 10, 0, 0, t).timing_met_);
  // A declared structure whose fold does not cover U x P cycles: timing not met (bit-serial
  // cells behind a timing that assumes one product per cycle).
  EXPECT_TRUE(at(4, 8).timing_met_);  // 25 uses x 12 cycles = 300
  EXPECT_FALSE(block_fabric(w, WidthMix::from_mean(4), 8, 300, 0, 0, t, w / 300).timing_met_);
}

TEST(CellModel, BitParallelFabric) {
  // s = a + d: a whole product per cycle, a + d transistors per cell, one cycle per use.
  const TechTable serial = load_tech("n6", {});
  const TechTable parallel = load_tech("n6", {"tech.rom.product_bits_per_cycle=12"});
  const double w = 4096.0 * 4096.0;
  const BlockFabric s = block_fabric(w, WidthMix::from_mean(4), 8, 300, 0, 0, serial);
  const BlockFabric p = block_fabric(w, WidthMix::from_mean(4), 8, 300, 0, 0, parallel);
  EXPECT_DOUBLE_EQ(p.cycles_per_use_, 1.0);
  EXPECT_DOUBLE_EQ(p.uses_per_input_, 300.0);
  EXPECT_NEAR(p.cell_area_um2_ / s.cell_area_um2_, 12.0, 1e-9);
  EXPECT_LT(p.tree_inputs_, s.tree_inputs_);
}

TEST(CellModel, ProfileWidths) {
  const ModelConfig m = load_model_config("llama-3.1-8b");
  const NumericsProfile mix = load_numerics_profile("hc1-mix", {});
  const DesignWidths w = profile_widths(mix, m);
  EXPECT_EQ(w.activation_bits_, mix.activation_bits_);
  EXPECT_EQ(w.activation_bits_, 8);
  // Each block at its tensors' widths (the profile's, layer 0: hc1-mix has no wide layers).
  EXPECT_NEAR(w.ffn_down_.mean_bits(), mix.weight_bits_for(WeightKind::kFfnDown, 0), 1e-12);
  EXPECT_NEAR(w.o_proj_.mean_bits(), mix.weight_bits_for(WeightKind::kAttnOutput, 0), 1e-12);
  EXPECT_NEAR(w.lm_head_.mean_bits(), mix.weight_bits_for(WeightKind::kLmHead, 0), 1e-12);
  EXPECT_NEAR(w.ffn_gate_up_.mean_bits(),
              0.5 * (mix.weight_bits_for(WeightKind::kFfnGate, 0) +
                     mix.weight_bits_for(WeightKind::kFfnUp, 0)),
              1e-12);
  // The mix is not uniform: some blocks differ.
  EXPECT_NE(w.ffn_down_.mean_bits(), w.ffn_gate_up_.mean_bits());
  EXPECT_GT(w.scale_bits_per_weight_, 0.0);
  // An explicit width that is not the profile's mean builds a uniform fabric at the profile's
  // activation width; no profile: the chip's activation width.
  const DesignWidths u = resolve_design_widths(m, 16, &mix, 4.0);
  EXPECT_NEAR(u.qkv_.mean_bits(), 4.0, 1e-12);
  EXPECT_EQ(u.activation_bits_, 8);
  EXPECT_EQ(resolve_design_widths(m, 16, nullptr, 4.0).activation_bits_, 16);
  const DesignWidths same = resolve_design_widths(m, 16, &mix, mix.mean_weight_bits(m));
  EXPECT_NEAR(same.ffn_down_.mean_bits(), w.ffn_down_.mean_bits(), 1e-12);
}

}  // namespace
}  // namespace hw
