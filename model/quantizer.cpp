// Float weights -> chip format (quantizer.h); the GEMV is in gemv.cpp, the packed layouts in
// packing.cpp. The calibration
// rule (docs/numerics.md, "Weights"): each group's float scale is alpha * absmax / qmax with
// alpha from a fixed grid chosen by minimum squared error (or 1 without clip search); the
// groups with the largest error may be promoted to a wider width; a row's scales then become
// integer mantissas sharing one power-of-two exponent, and the values are rounded against the
// scale exactly as represented. All arithmetic is IEEE binary64 in a fixed order, so the
// result is the same on every platform.
#include "model/quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"
#include "model/calibration.h"
#include "model/fixed_point.h"

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 headers start several intrinsics from _mm512_undefined_*(), which
// -Wuninitialized reports wherever they are inlined (a false positive: the value is never read).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
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
// Float values of one tensor held at a time while quantizing (32 Mi floats, 128 MiB), and the
// smallest share of rows worth a thread.
constexpr int64_t kChunkFloats = int64_t{1} << 25;
constexpr int64_t kRowGrainFloats = int64_t{1} << 16;

struct GroupFit {
  double scale_ = 0.0;  // float scale before the integer representation
  double sq_err_ = 0.0;
};

int32_t qmax_of(int bits) { return (int32_t{1} << (bits - 1)) - 1; }

double round_away(double v) { return std::round(v); }  // std::round: ties away from zero

// ---------------------------------------------------------------------------------------------
// The three loops the calibration runs over every weight (largest magnitude, clipping error of
// one candidate scale, final rounding), portable and AVX2. The clipping error is summed in 8
// interleaved partial sums (element i into lane i mod 8) combined as
// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)): every kernel performs the same IEEE
// operations in the same order, so they agree to the bit (tests/model/test_quantize_kernels.cpp).

double finite_amax_portable(const float* w, int64_t n) {
  double amax = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = w[i];
    if (!std::isfinite(x)) return std::numeric_limits<double>::quiet_NaN();
    amax = std::max(amax, std::fabs(x));
  }
  return amax;
}

double combine_lanes(const double* l) {
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

double clip_error_portable(const float* w, int64_t n, double scale, double qmax) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i) {
    const double x = w[i];
    const double q = std::clamp(round_away(x / scale), -qmax, qmax);
    const double d = x - q * scale;
    lane[i & 7] += d * d;
  }
  return combine_lanes(lane);
}

void round_values_portable(const float* w, int64_t n, double represented, double qmax, int8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    out[i] = static_cast<int8_t>(std::clamp(round_away(w[i] / represented), -qmax, qmax));
  }
}

#if HW_HAVE_X86
// round half away from zero: t = trunc(v), plus sign(v) when |v - t| >= 0.5 (v - t is exact).
__attribute__((target("avx2"))) inline __m256d round_away_avx2(__m256d v) {
  const __m256d sign = _mm256_set1_pd(-0.0);
  const __m256d t = _mm256_round_pd(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256d frac = _mm256_andnot_pd(sign, _mm256_sub_pd(v, t));
  const __m256d away = _mm256_cmp_pd(frac, _mm256_set1_pd(0.5), _CMP_GE_OQ);
  const __m256d one = _mm256_or_pd(_mm256_and_pd(v, sign), _mm256_set1_pd(1.0));
  return _mm256_add_pd(t, _mm256_and_pd(away, one));
}

// std::clamp(v, lo, hi) for finite v: lo when v < lo, hi when v > hi.
__attribute__((target("avx2"))) inline __m256d clamp_avx2(__m256d v, __m256d lo, __m256d hi) {
  return _mm256_min_pd(_mm256_max_pd(v, lo), hi);
}

__attribute__((target("avx2"))) double finite_amax_avx2(const float* w, int64_t n) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  __m256 m = _mm256_setzero_ps();
  __m256 bad = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(w + i);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_sub_ps(x, x), _mm256_setzero_ps(), _CMP_NEQ_UQ));
    m = _mm256_max_ps(m, _mm256_and_ps(x, abs_mask));
  }
  if (_mm256_movemask_ps(bad) != 0) return std::numeric_limits<double>::quiet_NaN();
  float lanes[8];
  _mm256_storeu_ps(lanes, m);
  double amax = 0.0;
  for (float v : lanes) amax = std::max(amax, static_cast<double>(v));
  const double tail = finite_amax_portable(w + i, n - i);
  return std::isnan(tail) ? tail : std::max(amax, tail);
}

// Whether any lane of t lies within 2^-40 of a half-integer, where round_away(t) could differ
// from round_away of the correctly rounded quotient t approximates.
__attribute__((target("avx2"))) inline bool near_half_avx2(__m256d t) {
  const __m256d sign = _mm256_set1_pd(-0.0);
  const __m256d frac = _mm256_andnot_pd(sign, _mm256_sub_pd(t, _mm256_round_pd(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)));
  const __m256d gap = _mm256_andnot_pd(sign, _mm256_sub_pd(frac, _mm256_set1_pd(0.5)));
  return _mm256_movemask_pd(_mm256_cmp_pd(gap, _mm256_set1_pd(0x1p-40), _CMP_LT_OQ)) != 0;
}

// x / s is replaced by x * (1/s): the product differs from the correctly rounded quotient by at
// most 3 * 2^-53 relative, and |x / s| <= qmax / alpha < 2^9, so by less than 2^-42.7; the two
// round to the same integer unless the product lies within that distance of a half-integer, and
// any vector with a lane within 2^-40 of one is recomputed with the division. The result is the
// quotient's, bit for bit, without a division per weight.
__attribute__((target("avx2"))) inline __m256d quotient_avx2(__m256d x, __m256d s, __m256d inv) {
  const __m256d t = _mm256_mul_pd(x, inv);
  return near_half_avx2(t) ? _mm256_div_pd(x, s) : t;
}

__attribute__((target("avx2"))) double clip_error_avx2(const float* w, int64_t n, double scale,
                                                      double qmax) {
  const __m256d s = _mm256_set1_pd(scale);
  const __m256d inv = _mm256_set1_pd(1.0 / scale);
  const __m256d hi = _mm256_set1_pd(qmax);
  const __m256d lo = _mm256_set1_pd(-qmax);
  __m256d acc_a = _mm256_setzero_pd();
  __m256d acc_b = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x8 = _mm256_loadu_ps(w + i);
    const __m256d xa = _mm256_cvtps_pd(_mm256_castps256_ps128(x8));
    const __m256d xb = _mm256_cvtps_pd(_mm256_extractf128_ps(x8, 1));
    const __m256d qa = clamp_avx2(round_away_avx2(quotient_avx2(xa, s, inv)), lo, hi);
    const __m256d qb = clamp_avx2(round_away_avx2(quotient_avx2(xb, s, inv)), lo, hi);
    const __m256d da = _mm256_sub_pd(xa, _mm256_mul_pd(qa, s));
    const __m256d db = _mm256_sub_pd(xb, _mm256_mul_pd(qb, s));
    acc_a = _mm256_add_pd(acc_a, _mm256_mul_pd(da, da));
    acc_b = _mm256_add_pd(acc_b, _mm256_mul_pd(db, db));
  }
  double lane[8];
  _mm256_storeu_pd(lane, acc_a);
  _mm256_storeu_pd(lane + 4, acc_b);
  for (; i < n; ++i) {
    const double x = w[i];
    const double q = std::clamp(round_away(x / scale), -qmax, qmax);
    const double d = x - q * scale;
    lane[i & 7] += d * d;
  }
  return combine_lanes(lane);
}

__attribute__((target("avx2"))) void round_values_avx2(const float* w, int64_t n, double represented,
                                                      double qmax, int8_t* out) {
  const __m256d s = _mm256_set1_pd(represented);
  const __m256d hi = _mm256_set1_pd(qmax);
  const __m256d lo = _mm256_set1_pd(-qmax);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(w + i));
    const __m128i q = _mm256_cvttpd_epi32(clamp_avx2(round_away_avx2(_mm256_div_pd(x, s)), lo, hi));
    alignas(16) int32_t v[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(v), q);
    for (int k = 0; k < 4; ++k) out[i + k] = static_cast<int8_t>(v[k]);
  }
  round_values_portable(w + i, n - i, represented, qmax, out + i);
}

// The same search at AVX-512 width: lane k of the one accumulator holds the elements i = k mod 8,
// as lanes 0..3 of acc_a and 4..7 of acc_b do above, and every lane's arithmetic is the AVX2
// kernel's, so the error is the same double, bit for bit (tests: QuantizeKernels, GoldenHashes).
#define HW_AVX512F __attribute__((target("avx2,avx512f")))

HW_AVX512F inline __m512d round_away_512(__m512d v) {
  const __m512i sign = _mm512_set1_epi64(static_cast<int64_t>(0x8000000000000000ULL));
  const __m512d t = _mm512_roundscale_pd(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512d frac = _mm512_abs_pd(_mm512_sub_pd(v, t));
  const __mmask8 away = _mm512_cmp_pd_mask(frac, _mm512_set1_pd(0.5), _CMP_GE_OQ);
  const __m512d one = _mm512_castsi512_pd(_mm512_or_si512(_mm512_and_si512(_mm512_castpd_si512(v), sign),
                                                          _mm512_castpd_si512(_mm512_set1_pd(1.0))));
  return _mm512_add_pd(t, _mm512_maskz_mov_pd(away, one));
}

HW_AVX512F inline __m512d quotient_512(__m512d x, __m512d s, __m512d inv) {
  const __m512d t = _mm512_mul_pd(x, inv);
  const __m512d frac = _mm512_abs_pd(_mm512_sub_pd(t, _mm512_roundscale_pd(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)));
  const __m512d gap = _mm512_abs_pd(_mm512_sub_pd(frac, _mm512_set1_pd(0.5)));
  const bool near = _mm512_cmp_pd_mask(gap, _mm512_set1_pd(0x1p-40), _CMP_LT_OQ) != 0;
  return near ? _mm512_div_pd(x, s) : t;
}

HW_AVX512F double clip_error_avx512(const float* w, int64_t n, double scale, double qmax) {
  const __m512d s = _mm512_set1_pd(scale);
  const __m512d inv = _mm512_set1_pd(1.0 / scale);
  const __m512d hi = _mm512_set1_pd(qmax);
  const __m512d lo = _mm512_set1_pd(-qmax);
  __m512d acc = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512d x = _mm512_cvtps_pd(_mm256_loadu_ps(w + i));
    const __m512d q = _mm512_min_pd(_mm512_max_pd(round_away_512(quotient_512(x, s, inv)), lo), hi);
    const __m512d d = _mm512_sub_pd(x, _mm512_mul_pd(q, s));
    acc = _mm512_add_pd(acc, _mm512_mul_pd(d, d));
  }
  double lane[8];
  _mm512_storeu_pd(lane, acc);
  for (; i < n; ++i) {
    const double x = w[i];
    const double q = std::clamp(round_away(x / scale), -qmax, qmax);
    const double d = x - q * scale;
    lane[i & 7] += d * d;
  }
  return combine_lanes(lane);
}

#endif

// The same CPU check (and HARDWIRE_KERNEL override) as the GEMV.
bool cpu_has_avx2() { return gemv_kernel_available(GemvKernel::kAvx2); }

struct FitKernels {
  double (*amax_)(const float*, int64_t);
  double (*clip_error_)(const float*, int64_t, double, double);
  void (*round_values_)(const float*, int64_t, double, double, int8_t*);
};

FitKernels fit_kernels_for(GemvKernel k) {
#if HW_HAVE_X86
  if ((k == GemvKernel::kAuto || k == GemvKernel::kAvx512Vnni) && gemv_kernel_available(GemvKernel::kAvx512Vnni)) {
    return {finite_amax_avx2, clip_error_avx512, round_values_avx2};
  }
  if (k == GemvKernel::kAvx512Vnni) {
    throw make_error("quantize", "the AVX-512 kernels were requested on a CPU without them");
  }
  if ((k == GemvKernel::kAuto || k == GemvKernel::kAvx2) && cpu_has_avx2()) {
    return {finite_amax_avx2, clip_error_avx2, round_values_avx2};
  }
#endif
  if (k == GemvKernel::kAvx2) {
    throw make_error("quantize", "the AVX2 kernels were requested on a CPU without AVX2");
  }
  return {finite_amax_portable, clip_error_portable, round_values_portable};
}

FitKernels& fit_kernels() {
  static FitKernels k = fit_kernels_for(GemvKernel::kAuto);
  return k;
}

GroupFit fit_group(const float* w, int64_t n, int bits, bool clip_search) {
  const FitKernels& k = fit_kernels();
  const double amax = k.amax_(w, n);
  GroupFit best;
  if (amax == 0.0) return best;
  const double qmax = qmax_of(bits);
  const int steps = clip_search ? kClipSteps : 1;
  for (int s = 0; s < steps; ++s) {
    const double alpha = 1.0 - kClipStep * s;
    const double scale = alpha * amax / qmax;
    const double err = k.clip_error_(w, n, scale, qmax);
    if (s == 0 || err < best.sq_err_) best = {scale, err};
  }
  return best;
}

// Importance-weighted fit (weights.rounding: imatrix): minimises sum_i a_i (x_i - q_i s)^2 with
// a_i the importance of the column plus a floor of 1e-6 times the group's mean importance (so
// no column is free). Candidates alpha = 1 - 0.01 i, i = 0..70, then two least-squares refits
// s = sum a x q / sum a q^2 with q re-rounded, each kept only if it lowers the weighted error.
constexpr int kWeightedClipSteps = 71;
constexpr double kWeightedClipStep = 0.01;
constexpr int kRefits = 2;
constexpr double kImportanceFloor = 1e-6;

GroupFit fit_group_weighted(const float* w, const double* imp, int64_t n, int bits) {
  double amax = 0.0;
  double imp_mean = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    amax = std::max(amax, std::fabs(static_cast<double>(w[i])));
    imp_mean += imp[i];
  }
  GroupFit best;
  if (amax == 0.0) return best;
  imp_mean /= static_cast<double>(n);
  const double floor = imp_mean > 0.0 ? kImportanceFloor * imp_mean : 1.0;
  const double qmax = qmax_of(bits);
  auto weight = [&](int64_t i) { return imp[i] + floor; };
  auto error_at = [&](double scale) {
    double err = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double x = w[i];
      const double q = std::clamp(round_away(x / scale), -qmax, qmax);
      const double d = x - q * scale;
      err += weight(i) * (d * d);
    }
    return err;
  };
  for (int s = 0; s < kWeightedClipSteps; ++s) {
    const double scale = (1.0 - kWeightedClipStep * s) * amax / qmax;
    const double err = error_at(scale);
    if (s == 0 || err < best.sq_err_) best = {scale, err};
  }
  for (int it = 0; it < kRefits; ++it) {
    double num = 0.0;
    double den = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double x = w[i];
      const double q = std::clamp(round_away(x / best.scale_), -qmax, qmax);
      num += weight(i) * (x * q);
      den += weight(i) * (q * q);
    }
    if (!(den > 0.0) || !(num > 0.0)) break;
    const double scale = num / den;
    const double err = error_at(scale);
    if (!(err < best.sq_err_)) break;
    best = {scale, err};
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

}  // namespace


double QuantizedMatrix::real(int64_t r, int64_t c) const {
  const int64_t g = c / group_size_;
  return static_cast<double>(value(r, c)) *
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

QuantizedMatrix quantize_matrix_rows(int64_t rows, int64_t cols, const RowSource& source, int bits,
                                     const NumericsProfile& profile, const std::string& name,
                                     const std::vector<double>* importance) {
  if (bits < 2 || bits > 8) {
    throw make_error("quantize: tensor " + name, "width " + std::to_string(bits) +
                                                     " bits is outside 2..8");
  }
  if (rows <= 0 || cols <= 0) {
    throw make_error("quantize: tensor " + name, "is not a non-empty [rows][cols] matrix");
  }
  if (cols > kMaxDotLength) {
    throw make_error("quantize: tensor " + name,
                     std::to_string(cols) + " input columns exceed the datapath limit of " +
                         std::to_string(kMaxDotLength),
                     "the int32 group sums of docs/numerics.md hold at most 2^17 terms");
  }
  if (importance && static_cast<int64_t>(importance->size()) != cols) {
    throw make_error("quantize: tensor " + name,
                     "importance has " + std::to_string(importance->size()) + " entries for " +
                         std::to_string(cols) + " input columns");
  }
  QuantizedMatrix q;
  q.name_ = name;
  q.rows_ = rows;
  q.cols_ = cols;
  q.group_size_ = profile.group_scales_ ? std::min(profile.group_size_, cols) : cols;
  q.groups_per_row_ = (q.cols_ + q.group_size_ - 1) / q.group_size_;
  const int64_t gpr = q.groups_per_row_;
  const int64_t n_groups = q.rows_ * gpr;
  const int64_t n_promote =
      profile.promote_fraction_ > 0.0 && bits < profile.promote_bits_
          ? static_cast<int64_t>(std::floor(profile.promote_fraction_ * static_cast<double>(n_groups)))
          : 0;
  const bool promote = n_promote > 0;
  const int max_bits = promote ? profile.promote_bits_ : bits;
  q.storage_bits_ = packed_storage_bits(max_bits, q.cols_, q.group_size_, gpr);
  q.bits_.assign(static_cast<size_t>(n_groups), static_cast<uint8_t>(bits));
  q.scale_m_.assign(static_cast<size_t>(n_groups), 0);
  q.row_exp_.assign(static_cast<size_t>(q.rows_), 0);
  q.packed_.assign(static_cast<size_t>(q.rows_ * q.row_bytes()), 0);
  // Rows are read in chunks of at most kChunkFloats values, so no float copy of a large tensor
  // (an 8B model's 2 GB embedding) is ever whole in memory.
  const int64_t chunk_rows = std::max<int64_t>(1, kChunkFloats / q.cols_);
  const int64_t row_grain = std::max<int64_t>(1, kRowGrainFloats / q.cols_);

  // Fit of group g of a row at `b` bits, importance-weighted when importance is given.
  auto fit = [&](const float* row, int64_t g, int b) {
    const int64_t c0 = g * q.group_size_;
    const int64_t n = std::min(q.group_size_, q.cols_ - c0);
    GroupFit f = importance ? fit_group_weighted(row + c0, importance->data() + c0, n, b)
                            : fit_group(row + c0, n, b, profile.clip_search_);
    if (!std::isfinite(f.scale_) || !std::isfinite(f.sq_err_)) {
      throw make_error("quantize: tensor " + name, "has a non-finite value in columns " +
                                                       std::to_string(c0) + ".." +
                                                       std::to_string(c0 + n - 1));
    }
    return f;
  };
  // Integer scales of row r from its fits: a row exponent E such that the row's largest scale
  // is a scale_bits-bit mantissa, then every group's mantissa m = round(scale * 2^E) (at least 1
  // for a non-zero group), then values rounded against m * 2^-E; the row is packed.
  const int sb = profile.scale_bits_;
  const double m_limit = std::ldexp(1.0, sb);
  auto finish_row = [&](int64_t r, const float* row, const GroupFit* fits, int8_t* values) {
    double s_max = 0.0;
    for (int64_t g = 0; g < gpr; ++g) s_max = std::max(s_max, fits[g].scale_);
    std::fill(values, values + q.cols_, int8_t{0});
    if (s_max > 0.0) {
      int x = 0;
      std::frexp(s_max, &x);  // s_max = f * 2^x, f in [0.5, 1)
      int e = sb - x;
      if (round_away(std::ldexp(s_max, e)) >= m_limit) --e;
      q.row_exp_[static_cast<size_t>(r)] = e;
      for (int64_t g = 0; g < gpr; ++g) {
        const size_t gi = static_cast<size_t>(r * gpr + g);
        const double s = fits[g].scale_;
        if (s == 0.0) continue;
        const double m = std::max(1.0, round_away(std::ldexp(s, e)));
        q.scale_m_[gi] = static_cast<uint16_t>(m);
        const int64_t c0 = g * q.group_size_;
        fit_kernels().round_values_(row + c0, std::min(q.group_size_, q.cols_ - c0),
                                    std::ldexp(m, -e), qmax_of(q.bits_[gi]), values + c0);
      }
    }
    pack_row(q, r, values);
  };

  if (!promote) {
    // One pass: fit and finish each row.
    for (int64_t r0 = 0; r0 < q.rows_; r0 += chunk_rows) {
      const int64_t n = std::min(chunk_rows, q.rows_ - r0);
      const float* chunk = source(r0, n);
      parallel_for(n, row_grain, 1, [&](int64_t a, int64_t b) {
        std::vector<GroupFit> fits(static_cast<size_t>(gpr));
        std::vector<int8_t> values(static_cast<size_t>(q.cols_));
        for (int64_t i = a; i < b; ++i) {
          const float* row = chunk + i * q.cols_;
          for (int64_t g = 0; g < gpr; ++g) fits[static_cast<size_t>(g)] = fit(row, g, bits);
          finish_row(r0 + i, row, fits.data(), values.data());
        }
      });
    }
    return q;
  }

  // Promotion: the floor(fraction * groups) groups with the largest squared error (ties: the
  // lower group index first) are refit at promote_bits. Pass 1 keeps every group's error; pass 2
  // reads the rows again (fitting is a pure function of the group, so the fits repeat exactly).
  std::vector<double> errors(static_cast<size_t>(n_groups));
  for (int64_t r0 = 0; r0 < q.rows_; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, q.rows_ - r0);
    const float* chunk = source(r0, n);
    parallel_for(n, row_grain, 1, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) {
        for (int64_t g = 0; g < gpr; ++g) {
          errors[static_cast<size_t>((r0 + i) * gpr + g)] = fit(chunk + i * q.cols_, g, bits).sq_err_;
        }
      }
    });
  }
  std::vector<int64_t> order(static_cast<size_t>(n_groups));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return errors[static_cast<size_t>(a)] > errors[static_cast<size_t>(b)];
  });
  for (int64_t i = 0; i < n_promote; ++i) {
    q.bits_[static_cast<size_t>(order[static_cast<size_t>(i)])] = static_cast<uint8_t>(profile.promote_bits_);
  }
  std::vector<double>().swap(errors);
  std::vector<int64_t>().swap(order);
  for (int64_t r0 = 0; r0 < q.rows_; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, q.rows_ - r0);
    const float* chunk = source(r0, n);
    parallel_for(n, row_grain, 1, [&](int64_t a, int64_t b) {
      std::vector<GroupFit> fits(static_cast<size_t>(gpr));
      std::vector<int8_t> values(static_cast<size_t>(q.cols_));
      for (int64_t i = a; i < b; ++i) {
        const float* row = chunk + i * q.cols_;
        for (int64_t g = 0; g < gpr; ++g) {
          fits[static_cast<size_t>(g)] = fit(row, g, q.bits_[static_cast<size_t>((r0 + i) * gpr + g)]);
        }
        finish_row(r0 + i, row, fits.data(), values.data());
      }
    });
  }
  return q;
}

QuantizedMatrix quantize_matrix(const FloatTensor& w, int bits, const NumericsProfile& profile,
                                const std::string& name, const std::vector<double>* importance) {
  if (w.rows_ <= 0 || w.cols_ <= 0 ||
      static_cast<int64_t>(w.data_.size()) != w.rows_ * w.cols_) {
    throw make_error("quantize: tensor " + name, "is not a non-empty [rows][cols] matrix");
  }
  return quantize_matrix_rows(
      w.rows_, w.cols_, [&](int64_t r0, int64_t) { return w.row(r0); }, bits, profile, name,
      importance);
}

QuantizedModel quantize_model(WeightSource& source, const NumericsProfile& profile,
                              const QuantizeProgress& progress) {
  // The importance statistics of imatrix rounding come from running a proxy of the whole float
  // model, which the in-memory path does.
  if (profile.imatrix_rounding_) return quantize_model(read_all_weights(source), profile);
  const ModelConfig& c = source.config();
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
  profile.check_fits(c);
  std::vector<int32_t> calib_tokens;
  if (profile.needs_calibration()) calib_tokens = calibration_tokens(profile, c);
  QuantizedModel q;
  q.config_ = c;
  q.profile_ = profile;
  q.layers_.resize(static_cast<size_t>(c.n_layers_));
  const int af = profile.activation_frac_bits_;
  std::vector<float> buffer;
  const std::vector<WeightRef> order = weight_order(c);
  int64_t done_values = 0;
  int64_t total_values = 0;
  for (const WeightRef& ref : order) {
    const auto [rows, cols] = weight_shape(c, ref.slot_);
    total_values += rows * cols;
  }
  for (const WeightRef& ref : order) {
    // Plain variables, not a structured binding: lambdas below capture them (C++17).
    const auto shape = weight_shape(c, ref.slot_);
    const int64_t rows = shape.first;
    const int64_t cols = shape.second;
    const std::string name = weight_name(ref);
    auto matrix = [&](WeightKind kind) {
      const RowSource rows_of = [&](int64_t r0, int64_t n) {
        buffer.resize(static_cast<size_t>(n * cols));
        source.read_rows(ref, r0, n, buffer.data());
        return static_cast<const float*>(buffer.data());
      };
      return quantize_matrix_rows(rows, cols, rows_of, profile.weight_bits_for(kind, ref.layer_),
                                  profile, name);
    };
    auto gain = [&]() { return quantize_gain(source.read(ref), name); };
    auto bias = [&]() { return quantize_bias(source.read(ref), af, name); };
    QuantizedLayer* L = ref.layer_ >= 0 ? &q.layers_[static_cast<size_t>(ref.layer_)] : nullptr;
    switch (ref.slot_) {
      case WeightSlot::kTokEmbd:
        // Tied: one matrix in silicon, at the LM head's width.
        q.tok_embd_ = matrix(c.tied_embeddings_ ? WeightKind::kLmHead : WeightKind::kEmbedding);
        break;
      case WeightSlot::kOutput: q.output_ = matrix(WeightKind::kLmHead); break;
      case WeightSlot::kOutputNorm: q.output_norm_ = gain(); break;
      case WeightSlot::kAttnNorm: L->attn_norm_ = gain(); break;
      case WeightSlot::kFfnNorm: L->ffn_norm_ = gain(); break;
      case WeightSlot::kQNorm: L->q_norm_ = gain(); break;
      case WeightSlot::kKNorm: L->k_norm_ = gain(); break;
      case WeightSlot::kBq: L->bq_ = bias(); break;
      case WeightSlot::kBk: L->bk_ = bias(); break;
      case WeightSlot::kBv: L->bv_ = bias(); break;
      case WeightSlot::kWq: L->wq_ = matrix(WeightKind::kAttnQ); break;
      case WeightSlot::kWk: L->wk_ = matrix(WeightKind::kAttnK); break;
      case WeightSlot::kWv: L->wv_ = matrix(WeightKind::kAttnV); break;
      case WeightSlot::kWo: L->wo_ = matrix(WeightKind::kAttnOutput); break;
      case WeightSlot::kGate: L->w_gate_ = matrix(WeightKind::kFfnGate); break;
      case WeightSlot::kUp: L->w_up_ = matrix(WeightKind::kFfnUp); break;
      case WeightSlot::kDown: L->w_down_ = matrix(WeightKind::kFfnDown); break;
    }
    std::vector<float>().swap(buffer);
    done_values += rows * cols;
    if (progress) progress(name, done_values, total_values);
  }
  if (profile.static_act_scales_) calibrate_static_scales(q, calib_tokens);
  return q;
}

void set_quantize_kernel(GemvKernel kernel) { fit_kernels() = fit_kernels_for(kernel); }

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
  profile.check_fits(c);
  if (static_cast<int64_t>(weights.layers_.size()) != c.n_layers_) {
    throw make_error("quantize: model " + c.name_,
                     "config has " + std::to_string(c.n_layers_) + " layers, weights have " +
                         std::to_string(weights.layers_.size()));
  }
  // Calibration (imatrix rounding, static scales): the tokens, and for the imatrix the mean
  // square of every matrix input measured on an 8-bit proxy of the model.
  std::vector<int32_t> calib_tokens;
  ActivationStats stats;
  if (profile.needs_calibration()) calib_tokens = calibration_tokens(profile, c);
  if (profile.imatrix_rounding_) stats = importance_stats(weights, profile, calib_tokens);
  auto imp = [&](const std::vector<std::vector<double>>& site, int64_t l) -> const std::vector<double>* {
    if (!profile.imatrix_rounding_) return nullptr;
    return &site[static_cast<size_t>(l)];
  };
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
                                  "token_embd", imp(stats.final_, 0));
  } else {
    check_shape(out_w, c.vocab_, c.d_model_, "output");
    q.tok_embd_ = quantize_matrix(weights.tok_embd_,
                                  profile.weight_bits_for(WeightKind::kEmbedding, -1), profile,
                                  "token_embd");
    q.output_ = quantize_matrix(out_w, profile.weight_bits_for(WeightKind::kLmHead, -1), profile,
                                "output", imp(stats.final_, 0));
  }
  q.output_norm_ = quantize_gain(weights.output_norm_, "output_norm");
  const int af = profile.activation_frac_bits_;
  q.layers_.resize(static_cast<size_t>(c.n_layers_));
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    const LayerWeights& w = weights.layers_[static_cast<size_t>(l)];
    QuantizedLayer& ql = q.layers_[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    auto mat = [&](const FloatTensor& t, WeightKind kind, int64_t rows, int64_t cols,
                   const std::string& name, const std::vector<double>* importance) {
      check_shape(t, rows, cols, p + name);
      return quantize_matrix(t, profile.weight_bits_for(kind, l), profile, p + name, importance);
    };
    check_length(w.attn_norm_, c.d_model_, p + "attn_norm");
    check_length(w.ffn_norm_, c.d_model_, p + "ffn_norm");
    ql.attn_norm_ = quantize_gain(w.attn_norm_, p + "attn_norm");
    ql.ffn_norm_ = quantize_gain(w.ffn_norm_, p + "ffn_norm");
    ql.wq_ = mat(w.wq_, WeightKind::kAttnQ, c.q_dim(), c.d_model_, "attn_q", imp(stats.attn_in_, l));
    ql.wk_ = mat(w.wk_, WeightKind::kAttnK, c.kv_dim(), c.d_model_, "attn_k", imp(stats.attn_in_, l));
    ql.wv_ = mat(w.wv_, WeightKind::kAttnV, c.kv_dim(), c.d_model_, "attn_v", imp(stats.attn_in_, l));
    ql.wo_ = mat(w.wo_, WeightKind::kAttnOutput, c.d_model_, c.q_dim(), "attn_output",
                 imp(stats.attn_out_, l));
    ql.w_gate_ = mat(w.w_gate_, WeightKind::kFfnGate, c.d_ff_, c.d_model_, "ffn_gate",
                     imp(stats.ffn_in_, l));
    ql.w_up_ = mat(w.w_up_, WeightKind::kFfnUp, c.d_ff_, c.d_model_, "ffn_up", imp(stats.ffn_in_, l));
    ql.w_down_ = mat(w.w_down_, WeightKind::kFfnDown, c.d_model_, c.d_ff_, "ffn_down",
                     imp(stats.ffn_hidden_, l));
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
  if (profile.static_act_scales_) calibrate_static_scales(q, calib_tokens);
  return q;
}

}  // namespace hw
