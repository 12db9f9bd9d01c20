// Co-simulation (docs/rtl.md "Co-simulation"): tiny-mha at w4a8 on a chip with the RTL's
// matrix structure, once as the pure cycle-level SystemC chip and once with layer 0's matrix
// blocks (qkv, o_proj, ffn_gate_up, ffn_down) replaced by the Verilated RTL on the same chunk
// channels. The generated tokens must be the golden model's in both runs, and every timing
// figure (cycles, per-user first-token and last-token times) must be equal. The VCD of the
// co-simulated blocks' pins must be a well-formed VCD (header, scopes, value changes). A
// request the build cannot serve (another layer, a model without RTL, a chip structure unlike
// the RTL's) is an error saying how to get it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../sim/sim_test_util.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"
#include "rtl/cosim.h"
#include "rtl_models.h"
#include "vcd_check.h"

namespace hw {
namespace {

using rtltest::oracle_path;
using test::run_in_child;
using test::same_requests;

// hc1-like with the matrix structure and chunk width the Verilated blocks were generated with
// (16 input lanes, 4 output lanes; docs/rtl.md "Co-simulation").
ChipConfig cosim_chip(std::vector<std::string> extra = {}) {
  std::vector<std::string> sets = {"chip.buffers.chunk_elements=16"};
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down"}) {
    const std::string k = std::string("chip.") + b + ".";
    for (const char* kv : {"input_lanes=16", "output_lanes=4", "output_mux=1",
                           "adder_levels_per_register=0", "accumulate_stages=1",
                           "requant_stages=2"}) {
      sets.push_back(k + kv);
    }
  }
  for (auto& e : extra) sets.push_back(e);
  return load_chip_config("hc1-like", sets);
}

struct Fixture {
  ModelWeights weights;
  QuantizedModel qm;
};

const Fixture* tiny_mha() {
  static std::unique_ptr<Fixture> f;
  if (!f) {
    if (!std::filesystem::exists(oracle_path("tiny-mha.gguf"))) return nullptr;
    f = std::make_unique<Fixture>();
    f->weights = load_weights(oracle_path("tiny-mha.gguf"));
    f->qm = quantize_model(f->weights, load_numerics_profile("w4a8"));
  }
  return f.get();
}

sim::SimOptions functional_options(const QuantizedModel& qm,
                                   const std::vector<std::vector<int32_t>>& prompts) {
  sim::SimOptions o;
  o.level_ = sim::SimLevel::kCycle;
  o.weight_bits_ = qm.profile_.mean_weight_bits(qm.config_);
  o.kv_bits_ = qm.profile_.kv_bits();
  o.functional_model_ = &qm;
  o.prompts_ = prompts;
  return o;
}

#define NEED_TINY_MHA(var)                                                   \
  const Fixture* var = tiny_mha();                                           \
  if (!var) GTEST_SKIP() << "oracle model " << oracle_path("tiny-mha.gguf") << " missing"

void expect_same_run(const nlohmann::json& pure, const nlohmann::json& rtl) {
  ASSERT_FALSE(pure.contains("error")) << pure.dump();
  ASSERT_FALSE(rtl.contains("error")) << rtl.dump();
  EXPECT_EQ(rtl["cycles"], pure["cycles"]);
  EXPECT_EQ(rtl["tokens_generated"], pure["tokens_generated"]);
  ASSERT_EQ(rtl["users"].size(), pure["users"].size());
  for (size_t u = 0; u < pure["users"].size(); ++u) {
    SCOPED_TRACE("user " + std::to_string(u));
    EXPECT_EQ(rtl["users"][u]["generated"], pure["users"][u]["generated"]);
    for (const char* k : {"admitted_s", "ttft_s", "finished_s", "decode_tokens_per_s"}) {
      ASSERT_TRUE(pure["users"][u].contains(k)) << k;
      EXPECT_EQ(rtl["users"][u][k], pure["users"][u][k]) << k;
    }
  }
  for (const char* k : {"ttft_s", "inter_token_latency_s"}) EXPECT_EQ(rtl[k], pure[k]) << k;
}

// One user, one token in flight at a time (a 1-token prompt, then decode): no matrix block
// has a vector waiting for its hold registers (see TEST below for prefill).
TEST(RtlCosim, Layer0TokensAndCyclesEqualThePureSystemCRun) {
  NEED_TINY_MHA(m);
  rtl::register_rtl_cosim();
  const std::vector<std::vector<int32_t>> prompts = {{42}};
  const int64_t n_new = 8;
  sim::SimOptions o = functional_options(m->qm, prompts);
  const auto req = same_requests(1, 1, n_new);
  const nlohmann::json pure = run_in_child(m->weights.config_, cosim_chip(), req, o);
  o.rtl_layer_ = 0;
  const nlohmann::json rtl = run_in_child(m->weights.config_, cosim_chip(), req, o);
  expect_same_run(pure, rtl);
  GoldenModel g(m->qm, 1 + n_new);
  EXPECT_EQ(rtl["users"][0]["generated"].get<std::vector<int32_t>>(),
            g.generate(prompts[0], n_new));
  std::printf("co-simulation: %lld cycles, tokens %s\n",
              static_cast<long long>(rtl["cycles"].get<int64_t>()),
              rtl["users"][0]["generated"].dump().c_str());
}

// Two users decoding: their tokens share the pipeline.
TEST(RtlCosim, TwoUsersDecodingEqualThePureSystemCRun) {
  NEED_TINY_MHA(m);
  rtl::register_rtl_cosim();
  const std::vector<std::vector<int32_t>> prompts = {{3}, {9}};
  sim::SimOptions o = functional_options(m->qm, prompts);
  const auto req = same_requests(2, 1, 6);
  const nlohmann::json pure = run_in_child(m->weights.config_, cosim_chip(), req, o);
  o.rtl_layer_ = 0;
  const nlohmann::json rtl = run_in_child(m->weights.config_, cosim_chip(), req, o);
  expect_same_run(pure, rtl);
}

// Prefill: prompt tokens follow each other through the matrix blocks, so a block's next vector
// waits for the previous one's hold registers and the blocks before it for the block.
TEST(RtlCosim, PrefillTokensAndCyclesEqualThePureSystemCRun) {
  NEED_TINY_MHA(m);
  rtl::register_rtl_cosim();
  const std::vector<std::vector<int32_t>> prompts = {{1, 5, 9, 42, 100, 7}};
  sim::SimOptions o = functional_options(m->qm, prompts);
  const auto req = same_requests(1, 6, 6);
  const nlohmann::json pure = run_in_child(m->weights.config_, cosim_chip(), req, o);
  o.rtl_layer_ = 0;
  const nlohmann::json rtl = run_in_child(m->weights.config_, cosim_chip(), req, o);
  expect_same_run(pure, rtl);
  GoldenModel g(m->qm, 12);
  EXPECT_EQ(rtl["users"][0]["generated"].get<std::vector<int32_t>>(), g.generate(prompts[0], 6));
  std::printf("prefill 6 + decode 6: %lld cycles both\n",
              static_cast<long long>(rtl["cycles"].get<int64_t>()));
}

// Two users with prompts: their prefills and decodes interleave in the pipeline.
TEST(RtlCosim, TwoUsersPrefillAndDecodeEqualThePureSystemCRun) {
  NEED_TINY_MHA(m);
  rtl::register_rtl_cosim();
  const std::vector<std::vector<int32_t>> prompts = {{3, 1, 4, 1, 5}, {9, 2, 6}};
  sim::SimOptions o = functional_options(m->qm, prompts);
  const auto req = same_requests(2, 5, 4);
  const nlohmann::json pure = run_in_child(m->weights.config_, cosim_chip(), req, o);
  o.rtl_layer_ = 0;
  const nlohmann::json rtl = run_in_child(m->weights.config_, cosim_chip(), req, o);
  expect_same_run(pure, rtl);
}

TEST(RtlCosim, VcdOfTheCosimulatedLayerIsWellFormed) {
  NEED_TINY_MHA(m);
  rtl::register_rtl_cosim();
  const std::string path =
      (std::filesystem::temp_directory_path() / ("hw_cosim_" + std::to_string(getpid()) + ".vcd"))
          .string();
  sim::SimOptions o = functional_options(m->qm, {{1, 5, 9}});
  o.rtl_layer_ = 0;
  o.rtl_vcd_path_ = path;
  const nlohmann::json r = run_in_child(m->weights.config_, cosim_chip(), same_requests(1, 3, 2), o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  test::expect_well_formed_vcd(path, {"in_valid", "in_ready", "out_valid", "out_ready", "clk"});
  std::filesystem::remove(path);
}

TEST(RtlCosim, RequestsThisBuildCannotServeAreClearErrors) {
  NEED_TINY_MHA(m);
  rtl::register_rtl_cosim();
  sim::SimOptions o = functional_options(m->qm, {{1, 2}});
  o.rtl_layer_ = 1;
  nlohmann::json r = run_in_child(m->weights.config_, cosim_chip(), same_requests(1, 2, 1), o);
  ASSERT_TRUE(r.contains("error"));
  EXPECT_NE(r["error"].get<std::string>().find("no Verilated RTL for layer 1"), std::string::npos)
      << r["error"];
  EXPECT_NE(r["error"].get<std::string>().find("hardwire rtl generate"), std::string::npos);
  o.rtl_layer_ = 0;
  r = run_in_child(m->weights.config_, cosim_chip({"chip.ffn_down.input_lanes=8"}),
                   same_requests(1, 2, 1), o);
  ASSERT_TRUE(r.contains("error"));
  EXPECT_NE(r["error"].get<std::string>().find("--set chip.ffn_down.input_lanes=16"),
            std::string::npos)
      << r["error"];
  o.rtl_layer_ = 7;
  r = run_in_child(m->weights.config_, cosim_chip(), same_requests(1, 2, 1), o);
  ASSERT_TRUE(r.contains("error"));
  EXPECT_NE(r["error"].get<std::string>().find("layers 0..1"), std::string::npos) << r["error"];
}

}  // namespace
}  // namespace hw
