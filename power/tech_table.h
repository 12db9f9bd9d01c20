// Technology tables: the physical components of one process node, declared once as the "tech"
// parameter tree and loaded from configs/tech/*.yaml. Nothing here is fitted to a chip: every
// value in a tech file is either published (cited beside it) or a [choice] with its reason, and
// docs/calibration.md shows what each choice moves.
//
// Components (docs/estimator.md section 1 has the formulas):
// - dynamic energy per operation: the Horowitz 45 nm / 0.9 V table, scaled to the node; logic
//   by Stillmaker & Baas 2017's fitted energy per operation (HSPICE on PTM / ITRS models, 180 nm
//   to 7 nm, a function of node and supply) and, for a node beyond its range, a further step of
//   capacitance ~ sqrt(1 / standard-cell density) from the table's node; SRAM by E = C V^2 with
//   the capacitance ~ the square root of the HD bitcell area; wires by the wire capacitance per um;
// - area: logic by standard-cell density and placement utilization, SRAM by bitcell over array
//   efficiency, ROM cells by the wiring tracks they sit under, global wiring as a stated overhead;
// - leakage per transistor kind (logic, SRAM bit, ROM cell) at the nominal supply and a reference
//   temperature, scaled to the operating supply (DIBL) and junction temperature;
// - clock: an always-on spine (an H-tree down to the local clock-gating cells) plus local clocks
//   that toggle only while their block is busy (synthesis inserts clock gates per block);
// - IO: host PHY, DRAM interface energy and background power, chip-to-chip links;
// - board: VRM efficiency from die power to card power, fixed board overhead;
// - the reticle limit of one die.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/param_tree.h"

namespace hw {

// Widest integer operand the width tables cover (accumulators reach ~32 bit; beyond that the
// tables extrapolate the 8..32-bit line up to this bound).
constexpr int kTechMaxBits = 64;

struct TechTable {
  std::string name_;
  double node_nm_ = 0;

  // Supply and scaling.
  double vdd_v_ = 0;
  double reference_vdd_v_ = 0;
  double logic_cap_ratio_ = 0;   // sqrt(logic density 45 nm / logic density here): not used for
                                 // energy (Stillmaker & Baas below), kept for the comparison
  double sram_cap_ratio_ = 0;    // sqrt(HD bitcell here / HD bitcell 45 nm)
  double voltage_factor_ = 0;    // (vdd / reference vdd)^2
  std::string logic_energy_node_;       // Stillmaker & Baas node standing for this node's logic
  double stillmaker_energy_ratio_ = 0;  // E_SB(node, vdd) / E_SB(reference node, reference vdd)
  double density_step_ = 0;             // sqrt(density of that node / density here)
  double logic_energy_scale_ = 0;  // stillmaker_energy_ratio_ * density_step_
  double sram_energy_scale_ = 0;   // sram_cap_ratio_ * voltage_factor_

  // Logic operation energies at this node, index = operand width in bits (1..kTechMaxBits).
  std::array<double, kTechMaxBits + 1> int_add_pj_{};
  std::array<double, kTechMaxBits + 1> int_mult_pj_{};
  double fp16_add_pj_ = 0;
  double fp16_mult_pj_ = 0;
  double fp32_add_pj_ = 0;
  double fp32_mult_pj_ = 0;
  int nonlinear_mul_adds_ = 1;
  double nonlinear_op_pj_ = 0;
  // One full-adder bit operation (int add / bits, at 8 bits) and the switched capacitance of one
  // transistor it implies: E_fa_bit / (transistors per full adder) / V^2.
  double full_adder_bit_pj_ = 0;
  double transistor_cap_ff_ = 0;

  // SRAM read energy per bit at the three Horowitz macro sizes, scaled to this node.
  std::array<double, 3> sram_anchor_bytes_{};
  std::array<double, 3> sram_anchor_read_pj_per_bit_{};
  double sram_write_to_read_ = 1;

  // Wires.
  double wire_cap_ff_per_um_ = 0;
  double metal_pitch_nm_ = 0;
  double contacted_poly_pitch_nm_ = 0;
  double routing_overhead_ = 0;      // global routing, power grid, spare: fraction of block area
  double onchip_hop_mm_ = 0;         // block-to-block wire length of one buffer transfer
  double onchip_transfer_pj_per_bit_ = 0;

  // Logic density and structures.
  double logic_transistors_per_mm2_ = 0;  // standard-cell density (published)
  double placement_utilization_ = 1;
  int transistors_per_full_adder_ = 28;
  int transistors_per_flop_ = 24;
  int clocked_transistors_per_flop_ = 8;
  double flop_data_activity_ = 0;
  double control_fraction_ = 0;           // control / sequencing, fraction of datapath transistors

  // SRAM.
  double sram_bitcell_um2_ = 0;
  double sram_array_efficiency_ = 1;
  int sram_transistors_per_bit_ = 6;

  // ROM-select fabric (power/cell_model.h).
  int rom_bits_per_cell_ = 4;
  int rom_product_bits_per_cycle_ = 1;
  int rom_columns_per_product_bank_ = 1;
  int rom_line_layers_ = 1;
  bool rom_trees_from_timing_ = false;  // size tree inputs from the fold, not the declared lanes
  double rom_array_efficiency_ = 1;
  double rom_bitline_activity_ = 0.5;

  // Clock.
  double clock_spine_leaf_pitch_um_ = 0;
  double clock_spine_buffer_overhead_ = 0;
  double clock_local_overhead_ = 0;
  double flop_clock_pj_ = 0;     // clock pin + local tree share of one flop, one cycle

  // Leakage at the operating point (vdd_v_, temperature): W per transistor / bit / cell.
  double temperature_c_ = 0;
  double leakage_logic_w_per_transistor_ = 0;
  double leakage_rom_w_per_cell_ = 0;
  double leakage_sram_w_per_bit_ = 0;
  double leakage_scale_ = 0;     // (temperature x DIBL) factor applied to the nominal currents

  // IO, memory interfaces, board.
  double link_pj_per_bit_ = 0;
  double dram_pj_per_bit_ = 0;
  double dram_background_w_ = 0;   // per die with a DRAM attachment (PHY + device standby)
  double dram_phy_area_mm2_ = 0;
  double host_phy_w_ = 0;
  double host_phy_area_mm2_ = 0;
  double vrm_efficiency_ = 1;
  double board_overhead_w_ = 0;
  double reticle_limit_mm2_ = 0;

  ParamValues values_;  // resolved parameters, for resolved_config.json

  // Integer add / multiply at `bits` (clamped to 1..kTechMaxBits).
  double add_pj(int bits) const;
  double mult_pj(int bits) const;
  // SRAM read energy per bit of a macro of `macro_bytes` (log-log interpolation between the
  // anchors, end slopes extended beyond them).
  double sram_read_pj_per_bit(double macro_bytes) const;
  double sram_write_pj_per_bit(double macro_bytes) const;
  // Energy of charging `cap_ff` femtofarads through the full supply swing.
  double switch_pj(double cap_ff) const;
  // Areas per item, um2.
  double sram_um2_per_bit() const;           // bitcell / array efficiency
  double logic_um2_per_transistor() const;   // 1 / (density x utilization)
  // One ROM digit cell of `digit_bits`: (ceil(2^digit_bits / line layers) + 1) tracks x metal
  // pitch x contacted poly pitch x product bits per cycle / ROM array efficiency.
  double rom_cell_um2(int digit_bits) const;
  // The same with `product_bits_per_cycle` transistors per cell (the chip's declared s).
  double rom_cell_um2(int digit_bits, int product_bits_per_cycle) const;
  // The same for a cell under `lines` product lines (BitROM: 3 lines per ternary cell).
  double rom_cell_um2_for_lines(int lines) const;
  double adder_transistors(int bits) const;
  double mult_transistors(int bits) const;
};

// The one declaration of the "tech" tree.
const ParamSchema& tech_schema();

// `name_or_path`: a file (.yaml) or a name under configs/tech/ ("n6"). `overrides` are
// "tech.key=value" (others are ignored here). Throws hw::Error naming the file and key.
TechTable load_tech(const std::string& name_or_path, const std::vector<std::string>& overrides);
// Stillmaker & Baas 2017 fitted energy per operation of `node` ("65", "HP45", ..., "HP7",
// "LP45", ...) at `vdd_v`, in the paper's common arbitrary unit (only ratios mean anything).
// `key` names the parameter in errors.
double stillmaker_energy(const std::string& node, double vdd_v, const std::string& key);
// Builds the table from already-resolved values (tests, sweeps).
TechTable make_tech_table(const ParamValues& values);
// Names of shipped tech files.
std::vector<std::string> tech_names();

}  // namespace hw
