// CPU float32 reference of the Llama-family forward pass (Llama 2/3, Mistral, Qwen2, Qwen3),
// written with Eigen in llama.cpp's conventions (see weights.h): it is the ground truth the
// chip-numerics golden model, the simulator and the GPU reference are compared against, and
// it is itself checked against llama.cpp's logits (tests/model/test_float_ref.cpp).
// The primitives are free functions so other models of the datapath can reuse them as
// references one operation at a time.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model_config.h"
#include "model/weights.h"

namespace hw {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], for i < n. The sum of squares is
// accumulated in double as llama.cpp does. `out` may alias `x`.
void rms_norm(const float* x, const float* weight, int64_t n, double eps, float* out);

// Rotation rate of each adjacent pair of a head, in radians per position: element i of the
// result (i < head_dim/2) is rope_theta^(-2i/head_dim), divided by the llama3 frequency factor
// when config.rope_scaling_.enabled_ (HF `_compute_llama3_parameters`, identical to the
// rope_freqs factors llama.cpp's converter writes).
std::vector<double> rope_frequencies(const ModelConfig& config);

// Adjacent-pair ("normal" mode) RoPE in place on `n_heads` heads of `head_dim` floats stored
// back to back: (x[2i], x[2i+1]) of each head is rotated by the angle position * freqs[i].
// freqs has head_dim/2 entries (rope_frequencies()); fewer throws hw::Error.
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t position,
          const std::vector<double>& freqs);

// Numerically stable softmax in place over n values (the maximum is subtracted first; the
// normalizing sum is accumulated in double).
void softmax(float* x, int64_t n);

// x * sigmoid(x).
float silu(float x);

// Causal attention of the `group_size` query heads that share one KV head, for one query
// position that sees keys and values 0..n_keys-1 (scale 1/sqrt(head_dim)).
// q: [group_size][head_dim] back to back; k, v: n_keys rows of head_dim floats whose starts are
// `kv_row_stride` floats apart (one row per position of a KV cache); out: [group_size][head_dim].
void attention_head_group(const float* q, const float* k, const float* v, int64_t n_keys,
                          int64_t kv_row_stride, int64_t head_dim, int64_t group_size,
                          float* out);

// Index of the largest of n values; ties go to the lowest index (greedy decoding). n > 0.
int32_t argmax(const float* x, int64_t n);

// The forward pass with a KV cache. Holds a reference to the weights (they must outlive it).
// forward() appends tokens at the next positions, so one call with a whole prompt (prefill)
// and one call per token (decode) give the same logits.
class FloatReference {
 public:
  // kv_capacity_positions <= 0 means config.max_positions_. The cache grows on demand up to
  // the capacity; exceeding it throws. Throws hw::Error when a weight's shape does not match
  // the config.
  explicit FloatReference(const ModelWeights& weights, int64_t kv_capacity_positions = 0);

  // Consumes `tokens` at positions position()..position()+n-1 and returns the logits after
  // each one, row-major [n][vocab] (row i predicts the token after tokens[i]).
  std::vector<float> forward(const std::vector<int32_t>& tokens);

  // Forgets the sequence: the next forward() starts at position 0.
  void reset();
  int64_t position() const { return position_; }
  int64_t capacity() const { return capacity_; }
  const ModelConfig& config() const { return weights_.config_; }

 private:
  const ModelWeights& weights_;
  int64_t capacity_ = 0;
  int64_t position_ = 0;
  std::vector<double> rope_freqs_;
  // Per layer: K and V of every consumed position, row-major [position][kv_dim].
  std::vector<std::vector<float>> k_cache_;
  std::vector<std::vector<float>> v_cache_;
};

// Greedy continuation: consumes `prompt` at the reference's current position (call reset()
// first for a fresh sequence), then feeds back the argmax of the last logits; returns the
// n_new tokens chosen. Throws when the prompt is empty (and n_new > 0) or the KV cache
// capacity is too small for prompt + n_new - 1 positions.
std::vector<int32_t> generate_greedy(FloatReference& reference,
                                     const std::vector<int32_t>& prompt, int64_t n_new);

}  // namespace hw
