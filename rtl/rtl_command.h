// The `hardwire rtl` command tree (generate, synth), shared by the hardwire CLI
// (cli/cmd_rtl.cpp) and the build-time generator tool (rtl/rtlgen_main.cpp) so both parse the
// same options and produce the same files.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hw::rtl {

// Adds `rtl` with its `generate` and `synth` subcommands to `app`.
void add_rtl_command(CLI::App& app);

// One synthesis result of `hardwire rtl synth` (yosys generic CMOS cells).
struct SynthFigures {
  int weight_bits_ = 0;
  std::string module_;
  int64_t rows_ = 0, cols_ = 0;
  int64_t weight_bits_total_ = 0;  // rows * cols * weight_bits
  int64_t cells_ = 0;
  int64_t transistors_ = 0;        // yosys `stat -tech cmos`
  int64_t flip_flops_ = 0;
  double seconds_ = 0.0;
};

// Runs yosys on `top` (files: the rtl/ cores plus generated wrappers); throws with yosys's
// log tail when it fails.
SynthFigures run_yosys(const std::vector<std::string>& files, const std::string& top,
                       const std::string& work_dir);

// Folder holding the hand-written cores (rtl/*.sv): $HARDWIRE_RTL_DIR, else the source tree's.
std::string core_rtl_dir();
std::vector<std::string> core_rtl_files();

}  // namespace hw::rtl
