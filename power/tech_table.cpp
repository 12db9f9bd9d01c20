// The "tech" parameter tree and the derivation of per-node energies from the 45 nm reference;
// see tech_table.h. Every derived quantity is computed here from declared inputs so the
// resolved config printed beside a result is enough to recompute any energy by hand.
#include "power/tech_table.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "model/model_config.h"

namespace hw {
namespace {

namespace fs = std::filesystem;

// Horowitz quotes SRAM reads as 64-bit words; the per-bit figure divides by this.
constexpr double kReferenceWordBits = 64.0;
// Macro sizes of the three Horowitz SRAM anchors: 8 KB, 32 KB, 1 MB.
constexpr std::array<double, 3> kSramAnchorBytes = {8192.0, 32768.0, 1048576.0};

// Logic energy across nodes: A. Stillmaker and B. Baas, "Scaling equations for the accurate
// prediction of CMOS device performance from 180 nm to 7 nm", Integration 58 (2017) 74-81: the
// energy per operation of the same circuits from HSPICE with PTM (180-65 nm bulk, 45/32 nm) and
// ITRS-based (20-7 nm) models, fitted per node as E(V) = a V^2 + b V + c (arbitrary but common
// units, so only ratios between rows mean anything). Coefficients as transcribed from the
// paper's coefficient table by W. Romaszkan (UCLA NanoCAD), github.com/wromaszkan/nodeScale,
// nodeScale.py (depCoeffDict, energy columns); HP = high performance, LP = low power.
struct StillmakerEnergy {
  const char* node_;
  double a_, b_, c_;
};
constexpr StillmakerEnergy kStillmakerEnergy[] = {
    {"180", 0, 24.64, -17.98},        {"130", 7.171, -6.709, 2.904},
    {"90", 4.762, -4.781, 2.092},     {"65", 3.755, -4.398, 1.975},
    {"HP45", 1.018, -0.3107, 0.1539}, {"HP32", 0.8367, -0.4341, 0.1701},
    {"HP20", 0.373, -0.1582, 0.04104}, {"HP16", 0.2958, -0.1241, 0.03024},
    {"HP14", 0.2363, -0.09675, 0.02239}, {"HP10", 0.2068, -0.09311, 0.02375},
    {"HP7", 0.1776, -0.09097, 0.02447}, {"LP45", 1.103, -0.362, 0.2767},
    {"LP32", 0.9559, -0.7823, 0.471}, {"LP20", 0.2632, -0.14, 0.06841},
    {"LP16", 0.2139, -0.1187, 0.05639}, {"LP14", 0.1556, -0.06472, 0.03066},
    {"LP10", 0.1261, -0.0518, 0.02769}, {"LP7", 0.09365, -0.03409, 0.02043},
};

std::vector<std::string> stillmaker_nodes() {
  std::vector<std::string> names;
  for (const StillmakerEnergy& e : kStillmakerEnergy) names.push_back(e.node_);
  return names;
}

ParamSchema build_schema() {
  ParamSchema s("tech");
  constexpr double kPos = 1e-30;
  s.add_string("name", "", "node name, e.g. n6").required();
  s.add_real("node_nm", 0, "", "node label in nm (marketing name; informational only)", 1, 1000)
      .required();
  // Reference energies: Horowitz, ISSCC 2014, 45 nm, 0.9 V (8 and 32 bit: his table's widths).
  s.add_real("reference.vdd", 0, "V", "supply voltage of the reference energies", 0.1, 5)
      .required();
  s.add_real("reference.logic_density", 0, "transistors/mm2",
             "standard-cell transistor density of the reference node (logic capacitance base)",
             kPos)
      .required();
  s.add_real("reference.sram_bitcell_area", 0, "um2",
             "HD SRAM bitcell area at the reference node (SRAM capacitance base)", kPos)
      .required();
  s.add_string("reference.logic_energy_node", "HP45",
               "Stillmaker & Baas 2017 node of the reference energies (logic energy scaling)",
               stillmaker_nodes());
  for (const char* k : {"int_add_8", "int_add_32", "int_mult_8", "int_mult_32", "fp_add_16",
                        "fp_add_32", "fp_mult_16", "fp_mult_32"}) {
    s.add_real(std::string("reference.") + k, 0, "pJ", std::string("reference energy of ") + k,
               kPos)
        .required();
  }
  s.add_real("reference.sram_read_64b_8kib", 0, "pJ", "64-bit read from an 8 KB SRAM", kPos)
      .required();
  s.add_real("reference.sram_read_64b_32kib", 0, "pJ", "64-bit read from a 32 KB SRAM", kPos)
      .required();
  s.add_real("reference.sram_read_64b_1mib", 0, "pJ", "64-bit read from a 1 MB SRAM", kPos)
      .required();
  // Node.
  s.add_real("scaling.vdd", 0, "V", "operating supply voltage at this node", 0.1, 5).required();
  s.add_real("scaling.logic_density", 0, "transistors/mm2",
             "standard-cell transistor density at this node (logic area; logic energy steps "
             "from scaling.logic_energy_node_density by capacitance ~ sqrt(1 / density))",
             kPos)
      .required();
  s.add_string("scaling.logic_energy_node", "",
               "Stillmaker & Baas 2017 node whose fitted energy per operation stands for this "
               "node's logic (at scaling.vdd)",
               stillmaker_nodes())
      .required();
  s.add_real("scaling.logic_energy_node_density", 0, "transistors/mm2",
             "logic density of the node scaling.logic_energy_node stands for; the step from it "
             "to scaling.logic_density follows capacitance ~ sqrt(1 / density) (1 when equal)",
             kPos)
      .required();
  s.add_real("scaling.sram_bitcell_area", 0, "um2",
             "HD SRAM bitcell area at this node (SRAM area, and SRAM capacitance ~ sqrt of it)",
             kPos)
      .required();
  s.add_real("wires.metal_pitch_nm", 0, "", "tightest routing metal pitch, nm", kPos).required();
  s.add_real("wires.contacted_poly_pitch_nm", 0, "", "contacted gate (poly) pitch, nm", kPos)
      .required();
  s.add_real("wires.cap_ff_per_um", 0, "", "on-chip wire capacitance, fF per um", kPos)
      .required();
  s.add_real("wires.routing_overhead", 0, "",
             "global routing channels, power grid and spare area, as a fraction of the placed "
             "block area",
             0, 10)
      .required();
  s.add_real("wires.onchip_hop_mm", 0, "",
             "wire length of one block-to-block buffer transfer, mm", 0, 1000)
      .required();
  // Logic.
  s.add_real("logic.placement_utilization", 0, "",
             "placed standard-cell area / block area (whitespace for routing and buffering)",
             0.05, 1)
      .required();
  s.add_int("logic.transistors_per_full_adder", 28, "transistors",
            "transistors per full-adder bit (mirror adder)", 1, 100);
  s.add_int("logic.transistors_per_flop", 24, "transistors",
            "transistors of one D flip-flop", 1, 100);
  s.add_real("logic.control_fraction", 0, "",
             "control, sequencing, wordline decode: fraction of the datapath transistors", 0, 10)
      .required();
  s.add_real("logic.flop_data_activity", 0, "",
             "fraction of clocked cycles in which a flop's data toggles", 0, 1)
      .required();
  s.add_int("nonlinear.fp16_mul_adds_per_op", 0, "",
            "fp16 multiply-adds per exp / rsqrt / SiLU evaluation (polynomial degree)", 1, 64)
      .required();
  // SRAM.
  s.add_real("sram.array_efficiency", 0, "",
             "bitcell area / macro area (periphery, redundancy)", 0.05, 1)
      .required();
  s.add_real("sram.write_to_read", 1.0, "", "write energy per bit / read energy per bit", kPos,
             100);
  s.add_int("sram.transistors_per_bit", 6, "transistors", "transistors per SRAM bit (6T)", 1, 16);
  // ROM-select fabric.
  s.add_int("rom.bits_per_cell", 4, "bits", "widest weight digit one ROM cell selects", 1, 8);
  s.add_int("rom.product_bits_per_cycle", 1, "bits",
            "product bits a cell passes per cycle: 1 = bit-serial (one transistor per digit "
            "cell), activation bits + digit bits = bit-parallel",
            1, 64);
  s.add_int("rom.line_layers", 1, "",
            "metal layers the 2^d product lines of a cell row are spread over (stacked lines "
            "shrink the row height)",
            1, 16);
  s.add_string("rom.trees_from", "timing",
               "how many adder-tree inputs a matrix block has: the chip's declared structure "
               "(input_lanes x trees), or sized from its timing (fold / cycles per digit use) "
               "when the declared timing assumes whole products per cycle",
               {"structure", "timing"});
  s.add_int("rom.columns_per_product_bank", 0, "",
            "parallel columns one input lane's product bank (and its product lines) serves", 1,
            1 << 30)
      .required();
  s.add_real("rom.array_efficiency", 0, "",
             "cell area / ROM array area (wordline drivers, decoders)", 0.05, 1)
      .required();
  s.add_real("rom.bitline_activity", 0, "",
             "fraction of passed product bits that toggle a product line or tree input", 0, 1)
      .required();
  // Clock.
  s.add_real("clock.spine_leaf_pitch_um", 0, "",
             "spacing of the always-on spine's leaves (local clock-gating cells), um", kPos)
      .required();
  s.add_real("clock.spine_buffer_overhead", 0, "",
             "spine buffers' capacitance as a fraction of the spine wire capacitance", 0, 100)
      .required();
  s.add_int("clock.clocked_transistors_per_flop", 0, "transistors",
            "transistors of a flop driven by the clock (clock-pin load)", 1, 64)
      .required();
  s.add_real("clock.local_overhead", 0, "",
             "local clock wires and gating cells, as a fraction of the flops' clock-pin load", 0,
             100)
      .required();
  // Leakage.
  s.add_real("leakage.temperature_c", 0, "", "junction temperature at which leakage is charged, C",
             -60, 200)
      .required();
  s.add_real("leakage.reference_temperature_c", 25, "",
             "temperature of the nominal leakage currents below, C", -60, 200);
  s.add_real("leakage.doubling_c", 0, "", "temperature rise that doubles leakage, C", kPos, 1000)
      .required();
  s.add_real("leakage.dibl_v_per_decade", 0, "",
             "supply change that changes leakage tenfold (drain-induced barrier lowering), V",
             kPos, 10)
      .required();
  s.add_real("leakage.logic_na_per_transistor", 0, "",
             "off current of an average logic transistor at nominal vdd and the reference "
             "temperature, nA",
             0, 1e6)
      .required();
  s.add_real("leakage.rom_na_per_cell", 0, "",
             "off current of one ROM cell transistor, nA", 0, 1e6)
      .required();
  s.add_real("leakage.sram_pa_per_bit", 0, "", "leakage of one SRAM bit (cell), pA", 0, 1e9)
      .required();
  s.add_real("leakage.nominal_vdd", 0, "V", "supply at which the leakage currents are given", 0.1,
             5)
      .required();
  // Interfaces and board.
  s.add_real("interconnect.link_energy", 0, "pJ/bit", "chip-to-chip link, per bit", kPos)
      .required();
  s.add_real("dram.energy", 0, "pJ/bit", "external DRAM interface energy per bit", kPos)
      .required();
  s.add_real("dram.background_power", 0, "W",
             "DRAM PHY and device standby power per die with a KV DRAM attachment", 0, 1e4)
      .required();
  s.add_real("dram.phy_area", 0, "mm2", "DRAM PHY area per die with a KV DRAM attachment", 0,
             1e5)
      .required();
  s.add_real("io.host_phy_power", 0, "W", "host interface PHY (PCIe) power per die", 0, 1e4)
      .required();
  s.add_real("io.host_phy_area", 0, "mm2", "host interface PHY and pad area per die", 0, 1e5)
      .required();
  s.add_real("board.vrm_efficiency", 0, "",
             "voltage regulators: die power / power drawn from the card input", 0.05, 1)
      .required();
  s.add_real("board.overhead_power", 0, "W",
             "card power outside the dies' rails (fans, management controller, aux), per die", 0,
             1e4)
      .required();
  s.add_real("reticle.limit", 0, "mm2", "largest die one exposure field allows", kPos).required();
  return s;
}

// log-log interpolation through (x0, y0) and (x1, y1), extended beyond them.
double loglog(double x, double x0, double y0, double x1, double y1) {
  const double slope = std::log(y1 / y0) / std::log(x1 / x0);
  return y0 * std::pow(x / x0, slope);
}

void require_increasing(const ParamValues& v, const std::vector<std::string>& keys) {
  for (size_t i = 1; i < keys.size(); ++i) {
    const double a = v.get_real(keys[i - 1]);
    const double b = v.get_real(keys[i]);
    if (!(b > a)) {
      throw make_error("tech." + keys[i],
                       "must be larger than tech." + keys[i - 1] + " (" + std::to_string(b) +
                           " pJ vs " + std::to_string(a) + " pJ)",
                       "wider operands and larger macros cost more energy; check the file");
    }
  }
}

int clamp_bits(int bits) { return std::clamp(bits, 1, kTechMaxBits); }

const StillmakerEnergy& stillmaker_row(const std::string& node, const std::string& key) {
  for (const StillmakerEnergy& e : kStillmakerEnergy) {
    if (node == e.node_) return e;
  }
  throw make_error(key, "unknown Stillmaker & Baas node '" + node + "'",
                   "use one of 180, 130, 90, 65, HP45 ... HP7, LP45 ... LP7");
}

constexpr double kPjPerFfV2 = 1e-3;  // 1 fF x 1 V^2 = 1 fJ = 1e-3 pJ

}  // namespace

double stillmaker_energy(const std::string& node, double vdd_v, const std::string& key) {
  const StillmakerEnergy& e = stillmaker_row(node, key);
  const double energy = (e.a_ * vdd_v + e.b_) * vdd_v + e.c_;
  if (!(energy > 0)) {
    throw make_error(key, "Stillmaker & Baas energy of " + node + " is not positive at " +
                              std::to_string(vdd_v) + " V",
                     "the fits hold near each node's nominal supply; check the supply");
  }
  return energy;
}

const ParamSchema& tech_schema() {
  static const ParamSchema kSchema = build_schema();
  return kSchema;
}

double TechTable::add_pj(int bits) const { return int_add_pj_[clamp_bits(bits)]; }
double TechTable::mult_pj(int bits) const { return int_mult_pj_[clamp_bits(bits)]; }

double TechTable::sram_read_pj_per_bit(double macro_bytes) const {
  const double x = std::max(macro_bytes, 1.0);
  const auto& b = sram_anchor_bytes_;
  const auto& e = sram_anchor_read_pj_per_bit_;
  if (x <= b[1]) return loglog(x, b[0], e[0], b[1], e[1]);
  return loglog(x, b[1], e[1], b[2], e[2]);
}

double TechTable::sram_write_pj_per_bit(double macro_bytes) const {
  return sram_read_pj_per_bit(macro_bytes) * sram_write_to_read_;
}

double TechTable::switch_pj(double cap_ff) const { return cap_ff * vdd_v_ * vdd_v_ * kPjPerFfV2; }

double TechTable::sram_um2_per_bit() const { return sram_bitcell_um2_ / sram_array_efficiency_; }

double TechTable::logic_um2_per_transistor() const {
  return 1e6 / (logic_transistors_per_mm2_ * placement_utilization_);
}

double TechTable::rom_cell_um2(int digit_bits) const {
  return rom_cell_um2_for_lines(1 << std::clamp(digit_bits, 1, 16));
}

double TechTable::rom_cell_um2(int digit_bits, int product_bits_per_cycle) const {
  return rom_cell_um2(digit_bits) * double(std::max(product_bits_per_cycle, 1)) /
         double(rom_product_bits_per_cycle_);
}

double TechTable::rom_cell_um2_for_lines(int lines) const {
  // A cell sits under its row's product lines, spread over line_layers metal layers, plus one
  // track for its wordline, one contacted poly pitch wide, s transistors (s = product bits per
  // cycle).
  const double tracks = std::ceil(double(lines) / rom_line_layers_) + 1.0;
  return double(rom_product_bits_per_cycle_) * tracks * metal_pitch_nm_ *
         contacted_poly_pitch_nm_ * 1e-6 / rom_array_efficiency_;
}

double TechTable::adder_transistors(int bits) const {
  return double(bits) * transistors_per_full_adder_;
}

double TechTable::mult_transistors(int bits) const {
  // Array multiplier: about bits x bits full-adder cells.
  return double(bits) * bits * transistors_per_full_adder_;
}

TechTable make_tech_table(const ParamValues& v) {
  require_increasing(v, {"reference.int_add_8", "reference.int_add_32"});
  require_increasing(v, {"reference.int_mult_8", "reference.int_mult_32"});
  require_increasing(v, {"reference.sram_read_64b_8kib", "reference.sram_read_64b_32kib",
                         "reference.sram_read_64b_1mib"});
  TechTable t;
  t.name_ = v.get_string("name");
  if (t.name_.empty()) throw make_error("tech.name", "is empty", "name the node, e.g. n6");
  t.node_nm_ = v.get_real("node_nm");
  t.reference_vdd_v_ = v.get_real("reference.vdd");
  t.vdd_v_ = v.get_real("scaling.vdd");
  t.logic_transistors_per_mm2_ = v.get_real("scaling.logic_density");
  t.logic_cap_ratio_ = std::sqrt(v.get_real("reference.logic_density") / t.logic_transistors_per_mm2_);
  t.sram_bitcell_um2_ = v.get_real("scaling.sram_bitcell_area");
  t.sram_cap_ratio_ = std::sqrt(t.sram_bitcell_um2_ / v.get_real("reference.sram_bitcell_area"));
  const double vr = t.vdd_v_ / t.reference_vdd_v_;
  t.voltage_factor_ = vr * vr;
  t.logic_energy_node_ = v.get_string("scaling.logic_energy_node");
  t.stillmaker_energy_ratio_ =
      stillmaker_energy(t.logic_energy_node_, t.vdd_v_, "tech.scaling.logic_energy_node") /
      stillmaker_energy(v.get_string("reference.logic_energy_node"), t.reference_vdd_v_,
                        "tech.reference.logic_energy_node");
  t.density_step_ = std::sqrt(v.get_real("scaling.logic_energy_node_density") /
                              t.logic_transistors_per_mm2_);
  t.logic_energy_scale_ = t.stillmaker_energy_ratio_ * t.density_step_;
  t.sram_energy_scale_ = t.sram_cap_ratio_ * t.voltage_factor_;
  const double s = t.logic_energy_scale_;

  const double a8 = v.get_real("reference.int_add_8");
  const double a32 = v.get_real("reference.int_add_32");
  const double m8 = v.get_real("reference.int_mult_8");
  const double m32 = v.get_real("reference.int_mult_32");
  for (int b = 1; b <= kTechMaxBits; ++b) {
    t.int_add_pj_[b] = s * loglog(b, 8, a8, 32, a32);
    t.int_mult_pj_[b] = s * loglog(b, 8, m8, 32, m32);
  }
  t.fp16_add_pj_ = s * v.get_real("reference.fp_add_16");
  t.fp32_add_pj_ = s * v.get_real("reference.fp_add_32");
  t.fp16_mult_pj_ = s * v.get_real("reference.fp_mult_16");
  t.fp32_mult_pj_ = s * v.get_real("reference.fp_mult_32");
  t.nonlinear_mul_adds_ = static_cast<int>(v.get_int("nonlinear.fp16_mul_adds_per_op"));
  t.nonlinear_op_pj_ = t.nonlinear_mul_adds_ * (t.fp16_mult_pj_ + t.fp16_add_pj_);
  t.transistors_per_full_adder_ = static_cast<int>(v.get_int("logic.transistors_per_full_adder"));
  t.full_adder_bit_pj_ = t.int_add_pj_[8] / 8.0;
  t.transistor_cap_ff_ =
      t.full_adder_bit_pj_ / (t.transistors_per_full_adder_ * t.vdd_v_ * t.vdd_v_ * kPjPerFfV2);

  t.sram_anchor_bytes_ = kSramAnchorBytes;
  const double ss = t.sram_energy_scale_;
  t.sram_anchor_read_pj_per_bit_ = {
      ss * v.get_real("reference.sram_read_64b_8kib") / kReferenceWordBits,
      ss * v.get_real("reference.sram_read_64b_32kib") / kReferenceWordBits,
      ss * v.get_real("reference.sram_read_64b_1mib") / kReferenceWordBits};
  t.sram_write_to_read_ = v.get_real("sram.write_to_read");
  t.sram_array_efficiency_ = v.get_real("sram.array_efficiency");
  t.sram_transistors_per_bit_ = static_cast<int>(v.get_int("sram.transistors_per_bit"));

  t.wire_cap_ff_per_um_ = v.get_real("wires.cap_ff_per_um");
  t.metal_pitch_nm_ = v.get_real("wires.metal_pitch_nm");
  t.contacted_poly_pitch_nm_ = v.get_real("wires.contacted_poly_pitch_nm");
  t.routing_overhead_ = v.get_real("wires.routing_overhead");
  t.onchip_hop_mm_ = v.get_real("wires.onchip_hop_mm");
  t.onchip_transfer_pj_per_bit_ = t.switch_pj(t.onchip_hop_mm_ * 1000.0 * t.wire_cap_ff_per_um_);

  t.placement_utilization_ = v.get_real("logic.placement_utilization");
  t.transistors_per_flop_ = static_cast<int>(v.get_int("logic.transistors_per_flop"));
  t.control_fraction_ = v.get_real("logic.control_fraction");
  t.flop_data_activity_ = v.get_real("logic.flop_data_activity");

  t.rom_bits_per_cell_ = static_cast<int>(v.get_int("rom.bits_per_cell"));
  t.rom_product_bits_per_cycle_ = static_cast<int>(v.get_int("rom.product_bits_per_cycle"));
  t.rom_columns_per_product_bank_ = static_cast<int>(v.get_int("rom.columns_per_product_bank"));
  t.rom_line_layers_ = static_cast<int>(v.get_int("rom.line_layers"));
  t.rom_trees_from_timing_ = v.get_string("rom.trees_from") == "timing";
  t.rom_array_efficiency_ = v.get_real("rom.array_efficiency");
  t.rom_bitline_activity_ = v.get_real("rom.bitline_activity");

  t.clock_spine_leaf_pitch_um_ = v.get_real("clock.spine_leaf_pitch_um");
  t.clock_spine_buffer_overhead_ = v.get_real("clock.spine_buffer_overhead");
  t.clocked_transistors_per_flop_ = static_cast<int>(v.get_int("clock.clocked_transistors_per_flop"));
  if (t.clocked_transistors_per_flop_ > t.transistors_per_flop_) {
    throw make_error("tech.clock.clocked_transistors_per_flop",
                     "exceeds tech.logic.transistors_per_flop (" +
                         std::to_string(t.clocked_transistors_per_flop_) + " > " +
                         std::to_string(t.transistors_per_flop_) + ")",
                     "a flop cannot have more clocked transistors than transistors");
  }
  t.clock_local_overhead_ = v.get_real("clock.local_overhead");
  t.flop_clock_pj_ = t.switch_pj(double(t.clocked_transistors_per_flop_) * t.transistor_cap_ff_ *
                                 (1.0 + t.clock_local_overhead_));

  // Leakage: nominal currents x 2^((T - Tref) / doubling) x 10^((vdd - vnom) / dibl), times vdd.
  t.temperature_c_ = v.get_real("leakage.temperature_c");
  const double temp_factor = std::pow(
      2.0, (t.temperature_c_ - v.get_real("leakage.reference_temperature_c")) /
               v.get_real("leakage.doubling_c"));
  const double dibl_factor = std::pow(
      10.0, (t.vdd_v_ - v.get_real("leakage.nominal_vdd")) / v.get_real("leakage.dibl_v_per_decade"));
  t.leakage_scale_ = temp_factor * dibl_factor;
  t.leakage_logic_w_per_transistor_ =
      v.get_real("leakage.logic_na_per_transistor") * 1e-9 * t.leakage_scale_ * t.vdd_v_;
  t.leakage_rom_w_per_cell_ =
      v.get_real("leakage.rom_na_per_cell") * 1e-9 * t.leakage_scale_ * t.vdd_v_;
  t.leakage_sram_w_per_bit_ =
      v.get_real("leakage.sram_pa_per_bit") * 1e-12 * t.leakage_scale_ * t.vdd_v_;

  t.link_pj_per_bit_ = v.get_real("interconnect.link_energy");
  t.dram_pj_per_bit_ = v.get_real("dram.energy");
  t.dram_background_w_ = v.get_real("dram.background_power");
  t.dram_phy_area_mm2_ = v.get_real("dram.phy_area");
  t.host_phy_w_ = v.get_real("io.host_phy_power");
  t.host_phy_area_mm2_ = v.get_real("io.host_phy_area");
  t.vrm_efficiency_ = v.get_real("board.vrm_efficiency");
  t.board_overhead_w_ = v.get_real("board.overhead_power");
  t.reticle_limit_mm2_ = v.get_real("reticle.limit");
  t.values_ = v;
  return t;
}

std::vector<std::string> tech_names() {
  std::vector<std::string> names;
  std::error_code ec;
  const fs::path dir = fs::path(configs_dir()) / "tech";
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".yaml") names.push_back(it->path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TechTable load_tech(const std::string& name_or_path, const std::vector<std::string>& overrides) {
  if (name_or_path.empty()) {
    throw make_error("--tech", "empty technology name", "give a node name such as n6 or a .yaml");
  }
  fs::path path(name_or_path);
  std::error_code ec;
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               path.extension() == ".yaml" || path.extension() == ".yml";
  if (!looks_like_path) {
    path = fs::path(configs_dir()) / "tech" / (name_or_path + ".yaml");
    if (!fs::is_regular_file(path, ec)) {
      const std::vector<std::string> names = tech_names();
      std::string list;
      for (size_t i = 0; i < names.size(); ++i) list += (i ? ", " : "") + names[i];
      const std::string near = closest_match(name_or_path, names);
      throw make_error("--tech " + name_or_path, "no such technology (shipped: " + list + ")",
                       near.empty() ? "or give the path of a tech .yaml file"
                                    : "did you mean '" + near + "'?");
    }
  } else if (!fs::is_regular_file(path, ec)) {
    throw make_error(name_or_path, "tech file not found", "check the path");
  }
  const YAML::Node root = load_yaml_file(path.string());
  check_top_level_keys(root, {"tech"}, path.string());
  if (!root.IsMap() || !root["tech"]) {
    throw make_error(path.string(), "has no top-level 'tech:' block",
                     "see configs/tech/n45.yaml for the layout");
  }
  const ParamValues values = resolve_params(tech_schema(), root, path.string(), overrides);
  return make_tech_table(values);
}

}  // namespace hw
