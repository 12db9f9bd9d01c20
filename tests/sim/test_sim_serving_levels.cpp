// Serving policies at both simulation levels (docs/simulate.md "Serving"): the token level's
// entrance sees the pipeline's back-pressure as the cycle level's does (sim/pipeline.h), so the
// scheduler faces the same contested slots and its policy decisions (decode_first,
// prefill_first, interleaved, chunked prefill) move the token level's results as they move the
// cycle level's: the same order between policies at both levels, and each figure within a stated
// bound of the cycle level's. Every run is a child process (SystemC elaborates once).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "tests/sim/sim_test_util.h"

namespace hw::test {
namespace {

struct Serving {
  ServingPolicy policy_;
  int64_t chunk_;
};

struct Figures {
  double late_ttft_s_ = 0;
  double itl_mean_s_ = 0;
  double itl_p99_s_ = 0;
  double tokens_per_s_ = 0;
};

Figures run_at(sim::SimLevel level, Serving s, const ModelConfig& model, const ChipConfig& chip,
               const std::vector<UserRequest>& requests, size_t late_user) {
  sim::SimOptions o = timing_options();
  o.level_ = level;
  o.serving_.policy_ = s.policy_;
  o.serving_.prefill_chunk_tokens_ = s.chunk_;
  const nlohmann::json j = run_in_child(model, chip, requests, o);
  EXPECT_FALSE(j.contains("error")) << j.dump();
  if (j.contains("error")) return {};
  EXPECT_EQ(j["level"], level == sim::SimLevel::kToken ? "token" : "cycle");
  Figures f;
  f.late_ttft_s_ = j["users"][late_user]["ttft_s"].get<double>();
  f.itl_mean_s_ = j["inter_token_latency_s"]["mean"].get<double>();
  f.itl_p99_s_ = j["inter_token_latency_s"]["p99"].get<double>();
  f.tokens_per_s_ = j["tokens_per_s_total"].get<double>();
  return f;
}

double rel(double a, double b) { return std::abs(a - b) / std::abs(b); }

void expect_close(const Figures& token, const Figures& cycle, double bound, double p99_bound,
                  const std::string& what) {
  SCOPED_TRACE(what);
  std::printf("%-24s token / cycle level: late TTFT %.2f / %.2f us, ITL mean %.2f / %.2f us, "
              "ITL p99 %.2f / %.2f us, %.0f / %.0f tokens/s\n",
              what.c_str(), token.late_ttft_s_ * 1e6, cycle.late_ttft_s_ * 1e6,
              token.itl_mean_s_ * 1e6, cycle.itl_mean_s_ * 1e6, token.itl_p99_s_ * 1e6,
              cycle.itl_p99_s_ * 1e6, token.tokens_per_s_, cycle.tokens_per_s_);
  EXPECT_LE(rel(token.late_ttft_s_, cycle.late_ttft_s_), bound) << "late user's TTFT";
  EXPECT_LE(rel(token.itl_mean_s_, cycle.itl_mean_s_), bound) << "ITL mean";
  EXPECT_LE(rel(token.itl_p99_s_, cycle.itl_p99_s_), p99_bound) << "ITL p99";
  EXPECT_LE(rel(token.tokens_per_s_, cycle.tokens_per_s_), bound) << "tokens/s";
}

// Each serving at both levels (token, cycle), each pair's figures within `bound` of the cycle
// level's (ITL p99 within `p99_bound`, by default the same); the figures by level, then serving.
struct Run {
  Serving serving_;
  const char* name_;
};
std::array<std::vector<Figures>, 2> run_both_levels(const std::vector<Run>& runs,
                                                    const ModelConfig& model,
                                                    const ChipConfig& chip,
                                                    const std::vector<UserRequest>& requests,
                                                    size_t late_user, double bound,
                                                    double p99_bound = -1) {
  if (p99_bound < 0) p99_bound = bound;
  std::array<std::vector<Figures>, 2> at;
  for (size_t i = 0; i < runs.size(); ++i) {
    for (int level = 0; level < 2; ++level) {
      at[size_t(level)].push_back(run_at(level == 0 ? sim::SimLevel::kToken
                                                    : sim::SimLevel::kCycle,
                                         runs[i].serving_, model, chip, requests, late_user));
    }
    expect_close(at[0][i], at[1][i], bound, p99_bound, runs[i].name_);
  }
  return at;
}

// The tiny chip (every vector one chunk, so the back-pressure runs across tokens), 64 users
// decoding 32 tokens from 8-token prompts and a 200-token prompt arriving at 2 us that competes
// with their decode tokens for the entrance. Attention is the slowest block here, so with
// kv_write's bounded q buffer the back-pressure reaches the entrance and the slots are contested.
// Measured, token vs cycle level (late user's TTFT, ITL mean, ITL p99, us): decode_first
// 1434.28 / 1434.22, 28.45 / 28.53, 100.60 / 109.08; interleaved 644.34 / 644.32, 43.96 / 43.95,
// 224.08 / 224.08; prefill_first 515.58 / 515.58, 47.43 / 47.43, 485.28 / 485.28; prefill_first
// with chunks of 16 731.92 / 732.32, 44.26 / 44.25, 140.84 / 140.92. Everything within 0.3%
// but decode_first's ITL p99 (7.8%): it falls where the decoding users' tail meets the late
// prompt, and which of them takes a contested entrance slot differs now and then between the
// levels (single tail ITLs differ by up to 50 us either way), so p99 is held to 10%. With
// kv_write's q output unbounded (before), queries queued at attention, the entrance never
// pushed back, and decode_first gave 536.02 / 536.00, 46.57 / 46.57, 432.16 / 432.16.
TEST(SimServingLevels, TinyChipPoliciesAgreeBetweenLevels) {
  std::vector<UserRequest> requests = same_requests(64, 8, 32);
  UserRequest late;
  late.id_ = 64;
  late.arrival_s_ = 2e-6;
  late.prompt_tokens_ = 200;
  late.output_tokens_ = 2;
  requests.push_back(late);
  const ChipConfig chip = sim_tiny_chip({"chip.attention.kv_sram.capacity=1 MiB"});
  const auto at = run_both_levels({{{ServingPolicy::kDecodeFirst, 0}, "decode_first"},
                                   {{ServingPolicy::kInterleaved, 0}, "interleaved"},
                                   {{ServingPolicy::kPrefillFirst, 0}, "prefill_first"},
                                   {{ServingPolicy::kPrefillFirst, 16}, "prefill_first, chunk 16"}},
                                  sim_tiny_model(), chip, requests, 64, 0.01, 0.10);
  for (int level = 0; level < 2; ++level) {
    SCOPED_TRACE(level == 0 ? "token level" : "cycle level");
    const auto& decode = at[level][0];
    const auto& fair = at[level][1];
    const auto& prefill = at[level][2];
    const auto& chunked = at[level][3];
    // The late prompt: prefill_first first, interleaved next, decode_first far behind (the
    // entrance's slots are contested: measured 515.58, 644.34, 1434.28 us).
    EXPECT_LT(1.02 * prefill.late_ttft_s_, fair.late_ttft_s_);
    EXPECT_LT(fair.late_ttft_s_, 0.6 * decode.late_ttft_s_);
    // The decoding users: the reverse.
    EXPECT_LT(decode.itl_mean_s_, fair.itl_mean_s_);
    EXPECT_LT(fair.itl_mean_s_, prefill.itl_mean_s_);
    EXPECT_LE(0.999 * decode.itl_p99_s_, fair.itl_p99_s_);
    EXPECT_LT(fair.itl_p99_s_, prefill.itl_p99_s_);
    // Chunks let decode tokens in between: the long stall goes, the prompt pays.
    EXPECT_LT(chunked.itl_p99_s_, 0.95 * prefill.itl_p99_s_);
    EXPECT_GT(chunked.late_ttft_s_, prefill.late_ttft_s_);
  }
}

// The entrance-bound tiny chip (sim_test_util.h): the policies part widely (late TTFT 1454.63 /
// 870.61 / 462.63 us, ITL p99 14.04 / 64.66 / 386.08 us for decode_first / interleaved /
// prefill_first) and the token level gives the cycle level's figures to the cycle.
TEST(SimServingLevels, EntranceBoundPoliciesAgreeBetweenLevels) {
  const std::vector<UserRequest> requests = entrance_bound_requests();
  const ChipConfig chip = entrance_bound_chip();
  const auto at = run_both_levels({{{ServingPolicy::kDecodeFirst, 0}, "decode_first"},
                                   {{ServingPolicy::kInterleaved, 0}, "interleaved"},
                                   {{ServingPolicy::kPrefillFirst, 0}, "prefill_first"}},
                                  sim_tiny_model(), chip, requests, 16, 0.01);
  for (int level = 0; level < 2; ++level) {
    SCOPED_TRACE(level == 0 ? "token level" : "cycle level");
    const auto& decode = at[level][0];
    const auto& fair = at[level][1];
    const auto& prefill = at[level][2];
    EXPECT_LT(1.5 * prefill.late_ttft_s_, fair.late_ttft_s_);
    EXPECT_LT(fair.late_ttft_s_, 0.75 * decode.late_ttft_s_);
    EXPECT_LT(2.0 * decode.itl_p99_s_, fair.itl_p99_s_);
    EXPECT_LT(fair.itl_p99_s_, 0.5 * prefill.itl_p99_s_);
  }
}

// Llama 3.2 1B on hc1-like (vectors of 4 chunks and more): 6 users decode 24 tokens from
// 16-token prompts and a 300-token prompt arrives at 25 us (tests/sim/test_sim_serving.cpp).
// Measured, token vs cycle level (late user's TTFT, ITL p99, us): decode_first 74.98 / 75.01,
// 24.55 / 24.73; interleaved 74.98 / 75.01, 24.94 / 25.10; prefill_first 72.08 / 72.12,
// 63.44 / 63.44; prefill_first with chunks of 64 74.26 / 74.29, 25.14 / 25.14. Largest gap
// 0.73% (decode_first ITL p99). With the two-pass activation the token level once let ffn_down's
// hold on the activation's last chunk delay the activation's next token, where the cycle
// level's last step only waits for room in its output buffer: TTFT +5.7%, ITL p99 +19%
// (Pipeline::run, Stage::feeder_free_after_).
TEST(SimServingLevels, Llama1bPoliciesAgreeBetweenLevels) {
  std::vector<UserRequest> requests = same_requests(6, 16, 24);
  UserRequest late;
  late.id_ = 6;
  late.arrival_s_ = 25e-6;
  late.prompt_tokens_ = 300;
  late.output_tokens_ = 2;
  requests.push_back(late);
  const ModelConfig model = load_model_config("llama-3.2-1b");
  const ChipConfig chip = load_chip_config("hc1-like", {});
  const auto at = run_both_levels({{{ServingPolicy::kDecodeFirst, 0}, "decode_first"},
                                   {{ServingPolicy::kInterleaved, 0}, "interleaved"},
                                   {{ServingPolicy::kPrefillFirst, 0}, "prefill_first"},
                                   {{ServingPolicy::kPrefillFirst, 64}, "prefill_first, chunk 64"}},
                                  model, chip, requests, 6, 0.015);
  for (int level = 0; level < 2; ++level) {
    SCOPED_TRACE(level == 0 ? "token level" : "cycle level");
    const auto& decode = at[level][0];
    const auto& fair = at[level][1];
    const auto& prefill = at[level][2];
    const auto& chunked = at[level][3];
    EXPECT_LT(prefill.late_ttft_s_, 0.99 * decode.late_ttft_s_);
    EXPECT_LE(prefill.late_ttft_s_, fair.late_ttft_s_);
    EXPECT_LE(fair.late_ttft_s_, decode.late_ttft_s_);
    EXPECT_GT(prefill.itl_p99_s_, 2.0 * decode.itl_p99_s_);
    EXPECT_LE(decode.itl_p99_s_, fair.itl_p99_s_);
    EXPECT_LE(fair.itl_p99_s_, prefill.itl_p99_s_);
    EXPECT_LT(chunked.itl_p99_s_, 0.5 * prefill.itl_p99_s_);
    EXPECT_GT(chunked.late_ttft_s_, prefill.late_ttft_s_);
  }
}

// The KV memory of the tiny chip holds 100 positions per engine; each user's run is one
// contiguous slot range (sim/kv_runs.h, first fit). Users 0-2 take [0, 30), [30, 80) and
// [80, 100); users 0 and 2 leave first, freeing 50 positions in two pieces of 30 and 20, so
// user 3 (40 positions), arriving then, waits for user 1's run to leave at both levels: the
// token level places runs as the cycle level does (before, it counted free positions only and
// admitted user 3 at once: TTFT 10.6 against 70.9 us).
TEST(SimServingLevels, FragmentedKvMakesAUserWaitAtBothLevels) {
  std::vector<UserRequest> requests;
  for (const auto& [arrival_s, prompt, output] :
       std::vector<std::tuple<double, int64_t, int64_t>>{
           {0.0, 10, 21}, {0.0, 10, 41}, {0.0, 10, 11}, {100e-6, 20, 21}}) {
    UserRequest r;
    r.id_ = int64_t(requests.size());
    r.arrival_s_ = arrival_s;
    r.prompt_tokens_ = prompt;
    r.output_tokens_ = output;
    requests.push_back(r);
  }
  const ModelConfig model = sim_tiny_model();
  const ChipConfig chip = sim_tiny_chip();
  nlohmann::json level[2];
  for (int k = 0; k < 2; ++k) {
    sim::SimOptions o = timing_options();
    o.level_ = k == 0 ? sim::SimLevel::kToken : sim::SimLevel::kCycle;
    level[k] = run_in_child(model, chip, requests, o);
    ASSERT_FALSE(level[k].contains("error")) << level[k].dump();
    ASSERT_EQ(level[k]["kv_capacity_positions_per_layer"], 100);
  }
  const nlohmann::json& late_token = level[0]["users"][3];
  const nlohmann::json& late_cycle = level[1]["users"][3];
  std::printf("user 3 token / cycle level: admitted %.2f / %.2f us, TTFT %.2f / %.2f us\n",
              late_token["admitted_s"].get<double>() * 1e6,
              late_cycle["admitted_s"].get<double>() * 1e6,
              late_token["ttft_s"].get<double>() * 1e6, late_cycle["ttft_s"].get<double>() * 1e6);
  for (const nlohmann::json& j : level) {
    // Admitted once user 1 has left, although 50 positions were free at its arrival.
    EXPECT_GE(j["users"][3]["admitted_s"].get<double>(), j["users"][1]["finished_s"].get<double>());
    EXPECT_LT(j["users"][2]["finished_s"].get<double>(), 100e-6);
    EXPECT_LT(j["users"][0]["finished_s"].get<double>(), 100e-6);
  }
  EXPECT_LE(rel(late_token["ttft_s"].get<double>(), late_cycle["ttft_s"].get<double>()), 0.02);
}

}  // namespace
}  // namespace hw::test
