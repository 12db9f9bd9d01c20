// Host-side parts of the CUDA reference that need no GPU: launch geometry, the device layouts
// of chip and float matrices, F16/BF16 rounding, and the device kernel's accumulation order
// (16-value chunks times their group mantissa) against the CPU GEMV.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gpu_ref/launch.h"
#include "gpu_ref/layout.h"
#include "gpu_test_util.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"

namespace hw::gpu {
namespace {

TEST(GpuLaunch, MatvecCoversEveryRowAndTokenOnce) {
  for (const int64_t rows : {1, 7, 8, 9, 4096, 128256}) {
    for (const int64_t tokens : {1, 7, 8, 9, 64}) {
      const Launch L = matvec_launch(rows, tokens);
      EXPECT_EQ(L.block_, static_cast<unsigned>(kMatvecWarpsPerBlock * kWarpSize));
      // Every row gets one warp, no block is wholly idle.
      EXPECT_GE(int64_t{L.grid_x_} * kMatvecWarpsPerBlock, rows);
      EXPECT_LT((int64_t{L.grid_x_} - 1) * kMatvecWarpsPerBlock, rows);
      EXPECT_GE(int64_t{L.grid_y_} * kTokenTile, tokens);
      EXPECT_LT((int64_t{L.grid_y_} - 1) * kTokenTile, tokens);
    }
  }
  EXPECT_THROW(matvec_launch(0, 1), Error);
  EXPECT_THROW(matvec_launch(16, 0), Error);
  EXPECT_THROW(matvec_launch(16, kTokenTile * (kMaxGridYZ + 1)), Error);
}

// q, k and v (or gate and up) in one launch: each matrix's row blocks follow the previous
// matrix's, every row of every matrix is covered by exactly one warp.
TEST(GpuLaunch, GroupedProductsPartitionTheGrid) {
  const std::vector<int64_t> rows = {4096, 1024, 1024};
  const GroupLaunch g = group_matvec_launch(rows, 3);
  ASSERT_EQ(g.first_block_.size(), 4u);
  EXPECT_EQ(g.first_block_[0], 0);
  EXPECT_EQ(g.first_block_[1], 4096 / kMatvecWarpsPerBlock);
  EXPECT_EQ(g.first_block_[3], int64_t{g.launch_.grid_x_});
  EXPECT_EQ(g.launch_.grid_y_, 1u);
  // Rows not a multiple of the warps per block: the last block of a matrix is partly idle.
  const GroupLaunch h = group_matvec_launch({13, 5}, 9);
  EXPECT_EQ(h.first_block_[1], 2);
  EXPECT_EQ(h.first_block_[2], 3);
  EXPECT_EQ(h.launch_.grid_y_, 2u);
  for (int64_t b = 0; b < h.first_block_[2]; ++b) {
    const int j = b >= h.first_block_[1] ? 1 : 0;
    const int64_t rows_j = j == 0 ? 13 : 5;
    const int64_t first_row = (b - h.first_block_[static_cast<size_t>(j)]) * kMatvecWarpsPerBlock;
    EXPECT_LT(first_row, rows_j);
  }
  EXPECT_THROW(group_matvec_launch({}, 1), Error);
}

TEST(GpuLaunch, ReductionBlocksAreWholeWarpsPowersOfTwo) {
  EXPECT_EQ(reduce_block_threads(1), 32);
  EXPECT_EQ(reduce_block_threads(32), 32);
  EXPECT_EQ(reduce_block_threads(33), 64);
  EXPECT_EQ(reduce_block_threads(128), 128);
  EXPECT_EQ(reduce_block_threads(4096), 1024);
  for (int64_t n = 1; n < 3000; n += 37) {
    const int t = reduce_block_threads(n);
    EXPECT_EQ(t & (t - 1), 0);
    EXPECT_EQ(t % kWarpSize, 0);
    EXPECT_LE(t, kMaxBlockThreads);
  }
  const Launch a = per_item_launch(5, 40, 128);
  EXPECT_EQ(a.grid_x_, 40u);
  EXPECT_EQ(a.grid_y_, 5u);
  EXPECT_EQ(a.block_, 128u);
  EXPECT_THROW(per_item_launch(kMaxGridYZ + 1, 1, 1), Error);
  const Launch e = elementwise_launch(3, 1000);
  EXPECT_EQ(e.grid_x_ * e.block_ >= 1000u, true);
  EXPECT_EQ(e.grid_y_, 3u);
}

TEST(GpuLaunch, TokenChunksPartitionTheBatch) {
  const auto c = token_chunks(130, 64);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], std::make_pair(int64_t{0}, int64_t{64}));
  EXPECT_EQ(c[2], std::make_pair(int64_t{128}, int64_t{130}));
  EXPECT_TRUE(token_chunks(0, 64).empty());
  EXPECT_THROW(token_chunks(5, 0), Error);
}

TEST(GpuLayout, PaddedStridesAreWhole16ByteVectors) {
  EXPECT_EQ(padded_stride(300, 1), 304);
  EXPECT_EQ(padded_stride(256, 1), 256);
  EXPECT_EQ(padded_stride(5, 4), 8);
  EXPECT_EQ(padded_stride(172, 2), 176);
  for (int64_t cols = 1; cols < 200; ++cols) {
    for (const int64_t eb : {1, 2, 4}) {
      const int64_t s = padded_stride(cols, eb);
      EXPECT_EQ((s * eb) % kVectorBytes, 0);
      EXPECT_GE(s, cols);
      EXPECT_LT(s - cols, kVectorBytes / eb);
    }
  }
}

TEST(GpuLayout, HalfRoundsToNearestEven) {
  EXPECT_EQ(float_to_half_bits(0.0f), 0x0000);
  EXPECT_EQ(float_to_half_bits(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half_bits(1.0f), 0x3C00);
  EXPECT_EQ(float_to_half_bits(-2.0f), 0xC000);
  EXPECT_EQ(float_to_half_bits(65504.0f), 0x7BFF);  // largest finite half
  EXPECT_EQ(float_to_half_bits(65520.0f), 0x7C00);  // the tie above it rounds to infinity
  EXPECT_EQ(float_to_half_bits(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_TRUE(std::isnan(half_bits_to_float(float_to_half_bits(std::nanf("")))));
  // 1 + 2^-11 is the tie between 1 and 1 + 2^-10: to even (1). 1 + 3 * 2^-11: up.
  EXPECT_EQ(float_to_half_bits(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(float_to_half_bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  // Subnormals: 2^-24 is the smallest; 2^-25 ties to 0; 3 * 2^-25 rounds to 2 * 2^-24.
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(float_to_half_bits(3 * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(half_bits_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(half_bits_to_float(0x03FF), 1023 * std::ldexp(1.0f, -24));
  // Every half round-trips exactly.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_bits_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_half_bits(f), h) << std::hex << h;
  }
}

TEST(GpuLayout, Bf16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16_bits(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16_bits(-1.0f), 0xBF80);
  // 1 + 2^-8 ties between 1 and 1 + 2^-7: to even; 1 + 3 * 2^-8 up.
  EXPECT_EQ(float_to_bf16_bits(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  EXPECT_EQ(float_to_bf16_bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
  EXPECT_TRUE(std::isnan(bf16_bits_to_float(float_to_bf16_bits(std::nanf("")))));
  EXPECT_EQ(bf16_bits_to_float(0x4049), 3.140625f);
  std::mt19937 gen(3);
  std::normal_distribution<float> n(0.0f, 2.0f);
  for (int i = 0; i < 10000; ++i) {
    const float v = n(gen);
    const float r = round_to_type(v, WeightType::kBF16);
    EXPECT_LE(std::fabs(r - v), std::ldexp(std::fabs(v), -8)) << v;  // half an ulp of 8 bits
    const float h = round_to_type(v, WeightType::kF16);
    EXPECT_LE(std::fabs(h - v), std::ldexp(std::fabs(v), -11) + std::ldexp(1.0f, -25)) << v;
  }
  EXPECT_EQ(round_to_type(0.1f, WeightType::kF32), 0.1f);
}

TEST(GpuLayout, WeightTypeNames) {
  EXPECT_EQ(parse_weight_type("BF16", "--weights"), WeightType::kBF16);
  EXPECT_EQ(parse_weight_type("f16", "--weights"), WeightType::kF16);
  EXPECT_STREQ(weight_type_name(WeightType::kF32), "f32");
  EXPECT_THROW(parse_weight_type("fp8", "--weights"), Error);
  EXPECT_EQ(weight_type_bytes(WeightType::kBF16), 2);
}

TEST(GpuLayout, FloatMatrixRowsArePaddedAndRounded) {
  FloatTensor t;
  t.rows_ = 3;
  t.cols_ = 13;
  for (int i = 0; i < 39; ++i) t.data_.push_back(0.1f * static_cast<float>(i) - 1.7f);
  for (const WeightType type : {WeightType::kF32, WeightType::kF16, WeightType::kBF16}) {
    const FloatMatrixLayout p = pack_float_matrix(t, type);
    EXPECT_EQ(p.row_stride_, type == WeightType::kF32 ? 16 : 16);
    EXPECT_EQ(static_cast<int64_t>(p.bytes_.size()), 3 * p.row_stride_ * weight_type_bytes(type));
    for (int64_t r = 0; r < 3; ++r) {
      for (int64_t c = 0; c < 13; ++c) {
        EXPECT_EQ(p.at(r, c), round_to_type(t.data_[static_cast<size_t>(r * 13 + c)], type));
      }
      for (int64_t c = 13; c < p.row_stride_; ++c) EXPECT_EQ(p.at(r, c), 0.0f);
    }
  }
}

TEST(GpuLayout, RoundWeightsRoundsMatricesOnly) {
  const ModelWeights& w = test::oracle_model("tiny-mha");
  const ModelWeights r = round_weights(w, WeightType::kBF16);
  EXPECT_EQ(r.layers_[0].wq_.data_[5], round_to_type(w.layers_[0].wq_.data_[5], WeightType::kBF16));
  EXPECT_EQ(r.tok_embd_.data_[7], round_to_type(w.tok_embd_.data_[7], WeightType::kBF16));
  // Norm gains stay F32, as the device keeps them.
  EXPECT_EQ(r.layers_[1].attn_norm_.data_, w.layers_[1].attn_norm_.data_);
  EXPECT_EQ(r.output_norm_.data_, w.output_norm_.data_);
  bool changed = false;
  for (size_t i = 0; i < w.layers_[0].w_up_.data_.size(); ++i) {
    changed |= r.layers_[0].w_up_.data_[i] != w.layers_[0].w_up_.data_[i];
  }
  EXPECT_TRUE(changed);
}

FloatTensor random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  FloatTensor t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.data_.resize(static_cast<size_t>(rows * cols));
  for (float& v : t.data_) v = u(gen);
  return t;
}

// The device's accumulation order (16-value chunks times the chunk's group mantissa, or whole
// groups when a chunk would straddle two) gives the CPU GEMV's bits, for per-channel and
// group scales, widths 3..8 and rows that are not a multiple of 16 long.
TEST(GpuLayout, DeviceOrderGemvEqualsCpuGemv) {
  for (const char* profile_name : {"w8a8", "w4a8", "hc1-mix"}) {
    const NumericsProfile profile = load_numerics_profile(profile_name);
    for (const int64_t cols : {64, 300, 512}) {
      for (const int bits : {3, 4, 8}) {
        const QuantizedMatrix w = quantize_matrix(random_matrix(37, cols, 5u + bits), bits, profile, "w");
        const ChipMatrixLayout p = pack_chip_matrix(w);
        EXPECT_EQ(p.row_stride_ % 16, 0);
        EXPECT_EQ(p.chunked_, w.groups_per_row_ == 1 || w.group_size_ % 16 == 0);
        for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(p.values_[static_cast<size_t>(2 * p.row_stride_ + c)], w.value(2, c));
        for (int64_t c = cols; c < p.row_stride_; ++c) EXPECT_EQ(p.values_[static_cast<size_t>(c)], 0);
        std::vector<int8_t> x(static_cast<size_t>(p.row_stride_));
        std::mt19937 gen(17);
        // Garbage past cols: the zero padding of the weights must cancel it.
        for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(gen() % 255) - 127);
        std::vector<int64_t> cpu(37), dev(37, -1);
        gemv(w, x.data(), cpu.data(), GemvKernel::kPortable);
        gemv_device_order(p, x.data(), dev.data());
        EXPECT_EQ(cpu, dev) << profile_name << " cols " << cols << " bits " << bits;
      }
    }
  }
}

// A group size that is not a multiple of 16 takes the per-group path and still matches.
TEST(GpuLayout, UnchunkedGroupsMatch) {
  ChipMatrixLayout p;
  p.rows_ = 2;
  p.cols_ = 40;
  p.row_stride_ = padded_stride(40, 1);
  p.group_size_ = 20;
  p.groups_per_row_ = 2;
  p.chunked_ = false;
  p.values_.assign(static_cast<size_t>(2 * p.row_stride_), 0);
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t c = 0; c < 40; ++c) p.values_[static_cast<size_t>(r * p.row_stride_ + c)] = static_cast<int8_t>((r + 1) * (c - 20));
  }
  p.scale_m_ = {3, 5, 7, 11};
  p.row_exp_ = {0, 0};
  std::vector<int8_t> x(static_cast<size_t>(p.row_stride_), 2);
  std::vector<int64_t> acc(2);
  gemv_device_order(p, x.data(), acc.data());
  int64_t want0 = 0, want1 = 0;
  for (int64_t c = 0; c < 40; ++c) {
    want0 += (c - 20) * 2 * (c < 20 ? 3 : 5);
    want1 += 2 * (c - 20) * 2 * (c < 20 ? 7 : 11);
  }
  EXPECT_EQ(acc[0], want0);
  EXPECT_EQ(acc[1], want1);
}

}  // namespace
}  // namespace hw::gpu
