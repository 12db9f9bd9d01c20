// `hardwire cost`: what running a model costs under a usage scenario for each option (hardwired
// ASIC card, local GPU box, rented H100/H200, cloud APIs): $ per million input and output
// tokens, total over the horizon, break-even month against a cloud API, and what dominates each
// (cost/cost_model.h). --json gives the whole result; --out DIR writes cost.json and
// resolved_config.json.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/cost_options.h"
#include "cli/output.h"

namespace hw::cli {
namespace {

std::string fmt(double v, const char* f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string usd(double v) {
  if (v >= 1e6) return "$" + fmt(v / 1e6, "%.2f") + "M";
  if (v >= 1e3) return "$" + with_commas(int64_t(v + 0.5));
  return "$" + fmt(v, "%.2f");
}

void print_cost(std::ostream& out, const CostResult& r) {
  const CostScenario& s = r.scenario_;
  out << r.model_ << ", scenario " << s.name_ << ": " << fmt(s.monthly_input_tokens_ / 1e6, "%.0f")
      << "M input + " << fmt(s.monthly_output_tokens_ / 1e6, "%.0f")
      << "M output tokens a month over " << fmt(s.hours_per_day_, "%.3g") << " h a day, "
      << s.concurrency_ << " requests in flight, " << fmt(s.electricity_usd_per_kwh_, "%.3f")
      << " USD/kWh, " << s.horizon_months_ << " months\n\n";
  Table t({"option", "units", "tok/s/user", "$/M in", "$/M out", "total",
           "break-even vs " + r.reference_, "dominant"});
  for (const CostOption& o : r.options_) {
    std::string be = o.id_ == r.reference_ ? "(reference)"
                     : o.break_even_month_ < 0 ? "not within " + std::to_string(s.horizon_months_) + " mo"
                                               : "month " + std::to_string(o.break_even_month_);
    t.add_row({o.label_, o.has_hardware() ? std::to_string(o.units_) : "",
               o.has_hardware() ? fmt(o.perf_.tokens_per_s_per_user_, "%.0f") : "",
               fmt(o.usd_per_m_input_, "%.4f"), fmt(o.usd_per_m_output_, "%.4f"),
               usd(o.total_.total()), be, o.total_.dominant()});
  }
  t.print(out, "  ");
  for (const std::string& n : r.notes_) out << "\nnote: " << n << "\n";
  out << "\nhardware\n";
  Table h({"option", "unit price", "busy W", "idle W", "busy share", "kWh/month", "running/month"});
  for (const CostOption& o : r.options_) {
    if (!o.has_hardware()) continue;
    h.add_row({o.label_, o.owned() ? usd(o.unit_price_usd_) : "",
               fmt(o.perf_.busy_power_w_, "%.0f"), fmt(o.perf_.idle_power_w_, "%.0f"),
               fmt(100.0 * o.busy_fraction_, "%.1f") + "%",
               o.owned() ? fmt(o.energy_kwh_per_month_, "%.1f") : "",
               usd(o.monthly_usd_)});
  }
  h.print(out, "  ");
  const CostOption& a = r.option("asic");
  const nlohmann::json& d = a.details_;
  out << "\nASIC card: " << fmt(d["die"]["die_area_mm2"].get<double>(), "%.0f") << " mm2 die, "
      << fmt(d["die"]["dies_per_wafer"].get<double>(), "%.0f") << " per wafer, yield "
      << fmt(100.0 * d["die"]["yield"].get<double>(), "%.1f") << "%, "
      << usd(d["die"]["die_usd"].get<double>()) << " per good die; card price "
      << usd(d["card_price_usd"].get<double>()) << ", NRE "
      << usd(d["nre_per_card_usd"].get<double>()) << " per card; new cards every "
      << d["replaced_every_months"].get<int64_t>() << " months; a new model takes "
      << fmt(d["new_model_turnaround_months"].get<double>(), "%.3g") << " months to silicon\n";
}

void run(const CostOptions& o) {
  const ResolvedCost rc = resolve_cost(o, "cost");
  const CostResult r = compute_costs(rc.scenario_, rc.inputs_, rc.design_, rc.gpu_sets_);
  nlohmann::json j = r.to_json();
  j["chip"] = rc.design_.chip_.name_;
  j["tech"] = rc.design_.tech_.name_;
  if (!o.out_.empty()) {
    make_out_dir(o.out_);
    write_json_file(std::filesystem::path(o.out_) / "cost.json", j);
    write_json_file(std::filesystem::path(o.out_) / "resolved_config.json",
                    resolved_cost_config(rc));
  }
  if (o.json_) {
    std::cout << j.dump(2) << "\n";
  } else {
    print_cost(std::cout, r);
  }
}

}  // namespace

void add_cost_command(CLI::App& app) {
  auto o = std::make_shared<CostOptions>();
  CLI::App* cmd = app.add_subcommand(
      "cost", "Cost per million tokens and over a horizon: hardwired ASIC vs GPUs vs cloud APIs");
  add_cost_options(*cmd, *o);
  cmd->add_flag("--json", o->json_, "Print the result as JSON");
  cmd->add_option("--out", o->out_, "Directory for cost.json and resolved_config.json");
  cmd->callback([o]() { run(*o); });
}

}  // namespace hw::cli
