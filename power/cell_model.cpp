// The ROM-select cell model; see cell_model.h for the structure and docs/estimator.md for the
// derivation of each term.
#include "power/cell_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace hw {
namespace {

void add_part(std::map<int, double>& parts, int bits, double weight) {
  if (weight > 0) parts[std::clamp(bits, 1, kTechMaxBits)] += weight;
}

WidthMix normalize(const std::map<int, double>& parts) {
  WidthMix m;
  double total = 0;
  for (const auto& [b, w] : parts) total += w;
  for (const auto& [b, w] : parts) m.parts_.push_back({b, total > 0 ? w / total : 0.0});
  return m;
}

// Widths of the matrices of `kinds` over every layer (or once for embedding / lm_head), each
// weighted by its element count, promoted groups at the profile's promote width.
WidthMix mix_of(const NumericsProfile& p, const ModelConfig& m,
                const std::vector<std::pair<WeightKind, double>>& kinds, bool per_layer) {
  std::map<int, double> parts;
  const int64_t layers = per_layer ? m.n_layers_ : 1;
  for (int64_t l = 0; l < layers; ++l) {
    for (const auto& [kind, count] : kinds) {
      const int bits = p.weight_bits_for(kind, l);
      const double promoted = bits < p.promote_bits_ ? p.promote_fraction_ : 0.0;
      add_part(parts, bits, count * (1.0 - promoted));
      add_part(parts, p.promote_bits_, count * promoted);
    }
  }
  return normalize(parts);
}

}  // namespace

double WidthMix::mean_bits() const {
  double s = 0;
  for (const auto& [b, f] : parts_) s += b * f;
  return s;
}

WidthMix WidthMix::from_mean(double mean_bits) {
  const double x = std::clamp(mean_bits, 1.0, double(kTechMaxBits));
  const int lo = static_cast<int>(std::floor(x));
  const double t = x - lo;
  WidthMix m;
  if (t == 0.0) {
    m.parts_.push_back({lo, 1.0});
  } else {
    m.parts_.push_back({lo, 1.0 - t});
    m.parts_.push_back({lo + 1, t});
  }
  return m;
}

nlohmann::json DesignWidths::to_json() const {
  auto mix = [](const WidthMix& w) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [b, f] : w.parts_) j.push_back({{"bits", b}, {"fraction", f}});
    return j;
  };
  return {{"source", source_},
          {"activation_bits", activation_bits_},
          {"scale_bits_per_weight", scale_bits_per_weight_},
          {"qkv", mix(qkv_)},
          {"o_proj", mix(o_proj_)},
          {"ffn_gate_up", mix(ffn_gate_up_)},
          {"ffn_down", mix(ffn_down_)},
          {"lm_head", mix(lm_head_)},
          {"embedding", mix(embedding_)}};
}

DesignWidths uniform_widths(double mean_bits, int activation_bits) {
  DesignWidths w;
  const WidthMix m = WidthMix::from_mean(mean_bits);
  w.qkv_ = w.o_proj_ = w.ffn_gate_up_ = w.ffn_down_ = w.lm_head_ = w.embedding_ = m;
  w.activation_bits_ = activation_bits;
  char buf[64];
  std::snprintf(buf, sizeof buf, "uniform %.3g bits", mean_bits);
  w.source_ = buf;
  return w;
}

DesignWidths profile_widths(const NumericsProfile& p, const ModelConfig& m) {
  DesignWidths w;
  const double d = double(m.d_model_);
  w.qkv_ = mix_of(p, m,
                  {{WeightKind::kAttnQ, d * double(m.q_dim())},
                   {WeightKind::kAttnK, d * double(m.kv_dim())},
                   {WeightKind::kAttnV, d * double(m.kv_dim())}},
                  true);
  w.o_proj_ = mix_of(p, m, {{WeightKind::kAttnOutput, 1.0}}, true);
  w.ffn_gate_up_ = mix_of(p, m, {{WeightKind::kFfnGate, 1.0}, {WeightKind::kFfnUp, 1.0}}, true);
  w.ffn_down_ = mix_of(p, m, {{WeightKind::kFfnDown, 1.0}}, true);
  w.lm_head_ = mix_of(p, m, {{WeightKind::kLmHead, 1.0}}, false);
  w.embedding_ = mix_of(
      p, m, {{m.tied_embeddings_ ? WeightKind::kLmHead : WeightKind::kEmbedding, 1.0}}, false);
  w.activation_bits_ = p.activation_bits_;
  w.scale_bits_per_weight_ = p.scale_bits_per_weight(m);
  w.group_size_ = p.group_scales_ ? p.group_size_ : int64_t(m.d_model_);
  w.source_ = "numerics " + p.name_;
  return w;
}

DesignWidths resolve_design_widths(const ModelConfig& model, int chip_activation_bits,
                                   const NumericsProfile* profile, double weight_bits) {
  if (profile != nullptr) {
    if (std::abs(profile->mean_weight_bits(model) - weight_bits) < 1e-9) {
      return profile_widths(*profile, model);
    }
    return uniform_widths(weight_bits, profile->activation_bits_);
  }
  return uniform_widths(weight_bits, chip_activation_bits);
}

nlohmann::json BlockFabric::to_json() const {
  return {{"product_bits_per_cycle", product_bits_per_cycle_},
          {"cycles_per_product", cycles_per_use_},
          {"uses_per_tree_input", uses_per_input_},
          {"busy_cycles_per_token", busy_cycles_},
          {"tree_inputs", tree_inputs_},
          {"cells", cells_},
          {"timing_met", timing_met_}};
}

int digit_use_cycles(int activation_bits, int digit_bits, int product_bits_per_cycle) {
  return static_cast<int>(
      product_cycles(activation_bits, digit_bits, std::max(product_bits_per_cycle, 1)));
}

BlockFabric block_fabric(double weights, const WidthMix& widths, int a, int64_t service_cycles,
                         double scale_bits_per_weight, int64_t group_size, const TechTable& t,
                         double tree_inputs, int product_bits_per_cycle) {
  BlockFabric f;
  f.weights_ = weights;
  const int g = t.rom_bits_per_cell_;
  const int s = product_bits_per_cycle > 0 ? product_bits_per_cycle : t.rom_product_bits_per_cycle_;
  f.product_bits_per_cycle_ = s;
  const double cpp_um = t.contacted_poly_pitch_nm_ * 1e-3;
  const double mmp_um = t.metal_pitch_nm_ * 1e-3;
  const double ct = t.transistor_cap_ff_;
  const double act = t.rom_bitline_activity_;
  const double flops_per_input = double(s + 1);
  const double flop_data_pj = t.flop_data_activity_ *
                              t.switch_pj(double(t.transistors_per_flop_ -
                                                 t.clocked_transistors_per_flop_) * ct);
  double uses_weighted = 0, cycles_weighted = 0;
  for (const auto& [b, frac] : widths.parts_) {
    if (frac <= 0) continue;
    const int digits = (b + g - 1) / g;
    const int db = (b + digits - 1) / digits;
    const int pb = a + db;                       // product bits of one digit use
    const int cycles = digit_use_cycles(a, db, s);
    const double cells = weights * frac * digits;
    double uses = 0;
    if (tree_inputs > 0) {
      // Declared structure: every digit on its own input of the declared trees.
      uses = std::max(1.0, weights / tree_inputs);
      if (uses * cycles > double(service_cycles) * (1.0 + 1e-9) + cycles) f.timing_met_ = false;
    } else {
      uses = double(service_cycles) / double(cycles);
      if (uses < 1.0) {
        f.timing_met_ = false;
        uses = 1.0;
      }
    }
    const double inputs = cells / uses;
    const double lines = double(1 << db);
    // Data switching of one digit use, per product bit passed.
    const double row_height_um =
        double(s) * (std::ceil(lines / t.rom_line_layers_) + 1.0) * mmp_um;
    const double line_share_ff = lines * cpp_um * t.wire_cap_ff_per_um_ + ct;
    const double node_ff = uses * (ct + row_height_um * t.wire_cap_ff_per_um_);
    const double per_bit = act * t.switch_pj(line_share_ff + node_ff);
    const double adds = double(pb + 2) * t.full_adder_bit_pj_;
    const double flop_data = flops_per_input * double(cycles) * flop_data_pj;
    // Product bank: 2^(d-1) - 1 adds of pb bits make the odd multiples (even ones are shifts),
    // shared by the columns the bank serves.
    const double bank_adds = double((1 << (db - 1)) - 1);
    const double bank = bank_adds * pb * t.full_adder_bit_pj_ / t.rom_columns_per_product_bank_;
    const double data_pj = double(pb) * per_bit + adds + flop_data + bank;
    // Local clock: the tree input's flops and the bank's share of its adder and line registers,
    // clocked for the P cycles of the use.
    const double bank_flops = bank_adds + lines;
    const double clock_pj = (flops_per_input + bank_flops / t.rom_columns_per_product_bank_) *
                            double(cycles) * t.flop_clock_pj_;
    f.data_pj_per_weight_ += frac * digits * data_pj;
    f.clock_pj_per_weight_ += frac * digits * clock_pj;
    f.cells_ += cells;
    f.tree_inputs_ += inputs;
    f.cell_area_um2_ += cells * t.rom_cell_um2(db, s);
    f.select_transistors_ += cells * s;
    const double banks = inputs / t.rom_columns_per_product_bank_;
    f.product_banks_ += banks;
    const double input_t = t.adder_transistors(s) + flops_per_input * t.transistors_per_flop_;
    const double bank_t = bank_adds * (t.adder_transistors(s) + t.transistors_per_flop_) +
                          lines * t.transistors_per_flop_;  // line drivers / registers
    f.logic_transistors_ += inputs * input_t + banks * bank_t;
    f.flops_ += inputs * flops_per_input + banks * bank_flops;
    uses_weighted += frac * uses;
    cycles_weighted += frac * cycles;
    f.busy_cycles_ = std::max(f.busy_cycles_, uses * double(cycles));
  }
  f.uses_per_input_ = uses_weighted;
  f.cycles_per_use_ = cycles_weighted;
  // Scales: stored as plain ROM bits (one transistor each, under its bitline and wordline),
  // applied once per group per output (one 16 x 8-bit multiply of the group sum) -- a
  // per-weight share of 1 / group size.
  if (scale_bits_per_weight > 0) {
    f.scale_cells_ = weights * scale_bits_per_weight;
    f.cell_area_um2_ += f.scale_cells_ * t.rom_cell_um2_for_lines(1);
    if (group_size > 0) f.data_pj_per_weight_ += t.mult_pj(16) / double(group_size);
  }
  return f;
}

}  // namespace hw
