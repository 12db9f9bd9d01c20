// The CUDA chip-numerics kernels reorder the golden model's work in two ways; both must leave
// the bits unchanged, and both are checked here on the CPU with the golden model's own blocks
// and fixed_point.h pieces:
//  1. prefill runs a batch of positions through each block before the next block (all tokens'
//     attn_norm, then all qkv, ...; all KV writes of a layer before its attentions), where the
//     golden model runs one position through all blocks at a time;
//  2. each reduction (max |x|, sums of squares and of probabilities, the minimum exponent, the
//     value accumulators) is split over threads and combined in another order.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "gpu_test_util.h"
#include "model/fixed_point.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"

namespace hw::gpu {
namespace {

class Schedule : public ::testing::TestWithParam<std::string> {};

// Batched prefill in the GPU kernels' order equals the golden model's step() bit for bit.
TEST_P(Schedule, BlockMajorPrefillEqualsTokenMajor) {
  const ModelWeights w = test::variant_model(GetParam());
  const QuantizedModel qm = quantize_model(w, load_numerics_profile("hc1-mix"));
  const std::vector<int32_t> tokens = test::seeded_tokens(w.config_.vocab_, 12, 4);
  GoldenModel golden(qm, 32);
  std::vector<std::vector<int32_t>> want;
  for (int32_t t : tokens) want.push_back(golden.step({t}));

  const GoldenModel& g = golden;
  KvCache cache = g.make_cache();
  std::vector<TokenState> s(tokens.size(), g.make_state());
  for (size_t i = 0; i < tokens.size(); ++i) g.embed(tokens[i], static_cast<int64_t>(i), s[i]);
  for (int64_t l = 0; l < w.config_.n_layers_; ++l) {
    for (auto& x : s) g.attn_norm(l, x);
    for (auto& x : s) g.qkv(l, x);
    for (auto& x : s) g.rope(l, x);
    for (auto& x : s) g.kv_write(l, x, cache);
    // Later positions are already in the cache: causality comes from n_keys = position + 1.
    for (auto& x : s) g.attention(l, x, cache);
    for (auto& x : s) g.o_proj(l, x);
    for (auto& x : s) g.ffn_norm(l, x);
    for (auto& x : s) g.ffn(l, x);
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    g.final_norm(s[i]);
    g.lm_head(s[i]);
    EXPECT_EQ(s[i].logits_, want[i]) << "position " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, Schedule,
                         ::testing::Values("llama", "qwen2", "qwen3", "llama3-scaled-tied"));

// Combines per-thread partial results of `n` items split over `threads` strided threads, in
// reverse thread order (a different order from the sequential loop).
template <typename T, typename Op>
T strided_reduce(int64_t n, int threads, T identity, Op item, T (*combine)(T, T)) {
  std::vector<T> partial(static_cast<size_t>(threads), identity);
  for (int th = 0; th < threads; ++th) {
    for (int64_t i = th; i < n; i += threads) partial[static_cast<size_t>(th)] = combine(partial[static_cast<size_t>(th)], item(i));
  }
  T r = identity;
  for (int th = threads - 1; th >= 0; --th) r = combine(r, partial[static_cast<size_t>(th)]);
  return r;
}
uint64_t max_u64(uint64_t a, uint64_t b) { return std::max(a, b); }
uint64_t add_u64(uint64_t a, uint64_t b) { return a + b; }
int64_t max_i64(int64_t a, int64_t b) { return std::max(a, b); }
int32_t min_i32(int32_t a, int32_t b) { return std::min(a, b); }

// The attention kernel's decomposition (attention_kernel in chip_model.cu): scores, their max,
// the probability sum, the minimum value exponent, the weights and one value accumulator per
// output element, each loop split over threads, equals fx::attention_head.
TEST(ScheduleArithmetic, SplitAttentionEqualsAttentionHead) {
  const NumericsTables tables = build_numerics_tables(test::oracle_model("tiny-gqa-s").config_,
                                                      load_numerics_profile("w8a8"));
  const int exp2_bits = load_numerics_profile("w8a8").exp2_table_bits_;
  std::mt19937 gen(9);
  for (const int64_t n_keys : {1, 2, 33, 257, 1000}) {
    for (const int threads : {32, 96, 256}) {
      const int64_t hd = 64;
      std::vector<int8_t> q(hd), k(static_cast<size_t>(n_keys * hd)), v(k.size());
      std::vector<fx::Dyadic> ks(static_cast<size_t>(n_keys)), vs(ks.size());
      for (auto& x : q) x = static_cast<int8_t>(static_cast<int>(gen() % 255) - 127);
      for (auto& x : k) x = static_cast<int8_t>(static_cast<int>(gen() % 255) - 127);
      for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(gen() % 255) - 127);
      for (size_t j = 0; j < ks.size(); ++j) {
        ks[j] = {static_cast<int32_t>(16384 + gen() % 16384), static_cast<int32_t>(20 + gen() % 8)};
        // Some all-zero value rows (scale 0) and a spread of exponents.
        vs[j] = gen() % 7 == 0 ? fx::Dyadic{} : fx::Dyadic{static_cast<int32_t>(16384 + gen() % 16384), static_cast<int32_t>(18 + gen() % 10)};
      }
      const fx::Dyadic qc{static_cast<int32_t>(16384 + gen() % 16384), 20};
      std::vector<int64_t> z(static_cast<size_t>(n_keys)), acc(hd);
      std::vector<uint32_t> p(static_cast<size_t>(n_keys));
      std::vector<int32_t> want(hd);
      fx::attention_head(q.data(), qc, k.data(), ks.data(), v.data(), vs.data(), n_keys, hd, 1, hd,
                         tables.exp2_.data(), exp2_bits, 16, z.data(), p.data(), acc.data(),
                         want.data());

      std::vector<int64_t> zz(static_cast<size_t>(n_keys));
      const int64_t z_max = strided_reduce<int64_t>(n_keys, threads, -fx::kInt32Max, [&](int64_t j) {
        zz[j] = fx::attention_score(fx::dot_i8(q.data(), k.data() + j * hd, hd), ks[j], qc);
        return zz[j];
      }, max_i64);
      std::vector<uint32_t> pp(static_cast<size_t>(n_keys));
      const uint64_t sum = strided_reduce<uint64_t>(n_keys, threads, 0, [&](int64_t j) {
        pp[j] = fx::exp2_neg(z_max - zz[j], tables.exp2_.data(), exp2_bits);
        return static_cast<uint64_t>(pp[j]);
      }, add_u64);
      const fx::Dyadic inv = fx::dyadic_ratio(1, sum);
      const int32_t e_min = strided_reduce<int32_t>(n_keys, threads, fx::kInt32Max, [&](int64_t j) {
        pp[j] = fx::attention_prob(pp[j], inv);
        return fx::attention_uses(pp[j], vs[j]) ? vs[j].e_ : fx::kInt32Max;
      }, min_i32);
      std::vector<int32_t> got(hd, 0);
      if (e_min != fx::kInt32Max) {
        for (int64_t d = 0; d < hd; ++d) {
          int64_t a = 0;
          // Keys in reverse: the accumulator's order differs from attention_head's.
          for (int64_t j = n_keys - 1; j >= 0; --j) a += fx::attention_weight(pp[j], vs[j], e_min) * v[j * hd + d];
          got[d] = fx::attention_out(a, e_min, 16);
        }
      }
      EXPECT_EQ(got, want) << n_keys << " keys, " << threads << " threads";
    }
  }
}

// RMSNorm + quantization as rms_quantize_kernel computes it (three strided reductions) equals
// fx::rms_norm_quantize, including inputs that need the pre-shift and an all-zero input.
TEST(ScheduleArithmetic, SplitRmsNormQuantizeEqualsGolden) {
  const ModelConfig c = test::oracle_model("tiny-gqa-s").config_;
  const NumericsProfile prof = load_numerics_profile("w8a8");
  const NumericsTables tables = build_numerics_tables(c, prof);
  std::mt19937 gen(21);
  for (const int32_t range : {0, 1000, 1 << 20, 1 << 30}) {
    for (const int threads : {32, 1024}) {
      const int64_t n = c.d_model_;
      std::vector<int32_t> x(static_cast<size_t>(n));
      std::vector<int16_t> gain(static_cast<size_t>(n));
      for (auto& v : x) v = range ? static_cast<int32_t>(static_cast<int64_t>(gen() % (2u * range)) - range) : 0;
      for (auto& v : gain) v = static_cast<int16_t>(static_cast<int>(gen() % 30000) - 15000);
      std::vector<int64_t> scratch(static_cast<size_t>(n));
      std::vector<int8_t> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
      const fx::Dyadic want_s = fx::rms_norm_quantize(
          x.data(), gain.data(), 14, n, tables.model_norm_, tables.rsqrt_.data(),
          prof.rsqrt_table_bits_, prof.newton_steps_, 127, scratch.data(), want.data());

      const uint64_t amax = strided_reduce<uint64_t>(n, threads, 0, [&](int64_t i) { return fx::abs_u64(x[i]); }, max_u64);
      const int sh = fx::norm_shift(amax);
      const uint64_t ss = strided_reduce<uint64_t>(n, threads, 0, [&](int64_t i) { return fx::norm_square(x[i], sh); }, add_u64);
      const fx::Dyadic inv = fx::inv_rms_finish(ss, sh, tables.model_norm_, tables.rsqrt_.data(),
                                                prof.rsqrt_table_bits_, prof.newton_steps_);
      const uint64_t ymax = strided_reduce<uint64_t>(n, threads, 0, [&](int64_t i) {
        return fx::abs_u64(static_cast<int64_t>(x[i]) * gain[i]);
      }, max_u64);
      fx::Dyadic s;
      if (ymax == 0) {
        std::fill(got.begin(), got.end(), 0);
      } else {
        const fx::Dyadic q = fx::quantize_scale(ymax, 127);
        for (int64_t i = n - 1; i >= 0; --i) got[i] = fx::quantize_value(static_cast<int64_t>(x[i]) * gain[i], q, 127);
        s = {q.m_, q.e_ + tables.model_norm_.frac_bits_ + 14};
      }
      const fx::Dyadic got_s = fx::dyadic_mul(s, inv);
      EXPECT_EQ(got, want) << "range " << range;
      EXPECT_EQ(got_s.m_, want_s.m_);
      EXPECT_EQ(got_s.e_, want_s.e_);
    }
  }
}

}  // namespace
}  // namespace hw::gpu
