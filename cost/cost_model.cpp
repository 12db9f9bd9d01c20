// The cost model; see cost_model.h for what each option's cost is made of.
#include "cost/cost_model.h"

#include <algorithm>
#include <cmath>

#include "chip/mapping.h"
#include "common/error.h"
#include "cost/gpu_model.h"
#include "power/estimator.h"

namespace hw {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kHoursPerMonth = 365.25 * 24.0 / 12.0;

}  // namespace

double CostComponents::total() const {
  return hardware_usd_ + nre_usd_ + energy_usd_ + rental_usd_ + api_usd_;
}

std::string CostComponents::dominant() const {
  const std::pair<const char*, double> parts[] = {{"hardware", hardware_usd_},
                                                  {"nre", nre_usd_},
                                                  {"energy", energy_usd_},
                                                  {"rental", rental_usd_},
                                                  {"api", api_usd_}};
  const auto* best = std::max_element(std::begin(parts), std::end(parts),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
  return best->first;
}

nlohmann::json CostComponents::to_json() const {
  return {{"hardware_usd", hardware_usd_}, {"nre_usd", nre_usd_},
          {"energy_usd", energy_usd_},     {"rental_usd", rental_usd_},
          {"api_usd", api_usd_},           {"total_usd", total()},
          {"dominant", dominant()}};
}

nlohmann::json DieCost::to_json() const {
  return {{"die_area_mm2", die_area_mm2_},
          {"dies_per_wafer", dies_per_wafer_},
          {"yield", yield_},
          {"good_dies_per_wafer", good_dies_per_wafer_},
          {"die_usd", die_usd_}};
}

DieCost die_cost(const AsicCostInputs& in, double die_area_mm2) {
  DieCost d;
  d.die_area_mm2_ = die_area_mm2;
  const double dia = in.wafer_diameter_mm_ - 2.0 * in.edge_exclusion_mm_;
  if (!(die_area_mm2 > 0) || dia <= 0) {
    throw make_error("cost.asic", "die area and usable wafer diameter must be positive");
  }
  d.dies_per_wafer_ = std::floor(kPi * dia * dia / 4.0 / die_area_mm2 -
                                 kPi * dia / std::sqrt(2.0 * die_area_mm2));
  if (d.dies_per_wafer_ < 1) {
    throw make_error("cost.asic", "a " + std::to_string(int64_t(die_area_mm2)) +
                                      " mm2 die does not fit the wafer",
                     "use more dies (chip.dies) or a larger wafer");
  }
  const double defects = in.defect_density_per_cm2_ * die_area_mm2 / 100.0;
  d.yield_ = std::pow(1.0 + defects / in.yield_alpha_, -in.yield_alpha_);
  d.good_dies_per_wafer_ = d.dies_per_wafer_ * d.yield_;
  d.die_usd_ = in.wafer_usd_ / d.good_dies_per_wafer_;
  return d;
}

int64_t units_needed(const CostScenario& sc, const std::function<UnitPerf(int64_t)>& perf,
                     UnitPerf* at) {
  const double active_s = sc.active_hours_per_month() * 3600.0;
  const UnitPerf p = perf(sc.concurrency_);
  if (!p.fits_) {
    throw make_error("scenario", "a request of " +
                                     std::to_string(sc.prompt_tokens_ + sc.output_tokens_) +
                                     " tokens of context does not fit one unit's KV memory",
                     "shorten scenario.request.* or use a chip with more KV memory");
  }
  const double load = (sc.monthly_input_tokens_ * p.s_per_input_token_ +
                       sc.monthly_output_tokens_ * p.s_per_output_token_) /
                      active_s;
  *at = p;
  return std::max<int64_t>(1, int64_t(std::ceil(load - 1e-9)));
}

namespace {

// Running cost and schedule of an owned or rented option once its perf and units are known.
void fill_owned(CostOption& o, const CostScenario& sc, double unit_hw_usd, double unit_nre_usd,
                int64_t replace_months, double pue) {
  const double active_s = sc.active_hours_per_month() * 3600.0;
  const double load = (sc.monthly_input_tokens_ * o.perf_.s_per_input_token_ +
                       sc.monthly_output_tokens_ * o.perf_.s_per_output_token_) /
                      active_s;
  o.busy_fraction_ = load / double(o.units_);
  const double busy_h = o.busy_fraction_ * sc.active_hours_per_month();
  const double idle_h = kHoursPerMonth - busy_h;
  o.energy_kwh_per_month_ = double(o.units_) *
                            (o.perf_.busy_power_w_ * busy_h + o.perf_.idle_power_w_ * idle_h) *
                            pue / 1000.0;
  o.monthly_usd_ = o.energy_kwh_per_month_ * sc.electricity_usd_per_kwh_;
  o.unit_price_usd_ = unit_hw_usd + unit_nre_usd;
  const int64_t H = sc.horizon_months_;
  o.cumulative_usd_.assign(size_t(H + 1), 0.0);
  double spent = 0;
  for (int64_t m = 0; m <= H; ++m) {
    if (m > 0) {
      spent += o.monthly_usd_;
      o.total_.energy_usd_ += o.monthly_usd_;
    }
    if (m < H && m % replace_months == 0) {
      spent += double(o.units_) * o.unit_price_usd_;
      o.total_.hardware_usd_ += double(o.units_) * unit_hw_usd;
      o.total_.nre_usd_ += double(o.units_) * unit_nre_usd;
    }
    o.cumulative_usd_[size_t(m)] = spent;
  }
}

void fill_rented(CostOption& o, const CostScenario& sc, double usd_per_hour) {
  const double active_s = sc.active_hours_per_month() * 3600.0;
  const double load = (sc.monthly_input_tokens_ * o.perf_.s_per_input_token_ +
                       sc.monthly_output_tokens_ * o.perf_.s_per_output_token_) /
                      active_s;
  o.busy_fraction_ = load / double(o.units_);
  o.monthly_usd_ = double(o.units_) * usd_per_hour * sc.active_hours_per_month();
  o.unit_price_usd_ = 0;
  const int64_t H = sc.horizon_months_;
  o.cumulative_usd_.assign(size_t(H + 1), 0.0);
  for (int64_t m = 1; m <= H; ++m) o.cumulative_usd_[size_t(m)] = double(m) * o.monthly_usd_;
  o.total_.rental_usd_ = double(H) * o.monthly_usd_;
}

// $/M input and output: the horizon total split by device time (input: prefill, output:
// decode); APIs set theirs from the price list.
void split_per_token(CostOption& o, const CostScenario& sc) {
  const double H = double(sc.horizon_months_);
  const double t_in = sc.monthly_input_tokens_ * o.perf_.s_per_input_token_;
  const double t_out = sc.monthly_output_tokens_ * o.perf_.s_per_output_token_;
  const double share_in = t_in + t_out > 0 ? t_in / (t_in + t_out) : 0.0;
  const double total = o.total_.total();
  const double m_in = sc.monthly_input_tokens_ * H / 1e6;
  const double m_out = sc.monthly_output_tokens_ * H / 1e6;
  o.usd_per_m_input_ = m_in > 0 ? total * share_in / m_in : 0.0;
  o.usd_per_m_output_ = m_out > 0 ? total * (1.0 - share_in) / m_out : 0.0;
}

UnitPerf gpu_perf(const ModelConfig& model, const GpuConfig& gpu, const CostScenario& sc,
                  int64_t users) {
  WorkloadPoint pt;
  pt.users_ = users;
  pt.prompt_tokens_ = double(sc.prompt_tokens_);
  pt.output_tokens_ = double(sc.output_tokens_);
  pt.max_context_tokens_ = sc.prompt_tokens_ + sc.output_tokens_ - 1;
  const GpuEstimate e = gpu_estimate(model, gpu, pt);
  UnitPerf p;
  p.fits_ = e.batch_ > 0;
  p.users_ = e.batch_;
  p.tokens_per_s_per_user_ = e.tokens_per_s_per_user_;
  p.tokens_per_s_total_ = e.tokens_per_s_total_;
  p.s_per_input_token_ = e.s_per_input_token_;
  p.s_per_output_token_ = e.s_per_output_token_;
  p.busy_power_w_ = gpu.busy_power_w_;
  p.idle_power_w_ = gpu.idle_power_w_;
  p.detail_ = e.to_json();
  return p;
}

}  // namespace

nlohmann::json CostOption::to_json() const {
  nlohmann::json j = {
      {"id", id_},
      {"label", label_},
      {"kind", kind_},
      {"device", device_},
      {"units", units_},
      {"usd_per_m_input_tokens", usd_per_m_input_},
      {"usd_per_m_output_tokens", usd_per_m_output_},
      {"total_usd", total_.total()},
      {"cost_breakdown_usd", total_.to_json()},
      {"dominant", total_.dominant()},
      {"monthly_running_usd", monthly_usd_},
      {"break_even_month", break_even_month_},
      {"cumulative_usd", cumulative_usd_},
  };
  if (has_hardware()) {
    j["unit_price_usd"] = unit_price_usd_;
    j["busy_fraction"] = busy_fraction_;
    j["energy_kwh_per_month"] = energy_kwh_per_month_;
    j["users_per_unit"] = perf_.users_;
    j["tokens_per_s_per_user"] = perf_.tokens_per_s_per_user_;
    j["tokens_per_s_total_per_unit"] = perf_.tokens_per_s_total_;
    j["busy_power_w_per_unit"] = perf_.busy_power_w_;
    j["idle_power_w_per_unit"] = perf_.idle_power_w_;
    j["tokens_per_s_per_w"] =
        perf_.busy_power_w_ > 0 ? perf_.tokens_per_s_total_ / perf_.busy_power_w_ : 0.0;
    j["performance"] = perf_.detail_;
  }
  if (!details_.is_null()) j["details"] = details_;
  return j;
}

const CostOption& CostResult::option(const std::string& id) const {
  for (const CostOption& o : options_) {
    if (o.id_ == id) return o;
  }
  throw make_error("cost", "no option '" + id + "'");
}

nlohmann::json CostResult::to_json() const {
  nlohmann::json opts = nlohmann::json::array();
  for (const CostOption& o : options_) opts.push_back(o.to_json());
  nlohmann::json j = {{"model", model_},
                      {"scenario", scenario_.name_},
                      {"horizon_months", scenario_.horizon_months_},
                      {"break_even_against", reference_},
                      {"notes", notes_},
                      {"options", opts}};
  j["resolved"] = scenario_.to_json();
  j["resolved"].update(inputs_.to_json());
  return j;
}

CostResult compute_costs(const CostScenario& sc, const CostInputs& in, const CostDesign& design,
                         const std::vector<std::string>& gpu_overrides) {
  CostResult r;
  r.scenario_ = sc;
  r.inputs_ = in;
  r.model_ = design.model_.name_;
  r.reference_ = in.reference_;
  if (design.model_.name_ != in.api_model_) {
    r.notes_.push_back("the API prices (cost.api_*) are quoted for " + in.api_model_ + ", not " +
                       design.model_.name_ + ": set cost.api_* and cost.api_model for it");
  }

  // Hardwired ASIC card.
  {
    const ChipMapping mapping =
        map_model(design.model_, design.chip_, design.weight_bits_, design.kv_bits_);
    const AsicCostInputs& a = in.asic_;
    const Estimate shape = estimate(mapping, design.tech_, design.widths_, WorkloadPoint{});
    auto perf = [&](int64_t users) {
      WorkloadPoint pt;
      pt.users_ = users;
      pt.prompt_tokens_ = double(sc.prompt_tokens_);
      pt.output_tokens_ = double(sc.output_tokens_);
      pt.max_context_tokens_ = sc.prompt_tokens_ + sc.output_tokens_ - 1;
      const Estimate e = estimate(mapping, design.tech_, design.widths_, pt);
      UnitPerf p;
      p.fits_ = e.point_.users_concurrent_ > 0;
      p.users_ = e.point_.users_concurrent_;
      p.tokens_per_s_per_user_ = e.point_.tokens_per_s_per_user_;
      p.tokens_per_s_total_ = e.point_.tokens_per_s_total_;
      p.s_per_output_token_ = p.fits_ ? 1.0 / e.point_.tokens_per_s_total_ : 0.0;
      p.s_per_input_token_ =
          plan_prefill_cycles(e.plan_, sc.prompt_tokens_, 0) / design.chip_.clock_hz_ /
          double(sc.prompt_tokens_);
      p.busy_power_w_ = e.point_.power_w_ + a.host_power_w_;
      p.idle_power_w_ = e.power_idle_w_ + a.host_power_w_;
      p.detail_ = e.to_json();
      p.detail_.erase("event_energies");
      return p;
    };
    CostOption o;
    o.id_ = "asic";
    o.kind_ = "asic";
    o.device_ = design.chip_.name_;
    o.label_ = "hardwired ASIC card (" + design.chip_.name_ + ")";
    o.units_ = units_needed(sc, perf, &o.perf_);
    const DieCost die = die_cost(a, shape.area_.largest_die_mm2_);
    const double dies = double(shape.dies_used_);
    const double card_cost = dies * (die.die_usd_ + a.packaging_test_usd_) + a.board_usd_;
    const double server_share = a.server_usd_ / double(a.cards_per_server_);
    const double base_nre = (a.full_mask_set_usd_ + a.design_nre_usd_) /
                            double(a.models_per_design_) / double(a.units_per_model_);
    const double model_nre =
        double(a.top_masks_per_model_) * a.mask_usd_ / double(a.units_per_model_);
    const double unit_hw = card_cost * (1.0 + a.margin_) + server_share;
    const double unit_nre = (base_nre + model_nre) * (1.0 + a.margin_);
    const int64_t replace = std::min(a.lifetime_months_, a.model_lifetime_months_);
    fill_owned(o, sc, unit_hw, unit_nre, replace, a.pue_);
    o.details_ = {{"die", die.to_json()},
                  {"dies_per_card", dies},
                  {"card_cost_usd", card_cost},
                  {"card_price_usd", card_cost * (1.0 + a.margin_)},
                  {"server_share_usd", server_share},
                  {"nre_per_card_usd", unit_nre},
                  {"masks_per_model_usd", double(a.top_masks_per_model_) * a.mask_usd_},
                  {"replaced_every_months", replace},
                  {"new_model_turnaround_months", a.model_turnaround_months_}};
    r.options_.push_back(std::move(o));
  }

  // Local GPU box.
  {
    const GpuConfig gpu = load_gpu_config(in.local_gpu_.gpu_, gpu_overrides);
    CostOption o;
    o.id_ = "local-" + gpu.name_;
    o.kind_ = "local_gpu";
    o.device_ = gpu.name_;
    o.label_ = "local GPU box (" + gpu.name_ + ")";
    o.units_ = units_needed(
        sc, [&](int64_t u) { return gpu_perf(design.model_, gpu, sc, u); }, &o.perf_);
    fill_owned(o, sc, in.local_gpu_.price_usd_, 0.0, in.local_gpu_.lifetime_months_,
               in.local_gpu_.pue_);
    r.options_.push_back(std::move(o));
  }

  // Rented GPUs.
  for (const RentedGpuCostInputs& rent : in.rented_) {
    const GpuConfig gpu = load_gpu_config(rent.gpu_, gpu_overrides);
    CostOption o;
    o.id_ = "rented-" + gpu.name_;
    o.kind_ = "rented_gpu";
    o.device_ = gpu.name_;
    o.label_ = "rented " + gpu.name_;
    o.units_ = units_needed(
        sc, [&](int64_t u) { return gpu_perf(design.model_, gpu, sc, u); }, &o.perf_);
    fill_rented(o, sc, rent.usd_per_hour_);
    o.details_ = {{"usd_per_gpu_hour", rent.usd_per_hour_}};
    r.options_.push_back(std::move(o));
  }

  // Cloud APIs.
  for (const ApiPrice& api : in.apis_) {
    CostOption o;
    o.id_ = api.id_;
    o.kind_ = "api";
    o.label_ = "cloud API (" + api.id_.substr(4) + " price)";
    o.monthly_usd_ = sc.monthly_input_tokens_ / 1e6 * api.usd_per_m_input_ +
                     sc.monthly_output_tokens_ / 1e6 * api.usd_per_m_output_;
    const int64_t H = sc.horizon_months_;
    o.cumulative_usd_.assign(size_t(H + 1), 0.0);
    for (int64_t m = 1; m <= H; ++m) o.cumulative_usd_[size_t(m)] = double(m) * o.monthly_usd_;
    o.total_.api_usd_ = double(H) * o.monthly_usd_;
    o.usd_per_m_input_ = api.usd_per_m_input_;
    o.usd_per_m_output_ = api.usd_per_m_output_;
    r.options_.push_back(std::move(o));
  }

  for (CostOption& o : r.options_) {
    if (o.kind_ != "api") split_per_token(o, sc);
  }
  const CostOption& ref = r.option(r.reference_);
  const std::vector<double> ref_cum = ref.cumulative_usd_;
  for (CostOption& o : r.options_) {
    if (o.id_ == r.reference_) continue;
    for (size_t m = 1; m < o.cumulative_usd_.size(); ++m) {
      if (o.cumulative_usd_[m] <= ref_cum[m]) {
        o.break_even_month_ = int64_t(m);
        break;
      }
    }
  }
  return r;
}

}  // namespace hw
