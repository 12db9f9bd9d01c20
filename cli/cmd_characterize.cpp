// `hardwire characterize`: runs a few layers of a model on a chip at the cycle level and at the
// token level over a grid of contexts and occupancies (sim/characterize.h) and writes the table
// (JSON with stable keys, units in the names) to --out and to the cache
// (characterize_cache_path), and prints it as an aligned table: per point the cycle level's
// tokens/s, TTFT and inter-token latency, the token level's and the closed form's errors against
// it, and the slowest block's measured service per token. Built only with SystemC.
#ifdef HARDWIRE_HAVE_SYSTEMC
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/run_options.h"
#include "common/error.h"
#include "common/param_tree.h"
#include "model/model_config.h"
#include "sim/characterize.h"

namespace hw::cli {
namespace {

struct CharacterizeCli {
  std::string model_ = "llama-3.1-8b";
  std::string chip_ = "hc1-like";
  std::string numerics_;
  double weight_bits_ = 0;
  int kv_bits_ = 0;
  std::vector<std::string> sets_;
  std::vector<int64_t> contexts_ = {16, 64, 256, 1024};
  std::vector<int64_t> users_ = {1, 4};
  int64_t gen_ = 16;
  int64_t layers_ = 2;
  std::string out_;
  bool json_ = false;
  bool no_progress_ = false;
};

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string pct(const nlohmann::json& v) {
  return v.is_null() ? "" : fmt("%+.2f", v.get<double>());
}

void run(const CharacterizeCli& o) {
  check_override_roots(o.sets_, {"chip", "numerics"});
  const ChipConfig chip = load_chip_config(o.chip_, o.sets_);
  const ModelConfig model = load_model_config(o.model_);
  const Widths w =
      resolve_widths(model, o.numerics_, o.weight_bits_, o.kv_bits_, o.sets_, "characterize");
  sim::CharacterizeOptions co;
  co.contexts_ = o.contexts_;
  co.users_ = o.users_;
  co.output_tokens_ = o.gen_;
  co.layers_ = o.layers_;
  co.weight_bits_ = w.weight_bits_;
  co.kv_bits_ = w.kv_bits_;
  co.numerics_ = o.numerics_.empty() && !w.profile_ ? "explicit widths"
                 : o.numerics_.empty()              ? kDefaultNumerics
                                                    : o.numerics_;
  const nlohmann::json table =
      sim::characterize(model, chip, co, [&](int64_t done, int64_t total) {
        if (!o.no_progress_) {
          std::cerr << "characterize: " << done << " / " << total << " points\r" << std::flush;
        }
      });
  if (!o.no_progress_) std::cerr << "\n";
  const std::string cache = sim::characterize_cache_path(table["key"]);
  std::filesystem::create_directories(std::filesystem::path(cache).parent_path());
  write_json_file(cache, table);
  if (!o.out_.empty()) write_json_file(o.out_, table);
  if (o.json_) {
    std::cout << table.dump(2) << "\n";
    return;
  }
  std::cout << model.name_ << " on " << chip.name_ << ": " << table["layers_simulated"]
            << " layers at the cycle level and the token level, " << co.numerics_ << " ("
            << fmt("%.2f", co.weight_bits_) << " weight bits, " << co.kv_bits_
            << "-bit KV)\n\n";
  Table t({"context", "users", "cycle tokens/s", "cycle TTFT us", "cycle ITL us",
           "token tok/s %", "token TTFT %", "token ITL %", "closed ITL %", "closed TTFT %",
           "slowest block", "service cycles/token"});
  for (const auto& r : table["rows"]) {
    std::string slow;
    double slow_s = -1;
    for (const auto& [name, b] : r["blocks"].items()) {
      const double s = b["service_cycles_per_token"].get<double>();
      if (s > slow_s) {
        slow_s = s;
        slow = name;
      }
    }
    const auto& e = r["error_pct"];
    t.add_row({std::to_string(r["context_tokens"].get<int64_t>()),
               std::to_string(r["users"].get<int64_t>()),
               fmt("%.0f", r["cycle"]["tokens_per_s_total"].get<double>()),
               fmt("%.3f", 1e6 * r["cycle"]["ttft_s"].get<double>()),
               fmt("%.3f", 1e6 * r["cycle"]["inter_token_latency_s"].get<double>()),
               pct(e["token_vs_cycle"]["tokens_per_s_total"]), pct(e["token_vs_cycle"]["ttft_s"]),
               pct(e["token_vs_cycle"]["inter_token_latency_s"]),
               pct(e["closed_form_vs_cycle"]["inter_token_latency_s"]),
               e["closed_form_vs_cycle"].contains("ttft_s")
                   ? pct(e["closed_form_vs_cycle"]["ttft_s"])
                   : "",
               slow, fmt("%.1f", slow_s)});
  }
  t.print(std::cout, "  ");
  for (const auto& s : table["skipped"]) {
    std::cout << "  skipped: context " << s["context_tokens"] << ", " << s["users"]
              << " users (" << s["reason"].get<std::string>() << ")\n";
  }
  std::cout << "\n  errors are (token level or closed form - cycle level) / cycle level\n"
            << "  table: " << cache << (o.out_.empty() ? "" : " and " + o.out_) << "\n";
}

}  // namespace

void add_characterize_command(CLI::App& app) {
  auto o = std::make_shared<CharacterizeCli>();
  CLI::App* cmd = app.add_subcommand(
      "characterize",
      "Cycle-level characterization: a few layers at the cycle and the token level over contexts "
      "and users; per-point errors of the token level and the closed forms, per-block service "
      "and stalls (cached per model + chip + numerics)");
  cmd->add_option("--model", o->model_, "Model preset, config.json or .gguf")
      ->capture_default_str();
  cmd->add_option("--chip", o->chip_, "Chip name (configs/chips/) or YAML path")
      ->capture_default_str();
  cmd->add_option("--numerics", o->numerics_,
                  std::string("Numerics profile (configs/numerics/) or YAML; default ") +
                      kDefaultNumerics);
  cmd->add_option("--weight-bits", o->weight_bits_, "Mean weight bits (overrides the profile)")
      ->check(CLI::Range(0.5, 64.0));
  cmd->add_option("--kv-bits", o->kv_bits_, "KV cache bits (overrides the profile)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--set", o->sets_, "Override root.key=value (roots: chip, numerics)");
  cmd->add_option("--contexts", o->contexts_, "Prompt lengths of the grid (tokens)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--users", o->users_, "Users decoding together (the grid's occupancies)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--gen", o->gen_, "Generated tokens per user at each point")
      ->check(CLI::Range(int64_t(2), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--layers", o->layers_,
                  "Layers simulated (0: all); 2 = the first layer and a steady one")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--out", o->out_, "Also write the table (JSON) to this file");
  cmd->add_flag("--json", o->json_, "Print the table as JSON");
  cmd->add_flag("--no-progress", o->no_progress_, "No progress line on stderr");
  cmd->callback([o]() { run(*o); });
}

}  // namespace hw::cli
#endif
