// Held-out checks: predictions of the tech components compared with published figures that no
// parameter was chosen from (docs/calibration.md section 4). Each tolerance is stated beside its
// check and comes from the source's own spread or from the stated uncertainty of the inputs the
// prediction uses; the printed errors are quoted in the docs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "power/cell_model.h"
#include "power/tech_table.h"

namespace hw {
namespace {

TEST(HeldOut, FoundryIsoSpeedPowerClaims) {
  // TSMC full-node claims of power at the same speed: N5 vs N7 "30% lower" (thefpsreview,
  // 2020-04-19) and "20% lower" (dvhardware, 2018-05-02); N3 vs N5 "25-30% lower" (funkykit,
  // WikiChip Fuse). The rule (logic energy ~ sqrt(1 / density), same supply) uses only the
  // density claims. Tolerance: the 20-30% spread of the claims, +-3 points for their rounding.
  const double n7 = load_tech("n7", {}).add_pj(8);
  const double n5 = load_tech("n5", {}).add_pj(8);
  const double n3 = load_tech("n3", {}).add_pj(8);
  const double cut_5 = 1.0 - n5 / n7;
  const double cut_3 = 1.0 - n3 / n5;
  std::printf("iso-speed power cut: N7->N5 %.1f%% (claims 20-30%%), N5->N3 %.1f%% (claims 25-30%%)\n",
              100 * cut_5, 100 * cut_3);
  EXPECT_GT(cut_5, 0.17);
  EXPECT_LT(cut_5, 0.33);
  EXPECT_GT(cut_3, 0.17);
  EXPECT_LT(cut_3, 0.33);
}

TEST(HeldOut, StillmakerBaasAgainstTsmc16To7Claim) {
  // The logic energy of n7 rests on Stillmaker & Baas's 7 nm fit; their 16 nm to 7 nm step
  // against TSMC's N16 -> N7 claim at IEDM 2016: "a 65 percent reduction in power at the
  // transistor level" at the same speed (as reported in
  // eightforums.com/windows-8-news/76431-chipmakers-announce-7nm-technology.html [3P]). Supplies
  // are not stated: N16 at its nominal 0.8 V [choice] and N7 at the n7 table's 0.75 V. Tolerance
  // 15 points: the claim is for transistors (no wires, which scale less), the fit for circuits,
  // and the supplies are assumed (at one supply the fit gives 46%).
  const TechTable n7 = load_tech("n7", {});
  const double cut = 1.0 - stillmaker_energy("HP7", n7.vdd_v_, "n7") /
                               stillmaker_energy("HP16", 0.8, "N16");
  std::printf("N16 -> N7 power cut at iso-speed: Stillmaker & Baas %.0f%% vs TSMC 65%%\n",
              100 * cut);
  EXPECT_NEAR(cut, 0.65, 0.15);
}

TEST(HeldOut, BitRomDensityAtItsOwnOrganisation) {
  // BitROM (arXiv 2509.08542, 65 nm): two ternary weights per transistor, each cell under three
  // signal lines on metal layers M1, M2 and M3 (stacked), 4,967 kB/mm2. The model's ROM cell
  // rule on n65 with that organisation: ceil(3 lines / 3 layers) + 1 wordline track = 2 tracks
  // x metal pitch x contacted poly pitch / array efficiency, two weights per cell. Bits per
  // ternary weight: log2(3) = 1.58 (the paper does not say how it counts; 2 bits would read
  // 26% higher). Tolerance 35%: the 65 nm pitches are approximate (+-20%) and the counting 26%.
  const TechTable t = load_tech("n65", {"tech.rom.line_layers=3"});
  const double cell_um2 = t.rom_cell_um2_for_lines(3);
  const double bits_per_mm2 = 2 * std::log2(3.0) / cell_um2 * 1e6;
  const double kb_per_mm2 = bits_per_mm2 / 8 / 1024;
  std::printf("BitROM density: model %.0f kB/mm2 vs published 4967 kB/mm2 (%+.0f%%)\n",
              kb_per_mm2, 100 * (kb_per_mm2 / 4967 - 1));
  EXPECT_NEAR(kb_per_mm2 / 4967, 1.0, 0.35);
}

TEST(HeldOut, BitRomEnergyFloor) {
  // BitROM: 20.8 TOPS/W = 0.0962 pJ per MAC (2 ops per MAC) for ternary weights and 8-bit
  // activations at 65 nm. The cell model at that precision (a 2-bit digit, 8-bit activation,
  // bit-serial) in its most favourable organisation (one cell per tree input: no shared node)
  // gives the fabric's energy floor. BitROM adds ternary-specific accumulation and skips zero
  // weights, which the model does not: the floor may exceed the measurement, but by less than
  // 3x if the per-bit components are right (tolerance: a factor 3, the ratio of a dense add to a
  // ternary add-or-skip at ~1/3 zero weights, 1.5x, times the 65 nm scaling's uncertainty, 2x).
  const TechTable t = load_tech("n65", {});
  const double w = 1024.0 * 2048.0;
  const BlockFabric f = block_fabric(w, WidthMix::from_mean(2), 8, 10, 0, 0, t, w);
  const double mac_pj = f.data_pj_per_weight_ + f.clock_pj_per_weight_;
  const double published = 1.0 / 20.8e12 * 2 * 1e12;
  std::printf("BitROM energy: model floor %.4f pJ/MAC vs published %.4f pJ/MAC (x%.2f)\n",
              mac_pj, published, mac_pj / published);
  EXPECT_GT(mac_pj, published / 3);
  EXPECT_LT(mac_pj, published * 3);
}

TEST(HeldOut, Tsmc7nmSramTestChip) {
  // TSMC's N7 256 Mbit SRAM test chip (Chang et al., ISSCC 2017, 0.027 um2 cell) is a 42.64 mm2
  // die (WikiChip 7 nm page). The model's macro area for 256 Mbit (bitcell / 0.70 array
  // efficiency) must lie between the bare bitcells and that die (which adds pads, test and
  // repair circuits): a bound, the only N7 macro figure in the sources found.
  const TechTable t = load_tech("n7", {});
  const double bits = 256.0 * 1048576;
  const double macro_mm2 = bits * t.sram_um2_per_bit() * 1e-6;
  std::printf("N7 256 Mbit SRAM: model macro %.1f mm2, bitcells %.1f mm2, test die 42.64 mm2\n",
              macro_mm2, bits * 0.027e-6);
  EXPECT_GT(macro_mm2, bits * 0.027e-6);
  EXPECT_LT(macro_mm2, 42.64);
}

TEST(HeldOut, SramMacroDensityN7Class) {
  // Intel 10 nm (the foundry-7 nm class: WikiChip, "7 nm lithography process"), Z. Guo et al.,
  // "A 23.6Mb/mm2 SRAM in 10nm FinFET technology with pulsed PMOS TVC and stepped-WL for
  // low-voltage applications", ISSCC 2018: a macro density of 23.6 Mb/mm2 (title) built from
  // the 0.0312 um2 HDC bitcell (Intel, 2017 Manufacturing Day; anandtech forum thread "Intel to
  // switch to HD SRAM cells at 10nm"). The model's macro density is bitcell / array efficiency
  // (sram.array_efficiency 0.70, derived from N3E's 31.8 Mib/mm2 estimate, another node and
  // another foundry), here with Intel's bitcell. Mb read as 2^20 bits (as in "256Mb" test
  // chips). Tolerance 15%: the array efficiency is one [choice] for every node and macro size,
  // while published macros differ in bank size and assist circuits (the Mb unit alone is
  // ambiguous by 5%).
  const TechTable t = load_tech("n7", {"tech.scaling.sram_bitcell_area=0.0312um2"});
  const double mib_per_mm2 = 1e6 / t.sram_um2_per_bit() / 1048576.0;
  std::printf("Intel 10 nm SRAM macro: model %.1f Mb/mm2 vs published 23.6 Mb/mm2 (%+.0f%%)\n",
              mib_per_mm2, 100 * (mib_per_mm2 / 23.6 - 1));
  EXPECT_NEAR(mib_per_mm2 / 23.6, 1.0, 0.15);
}

TEST(HeldOut, SramMacroDensityN3) {
  // TSMC at ISSCC 2025 (session 29, SRAM: the N2 HD SRAM paper, from a public live report of
  // the session, threadreaderapp.com/scrolly/1892246045385515266 [3P]): N2 HD SRAM 38 Mb/mm2,
  // "12% gain over N3"
  // -> N3 33.9 Mb/mm2. The n3 table (N3E bitcell 0.021 um2 / 0.70) predicts it; the 0.70 came
  // from WikiChip's N3E estimate "assuming iso-assist overhead" from N5, not from this
  // measurement. Tolerance 10%: the two rounded figures (38, 12%) and the Mb unit (5%).
  const TechTable t = load_tech("n3", {});
  const double mib_per_mm2 = 1e6 / t.sram_um2_per_bit() / 1048576.0;
  const double published = 38.0 / 1.12;
  std::printf("TSMC N3 HD SRAM macro: model %.1f Mb/mm2 vs published %.1f Mb/mm2 (%+.0f%%)\n",
              mib_per_mm2, published, 100 * (mib_per_mm2 / published - 1));
  EXPECT_NEAR(mib_per_mm2 / published, 1.0, 0.10);
}

TEST(HeldOut, EyerissAreaAndPower) {
  // Eyeriss (Chen et al., JSSC 2017; ISSCC 2016): 65 nm, core 3.5 x 3.5 = 12.25 mm2, 1,852k
  // NAND2-equivalent gates, 181.5 kB of SRAM (108 kB global buffer + the PEs' scratch pads),
  // 168 PEs of 16-bit MACs, 200 MHz, 1 V, 278 mW on AlexNet's convolutions at 34.7 frames/s
  // (666M MACs per frame). Predicted from the n65 components only:
  // - area: 4 transistors per NAND2 gate at n65 logic density and placement utilization, SRAM
  //   at bitcell / array efficiency, plus the wiring overhead;
  // - power: per MAC a 16-bit multiply and add plus four 16-bit scratch-pad accesses (filter
  //   read from 448 B, ifmap read from 24 B, psum read and write in 48 B), the PEs' register
  //   flops (ifmap and psum pads, 36 x 16 bits per PE) clocked every cycle, the clock spine over
  //   the core, and leakage at 25 C (a bench measurement). The global buffer, NoC and DRAM
  //   interface are not counted (the model has no activity for them).
  // Tolerance 50%: the 65 nm density is derived by classical scaling, and the uncounted blocks.
  const TechTable t = load_tech("n65", {"tech.leakage.temperature_c=25"});
  const double logic_t = 1852e3 * 4;
  const double sram_bits = 181.5 * 1024 * 8;
  const double placed = logic_t * t.logic_um2_per_transistor() * 1e-6 +
                        sram_bits * t.sram_um2_per_bit() * 1e-6;
  const double area = placed * (1 + t.routing_overhead_);
  const double macs_per_s = 666e6 * 34.7;
  const double access = 16 * (t.sram_read_pj_per_bit(448) + t.sram_read_pj_per_bit(24) +
                              t.sram_read_pj_per_bit(48) + t.sram_write_pj_per_bit(48));
  const double mac_pj = t.mult_pj(16) + t.add_pj(16) + access;
  const double flops = 168.0 * 36 * 16;
  const double clock_hz = 200e6;
  const double spine_ff = 1.5 * 12.25e6 / t.clock_spine_leaf_pitch_um_ * t.wire_cap_ff_per_um_ *
                          (1 + t.clock_spine_buffer_overhead_);
  const double power = mac_pj * 1e-12 * macs_per_s + flops * t.flop_clock_pj_ * 1e-12 * clock_hz +
                       t.switch_pj(spine_ff) * 1e-12 * clock_hz +
                       logic_t * t.leakage_logic_w_per_transistor_ +
                       sram_bits * t.leakage_sram_w_per_bit_;
  std::printf("Eyeriss: model %.1f mm2 vs 12.25 mm2 (%+.0f%%); %.0f mW vs 278 mW (%+.0f%%)\n",
              area, 100 * (area / 12.25 - 1), power * 1e3, 100 * (power / 0.278 - 1));
  EXPECT_NEAR(area / 12.25, 1.0, 0.5);
  EXPECT_NEAR(power / 0.278, 1.0, 0.5);
}

}  // namespace
}  // namespace hw
