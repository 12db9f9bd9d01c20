// Float weights of a Llama-family model in one convention (llama.cpp's): every matrix is
// row-major [out][in], Q/K rows ordered for adjacent-pair RoPE. Loaders from GGUF and from
// HF safetensors both produce this, so the reference and the quantizer see one layout.
#pragma once
#include <cstdint>
#include <string>
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

// Loads a .gguf file, a .safetensors file (config.json beside it), or a directory with
// config.json and *.safetensors shards. Checks every tensor's shape against the config.
ModelWeights load_weights(const std::string& path);

// Seeded synthetic weights of any config's shape (for full-size presets without a checkpoint):
// N(0, scale) matrices, norms near 1. Deterministic for a given seed.
ModelWeights synthetic_weights(const ModelConfig& config, uint64_t seed);

}  // namespace hw
