// Numerics I/O and speed paths against their references: the SIMD calibration loops against
// the portable ones, the threaded GEMV against one thread, streaming quantization (tensor by
// tensor from a GGUF or synthetic source) against the in-memory quantizer, and the chip image
// round trip (the golden model on a loaded image generates the same tokens and logits).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/chip_image.h"
#include "model/golden_model.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw {
namespace {

const std::string kOracle = std::string(HARDWIRE_SHARED_DIR) + "/oracle/";

// Two quantized models hold the same bits: every array and scalar.
void expect_same_bits(const QuantizedModel& a, const QuantizedModel& b) {
  EXPECT_EQ(quantized_model_hash(a), quantized_model_hash(b));
  EXPECT_EQ(a.tok_embd_.packed_, b.tok_embd_.packed_);
  ASSERT_EQ(a.layers_.size(), b.layers_.size());
  for (size_t l = 0; l < a.layers_.size(); ++l) {
    EXPECT_EQ(a.layers_[l].w_down_.packed_, b.layers_[l].w_down_.packed_) << "layer " << l;
    EXPECT_EQ(a.layers_[l].wq_.scale_m_, b.layers_[l].wq_.scale_m_) << "layer " << l;
    EXPECT_EQ(a.layers_[l].attn_norm_.values_, b.layers_[l].attn_norm_.values_) << "layer " << l;
  }
}

FloatTensor gaussian(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.02f);
  FloatTensor t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.data_.resize(static_cast<size_t>(rows * cols));
  for (float& v : t.data_) v = n(rng);
  return t;
}

TEST(QuantizeKernels, PortableAndAvx2GiveTheSameBits) {
  if (!gemv_kernel_available(GemvKernel::kAvx2)) GTEST_SKIP() << "this CPU has no AVX2";
  // Odd widths exercise the scalar tails of the 8-lane sums; exact halves of a step exercise
  // the rounding of ties (away from zero).
  FloatTensor w = gaussian(23, 173, 5);
  for (int64_t c = 0; c < 20; ++c) w.data_[static_cast<size_t>(c)] = 0.01f * static_cast<float>(c) - 0.1f;
  for (const char* gran : {"channel", "group"}) {
    for (int bits : {3, 4, 6, 8}) {
      const NumericsProfile p = load_numerics_profile(
          "w8a8", {std::string("numerics.weights.granularity=") + gran, "numerics.weights.group_size=32"});
      set_quantize_kernel(GemvKernel::kPortable);
      const QuantizedMatrix a = quantize_matrix(w, bits, p, "t");
      set_quantize_kernel(GemvKernel::kAvx2);
      const QuantizedMatrix b = quantize_matrix(w, bits, p, "t");
      set_quantize_kernel(GemvKernel::kAuto);
      EXPECT_EQ(a.packed_, b.packed_) << gran << " " << bits;
      EXPECT_EQ(a.scale_m_, b.scale_m_) << gran << " " << bits;
      EXPECT_EQ(a.row_exp_, b.row_exp_) << gran << " " << bits;
      if (gemv_kernel_available(GemvKernel::kAvx512Vnni)) {
        set_quantize_kernel(GemvKernel::kAvx512Vnni);
        const QuantizedMatrix c = quantize_matrix(w, bits, p, "t");
        set_quantize_kernel(GemvKernel::kAuto);
        EXPECT_EQ(a.packed_, c.packed_) << gran << " " << bits << " avx512";
        EXPECT_EQ(a.scale_m_, c.scale_m_) << gran << " " << bits << " avx512";
        EXPECT_EQ(a.row_exp_, c.row_exp_) << gran << " " << bits << " avx512";
      }
    }
  }
}

TEST(QuantizeKernels, NonFiniteWeightIsAnErrorNamingTheTensor) {
  FloatTensor w = gaussian(4, 64, 6);
  w.data_[70] = std::nanf("");
  const NumericsProfile p = load_numerics_profile("w8a8");
  try {
    quantize_matrix(w, 8, p, "blk.0.attn_q");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
}

TEST(Gemv, ThreadCountDoesNotChangeBits) {
  // Large enough that two and three threads each get a share (128 KiB of weights per thread).
  const NumericsProfile p = load_numerics_profile("w4a8");
  for (int bits : {3, 4, 6, 8}) {
    const QuantizedMatrix m = quantize_matrix(gaussian(1024, 1024, 7), bits, p, "t");
    std::vector<int8_t> x(1024);
    std::mt19937_64 rng(8);
    for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    std::vector<int64_t> one(1024), many(1024);
    set_compute_threads(1);
    gemv(m, x.data(), one.data());
    for (int t : {2, 3}) {
      set_compute_threads(t);
      gemv(m, x.data(), many.data());
      EXPECT_EQ(one, many) << bits << " bits, " << t << " threads";
    }
    set_compute_threads(0);
  }
}

TEST(Streaming, SyntheticSourceMatchesInMemoryWeights) {
  ModelConfig c;
  c.name_ = "stream-test";
  c.arch_ = "llama";
  c.n_layers_ = 2;
  c.d_model_ = 128;
  c.n_heads_ = 4;
  c.n_kv_heads_ = 2;
  c.head_dim_ = 32;
  c.d_ff_ = 192;
  c.vocab_ = 70;
  c.max_positions_ = 32;
  c.tied_embeddings_ = true;
  const ModelWeights w = synthetic_weights(c, 9);
  // hc1-mix, and a promoting profile (its rows are read twice from the source).
  for (const NumericsProfile& p :
       {load_numerics_profile("hc1-mix"),
        load_numerics_profile("w3a8", {"numerics.weights.promote_fraction=0.05"})}) {
    const std::unique_ptr<WeightSource> src = synthetic_weight_source(c, 9);
    expect_same_bits(quantize_model(*src, p), quantize_model(w, p));
  }
}

TEST(Streaming, GgufSourceMatchesLoadedWeights) {
  for (const char* model : {"tiny-mha", "tiny-gqa-s"}) {
    const std::string path = kOracle + model + ".gguf";
    const ModelWeights w = load_weights(path);
    for (const char* prof : {"w8a8", "w4a8", "hc1-mix"}) {
      const NumericsProfile p = load_numerics_profile(prof);
      const std::unique_ptr<WeightSource> src = open_weight_source(path);
      expect_same_bits(quantize_model(*src, p), quantize_model(w, p));
    }
  }
}

TEST(Streaming, SourceRowsMatchWholeTensors) {
  const std::string path = kOracle + "tiny-gqa-s.gguf";
  const ModelWeights w = load_weights(path);
  const std::unique_ptr<WeightSource> src = open_weight_source(path);
  std::vector<float> rows(3 * 128);
  src->read_rows({WeightSlot::kWq, 1}, 5, 3, rows.data());
  for (int64_t i = 0; i < 3 * 128; ++i) {
    ASSERT_EQ(rows[static_cast<size_t>(i)], w.layers_[1].wq_.data_[static_cast<size_t>(5 * 128 + i)]);
  }
}

TEST(ChipImage, Xxh64KnownValues) {
  EXPECT_EQ(xxh64("", 0), 0xEF46DB3751D8E999ULL);
  // Fed in pieces of every size: the same digest as in one piece.
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  const uint64_t whole = xxh64(data.data(), data.size(), 5);
  for (size_t piece : {1, 3, 31, 32, 33, 100}) {
    Xxh64 h(5);
    for (size_t at = 0; at < data.size(); at += piece) h.update(data.data() + at, std::min(piece, data.size() - at));
    EXPECT_EQ(h.digest(), whole) << piece;
  }
}

TEST(ChipImage, RoundTripGivesTheSameChip) {
  const std::string path = (std::filesystem::temp_directory_path() / "hw_test_chip_image.hwchip").string();
  const ModelWeights w = load_weights(kOracle + "tiny-gqa-s.gguf");
  for (const char* prof : {"w8a8", "hc1-mix", "w4a8-kv4"}) {
    const QuantizedModel q = quantize_model(w, load_numerics_profile(prof));
    const ChipImageInfo saved = save_chip_image(path, q);
    ASSERT_TRUE(is_chip_image(path));
    ChipImageInfo loaded_info;
    const QuantizedModel r = load_chip_image(path, &loaded_info);
    EXPECT_EQ(saved.hash_, loaded_info.hash_);
    EXPECT_EQ(saved.model_hash_, loaded_info.model_hash_);
    expect_same_bits(q, r);
    EXPECT_EQ(r.profile_.name_, q.profile_.name_);
    EXPECT_EQ(r.profile_.weight_bits_, q.profile_.weight_bits_);
    EXPECT_EQ(r.profile_.kv_bits_, q.profile_.kv_bits_);
    EXPECT_EQ(r.config_.rope_theta_, q.config_.rope_theta_);
    GoldenModel ga(q, 24);
    GoldenModel gb(r, 24);
    std::vector<float> la, lb;
    EXPECT_EQ(ga.generate({1, 2, 3}, 12, &la), gb.generate({1, 2, 3}, 12, &lb)) << prof;
    EXPECT_EQ(la, lb) << prof;
  }
  std::filesystem::remove(path);
}

TEST(ChipImage, DamagedOrForeignFilesAreRejected) {
  const std::string path = (std::filesystem::temp_directory_path() / "hw_test_chip_damaged.hwchip").string();
  const QuantizedModel q =
      quantize_model(load_weights(kOracle + "tiny-mha.gguf"), load_numerics_profile("w4a8"));
  const ChipImageInfo info = save_chip_image(path, q);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(info.file_bytes_ / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(info.file_bytes_ / 2));
    c = static_cast<char>(c ^ 1);
    f.write(&c, 1);
  }
  try {
    load_chip_image(path);
    FAIL() << "a flipped bit must be detected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hash mismatch"), std::string::npos) << e.what();
  }
  std::filesystem::resize_file(path, info.file_bytes_ - 100);
  EXPECT_THROW(load_chip_image(path), Error);
  EXPECT_FALSE(is_chip_image(kOracle + "tiny-mha.gguf"));
  EXPECT_THROW(load_chip_image(kOracle + "tiny-mha.gguf"), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace hw
