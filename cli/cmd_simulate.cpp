// `hardwire simulate`: runs the SystemC chip model (sim/simulate.h) of a model on a chip under a
// workload and prints throughput per user and in total, time to first token, inter-token
// latency, KV admission figures, per-block utilization and stalls, and the activity counts;
// --json gives them as stable keys, --out DIR writes result.json and resolved_config.json,
// --vcd / --timeline write waveforms and a Perfetto timeline. --functional carries real data
// through the golden numerics (small models) and reports the generated token ids.
// Built only with SystemC (cli/main.cpp registers a placeholder otherwise).
#ifdef HARDWIRE_HAVE_SYSTEMC
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "chip/workload.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/numerics_options.h"
#include "cli/output.h"
#include "cli/run_options.h"
#include "common/error.h"
#ifdef HARDWIRE_HAVE_RTL_COSIM
#include "rtl/cosim.h"
#endif
#include "common/param_tree.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"
#include "power/area.h"
#include "power/cell_model.h"
#include "power/energy.h"
#include "power/tech_table.h"
#include "sim/simulate.h"

namespace hw::cli {
namespace {

struct SimulateOptions {
  std::string model_ = "llama-3.1-8b";
  std::string chip_ = "hc1-like";
  std::string tech_;
  bool power_ = false;
  std::string numerics_;
  double weight_bits_ = 0;
  int kv_bits_ = 0;
  std::string scenario_;
  int64_t users_ = 0;
  int64_t prompt_ = 0;
  int64_t gen_ = 0;
  std::string trace_;
  std::vector<std::string> sets_;
  bool json_ = false;
  std::string out_;
  std::string vcd_;
  std::string timeline_;
  int64_t timeline_max_events_ = 2000000;
  bool functional_ = false;
  std::string tokens_;
  uint64_t synthetic_seed_ = 0;
  CLI::Option* synthetic_seed_option_ = nullptr;
  bool no_progress_ = false;
  std::string check_against_;
  std::string level_ = "token";
  std::string rtl_;      // "layer=L": co-simulate layer L's matrix blocks as Verilated RTL
  std::string rtl_vcd_;
};

std::string num(double v, const char* fmt = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// "1,5,9;2,3" -> {{1,5,9},{2,3}}: one prompt per user.
std::vector<std::vector<int32_t>> parse_prompts(const std::string& text) {
  std::vector<std::vector<int32_t>> prompts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    prompts.push_back(parse_token_list(text.substr(start, end - start)));
    start = end + 1;
  }
  return prompts;
}

struct Resolved {
  ModelConfig model_;
  ChipConfig chip_;
  std::optional<TechTable> tech_;  // with --power
  WorkloadConfig workload_;
  Widths widths_;
  std::vector<std::vector<int32_t>> prompts_;
};

Resolved resolve(const SimulateOptions& o) {
  check_override_roots(o.sets_, {"chip", "tech", "workload", "numerics"});
  const ChipConfig chip = load_chip_config(o.chip_, o.sets_);
  // The tech table gives the power figures (--power) and the power cap's window power.
  const bool needs_tech = o.power_ || chip.power_cap_effective_w() > 0;
  if (!needs_tech) {
    for (const auto& s : o.sets_) {
      if (s.rfind("tech.", 0) == 0) {
        throw make_error("--set " + s, "tech overrides only apply to the power figures",
                         "add --power (or drop the override)");
      }
    }
  }
  if (!o.functional_ && !o.tokens_.empty()) {
    throw make_error("--tokens", "prompts are only simulated in functional mode",
                     "add --functional (timing mode takes lengths: --prompt L)");
  }
  if (o.functional_ && o.tokens_.empty()) {
    throw make_error("--functional", "needs the prompt token ids",
                     "pass --tokens 1,5,9 (several users: --tokens '1,5,9;2,7')");
  }
  if (o.functional_ && (o.weight_bits_ > 0 || o.kv_bits_ > 0)) {
    throw make_error("--functional", "the golden numerics come from the profile",
                     "drop --weight-bits/--kv-bits and use --numerics or --set numerics.*");
  }
  if (!o.check_against_.empty() && !o.functional_) {
    throw make_error("--check-against", "compares the functional run's data with a reference",
                     "add --functional and --tokens");
  }
  if (o.synthetic_seed_option_->count() > 0 && !o.functional_) {
    throw make_error("--synthetic-seed", "only used in functional mode", "add --functional");
  }
  if (!o.trace_.empty() && (o.users_ > 0 || o.prompt_ > 0 || o.gen_ > 0)) {
    throw make_error("--trace", "a trace gives every user's arrival and lengths",
                     "drop --users/--prompt/--gen, or drop --trace");
  }
  Resolved r;
  r.chip_ = chip;
  if (needs_tech) r.tech_ = load_tech(o.tech_, o.sets_);
  if (o.functional_) r.prompts_ = parse_prompts(o.tokens_);

  // Functional mode: one user per given prompt unless --users says otherwise; the prompt
  // length is the first prompt's.
  int64_t users = o.users_;
  if (users == 0 && o.functional_ && r.prompts_.size() > 1) users = int64_t(r.prompts_.size());
  const int64_t prompt_len = o.functional_ ? int64_t(r.prompts_[0].size()) : o.prompt_;
  std::vector<std::string> wl = workload_overrides(o.sets_, users, prompt_len, o.gen_);
  if (!o.trace_.empty()) {
    wl.push_back("workload.arrival.kind=trace");
    wl.push_back("workload.arrival.trace=" + o.trace_);
  }
  r.workload_ = load_workload(o.scenario_, wl);

  // Functional mode loads the weights later (run()); the config is read the same way here.
  r.model_ = load_model_config(o.model_);
  r.widths_ = resolve_widths(r.model_, o.numerics_, o.weight_bits_, o.kv_bits_, o.sets_,
                             "simulate");
  return r;
}

nlohmann::json resolved_config_json(const Resolved& r, const SimulateOptions& o,
                                     const nlohmann::json& mapping) {
  nlohmann::json j = design_config_json(r.model_, r.chip_, r.tech_ ? &*r.tech_ : nullptr,
                                        r.workload_, r.widths_);
  j["simulate"] = {{"level", o.level_},
                   {"functional", o.functional_},
                   {"prompts", r.prompts_},
                   {"synthetic_seed", o.synthetic_seed_option_->count() > 0
                                          ? nlohmann::json(o.synthetic_seed_)
                                          : nlohmann::json(nullptr)},
                   {"vcd", o.vcd_},
                   {"rtl", o.rtl_},
                   {"rtl_vcd", o.rtl_vcd_},
                   {"timeline", o.timeline_},
                   {"timeline_max_events", o.timeline_max_events_}};
  j["mapping"] = mapping;
  return j;
}

std::string seconds_text(double s) {
  if (s >= 1.0) return num(s, "%.3f") + " s";
  if (s >= 1e-3) return num(s * 1e3, "%.3f") + " ms";
  return num(s * 1e6, "%.2f") + " us";
}

// `power`: the --power keys (activity_power_json), null without --power.
void print_result(std::ostream& out, const sim::SimResult& r, const nlohmann::json& power) {
  const auto percent = [](double v) { return num(100.0 * v, "%.1f") + "%"; };
  out << r.model_ << " on " << r.chip_ << " (" << sim::sim_level_name(r.level_) << " level, "
      << (r.functional_ ? "functional" : "timing") << " mode, " << num(r.weight_bits_, "%.2f") << " weight bits, " << r.kv_bits_
      << "-bit KV)\n\n";
  Table t;
  t.add_row({"users admitted / rejected", std::to_string(r.users_admitted_) + " / " +
                                              std::to_string(r.users_rejected_) + " of " +
                                              std::to_string(r.users_requested_)});
  t.add_row({"peak concurrent users", std::to_string(r.peak_concurrent_users_)});
  t.add_row({"tokens generated", with_commas(r.tokens_generated_)});
  t.add_row({"prompt tokens computed", with_commas(r.prompt_tokens_computed_)});
  t.add_row({"simulated time", seconds_text(r.simulated_s_) + " (" + with_commas(r.cycles_) +
                                   " cycles)"});
  t.add_row({"tokens/s per user (decode)", num(r.tokens_per_s_per_user_, "%.1f")});
  t.add_row({"tokens/s total", num(r.tokens_per_s_total_, "%.1f")});
  t.add_row({"tokens/s steady (10%-90% of outputs)", num(r.steady_tokens_per_s_, "%.1f")});
  t.add_row({"time to first token p50 / p99",
             seconds_text(r.ttft_s_.p50_) + " / " + seconds_text(r.ttft_s_.p99_)});
  t.add_row({"inter-token latency p50 / p99", seconds_text(r.inter_token_latency_s_.p50_) +
                                                  " / " +
                                                  seconds_text(r.inter_token_latency_s_.p99_)});
  t.add_row({"serving policy", std::string(serving_policy_name(r.serving_.policy_)) +
                                   (r.serving_.prefill_chunk_tokens_ > 0
                                        ? ", prefill chunks of " +
                                              with_commas(r.serving_.prefill_chunk_tokens_) +
                                              " tokens"
                                        : ", whole prompts")});
  if (r.shared_prefix_tokens_ > 0) {
    const auto& pc = r.prefix_cache_;
    t.add_row({"shared prefix hits / misses / evictions",
               with_commas(pc.hits_) + " / " + with_commas(pc.misses_) + " / " +
                   with_commas(pc.evictions_) + " (" + with_commas(pc.groups_) + " group" +
                   (pc.groups_ == 1 ? "" : "s") + " of " + with_commas(r.shared_prefix_tokens_) +
                   " tokens)"});
  }
  if (r.power_measured_) {
    const auto& pc = r.power_cap_;
    t.add_row({"power cap", pc.cap_w_ > 0 ? num(pc.cap_w_, "%.1f") + " W over " +
                                                seconds_text(pc.window_s_) + " windows (" +
                                                pc.cap_source_ + ")"
                                          : "none (windows of " + seconds_text(pc.window_s_) +
                                                " measured)"});
    t.add_row({"window power average / peak", num(pc.average_power_w_, "%.1f") + " W / " +
                                                  num(pc.peak_window_power_w_, "%.1f") +
                                                  " W (" +
                                                  num(pc.peak_window_power_unthrottled_w_, "%.1f") +
                                                  " W at full clock)"});
    t.add_row({"throttled", seconds_text(pc.throttled_s_) + " (" +
                                percent(pc.throttled_fraction_) + " of the run, +" +
                                seconds_text(pc.throttle_added_s_) + ", clock period up to x" +
                                num(pc.max_stretch_, "%.2f") + ")"});
  }
  t.add_row({"max context per user", with_commas(r.max_context_tokens_) + " tokens at " +
                                         std::to_string(r.users_requested_) + " users, " +
                                         with_commas(r.max_context_tokens_1_user_) + " alone"});
  t.add_row({"users that fit at this context", with_commas(r.max_users_at_context_)});
  t.add_row({std::string("KV ") + (r.kv_in_dram_ ? "DRAM" : "SRAM") + " peak / capacity",
             binary_bytes(r.kv_peak_bytes_) + " / " + binary_bytes(r.kv_capacity_bytes_)});
  if (r.level_ == sim::SimLevel::kCycle && !r.kv_in_dram_) {
    int64_t reads = 0, writes = 0, conflicts = 0, worst = 0;
    for (int64_t v : r.kv_bank_reads_) reads += v;
    for (int64_t v : r.kv_bank_writes_) writes += v;
    for (size_t b = 0; b < r.kv_bank_conflicts_.size(); ++b) {
      conflicts += r.kv_bank_conflicts_[b];
      if (r.kv_bank_conflicts_[b] > r.kv_bank_conflicts_[size_t(worst)]) worst = int64_t(b);
    }
    t.add_row({"KV bank reads / writes (words)", with_commas(reads) + " / " + with_commas(writes)});
    t.add_row({"KV bank conflicts", with_commas(conflicts) +
                                        (conflicts > 0 ? " (most at bank " + std::to_string(worst) + ")"
                                                       : std::string())});
    if (r.kv_bank_scope_ == "die") {
      int64_t read_conflicts = 0;
      for (int64_t v : r.kv_bank_read_conflicts_) read_conflicts += v;
      t.add_row({"  of which layer vs layer reads", with_commas(read_conflicts)});
    }
  }
  if (r.level_ == sim::SimLevel::kCycle && r.kv_in_dram_ && r.kv_dram_.is_object()) {
    const nlohmann::json& k = r.kv_dram_;
    const int64_t hits = k["row_hits"], misses = k["row_misses"], channels = k["channels"];
    t.add_row({"KV DRAM bursts read / written",
               with_commas(k["reads"].get<int64_t>()) + " / " +
                   with_commas(k["writes"].get<int64_t>()) + " (" +
                   std::to_string(k["burst_bytes"].get<int64_t>()) + " B each)"});
    t.add_row({"KV DRAM row hits / misses",
               with_commas(hits) + " / " + with_commas(misses) + " (" +
                   percent(hits + misses > 0 ? double(hits) / double(hits + misses) : 0) +
                   " hits)"});
    t.add_row({"KV DRAM refreshes, data bus busy",
               with_commas(k["refreshes"].get<int64_t>()) + " over " + std::to_string(channels) +
                   " channels, " +
                   percent(channels > 0 && r.cycles_ > 0
                               ? k["busy_cycles"].get<double>() / double(channels) /
                                     double(r.cycles_)
                               : 0) +
                   " of channel time"});
  }
  for (const sim::BlockResult& b : r.blocks_) {
    if (b.name_ != "attention" || b.kv_sweeps_ == 0 || b.kv_sweeps_ == b.tokens_) continue;
    t.add_row({"attention queries per KV sweep",
               num(double(b.tokens_) / double(b.kv_sweeps_), "%.2f") + " (query tiles; " +
                   with_commas(b.kv_sweeps_) + " sweeps for " + with_commas(b.tokens_) +
                   " queries)"});
  }
  t.add_row({"bottleneck block", r.bottleneck_block_});
  t.add_row({"simulator speed", num(r.wall_s_ > 0 ? r.tokens_generated_ / r.wall_s_ : 0, "%.0f") +
                                    " tokens/s, " +
                                    num(r.wall_s_ > 0 ? r.cycles_ / r.wall_s_ : 0, "%.3g") +
                                    " cycles/s of wall time"});
  if (!power.is_null()) {
    const double tokens_per_s = r.tokens_per_s_total_;
    t.add_row({"power (" + power["tech"].get<std::string>() + ")",
               num(power["power_w"].get<double>(), "%.1f") + " W (static " +
                   num(power["static_power_w"].get<double>(), "%.1f") + " W)"});
    t.add_row({"energy per token", num(power["energy_per_token_j"].get<double>() * 1e3, "%.4f") +
                                       " mJ at " + num(tokens_per_s, "%.0f") + " tokens/s"});
  }
  t.print(out, "  ");
  if (!power.is_null()) {
    print_breakdown(out, "power (simulated activity x tech energies)", power["power_breakdown_w"],
                    power["power_w"].get<double>(), "W");
  }

  out << "\nblocks (utilization and stall cycles summed over instances)\n";
  Table b({"block", "inst", "service", "util", "input_empty", "output_full", "bank_conflict",
           "dram_bw", "fifo_peak"});
  for (const auto& blk : r.blocks_) {
    b.add_row({blk.name_, std::to_string(blk.instances_),
               blk.service_cycles_ >= 0 ? std::to_string(blk.service_cycles_) : "varies",
               num(100.0 * blk.utilization_, "%.1f") + "%", with_commas(blk.stall_cycles_[0]),
               with_commas(blk.stall_cycles_[1]), with_commas(blk.stall_cycles_[2]),
               with_commas(blk.stall_cycles_[3]), std::to_string(blk.fifo_peak_tokens_)});
  }
  b.print(out, "  ");
  if (r.functional_) {
    out << "\ngenerated\n";
    Table g({"user", "tokens"});
    for (const auto& u : r.users_) {
      g.add_row({std::to_string(u.id_), u.rejected_ ? "(rejected)" : join_ids(u.generated_)});
    }
    g.print(out, "  ");
  }
  if (r.users_rejected_ > 0) {
    // Users that could never run, grouped by reason (a workload of identical users has one).
    std::vector<std::pair<std::string, int64_t>> reasons;
    for (const auto& u : r.users_) {
      if (!u.rejected_) continue;
      auto it = std::find_if(reasons.begin(), reasons.end(),
                             [&](const auto& p) { return p.first == u.rejected_reason_; });
      if (it == reasons.end()) {
        reasons.emplace_back(u.rejected_reason_, 1);
      } else {
        ++it->second;
      }
    }
    out << "\nrejected users\n";
    for (const auto& [why, count] : reasons) {
      out << "  " << with_commas(count) << " user" << (count > 1 ? "s" : "") << ": " << why
          << "\n";
    }
  }
  if (!r.vcd_file_.empty()) out << "\nVCD -> " << r.vcd_file_ << "\n";
  if (!r.timeline_file_.empty()) out << "timeline -> " << r.timeline_file_ << "\n";
}

void run(const SimulateOptions& o) {
  const Resolved r = resolve(o);
  sim::SimOptions so;
  so.level_ = o.level_ == "cycle" ? sim::SimLevel::kCycle : sim::SimLevel::kToken;
  so.weight_bits_ = r.widths_.weight_bits_;
  so.kv_bits_ = r.widths_.kv_bits_;
  so.vcd_path_ = o.vcd_;
  if (!o.rtl_.empty()) {
    const std::string p = "layer=";
    char* end = nullptr;
    const long long layer =
        o.rtl_.rfind(p, 0) == 0 ? std::strtoll(o.rtl_.c_str() + p.size(), &end, 10) : -1;
    if (layer < 0 || !end || *end != '\0' || o.rtl_.size() == p.size()) {
      throw make_error("--rtl " + o.rtl_, "expected layer=L (a layer number)", "--rtl layer=0");
    }
    if (o.level_ != "cycle") {
      throw make_error("--rtl", "co-simulation runs at the cycle level", "add --level cycle");
    }
    so.rtl_layer_ = layer;
    so.rtl_vcd_path_ = o.rtl_vcd_;
#ifdef HARDWIRE_HAVE_RTL_COSIM
    rtl::register_rtl_cosim();
#endif
  } else if (!o.rtl_vcd_.empty()) {
    throw make_error("--rtl-vcd", "records the co-simulated RTL", "add --rtl layer=L");
  }
  so.timeline_path_ = o.timeline_;
  so.timeline_max_events_ = o.timeline_max_events_;
  std::optional<QuantizedModel> quantized;
  ModelConfig model = r.model_;
  if (o.functional_) {
    NumericsModelOptions m;
    m.model_ = o.model_;
    m.synthetic_seed_ = o.synthetic_seed_;
    m.synthetic_seed_option_ = o.synthetic_seed_option_;
    // A chip image (`hardwire quantize`) is loaded as it is; a checkpoint is quantized tensor by
    // tensor. The timing model's widths come from --numerics, so an image must match it.
    quantized = quantized_model_option(m, *r.widths_.profile_, false);
    if (model_is_chip_image(m) && quantized->profile_.name_ != r.widths_.profile_->name_) {
      throw make_error("--numerics", "the chip image " + o.model_ + " holds numerics '" +
                                         quantized->profile_.name_ + "', the run uses '" +
                                         r.widths_.profile_->name_ + "'",
                       "pass --numerics " + quantized->profile_.name_);
    }
    for (size_t i = 0; i < r.prompts_.size(); ++i) {
      check_token_range(r.prompts_[i], quantized->config_,
                        "--tokens prompt " + std::to_string(i + 1));
    }
    model = quantized->config_;
    so.functional_model_ = &*quantized;
    so.prompts_ = r.prompts_;
  }
  // --check-against: every block's integers against a reference run (gpu_ref/trace.h).
  std::unique_ptr<gpu::TraceChecker> checker;
  if (!o.check_against_.empty()) {
    int64_t longest = 0;
    for (const auto& p : r.prompts_) longest = std::max<int64_t>(longest, int64_t(p.size()));
    const int64_t capacity = longest + r.workload_.output_.highest();
    const int64_t users = std::max<int64_t>(r.workload_.users_, int64_t(r.prompts_.size()));
    checker = std::make_unique<gpu::TraceChecker>(
        model, o.check_against_, check_reference(o.check_against_, *quantized, users, capacity),
        r.prompts_);
    so.on_block_ = [&checker](const sim::Token& t, const std::string& block, int64_t layer) {
      checker->observe(t.user_, t.position_, t.input_id_, block, layer, *t.state_, t.output_id_);
    };
  }
  if (!o.no_progress_) {
    so.progress_ = [](const sim::SimProgress& p, double wall_s) {
      std::fprintf(stderr, "simulate: %.1f s wall, %lld tokens generated (%.0f/s), %lld entered\n",
                   wall_s, static_cast<long long>(p.tokens_generated_),
                   double(p.tokens_generated_) / wall_s,
                   static_cast<long long>(p.tokens_processed_));
    };
  }
  const ChipMapping mapping =
      map_model(model, r.chip_, r.widths_.weight_bits_, r.widths_.kv_bits_);
  // The fabric `estimate` builds for the same design point (power/cell_model.h).
  const DesignWidths design_widths = resolve_design_widths(
      model, static_cast<int>(r.chip_.activation_bits_),
      r.widths_.profile_ ? &*r.widths_.profile_ : nullptr, r.widths_.weight_bits_);
  if (r.tech_) {
    // Window power and the power cap use the same per-event energies as --power.
    const ChipFabric fabric = chip_fabric(mapping, *r.tech_, design_widths);
    so.event_energies_ =
        event_energies(mapping, *r.tech_, fabric, chip_area(mapping, *r.tech_, fabric));
  }
  const sim::SimResult res = sim::run_simulation(model, r.chip_, r.workload_, so);
  nlohmann::json result = res.to_json();
  result["source"] = "simulate";
  if (checker) result["check_against"] = checker->to_json();
  // One place computes energy (power/energy.h): the simulated activity of the whole run times
  // the tech table's per-event energies, static power over the simulated time.
  nlohmann::json power;
  if (o.power_) {
    power = activity_power_json(mapping, *r.tech_, design_widths, res.activity_,
                                res.simulated_s_, double(res.tokens_generated_));
    result.update(power);
  }
  if (!o.out_.empty()) {
    make_out_dir(o.out_);
    write_json_file(std::filesystem::path(o.out_) / "result.json", result);
    write_json_file(std::filesystem::path(o.out_) / "resolved_config.json",
                    resolved_config_json(r, o, mapping.to_json()));
  }
  if (o.json_) {
    std::cout << result.dump(2) << "\n";
  } else {
    print_result(std::cout, res, power);
  }
  if (checker) {
    if (!o.json_) std::cout << "\n" << checker->summary() << "\n";
    if (!checker->ok()) {
      throw make_error("--check-against " + o.check_against_, checker->summary(),
                       "the simulator's functional data diverged from the reference at that block");
    }
  }
  if (res.users_admitted_ == 0) {
    // Nothing ran: the figures above are all zero, so the exit status says so too.
    const std::string why = res.users_.empty() ? std::string() : res.users_[0].rejected_reason_;
    throw make_error("simulate", "no user could run: " + why,
                     "shorten --prompt/--gen, or give the chip more KV memory");
  }
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "SystemC model of the chip: tokens/s per user and total, TTFT, inter-token latency, KV "
      "admission, per-block utilization and stalls");
  cmd->add_option("--model", o->model_,
                  "Model preset, config.json or .gguf (functional mode: a weight file, or a "
                  "preset with --synthetic-seed)")
      ->capture_default_str();
  cmd->add_option("--chip", o->chip_, "Chip name (configs/chips/) or YAML path")
      ->capture_default_str();
  add_tech_option(*cmd, o->tech_, "used by --power and the power cap (chip.power.cap_w)");
  cmd->add_flag("--power", o->power_,
                "Power and energy per token from the simulated activity counts and the tech "
                "table's event energies (the estimator's tables)");
  cmd->add_option("--numerics", o->numerics_,
                  std::string("Numerics profile (configs/numerics/) or YAML path; default ") +
                      kDefaultNumerics);
  cmd->add_option("--weight-bits", o->weight_bits_,
                  "Mean weight bits (timing mode; overrides the numerics profile)")
      ->check(CLI::Range(0.5, 64.0));
  cmd->add_option("--kv-bits", o->kv_bits_,
                  "KV cache bits (timing mode; overrides the numerics profile)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--scenario", o->scenario_, "Workload scenario (configs/scenarios/) or YAML");
  cmd->add_option("--users", o->users_, "Users (workload.users)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  cmd->add_option("--prompt", o->prompt_, "Prompt tokens per user (fixed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--gen", o->gen_, "Generated tokens per user (fixed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--trace", o->trace_,
                  "Arrival trace CSV (arrival_s,prompt_tokens,output_tokens), instead of "
                  "--users/--prompt/--gen");
  cmd->add_option("--set", o->sets_,
                  "Override root.key=value (roots: chip, tech (with --power), workload, "
                  "numerics); repeatable");
  cmd->add_flag("--json", o->json_, "Print the result as JSON");
  cmd->add_option("--out", o->out_, "Directory for result.json and resolved_config.json");
  cmd->add_option("--vcd", o->vcd_, "Write a VCD of per-block busy / queued signals");
  cmd->add_option("--timeline", o->timeline_,
                  "Write a Chrome-trace / Perfetto JSON timeline of block occupancy");
  cmd->add_option("--timeline-max-events", o->timeline_max_events_,
                  "Slices recorded in the timeline before it stops (default 2,000,000)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 34));
  cmd->add_flag("--functional", o->functional_,
                "Carry real data through the golden numerics (small models); reports the "
                "generated token ids");
  cmd->add_option("--tokens", o->tokens_,
                  "Functional mode prompts: comma-separated ids, ';' between users' prompts "
                  "(user i gets prompt i mod n)");
  o->synthetic_seed_option_ = cmd->add_option(
      "--synthetic-seed", o->synthetic_seed_,
      "Functional mode: seeded random weights of --model's shape instead of a checkpoint");
  cmd->add_flag("--no-progress", o->no_progress_, "No progress lines on stderr");
  cmd->add_option("--check-against", o->check_against_,
                  "Functional mode: compare every block's integers, token by token, with a "
                  "reference run (cpu: the golden model; cuda: the CUDA reference) and report the "
                  "first divergence (user, position, layer, block, element); exit non-zero on a "
                  "mismatch")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--level", o->level_,
                  "token: the fast token-level model (sweeps); cycle: every block instance a "
                  "clocked process streaming chunks, KV as addressed bank traffic (short runs)")
      ->check(CLI::IsMember({"token", "cycle"}))
      ->capture_default_str();
  cmd->add_option("--rtl", o->rtl_,
                  "layer=L: co-simulation, the Verilated RTL of layer L's matrix blocks in the "
                  "cycle-level chip (builds with Verilator; docs/rtl.md \"Co-simulation\")");
  cmd->add_option("--rtl-vcd", o->rtl_vcd_,
                  "With --rtl: VCD of the co-simulated blocks' pins (GTKWave)");
  cmd->callback([o]() { run(*o); });
}

}  // namespace hw::cli
#endif  // HARDWIRE_HAVE_SYSTEMC
