// `hardwire report`: the cost comparison of `hardwire cost` as a self-contained offline HTML page
// with gnuplot charts (cost/report.h), plus report.md, cost.json and the CSV behind each chart.
// The KV-capacity chart re-maps the chip at several KV SRAM sizes; the Pareto chart runs a
// default sweep through the sweep library (sweep/sweep.h) in-process with the estimator.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include "chip/mapping.h"
#include "cli/commands.h"
#include "cli/cost_options.h"
#include "cli/output.h"
#include "common/error.h"
#include "cost/report.h"
#include "power/estimator.h"
#include "sweep/sweep.h"

namespace hw::cli {
namespace {

struct ReportOptions {
  CostOptions cost_;
  bool no_sweep_ = false;
  std::string gnuplot_ = "gnuplot";
};

// Users one chip holds against context, at the chip's KV SRAM size and at halvings/doublings.
std::vector<KvCapacityCurve> kv_curves(const CostOptions& o, const ResolvedCost& rc) {
  std::vector<KvCapacityCurve> curves;
  const ChipConfig& chip = rc.design_.chip_;
  if (chip.attention_.kv_memory_ != KvMemory::kSram) return curves;
  const int64_t own = chip.attention_.kv_sram_.capacity_bytes_;
  std::vector<int64_t> contexts;
  for (int64_t c = 256; c <= std::max<int64_t>(256, rc.design_.model_.max_positions_); c *= 2) {
    contexts.push_back(c);
  }
  for (const double f : {0.25, 0.5, 1.0, 2.0, 4.0}) {
    const int64_t bytes = int64_t(double(own) * f);
    std::vector<std::string> sets = o.sets_;
    sets.push_back("chip.attention.kv_sram.capacity=" + std::to_string(bytes) + " B");
    KvCapacityCurve k;
    k.label_ = binary_bytes(bytes);
    k.is_design_ = f == 1.0;
    try {
      const ChipConfig c = load_chip_config(o.chip_, sets);
      const ChipMapping m =
          map_model(rc.design_.model_, c, rc.design_.weight_bits_, rc.design_.kv_bits_);
      const EstimatorPlan plan = make_plan(m, rc.design_.tech_, rc.design_.widths_);
      for (int64_t ctx : contexts) {
        WorkloadPoint pt;
        pt.users_ = 1;
        pt.prompt_tokens_ = double(ctx);
        pt.output_tokens_ = 1;
        pt.max_context_tokens_ = ctx;
        k.context_tokens_.push_back(ctx);
        k.users_.push_back(evaluate_point(plan, pt).max_users_at_context_);
      }
    } catch (const Error& e) {
      std::cerr << "hardwire: report: KV curve at " << k.label_ << " skipped: " << e.what()
                << "\n";
      continue;
    }
    curves.push_back(std::move(k));
  }
  return curves;
}

// The default sweep: clock x KV SRAM size x numerics around the design, at the scenario's
// request lengths; front on power (min) and tokens/s per user (max).
ParetoData default_front(const CostOptions& o, const ResolvedCost& rc) {
  namespace sw = hw::sweep;
  ParetoData p;
  p.x_key_ = "power_w";
  p.y_key_ = "tokens_per_s_per_user";
  sw::BaseDesign base;
  base.model_ = o.model_;
  base.chip_ = o.chip_;
  base.tech_ = o.tech_;
  base.numerics_ = o.numerics_;
  base.weight_bits_ = o.weight_bits_;
  base.kv_bits_ = o.kv_bits_;
  base.users_ = rc.scenario_.concurrency_;
  base.prompt_tokens_ = rc.scenario_.prompt_tokens_;
  base.gen_tokens_ = rc.scenario_.output_tokens_;
  for (const std::string& s : o.sets_) {
    if (s.rfind("chip.", 0) == 0 || s.rfind("tech.", 0) == 0 || s.rfind("numerics.", 0) == 0) {
      base.sets_.push_back(s);
    }
  }
  const std::vector<std::string> specs = {"chip.clock=0.75GHz,1GHz,1.25GHz",
                                          "chip.attention.kv_sram.capacity=128MiB,256MiB,512MiB",
                                          "numerics=w3a8,hc1-mix,w4a8"};
  std::vector<sw::Axis> axes;
  for (const std::string& s : specs) axes.push_back(sw::parse_axis(s, "report sweep"));
  p.note_ = "";
  for (size_t i = 0; i < specs.size(); ++i) p.note_ += (i ? "; " : "") + specs[i];
  const sw::PointSet points(axes);
  const auto engine = sw::make_estimate_engine();
  sw::SweepOptions opt;
  opt.progress_ = false;
  opt.keep_rows_ = true;
  const sw::SweepResult res = sw::run_sweep(base, points, *engine, opt);
  const sw::Table t{res.columns_, res.rows_};
  sw::Table serving{t.columns_, {}};
  for (const auto& row : t.rows_) {
    if (row[t.column("error")].empty() && std::stod(row[t.column(p.y_key_)]) > 0) {
      serving.rows_.push_back(row);
    }
  }
  const std::vector<size_t> front =
      sw::pareto_front(serving, {{p.x_key_, false}, {p.y_key_, true}});
  const size_t cx = t.column(p.x_key_), cy = t.column(p.y_key_);
  for (size_t i = 0; i < serving.rows_.size(); ++i) {
    const auto& row = serving.rows_[i];
    std::string label;
    for (size_t a = 0; a < axes.size(); ++a) label += (a ? " " : "") + row[a];
    p.labels_.push_back(label);
    p.x_.push_back(std::stod(row[cx]));
    p.y_.push_back(std::stod(row[cy]));
    p.on_front_.push_back(std::find(front.begin(), front.end(), i) != front.end());
  }
  p.available_ = !p.x_.empty();
  if (!p.available_) p.note_ = "no point of the default sweep holds one request of the scenario";
  return p;
}

void run(const ReportOptions& ro) {
  const CostOptions& o = ro.cost_;
  if (o.out_.empty()) throw make_error("report", "--out DIR is required");
  const ResolvedCost rc = resolve_cost(o, "report");
  ReportInput in;
  in.cost_ = compute_costs(rc.scenario_, rc.inputs_, rc.design_, rc.gpu_sets_);
  in.chip_ = rc.design_.chip_.name_;
  in.tech_ = rc.design_.tech_.name_;
  in.kv_ = kv_curves(o, rc);
  if (in.kv_.empty()) {
    in.kv_note_ = rc.design_.chip_.attention_.kv_memory_ == KvMemory::kSram
                      ? "no KV SRAM size could be mapped (see the messages above)"
                      : "not drawn: " + in.chip_ + " keeps its KV cache in DRAM (the chart compares "
                        "KV SRAM sizes)";
  }
  if (ro.no_sweep_) {
    in.pareto_.note_ = "not drawn (--no-sweep)";
  } else {
    try {
      in.pareto_ = default_front(o, rc);
    } catch (const Error& e) {
      in.pareto_ = ParetoData{};
      in.pareto_.note_ = std::string("the default sweep failed: ") + e.what();
      std::cerr << "hardwire: report: " << in.pareto_.note_ << "\n";
    }
  }
  const ReportFiles f = write_report(in, o.out_, ro.gnuplot_);
  write_json_file(std::filesystem::path(o.out_) / "resolved_config.json",
                  resolved_cost_config(rc));
  std::cout << "report: " << f.html_ << "\n  markdown: " << f.markdown_ << "\n  charts:";
  for (const std::string& c : f.charts_) std::cout << " " << c;
  std::cout << " (SVG + CSV each)\n";
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Offline HTML cost report (gnuplot charts inlined) + report.md + CSVs");
  add_cost_options(*cmd, o->cost_);
  cmd->add_option("--out", o->cost_.out_, "Directory for report.html, report.md, CSVs, SVGs")
      ->required();
  cmd->add_flag("--no-sweep", o->no_sweep_, "Skip the default sweep (no Pareto chart)");
  cmd->add_option("--gnuplot", o->gnuplot_, "gnuplot executable")->capture_default_str();
  cmd->callback([o]() { run(*o); });
}

}  // namespace hw::cli
