// Area and transistor model of a mapped chip; see area.h. The weight fabric's sizes come from the
// cell model; attention engines have macs_per_cycle multiply-add units, vector units
// elements_per_cycle lanes; memories are their declared capacities.
#include "power/area.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace hw {
namespace {

constexpr double kMm2PerUm2 = 1e-6;
// fp16: 11-bit significand (10 stored + hidden bit); the product is 22 bits wide.
constexpr int kFp16SignificandBits = 11;

// The embedding table is plain storage (one row read per token, no product select): one bit per
// ROM transistor.
double embedding_cells(const ChipMapping& m, const WidthMix& w) {
  return double(m.model_.vocab_) * double(m.model_.d_model_) * w.mean_bits();
}

}  // namespace

DesignWidths mapping_widths(const ChipMapping& m) {
  return uniform_widths(m.weight_bits_, static_cast<int>(m.chip_.activation_bits_));
}

ChipFabric chip_fabric(const ChipMapping& m, const TechTable& t, const DesignWidths& w) {
  ChipFabric f;
  f.widths_ = w;
  const ChipConfig& c = m.chip_;
  const ModelConfig& mo = m.model_;
  const double d = double(mo.d_model_), q = double(mo.q_dim()), kv = double(mo.kv_dim()),
               ff = double(mo.d_ff_);
  const int a = w.activation_bits_;
  const double sb = w.scale_bits_per_weight_;
  const int64_t gs = w.group_size_;
  // Declared structure (chip/chip_config.h): input_lanes products per cycle into each of
  // ceil(rows / output_mux) adder trees; rows R and columns C from the model. A block whose chip
  // description declares product_bits_per_cycle is built from that declaration: cells of s
  // transistors on the declared tree inputs, the chip's timing charging P cycles per product.
  // Otherwise the cells are the tech file's (tech.rom.product_bits_per_cycle) and
  // tech.rom.trees_from says whether the declared lanes or the fold size the trees.
  auto build = [&](const MatrixBlockConfig& b, double weights, double rows, const WidthMix& wm) {
    const bool declared = b.product_bits_per_cycle_ > 0;
    const double mux = double(std::max<int64_t>(b.output_mux_, 1));
    const double structure = double(std::max<int64_t>(b.input_lanes_, 1)) * std::ceil(rows / mux);
    const double inputs = declared || !t.rom_trees_from_timing_ ? structure : 0.0;
    return block_fabric(weights, wm, a, b.fold_cycles_, sb, gs, t, inputs,
                        static_cast<int>(b.product_bits_per_cycle_));
  };
  const double vocab = double(mo.vocab_);
  f.qkv_ = build(c.qkv_, d * (q + 2 * kv), q + 2 * kv, w.qkv_);
  f.o_proj_ = build(c.o_proj_, q * d, d, w.o_proj_);
  f.ffn_gate_up_ = build(c.ffn_gate_up_, 2 * ff * d, 2 * ff, w.ffn_gate_up_);
  f.ffn_down_ = build(c.ffn_down_, ff * d, d, w.ffn_down_);
  f.lm_head_ = build(c.lm_head_, vocab * d, vocab, w.lm_head_);
  f.embedding_cells_ = embedding_cells(m, w.embedding_);
  f.timing_met_ = f.qkv_.timing_met_ && f.o_proj_.timing_met_ && f.ffn_gate_up_.timing_met_ &&
                  f.ffn_down_.timing_met_ && f.lm_head_.timing_met_;
  return f;
}

nlohmann::json ChipFabric::blocks_json() const {
  nlohmann::json blocks = nlohmann::json::array();
  const std::pair<const char*, const BlockFabric*> named[] = {
      {"qkv", &qkv_}, {"o_proj", &o_proj_}, {"ffn_gate_up", &ffn_gate_up_},
      {"ffn_down", &ffn_down_}, {"lm_head", &lm_head_}};
  for (const auto& [name, b] : named) {
    nlohmann::json j = b->to_json();
    j["block"] = name;
    blocks.push_back(std::move(j));
  }
  return blocks;
}

int attention_mac_flops(int activation_bits, int kv_bits) { return activation_bits + kv_bits + 2; }

double fp16_mul_add_transistors(const TechTable& tech) {
  return tech.mult_transistors(kFp16SignificandBits) +
         tech.adder_transistors(2 * kFp16SignificandBits);
}

BlockTransistors die_transistors(const ChipMapping& m, const TechTable& t, const ChipFabric& f,
                                 int64_t die) {
  const DieAssignment& a = m.dies_.at(static_cast<size_t>(die));
  const ChipConfig& c = m.chip_;
  const ModelConfig& mo = m.model_;
  const int act = f.widths_.activation_bits_;
  const double layers = double(a.layers_);
  const double tpf = t.transistors_per_flop_;

  BlockTransistors bt;
  const BlockFabric* layer_blocks[] = {&f.qkv_, &f.o_proj_, &f.ffn_gate_up_, &f.ffn_down_};
  // Select cells have s transistors; plain storage cells (scales, embedding) one.
  double cells = 0, storage = 0, rom_um2 = 0, mac = 0, flops = 0;
  for (const BlockFabric* b : layer_blocks) {
    cells += layers * b->select_transistors_;
    storage += layers * b->scale_cells_;
    rom_um2 += layers * b->cell_area_um2_;
    mac += layers * b->logic_transistors_;
    flops += layers * b->flops_;
  }
  if (a.has_lm_head_) {
    cells += f.lm_head_.select_transistors_;
    storage += f.lm_head_.scale_cells_;
    rom_um2 += f.lm_head_.cell_area_um2_;
    mac += f.lm_head_.logic_transistors_;
    flops += f.lm_head_.flops_;
  }
  if (a.has_embedding_) {
    storage += f.embedding_cells_;
    rom_um2 += f.embedding_cells_ * t.rom_cell_um2_for_lines(1);
  }
  bt.rom_cells_ = cells + storage;
  bt.rom_area_um2_ = rom_um2;
  bt.mac_trees_ = mac;

  // Attention: multiplier of an act x kv operand pair ~ a square multiplier at the geometric
  // mean width (array area ~ product of the widths), plus the tree add at product width + 2 and
  // the unit's output register.
  const int kvb = m.kv_bits_;
  const int geo = std::max(1, static_cast<int>(std::lround(std::sqrt(double(act) * kvb))));
  const double units = layers * double(c.attention_.macs_per_cycle_);
  const int unit_flops = attention_mac_flops(act, kvb);
  bt.attention_ = units * (t.mult_transistors(geo) + t.adder_transistors(act + kvb + 2) +
                           unit_flops * tpf);
  flops += units * unit_flops;

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
  double nl = layers * (double(c.attention_.softmax_elements_per_cycle_) * k * fma +
                        norms_per_layer * double(c.norm_.elements_per_cycle_) * fma +
                        double(c.rope_.elements_per_cycle_) * 2.0 * fma +
                        double(c.activation_.elements_per_cycle_) * (k + 1.0) * fma);
  if (a.has_lm_head_) {
    nl += double(c.norm_.elements_per_cycle_) * fma +
          double(c.sampler_.elements_per_cycle_) * t.adder_transistors(act);
  }
  bt.nonlinear_ = nl + vector_lanes * kVectorLaneFlops * tpf;
  flops += vector_lanes * kVectorLaneFlops;
  bt.flops_ = flops;
  bt.control_ = t.control_fraction_ * (bt.mac_trees_ + bt.attention_ + bt.nonlinear_);
  if (c.attention_.kv_memory_ == KvMemory::kSram) {
    bt.kv_sram_bits_ = double(c.attention_.kv_sram_.capacity_bytes_) * 8.0;
  }
  bt.buffer_sram_bits_ = double(m.buffer_bytes_per_layer_) * 8.0 * layers;
  return bt;
}

AreaBreakdown chip_area(const ChipMapping& m, const TechTable& t, const ChipFabric& f) {
  AreaBreakdown a;
  a.reticle_limit_mm2_ = t.reticle_limit_mm2_;
  const double lt = t.logic_um2_per_transistor() * kMm2PerUm2;
  const double sram_bit = t.sram_um2_per_bit() * kMm2PerUm2;
  const bool dram = m.chip_.attention_.kv_memory_ == KvMemory::kDram;
  const double io = t.host_phy_area_mm2_ + (dram ? t.dram_phy_area_mm2_ : 0.0);
  for (int64_t die = 0; die < m.dies_used_; ++die) {
    const BlockTransistors bt = die_transistors(m, t, f, die);
    const double rom = bt.rom_area_um2_ * kMm2PerUm2;
    const double mac = bt.mac_trees_ * lt;
    const double attn = bt.attention_ * lt;
    const double nl = bt.nonlinear_ * lt;
    const double kv = bt.kv_sram_bits_ * sram_bit;
    const double buffers = bt.buffer_sram_bits_ * sram_bit;
    const double control = bt.control_ * lt + buffers;
    const double placed = rom + mac + attn + nl + kv + control;
    const double wiring = t.routing_overhead_ * placed;
    const double die_total = placed + wiring + io;
    a.rom_weights_mm2_ += rom;
    a.mac_trees_mm2_ += mac;
    a.attention_mm2_ += attn;
    a.nonlinear_mm2_ += nl;
    a.kv_sram_mm2_ += kv;
    a.control_interconnect_mm2_ += control;
    a.wiring_mm2_ += wiring;
    a.io_mm2_ += io;
    a.total_mm2_ += die_total;
    a.largest_die_mm2_ = std::max(a.largest_die_mm2_, die_total);
    a.flops_ += bt.flops_;
    a.logic_transistors_ += bt.mac_trees_ + bt.attention_ + bt.nonlinear_ + bt.control_;
    a.rom_cells_ += bt.rom_cells_;
    a.sram_bits_ += bt.kv_sram_bits_ + bt.buffer_sram_bits_;
  }
  a.transistors_ = a.logic_transistors_ + a.rom_cells_ + a.sram_bits_ * t.sram_transistors_per_bit_;
  return a;
}

AreaBreakdown chip_area(const ChipMapping& m, const TechTable& t) {
  return chip_area(m, t, chip_fabric(m, t, mapping_widths(m)));
}

nlohmann::json AreaBreakdown::breakdown_json() const {
  return {{"rom_weights", rom_weights_mm2_},
          {"mac_trees", mac_trees_mm2_},
          {"attention", attention_mm2_},
          {"kv_sram", kv_sram_mm2_},
          {"nonlinear", nonlinear_mm2_},
          {"control_interconnect", control_interconnect_mm2_},
          {"wiring", wiring_mm2_},
          {"io", io_mm2_}};
}

nlohmann::json AreaBreakdown::transistors_json() const {
  return {{"logic", logic_transistors_}, {"rom_cells", rom_cells_}, {"sram", sram_bits_ > 0 ? transistors_ - logic_transistors_ - rom_cells_ : 0.0}};
}

}  // namespace hw
