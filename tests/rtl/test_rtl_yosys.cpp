// yosys 0.23 accepts every RTL block (the Verilator tests show Verilator does): each generated
// top of tiny-mha's layer 0 elaborates with its cores (`hierarchy -check`), so does the
// attention unit, and `rtl synth` turns a small generated weight fabric into a CMOS netlist with
// a positive transistor count.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "rtl/rtl_command.h"

namespace hw::rtltest {
namespace {

bool have_yosys() { return std::system("yosys -V > /dev/null 2>&1") == 0; }

const std::string kRtl = std::string(HARDWIRE_SOURCE_DIR_STR) + "/rtl/";

TEST(RtlYosys, EveryGeneratedTopElaborates) {
  if (!have_yosys()) GTEST_SKIP() << "yosys not installed (apt-get install yosys)";
  const std::string gen = kRtl + "gen/tiny-mha-w4a8-l0/";
  const std::string work = (std::filesystem::temp_directory_path() / "hardwire-yosys-accept").string();
  std::filesystem::create_directories(work);
  for (const char* top : {"hw_l0_attn_norm", "hw_l0_ffn_norm", "hw_l0_rope", "hw_l0_attention",
                          "hw_l0_activation", "hw_mv_l0_attn_q_r0_63"}) {
    const std::string script = work + "/" + top + ".ys";
    {
      std::ofstream s(script);
      s << "read_verilog -sv -defer -I" << kRtl;
      for (const char* f : {"requant.sv", "matvec_core.sv", "quantize.sv", "rms_norm.sv", "rope.sv",
                            "softmax.sv", "attention.sv", "kv_sram.sv", "activation.sv"}) {
        s << " " << kRtl << f;
      }
      s << " " << gen << top << ".sv\nhierarchy -check -top " << top << "\n";
    }
    const std::string cmd = "yosys -q -s " + script + " > " + work + "/" + top + ".log 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << top << ": see " << work << "/" << top << ".log";
  }
}

// The attention unit (KV write path, KV SRAM banks, engine) at small parameters: its loops
// unroll per head, position and lane, so the co-simulated sizes take minutes in yosys.
TEST(RtlYosys, AttentionUnitElaborates) {
  if (!have_yosys()) GTEST_SKIP() << "yosys not installed (apt-get install yosys)";
  const std::string work =
      (std::filesystem::temp_directory_path() / "hardwire-yosys-attention-unit").string();
  std::filesystem::create_directories(work);
  {
    std::ofstream s(work + "/hw_t.sv");
    s << "module hw_t (input logic clk, input logic rst);\n"
         "  hw_attention_unit #(.H(2), .HKV(1), .HD(4), .LANES(4), .B(4), .ROWS(4), .MAXK(4),\n"
         "                      .MACS(16), .EXPS(4)) u (.clk(clk), .rst(rst));\n"
         "endmodule\n";
  }
  {
    std::ofstream s(work + "/hw_t.ys");
    s << "read_verilog -sv -defer -I" << kRtl << " " << kRtl << "kv_sram.sv " << kRtl
      << "attention_unit.sv " << work << "/hw_t.sv\nhierarchy -check -top hw_t\n";
  }
  const std::string cmd = "yosys -q -s " + work + "/hw_t.ys > " + work + "/hw_t.log 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "see " << work << "/hw_t.log";
}

TEST(RtlYosys, SynthesizesAGeneratedFabric) {
  if (!have_yosys()) GTEST_SKIP() << "yosys not installed (apt-get install yosys)";
  // A 2-row, 2-bit fabric of 16 lanes, one chunk: small enough for seconds of yosys.
  const std::string work = (std::filesystem::temp_directory_path() / "hardwire-yosys-synth").string();
  std::filesystem::create_directories(work);
  const std::string sv = work + "/hw_t.sv";
  {
    std::ofstream s(sv);
    s << "module hw_t (input logic [0:0] rom_chunk, input logic [127:0] in_data,\n"
         "             output logic [63:0] psum);\n"
         "  hw_matvec_fabric #(.R(2), .LI(16), .B(2), .FABRIC(0)) u (\n"
         "      .codes(64'h5151_1445_0514_4150), .x(in_data), .psum(psum));\n"
         "endmodule\n";
  }
  const rtl::SynthFigures f = rtl::run_yosys({kRtl + "matvec_core.sv", sv}, "hw_t", work);
  EXPECT_GT(f.cells_, 0);
  EXPECT_GT(f.transistors_, 2 * f.cells_);  // every cmos2 cell has at least 2 transistors
  EXPECT_EQ(f.flip_flops_, 0);              // the fabric is combinational
}

}  // namespace
}  // namespace hw::rtltest
