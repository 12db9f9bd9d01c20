// `hardwire rtl generate | synth`: the hardwired RTL blocks (docs/rtl.md). The command tree
// lives in rtl/rtl_command.cpp so the standalone build tool (hardwire-rtlgen) shares it.
#include "cli/commands.h"
#include "rtl/rtl_command.h"

namespace hw::cli {

void add_rtl_command(CLI::App& app) { hw::rtl::add_rtl_command(app); }

}  // namespace hw::cli
