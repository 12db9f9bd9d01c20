// The chip's weight format and the quantizer that produces it from float weights (GGUF,
// safetensors or synthetic; weights.h): every matrix becomes symmetric low-bit integers (held
// in int8) with integer scales, every norm gain an int16 with a per-tensor power-of-two scale,
// every bias an int32 fixed-point value. Also the integer matrix-vector product over that
// format (portable C++ plus an AVX2 version picked at run time; both give identical bits).
// docs/numerics.md, "Weights", specifies the format and the calibration rule.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "model/weights.h"

namespace hw {

// A [rows][cols] matrix of symmetric integers. Columns are cut into groups of group_size_
// (the last may be shorter); per-channel scaling is one group per row. The real weight is
//   value * scale_m_[r][g] * 2^-row_exp_[r].
struct QuantizedMatrix {
  std::string name_;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t group_size_ = 0;
  int64_t groups_per_row_ = 0;
  std::vector<int8_t> values_;     // [rows][cols], |value| <= 2^(bits-1) - 1
  std::vector<uint16_t> scale_m_;  // [rows][groups_per_row], < 2^scale_bits (0: all-zero group)
  std::vector<int32_t> row_exp_;   // [rows]
  std::vector<uint8_t> bits_;      // [rows][groups_per_row], the width each group was stored at
  // The same values packed two per byte when every group is at most 4 bits wide and the shape
  // allows (cols a multiple of 64; per-channel, group 32, or groups a multiple of 64), else
  // empty: per row and per block of 64 columns, byte i holds column i in its low nibble and
  // column 32 + i in its high nibble, each as value + 8. The fast GEMV streams these bytes,
  // half of values_, which is what a batch-1 GEMV is bound by.
  std::vector<uint8_t> packed4_;   // [rows][cols / 2]

  const int8_t* row(int64_t r) const { return values_.data() + r * cols_; }
  // Real value of element (r, c), for tests and reports.
  double real(int64_t r, int64_t c) const;
  // Bits of the values (sum over groups of columns * width), scales excluded.
  int64_t value_bits() const;
};

// A norm gain: real = values_[i] * 2^-frac_bits_, |values_| <= 32767, with frac_bits_ chosen
// per tensor so the largest magnitude uses 15 bits.
struct QuantizedGain {
  std::vector<int16_t> values_;
  int32_t frac_bits_ = 0;
};

struct QuantizedLayer {
  QuantizedGain attn_norm_;
  QuantizedMatrix wq_, wk_, wv_, wo_;
  std::vector<int32_t> bq_, bk_, bv_;  // Qwen2 biases, Q.activation_frac_bits; empty otherwise
  QuantizedGain q_norm_, k_norm_;      // Qwen3 per-head norms; empty otherwise
  QuantizedGain ffn_norm_;
  QuantizedMatrix w_gate_, w_up_, w_down_;
};

struct QuantizedModel {
  ModelConfig config_;
  NumericsProfile profile_;
  QuantizedMatrix tok_embd_;  // at the lm_head width when tied (one matrix in silicon)
  std::vector<QuantizedLayer> layers_;
  QuantizedGain output_norm_;
  QuantizedMatrix output_;    // empty when tied: lm_head() returns tok_embd_

  const QuantizedMatrix& lm_head() const { return config_.tied_embeddings_ ? tok_embd_ : output_; }
  // Bits of all stored values (matrices at their widths, gains 16, biases 32), scales excluded.
  int64_t value_bits() const;
};

// Quantizes one matrix at `bits` (promotion per the profile may widen some groups).
// `name` names the tensor in errors.
QuantizedMatrix quantize_matrix(const FloatTensor& w, int bits, const NumericsProfile& profile,
                                const std::string& name);
QuantizedGain quantize_gain(const FloatTensor& gain, const std::string& name);
std::vector<int32_t> quantize_bias(const FloatTensor& bias, int frac_bits, const std::string& name);

// The whole model in the profile's format. Deterministic: the same weights and profile give
// the same bits on every platform. Throws hw::Error naming the tensor or profile key when a
// shape is inconsistent or a profile value does not fit the model (e.g. a wide layer index).
QuantizedModel quantize_model(const ModelWeights& weights, const NumericsProfile& profile);

// Fills packed4_ from values_ when the matrix qualifies (see packed4_); quantize_matrix calls it.
void pack_nibbles(QuantizedMatrix& m);

// Integer matrix-vector product: acc[r] = sum_g scale_m[r][g] * sum_{c in g} value[r][c] * x[c]
// with int32 group sums and an int64 total (x values in [-127, 127]). kPortable is plain C++
// over values_; kAvx2 uses packed4_ when present; every kernel gives the same bits.
enum class GemvKernel { kAuto, kPortable, kAvx2 };
void gemv(const QuantizedMatrix& w, const int8_t* x, int64_t* acc,
          GemvKernel kernel = GemvKernel::kAuto);
// Whether this CPU can run `kernel` (kAuto and kPortable always can).
bool gemv_kernel_available(GemvKernel kernel);
// The kernel kAuto resolves to on this CPU, by name ("avx2" or "portable").
const char* gemv_auto_kernel_name();

}  // namespace hw
