// Co-simulation (docs/rtl.md "Co-simulation"), for every oracle model whose layer 0 this build
// verilates (tiny-mha, tiny-gqa-s with 8 query / 2 kv heads, tiny-trained-a) at w4a8, on a chip
// with the RTL's matrix structure: once as the pure cycle-level SystemC chip and once with layer
// 0's matrix blocks (qkv, o_proj, ffn_gate_up, ffn_down) replaced by the Verilated RTL on the
// same chunk channels. For decode and prefill with one and two users, the generated tokens must
// be the golden model's in both runs, and every timing figure (cycles, per-user admission,
// first-token and last-token times, decode rate) must be equal. The VCD of the co-simulated
// blocks' pins must be a well-formed VCD (header, scopes, value changes). A request the build
// cannot serve (another layer, numerics or model, a chip structure unlike the RTL's) is an
// error saying how to get it. The same through the `hardwire simulate --rtl layer=0` command.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
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
#include "tests/cli/cli_test_util.h"
#include "rtl_models.h"
#include "vcd_check.h"

namespace hw {
namespace {

using rtltest::cosim_chip;
using rtltest::oracle_path;
using test::run_in_child;
using test::same_requests;

struct Fixture {
  ModelWeights weights;
  QuantizedModel qm;
};

// The oracle model `name` at w4a8 (the Verilated layers' numerics), once per process.
const Fixture* oracle(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Fixture>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second.get();
  if (!std::filesystem::exists(oracle_path(name + ".gguf"))) return nullptr;
  auto f = std::make_unique<Fixture>();
  f->weights = load_weights(oracle_path(name + ".gguf"));
  f->qm = quantize_model(f->weights, load_numerics_profile("w4a8"));
  return (cache[name] = std::move(f)).get();
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

#define NEED_ORACLE(var, name)                                               \
  const Fixture* var = oracle(name);                                         \
  if (!var) GTEST_SKIP() << "oracle model " << oracle_path(std::string(name) + ".gguf") << " missing"

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

// Runs `prompts` (each user generating n_new tokens) as the pure SystemC chip and with layer 0
// co-simulated; checks both runs are equal and every user's tokens are the golden model's.
void expect_cosim_equals_pure(const std::string& model,
                              const std::vector<std::vector<int32_t>>& prompts, int64_t n_new) {
  SCOPED_TRACE(model);
  const Fixture* m = oracle(model);
  ASSERT_NE(m, nullptr);
  rtl::register_rtl_cosim();
  sim::SimOptions o = functional_options(m->qm, prompts);
  // Equal prompt lengths per run: same_requests gives every user the same shape.
  const auto req = same_requests(int64_t(prompts.size()), int64_t(prompts[0].size()), n_new);
  const nlohmann::json pure = run_in_child(m->weights.config_, cosim_chip(), req, o);
  o.rtl_layer_ = 0;
  const nlohmann::json rtl = run_in_child(m->weights.config_, cosim_chip(), req, o);
  expect_same_run(pure, rtl);
  for (size_t u = 0; u < prompts.size(); ++u) {
    GoldenModel g(m->qm, int64_t(prompts[u].size()) + n_new);
    EXPECT_EQ(rtl["users"][u]["generated"].get<std::vector<int32_t>>(),
              g.generate(prompts[u], n_new))
        << "user " << u;
  }
  std::printf("%s co-simulation, %zu user(s), prompt %zu + %lld new: %lld cycles in both runs\n",
              model.c_str(), prompts.size(), prompts[0].size(), static_cast<long long>(n_new),
              static_cast<long long>(rtl["cycles"].get<int64_t>()));
}

class RtlCosimModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!oracle(GetParam())) {
      GTEST_SKIP() << "oracle model " << oracle_path(GetParam() + ".gguf") << " missing";
    }
  }
};

// One user, one token in flight at a time (a 1-token prompt, then decode): no matrix block
// has a vector waiting for its hold registers.
TEST_P(RtlCosimModel, DecodeOneUserEqualsThePureSystemCRun) {
  expect_cosim_equals_pure(GetParam(), {{42}}, 8);
}

// Two users decoding: their tokens share the pipeline.
TEST_P(RtlCosimModel, DecodeTwoUsersEqualsThePureSystemCRun) {
  expect_cosim_equals_pure(GetParam(), {{3}, {9}}, 6);
}

// Prefill: prompt tokens follow each other through the matrix blocks, so a block's next vector
// waits for the previous one's hold registers and the blocks before it for the block.
TEST_P(RtlCosimModel, PrefillOneUserEqualsThePureSystemCRun) {
  expect_cosim_equals_pure(GetParam(), {{1, 5, 9, 42, 100, 7}}, 6);
}

// Two users with prompts: their prefills and decodes interleave in the pipeline.
TEST_P(RtlCosimModel, PrefillTwoUsersEqualsThePureSystemCRun) {
  expect_cosim_equals_pure(GetParam(), {{3, 1, 4, 1, 5}, {9, 2, 6, 5, 3}}, 4);
}

// Layer 0 is all RTL: the VCD has a scope for each of its RTL blocks (so each block's Verilated
// module, the attention unit included, did replace the SystemC one).
TEST_P(RtlCosimModel, VcdHoldsEveryRtlBlockOfTheLayer) {
  const Fixture* m = oracle(GetParam());
  rtl::register_rtl_cosim();
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("hw_cosim_" + GetParam() + "_" + std::to_string(getpid()) + ".vcd"))
                               .string();
  sim::SimOptions o = functional_options(m->qm, {{1, 5, 9}});
  o.rtl_layer_ = 0;
  o.rtl_vcd_path_ = path;
  const nlohmann::json r = run_in_child(m->weights.config_, cosim_chip(), same_requests(1, 3, 2), o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  test::expect_well_formed_vcd(path, {"clk", "in_valid", "in_ready", "out_valid", "out_ready",
                                      "kw_in_valid", "at_out_valid"});
  std::ifstream in(path);
  std::set<std::string> scopes;
  for (std::string line; std::getline(in, line) && line.find("$enddefinitions") == std::string::npos;) {
    std::istringstream ls(line);
    std::string tok, kind, name;
    ls >> tok >> kind >> name;
    if (tok == "$scope" && name.rfind("chip.", 0) == 0) scopes.insert(name);
  }
  EXPECT_EQ(scopes, (std::set<std::string>{
                        "chip.L00_attn_norm.attn_norm", "chip.L00_qkv.attn_q",
                        "chip.L00_qkv.attn_k", "chip.L00_qkv.attn_v", "chip.L00_rope.rope",
                        "chip.L00_attention_unit_rtl", "chip.L00_o_proj.attn_output",
                        "chip.L00_ffn_norm.ffn_norm", "chip.L00_ffn_gate_up.ffn_gate",
                        "chip.L00_ffn_gate_up.ffn_up", "chip.L00_activation.activation",
                        "chip.L00_ffn_down.ffn_down"}));
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(OracleModels, RtlCosimModel,
                         ::testing::Values("tiny-mha", "tiny-gqa-s", "tiny-trained-a"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(RtlCosim, EveryOracleModelHasAVerilatedLayer) {
  std::set<std::string> models;
  for (const rtl::CosimLayerInfo& l : rtl::cosim_layers()) {
    models.insert(l.model_);
    EXPECT_TRUE(std::filesystem::exists(std::string(HARDWIRE_SOURCE_DIR_STR) + "/rtl/gen/" +
                                        l.dir_))
        << l.dir_;
  }
  EXPECT_EQ(models, (std::set<std::string>{"tiny-mha", "tiny-gqa-s", "tiny-trained-a"}));
  EXPECT_NE(rtl::cosim_available().find("tiny-gqa-s w4a8 layer 0"), std::string::npos);
}

TEST(RtlCosim, RequestsThisBuildCannotServeAreClearErrors) {
  NEED_ORACLE(m, "tiny-gqa-s");
  rtl::register_rtl_cosim();
  sim::SimOptions o = functional_options(m->qm, {{1, 2}});
  auto error_of = [&](const ModelConfig& mc, const ChipConfig& chip) {
    const nlohmann::json r = run_in_child(mc, chip, same_requests(1, 2, 1), o);
    EXPECT_TRUE(r.contains("error")) << r.dump();
    return r.contains("error") ? r["error"].get<std::string>() : std::string();
  };
  o.rtl_layer_ = 1;
  std::string e = error_of(m->weights.config_, cosim_chip());
  EXPECT_NE(e.find("no Verilated RTL for layer 1 of tiny-gqa-s"), std::string::npos) << e;
  EXPECT_NE(e.find("hardwire rtl generate"), std::string::npos) << e;
  EXPECT_NE(e.find("--module-prefix"), std::string::npos) << e;
  EXPECT_NE(e.find("tiny-trained-a w4a8 layer 0"), std::string::npos) << e;
  o.rtl_layer_ = 0;
  e = error_of(m->weights.config_, cosim_chip({"chip.ffn_down.input_lanes=8"}));
  EXPECT_NE(e.find("--set chip.ffn_down.input_lanes=16"), std::string::npos) << e;
  o.rtl_layer_ = 7;
  e = error_of(m->weights.config_, cosim_chip());
  EXPECT_NE(e.find("layers 0..2"), std::string::npos) << e;
  // Another numerics profile: the modules hold the w4a8 weights.
  const QuantizedModel w8 = quantize_model(m->weights, load_numerics_profile("w8a8"));
  o = functional_options(w8, {{1, 2}});
  o.rtl_layer_ = 0;
  e = error_of(m->weights.config_, cosim_chip());
  EXPECT_NE(e.find("no Verilated RTL of tiny-gqa-s layer 0 at numerics w8a8"), std::string::npos)
      << e;
  // A model without RTL (timing mode: same shape, another name).
  o = functional_options(m->qm, {});
  o.functional_model_ = nullptr;
  o.rtl_layer_ = 0;
  ModelConfig other = m->weights.config_;
  other.name_ = "tiny-gqa-s-copy";
  e = error_of(other, cosim_chip());
  EXPECT_NE(e.find("no Verilated RTL for model tiny-gqa-s-copy"), std::string::npos) << e;
}

// Timing mode (no golden model): the RTL computes on zeros, the cycles are still the pure run's.
TEST(RtlCosim, TimingModeCyclesEqualThePureSystemCRun) {
  NEED_ORACLE(m, "tiny-trained-a");
  rtl::register_rtl_cosim();
  sim::SimOptions o = functional_options(m->qm, {});
  o.functional_model_ = nullptr;
  const auto req = same_requests(2, 4, 3);
  const nlohmann::json pure = run_in_child(m->weights.config_, cosim_chip(), req, o);
  o.rtl_layer_ = 0;
  const nlohmann::json rtl = run_in_child(m->weights.config_, cosim_chip(), req, o);
  ASSERT_FALSE(pure.contains("error")) << pure.dump();
  ASSERT_FALSE(rtl.contains("error")) << rtl.dump();
  EXPECT_EQ(rtl["cycles"], pure["cycles"]);
  for (const char* k : {"ttft_s", "inter_token_latency_s"}) EXPECT_EQ(rtl[k], pure[k]) << k;
}

// The command a user runs (README, docs/rtl.md): `hardwire simulate --level cycle --rtl layer=0`
// gives the pure run's tokens and cycles, writes the VCD, and a layer this build lacks is an
// error (exit 2) saying how to generate it.
TEST(RtlCosim, CliSimulateRtlLayerEqualsThePureRun) {
  NEED_ORACLE(m, "tiny-trained-a");
  std::string args = "simulate --model '" + oracle_path("tiny-trained-a.gguf") +
                     "' --numerics w4a8 --functional --tokens 65,110,32 --gen 3 --level cycle "
                     "--set chip.buffers.chunk_elements=16 --set chip.norm.elements_per_cycle=16 "
                     "--set chip.rope.elements_per_cycle=16 "
                     "--set chip.activation.elements_per_cycle=16 "
                     "--set chip.attention.kv_sram.bank_width=128B";
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down"}) {
    args += std::string(" --set chip.") + b + ".input_lanes=16 --set chip." + b +
            ".output_lanes=4";
  }
  const std::string vcd =
      (std::filesystem::temp_directory_path() / ("hw_cli_cosim_" + std::to_string(getpid()) + ".vcd"))
          .string();
  const test::RunResult pure = test::run_hardwire(args + " --json");
  const test::RunResult rtl = test::run_hardwire(args + " --rtl layer=0 --rtl-vcd " + vcd + " --json");
  ASSERT_EQ(pure.exit_code_, 0) << pure.output_;
  ASSERT_EQ(rtl.exit_code_, 0) << rtl.output_;
  const nlohmann::json p = nlohmann::json::parse(pure.output_);
  const nlohmann::json r = nlohmann::json::parse(rtl.output_);
  EXPECT_EQ(r["cycles"], p["cycles"]);
  EXPECT_EQ(r["users"][0]["generated"], p["users"][0]["generated"]);
  EXPECT_EQ(r["ttft_s"], p["ttft_s"]);
  GoldenModel g(m->qm, 6);
  EXPECT_EQ(r["users"][0]["generated"].get<std::vector<int32_t>>(), g.generate({65, 110, 32}, 3));
  test::expect_well_formed_vcd(vcd, {"in_valid", "out_ready", "clk"});
  std::filesystem::remove(vcd);
  const test::RunResult missing = test::run_hardwire(args + " --rtl layer=3", true);
  EXPECT_EQ(missing.exit_code_, 2) << missing.output_;
  EXPECT_NE(missing.output_.find("no Verilated RTL for layer 3 of tiny-trained-a"), std::string::npos)
      << missing.output_;
  EXPECT_NE(missing.output_.find("--module-prefix"), std::string::npos) << missing.output_;
}

}  // namespace
}  // namespace hw
