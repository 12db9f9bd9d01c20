// `--device cuda` of `hardwire ref` and `hardwire emulate` as a user runs them. Without a GPU
// (or in a build without nvcc) the command stops with a clear message and exit status 2 before
// loading the model; with a GPU its output equals --device cpu (emulate: bit for bit; ref: the
// argmax, the logits within the stated tolerance). --weight-type rounds the CPU reference's
// matrices the way the GPU stores them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../cli/cli_test_util.h"

namespace hw::gpu {
namespace {

const std::string kModel = std::string(HARDWIRE_SHARED_DIR) + "/oracle/tiny-mha.gguf";

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

bool gpu_runs() {
  // `hardwire ref` on a one-token prompt tells whether --device cuda works here.
  const test::RunResult r = test::run_hardwire(
      "ref generate --model '" + kModel + "' --tokens 1 --n 1 --device cuda", true);
  return r.exit_code_ == 0;
}

TEST(GpuCli, DeviceCudaStopsClearlyWithoutAGpu) {
  if (gpu_runs()) GTEST_SKIP() << "a GPU is usable here: the no-device path is not reachable";
  for (const std::string& cmd :
       {"ref logits --model '" + kModel + "' --tokens 1,5,9 --out /dev/null --device cuda",
        "ref generate --model '" + kModel + "' --tokens 1,5,9 --n 3 --device cuda",
        "emulate --model '" + kModel + "' --numerics w8a8 --tokens 1,5,9 --n 3 --device cuda"}) {
    const test::RunResult r = test::run_hardwire(cmd, true);
    EXPECT_EQ(r.exit_code_, 2) << cmd << "\n" << r.output_;
    const bool clear = r.output_.find("no usable GPU") != std::string::npos ||
                       r.output_.find("built without the CUDA reference") != std::string::npos;
    EXPECT_TRUE(clear) << r.output_;
    EXPECT_NE(r.output_.find("--device cpu"), std::string::npos) << "suggests the fix: " << r.output_;
  }
}

TEST(GpuCli, CudaMatchesCpu) {
  if (!gpu_runs()) GTEST_SKIP() << "no usable GPU: CUDA CLI test skipped";
  const std::string emu = "emulate --model '" + kModel + "' --numerics hc1-mix --tokens 1,5,9,42 --n 8 --json";
  const test::RunResult cpu = test::run_hardwire(emu + " --device cpu");
  const test::RunResult gpu = test::run_hardwire(emu + " --device cuda");
  ASSERT_EQ(cpu.exit_code_, 0);
  ASSERT_EQ(gpu.exit_code_, 0);
  nlohmann::json a = nlohmann::json::parse(cpu.output_), b = nlohmann::json::parse(gpu.output_);
  a.erase("device");
  b.erase("device");
  EXPECT_EQ(a, b);
  const std::string out = ::testing::TempDir();
  for (const char* wt : {"f32", "bf16"}) {
    const std::string ref = "ref logits --model '" + kModel + "' --tokens 1,5,9,42,100 --weight-type " + wt;
    ASSERT_EQ(test::run_hardwire(ref + " --device cpu --out " + out + "cpu.bin").exit_code_, 0);
    ASSERT_EQ(test::run_hardwire(ref + " --device cuda --out " + out + "gpu.bin").exit_code_, 0);
    const std::vector<float> x = read_floats(out + "cpu.bin"), y = read_floats(out + "gpu.bin");
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-4 + 1e-4 * std::fabs(x[i])) << wt << " " << i;
  }
}

TEST(GpuCli, WeightTypeRoundsTheCpuReference) {
  const std::string out = ::testing::TempDir();
  const std::string ref = "ref logits --model '" + kModel + "' --tokens 1,5,9,42 --device cpu --json --out ";
  const test::RunResult f32 = test::run_hardwire(ref + out + "f32.bin --weight-type f32");
  const test::RunResult bf16 = test::run_hardwire(ref + out + "bf16.bin --weight-type bf16");
  ASSERT_EQ(f32.exit_code_, 0) << f32.output_;
  ASSERT_EQ(bf16.exit_code_, 0) << bf16.output_;
  EXPECT_EQ(nlohmann::json::parse(bf16.output_)["weight_type"], "bf16");
  EXPECT_EQ(nlohmann::json::parse(f32.output_)["device"], "cpu");
  const std::vector<float> a = read_floats(out + "f32.bin"), b = read_floats(out + "bf16.bin");
  ASSERT_EQ(a.size(), b.size());
  // BF16 keeps 8 significant bits: the logits move, by much less than their spread.
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
  EXPECT_GT(worst, 1e-4);
  EXPECT_LT(worst, 0.5);
  EXPECT_NE(test::run_hardwire(ref + out + "x.bin --weight-type fp8", true).exit_code_, 0);
}

// simulate --functional --check-against cpu: both simulation levels, two users sharing a
// prompt prefix, every block compared; JSON carries the result. (The located-divergence paths
// are covered by Trace.* with the same checker.)
TEST(GpuCli, SimulateCheckAgainstCpuMatches) {
  const std::string model = std::string(HARDWIRE_SHARED_DIR) + "/oracle/tiny-gqa-s.gguf";
  for (const char* level : {"token", "cycle"}) {
    const test::RunResult r = test::run_hardwire(
        "simulate --model '" + model + "' --functional --tokens '1,5,9;1,5,7' --gen 4 --level " +
            level + " --check-against cpu --no-progress --json",
        false);
    if (r.exit_code_ != 0 && r.output_.empty()) {
      const test::RunResult why = test::run_hardwire("simulate --help", true);
      if (why.output_.find("without SystemC") != std::string::npos) GTEST_SKIP() << "no SystemC";
    }
    ASSERT_EQ(r.exit_code_, 0) << level;
    const nlohmann::json j = nlohmann::json::parse(r.output_)["check_against"];
    EXPECT_EQ(j["match"], true) << j.dump();
    EXPECT_EQ(j["reference"], "cpu");
    EXPECT_EQ(j["tokens_compared"], 12) << "3 prompt + 3 fed-back positions per user";
    EXPECT_GT(j["elements_compared"].get<int64_t>(), 10000);
  }
  const test::RunResult bad = test::run_hardwire(
      "simulate --model '" + model + "' --tokens 1,5,9 --prompt 3 --check-against cpu", true);
  EXPECT_NE(bad.exit_code_, 0);
}

}  // namespace
}  // namespace hw::gpu
