// Quality of chip numerics against the float reference (quality.h). Softmax, KL and NLL are
// evaluated in double with the maximum subtracted, so large logits cannot overflow.
#include "model/quality.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

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

Windows make_windows(int64_t n_tokens, const ModelConfig& config, const ScoreOptions& o) {
  if (o.window_tokens_ < 0 || o.window_tokens_ > config.max_positions_) {
    throw make_error("window", std::to_string(o.window_tokens_) + " positions is outside 1.." +
                                   std::to_string(config.max_positions_) + ", the context of " +
                                   config.name_,
                     "give a window no longer than the context, or 0 for the context");
  }
  if (o.window_tokens_ == 1 || (o.second_half_ && o.window_tokens_ > 0 && o.window_tokens_ < 4)) {
    throw make_error("window", "a window of " + std::to_string(o.window_tokens_) +
                                   " positions scores no prediction",
                     "use at least 2 positions (4 with second-half scoring)");
  }
  Windows w;
  w.window_tokens_ = o.window_tokens_ > 0 ? o.window_tokens_ : config.max_positions_;
  for (int64_t start = 0; start < n_tokens; start += w.window_tokens_) {
    const int64_t end = std::min(n_tokens, start + w.window_tokens_);
    if (end - start >= 2) w.spans_.push_back({start, end});
  }
  if (w.spans_.empty()) {
    throw make_error("tokens", std::to_string(n_tokens) + " token(s) give no prediction to score",
                     "give at least 2 tokens");
  }
  return w;
}

FloatWindows float_windows(const ModelWeights& weights, const std::vector<int32_t>& tokens,
                           const ScoreOptions& options) {
  FloatWindows f;
  f.windows_ = make_windows(static_cast<int64_t>(tokens.size()), weights.config_, options);
  FloatReference reference(weights, f.windows_.window_tokens_);
  for (const auto& [start, end] : f.windows_.spans_) {
    reference.reset();
    const std::vector<int32_t> part(tokens.begin() + start, tokens.begin() + end);
    f.logits_.push_back(reference.forward(part));
  }
  return f;
}

PositionScores score_chip(const QuantizedModel& model, const std::vector<int32_t>& tokens,
                          const FloatWindows& ref, const ScoreOptions& options) {
  const int64_t vocab = model.config_.vocab_;
  GoldenModel golden(model, ref.windows_.window_tokens_);
  PositionScores sc;
  std::vector<float> chip(static_cast<size_t>(vocab));
  for (size_t w = 0; w < ref.windows_.spans_.size(); ++w) {
    const auto [start, end] = ref.windows_.spans_[w];
    const int64_t len = end - start;
    const int64_t first = options.second_half_ ? len / 2 : 0;
    if (static_cast<int64_t>(ref.logits_[w].size()) != len * vocab) {
      throw make_error("score_chip", "float logits do not match window " + std::to_string(w));
    }
    golden.reset();
    for (int64_t i = 0; i < len; ++i) {
      const std::vector<int32_t>& logits = golden.step({tokens[static_cast<size_t>(start + i)]});
      if (i < first || i + 1 >= len) continue;
      for (int64_t v = 0; v < vocab; ++v) chip[static_cast<size_t>(v)] = golden.logit_to_float(logits[static_cast<size_t>(v)]);
      const float* r = ref.logits_[w].data() + i * vocab;
      const double lse_r = log_sum_exp(r, vocab);
      const double lse_c = log_sum_exp(chip.data(), vocab);
      double kl = 0.0;
      for (int64_t v = 0; v < vocab; ++v) {
        const double lp = r[v] - lse_r;
        const double lq = chip[static_cast<size_t>(v)] - lse_c;
        kl += std::exp(lp) * (lp - lq);
        sc.max_logit_error_ =
            std::max(sc.max_logit_error_, std::fabs(static_cast<double>(chip[static_cast<size_t>(v)]) - r[v]));
      }
      const int32_t next = tokens[static_cast<size_t>(start + i + 1)];
      sc.nll_float_.push_back(lse_r - r[next]);
      sc.nll_chip_.push_back(lse_c - chip[static_cast<size_t>(next)]);
      sc.kl_.push_back(std::max(0.0, kl));
      sc.agree_.push_back(argmax(r, vocab) == GoldenModel::sample(logits) ? 1 : 0);
    }
  }
  return sc;
}

StreamQuality summarize_scores(const PositionScores& s, const ScoreOptions& o) {
  StreamQuality q;
  const int64_t n = static_cast<int64_t>(s.nll_float_.size());
  q.n_scored_ = n;
  q.max_logit_error_ = s.max_logit_error_;
  if (n == 0) return q;
  struct Sums {
    double nf = 0, nc = 0, kl = 0, agree = 0;
  };
  auto add = [&](Sums& a, int64_t i) {
    a.nf += s.nll_float_[static_cast<size_t>(i)];
    a.nc += s.nll_chip_[static_cast<size_t>(i)];
    a.kl += s.kl_[static_cast<size_t>(i)];
    a.agree += s.agree_[static_cast<size_t>(i)];
  };
  Sums all;
  for (int64_t i = 0; i < n; ++i) add(all, i);
  const double dn = static_cast<double>(n);
  q.perplexity_float_ = std::exp(all.nf / dn);
  q.perplexity_chip_ = std::exp(all.nc / dn);
  q.perplexity_ratio_ = std::exp((all.nc - all.nf) / dn);
  q.mean_kl_ = all.kl / dn;
  q.top1_agreement_ = all.agree / dn;
  if (o.bootstrap_samples_ <= 0) {
    q.perplexity_float_ci_ = {q.perplexity_float_, q.perplexity_float_};
    q.perplexity_chip_ci_ = {q.perplexity_chip_, q.perplexity_chip_};
    q.perplexity_ratio_ci_ = {q.perplexity_ratio_, q.perplexity_ratio_};
    q.mean_kl_ci_ = {q.mean_kl_, q.mean_kl_};
    q.top1_ci_ = {q.top1_agreement_, q.top1_agreement_};
    return q;
  }
  // Moving-block bootstrap: ceil(n / L) blocks of L consecutive predictions with uniformly drawn
  // starts in [0, n - L], truncated to n predictions; the percentile interval of B resamples.
  const int64_t block = std::clamp<int64_t>(o.bootstrap_block_, 1, n);
  const uint64_t starts = static_cast<uint64_t>(n - block + 1);
  std::mt19937_64 engine(o.seed_);
  const size_t b_count = static_cast<size_t>(o.bootstrap_samples_);
  std::vector<double> pf(b_count), pc(b_count), pr(b_count), kl(b_count), ag(b_count);
  for (size_t b = 0; b < b_count; ++b) {
    Sums r;
    int64_t taken = 0;
    while (taken < n) {
      const int64_t st = static_cast<int64_t>(engine() % starts);
      for (int64_t i = st; i < st + block && taken < n; ++i, ++taken) add(r, i);
    }
    pf[b] = std::exp(r.nf / dn);
    pc[b] = std::exp(r.nc / dn);
    pr[b] = std::exp((r.nc - r.nf) / dn);
    kl[b] = r.kl / dn;
    ag[b] = r.agree / dn;
  }
  auto interval = [&](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double p) {
      const double rank = std::ceil(p * static_cast<double>(v.size()));
      return v[static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(v.size()))) - 1];
    };
    return Interval{at(0.025), at(0.975)};
  };
  q.perplexity_float_ci_ = interval(pf);
  q.perplexity_chip_ci_ = interval(pc);
  q.perplexity_ratio_ci_ = interval(pr);
  q.mean_kl_ci_ = interval(kl);
  q.top1_ci_ = interval(ag);
  return q;
}

StreamQuality measure_stream_quality(const QuantizedModel& model, const std::vector<int32_t>& tokens,
                                     const FloatWindows& ref, const ScoreOptions& options) {
  StreamQuality q = summarize_scores(score_chip(model, tokens, ref, options), options);
  q.n_tokens_ = static_cast<int64_t>(tokens.size());
  q.n_windows_ = static_cast<int64_t>(ref.windows_.spans_.size());
  q.window_tokens_ = ref.windows_.window_tokens_;
  q.mean_weight_bits_ = model.profile_.mean_weight_bits(model.config_);
  q.rom_bits_ = model.profile_.rom_bits(model.config_);
  return q;
}

StreamQuality measure_stream_quality(const ModelWeights& weights, const NumericsProfile& profile,
                                     const std::vector<int32_t>& tokens, const FloatWindows& ref,
                                     const ScoreOptions& options) {
  return measure_stream_quality(quantize_model(weights, profile), tokens, ref, options);
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
