// What chip numerics cost in output quality: the golden model's logits against the float
// reference's on one token stream (top-1 agreement, KL divergence, worst logit error and the
// perplexity ratio), for one profile or over a curve of weight widths. Streams longer than the
// context are scored in consecutive context-sized windows, each from a fresh KV cache (as
// llama.cpp's perplexity tool does), with block-bootstrap confidence intervals
// (docs/numerics.md, "Measuring quality"). Used by `hardwire quality`, `hardwire allocate` and
// the tests that bound the cost of each profile.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw {

struct QualityReport {
  int64_t n_tokens_ = 0;
  double top1_agreement_ = 0.0;   // fraction of positions whose argmax matches the float argmax
  double mean_kl_ = 0.0;          // mean over positions of KL(P_float || P_chip), nats
  double max_logit_error_ = 0.0;  // max |chip - float| over every logit of every position
  double perplexity_float_ = 0.0;  // exp(mean NLL of tokens[i+1] after tokens[0..i]), float
  double perplexity_chip_ = 0.0;
  double perplexity_ratio_ = 0.0;  // perplexity_chip_ / perplexity_float_ (1 when n < 2)
  double mean_weight_bits_ = 0.0;  // the profile's NumericsProfile::mean_weight_bits
};

// Metrics of `chip` logits against `ref` logits, both row-major [n][vocab] for the stream
// `tokens` (n = tokens.size()); chip_argmax holds the chip's greedy choice per row (its integer
// tie rule).
QualityReport compare_logits(const std::vector<float>& ref, const std::vector<float>& chip,
                             const std::vector<int32_t>& chip_argmax, int64_t vocab,
                             const std::vector<int32_t>& tokens);

// Float logits of the stream from the float reference, [n][vocab].
std::vector<float> float_logits(const ModelWeights& weights, const std::vector<int32_t>& tokens);

// Quantizes `weights` with `profile`, runs the golden model on `tokens` and compares with
// `ref_logits` (float_logits() of the same stream).
QualityReport measure_quality(const ModelWeights& weights, const NumericsProfile& profile,
                              const std::vector<int32_t>& tokens,
                              const std::vector<float>& ref_logits);

// ---- Windowed scoring of long streams.

struct ScoreOptions {
  int64_t window_tokens_ = 0;     // positions per window; 0: the model's context
  bool second_half_ = false;      // score only the second half of each window (llama.cpp's rule)
  int64_t bootstrap_samples_ = 1000;  // 0: no intervals
  int64_t bootstrap_block_ = 64;  // consecutive predictions per resampled block
  uint64_t seed_ = 1;             // of the bootstrap
};

// The stream cut into windows: [start, end) of each, in order. Windows hold window_tokens
// positions; a remainder of at least 2 tokens forms a last, shorter window.
struct Windows {
  int64_t window_tokens_ = 0;
  std::vector<std::pair<int64_t, int64_t>> spans_;
};
Windows make_windows(int64_t n_tokens, const ModelConfig& config, const ScoreOptions& options);

// Float-reference logits of every window, [window][position in window][vocab], computed once
// and reused for every profile scored on the same stream.
struct FloatWindows {
  Windows windows_;
  std::vector<std::vector<float>> logits_;
};
FloatWindows float_windows(const ModelWeights& weights, const std::vector<int32_t>& tokens,
                           const ScoreOptions& options);

// One entry per scored prediction (position i of a window predicting token i + 1 of the same
// window), in stream order.
struct PositionScores {
  std::vector<double> nll_float_, nll_chip_, kl_;
  std::vector<uint8_t> agree_;  // chip argmax (integer tie rule) == float argmax
  double max_logit_error_ = 0.0;
};
// Runs the golden model of `model` window by window (fresh KV cache each) against `ref`.
PositionScores score_chip(const QuantizedModel& model, const std::vector<int32_t>& tokens,
                          const FloatWindows& ref, const ScoreOptions& options);

struct Interval {
  double lo_ = 0.0;  // 2.5th percentile of the bootstrap distribution
  double hi_ = 0.0;  // 97.5th
};
struct StreamQuality {
  int64_t n_tokens_ = 0;
  int64_t n_windows_ = 0;
  int64_t window_tokens_ = 0;
  int64_t n_scored_ = 0;
  double perplexity_float_ = 0.0;  // exp(mean NLL of the scored predictions)
  double perplexity_chip_ = 0.0;
  double perplexity_ratio_ = 0.0;  // chip / float
  double mean_kl_ = 0.0;           // mean KL(P_float || P_chip), nats
  double top1_agreement_ = 0.0;
  double max_logit_error_ = 0.0;
  Interval perplexity_float_ci_, perplexity_chip_ci_, perplexity_ratio_ci_, mean_kl_ci_, top1_ci_;
  double mean_weight_bits_ = 0.0;
  double rom_bits_ = 0.0;  // NumericsProfile::rom_bits
};
// Means and paired moving-block-bootstrap intervals of `scores` (the same resampled positions
// for float and chip, so the ratio's interval reflects their correlation).
StreamQuality summarize_scores(const PositionScores& scores, const ScoreOptions& options);

// Scores an already quantized model (e.g. a chip image) and summarizes.
StreamQuality measure_stream_quality(const QuantizedModel& model, const std::vector<int32_t>& tokens,
                                     const FloatWindows& ref, const ScoreOptions& options);
// Quantizes `weights` with `profile` (calibrating when it needs it), scores it and summarizes.
StreamQuality measure_stream_quality(const ModelWeights& weights, const NumericsProfile& profile,
                                     const std::vector<int32_t>& tokens, const FloatWindows& ref,
                                     const ScoreOptions& options);

// The default stream: n ids uniform in [0, vocab) from a 64-bit Mersenne twister seeded with
// `seed` (id = draw mod vocab, so every platform gives the same stream).
std::vector<int32_t> seeded_tokens(int64_t vocab, int64_t n, uint64_t seed);

}  // namespace hw
