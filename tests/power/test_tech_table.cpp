// Tests of the technology tables: the shipped nodes load, the node scaling rule and the width /
// macro-size interpolation give the hand-computed numbers, units convert, and malformed files
// (unknown key, missing key, wrong unit, inconsistent reference energies) fail naming the key.
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
  for (const char* n : {"n45", "n7", "n6", "n5", "n3"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
    const TechTable t = load_tech(n, {});
    EXPECT_EQ(t.name_, n);
    EXPECT_GT(t.energy_scale_, 0.0);
  }
}

TEST(TechTable, N45IsTheHorowitzTableTimesTheResidual) {
  const TechTable t = load_tech("n45", {});
  EXPECT_DOUBLE_EQ(t.cap_ratio_, 1.0);
  const double f = t.dynamic_factor_;
  EXPECT_DOUBLE_EQ(t.energy_scale_, f);
  EXPECT_NEAR(t.add_pj(8), 0.03 * f, 1e-12);
  EXPECT_NEAR(t.add_pj(16), 0.05 * f, 1e-12);
  EXPECT_NEAR(t.add_pj(32), 0.1 * f, 1e-12);
  EXPECT_NEAR(t.mult_pj(8), 0.2 * f, 1e-12);
  EXPECT_NEAR(t.mult_pj(32), 3.1 * f, 1e-12);
  EXPECT_NEAR(t.fp16_mult_pj_, 1.1 * f, 1e-12);
  EXPECT_NEAR(t.sram_read_pj_per_bit(8192), 10.0 / 64 * f, 1e-12);
  EXPECT_NEAR(t.sram_read_pj_per_bit(32768), 20.0 / 64 * f, 1e-12);
  EXPECT_NEAR(t.sram_read_pj_per_bit(1048576), 100.0 / 64 * f, 1e-12);
}

TEST(TechTable, N6ScalingRuleByHand) {
  const TechTable t = load_tech("n6", {});
  // sqrt(0.027 / 0.346) * (0.75 / 0.9)^2 * dynamic_factor.
  const double scale = std::sqrt(0.027 / 0.346) * (0.75 / 0.9) * (0.75 / 0.9) * t.dynamic_factor_;
  EXPECT_NEAR(t.energy_scale_, scale, 1e-12);
  EXPECT_NEAR(t.add_pj(8), 0.03 * scale, 1e-12);
  // Between anchors: log-log, add(12) = 0.03 * (12/8)^(log(0.05/0.03)/log 2).
  const double slope = std::log(0.05 / 0.03) / std::log(2.0);
  EXPECT_NEAR(t.add_pj(12), 0.03 * std::pow(1.5, slope) * scale, 1e-12);
  // Below the lowest anchor the first segment extends: add(2), mult(4).
  EXPECT_NEAR(t.add_pj(2), 0.03 * std::pow(0.25, slope) * scale, 1e-12);
  const double mslope = std::log(3.1 / 0.2) / std::log(4.0);
  EXPECT_NEAR(t.mult_pj(4), 0.2 * std::pow(0.5, mslope) * scale, 1e-12);
  for (int b = 2; b < 32; ++b) {
    EXPECT_LT(t.add_pj(b), t.add_pj(b + 1)) << b;
    EXPECT_LT(t.mult_pj(b), t.mult_pj(b + 1)) << b;
  }
  // SRAM between 32 KiB and 1 MiB: log-log on the second segment.
  const double s2 = std::log(100.0 / 20.0) / std::log(32.0);
  EXPECT_NEAR(t.sram_read_pj_per_bit(131072), 20.0 / 64 * std::pow(4.0, s2) * scale, 1e-12);
  // Area: bitcell / array efficiency; ROM cell / 4 bits.
  EXPECT_NEAR(t.sram_um2_per_bit(), 0.027 / 0.70, 1e-12);
  EXPECT_NEAR(t.rom_um2_per_bit(), t.rom_cell_um2_ / 4.0, 1e-15);
  // The HC1 die average per transistor: 815 mm2 / 53e9.
  EXPECT_NEAR(t.logic_transistor_um2_, 815e6 / 53e9, 1e-5);
}

TEST(TechTable, RomMacByHand) {
  const TechTable t = load_tech("n6", {});
  // 3-bit weight, 16-bit activation, fold 300: one 4-bit cell passes a 20-bit product onto a
  // bitline of 300 cells (300 transistor toggles for each bit that swings: half of them), adds
  // at 16 + 3 + 2 bits, and carries a 7-add / 64-row share of the product bank at 20 bits.
  const double toggle = t.add_pj(8) / (8 * 28);
  EXPECT_DOUBLE_EQ(t.transistor_switch_pj_, toggle);
  const double bit = 300 * toggle * 0.5;
  EXPECT_DOUBLE_EQ(t.rom_bitline_pj_per_bit(300), bit);
  const double e3 = 20 * bit + t.add_pj(21) + 7 * t.add_pj(20) / 64;
  EXPECT_NEAR(t.rom_mac_pj(3, 16, 300), e3, 1e-12);
  // 6 bits: two cells, each adding at 16 + 6 + 2.
  const double e6 = 2 * (20 * bit + t.add_pj(24) + 7 * t.add_pj(20) / 64);
  EXPECT_NEAR(t.rom_mac_pj(6, 16, 300), e6, 1e-12);
  // A mix interpolates linearly between neighbouring widths.
  EXPECT_NEAR(t.rom_mac_pj(3.25, 16, 300),
              0.75 * e3 + 0.25 * t.rom_mac_pj(4, 16, 300), 1e-12);
  // One flop-cycle: 8 clocked transistors plus an equal clock-tree share.
  EXPECT_NEAR(t.flop_clock_pj_, 8 * toggle * 2.0, 1e-15);
  // Longer shared bitlines cost more per bit.
  EXPECT_LT(t.rom_mac_pj(4, 8, 16), t.rom_mac_pj(4, 8, 1024));
}

TEST(TechTable, VddOverrideRescalesEveryEnergy) {
  const TechTable a = load_tech("n6", {});
  const TechTable b = load_tech("n6", {"tech.scaling.vdd=600 mV"});
  const double r = (0.6 / 0.75) * (0.6 / 0.75);
  EXPECT_NEAR(b.add_pj(16) / a.add_pj(16), r, 1e-12);
  EXPECT_NEAR(b.sram_read_pj_per_bit(65536) / a.sram_read_pj_per_bit(65536), r, 1e-12);
  EXPECT_NEAR(b.nonlinear_op_pj_ / a.nonlinear_op_pj_, r, 1e-12);
  EXPECT_EQ(b.values_.source_of("scaling.vdd"), "--set");
}

TEST(TechTable, UnitsConvert) {
  const TechTable t = load_tech("n6", {"tech.reference.int_add_8=30 fJ", "tech.io.area=2000000 um2",
                                       "tech.leakage.logic=20 mW/mm2"});
  EXPECT_NEAR(t.values_.get_real("reference.int_add_8"), 0.03, 1e-12);
  EXPECT_NEAR(t.io_area_mm2_, 2.0, 1e-9);
  EXPECT_NEAR(t.leakage_logic_w_per_mm2_, 0.02, 1e-12);
  EXPECT_THAT(error_of([] { load_tech("n6", {"tech.scaling.vdd=0.8 pJ"}); }),
              HasSubstr("tech.scaling.vdd"));
  EXPECT_THAT(error_of([] { load_tech("n6", {"tech.scaling.vdd=0.8 pJ"}); }),
              HasSubstr("does not measure the same thing"));
}

TEST(TechTable, StrictFiles) {
  EXPECT_THAT(error_of([] {
                load_tech(edited_n6("  leakage:\n    logic:", "  leakage:\n    logik:", "typo"), {});
              }),
              HasSubstr("did you mean 'tech.leakage.logic'?"));
  EXPECT_THAT(
      error_of([] { load_tech(edited_n6("    int_mult_32: 3.1 pJ", "", "missing"), {}); }),
      HasSubstr("missing required key 'tech.reference.int_mult_32'"));
  EXPECT_THAT(error_of([] {
                load_tech(edited_n6("int_add_16: 0.05 pJ", "int_add_16: 0.02 pJ", "order"), {});
              }),
              HasSubstr("tech.reference.int_add_16: must be larger than tech.reference.int_add_8"));
  EXPECT_THAT(error_of([] {
                load_tech(edited_n6("array_efficiency: 0.70", "array_efficiency: 1.5", "range"),
                          {});
              }),
              HasSubstr("out of range"));
  EXPECT_THAT(error_of([] {
                load_tech(edited_n6("    vdd: 0.75 V", "    vdd: 0.75 GHz", "unit"), {});
              }),
              HasSubstr("tech.scaling.vdd"));
  EXPECT_THAT(error_of([] { load_tech("n66", {}); }), HasSubstr("did you mean 'n6'?"));
  EXPECT_THAT(error_of([] { load_tech("/nonexistent/x.yaml", {}); }), HasSubstr("not found"));
  EXPECT_THAT(error_of([] { load_tech("n6", {"tech.nope=1"}); }), HasSubstr("unknown key 'tech.nope'"));
}

TEST(TechTable, EveryShippedNumberIsTagged) {
  // Every value line of a shipped tech file carries a source tag or sits under a comment block
  // that gives one (docs: [V]/[paper]/[D]/[P]/[C] or a named source).
  for (const auto& name : tech_names()) {
    const std::string text =
        read_text(std::filesystem::path(configs_dir()) / "tech" / (name + ".yaml"));
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
