// Bits pinned across machines (docs/numerics.md, "Reproducibility"): for every oracle model and
// four profiles (defined here, independent of the shipped files), the 64-bit hash of every
// stored bit of the quantized model and the greedy tokens plus a hash of every integer logit of
// a 16-token generation are fixed numbers. A build that differs in one bit anywhere (another
// compiler, FMA contraction, -march, libm, a changed kernel) fails here. When a change of the
// numerics is intended, the failure message prints the new values to paste in.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "model/chip_image.h"
#include "model/float_ref.h"
#include "model/model_config.h"
#include "model/golden_model.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw {
namespace {

const std::string kOracle = std::string(HARDWIRE_SHARED_DIR) + "/oracle/";

// The profiles, written out so a change of a shipped file does not move these hashes.
NumericsProfile pinned_profile(const std::string& name) {
  std::string yaml;
  if (name == "w8") {
    yaml = "numerics: {weights: {bits: {embedding: 8, attn_q: 8, attn_k: 8, attn_v: 8, attn_output: 8, "
           "ffn_gate: 8, ffn_up: 8, ffn_down: 8, lm_head: 8}, granularity: channel}}";
  } else if (name == "w4g32") {
    yaml = "numerics: {weights: {bits: {embedding: 4, attn_q: 4, attn_k: 4, attn_v: 4, attn_output: 4, "
           "ffn_gate: 4, ffn_up: 4, ffn_down: 4, lm_head: 4}, granularity: group, group_size: 32, "
           "scale_bits: 8}}";
  } else if (name == "mix36") {
    yaml = "numerics: {weights: {bits: {embedding: 6, attn_q: 6, attn_k: 6, attn_v: 6, attn_output: 6, "
           "ffn_gate: 3, ffn_up: 3, ffn_down: 3, lm_head: 6}, granularity: group, group_size: 32, "
           "scale_bits: 8}}";
  } else {  // w3 kv4, with promotion
    yaml = "numerics: {weights: {bits: {embedding: 3, attn_q: 3, attn_k: 3, attn_v: 3, attn_output: 3, "
           "ffn_gate: 3, ffn_up: 3, ffn_down: 3, lm_head: 3}, granularity: group, group_size: 64, "
           "promote_fraction: 0.02, promote_bits: 6}, kv: {bits: 4}}";
  }
  return numerics_profile_from_yaml(YAML::Load(yaml), name, "test_golden_hashes.cpp");
}

struct Pinned {
  const char* model_;
  const char* profile_;
  uint64_t model_hash_;
  uint64_t logits_hash_;
  std::vector<int32_t> tokens_;
};

// Measured on x86-64 (GCC, -O3, AVX2 kernels) and checked equal with the portable kernels and
// with -march=x86-64-v3 (FMA available): see docs/numerics.md, "Reproducibility".
const std::vector<Pinned>& pinned() {
  static const std::vector<Pinned> kPinned = {
      {"tiny-mha", "w8", 0xba270d389ada2988ULL, 0xaecbde34f8423620ULL, {178, 251, 66, 179, 9, 57, 97, 207, 197, 187, 9, 239, 16, 9, 57, 97}},
      {"tiny-mha", "w4g32", 0x14a6ff734e26914eULL, 0x4fd66b19a36adb33ULL, {48, 99, 194, 152, 25, 98, 209, 71, 200, 74, 178, 251, 41, 102, 56, 76}},
      {"tiny-mha", "mix36", 0x76e40bc79b64cf31ULL, 0x62d471382ef50056ULL, {178, 251, 66, 179, 9, 239, 255, 156, 235, 162, 250, 105, 228, 227, 100, 130}},
      {"tiny-mha", "w3kv4", 0x0a9e1cb3a517aff3ULL, 0x0408754a803a808dULL, {178, 251, 66, 179, 97, 29, 17, 28, 97, 29, 155, 48, 116, 169, 152, 25}},
      {"tiny-gqa-s", "w8", 0xc6c0dae145631ff8ULL, 0x79aeae0c9f16ee3bULL, {73, 77, 134, 269, 187, 145, 119, 141, 71, 141, 285, 281, 73, 77, 88, 151}},
      {"tiny-gqa-s", "w4g32", 0x3604234238b0570eULL, 0x32aa7d48ccf376c6ULL, {64, 119, 141, 71, 141, 142, 45, 81, 204, 27, 122, 129, 119, 141, 194, 141}},
      {"tiny-gqa-s", "mix36", 0x347d8eacf06c8eedULL, 0x86d80a03660b55c5ULL, {73, 77, 184, 43, 51, 179, 141, 285, 281, 4, 187, 138, 275, 43, 141, 275}},
      {"tiny-gqa-s", "w3kv4", 0x43d2acf200ad55a4ULL, 0x5ad2217f0c7a55c7ULL, {73, 157, 119, 122, 187, 69, 141, 71, 141, 140, 4, 285, 281, 73, 43, 96}},
      {"tiny-trained-a", "w8", 0x097e5a3983dbcf9aULL, 0x4a0c33aa82b8deecULL, {84, 111, 114, 118, 97, 108, 100, 115, 32, 111, 102, 32, 116, 104, 101, 32}},
      {"tiny-trained-a", "w4g32", 0xa62b501affbe0427ULL, 0x373b7c83ac7d6ab2ULL, {84, 104, 101, 32, 83, 97, 109, 105, 110, 103, 32, 111, 102, 32, 116, 104}},
      {"tiny-trained-a", "mix36", 0xe1ea3fdd1a909f9bULL, 0xc2f65f2efb5832b3ULL, {84, 104, 101, 32, 83, 97, 109, 105, 110, 103, 32, 111, 102, 32, 116, 104}},
      {"tiny-trained-a", "w3kv4", 0x18b7aaf02eb061a5ULL, 0xb00ee2d0bcb041bcULL, {84, 104, 101, 32, 83, 116, 114, 97, 110, 103, 101, 32, 115, 116, 97, 114}},
  };
  return kPinned;
}

TEST(GoldenHashes, OracleModelsQuantizeAndGenerateThePinnedBits) {
  const std::vector<int32_t> prompt = {84, 104, 101, 32};  // "The " for the byte-level model
  std::string actual;
  int mismatches = 0;
  size_t index = 0;
  for (const char* model : {"tiny-mha", "tiny-gqa-s", "tiny-trained-a"}) {
    const std::unique_ptr<WeightSource> src = open_weight_source(kOracle + model + ".gguf");
    const ModelWeights w = read_all_weights(*src);
    for (const char* prof : {"w8", "w4g32", "mix36", "w3kv4"}) {
      const QuantizedModel q = quantize_model(w, pinned_profile(prof));
      GoldenModel g(q, 32);
      Xxh64 lh;
      std::vector<int32_t> tokens;
      for (int32_t t : prompt) g.step({t});
      for (int i = 0; i < 16; ++i) {
        const std::vector<int32_t>& logits = g.step({tokens.empty() ? prompt.back() : tokens.back()});
        lh.update(logits.data(), logits.size() * sizeof(int32_t));
        tokens.push_back(GoldenModel::sample(logits));
      }
      const uint64_t mh = quantized_model_hash(q);
      char line[256];
      std::snprintf(line, sizeof line, "      {\"%s\", \"%s\", 0x%016llxULL, 0x%016llxULL, {", model, prof,
                    static_cast<unsigned long long>(mh), static_cast<unsigned long long>(lh.digest()));
      actual += line;
      for (size_t i = 0; i < tokens.size(); ++i) actual += (i ? ", " : "") + std::to_string(tokens[i]);
      actual += "}},\n";
      if (index >= pinned().size()) {
        ++mismatches;
      } else {
        const Pinned& p = pinned()[index];
        const bool same = p.model_ == std::string(model) && p.profile_ == std::string(prof) &&
                          p.model_hash_ == mh && p.logits_hash_ == lh.digest() && p.tokens_ == tokens;
        if (!same) ++mismatches;
      }
      ++index;
    }
  }
  EXPECT_EQ(mismatches, 0) << "quantized bits or generated tokens differ from the pinned values; "
                              "if the numerics changed on purpose, the new table is:\n"
                           << actual;
}

}  // namespace
}  // namespace hw

namespace hw {
namespace {

// STEP_i = round_away(frac(f_i / 2 pi) * 2^32): f_i comes from std::pow (and the llama3
// scaling arithmetic), which a libm may round differently by an ulp, moving the exact value by
// about 2^-22 of a step. Every step of every shipped preset and oracle model must lie further
// than that from a rounding tie, so any libm gives the same table (as for the other tables).
TEST(GoldenHashes, RopeStepsAreFarFromRoundingTies) {
  std::vector<ModelConfig> configs;
  for (const std::string& name : model_preset_names()) configs.push_back(load_model_config(name));
  for (const char* model : {"tiny-mha", "tiny-gqa-s", "tiny-trained-a"}) {
    configs.push_back(load_model_config(std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + model + ".gguf"));
  }
  constexpr double kMinTieDistance = 1e-4;  // in units of one step LSB
  const double kPi = 3.14159265358979323846;
  for (const ModelConfig& c : configs) {
    const std::vector<double> f = rope_frequencies(c);
    for (size_t i = 0; i < f.size(); ++i) {
      const double turns = f[i] / (2.0 * kPi);
      const double scaled = std::ldexp(turns - std::floor(turns), 32);
      const double frac = scaled - std::floor(scaled);
      EXPECT_GT(std::fabs(frac - 0.5), kMinTieDistance) << c.name_ << " pair " << i;
    }
  }
}

}  // namespace
}  // namespace hw
