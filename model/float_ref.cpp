// CPU float32 reference of the Llama-family forward pass. Matrix products go through Eigen
// maps over the row-major [out][in] weights; the small reductions (RMSNorm, softmax) follow
// llama.cpp's ggml CPU kernels (double accumulation, float scaling) so the two agree to ~1e-6.
#include "model/float_ref.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace hw {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using StridedConstMatrixMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

ConstMatrixMap as_matrix(const FloatTensor& t) {
  return ConstMatrixMap(t.data_.data(), t.rows_, t.cols_);
}

// Matrices must match [rows][cols] exactly; a bounds check before any Eigen map reads them.
void check_matrix(const FloatTensor& t, int64_t rows, int64_t cols, const std::string& name) {
  if (t.rows_ != rows || t.cols_ != cols ||
      static_cast<int64_t>(t.data_.size()) != rows * cols) {
    throw make_error("FloatReference: tensor " + name,
                     "expected [" + std::to_string(rows) + "][" + std::to_string(cols) +
                         "], got [" + std::to_string(t.rows_) + "][" + std::to_string(t.cols_) +
                         "] with " + std::to_string(t.data_.size()) + " values",
                     "the weights do not belong to this model config");
  }
}

// Vectors (norm weights, biases) are checked by length only: loaders may store them as one
// row or one column.
void check_vector(const FloatTensor& t, int64_t n, const std::string& name) {
  if (static_cast<int64_t>(t.data_.size()) != n) {
    throw make_error("FloatReference: tensor " + name,
                     "expected " + std::to_string(n) + " values, got " +
                         std::to_string(t.data_.size()),
                     "the weights do not belong to this model config");
  }
}

void rms_norm_rows(const RowMatrix& x, const FloatTensor& weight, double eps, RowMatrix& out) {
  out.resize(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    rms_norm(x.row(r).data(), weight.data_.data(), x.cols(), eps, out.row(r).data());
  }
}

// y = x W^T (+ bias on every row): x [n][in], W [out][in], y [n][out].
void linear(const RowMatrix& x, const FloatTensor& w, const FloatTensor& bias, RowMatrix& y) {
  y.resize(x.rows(), w.rows_);
  y.noalias() = x * as_matrix(w).transpose();
  if (!bias.empty()) {
    y.rowwise() += ConstVectorMap(bias.data_.data(), w.rows_).transpose();
  }
}

}  // namespace

void rms_norm(const float* x, const float* weight, int64_t n, double eps, float* out) {
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum_sq / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + static_cast<float>(eps));
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

std::vector<double> rope_frequencies(const ModelConfig& config) {
  const int64_t head_dim = config.head_dim_;
  if (head_dim <= 0 || head_dim % 2 != 0) {
    throw make_error("model.head_dim", "RoPE needs a positive even head_dim, got " +
                                           std::to_string(head_dim));
  }
  const RopeScaling& s = config.rope_scaling_;
  if (s.enabled_ && (s.original_max_positions_ <= 0 || s.factor_ <= 0.0 ||
                     s.high_freq_factor_ <= s.low_freq_factor_)) {
    throw make_error("model.rope_scaling",
                     "llama3 scaling needs original_max_position_embeddings > 0, factor > 0 and "
                     "high_freq_factor > low_freq_factor",
                     "check rope_scaling in the model's config.json");
  }
  const double kTwoPi = 2.0 * std::acos(-1.0);
  std::vector<double> freqs(static_cast<size_t>(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    double f = std::pow(config.rope_theta_,
                        -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
    if (s.enabled_) {
      const double old_ctx = static_cast<double>(s.original_max_positions_);
      const double low_freq_wavelen = old_ctx / s.low_freq_factor_;
      const double high_freq_wavelen = old_ctx / s.high_freq_factor_;
      const double wavelen = kTwoPi / f;
      if (wavelen > low_freq_wavelen) {
        f /= s.factor_;
      } else if (wavelen >= high_freq_wavelen) {
        const double smooth = (old_ctx / wavelen - s.low_freq_factor_) /
                              (s.high_freq_factor_ - s.low_freq_factor_);
        f = (1.0 - smooth) * f / s.factor_ + smooth * f;
      }
    }
    if (!config.rope_freq_factors_.empty()) {
      f /= config.rope_freq_factors_.at(static_cast<size_t>(i));
    }
    freqs[static_cast<size_t>(i)] = f;
  }
  return freqs;
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t position,
          const std::vector<double>& freqs) {
  const int64_t n_pairs = head_dim / 2;
  if (static_cast<int64_t>(freqs.size()) < n_pairs) {
    throw make_error("rope", "got " + std::to_string(freqs.size()) + " frequencies for head_dim " +
                                 std::to_string(head_dim),
                     "pass rope_frequencies() of the same config");
  }
  for (int64_t i = 0; i < n_pairs; ++i) {
    const double angle = static_cast<double>(position) * freqs[static_cast<size_t>(i)];
    const float c = static_cast<float>(std::cos(angle));
    const float s = static_cast<float>(std::sin(angle));
    for (int64_t h = 0; h < n_heads; ++h) {
      float* pair = x + h * head_dim + 2 * i;
      const float x0 = pair[0];
      const float x1 = pair[1];
      pair[0] = x0 * c - x1 * s;
      pair[1] = x0 * s + x1 * c;
    }
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  float max_value = x[0];
  for (int64_t i = 1; i < n; ++i) max_value = std::max(max_value, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += static_cast<double>(x[i]);
  }
  const float inv_sum = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv_sum;
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

void attention_head_group(const float* q, const float* k, const float* v, int64_t n_keys,
                          int64_t kv_row_stride, int64_t head_dim, int64_t group_size,
                          float* out) {
  const StridedConstMatrixMap keys(k, n_keys, head_dim, Eigen::OuterStride<>(kv_row_stride));
  const StridedConstMatrixMap values(v, n_keys, head_dim, Eigen::OuterStride<>(kv_row_stride));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  Eigen::VectorXf scores(n_keys);
  for (int64_t j = 0; j < group_size; ++j) {
    scores.noalias() = keys * ConstVectorMap(q + j * head_dim, head_dim);
    scores *= scale;
    softmax(scores.data(), n_keys);
    Eigen::Map<Eigen::VectorXf>(out + j * head_dim, head_dim).noalias() =
        values.transpose() * scores;
  }
}

int32_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

FloatReference::FloatReference(const ModelWeights& weights, int64_t kv_capacity_positions)
    : weights_(weights) {
  const ModelConfig& c = weights_.config_;
  c.validate();
  capacity_ = kv_capacity_positions > 0 ? kv_capacity_positions : c.max_positions_;
  rope_freqs_ = rope_frequencies(c);

  check_matrix(weights_.tok_embd_, c.vocab_, c.d_model_, "token_embd");
  check_vector(weights_.output_norm_, c.d_model_, "output_norm");
  check_matrix(weights_.output_.empty() && c.tied_embeddings_ ? weights_.tok_embd_
                                                               : weights_.output_,
               c.vocab_, c.d_model_, "output");
  if (static_cast<int64_t>(weights_.layers_.size()) != c.n_layers_) {
    throw make_error("FloatReference", "config has " + std::to_string(c.n_layers_) +
                                           " layers, weights have " +
                                           std::to_string(weights_.layers_.size()));
  }
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    const LayerWeights& w = weights_.layers_[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    check_vector(w.attn_norm_, c.d_model_, p + "attn_norm");
    check_matrix(w.wq_, c.q_dim(), c.d_model_, p + "attn_q");
    check_matrix(w.wk_, c.kv_dim(), c.d_model_, p + "attn_k");
    check_matrix(w.wv_, c.kv_dim(), c.d_model_, p + "attn_v");
    check_matrix(w.wo_, c.d_model_, c.q_dim(), p + "attn_output");
    if (c.qkv_bias_) {
      check_vector(w.bq_, c.q_dim(), p + "attn_q.bias");
      check_vector(w.bk_, c.kv_dim(), p + "attn_k.bias");
      check_vector(w.bv_, c.kv_dim(), p + "attn_v.bias");
    }
    if (c.qk_norm_) {
      check_vector(w.q_norm_, c.head_dim_, p + "attn_q_norm");
      check_vector(w.k_norm_, c.head_dim_, p + "attn_k_norm");
    }
    check_vector(w.ffn_norm_, c.d_model_, p + "ffn_norm");
    check_matrix(w.w_gate_, c.d_ff_, c.d_model_, p + "ffn_gate");
    check_matrix(w.w_up_, c.d_ff_, c.d_model_, p + "ffn_up");
    check_matrix(w.w_down_, c.d_model_, c.d_ff_, p + "ffn_down");
  }
  k_cache_.resize(static_cast<size_t>(c.n_layers_));
  v_cache_.resize(static_cast<size_t>(c.n_layers_));
}

void FloatReference::reset() {
  position_ = 0;
  for (auto& k : k_cache_) k.clear();
  for (auto& v : v_cache_) v.clear();
}

std::vector<float> FloatReference::forward(const std::vector<int32_t>& tokens) {
  const ModelConfig& c = weights_.config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return {};
  if (position_ + n > capacity_) {
    throw make_error("FloatReference",
                     "sequence of " + std::to_string(position_ + n) +
                         " positions exceeds the KV cache capacity of " +
                         std::to_string(capacity_) + " positions",
                     "shorten the sequence, reset(), or construct with a larger capacity");
  }
  for (int64_t i = 0; i < n; ++i) {
    const int32_t t = tokens[static_cast<size_t>(i)];
    if (t < 0 || t >= c.vocab_) {
      throw make_error("FloatReference", "token id " + std::to_string(t) + " at index " +
                                             std::to_string(i) + " is outside the vocabulary [0, " +
                                             std::to_string(c.vocab_) + ")");
    }
  }

  const int64_t d = c.d_model_;
  const int64_t hd = c.head_dim_;
  const int64_t kv_dim = c.kv_dim();
  const int64_t group = c.group_size();
  const int64_t n_pos = position_ + n;
  const double eps = c.rms_eps_;

  RowMatrix x(n, d);
  for (int64_t i = 0; i < n; ++i) {
    x.row(i) = ConstVectorMap(weights_.tok_embd_.row(tokens[static_cast<size_t>(i)]), d);
  }

  RowMatrix h, q, k, v, attn, gate, up;
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    const LayerWeights& w = weights_.layers_[static_cast<size_t>(l)];
    std::vector<float>& k_cache = k_cache_[static_cast<size_t>(l)];
    std::vector<float>& v_cache = v_cache_[static_cast<size_t>(l)];

    rms_norm_rows(x, w.attn_norm_, eps, h);
    linear(h, w.wq_, w.bq_, q);
    linear(h, w.wk_, w.bk_, k);
    linear(h, w.wv_, w.bv_, v);
    for (int64_t i = 0; i < n; ++i) {
      float* q_row = q.row(i).data();
      float* k_row = k.row(i).data();
      if (c.qk_norm_) {
        for (int64_t head = 0; head < c.n_heads_; ++head) {
          rms_norm(q_row + head * hd, w.q_norm_.data_.data(), hd, eps, q_row + head * hd);
        }
        for (int64_t head = 0; head < c.n_kv_heads_; ++head) {
          rms_norm(k_row + head * hd, w.k_norm_.data_.data(), hd, eps, k_row + head * hd);
        }
      }
      rope(q_row, c.n_heads_, hd, position_ + i, rope_freqs_);
      rope(k_row, c.n_kv_heads_, hd, position_ + i, rope_freqs_);
    }

    k_cache.resize(static_cast<size_t>(n_pos * kv_dim));
    v_cache.resize(static_cast<size_t>(n_pos * kv_dim));
    std::copy(k.data(), k.data() + n * kv_dim, k_cache.begin() + position_ * kv_dim);
    std::copy(v.data(), v.data() + n * kv_dim, v_cache.begin() + position_ * kv_dim);

    attn.resize(n, c.q_dim());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t n_keys = position_ + i + 1;
      for (int64_t g = 0; g < c.n_kv_heads_; ++g) {
        attention_head_group(q.row(i).data() + g * group * hd, k_cache.data() + g * hd,
                             v_cache.data() + g * hd, n_keys, kv_dim, hd, group,
                             attn.row(i).data() + g * group * hd);
      }
    }
    x.noalias() += attn * as_matrix(w.wo_).transpose();

    rms_norm_rows(x, w.ffn_norm_, eps, h);
    linear(h, w.w_gate_, FloatTensor{}, gate);
    linear(h, w.w_up_, FloatTensor{}, up);
    gate = gate.unaryExpr([](float g) { return silu(g); }).cwiseProduct(up);
    x.noalias() += gate * as_matrix(w.w_down_).transpose();
  }

  rms_norm_rows(x, weights_.output_norm_, eps, h);
  const FloatTensor& out_w =
      weights_.output_.empty() && c.tied_embeddings_ ? weights_.tok_embd_ : weights_.output_;
  std::vector<float> logits(static_cast<size_t>(n * c.vocab_));
  Eigen::Map<RowMatrix>(logits.data(), n, c.vocab_).noalias() = h * as_matrix(out_w).transpose();
  position_ = n_pos;
  return logits;
}

std::vector<int32_t> generate_greedy(FloatReference& reference,
                                     const std::vector<int32_t>& prompt, int64_t n_new) {
  if (n_new < 0) {
    throw make_error("generate_greedy", "number of tokens to generate is negative (" +
                                            std::to_string(n_new) + ")");
  }
  if (n_new == 0) return {};
  if (prompt.empty()) {
    throw make_error("generate_greedy", "the prompt is empty", "give at least one token");
  }
  // The last generated token is returned but never fed back, hence the -1.
  const int64_t needed = reference.position() + static_cast<int64_t>(prompt.size()) + n_new - 1;
  if (needed > reference.capacity()) {
    throw make_error("generate_greedy",
                     "prompt plus generated tokens need " + std::to_string(needed) +
                         " positions, the KV cache holds " + std::to_string(reference.capacity()),
                     "generate fewer tokens or use a shorter prompt");
  }
  const int64_t vocab = reference.config().vocab_;
  std::vector<float> logits = reference.forward(prompt);
  std::vector<int32_t> generated;
  generated.reserve(static_cast<size_t>(n_new));
  generated.push_back(argmax(logits.data() + logits.size() - static_cast<size_t>(vocab), vocab));
  while (static_cast<int64_t>(generated.size()) < n_new) {
    logits = reference.forward({generated.back()});
    generated.push_back(argmax(logits.data(), vocab));
  }
  return generated;
}

}  // namespace hw
