// hardwire-rtlgen: the `hardwire rtl` command tree (generate, synth) as a standalone tool, so the
// build and CI can regenerate rtl/gen/ without the full CLI (same options, same output).
#include <iostream>

#include "common/error.h"
#include "rtl/rtl_command.h"

int main(int argc, char** argv) {
  CLI::App app{"hardwire-rtlgen: generate or synthesize the hardwired RTL blocks (docs/rtl.md)"};
  app.require_subcommand(1);
  hw::rtl::add_rtl_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const hw::Error& e) {
    std::cerr << "hardwire-rtlgen: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
