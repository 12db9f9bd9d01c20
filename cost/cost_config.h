// Inputs of the cost model, two parameter trees read once and validated like every config:
//   "scenario" (configs/cost/scenarios/<name>.yaml): how much a user runs and for how long.
//   "cost" (configs/cost/<name>.yaml, default "default"): prices, yields, lifetimes, PUE of
//   each option (hardwired ASIC card, local GPU box, rented H100/H200, cloud APIs).
// Every figure in the shipped files is cited beside it (docs/cost.md lists them).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/param_tree.h"

namespace hw {

struct CostScenario {
  std::string name_;
  std::string source_;
  std::string description_;
  double monthly_input_tokens_ = 0;
  double monthly_output_tokens_ = 0;
  int64_t concurrency_ = 1;        // requests in flight on each unit while active
  int64_t prompt_tokens_ = 1;      // per request (context the request brings)
  int64_t output_tokens_ = 1;      // per request
  double hours_per_day_ = 24;      // hours a day the workload runs (tokens spread over them)
  double electricity_usd_per_kwh_ = 0;
  int64_t horizon_months_ = 36;

  double active_hours_per_month() const;
  nlohmann::json to_json() const;
  ParamValues params_;
};

struct AsicCostInputs {
  double wafer_usd_ = 0;
  double wafer_diameter_mm_ = 300;
  double edge_exclusion_mm_ = 3;
  double defect_density_per_cm2_ = 0;
  double yield_alpha_ = 1;
  double packaging_test_usd_ = 0;
  double board_usd_ = 0;
  double server_usd_ = 0;
  int64_t cards_per_server_ = 1;
  double host_power_w_ = 0;        // per card: the host server's share
  double full_mask_set_usd_ = 0;
  int64_t top_masks_per_model_ = 0;
  double mask_usd_ = 0;
  double design_nre_usd_ = 0;
  int64_t models_per_design_ = 1;
  int64_t units_per_model_ = 1;
  double model_turnaround_months_ = 0;
  double margin_ = 0;
  int64_t lifetime_months_ = 36;
  int64_t model_lifetime_months_ = 12;
  double pue_ = 1;
};

struct LocalGpuCostInputs {
  std::string gpu_;                // configs/gpus/<gpu>.yaml
  double price_usd_ = 0;
  int64_t lifetime_months_ = 36;
  double pue_ = 1;
};

struct RentedGpuCostInputs {
  std::string gpu_;
  double usd_per_hour_ = 0;
};

struct ApiPrice {
  std::string id_;                 // "api-low", "api-mid", "api-high"
  double usd_per_m_input_ = 0;
  double usd_per_m_output_ = 0;
};

struct CostInputs {
  std::string name_;
  std::string source_;
  AsicCostInputs asic_;
  LocalGpuCostInputs local_gpu_;
  std::vector<RentedGpuCostInputs> rented_;  // h100, h200
  std::vector<ApiPrice> apis_;               // low, mid, high
  std::string api_model_;                    // the model the API prices are for
  std::string reference_;                    // option the break-even month is measured against

  nlohmann::json to_json() const;
  ParamValues params_;
};

ParamSchema cost_scenario_schema();
ParamSchema cost_inputs_schema();

// The default scenario: the usage profile of public-figures.md.
constexpr const char* kDefaultCostScenario = "agents-local";
constexpr const char* kDefaultCostInputs = "default";

// Shipped name (configs/cost/scenarios/<name>.yaml) or YAML path; "scenario.key=value"
// overrides (others ignored).
CostScenario load_cost_scenario(const std::string& name_or_path,
                                const std::vector<std::string>& overrides);
// Shipped name (configs/cost/<name>.yaml) or YAML path; "cost.key=value" overrides.
CostInputs load_cost_inputs(const std::string& name_or_path,
                            const std::vector<std::string>& overrides);
std::vector<std::string> cost_scenario_names();

}  // namespace hw
