// The float forward pass on a GPU: FloatReference (model/float_ref.h) as CUDA kernels, with the
// matrices stored as F32, F16 or BF16 (gpu_ref/layout.h) and everything accumulated in F32 (the
// RMSNorm sums of squares and the softmax sum in double, as the CPU reference does). Same entry
// points as FloatReference (forward, reset, position, capacity, config) and generate_greedy,
// plus batched decode of several sequences. Not bit-exact with the CPU: summation orders differ;
// tests/gpu_ref/ compares with a stated abs + rel tolerance (kFloatAbsTolerance below), against
// the CPU reference run on the same rounded weights (round_weights).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "gpu_ref/layout.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace hw::gpu {

// |gpu - cpu| <= kFloatAbsTolerance + kFloatRelTolerance * |cpu| on every logit. Chosen from
// the oracle's measurements (shared/oracle/README.md): two independent F32 implementations of
// these models (llama.cpp and ours) agree within 1e-4 absolute on logits of magnitude ~8 (an
// independent float64 one within 2.6e-6; batched vs stepwise llama.cpp within 3e-6). The GPU
// differs from the CPU only in summation order and libm (expf, cosf of the same double angle),
// the same kind of difference, so we allow the oracle's 1e-4 plus 1e-4 relative for larger
// logits of real checkpoints. A convention error (RoPE pairing, kv-head grouping) gives errors
// of 1-7 (same README), four orders of magnitude above it.
constexpr double kFloatAbsTolerance = 1e-4;
constexpr double kFloatRelTolerance = 1e-4;

class GpuFloatReference {
 public:
  // Uploads the weights (matrices converted to `type`); kv_capacity_positions <= 0: the
  // model's max_positions_. max_sequences: sequences with their own KV cache (decode_batch);
  // max_batch_tokens: positions per kernel batch during prefill. Throws hw::Error when no GPU is
  // usable, a weight's shape does not match the config, or device memory runs out.
  explicit GpuFloatReference(const ModelWeights& weights, int64_t kv_capacity_positions = 0,
                             WeightType type = WeightType::kF32, int64_t max_sequences = 1,
                             int64_t max_batch_tokens = 64);
  ~GpuFloatReference();
  GpuFloatReference(const GpuFloatReference&) = delete;
  GpuFloatReference& operator=(const GpuFloatReference&) = delete;

  // Consumes `tokens` (sequence 0) at positions position()..; logits after each, [n][vocab].
  std::vector<float> forward(const std::vector<int32_t>& tokens);
  void reset();
  int64_t position() const { return positions_[0]; }
  int64_t capacity() const { return capacity_; }
  const ModelConfig& config() const { return config_; }
  WeightType weight_type() const { return type_; }
  int64_t max_sequences() const { return max_sequences_; }

  // Sequence b consumes tokens[b] at its own next position; returns each sequence's greedy next
  // token (argmax on the device, lowest index among equals).
  std::vector<int32_t> decode_batch(const std::vector<int32_t>& tokens);
  int64_t sequence_position(int64_t sequence) const;

  // Bytes of matrices streamed from device memory per decoded token (the embedding row aside).
  int64_t weight_bytes_per_token() const;

 private:
  struct Impl;
  // Runs tokens[i] of sequence seqs[i] at positions[i] (one kernel batch); logits stay on the
  // device. graph: replay the batch size's captured CUDA graph (decode steps).
  void run_batch(const int32_t* tokens, const int32_t* seqs, const int32_t* positions, int64_t n,
                 bool graph = false);

  ModelConfig config_;
  WeightType type_;
  int64_t capacity_ = 0;
  int64_t max_sequences_ = 1;
  int64_t max_batch_ = 64;
  std::vector<int64_t> positions_;
  std::unique_ptr<Impl> impl_;
};

// Greedy continuation on the GPU, as hw::generate_greedy on the CPU reference.
std::vector<int32_t> generate_greedy(GpuFloatReference& reference,
                                     const std::vector<int32_t>& prompt, int64_t n_new);

}  // namespace hw::gpu
