// The golden model of the chip: an integer-only forward pass of a quantized Llama-family model
// (quantizer.h) with an int8/int4 KV cache, bit-exact by construction to docs/numerics.md.
// Every block of the datapath (embedding, attn_norm, qkv, rope, kv_write, attention,
// o_proj + residual, ffn_norm, ffn, final_norm, lm_head, sampler) is a public const function
// over explicit integer state (TokenState, KvCache), so the SystemC model can call the same
// function per block and produce the same bits; forward()/generate() chain them.
#pragma once
#include <cstdint>
#include <vector>

#include "model/fixed_point.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"

namespace hw {

// Lookup tables and constants derived once from (config, profile); docs/numerics.md gives the
// formula of every entry.
struct NumericsTables {
  std::vector<uint32_t> rsqrt_;    // 3 * 2^(T-2) entries, Q0.16
  std::vector<int32_t> exp2_;      // 2^T + 1 entries, Q.30
  std::vector<int32_t> sigmoid_;   // 16 * 2^T + 1 entries, Q.30
  std::vector<int32_t> sin_;       // 2^T + 1 entries, Q.30
  std::vector<uint32_t> rope_step_;  // per RoPE pair: phase advance per position, turns * 2^32
  fx::Dyadic score_scale_;         // log2(e) / sqrt(head_dim)
  fx::RmsConstants model_norm_;    // n = d_model, input Q.residual_frac_bits
  fx::RmsConstants head_norm_;     // n = head_dim, input Q.activation_frac_bits (qk norm)
};

// Host-side table builders (each entry is one IEEE binary64 evaluation rounded half away from
// zero; tests check that no entry lies near a rounding tie, so any libm gives the same table).
std::vector<uint32_t> build_rsqrt_table(int table_bits);
std::vector<int32_t> build_exp2_table(int table_bits);
std::vector<int32_t> build_sigmoid_table(int bits_per_unit);
std::vector<int32_t> build_sin_table(int table_bits);
// round(f / (2 pi) * 2^32) for every rotation rate of rope_frequencies(config) (llama3 scaling
// included), wrapped modulo 2^32.
std::vector<uint32_t> build_rope_steps(const ModelConfig& config);
// round(v * 2^k) with k such that the mantissa lands in [2^14, 2^15); v > 0.
fx::Dyadic dyadic_from_double(double v);
fx::RmsConstants build_rms_constants(double eps, int64_t n, int frac_bits);
NumericsTables build_numerics_tables(const ModelConfig& config, const NumericsProfile& profile);

// Integer state of one token position while it flows through the blocks. The scratch vectors
// are working memory of the blocks, not state that passes between them.
struct TokenState {
  int64_t position_ = 0;
  std::vector<int32_t> residual_;  // [d_model], Q.residual_frac_bits
  std::vector<int8_t> x_q_;        // input of the next matrix product, [max(d_model, q_dim, d_ff)]
  fx::Dyadic x_scale_;             // real value of one x_q_ unit
  std::vector<int32_t> q_;         // [q_dim], Q.activation_frac_bits (after rope: rotated)
  std::vector<int32_t> k_, v_;     // [kv_dim], Q.activation_frac_bits
  std::vector<int32_t> attn_;      // [q_dim], Q.activation_frac_bits
  std::vector<int32_t> gate_, up_;  // [d_ff], Q.activation_frac_bits
  std::vector<int32_t> hidden_;    // [d_ff], silu(gate) * up, Q.activation_frac_bits
  std::vector<int32_t> logits_;    // [vocab], Q.logit_frac_bits

  std::vector<int64_t> scratch_acc_;  // GEMV accumulators, [max rows]
  std::vector<int64_t> scratch_z_;    // attention scores, [capacity]
  std::vector<uint32_t> scratch_p_;   // attention probabilities, [capacity]
  std::vector<int64_t> scratch_head_;  // attention accumulator, [head_dim]
  std::vector<int8_t> scratch_qh_;    // one quantized query head, [head_dim]
};

// K and V of every consumed position: per layer, values [capacity][kv_dim] (int8 container for
// kv.bits <= 8) and one dyadic scale per position and kv head, [capacity][n_kv_heads].
struct KvLayer {
  std::vector<int8_t> k_, v_;
  std::vector<fx::Dyadic> k_scale_, v_scale_;
};
struct KvCache {
  int64_t capacity_ = 0;
  std::vector<KvLayer> layers_;
};

// How the matrix-product inputs are scaled: as the profile says (activations.scales), or
// per-token dynamic whatever the profile says (the calibration pass of static scales).
enum class ActScaleMode { kProfile, kDynamic };

class GoldenModel {
 public:
  // Holds a reference to `model` (it must outlive this). kv_capacity_positions <= 0 means the
  // model's max_positions_. With static scales in force, `model` must hold them
  // (calibrate_static_scales).
  explicit GoldenModel(const QuantizedModel& model, int64_t kv_capacity_positions = 0,
                       ActScaleMode act_scales = ActScaleMode::kProfile);
  // Whether the matrix inputs use the model's static activation scales.
  bool static_act_scales() const { return static_scales_; }

  const QuantizedModel& model() const { return model_; }
  const ModelConfig& config() const { return model_.config_; }
  const NumericsProfile& profile() const { return model_.profile_; }
  const NumericsTables& tables() const { return tables_; }
  int64_t capacity() const { return capacity_; }

  // Fresh state and cache with every buffer sized for this model.
  TokenState make_state() const;
  KvCache make_cache() const;

  // ---- Blocks, in dataflow order (docs/numerics.md, "Using the golden model block by block").
  // residual = dequantized embedding row of `token`; sets position_.
  void embed(int32_t token, int64_t position, TokenState& s) const;
  // x_q_, x_scale_ = RMSNorm(residual) * attn_norm, quantized to activations.bits.
  void attn_norm(int64_t layer, TokenState& s) const;
  // q_, k_, v_ = W x_q_ (+ bias) in Q.activation_frac_bits.
  void qkv(int64_t layer, TokenState& s) const;
  // Qwen3 per-head q/k RMSNorm when the model has it, then RoPE on q_ and k_ at position_.
  void rope(int64_t layer, TokenState& s) const;
  // Quantizes k_ and v_ per kv head to kv.bits and stores them at position_.
  void kv_write(int64_t layer, const TokenState& s, KvCache& cache) const;
  // attn_ = causal attention of every query head over cached positions 0..position_.
  void attention(int64_t layer, TokenState& s, const KvCache& cache) const;
  // residual += Wo * quantize(attn_).
  void o_proj(int64_t layer, TokenState& s) const;
  // x_q_, x_scale_ = RMSNorm(residual) * ffn_norm, quantized.
  void ffn_norm(int64_t layer, TokenState& s) const;
  // gate_, up_, hidden_ = silu(gate_) * up_, then residual += Wdown * quantize(hidden_).
  void ffn(int64_t layer, TokenState& s) const;
  // x_q_, x_scale_ = RMSNorm(residual) * output_norm, quantized.
  void final_norm(TokenState& s) const;
  // logits_ = W_out x_q_ in Q.logit_frac_bits.
  void lm_head(TokenState& s) const;
  // Greedy sampling: index of the largest logit, the lowest index among equals.
  static int32_t sample(const std::vector<int32_t>& logits);

  // One decoder layer: the blocks from attn_norm to ffn.
  void run_layer(int64_t layer, TokenState& s, KvCache& cache) const;
  // One token through the whole model at `position`: embed .. lm_head.
  void run_token(int32_t token, int64_t position, TokenState& s, KvCache& cache) const;

  // ---- Sequence API over the model's own state and cache.
  // Consumes `tokens` at positions position()..; returns the integer logits of the last one.
  const std::vector<int32_t>& step(const std::vector<int32_t>& tokens);
  // Logits after each token, converted to float (value * 2^-logit_frac_bits), [n][vocab].
  std::vector<float> forward(const std::vector<int32_t>& tokens);
  // Greedy continuation (like generate_greedy of the float reference). When `logits` is given,
  // the float logits of every consumed position are appended to it, [rows][vocab].
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int64_t n_new,
                                std::vector<float>* logits = nullptr);
  void reset();
  int64_t position() const { return position_; }
  float logit_to_float(int32_t logit) const;

 private:
  void project(const QuantizedMatrix& w, TokenState& s, int out_frac, int32_t* out) const;
  void residual_add(const QuantizedMatrix& w, TokenState& s) const;
  // Static-scale versions of the norm-then-quantize and quantize steps.
  void norm_quantize_static(const QuantizedGain& g, const StaticActScale& sc, TokenState& s) const;
  void quantize_static(const int32_t* v, int64_t n, const StaticActScale& sc, TokenState& s) const;
  void check_token(int32_t token) const;
  // Throws unless `tokens` fit in the cache after position() and are all in the vocabulary.
  void check_room(const std::vector<int32_t>& tokens) const;

  const QuantizedModel& model_;
  NumericsTables tables_;
  int64_t capacity_ = 0;
  double logit_unit_ = 1.0;  // 2^-logit_frac_bits
  int32_t act_qmax_ = 0;
  int32_t kv_qmax_ = 0;
  bool static_scales_ = false;
  int64_t position_ = 0;
  TokenState state_;
  KvCache cache_;
};

}  // namespace hw
