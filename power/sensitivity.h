// Sensitivity of an estimate to the tech parameters that are [choice]s rather than published
// figures: each at its low and high plausible value (the range stated beside it in
// configs/tech/*.yaml), one at a time, with the card power at the requested load, the idle
// power, the die area and the transistor count that follow. `hardwire estimate --sensitivity`
// prints it; docs/calibration.md quotes it for HC1.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "power/estimator.h"
#include "power/tech_table.h"

namespace hw {

// One uncertain parameter: `relative` ranges multiply the tech file's value.
struct SensitivityParam {
  std::string key_;   // "tech.leakage.temperature_c"
  double low_ = 0;
  double high_ = 0;
  bool relative_ = false;
  std::string why_;   // where the range comes from
};

const std::vector<SensitivityParam>& sensitivity_params();

struct SensitivityRow {
  SensitivityParam param_;
  double low_value_ = 0, high_value_ = 0;  // absolute values tried
  Estimate low_, high_;
};

struct SensitivityTable {
  Estimate base_;
  std::vector<SensitivityRow> rows_;
  nlohmann::json to_json() const;
};

// `run(overrides)` re-runs the design point with extra "tech.key=value" overrides; `tech` is the
// resolved base table (for relative ranges).
SensitivityTable sensitivity(const TechTable& tech,
                             const std::function<Estimate(const std::vector<std::string>&)>& run);

}  // namespace hw
