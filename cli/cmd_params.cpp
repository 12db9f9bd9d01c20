// `hardwire params [TREE]`: lists every declared configuration parameter (key, unit, default,
// range, description) of the chip, workload, tech and numerics trees, so the keys that files
// and `--set root.key=value` accept are discoverable from the tool itself.
#include <iostream>

#include "chip/chip_config.h"
#include "chip/workload.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/error.h"
#include "common/param_tree.h"
#include "cost/cost_config.h"
#include "cost/gpu_model.h"
#include "model/numerics_profile.h"
#include "power/tech_table.h"

namespace hw::cli {
namespace {

std::string default_text(const ParamSpec& s) {
  if (s.required_) return "(required)";
  if (s.default_.is_string()) return s.default_.get<std::string>();
  return s.default_.dump();
}

void print_schema(const ParamSchema& schema, bool markdown) {
  if (markdown) {
    std::cout << schema.to_markdown() << "\n";
    return;
  }
  Table t({"key", "unit", "default", "description"});
  for (const auto& s : schema.specs()) {
    std::string desc = s.description_;
    if (!s.choices_.empty()) {
      desc += " (one of:";
      for (const auto& c : s.choices_) desc += " " + c;
      desc += ")";
    }
    t.add_row({schema.root() + "." + s.key_, s.unit_, default_text(s), desc});
  }
  t.print(std::cout);
  std::cout << "\n";
}

}  // namespace

void add_params_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("params", "List the declared parameters of the config trees");
  auto tree = std::make_shared<std::string>("all");
  auto markdown = std::make_shared<bool>(false);
  cmd->add_option("tree", *tree, "chip, workload, tech, numerics, gpu, scenario, cost or all")
      ->check(CLI::IsMember(
          {"all", "chip", "workload", "tech", "numerics", "gpu", "scenario", "cost"}));
  cmd->add_flag("--markdown", *markdown, "Print Markdown tables (as in docs/)");
  cmd->callback([tree, markdown]() {
    const std::vector<std::pair<std::string, ParamSchema>> schemas = {
        {"chip", chip_schema()},
        {"workload", workload_schema()},
        {"tech", tech_schema()},
        {"numerics", numerics_schema()},
        {"gpu", gpu_schema()},
        {"scenario", cost_scenario_schema()},
        {"cost", cost_inputs_schema()},
    };
    for (const auto& [name, schema] : schemas) {
      if (*tree == "all" || *tree == name) print_schema(schema, *markdown);
    }
  });
}

}  // namespace hw::cli
