// Options shared by the chip-numerics subcommands (`emulate`, `quality`): the model (a weight
// file, or seeded synthetic weights of a preset), the numerics profile with --set overrides,
// and token streams from the command line or a file. Header-only so both cmd_*.cpp files use
// one definition of each rule and message.
#pragma once
#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "cli/output.h"
#include "common/error.h"
#include "common/param_tree.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "model/chip_image.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw::cli {

struct NumericsModelOptions {
  std::string model_;
  std::string numerics_ = "w8a8";
  std::vector<std::string> overrides_;
  uint64_t synthetic_seed_ = 0;
  CLI::Option* synthetic_seed_option_ = nullptr;
};

// Largest float32 weight set --synthetic-seed will generate (as `hardwire ref`): full-size
// presets would exhaust memory without telling anything a small preset does not.
constexpr int64_t kMaxSyntheticFloatBytes = int64_t{8} << 30;

inline void add_numerics_model_options(CLI::App* cmd, NumericsModelOptions& o) {
  cmd->add_option("--model", o.model_,
                  "A .gguf file, a .safetensors file with config.json beside it, or a directory "
                  "of config.json + *.safetensors; with --synthetic-seed, any model spec "
                  "`hardwire info` accepts (preset name, config.json); `emulate` and "
                  "`simulate --functional` also take a chip image made by `hardwire quantize`")
      ->required();
  cmd->add_option("--numerics", o.numerics_,
                  "Numerics profile: a name from configs/numerics/ (w8a8, w6a8, w4a8, w3a8, "
                  "hc1-mix, w4a8-kv4) or a YAML file with a `numerics:` block (default w8a8)");
  cmd->add_option("--set", o.overrides_,
                  "Override a profile value, e.g. --set numerics.kv.bits=4 (repeatable)");
  o.synthetic_seed_option_ = cmd->add_option(
      "--synthetic-seed", o.synthetic_seed_,
      "Use seeded random weights of --model's shape instead of a checkpoint (float weights "
      "must fit in 8 GiB)");
}

inline NumericsProfile load_profile_option(const NumericsModelOptions& o,
                                           const std::vector<std::string>& extra = {}) {
  check_override_roots(o.overrides_, {"numerics"});
  std::vector<std::string> all = o.overrides_;
  all.insert(all.end(), extra.begin(), extra.end());
  return load_numerics_profile(o.numerics_, all);
}

inline ModelWeights load_model_option(const NumericsModelOptions& o) {
  if (o.synthetic_seed_option_->count() == 0) return load_weights(o.model_);
  const ModelConfig config = load_model_config(o.model_);
  int64_t values = config.params();
  if (config.tied_embeddings_) values += config.vocab_ * config.d_model_;
  const int64_t bytes = values * static_cast<int64_t>(sizeof(float));
  if (bytes > kMaxSyntheticFloatBytes) {
    throw make_error("--synthetic-seed",
                     "float32 weights of " + config.name_ + " would take " + binary_bytes(bytes) +
                         ", above the 8 GiB limit",
                     "use a small preset such as llama-3.2-1b, or pass a checkpoint file");
  }
  return synthetic_weights(config, o.synthetic_seed_);
}

// The --model option's tensors as a stream (a checkpoint file, or seeded synthetic weights of a
// preset with --synthetic-seed, which then has no memory limit: nothing is held as float).
inline std::unique_ptr<WeightSource> weight_source_option(const NumericsModelOptions& o) {
  if (o.synthetic_seed_option_ == nullptr || o.synthetic_seed_option_->count() == 0) {
    return open_weight_source(o.model_);
  }
  return synthetic_weight_source(load_model_config(o.model_), o.synthetic_seed_);
}

// Whether --model names a chip image (`hardwire quantize`).
inline bool model_is_chip_image(const NumericsModelOptions& o) {
  return (o.synthetic_seed_option_ == nullptr || o.synthetic_seed_option_->count() == 0) &&
         is_chip_image(o.model_);
}

// The quantized model: loaded from a chip image (whose profile it carries: --numerics/--set then
// must not be given, `numerics_given` says whether they were), or quantized tensor by tensor
// from the checkpoint with `profile`, printing progress on stderr for large models.
inline QuantizedModel quantized_model_option(const NumericsModelOptions& o,
                                             const NumericsProfile& profile, bool numerics_given) {
  if (model_is_chip_image(o)) {
    if (numerics_given) {
      throw make_error("--numerics/--set",
                       o.model_ + " is a chip image: it already holds the numerics it was quantized with",
                       "drop --numerics and --set, or pass the checkpoint instead of the image");
    }
    return load_chip_image(o.model_);
  }
  const std::unique_ptr<WeightSource> source = weight_source_option(o);
  constexpr int64_t kProgressValues = int64_t{1} << 28;  // report only beyond ~270 M weights
  QuantizeProgress progress;
  if (source->config().params() > kProgressValues) {
    progress = [](const std::string& tensor, int64_t done, int64_t total) {
      std::fprintf(stderr, "\rquantize: %5.1f%% %-28s", 100.0 * static_cast<double>(done) / static_cast<double>(total),
                   tensor.c_str());
      if (done == total) std::fprintf(stderr, "\n");
    };
  }
  return quantize_model(*source, profile, progress);
}

// Every id must be inside the vocabulary; `what` names the source in errors.
inline void check_token_range(const std::vector<int32_t>& tokens, const ModelConfig& config,
                              const std::string& what) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= config.vocab_) {
      throw make_error(what + " item " + std::to_string(i + 1),
                       "token id " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                           config.name_ + " (ids 0.." + std::to_string(config.vocab_ - 1) + ")");
    }
  }
}

// Token ids separated by commas, spaces or newlines.
inline std::vector<int32_t> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw make_error("--tokens-file " + path, "cannot open the file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  for (char& c : text) {
    if (c == ',') c = ' ';
  }
  std::vector<int32_t> tokens;
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    const std::string where = "--tokens-file " + path + ": item " + std::to_string(tokens.size() + 1);
    int64_t value = 0;
    for (char ch : word) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) {
        throw make_error(where, "'" + word + "' is not a non-negative integer token id",
                         "write token ids separated by commas, spaces or newlines");
      }
      value = value * 10 + (ch - '0');
      if (value > std::numeric_limits<int32_t>::max()) {
        throw make_error(where, "'" + word + "' is beyond the int32 range of token ids");
      }
    }
    tokens.push_back(static_cast<int32_t>(value));
  }
  if (tokens.empty()) {
    throw make_error("--tokens-file " + path, "holds no token ids",
                     "write token ids separated by commas, spaces or newlines");
  }
  return tokens;
}

inline std::string join_ids(const std::vector<int32_t>& ids) {
  std::ostringstream ss;
  for (size_t i = 0; i < ids.size(); ++i) ss << (i ? " " : "") << ids[i];
  return ss.str();
}

inline std::string fixed(double v, int digits) {
  std::ostringstream ss;
  ss.setf(std::ios::fixed);
  ss.precision(digits);
  ss << v;
  return ss.str();
}

}  // namespace hw::cli
