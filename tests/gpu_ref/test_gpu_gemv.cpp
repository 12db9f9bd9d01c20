// The CUDA GEMV against the portable CPU kernel, bit for bit, over group and per-channel
// scaling and several widths. Needs a GPU: without one every test skips with the reason.
// Built only with the CUDA reference (HARDWIRE_HAVE_CUDA).
#ifdef HARDWIRE_HAVE_CUDA
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "gpu_ref/device.h"
#include "gpu_ref/gemv.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"

namespace hw {
namespace {

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

class GpuGemv : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const std::string reason = gpu::unavailable_reason();
    if (!reason.empty()) GTEST_SKIP() << "no usable GPU (" << reason << "): CUDA tests skipped";
  }
};

TEST_P(GpuGemv, EqualsPortableCpuKernel) {
  const NumericsProfile profile = load_numerics_profile(GetParam());
  for (const int bits : {3, 4, 6, 8}) {
    // 300 columns: a last group shorter than the group size.
    const QuantizedMatrix w = quantize_matrix(random_matrix(257, 300, 7u + bits), bits, profile, "w");
    std::vector<int8_t> x(300);
    std::mt19937 gen(11);
    for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(gen() % 255) - 127);
    std::vector<int64_t> cpu(257), gpu_acc(257, -1);
    gemv(w, x.data(), cpu.data(), GemvKernel::kPortable);
    gpu::gemv(w, x.data(), gpu_acc.data());
    EXPECT_EQ(cpu, gpu_acc) << GetParam() << " at " << bits << " bits";
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, GpuGemv, ::testing::Values("w8a8", "hc1-mix"));

}  // namespace
}  // namespace hw
#endif  // HARDWIRE_HAVE_CUDA
