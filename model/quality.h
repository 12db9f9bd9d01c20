// What chip numerics cost in output quality: the golden model's logits against the float
// reference's on one token stream (top-1 agreement, KL divergence, worst logit error and the
// perplexity ratio), for one profile or over a curve of weight widths. Used by
// `hardwire quality` and by the tests that bound the cost of w8a8.
#pragma once
#include <cstdint>
#include <vector>

#include "model/numerics_profile.h"
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

// The default stream: n ids uniform in [0, vocab) from a 64-bit Mersenne twister seeded with
// `seed` (id = draw mod vocab, so every platform gives the same stream).
std::vector<int32_t> seeded_tokens(int64_t vocab, int64_t n, uint64_t seed);

}  // namespace hw
