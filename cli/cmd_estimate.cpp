// `hardwire estimate`: the analytic estimator (power/estimator.h) for one design point: model on
// chip in a technology with a number format and a workload. Prints throughput, latency, power,
// energy per token, area and KV capacity; --json gives the metric keys `hardwire simulate` uses
// plus the power and area keys; --out DIR writes result.json and resolved_config.json.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "chip/workload.h"
#include "cli/commands.h"
#include "cli/gpu_estimate.h"
#include "cli/output.h"
#include "cli/run_options.h"
#include "common/error.h"
#include "common/param_tree.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/cell_model.h"
#include "cost/gpu_model.h"
#include "power/estimator.h"
#include "power/sensitivity.h"
#include "power/tech_table.h"

namespace hw::cli {
namespace {

struct EstimateOptions {
  std::string model_ = "llama-3.1-8b";
  std::string chip_ = "hc1-like";
  std::string tech_;
  std::string numerics_;
  std::string scenario_;
  double weight_bits_ = 0;
  int kv_bits_ = 0;
  int64_t users_ = 0;
  int64_t prompt_ = 0;
  int64_t gen_ = 0;
  std::vector<std::string> sets_;
  bool json_ = false;
  bool sensitivity_ = false;
  std::string out_;
};

std::string num(double v, const char* fmt = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

struct Resolved {
  ModelConfig model_;
  ChipConfig chip_;
  TechTable tech_;
  WorkloadConfig workload_;
  Widths widths_;
};

Resolved resolve(const EstimateOptions& o) {
  check_override_roots(o.sets_, {"chip", "tech", "workload", "numerics"});
  Resolved r;
  r.model_ = load_model_config(o.model_);
  r.chip_ = load_chip_config(o.chip_, o.sets_);
  r.tech_ = load_tech(o.tech_, o.sets_);
  r.workload_ = load_workload(o.scenario_,
                              workload_overrides(o.sets_, o.users_, o.prompt_, o.gen_));
  r.widths_ = resolve_widths(r.model_, o.numerics_, o.weight_bits_, o.kv_bits_, o.sets_,
                             "estimate");
  return r;
}

void print_estimate(std::ostream& out, const Resolved& r, const Estimate& e) {
  const nlohmann::json j = e.to_json();
  const EstimatePoint& p = e.point_;
  out << r.model_.name_ << " on " << r.chip_.name_ << " (" << r.tech_.name_ << "), weights "
      << num(r.widths_.weight_bits_, "%.2f") << " bits, KV " << r.widths_.kv_bits_ << " bits, "
      << r.workload_.users_ << " users\n\n";
  Table t;
  t.add_row({"tokens/s per user", num(p.tokens_per_s_per_user_, "%.0f")});
  t.add_row({"tokens/s total", num(p.tokens_per_s_total_, "%.0f")});
  t.add_row({"users admitted / rejected",
             std::to_string(p.users_admitted_) + " / " + std::to_string(p.users_rejected_)});
  t.add_row({"users decoding together", std::to_string(p.users_concurrent_) + " (KV holds " +
                                            std::to_string(p.max_users_at_context_) +
                                            " at the longest context)"});
  t.add_row({"mean decode context", num(p.mean_context_tokens_, "%.1f") + " tokens"});
  t.add_row({"token latency", num(p.token_latency_cycles_, "%.0f") + " cycles (" +
                                  num(p.token_latency_cycles_ / r.chip_.clock_hz_ * 1e6, "%.2f") +
                                  " us)"});
  t.add_row({"pipeline stage", num(p.stage_cycles_, "%.0f") + " cycles"});
  t.add_row({"TTFT p50 / p99",
             num(p.ttft_p50_s_ * 1e3, "%.3f") + " / " + num(p.ttft_p99_s_ * 1e3, "%.3f") + " ms" +
                 (e.plan_.query_tile_ > 1
                      ? " (prefill query tiles taken full, " +
                            std::to_string(e.plan_.query_tile_) +
                            " queries per sweep: a lower bound; query_tile=1 the upper)"
                      : "")});
  t.add_row({"inter-token p50 / p99", num(p.itl_p50_s_ * 1e6, "%.2f") + " / " +
                                          num(p.itl_p99_s_ * 1e6, "%.2f") + " us"});
  t.add_row({"max context per user", std::to_string(p.max_context_tokens_) + " tokens at " +
                                         std::to_string(r.workload_.users_) + " users"});
  t.add_row({std::string("KV ") + (e.plan_.kv_sram_ ? "SRAM" : "DRAM") + " peak",
             binary_bytes(static_cast<int64_t>(p.kv_peak_bytes_)) + " of " +
                 binary_bytes(static_cast<int64_t>(e.plan_.kv_capacity_bytes_))});
  t.add_row({"power (card)", num(p.power_w_, "%.1f") + " W (die " + num(p.die_power_w_, "%.1f") +
                                 " W; idle " + num(e.power_idle_w_, "%.1f") + " W)"});
  t.add_row({"power at full load", num(e.power_full_load_w_, "%.1f") + " W (" +
                                       std::to_string(p.max_users_at_context_) +
                                       " users, unthrottled)"});
  if (e.plan_.tdp_w_ > 0) {
    t.add_row({"TDP", num(e.plan_.tdp_w_, "%.0f") + " W: " +
                          std::to_string(e.max_users_under_tdp_) + " users fit under it" +
                          (p.throttled_ ? "; THROTTLED from " +
                                              num(p.unthrottled_tokens_per_s_total_, "%.0f") +
                                              " tokens/s (" +
                                              num(p.unthrottled_power_w_, "%.1f") + " W)"
                                        : "; not throttled")});
  }
  t.add_row({"energy per token", num(p.energy_per_token_j_ * 1e3, "%.4f") + " mJ"});
  t.add_row({"area", num(e.area_.total_mm2_, "%.1f") + " mm2 over " +
                         std::to_string(e.dies_used_) + " die(s), largest " +
                         num(e.area_.largest_die_mm2_, "%.1f") + " mm2"});
  t.add_row({"transistors", num(e.area_.transistors_ / 1e9, "%.1f") + " billion (" +
                                 num(e.area_.flops_ / 1e6, "%.0f") + "M flops)"});
  t.add_row({"fabric widths", e.fabric_.widths_.source_ + ", activations " +
                                  std::to_string(e.fabric_.widths_.activation_bits_) + " bits"});
  t.print(out, "  ");
  if (!e.area_.fits_reticle()) {
    out << "\n  WARNING: the largest die, " << num(e.area_.largest_die_mm2_, "%.0f")
        << " mm2, exceeds the " << num(e.area_.reticle_limit_mm2_, "%.0f")
        << " mm2 reticle limit (tech.reticle.limit): the design needs "
        << e.dies_needed_for_reticle_ << " dies (--set chip.dies="
        << e.dies_needed_for_reticle_ << ") or a denser node.\n";
  }
  if (!e.fabric_.timing_met_) {
    out << "\n  WARNING: the cell model and the chip's timing disagree: each adder-tree input of the "
           "declared matrix structure serves its cells for (activation + digit bits) / "
           "tech.rom.product_bits_per_cycle cycles each, more than the mapping's fold allows, so "
           "the tokens/s above are optimistic for this fabric. Size the trees from the timing "
           "(--set tech.rom.trees_from=timing) or use bit-parallel cells "
           "(--set tech.rom.product_bits_per_cycle=N); docs/calibration.md.\n";
  }
  print_breakdown(out, "power", j["power_breakdown_w"], p.power_w_, "W");
  print_breakdown(out, "area", j["area_breakdown_mm2"], e.area_.total_mm2_, "mm2");
}

void print_sensitivity(std::ostream& out, const SensitivityTable& s) {
  out << "\nsensitivity (each [choice] of the tech file at its low / high value, one at a time)\n";
  Table t;
  t.add_row({"parameter", "low / high", "power W", "idle W", "die mm2", "transistors e9"});
  auto span = [](double a, double b, const char* fmt) { return num(a, fmt) + " / " + num(b, fmt); };
  const Estimate& b = s.base_;
  t.add_row({"(tech file)", "", num(b.point_.power_w_, "%.1f"), num(b.power_idle_w_, "%.1f"),
             num(b.area_.largest_die_mm2_, "%.0f"), num(b.area_.transistors_ / 1e9, "%.1f")});
  for (const SensitivityRow& r : s.rows_) {
    t.add_row({r.param_.key_, span(r.low_value_, r.high_value_, "%.3g"),
               span(r.low_.point_.power_w_, r.high_.point_.power_w_, "%.1f"),
               span(r.low_.power_idle_w_, r.high_.power_idle_w_, "%.1f"),
               span(r.low_.area_.largest_die_mm2_, r.high_.area_.largest_die_mm2_, "%.0f"),
               span(r.low_.area_.transistors_ / 1e9, r.high_.area_.transistors_ / 1e9, "%.1f")});
  }
  t.print(out, "  ");
}

void run(const EstimateOptions& o) {
  if (is_gpu_config(o.chip_)) {  // configs/gpus/: the GPU roofline model (cli/gpu_estimate.h)
    run_gpu_estimate({o.model_, o.chip_, o.scenario_, o.weight_bits_, o.kv_bits_, o.users_,
                      o.prompt_, o.gen_, o.sets_, o.json_, o.out_});
    return;
  }
  const Resolved r = resolve(o);
  const ChipMapping mapping =
      map_model(r.model_, r.chip_, r.widths_.weight_bits_, r.widths_.kv_bits_);
  const DesignWidths widths = resolve_design_widths(
      r.model_, static_cast<int>(r.chip_.activation_bits_),
      r.widths_.profile_ ? &*r.widths_.profile_ : nullptr, r.widths_.weight_bits_);
  const Estimate e = estimate(mapping, r.tech_, widths, workload_point(r.workload_));
  nlohmann::json result = e.to_json();
  std::optional<SensitivityTable> table;
  if (o.sensitivity_) {
    std::vector<std::string> sets = o.sets_;
    const size_t n = sets.size();
    table = sensitivity(r.tech_, [&](const std::vector<std::string>& extra) {
      sets.resize(n);
      sets.insert(sets.end(), extra.begin(), extra.end());
      return estimate(mapping, load_tech(o.tech_, sets), widths, workload_point(r.workload_));
    });
    result["sensitivity"] = table->to_json();
  }
  result["source"] = "estimate";
  result["model"] = r.model_.name_;
  result["chip"] = r.chip_.name_;
  result["tech"] = r.tech_.name_;
  if (!o.out_.empty()) {
    make_out_dir(o.out_);
    write_json_file(std::filesystem::path(o.out_) / "result.json", result);
    write_json_file(std::filesystem::path(o.out_) / "resolved_config.json",
                    design_config_json(r.model_, r.chip_, &r.tech_, r.workload_, r.widths_));
  }
  if (o.json_) {
    std::cout << result.dump(2) << "\n";
  } else {
    print_estimate(std::cout, r, e);
    if (table) print_sensitivity(std::cout, *table);
  }
}

}  // namespace

void add_estimate_command(CLI::App& app) {
  auto o = std::make_shared<EstimateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "estimate",
      "Analytic steady-state decode estimate: tokens/s, latency, power, energy per token, area");
  cmd->add_option("--model", o->model_, "Model preset, config.json or .gguf")
      ->capture_default_str();
  cmd->add_option("--chip", o->chip_, "Chip name (configs/chips/) or YAML path")
      ->capture_default_str();
  add_tech_option(*cmd, o->tech_);
  cmd->add_option("--numerics", o->numerics_,
                  std::string("Numerics profile (configs/numerics/) or YAML path; default ") +
                      kDefaultNumerics + " when shipped");
  cmd->add_option("--weight-bits", o->weight_bits_,
                  "Mean weight bits (overrides the numerics profile)")
      ->check(CLI::Range(0.5, 64.0));
  cmd->add_option("--kv-bits", o->kv_bits_, "KV cache bits (overrides the numerics profile)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--scenario", o->scenario_, "Workload scenario (configs/scenarios/) or YAML");
  cmd->add_option("--users", o->users_, "Concurrent users (workload.users)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--prompt", o->prompt_, "Prompt tokens per user (fixed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--gen", o->gen_, "Generated tokens per user (fixed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--set", o->sets_,
                  "Override root.key=value (roots: chip, tech, workload, numerics); repeatable");
  cmd->add_flag("--json", o->json_, "Print the result as JSON");
  cmd->add_flag("--sensitivity", o->sensitivity_,
                "Also re-run with each uncertain tech parameter at its low and high value "
                "(JSON key: sensitivity)");
  cmd->add_option("--out", o->out_, "Directory for result.json and resolved_config.json");
  cmd->callback([o]() { run(*o); });
}

}  // namespace hw::cli
