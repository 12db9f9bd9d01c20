// `hardwire ref`: runs the float reference (model/float_ref.h, or gpu_ref/float_model.h with
// --device cuda) on a model file or on seeded synthetic weights of a preset. `ref logits` writes the logits of every position as raw
// float32 (the oracle's layout), `ref generate` prints the greedy continuation of a prompt.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/output.h"
#include "common/error.h"
#include "model/float_ref.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace hw::cli {
namespace {

// Largest float32 weight set --synthetic-seed will generate: synthetic weights of a full-size
// preset would only exhaust memory (Llama 3.1 8B alone is 30 GiB of float) without telling
// anything a small preset does not.
constexpr int64_t kMaxSyntheticBytes = int64_t{8} << 30;

struct RefOptions {
  std::string model_;
  std::string tokens_;
  uint64_t synthetic_seed_ = 0;
  CLI::Option* synthetic_seed_option_ = nullptr;
  std::string out_;
  int64_t n_new_ = 0;
  bool json_ = false;
  DeviceOptions device_;
};

void add_model_options(CLI::App* cmd, RefOptions& o) {
  cmd->add_option("--model", o.model_,
                  "A .gguf file, a .safetensors file with config.json beside it, or a directory "
                  "of config.json + *.safetensors; with --synthetic-seed, any model spec "
                  "`hardwire info` accepts (preset name, config.json)")
      ->required();
  cmd->add_option("--tokens", o.tokens_, "Comma-separated token ids, e.g. 1,5,9 (no BOS added)")
      ->required();
  o.synthetic_seed_option_ = cmd->add_option(
      "--synthetic-seed", o.synthetic_seed_,
      "Use seeded random weights of --model's shape instead of a checkpoint (only sensible for "
      "small presets: the float weights must fit in 8 GiB)");
  add_device_option(cmd, o.device_);
  add_weight_type_option(cmd, o.device_);
}

ModelWeights load_ref_weights(const RefOptions& o) {
  if (o.synthetic_seed_option_->count() == 0) return load_weights(o.model_);
  const ModelConfig config = load_model_config(o.model_);
  // synthetic_weights stores a separate output matrix even when tied (weights.h).
  int64_t values = config.params();
  if (config.tied_embeddings_) values += config.vocab_ * config.d_model_;
  const int64_t bytes = values * static_cast<int64_t>(sizeof(float));
  if (bytes > kMaxSyntheticBytes) {
    throw make_error("--synthetic-seed",
                     "float32 weights of " + config.name_ + " would take " +
                         binary_bytes(bytes) + " (" + with_commas(bytes) +
                         " bytes), above the 8 GiB limit",
                     "use a small preset such as llama-3.2-1b, or pass a checkpoint file");
  }
  return synthetic_weights(config, o.synthetic_seed_);
}

// The prompt's ids, each checked against the vocabulary; `extra_positions` more positions
// (generated tokens fed back) must still fit in the model's context.
std::vector<int32_t> checked_tokens(const RefOptions& o, const ModelConfig& config,
                                    int64_t extra_positions) {
  const std::vector<int32_t> tokens = parse_token_list(o.tokens_);
  const int64_t positions = static_cast<int64_t>(tokens.size()) + extra_positions;
  if (positions > config.max_positions_) {
    throw make_error("--tokens",
                     std::to_string(tokens.size()) + " tokens" +
                         (extra_positions > 0
                              ? " plus " + std::to_string(extra_positions) + " fed-back tokens"
                              : std::string()) +
                         " need " + std::to_string(positions) + " positions, " + config.name_ +
                         " has a context of " + std::to_string(config.max_positions_),
                     "shorten the prompt or generate fewer tokens");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= config.vocab_) {
      throw make_error("--tokens item " + std::to_string(i + 1),
                       "token id " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                           config.name_ + " (ids 0.." + std::to_string(config.vocab_ - 1) + ")");
    }
  }
  return tokens;
}

void run_logits(const RefOptions& o) {
  check_device(o.device_);
  const ModelWeights weights = load_ref_weights(o);
  const ModelConfig& config = weights.config_;
  const std::vector<int32_t> tokens = checked_tokens(o, config, 0);
  const std::vector<float> logits = float_logits(weights, tokens, o.device_);

  std::ofstream out(o.out_, std::ios::binary | std::ios::trunc);
  if (out) {
    out.write(reinterpret_cast<const char*>(logits.data()),
              static_cast<std::streamsize>(logits.size() * sizeof(float)));
  }
  if (!out) {
    throw make_error("--out " + o.out_, "cannot write the logits file",
                     "check that the directory exists and is writable");
  }
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  const int32_t last_argmax =
      argmax(logits.data() + (n_tokens - 1) * config.vocab_, config.vocab_);
  if (o.json_) {
    const nlohmann::json j = {{"model", config.name_},
                              {"out", o.out_},
                              {"dtype", "float32"},
                              {"device", o.device_.device_},
                              {"weight_type", o.device_.weight_type_},
                              {"shape", {n_tokens, config.vocab_}},
                              {"bytes", static_cast<int64_t>(logits.size() * sizeof(float))},
                              {"argmax_last", last_argmax}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "logits [" << n_tokens << " x " << config.vocab_
              << "] float32 row-major -> " << o.out_ << "; argmax of last row: " << last_argmax
              << "\n";
  }
}

std::string join_tokens(const std::vector<int32_t>& tokens) {
  std::ostringstream ss;
  for (size_t i = 0; i < tokens.size(); ++i) ss << (i ? " " : "") << tokens[i];
  return ss.str();
}

void run_generate(const RefOptions& o) {
  check_device(o.device_);
  const ModelWeights weights = load_ref_weights(o);
  const ModelConfig& config = weights.config_;
  // The last generated token is printed, never fed back.
  const std::vector<int32_t> prompt = checked_tokens(o, config, o.n_new_ - 1);
  const std::vector<int32_t> generated = float_generate(weights, prompt, o.n_new_, o.device_);
  if (o.json_) {
    const nlohmann::json j = {{"model", config.name_},
                              {"device", o.device_.device_},
                              {"weight_type", o.device_.weight_type_},
                              {"prompt", prompt},
                              {"generated", generated}};
    std::cout << j.dump(2) << "\n";
  } else {
    Table t;
    t.add_row({"model", config.name_});
    t.add_row({"prompt", join_tokens(prompt)});
    t.add_row({"generated", join_tokens(generated)});
    t.print(std::cout);
  }
}

}  // namespace

void add_ref_command(CLI::App& app) {
  CLI::App* ref = app.add_subcommand(
      "ref", "Run the float reference of the model (CPU, or the CUDA reference with --device "
             "cuda): logits of a token sequence, or greedy generation");
  ref->require_subcommand(1);

  auto logits_opts = std::make_shared<RefOptions>();
  CLI::App* logits = ref->add_subcommand(
      "logits", "Write the logits after every token as float32 row-major [n_tokens][n_vocab]");
  add_model_options(logits, *logits_opts);
  logits->add_option("--out", logits_opts->out_, "Output file for the raw float32 logits")
      ->required();
  logits->add_flag("--json", logits_opts->json_, "Print the summary as JSON");
  logits->callback([logits_opts]() { run_logits(*logits_opts); });

  auto gen_opts = std::make_shared<RefOptions>();
  CLI::App* generate = ref->add_subcommand(
      "generate", "Greedy (argmax) continuation of the --tokens prompt");
  add_model_options(generate, *gen_opts);
  generate->add_option("--n", gen_opts->n_new_, "Number of tokens to generate")
      ->required()
      ->check(CLI::PositiveNumber);
  generate->add_flag("--json", gen_opts->json_,
                     "Print JSON: model, prompt, generated (token ids)");
  generate->callback([gen_opts]() { run_generate(*gen_opts); });
}

}  // namespace hw::cli
