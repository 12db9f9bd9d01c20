// Memory layouts of the CUDA reference, built on the host: the chip matrices with 16-byte
// padded rows (so each lane of a warp reads one 128-bit vector of 16 values), the float
// matrices stored as F32, F16 or BF16 (round to nearest even), and the float weights rounded to
// the stored type so the CPU float reference can run beside the F16/BF16 kernels. Plain C++:
// the CPU tests check every conversion; the .cu files only copy these buffers to the device.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/fixed_point.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw::gpu {

// Values per 16-byte chunk of an int8 row.
constexpr int64_t kChunkValues = 16;

// Group of the 16-column chunk `chunk` when every chunk lies inside one group (group_size a
// multiple of 16, or one group per row).
HW_HD inline int64_t chunk_group(int64_t chunk, int64_t group_size, int64_t groups_per_row) {
  return groups_per_row == 1 ? 0 : chunk * kChunkValues / group_size;
}

// A chip matrix (QuantizedMatrix) as the device stores it: values row-major with each row
// padded with zeros to row_stride_ bytes (a multiple of 16), scales and row exponents as in
// the QuantizedMatrix. chunked_: every 16-value chunk lies in one scale group, so the kernel
// multiplies each chunk's int32 dot product by its group mantissa (sum_chunks m_g * dot_chunk
// = sum_groups m_g * dot_group exactly: integers, no overflow per docs/numerics.md section 7);
// otherwise the kernel sums whole groups with fx::dot_i8.
struct ChipMatrixLayout {
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t row_stride_ = 0;
  int64_t group_size_ = 0;
  int64_t groups_per_row_ = 0;
  bool chunked_ = false;
  std::vector<int8_t> values_;     // [rows][row_stride]
  std::vector<uint16_t> scale_m_;  // [rows][groups_per_row]
  std::vector<int32_t> row_exp_;   // [rows]
};
ChipMatrixLayout pack_chip_matrix(const QuantizedMatrix& m);

// The device kernel's accumulation order on the host: per row, per 16-value chunk (chunked
// layout) or per group, int32 partial dot products times the group mantissa summed in int64.
// x: at least row_stride_ values (the padding multiplies zero weights). For the CPU tests.
void gemv_device_order(const ChipMatrixLayout& w, const int8_t* x, int64_t* acc);

// Storage type of the float path's matrices (norm gains and biases stay F32).
enum class WeightType { kF32, kF16, kBF16 };
const char* weight_type_name(WeightType type);
// "f32", "f16", "bf16" (case-insensitive); anything else throws naming `key`.
WeightType parse_weight_type(const std::string& text, const std::string& key);
int64_t weight_type_bytes(WeightType type);

// IEEE binary16 and bfloat16 bits of a float, rounded to nearest even (overflow to infinity,
// NaN stays NaN), and back (exact).
uint16_t float_to_half_bits(float v);
float half_bits_to_float(uint16_t h);
uint16_t float_to_bf16_bits(float v);
float bf16_bits_to_float(uint16_t b);
// v rounded to the type and back.
float round_to_type(float v, WeightType type);

// A float matrix as the device stores it: [rows][row_stride_] elements of the type, rows
// padded with zeros to a multiple of 16 bytes.
struct FloatMatrixLayout {
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t row_stride_ = 0;  // elements
  WeightType type_ = WeightType::kF32;
  std::vector<uint8_t> bytes_;
  float at(int64_t r, int64_t c) const;  // decoded element (tests)
};
FloatMatrixLayout pack_float_matrix(const FloatTensor& t, WeightType type);

// The weights with every matrix (embedding, projections, output) rounded to `type`: what the
// GPU float path computes with, so the CPU FloatReference on these weights is its reference.
ModelWeights round_weights(const ModelWeights& weights, WeightType type);

}  // namespace hw::gpu
