// `hardwire quality`: what hardwiring a model at a numerics profile does to its output. Runs
// the golden model and the float reference on one token stream (given, from a file, or a
// seeded default) and prints top-1 agreement, mean KL, the worst logit error and the
// perplexity ratio; --bits sweeps every weight width over a range (the quality-vs-bits curve).
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
#include "model/quality.h"

namespace hw::cli {
namespace {

// Default stream: this many seeded ids (fewer when the model's context is shorter).
constexpr int64_t kDefaultStreamTokens = 128;

struct QualityOptions {
  NumericsModelOptions model_;
  std::string tokens_;
  std::string tokens_file_;
  int64_t n_tokens_ = kDefaultStreamTokens;
  CLI::Option* n_tokens_option_ = nullptr;
  uint64_t seed_ = 1;
  std::string bits_;
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

nlohmann::json report_json(const QualityReport& q) {
  return {{"top1_agreement", q.top1_agreement_},
          {"mean_kl", q.mean_kl_},
          {"max_logit_error", q.max_logit_error_},
          {"perplexity_ratio", q.perplexity_ratio_},
          {"perplexity_float", q.perplexity_float_},
          {"perplexity_chip", q.perplexity_chip_},
          {"mean_weight_bits", q.mean_weight_bits_}};
}

std::vector<std::string> report_cells(const QualityReport& q) {
  return {fixed(q.mean_weight_bits_, 2), fixed(q.top1_agreement_, 4), fixed(q.mean_kl_, 6),
          fixed(q.max_logit_error_, 4), fixed(q.perplexity_ratio_, 4)};
}

void run_quality(const QualityOptions& o) {
  if (!o.tokens_.empty() && !o.tokens_file_.empty()) {
    throw make_error("--tokens-file", "cannot be combined with --tokens", "give one stream");
  }
  const std::vector<int> bits = o.bits_.empty() ? std::vector<int>{} : parse_bits(o.bits_);
  const NumericsProfile profile = load_profile_option(o.model_);
  const ModelWeights weights = load_model_option(o.model_);
  const ModelConfig& config = weights.config_;

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
  } else {
    const bool explicit_n = o.n_tokens_option_->count() > 0;
    if (explicit_n && o.n_tokens_ > config.max_positions_) {
      throw make_error("--n-tokens", std::to_string(o.n_tokens_) + " exceeds the " +
                                         std::to_string(config.max_positions_) +
                                         " positions of " + config.name_);
    }
    const int64_t n = std::min(o.n_tokens_, config.max_positions_);
    tokens = seeded_tokens(config.vocab_, n, o.seed_);
    source = "seeded";
  }
  if (static_cast<int64_t>(tokens.size()) > config.max_positions_) {
    throw make_error(source, std::to_string(tokens.size()) + " tokens exceed the " +
                                 std::to_string(config.max_positions_) + " positions of " +
                                 config.name_,
                     "use a shorter stream");
  }

  const std::vector<float> ref = float_logits(weights, tokens);
  const QualityReport base = measure_quality(weights, profile, tokens, ref);
  std::vector<QualityReport> curve;
  for (int b : bits) {
    const NumericsProfile pb = load_profile_option(o.model_, uniform_weight_bits_overrides(b));
    curve.push_back(measure_quality(weights, pb, tokens, ref));
  }

  if (o.json_) {
    nlohmann::json j = report_json(base);
    j["model"] = config.name_;
    j["numerics"] = profile.name_;
    j["n_tokens"] = static_cast<int64_t>(tokens.size());
    j["tokens_source"] = source;
    if (source == "seeded") j["seed"] = o.seed_;
    j["activation_bits"] = profile.activation_bits_;
    j["kv_bits"] = profile.kv_bits();
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
  std::cout << config.name_ << ": chip numerics '" << profile.name_
            << "' against the float reference on " << tokens.size() << " tokens ("
            << (source == "seeded" ? "seeded stream, seed " + std::to_string(o.seed_) : source)
            << ")\n\n";
  Table t({"weights", "bits/param", "top-1 agreement", "mean KL (nats)", "max logit error",
           "perplexity ratio"});
  std::vector<std::string> row = report_cells(base);
  row.insert(row.begin(), profile.name_);
  t.add_row(row);
  for (size_t i = 0; i < bits.size(); ++i) {
    row = report_cells(curve[i]);
    row.insert(row.begin(), "all int" + std::to_string(bits[i]));
    t.add_row(row);
  }
  t.print(std::cout, "  ");
}

}  // namespace

void add_quality_command(CLI::App& app) {
  auto opts = std::make_shared<QualityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quality",
      "Compare the chip numerics with the float reference on a token stream: top-1 agreement, "
      "KL, worst logit error, perplexity ratio");
  add_numerics_model_options(cmd, opts->model_);
  cmd->add_option("--tokens", opts->tokens_, "Token stream as comma-separated ids");
  cmd->add_option("--tokens-file", opts->tokens_file_,
                  "File of token ids separated by commas, spaces or newlines");
  opts->n_tokens_option_ =
      cmd->add_option("--n-tokens", opts->n_tokens_,
                      "Length of the seeded default stream (default 128, at most the model's "
                      "context)")
          ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->seed_, "Seed of the default stream (default 1)");
  cmd->add_option("--bits", opts->bits_,
                  "Also sweep every weight width over 2..8 (or a list such as 3,4,6,8): the "
                  "quality-vs-bits curve, other settings from the profile");
  cmd->add_flag("--json", opts->json_,
                "Print JSON: top1_agreement, mean_kl, max_logit_error, perplexity_ratio, "
                "curve (with --bits)");
  cmd->callback([opts]() { run_quality(*opts); });
}

}  // namespace hw::cli
