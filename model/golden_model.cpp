// The integer forward pass (golden_model.h): table construction and the blocks of one token,
// each a thin loop over the primitives of fixed_point.h. Nothing here rounds differently from
// docs/numerics.md; floating point appears only in the table builders and logit_to_float.
#include "model/golden_model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "model/float_ref.h"

namespace hw {
namespace {

constexpr double kPi = 3.14159265358979323846;

int32_t qmax_of(int bits) { return (int32_t{1} << (bits - 1)) - 1; }

int64_t round_away_i64(double v) { return static_cast<int64_t>(std::round(v)); }

}  // namespace

std::vector<uint32_t> build_rsqrt_table(int table_bits) {
  const int64_t base = int64_t{1} << (table_bits - 2);
  std::vector<uint32_t> t(static_cast<size_t>(3 * base));
  for (int64_t i = 0; i < 3 * base; ++i) {
    const double x_mid = std::ldexp(static_cast<double>(i + base) + 0.5, 2 - table_bits);
    t[static_cast<size_t>(i)] =
        static_cast<uint32_t>(round_away_i64(std::ldexp(1.0, fx::kRsqrtFracBits) / std::sqrt(x_mid)));
  }
  return t;
}

std::vector<int32_t> build_exp2_table(int table_bits) {
  const int64_t n = int64_t{1} << table_bits;
  std::vector<int32_t> t(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i <= n; ++i) {
    t[static_cast<size_t>(i)] = static_cast<int32_t>(round_away_i64(
        std::ldexp(std::exp2(-static_cast<double>(i) / static_cast<double>(n)), fx::kTableFracBits)));
  }
  return t;
}

std::vector<int32_t> build_sigmoid_table(int bits_per_unit) {
  const int64_t n = int64_t{1} << (bits_per_unit + fx::kSigmoidRangeLog2);
  std::vector<int32_t> t(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i <= n; ++i) {
    const double x = std::ldexp(static_cast<double>(i), -bits_per_unit);
    t[static_cast<size_t>(i)] = static_cast<int32_t>(
        round_away_i64(std::ldexp(1.0 / (1.0 + std::exp(-x)), fx::kTableFracBits)));
  }
  return t;
}

std::vector<int32_t> build_sin_table(int table_bits) {
  const int64_t n = int64_t{1} << table_bits;
  std::vector<int32_t> t(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i <= n; ++i) {
    // Quarter turns are exact (0, +-1), so sin(pi) ~ 1e-16 cannot leave a stray LSB.
    double v = 0.0;
    if (i % (n / 4) == 0) {
      const int64_t quarter = i / (n / 4);
      v = quarter == 1 ? 1.0 : (quarter == 3 ? -1.0 : 0.0);
    } else {
      v = std::sin(2.0 * kPi * static_cast<double>(i) / static_cast<double>(n));
    }
    t[static_cast<size_t>(i)] =
        static_cast<int32_t>(round_away_i64(std::ldexp(v, fx::kTableFracBits)));
  }
  return t;
}

std::vector<uint32_t> build_rope_steps(const ModelConfig& config) {
  const std::vector<double> freqs = rope_frequencies(config);
  std::vector<uint32_t> steps(freqs.size());
  for (size_t i = 0; i < freqs.size(); ++i) {
    const double turns = freqs[i] / (2.0 * kPi);
    const double scaled = std::ldexp(turns - std::floor(turns), 32);
    steps[i] = static_cast<uint32_t>(static_cast<uint64_t>(round_away_i64(scaled)) & 0xFFFFFFFFu);
  }
  return steps;
}

fx::Dyadic dyadic_from_double(double v) {
  if (!(v > 0.0) || !std::isfinite(v)) return {};
  int x = 0;
  const double f = std::frexp(v, &x);  // v = f * 2^x, f in [0.5, 1)
  int64_t m = round_away_i64(std::ldexp(f, fx::kMantBits));
  int e = fx::kMantBits - x;
  if (m == fx::kMantLimit) {
    m = fx::kMantMin;
    --e;
  }
  return {static_cast<int32_t>(m), e};
}

fx::RmsConstants build_rms_constants(double eps, int64_t n, int frac_bits) {
  fx::RmsConstants c;
  const double kCap = std::ldexp(1.0, 62);
  for (int sh = 0; sh < fx::kNormShifts; ++sh) {
    const double v = std::ldexp(eps * static_cast<double>(n), 2 * (frac_bits - sh));
    c.eps_by_shift_[sh] = static_cast<uint64_t>(std::round(std::min(v, kCap)));
  }
  c.sqrt_n_ = dyadic_from_double(std::sqrt(static_cast<double>(n)));
  c.frac_bits_ = frac_bits;
  return c;
}

NumericsTables build_numerics_tables(const ModelConfig& config, const NumericsProfile& profile) {
  NumericsTables t;
  t.rsqrt_ = build_rsqrt_table(profile.rsqrt_table_bits_);
  t.exp2_ = build_exp2_table(profile.exp2_table_bits_);
  t.sigmoid_ = build_sigmoid_table(profile.silu_table_bits_);
  t.sin_ = build_sin_table(profile.rope_table_bits_);
  t.rope_step_ = build_rope_steps(config);
  t.score_scale_ =
      dyadic_from_double(1.0 / (std::log(2.0) * std::sqrt(static_cast<double>(config.head_dim_))));
  t.model_norm_ = build_rms_constants(config.rms_eps_, config.d_model_, profile.residual_frac_bits_);
  t.head_norm_ = build_rms_constants(config.rms_eps_, config.head_dim_, profile.activation_frac_bits_);
  return t;
}

GoldenModel::GoldenModel(const QuantizedModel& model, int64_t kv_capacity_positions,
                         ActScaleMode act_scales)
    : model_(model) {
  const ModelConfig& c = model_.config_;
  c.validate();
  if (static_cast<int64_t>(model_.layers_.size()) != c.n_layers_) {
    throw make_error("GoldenModel", "quantized model has " + std::to_string(model_.layers_.size()) +
                                        " layers, its config " + std::to_string(c.n_layers_));
  }
  capacity_ = kv_capacity_positions > 0 ? kv_capacity_positions : c.max_positions_;
  tables_ = build_numerics_tables(c, model_.profile_);
  logit_unit_ = std::ldexp(1.0, -model_.profile_.logit_frac_bits_);
  act_qmax_ = qmax_of(model_.profile_.activation_bits_);
  kv_qmax_ = qmax_of(model_.profile_.kv_bits_);
  static_scales_ = act_scales == ActScaleMode::kProfile && model_.profile_.static_act_scales_;
  if (static_scales_ && static_cast<int64_t>(model_.act_scales_.size()) != c.n_layers_) {
    throw make_error("GoldenModel",
                     "profile '" + model_.profile_.name_ +
                         "' has activations.scales: static, but the quantized model holds no "
                         "calibrated scales",
                     "quantize with quantize_model (it calibrates on "
                     "numerics.calibration.tokens_file)");
  }
  state_ = make_state();
  cache_ = make_cache();
}

TokenState GoldenModel::make_state() const {
  const ModelConfig& c = model_.config_;
  TokenState s;
  const int64_t widest_input = std::max({c.d_model_, c.q_dim(), c.d_ff_});
  const int64_t widest_output = std::max({c.q_dim(), c.kv_dim(), c.d_model_, c.d_ff_, c.vocab_});
  s.residual_.assign(static_cast<size_t>(c.d_model_), 0);
  s.x_q_.assign(static_cast<size_t>(widest_input), 0);
  s.q_.assign(static_cast<size_t>(c.q_dim()), 0);
  s.k_.assign(static_cast<size_t>(c.kv_dim()), 0);
  s.v_.assign(static_cast<size_t>(c.kv_dim()), 0);
  s.attn_.assign(static_cast<size_t>(c.q_dim()), 0);
  s.gate_.assign(static_cast<size_t>(c.d_ff_), 0);
  s.up_.assign(static_cast<size_t>(c.d_ff_), 0);
  s.hidden_.assign(static_cast<size_t>(c.d_ff_), 0);
  s.logits_.assign(static_cast<size_t>(c.vocab_), 0);
  s.scratch_acc_.assign(static_cast<size_t>(std::max(widest_output, widest_input)), 0);
  s.scratch_head_.assign(static_cast<size_t>(c.head_dim_), 0);
  s.scratch_qh_.assign(static_cast<size_t>(c.head_dim_), 0);
  return s;
}

KvCache GoldenModel::make_cache() const {
  KvCache cache;
  cache.capacity_ = capacity_;
  cache.layers_.resize(static_cast<size_t>(model_.config_.n_layers_));
  return cache;
}

void GoldenModel::check_token(int32_t token) const {
  if (token < 0 || token >= model_.config_.vocab_) {
    throw make_error("GoldenModel", "token id " + std::to_string(token) +
                                        " is outside the vocabulary [0, " +
                                        std::to_string(model_.config_.vocab_) + ")");
  }
}

void GoldenModel::embed(int32_t token, int64_t position, TokenState& s) const {
  check_token(token);
  const QuantizedMatrix& e = model_.tok_embd_;
  const int fr = model_.profile_.residual_frac_bits_;
  // The packed row is decoded into x_q_, free until attn_norm fills it.
  e.unpack_row(token, s.x_q_.data());
  const int8_t* row = s.x_q_.data();
  const uint16_t* m = e.scale_m_.data() + static_cast<int64_t>(token) * e.groups_per_row_;
  const int32_t exp = e.row_exp_[static_cast<size_t>(token)];
  for (int64_t c = 0; c < e.cols_; ++c) {
    s.residual_[static_cast<size_t>(c)] = fx::embed_value(row[c], m[c / e.group_size_], exp, fr);
  }
  s.position_ = position;
}

void GoldenModel::norm_quantize_static(const QuantizedGain& g, const StaticActScale& sc,
                                       TokenState& s) const {
  const NumericsProfile& p = model_.profile_;
  const int64_t n = model_.config_.d_model_;
  const fx::Dyadic inv = fx::inv_rms(s.residual_.data(), n, tables_.model_norm_,
                                     tables_.rsqrt_.data(), p.rsqrt_table_bits_, p.newton_steps_);
  const fx::Dyadic r = fx::dyadic_mul(inv, sc.inv_);
  const int frac = p.residual_frac_bits_ + g.frac_bits_;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = static_cast<int64_t>(s.residual_[static_cast<size_t>(i)]) * g.values_[static_cast<size_t>(i)];
    s.x_q_[static_cast<size_t>(i)] = fx::quantize_static_value(y, r, frac, act_qmax_);
  }
  s.x_scale_ = sc.scale_;
}

void GoldenModel::quantize_static(const int32_t* v, int64_t n, const StaticActScale& sc,
                                  TokenState& s) const {
  const int af = model_.profile_.activation_frac_bits_;
  for (int64_t i = 0; i < n; ++i) {
    s.x_q_[static_cast<size_t>(i)] = fx::quantize_static_value(v[i], sc.inv_, af, act_qmax_);
  }
  s.x_scale_ = sc.scale_;
}

void GoldenModel::attn_norm(int64_t layer, TokenState& s) const {
  const QuantizedGain& g = model_.layers_[static_cast<size_t>(layer)].attn_norm_;
  if (static_scales_) {
    norm_quantize_static(g, model_.act_scales_[static_cast<size_t>(layer)].attn_in_, s);
    return;
  }
  const NumericsProfile& p = model_.profile_;
  s.x_scale_ = fx::rms_norm_quantize(s.residual_.data(), g.values_.data(), g.frac_bits_,
                                     model_.config_.d_model_, tables_.model_norm_,
                                     tables_.rsqrt_.data(), p.rsqrt_table_bits_, p.newton_steps_,
                                     act_qmax_, s.scratch_acc_.data(), s.x_q_.data());
}

void GoldenModel::project(const QuantizedMatrix& w, TokenState& s, int out_frac,
                          int32_t* out) const {
  gemv(w, s.x_q_.data(), s.scratch_acc_.data());
  for (int64_t r = 0; r < w.rows_; ++r) {
    const fx::Dyadic scale{s.x_scale_.m_, s.x_scale_.e_ + w.row_exp_[static_cast<size_t>(r)]};
    out[r] = fx::requantize(s.scratch_acc_[static_cast<size_t>(r)], scale, out_frac);
  }
}

void GoldenModel::qkv(int64_t layer, TokenState& s) const {
  const QuantizedLayer& l = model_.layers_[static_cast<size_t>(layer)];
  const int af = model_.profile_.activation_frac_bits_;
  project(l.wq_, s, af, s.q_.data());
  project(l.wk_, s, af, s.k_.data());
  project(l.wv_, s, af, s.v_.data());
  auto add_bias = [](std::vector<int32_t>& x, const std::vector<int32_t>& b) {
    for (size_t i = 0; i < b.size(); ++i) {
      x[i] = fx::add_saturate(x[i], b[i]);
    }
  };
  add_bias(s.q_, l.bq_);
  add_bias(s.k_, l.bk_);
  add_bias(s.v_, l.bv_);
}

void GoldenModel::rope(int64_t layer, TokenState& s) const {
  const ModelConfig& c = model_.config_;
  const NumericsProfile& p = model_.profile_;
  const int64_t hd = c.head_dim_;
  if (c.qk_norm_) {
    const QuantizedLayer& l = model_.layers_[static_cast<size_t>(layer)];
    for (int64_t h = 0; h < c.n_heads_; ++h) {
      int32_t* x = s.q_.data() + h * hd;
      fx::rms_norm_fixed(x, l.q_norm_.values_.data(), l.q_norm_.frac_bits_, hd, tables_.head_norm_,
                         tables_.rsqrt_.data(), p.rsqrt_table_bits_, p.newton_steps_, x);
    }
    for (int64_t h = 0; h < c.n_kv_heads_; ++h) {
      int32_t* x = s.k_.data() + h * hd;
      fx::rms_norm_fixed(x, l.k_norm_.values_.data(), l.k_norm_.frac_bits_, hd, tables_.head_norm_,
                         tables_.rsqrt_.data(), p.rsqrt_table_bits_, p.newton_steps_, x);
    }
  }
  const uint32_t pos = static_cast<uint32_t>(s.position_);
  for (int64_t i = 0; i < hd / 2; ++i) {
    const uint32_t phase = pos * tables_.rope_step_[static_cast<size_t>(i)];  // modulo 2^32
    const int32_t cs = fx::cos_q30(phase, tables_.sin_.data(), p.rope_table_bits_);
    const int32_t sn = fx::sin_q30(phase, tables_.sin_.data(), p.rope_table_bits_);
    for (int64_t h = 0; h < c.n_heads_; ++h) {
      int32_t* x = s.q_.data() + h * hd + 2 * i;
      fx::rope_rotate(x, x + 1, cs, sn);
    }
    for (int64_t h = 0; h < c.n_kv_heads_; ++h) {
      int32_t* x = s.k_.data() + h * hd + 2 * i;
      fx::rope_rotate(x, x + 1, cs, sn);
    }
  }
}

void GoldenModel::kv_write(int64_t layer, const TokenState& s, KvCache& cache) const {
  const ModelConfig& c = model_.config_;
  if (s.position_ < 0 || s.position_ >= cache.capacity_) {
    throw make_error("GoldenModel::kv_write",
                     "position " + std::to_string(s.position_) + " is outside the KV cache of " +
                         std::to_string(cache.capacity_) + " positions",
                     "reset() or construct with a larger capacity");
  }
  KvLayer& kv = cache.layers_[static_cast<size_t>(layer)];
  const int64_t kv_dim = c.kv_dim();
  const int64_t hd = c.head_dim_;
  const size_t rows_needed = static_cast<size_t>(s.position_ + 1);
  if (kv.k_scale_.size() < rows_needed * static_cast<size_t>(c.n_kv_heads_)) {
    // Grow geometrically (bounded by the capacity) so a long generation reallocates rarely.
    const size_t rows = std::min(static_cast<size_t>(cache.capacity_),
                                 std::max(rows_needed, 2 * kv.k_scale_.size() / static_cast<size_t>(c.n_kv_heads_)));
    kv.k_.resize(rows * static_cast<size_t>(kv_dim));
    kv.v_.resize(rows * static_cast<size_t>(kv_dim));
    kv.k_scale_.resize(rows * static_cast<size_t>(c.n_kv_heads_));
    kv.v_scale_.resize(rows * static_cast<size_t>(c.n_kv_heads_));
  }
  const int af = model_.profile_.activation_frac_bits_;
  for (int64_t g = 0; g < c.n_kv_heads_; ++g) {
    const size_t at = static_cast<size_t>(s.position_ * kv_dim + g * hd);
    const size_t sc = static_cast<size_t>(s.position_ * c.n_kv_heads_ + g);
    kv.k_scale_[sc] = fx::quantize_dynamic(s.k_.data() + g * hd, hd, af, kv_qmax_, kv.k_.data() + at);
    kv.v_scale_[sc] = fx::quantize_dynamic(s.v_.data() + g * hd, hd, af, kv_qmax_, kv.v_.data() + at);
  }
}

void GoldenModel::attention(int64_t layer, TokenState& s, const KvCache& cache) const {
  const ModelConfig& c = model_.config_;
  const NumericsProfile& p = model_.profile_;
  const KvLayer& kv = cache.layers_[static_cast<size_t>(layer)];
  const int64_t n_keys = s.position_ + 1;
  const int64_t hd = c.head_dim_;
  const int64_t kv_dim = c.kv_dim();
  if (static_cast<int64_t>(kv.k_scale_.size()) < n_keys * c.n_kv_heads_) {
    throw make_error("GoldenModel::attention",
                     "the KV cache of layer " + std::to_string(layer) + " holds fewer than " +
                         std::to_string(n_keys) + " positions",
                     "call kv_write for this position first");
  }
  if (static_cast<int64_t>(s.scratch_z_.size()) < n_keys) {
    s.scratch_z_.resize(static_cast<size_t>(n_keys));
    s.scratch_p_.resize(static_cast<size_t>(n_keys));
  }
  const int af = p.activation_frac_bits_;
  const int64_t group = c.group_size();
  for (int64_t h = 0; h < c.n_heads_; ++h) {
    const fx::Dyadic qs = fx::quantize_dynamic(s.q_.data() + h * hd, hd, af, act_qmax_,
                                               s.scratch_qh_.data());
    const fx::Dyadic qc = fx::dyadic_mul(qs, tables_.score_scale_);
    const int64_t g = h / group;
    fx::attention_head(s.scratch_qh_.data(), qc, kv.k_.data() + g * hd, kv.k_scale_.data() + g,
                       kv.v_.data() + g * hd, kv.v_scale_.data() + g, n_keys, kv_dim,
                       c.n_kv_heads_, hd, tables_.exp2_.data(), p.exp2_table_bits_, af,
                       s.scratch_z_.data(), s.scratch_p_.data(), s.scratch_head_.data(),
                       s.attn_.data() + h * hd);
  }
}

void GoldenModel::residual_add(const QuantizedMatrix& w, TokenState& s) const {
  gemv(w, s.x_q_.data(), s.scratch_acc_.data());
  const int fr = model_.profile_.residual_frac_bits_;
  for (int64_t r = 0; r < w.rows_; ++r) {
    const fx::Dyadic scale{s.x_scale_.m_, s.x_scale_.e_ + w.row_exp_[static_cast<size_t>(r)]};
    const int32_t delta = fx::requantize(s.scratch_acc_[static_cast<size_t>(r)], scale, fr);
    s.residual_[static_cast<size_t>(r)] = fx::add_saturate(s.residual_[static_cast<size_t>(r)], delta);
  }
}

void GoldenModel::o_proj(int64_t layer, TokenState& s) const {
  const ModelConfig& c = model_.config_;
  if (static_scales_) {
    quantize_static(s.attn_.data(), c.q_dim(), model_.act_scales_[static_cast<size_t>(layer)].attn_out_, s);
    residual_add(model_.layers_[static_cast<size_t>(layer)].wo_, s);
    return;
  }
  s.x_scale_ = fx::quantize_dynamic(s.attn_.data(), c.q_dim(), model_.profile_.activation_frac_bits_,
                                    act_qmax_, s.x_q_.data());
  residual_add(model_.layers_[static_cast<size_t>(layer)].wo_, s);
}

void GoldenModel::ffn_norm(int64_t layer, TokenState& s) const {
  const QuantizedGain& g = model_.layers_[static_cast<size_t>(layer)].ffn_norm_;
  if (static_scales_) {
    norm_quantize_static(g, model_.act_scales_[static_cast<size_t>(layer)].ffn_in_, s);
    return;
  }
  const NumericsProfile& p = model_.profile_;
  s.x_scale_ = fx::rms_norm_quantize(s.residual_.data(), g.values_.data(), g.frac_bits_,
                                     model_.config_.d_model_, tables_.model_norm_,
                                     tables_.rsqrt_.data(), p.rsqrt_table_bits_, p.newton_steps_,
                                     act_qmax_, s.scratch_acc_.data(), s.x_q_.data());
}

void GoldenModel::ffn(int64_t layer, TokenState& s) const {
  const QuantizedLayer& l = model_.layers_[static_cast<size_t>(layer)];
  const NumericsProfile& p = model_.profile_;
  const int af = p.activation_frac_bits_;
  const int64_t d_ff = model_.config_.d_ff_;
  project(l.w_gate_, s, af, s.gate_.data());
  project(l.w_up_, s, af, s.up_.data());
  for (int64_t i = 0; i < d_ff; ++i) {
    s.hidden_[static_cast<size_t>(i)] =
        fx::swiglu_fixed(s.gate_[static_cast<size_t>(i)], s.up_[static_cast<size_t>(i)], af,
                         tables_.sigmoid_.data(), p.silu_table_bits_);
  }
  if (static_scales_) {
    quantize_static(s.hidden_.data(), d_ff, model_.act_scales_[static_cast<size_t>(layer)].ffn_hidden_, s);
  } else {
    s.x_scale_ = fx::quantize_dynamic(s.hidden_.data(), d_ff, af, act_qmax_, s.x_q_.data());
  }
  residual_add(l.w_down_, s);
}

void GoldenModel::final_norm(TokenState& s) const {
  const QuantizedGain& g = model_.output_norm_;
  if (static_scales_) {
    norm_quantize_static(g, model_.final_act_scale_, s);
    return;
  }
  const NumericsProfile& p = model_.profile_;
  s.x_scale_ = fx::rms_norm_quantize(s.residual_.data(), g.values_.data(), g.frac_bits_,
                                     model_.config_.d_model_, tables_.model_norm_,
                                     tables_.rsqrt_.data(), p.rsqrt_table_bits_, p.newton_steps_,
                                     act_qmax_, s.scratch_acc_.data(), s.x_q_.data());
}

void GoldenModel::lm_head(TokenState& s) const {
  project(model_.lm_head(), s, model_.profile_.logit_frac_bits_, s.logits_.data());
}

int32_t GoldenModel::sample(const std::vector<int32_t>& logits) {
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

void GoldenModel::run_layer(int64_t layer, TokenState& s, KvCache& cache) const {
  attn_norm(layer, s);
  qkv(layer, s);
  rope(layer, s);
  kv_write(layer, s, cache);
  attention(layer, s, cache);
  o_proj(layer, s);
  ffn_norm(layer, s);
  ffn(layer, s);
}

void GoldenModel::run_token(int32_t token, int64_t position, TokenState& s, KvCache& cache) const {
  embed(token, position, s);
  for (int64_t l = 0; l < model_.config_.n_layers_; ++l) run_layer(l, s, cache);
  final_norm(s);
  lm_head(s);
}

void GoldenModel::check_room(const std::vector<int32_t>& tokens) const {
  const int64_t end = position_ + static_cast<int64_t>(tokens.size());
  if (end > capacity_) {
    throw make_error("GoldenModel",
                     "sequence of " + std::to_string(end) +
                         " positions exceeds the KV cache capacity of " + std::to_string(capacity_) +
                         " positions",
                     "shorten the sequence, reset(), or construct with a larger capacity");
  }
  for (int32_t t : tokens) check_token(t);
}

const std::vector<int32_t>& GoldenModel::step(const std::vector<int32_t>& tokens) {
  check_room(tokens);
  for (int32_t t : tokens) {
    run_token(t, position_, state_, cache_);
    ++position_;
  }
  return state_.logits_;
}

float GoldenModel::logit_to_float(int32_t logit) const {
  // Times 2^-logit_frac_bits as a double: exact, so the same value as ldexp, without its call.
  return static_cast<float>(static_cast<double>(logit) * logit_unit_);
}

std::vector<float> GoldenModel::forward(const std::vector<int32_t>& tokens) {
  const int64_t vocab = model_.config_.vocab_;
  std::vector<float> out;
  out.reserve(tokens.size() * static_cast<size_t>(vocab));
  check_room(tokens);
  for (int32_t t : tokens) {
    const std::vector<int32_t>& logits = step({t});
    for (int32_t v : logits) out.push_back(logit_to_float(v));
  }
  return out;
}

std::vector<int32_t> GoldenModel::generate(const std::vector<int32_t>& prompt, int64_t n_new,
                                           std::vector<float>* logits) {
  if (n_new < 0) {
    throw make_error("GoldenModel::generate", "number of tokens to generate is negative (" +
                                                  std::to_string(n_new) + ")");
  }
  if (prompt.empty()) {
    throw make_error("GoldenModel::generate", "the prompt is empty", "give at least one token");
  }
  const int64_t needed = position_ + static_cast<int64_t>(prompt.size()) + std::max<int64_t>(n_new - 1, 0);
  if (needed > capacity_) {
    throw make_error("GoldenModel::generate",
                     "prompt plus generated tokens need " + std::to_string(needed) +
                         " positions, the KV cache holds " + std::to_string(capacity_),
                     "generate fewer tokens or use a shorter prompt");
  }
  for (int32_t t : prompt) check_token(t);
  if (logits) {
    logits->reserve(logits->size() + (prompt.size() + static_cast<size_t>(std::max<int64_t>(n_new - 1, 0))) *
                                          state_.logits_.size());
  }
  auto keep = [&]() {
    if (logits) {
      for (int32_t v : state_.logits_) logits->push_back(logit_to_float(v));
    }
  };
  std::vector<int32_t> generated;
  for (int32_t t : prompt) {
    step({t});
    keep();
  }
  if (n_new == 0) return generated;
  generated.push_back(sample(state_.logits_));
  while (static_cast<int64_t>(generated.size()) < n_new) {
    step({generated.back()});
    keep();
    generated.push_back(sample(state_.logits_));
  }
  return generated;
}

void GoldenModel::reset() {
  position_ = 0;
  cache_ = make_cache();
}

}  // namespace hw
