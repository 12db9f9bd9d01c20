// The architecture of the model being hardwired: hyperparameters of a Llama-family decoder,
// parsed once (built-in preset, HuggingFace config.json, or GGUF metadata), validated, with
// derived sizes computed here so every consumer (reference, numerics, sim, power) agrees.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hw {

// Llama-3-style frequency-dependent RoPE scaling ("rope_type": "llama3").
struct RopeScaling {
  bool enabled_ = false;
  double factor_ = 1.0;
  double low_freq_factor_ = 1.0;
  double high_freq_factor_ = 1.0;
  int64_t original_max_positions_ = 0;
};

// One weight tensor of a layer (or of the whole model) as it appears in the parameter count.
struct TensorShape {
  std::string name_;   // e.g. "attn_q", "ffn_gate"; GGUF-style short names
  int64_t rows_ = 0;   // output features
  int64_t cols_ = 1;   // input features (1 for vectors: norms, biases)
  int64_t elements() const { return rows_ * cols_; }
};

struct ModelConfig {
  std::string name_;          // preset name or file stem
  std::string arch_;          // "llama", "mistral", "qwen2", "qwen3"
  int64_t n_layers_ = 0;
  int64_t d_model_ = 0;
  int64_t n_heads_ = 0;
  int64_t n_kv_heads_ = 0;
  int64_t head_dim_ = 0;
  int64_t d_ff_ = 0;
  int64_t vocab_ = 0;
  int64_t max_positions_ = 0;  // context length the model was trained for
  double rms_eps_ = 1e-5;
  double rope_theta_ = 10000.0;
  RopeScaling rope_scaling_;
  // Per-pair divisors of the RoPE rate, head_dim/2 of them: how llama.cpp's converter stores
  // llama3 scaling in GGUF (tensor rope_freqs.weight). Empty: rates follow rope_scaling_.
  std::vector<double> rope_freq_factors_;
  bool tied_embeddings_ = false;
  bool qkv_bias_ = false;      // Qwen2: biases on q, k, v projections
  bool qk_norm_ = false;       // Qwen3: RMSNorm over each q and k head before RoPE
  // Mistral v0.1 trained with a 4096-token attention window; 0 = none. Recorded, not applied:
  // the chip model attends over the whole context up to its configured limit (docs/models.md).
  int64_t sliding_window_ = 0;

  int64_t q_dim() const { return n_heads_ * head_dim_; }
  int64_t kv_dim() const { return n_kv_heads_ * head_dim_; }
  int64_t group_size() const { return n_heads_ / n_kv_heads_; }

  // Tensors of one transformer layer, in dataflow order.
  std::vector<TensorShape> layer_tensors() const;
  // Tensors outside the layers: token_embd, output_norm, output (absent when tied).
  std::vector<TensorShape> global_tensors() const;
  int64_t params_per_layer() const;
  int64_t params() const;
  // Weight bytes at `bits` per parameter (rounded up to whole bytes over the model).
  int64_t weight_bytes(int bits) const;
  // K and V of every layer for one position of one user, at `bits` per value.
  int64_t kv_bytes_per_token(int bits) const;

  // Throws hw::Error naming the field when a value is missing, non-positive or inconsistent.
  void validate() const;
};

// A built-in preset name ("llama-3.1-8b"), a HuggingFace config.json (or a directory holding
// one), or a .gguf file. Errors name the file and the field.
ModelConfig load_model_config(const std::string& spec);
// Parses HF config.json text; `source` names it in errors.
ModelConfig model_config_from_hf_json(const std::string& json_text, const std::string& source);
// Names of the shipped presets (configs/models/*.json).
std::vector<std::string> model_preset_names();
// Directory of shipped configs (configs/), found relative to the executable or HARDWIRE_CONFIGS.
std::string configs_dir();
// Stems of the files in `dir` ending in `extension` (e.g. ".yaml"), sorted; empty when the
// folder is missing. Lists the shipped presets of every config kind.
std::vector<std::string> config_file_stems(const std::string& dir, const std::string& extension);
// The architectures model_config_from_hf_json accepts, as HF class names.
std::vector<std::string> supported_hf_architectures();

}  // namespace hw
