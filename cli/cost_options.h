// Option handling shared by `hardwire cost` and `hardwire report`: both evaluate one scenario
// against one hardwired design (model on chip in tech), so they resolve it the same way.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "cli/run_options.h"
#include "common/param_tree.h"
#include "cost/cost_config.h"
#include "cost/cost_model.h"
#include "cost/gpu_model.h"
#include "model/model_config.h"
#include "power/cell_model.h"
#include "power/tech_table.h"

namespace hw::cli {

struct CostOptions {
  std::string scenario_ = kDefaultCostScenario;
  std::string cost_ = kDefaultCostInputs;
  std::string model_ = "llama-3.1-8b";
  std::string chip_ = "hc1-like";
  std::string tech_;
  std::string numerics_;
  double weight_bits_ = 0;
  int kv_bits_ = 0;
  std::vector<std::string> sets_;
  bool json_ = false;
  std::string out_;
};

inline void add_cost_options(CLI::App& cmd, CostOptions& o) {
  cmd.add_option("--scenario", o.scenario_,
                 "Cost scenario (configs/cost/scenarios/) or YAML path")
      ->capture_default_str();
  cmd.add_option("--cost", o.cost_, "Cost inputs (configs/cost/) or YAML path")
      ->capture_default_str();
  cmd.add_option("--model", o.model_, "Model preset, config.json or .gguf")->capture_default_str();
  cmd.add_option("--chip", o.chip_, "Hardwired chip (configs/chips/) or YAML path")
      ->capture_default_str();
  add_tech_option(cmd, o.tech_);
  cmd.add_option("--numerics", o.numerics_,
                 std::string("Numerics profile of the chip; default ") + kDefaultNumerics);
  cmd.add_option("--weight-bits", o.weight_bits_, "Mean weight bits of the chip")
      ->check(CLI::Range(0.5, 64.0));
  cmd.add_option("--kv-bits", o.kv_bits_, "KV cache bits of the chip")->check(CLI::Range(1, 64));
  cmd.add_option("--set", o.sets_,
                 "Override root.key=value (roots: scenario, cost, chip, tech, numerics, gpu); "
                 "repeatable");
}

struct ResolvedCost {
  CostScenario scenario_;
  CostInputs inputs_;
  CostDesign design_;
  std::vector<std::string> gpu_sets_;
};

inline ResolvedCost resolve_cost(const CostOptions& o, const std::string& where) {
  check_override_roots(o.sets_, {"scenario", "cost", "chip", "tech", "numerics", "gpu"});
  ResolvedCost r;
  r.scenario_ = load_cost_scenario(o.scenario_, o.sets_);
  r.inputs_ = load_cost_inputs(o.cost_, o.sets_);
  r.design_.model_ = load_model_config(o.model_);
  r.design_.chip_ = load_chip_config(o.chip_, o.sets_);
  r.design_.tech_ = load_tech(o.tech_, o.sets_);
  const Widths w = resolve_widths(r.design_.model_, o.numerics_, o.weight_bits_, o.kv_bits_,
                                  o.sets_, where);
  r.design_.weight_bits_ = w.weight_bits_;
  r.design_.kv_bits_ = w.kv_bits_;
  r.design_.widths_ = resolve_design_widths(r.design_.model_,
                                            static_cast<int>(r.design_.chip_.activation_bits_),
                                            w.profile_ ? &*w.profile_ : nullptr, w.weight_bits_);
  for (const std::string& s : o.sets_) {
    if (s.rfind("gpu.", 0) == 0) r.gpu_sets_.push_back(s);
  }
  return r;
}

// Every tree the comparison used, as written to resolved_config.json beside the results.
inline nlohmann::json resolved_cost_config(const ResolvedCost& r) {
  nlohmann::json j = {{"model", r.design_.model_.name_},
                      {"weight_bits_mean", r.design_.weight_bits_},
                      {"kv_bits", r.design_.kv_bits_}};
  j.update(r.scenario_.to_json());
  j.update(r.inputs_.to_json());
  j.update(r.design_.chip_.to_json());
  j.update(r.design_.tech_.values_.to_json());
  nlohmann::json gpus = nlohmann::json::object();
  std::vector<std::string> names = {r.inputs_.local_gpu_.gpu_};
  for (const RentedGpuCostInputs& g : r.inputs_.rented_) names.push_back(g.gpu_);
  for (const std::string& n : names) gpus[n] = load_gpu_config(n, r.gpu_sets_).to_json();
  j["gpus"] = gpus;
  return j;
}

}  // namespace hw::cli
