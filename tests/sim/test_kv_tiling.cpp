// KV memory as traffic at the cycle level (sim/cycle_block.h CycleAttention, sim/kv_dram.h):
// prefill query tiling reads each tile's context once (KV reads drop by about the tile factor,
// SRAM and DRAM), tokens stay bit-exact with tiling on (what `hardwire emulate` prints), and
// the KV DRAM's per-channel counters reach the simulate JSON.
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

sim::SimOptions cycle_options() {
  sim::SimOptions o = timing_options();
  o.level_ = sim::SimLevel::kCycle;
  return o;
}

const std::vector<std::string> kDram = {"chip.attention.kv_memory=dram",
                                        "chip.attention.kv_dram.capacity=1 MiB",
                                        "chip.attention.kv_dram.bandwidth=800 MB/s",
                                        "chip.attention.kv_dram.latency=100 ns"};

std::vector<std::string> with(std::vector<std::string> v, const std::string& s) {
  v.push_back(s);
  return v;
}

// Positions read by one user's prefill of P tokens in tiles of T: a tile ending at position e
// sweeps e + 1 positions.
int64_t swept_positions(int64_t prompt, int64_t tile) {
  int64_t sum = 0;
  for (int64_t end = tile - 1; end < prompt + tile - 1; end += tile) {
    sum += std::min(end, prompt - 1) + 1;
  }
  return sum;
}

TEST(KvTiling, PrefillSramReadsDropByTheTileFactor) {
  // One user, 64-token prompt, one output: only prefill; the tiny chip has Wp = 8 words per
  // position and 2 layers. Tiles form from the prompt tokens queued in front of the attention
  // block. On the tiny chip as it is, attention (2L cycles a token) overtakes the matrix blocks
  // (10-20 cycles) as the context grows, so tiles grow along the prompt. With one bank (8L
  // cycles a token) attention is the bottleneck from the start and tokens queue sooner.
  const int64_t prompt = 64;
  auto run = [&](int64_t tile, int64_t banks) {
    const nlohmann::json r = run_in_child(
        sim_tiny_model(),
        sim_tiny_chip({"chip.attention.query_tile=" + std::to_string(tile),
                       "chip.attention.kv_sram.banks=" + std::to_string(banks)}),
        same_requests(1, prompt, 1), cycle_options());
    EXPECT_FALSE(r.contains("error")) << r.dump();
    return r;
  };
  const nlohmann::json one = run(1, 4), eight = run(8, 4), slow_one = run(1, 1),
                       slow_eight = run(8, 1);
  if (one.contains("error") || eight.contains("error") || slow_one.contains("error") ||
      slow_eight.contains("error")) {
    return;
  }
  EXPECT_EQ(swept_positions(prompt, 1), prompt * (prompt + 1) / 2);
  EXPECT_EQ(swept_positions(prompt, 8), 8 * 36);
  // Untiled: every token sweeps its whole context.
  EXPECT_EQ(one["kv_banks"]["reads"], 2 * 8 * swept_positions(prompt, 1));
  EXPECT_EQ(slow_one["kv_banks"]["reads"], one["kv_banks"]["reads"]);
  EXPECT_EQ(one["kv_banks"]["writes"], eight["kv_banks"]["writes"]);
  auto reads = [](const nlohmann::json& r) { return r["kv_banks"]["reads"].get<double>(); };
  auto ttft_us = [](const nlohmann::json& r) { return r["ttft_s"]["p50"].get<double>() * 1e6; };
  const double ratio = reads(one) / reads(eight), slow_ratio = reads(slow_one) / reads(slow_eight);
  std::printf("prefill KV reads, tile 1 / tile 8: %.2f (4 banks), %.2f (1 bank); "
              "TTFT %.2f -> %.2f us, %.2f -> %.2f us\n",
              ratio, slow_ratio, ttft_us(one), ttft_us(eight), ttft_us(slow_one),
              ttft_us(slow_eight));
  // Never more than full tiles would read; the first layer's tiles fill once tokens queue, the
  // second layer's are cut where the first layer's tiles arrive (4.0x and 5.2x measured).
  EXPECT_GE(reads(eight), 2.0 * 8 * swept_positions(prompt, 8));
  EXPECT_GE(reads(slow_eight), 2.0 * 8 * swept_positions(prompt, 8));
  EXPECT_GT(ratio, 3.5);
  EXPECT_GT(slow_ratio, 5.0);
  EXPECT_LT(ttft_us(eight), ttft_us(one));
  EXPECT_LT(ttft_us(slow_eight), ttft_us(slow_one));
}

TEST(KvTiling, PrefillDramBytesDropByTheTileFactorAndChannelsAreCounted) {
  const int64_t prompt = 48;
  const nlohmann::json one =
      run_in_child(sim_tiny_model(), sim_tiny_chip(with(kDram, "chip.attention.query_tile=1")),
                   same_requests(1, prompt, 1), cycle_options());
  const nlohmann::json tiled =
      run_in_child(sim_tiny_model(), sim_tiny_chip(with(kDram, "chip.attention.query_tile=6")),
                   same_requests(1, prompt, 1), cycle_options());
  ASSERT_FALSE(one.contains("error")) << one.dump();
  ASSERT_FALSE(tiled.contains("error")) << tiled.dump();
  // 2 layers x 64 B per position (8-bit KV): writes of every position, reads of every sweep.
  const double writes = 2.0 * 64 * prompt;
  EXPECT_DOUBLE_EQ(one["kv_dram_bytes"].get<double>(),
                   writes + 2.0 * 64 * swept_positions(prompt, 1));
  const double tiled_reads = tiled["kv_dram_bytes"].get<double>() - writes;
  EXPECT_GE(tiled_reads, 2.0 * 64 * swept_positions(prompt, 6));
  const double read_ratio = 2.0 * 64 * swept_positions(prompt, 1) / tiled_reads;
  std::printf("prefill DRAM read bytes, tile 1 / tile 6: %.2f\n", read_ratio);
  EXPECT_GT(read_ratio, 4.0);

  // Per-channel counters: 8 channels (default), 64 B bursts (128-bit bus, BL4); every burst a
  // row hit or a miss; reads and writes as bursts of the bytes moved.
  const nlohmann::json& k = tiled["kv_dram"];
  ASSERT_TRUE(k.is_object()) << tiled.dump();
  EXPECT_EQ(k["channels"], 8);
  EXPECT_EQ(k["burst_bytes"], 64);
  EXPECT_EQ(k["per_channel"]["reads"].size(), 8u);
  EXPECT_EQ(k["row_hits"].get<int64_t>() + k["row_misses"].get<int64_t>(),
            k["reads"].get<int64_t>() + k["writes"].get<int64_t>());
  // Positions are 64 B, burst-aligned: one burst each.
  EXPECT_EQ(k["writes"], 2 * prompt);
  EXPECT_DOUBLE_EQ(k["reads"].get<double>() * 64, tiled_reads);
  // tREFI 3.9 us, in whole command clocks of this slow DRAM (800 MB/s over 8 x 16 B: 6.25 MT/s,
  // tCK 320 ns): 13 tCK. Every channel refreshes once per interval of the run.
  const double run_s = tiled["cycles"].get<double>() / 100e6;
  const double refi_s = 13 * 320e-9;
  for (const auto& n : k["per_channel"]["refreshes"]) {
    EXPECT_NEAR(n.get<double>(), std::floor(run_s / refi_s), 1.0);
  }
  EXPECT_GT(k["busy_cycles"].get<double>(), 0.0);
}

// The run's activity (the power model's event counts) takes the KV reads the sweeps made, at
// both levels: a tile reads its context once. Checked against counts nothing shares with it:
// the closed form of one sweep per token (query_tile 1), the cycle level's bank engine (words
// read) and DRAM channels (bursts), and the token level's tiles bounded by full and no tiles.
TEST(KvTiling, SweepsAndActivityTakeTheKvReadsTheSweepsMade) {
  const int64_t prompt = 64;
  const double word_bits = 8.0 * 8;  // the tiny chip's 8 B bank words
  auto run = [&](sim::SimLevel level, int64_t tile, std::vector<std::string> sets) {
    sim::SimOptions o = timing_options();
    o.level_ = level;
    sets.push_back("chip.attention.query_tile=" + std::to_string(tile));
    const nlohmann::json r =
        run_in_child(sim_tiny_model(), sim_tiny_chip(sets), same_requests(1, prompt, 1), o);
    EXPECT_FALSE(r.contains("error")) << r.dump();
    return r;
  };
  auto bits = [](const nlohmann::json& r, const char* key) {
    return r["activity"][key].get<double>();
  };
  const double untiled_words = 2.0 * 8 * double(swept_positions(prompt, 1));
  const double full_tile_words = 2.0 * 8 * double(swept_positions(prompt, 8));
  for (const sim::SimLevel level : {sim::SimLevel::kToken, sim::SimLevel::kCycle}) {
    const nlohmann::json one = run(level, 1, {}), eight = run(level, 8, {});
    if (one.contains("error") || eight.contains("error")) return;
    EXPECT_DOUBLE_EQ(bits(one, "kv_sram_read_bits"), untiled_words * word_bits);
    // The sweeps themselves: one per query untiled; tiles of 1 to 8 queries.
    const nlohmann::json& a1 = one["blocks"]["attention"];
    const nlohmann::json& a8 = eight["blocks"]["attention"];
    EXPECT_EQ(a1["kv_sweeps"], a1["tokens"]);
    EXPECT_EQ(a8["tokens"], a1["tokens"]);
    EXPECT_GT(a8["queries_per_sweep"].get<double>(), 1.0);
    EXPECT_LE(a8["queries_per_sweep"].get<double>(), 8.0);
    EXPECT_DOUBLE_EQ(a8["queries_per_sweep"].get<double>(),
                     a8["tokens"].get<double>() / a8["kv_sweeps"].get<double>());
    EXPECT_DOUBLE_EQ(bits(one, "kv_dram_read_bits"), 0.0);
    EXPECT_LT(bits(eight, "kv_sram_read_bits"), bits(one, "kv_sram_read_bits"));
    EXPECT_GE(bits(eight, "kv_sram_read_bits"), full_tile_words * word_bits);
    if (level == sim::SimLevel::kCycle) {
      EXPECT_DOUBLE_EQ(bits(eight, "kv_sram_read_bits"),
                       eight["kv_banks"]["reads"].get<double>() * word_bits);
    }
  }
  // KV in DRAM: 64 B per position and layer, every position a whole burst.
  const nlohmann::json dram = run(sim::SimLevel::kCycle, 6, kDram);
  const nlohmann::json dram_token = run(sim::SimLevel::kToken, 1, kDram);
  if (dram.contains("error") || dram_token.contains("error")) return;
  EXPECT_DOUBLE_EQ(bits(dram, "kv_dram_read_bits"),
                   dram["kv_dram"]["reads"].get<double>() * 64 * 8);
  EXPECT_LT(bits(dram, "kv_dram_read_bits"), 2.0 * 64 * 8 * double(swept_positions(prompt, 1)));
  EXPECT_DOUBLE_EQ(bits(dram_token, "kv_dram_read_bits"),
                   2.0 * 64 * 8 * double(swept_positions(prompt, 1)));
  EXPECT_DOUBLE_EQ(bits(dram_token, "kv_sram_read_bits"), 0.0);
}

std::string oracle(const std::string& file) {
  return std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + file;
}

// Functional mode with tiling on: tokens equal the golden model's (hardwire emulate).
void expect_golden_tokens(const ChipConfig& chip) {
  const ModelWeights w = load_weights(oracle("tiny-gqa-s.gguf"));
  const NumericsProfile profile = load_numerics_profile("w8a8");
  const QuantizedModel q = quantize_model(w, profile);
  sim::SimOptions o;
  o.level_ = sim::SimLevel::kCycle;
  o.weight_bits_ = profile.mean_weight_bits(w.config_);
  o.kv_bits_ = profile.kv_bits();
  o.functional_model_ = &q;
  const std::vector<std::vector<int32_t>> prompts = {
      {1, 5, 9, 42, 100, 7, 3, 8, 250, 17, 4, 4, 90, 61, 2, 33, 12, 200, 5, 6},
      {7, 3, 11, 19, 23, 29, 31, 37, 41, 43, 47}};
  o.prompts_ = prompts;
  const int64_t n_new = 6;
  const nlohmann::json r = run_in_child(w.config_, chip, same_requests(2, 1, n_new), o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  ASSERT_EQ(r["mode"], "functional");
  for (size_t u = 0; u < prompts.size(); ++u) {
    GoldenModel g(q, static_cast<int64_t>(prompts[u].size()) + n_new);
    EXPECT_EQ(r["users"][u]["generated"].get<std::vector<int32_t>>(), g.generate(prompts[u], n_new))
        << "user " << u;
  }
}

TEST(KvTiling, TokensStayBitExactWithTilingOnSram) {
  expect_golden_tokens(load_chip_config("hc1-like", {"chip.attention.query_tile=8"}));
}

TEST(KvTiling, TokensStayBitExactWithTilingOnBanksSharedByLayers) {
  expect_golden_tokens(load_chip_config(
      "hc1-like", {"chip.attention.query_tile=4", "chip.attention.kv_sram.bank_scope=die"}));
}

TEST(KvTiling, TokensStayBitExactWithTilingOnDram) {
  expect_golden_tokens(load_chip_config("kv-in-dram", {"chip.attention.query_tile=5"}));
}

}  // namespace
}  // namespace hw
