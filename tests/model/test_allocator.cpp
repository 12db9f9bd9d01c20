// The ROM-budgeted width allocator (model/allocator.h) on tiny-trained-a: at the ROM size of
// uniform w4a8 the allocation beats w4a8 and a random allocation of the same budget on
// held-out text; the knapsack respects the budget and is optimal on a small hand-made case;
// the written profile loads back to the same widths; the ROM cost model adds up.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/allocator.h"
#include "model/calibration.h"
#include "model/numerics_profile.h"
#include "model/quality.h"
#include "model/weights.h"

namespace hw {
namespace {

using ::testing::HasSubstr;

const std::string kOracle = std::string(HARDWIRE_SHARED_DIR) + "/oracle/";

const ModelWeights& trained() {
  static const ModelWeights w = load_weights(kOracle + "tiny-trained-a.gguf");
  return w;
}

std::vector<int32_t> eval_slice(int64_t begin, int64_t end) {
  static const std::vector<int32_t> all =
      read_token_ids(kOracle + "tiny-trained-a.eval.tokens", "eval tokens");
  return std::vector<int32_t>(all.begin() + begin, all.begin() + end);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const ProfileMaker kW4a8 = [](const std::vector<std::string>& extra) {
  return load_numerics_profile("w4a8", extra);
};

TEST(RomBits, AddsUpTheCostModel) {
  const ModelConfig& c = trained().config_;  // 919,680 params, 66,560 of them embedding/head
  const NumericsProfile p = load_numerics_profile("w4a8");
  const double matrix_weights = static_cast<double>(c.params() - (2 * c.n_layers_ + 1) * c.d_model_);
  const double rows = c.n_layers_ * (c.q_dim() + 2 * c.kv_dim() + c.d_model_ + 2 * c.d_ff_ + c.d_model_) +
                      2.0 * c.vocab_;
  const double gains = (2.0 * c.n_layers_ + 1) * c.d_model_;
  const double expected = matrix_weights * 4 + matrix_weights / 32 * 8 + rows * 8 + gains * 16 +
                          (2.0 * c.n_layers_ + 1) * 8;
  EXPECT_DOUBLE_EQ(p.rom_bits(c), expected);
  const NumericsProfile bad = load_numerics_profile("w4a8", {"numerics.weights.layer_bits.attn_q=[3,4]"});
  EXPECT_THAT(error_of([&] { bad.rom_bits(c); }), HasSubstr("numerics.weights.layer_bits.attn_q"));
}

TEST(Knapsack, OptimalOnAHandMadeCase) {
  // Two tensors, widths {3, 8}: lowering tensor 0 costs 0.5, tensor 1 costs 0.1; the budget
  // allows one of them at 8 bits. The knapsack keeps tensor 0 wide.
  Sensitivity s;
  s.widths_ = {3, 8};
  s.delta_kl_ = {{0.5, 0.0}, {0.1, 0.0}};
  RomCosts c;
  c.value_bits_ = {{300, 800}, {300, 800}};
  c.fixed_bits_ = 100;
  const Allocation a = allocate_widths(s, c, 1250);
  EXPECT_EQ(a.bits_, (std::vector<int>{8, 3}));
  EXPECT_DOUBLE_EQ(a.rom_bits_, 1200);
  EXPECT_DOUBLE_EQ(a.predicted_delta_kl_, 0.1);
  EXPECT_EQ(allocate_widths(s, c, 5000).bits_, (std::vector<int>{8, 8}));
  EXPECT_THAT(error_of([&] { allocate_widths(s, c, 600); }), HasSubstr("below the smallest"));
  for (uint64_t seed = 1; seed < 20; ++seed) {
    const std::vector<int> r = random_allocation(c, s.widths_, 1250, seed);
    EXPECT_LE(100 + (r[0] == 8 ? 800 : 300) + (r[1] == 8 ? 800 : 300), 1250);
  }
}

TEST(Allocator, BeatsUniformAndRandomAtTheRomOfW4a8) {
  const ModelConfig& c = trained().config_;
  const std::vector<int> widths = {3, 4, 6, 8};
  const std::vector<AllocTensor> tensors = allocatable_tensors(c);
  ASSERT_EQ(tensors.size(), 30u);  // untied: embedding + 4 x 7 + LM head
  const std::vector<int32_t> calib = eval_slice(0, 256);
  ScoreOptions o;
  o.bootstrap_samples_ = 0;
  const Sensitivity s = measure_sensitivity(trained(), kW4a8, tensors, widths, calib, o);
  const RomCosts costs = rom_costs(c, kW4a8, tensors, widths);
  const double budget = load_numerics_profile("w4a8").rom_bits(c);
  const Allocation a = allocate_widths(s, costs, budget);
  const NumericsProfile allocated = kW4a8(allocation_overrides(c, tensors, a.bits_));
  EXPECT_LE(allocated.rom_bits(c), budget);
  EXPECT_DOUBLE_EQ(allocated.rom_bits(c), a.rom_bits_);
  const NumericsProfile random =
      kW4a8(allocation_overrides(c, tensors, random_allocation(costs, s.widths_, budget, 1)));
  EXPECT_LE(random.rom_bits(c), budget);

  // Held out: tokens 2048..2304.
  const std::vector<int32_t> ev = eval_slice(2048, 2304);
  const FloatWindows ref = float_windows(trained(), ev, o);
  const double kl_alloc = measure_stream_quality(trained(), allocated, ev, ref, o).mean_kl_;
  const double kl_w4 = measure_stream_quality(trained(), load_numerics_profile("w4a8"), ev, ref, o).mean_kl_;
  const double kl_random = measure_stream_quality(trained(), random, ev, ref, o).mean_kl_;
  EXPECT_LT(kl_alloc, kl_w4);
  EXPECT_LT(kl_alloc, kl_random);

  // The written profile loads back with the same widths.
  const std::string path = (std::filesystem::temp_directory_path() / "hw_alloc_test.yaml").string();
  std::ofstream(path) << profile_yaml(allocated, {"test"});
  const NumericsProfile back = load_numerics_profile(path);
  for (size_t t = 0; t < tensors.size(); ++t) {
    EXPECT_EQ(back.weight_bits_for(tensors[t].kind_, tensors[t].layer_), a.bits_[t]) << tensors[t].name_;
  }
  EXPECT_DOUBLE_EQ(back.rom_bits(c), allocated.rom_bits(c));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace hw
