// `hardwire sweep`: a design-space sweep (sweep/sweep.h) over any dotted key of the chip,
// tech, numerics and workload trees and over lists of models, chips, tech files, numerics
// profiles and scenarios, on the estimator or the SystemC model, on every core and, under
// mpirun, on every rank. Rows go to --out as they finish; re-running the same command resumes.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "common/error.h"
#include "sweep/sweep.h"

namespace hw::cli {
namespace {

struct SweepOptions {
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
  uint64_t random_ = 0;
  uint64_t seed_ = 1;
  std::string engine_ = "estimate";
  std::string out_;
  std::string metrics_;
  unsigned threads_ = 0;
  bool json_ = false;
  bool no_progress_ = false;
  std::string command_;
};

// Only the simulate engine (built with SystemC) runs the executable again.
[[maybe_unused]] std::string self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw Error("sweep: cannot find the hardwire executable (/proc/self/exe)");
  return std::string(buf, size_t(n));
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t c = s.find(',', start);
    out.push_back(s.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

void run(const SweepOptions& o, const std::vector<std::pair<std::string, std::string>>& given) {
  sweep::MpiSession mpi;
  const bool root = mpi.rank() == 0;
  sweep::BaseDesign base;
  base.model_ = o.model_;
  base.chip_ = o.chip_;
  base.tech_ = o.tech_;
  base.numerics_ = o.numerics_;
  base.scenario_ = o.scenario_;
  base.weight_bits_ = o.weight_bits_;
  base.kv_bits_ = o.kv_bits_;
  base.users_ = o.users_;
  base.prompt_tokens_ = o.prompt_;
  base.gen_tokens_ = o.gen_;

  // Axes in the order given on the command line; single values are fixed settings.
  std::vector<sweep::Axis> axes;
  for (const auto& [option, value] : given) {
    if (option == "--set") {
      sweep::Axis a = sweep::parse_axis(value, "--set");
      if (a.selection_) {
        throw make_error("--set " + value, "'" + a.name_ + "' is chosen with --" + a.name_,
                         "write --" + a.name_ + " " + value.substr(value.find('=') + 1));
      }
      const bool range = value.find(':', value.find('=')) != std::string::npos;
      if (a.values_.size() == 1 && !range) {
        for (const auto& k : a.keys_) base.sets_.push_back(k + "=" + a.values_[0]);
      } else {
        axes.push_back(std::move(a));
      }
    } else {
      const std::string key = option.substr(2);
      if (split_commas(value).size() > 1) {
        axes.push_back(sweep::parse_axis(key + "=" + value, "--" + key));
        // The base design (resolved beside the CSV) takes the first of the list.
        const std::string& first = axes.back().values_[0];
        if (key == "model")
          base.model_ = first;
        else if (key == "chip")
          base.chip_ = first;
        else if (key == "tech")
          base.tech_ = first;
        else if (key == "numerics")
          base.numerics_ = first;
        else if (key == "scenario")
          base.scenario_ = first;
      }
    }
  }
  sweep::PointSet points(std::move(axes), o.random_, o.seed_);

  std::unique_ptr<sweep::Engine> engine;
  if (o.engine_ == "estimate") {
    engine = sweep::make_estimate_engine();
  } else {
#ifdef HARDWIRE_HAVE_SYSTEMC
    engine = sweep::make_simulate_engine(self_exe());
#else
    throw Error("sweep --engine simulate: this hardwire was built without SystemC");
#endif
  }

  sweep::SweepOptions so;
  so.out_csv_ = o.out_;
  so.threads_ = o.threads_;
  so.progress_ = !o.no_progress_;
  so.command_ = o.command_;
  if (!o.metrics_.empty()) so.metrics_ = split_commas(o.metrics_);
  const sweep::SweepResult r = sweep::run_sweep(base, points, *engine, so);
  if (!root) return;
  const double rate = r.wall_s_ > 0 ? double(r.evaluated_) / r.wall_s_ : 0;
  if (o.json_) {
    const nlohmann::json j = {{"out", o.out_},
                              {"resolved_config", r.config_path_},
                              {"engine", engine->name()},
                              {"points", r.points_},
                              {"resumed", r.resumed_},
                              {"evaluated", r.evaluated_},
                              {"errors", r.errors_},
                              {"wall_s", r.wall_s_},
                              {"points_per_s", rate},
                              {"ranks", mpi.size()},
                              {"columns", r.columns_}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf(
        "sweep: %llu point%s: %llu evaluated now, %llu already in the file, %llu with an error\n",
        (unsigned long long)r.points_, r.points_ == 1 ? "" : "s", (unsigned long long)r.evaluated_,
        (unsigned long long)r.resumed_, (unsigned long long)r.errors_);
    std::printf("  %.2f s, %.0f points/s on %d rank%s\n", r.wall_s_, rate, mpi.size(),
                mpi.size() > 1 ? "s" : "");
    std::printf("  results: %s (%zu columns)\n  config:  %s\n", o.out_.c_str(), r.columns_.size(),
                r.config_path_.c_str());
  }
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Design-space sweep: grid or random points over any config key, one CSV row per point "
      "(resumable; all cores; MPI ranks under mpirun)");
  cmd->add_option("--model", o->model_, "Model preset, config.json or .gguf; a,b,... sweeps models")
      ->capture_default_str();
  cmd->add_option("--chip", o->chip_,
                  "Chip name (configs/chips/) or YAML path; a,b,... sweeps chips")
      ->capture_default_str();
  add_tech_option(*cmd, o->tech_, "a,b,... sweeps tech files");
  cmd->add_option("--numerics", o->numerics_,
                  std::string("Numerics profile (configs/numerics/); a,b,... sweeps profiles; "
                              "default ") +
                      kDefaultNumerics);
  cmd->add_option("--scenario", o->scenario_, "Workload scenario; a,b,... sweeps scenarios");
  cmd->add_option("--weight-bits", o->weight_bits_, "Mean weight bits (overrides the profile)")
      ->check(CLI::Range(0.5, 64.0));
  cmd->add_option("--kv-bits", o->kv_bits_, "KV cache bits (overrides the profile)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--users", o->users_, "Concurrent users (workload.users)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--prompt", o->prompt_, "Prompt tokens per user (fixed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--gen", o->gen_, "Generated tokens per user (fixed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--set", o->sets_,
                  "root.key=v1,v2,... or root.key=lo:hi:step (units allowed, e.g. "
                  "chip.clock=0.5GHz:2GHz:0.1GHz) or lo:hi:*factor; '*' in the key sets every "
                  "matching key (chip.*.input_lanes); a single value fixes the key; repeatable");
  cmd->add_option("--random", o->random_, "Evaluate N distinct random points of the grid")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
  cmd->add_option("--seed", o->seed_, "Seed of --random")->capture_default_str();
  cmd->add_option("--engine", o->engine_,
                  "estimate (analytic) or simulate (SystemC, one process per point)")
      ->check(CLI::IsMember({"estimate", "simulate"}))
      ->capture_default_str();
  cmd->add_option("--out", o->out_, "Results CSV (re-running the same command resumes it)")
      ->required();
  cmd->add_option("--metrics", o->metrics_,
                  "Comma-separated metric columns to keep (default: every metric of the engine)");
  cmd->add_option("--threads", o->threads_, "Worker threads per rank (default: all cores)");
  cmd->add_flag("--json", o->json_, "Print the run summary as JSON");
  cmd->add_flag("--no-progress", o->no_progress_, "No progress on stderr");
  cmd->callback([o, cmd]() {
    std::vector<std::pair<std::string, std::string>> given;
    std::map<const CLI::Option*, size_t> seen;
    for (const CLI::Option* opt : cmd->parse_order()) {
      const std::string name = opt->get_name();
      if (name != "--set" && name != "--model" && name != "--chip" && name != "--tech" &&
          name != "--numerics" && name != "--scenario") {
        continue;
      }
      const size_t i = seen[opt]++;
      if (i < opt->results().size()) given.emplace_back(name, opt->results()[i]);
    }
    o->command_.clear();
    for (const auto& [name, value] : given) o->command_ += name + " " + value + " ";
    run(*o, given);
  });
}

}  // namespace hw::cli
