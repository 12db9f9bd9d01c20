// Entry point of the `hardwire` CLI: builds the subcommand tree and turns hw::Error into a
// one-line message and exit code 2 (1 is CLI usage errors, from CLI11).
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"

int main(int argc, char** argv) {
  CLI::App app{"hardwire: simulator and emulator of transformer chips with weights in silicon"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hardwire 0.1.0");
  hw::cli::add_info_command(app);
  hw::cli::add_ref_command(app);
  hw::cli::add_emulate_command(app);
  hw::cli::add_quantize_command(app);
  hw::cli::add_quality_command(app);
  hw::cli::add_allocate_command(app);
  hw::cli::add_estimate_command(app);
  hw::cli::add_params_command(app);
  hw::cli::add_rtl_command(app);
  hw::cli::add_sweep_command(app);
  hw::cli::add_pareto_command(app);
  hw::cli::add_cost_command(app);
  hw::cli::add_report_command(app);
#ifdef HARDWIRE_HAVE_SYSTEMC
  hw::cli::add_simulate_command(app);
  hw::cli::add_characterize_command(app);
#else
  app.add_subcommand("simulate", "SystemC chip model (not built: SystemC was not found)")
      ->allow_extras()
      ->callback([]() {
        throw hw::Error(
            "simulate: this hardwire was built without SystemC, so the chip model is not "
            "available (apt-get install libsystemc-dev, then re-run cmake and rebuild)");
      });
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const hw::Error& e) {
    std::cerr << "hardwire: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
