// Host-side layouts of the CUDA reference (see layout.h).
#include "gpu_ref/layout.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/error.h"
#include "gpu_ref/launch.h"

namespace hw::gpu {

ChipMatrixLayout pack_chip_matrix(const QuantizedMatrix& m) {
  ChipMatrixLayout p;
  p.rows_ = m.rows_;
  p.cols_ = m.cols_;
  p.row_stride_ = padded_stride(m.cols_, 1);
  p.group_size_ = m.group_size_;
  p.groups_per_row_ = m.groups_per_row_;
  p.chunked_ = m.groups_per_row_ == 1 || m.group_size_ % kChunkValues == 0;
  p.values_.assign(static_cast<size_t>(p.rows_ * p.row_stride_), 0);
  for (int64_t r = 0; r < m.rows_; ++r) {
    m.unpack_row(r, p.values_.data() + r * p.row_stride_);
  }
  p.scale_m_ = m.scale_m_;
  p.row_exp_ = m.row_exp_;
  return p;
}

void gemv_device_order(const ChipMatrixLayout& w, const int8_t* x, int64_t* acc) {
  for (int64_t r = 0; r < w.rows_; ++r) {
    const int8_t* row = w.values_.data() + r * w.row_stride_;
    const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
    int64_t sum = 0;
    if (w.chunked_) {
      for (int64_t k = 0; k < w.row_stride_ / kChunkValues; ++k) {
        const int32_t dot = fx::dot_i8(row + k * kChunkValues, x + k * kChunkValues, kChunkValues);
        sum += static_cast<int64_t>(dot) * m[chunk_group(k, w.group_size_, w.groups_per_row_)];
      }
    } else {
      for (int64_t g = 0; g < w.groups_per_row_; ++g) {
        const int64_t c0 = g * w.group_size_;
        const int64_t n = std::min(w.group_size_, w.cols_ - c0);
        sum += static_cast<int64_t>(fx::dot_i8(row + c0, x + c0, n)) * m[g];
      }
    }
    acc[r] = sum;
  }
}

const char* weight_type_name(WeightType type) {
  switch (type) {
    case WeightType::kF32: return "f32";
    case WeightType::kF16: return "f16";
    case WeightType::kBF16: return "bf16";
  }
  return "?";
}

WeightType parse_weight_type(const std::string& text, const std::string& key) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "f32") return WeightType::kF32;
  if (t == "f16") return WeightType::kF16;
  if (t == "bf16") return WeightType::kBF16;
  throw make_error(key, "unknown weight type '" + text + "'", "use f32, f16 or bf16");
}

int64_t weight_type_bytes(WeightType type) { return type == WeightType::kF32 ? 4 : 2; }

namespace {
uint32_t bits_of(float v) {
  uint32_t x = 0;
  std::memcpy(&x, &v, sizeof x);
  return x;
}
float float_of(uint32_t x) {
  float v = 0;
  std::memcpy(&v, &x, sizeof v);
  return v;
}
// x >> shift rounded to nearest, ties to even.
uint32_t shift_rne(uint32_t x, int shift) {
  const uint32_t q = x >> shift;
  const uint32_t rem = x & ((uint32_t{1} << shift) - 1);
  const uint32_t half = uint32_t{1} << (shift - 1);
  return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}
}  // namespace

uint16_t float_to_half_bits(float v) {
  const uint32_t x = bits_of(v);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int32_t exp = static_cast<int32_t>((x >> 23) & 0xFFu);
  uint32_t mant = x & 0x7FFFFFu;
  if (exp == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (mant ? 0x200u | (mant >> 13) : 0u));
  const int32_t e = exp - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7C00u);
  if (e <= 0) {
    // Subnormal half (or zero): the value in units of 2^-24, rounded to nearest even.
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    return static_cast<uint16_t>(sign | shift_rne(mant, 14 - e));
  }
  // A carry out of the mantissa increments the exponent, up to infinity: still correct.
  return static_cast<uint16_t>(sign | ((static_cast<uint32_t>(e) << 10) + shift_rne(mant, 13)));
}

float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return float_of(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    // Subnormal: mant * 2^-24, exact in float.
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return float_of(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

uint16_t float_to_bf16_bits(float v) {
  const uint32_t x = bits_of(v);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

float bf16_bits_to_float(uint16_t b) { return float_of(static_cast<uint32_t>(b) << 16); }

float round_to_type(float v, WeightType type) {
  switch (type) {
    case WeightType::kF32: return v;
    case WeightType::kF16: return half_bits_to_float(float_to_half_bits(v));
    case WeightType::kBF16: return bf16_bits_to_float(float_to_bf16_bits(v));
  }
  return v;
}

FloatMatrixLayout pack_float_matrix(const FloatTensor& t, WeightType type) {
  FloatMatrixLayout p;
  p.rows_ = t.rows_;
  p.cols_ = t.cols_;
  p.type_ = type;
  const int64_t eb = weight_type_bytes(type);
  p.row_stride_ = padded_stride(t.cols_, eb);
  p.bytes_.assign(static_cast<size_t>(p.rows_ * p.row_stride_ * eb), 0);
  for (int64_t r = 0; r < t.rows_; ++r) {
    for (int64_t c = 0; c < t.cols_; ++c) {
      uint8_t* dst = p.bytes_.data() + (r * p.row_stride_ + c) * eb;
      const float v = t.data_[static_cast<size_t>(r * t.cols_ + c)];
      if (type == WeightType::kF32) {
        std::memcpy(dst, &v, 4);
      } else {
        const uint16_t b = type == WeightType::kF16 ? float_to_half_bits(v) : float_to_bf16_bits(v);
        std::memcpy(dst, &b, 2);
      }
    }
  }
  return p;
}

float FloatMatrixLayout::at(int64_t r, int64_t c) const {
  const int64_t eb = weight_type_bytes(type_);
  const uint8_t* src = bytes_.data() + (r * row_stride_ + c) * eb;
  if (type_ == WeightType::kF32) {
    float v = 0;
    std::memcpy(&v, src, 4);
    return v;
  }
  uint16_t b = 0;
  std::memcpy(&b, src, 2);
  return type_ == WeightType::kF16 ? half_bits_to_float(b) : bf16_bits_to_float(b);
}

ModelWeights round_weights(const ModelWeights& weights, WeightType type) {
  ModelWeights w = weights;
  if (type == WeightType::kF32) return w;
  auto round = [type](FloatTensor& t) {
    for (float& v : t.data_) v = round_to_type(v, type);
  };
  round(w.tok_embd_);
  round(w.output_);
  for (LayerWeights& l : w.layers_) {
    for (FloatTensor* t : {&l.wq_, &l.wk_, &l.wv_, &l.wo_, &l.w_gate_, &l.w_up_, &l.w_down_}) {
      round(*t);
    }
  }
  return w;
}

}  // namespace hw::gpu
