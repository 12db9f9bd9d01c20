// Die area and transistor count of a model mapped onto a chip, from structures: the ROM digit
// cells and adder trees of the cell model (power/cell_model.h) at each tensor's width, the
// quantization scales stored on chip, the embedding table, attention engines, nonlinear / vector
// units, every flop, control, KV and FIFO SRAM at array efficiency, host and DRAM PHYs, and the
// global wiring overhead. Logic is sized by transistor count over the node's standard-cell
// density and placement utilization, SRAM by bitcell over array efficiency, ROM cells by the
// wiring tracks they sit under: the three scale differently across nodes. Leakage is charged
// per transistor kind from the same counts.
#pragma once
#include <cstdint>

#include <nlohmann/json.hpp>

#include "chip/mapping.h"
#include "power/cell_model.h"
#include "power/tech_table.h"

namespace hw {

// The weight fabric of one layer's matrix blocks and of the lm_head, as built.
struct ChipFabric {
  DesignWidths widths_;
  BlockFabric qkv_, o_proj_, ffn_gate_up_, ffn_down_, lm_head_;
  double embedding_cells_ = 0;  // plain one-bit ROM cells of the embedding table (die 0)
  bool timing_met_ = true;      // every block's service time covers one digit use
  // [{"block": "qkv", ...BlockFabric::to_json()}, o_proj, ffn_gate_up, ffn_down, lm_head]: an
  // array of records (sweeps flatten objects into CSV columns, not arrays).
  nlohmann::json blocks_json() const;
};

ChipFabric chip_fabric(const ChipMapping& mapping, const TechTable& tech,
                       const DesignWidths& widths);

// Transistors of the hardware blocks of one die (or of all dies, summed).
struct BlockTransistors {
  double rom_cells_ = 0;        // ROM transistors: select cells (s each), scale and embedding bits
  double mac_trees_ = 0;        // adder-tree inputs, product banks and their flops
  double attention_ = 0;        // q.k / p.v multiply-accumulate engines and their registers
  double nonlinear_ = 0;        // softmax exp, norms, RoPE, SiLU, sampler and lane registers
  double control_ = 0;          // control fraction of the logic above
  double kv_sram_bits_ = 0;     // KV SRAM bits
  double buffer_sram_bits_ = 0; // inter-block FIFO bits
  double flops_ = 0;            // clocked register bits (inside the logic counts above)
  double rom_area_um2_ = 0;     // ROM cell area (cells under their product lines)
};

// Register bits of one attention unit / vector lane (clocked once per event).
int attention_mac_flops(int activation_bits, int kv_bits);
constexpr int kVectorLaneFlops = 16;  // fp16 result register of a vector / nonlinear lane

struct AreaBreakdown {
  double rom_weights_mm2_ = 0;
  double mac_trees_mm2_ = 0;
  double attention_mm2_ = 0;
  double kv_sram_mm2_ = 0;
  double nonlinear_mm2_ = 0;
  double control_interconnect_mm2_ = 0;  // control logic + FIFO SRAM
  double wiring_mm2_ = 0;                // global routing, power grid, spare (stated overhead)
  double io_mm2_ = 0;                    // host PHY (+ DRAM PHY)
  double total_mm2_ = 0;
  double largest_die_mm2_ = 0;           // the biggest of the dies used (the die size)
  double transistors_ = 0;
  double flops_ = 0;                     // clocked register bits, all dies
  // Transistors by kind (leakage is charged per kind).
  double logic_transistors_ = 0;
  double rom_cells_ = 0;
  double sram_bits_ = 0;
  double reticle_limit_mm2_ = 0;

  bool fits_reticle() const { return largest_die_mm2_ <= reticle_limit_mm2_; }
  // {"rom_weights": .., ...} in mm2, stable keys.
  nlohmann::json breakdown_json() const;
  nlohmann::json transistors_json() const;
};

// Transistors of die `die` of the mapping (layers, embedding / lm_head placement from it).
BlockTransistors die_transistors(const ChipMapping& mapping, const TechTable& tech,
                                 const ChipFabric& fabric, int64_t die);

// Area of every die used, summed; largest_die_mm2_ is the largest single die.
AreaBreakdown chip_area(const ChipMapping& mapping, const TechTable& tech,
                        const ChipFabric& fabric);
// With the widths the mapping was made for (uniform at its mean weight bits, the chip's
// activation width): for callers without a numerics profile.
AreaBreakdown chip_area(const ChipMapping& mapping, const TechTable& tech);

// The widths a mapping implies when no numerics profile is given.
DesignWidths mapping_widths(const ChipMapping& mapping);

// Transistors of one fp16 multiply-add unit: 11-bit significand array multiplier plus a
// 22-bit adder (exponent logic neglected).
double fp16_mul_add_transistors(const TechTable& tech);

}  // namespace hw
