// Integer primitives of the chip datapath (docs/numerics.md is their specification): rounding
// shifts, symmetric saturation, dyadic scales (15-bit mantissa times a power of two), dynamic
// int8/int4 quantization, the rsqrt / exp2 / sigmoid / sine tables and the attention of one
// query head. Everything is inline and marked HW_HD so the golden model (host), the SystemC
// model and the CUDA reference compile the same code and so produce the same bits. No
// floating point is used here except in the host-only table builders at the end.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define HW_HD __host__ __device__
#else
#define HW_HD
#endif

namespace hw::fx {

// Mantissa width of every dyadic scale: m in [2^14, 2^15) (or m = 0 for an all-zero vector).
constexpr int kMantBits = 15;
constexpr int64_t kMantMin = int64_t{1} << (kMantBits - 1);
constexpr int64_t kMantLimit = int64_t{1} << kMantBits;
// Fraction bits of the rsqrt/exp2/sigmoid/sine table entries (value * 2^30).
constexpr int kTableFracBits = 30;
// Fraction bits of attention scores in the log2 domain (z = score * log2(e)) and of
// probabilities (p in [0, 1] as p * 2^30: fine enough that 2^17+ keys of equal weight keep
// their share).
constexpr int kScoreFracBits = 16;
constexpr int kProbFracBits = 30;
// Fraction bits of the rsqrt table entries (y = 1/sqrt(x) * 2^16, x in [1, 4)) and of the
// Newton iteration that refines them.
constexpr int kRsqrtFracBits = 16;
constexpr int kRsqrtNewtonFracBits = 30;
// Fraction bits of a norm gain's int16 representation are chosen per tensor; sigmoid's table
// covers |x| < 16 (sigmoid(16) = 1 - 1.1e-7, below one table LSB of 2^-30 * 2^23).
constexpr int kSigmoidRangeLog2 = 4;
constexpr int32_t kInt32Max = 2147483647;

// A non-negative real m * 2^-e_. Every scale in the datapath has this form so products of
// scales and the requantization of accumulators are integer multiplies and shifts.
struct Dyadic {
  int32_t m_ = 0;  // 0 or in [2^14, 2^15)
  int32_t e_ = 0;
};

HW_HD inline int bit_length(uint64_t x) {
#if defined(__CUDA_ARCH__)
  return x ? 64 - __clzll(static_cast<long long>(x)) : 0;
#else
  return x ? 64 - __builtin_clzll(x) : 0;
#endif
}

HW_HD inline uint64_t abs_u64(int64_t x) {
  return x < 0 ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
}

// Symmetric saturation to [-limit, limit].
HW_HD inline int64_t saturate(int64_t x, int64_t limit) {
  return x > limit ? limit : (x < -limit ? -limit : x);
}
HW_HD inline int32_t saturate_i32(int64_t x) {
  return static_cast<int32_t>(saturate(x, kInt32Max));
}

// x * 2^s for s >= 0, saturating to +-(2^63 - 1).
HW_HD inline int64_t shift_left_saturate(int64_t x, int s) {
  if (x == 0) return 0;
  const int64_t kMax = INT64_MAX;
  if (s >= 63 || abs_u64(x) > static_cast<uint64_t>(kMax >> s)) return x < 0 ? -kMax : kMax;
  return x * (int64_t{1} << s);
}

// x / 2^s rounded to nearest, ties away from zero (the one rounding rule of the datapath).
// s <= 0 is a saturating left shift.
HW_HD inline int64_t round_shift(int64_t x, int s) {
  if (s <= 0) return shift_left_saturate(x, -s);
  const uint64_t mag = abs_u64(x);
  uint64_t r = 0;
  if (s < 64) {
    r = (mag >> s) + ((mag >> (s - 1)) & 1u);
  } else if (s == 64) {
    r = mag >> 63;  // only 2^63 / 2^64 = 0.5 rounds up
  }
  return x < 0 ? -static_cast<int64_t>(r) : static_cast<int64_t>(r);
}

// Unsigned variant (ties up), for magnitudes that may use bit 63.
HW_HD inline uint64_t round_shift_u(uint64_t x, int s) {
  if (s <= 0) return x << (-s);
  if (s >= 64) return s == 64 ? (x >> 63) : 0;
  return (x >> s) + ((x >> (s - 1)) & 1u);
}

// n / d rounded to nearest, ties away from zero; d > 0, |n| + d/2 < 2^64.
HW_HD inline int64_t div_round(int64_t n, int64_t d) {
  const uint64_t mag = abs_u64(n);
  const uint64_t q = (mag + (static_cast<uint64_t>(d) >> 1)) / static_cast<uint64_t>(d);
  return n < 0 ? -static_cast<int64_t>(q) : static_cast<int64_t>(q);
}

// m * 2^-e with m rounded (ties up) to kMantBits bits: the single normalization step.
HW_HD inline Dyadic dyadic_normalize(uint64_t m, int64_t e) {
  if (m == 0) return {};
  const int b = bit_length(m);
  if (b > kMantBits) {
    const int sh = b - kMantBits;
    m = round_shift_u(m, sh);
    e -= sh;
    if (m == static_cast<uint64_t>(kMantLimit)) {
      m = kMantMin;
      e -= 1;
    }
  } else if (b < kMantBits) {
    m <<= (kMantBits - b);
    e += kMantBits - b;
  }
  return {static_cast<int32_t>(m), static_cast<int32_t>(e)};
}

HW_HD inline Dyadic dyadic_mul(Dyadic a, Dyadic b) {
  if (a.m_ == 0 || b.m_ == 0) return {};
  return dyadic_normalize(static_cast<uint64_t>(a.m_) * static_cast<uint64_t>(b.m_),
                          static_cast<int64_t>(a.e_) + b.e_);
}

// num / den as a dyadic with one rounding: m = round(num * 2^k / den) with k chosen so that
// m lands in [2^14, 2^15] (2^15 is renormalized to 2^14, k-1). Requires 1 <= num, den < 2^48.
HW_HD inline Dyadic dyadic_ratio(uint64_t num, uint64_t den) {
  int k = kMantBits - 1 + bit_length(den) - bit_length(num);
  // num * 2^k / den is now in (2^13, 2^15); one comparison decides whether to double it.
  const bool below = k >= 0 ? (num << k) < (den << (kMantBits - 1))
                            : num < (den << (kMantBits - 1 - k));
  if (below) ++k;
  uint64_t m = 0;
  if (k >= 0) {
    m = static_cast<uint64_t>(div_round(static_cast<int64_t>(num << k), static_cast<int64_t>(den)));
  } else {
    m = static_cast<uint64_t>(div_round(static_cast<int64_t>(num), static_cast<int64_t>(den << (-k))));
  }
  if (m == static_cast<uint64_t>(kMantLimit)) {
    m = kMantMin;
    --k;
  }
  return {static_cast<int32_t>(m), k};
}

// acc * scale.m_ / 2^(scale.e_ - out_frac), saturated to int32: the requantization of an
// accumulator whose real value is acc * scale into a fixed-point value with out_frac bits.
HW_HD inline int32_t requantize(int64_t acc, Dyadic scale, int out_frac) {
  return saturate_i32(round_shift(acc * scale.m_, scale.e_ - out_frac));
}

// The scale of QUANT for a vector whose largest magnitude is amax > 0: s = ratio(amax, qmax).
// quantize_dynamic is amax (a max-reduction), this, then quantize_value per element; the CUDA
// kernels split the reduction across threads and call the same two pieces.
HW_HD inline Dyadic quantize_scale(uint64_t amax, int32_t qmax) {
  return dyadic_ratio(amax, static_cast<uint64_t>(qmax));
}

// One element of QUANT: round(x / s) (exact rounded division), saturated to [-qmax, qmax].
HW_HD inline int8_t quantize_value(int64_t x, Dyadic s, int32_t qmax) {
  const int64_t q = s.e_ >= 0 ? div_round(x * (int64_t{1} << s.e_), s.m_)
                              : div_round(x, static_cast<int64_t>(s.m_) << (-s.e_));
  return static_cast<int8_t>(saturate(q, qmax));
}

// One element of static-scale quantization (docs/numerics.md, "Static activation scales"): x in
// Q.frac_bits times a dyadic multiplier r (the reciprocal of the calibrated scale, possibly
// times a normalization), rounded and saturated: SAT(RS(x * r.m, r.e + frac_bits), qmax).
// |x| < 2^47 so x * r.m fits int64.
HW_HD inline int8_t quantize_static_value(int64_t x, Dyadic r, int frac_bits, int32_t qmax) {
  return static_cast<int8_t>(saturate(round_shift(x * r.m_, r.e_ + frac_bits), qmax));
}

// Symmetric quantization of n values (real = v * 2^-frac_bits, |v| < 2^47) to integers in
// [-qmax, qmax] with one dyadic scale s = ratio(max|v|, qmax): out = round(v / s) (exact
// rounded division). Returns the real scale of the outputs (m, e) with real = out * m * 2^-e.
// An all-zero input gives zeros and the scale {0, 0}.
template <typename T>
HW_HD inline Dyadic quantize_dynamic(const T* v, int64_t n, int frac_bits, int32_t qmax,
                                     int8_t* out) {
  uint64_t amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t a = abs_u64(static_cast<int64_t>(v[i]));
    amax = a > amax ? a : amax;
  }
  if (amax == 0) {
    for (int64_t i = 0; i < n; ++i) out[i] = 0;
    return {};
  }
  const Dyadic s = quantize_scale(amax, qmax);
  for (int64_t i = 0; i < n; ++i) out[i] = quantize_value(static_cast<int64_t>(v[i]), s, qmax);
  return {s.m_, s.e_ + frac_bits};
}

// 1/sqrt(u) for 1 <= u < 2^63 as a dyadic. u is shifted by an even amount 2j to
// um in [2^30, 2^32) (truncating), x = um / 2^30 in [1, 4); the table (3 * 2^(T-2) entries,
// entry i = round(2^16 / sqrt(x_mid(i)))) gives y0 ~ 1/sqrt(x) from the top T bits of um,
// widened to Q0.30; then `newton_steps` of y <- y (3 - x y^2) / 2 in Q0.30. Result
// 1/sqrt(u) = y * 2^-(30 + 15 + j), normalized to a 15-bit mantissa.
HW_HD inline Dyadic rsqrt_dyadic(uint64_t u, const uint32_t* table, int table_bits,
                                 int newton_steps) {
  if (u == 0) return {};
  int sh = bit_length(u) - 32;
  if (sh & 1) ++sh;  // even: um in [2^30, 2^32)
  const uint64_t um = sh >= 0 ? (u >> sh) : (u << (-sh));
  const uint64_t idx = (um >> (32 - table_bits)) - (uint64_t{1} << (table_bits - 2));
  uint64_t y = static_cast<uint64_t>(table[idx]) << (kRsqrtNewtonFracBits - kRsqrtFracBits);
  for (int i = 0; i < newton_steps; ++i) {
    // y <= 1 and x * y^2 stays near 1, so every product stays below 2^63.
    const uint64_t y2 = round_shift_u(y * y, kRsqrtNewtonFracBits);   // Q0.30
    const uint64_t xy2 = round_shift_u(um * y2, 30);                   // Q2.30 of x*y^2
    const uint64_t t = (uint64_t{3} << 30) - xy2;                      // Q2.30, positive
    y = round_shift_u(y * t, 31);                                      // Q0.30 of y*(3-xy^2)/2
  }
  return dyadic_normalize(y, kRsqrtNewtonFracBits + 15 + sh / 2);
}

// 2^(-d / 2^16) * 2^30 rounded, for d >= 0 in Q.16 (kScoreFracBits). The table holds
// round(2^(-i / 2^T) * 2^30) for i = 0..2^T; the fraction between entries is interpolated
// linearly with the remaining 16 - T bits, then shifted right by the integer part of d.
HW_HD inline uint32_t exp2_neg(int64_t d, const int32_t* table, int table_bits) {
  const int64_t n = d >> kScoreFracBits;
  const int64_t f = d & ((int64_t{1} << kScoreFracBits) - 1);
  const int rb = kScoreFracBits - table_bits;
  const int64_t i = f >> rb;
  const int64_t r = f & ((int64_t{1} << rb) - 1);
  const int64_t v = table[i] - round_shift(static_cast<int64_t>(table[i] - table[i + 1]) * r, rb);
  const int64_t s = kTableFracBits - kProbFracBits + n;
  if (s >= 64) return 0;
  return static_cast<uint32_t>(round_shift(v, static_cast<int>(s)));
}

// sin(2 pi phase / 2^32) * 2^30 from a table of 2^T + 1 entries round(sin(2 pi i / 2^T) * 2^30)
// interpolated with the next 16 phase bits.
HW_HD inline int32_t sin_q30(uint32_t phase, const int32_t* table, int table_bits) {
  const uint32_t i = phase >> (32 - table_bits);
  const int64_t r = (phase >> (16 - table_bits)) & 0xFFFFu;
  return static_cast<int32_t>(table[i] + round_shift(static_cast<int64_t>(table[i + 1] - table[i]) * r, 16));
}
HW_HD inline int32_t cos_q30(uint32_t phase, const int32_t* table, int table_bits) {
  return sin_q30(phase + (uint32_t{1} << 30), table, table_bits);
}

// Rotation of one RoPE pair by (c, s) in Q.30.
HW_HD inline void rope_rotate(int32_t* x0, int32_t* x1, int32_t c, int32_t s) {
  const int64_t a = static_cast<int64_t>(*x0) * c - static_cast<int64_t>(*x1) * s;
  const int64_t b = static_cast<int64_t>(*x0) * s + static_cast<int64_t>(*x1) * c;
  *x0 = saturate_i32(round_shift(a, kTableFracBits));
  *x1 = saturate_i32(round_shift(b, kTableFracBits));
}

// silu(x) = x * sigmoid(x) for x in Q.frac_bits. The table holds round(sigmoid(i / 2^Ts) * 2^30)
// for i = 0..16 * 2^Ts; |x| is interpolated between entries with its frac_bits - Ts low bits,
// sigmoid(-x) = 1 - sigmoid(x), and |x| >= 16 uses sigmoid = 1. Requires frac_bits >= Ts.
HW_HD inline int32_t silu_fixed(int32_t x, int frac_bits, const int32_t* table,
                                int table_bits_per_unit) {
  const int64_t mag = static_cast<int64_t>(abs_u64(x));
  int64_t sig = int64_t{1} << kTableFracBits;
  if (mag < (int64_t{1} << (frac_bits + kSigmoidRangeLog2))) {
    const int rb = frac_bits - table_bits_per_unit;
    const int64_t i = mag >> rb;
    const int64_t r = mag & ((int64_t{1} << rb) - 1);
    sig = table[i] + round_shift(static_cast<int64_t>(table[i + 1] - table[i]) * r, rb);
  }
  if (x < 0) sig = (int64_t{1} << kTableFracBits) - sig;
  return saturate_i32(round_shift(static_cast<int64_t>(x) * sig, kTableFracBits));
}

// Constants of one RMSNorm site: eps in sum-of-squares units for each pre-shift (docs:
// eps_by_shift[sh] = round(eps * n * 4^(frac - sh))), sqrt(n) as a dyadic, and the input's
// fraction bits.
constexpr int kNormShifts = 10;  // sh = max(0, bit_length(max|x|) - 23) is at most 9
struct RmsConstants {
  uint64_t eps_by_shift_[kNormShifts] = {};
  Dyadic sqrt_n_;
  int frac_bits_ = 0;
};

// Pre-shift of RMSNorm inputs whose largest magnitude is amax: squares fit 46 bits.
HW_HD inline int norm_shift(uint64_t amax) {
  const int sh = bit_length(amax) - 23;
  return sh < 0 ? 0 : sh;
}

// One term of the RMSNorm sum of squares at pre-shift sh (exact in uint64).
HW_HD inline uint64_t norm_square(int32_t x, int sh) {
  const int64_t xs = round_shift(x, sh);
  return static_cast<uint64_t>(xs * xs);
}

// 1/sqrt(mean(x^2) + eps) from the sum of squares ss at pre-shift sh (see inv_rms).
HW_HD inline Dyadic inv_rms_finish(uint64_t ss, int sh, const RmsConstants& c,
                                   const uint32_t* rsqrt_table, int table_bits,
                                   int newton_steps) {
  const uint64_t u = ss + c.eps_by_shift_[sh];
  if (u == 0) return {};
  Dyadic t = dyadic_mul(rsqrt_dyadic(u, rsqrt_table, table_bits, newton_steps), c.sqrt_n_);
  t.e_ -= c.frac_bits_ - sh;
  return t;
}

// 1/sqrt(mean(x^2) + eps) of n values in Q.frac as a dyadic in real units: values are
// pre-shifted by sh (rounding) so squares fit 46 bits, summed exactly in uint64, eps added, and
// inv_rms = rsqrt(u) * sqrt(n) * 2^(frac - sh). n <= 65536. {0, 0} when u = 0.
HW_HD inline Dyadic inv_rms(const int32_t* x, int64_t n, const RmsConstants& c,
                            const uint32_t* rsqrt_table, int table_bits, int newton_steps) {
  uint64_t amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t a = abs_u64(x[i]);
    amax = a > amax ? a : amax;
  }
  const int sh = norm_shift(amax);
  uint64_t ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += norm_square(x[i], sh);
  return inv_rms_finish(ss, sh, c, rsqrt_table, table_bits, newton_steps);
}

// RMSNorm feeding a matrix product: y = x * gain (exact, int64), quantized dynamically to
// [-qmax, qmax]; the returned scale is y's quantization scale times inv_rms (the normalization
// only rescales, the integers do not depend on it). scratch: n int64.
HW_HD inline Dyadic rms_norm_quantize(const int32_t* x, const int16_t* gain, int gain_frac,
                                      int64_t n, const RmsConstants& c,
                                      const uint32_t* rsqrt_table, int table_bits,
                                      int newton_steps, int32_t qmax, int64_t* scratch,
                                      int8_t* out) {
  const Dyadic inv = inv_rms(x, n, c, rsqrt_table, table_bits, newton_steps);
  for (int64_t i = 0; i < n; ++i) scratch[i] = static_cast<int64_t>(x[i]) * gain[i];
  const Dyadic s = quantize_dynamic(scratch, n, c.frac_bits_ + gain_frac, qmax, out);
  return dyadic_mul(s, inv);
}

// One element of the fixed-point RMSNorm: x * gain * inv in Q.frac, one rounding.
HW_HD inline int32_t rms_norm_fixed_value(int32_t x, int16_t gain, int gain_frac, Dyadic inv) {
  const int64_t t = static_cast<int64_t>(x) * gain * inv.m_;
  return saturate_i32(round_shift(t, gain_frac + inv.e_));
}

// RMSNorm in fixed point (Qwen3's per-head q/k norm): out = x * gain * inv_rms in Q.frac,
// one rounding per element. out may alias x.
HW_HD inline void rms_norm_fixed(const int32_t* x, const int16_t* gain, int gain_frac, int64_t n,
                                 const RmsConstants& c, const uint32_t* rsqrt_table,
                                 int table_bits, int newton_steps, int32_t* out) {
  const Dyadic inv = inv_rms(x, n, c, rsqrt_table, table_bits, newton_steps);
  for (int64_t i = 0; i < n; ++i) out[i] = rms_norm_fixed_value(x[i], gain[i], gain_frac, inv);
}

// Portable int8 dot product with int32 accumulation (|a|, |b| <= 127: no overflow below
// 133,000 terms).
HW_HD inline int32_t dot_i8(const int8_t* a, const int8_t* b, int64_t n) {
  int32_t acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += static_cast<int32_t>(a[i]) * static_cast<int32_t>(b[i]);
  return acc;
}

// The pieces of attention_head, one element each, so a parallel implementation (the CUDA
// kernels) computes the same integers: every reduction between them (max, sum, min) is exact
// and so independent of the order.
// Score of one key in the log2 domain, Q.16, saturated to int32: dot = q . k_j (int8 dot).
HW_HD inline int64_t attention_score(int64_t dot, Dyadic k_scale, Dyadic qc) {
  const int64_t t = dot * k_scale.m_ * qc.m_;
  return saturate_i32(
      round_shift(t, static_cast<int>(static_cast<int64_t>(k_scale.e_) + qc.e_ - kScoreFracBits)));
}
// Normalized probability pi_j in Q0.30 from p_j = 2^(z_j - z_max) and inv = ratio(1, sum p).
HW_HD inline uint32_t attention_prob(uint32_t p, Dyadic inv) {
  return static_cast<uint32_t>(round_shift(static_cast<int64_t>(p) * inv.m_, inv.e_ - kProbFracBits));
}
// Whether key j takes part in the value sum (and in the minimum exponent e_min).
HW_HD inline bool attention_uses(uint32_t prob, Dyadic v_scale) {
  return v_scale.m_ != 0 && prob != 0;
}
// Weight a_j = pi_j * v_scale_j aligned to the exponent e_min (0 for unused keys).
HW_HD inline int64_t attention_weight(uint32_t prob, Dyadic v_scale, int32_t e_min) {
  if (!attention_uses(prob, v_scale)) return 0;
  return round_shift(static_cast<int64_t>(prob) * v_scale.m_, v_scale.e_ - e_min);
}
// Output element from its value accumulator sum_j a_j v_jd.
HW_HD inline int32_t attention_out(int64_t acc, int32_t e_min, int out_frac) {
  return saturate_i32(round_shift(acc, kProbFracBits + e_min - out_frac));
}

// Attention of one query head over n_keys cached positions (docs/numerics.md, "Attention").
// q: head_dim int8 values; qc: the query scale times log2(e)/sqrt(head_dim). k/v: row j starts at
// k + j * row_stride; their scales at k_scale[j * scale_stride]. Scratch: z (n_keys int64),
// p (n_keys uint32), acc (head_dim int64). out: head_dim values in Q.out_frac. n_keys <= 2^18.
HW_HD inline void attention_head(const int8_t* q, Dyadic qc, const int8_t* k,
                                 const Dyadic* k_scale, const int8_t* v, const Dyadic* v_scale,
                                 int64_t n_keys, int64_t row_stride, int64_t scale_stride,
                                 int64_t head_dim, const int32_t* exp2_table, int exp2_bits,
                                 int out_frac, int64_t* z, uint32_t* p, int64_t* acc,
                                 int32_t* out) {
  // Scores in the log2 domain, Q.16, saturated to int32.
  int64_t z_max = -kInt32Max;
  for (int64_t j = 0; j < n_keys; ++j) {
    const int64_t zj =
        attention_score(dot_i8(q, k + j * row_stride, head_dim), k_scale[j * scale_stride], qc);
    z[j] = zj;
    z_max = zj > z_max ? zj : z_max;
  }
  // Unnormalized probabilities 2^(z - z_max) in Q0.30; the maximum is exactly 2^30, so the sum
  // stays below 2^48 for up to 2^18 keys.
  uint64_t sum = 0;
  for (int64_t j = 0; j < n_keys; ++j) {
    p[j] = exp2_neg(z_max - z[j], exp2_table, exp2_bits);
    sum += p[j];
  }
  // Normalized probabilities pi_j = round(p_j / sum * 2^30) through one reciprocal of the sum.
  const Dyadic inv = dyadic_ratio(1, sum);
  int32_t e_min = kInt32Max;
  for (int64_t j = 0; j < n_keys; ++j) {
    p[j] = attention_prob(p[j], inv);
    const Dyadic vs = v_scale[j * scale_stride];
    if (attention_uses(p[j], vs) && vs.e_ < e_min) e_min = vs.e_;
  }
  for (int64_t d = 0; d < head_dim; ++d) acc[d] = 0;
  if (e_min == kInt32Max) {
    for (int64_t d = 0; d < head_dim; ++d) out[d] = 0;
    return;
  }
  // Weights pi_j * v_scale_j aligned to the largest value scale (smallest exponent e_min).
  for (int64_t j = 0; j < n_keys; ++j) {
    const int64_t a = attention_weight(p[j], v_scale[j * scale_stride], e_min);
    if (a == 0) continue;
    const int8_t* vr = v + j * row_stride;
    for (int64_t d = 0; d < head_dim; ++d) acc[d] += a * vr[d];
  }
  for (int64_t d = 0; d < head_dim; ++d) out[d] = attention_out(acc[d], e_min, out_frac);
}

// The element-wise steps of the golden model's blocks (golden_model.cpp), here so the CUDA
// kernels evaluate the same expressions.
// Embedding element: stored value w times its group mantissa m, from row exponent exp into Q.fr.
HW_HD inline int32_t embed_value(int8_t w, uint16_t m, int32_t exp, int fr) {
  return saturate_i32(round_shift(static_cast<int64_t>(w) * m, exp - fr));
}
// Bias add and residual add: x + d saturated to int32.
HW_HD inline int32_t add_saturate(int32_t x, int32_t d) {
  return saturate_i32(static_cast<int64_t>(x) + d);
}
// SwiGLU element: silu(gate) * up in Q.frac_bits.
HW_HD inline int32_t swiglu_fixed(int32_t gate, int32_t up, int frac_bits,
                                  const int32_t* sigmoid_table, int table_bits_per_unit) {
  const int32_t a = silu_fixed(gate, frac_bits, sigmoid_table, table_bits_per_unit);
  return saturate_i32(round_shift(static_cast<int64_t>(a) * up, frac_bits));
}

}  // namespace hw::fx
