// THE place where activity becomes joules (the DRAMsim3 pattern): energy = sum over event kinds
// of count x energy per event, plus static power x elapsed time. Both the analytic estimator
// (power/estimator.h) and `hardwire simulate --power` (activity counted by the SystemC model)
// call energy_j() with the same EventEnergies, so the two paths share one table.
//
// Event energies depend on the technology (tech_table.h), the cell model of the weight fabric
// (cell_model.h: each tensor's width, the numerics activation width, the block's service time)
// and the mapped chip (KV bits, SRAM bank sizes, the transistors that leak, the die the clock
// spine covers). They are derived once per design by event_energies() and are plain numbers
// afterwards.
#pragma once
#include <nlohmann/json.hpp>

#include "chip/mapping.h"
#include "power/area.h"
#include "power/tech_table.h"

namespace hw {

// Energy of one event of each kind, in pJ, plus the static power of the dies used.
struct EventEnergies {
  // One hardwired weight use (all its digit cells): data switching, and the local clock of the
  // tree inputs it occupies (power/cell_model.h).
  double qkv_mac_pj_ = 0;
  double o_proj_mac_pj_ = 0;
  double ffn_mac_pj_ = 0;        // gate/up and down weighted 2:1, as ffn_macs counts them
  double lm_head_mac_pj_ = 0;
  double qkv_clock_pj_ = 0;
  double o_proj_clock_pj_ = 0;
  double ffn_clock_pj_ = 0;
  double lm_head_clock_pj_ = 0;
  double weight_bits_ = 0;       // mapping mean, to tell embedding-row ROM bits from MAC ROM bits
  double rom_lookup_pj_per_bit_ = 0;  // embedding row read, per bit
  double attention_mac_pj_ = 0;  // activation x KV multiply + tree add
  double softmax_exp_pj_ = 0;
  double norm_element_pj_ = 0;        // square-accumulate pass + scale pass
  double rope_element_pj_ = 0;        // rotation: 2 multiplies + 1 add per element
  double activation_element_pj_ = 0;  // SiLU(gate) * up
  double residual_add_pj_ = 0;
  double sampler_element_pj_ = 0;     // argmax compare
  double kv_sram_read_pj_per_bit_ = 0;
  double kv_sram_write_pj_per_bit_ = 0;
  double kv_dram_pj_per_bit_ = 0;
  double buffer_pj_per_bit_ = 0;      // one FIFO access (write or read) of one bit + wire share
  double link_pj_per_bit_ = 0;
  // Local clock (gated when the unit idles): per attention MAC and per vector event.
  double attention_clock_pj_ = 0;
  double vector_clock_pj_ = 0;
  // Static power of the dies used (W): the always-on clock spine, leakage by transistor kind,
  // host PHY and DRAM background.
  double clock_spine_w_ = 0;
  double leakage_w_ = 0;
  double io_w_ = 0;
  // From die power to card power: card = die / vrm_efficiency + board overhead.
  double vrm_efficiency_ = 1;
  double board_w_ = 0;

  double die_static_w() const { return clock_spine_w_ + leakage_w_ + io_w_; }
  // Card power with no token moving.
  double static_w() const { return die_static_w() / vrm_efficiency_ + board_w_; }
  nlohmann::json to_json() const;
};

// Joules by block. interconnect_j_ holds inter-block buffers and chip-to-chip links; clock_j_
// the local clocks of busy units (dynamic) and clock_idle_j_ the always-on spine over the
// elapsed time; io_j_ and leakage_j_ are static power x elapsed time; board_j_ the VRM loss on
// all of it plus the board overhead over the elapsed time.
struct EnergyBreakdown {
  double matrix_fabric_j_ = 0;
  double attention_j_ = 0;
  double kv_memory_j_ = 0;
  double nonlinear_j_ = 0;
  double interconnect_j_ = 0;
  double clock_j_ = 0;
  double clock_idle_j_ = 0;
  double io_j_ = 0;
  double leakage_j_ = 0;
  double board_j_ = 0;

  // Die energy proportional to activity (per token).
  double dynamic_j() const {
    return matrix_fabric_j_ + attention_j_ + kv_memory_j_ + nonlinear_j_ + interconnect_j_ +
           clock_j_;
  }
  double die_j() const { return dynamic_j() + clock_idle_j_ + io_j_ + leakage_j_; }
  // Card energy: the die's plus the board's.
  double total_j() const { return die_j() + board_j_; }
  // Each entry divided by `seconds`: the power split, stable keys (matrix_fabric, attention,
  // kv_memory, nonlinear, interconnect, clock (local + spine), io, leakage, board); they sum to
  // card power.
  nlohmann::json power_json(double seconds) const;
  nlohmann::json energy_json() const;
};

// Per-event energies of a mapped design built for `fabric`; `area` gives the transistor counts
// that leak and the die area the clock spine covers.
EventEnergies event_energies(const ChipMapping& mapping, const TechTable& tech,
                             const ChipFabric& fabric, const AreaBreakdown& area);
// With the mapping's own widths (uniform, chip activation width).
EventEnergies event_energies(const ChipMapping& mapping, const TechTable& tech,
                             const AreaBreakdown& area);

// counts x energies, plus static power over `elapsed_s` (0 for a per-token dynamic figure).
EnergyBreakdown energy_j(const ActivityCounts& counts, const EventEnergies& e, double elapsed_s);

// What `hardwire simulate --power` adds to a run: the simulated activity (prefill and decode of
// the whole run) through energy_j with the estimator's per-event energies, static power over the
// simulated time. Keys as `hardwire estimate`: power_w (card), die_power_w, dynamic_power_w
// (die), static_power_w (card), energy_per_token_j (card energy / tokens generated),
// power_breakdown_w, energy_breakdown_j, area_mm2, die_area_mm2, area_breakdown_mm2,
// transistors, event_energies, tech.
nlohmann::json activity_power_json(const ChipMapping& mapping, const TechTable& tech,
                                   const ActivityCounts& counts, double elapsed_s,
                                   double tokens_generated);
// The same for a design built for `widths` (a numerics profile's per-tensor widths).
nlohmann::json activity_power_json(const ChipMapping& mapping, const TechTable& tech,
                                   const DesignWidths& widths, const ActivityCounts& counts,
                                   double elapsed_s, double tokens_generated);

}  // namespace hw
