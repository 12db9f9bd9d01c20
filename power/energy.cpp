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

EventEnergies event_energies(const ChipMapping& m, const TechTable& t, const ChipFabric& f,
                             const AreaBreakdown& area) {
  const ChipConfig& c = m.chip_;
  const int act = f.widths_.activation_bits_;
  const int kvb = m.kv_bits_;
  EventEnergies e;
  e.qkv_mac_pj_ = f.qkv_.data_pj_per_weight_;
  e.o_proj_mac_pj_ = f.o_proj_.data_pj_per_weight_;
  e.ffn_mac_pj_ = (2.0 * f.ffn_gate_up_.data_pj_per_weight_ + f.ffn_down_.data_pj_per_weight_) / 3.0;
  e.lm_head_mac_pj_ = f.lm_head_.data_pj_per_weight_;
  e.qkv_clock_pj_ = f.qkv_.clock_pj_per_weight_;
  e.o_proj_clock_pj_ = f.o_proj_.clock_pj_per_weight_;
  e.ffn_clock_pj_ =
      (2.0 * f.ffn_gate_up_.clock_pj_per_weight_ + f.ffn_down_.clock_pj_per_weight_) / 3.0;
  e.lm_head_clock_pj_ = f.lm_head_.clock_pj_per_weight_;
  e.weight_bits_ = m.weight_bits_;
  // The embedding table is a plain ROM read one row per token: per bit, one bitline read like a
  // 64 KiB SRAM macro's [choice: a ROM bitline is no longer than an SRAM macro's].
  e.rom_lookup_pj_per_bit_ = t.sram_read_pj_per_bit(65536.0);
  // act x kv multiply ~ square multiply at the geometric-mean width (energy ~ product of
  // widths), then the adder-tree add at product width + 2.
  const int geo = std::max(1, static_cast<int>(std::lround(std::sqrt(double(act) * kvb))));
  e.attention_mac_pj_ = t.mult_pj(geo) + t.add_pj(act + kvb + 2);
  e.softmax_exp_pj_ = t.nonlinear_op_pj_;
  const double fma = t.fp16_mult_pj_ + t.fp16_add_pj_;
  e.norm_element_pj_ = 2.0 * fma;
  e.rope_element_pj_ = 2.0 * t.fp16_mult_pj_ + t.fp16_add_pj_;
  e.activation_element_pj_ = t.nonlinear_op_pj_ + t.fp16_mult_pj_;
  // The residual stream and the sampler's compares are 32-bit fixed point (docs/numerics.md).
  e.residual_add_pj_ = t.add_pj(32);
  e.sampler_element_pj_ = t.add_pj(32);

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
  e.attention_clock_pj_ = attention_mac_flops(act, kvb) * t.flop_clock_pj_;
  e.vector_clock_pj_ = kVectorLaneFlops * t.flop_clock_pj_;

  // Clock spine: an H-tree over the die area with leaves on a square pitch p has about
  // 1.5 x area / p of wire; its buffers add spine_buffer_overhead of that load. It toggles every
  // cycle whatever the load (the gating cells sit at its leaves).
  const double area_um2 = area.total_mm2_ * 1e6;
  const double spine_ff = 1.5 * area_um2 / t.clock_spine_leaf_pitch_um_ * t.wire_cap_ff_per_um_ *
                          (1.0 + t.clock_spine_buffer_overhead_);
  e.clock_spine_w_ = t.switch_pj(spine_ff) * 1e-12 * c.clock_hz_;
  e.leakage_w_ = t.leakage_logic_w_per_transistor_ * area.logic_transistors_ +
                 t.leakage_rom_w_per_cell_ * area.rom_cells_ +
                 t.leakage_sram_w_per_bit_ * area.sram_bits_;
  const bool dram = c.attention_.kv_memory_ == KvMemory::kDram;
  e.io_w_ = (t.host_phy_w_ + (dram ? t.dram_background_w_ : 0.0)) * double(m.dies_used_);
  e.vrm_efficiency_ = t.vrm_efficiency_;
  e.board_w_ = t.board_overhead_w_ * double(m.dies_used_);
  return e;
}

EventEnergies event_energies(const ChipMapping& m, const TechTable& t, const AreaBreakdown& area) {
  return event_energies(m, t, chip_fabric(m, t, mapping_widths(m)), area);
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
  b.clock_j_ = kJPerPj * (n.qkv_macs_ * e.qkv_clock_pj_ + n.o_proj_macs_ * e.o_proj_clock_pj_ +
                          n.ffn_macs_ * e.ffn_clock_pj_ + n.lm_head_macs_ * e.lm_head_clock_pj_ +
                          n.attention_macs_ * e.attention_clock_pj_ +
                          vector_events * e.vector_clock_pj_);
  b.clock_idle_j_ = e.clock_spine_w_ * elapsed_s;
  b.io_j_ = e.io_w_ * elapsed_s;
  b.leakage_j_ = e.leakage_w_ * elapsed_s;
  b.board_j_ = b.die_j() * (1.0 / e.vrm_efficiency_ - 1.0) + e.board_w_ * elapsed_s;
  return b;
}

nlohmann::json activity_power_json(const ChipMapping& m, const TechTable& t,
                                   const DesignWidths& widths, const ActivityCounts& counts,
                                   double elapsed_s, double tokens_generated) {
  const ChipFabric fabric = chip_fabric(m, t, widths);
  const AreaBreakdown area = chip_area(m, t, fabric);
  const EventEnergies e = event_energies(m, t, fabric, area);
  const EnergyBreakdown b = energy_j(counts, e, elapsed_s);
  const double inv = elapsed_s > 0 ? 1.0 / elapsed_s : 0.0;
  return {{"power_w", b.total_j() * inv},
          {"die_power_w", b.die_j() * inv},
          {"dynamic_power_w", b.dynamic_j() * inv},
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

nlohmann::json activity_power_json(const ChipMapping& m, const TechTable& t,
                                   const ActivityCounts& counts, double elapsed_s,
                                   double tokens_generated) {
  return activity_power_json(m, t, mapping_widths(m), counts, elapsed_s, tokens_generated);
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
          {"leakage", leakage_j_ * inv},
          {"board", board_j_ * inv}};
}

nlohmann::json EnergyBreakdown::energy_json() const {
  return {{"matrix_fabric", matrix_fabric_j_}, {"attention", attention_j_},
          {"kv_memory", kv_memory_j_},         {"nonlinear", nonlinear_j_},
          {"interconnect", interconnect_j_},   {"clock", clock_j_ + clock_idle_j_},
          {"io", io_j_},                       {"leakage", leakage_j_},
          {"board", board_j_},                 {"total", total_j()}};
}

nlohmann::json EventEnergies::to_json() const {
  return {{"qkv_mac_pj", qkv_mac_pj_},
          {"o_proj_mac_pj", o_proj_mac_pj_},
          {"ffn_mac_pj", ffn_mac_pj_},
          {"lm_head_mac_pj", lm_head_mac_pj_},
          {"qkv_clock_pj", qkv_clock_pj_},
          {"o_proj_clock_pj", o_proj_clock_pj_},
          {"ffn_clock_pj", ffn_clock_pj_},
          {"lm_head_clock_pj", lm_head_clock_pj_},
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
          {"attention_clock_pj", attention_clock_pj_},
          {"vector_clock_pj", vector_clock_pj_},
          {"clock_spine_w", clock_spine_w_},
          {"leakage_w", leakage_w_},
          {"io_w", io_w_},
          {"vrm_efficiency", vrm_efficiency_},
          {"board_w", board_w_}};
}

}  // namespace hw
