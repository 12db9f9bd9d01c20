// Tests of the technology tables: the shipped nodes load, the scaling rules (logic by Stillmaker
// & Baas 2017 and density beyond it, SRAM by bitcell, leakage by temperature and supply) give the hand-computed numbers, units
// convert, malformed files fail naming the key, and no shipped value is fitted to a chip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>

#include "common/error.h"
#include "model/model_config.h"
#include "power/tech_table.h"

namespace hw {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// n6.yaml with one line edited, written to a temp file; returns its path.
std::string edited_n6(const std::string& from, const std::string& to, const std::string& tag) {
  const std::filesystem::path src = std::filesystem::path(configs_dir()) / "tech" / "n6.yaml";
  std::string text = read_text(src);
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / ("hw_tech_" + tag + ".yaml");
  std::ofstream(out) << text;
  return out.string();
}

TEST(TechTable, ShipsEveryNode) {
  const auto names = tech_names();
  for (const char* n : {"n65", "n45", "n7", "n6", "n5", "n3"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
    const TechTable t = load_tech(n, {});
    EXPECT_EQ(t.name_, n);
    EXPECT_GT(t.logic_energy_scale_, 0.0);
    EXPECT_GT(t.reticle_limit_mm2_, 800.0);
  }
}

TEST(TechTable, N45IsTheHorowitzTable) {
  const TechTable t = load_tech("n45", {});
  EXPECT_DOUBLE_EQ(t.logic_energy_scale_, 1.0);
  EXPECT_DOUBLE_EQ(t.sram_energy_scale_, 1.0);
  EXPECT_NEAR(t.add_pj(8), 0.03, 1e-15);
  EXPECT_NEAR(t.add_pj(32), 0.1, 1e-15);
  EXPECT_NEAR(t.mult_pj(8), 0.2, 1e-15);
  EXPECT_NEAR(t.mult_pj(32), 3.1, 1e-15);
  // 16 bits lies on the log-log line through Horowitz's 8- and 32-bit points (his table has no
  // 16-bit integer add): 0.03 x (0.1 / 0.03)^(1/2).
  EXPECT_NEAR(t.add_pj(16), 0.03 * std::sqrt(0.1 / 0.03), 1e-12);
  // SRAM: 10 pJ per 64-bit read of 8 KB = 0.15625 pJ/bit; 1 MB 100 pJ.
  EXPECT_NEAR(t.sram_read_pj_per_bit(8192), 10.0 / 64, 1e-12);
  EXPECT_NEAR(t.sram_read_pj_per_bit(1048576), 100.0 / 64, 1e-12);
  // Between anchors: log-log, 16 KB = geometric mean of 8 KB and 32 KB.
  EXPECT_NEAR(t.sram_read_pj_per_bit(16384), std::sqrt(10.0 * 20.0) / 64, 1e-12);
  // One full-adder bit of an 8-bit add, over 28 transistors at 0.9 V: the switched capacitance
  // per transistor, 0.03 / 8 / 28 pJ / 0.81 V^2 = 0.165 fF.
  EXPECT_NEAR(t.transistor_cap_ff_, 0.03 / 8 / 28 / 0.81 * 1e3, 1e-9);
}

TEST(TechTable, N6ScalingRulesByHand) {
  const TechTable t = load_tech("n6", {});
  // Logic: Stillmaker & Baas 7 nm HP at 0.75 V over their 45 nm HP at 0.9 V, then the density
  // step N7 -> N6: sqrt(91.2 / 107.6).
  const double v = (0.75 / 0.9) * (0.75 / 0.9);
  const double hp7 = 0.1776 * 0.75 * 0.75 - 0.09097 * 0.75 + 0.02447;
  const double hp45 = 1.018 * 0.9 * 0.9 - 0.3107 * 0.9 + 0.1539;
  const double logic = hp7 / hp45 * std::sqrt(91.2 / 107.6);
  EXPECT_NEAR(t.logic_energy_scale_, logic, 1e-12);
  EXPECT_EQ(t.logic_energy_node_, "HP7");
  EXPECT_NEAR(t.add_pj(8), 0.03 * logic, 1e-15);
  EXPECT_NEAR(t.fp16_mult_pj_, 1.1 * logic, 1e-15);
  // SRAM: sqrt(0.027 / 0.346) x v.
  const double sram = std::sqrt(0.027 / 0.346) * v;
  EXPECT_NEAR(t.sram_read_pj_per_bit(32768), 20.0 / 64 * sram, 1e-12);
  // Areas: SRAM 0.027 / 0.70 um2 per bit; logic 1 / (107.6e6 x 0.7) mm2 per transistor; a 4-bit
  // ROM digit cell under 17 tracks of 40 nm, 57 nm wide, over 0.85 array efficiency.
  EXPECT_NEAR(t.sram_um2_per_bit(), 0.027 / 0.70, 1e-12);
  EXPECT_NEAR(t.logic_um2_per_transistor(), 1e6 / (107.6e6 * 0.7), 1e-12);
  EXPECT_NEAR(t.rom_cell_um2(4), 17 * 0.040 * 0.057 / 0.85, 1e-12);
  EXPECT_NEAR(t.rom_cell_um2(3), 9 * 0.040 * 0.057 / 0.85, 1e-12);
  // Wire: 1 mm at 0.2 fF/um and 0.75 V.
  EXPECT_NEAR(t.onchip_transfer_pj_per_bit_, 1000 * 0.2 * 0.5625 * 1e-3, 1e-12);
  // Flop clock: 8 clocked transistors x (1 + 0.5 local) x C_transistor x V^2.
  EXPECT_NEAR(t.flop_clock_pj_, 8 * 1.5 * t.transistor_cap_ff_ * 0.5625 * 1e-3, 1e-15);
  // Leakage at 70 C, nominal supply: 1 nA x 2^(45/25) x 0.75 V per logic transistor.
  EXPECT_NEAR(t.leakage_logic_w_per_transistor_, 1e-9 * std::pow(2.0, 45.0 / 25.0) * 0.75, 1e-18);
  EXPECT_NEAR(t.leakage_sram_w_per_bit_, 20e-12 * std::pow(2.0, 45.0 / 25.0) * 0.75, 1e-21);
}

TEST(TechTable, LogicAndSramScaleSeparately) {
  // n7 and n6 share the SRAM bitcell but not the logic density; n5 and n3 likewise: their SRAM
  // energies are equal, their logic energies are not (before: n7 equalled n6, n3 equalled n5).
  const TechTable n7 = load_tech("n7", {}), n6 = load_tech("n6", {});
  const TechTable n5 = load_tech("n5", {}), n3 = load_tech("n3", {});
  EXPECT_DOUBLE_EQ(n7.sram_read_pj_per_bit(65536), n6.sram_read_pj_per_bit(65536));
  EXPECT_DOUBLE_EQ(n5.sram_read_pj_per_bit(65536), n3.sram_read_pj_per_bit(65536));
  EXPECT_LT(n6.add_pj(8), n7.add_pj(8));
  EXPECT_LT(n3.add_pj(8), n5.add_pj(8));
  EXPECT_LT(n3.logic_um2_per_transistor(), n5.logic_um2_per_transistor());
  EXPECT_DOUBLE_EQ(n3.sram_um2_per_bit(), n5.sram_um2_per_bit());
}

TEST(TechTable, VddAndTemperatureOverrides) {
  const TechTable a = load_tech("n6", {});
  const TechTable b = load_tech("n6", {"tech.scaling.vdd=600 mV"});
  // Logic follows Stillmaker & Baas's fit of their 7 nm HP row in the supply; SRAM C V^2.
  auto hp7 = [](double v) { return 0.1776 * v * v - 0.09097 * v + 0.02447; };
  const double logic = hp7(0.6) / hp7(0.75);
  const double r = (0.6 / 0.75) * (0.6 / 0.75);
  EXPECT_NEAR(b.add_pj(16) / a.add_pj(16), logic, 1e-12);
  EXPECT_NEAR(b.sram_read_pj_per_bit(65536) / a.sram_read_pj_per_bit(65536), r, 1e-12);
  EXPECT_NEAR(b.nonlinear_op_pj_ / a.nonlinear_op_pj_, logic, 1e-12);
  EXPECT_EQ(b.values_.source_of("scaling.vdd"), "--set");
  // Leakage: 10^(-0.15 / 0.9) from DIBL, times the lower supply.
  EXPECT_NEAR(b.leakage_logic_w_per_transistor_ / a.leakage_logic_w_per_transistor_,
              std::pow(10.0, -0.15 / 0.9) * 0.6 / 0.75, 1e-12);
  // 25 C hotter doubles leakage.
  const TechTable hot = load_tech("n6", {"tech.leakage.temperature_c=95"});
  EXPECT_NEAR(hot.leakage_logic_w_per_transistor_ / a.leakage_logic_w_per_transistor_, 2.0, 1e-12);
}

TEST(TechTable, UnitsConvert) {
  const TechTable t = load_tech("n6", {"tech.reference.int_add_8=30 fJ",
                                       "tech.io.host_phy_area=2000000 um2",
                                       "tech.scaling.logic_density=0.0001076 transistors/nm2"});
  EXPECT_NEAR(t.values_.get_real("reference.int_add_8"), 0.03, 1e-12);
  EXPECT_NEAR(t.host_phy_area_mm2_, 2.0, 1e-9);
  EXPECT_NEAR(t.logic_transistors_per_mm2_, 107.6e6, 1e-3);
  EXPECT_THAT(error_of([] { load_tech("n6", {"tech.scaling.vdd=0.8 pJ"}); }),
              HasSubstr("tech.scaling.vdd"));
  EXPECT_THAT(error_of([] { load_tech("n6", {"tech.scaling.vdd=0.8 pJ"}); }),
              HasSubstr("does not measure the same thing"));
  EXPECT_THAT(error_of([] {
                load_tech("n6", {"tech.clock.clocked_transistors_per_flop=30"});
              }),
              HasSubstr("exceeds tech.logic.transistors_per_flop"));
}

TEST(TechTable, StrictFiles) {
  EXPECT_THAT(error_of([] {
                load_tech(edited_n6("    logic_na_per_transistor:", "    logic_na_per_transistr:",
                                    "typo"),
                          {});
              }),
              HasSubstr("did you mean 'tech.leakage.logic_na_per_transistor'?"));
  EXPECT_THAT(
      error_of([] { load_tech(edited_n6("    int_mult_32: 3.1 pJ", "", "missing"), {}); }),
      HasSubstr("missing required key 'tech.reference.int_mult_32'"));
  EXPECT_THAT(error_of([] {
                load_tech(edited_n6("int_add_32: 0.1 pJ", "int_add_32: 0.02 pJ", "order"), {});
              }),
              HasSubstr("tech.reference.int_add_32: must be larger than tech.reference.int_add_8"));
  EXPECT_THAT(error_of([] {
                load_tech(edited_n6("array_efficiency: 0.70", "array_efficiency: 1.5", "range"),
                          {});
              }),
              HasSubstr("out of range"));
  EXPECT_THAT(error_of([] {
                load_tech(edited_n6("    vdd: 0.75 V ", "    vdd: 0.75 GHz ", "unit"), {});
              }),
              HasSubstr("tech.scaling.vdd"));
  EXPECT_THAT(error_of([] { load_tech("n66", {}); }), HasSubstr("did you mean 'n6'?"));
  EXPECT_THAT(error_of([] { load_tech("/nonexistent/x.yaml", {}); }), HasSubstr("not found"));
  EXPECT_THAT(error_of([] { load_tech("n6", {"tech.nope=1"}); }), HasSubstr("unknown key 'tech.nope'"));
}

TEST(TechTable, LogicEnergyFollowsStillmakerAndBaas) {
  // Stillmaker & Baas 2017 (Integration 58): fitted energy per operation E(V) = a V^2 + b V + c
  // per node; the reference energies are their 45 nm HP row at Horowitz's 0.9 V.
  auto e = [](double a, double b, double c, double v) { return a * v * v + b * v + c; };
  const double hp45 = e(1.018, -0.3107, 0.1539, 0.9);
  // n7 is their 7 nm HP row at 0.75 V, no density step.
  const TechTable n7 = load_tech("n7", {});
  EXPECT_NEAR(n7.logic_energy_scale_, e(0.1776, -0.09097, 0.02447, 0.75) / hp45, 1e-12);
  EXPECT_DOUBLE_EQ(n7.density_step_, 1.0);
  EXPECT_NEAR(n7.add_pj(8), 0.03 * n7.logic_energy_scale_, 1e-15);
  // n65 is their 65 nm (PTM bulk) row at 1.0 V.
  const TechTable n65 = load_tech("n65", {});
  EXPECT_NEAR(n65.logic_energy_scale_, e(3.755, -4.398, 1.975, 1.0) / hp45, 1e-12);
  // Beyond the paper's range: n5 = their 7 nm, then sqrt(91.2 / 164.2).
  const TechTable n5 = load_tech("n5", {});
  EXPECT_NEAR(n5.logic_energy_scale_ / n7.logic_energy_scale_, std::sqrt(91.2 / 164.2), 1e-12);
  // The supply enters through their fit, not V^2: 0.70 V on n7 is 15% below 0.75 V here (V^2
  // would say 13%).
  const TechTable low = load_tech("n7", {"tech.scaling.vdd=0.70V"});
  EXPECT_NEAR(low.logic_energy_scale_ / n7.logic_energy_scale_,
              e(0.1776, -0.09097, 0.02447, 0.70) / e(0.1776, -0.09097, 0.02447, 0.75), 1e-12);
  // Their 10 nm row instead of 7 nm for N7 (the sensitivity stated in n7.yaml): 25% more.
  const TechTable ten = load_tech("n7", {"tech.scaling.logic_energy_node=HP10"});
  EXPECT_NEAR(ten.logic_energy_scale_ / n7.logic_energy_scale_, 1.25, 0.01);
  // The density rule the tables used before (sqrt(3.33 / 91.2) x (0.75 / 0.9)^2 = 0.133) gives
  // 1.65x their 7 nm energy (0.080): printed for docs/calibration.md.
  std::printf("logic energy 45 nm HP (0.9 V) -> n7 (0.75 V): Stillmaker & Baas %.4f, "
              "density rule %.4f\n",
              n7.logic_energy_scale_, n7.logic_cap_ratio_ * n7.voltage_factor_);
  EXPECT_THAT(error_of([] { load_tech("n6", {"tech.scaling.logic_energy_node=HP5"}); }),
              HasSubstr("tech.scaling.logic_energy_node"));
}

TEST(TechTable, EveryShippedNumberIsTagged) {
  // Every value line of a shipped tech file carries a source tag or sits under a comment block
  // that gives one ([paper]/[V]/[3P]/[D]/[choice] or a named source), and none is calibrated
  // against a chip: the files have no [C] tag and no calibration block.
  for (const auto& name : tech_names()) {
    const std::string text =
        read_text(std::filesystem::path(configs_dir()) / "tech" / (name + ".yaml"));
    EXPECT_EQ(text.find("[C]"), std::string::npos) << name;
    EXPECT_EQ(text.find("calibration:"), std::string::npos) << name;
    std::istringstream lines(text);
    std::string line, previous;
    int line_no = 0;
    while (std::getline(lines, line)) {
      ++line_no;
      const bool value_line = std::regex_search(line, std::regex(R"(^\s+\w+: [0-9.])"));
      if (value_line) {
        const bool tagged = line.find('#') != std::string::npos ||
                            previous.find('#') != std::string::npos;
        EXPECT_TRUE(tagged) << name << ".yaml:" << line_no << ": " << line;
      }
      previous = line;
    }
  }
}

}  // namespace
}  // namespace hw
