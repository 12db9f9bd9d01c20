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

ParamSchema build_schema() {
  ParamSchema s("tech");
  constexpr double kPos = 1e-30;
  s.add_string("name", "", "node name, e.g. n6").required();
  s.add_real("node_nm", 0, "", "node label in nm (marketing name; informational only)", 1, 1000)
      .required();
  // Reference energies: Horowitz, ISSCC 2014, 45 nm, 0.9 V.
  s.add_real("reference.vdd", 0, "V", "supply voltage of the reference energies", 0.1, 5)
      .required();
  s.add_real("reference.sram_bitcell_area", 0, "um2",
             "HD SRAM bitcell area at the reference node (capacitance scaling base)", kPos)
      .required();
  for (const char* k : {"int_add_8", "int_add_16", "int_add_32", "int_mult_8", "int_mult_32",
                        "fp_add_16", "fp_add_32", "fp_mult_16", "fp_mult_32"}) {
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
  // Node scaling inputs.
  s.add_real("scaling.sram_bitcell_area", 0, "um2",
             "HD SRAM bitcell area at this node (capacitance ~ sqrt of it)", kPos)
      .required();
  s.add_real("scaling.vdd", 0, "V", "operating supply voltage at this node", 0.1, 5).required();
  s.add_real("calibration.dynamic_factor", 1.0, "",
             "multiplier on every on-chip dynamic energy (residual calibrated against HC1)", kPos,
             1e3);
  // SRAM.
  s.add_real("sram.array_efficiency", 0, "",
             "bitcell area / array area (periphery, redundancy)", 0.05, 1)
      .required();
  s.add_real("sram.write_to_read", 1.0, "", "write energy per bit / read energy per bit", kPos,
             100);
  s.add_int("sram.transistors_per_bit", 6, "transistors", "transistors per SRAM bit (6T)", 1, 16);
  // Logic.
  s.add_real("logic.transistor_area", 0, "um2", "average placed logic area per transistor", kPos)
      .required();
  s.add_int("logic.transistors_per_full_adder", 28, "transistors",
            "transistors per full-adder bit (mirror adder)", 1, 100);
  s.add_real("logic.control_area_fraction", 0, "",
             "control, sequencing and local interconnect area, fraction of block logic area", 0,
             10)
      .required();
  s.add_int("clock.transistors_per_flop", 0, "transistors",
            "clocked transistors of one flip-flop (clock-pin load)", 1, 64)
      .required();
  s.add_real("clock.tree_overhead", 0, "",
             "clock tree wires and buffers, as a fraction of the flops' own clock energy", 0, 100)
      .required();
  s.add_real("clock.gating", 0, "", "fraction of idle flop-cycles whose clock is gated off", 0, 1)
      .required();
  s.add_int("nonlinear.fp16_mul_adds_per_op", 0, "",
            "fp16 multiply-adds per exp / rsqrt / SiLU evaluation (polynomial degree)", 1, 64)
      .required();
  // ROM-select fabric.
  s.add_int("rom.bits_per_cell", 4, "bits", "weight bits one ROM transistor stores", 1, 8);
  s.add_real("rom.cell_area", 0, "um2", "area of one ROM cell (one transistor)", kPos).required();
  s.add_real("rom.bitline_activity", 0, "",
             "fraction of passed product bits that swing the lane bitline", 0, 1)
      .required();
  s.add_int("rom.rows_per_product_bank", 0, "",
            "weight rows sharing one precomputed product bank (amortizes the precompute)", 1,
            1 << 30)
      .required();
  // Interconnect, memory interfaces, static power.
  s.add_real("interconnect.onchip_energy", 0, "pJ/bit",
             "moving one bit between blocks on the die", kPos)
      .required();
  s.add_real("interconnect.link_energy", 0, "pJ/bit", "chip-to-chip link, per bit", kPos)
      .required();
  s.add_real("dram.energy", 0, "pJ/bit", "external DRAM interface energy per bit", kPos)
      .required();
  s.add_real("leakage.logic", 0, "W/mm2", "leakage per mm2 of logic and ROM fabric", 0, 10)
      .required();
  s.add_real("leakage.sram", 0, "W/mm2", "leakage per mm2 of SRAM array", 0, 10).required();
  s.add_real("io.power", 0, "W", "host interface (PCIe PHY, pads) power", 0, 1e4).required();
  s.add_real("io.area", 0, "mm2", "host interface PHY and pad area", 0, 1e5).required();
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

}  // namespace

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

namespace {

// Energy of one weight use at integer width `b`, per ROM cell (ceil(b / g) cells of g bits):
// - select: the cell passes its selected product (act + g bits) onto the lane's output
//   bitlines, shared by the F cells the lane serves in turn: each bit that swings charges F
//   cell diffusions, F transistor toggles (bitline_activity of the bits swing);
// - accumulate: the product enters the adder tree, mean adder width = product width + 2 (level
//   i of an N-input tree has N / 2^i adders of width w + i, and sum(i / 2^i) = 2);
// - precompute: the cell's share of the shared product bank (2^(g-1) - 1 adds build the odd
//   multiples 3x..15x; even ones are shifts), amortized over the rows of the bank.
double rom_mac_int_pj(const TechTable& t, int b, int act_bits, int64_t fold_rows) {
  const int g = t.rom_bits_per_cell_;
  const int cells = (b + g - 1) / g;
  const int product_bits = act_bits + g;
  const double select = product_bits * t.rom_bitline_pj_per_bit(fold_rows);
  const double accumulate = t.add_pj(act_bits + b + 2);
  const double precompute =
      ((1 << (g - 1)) - 1) * t.add_pj(product_bits) / t.rom_rows_per_product_bank_;
  return cells * (select + accumulate + precompute);
}

template <typename F>
double interpolate_width(double bits, F f) {
  const double clamped = std::clamp(bits, 1.0, double(kTechMaxBits));
  const int lo = static_cast<int>(std::floor(clamped));
  const double t = clamped - lo;
  if (t == 0.0) return f(lo);
  return (1.0 - t) * f(lo) + t * f(lo + 1);
}

}  // namespace

double TechTable::rom_bitline_pj_per_bit(int64_t fold_rows) const {
  return double(std::max<int64_t>(fold_rows, 1)) * transistor_switch_pj_ * rom_bitline_activity_;
}

double TechTable::rom_mac_pj(double weight_bits, int act_bits, int64_t fold_rows) const {
  return interpolate_width(
      weight_bits, [&](int b) { return rom_mac_int_pj(*this, b, act_bits, fold_rows); });
}

double TechTable::sram_um2_per_bit() const { return sram_bitcell_um2_ / sram_array_efficiency_; }

double TechTable::rom_um2_per_bit() const { return rom_cell_um2_ / rom_bits_per_cell_; }

double TechTable::adder_transistors(int bits) const {
  return double(bits) * transistors_per_full_adder_;
}

double TechTable::mult_transistors(int bits) const {
  // Array multiplier: about bits x bits full-adder cells.
  return double(bits) * bits * transistors_per_full_adder_;
}

TechTable make_tech_table(const ParamValues& v) {
  require_increasing(v, {"reference.int_add_8", "reference.int_add_16", "reference.int_add_32"});
  require_increasing(v, {"reference.int_mult_8", "reference.int_mult_32"});
  require_increasing(v, {"reference.sram_read_64b_8kib", "reference.sram_read_64b_32kib",
                         "reference.sram_read_64b_1mib"});
  TechTable t;
  t.name_ = v.get_string("name");
  if (t.name_.empty()) throw make_error("tech.name", "is empty", "name the node, e.g. n6");
  t.node_nm_ = v.get_real("node_nm");
  t.reference_vdd_v_ = v.get_real("reference.vdd");
  t.vdd_v_ = v.get_real("scaling.vdd");
  t.cap_ratio_ = std::sqrt(v.get_real("scaling.sram_bitcell_area") /
                           v.get_real("reference.sram_bitcell_area"));
  t.dynamic_factor_ = v.get_real("calibration.dynamic_factor");
  const double vr = t.vdd_v_ / t.reference_vdd_v_;
  t.energy_scale_ = t.cap_ratio_ * vr * vr * t.dynamic_factor_;
  const double s = t.energy_scale_;

  const double a8 = v.get_real("reference.int_add_8");
  const double a16 = v.get_real("reference.int_add_16");
  const double a32 = v.get_real("reference.int_add_32");
  const double m8 = v.get_real("reference.int_mult_8");
  const double m32 = v.get_real("reference.int_mult_32");
  for (int b = 1; b <= kTechMaxBits; ++b) {
    t.int_add_pj_[b] = s * (b <= 16 ? loglog(b, 8, a8, 16, a16) : loglog(b, 16, a16, 32, a32));
    t.int_mult_pj_[b] = s * loglog(b, 8, m8, 32, m32);
  }
  t.fp16_add_pj_ = s * v.get_real("reference.fp_add_16");
  t.fp32_add_pj_ = s * v.get_real("reference.fp_add_32");
  t.fp16_mult_pj_ = s * v.get_real("reference.fp_mult_16");
  t.fp32_mult_pj_ = s * v.get_real("reference.fp_mult_32");
  t.nonlinear_mul_adds_ = static_cast<int>(v.get_int("nonlinear.fp16_mul_adds_per_op"));
  t.nonlinear_op_pj_ = t.nonlinear_mul_adds_ * (t.fp16_mult_pj_ + t.fp16_add_pj_);
  t.transistors_per_full_adder_ = static_cast<int>(v.get_int("logic.transistors_per_full_adder"));
  t.transistor_switch_pj_ = t.int_add_pj_[8] / (8.0 * t.transistors_per_full_adder_);

  t.sram_anchor_bytes_ = kSramAnchorBytes;
  t.sram_anchor_read_pj_per_bit_ = {
      s * v.get_real("reference.sram_read_64b_8kib") / kReferenceWordBits,
      s * v.get_real("reference.sram_read_64b_32kib") / kReferenceWordBits,
      s * v.get_real("reference.sram_read_64b_1mib") / kReferenceWordBits};
  t.sram_write_to_read_ = v.get_real("sram.write_to_read");
  t.dram_pj_per_bit_ = v.get_real("dram.energy");
  t.link_pj_per_bit_ = v.get_real("interconnect.link_energy");
  t.onchip_transfer_pj_per_bit_ = v.get_real("interconnect.onchip_energy");
  // One flop-cycle: its clocked transistors toggle, plus the tree's share.
  t.flop_clock_pj_ = double(v.get_int("clock.transistors_per_flop")) * t.transistor_switch_pj_ *
                     (1.0 + v.get_real("clock.tree_overhead"));
  t.clock_gating_ = v.get_real("clock.gating");

  t.rom_bits_per_cell_ = static_cast<int>(v.get_int("rom.bits_per_cell"));
  t.rom_rows_per_product_bank_ = static_cast<int>(v.get_int("rom.rows_per_product_bank"));
  t.rom_cell_um2_ = v.get_real("rom.cell_area");
  t.rom_bitline_activity_ = v.get_real("rom.bitline_activity");

  t.sram_bitcell_um2_ = v.get_real("scaling.sram_bitcell_area");
  t.sram_array_efficiency_ = v.get_real("sram.array_efficiency");
  t.sram_transistors_per_bit_ = static_cast<int>(v.get_int("sram.transistors_per_bit"));
  t.logic_transistor_um2_ = v.get_real("logic.transistor_area");
  t.control_area_fraction_ = v.get_real("logic.control_area_fraction");

  t.leakage_logic_w_per_mm2_ = v.get_real("leakage.logic");
  t.leakage_sram_w_per_mm2_ = v.get_real("leakage.sram");
  t.io_power_w_ = v.get_real("io.power");
  t.io_area_mm2_ = v.get_real("io.area");
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
