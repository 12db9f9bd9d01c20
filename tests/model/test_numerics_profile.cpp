// Tests of numerics profiles (model/numerics_profile.h): every shipped profile loads and
// validates, names and paths resolve, overrides apply, bad keys / values / files give errors
// naming the key or file, and the bit counts other parts derive from a profile are right.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "common/error.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"

namespace hw {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("hardwire_numerics_" + name)).string();
  std::ofstream(path) << text;
  return path;
}

TEST(NumericsProfile, EveryShippedProfileLoads) {
  const std::vector<std::string> names = numerics_profile_names();
  for (const char* want : {"w8a8", "w6a8", "w4a8", "w3a8", "hc1-mix", "w4a8-kv4"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  for (const std::string& name : names) {
    const NumericsProfile p = load_numerics_profile(name);
    EXPECT_EQ(p.name_, name);
    EXPECT_FALSE(p.description_.empty()) << name;
    for (int b : p.weight_bits_) {
      EXPECT_GE(b, 2) << name;
      EXPECT_LE(b, 8) << name;
    }
    EXPECT_TRUE(p.to_json().contains("numerics")) << name;
  }
}

TEST(NumericsProfile, ShippedWidths) {
  const NumericsProfile w8 = load_numerics_profile("w8a8");
  for (WeightKind k : all_weight_kinds()) EXPECT_EQ(w8.weight_bits_for(k, 0), 8);
  EXPECT_FALSE(w8.group_scales_);
  EXPECT_EQ(w8.activation_bits_, 8);
  EXPECT_EQ(w8.kv_bits(), 8);

  // hc1-mix: the most sensitive matrices per parameter (ffn_down, the LM head) at 6 bits,
  // everything else at 3 (docs/numerics.md, "Why the old hc1-mix lost to w4a8").
  const NumericsProfile hc1 = load_numerics_profile("hc1-mix");
  for (WeightKind k : {WeightKind::kFfnDown, WeightKind::kLmHead}) {
    EXPECT_EQ(hc1.weight_bits_for(k, 3), 6);
  }
  for (WeightKind k : {WeightKind::kAttnQ, WeightKind::kAttnK, WeightKind::kAttnV,
                       WeightKind::kAttnOutput, WeightKind::kEmbedding, WeightKind::kFfnGate,
                       WeightKind::kFfnUp}) {
    EXPECT_EQ(hc1.weight_bits_for(k, 3), 3);
  }
  EXPECT_TRUE(hc1.group_scales_);
  EXPECT_EQ(hc1.group_size_, 32);
  EXPECT_EQ(load_numerics_profile("w4a8-kv4").kv_bits(), 4);
}

TEST(NumericsProfile, OverridesAndWideLayers) {
  const NumericsProfile p = load_numerics_profile(
      "w4a8", {"numerics.kv.bits=4", "numerics.weights.wide_layers=[0,15]",
               "numerics.weights.wide_bits=6"});
  EXPECT_EQ(p.kv_bits(), 4);
  EXPECT_EQ(p.values_.source_of("kv.bits"), "--set");
  EXPECT_EQ(p.weight_bits_for(WeightKind::kFfnUp, 0), 6);
  EXPECT_EQ(p.weight_bits_for(WeightKind::kFfnUp, 1), 4);
  EXPECT_EQ(p.weight_bits_for(WeightKind::kFfnUp, 15), 6);
  EXPECT_EQ(p.weight_bits_for(WeightKind::kLmHead, 0), 4);  // not a layer matrix
  const NumericsProfile u = load_numerics_profile("hc1-mix", uniform_weight_bits_overrides(5));
  for (WeightKind k : all_weight_kinds()) EXPECT_EQ(u.weight_bits_for(k, 0), 5);
}

TEST(NumericsProfile, ErrorsNameKeyOrFile) {
  EXPECT_THAT(error_of([] { load_numerics_profile("w8a9"); }),
              HasSubstr("did you mean 'w8a8'"));
  EXPECT_THAT(error_of([] { load_numerics_profile("w8a8", {"numerics.weights.bits.ffn_up=9"}); }),
              HasSubstr("numerics.weights.bits.ffn_up"));
  EXPECT_THAT(error_of([] { load_numerics_profile("w8a8", {"numerics.weights.bit.ffn_up=4"}); }),
              HasSubstr("did you mean 'numerics.weights.bits.ffn_up'"));
  EXPECT_THAT(error_of([] { load_numerics_profile("/nonexistent/p.yaml"); }),
              HasSubstr("numerics profile file not found"));
  EXPECT_NO_THROW(load_numerics_profile(
      "w8a8", {"numerics.silu.table_bits_per_unit=8", "numerics.activations.frac_bits=8"}));
  EXPECT_THAT(error_of([] {
                load_numerics_profile("w8a8", {"numerics.silu.table_bits_per_unit=8",
                                               "numerics.activations.frac_bits=7"});
              }),
              HasSubstr("numerics.activations.frac_bits"));
  const std::string fine = write_temp("fine.yaml", "numerics:\n  activations:\n    frac_bits: 8\n  silu:\n    table_bits_per_unit: 6\n");
  EXPECT_NO_THROW(load_numerics_profile(fine));
  const std::string coarse = write_temp("coarse.yaml", "numerics:\n  weights:\n    promote_fraction: 0.1\n    promote_bits: 8\n");
  EXPECT_THAT(error_of([&] { load_numerics_profile(coarse); }),
              HasSubstr("numerics.weights.promote_bits"));
  const std::string no_block = write_temp("noblock.yaml", "weights:\n  bits: 4\n");
  EXPECT_THAT(error_of([&] { load_numerics_profile(no_block); }), HasSubstr("no `numerics:` block"));
  const std::string extra = write_temp("extra.yaml", "numerics:\n  kv:\n    bits: 8\nchip:\n  x: 1\n");
  EXPECT_THAT(error_of([&] { load_numerics_profile(extra); }), HasSubstr("unknown top-level key"));
  const std::string bad_value = write_temp("bad.yaml", "numerics:\n  kv:\n    bits: 1\n");
  EXPECT_THAT(error_of([&] { load_numerics_profile(bad_value); }),
              HasSubstr("numerics.kv.bits (line 3)"));
  const std::string bad_choice = write_temp("choice.yaml", "numerics:\n  weights:\n    granularity: grup\n");
  EXPECT_THAT(error_of([&] { load_numerics_profile(bad_choice); }), HasSubstr("did you mean 'group'"));
  const NumericsProfile from_file = load_numerics_profile(fine);
  EXPECT_EQ(from_file.name_, "hardwire_numerics_fine");
  EXPECT_EQ(from_file.activation_frac_bits_, 8);
}

// mean_weight_bits recomputed independently from the tensor list of `hardwire info`: matrices
// at the hc1-mix widths, vectors (norms) at 16 bits.
TEST(NumericsProfile, MeanWeightBitsOfHc1MixOnLlama31_8b) {
  const ModelConfig c = load_model_config("llama-3.1-8b");
  const NumericsProfile p = load_numerics_profile("hc1-mix");
  double bits = 0.0;
  auto width = [](const std::string& name, int64_t cols) {
    if (cols == 1) return 16;
    return name == "ffn_down" || name == "output" ? 6 : 3;
  };
  for (const TensorShape& t : c.layer_tensors()) {
    bits += static_cast<double>(t.elements()) * width(t.name_, t.cols_) * c.n_layers_;
  }
  for (const TensorShape& t : c.global_tensors()) bits += static_cast<double>(t.elements()) * width(t.name_, t.cols_);
  const double expected = bits / static_cast<double>(c.params());
  EXPECT_NEAR(p.mean_weight_bits(c), expected, 1e-9);
  EXPECT_NEAR(p.mean_weight_bits(c), 3.90, 0.005);  // the figure quoted in hc1-mix.yaml
  // Group-32 scales with 8-bit mantissas: 8/32 bit per weight plus 8 bits per row.
  EXPECT_NEAR(p.scale_bits_per_weight(c), 0.25, 0.01);
  EXPECT_NEAR(load_numerics_profile("w8a8").mean_weight_bits(c), 8.0, 0.001);
}

TEST(NumericsProfile, PromotionCountsInMeanBits) {
  ModelConfig c = load_model_config("llama-3.2-1b");
  const NumericsProfile base = load_numerics_profile("w3a8");
  const NumericsProfile promoted = load_numerics_profile(
      "w3a8", {"numerics.weights.promote_fraction=0.25", "numerics.weights.promote_bits=7"});
  // A quarter of every matrix's groups gains 4 bits: +1 bit per matrix weight.
  int64_t vector_params = 0;
  for (const TensorShape& t : c.layer_tensors()) vector_params += t.cols_ == 1 ? t.elements() * c.n_layers_ : 0;
  for (const TensorShape& t : c.global_tensors()) vector_params += t.cols_ == 1 ? t.elements() : 0;
  const double matrix_share = 1.0 - static_cast<double>(vector_params) / static_cast<double>(c.params());
  EXPECT_NEAR(promoted.mean_weight_bits(c) - base.mean_weight_bits(c), 1.0 * matrix_share, 1e-6);
}

// docs/numerics.md is the specification: every declared key must appear in it.
TEST(NumericsProfile, EveryKeyIsDocumented) {
  std::ifstream in(std::string(HARDWIRE_SOURCE_DIR_STR) + "/docs/numerics.md");
  ASSERT_TRUE(in) << "docs/numerics.md missing";
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const ParamSpec& spec : numerics_schema().specs()) {
    EXPECT_NE(doc.find("`numerics." + spec.key_ + "`"), std::string::npos) << spec.key_;
  }
}

}  // namespace
}  // namespace hw
