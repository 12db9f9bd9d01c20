// Area and transistor model of a mapped chip; see area.h. Hardware sizing follows the chip
// description: a matrix block with fold F has ceil(weights / F) adder lanes (each lane serves F
// ROM cells in turn), an attention engine has macs_per_cycle multiply-add units, a vector unit
// has elements_per_cycle lanes; memories are their declared capacities.
#include "power/area.h"

#include <algorithm>
#include <cmath>

namespace hw {
namespace {

constexpr double kMm2PerUm2 = 1e-6;
// fp16: 11-bit significand (10 stored + hidden bit); the product is 22 bits wide.
constexpr int kFp16SignificandBits = 11;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

double lane_count(int64_t weights, int64_t fold) {
  return double(ceil_div(weights, std::max<int64_t>(fold, 1)));
}

// Adder lanes and product banks of one matrix block of `weights` ROM weights.
double matrix_block_transistors(int64_t weights, int64_t fold, const TechTable& t, int act_bits,
                                int lane_weight_bits) {
  const double lanes = lane_count(weights, fold);
  const int g = t.rom_bits_per_cell_;
  const double lane = t.adder_transistors(act_bits + lane_weight_bits + 2);
  // A product bank holds the odd multiples 3x..(2^g - 1)x: 2^(g-1) - 1 adders.
  const double bank = double((1 << (g - 1)) - 1) * t.adder_transistors(act_bits + g);
  return lanes * lane + std::ceil(lanes / t.rom_rows_per_product_bank_) * bank;
}

}  // namespace

int weight_mac_flops(const ChipMapping& m) {
  return static_cast<int>(m.chip_.activation_bits_) + static_cast<int>(std::ceil(m.weight_bits_)) +
         2;
}

int attention_mac_flops(const ChipMapping& m) {
  return static_cast<int>(m.chip_.activation_bits_) + m.kv_bits_ + 2;
}

double fp16_mul_add_transistors(const TechTable& tech) {
  return tech.mult_transistors(kFp16SignificandBits) +
         tech.adder_transistors(2 * kFp16SignificandBits);
}

BlockTransistors die_transistors(const ChipMapping& m, const TechTable& t, int64_t die) {
  const DieAssignment& a = m.dies_.at(static_cast<size_t>(die));
  const ChipConfig& c = m.chip_;
  const ModelConfig& mo = m.model_;
  const int act = static_cast<int>(c.activation_bits_);
  const int wb = static_cast<int>(std::ceil(m.weight_bits_));
  const double layers = double(a.layers_);
  const int64_t d = mo.d_model_, q = mo.q_dim(), kv = mo.kv_dim(), f = mo.d_ff_;

  BlockTransistors bt;
  bt.rom_cells_ = double(a.rom_capacity_bits_) / t.rom_bits_per_cell_;

  double mac = layers * (matrix_block_transistors(d * (q + 2 * kv), c.qkv_.fold_cycles_, t, act, wb) +
                         matrix_block_transistors(q * d, c.o_proj_.fold_cycles_, t, act, wb) +
                         matrix_block_transistors(2 * f * d, c.ffn_gate_up_.fold_cycles_, t, act, wb) +
                         matrix_block_transistors(f * d, c.ffn_down_.fold_cycles_, t, act, wb));
  double lanes = layers * (lane_count(d * (q + 2 * kv), c.qkv_.fold_cycles_) +
                           lane_count(q * d, c.o_proj_.fold_cycles_) +
                           lane_count(2 * f * d, c.ffn_gate_up_.fold_cycles_) +
                           lane_count(f * d, c.ffn_down_.fold_cycles_));
  if (a.has_lm_head_) {
    mac += matrix_block_transistors(mo.vocab_ * d, c.lm_head_.fold_cycles_, t, act, wb);
    lanes += lane_count(mo.vocab_ * d, c.lm_head_.fold_cycles_);
  }
  bt.mac_trees_ = mac;

  // Attention: multiplier of an act x kv operand pair ~ a square multiplier at the geometric
  // mean width (array area ~ product of the widths), plus the tree add at product width + 2.
  const int kvb = m.kv_bits_;
  const int geo = std::max(1, static_cast<int>(std::lround(std::sqrt(double(act) * kvb))));
  bt.attention_ = layers * double(c.attention_.macs_per_cycle_) *
                  (t.mult_transistors(geo) + t.adder_transistors(act + kvb + 2));

  const double fma = fp16_mul_add_transistors(t);
  const double k = double(t.nonlinear_mul_adds_);
  const double norms_per_layer = mo.qk_norm_ ? 3.0 : 2.0;
  double vector_lanes =
      layers * (double(c.attention_.softmax_elements_per_cycle_) +
                norms_per_layer * double(c.norm_.elements_per_cycle_) +
                double(c.rope_.elements_per_cycle_) + double(c.activation_.elements_per_cycle_));
  if (a.has_lm_head_) {
    vector_lanes += double(c.norm_.elements_per_cycle_) + double(c.sampler_.elements_per_cycle_);
  }
  bt.flops_ = lanes * weight_mac_flops(m) +
              layers * double(c.attention_.macs_per_cycle_) * attention_mac_flops(m) +
              vector_lanes * kVectorLaneFlops;
  double nl = layers * (double(c.attention_.softmax_elements_per_cycle_) * k * fma +
                        norms_per_layer * double(c.norm_.elements_per_cycle_) * fma +
                        double(c.rope_.elements_per_cycle_) * 2.0 * fma +
                        double(c.activation_.elements_per_cycle_) * (k + 1.0) * fma);
  if (a.has_lm_head_) {
    nl += double(c.norm_.elements_per_cycle_) * fma +
          double(c.sampler_.elements_per_cycle_) * t.adder_transistors(act);
  }
  bt.nonlinear_ = nl;
  bt.control_ = t.control_area_fraction_ * (bt.mac_trees_ + bt.attention_ + bt.nonlinear_);
  if (c.attention_.kv_memory_ == KvMemory::kSram) {
    bt.kv_sram_bits_ = double(c.attention_.kv_sram_.capacity_bytes_) * 8.0;
  }
  bt.buffer_sram_bits_ = double(m.buffer_bytes_per_layer_) * 8.0 * layers;
  return bt;
}

AreaBreakdown chip_area(const ChipMapping& m, const TechTable& t) {
  AreaBreakdown a;
  const double lt = t.logic_transistor_um2_ * kMm2PerUm2;
  const double sram_bit = t.sram_um2_per_bit() * kMm2PerUm2;
  for (int64_t die = 0; die < m.dies_used_; ++die) {
    const BlockTransistors bt = die_transistors(m, t, die);
    const double rom = bt.rom_cells_ * t.rom_cell_um2_ * kMm2PerUm2;
    const double mac = bt.mac_trees_ * lt;
    const double attn = bt.attention_ * lt;
    const double nl = bt.nonlinear_ * lt;
    const double kv = bt.kv_sram_bits_ * sram_bit;
    const double buffers = bt.buffer_sram_bits_ * sram_bit;
    const double control = bt.control_ * lt + buffers;
    const double die_total = rom + mac + attn + nl + kv + control + t.io_area_mm2_;
    a.rom_weights_mm2_ += rom;
    a.mac_trees_mm2_ += mac;
    a.attention_mm2_ += attn;
    a.nonlinear_mm2_ += nl;
    a.kv_sram_mm2_ += kv;
    a.control_interconnect_mm2_ += control;
    a.io_mm2_ += t.io_area_mm2_;
    a.total_mm2_ += die_total;
    a.largest_die_mm2_ = std::max(a.largest_die_mm2_, die_total);
    a.logic_mm2_ += rom + mac + attn + nl + bt.control_ * lt;
    a.sram_mm2_ += kv + buffers;
    a.flops_ += bt.flops_;
    a.transistors_ += bt.rom_cells_ + bt.mac_trees_ + bt.attention_ + bt.nonlinear_ +
                      bt.control_ +
                      (bt.kv_sram_bits_ + bt.buffer_sram_bits_) * t.sram_transistors_per_bit_;
  }
  return a;
}

nlohmann::json AreaBreakdown::breakdown_json() const {
  return {{"rom_weights", rom_weights_mm2_},
          {"mac_trees", mac_trees_mm2_},
          {"attention", attention_mm2_},
          {"kv_sram", kv_sram_mm2_},
          {"nonlinear", nonlinear_mm2_},
          {"control_interconnect", control_interconnect_mm2_},
          {"io", io_mm2_}};
}

}  // namespace hw
