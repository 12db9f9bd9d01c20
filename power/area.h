// Die area and transistor count of a model mapped onto a chip, by block: ROM weight cells, the
// adder trees that accumulate their products, attention engines, KV SRAM, nonlinear / vector
// units, control and inter-block buffers, host I/O. Logic is sized by transistor count
// (full-adder cells) times the node's placed area per transistor; memories by bit count times
// bitcell (or ROM cell) area. The leakage of the estimate is computed from this split.
#pragma once
#include <cstdint>

#include <nlohmann/json.hpp>

#include "chip/mapping.h"
#include "power/tech_table.h"

namespace hw {

// Transistors of the hardware blocks of one die (or of all dies, summed).
struct BlockTransistors {
  double rom_cells_ = 0;        // one transistor per ROM cell
  double mac_trees_ = 0;        // adder-tree inputs and product banks of the matrix fabric
  double attention_ = 0;        // q.k / p.v multiply-accumulate engines
  double nonlinear_ = 0;        // softmax exp, norms, RoPE, SiLU, sampler
  double control_ = 0;          // control fraction of the logic above
  double kv_sram_bits_ = 0;     // KV SRAM bits
  double buffer_sram_bits_ = 0; // inter-block FIFO bits
  double flops_ = 0;            // clocked register bits: lane, engine and vector-lane outputs
};

// Register bits clocked by one event of each kind (the output register of the lane or unit).
int weight_mac_flops(const ChipMapping& mapping);
int attention_mac_flops(const ChipMapping& mapping);
constexpr int kVectorLaneFlops = 16;  // fp16 result register of a vector / nonlinear lane

struct AreaBreakdown {
  double rom_weights_mm2_ = 0;
  double mac_trees_mm2_ = 0;
  double attention_mm2_ = 0;
  double kv_sram_mm2_ = 0;
  double nonlinear_mm2_ = 0;
  double control_interconnect_mm2_ = 0;  // control logic + FIFO SRAM
  double io_mm2_ = 0;
  double total_mm2_ = 0;
  double largest_die_mm2_ = 0;           // the biggest of the dies used (the die size)
  double transistors_ = 0;
  double flops_ = 0;                     // clocked register bits, all dies
  // Areas that leak as logic (ROM fabric included) and as SRAM arrays.
  double logic_mm2_ = 0;
  double sram_mm2_ = 0;

  // {"rom_weights": .., ...} in mm2, stable keys.
  nlohmann::json breakdown_json() const;
};

// Transistors of die `die` of the mapping (layers, embedding / lm_head placement from it).
BlockTransistors die_transistors(const ChipMapping& mapping, const TechTable& tech, int64_t die);

// Area of every die used, summed; largest_die_mm2_ is the largest single die.
AreaBreakdown chip_area(const ChipMapping& mapping, const TechTable& tech);

// Transistors of one fp16 multiply-add unit: 11-bit significand array multiplier plus a
// 22-bit adder (exponent logic neglected).
double fp16_mul_add_transistors(const TechTable& tech);

}  // namespace hw
