// The chip-numerics forward pass on a GPU: the golden model (model/golden_model.h) as CUDA
// kernels, bit-exact with it. Every per-element step and every reduction's final step calls the
// HW_HD functions of model/fixed_point.h that GoldenModel calls; the reductions between them
// (max, min, sums) are over integers, hence exact in any thread order. Same entry points as
// GoldenModel's sequence API (step, forward, generate, reset, position), plus batched decode of
// several sequences (one token each, as a chip serves several users) and a traced token run that
// hands the integer state after every block to a callback (simulate --check-against cuda).
//
// A prompt runs as one batch of positions through every block (prefill: the matrix products
// become matrix-matrix products over a tile of tokens); the chip processes positions one at a
// time, but all scales are per token, so the bits are the same (docs/numerics.md section 14).
// The weights live on the device as int8 rows padded to 16 bytes (gpu_ref/layout.h).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "gpu_ref/trace.h"
#include "model/golden_model.h"
#include "model/quantizer.h"

namespace hw::gpu {

class GpuGoldenModel {
 public:
  // Uploads `model` (it must outlive this). kv_capacity_positions <= 0: the model's
  // max_positions_. max_sequences: sequences with their own KV cache (decode_batch);
  // max_batch_tokens: positions per kernel batch during prefill. Throws hw::Error when no GPU
  // is usable or device memory runs out.
  // act_scales: as GoldenModel's (static calibrated activation scales when the profile says
  // so, unless kDynamic).
  explicit GpuGoldenModel(const QuantizedModel& model, int64_t kv_capacity_positions = 0,
                          int64_t max_sequences = 1, int64_t max_batch_tokens = 64,
                          ActScaleMode act_scales = ActScaleMode::kProfile);
  ~GpuGoldenModel();
  GpuGoldenModel(const GpuGoldenModel&) = delete;
  GpuGoldenModel& operator=(const GpuGoldenModel&) = delete;

  const QuantizedModel& model() const { return model_; }
  const ModelConfig& config() const { return model_.config_; }
  const NumericsProfile& profile() const { return model_.profile_; }
  int64_t capacity() const { return capacity_; }
  int64_t max_sequences() const { return max_sequences_; }

  // ---- Sequence API of sequence 0, as GoldenModel's.
  // Consumes `tokens` at positions position()..; returns the integer logits of the last one.
  const std::vector<int32_t>& step(const std::vector<int32_t>& tokens);
  // Logits after each token as float (value * 2^-logit_frac_bits), [n][vocab].
  std::vector<float> forward(const std::vector<int32_t>& tokens);
  // Greedy continuation; with `logits`, the float logits of every consumed position are appended.
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int64_t n_new,
                                std::vector<float>* logits = nullptr);
  // Forgets every sequence.
  void reset();
  int64_t position() const { return positions_[0]; }
  float logit_to_float(int32_t logit) const;

  // ---- Batched decode: sequence b (b < tokens.size() <= max_sequences) consumes tokens[b] at
  // its own next position; returns each sequence's greedy next token (sampled on the device).
  std::vector<int32_t> decode_batch(const std::vector<int32_t>& tokens);
  int64_t sequence_position(int64_t sequence) const;

  // ---- One token of `sequence` at its next position, block by block: after each block
  // `on_block` gets the golden model's block name ("embed", "attn_norm", "qkv", "rope",
  // "kv_write", "attention", "o_proj", "ffn_norm", "ffn", "final_norm", "lm_head"), the layer
  // (-1 outside the layers) and the integer state copied back from the device (the fields the
  // block wrote; the others keep their last copied values). Returns the greedy next token.
  using BlockCallback = TraceCallback;
  int32_t run_token_traced(int64_t sequence, int32_t token, const BlockCallback& on_block);

  // Bytes of weights streamed from device memory per decoded token (all matrices once, the
  // embedding row aside), for bandwidth figures.
  int64_t weight_bytes_per_token() const;

 private:
  struct Impl;
  void check_tokens(const std::vector<int32_t>& tokens) const;
  // Runs tokens[i] of sequence seqs[i] at positions[i] through the model (all of them in one
  // batch, at most max_batch_); logits of every token are left on the device. graph: replay
  // the batch size's captured CUDA graph (decode steps; never with on_block).
  void run_batch(const int32_t* tokens, const int32_t* seqs, const int32_t* positions, int64_t n,
                 const BlockCallback* on_block, bool graph = false);

  const QuantizedModel& model_;
  int64_t capacity_ = 0;
  int64_t max_sequences_ = 1;
  int64_t max_batch_ = 64;
  std::vector<int64_t> positions_;
  std::vector<int32_t> last_logits_;
  std::unique_ptr<Impl> impl_;
};

// The CUDA golden model as the reference of simulate --check-against (trace.h): one sequence per
// user (user ids 0..users-1), traced block by block. `model` must outlive the runner.
TokenRunner cuda_token_runner(const QuantizedModel& model, int64_t users,
                              int64_t capacity_positions);

}  // namespace hw::gpu
