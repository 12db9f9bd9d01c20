// Registration of the `hardwire` subcommands; each lives in cli/cmd_<name>.cpp and adds itself
// to the CLI11 app. Shared option helpers for model / output handling live here too.
#pragma once
#include <CLI/CLI.hpp>

namespace hw::cli {

void add_info_command(CLI::App& app);
void add_ref_command(CLI::App& app);
void add_emulate_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_quality_command(CLI::App& app);
void add_allocate_command(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_characterize_command(CLI::App& app);
void add_estimate_command(CLI::App& app);
void add_params_command(CLI::App& app);
void add_rtl_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_pareto_command(CLI::App& app);
void add_cost_command(CLI::App& app);
void add_report_command(CLI::App& app);

}  // namespace hw::cli
