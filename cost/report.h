// The cost report: a self-contained HTML page (opens offline: no scripts, no external files,
// no URLs) with charts drawn by gnuplot's SVG terminal and inlined, plus report.md and the CSV
// behind every chart, written to one directory. Charts: $/M tokens per option, cumulative cost
// and break-even, tokens/s per user, tokens/s per watt, KV capacity (users x context against
// the KV SRAM size) and the Pareto front of a default sweep when one is given.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cost/cost_model.h"

namespace hw {

// Users one chip holds at each context length, for one KV SRAM size.
struct KvCapacityCurve {
  std::string label_;                  // "256 MiB"
  bool is_design_ = false;             // the chip's own size
  std::vector<int64_t> context_tokens_;
  std::vector<int64_t> users_;
};

// Points of a sweep and which lie on its Pareto front (x and y are two of its metrics).
struct ParetoData {
  bool available_ = false;
  std::string note_;                   // why not, or what was swept
  std::string x_key_, y_key_;          // metric names (axis titles)
  std::vector<std::string> labels_;    // one per point: the swept values
  std::vector<double> x_, y_;
  std::vector<bool> on_front_;
};

struct ReportInput {
  CostResult cost_;
  std::string chip_;
  std::string tech_;
  std::vector<KvCapacityCurve> kv_;
  std::string kv_note_;                // why there is no KV chart (empty kv_)
  ParetoData pareto_;
};

struct ReportFiles {
  std::string html_;
  std::string markdown_;
  std::vector<std::string> charts_;    // chart names, one SVG and one CSV each
};

// Writes report.html, report.md, cost.json, <chart>.csv, <chart>.gp and <chart>.svg under
// `out_dir`. Runs `gnuplot_exe`; throws hw::Error naming the package when it is missing or a
// chart fails.
ReportFiles write_report(const ReportInput& in, const std::string& out_dir,
                         const std::string& gnuplot_exe = "gnuplot");

// Inline form of a gnuplot SVG: XML prolog, DOCTYPE and namespace URLs removed, every id (and
// every reference to one) prefixed with `prefix` so several charts share a page.
std::string inline_svg(const std::string& svg, const std::string& prefix);

}  // namespace hw
