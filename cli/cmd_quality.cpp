// `hardwire quality`: what hardwiring a model at a numerics profile does to its output. Runs
// the golden model and the float reference on one token stream (given, from a file, or a
// seeded default) in consecutive context-sized windows, and prints the perplexity of float and
// chip numerics, their ratio, mean KL and top-1 agreement with block-bootstrap 95% intervals,
// and the worst logit error; --compare adds profiles, --bits sweeps every weight width (the
// quality-vs-bits curve). docs/numerics.md, "Measuring quality", gives the method.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/numerics_options.h"
#include "cli/output.h"
#include "common/error.h"
#include "model/chip_image.h"
#include "model/quality.h"

namespace hw::cli {
namespace {

// Default stream: this many seeded ids (fewer when the model's context is shorter).
constexpr int64_t kDefaultStreamTokens = 128;

struct QualityOptions {
  NumericsModelOptions model_;
  std::string tokens_;
  std::string tokens_file_;
  int64_t skip_tokens_ = 0;
  int64_t n_tokens_ = kDefaultStreamTokens;
  CLI::Option* n_tokens_option_ = nullptr;
  uint64_t seed_ = 1;
  std::string bits_;
  std::string compare_;
  std::string chip_image_;
  ScoreOptions score_;
  bool json_ = false;
};

// "2..8", "3,4,6,8" or "4": weight widths in 2..8, in the order given.
std::vector<int> parse_bits(const std::string& text) {
  const std::string hint = "give a range such as 2..8, a list such as 3,4,6,8, or one width";
  auto to_bits = [&](const std::string& s) {
    if (s.empty() || s.size() > 2 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      throw make_error("--bits", "'" + s + "' is not a width in '" + text + "'", hint);
    }
    const int b = std::stoi(s);
    if (b < 2 || b > 8) throw make_error("--bits", "width " + s + " is outside 2..8", hint);
    return b;
  };
  std::vector<int> out;
  const size_t dots = text.find("..");
  if (dots != std::string::npos) {
    const int lo = to_bits(text.substr(0, dots));
    const int hi = to_bits(text.substr(dots + 2));
    if (lo > hi) throw make_error("--bits", "range '" + text + "' is empty", hint);
    for (int b = lo; b <= hi; ++b) out.push_back(b);
    return out;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(to_bits(text.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string name = text.substr(start, end - start);
    if (name.empty()) throw make_error("--compare", "empty profile name in '" + text + "'");
    out.push_back(name);
    start = end + 1;
  }
  return out;
}

nlohmann::json interval_json(const Interval& i) { return nlohmann::json::array({i.lo_, i.hi_}); }

nlohmann::json report_json(const StreamQuality& q) {
  return {{"top1_agreement", q.top1_agreement_},
          {"top1_agreement_ci95", interval_json(q.top1_ci_)},
          {"mean_kl", q.mean_kl_},
          {"mean_kl_ci95", interval_json(q.mean_kl_ci_)},
          {"max_logit_error", q.max_logit_error_},
          {"perplexity_ratio", q.perplexity_ratio_},
          {"perplexity_ratio_ci95", interval_json(q.perplexity_ratio_ci_)},
          {"perplexity_float", q.perplexity_float_},
          {"perplexity_float_ci95", interval_json(q.perplexity_float_ci_)},
          {"perplexity_chip", q.perplexity_chip_},
          {"perplexity_chip_ci95", interval_json(q.perplexity_chip_ci_)},
          {"mean_weight_bits", q.mean_weight_bits_},
          {"rom_bits", q.rom_bits_}};
}

std::string with_ci(double v, const Interval& i, int digits, bool ci) {
  return ci ? fixed(v, digits) + " [" + fixed(i.lo_, digits) + ", " + fixed(i.hi_, digits) + "]"
            : fixed(v, digits);
}

std::vector<std::string> report_cells(const std::string& name, const StreamQuality& q, bool ci) {
  return {name,
          fixed(q.mean_weight_bits_, 2),
          fixed(q.rom_bits_ / 8.0 / 1024.0, 1),
          with_ci(q.perplexity_chip_, q.perplexity_chip_ci_, 4, ci),
          with_ci(q.perplexity_ratio_, q.perplexity_ratio_ci_, 4, ci),
          with_ci(q.mean_kl_, q.mean_kl_ci_, 5, ci),
          with_ci(q.top1_agreement_, q.top1_ci_, 3, ci),
          fixed(q.max_logit_error_, 3)};
}

void run_quality(const QualityOptions& o) {
  if (!o.tokens_.empty() && !o.tokens_file_.empty()) {
    throw make_error("--tokens-file", "cannot be combined with --tokens", "give one stream");
  }
  if (o.skip_tokens_ > 0 && o.tokens_file_.empty()) {
    throw make_error("--skip-tokens", "applies to --tokens-file only");
  }
  const std::vector<int> bits = o.bits_.empty() ? std::vector<int>{} : parse_bits(o.bits_);
  const std::vector<std::string> compare =
      o.compare_.empty() ? std::vector<std::string>{} : split_names(o.compare_);
  // --chip-image: the chip row is the image's exact bits; the float reference runs the checkpoint.
  std::unique_ptr<QuantizedModel> image;
  if (!o.chip_image_.empty()) image = std::make_unique<QuantizedModel>(load_chip_image(o.chip_image_));
  const NumericsProfile profile = image ? image->profile_ : load_profile_option(o.model_);
  std::vector<NumericsProfile> others;
  for (const std::string& name : compare) {
    NumericsModelOptions m = o.model_;
    m.numerics_ = name;
    others.push_back(load_profile_option(m));
  }
  const ModelWeights weights = load_model_option(o.model_);
  const ModelConfig& config = weights.config_;
  if (image) {
    const ModelConfig& ic = image->config_;
    if (ic.vocab_ != config.vocab_ || ic.d_model_ != config.d_model_ || ic.n_layers_ != config.n_layers_ ||
        ic.d_ff_ != config.d_ff_ || ic.n_heads_ != config.n_heads_ || ic.n_kv_heads_ != config.n_kv_heads_ ||
        ic.max_positions_ != config.max_positions_) {
      throw make_error("--chip-image " + o.chip_image_,
                       "holds " + ic.name_ + ", whose shape differs from --model " + o.model_.model_,
                       "give the checkpoint the image was quantized from");
    }
  }

  std::vector<int32_t> tokens;
  std::string source;
  if (!o.tokens_.empty()) {
    tokens = parse_token_list(o.tokens_);
    check_token_range(tokens, config, "--tokens");
    source = "--tokens";
  } else if (!o.tokens_file_.empty()) {
    tokens = read_token_file(o.tokens_file_);
    check_token_range(tokens, config, "--tokens-file " + o.tokens_file_);
    source = o.tokens_file_;
    if (o.skip_tokens_ > 0) {
      if (o.skip_tokens_ + 2 > static_cast<int64_t>(tokens.size())) {
        throw make_error("--skip-tokens", std::to_string(o.skip_tokens_) + " leaves fewer than 2 of the " +
                                              std::to_string(tokens.size()) + " tokens of " + o.tokens_file_);
      }
      tokens.erase(tokens.begin(), tokens.begin() + o.skip_tokens_);
      source += " from token " + std::to_string(o.skip_tokens_);
    }
  } else {
    const bool explicit_n = o.n_tokens_option_->count() > 0;
    if (explicit_n && o.n_tokens_ > config.max_positions_) {
      throw make_error("--n-tokens", std::to_string(o.n_tokens_) + " exceeds the " +
                                         std::to_string(config.max_positions_) +
                                         " positions of " + config.name_,
                       "the seeded stream is at most one context; use --tokens-file for longer "
                       "text, which is scored in context-sized windows");
    }
    const int64_t n = std::min(o.n_tokens_, config.max_positions_);
    tokens = seeded_tokens(config.vocab_, n, o.seed_);
    source = "seeded";
  }

  const bool progress = !o.json_ && tokens.size() > 1024;
  const FloatWindows ref = float_windows(weights, tokens, o.score_);
  auto measure = [&](const NumericsProfile& p, const std::string& label) {
    if (progress) std::cerr << "  scoring " << label << " ...\n";
    return measure_stream_quality(weights, p, tokens, ref, o.score_);
  };
  const StreamQuality base =
      image ? measure_stream_quality(*image, tokens, ref, o.score_) : measure(profile, profile.name_);
  std::vector<StreamQuality> other_q;
  for (const NumericsProfile& p : others) other_q.push_back(measure(p, p.name_));
  std::vector<StreamQuality> curve;
  for (int b : bits) {
    curve.push_back(measure(load_profile_option(o.model_, uniform_weight_bits_overrides(b)),
                            "all int" + std::to_string(b)));
  }
  const bool ci = o.score_.bootstrap_samples_ > 0;

  if (o.json_) {
    nlohmann::json j = report_json(base);
    j["model"] = config.name_;
    j["numerics"] = profile.name_;
    if (image) j["chip_image"] = o.chip_image_;
    j["n_tokens"] = static_cast<int64_t>(tokens.size());
    j["n_windows"] = base.n_windows_;
    j["window_tokens"] = base.window_tokens_;
    j["n_scored"] = base.n_scored_;
    j["scoring"] = o.score_.second_half_ ? "second_half" : "all";
    j["bootstrap"] = {{"samples", o.score_.bootstrap_samples_},
                      {"block_predictions", o.score_.bootstrap_block_},
                      {"seed", o.score_.seed_},
                      {"interval", "95% percentile"}};
    j["tokens_source"] = source;
    if (source == "seeded") j["seed"] = o.seed_;
    j["activation_bits"] = profile.activation_bits_;
    j["kv_bits"] = profile.kv_bits();
    if (!others.empty()) {
      nlohmann::json c = nlohmann::json::array();
      for (size_t i = 0; i < others.size(); ++i) {
        nlohmann::json e = report_json(other_q[i]);
        e["numerics"] = others[i].name_;
        e["config"] = others[i].to_json();
        c.push_back(e);
      }
      j["compare"] = c;
    }
    if (!bits.empty()) {
      nlohmann::json c = nlohmann::json::array();
      for (size_t i = 0; i < bits.size(); ++i) {
        nlohmann::json e = report_json(curve[i]);
        e["weight_bits"] = bits[i];
        c.push_back(e);
      }
      j["curve"] = c;
    }
    j["config"] = profile.to_json();
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << config.name_ << ": chip numerics against the float reference on " << tokens.size()
            << " tokens ("
            << (source == "seeded" ? "seeded stream, seed " + std::to_string(o.seed_) : source)
            << "), " << base.n_windows_ << " window(s) of " << base.window_tokens_
            << " positions, " << base.n_scored_ << " predictions scored"
            << (o.score_.second_half_ ? " (second half of each window)" : "") << "\n";
  std::cout << "float perplexity: "
            << with_ci(base.perplexity_float_, base.perplexity_float_ci_, 4, ci) << "\n";
  if (ci) {
    std::cout << "[95% intervals: moving-block bootstrap, " << o.score_.bootstrap_samples_
              << " resamples, blocks of " << o.score_.bootstrap_block_ << " predictions]\n";
  }
  std::cout << "\n";
  Table t({"weights", "bits/param", "ROM KiB", "perplexity", "perplexity ratio",
           "mean KL (nats)", "top-1 agreement", "max logit error"});
  t.add_row(report_cells(profile.name_, base, ci));
  for (size_t i = 0; i < others.size(); ++i) t.add_row(report_cells(others[i].name_, other_q[i], ci));
  for (size_t i = 0; i < bits.size(); ++i) {
    t.add_row(report_cells("all int" + std::to_string(bits[i]), curve[i], ci));
  }
  t.print(std::cout, "  ");
}

}  // namespace

void add_quality_command(CLI::App& app) {
  auto opts = std::make_shared<QualityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quality",
      "Compare the chip numerics with the float reference on a token stream: perplexity of "
      "both and their ratio, KL, top-1 agreement (95% bootstrap intervals), worst logit error");
  add_numerics_model_options(cmd, opts->model_);
  cmd->add_option("--compare", opts->compare_,
                  "More profiles to score on the same stream, comma-separated (names or files)");
  cmd->add_option("--chip-image", opts->chip_image_,
                  "Score this chip image (hardwire quantize) as the chip; --model is the "
                  "checkpoint it came from, for the float reference; --numerics is then ignored");
  cmd->add_option("--tokens", opts->tokens_, "Token stream as comma-separated ids");
  cmd->add_option("--tokens-file", opts->tokens_file_,
                  "File of token ids separated by commas, spaces or newlines; longer than the "
                  "context, it is scored in consecutive windows");
  cmd->add_option("--skip-tokens", opts->skip_tokens_,
                  "Leave out the first N tokens of --tokens-file (e.g. the calibration text)")
      ->check(CLI::NonNegativeNumber);
  opts->n_tokens_option_ =
      cmd->add_option("--n-tokens", opts->n_tokens_,
                      "Length of the seeded default stream (default 128, at most the model's "
                      "context)")
          ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->seed_, "Seed of the default stream (default 1)");
  cmd->add_option("--window", opts->score_.window_tokens_,
                  "Positions per window, each evaluated from a fresh KV cache (default 0: the "
                  "model's context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--second-half", opts->score_.second_half_,
                "Score only the second half of each window (llama.cpp perplexity's rule; default: "
                "every position)");
  cmd->add_option("--bootstrap", opts->score_.bootstrap_samples_,
                  "Bootstrap resamples for the 95% intervals (default 1000, 0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--block", opts->score_.bootstrap_block_,
                  "Consecutive predictions per bootstrap block (default 64)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--bits", opts->bits_,
                  "Also sweep every weight width over 2..8 (or a list such as 3,4,6,8): the "
                  "quality-vs-bits curve, other settings from the profile");
  cmd->add_flag("--json", opts->json_,
                "Print JSON: perplexity_float/_chip/_ratio, mean_kl, top1_agreement (each with "
                "_ci95), max_logit_error, rom_bits, compare, curve (with --bits)");
  cmd->callback([opts]() { run_quality(*opts); });
}

}  // namespace hw::cli
