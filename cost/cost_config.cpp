// Scenario and cost-input trees of the cost model; see cost_config.h.
#include "cost/cost_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "common/error.h"
#include "model/model_config.h"

namespace hw {
namespace fs = std::filesystem;

namespace {

constexpr double kDaysPerMonth = 365.25 / 12.0;

bool looks_like_path(const std::string& s) {
  const fs::path p(s);
  return s.find('/') != std::string::npos || p.extension() == ".yaml" ||
         p.extension() == ".yml";
}

// Finds a shipped file (configs/<dir>/<name>.yaml) or a path; errors list the shipped names.
fs::path find_config(const std::string& name_or_path, const std::string& dir,
                     const std::string& option) {
  if (name_or_path.empty()) {
    throw make_error(option, "empty name", "give a shipped name or a .yaml path");
  }
  std::error_code ec;
  if (looks_like_path(name_or_path)) {
    if (!fs::is_regular_file(name_or_path, ec)) {
      throw make_error(option + " " + name_or_path, "file not found", "check the path");
    }
    return fs::path(name_or_path);
  }
  const fs::path folder = fs::path(configs_dir()) / dir;
  const fs::path p = folder / (name_or_path + ".yaml");
  if (!fs::is_regular_file(p, ec)) {
    const auto names = config_file_stems(folder.string(), ".yaml");
    std::string list;
    for (size_t i = 0; i < names.size(); ++i) list += (i ? ", " : "") + names[i];
    const std::string near = closest_match(name_or_path, names);
    throw make_error(option + " " + name_or_path, "not shipped (" + dir + "/: " + list + ")",
                     near.empty() ? "or give the path of a .yaml file"
                                  : "did you mean '" + near + "'?");
  }
  return p;
}

ParamValues load_tree(const ParamSchema& schema, const fs::path& path,
                      const std::vector<std::string>& overrides) {
  const YAML::Node root = load_yaml_file(path.string());
  check_top_level_keys(root, {schema.root()}, path.string());
  if (!root.IsMap() || !root[schema.root()]) {
    throw make_error(path.string(), "has no top-level '" + schema.root() + ":' block",
                     "see the shipped files in configs/cost/ for the layout");
  }
  return resolve_params(schema, root, path.string(), overrides);
}

}  // namespace

double CostScenario::active_hours_per_month() const { return hours_per_day_ * kDaysPerMonth; }

ParamSchema cost_scenario_schema() {
  ParamSchema s("scenario");
  s.add_string("description", "", "free text");
  s.add_real("monthly_input_tokens", 0, "tokens", "prompt tokens processed per month", 0, 1e18)
      .required();
  s.add_real("monthly_output_tokens", 0, "tokens", "generated tokens per month", 1, 1e18)
      .required();
  s.add_int("concurrency", 1, "",
            "requests in flight on each unit (card, box, GPU) while the workload runs", 1,
            int64_t{1} << 30);
  s.add_int("request.prompt_tokens", 0, "tokens", "prompt (context brought) per request", 1,
            int64_t{1} << 30)
      .required();
  s.add_int("request.output_tokens", 0, "tokens", "generated tokens per request", 1,
            int64_t{1} << 30)
      .required();
  s.add_real("hours_per_day", 24, "h", "hours a day the workload runs", 0.01, 24);
  s.add_real("electricity_price", 0, "USD/kWh", "electricity price", 0, 100).required();
  s.add_int("horizon_months", 36, "", "months the comparison covers", 1, 600);
  return s;
}

ParamSchema cost_inputs_schema() {
  ParamSchema s("cost");
  // Hardwired ASIC card.
  s.add_real("asic.wafer_price", 0, "USD", "processed wafer price at the chip's node", 1, 1e7)
      .required();
  s.add_real("asic.wafer_diameter_mm", 300, "", "wafer diameter in mm", 50, 1000);
  s.add_real("asic.edge_exclusion_mm", 3, "", "unusable rim of the wafer in mm", 0, 50);
  s.add_real("asic.defect_density_per_cm2", 0, "", "random defect density D0 per cm2", 0, 100)
      .required();
  s.add_real("asic.yield_alpha", 0, "",
             "defect clustering of the negative-binomial yield model (large = Poisson)", 0.01,
             1e6)
      .required();
  s.add_real("asic.packaging_test", 0, "USD", "package, assembly and test per die", 0, 1e7)
      .required();
  s.add_real("asic.board", 0, "USD", "PCIe card: board, power delivery, cooler", 0, 1e7)
      .required();
  s.add_real("asic.server", 0, "USD", "host server holding the cards", 0, 1e8).required();
  s.add_int("asic.cards_per_server", 1, "", "cards one host server holds", 1, 1024);
  s.add_real("asic.host_power", 0, "W", "host server power per card (its share)", 0, 1e5)
      .required();
  s.add_real("asic.full_mask_set", 0, "USD", "the first full mask set of the design", 0, 1e10)
      .required();
  s.add_int("asic.top_masks_per_model", 0, "", "top metal/via masks remade per new model", 0,
            200)
      .required();
  s.add_real("asic.mask_price", 0, "USD", "price of one advanced-node mask", 0, 1e8)
      .required();
  s.add_real("asic.design_nre", 0, "USD", "design, verification and bring-up of the chip", 0,
             1e11)
      .required();
  s.add_int("asic.models_per_design", 1, "",
            "models the base design (full mask set + design NRE) is reused for", 1, 100000);
  s.add_int("asic.units_per_model", 1, "", "cards built per hardwired model", 1,
            int64_t{1} << 40);
  s.add_real("asic.model_turnaround_months", 0, "", "months from a new model to its cards", 0,
             120);
  s.add_real("asic.margin", 0, "", "vendor gross margin on cost (0.5 = price 1.5 x cost)", 0,
             100);
  s.add_int("asic.lifetime_months", 36, "", "hardware life of a card", 1, 600);
  s.add_int("asic.model_lifetime_months", 12, "",
            "months before the owner moves to a newer model (new cards)", 1, 600);
  s.add_real("asic.pue", 1.0, "", "power usage effectiveness where the cards run", 1, 5);
  // Local GPU box.
  s.add_string("local_gpu.gpu", "gb10", "GPU description (configs/gpus/) of the local box");
  s.add_real("local_gpu.price", 0, "USD", "price of one box", 0, 1e8).required();
  s.add_int("local_gpu.lifetime_months", 36, "", "hardware life of the box", 1, 600);
  s.add_real("local_gpu.pue", 1.0, "", "power usage effectiveness where it runs", 1, 5);
  // Rented GPUs.
  s.add_string("rented_h100.gpu", "h100", "GPU description of the rented H100");
  s.add_real("rented_h100.price", 0, "USD/h", "on-demand price per GPU hour", 0, 1e5)
      .required();
  s.add_string("rented_h200.gpu", "h200", "GPU description of the rented H200");
  s.add_real("rented_h200.price", 0, "USD/h", "on-demand price per GPU hour", 0, 1e5)
      .required();
  // Cloud APIs.
  for (const char* tier : {"low", "mid", "high"}) {
    const std::string t = tier;
    s.add_real("api_" + t + ".input", 0, "USD/Mtokens", "API price of input tokens (" + t + ")",
               0, 1e6)
        .required();
    s.add_real("api_" + t + ".output", 0, "USD/Mtokens",
               "API price of output tokens (" + t + ")", 0, 1e6)
        .required();
  }
  s.add_string("api_model", "llama-3.1-8b", "model the API prices are quoted for");
  s.add_string("break_even_against", "api-mid", "option the break-even month is measured against",
               {"api-low", "api-mid", "api-high"});
  return s;
}

nlohmann::json CostScenario::to_json() const {
  nlohmann::json j = params_.to_json();
  return {{"scenario", j.value("scenario", nlohmann::json::object())},
          {"scenario_units", j.value("units", nlohmann::json::object())},
          {"scenario_source", source_}};
}

nlohmann::json CostInputs::to_json() const {
  nlohmann::json j = params_.to_json();
  return {{"cost", j.value("cost", nlohmann::json::object())},
          {"cost_units", j.value("units", nlohmann::json::object())},
          {"cost_source", source_}};
}

std::vector<std::string> cost_scenario_names() {
  return config_file_stems((fs::path(configs_dir()) / "cost" / "scenarios").string(), ".yaml");
}

CostScenario load_cost_scenario(const std::string& name_or_path,
                                const std::vector<std::string>& overrides) {
  const fs::path path = find_config(name_or_path, "cost/scenarios", "--scenario");
  CostScenario c;
  c.params_ = load_tree(cost_scenario_schema(), path, overrides);
  const ParamValues& v = c.params_;
  c.name_ = path.stem().string();
  c.source_ = path.string();
  c.description_ = v.get_string("description");
  c.monthly_input_tokens_ = v.get_real("monthly_input_tokens");
  c.monthly_output_tokens_ = v.get_real("monthly_output_tokens");
  c.concurrency_ = v.get_int("concurrency");
  c.prompt_tokens_ = v.get_int("request.prompt_tokens");
  c.output_tokens_ = v.get_int("request.output_tokens");
  c.hours_per_day_ = v.get_real("hours_per_day");
  c.electricity_usd_per_kwh_ = v.get_real("electricity_price");
  c.horizon_months_ = v.get_int("horizon_months");
  return c;
}

CostInputs load_cost_inputs(const std::string& name_or_path,
                            const std::vector<std::string>& overrides) {
  const fs::path path = find_config(name_or_path, "cost", "--cost");
  CostInputs c;
  c.params_ = load_tree(cost_inputs_schema(), path, overrides);
  const ParamValues& v = c.params_;
  c.name_ = path.stem().string();
  c.source_ = path.string();
  AsicCostInputs& a = c.asic_;
  a.wafer_usd_ = v.get_real("asic.wafer_price");
  a.wafer_diameter_mm_ = v.get_real("asic.wafer_diameter_mm");
  a.edge_exclusion_mm_ = v.get_real("asic.edge_exclusion_mm");
  a.defect_density_per_cm2_ = v.get_real("asic.defect_density_per_cm2");
  a.yield_alpha_ = v.get_real("asic.yield_alpha");
  a.packaging_test_usd_ = v.get_real("asic.packaging_test");
  a.board_usd_ = v.get_real("asic.board");
  a.server_usd_ = v.get_real("asic.server");
  a.cards_per_server_ = v.get_int("asic.cards_per_server");
  a.host_power_w_ = v.get_real("asic.host_power");
  a.full_mask_set_usd_ = v.get_real("asic.full_mask_set");
  a.top_masks_per_model_ = v.get_int("asic.top_masks_per_model");
  a.mask_usd_ = v.get_real("asic.mask_price");
  a.design_nre_usd_ = v.get_real("asic.design_nre");
  a.models_per_design_ = v.get_int("asic.models_per_design");
  a.units_per_model_ = v.get_int("asic.units_per_model");
  a.model_turnaround_months_ = v.get_real("asic.model_turnaround_months");
  a.margin_ = v.get_real("asic.margin");
  a.lifetime_months_ = v.get_int("asic.lifetime_months");
  a.model_lifetime_months_ = v.get_int("asic.model_lifetime_months");
  a.pue_ = v.get_real("asic.pue");
  c.local_gpu_.gpu_ = v.get_string("local_gpu.gpu");
  c.local_gpu_.price_usd_ = v.get_real("local_gpu.price");
  c.local_gpu_.lifetime_months_ = v.get_int("local_gpu.lifetime_months");
  c.local_gpu_.pue_ = v.get_real("local_gpu.pue");
  c.rented_ = {{v.get_string("rented_h100.gpu"), v.get_real("rented_h100.price")},
               {v.get_string("rented_h200.gpu"), v.get_real("rented_h200.price")}};
  for (const char* tier : {"low", "mid", "high"}) {
    const std::string t = tier;
    c.apis_.push_back({"api-" + t, v.get_real("api_" + t + ".input"),
                       v.get_real("api_" + t + ".output")});
  }
  c.reference_ = v.get_string("break_even_against");
  c.api_model_ = v.get_string("api_model");
  return c;
}

}  // namespace hw
