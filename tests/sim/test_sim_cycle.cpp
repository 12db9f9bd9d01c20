// The cycle level of the SystemC chip model (--level cycle, sim/cycle_chip.h): functional mode
// gives exactly the golden model's tokens (what `hardwire emulate` prints) on the llama.cpp
// oracle models and synthetic ones, one user and several interleaved users, with a shared
// prefix and on a chip whose KV memory makes users wait; timing from block structure agrees with
// the token level where the token level's closed forms apply; KV traffic is counted per bank
// and single-ported banks show conflicts that dual-ported banks do not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using test::run_in_child;
using test::same_requests;
using test::sim_tiny_chip;
using test::sim_tiny_model;
using test::timing_options;

std::string oracle(const std::string& file) {
  return std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + file;
}

sim::SimOptions cycle_options(sim::SimOptions o = timing_options()) {
  o.level_ = sim::SimLevel::kCycle;
  return o;
}

void expect_same_tokens_cycle(const ModelWeights& weights, const std::string& numerics,
                              const ChipConfig& chip,
                              const std::vector<std::vector<int32_t>>& prompts, int64_t users,
                              int64_t n_new, int64_t shared_prefix = 0) {
  const NumericsProfile profile = load_numerics_profile(numerics);
  const QuantizedModel q = quantize_model(weights, profile);
  sim::SimOptions o;
  o.level_ = sim::SimLevel::kCycle;
  o.weight_bits_ = profile.mean_weight_bits(weights.config_);
  o.kv_bits_ = profile.kv_bits();
  o.functional_model_ = &q;
  o.prompts_ = prompts;
  const nlohmann::json r =
      run_in_child(weights.config_, chip, same_requests(users, 1, n_new, shared_prefix), o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  ASSERT_EQ(r["level"], "cycle");
  ASSERT_EQ(r["mode"], "functional");
  ASSERT_EQ(r["users"].size(), static_cast<size_t>(users));
  for (int64_t u = 0; u < users; ++u) {
    SCOPED_TRACE("user " + std::to_string(u));
    const auto& prompt = prompts[static_cast<size_t>(u) % prompts.size()];
    GoldenModel g(q, static_cast<int64_t>(prompt.size()) + n_new);
    EXPECT_EQ(r["users"][static_cast<size_t>(u)]["generated"].get<std::vector<int32_t>>(),
              g.generate(prompt, n_new));
  }
}

ChipConfig hc1() { return load_chip_config("hc1-like", {}); }

TEST(SimCycle, OracleMhaOneUserMatchesGolden) {
  const ModelWeights w = load_weights(oracle("tiny-mha.gguf"));
  expect_same_tokens_cycle(w, "w8a8", hc1(), {{1, 5, 9, 42, 100, 7}}, 1, 12);
}

TEST(SimCycle, OracleGqaSeveralUsersMatchGolden) {
  const ModelWeights w = load_weights(oracle("tiny-gqa-s.gguf"));
  expect_same_tokens_cycle(w, "hc1-mix", hc1(), {{1, 5, 9}, {7, 3}, {100, 200, 3, 4, 17, 250}},
                           4, 8);
}

TEST(SimCycle, SyntheticSharedPrefixAndWaitingUsersMatchGolden) {
  const ModelWeights w = synthetic_weights(load_model_config("tiny-llama"), 11);
  expect_same_tokens_cycle(w, "w4a8", hc1(),
                           {{3, 1, 4, 1, 5, 9}, {3, 1, 4, 1, 2}, {3, 1, 4, 1, 7, 7, 7}}, 3, 6, 4);
  // The tiny chip's KV memory holds 100 positions: users wait for admission and run in waves,
  // on single-ported banks (KV writes steal read ports).
  ChipConfig small = sim_tiny_chip({"chip.rom.capacity=8 Mbit",
                                    "chip.attention.kv_sram.ports_per_bank=1"});
  expect_same_tokens_cycle(synthetic_weights(load_model_config("tiny-llama"), 5), "w8a8", small,
                           {{10, 20, 30, 40}, {50, 60}}, 5, 12);
}

// One user, decode: the token level's per-token latency is the sum of block latencies with each
// block waiting for its whole input; the cycle level streams chunks, so a block starts on its
// first chunk and the cycle level is faster, never slower, and within the overlap the chunking
// allows.
TEST(SimCycle, OneUserTimingIsCloseToTheTokenLevel) {
  const nlohmann::json c =
      run_in_child(sim_tiny_model(), sim_tiny_chip(), same_requests(1, 8, 16), cycle_options());
  const nlohmann::json t =
      run_in_child(sim_tiny_model(), sim_tiny_chip(), same_requests(1, 8, 16), timing_options());
  ASSERT_FALSE(c.contains("error")) << c.dump();
  ASSERT_FALSE(t.contains("error")) << t.dump();
  EXPECT_EQ(c["tokens_generated"], 16);
  EXPECT_EQ(c["blocks"]["qkv"]["instances"], 2);
  EXPECT_EQ(c["blocks"]["qkv"]["tokens"], 2 * (8 + 15));
  EXPECT_EQ(c["blocks"]["sampler"]["tokens"], 16);
  const double ct = c["inter_token_latency_s"]["p50"], tt = t["inter_token_latency_s"]["p50"];
  std::printf("inter-token latency: cycle %.3f us, token %.3f us\n", ct * 1e6, tt * 1e6);
  EXPECT_GT(ct, 0.5 * tt);
  EXPECT_LT(ct, 1.2 * tt);
}

TEST(SimCycle, KvTrafficIsCountedPerBank) {
  // 1 layer, 10-token prompt: every position's K and V are Wp = 8 words written once per layer,
  // and attention at context L reads 8L words.
  ModelConfig model = sim_tiny_model();
  model.n_layers_ = 1;
  const int64_t prompt = 10, gen = 3;
  // One query per sweep (no prefill tiling: tests/sim/test_kv_tiling.cpp has it).
  const std::vector<std::string> single = {"chip.attention.kv_sram.ports_per_bank=1",
                                           "chip.attention.query_tile=1"};
  const nlohmann::json one =
      run_in_child(model, sim_tiny_chip(single), same_requests(1, prompt, gen), cycle_options());
  const nlohmann::json two = run_in_child(model, sim_tiny_chip({"chip.attention.query_tile=1"}),
                                          same_requests(1, prompt, gen), cycle_options());
  ASSERT_FALSE(one.contains("error")) << one.dump();
  ASSERT_FALSE(two.contains("error")) << two.dump();
  const int64_t positions = prompt + gen - 1;
  EXPECT_EQ(two["kv_banks"]["writes"], 8 * positions);
  EXPECT_EQ(two["kv_banks"]["reads"], 8 * positions * (positions + 1) / 2);
  EXPECT_EQ(two["kv_banks"]["writes_per_bank"].size(), 4u);
  EXPECT_EQ(two["kv_banks"]["conflicts"], 0);
  // Prompt tokens stream back to back: single-ported banks see writes during sweeps.
  EXPECT_GT(one["kv_banks"]["conflicts"].get<int64_t>(), 0);
  EXPECT_EQ(one["kv_banks"]["reads"], two["kv_banks"]["reads"]);
  EXPECT_GE(one["ttft_s"]["p50"].get<double>(), two["ttft_s"]["p50"].get<double>());
}

TEST(SimCycle, EveryCycleOfEveryBlockIsAccountedFor) {
  const nlohmann::json r =
      run_in_child(sim_tiny_model(), sim_tiny_chip(), same_requests(3, 6, 5), cycle_options());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["tokens_generated"], 15);
  const int64_t cycles = r["cycles"];
  for (const auto& [name, b] : r["blocks"].items()) {
    SCOPED_TRACE(name);
    int64_t sum = b["busy_cycles"];
    for (const auto& [reason, c] : r["stall_cycles"][name].items()) sum += c.get<int64_t>();
    EXPECT_GE(sum, b["instances"].get<int64_t>() * cycles);
  }
}

TEST(SimCycle, KvInDramRuns) {
  const std::vector<std::string> dram = {"chip.attention.kv_memory=dram",
                                         "chip.attention.kv_dram.capacity=1 MiB",
                                         "chip.attention.kv_dram.bandwidth=800 MB/s",
                                         "chip.attention.kv_dram.latency=100 ns",
                                         "chip.attention.query_tile=1"};
  const nlohmann::json r =
      run_in_child(sim_tiny_model(), sim_tiny_chip(dram), same_requests(2, 6, 5), cycle_options());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["tokens_generated"], 10);
  // Every position's K and V written once per layer, every sweep reads its whole context.
  const int64_t positions = 6 + 5 - 1;
  const double per_position = 64;  // 2R bytes at 8-bit KV
  const double expect = 2 * 2 * per_position * (positions + positions * (positions + 1) / 2.0);
  EXPECT_NEAR(r["kv_dram_bytes"].get<double>(), expect, 1e-6 * expect);
}

}  // namespace
}  // namespace hw

namespace hw {
namespace {

// Llama 3.1 8B on hc1-like, one user, a short run at the cycle level: every block instance of
// the 32 layers as a process; inter-token latency and TTFT against the token level, whose
// streaming closed forms (chip/mapping.h) agree within 2% (without prefill query tiling, which
// the token level does not model).
TEST(SimCycle, Llama8bShortRunOnHc1Like) {
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const ChipConfig chip = load_chip_config("hc1-like", {"chip.attention.query_tile=1"});
  sim::SimOptions o = test::timing_options();
  const nlohmann::json c = run_in_child(model, chip, same_requests(1, 4, 4), cycle_options(o));
  const nlohmann::json t = run_in_child(model, chip, same_requests(1, 4, 4), o);
  ASSERT_FALSE(c.contains("error")) << c.dump();
  ASSERT_FALSE(t.contains("error")) << t.dump();
  EXPECT_EQ(c["tokens_generated"], 4);
  EXPECT_EQ(c["blocks"]["qkv"]["instances"], 32);
  const double ct = c["inter_token_latency_s"]["mean"], tt = t["inter_token_latency_s"]["mean"];
  const double cf = c["ttft_s"]["mean"], tf = t["ttft_s"]["mean"];
  std::printf("8B inter-token latency: cycle %.3f us, token %.3f us; TTFT cycle %.3f us, token "
              "%.3f us; wall %.2f s\n",
              ct * 1e6, tt * 1e6, cf * 1e6, tf * 1e6, c["wall_s"].get<double>());
  EXPECT_NEAR(tt, ct, 0.02 * ct);
  EXPECT_NEAR(tf, cf, 0.02 * cf);
}

}  // namespace
}  // namespace hw
