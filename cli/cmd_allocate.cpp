// `hardwire allocate`: which tensors can go to 3 bits under a ROM budget, and what it costs.
// Measures every tensor's sensitivity (KL increase on calibration text when that tensor alone
// is narrowed), chooses the widths by a multiple-choice knapsack under the ROM capacity
// (model/allocator.h), and writes the result as a numerics profile every other command takes.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/numerics_options.h"
#include "cli/output.h"
#include "common/error.h"
#include "model/allocator.h"
#include "model/quality.h"

namespace hw::cli {
namespace {

constexpr int64_t kDefaultCalibrationTokens = 512;

struct AllocateOptions {
  NumericsModelOptions model_;
  std::string rom_bits_;
  std::string tokens_file_;
  int64_t n_tokens_ = kDefaultCalibrationTokens;
  std::string widths_ = "3,4,6,8";
  std::string out_;
  std::string evaluate_file_;
  int64_t evaluate_tokens_ = 1024;
  int64_t evaluate_skip_ = 0;
  ScoreOptions score_;
  bool json_ = false;
};

std::vector<int> parse_widths(const std::string& text) {
  const std::string hint = "give a list such as 3,4,6,8";
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string s = text.substr(start, end - start);
    if (s.empty() || s.size() > 1 || !std::isdigit(static_cast<unsigned char>(s[0]))) {
      throw make_error("--widths", "'" + s + "' is not a width in '" + text + "'", hint);
    }
    const int b = s[0] - '0';
    if (b < 2 || b > 8) throw make_error("--widths", "width " + s + " is outside 2..8", hint);
    out.push_back(b);
    start = end + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A number of bits (1e6, 3932160, 4.5e6), or a numerics profile whose ROM size for this model
// is the budget.
double parse_budget(const std::string& text, const AllocateOptions& o, const ModelConfig& config,
                    std::string& budget_profile) {
  if (text.empty()) throw make_error("--rom-bits", "is required");
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) {
      if (!(v > 0.0)) throw make_error("--rom-bits", "'" + text + "' is not a positive number of bits");
      return v;
    }
  } catch (const std::invalid_argument&) {
  } catch (const std::out_of_range&) {
    throw make_error("--rom-bits", "'" + text + "' is out of range");
  }
  NumericsModelOptions m = o.model_;
  m.numerics_ = text;
  const NumericsProfile p = load_profile_option(m);
  budget_profile = p.name_;
  return p.rom_bits(config);
}

void run_allocate(const AllocateOptions& o) {
  const std::vector<int> widths = parse_widths(o.widths_);
  if (o.out_.empty()) throw make_error("--out", "is required", "give the YAML file to write");
  const NumericsProfile base = load_profile_option(o.model_);
  const ModelWeights weights = load_model_option(o.model_);
  const ModelConfig& config = weights.config_;
  std::string budget_profile;
  const double budget = parse_budget(o.rom_bits_, o, config, budget_profile);

  std::vector<int32_t> tokens;
  std::string source;
  if (!o.tokens_file_.empty()) {
    tokens = read_token_file(o.tokens_file_);
    check_token_range(tokens, config, "--tokens-file " + o.tokens_file_);
    if (static_cast<int64_t>(tokens.size()) > o.n_tokens_) tokens.resize(static_cast<size_t>(o.n_tokens_));
    source = o.tokens_file_;
  } else {
    tokens = seeded_tokens(config.vocab_, std::min(o.n_tokens_, config.max_positions_), 1);
    source = "seeded";
    std::cerr << "warning: no --tokens-file: calibrating on seeded random ids, which says little "
                 "about text; give real text tokenized for this model\n";
  }

  const std::vector<AllocTensor> tensors = allocatable_tensors(config);
  const ProfileMaker make = [&](const std::vector<std::string>& extra) {
    return load_profile_option(o.model_, extra);
  };
  const RomCosts costs = rom_costs(config, make, tensors, widths);
  {
    // Fail before the sensitivity runs when even the narrowest widths do not fit.
    Sensitivity empty;
    empty.widths_ = widths;
    empty.delta_kl_.assign(tensors.size(), std::vector<double>(widths.size(), 0.0));
    allocate_widths(empty, costs, budget);
  }
  const bool show = !o.json_;
  const Sensitivity sens = measure_sensitivity(
      weights, make, tensors, widths, tokens, o.score_, [&](int64_t done, int64_t total) {
        if (show) std::cerr << "\r  sensitivity: run " << done << " / " << total << std::flush;
      });
  if (show) std::cerr << "\n";
  const Allocation a = allocate_widths(sens, costs, budget);
  const NumericsProfile result = make(allocation_overrides(config, tensors, a.bits_));

  std::vector<std::string> comment = {
      "Written by `hardwire allocate` for " + config.name_ + " (docs/numerics.md, \"Allocating widths\").",
      "Base profile " + base.name_ + ", widths {" + o.widths_ + "}, ROM budget " +
          fixed(budget, 0) + " bits" + (budget_profile.empty() ? "" : " (the ROM of " + budget_profile + ")") +
          ", calibration " + source + " (" + std::to_string(tokens.size()) + " tokens).",
      "ROM used " + fixed(a.rom_bits_, 0) + " bits; predicted KL increase over all-" +
          std::to_string(sens.widths_.back()) + "-bit " + fixed(a.predicted_delta_kl_, 5) + " nats."};
  {
    std::ofstream out(o.out_);
    if (!out) throw make_error("--out " + o.out_, "cannot write the file");
    out << profile_yaml(result, comment);
  }

  // Optional held-out evaluation: the allocation, the budget profile, a random allocation.
  struct Eval {
    std::string name_;
    StreamQuality q_;
  };
  std::vector<Eval> evals;
  if (!o.evaluate_file_.empty()) {
    std::vector<int32_t> ev = read_token_file(o.evaluate_file_);
    check_token_range(ev, config, "--evaluate " + o.evaluate_file_);
    if (o.evaluate_skip_ + 2 > static_cast<int64_t>(ev.size())) {
      throw make_error("--evaluate-skip", std::to_string(o.evaluate_skip_) +
                                              " leaves fewer than 2 tokens of " + o.evaluate_file_);
    }
    ev.erase(ev.begin(), ev.begin() + o.evaluate_skip_);
    if (static_cast<int64_t>(ev.size()) > o.evaluate_tokens_) ev.resize(static_cast<size_t>(o.evaluate_tokens_));
    const FloatWindows ref = float_windows(weights, ev, o.score_);
    evals.push_back({"allocated", measure_stream_quality(weights, result, ev, ref, o.score_)});
    if (!budget_profile.empty()) {
      NumericsModelOptions m = o.model_;
      m.numerics_ = o.rom_bits_;
      evals.push_back({budget_profile, measure_stream_quality(weights, load_profile_option(m), ev, ref, o.score_)});
    }
    const std::vector<int> rnd = random_allocation(costs, sens.widths_, budget, 1);
    evals.push_back({"random (seed 1)",
                     measure_stream_quality(weights, make(allocation_overrides(config, tensors, rnd)), ev, ref, o.score_)});
  }

  if (o.json_) {
    nlohmann::json j;
    j["model"] = config.name_;
    j["base_numerics"] = base.name_;
    j["budget_bits"] = budget;
    if (!budget_profile.empty()) j["budget_profile"] = budget_profile;
    j["rom_bits"] = a.rom_bits_;
    j["fixed_bits"] = costs.fixed_bits_;
    j["widths"] = sens.widths_;
    j["calibration_source"] = source;
    j["calibration_tokens"] = static_cast<int64_t>(tokens.size());
    j["reference_kl"] = sens.reference_kl_;
    j["predicted_delta_kl"] = a.predicted_delta_kl_;
    j["out"] = o.out_;
    nlohmann::json ts = nlohmann::json::array();
    for (size_t t = 0; t < tensors.size(); ++t) {
      ts.push_back({{"name", tensors[t].name_},
                    {"params", tensors[t].rows_ * tensors[t].cols_},
                    {"bits", a.bits_[t]},
                    {"delta_kl_by_width", sens.delta_kl_[t]}});
    }
    j["tensors"] = ts;
    if (!evals.empty()) {
      nlohmann::json e = nlohmann::json::array();
      for (const Eval& ev : evals) {
        e.push_back({{"name", ev.name_},
                     {"rom_bits", ev.q_.rom_bits_},
                     {"mean_kl", ev.q_.mean_kl_},
                     {"mean_kl_ci95", {ev.q_.mean_kl_ci_.lo_, ev.q_.mean_kl_ci_.hi_}},
                     {"perplexity_ratio", ev.q_.perplexity_ratio_},
                     {"top1_agreement", ev.q_.top1_agreement_}});
      }
      j["evaluation"] = e;
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << config.name_ << ": widths from {" << o.widths_ << "} under a ROM budget of "
            << fixed(budget, 0) << " bits"
            << (budget_profile.empty() ? "" : " (the ROM of " + budget_profile + ")") << "\n"
            << "calibration: " << source << ", " << tokens.size() << " tokens; reference KL (all "
            << sens.widths_.back() << "-bit) " << fixed(sens.reference_kl_, 5) << " nats\n\n";
  std::vector<std::string> head = {"tensor", "params", "bits"};
  for (size_t w = 0; w + 1 < sens.widths_.size(); ++w) {
    head.push_back("dKL @" + std::to_string(sens.widths_[w]));
  }
  Table t(head);
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::vector<std::string> row = {tensors[i].name_, std::to_string(tensors[i].rows_ * tensors[i].cols_),
                                    std::to_string(a.bits_[i])};
    for (size_t w = 0; w + 1 < sens.widths_.size(); ++w) row.push_back(fixed(sens.delta_kl_[i][w], 5));
    t.add_row(row);
  }
  t.print(std::cout, "  ");
  std::cout << "\nROM used " << fixed(a.rom_bits_, 0) << " of " << fixed(budget, 0)
            << " bits (" << fixed(result.mean_weight_bits(config), 3)
            << " value bits / param); predicted KL increase " << fixed(a.predicted_delta_kl_, 5)
            << " nats\nwrote " << o.out_ << "\n";
  if (!evals.empty()) {
    std::cout << "\nheld-out evaluation on " << o.evaluate_file_ << " (tokens " << o.evaluate_skip_
              << " to " << o.evaluate_skip_ + o.evaluate_tokens_ << " at most):\n";
    Table e({"profile", "ROM bits", "mean KL (nats)", "perplexity ratio", "top-1 agreement"});
    for (const Eval& ev : evals) {
      e.add_row({ev.name_, fixed(ev.q_.rom_bits_, 0),
                 fixed(ev.q_.mean_kl_, 5) + " [" + fixed(ev.q_.mean_kl_ci_.lo_, 5) + ", " +
                     fixed(ev.q_.mean_kl_ci_.hi_, 5) + "]",
                 fixed(ev.q_.perplexity_ratio_, 4), fixed(ev.q_.top1_agreement_, 3)});
    }
    e.print(std::cout, "  ");
  }
}

}  // namespace

void add_allocate_command(CLI::App& app) {
  auto opts = std::make_shared<AllocateOptions>();
  opts->model_.numerics_ = "w4a8";
  CLI::App* cmd = app.add_subcommand(
      "allocate",
      "Choose a weight width per tensor that minimises the KL cost on calibration text under a "
      "ROM budget; write it as a numerics profile");
  cmd->add_option("--model", opts->model_.model_,
                  "A .gguf file, a safetensors checkpoint, or with --synthetic-seed a model spec")
      ->required();
  cmd->add_option("--numerics", opts->model_.numerics_,
                  "Base profile: scales, activations, KV cache and rounding of the result "
                  "(default w4a8)");
  cmd->add_option("--set", opts->model_.overrides_,
                  "Override a base-profile value, e.g. --set numerics.weights.group_size=64");
  opts->model_.synthetic_seed_option_ = cmd->add_option(
      "--synthetic-seed", opts->model_.synthetic_seed_, "Seeded random weights of --model's shape");
  cmd->add_option("--rom-bits", opts->rom_bits_,
                  "ROM capacity in bits (values, scales, exponents, norms, biases), or a profile "
                  "name whose ROM size for this model is the budget (e.g. w4a8)")
      ->required();
  cmd->add_option("--tokens-file", opts->tokens_file_,
                  "Calibration text as token ids (default: seeded random ids)");
  cmd->add_option("--n-tokens", opts->n_tokens_,
                  "Calibration tokens used, the first of the file (default 512)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--widths", opts->widths_, "Candidate widths (default 3,4,6,8)");
  cmd->add_option("--window", opts->score_.window_tokens_,
                  "Positions per scoring window (default 0: the model's context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--out", opts->out_, "The numerics profile (YAML) to write")->required();
  cmd->add_option("--evaluate", opts->evaluate_file_,
                  "Held-out token file: score the allocation, the --rom-bits profile and a random "
                  "allocation of the same budget on it");
  cmd->add_option("--evaluate-tokens", opts->evaluate_tokens_,
                  "Tokens of --evaluate used (default 1024)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--evaluate-skip", opts->evaluate_skip_,
                  "Leave out the first N tokens of --evaluate (e.g. the calibration text)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", opts->json_, "Print JSON");
  cmd->callback([opts]() { run_allocate(*opts); });
}

}  // namespace hw::cli
