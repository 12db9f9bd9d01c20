// Helpers of the gpu_ref tests: the oracle models and small variants of them (the shapes of
// tests/model/test_numerics_golden.cpp), seeded token streams, and the skip-without-GPU check.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model/weights.h"

namespace hw::test {

inline const ModelWeights& oracle_model(const std::string& name) {
  static std::map<std::string, ModelWeights> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    it = cache.emplace(name, load_weights(std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + name + ".gguf"))
             .first;
  }
  return it->second;
}

// tiny-gqa-s's shape as "llama" (oracle weights), or synthetic weights as a Qwen2 (q/k/v
// biases), Qwen3 (q/k norm) or tied-embedding llama3-scaled variant.
inline ModelWeights variant_model(const std::string& variant) {
  if (variant == "llama") return oracle_model("tiny-gqa-s");
  ModelConfig c = oracle_model("tiny-gqa-s").config_;
  c.name_ = "small-" + variant;
  if (variant == "qwen2") {
    c.arch_ = "qwen2";
    c.qkv_bias_ = true;
  } else if (variant == "qwen3") {
    c.arch_ = "qwen3";
    c.qk_norm_ = true;
  } else if (variant == "llama3-scaled-tied") {
    c.tied_embeddings_ = true;
    c.rope_scaling_ = {true, 8.0, 1.0, 4.0, 64};
  }
  return synthetic_weights(c, 11);
}

inline std::vector<int32_t> seeded_tokens(int64_t vocab, int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = static_cast<int32_t>(gen() % static_cast<uint32_t>(vocab));
  return t;
}

}  // namespace hw::test
