// End to end, the token level against the cycle level on the shipped chips (workloads the
// structure grid of test_characterize_blocks.cpp did not use): tokens/s, mean TTFT and mean
// inter-token latency within 2% for hc1-like (KV in SRAM) on a small model at its full length
// (queries untiled and tiled: chip.attention.query_tile, which the token level models as the
// cycle level forms tiles, sim/pipeline.h) and on Llama 3.1 8B for short runs at the chip's
// defaults; kv-in-dram (the cycle level's JEDEC DRAM, row misses and refresh included, against
// the token level's calendar of it: docs/simulate.md "Token level against cycle level") on
// Llama 3.1 8B and Llama 3.2 1B short runs, an 8B 1024-token prefill and the small model at
// full length, within 2%.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "model/model_config.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using test::run_in_child;
using test::same_requests;
using test::timing_options;

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }

void expect_agree(const std::string& model_name, const std::string& chip_name, int64_t users,
                  int64_t prompt, int64_t output, double tolerance,
                  const std::vector<std::string>& set = {}) {
  const std::string what = model_name + " on " + chip_name + ", " + std::to_string(users) +
                           " x " + std::to_string(prompt) + "/" + std::to_string(output);
  SCOPED_TRACE(what);
  const ModelConfig model = load_model_config(model_name);
  const ChipConfig chip = load_chip_config(chip_name, set);
  sim::SimOptions tok = timing_options();
  sim::SimOptions cyc = timing_options();
  cyc.level_ = sim::SimLevel::kCycle;
  const auto requests = same_requests(users, prompt, output);
  const nlohmann::json t = run_in_child(model, chip, requests, tok);
  const nlohmann::json c = run_in_child(model, chip, requests, cyc);
  ASSERT_FALSE(t.contains("error")) << t.dump();
  ASSERT_FALSE(c.contains("error")) << c.dump();
  ASSERT_EQ(t["tokens_generated"], c["tokens_generated"]);
  const double e_tps =
      rel(t["tokens_per_s_total"].get<double>(), c["tokens_per_s_total"].get<double>());
  const double e_ttft = rel(t["ttft_s"]["mean"].get<double>(), c["ttft_s"]["mean"].get<double>());
  const double e_itl = rel(t["inter_token_latency_s"]["mean"].get<double>(),
                           c["inter_token_latency_s"]["mean"].get<double>());
  std::printf("  %-44s tokens/s %5.2f%%  TTFT %5.2f%%  ITL %5.2f%%\n", what.c_str(), 100 * e_tps,
              100 * e_ttft, 100 * e_itl);
  EXPECT_LE(e_tps, tolerance) << "tokens/s";
  EXPECT_LE(e_ttft, tolerance) << "TTFT";
  EXPECT_LE(e_itl, tolerance) << "inter-token latency";
}

TEST(CharacterizeEndToEnd, Hc1LikeSmallModelAtFullLength) {
  // tiny-llama is trained for 256 positions: prompt + output - 1 = 255.
  const std::vector<std::string> untiled = {"chip.attention.query_tile=1"};
  expect_agree("tiny-llama", "hc1-like", 1, 32, 224, 0.02, untiled);
  expect_agree("tiny-llama", "hc1-like", 2, 128, 128, 0.02, untiled);
}

TEST(CharacterizeEndToEnd, Hc1LikeSmallModelTiledQueries) {
  // Prompt tokens queue at attention on this model, so the cycle level forms tiles of up to 8
  // queries; the token level forms the same tiles (measured 0.12% / 0.55% / 0.33%; without
  // tiling at the token level TTFT was 49% off).
  expect_agree("tiny-llama", "hc1-like", 2, 128, 128, 0.02, {"chip.attention.query_tile=8"});
}

TEST(CharacterizeEndToEnd, Hc1LikeLlama8bShortRuns) {
  expect_agree("llama-3.1-8b", "hc1-like", 1, 16, 8, 0.02);
  expect_agree("llama-3.1-8b", "hc1-like", 3, 8, 4, 0.02);
}

TEST(CharacterizeEndToEnd, KvInDramLlama8bShortRun) {
  // The token level books each transfer at the DRAM's peak rate on a work-conserving calendar
  // with every refresh window blocked, at least its busiest channel's bursts; a transfer that
  // reaches every channel is served row by row on the channel that stands for all (bank waits
  // on the calendar), a narrower one (a KV write) is charged row opening by the rows' state
  // (open for the user, closed by a refresh, or another layer's): measured 0.12% / 0.54% /
  // 0.05% (tokens/s, TTFT, ITL).
  expect_agree("llama-3.1-8b", "kv-in-dram", 1, 16, 8, 0.02);
}

TEST(CharacterizeEndToEnd, KvInDramLlama8bLongPrefill) {
  // A 1024-token prompt on kv-in-dram (query tiles of 8) saturates the DRAM unless the deep
  // layers' queries gather into tiles, which they do at the cycle level because its channels
  // serve requests in posting order. The token level evaluates stages across tokens in time
  // order (sim/pipeline.h), so it forms the same tiles: measured 1.24% / 1.68% / 0.12%
  // (tokens/s, TTFT, ITL); booking each token's whole passage at its entry, it was +481% on
  // TTFT (6969 against 1198 us).
  expect_agree("llama-3.1-8b", "kv-in-dram", 1, 1024, 8, 0.02);
}

TEST(CharacterizeEndToEnd, KvInDramLlama8bManyUsersPrefill) {
  // 16 users' prompts at once load the DRAM: a sweep's request goes out only once the previous
  // sweep's outputs have left the engine, as at the cycle level: measured 0.08% / 0.21% / 0.03%
  // (tokens/s, TTFT, ITL; 1.72% on TTFT before the rows were served on a channel); posting it
  // as soon as the q was in, the token level was 2.16% fast on TTFT.
  expect_agree("llama-3.1-8b", "kv-in-dram", 16, 64, 32, 0.02);
}

TEST(CharacterizeEndToEnd, KvInDramLlama1bShortRuns) {
  // Measured 1.10% / 0.90% / 1.24% (tiles of 8) and 1.33% / 0.05% / 1.44% (untiled).
  expect_agree("llama-3.2-1b", "kv-in-dram", 1, 64, 32, 0.02);
  expect_agree("llama-3.2-1b", "kv-in-dram", 1, 64, 32, 0.02, {"chip.attention.query_tile=1"});
}

TEST(CharacterizeEndToEnd, KvInDramManyUsersDecodingBesidePrompts) {
  // 8 users' prompts of 128 then 64 tokens each: measured 0.62% / 1.27% / 0.67% (tokens/s,
  // TTFT, ITL); 2.68% fast on TTFT before the sweeps' rows were served on a channel.
  expect_agree("llama-3.1-8b", "kv-in-dram", 8, 128, 64, 0.02);
}

TEST(CharacterizeEndToEnd, KvInDramOneChannelAtTheRealRowTimings) {
  // The same 4.8 TB/s as one channel (600 GT/s x 64 bit): every layer's sweep starts in the
  // same 16 banks, so the row openings the cycle level's channel serves one after another
  // bind. Served row by row on the channel (bank waits: PRE after the rival row's tRAS, tRP,
  // tRCD) the token level is within 6.3% (measured 4.36% / 6.24% / 3.73%); with a row-bound
  // rate whose first `banks` rows opened side by side it was 71% fast on TTFT (385 against
  // 1321 us).
  expect_agree("llama-3.2-1b", "kv-in-dram", 4, 64, 64, 0.07,
               {"chip.attention.query_tile=1", "chip.attention.kv_dram.channels=1",
                "chip.attention.kv_dram.data_rate=600 GHz"});
}

TEST(CharacterizeEndToEnd, KvInDramSmallModelAtFullLength) {
  // tiny-llama's sweeps are a few bursts on a few of the 96 channels (the busiest channel's
  // bursts bound them): measured 0.34% / 0.44% / 0.34% (tokens/s, TTFT, ITL).
  expect_agree("tiny-llama", "kv-in-dram", 1, 32, 224, 0.02);
}

}  // namespace
}  // namespace hw
