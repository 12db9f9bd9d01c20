// The GPU roofline-plus-batching model against the TensorRT-LLM throughput figures of
// public-figures.md (nothing in configs/gpus/ is fitted to them), and its batching and
// bandwidth limits.
#include <gtest/gtest.h>

#include <cmath>

#include "../cli/cli_test_util.h"
#include "common/error.h"
#include "cost/gpu_model.h"
#include "model/model_config.h"

namespace hw {
namespace {

WorkloadPoint max_load(int64_t prompt, int64_t gen) {
  WorkloadPoint p;
  p.users_ = 100000;  // "max load": more requests than any batch
  p.prompt_tokens_ = double(prompt);
  p.output_tokens_ = double(gen);
  p.max_context_tokens_ = prompt + gen - 1;
  return p;
}

struct TrtFigure {
  const char* gpu_;
  int64_t prompt_, gen_;
  double tokens_per_s_;  // TensorRT-LLM perf-overview, FP8, one GPU [M] (public-figures.md)
};

class GpuVsTensorRtLlm : public ::testing::TestWithParam<TrtFigure> {};

TEST_P(GpuVsTensorRtLlm, WithinThirtyFivePercent) {
  const TrtFigure f = GetParam();
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const GpuConfig gpu = load_gpu_config(f.gpu_, {});
  const GpuEstimate e = gpu_estimate(model, gpu, max_load(f.prompt_, f.gen_));
  const double rel = e.tokens_per_s_total_ / f.tokens_per_s_ - 1.0;
  EXPECT_LT(std::fabs(rel), 0.35) << f.gpu_ << " " << f.prompt_ << "/" << f.gen_ << ": model "
                                  << e.tokens_per_s_total_ << " tok/s vs TensorRT-LLM "
                                  << f.tokens_per_s_ << " (batch " << e.batch_ << ")";
}

INSTANTIATE_TEST_SUITE_P(PublicFigures, GpuVsTensorRtLlm,
                         ::testing::Values(TrtFigure{"h100", 128, 128, 28312},
                                           TrtFigure{"h200", 128, 128, 27911},
                                           TrtFigure{"h100", 1000, 1000, 15220},
                                           TrtFigure{"h200", 1000, 1000, 17744}));

TEST(GpuModel, BatchLimitedByHbmCapacity) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const GpuEstimate h100 = gpu_estimate(model, load_gpu_config("h100", {}), max_load(1000, 1000));
  const GpuEstimate h200 = gpu_estimate(model, load_gpu_config("h200", {}), max_load(1000, 1000));
  // At 2k of context the KV memory, not the batch cap, binds.
  EXPECT_LT(h100.batch_, 2048);
  EXPECT_EQ(h100.batch_, h100.max_users_at_context_);
  EXPECT_LE(double(h100.batch_) * 1999 * h100.kv_bytes_per_token_, h100.kv_capacity_bytes_);
  EXPECT_GT(double(h100.batch_ + 1) * 1999 * h100.kv_bytes_per_token_, h100.kv_capacity_bytes_);
  // Beside the same 8 GB of weights the H200 has (141 - 8) / (80 - 8) = 1.85x the KV memory.
  EXPECT_GT(double(h200.batch_), 1.8 * double(h100.batch_));
  EXPECT_TRUE(h100.memory_bound_);
}

TEST(GpuModel, SingleUserDecodeUnderTheBandwidthCeiling) {
  // public-figures.md [D]: FP8 Llama 3.1 8B decode ceiling 417 tok/s on H100, 598 on H200.
  const ModelConfig model = load_model_config("llama-3.1-8b");
  WorkloadPoint one = max_load(128, 128);
  one.users_ = 1;
  for (const auto& [gpu, ceiling] : {std::pair{"h100", 417.0}, std::pair{"h200", 598.0}}) {
    const GpuEstimate e = gpu_estimate(model, load_gpu_config(gpu, {}), one);
    EXPECT_EQ(e.batch_, 1);
    EXPECT_TRUE(e.memory_bound_);
    EXPECT_LT(e.decode_tokens_per_s_per_user_, ceiling) << gpu;
    EXPECT_GT(e.decode_tokens_per_s_per_user_, 0.5 * ceiling) << gpu;
  }
}

TEST(GpuModel, WeightsThatDoNotFitAreAnError) {
  const ModelConfig model = load_model_config("llama-3.1-70b");
  EXPECT_THROW(gpu_estimate(model, load_gpu_config("h100", {}), max_load(128, 128), 16), Error);
}

TEST(GpuModel, UnknownKeyIsAnErrorNamingIt) {
  try {
    load_gpu_config("h100", {"gpu.memory.bandwith=1TB/s"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bandwidth"), std::string::npos) << e.what();
  }
}

TEST(GpuModel, EstimateCommandTakesAGpuWithTheChipMetricKeys) {
  const auto gpu = test::run_hardwire(
      "estimate --chip " HARDWIRE_SOURCE_DIR_STR
      "/configs/gpus/h100.yaml --model llama-3.1-8b --users 4096 --prompt 128 --gen 128 --json");
  ASSERT_EQ(gpu.exit_code_, 0) << gpu.output_;
  const auto chip = test::run_hardwire(
      "estimate --chip hc1-like --model llama-3.1-8b --users 1 --prompt 128 --gen 128 --json");
  ASSERT_EQ(chip.exit_code_, 0) << chip.output_;
  const auto g = nlohmann::json::parse(gpu.output_);
  const auto c = nlohmann::json::parse(chip.output_);
  for (const char* key : {"tokens_per_s_per_user", "tokens_per_s_total", "power_w",
                          "energy_per_token_j", "ttft_s", "inter_token_latency_s",
                          "users_admitted", "peak_concurrent_users", "max_users_at_context",
                          "kv_capacity_bytes", "mean_context_tokens"}) {
    EXPECT_TRUE(g.contains(key)) << key;
    EXPECT_TRUE(c.contains(key)) << key;
  }
  EXPECT_NEAR(g["tokens_per_s_total"].get<double>(), 28312, 0.35 * 28312);
  EXPECT_EQ(g["chip"], "h100");
  // A shipped GPU name works too.
  EXPECT_EQ(test::run_hardwire("estimate --chip h200 --users 8 --prompt 128 --gen 128").exit_code_, 0);
}

}  // namespace
}  // namespace hw
