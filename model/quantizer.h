// The chip's weight format and the quantizer that produces it from float weights (GGUF,
// safetensors or synthetic; weights.h): every matrix becomes symmetric low-bit integers (held
// in int8) with integer scales, every norm gain an int16 with a per-tensor power-of-two scale,
// every bias an int32 fixed-point value. Also the integer matrix-vector product over that
// format (portable C++ plus an AVX2 version picked at run time; both give identical bits).
// docs/numerics.md, "Weights", specifies the format and the calibration rule.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/fixed_point.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "model/weights.h"

namespace hw {

enum class GemvKernel;  // below, with gemv()

// A [rows][cols] matrix of symmetric integers. Columns are cut into groups of group_size_
// (the last may be shorter); per-channel scaling is one group per row. The real weight is
//   value * scale_m_[r][g] * 2^-row_exp_[r].
// Only the packed form is held (a decoding chip, and the emulator, read nothing else): each row
// is row_bytes() bytes of packed_ in the container width storage_bits_ (3, 4, 6 or 8; the
// widest group rounded up), laid out per block of 64 columns as docs/numerics.md, "Packed
// weight layouts", specifies. value(), unpack_row() and unpack_values() decode it.
struct QuantizedMatrix {
  std::string name_;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t group_size_ = 0;
  int64_t groups_per_row_ = 0;
  int storage_bits_ = 8;           // container width: 3, 4, 6 or 8
  std::vector<uint8_t> packed_;    // [rows][row_bytes()]
  std::vector<uint16_t> scale_m_;  // [rows][groups_per_row], < 2^scale_bits (0: all-zero group)
  std::vector<int32_t> row_exp_;   // [rows]
  std::vector<uint8_t> bits_;      // [rows][groups_per_row], the width each group was stored at

  // Bytes of one packed row: cols_ at width 8, else cols_ / 64 blocks of 8 * storage_bits_.
  int64_t row_bytes() const;
  const uint8_t* row_data(int64_t r) const { return packed_.data() + r * row_bytes(); }
  // The stored integer of element (r, c).
  int value(int64_t r, int64_t c) const;
  // The cols_ integers of row r into out.
  void unpack_row(int64_t r, int8_t* out) const;
  // Real value of element (r, c), for tests and reports.
  double real(int64_t r, int64_t c) const;
  // Bits of the values (sum over groups of columns * width), scales excluded.
  int64_t value_bits() const;
  // Bytes held in memory (and in a chip image) for this matrix: packed values, scale
  // mantissas, row exponents and group widths.
  int64_t stored_bytes() const;
};

// The container width for a matrix whose widest group is `max_bits` wide and whose shape is
// (cols, group_size, groups_per_row): 3, 4 or 6 when the columns split into 64-column blocks
// and the groups into whole blocks (or 32-column halves), else 8.
int packed_storage_bits(int max_bits, int64_t cols, int64_t group_size, int64_t groups_per_row);
// Sets storage_bits_ from bits_ and the shape and packs `values` ([rows][cols] row-major, each
// within its group's width) into packed_. Shape fields and bits_ must be set.
void pack_values(QuantizedMatrix& m, const int8_t* values);
// Packs row r only (storage_bits_ set and packed_ sized by the caller): the quantizer fills rows
// in parallel.
void pack_row(QuantizedMatrix& m, int64_t r, const int8_t* values);
// All values, [rows][cols] row-major (for tests, the CUDA reference and the RTL generator).
std::vector<int8_t> unpack_values(const QuantizedMatrix& m);

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

// A static activation scale (activations.scales: static): the real value of one integer step,
// scale_, and its reciprocal inv_, both FROMREAL of the calibrated value (docs/numerics.md,
// "Static activation scales"). One per matrix-input site.
struct StaticActScale {
  fx::Dyadic scale_;
  fx::Dyadic inv_;
};
struct LayerActScales {
  StaticActScale attn_in_;     // attn_norm output: input of Wq, Wk, Wv
  StaticActScale attn_out_;    // attention output: input of Wo
  StaticActScale ffn_in_;      // ffn_norm output: input of Wgate, Wup
  StaticActScale ffn_hidden_;  // silu(gate) * up: input of Wdown
};

struct QuantizedModel {
  ModelConfig config_;
  NumericsProfile profile_;
  QuantizedMatrix tok_embd_;  // at the lm_head width when tied (one matrix in silicon)
  std::vector<QuantizedLayer> layers_;
  QuantizedGain output_norm_;
  QuantizedMatrix output_;    // empty when tied: lm_head() returns tok_embd_
  // Static activation scales, filled by calibrate_static_scales (model/calibration.h) when the
  // profile has activations.scales: static; empty otherwise.
  std::vector<LayerActScales> act_scales_;
  StaticActScale final_act_scale_;  // final norm output: input of the LM head

  const QuantizedMatrix& lm_head() const { return config_.tied_embeddings_ ? tok_embd_ : output_; }
  // Bits of all stored values (matrices at their widths, gains 16, biases 32), scales excluded.
  int64_t value_bits() const;
};

// Quantizes one matrix at `bits` (promotion per the profile may widen some groups).
// `name` names the tensor in errors. `importance`, when given, holds one weight per input
// column (the mean square of that input on calibration text): each group's scale then minimises
// the importance-weighted squared error over a finer clipping grid plus a least-squares refit
// (weights.rounding: imatrix; docs/numerics.md, "Importance-weighted rounding").
QuantizedMatrix quantize_matrix(const FloatTensor& w, int bits, const NumericsProfile& profile,
                                const std::string& name,
                                const std::vector<double>* importance = nullptr);
// The same from a row source: source(r0, n) returns rows [r0, r0 + n) of the [rows][cols]
// float matrix, valid until the next call; rows are requested in increasing chunks of at most
// 32 Mi values (twice, in order, when the profile promotes groups). Same bits as above.
using RowSource = std::function<const float*(int64_t r0, int64_t n)>;
QuantizedMatrix quantize_matrix_rows(int64_t rows, int64_t cols, const RowSource& source, int bits,
                                     const NumericsProfile& profile, const std::string& name,
                                     const std::vector<double>* importance = nullptr);
// The calibration loops' kernels (kPortable: the reference; kAvx2; kAuto: the best this CPU
// has). Every choice gives the same bits; tests compare them.
void set_quantize_kernel(GemvKernel kernel);
QuantizedGain quantize_gain(const FloatTensor& gain, const std::string& name);
std::vector<int32_t> quantize_bias(const FloatTensor& bias, int frac_bits, const std::string& name);

// The whole model in the profile's format. Deterministic: the same weights and profile give
// the same bits on every platform. A profile that needs_calibration() reads its calibration
// tokens and runs the golden model on them (model/calibration.h). Throws hw::Error naming the tensor or profile key when a
// shape is inconsistent or a profile value does not fit the model (e.g. a wide layer index).
QuantizedModel quantize_model(const ModelWeights& weights, const NumericsProfile& profile);
// The same tensor by tensor from a checkpoint or synthetic source (weights.h): at most one
// chunk of rows of one tensor is held as float (32 Mi values), so the peak memory is the
// quantized model plus that chunk. Same bits as quantize_model(read_all_weights(source), ...).
// A profile with imatrix rounding loads the float model (its calibration runs it). `progress`,
// when given, is called after every tensor with its name and the values done of the total.
using QuantizeProgress =
    std::function<void(const std::string& tensor, int64_t done_values, int64_t total_values)>;
QuantizedModel quantize_model(WeightSource& source, const NumericsProfile& profile,
                              const QuantizeProgress& progress = {});

// Integer matrix-vector product: acc[r] = sum_g scale_m[r][g] * sum_{c in g} value[r][c] * x[c]
// with int32 group sums and an int64 total (x values in [-127, 127]). kPortable is plain C++
// that decodes each row (the reference); kAvx2 and kAvx512Vnni (AVX-512 with VNNI) decode the
// packed layouts in registers; every kernel gives the same bits, for any number of threads.
// kAuto takes the best this CPU has (HARDWIRE_KERNEL=portable or =avx2 caps it).
enum class GemvKernel { kAuto, kPortable, kAvx2, kAvx512Vnni };
void gemv(const QuantizedMatrix& w, const int8_t* x, int64_t* acc,
          GemvKernel kernel = GemvKernel::kAuto);
// Whether this CPU can run `kernel` (kAuto and kPortable always can).
bool gemv_kernel_available(GemvKernel kernel);
// The kernel kAuto resolves to on this CPU, by name ("avx512vnni", "avx2" or "portable").
const char* gemv_auto_kernel_name();
const char* gemv_kernel_name(GemvKernel kernel);
// Threads the GEMV (and the quantizer) split rows across: n >= 1; 0 restores the default, the
// HARDWIRE_THREADS environment variable or else std::thread::hardware_concurrency(). Results do
// not depend on it.
void set_compute_threads(int n);
int compute_threads();
// Runs fn(begin, end) over [0, n) cut into contiguous ranges, which the compute threads (the
// caller among them) claim one after another; `grain` is the smallest range worth a thread.
// Ranges are cut at multiples of `align`. Serial when n is small or another parallel_for is
// running.
void parallel_for(int64_t n, int64_t grain, int64_t align,
                  const std::function<void(int64_t, int64_t)>& fn);

}  // namespace hw
