// The one cell model of a hardwired weight use: energy, area, transistors and timing of the
// ROM-select weight fabric all come from the same numbers here, so they cannot disagree.
//
// A weight of b bits is stored as D = ceil(b / g) digit cells of d = ceil(b / D) bits
// (g = tech.rom.bits_per_cell). Each input lane of a matrix block has a product bank that forms
// the 2^d products x*k of its activation x (a bits: the numerics profile's activation width) and
// drives them on 2^d product lines; a digit cell is s transistors (s = the chip's
// chip.<block>.product_bits_per_cycle, else tech.rom.product_bits_per_cycle) whose via ties it
// to one product line, and when its wordline is on it passes that line
// onto its row's adder-tree input, s bits per cycle, for P = ceil((a + d) / s) cycles. A tree
// input serves the U cells wired to it one after another. The chip structure (chip/chip_config.h:
// input_lanes x adder trees) gives the tree inputs, so U = cells / tree_inputs, and the block
// needs U x P cycles per token: the timing agrees when that is the mapping's fold (bit-parallel
// s = a + d: P = 1), and timing_met_ is false when it exceeds it. Without a structure the tree
// inputs follow from the fold: U = fold / P, tree_inputs = cells / U. Each tree input is an
// s-bit adder with s + 1 flops.
//   energy per digit use = (a + d) x activity x [line share + tree-input node] + (a + d + 2) full-
//                          adder bits + flop data toggles + product-bank share + scale share
//   clock per digit use  = (s + 1 + bank flops / columns per bank) x P x flop clock energy
//                          (local clocks, gated when the block idles)
//   area                 = cells x ROM cell area(d) + tree and bank transistors as logic
// docs/estimator.md "Cell model" derives each term; tests/power/test_cell_model.cpp checks that
// the three views agree.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chip/chip_config.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/tech_table.h"

namespace hw {

// Weight widths of one matrix block: (bits, fraction of the block's weights), fractions sum to 1.
struct WidthMix {
  std::vector<std::pair<int, double>> parts_;
  double mean_bits() const;
  // A mean width as a two-width mix (3.89 -> 89% at 4, 11% at 3).
  static WidthMix from_mean(double mean_bits);
};

// The widths the fabric is built for: per matrix block and the matrix activation width.
struct DesignWidths {
  WidthMix qkv_, o_proj_, ffn_gate_up_, ffn_down_, lm_head_, embedding_;
  int activation_bits_ = 8;            // matrix-input activation width
  double scale_bits_per_weight_ = 0;   // quantization scales stored on chip
  int64_t group_size_ = 0;             // weights per scale (0: per-row scales)
  std::string source_;                 // "numerics <name>" or "uniform <bits>"
  nlohmann::json to_json() const;
};

// Uniform widths (explicit --weight-bits): every block at `mean_bits` (a two-width mix when
// fractional), activations at `activation_bits`, no scale storage.
DesignWidths uniform_widths(double mean_bits, int activation_bits);
// The numerics profile's per-tensor widths (wide layers and promoted groups included), its
// activation width and its scale storage.
DesignWidths profile_widths(const NumericsProfile& profile, const ModelConfig& model);

// What a command's design point builds: the profile's widths when the weight width is the
// profile's own mean; otherwise uniform at `weight_bits` with the profile's activation width
// (or `chip_activation_bits` without a profile). `estimate` and `simulate --power` both call it.
DesignWidths resolve_design_widths(const ModelConfig& model, int chip_activation_bits,
                                   const NumericsProfile* profile, double weight_bits);

// Cycles one digit use occupies a tree input: ceil((a + d) / s) (chip/chip_config.h
// product_cycles, the formula the chip's timing uses too).
int digit_use_cycles(int activation_bits, int digit_bits, int product_bits_per_cycle);

// One matrix block instance (one layer's qkv, or the lm_head) built for `weights` weights.
struct BlockFabric {
  double weights_ = 0;
  double cells_ = 0;               // digit cells
  double tree_inputs_ = 0;         // parallel adder-tree inputs
  double product_banks_ = 0;
  double uses_per_input_ = 0;      // U, weighted over the width mix
  double cycles_per_use_ = 0;      // P, weighted over the width mix
  double busy_cycles_ = 0;         // max over the width mix of U x P: a token's compute cycles
  bool timing_met_ = true;         // false when the service time is shorter than one digit use
  double data_pj_per_weight_ = 0;  // per weight use (all its digits), data switching
  double clock_pj_per_weight_ = 0; // per weight use, local clock
  int product_bits_per_cycle_ = 1; // s: transistors per select cell, product bits per cycle
  double cell_area_um2_ = 0;       // ROM cells of the block
  double select_transistors_ = 0;  // cells x s
  double logic_transistors_ = 0;   // trees, banks and their flops
  double flops_ = 0;
  double scale_cells_ = 0;         // one-bit ROM cells holding the block's scales
  // {product_bits_per_cycle, cycles_per_product, uses_per_tree_input, busy_cycles_per_token,
  // tree_inputs, cells, timing_met}: the block's timing as the cells see it.
  nlohmann::json to_json() const;
};

// `tree_inputs`: the block's declared parallel products per cycle (chip structure: input_lanes x
// adder trees), each weight digit on its own tree input; 0 derives them from the service time
// (U = service / P). `service_cycles`: the block's compute cycles per token (the mapping's fold).
// `product_bits_per_cycle`: s of the cells, as the chip declares it for the block
// (chip.<block>.product_bits_per_cycle); 0 takes tech.rom.product_bits_per_cycle.
BlockFabric block_fabric(double weights, const WidthMix& widths, int activation_bits,
                         int64_t service_cycles, double scale_bits_per_weight,
                         int64_t group_size, const TechTable& tech, double tree_inputs = 0,
                         int product_bits_per_cycle = 0);

}  // namespace hw
