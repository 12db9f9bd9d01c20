// `hardwire info MODEL`: what a model costs to hardwire. Prints the hyperparameters, the exact
// parameter count, every tensor of one layer and the global ones, the weight bytes at a chosen
// width and the KV cache per token per user; --json gives the same as stable machine keys.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/output.h"
#include "model/model_config.h"

namespace hw::cli {
namespace {

struct InfoOptions {
  std::string model_;
  bool json_ = false;
  int weight_bits_ = 16;
  int kv_bits_ = 8;
};

// Tokens in the "per 1k tokens" KV figure: a decimal thousand, as context lengths are quoted.
constexpr int64_t kKvTokensPerK = 1000;

int64_t bytes_at_bits(int64_t values, int bits) {
  const int64_t total_bits = values * bits;
  return total_bits / 8 + (total_bits % 8 ? 1 : 0);
}

std::string shape_text(const TensorShape& t) {
  return t.cols_ == 1 ? std::to_string(t.rows_)
                      : std::to_string(t.rows_) + " x " + std::to_string(t.cols_);
}

std::string number_text(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

nlohmann::json tensors_json(const std::vector<TensorShape>& tensors) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tensors) {
    out.push_back({{"name", t.name_}, {"rows", t.rows_}, {"cols", t.cols_},
                   {"params", t.elements()}});
  }
  return out;
}

nlohmann::json info_json(const ModelConfig& m, const InfoOptions& o) {
  nlohmann::json rope = nullptr;
  if (m.rope_scaling_.enabled_) {
    rope = {{"type", "llama3"},
            {"factor", m.rope_scaling_.factor_},
            {"low_freq_factor", m.rope_scaling_.low_freq_factor_},
            {"high_freq_factor", m.rope_scaling_.high_freq_factor_},
            {"original_max_positions", m.rope_scaling_.original_max_positions_}};
  }
  const int64_t kv_per_token = m.kv_bytes_per_token(o.kv_bits_);
  return {
      {"name", m.name_},
      {"arch", m.arch_},
      {"params", m.params()},
      {"layers", m.n_layers_},
      {"d_model", m.d_model_},
      {"n_heads", m.n_heads_},
      {"n_kv_heads", m.n_kv_heads_},
      {"head_dim", m.head_dim_},
      {"q_dim", m.q_dim()},
      {"kv_dim", m.kv_dim()},
      {"d_ff", m.d_ff_},
      {"vocab", m.vocab_},
      {"max_positions", m.max_positions_},
      {"rms_eps", m.rms_eps_},
      {"rope_theta", m.rope_theta_},
      {"rope_scaling", rope},
      {"rope_freq_factors", m.rope_freq_factors_},
      {"tied_embeddings", m.tied_embeddings_},
      {"qkv_bias", m.qkv_bias_},
      {"qk_norm", m.qk_norm_},
      {"sliding_window_tokens", m.sliding_window_ > 0 ? nlohmann::json(m.sliding_window_)
                                                      : nlohmann::json(nullptr)},
      {"weight_bits", o.weight_bits_},
      {"kv_bits", o.kv_bits_},
      {"params_per_layer", m.params_per_layer()},
      {"layer_tensors", tensors_json(m.layer_tensors())},
      {"global_tensors", tensors_json(m.global_tensors())},
      {"weight_bytes", m.weight_bytes(o.weight_bits_)},
      {"kv_bytes_per_token", kv_per_token},
      {"kv_bytes_per_1k_tokens", kv_per_token * kKvTokensPerK},
  };
}

void print_tensors(std::ostream& out, const std::vector<TensorShape>& tensors, int bits,
                   const std::string& total_label, int64_t total_params) {
  Table t({"tensor", "shape", "params", "bytes @" + std::to_string(bits) + " bit"});
  int64_t total_bytes = 0;
  for (const auto& s : tensors) {
    const int64_t bytes = bytes_at_bits(s.elements(), bits);
    total_bytes += bytes;
    t.add_row({s.name_, shape_text(s), with_commas(s.elements()), with_commas(bytes)});
  }
  t.add_row({total_label, "", with_commas(total_params), with_commas(total_bytes)});
  t.print(out, "  ");
}

void print_info(std::ostream& out, const ModelConfig& m, const InfoOptions& o) {
  const auto& rs = m.rope_scaling_;
  std::string rope = "none";
  if (!m.rope_freq_factors_.empty()) {
    rope = "per-pair frequency divisors from the GGUF rope_freqs table (" +
           std::to_string(m.rope_freq_factors_.size()) + " entries, " +
           number_text(m.rope_freq_factors_.front()) + " .. " +
           number_text(m.rope_freq_factors_.back()) + ")";
  } else if (rs.enabled_) {
    rope = "llama3 (factor " + number_text(rs.factor_) + ", low_freq_factor " +
           number_text(rs.low_freq_factor_) + ", high_freq_factor " +
           number_text(rs.high_freq_factor_) + ", original context " +
           std::to_string(rs.original_max_positions_) + ")";
  }
  out << m.name_ << " (" << m.arch_ << ")\n\n";
  Table h;
  h.add_row({"layers", std::to_string(m.n_layers_)});
  h.add_row({"d_model", std::to_string(m.d_model_)});
  h.add_row({"query heads", std::to_string(m.n_heads_)});
  h.add_row({"kv heads", std::to_string(m.n_kv_heads_) + " (group of " +
                             std::to_string(m.group_size()) + " query heads each)"});
  h.add_row({"head_dim", std::to_string(m.head_dim_)});
  h.add_row({"q_dim / kv_dim", std::to_string(m.q_dim()) + " / " + std::to_string(m.kv_dim())});
  h.add_row({"d_ff", std::to_string(m.d_ff_)});
  h.add_row({"vocab", std::to_string(m.vocab_)});
  h.add_row({"max positions", std::to_string(m.max_positions_)});
  h.add_row({"rms_eps", number_text(m.rms_eps_)});
  h.add_row({"rope_theta", number_text(m.rope_theta_)});
  h.add_row({"rope_scaling", rope});
  h.add_row({"tied embeddings", m.tied_embeddings_ ? "yes" : "no"});
  h.add_row({"q/k/v bias", m.qkv_bias_ ? "yes" : "no"});
  h.add_row({"q/k head norm", m.qk_norm_ ? "yes" : "no"});
  h.add_row({"sliding window",
             m.sliding_window_ > 0
                 ? std::to_string(m.sliding_window_) + " tokens (recorded, not applied)"
                 : std::string("none")});
  h.add_row({"parameters", with_commas(m.params())});
  h.print(out, "  ");

  out << "\nper layer (x" << m.n_layers_ << ")\n";
  print_tensors(out, m.layer_tensors(), o.weight_bits_, "layer total", m.params_per_layer());
  out << "\nglobal\n";
  int64_t global_params = 0;
  for (const auto& t : m.global_tensors()) global_params += t.elements();
  print_tensors(out, m.global_tensors(), o.weight_bits_, "global total", global_params);
  if (m.tied_embeddings_) out << "  (output shares token_embd: tied embeddings counted once)\n";

  const int64_t weight_bytes = m.weight_bytes(o.weight_bits_);
  const int64_t kv_token = m.kv_bytes_per_token(o.kv_bits_);
  const int64_t kv_k = kv_token * kKvTokensPerK;
  out << "\nmemory\n";
  Table mem;
  mem.add_row({"weights @" + std::to_string(o.weight_bits_) + " bit", with_commas(weight_bytes),
               "bytes", "(" + binary_bytes(weight_bytes) + ")"});
  mem.add_row({"KV per token per user @" + std::to_string(o.kv_bits_) + " bit",
               with_commas(kv_token), "bytes", "(" + binary_bytes(kv_token) + ")"});
  mem.add_row({"KV per 1k tokens per user", with_commas(kv_k), "bytes",
               "(" + binary_bytes(kv_k) + ")"});
  mem.print(out, "  ");
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Describe a model: hyperparameters, tensors, parameter count, weight and KV bytes");
  cmd->add_option("model", opts->model_,
                  "Preset name (e.g. llama-3.1-8b), HuggingFace config.json, a directory "
                  "holding one, or a .gguf file")
      ->required();
  cmd->add_flag("--json", opts->json_, "Print machine-readable JSON instead of tables");
  cmd->add_option("--weight-bits", opts->weight_bits_,
                  "Bits per weight for the byte counts (default 16, i.e. bf16 as released)")
      ->check(CLI::Range(1, 32));
  cmd->add_option("--kv-bits", opts->kv_bits_,
                  "Bits per K/V value for the KV-cache figures (default 8)")
      ->check(CLI::Range(1, 32));
  cmd->callback([opts]() {
    const ModelConfig m = load_model_config(opts->model_);
    if (opts->json_) {
      std::cout << info_json(m, *opts).dump(2) << "\n";
    } else {
      print_info(std::cout, m, *opts);
    }
  });
}

}  // namespace hw::cli
