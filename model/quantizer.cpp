// Float weights -> chip format (quantizer.h), and the integer GEMV over it. The calibration
// rule (docs/numerics.md, "Weights"): each group's float scale is alpha * absmax / qmax with
// alpha from a fixed grid chosen by minimum squared error (or 1 without clip search); the
// groups with the largest error may be promoted to a wider width; a row's scales then become
// integer mantissas sharing one power-of-two exponent, and the values are rounded against the
// scale exactly as represented. All arithmetic is IEEE binary64 in a fixed order, so the
// result is the same on every platform.
#include "model/quantizer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "model/fixed_point.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HW_HAVE_X86 1
#endif

namespace hw {
namespace {

// Clipping grid of the calibration: alpha = 1 - 0.05 i for i = 0..14 (1.00 down to 0.30).
constexpr int kClipSteps = 15;
constexpr double kClipStep = 0.05;
// Longest dot product the accumulators allow (docs/numerics.md, "Accumulators"): a group sum of
// 2^17 products of magnitude <= 127 * 127 stays below 2^31.
constexpr int64_t kMaxDotLength = int64_t{1} << 17;
// Columns per block of the packed 4-bit layout (QuantizedMatrix::packed4_).
constexpr int64_t kPackBlock = 64;
// Software prefetch distance of the streamed weights, in rows ahead of the row being read (same
// columns): a batch-1 GEMV is bound by how many cache misses are in flight, and with the
// hardware prefetcher alone the 1B decode ran at half the speed (docs/benchmarks.md).
constexpr int64_t kPrefetchRows = 4;

struct GroupFit {
  double scale_ = 0.0;  // float scale before the integer representation
  double sq_err_ = 0.0;
};

int32_t qmax_of(int bits) { return (int32_t{1} << (bits - 1)) - 1; }

double round_away(double v) { return std::round(v); }  // std::round: ties away from zero

GroupFit fit_group(const float* w, int64_t n, int bits, bool clip_search) {
  double amax = 0.0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(static_cast<double>(w[i])));
  GroupFit best;
  if (amax == 0.0) return best;
  const double qmax = qmax_of(bits);
  const int steps = clip_search ? kClipSteps : 1;
  for (int s = 0; s < steps; ++s) {
    const double alpha = 1.0 - kClipStep * s;
    const double scale = alpha * amax / qmax;
    double err = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double x = w[i];
      const double q = std::clamp(round_away(x / scale), -qmax, qmax);
      const double d = x - q * scale;
      err += d * d;
    }
    if (s == 0 || err < best.sq_err_) best = {scale, err};
  }
  return best;
}

void check_shape(const FloatTensor& t, int64_t rows, int64_t cols, const std::string& name) {
  if (t.rows_ != rows || t.cols_ != cols ||
      static_cast<int64_t>(t.data_.size()) != rows * cols) {
    throw make_error("quantize: tensor " + name,
                     "expected [" + std::to_string(rows) + "][" + std::to_string(cols) +
                         "], got [" + std::to_string(t.rows_) + "][" + std::to_string(t.cols_) +
                         "] with " + std::to_string(t.data_.size()) + " values",
                     "the weights do not belong to this model config");
  }
}

void check_length(const FloatTensor& t, int64_t n, const std::string& name) {
  if (static_cast<int64_t>(t.data_.size()) != n) {
    throw make_error("quantize: tensor " + name,
                     "expected " + std::to_string(n) + " values, got " +
                         std::to_string(t.data_.size()),
                     "the weights do not belong to this model config");
  }
}

// ---------------------------------------------------------------------------------------------
// GEMV kernels

void gemv_portable(const QuantizedMatrix& w, const int8_t* x, int64_t* acc) {
  const int64_t gs = w.group_size_;
  for (int64_t r = 0; r < w.rows_; ++r) {
    const int8_t* row = w.row(r);
    const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
    int64_t sum = 0;
    for (int64_t g = 0; g < w.groups_per_row_; ++g) {
      const int64_t c0 = g * gs;
      const int64_t n = std::min(gs, w.cols_ - c0);
      sum += static_cast<int64_t>(fx::dot_i8(row + c0, x + c0, n)) * m[g];
    }
    acc[r] = sum;
  }
}

#if HW_HAVE_X86
// |x| (unsigned) times sign(x) * w (signed) with maddubs: pair sums are at most 2 * 127 * 127,
// so the int16 saturation of maddubs never triggers and the result equals the portable one.
// Prefetches byte `offset` of [base, base + size), clamped to the last byte, so the address
// formed never leaves the array however far ahead the caller looks.
inline void prefetch_within(const void* base, size_t size, size_t offset) {
  const size_t at = offset < size ? offset : size - 1;
  _mm_prefetch(static_cast<const char*>(base) + at, _MM_HINT_T0);
}

__attribute__((target("avx2"))) inline int32_t hsum_avx2(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) inline __m256i mac_avx2(__m256i acc, __m256i ax, __m256i xv,
                                                         const int8_t* w, __m256i ones) {
  const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv, xv));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
}

__attribute__((target("avx2"))) int32_t dot_avx2(const int8_t* w, const int8_t* x, int64_t n) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    acc = mac_avx2(acc, _mm256_abs_epi8(xv), xv, w + i, ones);
  }
  int32_t s = hsum_avx2(acc);
  for (; i < n; ++i) s += static_cast<int32_t>(w[i]) * x[i];
  return s;
}

// Four rows at a time share the activation loads (per-channel scales: one group per row).
__attribute__((target("avx2"))) void gemv_rows_avx2(const QuantizedMatrix& w, const int8_t* x,
                                                   int64_t* acc) {
  const int64_t n = w.cols_;
  const __m256i ones = _mm256_set1_epi16(1);
  int64_t r = 0;
  for (; r + 4 <= w.rows_; r += 4) {
    const int8_t* w0 = w.row(r);
    const int8_t* w1 = w0 + n;
    const int8_t* w2 = w1 + n;
    const int8_t* w3 = w2 + n;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      // The same columns kPrefetchRows rows on: the four streams stay one block ahead.
      const size_t ahead = static_cast<size_t>((r + kPrefetchRows) * n + i);
      for (int64_t k = 0; k < 4; ++k) {
        prefetch_within(w.values_.data(), w.values_.size(), ahead + static_cast<size_t>(k * n));
      }
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
      const __m256i ax = _mm256_abs_epi8(xv);
      a0 = mac_avx2(a0, ax, xv, w0 + i, ones);
      a1 = mac_avx2(a1, ax, xv, w1 + i, ones);
      a2 = mac_avx2(a2, ax, xv, w2 + i, ones);
      a3 = mac_avx2(a3, ax, xv, w3 + i, ones);
    }
    int32_t s[4] = {hsum_avx2(a0), hsum_avx2(a1), hsum_avx2(a2), hsum_avx2(a3)};
    for (; i < n; ++i) {
      s[0] += static_cast<int32_t>(w0[i]) * x[i];
      s[1] += static_cast<int32_t>(w1[i]) * x[i];
      s[2] += static_cast<int32_t>(w2[i]) * x[i];
      s[3] += static_cast<int32_t>(w3[i]) * x[i];
    }
    for (int k = 0; k < 4; ++k) acc[r + k] = static_cast<int64_t>(s[k]) * w.scale_m_[r + k];
  }
  for (; r < w.rows_; ++r) {
    acc[r] = static_cast<int64_t>(dot_avx2(w.row(r), x, n)) * w.scale_m_[r];
  }
}

// Packed 4-bit rows: per block of 64 columns, 32 bytes whose low nibbles are columns 0..31 and
// high nibbles columns 32..63, each u = w + 8 in [1, 15]. maddubs multiplies the unsigned u by
// the signed x directly (pairs at most 2 * 15 * 127, no saturation), so
//   sum w x = sum u x - 8 * sum x,
// and the sums of x over each 32-column chunk are computed once per product. madd against a
// broadcast group mantissa (< 2^15) applies the group-32 scale in the same instruction; an int32
// lane then gains at most 2 * 2 * 3810 * 32767 < 2^29.9 per block, so four blocks accumulate in
// int32 before they are widened to int64.
constexpr int kBlocksPerFlush = 4;
constexpr int64_t kChunk = 32;

__attribute__((target("avx2"))) inline void pairs_packed_avx2(const uint8_t* wp, const int8_t* x,
                                                             __m256i& pa, __m256i& pb) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp));
  const __m256i lo = _mm256_and_si256(bytes, mask);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask);
  pa = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
  pb = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32)));
}

__attribute__((target("avx2"))) inline int64_t hsum64_avx2(__m256i v32) {
  const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v32));
  const __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v32, 1));
  const __m256i s = _mm256_add_epi64(lo, hi);
  const __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  return _mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1);
}

// sum_k m[k] * xs[k] over n chunks (m < 2^15, |xs| <= 32 * 127): 16 products per madd, each
// int32 lane (two products, < 2^28) widened to int64 at once.
__attribute__((target("avx2"))) inline int64_t scale_dot_avx2(const uint16_t* m, const int16_t* xs,
                                                             int64_t n) {
  __m256i acc = _mm256_setzero_si256();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m256i p = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + k)),
                                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + k)));
    acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(p)));
    acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(p, 1)));
  }
  const __m128i t = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  int64_t sum = _mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1);
  for (; k < n; ++k) sum += static_cast<int64_t>(m[k]) * xs[k];
  return sum;
}

__attribute__((target("avx2"))) void gemv_packed_avx2(const QuantizedMatrix& w, const int8_t* x,
                                                     int64_t* acc) {
  const int64_t blocks = w.cols_ / kPackBlock;
  const int64_t row_bytes = w.cols_ / 2;
  const bool group32 = w.groups_per_row_ > 1 && w.group_size_ == kChunk;
  const int64_t blocks_per_group = w.groups_per_row_ == 1 ? blocks : w.group_size_ / kPackBlock;
  // Sums of x per 32-column chunk (= per group with group-32 scales), and per group otherwise.
  const int64_t chunks = w.cols_ / kChunk;
  std::vector<int16_t> xs(static_cast<size_t>(chunks));
  for (int64_t k = 0; k < chunks; ++k) {
    int32_t t = 0;
    for (int64_t c = 0; c < kChunk; ++c) t += x[k * kChunk + c];
    xs[static_cast<size_t>(k)] = static_cast<int16_t>(t);
  }
  std::vector<int64_t> xg(static_cast<size_t>(w.groups_per_row_), 0);
  if (!group32) {
    const int64_t chunks_per_group = chunks / w.groups_per_row_;
    for (int64_t k = 0; k < chunks; ++k) xg[static_cast<size_t>(k / chunks_per_group)] += xs[static_cast<size_t>(k)];
  }
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t r = 0; r < w.rows_; ++r) {
    const uint8_t* wp = w.packed4_.data() + r * row_bytes;
    const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
    int64_t sum = 0;
    if (group32) {
      __m256i acc32 = _mm256_setzero_si256();
      for (int64_t b = 0; b < blocks; ++b) {
        prefetch_within(w.packed4_.data(), w.packed4_.size(),
                        static_cast<size_t>((r + kPrefetchRows) * row_bytes + b * 32));
        __m256i pa, pb;
        pairs_packed_avx2(wp + b * 32, x + b * kPackBlock, pa, pb);
        const __m256i ma = _mm256_set1_epi16(static_cast<int16_t>(m[2 * b]));
        const __m256i mb = _mm256_set1_epi16(static_cast<int16_t>(m[2 * b + 1]));
        acc32 = _mm256_add_epi32(acc32, _mm256_add_epi32(_mm256_madd_epi16(pa, ma),
                                                         _mm256_madd_epi16(pb, mb)));
        if ((b + 1) % kBlocksPerFlush == 0) {
          sum += hsum64_avx2(acc32);
          acc32 = _mm256_setzero_si256();
        }
      }
      sum += hsum64_avx2(acc32);
      sum -= 8 * scale_dot_avx2(m, xs.data(), chunks);
    } else {
      for (int64_t g = 0; g < w.groups_per_row_; ++g) {
        __m256i acc32 = _mm256_setzero_si256();
        for (int64_t b = g * blocks_per_group; b < (g + 1) * blocks_per_group; ++b) {
          prefetch_within(w.packed4_.data(), w.packed4_.size(),
                          static_cast<size_t>((r + kPrefetchRows) * row_bytes + b * 32));
          __m256i pa, pb;
          pairs_packed_avx2(wp + b * 32, x + b * kPackBlock, pa, pb);
          acc32 = _mm256_add_epi32(acc32, _mm256_madd_epi16(_mm256_add_epi16(pa, pb), ones));
        }
        sum += (hsum64_avx2(acc32) - 8 * xg[static_cast<size_t>(g)]) * m[g];
      }
    }
    acc[r] = sum;
  }
}

__attribute__((target("avx2"))) void gemv_avx2(const QuantizedMatrix& w, const int8_t* x,
                                              int64_t* acc) {
  if (!w.packed4_.empty()) {
    gemv_packed_avx2(w, x, acc);
    return;
  }
  if (w.groups_per_row_ == 1) {
    gemv_rows_avx2(w, x, acc);
    return;
  }
  const int64_t gs = w.group_size_;
  for (int64_t r = 0; r < w.rows_; ++r) {
    const int8_t* row = w.row(r);
    const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
    int64_t sum = 0;
    for (int64_t g = 0; g < w.groups_per_row_; ++g) {
      const int64_t c0 = g * gs;
      sum += static_cast<int64_t>(dot_avx2(row + c0, x + c0, std::min(gs, w.cols_ - c0))) * m[g];
    }
    acc[r] = sum;
  }
}

bool cpu_has_avx2() {
  static const bool kHas = __builtin_cpu_supports("avx2");
  return kHas;
}
#else
bool cpu_has_avx2() { return false; }
#endif

}  // namespace

void pack_nibbles(QuantizedMatrix& m) {
  m.packed4_.clear();
  if (m.cols_ % kPackBlock != 0) return;
  const bool shape_ok = m.groups_per_row_ == 1 || m.group_size_ == 32 || m.group_size_ % kPackBlock == 0;
  if (!shape_ok) return;
  for (uint8_t b : m.bits_) {
    if (b > 4) return;
  }
  m.packed4_.assign(static_cast<size_t>(m.rows_ * m.cols_ / 2), 0);
  for (int64_t r = 0; r < m.rows_; ++r) {
    const int8_t* v = m.row(r);
    uint8_t* out = m.packed4_.data() + r * (m.cols_ / 2);
    for (int64_t b = 0; b < m.cols_ / kPackBlock; ++b) {
      for (int64_t i = 0; i < kPackBlock / 2; ++i) {
        const int lo = v[b * kPackBlock + i] + 8;
        const int hi = v[b * kPackBlock + kPackBlock / 2 + i] + 8;
        out[b * (kPackBlock / 2) + i] = static_cast<uint8_t>(lo | (hi << 4));
      }
    }
  }
}

double QuantizedMatrix::real(int64_t r, int64_t c) const {
  const int64_t g = c / group_size_;
  return static_cast<double>(values_[static_cast<size_t>(r * cols_ + c)]) *
         scale_m_[static_cast<size_t>(r * groups_per_row_ + g)] *
         std::ldexp(1.0, -row_exp_[static_cast<size_t>(r)]);
}

int64_t QuantizedMatrix::value_bits() const {
  int64_t bits = 0;
  for (int64_t r = 0; r < rows_; ++r) {
    for (int64_t g = 0; g < groups_per_row_; ++g) {
      const int64_t n = std::min(group_size_, cols_ - g * group_size_);
      bits += n * bits_[static_cast<size_t>(r * groups_per_row_ + g)];
    }
  }
  return bits;
}

int64_t QuantizedModel::value_bits() const {
  constexpr int64_t kGainBits = 16;
  constexpr int64_t kBiasBits = 32;
  int64_t bits = tok_embd_.value_bits() + output_.value_bits();
  bits += static_cast<int64_t>(output_norm_.values_.size()) * kGainBits;
  for (const QuantizedLayer& l : layers_) {
    for (const QuantizedMatrix* m : {&l.wq_, &l.wk_, &l.wv_, &l.wo_, &l.w_gate_, &l.w_up_, &l.w_down_}) {
      bits += m->value_bits();
    }
    for (const QuantizedGain* g : {&l.attn_norm_, &l.ffn_norm_, &l.q_norm_, &l.k_norm_}) {
      bits += static_cast<int64_t>(g->values_.size()) * kGainBits;
    }
    bits += static_cast<int64_t>(l.bq_.size() + l.bk_.size() + l.bv_.size()) * kBiasBits;
  }
  return bits;
}

QuantizedMatrix quantize_matrix(const FloatTensor& w, int bits, const NumericsProfile& profile,
                                const std::string& name) {
  if (bits < 2 || bits > 8) {
    throw make_error("quantize: tensor " + name, "width " + std::to_string(bits) +
                                                     " bits is outside 2..8");
  }
  if (w.rows_ <= 0 || w.cols_ <= 0 ||
      static_cast<int64_t>(w.data_.size()) != w.rows_ * w.cols_) {
    throw make_error("quantize: tensor " + name, "is not a non-empty [rows][cols] matrix");
  }
  if (w.cols_ > kMaxDotLength) {
    throw make_error("quantize: tensor " + name,
                     std::to_string(w.cols_) + " input columns exceed the datapath limit of " +
                         std::to_string(kMaxDotLength),
                     "the int32 group sums of docs/numerics.md hold at most 2^17 terms");
  }
  QuantizedMatrix q;
  q.name_ = name;
  q.rows_ = w.rows_;
  q.cols_ = w.cols_;
  q.group_size_ = profile.group_scales_ ? std::min(profile.group_size_, w.cols_) : w.cols_;
  q.groups_per_row_ = (q.cols_ + q.group_size_ - 1) / q.group_size_;
  const int64_t n_groups = q.rows_ * q.groups_per_row_;
  auto group_ptr = [&](int64_t gi) {
    const int64_t r = gi / q.groups_per_row_;
    const int64_t g = gi % q.groups_per_row_;
    return std::make_pair(w.row(r) + g * q.group_size_, std::min(q.group_size_, q.cols_ - g * q.group_size_));
  };

  std::vector<GroupFit> fits(static_cast<size_t>(n_groups));
  q.bits_.assign(static_cast<size_t>(n_groups), static_cast<uint8_t>(bits));
  for (int64_t gi = 0; gi < n_groups; ++gi) {
    const auto [ptr, n] = group_ptr(gi);
    fits[static_cast<size_t>(gi)] = fit_group(ptr, n, bits, profile.clip_search_);
  }
  // Promotion: the floor(fraction * groups) groups with the largest squared error (ties: the
  // lower group index first) are refit at promote_bits.
  if (profile.promote_fraction_ > 0.0 && bits < profile.promote_bits_) {
    const int64_t n_promote =
        static_cast<int64_t>(std::floor(profile.promote_fraction_ * static_cast<double>(n_groups)));
    std::vector<int64_t> order(static_cast<size_t>(n_groups));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return fits[static_cast<size_t>(a)].sq_err_ > fits[static_cast<size_t>(b)].sq_err_;
    });
    for (int64_t i = 0; i < n_promote; ++i) {
      const int64_t gi = order[static_cast<size_t>(i)];
      const auto [ptr, n] = group_ptr(gi);
      fits[static_cast<size_t>(gi)] = fit_group(ptr, n, profile.promote_bits_, profile.clip_search_);
      q.bits_[static_cast<size_t>(gi)] = static_cast<uint8_t>(profile.promote_bits_);
    }
  }

  // Integer scales: a row exponent E such that the row's largest scale is a scale_bits-bit
  // mantissa, then every group's mantissa m = round(scale * 2^E) (at least 1 for a non-zero
  // group), then values rounded against m * 2^-E.
  const int sb = profile.scale_bits_;
  const double m_limit = std::ldexp(1.0, sb);
  q.values_.assign(static_cast<size_t>(q.rows_ * q.cols_), 0);
  q.scale_m_.assign(static_cast<size_t>(n_groups), 0);
  q.row_exp_.assign(static_cast<size_t>(q.rows_), 0);
  for (int64_t r = 0; r < q.rows_; ++r) {
    double s_max = 0.0;
    for (int64_t g = 0; g < q.groups_per_row_; ++g) {
      s_max = std::max(s_max, fits[static_cast<size_t>(r * q.groups_per_row_ + g)].scale_);
    }
    if (s_max == 0.0) continue;
    int x = 0;
    std::frexp(s_max, &x);  // s_max = f * 2^x, f in [0.5, 1)
    int e = sb - x;
    if (round_away(std::ldexp(s_max, e)) >= m_limit) --e;
    q.row_exp_[static_cast<size_t>(r)] = e;
    for (int64_t g = 0; g < q.groups_per_row_; ++g) {
      const size_t gi = static_cast<size_t>(r * q.groups_per_row_ + g);
      const double s = fits[gi].scale_;
      if (s == 0.0) continue;
      const double m = std::max(1.0, round_away(std::ldexp(s, e)));
      q.scale_m_[gi] = static_cast<uint16_t>(m);
      const double qmax = qmax_of(q.bits_[gi]);
      const double represented = std::ldexp(m, -e);
      const int64_t c0 = g * q.group_size_;
      const int64_t n = std::min(q.group_size_, q.cols_ - c0);
      const float* src = w.row(r) + c0;
      int8_t* dst = q.values_.data() + r * q.cols_ + c0;
      for (int64_t i = 0; i < n; ++i) {
        dst[i] = static_cast<int8_t>(std::clamp(round_away(src[i] / represented), -qmax, qmax));
      }
    }
  }
  pack_nibbles(q);
  return q;
}

QuantizedGain quantize_gain(const FloatTensor& gain, const std::string& name) {
  QuantizedGain q;
  double amax = 0.0;
  for (float v : gain.data_) {
    if (!std::isfinite(v)) throw make_error("quantize: tensor " + name, "has a non-finite value");
    amax = std::max(amax, std::fabs(static_cast<double>(v)));
  }
  q.values_.assign(gain.data_.size(), 0);
  if (amax == 0.0) return q;
  int x = 0;
  std::frexp(amax, &x);
  int frac = 15 - x;  // amax * 2^frac in [2^14, 2^15)
  if (round_away(std::ldexp(amax, frac)) > 32767.0) --frac;
  q.frac_bits_ = frac;
  for (size_t i = 0; i < gain.data_.size(); ++i) {
    q.values_[i] = static_cast<int16_t>(round_away(std::ldexp(static_cast<double>(gain.data_[i]), frac)));
  }
  return q;
}

std::vector<int32_t> quantize_bias(const FloatTensor& bias, int frac_bits, const std::string& name) {
  std::vector<int32_t> out(bias.data_.size());
  for (size_t i = 0; i < bias.data_.size(); ++i) {
    const double v = bias.data_[i];
    if (!std::isfinite(v)) throw make_error("quantize: tensor " + name, "has a non-finite value");
    out[i] = static_cast<int32_t>(
        std::clamp(round_away(std::ldexp(v, frac_bits)), -2147483647.0, 2147483647.0));
  }
  return out;
}

QuantizedModel quantize_model(const ModelWeights& weights, const NumericsProfile& profile) {
  const ModelConfig& c = weights.config_;
  c.validate();
  for (int64_t dim : {c.d_model_, c.q_dim(), c.d_ff_}) {
    if (dim > kMaxDotLength) {
      throw make_error("quantize: model " + c.name_,
                       "a matrix product of " + std::to_string(dim) +
                           " terms exceeds the datapath limit of " + std::to_string(kMaxDotLength));
    }
  }
  if (c.d_model_ > (int64_t{1} << 16) || c.head_dim_ > (int64_t{1} << 16)) {
    throw make_error("quantize: model " + c.name_,
                     "RMSNorm over more than 65536 values overflows its integer sum of squares");
  }
  for (int64_t l : profile.wide_layers_) {
    if (l >= c.n_layers_) {
      throw make_error(profile.source_ + ": numerics.weights.wide_layers",
                       "layer " + std::to_string(l) + " does not exist in " + c.name_ + " (" +
                           std::to_string(c.n_layers_) + " layers)",
                       "use layer indices 0.." + std::to_string(c.n_layers_ - 1));
    }
  }
  if (static_cast<int64_t>(weights.layers_.size()) != c.n_layers_) {
    throw make_error("quantize: model " + c.name_,
                     "config has " + std::to_string(c.n_layers_) + " layers, weights have " +
                         std::to_string(weights.layers_.size()));
  }
  QuantizedModel q;
  q.config_ = c;
  q.profile_ = profile;
  const FloatTensor& out_w =
      weights.output_.empty() && c.tied_embeddings_ ? weights.tok_embd_ : weights.output_;
  check_shape(weights.tok_embd_, c.vocab_, c.d_model_, "token_embd");
  check_length(weights.output_norm_, c.d_model_, "output_norm");
  if (c.tied_embeddings_) {
    q.tok_embd_ = quantize_matrix(weights.tok_embd_,
                                  profile.weight_bits_for(WeightKind::kLmHead, -1), profile,
                                  "token_embd");
  } else {
    check_shape(out_w, c.vocab_, c.d_model_, "output");
    q.tok_embd_ = quantize_matrix(weights.tok_embd_,
                                  profile.weight_bits_for(WeightKind::kEmbedding, -1), profile,
                                  "token_embd");
    q.output_ = quantize_matrix(out_w, profile.weight_bits_for(WeightKind::kLmHead, -1), profile,
                                "output");
  }
  q.output_norm_ = quantize_gain(weights.output_norm_, "output_norm");
  const int af = profile.activation_frac_bits_;
  q.layers_.resize(static_cast<size_t>(c.n_layers_));
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    const LayerWeights& w = weights.layers_[static_cast<size_t>(l)];
    QuantizedLayer& ql = q.layers_[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    auto mat = [&](const FloatTensor& t, WeightKind kind, int64_t rows, int64_t cols,
                   const std::string& name) {
      check_shape(t, rows, cols, p + name);
      return quantize_matrix(t, profile.weight_bits_for(kind, l), profile, p + name);
    };
    check_length(w.attn_norm_, c.d_model_, p + "attn_norm");
    check_length(w.ffn_norm_, c.d_model_, p + "ffn_norm");
    ql.attn_norm_ = quantize_gain(w.attn_norm_, p + "attn_norm");
    ql.ffn_norm_ = quantize_gain(w.ffn_norm_, p + "ffn_norm");
    ql.wq_ = mat(w.wq_, WeightKind::kAttnQ, c.q_dim(), c.d_model_, "attn_q");
    ql.wk_ = mat(w.wk_, WeightKind::kAttnK, c.kv_dim(), c.d_model_, "attn_k");
    ql.wv_ = mat(w.wv_, WeightKind::kAttnV, c.kv_dim(), c.d_model_, "attn_v");
    ql.wo_ = mat(w.wo_, WeightKind::kAttnOutput, c.d_model_, c.q_dim(), "attn_output");
    ql.w_gate_ = mat(w.w_gate_, WeightKind::kFfnGate, c.d_ff_, c.d_model_, "ffn_gate");
    ql.w_up_ = mat(w.w_up_, WeightKind::kFfnUp, c.d_ff_, c.d_model_, "ffn_up");
    ql.w_down_ = mat(w.w_down_, WeightKind::kFfnDown, c.d_model_, c.d_ff_, "ffn_down");
    if (c.qkv_bias_) {
      check_length(w.bq_, c.q_dim(), p + "attn_q.bias");
      check_length(w.bk_, c.kv_dim(), p + "attn_k.bias");
      check_length(w.bv_, c.kv_dim(), p + "attn_v.bias");
      ql.bq_ = quantize_bias(w.bq_, af, p + "attn_q.bias");
      ql.bk_ = quantize_bias(w.bk_, af, p + "attn_k.bias");
      ql.bv_ = quantize_bias(w.bv_, af, p + "attn_v.bias");
    }
    if (c.qk_norm_) {
      check_length(w.q_norm_, c.head_dim_, p + "attn_q_norm");
      check_length(w.k_norm_, c.head_dim_, p + "attn_k_norm");
      ql.q_norm_ = quantize_gain(w.q_norm_, p + "attn_q_norm");
      ql.k_norm_ = quantize_gain(w.k_norm_, p + "attn_k_norm");
    }
  }
  return q;
}

void gemv(const QuantizedMatrix& w, const int8_t* x, int64_t* acc, GemvKernel kernel) {
#if HW_HAVE_X86
  if ((kernel == GemvKernel::kAuto || kernel == GemvKernel::kAvx2) && cpu_has_avx2()) {
    gemv_avx2(w, x, acc);
    return;
  }
#endif
  if (kernel == GemvKernel::kAvx2) {
    throw make_error("gemv", "the AVX2 kernel was requested on a CPU without AVX2");
  }
  gemv_portable(w, x, acc);
}

bool gemv_kernel_available(GemvKernel kernel) {
  return kernel != GemvKernel::kAvx2 || cpu_has_avx2();
}

const char* gemv_auto_kernel_name() { return cpu_has_avx2() ? "avx2" : "portable"; }

}  // namespace hw
