// Technology tables: energy per operation, SRAM / ROM / logic density, leakage and I/O of one
// process node, declared once as the "tech" parameter tree and loaded from configs/tech/*.yaml.
// Each node file states the Horowitz 45 nm reference energies and the node's scaling inputs
// (HD SRAM bitcell area, supply voltage); the per-operation energies here are computed from
// them by one stated rule (E = C V^2 with C proportional to the linear feature size), so a
// `--set tech.scaling.vdd=0.7V` rescales every energy consistently.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/param_tree.h"

namespace hw {

// Widest integer operand the width tables cover (accumulators of attention sums reach ~32 bit;
// beyond that the tables extrapolate with the last segment's slope up to this bound).
constexpr int kTechMaxBits = 64;

struct TechTable {
  std::string name_;
  double node_nm_ = 0;

  // Scaling of dynamic energy from the 45 nm / 0.9 V reference: cap_ratio_ is
  // sqrt(bitcell / reference bitcell) (capacitance ~ linear dimension), energy_scale_ is
  // cap_ratio_ * (vdd / reference vdd)^2 * calibration dynamic factor.
  double vdd_v_ = 0;
  double reference_vdd_v_ = 0;
  double cap_ratio_ = 0;
  double dynamic_factor_ = 1;
  double energy_scale_ = 0;

  // Per-operation energies at this node, index = operand width in bits (1..kTechMaxBits).
  std::array<double, kTechMaxBits + 1> int_add_pj_{};
  std::array<double, kTechMaxBits + 1> int_mult_pj_{};
  double fp16_add_pj_ = 0;
  double fp16_mult_pj_ = 0;
  double fp32_add_pj_ = 0;
  double fp32_mult_pj_ = 0;
  // One softmax exp / rsqrt / SiLU evaluation, as a polynomial of fp16 multiply-adds.
  int nonlinear_mul_adds_ = 1;
  double nonlinear_op_pj_ = 0;
  // One gate-output toggle: int_add_8 / (8 bits x transistors per full adder).
  double transistor_switch_pj_ = 0;

  // SRAM read energy per bit at three macro sizes (Horowitz anchors), scaled to this node.
  std::array<double, 3> sram_anchor_bytes_{};
  std::array<double, 3> sram_anchor_read_pj_per_bit_{};
  double sram_write_to_read_ = 1;
  double dram_pj_per_bit_ = 0;
  double link_pj_per_bit_ = 0;
  double onchip_transfer_pj_per_bit_ = 0;  // block-to-block on-chip bus, per bit moved

  // Clock: energy of clocking one flip-flop for one cycle (its clocked transistors plus the
  // clock tree's share), and the fraction of idle flop-cycles whose clock is gated off.
  double flop_clock_pj_ = 0;
  double clock_gating_ = 0;

  // Hardwired ROM-select fabric.
  int rom_bits_per_cell_ = 4;
  int rom_rows_per_product_bank_ = 1;
  double rom_cell_um2_ = 0;
  double rom_bitline_activity_ = 0.5;  // fraction of product bits that toggle the bitline

  // Area and transistor density.
  double sram_bitcell_um2_ = 0;
  double sram_array_efficiency_ = 1;
  int sram_transistors_per_bit_ = 6;
  double logic_transistor_um2_ = 0;
  int transistors_per_full_adder_ = 28;
  double control_area_fraction_ = 0;  // control / local interconnect, fraction of block logic

  // Static power.
  double leakage_logic_w_per_mm2_ = 0;
  double leakage_sram_w_per_mm2_ = 0;
  double io_power_w_ = 0;
  double io_area_mm2_ = 0;

  ParamValues values_;  // resolved parameters, for resolved_config.json

  // Integer add / multiply at `bits` (clamped to 1..kTechMaxBits).
  double add_pj(int bits) const;
  double mult_pj(int bits) const;
  // SRAM read energy per bit of a macro of `macro_bytes` (log-log interpolation between the
  // anchors, end slopes extended beyond them).
  double sram_read_pj_per_bit(double macro_bytes) const;
  double sram_write_pj_per_bit(double macro_bytes) const;
  // Energy of one hardwired weight use (multiply-select-add) at `weight_bits` against an
  // activation of `act_bits`, in a lane whose output bitlines are shared by `fold_rows` ROM
  // cells (the matrix block's fold); fractional widths interpolate linearly (a two-width mix).
  double rom_mac_pj(double weight_bits, int act_bits, int64_t fold_rows) const;
  // One product bit passed by a ROM cell onto a bitline shared by `fold_rows` cells.
  double rom_bitline_pj_per_bit(int64_t fold_rows) const;
  // Area: SRAM per stored bit (bitcell / array efficiency), ROM per weight bit, adders.
  double sram_um2_per_bit() const;
  double rom_um2_per_bit() const;
  double adder_transistors(int bits) const;
  double mult_transistors(int bits) const;
};

// The one declaration of the "tech" tree.
const ParamSchema& tech_schema();

// `name_or_path`: a file (.yaml) or a name under configs/tech/ ("n6"). `overrides` are
// "tech.key=value" (others are ignored here). Throws hw::Error naming the file and key.
TechTable load_tech(const std::string& name_or_path, const std::vector<std::string>& overrides);
// Builds the table from already-resolved values (tests, sweeps).
TechTable make_tech_table(const ParamValues& values);
// Names of shipped tech files.
std::vector<std::string> tech_names();

}  // namespace hw
