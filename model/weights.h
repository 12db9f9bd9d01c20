// Float weights of a Llama-family model in one convention (llama.cpp's): every matrix is
// row-major [out][in], Q/K rows ordered for adjacent-pair RoPE. Loaders from GGUF and from
// HF safetensors both produce this, so the reference and the quantizer see one layout.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/model_config.h"

namespace hw {

struct FloatTensor {
  int64_t rows_ = 0;  // output features (1 for vectors)
  int64_t cols_ = 0;  // input features
  std::vector<float> data_;  // rows_ * cols_ values, row-major
  bool empty() const { return data_.empty(); }
  const float* row(int64_t r) const { return data_.data() + r * cols_; }
};

struct LayerWeights {
  FloatTensor attn_norm_;             // [d_model]
  FloatTensor wq_, wk_, wv_, wo_;     // [q_dim][d_model], [kv_dim][d_model] x2, [d_model][q_dim]
  FloatTensor bq_, bk_, bv_;          // Qwen2 biases, empty otherwise
  FloatTensor q_norm_, k_norm_;       // Qwen3 per-head norms [head_dim], empty otherwise
  FloatTensor ffn_norm_;              // [d_model]
  FloatTensor w_gate_, w_up_;         // [d_ff][d_model]
  FloatTensor w_down_;                // [d_model][d_ff]
};

struct ModelWeights {
  ModelConfig config_;
  FloatTensor tok_embd_;     // [vocab][d_model]
  std::vector<LayerWeights> layers_;
  FloatTensor output_norm_;  // [d_model]
  FloatTensor output_;       // [vocab][d_model]; a copy of tok_embd_ when tied
};

// The tensors of a Llama-family checkpoint, by role.
enum class WeightSlot {
  kTokEmbd,
  kAttnNorm,
  kWq,
  kWk,
  kWv,
  kWo,
  kBq,
  kBk,
  kBv,
  kQNorm,
  kKNorm,
  kFfnNorm,
  kGate,
  kUp,
  kDown,
  kOutputNorm,
  kOutput,
};

struct WeightRef {
  WeightSlot slot_;
  int64_t layer_;  // -1 for the tensors outside the layers
};

// Every tensor `config` has, in one fixed order: token_embd; per layer attn_norm, q, k, v, o,
// (q/k/v biases), (q/k norms), ffn_norm, gate, up, down; output_norm; output (untied only).
// Synthetic weights draw their random numbers in this order, and the streaming quantizer asks
// for tensors in it.
std::vector<WeightRef> weight_order(const ModelConfig& config);
// [rows][cols] of a tensor under `config` (vectors are one row).
std::pair<int64_t, int64_t> weight_shape(const ModelConfig& config, WeightSlot slot);
// "blk.3.attn_q"-style name of a tensor, for errors and reports.
std::string weight_name(WeightRef ref);

// A checkpoint opened for reading one tensor, or a few rows of one, at a time: weight files are
// memory-mapped and rows are decoded on request, so an 8B model is quantized without its float
// copy (quantize_model(WeightSource&, ...)). Rows come in the convention above (Q/K rows in
// adjacent-pair order). Every tensor's presence and shape is checked when the source is opened.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  const ModelConfig& config() const { return config_; }
  // Rows [r0, r0 + n) of tensor `ref` into dst ([n][cols] floats).
  virtual void read_rows(WeightRef ref, int64_t r0, int64_t n, float* dst) = 0;
  FloatTensor read(WeightRef ref);

 protected:
  ModelConfig config_;
};

// A .gguf file, a .safetensors file (config.json beside it), or a directory with config.json and
// *.safetensors shards.
std::unique_ptr<WeightSource> open_weight_source(const std::string& path);
// Seeded synthetic weights (see synthetic_weights). Rows must be read in weight_order(); a
// tensor may be read again from its first row (the random stream is rewound to it).
std::unique_ptr<WeightSource> synthetic_weight_source(const ModelConfig& config, uint64_t seed);
// Every tensor of `source` in memory.
ModelWeights read_all_weights(WeightSource& source);

// Loads a .gguf file, a .safetensors file (config.json beside it), or a directory with
// config.json and *.safetensors shards. Checks every tensor's shape against the config.
ModelWeights load_weights(const std::string& path);

// Seeded synthetic weights of any config's shape (for full-size presets without a checkpoint):
// N(0, scale) matrices, norms near 1. Deterministic for a given seed.
ModelWeights synthetic_weights(const ModelConfig& config, uint64_t seed);

}  // namespace hw
