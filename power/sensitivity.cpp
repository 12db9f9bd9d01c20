// The sensitivity table; see sensitivity.h. The ranges are the ones stated beside each [choice]
// in configs/tech/*.yaml.
#include "power/sensitivity.h"

#include <cstdio>

namespace hw {

const std::vector<SensitivityParam>& sensitivity_params() {
  static const std::vector<SensitivityParam> kParams = {
      {"tech.leakage.logic_na_per_transistor", 0.3, 3.0, true,
       "HVT-heavy to LVT-heavy device mix"},
      {"tech.leakage.temperature_c", 45, 95, false, "cool card to hot junction"},
      {"tech.leakage.rom_na_per_cell", 0.1, 10.0, true, "ROM pass devices off / as logic"},
      {"tech.leakage.sram_pa_per_bit", 0.5, 5.0, true, "published low-leak macros 10-100 pA/bit"},
      {"tech.scaling.vdd", 0.93, 1.07, true, "nominal supply +-7%"},
      {"tech.wires.cap_ff_per_um", 0.15, 0.3, false, "ITRS 0.15-0.25 fF/um, dense routing higher"},
      {"tech.wires.routing_overhead", 0.05, 0.3, false, "dense datapath to congested"},
      {"tech.logic.placement_utilization", 0.6, 0.8, false, "typical 60-80%"},
      {"tech.logic.control_fraction", 0.05, 0.3, false, "regular fabric to CPU-like control"},
      {"tech.logic.flop_data_activity", 0.1, 0.5, false, "quiet to random data"},
      {"tech.rom.line_layers", 1, 3, false, "product lines on 1 to 3 metal layers (BitROM: 3)"},
      {"tech.rom.array_efficiency", 0.7, 0.95, false, "ROM periphery 30% to 5%"},
      {"tech.rom.bitline_activity", 0.25, 0.75, false, "correlated to anti-correlated data"},
      {"tech.rom.columns_per_product_bank", 64, 1024, false, "product bank fan-out"},
      {"tech.clock.spine_leaf_pitch_um", 25, 100, false, "spine leaves every 25-100 um"},
      {"tech.clock.local_overhead", 0.25, 1.0, false, "local clock wiring and gaters"},
      {"tech.board.vrm_efficiency", 0.85, 0.92, false, "point-of-load regulators at load"},
      {"tech.board.overhead_power", 0, 15, false, "bare card to fans and management"},
      {"tech.io.host_phy_power", 2, 10, false, "PCIe Gen4 x16 PHY and controller"},
  };
  return kParams;
}

SensitivityTable sensitivity(const TechTable& tech,
                             const std::function<Estimate(const std::vector<std::string>&)>& run) {
  SensitivityTable table;
  table.base_ = run({});
  for (const SensitivityParam& p : sensitivity_params()) {
    const std::string key = p.key_.substr(5);  // below "tech."
    const double base = tech.values_.get_real(key);
    SensitivityRow row;
    row.param_ = p;
    row.low_value_ = p.relative_ ? base * p.low_ : p.low_;
    row.high_value_ = p.relative_ ? base * p.high_ : p.high_;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", row.low_value_);
    row.low_ = run({p.key_ + "=" + buf});
    std::snprintf(buf, sizeof buf, "%.17g", row.high_value_);
    row.high_ = run({p.key_ + "=" + buf});
    table.rows_.push_back(std::move(row));
  }
  return table;
}

nlohmann::json SensitivityTable::to_json() const {
  auto figures = [](const Estimate& e) {
    return nlohmann::json{{"power_w", e.point_.power_w_},
                          {"power_idle_w", e.power_idle_w_},
                          {"die_area_mm2", e.area_.largest_die_mm2_},
                          {"transistors", e.area_.transistors_}};
  };
  nlohmann::json rows = nlohmann::json::array();
  for (const SensitivityRow& r : rows_) {
    rows.push_back({{"key", r.param_.key_},
                    {"low_value", r.low_value_},
                    {"high_value", r.high_value_},
                    {"why", r.param_.why_},
                    {"low", figures(r.low_)},
                    {"high", figures(r.high_)}});
  }
  return {{"base", figures(base_)}, {"parameters", rows}};
}

}  // namespace hw
