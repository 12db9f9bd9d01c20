// Quality of chip numerics against the float reference (quality.h). Softmax, KL and NLL are
// evaluated in double with the maximum subtracted, so large logits cannot overflow.
#include "model/quality.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/error.h"
#include "model/float_ref.h"
#include "model/golden_model.h"
#include "model/quantizer.h"

namespace hw {
namespace {

// log of the softmax normalizer: max + log(sum exp(x - max)).
double log_sum_exp(const float* x, int64_t n) {
  double m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, static_cast<double>(x[i]));
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - m);
  return m + std::log(s);
}

}  // namespace

QualityReport compare_logits(const std::vector<float>& ref, const std::vector<float>& chip,
                             const std::vector<int32_t>& chip_argmax, int64_t vocab,
                             const std::vector<int32_t>& tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (vocab <= 0 || static_cast<int64_t>(ref.size()) != n * vocab ||
      static_cast<int64_t>(chip.size()) != n * vocab ||
      static_cast<int64_t>(chip_argmax.size()) != n) {
    throw make_error("compare_logits", "logits do not match " + std::to_string(n) +
                                           " positions of " + std::to_string(vocab) + " values");
  }
  QualityReport q;
  q.n_tokens_ = n;
  if (n == 0) return q;
  int64_t agree = 0;
  double kl_sum = 0.0;
  double nll_f = 0.0;
  double nll_c = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float* r = ref.data() + i * vocab;
    const float* c = chip.data() + i * vocab;
    if (argmax(r, vocab) == chip_argmax[static_cast<size_t>(i)]) ++agree;
    const double lse_r = log_sum_exp(r, vocab);
    const double lse_c = log_sum_exp(c, vocab);
    double kl = 0.0;
    for (int64_t v = 0; v < vocab; ++v) {
      const double lp = r[v] - lse_r;
      const double lq = c[v] - lse_c;
      kl += std::exp(lp) * (lp - lq);
      q.max_logit_error_ = std::max(q.max_logit_error_, std::fabs(static_cast<double>(c[v]) - r[v]));
    }
    kl_sum += std::max(0.0, kl);
    if (i + 1 < n) {
      const int32_t next = tokens[static_cast<size_t>(i + 1)];
      nll_f += lse_r - r[next];
      nll_c += lse_c - c[next];
    }
  }
  q.top1_agreement_ = static_cast<double>(agree) / static_cast<double>(n);
  q.mean_kl_ = kl_sum / static_cast<double>(n);
  if (n >= 2) {
    const double m = static_cast<double>(n - 1);
    q.perplexity_float_ = std::exp(nll_f / m);
    q.perplexity_chip_ = std::exp(nll_c / m);
    q.perplexity_ratio_ = std::exp((nll_c - nll_f) / m);
  } else {
    q.perplexity_ratio_ = 1.0;
  }
  return q;
}

std::vector<float> float_logits(const ModelWeights& weights, const std::vector<int32_t>& tokens) {
  FloatReference reference(weights, static_cast<int64_t>(tokens.size()));
  return reference.forward(tokens);
}

QualityReport measure_quality(const ModelWeights& weights, const NumericsProfile& profile,
                              const std::vector<int32_t>& tokens,
                              const std::vector<float>& ref_logits) {
  const QuantizedModel qm = quantize_model(weights, profile);
  GoldenModel golden(qm, static_cast<int64_t>(tokens.size()));
  const int64_t vocab = weights.config_.vocab_;
  std::vector<float> chip;
  chip.reserve(tokens.size() * static_cast<size_t>(vocab));
  std::vector<int32_t> chip_argmax;
  for (int32_t t : tokens) {
    const std::vector<int32_t>& logits = golden.step({t});
    chip_argmax.push_back(GoldenModel::sample(logits));
    for (int32_t v : logits) chip.push_back(golden.logit_to_float(v));
  }
  QualityReport q = compare_logits(ref_logits, chip, chip_argmax, vocab, tokens);
  q.mean_weight_bits_ = profile.mean_weight_bits(weights.config_);
  return q;
}

std::vector<int32_t> seeded_tokens(int64_t vocab, int64_t n, uint64_t seed) {
  if (vocab <= 0 || n < 0) {
    throw make_error("seeded_tokens", "needs a positive vocabulary and a non-negative length");
  }
  std::mt19937_64 engine(seed);
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (auto& t : out) t = static_cast<int32_t>(engine() % static_cast<uint64_t>(vocab));
  return out;
}

}  // namespace hw
