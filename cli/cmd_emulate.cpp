// `hardwire emulate`: runs the chip-numerics golden model (model/golden_model.h) on a prompt and
// prints the greedy continuation with per-token figures (logit, margin over the runner-up,
// probability), i.e. what the hardwired chip would output bit for bit. --dump-logits writes the
// logits of every consumed position as float32 like `ref logits`. Tokens and logits are
// deterministic (for any --threads); only the timing line varies. --model may be a chip image.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/numerics_options.h"
#include "cli/output.h"
#include "common/error.h"
#include "model/golden_model.h"
#include "model/quantizer.h"

namespace hw::cli {
namespace {

struct EmulateOptions {
  NumericsModelOptions model_;
  std::string tokens_;
  int64_t n_new_ = 0;
  std::string dump_logits_;
  bool json_ = false;
  DeviceOptions device_;
  int threads_ = 0;
  CLI::Option* numerics_option_ = nullptr;
  CLI::Option* set_option_ = nullptr;
};

// The figures of one generated token, from the float conversion of the integer logits that
// chose it.
struct TokenFigures {
  int64_t position_ = 0;
  int32_t token_ = 0;
  double logit_ = 0.0;
  double margin_ = 0.0;       // chosen logit minus the best other logit
  double probability_ = 0.0;  // softmax of the logits, evaluated in double
};

TokenFigures figures_of(const float* logits, int64_t vocab, int32_t token, int64_t position) {
  TokenFigures f;
  f.position_ = position;
  f.token_ = token;
  f.logit_ = logits[token];
  double runner_up = -INFINITY;
  double max_logit = logits[0];
  for (int64_t v = 0; v < vocab; ++v) {
    max_logit = std::max(max_logit, static_cast<double>(logits[v]));
    if (v != token) runner_up = std::max(runner_up, static_cast<double>(logits[v]));
  }
  double sum = 0.0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - max_logit);
  f.margin_ = vocab > 1 ? f.logit_ - runner_up : 0.0;
  f.probability_ = std::exp(f.logit_ - max_logit) / sum;
  return f;
}

void write_logits(const std::string& path, const std::vector<float>& logits) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) {
    out.write(reinterpret_cast<const char*>(logits.data()),
              static_cast<std::streamsize>(logits.size() * sizeof(float)));
  }
  if (!out) {
    throw make_error("--dump-logits " + path, "cannot write the logits file",
                     "check that the directory exists and is writable");
  }
}

void run_emulate(const EmulateOptions& o) {
  check_device(o.device_);
  if (o.threads_ > 0) set_compute_threads(o.threads_);
  const bool numerics_given = o.numerics_option_->count() > 0 || o.set_option_->count() > 0;
  const std::vector<int32_t> prompt = parse_token_list(o.tokens_);
  // Only the packed chip model is held: a chip image is loaded as it is, a checkpoint is
  // quantized tensor by tensor without its float copy.
  const QuantizedModel quantized = quantized_model_option(
      o.model_, model_is_chip_image(o.model_) ? NumericsProfile{} : load_profile_option(o.model_),
      numerics_given);
  const NumericsProfile& profile = quantized.profile_;
  const ModelConfig& config = quantized.config_;
  check_token_range(prompt, config, "--tokens");
  const int64_t positions = static_cast<int64_t>(prompt.size()) + std::max<int64_t>(o.n_new_ - 1, 0);
  if (positions > config.max_positions_) {
    throw make_error("--n", "prompt plus generated tokens need " + std::to_string(positions) +
                                " positions, " + config.name_ + " has " +
                                std::to_string(config.max_positions_),
                     "generate fewer tokens or shorten the prompt");
  }
  std::vector<float> logits;
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<int32_t> generated = chip_generate(
      quantized, std::max<int64_t>(positions, 1), prompt, o.n_new_, &logits, o.device_);
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Every consumed position is one pass through the model (batch 1, as the chip decodes).
  const int64_t passes = static_cast<int64_t>(prompt.size()) + std::max<int64_t>(o.n_new_ - 1, 0);
  const double tokens_per_s = run_s > 0.0 ? static_cast<double>(passes) / run_s : 0.0;
  if (!o.dump_logits_.empty()) write_logits(o.dump_logits_, logits);

  const int64_t vocab = config.vocab_;
  std::vector<TokenFigures> figures;
  for (size_t i = 0; i < generated.size(); ++i) {
    // Token i was chosen from the logits of consumed position prompt.size() - 1 + i.
    const int64_t row = static_cast<int64_t>(prompt.size()) - 1 + static_cast<int64_t>(i);
    figures.push_back(figures_of(logits.data() + row * vocab, vocab, generated[i], row));
  }
  const int64_t rows = static_cast<int64_t>(logits.size()) / vocab;
  const double mean_bits = profile.mean_weight_bits(config);
  const int64_t value_bytes = (quantized.value_bits() + 7) / 8;

  if (o.json_) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const TokenFigures& f : figures) {
      tokens.push_back({{"position", f.position_},
                        {"token", f.token_},
                        {"logit", f.logit_},
                        {"margin", f.margin_},
                        {"probability", f.probability_}});
    }
    nlohmann::json j = {{"model", config.name_},
                        {"numerics", profile.name_},
                        {"device", o.device_.device_},
                        {"threads", compute_threads()},
                        {"run_s", run_s},
                        {"token_passes_per_s", tokens_per_s},
                        {"prompt", prompt},
                        {"generated", generated},
                        {"tokens", tokens},
                        {"mean_weight_bits", mean_bits},
                        {"weight_value_bytes", value_bytes},
                        {"activation_bits", profile.activation_bits_},
                        {"kv_bits", profile.kv_bits()},
                        {"logits_file", o.dump_logits_.empty() ? nlohmann::json(nullptr)
                                                               : nlohmann::json(o.dump_logits_)},
                        {"logits_shape", {rows, vocab}},
                        {"config", profile.to_json()}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << config.name_ << " on chip numerics '" << profile.name_ << "' ("
            << fixed(mean_bits, 2) << " weight bits per parameter, int" << profile.activation_bits_
            << " activations, int" << profile.kv_bits() << " KV cache)\n\n";
  Table head;
  head.add_row({"prompt", join_ids(prompt)});
  head.add_row({"generated", join_ids(generated)});
  head.print(std::cout, "  ");
  if (!figures.empty()) {
    std::cout << "\n";
    Table t({"step", "position", "token", "logit", "margin", "probability"});
    for (size_t i = 0; i < figures.size(); ++i) {
      const TokenFigures& f = figures[i];
      t.add_row({std::to_string(i + 1), std::to_string(f.position_), std::to_string(f.token_),
                 fixed(f.logit_, 4), fixed(f.margin_, 4), fixed(f.probability_, 4)});
    }
    t.print(std::cout, "  ");
  }
  std::cout << "\n  " << passes << " token passes in " << fixed(run_s, 3) << " s: "
            << fixed(tokens_per_s, 2) << " tokens/s on " << compute_threads() << " threads\n";
  if (!o.dump_logits_.empty()) {
    std::cout << "\nlogits [" << rows << " x " << vocab << "] float32 row-major -> "
              << o.dump_logits_ << "\n";
  }
}

}  // namespace

void add_emulate_command(CLI::App& app) {
  auto opts = std::make_shared<EmulateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "emulate",
      "Run the chip's integer numerics (golden model) on a prompt: greedy continuation and "
      "per-token figures");
  add_numerics_model_options(cmd, opts->model_);
  opts->numerics_option_ = cmd->get_option("--numerics");
  opts->set_option_ = cmd->get_option("--set");
  cmd->add_option("--threads", opts->threads_,
                  "Threads of the matrix-vector products (default: HARDWIRE_THREADS or all cores); "
                  "results do not depend on it")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tokens", opts->tokens_, "Prompt as comma-separated token ids, e.g. 1,5,9")
      ->required();
  cmd->add_option("--n", opts->n_new_, "Number of tokens to generate (0: only the prompt)")
      ->required()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--dump-logits", opts->dump_logits_,
                  "Write the logits of every consumed position (prompt, then each fed-back "
                  "token) as float32 row-major [rows][vocab]");
  cmd->add_flag("--json", opts->json_,
                "Print JSON: generated (token ids), tokens (per-token figures), config");
  add_device_option(cmd, opts->device_);
  cmd->callback([opts]() { run_emulate(*opts); });
}

}  // namespace hw::cli
