// Timing of the SystemC chip model against expectations computed by hand from the block table
// of sim_test_util.h (tiny model on a tiny 100 MHz chip): one user's per-token latency is the
// sum of the block latencies on its path, aggregate throughput saturates at one token per
// service time of the slowest block, attention time grows linearly with the context, admission
// stops when the KV SRAM is full, and single-ported banks cost exactly the configured penalty
// per colliding write. Every simulation runs in its own child process (run_in_child).
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "chip/mapping.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using test::cycles_of;
using test::run_in_child;
using test::same_requests;
using test::sim_tiny_chip;
using test::sim_tiny_model;
using test::timing_options;

// Token at context L: 263 + 4L cycles (sim_test_util.h).
int64_t hand_latency(int64_t context) { return 263 + 4 * context; }

TEST(SimTiming, MappingAgreesWithTheHandTable) {
  const ChipMapping m = map_model(sim_tiny_model(), sim_tiny_chip(), 4.0, 8);
  for (int64_t L : {1, 6, 50}) EXPECT_EQ(m.token_latency_cycles(L), hand_latency(L)) << L;
  EXPECT_EQ(m.kv_positions_, 100);
}

TEST(SimTiming, SingleUserLatencyIsTheSumOfBlockLatencies) {
  // Prompt 5, 4 outputs: the 2nd..4th outputs come from fed-back tokens at positions 5, 6, 7,
  // i.e. contexts 6, 7, 8: inter-token latencies 287, 291, 295 cycles, nothing else in the chip.
  const nlohmann::json r =
      run_in_child(sim_tiny_model(), sim_tiny_chip(), same_requests(1, 5, 4), timing_options());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const auto& itl = r["inter_token_latency_s"];
  EXPECT_EQ(itl["count"], 3);
  EXPECT_NEAR(cycles_of(itl["p50"].get<double>()), 291, 1e-6);
  EXPECT_NEAR(cycles_of(itl["p99"].get<double>()), 295, 1e-6);
  EXPECT_NEAR(cycles_of(itl["mean"].get<double>()), 291, 1e-6);
  EXPECT_NEAR(r["tokens_per_s_per_user"].get<double>(), 3 * 1e8 / (287.0 + 291 + 295), 1e-3);
  // Time to first token: prompt tokens 0..4 stream in and queue at the slowest block,
  // ffn_gate_up of layer 0 (S 20), with chunk-level back-pressure in front of it; the cycle
  // level (cycle_chip.h, without prefill query tiling, which the token level does not model)
  // is the reference for that.
  sim::SimOptions cycle = timing_options();
  cycle.level_ = sim::SimLevel::kCycle;
  const nlohmann::json c = run_in_child(sim_tiny_model(),
                                        sim_tiny_chip({"chip.attention.query_tile=1"}),
                                        same_requests(1, 5, 4), cycle);
  ASSERT_FALSE(c.contains("error")) << c.dump();
  EXPECT_NEAR(r["ttft_s"]["p50"].get<double>(), c["ttft_s"]["p50"].get<double>(), 1e-9);
  // The first output leaves the chip 1 us (100 cycles, the host link) before the TTFT, then one
  // pass per fed-back token.
  const int64_t first_out = std::llround(cycles_of(r["ttft_s"]["p50"].get<double>())) - 100;
  EXPECT_EQ(r["cycles"], first_out + 287 + 291 + 295);
  EXPECT_EQ(r["tokens_generated"], 4);
  EXPECT_EQ(r["prompt_tokens_computed"], 5);
}

TEST(SimTiming, ThroughputSaturatesAtTheSlowestBlock) {
  // 64 banks: attention S = max(ceil(8L/64), ceil(128L/1024), ceil(4L/16)) <= 10 for L <= 40,
  // and kv_write S = 1, so ffn_gate_up (S 20) is the slowest block: at most 1e8 / 20 = 5e6
  // tokens/s. A token needs ~250-400 cycles, so ~16 users saturate the chip.
  // 256 KiB of KV: 2048 positions per engine, room for all 32 users of 40 positions.
  const ChipConfig chip = sim_tiny_chip(
      {"chip.attention.kv_sram.banks=64", "chip.attention.kv_sram.capacity=256 KiB"});
  const double cap = 1e8 / 20.0;
  double previous = 0.0;
  for (int64_t users : {1, 2, 4, 8, 16, 32}) {
    SCOPED_TRACE(users);
    const nlohmann::json r =
        run_in_child(sim_tiny_model(), chip, same_requests(users, 1, 40), timing_options());
    ASSERT_FALSE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["users_admitted"], users);
    const double total = r["tokens_per_s_total"];
    EXPECT_LE(total, cap);
    EXPECT_GE(total, previous * 0.999);  // more users never lower the throughput
    previous = total;
    if (users == 32) {
      // Saturated: the pipeline emits one token every 20 cycles, round robin over the users,
      // so every user waits exactly 32 * 20 = 640 cycles between its tokens.
      EXPECT_NEAR(cycles_of(r["inter_token_latency_s"]["p50"].get<double>()), 640, 1e-6);
      EXPECT_GT(total, 0.95 * cap);  // only the first and last tokens are below the rate
      // Between the 10% and 90% marks of the outputs the rate is the pipeline's (within 0.1%): the
      // ramp and the drain tail are outside the window.
      EXPECT_NEAR(r["steady_tokens_per_s"].get<double>(), cap, 1e-3 * cap);
      EXPECT_GT(r["steady_tokens_per_s"].get<double>(), total);
      EXPECT_LT(r["steady_window_s"][0].get<double>(), r["steady_window_s"][1].get<double>());
      EXPECT_EQ(r["bottleneck_block"], "ffn_gate_up");
      EXPECT_GT(r["utilization"]["ffn_gate_up"].get<double>(), 0.95 / 2);  // 2 layers share it
    }
  }
}

TEST(SimTiming, AttentionTimeGrowsLinearlyWithContext) {
  // One user, 2 outputs: the single inter-token latency is the pass at context P + 1.
  std::vector<double> latency;
  for (int64_t prompt : {10, 30, 70}) {
    const nlohmann::json r = run_in_child(sim_tiny_model(), sim_tiny_chip(),
                                          same_requests(1, prompt, 2), timing_options());
    ASSERT_FALSE(r.contains("error")) << r.dump();
    latency.push_back(cycles_of(r["inter_token_latency_s"]["p50"].get<double>()));
    EXPECT_NEAR(latency.back(), hand_latency(prompt + 1), 1e-6) << prompt;
    if (prompt == 10) {
      // Busy cycles of the attention engines: contexts 1..11, 2L each, in both layers.
      EXPECT_EQ(r["blocks"]["attention"]["busy_cycles"], 2 * 2 * (11 * 12 / 2));
    }
  }
  // 2 cycles per position per layer: +80 cycles for 20 more positions, +160 for 40.
  EXPECT_NEAR(latency[1] - latency[0], 80, 1e-6);
  EXPECT_NEAR(latency[2] - latency[1], 160, 1e-6);
}

TEST(SimTiming, AdmissionStopsWhenKvSramIsFull) {
  // 100 positions per engine; a user with prompt 20 and 11 outputs writes 20 + 10 = 30
  // positions, so 3 users fit (90) and the others wait until one leaves. A 5th request of
  // prompt 90 and 12 outputs needs 101 positions and can never fit: rejected.
  std::vector<UserRequest> requests = same_requests(8, 20, 11);
  UserRequest big;
  big.id_ = 8;
  big.prompt_tokens_ = 90;
  big.output_tokens_ = 12;
  requests.push_back(big);
  const nlohmann::json r =
      run_in_child(sim_tiny_model(), sim_tiny_chip(), requests, timing_options());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["users_admitted"], 8);
  EXPECT_EQ(r["users_rejected"], 1);
  EXPECT_TRUE(r["users"][8]["rejected"].get<bool>());
  EXPECT_EQ(r["peak_concurrent_users"], 3);
  EXPECT_EQ(r["kv_peak_positions_per_layer"], 90);
  // 90 positions x 8 words x 8 B x 2 layers.
  EXPECT_EQ(r["kv_sram_peak_bytes"], 90 * 8 * 8 * 2);
  EXPECT_EQ(r["kv_capacity_bytes"], 12800);
  EXPECT_EQ(r["max_context_tokens"], 100 / 9);  // 9 users resident at once
  EXPECT_EQ(r["max_context_tokens_1_user"], 100);
  EXPECT_EQ(r["max_users_at_context"], 3);
  // The 4th user is admitted only when one of the first three has left.
  double first_finish = 1e9;
  for (int i = 0; i < 3; ++i) {
    first_finish = std::min(first_finish, r["users"][i]["finished_s"].get<double>());
  }
  EXPECT_GE(r["users"][3]["admitted_s"].get<double>(), first_finish);
  EXPECT_EQ(r["tokens_generated"], 8 * 11);
}

// One layer (so the count is exact), every block but attention nearly free, 2 banks: attention
// sweeps 4L cycles, kv_write takes ceil(8/2) = 4, and the prompt tokens queue in front of the
// attention engine. With single-ported banks every prompt token's KV write after the first lands
// during an earlier token's sweep: its ceil(Wp/B) = 4 write cycles take the single ports, so the
// sweep loses 4 cycles each.
// Decode tokens arrive after their predecessor left the chip: no conflict.
TEST(SimTiming, BankConflictsCostWhatTheConfigSays) {
  ModelConfig model = sim_tiny_model();
  model.n_layers_ = 1;
  const std::vector<std::string> fast = {
      "chip.attention.kv_sram.banks=2", "chip.embedding.lookup_cycles=1",
      "chip.norm.elements_per_cycle=64", "chip.qkv.input_lanes=64",
      "chip.rope.elements_per_cycle=96", "chip.o_proj.input_lanes=64",
      "chip.ffn_gate_up.input_lanes=64", "chip.ffn_gate_up.output_mux=1",
      "chip.activation.elements_per_cycle=128",
      "chip.ffn_down.input_lanes=128",   "chip.lm_head.input_lanes=64",
      "chip.sampler.elements_per_cycle=256"};
  std::vector<std::string> single = fast;
  single.push_back("chip.attention.kv_sram.ports_per_bank=1");
  const int64_t prompt = 10;
  const nlohmann::json one =
      run_in_child(model, sim_tiny_chip(single), same_requests(1, prompt, 3), timing_options());
  const nlohmann::json two =
      run_in_child(model, sim_tiny_chip(fast), same_requests(1, prompt, 3), timing_options());
  ASSERT_FALSE(one.contains("error")) << one.dump();
  ASSERT_FALSE(two.contains("error")) << two.dump();
  EXPECT_EQ(one["stall_cycles"]["attention"]["bank_conflict"], (prompt - 1) * 4);
  EXPECT_EQ(two["stall_cycles"]["attention"]["bank_conflict"], 0);
  // The sweeps themselves are the same: contexts 1..12, 4L each.
  EXPECT_EQ(one["blocks"]["attention"]["busy_cycles"], 4 * (12 * 13 / 2));
  EXPECT_EQ(two["blocks"]["attention"]["busy_cycles"], 4 * (12 * 13 / 2));
  EXPECT_GT(one["ttft_s"]["p50"].get<double>(), two["ttft_s"]["p50"].get<double>());
  // Decode steps see no conflict: the same inter-token latency on both chips.
  EXPECT_EQ(one["inter_token_latency_s"]["p50"], two["inter_token_latency_s"]["p50"]);
}

TEST(SimTiming, SharedPrefixIsComputedOnceAndStoredOnce) {
  // 3 users, prompt 20 of which 12 shared, 5 outputs. The first computes all 20 positions, the
  // others 8; KV holds 12 shared + 3 x (20 + 4 - 12) private positions.
  const nlohmann::json r = run_in_child(sim_tiny_model(), sim_tiny_chip(),
                                        same_requests(3, 20, 5, 12), timing_options());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["prompt_tokens_computed"], 20 + 8 + 8);
  EXPECT_EQ(r["users"][1]["prompt_tokens_computed"], 8);
  EXPECT_EQ(r["kv_peak_positions_per_layer"], 12 + 3 * 12);
  EXPECT_EQ(r["tokens_generated"], 15);
}

TEST(SimTiming, BlocksAccountForEveryCycle) {
  // busy + every stall reason = instances x simulated cycles, for every block.
  const nlohmann::json r = run_in_child(sim_tiny_model(), sim_tiny_chip(),
                                        same_requests(4, 6, 8), timing_options());
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const int64_t cycles = r["cycles"];
  for (const auto& [name, b] : r["blocks"].items()) {
    SCOPED_TRACE(name);
    int64_t sum = b["busy_cycles"];
    for (const auto& [reason, c] : r["stall_cycles"][name].items()) sum += c.get<int64_t>();
    EXPECT_EQ(sum, b["instances"].get<int64_t>() * cycles);
  }
  EXPECT_EQ(r["blocks"]["qkv"]["instances"], 2);
  EXPECT_EQ(r["blocks"]["sampler"]["tokens"], 4 * 8);
  EXPECT_EQ(r["blocks"]["embedding"]["tokens"], 4 * (6 + 7));
}

}  // namespace
}  // namespace hw
