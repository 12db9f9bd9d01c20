// Tests of the quantizer (model/quantizer.h): the integer format (ranges, row exponents,
// mantissa widths), the calibration rule (absmax maps to qmax without clip search; clip search
// never increases the squared error), partial groups, all-zero rows, group promotion, gains,
// biases, determinism, and errors naming the tensor or profile key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "common/error.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw {
namespace {

using ::testing::HasSubstr;

FloatTensor gaussian(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  FloatTensor t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.data_.resize(static_cast<size_t>(rows * cols));
  for (float& v : t.data_) v = d(rng);
  return t;
}

double sq_error(const FloatTensor& w, const QuantizedMatrix& q) {
  double e = 0.0;
  for (int64_t r = 0; r < w.rows_; ++r) {
    for (int64_t c = 0; c < w.cols_; ++c) e += std::pow(w.row(r)[c] - q.real(r, c), 2);
  }
  return e;
}

TEST(Quantizer, AbsmaxFormatWithoutClipSearch) {
  const FloatTensor w = gaussian(24, 172, 1);
  for (int bits : {2, 3, 4, 6, 8}) {
    for (const char* gran : {"channel", "group"}) {
      const NumericsProfile p = load_numerics_profile(
          "w8a8", {std::string("numerics.weights.granularity=") + gran, "numerics.weights.group_size=32",
                   "numerics.weights.clip_search=false"});
      const QuantizedMatrix q = quantize_matrix(w, bits, p, "t");
      const int qmax = (1 << (bits - 1)) - 1;
      EXPECT_EQ(q.groups_per_row_, p.group_scales_ ? 6 : 1);  // 172 = 5 * 32 + 12
      for (int64_t r = 0; r < q.rows_; ++r) {
        uint16_t m_max = 0;
        for (int64_t g = 0; g < q.groups_per_row_; ++g) {
          const int64_t c0 = g * q.group_size_;
          const int64_t n = std::min(q.group_size_, q.cols_ - c0);
          const uint16_t m = q.scale_m_[static_cast<size_t>(r * q.groups_per_row_ + g)];
          m_max = std::max(m_max, m);
          const double step = m * std::ldexp(1.0, -q.row_exp_[static_cast<size_t>(r)]);
          double amax = 0.0;
          int peak = 0;
          for (int64_t i = 0; i < n; ++i) {
            const double x = w.row(r)[c0 + i];
            const int v = q.value(r, c0 + i);
            ASSERT_LE(std::abs(v), qmax);
            // Rounded against the represented step: within half a step, except where the
            // largest value exceeds qmax steps by the mantissa's rounding (2^-14 relative).
            ASSERT_LE(std::fabs(x - v * step), 0.5 * step + std::fabs(x) * std::ldexp(1.0, -13));
            if (std::fabs(x) > amax) {
              amax = std::fabs(x);
              peak = std::abs(v);
            }
          }
          EXPECT_EQ(peak, qmax) << "the group's largest magnitude maps to qmax";
        }
        // The row's largest mantissa uses all 15 bits (the shared exponent is chosen for it).
        EXPECT_GE(m_max, 1 << 14);
        EXPECT_LT(m_max, 1 << 15);
      }
    }
  }
}

TEST(Quantizer, ClipSearchNeverIncreasesError) {
  const FloatTensor w = gaussian(64, 256, 2);
  for (int bits : {2, 3, 4}) {
    const NumericsProfile on = load_numerics_profile("w4a8");
    const NumericsProfile off = load_numerics_profile("w4a8", {"numerics.weights.clip_search=false"});
    const double e_on = sq_error(w, quantize_matrix(w, bits, on, "t"));
    const double e_off = sq_error(w, quantize_matrix(w, bits, off, "t"));
    EXPECT_LT(e_on, e_off) << bits << " bits";
  }
}

TEST(Quantizer, ScaleBitsLimitMantissas) {
  const FloatTensor w = gaussian(8, 256, 3);
  const NumericsProfile p = load_numerics_profile("w4a8");  // scale_bits 8, group 32
  const QuantizedMatrix q = quantize_matrix(w, 4, p, "t");
  for (uint16_t m : q.scale_m_) {
    EXPECT_GE(m, 1);
    EXPECT_LT(m, 256);
  }
  EXPECT_EQ(q.storage_bits_, 4);  // 4-bit, 256 columns, group 32: packed two per byte
}

TEST(Quantizer, AllZeroRowsAndGroups) {
  FloatTensor w = gaussian(4, 64, 4);
  for (int64_t c = 0; c < 64; ++c) w.data_[static_cast<size_t>(64 + c)] = 0.0f;  // row 1
  for (int64_t c = 0; c < 32; ++c) w.data_[static_cast<size_t>(128 + c)] = 0.0f;  // row 2, group 0
  const NumericsProfile p = load_numerics_profile("w3a8");
  const QuantizedMatrix q = quantize_matrix(w, 3, p, "t");
  EXPECT_EQ(q.row_exp_[1], 0);
  EXPECT_EQ(q.scale_m_[2], 0);
  EXPECT_EQ(q.scale_m_[3], 0);
  EXPECT_EQ(q.scale_m_[4], 0);
  EXPECT_GT(q.scale_m_[5], 0);
  for (int64_t c = 0; c < 64; ++c) EXPECT_EQ(q.value(1, c), 0);
}

TEST(Quantizer, PromotionPicksTheWorstGroups) {
  FloatTensor w = gaussian(16, 128, 5);
  // Four groups with a large outlier: their error at 3 bits is the largest.
  for (int k = 0; k < 4; ++k) w.data_[static_cast<size_t>(k * 4 * 128 + 32 * k + 3)] = 40.0f;
  const NumericsProfile p = load_numerics_profile(
      "w3a8", {"numerics.weights.promote_fraction=0.0625", "numerics.weights.promote_bits=6"});
  const QuantizedMatrix q = quantize_matrix(w, 3, p, "t");
  ASSERT_EQ(q.bits_.size(), 64u);  // 16 rows x 4 groups; 0.0625 of 64 = 4 promoted
  int promoted = 0;
  for (size_t gi = 0; gi < q.bits_.size(); ++gi) {
    if (q.bits_[gi] == 6) {
      ++promoted;
      const int64_t r = static_cast<int64_t>(gi) / 4;
      const int64_t g = static_cast<int64_t>(gi) % 4;
      EXPECT_EQ(r % 4, 0);
      EXPECT_EQ(g, r / 4);
    } else {
      EXPECT_EQ(q.bits_[gi], 3);
    }
  }
  EXPECT_EQ(promoted, 4);
  EXPECT_EQ(q.value_bits(), 16 * 128 * 3 + 4 * 32 * 3);
  EXPECT_EQ(q.storage_bits_, 6);  // a 6-bit group puts the matrix in the 6-bit container
}

TEST(Quantizer, GainsAndBiases) {
  FloatTensor g;
  g.rows_ = 1;
  g.cols_ = 5;
  g.data_ = {1.0f, 0.5f, -2.75f, 0.001f, 0.0f};
  const QuantizedGain q = quantize_gain(g, "norm");
  int max_abs = 0;
  for (size_t i = 0; i < g.data_.size(); ++i) {
    max_abs = std::max(max_abs, std::abs(static_cast<int>(q.values_[i])));
    EXPECT_NEAR(std::ldexp(static_cast<double>(q.values_[i]), -q.frac_bits_), g.data_[i],
                std::ldexp(0.5, -q.frac_bits_));
  }
  EXPECT_GE(max_abs, 1 << 14);  // the largest gain uses 15 bits
  EXPECT_LT(max_abs, 1 << 15);
  FloatTensor b = g;
  const std::vector<int32_t> qb = quantize_bias(b, 16, "bias");
  EXPECT_EQ(qb[0], 65536);
  EXPECT_EQ(qb[2], -180224);
  b.data_[0] = 1e30f;
  EXPECT_EQ(quantize_bias(b, 16, "bias")[0], 2147483647);  // saturates
  g.data_[1] = NAN;
  EXPECT_THROW(quantize_gain(g, "norm"), Error);
}

TEST(Quantizer, ModelIsDeterministicAndChecksShapes) {
  ModelConfig c = load_model_config("llama-3.2-1b");
  c.name_ = "small";
  c.n_layers_ = 2;
  c.d_model_ = 64;
  c.n_heads_ = 4;
  c.n_kv_heads_ = 2;
  c.head_dim_ = 16;
  c.d_ff_ = 96;
  c.vocab_ = 50;
  c.max_positions_ = 32;
  const ModelWeights w = synthetic_weights(c, 3);
  const NumericsProfile p = load_numerics_profile("hc1-mix");
  const QuantizedModel a = quantize_model(w, p);
  const QuantizedModel b = quantize_model(w, p);
  EXPECT_EQ(a.tok_embd_.packed_, b.tok_embd_.packed_);
  EXPECT_EQ(a.layers_[1].w_down_.packed_, b.layers_[1].w_down_.packed_);
  EXPECT_EQ(a.layers_[1].w_down_.scale_m_, b.layers_[1].w_down_.scale_m_);
  EXPECT_EQ(a.layers_[0].w_up_.bits_[0], 3);
  EXPECT_EQ(a.layers_[0].wq_.bits_[0], 3);
  EXPECT_EQ(a.layers_[0].w_down_.bits_[0], 6);
  EXPECT_TRUE(a.output_.packed_.empty());  // tied: one matrix
  EXPECT_EQ(&a.lm_head(), &a.tok_embd_);
  EXPECT_EQ(a.tok_embd_.bits_[0], 6);       // at the lm_head width

  auto error_of = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  ModelWeights bad = w;
  bad.layers_[1].w_up_.cols_ = 63;
  EXPECT_THAT(error_of([&] { quantize_model(bad, p); }), HasSubstr("blk.1.ffn_up"));
  const NumericsProfile wide = load_numerics_profile("w4a8", {"numerics.weights.wide_layers=[5]"});
  EXPECT_THAT(error_of([&] { quantize_model(w, wide); }),
              HasSubstr("numerics.weights.wide_layers"));
}

}  // namespace
}  // namespace hw
