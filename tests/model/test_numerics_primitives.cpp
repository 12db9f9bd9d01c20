// Tests of the integer primitives (model/fixed_point.h) against high-precision references,
// with the error bounds docs/numerics.md states: rounding and saturation rules, dyadic scales,
// dynamic quantization, rsqrt (table + Newton), the exp2 / sigmoid / sine tables, attention of
// one head, and the GEMV kernels (bit-exact to each other and to a naive int64 loop). Edge
// cases: saturation, all-zero vectors, extreme magnitudes, 131,072 keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "model/fixed_point.h"
#include "model/golden_model.h"
#include "model/quantizer.h"

namespace hw {
namespace {

using fx::Dyadic;

constexpr double kPi = 3.14159265358979323846;

double real_of(Dyadic d) { return std::ldexp(static_cast<double>(d.m_), -d.e_); }

// ---------------------------------------------------------------------------------------------
// Rounding, saturation, division

TEST(FixedPoint, RoundShiftTiesAwayFromZero) {
  EXPECT_EQ(fx::round_shift(5, 1), 3);     // 2.5 -> 3
  EXPECT_EQ(fx::round_shift(-5, 1), -3);   // -2.5 -> -3
  EXPECT_EQ(fx::round_shift(7, 2), 2);     // 1.75 -> 2
  EXPECT_EQ(fx::round_shift(-6, 2), -2);   // -1.5 -> -2
  EXPECT_EQ(fx::round_shift(5, 2), 1);     // 1.25 -> 1
  EXPECT_EQ(fx::round_shift(-5, 2), -1);
  EXPECT_EQ(fx::round_shift(12345, 0), 12345);
  EXPECT_EQ(fx::round_shift(3, -4), 48);
  EXPECT_EQ(fx::round_shift(INT64_MAX, 64), 0);
  EXPECT_EQ(fx::round_shift(INT64_MAX, 63), 1);
  EXPECT_EQ(fx::round_shift(-INT64_MAX, 63), -1);
  EXPECT_EQ(fx::round_shift(1, 70), 0);
  // Left shifts saturate symmetrically instead of overflowing.
  EXPECT_EQ(fx::round_shift(int64_t{1} << 40, -30), INT64_MAX);
  EXPECT_EQ(fx::round_shift(-(int64_t{1} << 40), -30), -INT64_MAX);
  // Against the real quotient for random values.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10000; ++i) {
    const int64_t x = static_cast<int64_t>(rng() >> 12) - (int64_t{1} << 51);
    const int s = static_cast<int>(rng() % 40) + 1;
    const long double q = static_cast<long double>(x) / std::ldexp(1.0L, s);
    const long double r = q < 0 ? -std::floor(-q + 0.5L) : std::floor(q + 0.5L);
    ASSERT_EQ(fx::round_shift(x, s), static_cast<int64_t>(r)) << x << " >> " << s;
  }
}

TEST(FixedPoint, SaturationIsSymmetric) {
  EXPECT_EQ(fx::saturate(200, 127), 127);
  EXPECT_EQ(fx::saturate(-200, 127), -127);
  EXPECT_EQ(fx::saturate(-128, 127), -127);
  EXPECT_EQ(fx::saturate_i32(int64_t{1} << 40), 2147483647);
  EXPECT_EQ(fx::saturate_i32(-(int64_t{1} << 40)), -2147483647);
  EXPECT_EQ(fx::saturate_i32(-2147483648LL), -2147483647);
}

TEST(FixedPoint, DivRoundTiesAwayFromZero) {
  EXPECT_EQ(fx::div_round(5, 2), 3);
  EXPECT_EQ(fx::div_round(-5, 2), -3);
  EXPECT_EQ(fx::div_round(7, 3), 2);
  EXPECT_EQ(fx::div_round(-8, 3), -3);
  EXPECT_EQ(fx::div_round(0, 9), 0);
}

// ---------------------------------------------------------------------------------------------
// Dyadic scales: one rounding to a 15-bit mantissa, relative error <= 2^-15.

TEST(FixedPoint, DyadicNormalizeMulRatio) {
  std::mt19937_64 rng(2);
  const double bound = std::ldexp(1.0, -fx::kMantBits);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t num = (rng() >> (16 + rng() % 47)) + 1;  // 1 .. 2^48
    const uint64_t den = (rng() >> (16 + rng() % 47)) + 1;
    const Dyadic r = fx::dyadic_ratio(num, den);
    ASSERT_GE(r.m_, fx::kMantMin);
    ASSERT_LT(r.m_, fx::kMantLimit);
    const double exact = static_cast<double>(num) / static_cast<double>(den);
    ASSERT_LE(std::fabs(real_of(r) / exact - 1.0), bound) << num << "/" << den;

    const Dyadic a = fx::dyadic_normalize(rng() >> (rng() % 64), static_cast<int>(rng() % 60) - 30);
    const Dyadic b = fx::dyadic_normalize(rng() >> (rng() % 64), static_cast<int>(rng() % 60) - 30);
    const Dyadic p = fx::dyadic_mul(a, b);
    if (a.m_ == 0 || b.m_ == 0) {
      ASSERT_EQ(p.m_, 0);
      continue;
    }
    ASSERT_GE(p.m_, fx::kMantMin);
    ASSERT_LE(std::fabs(real_of(p) / (real_of(a) * real_of(b)) - 1.0), bound);
  }
  EXPECT_EQ(fx::dyadic_normalize(0, 5).m_, 0);
  // A mantissa that rounds up to 2^15 renormalizes to 2^14 with one less exponent.
  const Dyadic up = fx::dyadic_normalize((uint64_t{1} << 16) - 1, 0);
  EXPECT_EQ(up.m_, fx::kMantMin);
  EXPECT_EQ(up.e_, -2);
}

TEST(FixedPoint, DyadicFromDouble) {
  for (double v : {1.0, 0.1, 3.14159, 1e-9, 12345.678, 0.99999999}) {
    const Dyadic d = dyadic_from_double(v);
    EXPECT_GE(d.m_, fx::kMantMin);
    EXPECT_LT(d.m_, fx::kMantLimit);
    EXPECT_LE(std::fabs(real_of(d) / v - 1.0), std::ldexp(1.0, -fx::kMantBits)) << v;
  }
  EXPECT_EQ(dyadic_from_double(0.0).m_, 0);
}

// ---------------------------------------------------------------------------------------------
// Dynamic quantization: the largest magnitude maps to +-qmax, every value is within half a
// step (plus the 2^-15 scale rounding), zeros stay zero.

TEST(FixedPoint, QuantizeDynamicBoundsAndEdges) {
  std::mt19937_64 rng(3);
  for (int32_t qmax : {127, 7, 1}) {
    for (int trial = 0; trial < 200; ++trial) {
      const int n = 1 + static_cast<int>(rng() % 300);
      const int mag_bits = 1 + static_cast<int>(rng() % 30);
      std::vector<int32_t> v(static_cast<size_t>(n));
      for (auto& x : v) x = static_cast<int32_t>(static_cast<int64_t>(rng() % (uint64_t{2} << mag_bits)) - (int64_t{1} << mag_bits));
      std::vector<int8_t> q(static_cast<size_t>(n));
      const int frac = 16;
      const Dyadic s = fx::quantize_dynamic(v.data(), n, frac, qmax, q.data());
      int64_t amax = 0;
      for (int32_t x : v) amax = std::max<int64_t>(amax, std::llabs(x));
      if (amax == 0) {
        EXPECT_EQ(s.m_, 0);
        continue;
      }
      const double step = real_of(s);
      for (int i = 0; i < n; ++i) {
        const double real = std::ldexp(static_cast<double>(v[static_cast<size_t>(i)]), -frac);
        ASSERT_LE(std::abs(q[static_cast<size_t>(i)]), qmax);
        ASSERT_LE(std::fabs(q[static_cast<size_t>(i)] * step - real), 0.5 * step * (1.0 + 1e-3))
            << "qmax " << qmax << " element " << i;
        if (std::llabs(v[static_cast<size_t>(i)]) == amax) {
          ASSERT_EQ(std::abs(q[static_cast<size_t>(i)]), qmax);
        }
      }
    }
  }
  // All-zero rows: zeros and a zero scale.
  std::vector<int32_t> zeros(64, 0);
  std::vector<int8_t> q(64, 5);
  const Dyadic s = fx::quantize_dynamic(zeros.data(), 64, 12, 127, q.data());
  EXPECT_EQ(s.m_, 0);
  for (int8_t x : q) EXPECT_EQ(x, 0);
  // Extreme magnitudes: the int32 limits quantize to +-127 without overflow.
  std::vector<int32_t> ext = {2147483647, -2147483647, 1, 0};
  std::vector<int8_t> qe(4);
  fx::quantize_dynamic(ext.data(), 4, 0, 127, qe.data());
  EXPECT_EQ(qe[0], 127);
  EXPECT_EQ(qe[1], -127);
  EXPECT_EQ(qe[2], 0);
}

// ---------------------------------------------------------------------------------------------
// rsqrt: the table alone is within 2^-T + 2^-16 (half an interval of width 2^(2-T) on x >= 1,
// relative slope 1/2, plus the Q0.16 rounding of y in (0.5, 1]); each Newton step maps an
// error e to 1.5 e^2 plus 2^-28 of Q0.30 rounding; the 15-bit result mantissa adds 2^-15.

double rsqrt_bound(int table_bits, int steps) {
  double e = std::ldexp(1.0, -table_bits) + std::ldexp(1.0, -16);
  for (int i = 0; i < steps; ++i) e = 1.5 * e * e + std::ldexp(1.0, -28);
  return e + std::ldexp(1.0, -15);
}

TEST(FixedPoint, RsqrtWithinStatedBound) {
  std::mt19937_64 rng(4);
  for (int bits : {4, 6, 8, 10}) {
    const std::vector<uint32_t> table = build_rsqrt_table(bits);
    ASSERT_EQ(table.size(), 3u << (bits - 2));
    for (int steps : {0, 1, 2}) {
      const double bound = rsqrt_bound(bits, steps);
      double worst = 0.0;
      for (int i = 0; i < 20000; ++i) {
        const uint64_t u = (rng() >> (1 + rng() % 63)) + 1;
        const Dyadic r = fx::rsqrt_dyadic(u, table.data(), bits, steps);
        const long double exact = 1.0L / std::sqrt(static_cast<long double>(u));
        worst = std::max(worst, static_cast<double>(std::fabs(real_of(r) / exact - 1.0L)));
      }
      EXPECT_LE(worst, bound) << "table bits " << bits << ", Newton steps " << steps;
    }
  }
  // The default (8 index bits, one Newton step) is accurate to 5.3e-5.
  EXPECT_LT(rsqrt_bound(8, 1), 5.5e-5);
  EXPECT_EQ(fx::rsqrt_dyadic(0, build_rsqrt_table(8).data(), 8, 1).m_, 0);
}

TEST(FixedPoint, InvRmsMatchesDouble) {
  std::mt19937_64 rng(5);
  const std::vector<uint32_t> table = build_rsqrt_table(8);
  for (int trial = 0; trial < 300; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 4096);
    const int frac = 12;
    const double eps = 1e-5;
    const int mag_bits = 1 + static_cast<int>(rng() % 30);
    std::vector<int32_t> x(static_cast<size_t>(n));
    for (auto& v : x) v = static_cast<int32_t>(static_cast<int64_t>(rng() % (uint64_t{2} << mag_bits)) - (int64_t{1} << mag_bits));
    const fx::RmsConstants c = build_rms_constants(eps, n, frac);
    const Dyadic inv = fx::inv_rms(x.data(), n, c, table.data(), 8, 1);
    long double ss = 0.0L;
    for (int32_t v : x) ss += std::pow(std::ldexp(static_cast<long double>(v), -frac), 2);
    const long double exact = 1.0L / std::sqrt(ss / n + eps);
    // rsqrt bound, two dyadic roundings, and the pre-shift of large inputs (2^-22 relative).
    const double bound = rsqrt_bound(8, 1) + 3 * std::ldexp(1.0, -15) + std::ldexp(1.0, -20);
    ASSERT_LE(std::fabs(real_of(inv) / exact - 1.0L), bound) << "n " << n << " bits " << mag_bits;
  }
  // All-zero input: 1/sqrt(eps).
  std::vector<int32_t> zeros(64, 0);
  const fx::RmsConstants c = build_rms_constants(1e-5, 64, 12);
  const Dyadic inv = fx::inv_rms(zeros.data(), 64, c, table.data(), 8, 1);
  EXPECT_NEAR(real_of(inv), 1.0 / std::sqrt(1e-5), 1e-3 * (1.0 / std::sqrt(1e-5)));
}

// ---------------------------------------------------------------------------------------------
// exp2 (Q0.30 output): |error| <= 0.5 LSB output rounding + 0.5 LSB table rounding + the
// linear-interpolation error h^2/8 max|f''| with h = 2^-T, f'' = ln2^2 f and f at most 2^h
// times the value.
TEST(FixedPoint, Exp2TableWithinStatedBound) {
  for (int bits : {2, 4, 7, 10}) {
    const std::vector<int32_t> table = build_exp2_table(bits);
    const double h = std::ldexp(1.0, -bits);
    const double interp = std::pow(std::log(2.0) * h, 2) / 8.0 * std::exp2(h);
    double worst_excess = -1.0;
    for (int64_t d = 0; d < 40 * 65536; d += 7) {
      const double got = fx::exp2_neg(d, table.data(), bits);
      const double exact = std::exp2(-static_cast<double>(d) / 65536.0) * std::ldexp(1.0, 30);
      worst_excess = std::max(worst_excess, std::fabs(got - exact) - (1.0 + interp * exact));
    }
    EXPECT_LE(worst_excess, 0.0) << "table bits " << bits;
  }
  const std::vector<int32_t> t7 = build_exp2_table(7);
  EXPECT_EQ(fx::exp2_neg(0, t7.data(), 7), 1u << 30);             // 2^0 exactly 1.0
  EXPECT_EQ(fx::exp2_neg(65536, t7.data(), 7), 1u << 29);         // 2^-1 exactly
  EXPECT_EQ(fx::exp2_neg(int64_t{1} << 40, t7.data(), 7), 0u);    // underflow, no UB
}

// sine: |error| <= (2 pi 2^-T)^2 / 8 (interpolation) + 2^-29 (table and output rounding).
TEST(FixedPoint, SinTableWithinStatedBound) {
  for (int bits : {6, 10, 14}) {
    const std::vector<int32_t> table = build_sin_table(bits);
    const double bound = std::pow(2.0 * kPi * std::ldexp(1.0, -bits), 2) / 8.0 + std::ldexp(1.0, -29);
    double worst = 0.0;
    std::mt19937 rng(6);
    for (int i = 0; i < 100000; ++i) {
      const uint32_t phase = rng();
      const double angle = 2.0 * kPi * std::ldexp(static_cast<double>(phase), -32);
      worst = std::max(worst, std::fabs(std::ldexp(fx::sin_q30(phase, table.data(), bits), -30) - std::sin(angle)));
      worst = std::max(worst, std::fabs(std::ldexp(fx::cos_q30(phase, table.data(), bits), -30) - std::cos(angle)));
    }
    EXPECT_LE(worst, bound) << "table bits " << bits;
  }
}

// Rope rotation of a pair by the table's (cos, sin) equals the float rotation within the sine
// bound times the pair's magnitude plus one LSB.
TEST(FixedPoint, RopeRotateMatchesFloat) {
  const std::vector<int32_t> table = build_sin_table(10);
  std::mt19937 rng(7);
  for (int i = 0; i < 10000; ++i) {
    int32_t x0 = static_cast<int32_t>(rng() % 2000001) - 1000000;
    int32_t x1 = static_cast<int32_t>(rng() % 2000001) - 1000000;
    const uint32_t phase = rng();
    const double a = 2.0 * kPi * std::ldexp(static_cast<double>(phase), -32);
    const double r0 = x0 * std::cos(a) - x1 * std::sin(a);
    const double r1 = x0 * std::sin(a) + x1 * std::cos(a);
    const double mag = std::hypot(x0, x1);
    fx::rope_rotate(&x0, &x1, fx::cos_q30(phase, table.data(), 10), fx::sin_q30(phase, table.data(), 10));
    const double bound = 2.0 * mag * 5e-6 + 1.0;
    ASSERT_LE(std::fabs(x0 - r0), bound);
    ASSERT_LE(std::fabs(x1 - r1), bound);
  }
  // Saturation instead of wraparound at the int32 limits.
  int32_t a = 2147483647, b = 2147483647;
  fx::rope_rotate(&a, &b, 1 << 30, 1 << 30);  // scale by sqrt(2) would overflow
  EXPECT_EQ(b, 2147483647);
}

// silu: |error| <= |x| (h^2/8 * max|sigmoid''| + 2^-30 + (1 - sigmoid(16))) + 1 LSB, h = 2^-Ts.
TEST(FixedPoint, SiluWithinStatedBound) {
  const int frac = 16;
  for (int ts : {2, 5, 8}) {
    const std::vector<int32_t> table = build_sigmoid_table(ts);
    const double h = std::ldexp(1.0, -ts);
    const double rel = h * h / 8.0 * 0.0963 + std::ldexp(1.0, -30) + (1.0 - 1.0 / (1.0 + std::exp(-16.0)));
    std::mt19937 rng(8);
    for (int i = 0; i < 50000; ++i) {
      const int32_t x = static_cast<int32_t>(static_cast<int64_t>(rng() % (uint64_t{80} << frac)) - (int64_t{40} << frac));
      const double xr = std::ldexp(static_cast<double>(x), -frac);
      const double exact = xr / (1.0 + std::exp(-xr));
      const double got = std::ldexp(static_cast<double>(fx::silu_fixed(x, frac, table.data(), ts)), -frac);
      ASSERT_LE(std::fabs(got - exact), std::fabs(xr) * rel + std::ldexp(1.0, -frac)) << xr << " Ts " << ts;
    }
    // Extremes: silu saturates to x for large positive, 0 for large negative.
    EXPECT_EQ(fx::silu_fixed(2147483647, frac, table.data(), ts), 2147483647);
    EXPECT_EQ(fx::silu_fixed(-2147483647, frac, table.data(), ts), 0);
    EXPECT_EQ(fx::silu_fixed(0, frac, table.data(), ts), 0);
  }
}

// Every table entry is a binary64 evaluation rounded to an integer; an entry whose exact value
// lies within 1e-6 of a half-integer could round differently under another libm. None does.
TEST(FixedPoint, TablesAreFarFromRoundingTies) {
  auto check = [](const char* name, size_t n, const std::function<double(size_t)>& exact) {
    for (size_t i = 0; i < n; ++i) {
      const double v = exact(i);
      const double frac = v - std::floor(v);
      EXPECT_GT(std::fabs(frac - 0.5), 1e-6) << name << " entry " << i << " = " << v;
    }
  };
  for (int bits : {7, 8, 10}) {
    const size_t base = size_t{1} << (bits - 2);
    check("rsqrt", 3 * base, [&](size_t i) {
      return 65536.0 / std::sqrt(std::ldexp(static_cast<double>(i + base) + 0.5, 2 - bits));
    });
  }
  check("exp2", (1u << 7) + 1, [](size_t i) { return std::ldexp(std::exp2(-static_cast<double>(i) / 128.0), 30); });
  check("sigmoid", 16 * 32 + 1, [](size_t i) {
    return std::ldexp(1.0 / (1.0 + std::exp(-static_cast<double>(i) / 32.0)), 30);
  });
  check("sin", 1025, [](size_t i) {
    return i % 256 == 0 ? 0.25 : std::ldexp(std::sin(2.0 * kPi * static_cast<double>(i) / 1024.0), 30);
  });
}

// ---------------------------------------------------------------------------------------------
// Attention of one head against a double-precision softmax over the dequantized K, V.

struct HeadCase {
  int64_t n_keys_ = 0;
  int64_t head_dim_ = 0;
  std::vector<int8_t> q_, k_, v_;
  std::vector<Dyadic> k_scale_, v_scale_;
  Dyadic q_scale_;
};

HeadCase random_head(int64_t n_keys, int64_t hd, uint64_t seed, int32_t qmax) {
  std::mt19937_64 rng(seed);
  HeadCase h;
  h.n_keys_ = n_keys;
  h.head_dim_ = hd;
  auto fill = [&](std::vector<int8_t>& v, int64_t n, int32_t lim) {
    v.resize(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<int8_t>(static_cast<int64_t>(rng() % (2 * lim + 1)) - lim);
  };
  fill(h.q_, hd, 127);
  fill(h.k_, n_keys * hd, qmax);
  fill(h.v_, n_keys * hd, qmax);
  for (int64_t j = 0; j < n_keys; ++j) {
    h.k_scale_.push_back(fx::dyadic_normalize(1000 + rng() % 30000, 20 + static_cast<int>(rng() % 4)));
    h.v_scale_.push_back(fx::dyadic_normalize(1000 + rng() % 30000, 20 + static_cast<int>(rng() % 4)));
  }
  h.q_scale_ = fx::dyadic_normalize(20000, 22);
  return h;
}

std::vector<double> run_head(const HeadCase& h, int exp2_bits, int out_frac) {
  const std::vector<int32_t> table = build_exp2_table(exp2_bits);
  const Dyadic c = fx::dyadic_mul(h.q_scale_, dyadic_from_double(1.0 / (std::log(2.0) * std::sqrt(h.head_dim_))));
  std::vector<int64_t> z(static_cast<size_t>(h.n_keys_)), acc(static_cast<size_t>(h.head_dim_));
  std::vector<uint32_t> p(static_cast<size_t>(h.n_keys_));
  std::vector<int32_t> out(static_cast<size_t>(h.head_dim_));
  fx::attention_head(h.q_.data(), c, h.k_.data(), h.k_scale_.data(), h.v_.data(), h.v_scale_.data(),
                     h.n_keys_, h.head_dim_, 1, h.head_dim_, table.data(), exp2_bits, out_frac,
                     z.data(), p.data(), acc.data(), out.data());
  std::vector<double> r;
  for (int32_t o : out) r.push_back(std::ldexp(static_cast<double>(o), -out_frac));
  return r;
}

std::vector<double> reference_head(const HeadCase& h) {
  const int64_t hd = h.head_dim_;
  std::vector<long double> s(static_cast<size_t>(h.n_keys_));
  long double m = -1e300L;
  for (int64_t j = 0; j < h.n_keys_; ++j) {
    long double dot = 0;
    for (int64_t d = 0; d < hd; ++d) {
      dot += static_cast<long double>(h.q_[static_cast<size_t>(d)]) * real_of(h.q_scale_) *
             h.k_[static_cast<size_t>(j * hd + d)] * real_of(h.k_scale_[static_cast<size_t>(j)]);
    }
    s[static_cast<size_t>(j)] = dot / std::sqrt(static_cast<long double>(hd));
    m = std::max(m, s[static_cast<size_t>(j)]);
  }
  long double sum = 0;
  for (auto& x : s) sum += (x = std::exp(x - m));
  std::vector<double> out(static_cast<size_t>(hd), 0.0);
  for (int64_t d = 0; d < hd; ++d) {
    long double o = 0;
    for (int64_t j = 0; j < h.n_keys_; ++j) {
      o += s[static_cast<size_t>(j)] / sum * h.v_[static_cast<size_t>(j * hd + d)] * real_of(h.v_scale_[static_cast<size_t>(j)]);
    }
    out[static_cast<size_t>(d)] = static_cast<double>(o);
  }
  return out;
}

TEST(FixedPoint, AttentionHeadMatchesDoubleSoftmax) {
  for (int64_t n_keys : {1, 7, 100, 1000}) {
    for (int32_t qmax : {127, 7}) {
      const HeadCase h = random_head(n_keys, 64, static_cast<uint64_t>(n_keys) * 131 + qmax, qmax);
      const std::vector<double> got = run_head(h, 7, 16);
      const std::vector<double> ref = reference_head(h);
      double vmax = 0.0;
      for (int64_t j = 0; j < n_keys; ++j) vmax = std::max(vmax, qmax * real_of(h.v_scale_[static_cast<size_t>(j)]));
      // Score rounding (2^-16 in log2 units and the 2^-15 scale roundings, relative to
      // scores of at most ~8: about 1e-3 of a probability) and the exp2 error (4e-6 relative
      // at T = 7); the probabilities' own Q0.30 rounding is below 1e-9 per key: the output
      // moves by at most 2e-3 of the largest value, plus 1 LSB.
      const double bound = 2e-3 * vmax + std::ldexp(1.0, -16);
      for (size_t d = 0; d < got.size(); ++d) {
        ASSERT_LE(std::fabs(got[d] - ref[d]), bound) << "n_keys " << n_keys << " d " << d;
      }
    }
  }
}

TEST(FixedPoint, AttentionEdgeCases) {
  // All-zero keys and values: uniform attention over zeros gives zeros.
  HeadCase h = random_head(16, 32, 9, 127);
  std::fill(h.v_.begin(), h.v_.end(), 0);
  for (auto& s : h.v_scale_) s = {};
  for (double o : run_head(h, 7, 16)) EXPECT_EQ(o, 0.0);

  // Extreme score: one key's huge scale saturates its score; it takes all the weight.
  h = random_head(16, 32, 10, 127);
  for (int64_t d = 0; d < 32; ++d) h.k_[static_cast<size_t>(5 * 32 + d)] = h.q_[static_cast<size_t>(d)] >= 0 ? 127 : -127;
  h.k_scale_[5] = fx::dyadic_normalize(1, -40);  // 2^40
  const std::vector<double> got = run_head(h, 7, 16);
  for (int64_t d = 0; d < 32; ++d) {
    EXPECT_NEAR(got[static_cast<size_t>(d)], h.v_[static_cast<size_t>(5 * 32 + d)] * real_of(h.v_scale_[5]), 1e-4);
  }

  // Maximal sequence length (Llama 3.1's 131,072 positions) with equal scores: the exact answer
  // is the mean of V; no accumulator overflows (docs: accumulator bounds).
  const int64_t n = 131072;
  const int64_t hd = 8;
  HeadCase big;
  big.n_keys_ = n;
  big.head_dim_ = hd;
  big.q_.assign(hd, 0);
  big.k_.assign(static_cast<size_t>(n * hd), 127);
  big.v_.assign(static_cast<size_t>(n * hd), 127);
  for (int64_t j = 0; j < n; ++j) big.v_[static_cast<size_t>(j * hd)] = j % 2 ? 127 : -127;
  big.k_scale_.assign(static_cast<size_t>(n), fx::dyadic_normalize(1, 0));
  big.v_scale_.assign(static_cast<size_t>(n), fx::dyadic_normalize(1, 0));
  big.q_scale_ = fx::dyadic_normalize(1, 0);
  const std::vector<double> mean = run_head(big, 7, 16);
  EXPECT_NEAR(mean[0], 0.0, 1e-3);
  for (int64_t d = 1; d < hd; ++d) EXPECT_NEAR(mean[static_cast<size_t>(d)], 127.0, 127.0 * 1e-3);
}

// ---------------------------------------------------------------------------------------------
// GEMV: every kernel equals a naive int64 loop over the stored values, bit for bit.

// A seeded matrix of `bits`-bit values and its values in plain int8 ([rows][cols]).
struct RandomMatrix {
  QuantizedMatrix m_;
  std::vector<int8_t> values_;
};

RandomMatrix random_matrix(int64_t rows, int64_t cols, int64_t group, int bits, uint64_t seed,
                           bool extreme) {
  std::mt19937_64 rng(seed);
  RandomMatrix out;
  QuantizedMatrix& m = out.m_;
  m.rows_ = rows;
  m.cols_ = cols;
  m.group_size_ = group;
  m.groups_per_row_ = (cols + group - 1) / group;
  const int qmax = (1 << (bits - 1)) - 1;
  out.values_.resize(static_cast<size_t>(rows * cols));
  for (auto& v : out.values_) {
    v = static_cast<int8_t>(extreme ? ((rng() & 1) ? qmax : -qmax)
                                    : static_cast<int>(rng() % (2 * qmax + 1)) - qmax);
  }
  m.scale_m_.resize(static_cast<size_t>(rows * m.groups_per_row_));
  for (auto& s : m.scale_m_) s = static_cast<uint16_t>(extreme ? 32767 : rng() % 32768);
  m.row_exp_.assign(static_cast<size_t>(rows), 0);
  m.bits_.assign(static_cast<size_t>(rows * m.groups_per_row_), static_cast<uint8_t>(bits));
  pack_values(m, out.values_.data());
  return out;
}

// The GEMV contract evaluated directly on the plain values.
std::vector<int64_t> naive_gemv(const RandomMatrix& rm, const std::vector<int8_t>& x) {
  const QuantizedMatrix& m = rm.m_;
  std::vector<int64_t> out(static_cast<size_t>(m.rows_), 0);
  for (int64_t r = 0; r < m.rows_; ++r) {
    for (int64_t c = 0; c < m.cols_; ++c) {
      out[static_cast<size_t>(r)] += static_cast<int64_t>(rm.values_[static_cast<size_t>(r * m.cols_ + c)]) *
                                     x[static_cast<size_t>(c)] *
                                     m.scale_m_[static_cast<size_t>(r * m.groups_per_row_ + c / m.group_size_)];
    }
  }
  return out;
}

TEST(Gemv, KernelsAreBitExact) {
  struct Shape {
    int64_t rows_, cols_, group_;
    int bits_;
    int storage_;
  };
  const std::vector<Shape> shapes = {
      {37, 172, 172, 8, 8},  // per-channel, odd sizes (tiny-mha's d_ff)
      {64, 172, 32, 8, 8},   // groups with a partial last group
      {33, 256, 256, 4, 4},  // per-channel, packed
      {40, 512, 32, 4, 4},   // group 32, packed
      {24, 384, 128, 3, 3},  // group 128, packed 3-bit
      {40, 512, 32, 3, 3},   // group 32, packed 3-bit (hc1-mix FFN)
      {40, 512, 32, 6, 6},   // group 32, packed 6-bit (hc1-mix attention)
      {17, 256, 256, 6, 6},  // per-channel 6-bit
      {24, 384, 128, 5, 6},  // 5-bit values in the 6-bit container
      {16, 96, 32, 4, 8},    // 4-bit but cols not a multiple of 64: int8 path
      {9, 2048, 2048, 2, 3},
      {13, 200, 200, 8, 8},  // per-channel int8 with a partial 64-column tail
      {7, 1024, 128, 6, 6},  // 6-bit, group 128 (two blocks per group)
      // Group 32 with an odd number of blocks and several widenings of the int32 lanes in the
      // VNNI kernel (every 2 blocks per accumulator at 6 bits, 8 at 4, 16 at 3).
      {5, 64 * 37, 32, 6, 6},
      {3, 64 * 35, 32, 4, 4},
      {3, 64 * 67, 32, 3, 3},
      {6, 192, 192, 8, 8},  // per-channel int8, 128 + 64 columns (the two-step loop and one step)
  };
  std::mt19937_64 rng(11);
  for (const Shape& s : shapes) {
    for (bool extreme : {false, true}) {
      const RandomMatrix rm = random_matrix(s.rows_, s.cols_, s.group_, s.bits_, rng(), extreme);
      EXPECT_EQ(rm.m_.storage_bits_, s.storage_) << s.rows_ << "x" << s.cols_;
      EXPECT_EQ(unpack_values(rm.m_), rm.values_);
      std::vector<int8_t> x(static_cast<size_t>(s.cols_));
      for (auto& v : x) v = static_cast<int8_t>(extreme ? ((rng() & 1) ? 127 : -127) : static_cast<int>(rng() % 255) - 127);
      const std::vector<int64_t> want = naive_gemv(rm, x);
      for (GemvKernel k : {GemvKernel::kPortable, GemvKernel::kAvx2, GemvKernel::kAvx512Vnni, GemvKernel::kAuto}) {
        if (!gemv_kernel_available(k)) continue;
        std::vector<int64_t> got(static_cast<size_t>(s.rows_));
        gemv(rm.m_, x.data(), got.data(), k);
        ASSERT_EQ(got, want) << "kernel " << gemv_kernel_name(k) << " shape " << s.rows_ << "x"
                             << s.cols_ << " group " << s.group_ << " bits " << s.bits_;
      }
    }
  }
}

TEST(Gemv, PackedLayout) {
  RandomMatrix rm = random_matrix(2, 128, 32, 4, 12, false);
  const QuantizedMatrix& m = rm.m_;
  ASSERT_EQ(m.packed_.size(), 128u);
  // Row 1, block 1, byte 5: column 64 + 5 in the low nibble, column 64 + 32 + 5 in the high.
  const uint8_t b = m.packed_[64 + 32 + 5];
  EXPECT_EQ((b & 0x0F) - 8, rm.values_[128 + 64 + 5]);
  EXPECT_EQ((b >> 4) - 8, rm.values_[128 + 64 + 32 + 5]);
  rm.m_.bits_[0] = 5;
  pack_values(rm.m_, rm.values_.data());
  EXPECT_EQ(rm.m_.storage_bits_, 6);
  EXPECT_EQ(rm.m_.packed_.size(), 2u * 96u);
}

}  // namespace
}  // namespace hw
