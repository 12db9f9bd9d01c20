// The CUDA forward passes against the CPU ones. Chip numerics: GpuGoldenModel gives the golden
// model's integer logits bit for bit (prompt as one batch, stepwise decode, batched decode of
// several sequences, the traced run block by block through TraceChecker) on the oracle model and
// the Qwen2 / Qwen3 / tied llama3-scaled variants, for the w8a8, hc1-mix and w4a8-kv4 profiles.
// Float: GpuFloatReference within kFloatAbsTolerance + kFloatRelTolerance * |cpu| of
// FloatReference run on the same rounded weights, for F32, F16 and BF16 storage. Needs a GPU:
// without one every test skips, naming the reason. Built only with HARDWIRE_HAVE_CUDA.
#ifdef HARDWIRE_HAVE_CUDA
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/error.h"
#include "gpu_ref/chip_model.h"
#include "gpu_ref/device.h"
#include "gpu_ref/float_model.h"
#include "gpu_ref/layout.h"
#include "gpu_ref/trace.h"
#include "gpu_test_util.h"
#include "model/calibration.h"
#include "model/float_ref.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"

namespace hw::gpu {
namespace {

#define SKIP_WITHOUT_GPU()                                                                \
  do {                                                                                    \
    const std::string reason = unavailable_reason();                                      \
    if (!reason.empty()) GTEST_SKIP() << "no usable GPU (" << reason << "): CUDA test skipped"; \
  } while (0)

struct ChipCase {
  std::string variant_;
  std::string profile_;
};

class GpuChip : public ::testing::TestWithParam<ChipCase> {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};

TEST_P(GpuChip, PrefillAndDecodeEqualGoldenModel) {
  const ModelWeights w = test::variant_model(GetParam().variant_);
  const QuantizedModel qm = quantize_model(w, load_numerics_profile(GetParam().profile_));
  const std::vector<int32_t> prompt = test::seeded_tokens(w.config_.vocab_, 20, 3);
  GoldenModel cpu(qm, 48);
  // Prompt in batches of 8 positions (several kernel batches, a partial token tile).
  GpuGoldenModel gpu(qm, 48, 1, 8);
  std::vector<float> cpu_logits, gpu_logits;
  const std::vector<int32_t> a = cpu.generate(prompt, 12, &cpu_logits);
  const std::vector<int32_t> b = gpu.generate(prompt, 12, &gpu_logits);
  EXPECT_EQ(a, b);
  ASSERT_EQ(cpu_logits.size(), gpu_logits.size());
  for (size_t i = 0; i < cpu_logits.size(); ++i) {
    ASSERT_EQ(cpu_logits[i], gpu_logits[i]) << "logit " << i << " (row " << i / w.config_.vocab_ << ")";
  }
  EXPECT_EQ(gpu.position(), cpu.position());
  gpu.reset();
  cpu.reset();
  EXPECT_EQ(gpu.position(), 0);
  const std::vector<int32_t> gpu_last = gpu.step(prompt);
  EXPECT_EQ(gpu_last, cpu.step(prompt));
}

TEST_P(GpuChip, BatchedDecodeEqualsSeparateSequences) {
  const ModelWeights w = test::variant_model(GetParam().variant_);
  const QuantizedModel qm = quantize_model(w, load_numerics_profile(GetParam().profile_));
  constexpr int kSeqs = 5;
  GpuGoldenModel gpu(qm, 16, kSeqs, 8);
  std::vector<GoldenModel> cpu;
  std::vector<int32_t> tokens;
  for (int b = 0; b < kSeqs; ++b) {
    cpu.emplace_back(qm, 16);
    tokens.push_back(static_cast<int32_t>((7 * b + 3) % w.config_.vocab_));
  }
  for (int step = 0; step < 6; ++step) {
    const std::vector<int32_t> next = gpu.decode_batch(tokens);
    for (int b = 0; b < kSeqs; ++b) {
      const int32_t want = GoldenModel::sample(cpu[static_cast<size_t>(b)].step({tokens[static_cast<size_t>(b)]}));
      EXPECT_EQ(next[static_cast<size_t>(b)], want) << "sequence " << b << " step " << step;
    }
    tokens = next;
  }
}

// The traced run reports every block's integers; the CPU golden model's trace matches it.
TEST_P(GpuChip, TracedRunMatchesCpuTrace) {
  const ModelWeights w = test::variant_model(GetParam().variant_);
  const QuantizedModel qm = quantize_model(w, load_numerics_profile(GetParam().profile_));
  const std::vector<std::vector<int32_t>> prompts = {{3, 1, 4, 1, 5}};
  TraceChecker checker(w.config_, "cuda", cuda_token_runner(qm, 1, 16), prompts);
  const TokenRunner cpu = cpu_token_runner(qm, 16);
  int32_t id = prompts[0][0];
  for (int64_t pos = 0; pos < 9; ++pos) {
    if (pos < 5) id = prompts[0][static_cast<size_t>(pos)];
    int32_t next = -1;
    next = cpu(0, id, pos, [&](const char* block, int64_t layer, const TokenState& s) {
      const std::string sim_block = std::string(block) == "embed" ? "embedding"
                                    : std::string(block) == "ffn" ? "ffn_down"
                                                                  : std::string(block);
      checker.observe(0, pos, id, sim_block, layer, s, -1);
    });
    id = next;
  }
  EXPECT_TRUE(checker.ok()) << checker.summary();
  EXPECT_EQ(checker.tokens_compared(), 9);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GpuChip,
    ::testing::Values(ChipCase{"llama", "w8a8"}, ChipCase{"llama", "hc1-mix"},
                      ChipCase{"llama", "w4a8-kv4"}, ChipCase{"qwen2", "w4a8"},
                      ChipCase{"qwen3", "hc1-mix"}, ChipCase{"llama3-scaled-tied", "w8a8"}),
    [](const ::testing::TestParamInfo<ChipCase>& i) {
      std::string n = i.param.variant_ + "_" + i.param.profile_;
      for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

// Static activation scales (profile activations.scales: static, calibrated on a token stream):
// the GPU's static-scale kernels give the golden model's bits too.
TEST(GpuChipStatic, CalibratedStaticScalesEqualGoldenModel) {
  SKIP_WITHOUT_GPU();
  const ModelWeights& w = test::oracle_model("tiny-gqa-s");
  QuantizedModel qm = quantize_model(w, load_numerics_profile("w8a8"));
  qm.profile_.static_act_scales_ = true;
  calibrate_static_scales(qm, test::seeded_tokens(w.config_.vocab_, 64, 12));
  const std::vector<int32_t> prompt = test::seeded_tokens(w.config_.vocab_, 10, 13);
  GoldenModel cpu(qm, 24);
  ASSERT_TRUE(cpu.static_act_scales());
  GpuGoldenModel gpu(qm, 24, 1, 4);
  std::vector<float> a, b;
  EXPECT_EQ(cpu.generate(prompt, 8, &a), gpu.generate(prompt, 8, &b));
  EXPECT_EQ(a, b);
}

struct FloatCase {
  std::string variant_;
  WeightType type_;
};

class GpuFloat : public ::testing::TestWithParam<FloatCase> {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};

// kFloatAbsTolerance / kFloatRelTolerance (float_model.h) say how the bound was chosen.
void expect_close(const std::vector<float>& cpu, const std::vector<float>& gpu, const std::string& what) {
  ASSERT_EQ(cpu.size(), gpu.size()) << what;
  double worst = 0.0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double err = std::fabs(static_cast<double>(gpu[i]) - cpu[i]);
    worst = std::max(worst, err);
    ASSERT_LE(err, kFloatAbsTolerance + kFloatRelTolerance * std::fabs(cpu[i]))
        << what << ": logit " << i << " cpu " << cpu[i] << " gpu " << gpu[i];
  }
  ::testing::Test::RecordProperty(what + "_max_abs_error", std::to_string(worst));
}

TEST_P(GpuFloat, LogitsWithinToleranceOfCpuReference) {
  const FloatCase fc = GetParam();
  const ModelWeights w = test::variant_model(fc.variant_);
  const ModelWeights rounded = round_weights(w, fc.type_);
  const std::vector<int32_t> prompt = test::seeded_tokens(w.config_.vocab_, 24, 8);
  FloatReference cpu(rounded, 40);
  GpuFloatReference gpu(w, 40, fc.type_, 1, 8);
  // Prefill as batches, then stepwise decode.
  expect_close(cpu.forward(prompt), gpu.forward(prompt), "prefill");
  for (int32_t t : {5, 17, 2, 99}) expect_close(cpu.forward({t}), gpu.forward({t}), "decode");
}

TEST_P(GpuFloat, GreedyAndBatchedDecodeAgreeWithCpu) {
  const FloatCase fc = GetParam();
  const ModelWeights w = test::variant_model(fc.variant_);
  const ModelWeights rounded = round_weights(w, fc.type_);
  const std::vector<int32_t> prompt = {1, 5, 9, 42};
  FloatReference cpu(rounded, 32);
  GpuFloatReference gpu(w, 32, fc.type_, 3, 8);
  // Greedy ids: equal unless two logits lie within the tolerance (not on these models: the
  // smallest top-1/top-2 gap of the oracle stream is 0.004, shared/oracle/README.md).
  EXPECT_EQ(generate_greedy(gpu, prompt, 8), generate_greedy(cpu, prompt, 8));
  gpu.reset();
  std::vector<FloatReference> seqs;
  for (int b = 0; b < 3; ++b) seqs.emplace_back(rounded, 32);
  std::vector<int32_t> tokens = {4, 8, 15};
  for (int step = 0; step < 4; ++step) {
    const std::vector<int32_t> next = gpu.decode_batch(tokens);
    for (int b = 0; b < 3; ++b) {
      const std::vector<float> l = seqs[static_cast<size_t>(b)].forward({tokens[static_cast<size_t>(b)]});
      EXPECT_EQ(next[static_cast<size_t>(b)], argmax(l.data(), w.config_.vocab_)) << "sequence " << b;
    }
    tokens = next;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GpuFloat,
    ::testing::Values(FloatCase{"llama", WeightType::kF32}, FloatCase{"llama", WeightType::kF16},
                      FloatCase{"llama", WeightType::kBF16}, FloatCase{"qwen2", WeightType::kF32},
                      FloatCase{"qwen3", WeightType::kBF16},
                      FloatCase{"llama3-scaled-tied", WeightType::kF16}),
    [](const ::testing::TestParamInfo<FloatCase>& i) {
      std::string n = i.param.variant_ + "_" + weight_type_name(i.param.type_);
      for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

// The oracle's own logits (llama.cpp) for the float path at F32, with the oracle's tolerance.
TEST(GpuFloatOracle, MatchesLlamaCppLogits) {
  SKIP_WITHOUT_GPU();
  const ModelWeights& w = test::oracle_model("tiny-mha");
  const std::vector<int32_t> tokens = {1, 5, 9, 42, 100, 7, 3, 250, 17, 64, 33, 2};
  GpuFloatReference gpu(w, 0, WeightType::kF32);
  const std::vector<float> logits = gpu.forward(tokens);
  std::FILE* f = std::fopen((std::string(HARDWIRE_SHARED_DIR) + "/oracle/tiny-mha.logits.bin").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::vector<float> want(logits.size());
  ASSERT_EQ(std::fread(want.data(), sizeof(float), want.size(), f), want.size());
  std::fclose(f);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(logits[i], want[i], 1e-4) << i;
}

TEST(GpuDevice, NoDeviceMeansAClearError) {
  if (unavailable_reason().empty()) GTEST_SKIP() << "a GPU is present: the no-device path is not reachable";
  const QuantizedModel qm = quantize_model(test::oracle_model("tiny-mha"), load_numerics_profile("w8a8"));
  try {
    GpuGoldenModel gpu(qm);
    FAIL() << "constructed without a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no usable GPU"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hw::gpu
#endif  // HARDWIRE_HAVE_CUDA
