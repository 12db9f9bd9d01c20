// Decode speed of the CPU float reference (model/float_ref.h), in tokens/s: on the tiny-gqa-s
// llama.cpp oracle model, and on 4 layers of Llama 3.2 1B's width (its full vocabulary, so the
// output matvec weighs as in the real model) with synthetic weights. It bounds how long
// reference runs (quality checks, golden logits) take.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "model/float_ref.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace hw {
namespace {

// Layers kept from the preset: enough to show the per-layer cost next to the output matvec
// while the synthetic weights still build in seconds.
constexpr int64_t kReducedLayers = 4;
// Decoded positions before the cache is reset, so every iteration attends over a short context.
constexpr int64_t kContextPositions = 64;

void decode(benchmark::State& state, const ModelWeights& weights) {
  FloatReference reference(weights);
  const int64_t vocab = weights.config_.vocab_;
  int32_t token = 1;
  for (auto _ : state) {
    if (reference.position() >= kContextPositions) reference.reset();
    const std::vector<float> logits = reference.forward({token});
    token = argmax(logits.data(), vocab);
    benchmark::DoNotOptimize(token);
  }
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_DecodeTinyGqaS(benchmark::State& state) {
  static const ModelWeights weights =
      load_weights(std::string(HARDWIRE_SHARED_DIR) + "/oracle/tiny-gqa-s.gguf");
  decode(state, weights);
}
BENCHMARK(BM_DecodeTinyGqaS);

void BM_DecodeLlama32_1bWidth4Layers(benchmark::State& state) {
  static const ModelWeights weights = [] {
    ModelConfig config = load_model_config("llama-3.2-1b");
    config.n_layers_ = kReducedLayers;
    config.name_ += "-4layers";
    return synthetic_weights(config, 1);
  }();
  decode(state, weights);
}
BENCHMARK(BM_DecodeLlama32_1bWidth4Layers)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hw
