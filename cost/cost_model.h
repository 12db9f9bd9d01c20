// The cost model: for one usage scenario, what each way of running the model costs over the
// horizon. Options: a hardwired ASIC card (the chip the estimator describes), a local GPU box,
// rented H100/H200 GPUs, and cloud APIs at the cited low/mid/high prices.
//
// Owned and rented hardware is sized from its performance at the scenario's operating point
// (power/estimator.h for the chip, cost/gpu_model.h for GPUs): each unit supplies one
// device-second per second; the workload needs in_rate * s_per_input_token +
// out_rate * s_per_output_token of them while it runs, so units = ceil(that), each unit
// serving the scenario's concurrency (requests in flight per unit). Owned units are bought at
// month 0 and again at the end of their life (for the ASIC also when the owner moves to a new model); energy is
// busy hours at busy power plus the rest of the month at idle power, times PUE. Rented GPUs are
// paid per hour while the workload runs. Costs are split between input and output tokens by
// the device time each takes. Break-even is the first month the option's cumulative cost is at
// or below the reference option's (a cloud API).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chip/chip_config.h"
#include "cost/cost_config.h"
#include "model/model_config.h"
#include "power/cell_model.h"
#include "power/tech_table.h"

namespace hw {

// One unit's performance at a given number of users decoding together.
struct UnitPerf {
  bool fits_ = false;              // the scenario's context fits the unit's KV memory
  int64_t users_ = 0;              // decoding together on the unit
  double tokens_per_s_per_user_ = 0;
  double tokens_per_s_total_ = 0;
  double s_per_input_token_ = 0;   // device-seconds per prompt token
  double s_per_output_token_ = 0;  // device-seconds per generated token
  double busy_power_w_ = 0;
  double idle_power_w_ = 0;
  nlohmann::json detail_;          // the estimator's / GPU model's JSON at this point
};

struct CostComponents {
  double hardware_usd_ = 0;  // purchases (cards, boards, servers, boxes)
  double nre_usd_ = 0;       // masks and design, amortized per card
  double energy_usd_ = 0;
  double rental_usd_ = 0;
  double api_usd_ = 0;
  double total() const;
  // "hardware", "nre", "energy", "rental" or "api": the largest part.
  std::string dominant() const;
  nlohmann::json to_json() const;
};

// Die cost from wafer price, dies per wafer and a negative-binomial yield.
struct DieCost {
  double die_area_mm2_ = 0;
  double dies_per_wafer_ = 0;      // gross candidates
  double yield_ = 0;
  double good_dies_per_wafer_ = 0;
  double die_usd_ = 0;             // per good die
  nlohmann::json to_json() const;
};
// dies per wafer = pi (d/2)^2 / A - pi d / sqrt(2 A) with d the usable diameter;
// yield = (1 + D0 A / alpha)^-alpha. Throws when the die does not fit the wafer.
DieCost die_cost(const AsicCostInputs& in, double die_area_mm2);

struct CostOption {
  std::string id_;       // "asic", "local-gb10", "rented-h100", "api-mid", ...
  std::string label_;
  std::string kind_;     // "asic", "local_gpu", "rented_gpu", "api"
  std::string device_;   // chip or GPU name ("" for APIs)
  int64_t units_ = 0;
  UnitPerf perf_;
  double busy_fraction_ = 0;        // of the active hours, per unit
  double unit_price_usd_ = 0;       // one purchase of one unit (owned options)
  double energy_kwh_per_month_ = 0;
  double monthly_usd_ = 0;          // running cost per month (energy, rent or API)
  CostComponents total_;            // over the horizon
  double usd_per_m_input_ = 0;
  double usd_per_m_output_ = 0;
  std::vector<double> cumulative_usd_;  // [m] = spent by the end of month m; [0] = purchases
  int64_t break_even_month_ = -1;       // vs the reference; -1: not within the horizon
  nlohmann::json details_;

  bool owned() const { return kind_ == "asic" || kind_ == "local_gpu"; }
  bool has_hardware() const { return kind_ != "api"; }
  nlohmann::json to_json() const;
};

struct CostResult {
  CostScenario scenario_;
  CostInputs inputs_;
  std::string model_;
  std::string reference_;
  std::vector<CostOption> options_;
  std::vector<std::string> notes_;  // caveats a reader must see (e.g. API prices of another model)

  const CostOption& option(const std::string& id) const;
  nlohmann::json to_json() const;
};

// The hardwired design: model on chip in tech at these widths.
struct CostDesign {
  ModelConfig model_;
  ChipConfig chip_;
  TechTable tech_;
  double weight_bits_ = 0;
  int kv_bits_ = 0;
  DesignWidths widths_;  // what the fabric is built for (power/cell_model.h)
};

// `gpu_overrides`: "gpu.key=value" strings applied to every GPU description.
CostResult compute_costs(const CostScenario& scenario, const CostInputs& inputs,
                         const CostDesign& design, const std::vector<std::string>& gpu_overrides);

// Units an option needs: perf(concurrency) is one unit's performance with the scenario's
// requests in flight on it; exposed for tests.
int64_t units_needed(const CostScenario& scenario,
                     const std::function<UnitPerf(int64_t)>& perf, UnitPerf* at);

}  // namespace hw
