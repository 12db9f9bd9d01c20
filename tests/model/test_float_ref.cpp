// Tests of the float reference (model/float_ref.h): each primitive against its direct formula,
// the whole forward pass against llama.cpp's logits for every oracle model in
// HARDWIRE_SHARED_DIR/oracle (batched and token-by-token), the Qwen2 / Qwen3 / tied /
// llama3-scaled variants against an independent double-precision loop implementation, and the
// same model loaded from GGUF and from HF safetensors giving the same logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/float_ref.h"
#include "model/weights.h"
#include "tests/model/format_writers.h"

namespace hw {
namespace {

namespace fs = std::filesystem;

std::vector<float> random_vector(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Primitives

TEST(FloatRefPrimitives, RmsNormMatchesFormula) {
  const int64_t n = 37;
  const std::vector<float> x = random_vector(n, 1, 3.0f);
  const std::vector<float> w = random_vector(n, 2);
  const double eps = 1e-5;
  std::vector<float> out(static_cast<size_t>(n));
  rms_norm(x.data(), w.data(), n, eps, out.data());
  double ss = 0.0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double inv_rms = 1.0 / std::sqrt(ss / n + eps);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(out[i], x[i] * inv_rms * w[i], 1e-5 * (1.0 + std::fabs(x[i] * inv_rms * w[i])));
  }
  // In place gives the same result.
  std::vector<float> y = x;
  rms_norm(y.data(), w.data(), n, eps, y.data());
  EXPECT_EQ(y, out);
}

TEST(FloatRefPrimitives, RopeFrequenciesUnscaled) {
  ModelConfig c;
  c.head_dim_ = 16;
  c.rope_theta_ = 10000.0;
  const std::vector<double> f = rope_frequencies(c);
  ASSERT_EQ(f.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(f[i], std::pow(10000.0, -2.0 * i / 16.0));
  c.head_dim_ = 15;
  EXPECT_THROW(rope_frequencies(c), Error);
}

// Llama 3.1's published scaling (factor 8, low_freq_factor 1, high_freq_factor 4, original
// context 8192, theta 500000, head_dim 128): wavelengths below 8192/4 = 2048 keep their
// frequency, above 8192/1 are divided by 8, in between interpolate with
// smooth = (8192 / wavelen - 1) / (4 - 1).
TEST(FloatRefPrimitives, RopeFrequenciesLlama3Scaling) {
  ModelConfig c;
  c.head_dim_ = 128;
  c.rope_theta_ = 500000.0;
  c.rope_scaling_.enabled_ = true;
  c.rope_scaling_.factor_ = 8.0;
  c.rope_scaling_.low_freq_factor_ = 1.0;
  c.rope_scaling_.high_freq_factor_ = 4.0;
  c.rope_scaling_.original_max_positions_ = 8192;
  const std::vector<double> f = rope_frequencies(c);
  ASSERT_EQ(f.size(), 64u);
  const double pi = std::acos(-1.0);
  // i = 0: frequency 1, wavelength 2*pi: high-frequency band, unchanged.
  EXPECT_DOUBLE_EQ(f[0], 1.0);
  // i = 20: 500000^(-40/128) = 0.01656..., wavelength 379 < 2048: unchanged.
  EXPECT_NEAR(f[20], 0.016560440080994446, 1e-15);
  // i = 32: 500000^(-1/2) = 1/sqrt(500000), wavelength 2*pi*sqrt(500000) = 4442.88 (medium):
  // smooth = (8192 / 4442.88 - 1) / 3 = 0.281283, f = f0 * ((1 - smooth) / 8 + smooth).
  const double f32 = 1.0 / std::sqrt(500000.0);
  const double smooth = (8192.0 / (2.0 * pi * std::sqrt(500000.0)) - 1.0) / 3.0;
  EXPECT_NEAR(smooth, 0.281283, 1e-6);
  EXPECT_NEAR(f[32], f32 * ((1.0 - smooth) / 8.0 + smooth), 1e-15);
  EXPECT_NEAR(f[32], 5.248461609929547e-04, 1e-12);
  // i = 35: 500000^(-70/128) = 7.645e-4, wavelength 8219 > 8192: divided by 8.
  EXPECT_NEAR(f[35], 7.644969883171747e-04 / 8.0, 1e-15);
  // i = 63: 500000^(-126/128) = 2.455e-6: divided by 8.
  EXPECT_NEAR(f[63], 2.455140791131609e-06 / 8.0, 1e-18);
  // Scaling only ever slows rotation, and frequency still falls with i.
  for (int i = 1; i < 64; ++i) EXPECT_LT(f[i], f[i - 1]) << i;
  c.rope_scaling_.high_freq_factor_ = 1.0;
  EXPECT_THROW(rope_frequencies(c), Error);
}

TEST(FloatRefPrimitives, RopeRotatesAdjacentPairs) {
  const int64_t n_heads = 3;
  const int64_t head_dim = 8;
  const int64_t pos = 7;
  ModelConfig c;
  c.head_dim_ = head_dim;
  c.rope_theta_ = 10000.0;
  const std::vector<double> freqs = rope_frequencies(c);
  const std::vector<float> x = random_vector(n_heads * head_dim, 3);
  std::vector<float> y = x;
  rope(y.data(), n_heads, head_dim, pos, freqs);
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < head_dim / 2; ++i) {
      const double theta = pos * std::pow(10000.0, -2.0 * i / head_dim);
      const double x0 = x[h * head_dim + 2 * i];
      const double x1 = x[h * head_dim + 2 * i + 1];
      EXPECT_NEAR(y[h * head_dim + 2 * i], x0 * std::cos(theta) - x1 * std::sin(theta), 1e-5);
      EXPECT_NEAR(y[h * head_dim + 2 * i + 1], x0 * std::sin(theta) + x1 * std::cos(theta), 1e-5);
    }
  }
  // Position 0 is the identity.
  std::vector<float> z = x;
  rope(z.data(), n_heads, head_dim, 0, freqs);
  EXPECT_EQ(z, x);
  // A unit vector on element 0 moves into element 1 (adjacent pair), never into head_dim / 2
  // (which rotate-half would do).
  std::vector<float> e(static_cast<size_t>(head_dim), 0.0f);
  e[0] = 1.0f;
  rope(e.data(), 1, head_dim, 1, freqs);
  EXPECT_NEAR(e[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(e[1], std::sin(1.0), 1e-6);
  EXPECT_EQ(e[head_dim / 2], 0.0f);
  // Too few frequencies for the head size is an error, not a read past the end.
  EXPECT_THROW(rope(e.data(), 1, head_dim, 1, std::vector<double>(2, 1.0)), Error);
}

TEST(FloatRefPrimitives, SoftmaxIsStableAndNormalized) {
  std::vector<float> big = {1000.0f, 1001.0f, 1002.0f, -1000.0f};
  std::vector<float> small = {0.0f, 1.0f, 2.0f, -2000.0f};
  softmax(big.data(), 4);
  softmax(small.data(), 4);
  double sum = 0.0;
  for (size_t i = 0; i < big.size(); ++i) {
    EXPECT_TRUE(std::isfinite(big[i]));
    EXPECT_NEAR(big[i], small[i], 1e-7);
    sum += big[i];
  }
  EXPECT_NEAR(sum, 1.0, 1e-6);
  const double e0 = 1.0, e1 = std::exp(1.0), e2 = std::exp(2.0);
  EXPECT_NEAR(small[2], e2 / (e0 + e1 + e2), 1e-6);
  EXPECT_EQ(small[3], 0.0f);
}

TEST(FloatRefPrimitives, Silu) {
  EXPECT_EQ(silu(0.0f), 0.0f);
  EXPECT_NEAR(silu(1.0f), 1.0 / (1.0 + std::exp(-1.0)), 1e-7);
  EXPECT_NEAR(silu(-2.5f), -2.5 / (1.0 + std::exp(2.5)), 1e-7);
  EXPECT_NEAR(silu(50.0f), 50.0f, 1e-5);
  EXPECT_TRUE(std::isfinite(silu(-200.0f)));
  EXPECT_NEAR(silu(-200.0f), 0.0f, 1e-30);
}

TEST(FloatRefPrimitives, AttentionHeadGroupMatchesNaive) {
  const int64_t head_dim = 8;
  const int64_t group = 3;
  const int64_t n_keys = 5;
  const int64_t stride = 20;  // KV cache rows hold other heads too
  const std::vector<float> q = random_vector(group * head_dim, 4);
  const std::vector<float> k = random_vector(n_keys * stride, 5);
  const std::vector<float> v = random_vector(n_keys * stride, 6);
  const int64_t offset = 4;  // this KV head starts at column 4 of each row
  std::vector<float> out(static_cast<size_t>(group * head_dim));
  attention_head_group(q.data(), k.data() + offset, v.data() + offset, n_keys, stride, head_dim,
                       group, out.data());
  for (int64_t j = 0; j < group; ++j) {
    std::vector<double> s(n_keys);
    double mx = -1e300;
    for (int64_t t = 0; t < n_keys; ++t) {
      double dot = 0.0;
      for (int64_t d = 0; d < head_dim; ++d) {
        dot += static_cast<double>(q[j * head_dim + d]) * k[t * stride + offset + d];
      }
      s[t] = dot / std::sqrt(static_cast<double>(head_dim));
      mx = std::max(mx, s[t]);
    }
    double sum = 0.0;
    for (double& x : s) sum += (x = std::exp(x - mx));
    for (int64_t d = 0; d < head_dim; ++d) {
      double acc = 0.0;
      for (int64_t t = 0; t < n_keys; ++t) acc += s[t] / sum * v[t * stride + offset + d];
      EXPECT_NEAR(out[j * head_dim + d], acc, 1e-5) << "head " << j << " dim " << d;
    }
  }
  // A single key: the output is that value row whatever the query.
  attention_head_group(q.data(), k.data() + offset, v.data() + offset, 1, stride, head_dim,
                       group, out.data());
  for (int64_t j = 0; j < group; ++j) {
    for (int64_t d = 0; d < head_dim; ++d) {
      EXPECT_FLOAT_EQ(out[j * head_dim + d], v[offset + d]);
    }
  }
}

TEST(FloatRefPrimitives, ArgmaxTiesGoToLowestIndex) {
  const std::vector<float> x = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  EXPECT_EQ(argmax(x.data(), 5), 1);
  const std::vector<float> y = {-3.0f, -3.0f};
  EXPECT_EQ(argmax(y.data(), 2), 0);
  const std::vector<float> z = {1.0f, 2.0f, 3.0f};
  EXPECT_EQ(argmax(z.data(), 3), 2);
}

// ---------------------------------------------------------------------------------------------
// Independent double-precision implementation (plain loops, whole sequence recomputed) used to
// check the variants the oracle does not cover.

std::vector<double> naive_matvec(const FloatTensor& w, const std::vector<double>& x) {
  std::vector<double> y(static_cast<size_t>(w.rows_), 0.0);
  for (int64_t r = 0; r < w.rows_; ++r) {
    for (int64_t c = 0; c < w.cols_; ++c) y[r] += static_cast<double>(w.data_[r * w.cols_ + c]) * x[c];
  }
  return y;
}

void naive_rms_norm(std::vector<double>& x, size_t begin, size_t n, const FloatTensor& w,
                    double eps) {
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += x[begin + i] * x[begin + i];
  const double s = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i) x[begin + i] *= s * w.data_[i];
}

std::vector<float> naive_forward(const ModelWeights& w, const std::vector<int32_t>& tokens) {
  const ModelConfig& c = w.config_;
  const size_t hd = static_cast<size_t>(c.head_dim_);
  const size_t n = tokens.size();
  const std::vector<double> freqs = rope_frequencies(c);
  std::vector<std::vector<double>> x(n);
  for (size_t t = 0; t < n; ++t) {
    x[t].assign(w.tok_embd_.row(tokens[t]), w.tok_embd_.row(tokens[t]) + c.d_model_);
  }
  for (const LayerWeights& lw : w.layers_) {
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (size_t t = 0; t < n; ++t) {
      std::vector<double> h = x[t];
      naive_rms_norm(h, 0, h.size(), lw.attn_norm_, c.rms_eps_);
      q[t] = naive_matvec(lw.wq_, h);
      k[t] = naive_matvec(lw.wk_, h);
      v[t] = naive_matvec(lw.wv_, h);
      if (c.qkv_bias_) {
        for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += lw.bq_.data_[i];
        for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += lw.bk_.data_[i];
        for (size_t i = 0; i < v[t].size(); ++i) v[t][i] += lw.bv_.data_[i];
      }
      for (auto* qk : {&q[t], &k[t]}) {
        for (size_t head = 0; head < qk->size() / hd; ++head) {
          if (c.qk_norm_) {
            naive_rms_norm(*qk, head * hd, hd, qk == &q[t] ? lw.q_norm_ : lw.k_norm_, c.rms_eps_);
          }
          for (size_t i = 0; i < hd / 2; ++i) {
            const double a = static_cast<double>(t) * freqs[i];
            double& x0 = (*qk)[head * hd + 2 * i];
            double& x1 = (*qk)[head * hd + 2 * i + 1];
            const double r0 = x0 * std::cos(a) - x1 * std::sin(a);
            const double r1 = x0 * std::sin(a) + x1 * std::cos(a);
            x0 = r0;
            x1 = r1;
          }
        }
      }
    }
    for (size_t t = 0; t < n; ++t) {
      std::vector<double> attn(static_cast<size_t>(c.q_dim()), 0.0);
      for (size_t head = 0; head < static_cast<size_t>(c.n_heads_); ++head) {
        const size_t kvh = head / static_cast<size_t>(c.group_size());
        std::vector<double> s(t + 1);
        double mx = -1e300;
        for (size_t u = 0; u <= t; ++u) {
          double dot = 0.0;
          for (size_t d = 0; d < hd; ++d) dot += q[t][head * hd + d] * k[u][kvh * hd + d];
          s[u] = dot / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[u]);
        }
        double sum = 0.0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t u = 0; u <= t; ++u) {
          for (size_t d = 0; d < hd; ++d) attn[head * hd + d] += s[u] / sum * v[u][kvh * hd + d];
        }
      }
      const std::vector<double> o = naive_matvec(lw.wo_, attn);
      for (size_t i = 0; i < o.size(); ++i) x[t][i] += o[i];
      std::vector<double> h = x[t];
      naive_rms_norm(h, 0, h.size(), lw.ffn_norm_, c.rms_eps_);
      std::vector<double> g = naive_matvec(lw.w_gate_, h);
      const std::vector<double> up = naive_matvec(lw.w_up_, h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * up[i];
      const std::vector<double> down = naive_matvec(lw.w_down_, g);
      for (size_t i = 0; i < down.size(); ++i) x[t][i] += down[i];
    }
  }
  const FloatTensor& out_w = w.output_.empty() ? w.tok_embd_ : w.output_;
  std::vector<float> logits;
  for (size_t t = 0; t < n; ++t) {
    naive_rms_norm(x[t], 0, x[t].size(), w.output_norm_, c.rms_eps_);
    for (double l : naive_matvec(out_w, x[t])) logits.push_back(static_cast<float>(l));
  }
  return logits;
}

// Small shapes in the style of each family; 2 KV heads shared by 4 query heads (GQA).
ModelConfig tiny_config(const std::string& arch) {
  ModelConfig c;
  c.name_ = "tiny-" + arch;
  c.arch_ = arch == "tied" || arch == "llama3" ? "llama" : arch;
  c.n_layers_ = 2;
  c.d_model_ = 64;
  c.n_heads_ = 4;
  c.n_kv_heads_ = 2;
  c.head_dim_ = 16;
  c.d_ff_ = 96;
  c.vocab_ = 97;
  c.max_positions_ = 64;
  c.rms_eps_ = 1e-6;
  c.rope_theta_ = 1000000.0;
  c.qkv_bias_ = arch == "qwen2";
  c.qk_norm_ = arch == "qwen3";
  c.tied_embeddings_ = arch == "tied" || arch == "qwen2";
  if (arch == "llama3") {
    // Scaling with a short original context so the medium band covers head_dim 16's pairs.
    c.rope_theta_ = 500000.0;
    c.rope_scaling_.enabled_ = true;
    c.rope_scaling_.factor_ = 8.0;
    c.rope_scaling_.low_freq_factor_ = 1.0;
    c.rope_scaling_.high_freq_factor_ = 4.0;
    c.rope_scaling_.original_max_positions_ = 64;
  }
  return c;
}

const std::vector<int32_t> kSyntheticTokens = {3, 96, 0, 41, 7, 7, 55, 12, 80, 1, 33, 64, 5, 90};

class FloatRefSynthetic : public ::testing::TestWithParam<std::string> {};

TEST_P(FloatRefSynthetic, PrefillEqualsDecodeAndMatchesNaive) {
  const ModelWeights w = synthetic_weights(tiny_config(GetParam()), 1234);
  FloatReference ref(w);
  const std::vector<float> batched = ref.forward(kSyntheticTokens);
  EXPECT_EQ(ref.position(), static_cast<int64_t>(kSyntheticTokens.size()));
  ref.reset();
  EXPECT_EQ(ref.position(), 0);
  std::vector<float> stepwise;
  for (int32_t t : kSyntheticTokens) {
    const std::vector<float> row = ref.forward({t});
    stepwise.insert(stepwise.end(), row.begin(), row.end());
  }
  // Mixed: a prefill of 5, then the rest in chunks of 3 and single tokens.
  ref.reset();
  std::vector<float> mixed;
  size_t i = 0;
  for (size_t chunk : {5u, 3u, 1u, 2u, 3u}) {
    const std::vector<int32_t> part(kSyntheticTokens.begin() + i,
                                    kSyntheticTokens.begin() + i + chunk);
    const std::vector<float> rows = ref.forward(part);
    mixed.insert(mixed.end(), rows.begin(), rows.end());
    i += chunk;
  }
  ASSERT_EQ(i, kSyntheticTokens.size());
  const std::vector<float> naive = naive_forward(w, kSyntheticTokens);
  const double d_step = max_abs_diff(batched, stepwise);
  const double d_mixed = max_abs_diff(batched, mixed);
  const double d_naive = max_abs_diff(batched, naive);
  std::cout << "[ synthetic " << GetParam() << " ] prefill vs decode " << d_step
            << ", vs chunked " << d_mixed << ", vs float64 loops " << d_naive << "\n";
  EXPECT_LE(d_step, 1e-5);
  EXPECT_LE(d_mixed, 1e-5);
  EXPECT_LE(d_naive, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Variants, FloatRefSynthetic,
                         ::testing::Values("llama", "qwen2", "qwen3", "tied", "llama3"));

// The variant-specific weights must actually be read: perturbing them changes the logits.
TEST(FloatRefSynthetic, VariantWeightsAreUsed) {
  const std::vector<int32_t> tokens = {5, 9, 2};
  {
    ModelWeights w = synthetic_weights(tiny_config("qwen3"), 7);
    const std::vector<float> base = FloatReference(w).forward(tokens);
    for (float& x : w.layers_[0].k_norm_.data_) x *= 2.0f;
    EXPECT_GT(max_abs_diff(base, FloatReference(w).forward(tokens)), 1e-3);
  }
  {
    ModelWeights w = synthetic_weights(tiny_config("qwen2"), 7);
    const std::vector<float> base = FloatReference(w).forward(tokens);
    for (float& x : w.layers_[1].bv_.data_) x += 0.5f;
    EXPECT_GT(max_abs_diff(base, FloatReference(w).forward(tokens)), 1e-3);
  }
}

TEST(FloatRefSynthetic, ErrorsAreClear) {
  const ModelWeights w = synthetic_weights(tiny_config("llama"), 3);
  FloatReference ref(w, 4);
  EXPECT_EQ(ref.capacity(), 4);
  EXPECT_THROW(ref.forward({1, 2, 3, 4, 5}), Error);
  EXPECT_EQ(ref.position(), 0);
  ref.forward({1, 2, 3});
  try {
    ref.forward({4, 5});
    FAIL() << "exceeding the KV cache must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("capacity of 4"), std::string::npos) << e.what();
  }
  ref.reset();
  EXPECT_THROW(ref.forward({97}), Error);
  EXPECT_THROW(ref.forward({-1}), Error);
  EXPECT_THROW(generate_greedy(ref, {}, 2), Error);
  EXPECT_THROW(generate_greedy(ref, {1, 2}, 4), Error);  // needs 5 positions
  EXPECT_EQ(FloatReference(w).capacity(), 64);

  ModelWeights bad = w;
  bad.layers_[1].wk_.data_.pop_back();
  EXPECT_THROW(FloatReference{bad}, Error);
  ModelWeights bad_rows = w;
  bad_rows.layers_[0].w_down_.rows_ -= 1;
  EXPECT_THROW(FloatReference{bad_rows}, Error);
}

TEST(FloatRefSynthetic, GreedyFollowsArgmaxChain) {
  const ModelWeights w = synthetic_weights(tiny_config("qwen3"), 11);
  FloatReference ref(w);
  const std::vector<int32_t> prompt = {4, 8, 15};
  const std::vector<int32_t> gen = generate_greedy(ref, prompt, 6);
  ASSERT_EQ(gen.size(), 6u);
  EXPECT_EQ(ref.position(), 3 + 5);
  // Recompute: the full sequence in one batch must predict each generated token.
  std::vector<int32_t> seq = prompt;
  seq.insert(seq.end(), gen.begin(), gen.end() - 1);
  ref.reset();
  const std::vector<float> logits = ref.forward(seq);
  const int64_t vocab = w.config_.vocab_;
  for (size_t i = 0; i < gen.size(); ++i) {
    EXPECT_EQ(argmax(logits.data() + (prompt.size() - 1 + i) * vocab, vocab), gen[i]) << i;
  }
  ref.reset();
  EXPECT_TRUE(generate_greedy(ref, prompt, 0).empty());
}

// ---------------------------------------------------------------------------------------------
// llama.cpp oracle

struct OracleCase {
  std::string name_;
  fs::path gguf_;
  fs::path json_;
};

void PrintTo(const OracleCase& c, std::ostream* os) { *os << c.name_; }

fs::path oracle_dir() { return fs::path(HARDWIRE_SHARED_DIR) / "oracle"; }

std::vector<OracleCase> discover_oracle_models() {
  std::vector<OracleCase> cases;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(oracle_dir(), ec)) {
    if (entry.path().extension() != ".gguf") continue;
    const std::string stem = entry.path().stem().string();
    const fs::path json = entry.path().parent_path() / (stem + ".logits.json");
    if (fs::exists(json)) cases.push_back({stem, entry.path(), json});
  }
  std::sort(cases.begin(), cases.end(),
            [](const OracleCase& a, const OracleCase& b) { return a.name_ < b.name_; });
  return cases;
}

std::vector<float> read_f32(const fs::path& path, size_t expected_values) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::vector<float> v(expected_values);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  EXPECT_EQ(static_cast<size_t>(in.gcount()), expected_values * sizeof(float)) << path;
  EXPECT_EQ(in.peek(), std::char_traits<char>::eof()) << path << " is longer than expected";
  return v;
}

TEST(FloatRefOracle, OracleModelsPresent) {
  const std::vector<OracleCase> cases = discover_oracle_models();
  EXPECT_GE(cases.size(), 2u) << "expected tiny-mha and tiny-gqa-s in " << oracle_dir();
}

class FloatRefOracle : public ::testing::TestWithParam<OracleCase> {};

TEST_P(FloatRefOracle, MatchesLlamaCpp) {
  const OracleCase& oc = GetParam();
  std::ifstream json_in(oc.json_);
  const nlohmann::json meta = nlohmann::json::parse(json_in);
  const std::vector<int32_t> tokens = meta.at("token_ids").get<std::vector<int32_t>>();
  const int64_t n_vocab = meta.at("n_vocab").get<int64_t>();
  const std::vector<int32_t> oracle_argmax =
      meta.at("argmax_next_token_batched").get<std::vector<int32_t>>();
  const size_t n_values = tokens.size() * static_cast<size_t>(n_vocab);
  const fs::path dir = oc.json_.parent_path();
  const std::vector<float> oracle_batched =
      read_f32(dir / meta.at("logits_file").get<std::string>(), n_values);
  const std::vector<float> oracle_stepwise =
      read_f32(dir / meta.at("logits_stepwise_file").get<std::string>(), n_values);

  const ModelWeights w = load_weights(oc.gguf_.string());
  ASSERT_EQ(w.config_.vocab_, n_vocab);
  FloatReference ref(w);
  const std::vector<float> batched = ref.forward(tokens);
  ref.reset();
  std::vector<float> stepwise;
  for (int32_t t : tokens) {
    const std::vector<float> row = ref.forward({t});
    stepwise.insert(stepwise.end(), row.begin(), row.end());
  }

  struct Pair {
    const char* label_;
    const std::vector<float>* ours_;
    const std::vector<float>* theirs_;
  };
  const Pair pairs[] = {{"batched_vs_logits", &batched, &oracle_batched},
                        {"batched_vs_stepwise_logits", &batched, &oracle_stepwise},
                        {"stepwise_vs_logits", &stepwise, &oracle_batched},
                        {"stepwise_vs_stepwise_logits", &stepwise, &oracle_stepwise}};
  for (const Pair& p : pairs) {
    const double d = max_abs_diff(*p.ours_, *p.theirs_);
    std::cout << "[ oracle " << oc.name_ << " ] max |diff| " << p.label_ << " = " << d << "\n";
    RecordProperty(std::string("max_abs_diff_") + p.label_, std::to_string(d));
    EXPECT_LE(d, 1e-4) << p.label_;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const int32_t ours = argmax(p.ours_->data() + i * n_vocab, n_vocab);
      EXPECT_EQ(ours, argmax(p.theirs_->data() + i * n_vocab, n_vocab)) << p.label_ << " row " << i;
      EXPECT_EQ(ours, oracle_argmax.at(i)) << p.label_ << " row " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, FloatRefOracle, ::testing::ValuesIn(discover_oracle_models()),
                         [](const ::testing::TestParamInfo<OracleCase>& info) {
                           std::string s = info.param.name_;
                           for (char& ch : s) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return s;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FloatRefOracle);

// ---------------------------------------------------------------------------------------------
// GGUF vs HF safetensors: the same weights written as a HF checkpoint (Q/K rows back in HF's
// rotate-half order, HF tensor names, config.json) must load to identical logits.

std::vector<float> to_rotate_half(const FloatTensor& t, int64_t n_heads, int64_t head_dim) {
  const int64_t half = head_dim / 2;
  const int64_t row_len = static_cast<int64_t>(t.data_.size()) / (n_heads * head_dim);
  std::vector<float> out(t.data_.size());
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t j = 0; j < half; ++j) {
      const int64_t base = h * head_dim;
      std::copy_n(t.data_.begin() + (base + 2 * j) * row_len, row_len,
                  out.begin() + (base + j) * row_len);
      std::copy_n(t.data_.begin() + (base + 2 * j + 1) * row_len, row_len,
                  out.begin() + (base + j + half) * row_len);
    }
  }
  return out;
}

void write_hf_checkpoint(const ModelWeights& w, const std::string& hf_arch, const fs::path& dir) {
  const ModelConfig& c = w.config_;
  const nlohmann::json config = {{"architectures", {hf_arch}},
                                 {"hidden_size", c.d_model_},
                                 {"intermediate_size", c.d_ff_},
                                 {"num_hidden_layers", c.n_layers_},
                                 {"num_attention_heads", c.n_heads_},
                                 {"num_key_value_heads", c.n_kv_heads_},
                                 {"head_dim", c.head_dim_},
                                 {"vocab_size", c.vocab_},
                                 {"max_position_embeddings", c.max_positions_},
                                 {"rms_norm_eps", c.rms_eps_},
                                 {"rope_theta", c.rope_theta_},
                                 {"tie_word_embeddings", c.tied_embeddings_},
                                 {"hidden_act", "silu"}};
  test::write_text((dir / "config.json").string(), config.dump(2));

  test::SafetensorsWriter st;
  auto add_matrix = [&](const std::string& name, const FloatTensor& t) {
    st.add_f32(name, {t.rows_, t.cols_}, t.data_);
  };
  auto add_vector = [&](const std::string& name, const std::vector<float>& v) {
    st.add_f32(name, {static_cast<int64_t>(v.size())}, v);
  };
  add_matrix("model.embed_tokens.weight", w.tok_embd_);
  for (size_t l = 0; l < w.layers_.size(); ++l) {
    const LayerWeights& L = w.layers_[l];
    const std::string b = "model.layers." + std::to_string(l) + ".";
    add_vector(b + "input_layernorm.weight", L.attn_norm_.data_);
    st.add_f32(b + "self_attn.q_proj.weight", {L.wq_.rows_, L.wq_.cols_},
               to_rotate_half(L.wq_, c.n_heads_, c.head_dim_));
    st.add_f32(b + "self_attn.k_proj.weight", {L.wk_.rows_, L.wk_.cols_},
               to_rotate_half(L.wk_, c.n_kv_heads_, c.head_dim_));
    add_matrix(b + "self_attn.v_proj.weight", L.wv_);
    add_matrix(b + "self_attn.o_proj.weight", L.wo_);
    if (c.qkv_bias_) {
      add_vector(b + "self_attn.q_proj.bias", to_rotate_half(L.bq_, c.n_heads_, c.head_dim_));
      add_vector(b + "self_attn.k_proj.bias", to_rotate_half(L.bk_, c.n_kv_heads_, c.head_dim_));
      add_vector(b + "self_attn.v_proj.bias", L.bv_.data_);
    }
    if (c.qk_norm_) {
      add_vector(b + "self_attn.q_norm.weight", to_rotate_half(L.q_norm_, 1, c.head_dim_));
      add_vector(b + "self_attn.k_norm.weight", to_rotate_half(L.k_norm_, 1, c.head_dim_));
    }
    add_vector(b + "post_attention_layernorm.weight", L.ffn_norm_.data_);
    add_matrix(b + "mlp.gate_proj.weight", L.w_gate_);
    add_matrix(b + "mlp.up_proj.weight", L.w_up_);
    add_matrix(b + "mlp.down_proj.weight", L.w_down_);
  }
  add_vector("model.norm.weight", w.output_norm_.data_);
  if (!c.tied_embeddings_) add_matrix("lm_head.weight", w.output_);
  st.write((dir / "model.safetensors").string());
}

void expect_same_logits_from_safetensors(const ModelWeights& w, const std::string& hf_arch,
                                         const std::vector<int32_t>& tokens) {
  test::TempDir dir;
  write_hf_checkpoint(w, hf_arch, dir.path());
  const ModelWeights loaded = load_weights(dir.file("model.safetensors"));
  const std::vector<float> a = FloatReference(w).forward(tokens);
  const std::vector<float> b = FloatReference(loaded).forward(tokens);
  const double d = max_abs_diff(a, b);
  std::cout << "[ " << w.config_.name_ << " ] GGUF/in-memory vs HF safetensors max |diff| = " << d
            << "\n";
  // The same floats in the same order: bit-identical logits.
  EXPECT_EQ(d, 0.0) << hf_arch;
}

TEST(FloatRefFormats, OracleGgufAndSafetensorsGiveSameLogits) {
  const fs::path gguf = oracle_dir() / "tiny-mha.gguf";
  const nlohmann::json meta = nlohmann::json::parse(std::ifstream(oracle_dir() / "tiny-mha.logits.json"));
  const ModelWeights w = load_weights(gguf.string());
  expect_same_logits_from_safetensors(w, "LlamaForCausalLM",
                                      meta.at("token_ids").get<std::vector<int32_t>>());
}

TEST(FloatRefFormats, QwenVariantsThroughSafetensors) {
  expect_same_logits_from_safetensors(synthetic_weights(tiny_config("qwen2"), 21),
                                      "Qwen2ForCausalLM", kSyntheticTokens);
  expect_same_logits_from_safetensors(synthetic_weights(tiny_config("qwen3"), 22),
                                      "Qwen3ForCausalLM", kSyntheticTokens);
}

}  // namespace
}  // namespace hw
