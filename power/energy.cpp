// Activity counts x per-event energies; see energy.h. The per-event energies are composed from
// the tech table's operation energies as stated next to each one, so a reviewer can trace any
// joule back to a Horowitz figure, the node scaling rule and a chip width or bank size.
#include "power/energy.h"

#include <algorithm>
#include <cmath>

namespace hw {
namespace {

constexpr double kJPerPj = 1e-12;

}  // namespace

EventEnergies event_energies(const ChipMapping& m, const TechTable& t, const AreaBreakdown& area) {
  const ChipConfig& c = m.chip_;
  const int act = static_cast<int>(c.activation_bits_);
  const int kvb = m.kv_bits_;
  EventEnergies e;
  const double wb = m.weight_bits_;
  e.qkv_mac_pj_ = t.rom_mac_pj(wb, act, c.qkv_.fold_cycles_);
  e.o_proj_mac_pj_ = t.rom_mac_pj(wb, act, c.o_proj_.fold_cycles_);
  // ffn_macs counts gate, up (2/3) and down (1/3) together.
  e.ffn_mac_pj_ = (2.0 * t.rom_mac_pj(wb, act, c.ffn_gate_up_.fold_cycles_) +
                   t.rom_mac_pj(wb, act, c.ffn_down_.fold_cycles_)) / 3.0;
  e.lm_head_mac_pj_ = t.rom_mac_pj(wb, act, c.lm_head_.fold_cycles_);
  e.weight_bits_ = m.weight_bits_;
  // The embedding table is banked like the matrix ROM: one bitline read per bit at the qkv
  // fold (a few thousand bits per token: negligible next to the matrices).
  e.rom_lookup_pj_per_bit_ = t.rom_bitline_pj_per_bit(c.qkv_.fold_cycles_);
  // act x kv multiply ~ square multiply at the geometric-mean width (energy ~ product of
  // widths), then the adder-tree add at product width + 2.
  const int geo = std::max(1, static_cast<int>(std::lround(std::sqrt(double(act) * kvb))));
  e.attention_mac_pj_ = t.mult_pj(geo) + t.add_pj(act + kvb + 2);
  e.softmax_exp_pj_ = t.nonlinear_op_pj_;
  const double fma = t.fp16_mult_pj_ + t.fp16_add_pj_;
  e.norm_element_pj_ = 2.0 * fma;
  e.rope_element_pj_ = 2.0 * t.fp16_mult_pj_ + t.fp16_add_pj_;
  e.activation_element_pj_ = t.nonlinear_op_pj_ + t.fp16_mult_pj_;
  e.residual_add_pj_ = t.add_pj(act);
  e.sampler_element_pj_ = t.add_pj(act);

  // A KV bank: the die's KV SRAM split over the layer engines on the die and their banks.
  int64_t max_layers = 1;
  for (const auto& d : m.dies_) max_layers = std::max(max_layers, d.layers_);
  const auto& kvs = c.attention_.kv_sram_;
  const double bank_bytes =
      double(kvs.capacity_bytes_) / double(max_layers * std::max<int64_t>(kvs.banks_, 1));
  e.kv_sram_read_pj_per_bit_ = t.sram_read_pj_per_bit(bank_bytes);
  e.kv_sram_write_pj_per_bit_ = t.sram_write_pj_per_bit(bank_bytes);
  e.kv_dram_pj_per_bit_ = t.dram_pj_per_bit_;
  // FIFO traffic counts each bit once when written and once when read: half the wire each.
  const double fifo_bytes = std::max(1.0, double(m.buffer_bytes_per_layer_));
  e.buffer_pj_per_bit_ =
      0.5 * (t.sram_read_pj_per_bit(fifo_bytes) + t.sram_write_pj_per_bit(fifo_bytes)) +
      0.5 * t.onchip_transfer_pj_per_bit_;
  e.link_pj_per_bit_ = t.link_pj_per_bit_;
  e.busy_flop_clock_pj_ = t.clock_gating_ * t.flop_clock_pj_;
  e.weight_mac_flops_ = weight_mac_flops(m);
  e.attention_mac_flops_ = attention_mac_flops(m);
  e.vector_flops_ = kVectorLaneFlops;
  e.clock_idle_w_ = (1.0 - t.clock_gating_) * t.flop_clock_pj_ * 1e-12 * area.flops_ * c.clock_hz_;
  e.leakage_w_ = t.leakage_logic_w_per_mm2_ * area.logic_mm2_ +
                 t.leakage_sram_w_per_mm2_ * area.sram_mm2_;
  e.io_w_ = t.io_power_w_ * double(m.dies_used_);
  return e;
}

EnergyBreakdown energy_j(const ActivityCounts& n, const EventEnergies& e, double elapsed_s) {
  EnergyBreakdown b;
  const double embedding_bits = std::max(0.0, n.rom_bits_read_ - n.weight_macs_ * e.weight_bits_);
  b.matrix_fabric_j_ = kJPerPj * (n.qkv_macs_ * e.qkv_mac_pj_ + n.o_proj_macs_ * e.o_proj_mac_pj_ +
                                  n.ffn_macs_ * e.ffn_mac_pj_ +
                                  n.lm_head_macs_ * e.lm_head_mac_pj_ +
                                  embedding_bits * e.rom_lookup_pj_per_bit_);
  b.attention_j_ =
      kJPerPj * (n.attention_macs_ * e.attention_mac_pj_ + n.softmax_exps_ * e.softmax_exp_pj_);
  const double kv_sram_j = kJPerPj * (n.kv_sram_read_bits_ * e.kv_sram_read_pj_per_bit_ +
                                      n.kv_sram_write_bits_ * e.kv_sram_write_pj_per_bit_);
  const double kv_dram_j =
      kJPerPj * (n.kv_dram_read_bits_ + n.kv_dram_write_bits_) * e.kv_dram_pj_per_bit_;
  b.kv_memory_j_ = kv_sram_j + kv_dram_j;
  b.nonlinear_j_ = kJPerPj * (n.norm_elements_ * e.norm_element_pj_ +
                              n.rope_elements_ * e.rope_element_pj_ +
                              n.activation_elements_ * e.activation_element_pj_ +
                              n.residual_adds_ * e.residual_add_pj_ +
                              n.sampler_elements_ * e.sampler_element_pj_);
  b.interconnect_j_ = kJPerPj * (n.buffer_bits_ * e.buffer_pj_per_bit_ +
                                 n.link_bits_ * e.link_pj_per_bit_);
  const double vector_events = n.softmax_exps_ + n.norm_elements_ + n.rope_elements_ +
                               n.activation_elements_ + n.residual_adds_ + n.sampler_elements_;
  b.clock_j_ = kJPerPj * e.busy_flop_clock_pj_ *
               (n.weight_macs_ * e.weight_mac_flops_ + n.attention_macs_ * e.attention_mac_flops_ +
                vector_events * e.vector_flops_);
  b.clock_idle_j_ = e.clock_idle_w_ * elapsed_s;
  b.io_j_ = e.io_w_ * elapsed_s;
  b.leakage_j_ = e.leakage_w_ * elapsed_s;
  return b;
}

nlohmann::json activity_power_json(const ChipMapping& m, const TechTable& t,
                                   const ActivityCounts& counts, double elapsed_s,
                                   double tokens_generated) {
  const AreaBreakdown area = chip_area(m, t);
  const EventEnergies e = event_energies(m, t, area);
  const EnergyBreakdown b = energy_j(counts, e, elapsed_s);
  const double power = elapsed_s > 0 ? b.total_j() / elapsed_s : 0.0;
  return {{"power_w", power},
          {"dynamic_power_w", elapsed_s > 0 ? b.dynamic_j() / elapsed_s : 0.0},
          {"static_power_w", e.static_w()},
          {"energy_per_token_j", tokens_generated > 0 ? b.total_j() / tokens_generated : 0.0},
          {"power_breakdown_w", b.power_json(elapsed_s)},
          {"energy_breakdown_j", b.energy_json()},
          {"area_mm2", area.total_mm2_},
          {"die_area_mm2", area.largest_die_mm2_},
          {"area_breakdown_mm2", area.breakdown_json()},
          {"transistors", area.transistors_},
          {"event_energies", e.to_json()},
          {"tech", t.name_}};
}

nlohmann::json EnergyBreakdown::power_json(double seconds) const {
  const double inv = seconds > 0 ? 1.0 / seconds : 0.0;
  return {{"matrix_fabric", matrix_fabric_j_ * inv},
          {"attention", attention_j_ * inv},
          {"kv_memory", kv_memory_j_ * inv},
          {"nonlinear", nonlinear_j_ * inv},
          {"interconnect", interconnect_j_ * inv},
          {"clock", (clock_j_ + clock_idle_j_) * inv},
          {"io", io_j_ * inv},
          {"leakage", leakage_j_ * inv}};
}

nlohmann::json EnergyBreakdown::energy_json() const {
  return {{"matrix_fabric", matrix_fabric_j_}, {"attention", attention_j_},
          {"kv_memory", kv_memory_j_},         {"nonlinear", nonlinear_j_},
          {"interconnect", interconnect_j_},   {"clock", clock_j_ + clock_idle_j_},
          {"io", io_j_},                       {"leakage", leakage_j_},
          {"total", total_j()}};
}

nlohmann::json EventEnergies::to_json() const {
  return {{"qkv_mac_pj", qkv_mac_pj_},
          {"o_proj_mac_pj", o_proj_mac_pj_},
          {"ffn_mac_pj", ffn_mac_pj_},
          {"lm_head_mac_pj", lm_head_mac_pj_},
          {"rom_lookup_pj_per_bit", rom_lookup_pj_per_bit_},
          {"attention_mac_pj", attention_mac_pj_},
          {"softmax_exp_pj", softmax_exp_pj_},
          {"norm_element_pj", norm_element_pj_},
          {"rope_element_pj", rope_element_pj_},
          {"activation_element_pj", activation_element_pj_},
          {"residual_add_pj", residual_add_pj_},
          {"sampler_element_pj", sampler_element_pj_},
          {"kv_sram_read_pj_per_bit", kv_sram_read_pj_per_bit_},
          {"kv_sram_write_pj_per_bit", kv_sram_write_pj_per_bit_},
          {"kv_dram_pj_per_bit", kv_dram_pj_per_bit_},
          {"buffer_pj_per_bit", buffer_pj_per_bit_},
          {"link_pj_per_bit", link_pj_per_bit_},
          {"busy_flop_clock_pj", busy_flop_clock_pj_},
          {"weight_mac_flops", weight_mac_flops_},
          {"attention_mac_flops", attention_mac_flops_},
          {"vector_flops", vector_flops_},
          {"clock_idle_w", clock_idle_w_},
          {"leakage_w", leakage_w_},
          {"io_w", io_w_}};
}

}  // namespace hw
